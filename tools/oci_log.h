/*
 * hvm-oci's messages, the way engines read a runtime's: errors on stderr, and with --log
 * also in that file, as JSON lines {"level":"error","msg":"...","time":"..."} under
 * --log-format json (containerd and podman show the last one when a command fails).
 */
#ifndef HVM_OCI_LOG_H
#define HVM_OCI_LOG_H

/* Where messages go besides stderr; path NULL: nowhere. Opened for append. 0 or -errno. */
int oci_log_open(const char *path, int json, int debug);

/* An error: on stderr and in the log. */
void oci_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A warning (something in the spec a VM cannot honour): in the log only. */
void oci_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* With --debug: in the log only. */
void oci_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The fd of the log file, or -1 (the supervisor sends the guest console there with --debug). */
int oci_log_fd(void);

#endif
