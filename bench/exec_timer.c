/*
 * hvm-exec-timer: exports HVM_T0_US (CLOCK_MONOTONIC, microseconds) and execs its arguments,
 * so hvm-run can report phases from the moment of exec rather than from main(). With
 * HVM_T0_FILE set, also writes the value there, for programs that cannot report it (QEMU).
 * Usage: hvm-exec-timer PROGRAM [ARG...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../core/clock.h"

int main(int argc, char **argv)
{
	char t0[32];

	if (argc < 2) {
		fprintf(stderr, "usage: hvm-exec-timer PROGRAM [ARG...]\n");
		return 2;
	}
	snprintf(t0, sizeof(t0), "%llu", (unsigned long long)clock_now_us());
	setenv("HVM_T0_US", t0, 1);
	const char *file = getenv("HVM_T0_FILE");
	if (file) {
		FILE *f = fopen(file, "w");
		if (!f || fprintf(f, "%s\n", t0) < 0 || fclose(f) != 0) {
			perror(file);
			return 127;
		}
	}
	execv(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
