/* Split virtqueue parsing against well-formed and hostile rings, on a plain buffer. */
#include <errno.h>
#include <stdlib.h>

#include "../../devices/virtq.h"
#include "../harness.h"

#define RAM      (1 << 20)
#define QSIZE    8
#define DESC_GPA 0x1000
#define AVAIL    0x2000
#define USED     0x3000
#define DATA     0x10000

static uint8_t *ram;
static struct guest_mem mem;
static struct virtq vq;
static struct virtq_chain chain;

static struct vring_desc *desc(unsigned i) { return (struct vring_desc *)(ram + DESC_GPA) + i; }
static struct vring_avail *avail(void) { return (struct vring_avail *)(ram + AVAIL); }
static struct vring_used *used(void) { return (struct vring_used *)(ram + USED); }

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	*desc(i) = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

/* Publishes head as the next available entry. */
static void offer(uint16_t head)
{
	avail()->ring[avail()->idx % QSIZE] = head;
	avail()->idx++;
}

static void fresh_queue(void)
{
	if (!ram)
		ram = malloc(RAM);
	memset(ram, 0, RAM);
	guest_mem_init(&mem, ram, RAM);
	virtq_reset(&vq);
	vq.name = "test queue";
	vq.size = QSIZE;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	CHECK_EQ(virtq_enable(&vq, &mem, 0), 0);
	vq.ready = 1;
}

static void request_and_completion(void)
{
	fresh_queue();
	CHECK_EQ(virtq_pop(&vq, &mem, &chain), 0);	/* nothing offered yet */
	set_desc(0, DATA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA + 16, 100, VRING_DESC_F_WRITE, 0);
	offer(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.head, 0);
	CHECK_EQ(chain.nread, 1);
	CHECK_EQ(chain.nwrite, 1);
	CHECK(chain.iov[0].iov_base == ram + DATA);
	CHECK_EQ(chain.iov[1].iov_len, 100);
	CHECK_EQ(virtq_chain_writable(&chain), 100);
	virtq_push(&vq, chain.head, 42);
	CHECK_EQ(used()->idx, 1);
	CHECK_EQ(used()->ring[0].id, 0);
	CHECK_EQ(used()->ring[0].len, 42);
	CHECK_EQ(virtq_pop(&vq, &mem, &chain), 0);
}

/* Each hostile ring must fail with -EINVAL, break the queue, and never crash. */
static void expect_broken(const char *what)
{
	int r = virtq_pop(&vq, &mem, &chain);

	if (r != -EINVAL)
		fprintf(stderr, "  case: %s\n", what);
	CHECK_EQ(r, -EINVAL);
	CHECK(vq.broken);
	CHECK_EQ(virtq_pop(&vq, &mem, &chain), 0);	/* broken queues stay quiet */
}

static void hostile_chains(void)
{
	fresh_queue();
	set_desc(0, DATA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA, 8, VRING_DESC_F_NEXT, 0);	/* cycle 0 -> 1 -> 0 */
	offer(0);
	expect_broken("descriptor cycle");

	fresh_queue();
	set_desc(0, DATA, 8, VRING_DESC_F_NEXT, QSIZE);	/* next out of range */
	offer(0);
	expect_broken("next index >= queue size");

	fresh_queue();
	offer(QSIZE);					/* head out of range */
	expect_broken("head index >= queue size");

	fresh_queue();
	avail()->idx = QSIZE + 1;			/* more than a queue published */
	expect_broken("avail index jump");

	fresh_queue();
	set_desc(0, RAM - 4, 8, 0, 0);			/* runs past the end of RAM */
	offer(0);
	expect_broken("buffer past RAM");

	fresh_queue();
	set_desc(0, UINT64_MAX - 2, 8, 0, 0);		/* address wraps */
	offer(0);
	expect_broken("wrapping address");

	fresh_queue();
	set_desc(0, DATA, 0xffffffff, 0, 0);		/* 4 GiB length */
	offer(0);
	expect_broken("4 GiB length");

	fresh_queue();
	set_desc(0, DATA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA, 8, 0, 0);			/* readable after writable */
	offer(0);
	expect_broken("readable after writable");
}

