#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "log.h"
#include "sanitize.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1	/* si_code of a filter's SIGSYS (asm-generic/siginfo.h) */
#endif

/*
 * One row: a system call, its reason, and at most two argument checks (libseccomp takes one
 * check per argument). Rows for the same call are alternatives. A row with err fails the
 * call with that errno instead of allowing it.
 */
struct seccomp_rule {
	int nr;
	const char *name;
	const char *why;
	int err;
	int self_pid;		/* cmp[0] compares with our pid, known only at run time */
	unsigned ncmp;
	struct scmp_arg_cmp cmp[2];
};

#define CMP(i, o, a, b) { .arg = (i), .op = (o), .datum_a = (a), .datum_b = (b) }
#define ROW(sys, label, why_, n, ...) \
	{ .nr = SCMP_SYS(sys), .name = label, .why = why_, .ncmp = n, .cmp = { __VA_ARGS__ } }
#define ALLOW(sys, why) ROW(sys, #sys, why, 0, CMP(0, 0, 0, 0))
/* The kernel reads an ioctl request as 32 bits: compare exactly those. */
#define IOCTL(req, why) ROW(ioctl, "ioctl " #req, why, 1, \
			    CMP(1, SCMP_CMP_MASKED_EQ, 0xffffffffULL, (req)))
/* No new executable memory on any thread: the binary is static and loads no code. */
#define NO_EXEC(sys, why) ROW(sys, #sys " without PROT_EXEC", why, 1, \
			      CMP(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))
/* A pid_t in [0, INT_MAX] exactly as the kernel reads it (low 32 bits, upper ones clear). */
#define PID_NOT_NEGATIVE CMP(0, SCMP_CMP_MASKED_EQ, 0xffffffff80000000ULL, 0)

/* Every thread, whatever its kind: glibc's own needs and the violation report. */
static const struct seccomp_rule seccomp_common[] = {
	ALLOW(write, "log lines on stderr (and the violation report); eventfd signals"),
	ALLOW(futex, "mutexes and condition variables (bus, devices, io_thread_call, joins)"),
	ALLOW(rt_sigprocmask, "glibc blocks signals around pthread_kill and at thread exit"),
	ALLOW(rt_sigreturn, "returning from a signal handler (the vCPU kick)"),
	ALLOW(restart_syscall, "the kernel resumes a sleep a signal interrupted"),
	NO_EXEC(mmap, "malloc (arenas, large blocks) and thread stacks"),
	NO_EXEC(mprotect, "malloc grows a thread's arena; thread stack guard pages"),
	ALLOW(munmap, "free of large blocks; teardown unmaps guest RAM and kvm_run"),
	ALLOW(brk, "malloc in the main arena"),
	ROW(madvise, "madvise MADV_DONTNEED", "glibc frees a finished thread's stack and trims arenas",
	    1, CMP(2, SCMP_CMP_EQ, MADV_DONTNEED, 0)),
	ALLOW(clock_gettime, "clock_now_us when the vDSO is not used"),
	ALLOW(getpid, "pthread_kill (tgkill needs the pid)"),
	ALLOW(gettid, "pthread_kill on the calling thread"),
	ALLOW(exit, "a thread returns (the VM stopped, or its device was detached)"),
	ALLOW(exit_group, "process exit, and the violation report's _exit"),
};

/* The run loop of a vCPU thread, and everything a KVM exit leads to. */
static const struct seccomp_rule seccomp_vcpu[] = {
	IOCTL(KVM_RUN, "the run loop"),
	IOCTL(KVM_IRQ_LINE, "serial interrupts; virtio interrupts where KVM has no irqfd"),
	IOCTL(KVM_GET_REGS, "reporting a KVM internal error: RIP"),
	IOCTL(KVM_TRANSLATE, "reporting a KVM internal error: the code bytes at RIP"),
	{ .nr = SCMP_SYS(tgkill), .name = "tgkill (our own threads)",
	  .why = "vm_stop kicks the other vCPUs out of KVM_RUN (pthread_kill)", .self_pid = 1,
	  .ncmp = 1, .cmp = { CMP(0, SCMP_CMP_EQ, 0, 0) } },
};

