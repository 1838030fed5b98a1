/*
 * Logging for the library: one line per failure, "what: why", written where it happens. A
 * failure whose caller passed an error object (err.h) goes there instead: libhvm's embedder
 * reads it from the handle, never from state kept per thread.
 */
#ifndef HVM_LOG_H
#define HVM_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the most verbose level that is still printed (default LOG_WARN). */
void log_set_level(enum log_level level);

/* Parses "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int log_parse_level(const char *name, enum log_level *level);

/* Prints "hvm: LEVEL: message" on stderr when level is enabled. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Returns 1 when messages of this level would be printed. */
int log_enabled(enum log_level level);

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
