/*
 * Guest-side test program: a TLB shootdown aimed at two of three other vCPUs.
 *   tlb_shootdown ROUNDS   each round visits CPUs 1 and 2 (which go idle keeping this mm
 *                          loaded, lazily), returns to CPU 0, and unmaps a region whose page
 *                          table is freed, so the kernel must flush CPUs 1 and 2 but not 3.
 *                          Prints "ok ROUNDS" at the end. Needs 4 or more CPUs; a child
 *                          parked on CPU 3 keeps this mm off it (exec may have started there).
 * That mask (more than one CPU, not all the others) is the one Linux sends with
 * apic->send_IPI_mask, i.e. a KVM_HC_SEND_IPI hypercall when the guest sees KVM's PV IPI
 * feature: on a PVM host the vCPU then spins on its VMCALL forever and this never prints.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define REGION (4ul << 20)	/* holds a whole 2 MiB page-table span, whatever the alignment */

static int move_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		fprintf(stderr, "tlb_shootdown: sched_setaffinity(CPU %d): %m\n", cpu);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 10;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 4) {
		fprintf(stderr, "tlb_shootdown: needs 4 CPUs, has %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
		return 2;
	}
	int fds[2];
	char c;
	if (pipe(fds) < 0 || move_to(3))
		return 1;
	pid_t child = fork();
	if (child == 0) {	/* runs on CPU 3 (inherited), then sleeps there with its own mm */
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (child < 0 || read(fds[0], &c, 1) != 1) {
		perror("tlb_shootdown: fork");
		return 1;
	}
	for (int i = 0; i < rounds; i++) {
		if (move_to(1) || move_to(2) || move_to(0))
			return 1;
		char *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("tlb_shootdown: mmap");
			return 1;
		}
		for (unsigned long off = 0; off < REGION; off += 1ul << 20)
			p[off] = 1;	/* page tables for the whole span */
		munmap(p, REGION);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("ok %d\n", rounds);
	return 0;
}
