/* The failed-check report every test suite prints (tests/harness.h, tests/hostile/hrun.h):
 * file:line and the condition, or both values; failed is the counter a failure adds one to. */
#ifndef HVM_TEST_REPORT_H
#define HVM_TEST_REPORT_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#define REPORT_CHECK(failed, cond)					\
	do {								\
		if (!(cond)) {						\
			(failed)++;					\
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",	\
				__FILE__, __LINE__, #cond);		\
		}							\
	} while (0)

#define REPORT_CHECK_EQ(failed, a, b)					\
	do {								\
		uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);	\
		if (va_ != vb_) {					\
			(failed)++;					\
			fprintf(stderr, "%s:%d: %s == %s failed: 0x%" PRIx64 " != 0x%" PRIx64 "\n", \
				__FILE__, __LINE__, #a, #b, va_, vb_);	\
		}							\
	} while (0)

#endif