/*
 * vCPU and I/O threads only, not the main thread (which may open files): glibc's malloc opens
 * /proc/sys/vm/overcommit_memory read-only the first time a thread's own arena shrinks, an
 * instant that depends on the load; without the file it returns the memory with madvise. The
 * open fails, nothing is opened. ASan's rows allow every open: there this row is left out.
 */
#ifndef HVM_ASAN
static const struct seccomp_rule seccomp_worker[] = {
	{ .nr = SCMP_SYS(openat), .name = "openat read-only, close-on-exec (fails EACCES)",
	  .why = "glibc's malloc: /proc/sys/vm/overcommit_memory when a thread's arena shrinks",
	  .err = EACCES, .ncmp = 2,
	  .cmp = { CMP(0, SCMP_CMP_MASKED_EQ, 0xffffffffULL, (uint32_t)AT_FDCWD),
		   CMP(2, SCMP_CMP_EQ, O_RDONLY | O_CLOEXEC, 0) } },
};
#endif

/* A device's epoll loop and the files of the devices it serves. */
static const struct seccomp_rule seccomp_io[] = {
	ALLOW(epoll_wait, "the loop; virtio-vsock and virtio-net poll their own sets"),
	ALLOW(epoll_ctl, "watching and dropping host connections and backend fds"),
	ALLOW(read, "eventfds (wake, queue notify), timerfds, a network stream backend"),
	ALLOW(readv, "virtio-net: a frame from the TAP device"),
	ALLOW(writev, "virtio-net: a frame to the TAP device"),
	ALLOW(preadv, "virtio-blk reads"),
	ALLOW(pwritev, "virtio-blk writes"),
	ALLOW(fdatasync, "virtio-blk flush: acknowledged once on stable storage"),
	ALLOW(recvmsg, "virtio-vsock and datagram network backends receive"),
	ALLOW(sendmsg, "virtio-vsock and datagram network backends send"),
	ALLOW(recvfrom, "recv: the CONNECT line of a host vsock client; stream backends"),
	ALLOW(sendto, "send: the OK answer to a host vsock client; stream backends"),
	ALLOW(accept4, "virtio-vsock: a host program connects (hvm-run exec)"),
	ROW(getsockopt, "getsockopt SO_PEERCRED",
	    "virtio-vsock: a client of a private (abstract) socket must be this process",
	    2, CMP(1, SCMP_CMP_EQ, SOL_SOCKET, 0), CMP(2, SCMP_CMP_EQ, SO_PEERCRED, 0)),
	ROW(socket, "socket AF_UNIX", "virtio-vsock: a guest connects to a host port (a Unix socket)",
	    1, CMP(0, SCMP_CMP_EQ, AF_UNIX, 0)),
	ALLOW(connect, "virtio-vsock: to the host port's Unix socket"),
	ALLOW(shutdown, "virtio-vsock: a half-close from either side"),
	ALLOW(close, "virtio-vsock: a connection ends"),
	ALLOW(timerfd_settime, "virtio-vsock and virtio-net deadlines"),
	IOCTL(KVM_IRQ_LINE, "virtio interrupts where KVM has no irqfd"),
	IOCTL(TUNSETOFFLOAD, "virtio-net over TAP: the offloads the guest took, at DRIVER_OK"),
};

/* A directory volume's 9p server (vmm/p9_*.c), a process of its own once it has its
 * connection: files of its directory only, through the descriptors it holds. */
