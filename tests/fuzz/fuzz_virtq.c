/*
 * The virtqueue walker over hostile rings: the input is guest RAM holding the descriptor
 * table, the avail ring and whatever the descriptors point at. Every chain virtq_pop returns
 * must lie inside RAM and within the size bounds, whatever the guest wrote.
 *
 * Input: byte 0 = queue size (low nibble: log2, 0..8; 9..15: byte 1 as is, mostly invalid)
 *        | 0x10 EVENT_IDX; byte 1 = raw size; the rest is RAM from address 0, packed for
 *        the queue size n so that small inputs reach everything: the avail ring at 0, the
 *        descriptors at the next multiple of 16, the used ring after them, then buffers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/virtq.h"
#include "../../core/log.h"

#define RAM   0x4000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static struct guest_mem mem;
static struct virtq vq;
static struct virtq_chain chain;

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_virtq: %s\n", why);
	abort();
}

/* What the walker promises about any chain it returns. */
static void check_chain(void)
{
	unsigned n = chain.nread + chain.nwrite;

	if (n == 0 || n > VIRTQ_MAX_SIZE)
		fail("chain with no buffers or more than VIRTQ_MAX_SIZE");
	if (chain.head >= vq.size)
		fail("head outside the queue");
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = chain.iov[i].iov_base;
		size_t len = chain.iov[i].iov_len;
		if (p < ram || p > ram + RAM || len > (size_t)(ram + RAM - p))
			fail("buffer outside guest RAM");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned log2, pops = 0;
	int r;

	if (size < 2)
		return 0;
	if (!ram) {
		ram = malloc(RAM);
		log_set_level(LOG_ERROR);
	}
	memset(ram, 0, RAM);
	memcpy(ram, data + 2, size - 2 < RAM ? size - 2 : RAM);
	guest_mem_init(&mem, ram, RAM);
	virtq_reset(&vq);
	vq.name = "fuzz queue";
	log2 = data[0] & 15;
	vq.size = log2 <= 8 ? (uint16_t)(1u << log2) : data[1];
	vq.avail_gpa = 0;
	vq.desc_gpa = (6u + 2u * vq.size + 2u + 15u) & ~15u;
	vq.used_gpa = vq.desc_gpa + 16u * vq.size;
	if (virtq_enable(&vq, &mem, !!(data[0] & 0x10)) < 0)
		return 0;
	vq.ready = 1;
	/* A driver may publish at most a queue's worth; a second lap catches index wrap bugs. */
	while (pops++ < 2u * vq.size + 2 && (r = virtq_pop(&vq, &mem, &chain)) == 1) {
		check_chain();
		virtq_push(&vq, chain.head, (uint32_t)virtq_chain_writable(&chain));
		virtq_should_interrupt(&vq);
		if (!virtq_enable_notify(&vq))
			break;
	}
	if (vq.broken && virtq_pop(&vq, &mem, &chain) != 0)
		fail("a broken queue handed out another request");
	return 0;
}
