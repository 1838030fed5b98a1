/*
 * Guest-side test program: makes eth0 emit Ethernet frames larger than the device accepts.
 * It raises eth0's MTU (the device offers no MTU ceiling, so the driver allows up to 64 KiB)
 * and sends COUNT UDP datagrams of SIZE bytes to DEST port 9 unfragmented, then puts the
 * MTU back to 1500. The host must drop and count the frames and keep the VM and network
 * alive. Usage: net_oversize DEST SIZE COUNT
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int set_mtu(int fd, int mtu)
{
	struct ifreq ifr = { 0 };

	strcpy(ifr.ifr_name, "eth0");
	ifr.ifr_mtu = mtu;
	return ioctl(fd, SIOCSIFMTU, &ifr);
}

int main(int argc, char **argv)
{
	static char payload[60000];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	size_t size = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	int count = argc > 3 ? atoi(argv[3]) : 3, sent = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (argc < 2 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || size > sizeof(payload)) {
		fprintf(stderr, "usage: net_oversize DEST SIZE COUNT\n");
		return 2;
	}
	if (fd < 0 || set_mtu(fd, (int)size + 100) < 0) {
		perror("net_oversize: raising eth0's MTU");
		return 2;
	}
	for (int i = 0; i < count; i++)
		if (sendto(fd, payload, size, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)size)
			sent++;
		else
			perror("net_oversize: sendto");
	usleep(200000);	/* let the frames leave before the MTU shrinks under them */
	set_mtu(fd, 1500);
	printf("sent %d frames of %zu bytes\n", sent, size);
	close(fd);
	return sent == count ? 0 : 1;
}