static const struct seccomp_rule seccomp_share[] = {
	ALLOW(recvfrom, "recv: requests from the guest's 9p client"),
	ALLOW(sendto, "send: replies"),
	ALLOW(poll, "the connection and the lifeline to the VMM"),
	ALLOW(openat2, "walk, open, create: one name, RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS"),
	ALLOW(newfstatat, "getattr, qids, the checks before open"),
	ALLOW(fstat, "an opened file is still the one walked to"),
	ALLOW(fstatfs, "Tstatfs: the share's file system"),
	ALLOW(fcntl, "duplicating fids' descriptors, file status flags"),
	ALLOW(close, "Tclunk: a fid's descriptors"),
	ALLOW(pread64, "Tread: file data"),
	ALLOW(pwrite64, "Twrite: file data"),
	ALLOW(lseek, "Treaddir: seeking to the client's offset"),
	ALLOW(getdents64, "Treaddir: directory entries"),
	ALLOW(mkdirat, "Tmkdir: a new directory"),
	ALLOW(symlinkat, "Tsymlink: made, never followed"),
	ALLOW(mknodat, "mknod of FIFOs and sockets"),
	ALLOW(unlinkat, "Tunlinkat: unlink and rmdir"),
	ALLOW(renameat, "Trenameat: within the share"),
	ALLOW(renameat2, "rename (glibc's renameat where it uses renameat2)"),
	ALLOW(linkat, "hard links inside the share"),
	ALLOW(readlinkat, "Treadlink: a link's text (never followed)"),
	ALLOW(fchmod, "setattr: mode"),
	ALLOW(ftruncate, "setattr: size"),
	ALLOW(utimensat, "setattr: times"),
	ALLOW(fsync, "Tfsync: data and metadata on disk"),
	ALLOW(fdatasync, "Tfsync with datasync: data on disk"),
};

/*
 * The front end's thread from just before the vCPUs start to exit. vCPU threads are cloned
 * from it after its filter is loaded and run under both filters (filters stack), so the main
 * list also carries the vCPU rows and what a new thread does before loading its own.
 */
