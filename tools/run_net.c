/*
 * hvm-run's networking flags, checked here with messages that name them; libhvm
 * (vmm/hvm_net.c) sets the network up from what they become through the API.
 */
#include "run_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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

/* aa:bb:cc:dd:ee:ff, nothing else; 0 or -EINVAL (libhvm checks it again). */
static int parse_mac(const char *arg, uint8_t mac[6])
{
	int n = 0;

	if (strlen(arg) != 17 || sscanf(arg, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%n", &mac[0],
					&mac[1], &mac[2], &mac[3], &mac[4], &mac[5], &n) != 6 || n != 17)
		return -EINVAL;
	return 0;
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
	if (parse_mac(arg, mac) < 0 || (mac[0] & 1)) {
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
