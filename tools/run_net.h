/*
 * hvm-run's networking flags: -p/--net/--ip/--gateway/--dns/--mac, parsed and checked against
 * each other; hvm-run hands them to libhvm (hvm_set_net, hvm_add_port, ...).
 */
#ifndef HVM_RUN_NET_H
#define HVM_RUN_NET_H

#include <netinet/in.h>
#include <stdint.h>

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

/*
 * Handles one networking flag (opt is the option's long name: "publish", "net", "ip",
 * "gateway", "dns", "mac"); 0, or -EINVAL after printing what is wrong with arg.
 */
int run_net_flag(struct run_net_flags *f, const char *opt, const char *arg);

/* Checks the flags against each other; 0, or -EINVAL after printing why. */
int run_net_check(const struct run_net_flags *f);

#endif
