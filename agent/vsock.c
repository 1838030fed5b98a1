/* Connections from the guest to the host's vsock ports, which the VMM's device answers. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent.h"

int vsock_connect_host(unsigned port)
{
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				    .svm_port = port };
	/* Linux gives up on a connect after 2 s. The answer comes from the VMM's device thread,
	 * which a loaded host can leave unscheduled for longer; a give-up here would power a
	 * healthy VM off. The VMM bounds the run itself, so the guest need not. */
	struct timeval wait = { .tv_sec = PROTO_CONNECT_TIMEOUT_S };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &wait, sizeof(wait)) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