static const struct seccomp_rule seccomp_main[] = {
	ROW(clone, "clone CLONE_THREAD", "vm_start creates the vCPU threads (threads only, no fork)",
	    1, CMP(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)),
	{ .nr = SCMP_SYS(clone3), .name = "clone3 (fails ENOSYS)",
	  .why = "its flags are out of a filter's reach: glibc then falls back to clone",
	  .err = ENOSYS },
	ALLOW(rseq, "a new vCPU thread registers with the kernel (glibc)"),
	ALLOW(set_robust_list, "a new vCPU thread registers with the kernel (glibc)"),
	ALLOW(seccomp, "a new vCPU thread adds its own filter (only ever narrows)"),
	ROW(prctl, "prctl PR_SET_NO_NEW_PRIVS", "a new vCPU thread adds its own filter",
	    1, CMP(0, SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, 0)),
	ROW(prctl, "prctl PR_SET_NAME", "a new vCPU or device thread names itself (ps -L, debuggers)",
	    1, CMP(0, SCMP_CMP_EQ, PR_SET_NAME, 0)),
	ROW(rt_sigaction, "rt_sigaction except SIGSYS",
	    "vcpu_start installs the kick handler; the SIGSYS reporter stays in place",
	    1, CMP(0, SCMP_CMP_NE, SIGSYS, 0)),
	ALLOW(poll, "the serve loop; draining the agent; a stopping network backend"),
	ALLOW(read, "signalfd, stdin, the agent's socket, /proc/self/smaps"),
	ALLOW(accept4, "the agent and other guest programs connect"),
	ROW(getsockopt, "getsockopt SO_PEERCRED",
	    "the agent's private (abstract) socket takes only our own vsock device",
	    2, CMP(1, SCMP_CMP_EQ, SOL_SOCKET, 0), CMP(2, SCMP_CMP_EQ, SO_PEERCRED, 0)),
	ALLOW(close, "sessions end; teardown closes every device and KVM fd"),
	ALLOW(epoll_ctl, "teardown: virtio-vsock drops its connections"),
	ALLOW(openat, "/proc/self/smaps (memory metrics) and the --metrics-json file"),
	ALLOW(newfstatat, "stdio sizes the buffer of a file it opens"),
	ALLOW(fstat, "stdio sizes the buffer of a file it opens"),
	IOCTL(TIOCGWINSZ, "-t: the terminal's size after SIGWINCH"),
	IOCTL(TCGETS, "-t: isatty and tcgetattr on the terminal"),
	IOCTL(TCSETS, "-t: the terminal's mode restored at exit"),
	ROW(kill, "kill SIGTERM (pid >= 0)", "stopping passt at teardown",
	    2, PID_NOT_NEGATIVE, CMP(1, SCMP_CMP_EQ, SIGTERM, 0)),
	ROW(kill, "kill SIGKILL (pid >= 0)", "killing a passt that ignored SIGTERM",
	    2, PID_NOT_NEGATIVE, CMP(1, SCMP_CMP_EQ, SIGKILL, 0)),
	ALLOW(wait4, "reaping passt"),
	ALLOW(clock_nanosleep, "usleep between reaping attempts"),
	ALLOW(nanosleep, "usleep between reaping attempts"),
	ALLOW(unlink, "removing the vsock sockets"),
	ALLOW(rmdir, "removing the private socket directory"),
	ALLOW(getrandom, "the fresh entropy a restored VM's agent gets (REFRESH)"),
	ALLOW(recvmsg, "a snapshot request and its directory fd on the control socket"),
	IOCTL(KVM_GET_MSR_INDEX_LIST, "snapshot: which MSRs KVM can save"),
	IOCTL(KVM_CHECK_EXTENSION, "snapshot: the size of a vCPU's XSAVE state"),
	IOCTL(KVM_GET_MP_STATE, "snapshot: a vCPU's state"),
	IOCTL(KVM_GET_SREGS, "snapshot: a vCPU's state"),
	IOCTL(KVM_GET_XSAVE, "snapshot: a vCPU's state"),
	IOCTL(KVM_GET_XSAVE2, "snapshot: a vCPU's state"),
	IOCTL(KVM_GET_XCRS, "snapshot: a vCPU's state"),
	IOCTL(KVM_GET_DEBUGREGS, "snapshot: a vCPU's state"),
	IOCTL(KVM_GET_LAPIC, "snapshot: a vCPU's state"),
	IOCTL(KVM_GET_MSRS, "snapshot: a vCPU's state"),
	IOCTL(KVM_GET_VCPU_EVENTS, "snapshot: a vCPU's state"),
	IOCTL(KVM_GET_IRQCHIP, "snapshot: the PIC and IOAPIC"),
	IOCTL(KVM_GET_PIT2, "snapshot: the PIT"),
	IOCTL(KVM_GET_CLOCK, "snapshot: the guest's clock"),
	ALLOW(ftruncate, "snapshot: the memory file's size (holes where RAM is zero)"),
	ALLOW(pwrite64, "snapshot: writing the state and memory files"),
	ALLOW(fsync, "snapshot: both files, and their directory, on disk before the renames"),
	ALLOW(renameat, "snapshot: files, and a template's directory, named once complete"),
	ALLOW(unlinkat, "snapshot: removing a half-written file or template"),
};

/*
 * Sanitized builds only (make SANITIZE=1, core/sanitize.h): what the ASan and LSan runtimes
 * call on their own. The normal build has none of these rows.
 */
#ifdef HVM_ASAN
/* Every thread: ASan's per-thread set-up and teardown and its allocator. */
static const struct seccomp_rule seccomp_san_common[] = {
	ALLOW(sigaltstack,
	      "ASan: a thread's signal stack, set at start, read before noreturn calls, removed at exit"),
	ROW(madvise, "madvise MADV_DONTDUMP", "ASan: its allocator keeps new metadata out of core dumps",
	    1, CMP(2, SCMP_CMP_EQ, MADV_DONTDUMP, 0)),
	ROW(madvise, "madvise MADV_NOHUGEPAGE", "ASan: its allocator maps new regions without huge pages",
	    1, CMP(2, SCMP_CMP_EQ, MADV_NOHUGEPAGE, 0)),
	/* A report names the file and line of each frame: whatever thread the bug is in. */
	ALLOW(open, "a report: /proc/self/maps; LSan's tracer lists /proc/self/task"),
	ALLOW(openat, "a report: the binaries and their debug info"),
	ALLOW(read, "a report: /proc/self/maps and the binaries"),
	ALLOW(close, "a report: the files it read"),
	ROW(fcntl, "fcntl F_SETFD", "a report: the files it opens are close-on-exec",
	    1, CMP(1, SCMP_CMP_EQ, F_SETFD, 0)),
	ALLOW(readlink, "a report: a library's name behind its symbolic link"),
	ALLOW(newfstatat, "a report: the size of a binary it maps"),
	ALLOW(fstat, "a report: the size of a binary it maps"),
};

