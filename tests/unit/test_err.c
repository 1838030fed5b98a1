/* The explicit error object: the first failure is kept with its code and one line; none
 * passed means stderr; a cleared one is empty. */
#include <errno.h>

#include "../../core/err.h"
#include "../harness.h"

static void first_failure_is_kept(void)
{
	struct err e;

	err_clear(&e);
	CHECK(!err_is_set(&e));
	CHECK_EQ(err_set(&e, -ENOENT, "kernel %s: %s", "/k", strerror(ENOENT)), -ENOENT);
	CHECK(err_is_set(&e));
	CHECK_EQ(e.code, -ENOENT);
	CHECK_STR(e.msg, "kernel /k: No such file or directory");
	/* What the first failure made fail afterwards is not the cause. */
	CHECK_EQ(err_set(&e, -EIO, "machine: %s", strerror(EIO)), -EIO);
	CHECK_EQ(e.code, -ENOENT);
	CHECK_STR(e.msg, "kernel /k: No such file or directory");
	err_clear(&e);
	CHECK(!err_is_set(&e));
	CHECK_STR(e.msg, "");
}

static void one_line_bounded(void)
{
	struct err e;
	char long_name[3 * ERR_MAX];

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	err_clear(&e);
	CHECK_EQ(err_set(&e, -ENAMETOOLONG, "%s: too long", long_name), -ENAMETOOLONG);
	CHECK_EQ(strlen(e.msg), (size_t)ERR_MAX - 1);
	CHECK(strchr(e.msg, '\n') == NULL);
}

static void no_object_logs(void)
{
	/* Nothing to record into: said on stderr (not checked here), the code still returned. */
	CHECK_EQ(err_set(NULL, -EINVAL, "test: said on stderr, as expected"), -EINVAL);
	CHECK(!err_is_set(NULL));
	err_clear(NULL);
}

HARNESS_MAIN(first_failure_is_kept, one_line_bounded, no_object_logs)
