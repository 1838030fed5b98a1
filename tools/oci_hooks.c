#include "oci_hooks.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../agent/hook.h"
#include "oci_log.h"
#include "oci_spec.h"

int oci_hooks_save(const char *dir, const char *hooks_json)
{
	char path[4096];
	int fd, err = 0;
	size_t len;

	if (!hooks_json)
		return 0;
	len = strlen(hooks_json);
	snprintf(path, sizeof(path), "%s/%s", dir, OCI_HOOKS_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, hooks_json, len) != (ssize_t)len)
		err = -errno;
	if (fd >= 0 && close(fd) < 0 && !err)
		err = -errno;
	if (err)
		oci_err("%s: %s", path, strerror(-err));
	return err;
}

char *oci_hooks_load(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, OCI_HOOKS_FILE);
	return oci_read_file(path);
}

int oci_hooks_run(const char *hooks_json, const char *kind, const char *state, int fatal)
{
	cJSON *doc = hooks_json ? cJSON_Parse(hooks_json) : NULL;
	const cJSON *h;
	char why[1024];
	int i = 0, err = 0;

	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(doc, kind)) {
		oci_debug("hooks.%s[%d]: running", kind, i);
		if (hook_run(h, kind, i++, state, -1, why, sizeof(why)) == 0)
			continue;
		if (!fatal) {
			oci_warn("%s", why);
			continue;
		}
		oci_err("%s", why);
		err = -EIO;
		break;
	}
	cJSON_Delete(doc);
	return err;
}