/* The main thread: the vCPU threads it starts, and LeakSanitizer's check at exit. */
static const struct seccomp_rule seccomp_san_main[] = {
	ALLOW(sched_getaffinity,
	      "ASan: a new thread's pthread_getattr_np (its stack bounds) reads the CPU set"),
	ROW(clone, "clone LSan's tracer", "LSan: the task that stops every thread to scan its stack",
	    1, CMP(0, SCMP_CMP_EQ, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, 0)),
	ROW(prctl, "prctl PR_GET_DUMPABLE", "LSan: whether its tracer may attach",
	    1, CMP(0, SCMP_CMP_EQ, PR_GET_DUMPABLE, 0)),
	ROW(prctl, "prctl PR_SET_DUMPABLE", "LSan: a jailed (setuid) process made traceable, then back",
	    1, CMP(0, SCMP_CMP_EQ, PR_SET_DUMPABLE, 0)),
	ROW(prctl, "prctl PR_SET_PTRACER", "LSan: lets its tracer attach where Yama restricts ptrace",
	    1, CMP(0, SCMP_CMP_EQ, PR_SET_PTRACER, 0)),
	ROW(prctl, "prctl PR_SET_PDEATHSIG", "LSan: its tracer dies with the process",
	    1, CMP(0, SCMP_CMP_EQ, PR_SET_PDEATHSIG, 0)),
	ALLOW(getppid, "LSan: its tracer checks that the process still runs"),
	ALLOW(sched_yield, "LSan: waiting for its tracer"),
	ALLOW(lseek, "LSan: its tracer reads the /proc/self/task directory"),
	ALLOW(getdents, "LSan: its tracer reads the /proc/self/task directory"),
	ALLOW(getdents64, "LSan: its tracer reads the /proc/self/task directory"),
	ALLOW(ptrace, "LSan: its tracer stops each thread and reads its registers"),
};
#endif

struct seccomp_part {
	const struct seccomp_rule *rule;
	unsigned n;
};

#define PART(a) { a, sizeof(a) / sizeof(a[0]) }
#define SECCOMP_PARTS_MAX 6
#ifdef HVM_ASAN
#define SECCOMP_SAN_PARTS(...) PART(seccomp_san_common), ##__VA_ARGS__
#define SECCOMP_WORKER_PART() { NULL, 0 }
#else
#define SECCOMP_SAN_PARTS(...) { NULL, 0 }
#define SECCOMP_WORKER_PART() PART(seccomp_worker)
#endif

static const struct seccomp_list {
	const char *name;
	const char *thread;	/* for "in the ... thread" */
	int hot;		/* checked first: the call the thread makes most */
	struct seccomp_part part[SECCOMP_PARTS_MAX];	/* empty ones ({ NULL, 0 }) skipped */
} seccomp_lists[SECCOMP_NKINDS] = {
	[SECCOMP_VCPU] = { "vCPU", "a vCPU", SCMP_SYS(ioctl),
			   { PART(seccomp_common), PART(seccomp_vcpu), SECCOMP_WORKER_PART(),
			     SECCOMP_SAN_PARTS() } },
	[SECCOMP_IO] = { "I/O", "an I/O", SCMP_SYS(epoll_wait),
			 { PART(seccomp_common), PART(seccomp_io), SECCOMP_WORKER_PART(),
			   SECCOMP_SAN_PARTS() } },
	/* ioctl: KVM_RUN of the vCPU threads, which run under this filter too. */
	[SECCOMP_MAIN] = { "main", "the main", SCMP_SYS(ioctl),
			   { PART(seccomp_common), PART(seccomp_vcpu), PART(seccomp_main),
			     SECCOMP_SAN_PARTS(PART(seccomp_san_main)) } },
	[SECCOMP_SHARE] = { "9p share", "the 9p share server's", SCMP_SYS(recvfrom),
			    { PART(seccomp_common), PART(seccomp_share), SECCOMP_SAN_PARTS() } },
};

