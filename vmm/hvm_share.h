/*
 * Directory volumes (docs/volumes.md): each is served to the guest by a 9P2000.L server
 * process of its own (p9_server.h), forked before the VMM jails itself, confined to the
 * directory's descriptor, and reached through the vsock bridge: the guest's connection to
 * host port P arrives on "<vsock_uds>_P", where the server accepts it.
 */
#ifndef HVM_SHARE_H
#define HVM_SHARE_H

#include <limits.h>
#include <sys/types.h>

#include "../core/err.h"

#define HVM_SHARE_PORT_BASE 1100	/* host vsock port of directory volume i: base + i */

struct hvm_share {
	int dirfd;			/* O_PATH on the host directory; -1: not a share */
	int listen_fd;			/* until the server took it */
	pid_t pid;			/* the server; 0: none */
	int lifeline;			/* a pipe's write end: the server ends when it closes */
	char path[PATH_MAX + 16];	/* the socket it listens on */
};

/* Marks sh unused. */
void hvm_share_init(struct hvm_share *sh);

/* Opens the host directory dir for a share; 0 or -errno (why in e). */
int hvm_share_open(struct hvm_share *sh, const char *dir, struct err *e);

/*
 * Listens on "<uds>_<port>" and forks the server for sh's directory, refusing every change
 * when read_only. With owner_uid not (uid_t)-1 the socket file is given to that user and
 * group (a jailed VMM connects as them). 0 or -errno (why in e).
 */
int hvm_share_start(struct hvm_share *sh, const char *uds, unsigned port, int read_only,
		    uid_t owner_uid, gid_t owner_gid, struct err *e);

/* Kills and reaps the server, removes its socket, closes the directory. */
void hvm_share_stop(struct hvm_share *sh);

#endif
