/*
 * hvm-run's networking: the -p/--net/--ip/--gateway/--dns/--mac flags, choosing the backend
 * (passt for rootless -p, a TAP device, or none), and the guest addresses the agent sets.
 */
#ifndef HVM_RUN_NET_H
#define HVM_RUN_NET_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

#define RUN_MAX_PORTS 16
#define RUN_NET_DNS   3
#define RUN_NET_MTU   1500

enum run_net_mode { RUN_NET_AUTO, RUN_NET_NONE, RUN_NET_USER, RUN_NET_TAP };

struct run_port {
	uint16_t host, guest;
	int udp;
};

/* What the flags asked for. */
struct run_net_flags {
	enum run_net_mode mode;		/* AUTO: user when -p is given, else none */
	const char *tap_name;		/* --net tap:NAME; NULL: create one (root) */
	struct run_port ports[RUN_MAX_PORTS];
	int nports;
	const char *ip;			/* --ip A.B.C.D/N */
	const char *gateway;
	const char *dns[RUN_NET_DNS];
	int ndns;
	const char *mac;
};

/* What the guest gets: strings for the agent's boot request, ready to send. */
struct run_net_guest {
	char addr[INET_ADDRSTRLEN + 4];	/* "" when eth0 stays unconfigured */
	char gateway[INET_ADDRSTRLEN];
	char dns[RUN_NET_DNS][INET_ADDRSTRLEN];
	int ndns;
	unsigned mtu;
};

struct net_backend;

/* A set-up network: the backend for the device and the guest side's settings. */
struct run_net {
	enum run_net_mode mode;		/* NONE, USER or TAP once resolved */
	struct net_backend *backend;	/* handed to the machine, which owns it from then on;
					   for --net user closing it stops passt */
	uint8_t mac[6];
	struct run_net_guest guest;
};

/*
 * Handles one networking flag (opt is the option's long name: "publish", "net", "ip",
 * "gateway", "dns", "mac"); 0, or -EINVAL after printing what is wrong with arg.
 */
int run_net_flag(struct run_net_flags *f, const char *opt, const char *arg);

/* Checks the flags against each other; 0, or -EINVAL after printing why. */
int run_net_check(const struct run_net_flags *f);

/*
 * Resolves the mode, starts passt or opens the TAP, and computes the guest settings.
 * 0 (n->backend NULL for --net none), or -errno after printing why.
 */
int run_net_setup(const struct run_net_flags *f, struct run_net *n);

/* Frees a backend the machine did not take (stopping passt). */
void run_net_teardown(struct run_net *n);

#endif
