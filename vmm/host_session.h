/*
 * The host side of an agent session (proto/protocol.h): sends the process spec, forwards
 * stdin, signals and window sizes, writes the process's output to the caller's fds, and
 * learns how it ended. Used by libhvm for the boot session and by hvm_exec. Prints nothing:
 * why a session ended is kept in the session for the caller to report.
 */
#ifndef HVM_HOST_SESSION_H
#define HVM_HOST_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/protocol.h"

#define HOST_OUTBUF (256 * 1024)
#define HOST_CTL_RESERVE 4096		/* of HOST_OUTBUF, kept from stdin for SIGNAL and RESIZE */
#define HOST_EXIT_ERROR 125		/* the status of a session that ended in an error */

struct host_session {
	int fd;				/* the connection to the agent */
	const char *name;		/* for messages */
	struct proto_reader rd;
	uint8_t out[HOST_OUTBUF];	/* frames waiting to be written */
	size_t outlen;
	char *run_json;			/* the RUN frame, sent after the agent's HELLO */
	int hello;			/* the agent said HELLO */
	int stdin_open;			/* forwarding our stdin */
	size_t stdin_inflight;		/* stdin sent, not yet acknowledged (<= PROTO_STDIN_WINDOW) */
	int done;			/* EXIT or ERROR arrived, or the session broke */
	int status;			/* hvm-run's exit status once done */
	int error;			/* ended by an error (status is then 125) */
	int agent;			/* the agent's own session: its output is the command's */
	int out_fd, err_fd;		/* where STDOUT and STDERR frames go (-1: discarded) */
	char why[512];			/* with error: "NAME: what went wrong" */
	int hold_run;			/* RUN waits for host_session_release_run (a template first) */
	int refresh;			/* a restored VM: REFRESH goes before RUN */
	const char *refresh_hostname;	/* what REFRESH sets, or NULL (not owned) */
};

/*
 * Starts a session on a connected socket; run_json (owned by the session) is the spec. Only
 * an agent session may send output and exit frames: any other guest connection that does
 * (or sends anything invalid) is ended, with why. Output goes to out_fd/err_fd.
 */
void host_session_init(struct host_session *s, int fd, const char *name, char *run_json,
		       int forward_stdin, int agent, int out_fd, int err_fd);

/* Sends RUN now (if the agent's HELLO is in) or at HELLO, after a hold_run. */
void host_session_release_run(struct host_session *s);

/* Reads and handles frames; returns 0, or -1 when the session is over (see status). */
int host_session_read(struct host_session *s);

/* Writes queued frames; 0, or -1 when the connection failed. */
int host_session_flush(struct host_session *s);

/* Reads the caller's stdin (fd) once into a STDIN frame; EOF sends the empty frame and stops. */
void host_session_stdin(struct host_session *s, int fd);

/* Queues a SIGNAL frame for the process. */
void host_session_signal(struct host_session *s, int sig);

/* Queues a RESIZE frame for the process's tty. */
void host_session_resize(struct host_session *s, unsigned rows, unsigned cols);

/* Whether to read stdin now: forwarding it, RUN sent, window open, room beside the reserve. */
int host_session_wants_stdin(const struct host_session *s);

/* Frees the spec and closes the connection. */
void host_session_close(struct host_session *s);

/* Builds the RUN spec JSON; returns a malloc'd string or NULL. env is NULL-terminated. */
char *host_session_run_json(char *const *argv, char *const *env, const char *cwd,
			    const char *user, int tty, unsigned rows, unsigned cols, int want_stdin);

#endif
