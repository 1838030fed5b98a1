/*
 * hvm-run networking. Rootless (--net user): passt runs beside us and the guest takes the
 * host's own address and gateway, as passt expects; the agent sets them statically, which
 * costs the slow guest kernel far less than a DHCP exchange. Privileged (--net tap): the
 * user says which addresses. Only ports named by -p are reachable from the host.
 */
#include "run_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../devices/net_backend.h"
#include "../devices/virtio_net.h"

/* HOST:GUEST[/tcp|/udp] */
static int parse_port(struct run_net_flags *f, const char *arg)
{
	unsigned long host, guest;
	char *end;
	struct run_port *p = &f->ports[f->nports];

	if (f->nports == RUN_MAX_PORTS) {
		fprintf(stderr, "hvm-run: -p: at most %d published ports\n", RUN_MAX_PORTS);
		return -EINVAL;
	}
	host = strtoul(arg, &end, 10);
	if (end == arg || *end != ':')
		goto bad;
	guest = strtoul(end + 1, &end, 10);
	if (host < 1 || host > 65535 || guest < 1 || guest > 65535)
		goto bad;
	p->udp = strcmp(end, "/udp") == 0;
	if (*end && strcmp(end, "/tcp") != 0 && !p->udp)
		goto bad;
	p->host = (uint16_t)host;
	p->guest = (uint16_t)guest;
	f->nports++;
	return 0;
bad:
	fprintf(stderr, "hvm-run: -p %s: use HOSTPORT:GUESTPORT[/tcp|/udp], ports 1 to 65535\n", arg);
	return -EINVAL;
}

static int parse_mode(struct run_net_flags *f, const char *arg)
{
	if (strcmp(arg, "none") == 0)
		f->mode = RUN_NET_NONE;
	else if (strcmp(arg, "user") == 0 || strcmp(arg, "passt") == 0)
		f->mode = RUN_NET_USER;
	else if (strcmp(arg, "tap") == 0 || strncmp(arg, "tap:", 4) == 0) {
		f->mode = RUN_NET_TAP;
		f->tap_name = arg[3] == ':' ? arg + 4 : NULL;
		if (f->tap_name && (!*f->tap_name || strlen(f->tap_name) >= IFNAMSIZ)) {
			fprintf(stderr, "hvm-run: --net %s: the TAP name must be 1 to %d characters\n",
				arg, IFNAMSIZ - 1);
			return -EINVAL;
		}
	} else {
		fprintf(stderr, "hvm-run: --net %s: use none, user or tap[:NAME]\n", arg);
		return -EINVAL;
	}
	return 0;
}

static int valid_ipv4(const char *flag, const char *arg, int with_prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);
	struct in_addr a;
	char *end;

	if (!!slash == with_prefix && len < sizeof(ip)) {
		memcpy(ip, arg, len);
		ip[len] = '\0';
		if (inet_pton(AF_INET, ip, &a) == 1 &&
		    (!slash || (slash[1] && strtoul(slash + 1, &end, 10) <= 32 && !*end)))
			return 0;
	}
	fprintf(stderr, "hvm-run: --%s %s: use an IPv4 address%s\n", flag, arg,
		with_prefix ? " with a prefix length (10.0.0.2/24)" : " (10.0.0.1)");
	return -EINVAL;
}

int run_net_flag(struct run_net_flags *f, const char *opt, const char *arg)
{
	uint8_t mac[6];

	if (strcmp(opt, "publish") == 0)
		return parse_port(f, arg);
	if (strcmp(opt, "net") == 0)
		return parse_mode(f, arg);
	if (strcmp(opt, "ip") == 0)
		return valid_ipv4(opt, arg, 1) ?: (f->ip = arg, 0);
	if (strcmp(opt, "gateway") == 0)
		return valid_ipv4(opt, arg, 0) ?: (f->gateway = arg, 0);
	if (strcmp(opt, "dns") == 0) {
		if (f->ndns == RUN_NET_DNS) {
			fprintf(stderr, "hvm-run: --dns: at most %d name servers\n", RUN_NET_DNS);
			return -EINVAL;
		}
		return valid_ipv4(opt, arg, 0) ?: (f->dns[f->ndns++] = arg, 0);
	}
	if (net_parse_mac(arg, mac) < 0 || (mac[0] & 1)) {
		fprintf(stderr, "hvm-run: --mac %s: use a unicast aa:bb:cc:dd:ee:ff\n", arg);
		return -EINVAL;
	}
	f->mac = arg;
	return 0;
}

