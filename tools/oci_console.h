/*
 * --console-socket: the engine's side of a container terminal. The runtime makes a pty pair,
 * sends the master over the engine's unix socket (SCM_RIGHTS, with the slave's name as the
 * message, as runc does) and keeps the slave as the container's stdio; the VM's tty is
 * relayed to and from that slave.
 */
#ifndef HVM_OCI_CONSOLE_H
#define HVM_OCI_CONSOLE_H

/*
 * Makes a pty of rows x cols (0: leave the kernel's default), sends its master to the
 * socket at path and closes it here. Returns the slave fd (raw mode: the guest's own pty does
 * the line discipline), or -errno after oci_err.
 */
int oci_console_open(const char *socket_path, unsigned rows, unsigned cols);

/* The size of the pty behind fd. */
void oci_console_size(int fd, unsigned *rows, unsigned *cols);

#endif
