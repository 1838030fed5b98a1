/*
 * Seccomp allow-lists, one per thread kind, loaded by each thread on itself (libseccomp).
 * Every system call a thread may make after its filter is loaded has a row with a one-line
 * reason (docs/seccomp.md lists them); anything else raises SIGSYS, and the process reports
 * the call and dies. See docs/seccomp.md for the why of each list and of the violation path.
 */
#ifndef HVM_SECCOMP_H
#define HVM_SECCOMP_H

enum seccomp_kind {
	SECCOMP_VCPU,	/* a vCPU thread: KVM_RUN and the exits it handles */
	SECCOMP_IO,	/* a device I/O thread: its epoll loop and the device's files */
	SECCOMP_MAIN,	/* the front end's thread: serving the agent, stopping, tearing down */
	SECCOMP_SHARE,	/* a directory volume's 9p server process (hvm_share.c) */
	SECCOMP_NKINDS
};

/*
 * Process-wide switch, on by default. Off (--no-seccomp) makes seccomp_install a no-op; it
 * warns on stderr whatever the log level. Call before any thread installs.
 */
void seccomp_set_enabled(int on);

/* Whether seccomp_install loads filters (1) or does nothing (0). */
int seccomp_enabled(void);

/*
 * What a violation does after printing "hvm: error: seccomp: forbidden syscall NAME (NR) in
 * the KIND thread" on stderr: status < 0 (the default) lets SIGSYS kill the process; status
 * >= 0 makes it _exit(status) instead (hvm-run: 125). Async-signal-safe to change.
 */
void seccomp_set_violation_exit(int status);

/*
 * Loads kind's allow-list on the calling thread only (no TSYNC: threads get different lists);
 * also unblocks SIGSYS in it so violations can be reported. 0 or -errno (logged).
 */
int seccomp_install(enum seccomp_kind kind);

/* Builds kind's filter without loading it: 0, or -errno naming the failing row (logged). */
int seccomp_verify(enum seccomp_kind kind);

/*
 * Row i of kind's list ("ioctl KVM_RUN", "socket AF_UNIX", ...) and its reason; 0, or
 * -ENOENT past the last row. For tests and documentation.
 */
int seccomp_rule_info(enum seccomp_kind kind, unsigned i, const char **name, const char **why);

/* "vCPU", "I/O" or "main". */
const char *seccomp_kind_name(enum seccomp_kind kind);

#endif
