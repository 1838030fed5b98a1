/*
 * virtio-vsock packet handling over hostile rings, with real host sockets on both ends:
 * a host client that connects to the device's socket and a listener for guest connections.
 *
 * Input: FUZZ_RAM bytes of guest RAM (fuzz_dev.h: queue 0 rx, 1 tx, 2 event), then
 *   byte 0: bit 0 set: a host client connects and sends the bytes from byte 2 on (a
 *           "CONNECT <port>\n" line, then stream data);
 *   byte 1: how many tx entries the guest publishes before the device has answered the
 *           host's connection (the rest come after), so that RESPONSE packets can land.
 * A fresh device per input; guest port 1024 of the host has a listener (like hvm-run's).
 */
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../devices/virtio_vsock.h"
#include "fuzz_dev.h"

#define GUEST_CID 3
#define HOST_PORT 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vsock dev;
static char uds[64];
static int listen_fd = -1;
static uint8_t first[FUZZ_RAM];		/* RAM as the guest had it before its later packets */

static int unix_socket(const char *path, int do_listen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0)
		return -1;
	if (do_listen ? bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 :
			connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static char listen_path[80];

static void cleanup(void)
{
	unlink(listen_path);
}

static void setup(void)
{

	fuzz_dev_init();
	snprintf(uds, sizeof(uds), "/tmp/hvm-fuzz-vsock-%d", (int)getpid());
	snprintf(listen_path, sizeof(listen_path), "%s_%d", uds, HOST_PORT);
	unlink(listen_path);
	listen_fd = unix_socket(listen_path, 1);
	if (listen_fd < 0)
		abort();
	atexit(cleanup);
}

static void drain(int fd)
{
	uint8_t buf[4096];

	while (fd >= 0 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *host = size > FUZZ_RAM + 2 ? data + FUZZ_RAM : NULL;
	struct vring_avail *tx;
	uint16_t tx_idx;
	int client = -1, fd;

	if (!fuzz_ram)
		setup();
	tx = (struct vring_avail *)(fuzz_ram + FUZZ_AVAIL(1));
	fuzz_vm.mmio.count = 0;		/* the previous input's device is gone */
	if (vsock_attach(&dev, &fuzz_vm, FUZZ_MMIO, 5, GUEST_CID, uds, NULL) < 0)
		abort();
	fuzz_dev_sync(&dev.transport);
	/* The guest's first packets only: tx avail->idx lowered to byte 1's count. */
	memset(first, 0, sizeof(first));
	memcpy(first, data, size < FUZZ_RAM ? size : FUZZ_RAM);
	memcpy(&tx_idx, first + FUZZ_AVAIL(1) + 2, 2);
	if (host && host[1] < tx_idx)
		memcpy(first + FUZZ_AVAIL(1) + 2, &(uint16_t){ host[1] }, 2);
	fuzz_dev_up(&dev.transport, 3, first, sizeof(first));
	if (host && (host[0] & 1) && (client = unix_socket(uds, 0)) >= 0)
		send(client, host + 2, size - FUZZ_RAM - 2, MSG_DONTWAIT | MSG_NOSIGNAL);
	fuzz_dev_pump(&dev.transport);		/* accept */
	fuzz_dev_pump(&dev.transport);		/* the CONNECT line: a REQUEST owed */
	fuzz_dev_notify(&dev.transport, 0);
	__atomic_store_n(&tx->idx, tx_idx, __ATOMIC_RELEASE);	/* the rest of the guest's packets */
	fuzz_dev_notify(&dev.transport, 1);
	fuzz_dev_pump(&dev.transport);		/* host bytes after the line, to the guest */
	drain(client);
	if (client >= 0)
		close(client);
	fuzz_dev_pump(&dev.transport);		/* the hang-up */
	fuzz_dev_notify(&dev.transport, 0);
	vsock_detach(&dev);
	while ((fd = accept(listen_fd, NULL, NULL)) >= 0)	/* guest connections to port 1024 */
		close(fd);
	return 0;
}
