/*
 * The hostile guest's own tiny runtime: port and MMIO access, the UART, a clock, and a
 * virtio-mmio driver that can be told to break every rule. Freestanding: no libc, ring 0,
 * the VMM's boot page tables (the first 4 GiB identity-mapped), interrupts off throughout.
 */
#ifndef HVM_HOSTILE_GUEST_H
#define HVM_HOSTILE_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#define HG_MAX_DEVS   17	/* as many slots as core/layout.h has interrupt lines */
#define HG_MAX_QUEUES 3

/* ---- ports and memory-mapped registers ---- */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
/* The compiler may not move ring writes across this; x86 keeps stores in order itself. */
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* ---- output (hg_lib.c) ---- */
/* Writes a NUL-terminated string to COM1. */
void hg_puts(const char *s);
/* Writes v in hexadecimal (0x...) to COM1. */
void hg_puthex(uint64_t v);
/* Writes v in decimal to COM1. */
void hg_putdec(uint64_t v);

/* ---- classes: one line "class NAME: done" each; "class NAME: unexpected: WHAT" for
 * every outcome the VMM got wrong, as seen from inside ---- */
/* Starts class name. */
void hg_class(const char *name);
/* Reports what as unexpected in the current class unless ok; returns ok. */
int hg_expect(int ok, const char *what);
/* Ends the current class with its "done" line. */
void hg_done(void);

/* ---- a virtio-mmio device and its queues, as the guest driver sees them ---- */
struct hg_queue {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t size, next_avail, used_seen;
};

struct hg_dev {
	uintptr_t base;		/* register window (guest physical = virtual) */
	uint32_t id;		/* VIRTIO_ID_* */
	int read_only;		/* virtio-blk offered VIRTIO_BLK_F_RO */
	unsigned nq;		/* queues the driver sets up */
	struct hg_queue q[HG_MAX_QUEUES];
	uint8_t *area;		/* this device's 1 MiB of scratch RAM: rings, then buffers */
	uint8_t *buf;		/* area + 256 KiB: request headers, data, status bytes */
};

/* Guest RAM below 4 GiB ends here (from the zero page's e820 map). */
extern uint64_t hg_ram_end;

/* Reads register off (4 bytes). */
uint32_t hg_rd(const struct hg_dev *d, unsigned off);
/* Writes register off (4 bytes). */
void hg_wr(const struct hg_dev *d, unsigned off, uint32_t v);
/* 1 when the device has set DEVICE_NEEDS_RESET. */
int hg_needs_reset(const struct hg_dev *d);
/* Writes 0 to STATUS and forgets the driver's queue state. */
void hg_reset(struct hg_dev *d);
/* ACKNOWLEDGE, DRIVER, the given 64 feature bits, FEATURES_OK; 1 if the device kept it. */
int hg_features(struct hg_dev *d, uint64_t features);
/* Programs queue q with size and ring addresses, then QUEUE_READY=1; returns QUEUE_READY. */
int hg_queue_place(struct hg_dev *d, unsigned q, uint32_t size, uint64_t desc, uint64_t avail,
		   uint64_t used);
/* Reset, VERSION_1 plus extra features, every queue at its default place with size, DRIVER_OK;
 * 0, or -1 if the device refused any step. */
int hg_up(struct hg_dev *d, uint64_t extra_features, uint16_t size);
/* Where queue q's descriptor table goes by default (in the device's scratch area). */
uint64_t hg_desc_gpa(const struct hg_dev *d, unsigned q);
/* Where queue q's available ring goes by default. */
uint64_t hg_avail_gpa(const struct hg_dev *d, unsigned q);
/* Where queue q's used ring goes by default. */
uint64_t hg_used_gpa(const struct hg_dev *d, unsigned q);
/* Publishes head on queue q's available ring and notifies. */
void hg_submit(struct hg_dev *d, unsigned q, uint16_t head);
/* Waits for the next used entry of queue q: 1 (its length in *len), -1 when the device went
 * NEEDS_RESET instead, 0 after about ten seconds of neither. */
int hg_wait_used(struct hg_dev *d, unsigned q, uint32_t *len);
/* Waits for DEVICE_NEEDS_RESET: 1 once set, 0 after about ten seconds. */
int hg_wait_needs_reset(const struct hg_dev *d);
/* Like hg_wait_used, giving up after about ms milliseconds. */
int hg_wait_used_ms(struct hg_dev *d, unsigned q, uint32_t *len, unsigned ms);

/* ---- a second vCPU (hg_smp.c) ---- */
/* Starts vCPU 1 (APIC id 1) in hg_ap_main; 1 once it runs, 0 if it never came. */
int hg_smp_start(void);
/* Has the second vCPU run job(arg), once; it halts for good after. */
void hg_smp_post(void (*job)(void *), void *arg);
/* 1 once the posted job has returned. */
int hg_smp_done(void);

/* Spins for about ms milliseconds (a TSC estimate, never shorter than asked on a >=1 GHz TSC). */
void hg_delay_ms(unsigned ms);

/* ---- freestanding libc the compiler may call ---- */
/* Fills n bytes of s with c; returns s. */
void *memset(void *s, int c, size_t n);
/* Copies n bytes from s to d (not overlapping); returns d. */
void *memcpy(void *d, const void *s, size_t n);
/* Compares n bytes: <0, 0 or >0, as libc's. */
int memcmp(const void *a, const void *b, size_t n);
/* The length of NUL-terminated s, as libc's. */
size_t strlen(const char *s);

#endif
