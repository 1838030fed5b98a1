/*
 * Guest networking set-up over rtnetlink, so images need no `ip` binary: lo up, then eth0's
 * MTU, address and default route as the host computed them (the host knows what passt or
 * the TAP side expects; no DHCP round trips through the slow guest kernel).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

#define NL_BUF 512

struct nl_msg {
	struct nlmsghdr *h;
	char buf[NL_BUF];
};

static void *nl_start(struct nl_msg *m, uint16_t type, uint16_t flags, size_t body)
{
	memset(m->buf, 0, sizeof(m->buf));
	m->h = (struct nlmsghdr *)m->buf;
	m->h->nlmsg_len = (uint32_t)NLMSG_LENGTH(body);
	m->h->nlmsg_type = type;
	m->h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	return NLMSG_DATA(m->h);
}

static void nl_attr(struct nl_msg *m, uint16_t type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(m->buf + NLMSG_ALIGN(m->h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (uint16_t)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	m->h->nlmsg_len = NLMSG_ALIGN(m->h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Sends one request and returns the kernel's answer: 0 or -errno. */
static int nl_talk(int fd, struct nl_msg *m)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char ack[NL_BUF];
	ssize_t n;

	if (sendto(fd, m->buf, m->h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	n = recv(fd, ack, sizeof(ack), 0);
	if (n < 0)
		return -errno;
	struct nlmsghdr *h = (struct nlmsghdr *)ack;
	if ((size_t)n < NLMSG_LENGTH(sizeof(struct nlmsgerr)) || h->nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

static int link_up(int fd, unsigned index, unsigned mtu)
{
	struct nl_msg m;
	struct ifinfomsg *ifi = nl_start(&m, RTM_NEWLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (mtu)
		nl_attr(&m, IFLA_MTU, &mtu, sizeof(mtu));
	return nl_talk(fd, &m);
}

static int add_address(int fd, unsigned index, struct in_addr a, unsigned prefix)
{
	struct nl_msg m;
	struct ifaddrmsg *ifa = nl_start(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = index;
	nl_attr(&m, IFA_LOCAL, &a, sizeof(a));
	nl_attr(&m, IFA_ADDRESS, &a, sizeof(a));
	return nl_talk(fd, &m);
}

static int add_default_route(int fd, unsigned index, struct in_addr gw)
{
	struct nl_msg m;
	struct rtmsg *rt = nl_start(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rt));

	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	nl_attr(&m, RTA_GATEWAY, &gw, sizeof(gw));
	nl_attr(&m, RTA_OIF, &index, sizeof(index));
	return nl_talk(fd, &m);
}

/* "A.B.C.D/N" into address and prefix; -EINVAL when it is not that. */
static int parse_cidr(const char *s, struct in_addr *a, unsigned *prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	*prefix = (unsigned)strtoul(slash + 1, &end, 10);
	return inet_pton(AF_INET, ip, a) == 1 && !*end && *prefix <= 32 ? 0 : -EINVAL;
}

static int configure_eth0(int fd, const struct agent_net *n, char *why, size_t cap)
{
	unsigned index = if_nametoindex("eth0"), prefix;
	struct in_addr a, gw;
	int err;

	if (!index) {
		snprintf(why, cap, "network: no eth0 in the guest (virtio-net missing from the kernel?)");
		return -ENODEV;
	}
	if (parse_cidr(n->addr, &a, &prefix) ||
	    (n->gateway && inet_pton(AF_INET, n->gateway, &gw) != 1)) {
		snprintf(why, cap, "network: bad address %s or gateway %s", n->addr,
			 n->gateway ? n->gateway : "-");
		return -EINVAL;
	}
	if ((err = link_up(fd, index, n->mtu)))
		snprintf(why, cap, "network: eth0 up (mtu %u): %s", n->mtu, strerror(-err));
	else if ((err = add_address(fd, index, a, prefix)))
		snprintf(why, cap, "network: eth0 address %s: %s", n->addr, strerror(-err));
	else if (n->gateway && (err = add_default_route(fd, index, gw)))
		snprintf(why, cap, "network: default route via %s: %s", n->gateway, strerror(-err));
	return err;
}

int net_configure(const struct agent_net *n, char *why, size_t cap)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int err;

	if (fd < 0) {
		snprintf(why, cap, "network: netlink socket: %s", strerror(errno));
		return -errno;
	}
	err = link_up(fd, if_nametoindex("lo"), 0);
	if (err)
		snprintf(why, cap, "network: lo up: %s", strerror(-err));
	else if (n->addr)
		err = configure_eth0(fd, n, why, cap);
	close(fd);
	return err;
}

int net_write_resolv_conf(const struct agent_net *n)
{
	int fd;

	if (!n->ndns)
		return 0;
	/* Images often ship resolv.conf as a symlink into /run: replace it, never follow it. */
	unlink("/etc/resolv.conf");
	fd = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < n->ndns; i++)
		dprintf(fd, "nameserver %s\n", n->dns[i]);
	close(fd);
	return 0;
}