static atomic_int seccomp_on = 1;
static atomic_int seccomp_exit_status = -1;
static pthread_mutex_t seccomp_lock = PTHREAD_MUTEX_INITIALIZER;	/* libseccomp's globals */
static pthread_once_t seccomp_once = PTHREAD_ONCE_INIT;
static _Thread_local int seccomp_thread_kind = -1;

/* Syscall names for the report, resolved before any filter: the handler cannot allocate. */
#define SECCOMP_NAMES_MAX 512
static char seccomp_name_pool[8192];
static uint16_t seccomp_name_at[SECCOMP_NAMES_MAX];	/* offset + 1; 0: unknown */

const char *seccomp_kind_name(enum seccomp_kind kind)
{
	return (unsigned)kind < SECCOMP_NKINDS ? seccomp_lists[kind].name : "unknown";
}

void seccomp_set_enabled(int on)
{
	atomic_store(&seccomp_on, !!on);
	if (!on) {
		/* Written whatever the log level: nobody should miss that this is off. */
		static const char warn[] =
			"hvm: warn: *** seccomp is OFF (--no-seccomp): a guest that takes over a "
			"VMM thread can make any system call this user can. Debugging only. ***\n";
		ssize_t ignored = write(STDERR_FILENO, warn, sizeof(warn) - 1);
		(void)ignored;
	}
}

int seccomp_enabled(void)
{
	return atomic_load(&seccomp_on);
}

void seccomp_set_violation_exit(int status)
{
	atomic_store(&seccomp_exit_status, status);
}

int seccomp_rule_info(enum seccomp_kind kind, unsigned i, const char **name, const char **why)
{
	if ((unsigned)kind >= SECCOMP_NKINDS)
		return -ENOENT;
	for (const struct seccomp_part *p = seccomp_lists[kind].part;
	     p < seccomp_lists[kind].part + SECCOMP_PARTS_MAX; p++) {
		if (i < p->n) {
			*name = p->rule[i].name;
			*why = p->rule[i].why;
			return 0;
		}
		i -= p->n;
	}
	return -ENOENT;
}

/* ---- the violation report (a SIGSYS handler: async-signal-safe calls only) ------------ */

static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, long v)
{
	char digits[24];
	int n = 0;
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < (int)sizeof(digits));
	if (v < 0 && at < cap)
		buf[at++] = '-';
	while (n && at < cap)
		buf[at++] = digits[--n];
	return at;
}

/*
 * The path a forbidden open names, or NULL: which file a thread wanted says which library
 * call it was in. The trapped call did not run, so its argument registers are as it left them.
 */
static const char *trapped_path(int nr, void *ucontext)
{
#ifdef __x86_64__
	const greg_t *regs = ((ucontext_t *)ucontext)->uc_mcontext.gregs;

	if (nr == SYS_openat)
		return (const char *)regs[REG_RSI];
	if (nr == SYS_open)
		return (const char *)regs[REG_RDI];
#else
	(void)nr;
	(void)ucontext;
#endif
	return NULL;
}

