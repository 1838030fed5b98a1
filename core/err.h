/*
 * An error passed down explicitly: the caller owns one, the code that fails fills it once with
 * "what: why" where it happens. libhvm keeps one per handle for hvm_error(); code whose caller
 * passes none reports on stderr instead (log_err), so a failure is still said exactly once.
 */
#ifndef HVM_ERR_H
#define HVM_ERR_H

#define ERR_MAX 1024

struct err {
	int code;		/* the -errno of the first failure; 0 while none */
	char msg[ERR_MAX];	/* its one line, "what: why" */
};

/* Empties e (NULL: nothing). */
void err_clear(struct err *e);

/*
 * Records code and the message as e's error unless e already holds one (the first failure is
 * the cause; what it made fail later is not), then returns code. NULL e: logs the message on
 * stderr as an error. Recorded messages go to stderr only at the debug level.
 */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* 1 when e holds an error. */
int err_is_set(const struct err *e);

#endif
