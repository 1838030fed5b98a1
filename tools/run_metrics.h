/* hvm-run's --metrics-json: boot phases in microseconds since exec, and VMM memory use. */
#ifndef HVM_RUN_METRICS_H
#define HVM_RUN_METRICS_H

#include <stdint.h>

struct machine;

struct run_metrics {
	uint64_t t0_us;			/* the origin: exec time from HVM_T0_US, else main() entry */
	int t0_from_exec;
	uint64_t kvm_ready_us, first_entry_us, agent_ready_us, command_exit_us, vm_exit_us;
	int64_t vmm_rss_kib;		/* process RSS minus guest RAM, -1 until sampled */
	int64_t guest_resident_kib;
	int has_net;			/* the counters below were sampled from a virtio-net device */
	uint64_t net_rx_frames, net_tx_frames, net_rx_dropped_no_buffer, net_rx_dropped_oversize,
		 net_tx_dropped_short, net_tx_dropped_oversize, net_tx_dropped_backend;
};

/* Sets the origin. A launcher may export HVM_T0_US (CLOCK_MONOTONIC, us) just before exec. */
void run_metrics_start(struct run_metrics *m);

/* Records RSS now, split into VMM and guest RAM. */
void run_metrics_sample_rss(struct run_metrics *m, const struct machine *machine);

/* Copies the network device's frame and drop counters (before the machine is destroyed). */
void run_metrics_sample_net(struct run_metrics *m, const struct machine *machine);

/* Writes the JSON file; 0 or -errno (message printed). */
int run_metrics_write(const struct run_metrics *m, const char *path);

#endif