int run_net_check(const struct run_net_flags *f)
{
	if (f->nports && (f->mode == RUN_NET_NONE || f->mode == RUN_NET_TAP)) {
		fprintf(stderr, "hvm-run: -p publishes ports through --net user; with --net %s "
			"the guest's address is reachable directly\n",
			f->mode == RUN_NET_NONE ? "none" : "tap");
		return -EINVAL;
	}
	if ((f->ip || f->gateway || f->ndns) && f->mode != RUN_NET_TAP) {
		fprintf(stderr, "hvm-run: --ip, --gateway and --dns go with --net tap "
			"(--net user gives the guest the host's own addresses)\n");
		return -EINVAL;
	}
	if (f->gateway && !f->ip) {
		fprintf(stderr, "hvm-run: --gateway needs --ip\n");
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
static void host_dns(struct run_net_guest *g)
{
	FILE *fp = fopen("/etc/resolv.conf", "re");
	char line[256], ip[INET_ADDRSTRLEN];
	struct in_addr a;

	while (fp && g->ndns < RUN_NET_DNS && fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "nameserver %15s", ip) != 1 || inet_pton(AF_INET, ip, &a) != 1)
			continue;
		if ((ntohl(a.s_addr) >> 24) == 127)
			snprintf(ip, sizeof(ip), "%s", g->gateway);
		snprintf(g->dns[g->ndns++], INET_ADDRSTRLEN, "%s", ip);
	}
	if (fp)
		fclose(fp);
}

static int setup_user(const struct run_net_flags *f, struct run_net *n)
{
	struct net_port_map maps[RUN_MAX_PORTS];
	char ifname[IFNAMSIZ];
	struct in_addr gw;
	int err = host_default_route(ifname, &gw);

	if (!err)
		err = host_address(ifname, n->guest.addr, sizeof(n->guest.addr));
	if (err) {
		fprintf(stderr, "hvm-run: --net user: the host has no IPv4 default route with an "
			"address (%s); passt gives the guest the host's own\n", strerror(-err));
		return err;
	}
	inet_ntop(AF_INET, &gw, n->guest.gateway, sizeof(n->guest.gateway));
	host_dns(&n->guest);
	for (int i = 0; i < f->nports; i++)
		maps[i] = (struct net_port_map){ .host_port = f->ports[i].host,
			.guest_port = f->ports[i].guest, .udp = f->ports[i].udp };
	return net_passt_start(maps, (unsigned)f->nports, n->mac, &n->backend);
}

static int setup_tap(const struct run_net_flags *f, struct run_net *n)
{
	int err = net_tap_open(f->tap_name, &n->backend);

	if (err)
		return err;
	if (f->ip)
		snprintf(n->guest.addr, sizeof(n->guest.addr), "%s", f->ip);
	if (f->gateway)
		snprintf(n->guest.gateway, sizeof(n->guest.gateway), "%s", f->gateway);
	for (int i = 0; i < f->ndns; i++)
		snprintf(n->guest.dns[n->guest.ndns++], INET_ADDRSTRLEN, "%s", f->dns[i]);
	return 0;
}

int run_net_setup(const struct run_net_flags *f, struct run_net *n)
{
	int err = 0;

	memset(n, 0, sizeof(*n));
	n->mode = f->mode == RUN_NET_AUTO ? (f->nports ? RUN_NET_USER : RUN_NET_NONE) : f->mode;
	if (n->mode == RUN_NET_NONE)
		return 0;
	n->guest.mtu = RUN_NET_MTU;
	if (f->mac)
		net_parse_mac(f->mac, n->mac);
	else
		net_random_mac(n->mac);
	err = n->mode == RUN_NET_USER ? setup_user(f, n) : setup_tap(f, n);
	if (err)
		run_net_teardown(n);
	return err;
}

void run_net_teardown(struct run_net *n)
{
	if (n->backend)
		n->backend->ops->close(n->backend);	/* stops passt too */
	n->backend = NULL;
}
