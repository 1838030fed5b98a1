/*
 * Guest-side micro-costs, run inside a VM by bench/guest.py: what one system call, one fork,
 * one first touch of a page and one 4 MiB memcpy cost in the guest. These are what a platform
 * (bare-metal KVM, nested PVM, the TCG test host) changes most, and what every workload is made
 * of. Prints one JSON object on stdout.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define COPY_BYTES (4u << 20)
#define BUDGET_NS 300000000ull	/* each measurement runs about this long */
#define MAX_ROUNDS 1000000u

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void op_getpid(void *unused)
{
	(void)unused;
	syscall(SYS_getpid);	/* the raw call: no library cache in the way */
}

static void op_fork(void *unused)
{
	pid_t pid = fork();

	(void)unused;
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void op_memcpy(void *bufs)
{
	char **b = bufs;

	memcpy(b[0], b[1], COPY_BYTES);
	__asm__ volatile("" ::: "memory");	/* the copy is not dead: keep it */
}

/* Mean nanoseconds of one call of op, over as many calls as fit the budget. */
static double per_call_ns(void (*op)(void *), void *arg)
{
	uint64_t start = now_ns(), end;
	unsigned int rounds = 0;

	do {
		op(arg);
		rounds++;
		end = now_ns();
	} while (end - start < BUDGET_NS && rounds < MAX_ROUNDS);
	return (double)(end - start) / rounds;
}

/* Nanoseconds per page of the first write to fresh anonymous memory (a page fault each). */
static double fault_ns(size_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t start;
	double ns;

	if (p == MAP_FAILED)
		return -1;
	start = now_ns();
	for (size_t off = 0; off < bytes; off += (size_t)page)
		p[off] = 1;
	ns = (double)(now_ns() - start) / (double)(bytes / (size_t)page);
	munmap(p, bytes);
	return ns;
}

int main(void)
{
	char *bufs[2] = { malloc(COPY_BYTES), malloc(COPY_BYTES) };

	if (!bufs[0] || !bufs[1]) {
		fprintf(stderr, "guest_ops: malloc: out of memory\n");
		return 1;
	}
	double fault = fault_ns(COPY_BYTES);
	memset(bufs[0], 0, COPY_BYTES);	/* faulted in: the copy measures copying only */
	memset(bufs[1], 'x', COPY_BYTES);
	printf("{\"getpid_ns\": %.0f, \"fork_us\": %.1f, \"page_fault_ns\": %.0f, "
	       "\"memcpy_4mib_us\": %.1f}\n",
	       per_call_ns(op_getpid, NULL), per_call_ns(op_fork, NULL) / 1000, fault,
	       per_call_ns(op_memcpy, bufs) / 1000);
	return 0;
}