static void seccomp_on_sigsys(int sig, siginfo_t *si, void *ucontext)
{
	int nr = si->si_syscall, kind = seccomp_thread_kind, status;
	const char *path;
	char msg[384];
	size_t n = 0;

	(void)sig;
	if (si->si_code != SYS_SECCOMP)
		return;		/* somebody's kill(SIGSYS), not a filter: not ours to report */
	status = atomic_load(&seccomp_exit_status);
	path = trapped_path(nr, ucontext);	/* only a filter's SIGSYS has the call's registers */
	n = put_str(msg, n, sizeof(msg), "hvm: error: seccomp: forbidden syscall ");
	if (nr >= 0 && nr < SECCOMP_NAMES_MAX && seccomp_name_at[nr])
		n = put_str(msg, n, sizeof(msg), seccomp_name_pool + seccomp_name_at[nr] - 1);
	else
		n = put_str(msg, n, sizeof(msg), "unknown");
	n = put_str(msg, n, sizeof(msg), " (");
	n = put_num(msg, n, sizeof(msg), nr);
	n = put_str(msg, n, sizeof(msg), ") in ");
	n = put_str(msg, n, sizeof(msg), kind >= 0 ? seccomp_lists[kind].thread : "a new");
	n = put_str(msg, n, sizeof(msg), " thread");
	if (path) {
		n = put_str(msg, n, sizeof(msg), " (path ");
		n = put_str(msg, n, sizeof(msg), path);	/* bounded by the buffer */
		n = put_str(msg, n, sizeof(msg), ")");
	}
	if (status >= 0) {
		n = put_str(msg, n, sizeof(msg), "; exiting with status ");
		n = put_num(msg, n, sizeof(msg), status);
	}
	if (n == sizeof(msg))
		n--;
	msg[n++] = '\n';
	ssize_t ignored = write(STDERR_FILENO, msg, n);
	(void)ignored;
	if (status >= 0)
		_exit(status);
	/*
	 * SIGSYS is blocked while its handler runs: a second trapped call makes the kernel
	 * reset it to its default action, so the process dies of SIGSYS. No filter allows
	 * this number (none exists).
	 */
	syscall(0x3fff);
	_exit(128 + SIGSYS);	/* not reached */
}

static void seccomp_resolve_names(void)
{
	size_t used = 0;

	for (int nr = 0; nr < SECCOMP_NAMES_MAX; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		size_t len = name ? strlen(name) + 1 : 0;
		if (len && used + len <= sizeof(seccomp_name_pool)) {
			memcpy(seccomp_name_pool + used, name, len);
			seccomp_name_at[nr] = (uint16_t)(used + 1);
			used += len;
		}
		free(name);
	}
}

/* ---- building and loading --------------------------------------------------------------- */

static int seccomp_add_row(scmp_filter_ctx ctx, const struct seccomp_rule *r, pid_t self)
{
	struct scmp_arg_cmp cmp[2];
	uint32_t act = r->err ? SCMP_ACT_ERRNO((uint32_t)r->err) : SCMP_ACT_ALLOW;

	memcpy(cmp, r->cmp, sizeof(cmp));
	if (r->self_pid)
		cmp[0].datum_a = (scmp_datum_t)self;
	return seccomp_rule_add_exact_array(ctx, act, r->nr, r->ncmp, cmp);
}

/* Kind's filter, not loaded; NULL with *err set (logged with the failing row). */
static scmp_filter_ctx seccomp_build(enum seccomp_kind kind, int *err)
{
	const struct seccomp_list *l = &seccomp_lists[kind];
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	pid_t self = getpid();

	*err = ctx ? 0 : -ENOMEM;
	/* A 32-bit (int 0x80) or x32 call has other numbers: kill, never match by accident. */
	if (!*err)
		*err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (!*err)
		*err = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);	/* real errnos */
	for (const struct seccomp_part *p = l->part; !*err && p < l->part + SECCOMP_PARTS_MAX; p++)
		for (unsigned i = 0; !*err && i < p->n; i++)
			if ((*err = seccomp_add_row(ctx, &p->rule[i], self)))
				log_err("seccomp: %s list: %s: %s", l->name, p->rule[i].name,
					strerror(-*err));
	if (!*err)
		*err = seccomp_syscall_priority(ctx, l->hot, 255);
	if (*err && ctx) {
		seccomp_release(ctx);
		ctx = NULL;
	}
	return ctx;
}

/*
 * Each kind's BPF, made once per process: libseccomp takes milliseconds to generate it (tens
 * where the CPU is emulated), and every vCPU and I/O thread of every VM loads one.
 */
