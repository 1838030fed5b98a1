/*
 * The hostile-guest suites' runner: one forked child per attack class under an alarm, so a
 * crash (SIGSEGV from a guard area, SIGSYS from an I/O thread's seccomp filter) or a hang fails
 * that class only. One line per class on stdout, "<class>: survived" or "<class>: FAILED",
 * the child's log only for a failed class, then "<suite>: N classes, M failed".
 */
#ifndef HVM_TEST_HOSTILE_HRUN_H
#define HVM_TEST_HOSTILE_HRUN_H

#include "../report.h"

extern int hrun_failures;		/* the running class's failed checks */
extern const char *hrun_dir;		/* the run's temporary directory */

#define EXPECT(cond)		REPORT_CHECK(hrun_failures, cond)
#define EXPECT_EQ(a, b)		REPORT_CHECK_EQ(hrun_failures, a, b)

struct hrun_class {
	const char *name;	/* what `make test-hostile` prints */
	void (*fn)(void);	/* the attack, in a fresh child with fresh guest RAM */
	unsigned alarm_s;	/* longer than this is a hang */
};

/*
 * Runs every class (or those named in argv), each after `prepare` (may be NULL) in its child;
 * prints the lines and the suite's total. Exit status: 1 when a class failed, 2 on set-up.
 */
int hrun_main(const char *suite, const struct hrun_class *classes, unsigned n,
	      void (*prepare)(void), int argc, char **argv);

/* CPU time the whole process has used, in ms (a spinning device thread shows here). */
uint64_t hrun_cpu_ms(void);
/* No device thread spins: under 100 ms of CPU over 400 ms of idling. */
int hrun_idle(void);
/* The process's resident set, in KiB; -1 when unknown. */
long hrun_rss_kib(void);

#endif
