#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

int err_is_set(const struct err *e)
{
	return e && e->code;
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
	char line[ERR_MAX];
	va_list ap;

	if (err_is_set(e))
		return code;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!e) {
		log_err("%s", line);
		return code;
	}
	/* The caller says it (hvm_error, a front end's stderr); debug shows where it arose. */
	log_debug("%s", line);
	e->code = code ? code : -EIO;	/* a code of 0 would read as "no error" */
	snprintf(e->msg, sizeof(e->msg), "%s", line);
	return code;
}