static struct seccomp_prog {
	struct sock_filter *insns;
	unsigned short len;
	pid_t pid;		/* the pid its self_pid rows compare with */
} seccomp_progs[SECCOMP_NKINDS];

/* Generates kind's program into seccomp_progs (seccomp_lock held); 0 or -errno. */
static int seccomp_prog_make(enum seccomp_kind kind)
{
	struct seccomp_prog *p = &seccomp_progs[kind];
	int err, fd = memfd_create("hvm-seccomp", MFD_CLOEXEC);
	scmp_filter_ctx ctx = fd < 0 ? NULL : seccomp_build(kind, &err);
	off_t size = 0;

	if (fd < 0)
		return -errno;
	err = ctx ? seccomp_export_bpf(ctx, fd) : err;
	if (!err && ((size = lseek(fd, 0, SEEK_END)) <= 0 || size % sizeof(*p->insns) ||
		     size / sizeof(*p->insns) > BPF_MAXINSNS))
		err = -EINVAL;
	free(p->insns);
	p->insns = err ? NULL : malloc((size_t)size);
	if (!err && (!p->insns || pread(fd, p->insns, (size_t)size, 0) != size))
		err = -EIO;
	p->len = err ? 0 : (unsigned short)(size / sizeof(*p->insns));
	p->pid = getpid();
	seccomp_release(ctx);
	close(fd);
	return err;
}

/* Once per process, before the first filter: the names, the programs and the SIGSYS handler. */
static void seccomp_setup_process(void)
{
	struct sigaction sa = { .sa_sigaction = seccomp_on_sigsys, .sa_flags = SA_SIGINFO };

	seccomp_resolve_names();
	/* All of them now, while no thread has a filter that could refuse the memfd. */
	pthread_mutex_lock(&seccomp_lock);
	for (int k = 0; k < SECCOMP_NKINDS; k++)
		seccomp_prog_make((enum seccomp_kind)k);	/* a failure: made at install */
	pthread_mutex_unlock(&seccomp_lock);
	sigfillset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
}

int seccomp_verify(enum seccomp_kind kind)
{
	int err = -EINVAL;
	scmp_filter_ctx ctx;

	if ((unsigned)kind >= SECCOMP_NKINDS)
		return err;
	pthread_mutex_lock(&seccomp_lock);
	ctx = seccomp_build(kind, &err);
	pthread_mutex_unlock(&seccomp_lock);
	seccomp_release(ctx);
	return err;
}

/* Loads a made program on the calling thread, as seccomp_load would; 0 or -errno. */
static int seccomp_prog_load(const struct seccomp_prog *p)
{
	struct sock_fprog prog = { .len = p->len, .filter = p->insns };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

int seccomp_install(enum seccomp_kind kind)
{
	scmp_filter_ctx ctx;
	sigset_t sys;
	int err, built = 1;

	if (!atomic_load(&seccomp_on))
		return 0;
	if ((unsigned)kind >= SECCOMP_NKINDS)
		return -EINVAL;
	pthread_once(&seccomp_once, seccomp_setup_process);
	/* A blocked SIGSYS would make the kernel kill us without the report. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	seccomp_thread_kind = (int)kind;	/* before the load: a violation may follow at once */
	pthread_mutex_lock(&seccomp_lock);
	ctx = NULL;
	if (seccomp_progs[kind].len && seccomp_progs[kind].pid == getpid())
		err = seccomp_prog_load(&seccomp_progs[kind]);
	else if ((ctx = seccomp_build(kind, &err)))	/* a forked child: its own pid */
		err = seccomp_load(ctx);
	else
		built = 0;	/* seccomp_build logged why */
	if (err && built)
		log_err("seccomp: loading the %s thread's filter: %s", seccomp_lists[kind].name,
			strerror(-err));
	pthread_mutex_unlock(&seccomp_lock);
	seccomp_release(ctx);
	if (err)
		seccomp_thread_kind = -1;
	return err;
}
