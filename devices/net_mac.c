/* MAC addresses for virtio-net: random ones and parsing the user's. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "virtio_net.h"

void net_random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6) {
		/* No getrandom (old kernel, seccomp): still distinct per process and moment. */
		struct timespec ts;
		uint64_t x;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid() << 20;
		memcpy(mac, &x, 6);
	}
	/* Locally administered (bit 1) unicast (bit 0 clear): never a vendor's address. */
	mac[0] = (uint8_t)((mac[0] & ~1u) | 2u);
}

static int net_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int net_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	int any = 0;

	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = net_hex(s[3 * i]), lo = net_hex(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
		any |= m[i];
	}
	/* A multicast or all-zero address is no address for a network card. */
	if (!any || (m[0] & 1))
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}
