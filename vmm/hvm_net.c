/*
 * Networking for a VM. Rootless (user): passt runs beside us and the guest takes the host's
 * own address and gateway, as passt expects; the agent sets them statically, which costs the
 * slow guest kernel far less than a DHCP exchange. Privileged (tap): the caller says which
 * addresses. Only published ports are reachable from the host.
 */
#include "hvm_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../devices/net_backend.h"
#include "../devices/virtio_net.h"
#include "../core/err.h"

int hvm_net_parse_mode(struct hvm_net_config *c, const char *mode, struct err *e)
{
	if (strcmp(mode, "none") == 0)
		c->mode = HVM_NET_NONE;
	else if (strcmp(mode, "user") == 0 || strcmp(mode, "passt") == 0)
		c->mode = HVM_NET_USER;
	else if (strcmp(mode, "tap") == 0 || strncmp(mode, "tap:", 4) == 0) {
		const char *name = mode[3] == ':' ? mode + 4 : "";
		if (mode[3] == ':' && (!*name || strlen(name) >= IFNAMSIZ)) {
			err_set(e, -EINVAL, "network %s: the TAP name must be 1 to %d characters",
				mode, IFNAMSIZ - 1);
			return -EINVAL;
		}
		c->mode = HVM_NET_TAP;
		snprintf(c->tap_name, sizeof(c->tap_name), "%s", name);
	} else {
		err_set(e, -EINVAL, "network %s: use none, user or tap[:NAME]", mode);
		return -EINVAL;
	}
	return 0;
}

int hvm_net_valid_ipv4(const char *s, int with_prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	struct in_addr a;
	char *end;

	if (!!slash != !!with_prefix || len >= sizeof(ip))
		return 0;
	memcpy(ip, s, len);
	ip[len] = '\0';
	return inet_pton(AF_INET, ip, &a) == 1 &&
	       (!slash || (slash[1] && strtoul(slash + 1, &end, 10) <= 32 && !*end));
}

enum hvm_net_mode hvm_net_resolve(const struct hvm_net_config *c)
{
	if (c->mode != HVM_NET_AUTO)
		return c->mode;
	return c->nports ? HVM_NET_USER : HVM_NET_NONE;
}

int hvm_net_check(const struct hvm_net_config *c, struct err *e)
{
	enum hvm_net_mode m = hvm_net_resolve(c);

	if (c->nports && m != HVM_NET_USER) {
		err_set(e, -EINVAL, "published ports go through user networking; with %s the "
			"guest's address is reachable directly",
			m == HVM_NET_NONE ? "none" : "tap");
		return -EINVAL;
	}
	if ((c->ip[0] || c->gateway[0] || c->ndns) && m != HVM_NET_TAP) {
		err_set(e, -EINVAL, "guest addresses go with tap networking (user networking "
			"gives the guest the host's own addresses)");
		return -EINVAL;
	}
	if (c->gateway[0] && !c->ip[0]) {
		err_set(e, -EINVAL, "a gateway needs an address");
		return -EINVAL;
	}
	return 0;
}

/* The host's IPv4 default route: its interface and gateway; -ENETUNREACH when none. */
static int host_default_route(char ifname[IFNAMSIZ], struct in_addr *gw)
{
	FILE *fp = fopen("/proc/net/route", "re");
	char line[256], name[IFNAMSIZ];
	unsigned dst, gateway, flags, mask;
	int err = -ENETUNREACH;

	if (!fp)
		return -errno;
	while (err && fgets(line, sizeof(line), fp))
		if (sscanf(line, "%15s %x %x %x %*d %*d %*d %x", name, &dst, &gateway, &flags,
			   &mask) == 5 && dst == 0 && mask == 0 && (flags & 0x3) == 0x3) {
			memcpy(ifname, name, IFNAMSIZ);
			gw->s_addr = gateway;	/* the file holds it in network order already */
			err = 0;
		}
	fclose(fp);
	return err;
}