static void long_chain_within_size(void)
{
	fresh_queue();
	for (unsigned i = 0; i < QSIZE; i++)
		set_desc(i, DATA + 16 * i, 16, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	offer(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.nread, QSIZE);
}

static void indirect_tables(void)
{
	struct vring_desc *table = (struct vring_desc *)(ram + 0x5000);

	fresh_queue();
	table[0] = (struct vring_desc){ .addr = DATA, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 1 };
	table[1] = (struct vring_desc){ .addr = DATA + 16, .len = 1, .flags = VRING_DESC_F_WRITE };
	set_desc(0, 0x5000, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.nread, 1);
	CHECK_EQ(chain.nwrite, 1);

	fresh_queue();
	table[0] = (struct vring_desc){ .addr = DATA, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 1 };
	table[1] = (struct vring_desc){ .addr = 0x5000, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	set_desc(0, 0x5000, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("nested indirect");

	fresh_queue();
	set_desc(0, 0x5000, 20, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("indirect length not a multiple of 16");

	fresh_queue();
	set_desc(0, 0x5000, 0, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("empty indirect table");

	fresh_queue();
	set_desc(0, 0x5000, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	offer(0);
	expect_broken("indirect with NEXT");

	fresh_queue();
	table[0] = (struct vring_desc){ .addr = DATA, .len = 8, .flags = VRING_DESC_F_NEXT, .next = 0 };
	set_desc(0, 0x5000, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("cycle inside an indirect table");

	/* Found by fuzz_virtio_blk: the descriptor table itself as the indirect table. */
	fresh_queue();
	set_desc(0, DESC_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken("indirect table at the descriptor table's own address");
}

static void bad_queue_setup(void)
{
	fresh_queue();
	vq.size = 6;			/* not a power of two */
	CHECK_EQ(virtq_enable(&vq, &mem, 0), -EINVAL);
	vq.size = 0;
	CHECK_EQ(virtq_enable(&vq, &mem, 0), -EINVAL);
	vq.size = VIRTQ_MAX_SIZE * 2;
	CHECK_EQ(virtq_enable(&vq, &mem, 0), -EINVAL);
	vq.size = QSIZE;
	vq.desc_gpa = DESC_GPA + 8;	/* misaligned */
	CHECK_EQ(virtq_enable(&vq, &mem, 0), -EINVAL);
	vq.desc_gpa = RAM - 16;		/* table runs off RAM */
	CHECK_EQ(virtq_enable(&vq, &mem, 0), -EINVAL);
	vq.desc_gpa = 0xfee00000;	/* MMIO, not RAM */
	CHECK_EQ(virtq_enable(&vq, &mem, 0), -EINVAL);
}

static void interrupt_suppression(void)
{
	fresh_queue();
	set_desc(0, DATA, 8, VRING_DESC_F_WRITE, 0);
	offer(0);
	CHECK_EQ(virtq_pop(&vq, &mem, &chain), 1);
	virtq_push(&vq, 0, 8);
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	CHECK(!virtq_should_interrupt(&vq));
	avail()->flags = 0;
	CHECK(virtq_should_interrupt(&vq));

	/* EVENT_IDX: interrupt only when used crosses used_event. */
	fresh_queue();
	vq.event_idx = 1;
	avail()->ring[QSIZE] = 1;	/* used_event: wake me after entry 1 */
	for (int i = 0; i < 2; i++) {
		set_desc(0, DATA, 8, VRING_DESC_F_WRITE, 0);
		offer(0);
		CHECK_EQ(virtq_pop(&vq, &mem, &chain), 1);
		virtq_push(&vq, 0, 8);
		CHECK_EQ(virtq_should_interrupt(&vq), i == 1);
	}
	CHECK_EQ(virtq_enable_notify(&vq), 0);
	uint16_t avail_event;
	memcpy(&avail_event, &used()->ring[QSIZE], sizeof(avail_event));
	CHECK_EQ(avail_event, 2);	/* the next entry the device wants to hear about */
	offer(0);
	CHECK_EQ(virtq_enable_notify(&vq), 1);	/* a request slipped in: process again */
}

/* A device that found too few requests gives them back and asks to hear of the next one. */
static void unpop_and_notify_more(void)
{
	uint16_t avail_event;

	fresh_queue();
	vq.event_idx = 1;
	for (uint16_t i = 0; i < 3; i++) {
		set_desc(i, DATA + 64u * i, 64, VRING_DESC_F_WRITE, 0);
		offer(i);
	}
	for (uint16_t i = 0; i < 2; i++) {
		CHECK_EQ(virtq_pop(&vq, &mem, &chain), 1);
		CHECK_EQ(chain.head, i);
	}
	virtq_unpop(&vq, 2);
	CHECK_EQ(virtq_enable_notify_more(&vq), 0);
	memcpy(&avail_event, &used()->ring[QSIZE], sizeof(avail_event));
	/* Not 0 (the next to take): a driver adding its 4th must notify, having passed 3. */
	CHECK_EQ(avail_event, 3);
	CHECK_EQ(used()->idx, 0);	/* nothing returned */
	for (uint16_t i = 0; i < 3; i++) {	/* all three again, in order */
		CHECK_EQ(virtq_pop(&vq, &mem, &chain), 1);
		CHECK_EQ(chain.head, i);
	}
	CHECK_EQ(virtq_pop(&vq, &mem, &chain), 0);
	virtq_unpop(&vq, 1);
	offer(0);			/* the 4th: now it wants to hear of the 5th */
	CHECK_EQ(virtq_enable_notify_more(&vq), 0);
	memcpy(&avail_event, &used()->ring[QSIZE], sizeof(avail_event));
	CHECK_EQ(avail_event, 4);
}

HARNESS_MAIN(request_and_completion, hostile_chains, long_chain_within_size, indirect_tables,
	     bad_queue_setup, interrupt_suppression, unpop_and_notify_more)
