/*
 * The self-jail (docs/jail.md): a process confines itself before it runs a guest (one not
 * started as root first enters a user namespace of its own, mapping only its uid and gid). jail_fork puts the process that will run the VM into a new PID namespace (the
 * caller's process stays outside, waits for it and forwards signals); jail_enter, once
 * everything the VM needs outside the jail is ready, opens the files the machine will open,
 * moves the process into new mount, IPC and UTS namespaces with an empty root (but for the
 * listed directories), sets rlimits, drops every capability, takes the
 * given uid/gid and sets no_new_privs.
 */
#ifndef HVM_JAIL_H
#define HVM_JAIL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define JAIL_MAX_BINDS   16
#define JAIL_MAX_FILES   1024		/* RLIMIT_NOFILE: the VMM needs a few dozen fds */
#define JAIL_MEM_SLACK   (2ULL << 30)	/* RLIMIT_AS beyond guest RAM: thread stacks, arenas,
					 * the mapped kernel */

/* What a bind-mounted path may be used for in the jail. */
enum {
	JAIL_RW  = 1 << 0,		/* opened read-write (a disk) / mounted writable (a directory) */
	JAIL_DEV = 1 << 1,		/* a character device (/dev/kvm), opened read-write */
	JAIL_DIR = 1 << 2,		/* a directory, bind-mounted into the jail at its path */
};

/* A file (opened before the jail, handed out by jail_open) or a directory (JAIL_DIR). */
struct jail_bind {
	const char *path;		/* as the VMM will open it: absolute, or relative to cwd */
	unsigned flags;
};

struct jail_config {
	uid_t uid;
	gid_t gid;
	struct jail_bind binds[JAIL_MAX_BINDS];
	unsigned nbinds;
	uint64_t max_memory;		/* RLIMIT_AS in bytes; 0: unlimited */
	int proc;			/* a /proc of the process's PID namespace in its root */
};

/* Forks into a new PID namespace: 0 in the child (PID 1 there) with *sig_fd reading one
 * struct signalfd_siginfo per signal of `forward` the parent received (EOF once the parent
 * is gone; the child also gets SIGKILL then); 1 in the parent once the child ended, with
 * *status its exit code or 128+N for signal N; -errno (logged) when nothing was forked. */
int jail_fork(const sigset_t *forward, int *sig_fd, int *status);

/* Confines the calling process, which must be single-threaded; 0 or -errno (why in e). Paths
 * are resolved now, the last component never through a symlink. Unprivileged, c's uid and
 * gid must be the caller's own: the only ones its user namespace maps. */
int jail_enter(const struct jail_config *c, struct err *e);

/* Whether this process could jail itself: tries the namespaces and the tmpfs a jail makes,
 * in a child that then exits, so nothing here changes. 0, or -errno with *step naming what
 * the host refused (nothing logged: the caller decides whether that is an error). */
int jail_probe(const char **step);

/* Whether a jail here is (or would be) unprivileged: in a user namespace of its own. */
int jail_unprivileged(void);

/* open(2), except for a path jail_enter opened already with the same access mode: that fd,
 * once. The VMM opens its files through this, so that jailed it needs no access to them. */
int jail_open(const char *path, int flags);

/* Adds a bind to c (ignoring NULL paths); 0 or -E2BIG (why in e). */
int jail_add(struct jail_config *c, const char *path, unsigned flags, struct err *e);

/* The lexical absolute form of path (cwd prefixed to a relative one; "." and ".." folded,
 * no symlink followed) into out; 0 or -ENAMETOOLONG / -errno of getcwd. */
int jail_abspath(const char *path, char *out, size_t cap);

#endif
