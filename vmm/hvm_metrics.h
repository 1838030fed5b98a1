/* A run's metrics (hvm_metrics_json): boot phases in microseconds, and VMM memory use. */
#ifndef HVM_METRICS_H
#define HVM_METRICS_H

#include <stdint.h>

struct machine;

struct hvm_metrics {
	uint64_t t0_us;			/* the origin: exec time from HVM_T0_US, else hvm_create */
	int t0_from_exec;
	uint64_t kvm_ready_us, first_entry_us, agent_ready_us, command_exit_us, vm_exit_us;
	const char *start;		/* "cold", "template" or "restore" */
	uint64_t snapshot_read_us;	/* a restore: state and memory files read and checked */
	uint64_t restored_us;		/* a restore: VM, vCPUs and devices rebuilt from them */
	uint64_t template_saved_us;	/* a cold boot that left a template: when it was written */
	int64_t vmm_rss_kib;		/* process RSS minus guest RAM, -1 until sampled */
	int64_t guest_resident_kib;
	int has_net;			/* the counters below were sampled from a virtio-net device */
	uint64_t net_rx_frames, net_tx_frames, net_rx_dropped_no_buffer, net_rx_dropped_oversize,
		 net_tx_dropped_short, net_tx_dropped_oversize, net_tx_dropped_backend;
};

/* Sets the origin. A launcher may export HVM_T0_US (CLOCK_MONOTONIC, us) just before exec. */
void hvm_metrics_start(struct hvm_metrics *m);

/* Records RSS now, split into VMM and guest RAM. */
void hvm_metrics_sample_rss(struct hvm_metrics *m, const struct machine *machine);

/* Copies the network device's frame and drop counters (before the machine is destroyed). */
void hvm_metrics_sample_net(struct hvm_metrics *m, const struct machine *machine);

/* The metrics as a JSON object: malloc'd, or NULL when out of memory. */
char *hvm_metrics_to_json(const struct hvm_metrics *m);

#endif
