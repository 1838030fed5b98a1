#include "oci_log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci_state.h"

/* One per process: hvm-oci is a front end and opens its log once, first thing. */
static struct {
	int fd;
	int json;
	int debug;
} log_cfg = { .fd = -1 };

int oci_log_open(const char *path, int json, int debug)
{
	log_cfg.json = json;
	log_cfg.debug = debug;
	if (!path)
		return 0;
	log_cfg.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return log_cfg.fd < 0 ? -errno : 0;
}

int oci_log_fd(void)
{
	return log_cfg.fd;
}

/* One line: a JSON object or "time level msg"; written with one write(2) so lines from the
 * supervisor and a concurrent command never interleave. */
static void log_line(const char *level, const char *msg)
{
	char now[64], *line = NULL;
	cJSON *o;
	int n = -1;

	if (log_cfg.fd < 0)
		return;
	oci_now_rfc3339(now, sizeof(now));
	if (log_cfg.json && (o = cJSON_CreateObject())) {
		char *text;
		cJSON_AddStringToObject(o, "level", level);
		cJSON_AddStringToObject(o, "msg", msg);
		cJSON_AddStringToObject(o, "time", now);
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (text)
			n = asprintf(&line, "%s\n", text);
		free(text);
	} else {
		n = asprintf(&line, "time=\"%s\" level=%s msg=\"%s\"\n", now, level, msg);
	}
	if (n > 0 && write(log_cfg.fd, line, (size_t)n) < 0)
		n = -1;	/* nowhere left to report it */
	free(line);
}

void oci_err(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hvm-oci: %s\n", msg);
	log_line("error", msg);
}

void oci_warn(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line("warning", msg);
}

void oci_debug(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!log_cfg.debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line("debug", msg);
}
