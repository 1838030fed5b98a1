/* The one test harness: CHECK* macros that report file:line and count failures, and a main. */
#ifndef HVM_TEST_HARNESS_H
#define HVM_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

static int harness_failures;
static int harness_checks;

#define CHECK(cond)		do { harness_checks++; REPORT_CHECK(harness_failures, cond); } while (0)
#define CHECK_EQ(a, b)		do { harness_checks++; REPORT_CHECK_EQ(harness_failures, a, b); } while (0)

#define CHECK_STR(a, b)							\
	do {								\
		const char *sa_ = (a), *sb_ = (b);			\
		harness_checks++;					\
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {		\
			harness_failures++;				\
			fprintf(stderr, "%s:%d: %s == \"%s\" failed: got \"%s\"\n", \
				__FILE__, __LINE__, #a, sb_ ? sb_ : "(null)", sa_ ? sa_ : "(null)"); \
		}							\
	} while (0)

/* Each test file defines its cases and lists them in HARNESS_MAIN(case, case, ...). */
typedef void harness_case_fn(void);

static inline int harness_run(const char *name, harness_case_fn *const *cases, const char *const *names,
			      int n)
{
	for (int i = 0; i < n; i++) {
		int before = harness_failures;
		cases[i]();
		fprintf(stderr, "%s %s/%s\n", harness_failures == before ? "ok  " : "FAIL", name,
			names[i]);
	}
	fprintf(stderr, "%s: %d checks, %d failed\n", name, harness_checks, harness_failures);
	return harness_failures ? 1 : 0;
}

#define HARNESS_STR_(x) #x
#define HARNESS_MAIN(...)						\
	int main(void)							\
	{								\
		harness_case_fn *const cases[] = { __VA_ARGS__ };	\
		static const char names_[] = HARNESS_STR_((__VA_ARGS__)); \
		const char *names[sizeof(cases) / sizeof(cases[0])];	\
		static char buf[sizeof(names_)];			\
		int n = 0;						\
		memcpy(buf, names_ + 1, sizeof(names_) - 1);		\
		buf[sizeof(names_) - 3] = '\0';				\
		for (char *t = strtok(buf, ", "); t; t = strtok(NULL, ", ")) \
			names[n++] = t;					\
		return harness_run(__FILE__, cases, names, n);		\
	}

/* Exit status a test uses to say "cannot run here" (e.g. no /dev/kvm); tests/run.sh reports it. */
#define HARNESS_SKIP 77

#endif
