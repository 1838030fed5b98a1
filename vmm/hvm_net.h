/*
 * A VM's networking: choosing the backend (passt for rootless published ports, a TAP device,
 * or none), starting it, and the guest addresses the agent sets on eth0.
 */
#ifndef HVM_NET_H
#define HVM_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>

#include "../core/err.h"

#define HVM_NET_MAX_PORTS 16
#define HVM_NET_DNS       3

enum hvm_net_mode { HVM_NET_AUTO, HVM_NET_NONE, HVM_NET_USER, HVM_NET_TAP };

struct hvm_net_port {
	uint16_t host, guest;
	int udp;
};

/* What the caller asked for (checked by the setters). */
struct hvm_net_config {
	enum hvm_net_mode mode;		/* AUTO: user when ports are published, else none */
	char tap_name[IFNAMSIZ];	/* "tap:NAME"; "": create one (root) */
	struct hvm_net_port ports[HVM_NET_MAX_PORTS];
	int nports;
	char ip[INET_ADDRSTRLEN + 4];	/* A.B.C.D/N, or "" */
	char gateway[INET_ADDRSTRLEN];
	char dns[HVM_NET_DNS][INET_ADDRSTRLEN];
	int ndns;
	int has_mac;
	uint8_t mac[6];
};

/* What the guest gets: strings for the agent's boot request, ready to send. */
struct hvm_net_guest {
	char addr[INET_ADDRSTRLEN + 4];	/* "" when eth0 stays unconfigured */
	char gateway[INET_ADDRSTRLEN];
	char dns[HVM_NET_DNS][INET_ADDRSTRLEN];
	int ndns;
	unsigned mtu;			/* the backend's: 65520 with passt, the TAP's own */
};

struct net_backend;

/* A set-up network: the backend for the device and the guest side's settings. */
struct hvm_net {
	enum hvm_net_mode mode;		/* NONE, USER or TAP once resolved */
	struct net_backend *backend;	/* handed to the machine, which owns it from then on;
					   for user mode closing it stops passt */
	uint8_t mac[6];
	struct hvm_net_guest guest;
};

/* mode as the API spells it ("none", "user", "passt", "tap", "tap:NAME") into c; 0 or -EINVAL. */
int hvm_net_parse_mode(struct hvm_net_config *c, const char *mode, struct err *e);

/* Whether s is an IPv4 address, with a "/N" prefix length when with_prefix. */
int hvm_net_valid_ipv4(const char *s, int with_prefix);

/* The mode a config resolves to (AUTO becomes USER with published ports, else NONE). */
enum hvm_net_mode hvm_net_resolve(const struct hvm_net_config *c);

/* Checks the settings against each other; 0, or -EINVAL with why in e. */
int hvm_net_check(const struct hvm_net_config *c, struct err *e);

/*
 * Resolves the mode, starts passt or opens the TAP, and computes the guest settings.
 * 0 (n->backend NULL for none), or -errno with why in e.
 */
int hvm_net_setup(const struct hvm_net_config *c, struct hvm_net *n, struct err *e);

/* Frees a backend the machine did not take (stopping passt). */
void hvm_net_teardown(struct hvm_net *n);

#endif
