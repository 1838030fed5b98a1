#include "hvm_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "machine.h"

#define T0_MAX_AGE_US (10 * 1000000ULL)	/* an HVM_T0_US older than this is not our exec */

void hvm_metrics_start(struct hvm_metrics *m)
{
	const char *env = getenv("HVM_T0_US");
	uint64_t now = clock_now_us();

	memset(m, 0, sizeof(*m));
	m->t0_us = now;
	m->vmm_rss_kib = m->guest_resident_kib = -1;
	if (env) {
		char *end;
		unsigned long long t0 = strtoull(env, &end, 10);
		if (!*end && t0 <= now && now - t0 < T0_MAX_AGE_US) {
			m->t0_us = t0;
			m->t0_from_exec = 1;
		}
	}
}

/*
 * Sums Rss over /proc/self/smaps: all mappings, and those inside [lo, hi) (guest RAM, which
 * mapped kernel pages split into several mappings).
 */
static int smaps_rss_kib(uintptr_t lo, uintptr_t hi, int64_t *total, int64_t *inside)
{
	char line[512];
	uintptr_t start = 0;
	long long kib;
	char buf[16 * 1024];	/* a few reads instead of one per KiB */
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -errno;
	setvbuf(f, buf, _IOFBF, sizeof(buf));
	*total = *inside = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2)
			start = a;
		else if (sscanf(line, "Rss: %lld kB", &kib) == 1) {
			*total += kib;
			if (start >= lo && start < hi)
				*inside += kib;
		}
	}
	fclose(f);
	return 0;
}

void hvm_metrics_sample_rss(struct hvm_metrics *m, const struct machine *machine)
{
	uintptr_t lo = (uintptr_t)machine->vm.mem.base;
	int64_t total, guest;

	if (smaps_rss_kib(lo, lo + machine->vm.map_size, &total, &guest) == 0) {
		m->guest_resident_kib = guest;
		m->vmm_rss_kib = total - guest;
	}
}

static void put_phase(FILE *f, const char *name, uint64_t t0, uint64_t t, int last)
{
	if (t)
		fprintf(f, "    \"%s\": %llu%s\n", name, (unsigned long long)(t - t0), last ? "" : ",");
	else
		fprintf(f, "    \"%s\": null%s\n", name, last ? "" : ",");
}

void hvm_metrics_sample_net(struct hvm_metrics *m, const struct machine *machine)
{
	const struct vnet *n = &machine->net;

	m->has_net = machine->has_net;
	if (!m->has_net)
		return;
	m->net_rx_frames = atomic_load(&n->rx_frames);
	m->net_tx_frames = atomic_load(&n->tx_frames);
	m->net_rx_dropped_no_buffer = atomic_load(&n->rx_dropped_no_buffer);
	m->net_rx_dropped_oversize = atomic_load(&n->rx_dropped_oversize);
	m->net_tx_dropped_short = atomic_load(&n->tx_dropped_short);
	m->net_tx_dropped_oversize = atomic_load(&n->tx_dropped_oversize);
	m->net_tx_dropped_backend = atomic_load(&n->tx_dropped_backend);
}

static void put_net(FILE *f, const struct hvm_metrics *m)
{
	fprintf(f, ",\n  \"net\": {\"rx_frames\": %llu, \"tx_frames\": %llu, "
		"\"rx_dropped_no_buffer\": %llu, \"rx_dropped_oversize\": %llu, "
		"\"tx_dropped_short\": %llu, \"tx_dropped_oversize\": %llu, "
		"\"tx_dropped_backend\": %llu}",
		(unsigned long long)m->net_rx_frames, (unsigned long long)m->net_tx_frames,
		(unsigned long long)m->net_rx_dropped_no_buffer,
		(unsigned long long)m->net_rx_dropped_oversize,
		(unsigned long long)m->net_tx_dropped_short,
		(unsigned long long)m->net_tx_dropped_oversize,
		(unsigned long long)m->net_tx_dropped_backend);
}

char *hvm_metrics_to_json(const struct hvm_metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "{\n  \"origin\": \"%s\",\n  \"start\": \"%s\",\n  \"phases_us\": {\n",
		m->t0_from_exec ? "exec" : "create", m->start ? m->start : "cold");
	if (m->snapshot_read_us)
		put_phase(f, "snapshot_read", m->t0_us, m->snapshot_read_us, 0);
	if (m->restored_us)
		put_phase(f, "restored", m->t0_us, m->restored_us, 0);
	put_phase(f, "kvm_ready", m->t0_us, m->kvm_ready_us, 0);
	put_phase(f, "first_vcpu_entry", m->t0_us, m->first_entry_us, 0);
	put_phase(f, "agent_ready", m->t0_us, m->agent_ready_us, 0);
	if (m->template_saved_us)
		put_phase(f, "template_saved", m->t0_us, m->template_saved_us, 0);
	put_phase(f, "command_exit", m->t0_us, m->command_exit_us, 0);
	put_phase(f, "vm_exit", m->t0_us, m->vm_exit_us, 1);
	fprintf(f, "  },\n  \"vmm_rss_kib\": %lld,\n  \"guest_ram_resident_kib\": %lld",
		(long long)m->vmm_rss_kib, (long long)m->guest_resident_kib);
	if (m->has_net)
		put_net(f, m);
	fprintf(f, "\n}\n");
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