/* ifname's first IPv4 address and prefix length, as "A.B.C.D/N". */
static int host_address(const char *ifname, char *out, size_t cap)
{
	struct ifaddrs *all, *i;
	char ip[INET_ADDRSTRLEN];
	int err = -EADDRNOTAVAIL;

	if (getifaddrs(&all) < 0)
		return -errno;
	for (i = all; i && err; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_netmask && i->ifa_addr->sa_family == AF_INET &&
		    strcmp(i->ifa_name, ifname) == 0) {
			struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			uint32_t m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
			inet_ntop(AF_INET, &a, ip, sizeof(ip));
			snprintf(out, cap, "%s/%d", ip, __builtin_popcount(m));
			err = 0;
		}
	freeifaddrs(all);
	return err;
}

/* The host's name servers; loopback ones (a local resolver) are reached through the gateway. */
static void host_dns(struct hvm_net_guest *g)
{
	FILE *fp = fopen("/etc/resolv.conf", "re");
	char line[256], ip[INET_ADDRSTRLEN];
	struct in_addr a;

	while (fp && g->ndns < HVM_NET_DNS && fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "nameserver %15s", ip) != 1 || inet_pton(AF_INET, ip, &a) != 1)
			continue;
		if ((ntohl(a.s_addr) >> 24) == 127)
			snprintf(ip, sizeof(ip), "%s", g->gateway);
		snprintf(g->dns[g->ndns++], INET_ADDRSTRLEN, "%s", ip);
	}
	if (fp)
		fclose(fp);
}

static int setup_user(const struct hvm_net_config *c, struct hvm_net *n, struct err *e)
{
	struct net_port_map maps[HVM_NET_MAX_PORTS];
	char ifname[IFNAMSIZ];
	struct in_addr gw;
	int err = host_default_route(ifname, &gw);

	if (!err)
		err = host_address(ifname, n->guest.addr, sizeof(n->guest.addr));
	if (err) {
		err_set(e, err, "user networking: the host has no IPv4 default route with an "
			"address (%s); passt gives the guest the host's own", strerror(-err));
		return err;
	}
	inet_ntop(AF_INET, &gw, n->guest.gateway, sizeof(n->guest.gateway));
	host_dns(&n->guest);
	for (int i = 0; i < c->nports; i++)
		maps[i] = (struct net_port_map){ .host_port = c->ports[i].host,
			.guest_port = c->ports[i].guest, .udp = c->ports[i].udp };
	return net_passt_start(maps, (unsigned)c->nports, &n->backend, e);
}

static int setup_tap(const struct hvm_net_config *c, struct hvm_net *n, struct err *e)
{
	int err = net_tap_open(c->tap_name[0] ? c->tap_name : NULL, &n->backend, e);

	if (err)
		return err;
	snprintf(n->guest.addr, sizeof(n->guest.addr), "%s", c->ip);
	snprintf(n->guest.gateway, sizeof(n->guest.gateway), "%s", c->gateway);
	for (int i = 0; i < c->ndns; i++)
		snprintf(n->guest.dns[n->guest.ndns++], INET_ADDRSTRLEN, "%s", c->dns[i]);
	return 0;
}

int hvm_net_setup(const struct hvm_net_config *c, struct hvm_net *n, struct err *e)
{
	int err = hvm_net_check(c, e);

	memset(n, 0, sizeof(*n));
	n->mode = hvm_net_resolve(c);
	if (err || n->mode == HVM_NET_NONE)
		return err;
	if (c->has_mac)
		memcpy(n->mac, c->mac, sizeof(n->mac));
	else
		net_random_mac(n->mac);
	err = n->mode == HVM_NET_USER ? setup_user(c, n, e) : setup_tap(c, n, e);
	if (err)
		hvm_net_teardown(n);
	else
		n->guest.mtu = n->backend->mtu;	/* the device carries what the backend does */
	return err;
}

void hvm_net_teardown(struct hvm_net *n)
{
	if (n->backend)
		n->backend->ops->close(n->backend);	/* stops passt too */
	n->backend = NULL;
}
