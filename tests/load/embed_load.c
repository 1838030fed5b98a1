/*
 * A long-lived program embedding libhvm, for the load test (tests/e2e/test_load.sh) and
 * `make bench-load` (bench/load.py):
 *
 *   embed_load SEQ MAX_CONC BUDGET_S TIMEOUT_S [AGAIN]
 *
 * runs SEQ VMs one after another, then batches of 2, 4, ... up to MAX_CONC VMs at once for as
 * long as the next batch is predicted to fit in BUDGET_S seconds, then AGAIN (default SEQ/2,
 * at least 3) one after another again, each `echo vm-N` with a timeout of TIMEOUT_S seconds,
 * and after each VM (or batch) prints one line
 *
 *   PHASE N status S output ok|BAD fds F threads T rss_kib R heap_kib H
 *
 * with its open fds, threads and resident memory from /proc/self, and the bytes malloc has
 * handed out and not got back (mallinfo2; main arena and the threads' ones): flat. The
 * data files come from $HVM_DATA_DIR. Exits 0 when every VM ran, 1 otherwise.
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/proc_self.h"
#include "../../include/hvm.h"

#define MAX_CONC 64

struct job {
	struct hvm *vm;
	int out[2];
	int n, status, ok;
};

/* A "Name:   value" line of /proc/self/status, as a number. */
static long status_field(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, name, len) == 0 && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/*
 * Threads of this process, once the ones libhvm joined are gone from the count: pthread_join
 * returns when the kernel clears the exited thread's tid, a moment before it drops the thread
 * from the process, so right after hvm_destroy the count can still include it. A thread that
 * is still running (a leak) stays counted through the second this waits.
 */
static long settled_threads(void)
{
	long v = status_field("Threads");

	for (int i = 0; i < 100 && v > 1; i++) {
		usleep(10000);
		v = status_field("Threads");
	}
	return v;
}

static void report(const char *phase, int n, int status, int ok)
{
	struct mallinfo2 m = mallinfo2();

	/* heap_kib: what malloc has handed out and not got back; RSS also counts its caches.
	 * fds: less the one that reads /proc/self/fd. */
	printf("%s %d status %d output %s fds %d threads %ld rss_kib %ld heap_kib %zu\n", phase, n,
	       status, ok ? "ok" : "BAD", proc_self_count("fd") - 1, settled_threads(),
	       status_field("VmRSS"), (m.uordblks + m.hblkhd) / 1024);
	fflush(stdout);
}

static int job_start(struct job *j, int n, unsigned timeout_s)
{
	char cmd[32];
	int err;

	*j = (struct job){ .n = n, .status = -1 };
	snprintf(cmd, sizeof(cmd), "echo vm-%d", n);
	if (pipe2(j->out, O_CLOEXEC) < 0) {
		perror("embed_load: pipe");
		return -1;
	}
	err = hvm_create(&j->vm);
	if (err) {
		fprintf(stderr, "embed_load: vm-%d: no memory\n", n);
		close(j->out[0]);
		close(j->out[1]);
		return err;
	}
	err = hvm_set_shell_command(j->vm, cmd);
	if (!err)
		err = hvm_set_stdio(j->vm, -1, j->out[1], j->out[1]);
	if (!err)
		err = hvm_set_timeout(j->vm, timeout_s);
	if (!err)
		err = hvm_start(j->vm);
	if (err)
		fprintf(stderr, "embed_load: vm-%d: %s\n", n, hvm_error(j->vm));
	return err;
}

/* Waits for the VM, checks its output (a few bytes: the pipe holds them), frees it all. */
static void job_finish(struct job *j)
{
	char want[32], got[64] = "";
	ssize_t len;

	if (j->vm && hvm_wait(j->vm, -1, &j->status) < 0)
		j->status = -1;
	if (j->status != 0 && j->vm)
		fprintf(stderr, "embed_load: vm-%d: status %d: %s\n%s\n", j->n, j->status,
			hvm_error(j->vm), hvm_console_tail(j->vm));
	hvm_destroy(j->vm);
	j->vm = NULL;
	close(j->out[1]);
	len = read(j->out[0], got, sizeof(got) - 1);
	got[len > 0 ? len : 0] = '\0';
	close(j->out[0]);
	snprintf(want, sizeof(want), "vm-%d\n", j->n);
	j->ok = j->status == 0 && strcmp(got, want) == 0;
}

static int sequence(const char *phase, int first, int count, unsigned timeout_s)
{
	int bad = 0;

	for (int i = first; i < first + count; i++) {
		struct job j;
		if (job_start(&j, i, timeout_s) < 0 && !j.vm)
			return 1;
		job_finish(&j);
		bad |= !j.ok;
		report(phase, i, j.status, j.ok);
	}
	return bad;
}

/* count VMs started one after another without waiting, so their boots overlap. */
static int concurrent(int first, int count, unsigned timeout_s)
{
	static struct job jobs[MAX_CONC];
	int bad = 0, started = 0;

	for (; started < count; started++)
		if (job_start(&jobs[started], first + started, timeout_s) < 0 && !jobs[started].vm)
			break;
	for (int i = 0; i < started; i++) {
		job_finish(&jobs[i]);
		bad |= !jobs[i].ok;
	}
	report("concurrent", started, bad ? -1 : 0, !bad && started == count);
	return bad || started != count;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * Batches of 2, 4, 8, ... up to max at once, while the next batch, predicted from the last
 * one's time (it grows faster than the count where the CPUs are few), fits in budget_s.
 */
static int ramp(int first, int max, double budget_s, unsigned timeout_s)
{
	double t0 = now_s();
	int bad = 0;

	for (int n = max < 2 ? max : 2;; ) {
		double t = now_s();
		int next = 2 * n < max ? 2 * n : max;

		bad |= concurrent(first, n, timeout_s);
		first += n;
		t = now_s() - t;
		if (bad || n == max || now_s() - t0 + t * next / n * 1.5 > budget_s)
			return bad;
		n = next;
	}
}

int main(int argc, char **argv)
{
	int args_ok = argc == 5 || argc == 6;
	int seq = args_ok ? atoi(argv[1]) : 0, conc = args_ok ? atoi(argv[2]) : 0;
	double budget_s = args_ok ? atof(argv[3]) : 0;
	unsigned timeout_s = args_ok ? (unsigned)atoi(argv[4]) : 0;
	int again = argc == 6 ? atoi(argv[5]) : seq / 2 > 3 ? seq / 2 : 3;
	int bad;

	if (seq < 1 || conc < 1 || conc > MAX_CONC || budget_s <= 0 || timeout_s < 1 ||
	    again < 1) {
		fprintf(stderr, "usage: embed_load SEQ MAX_CONC(1-%d) BUDGET_S TIMEOUT_S [AGAIN]\n",
			MAX_CONC);
		return 2;
	}
	report("start", 0, 0, 1);
	bad = sequence("sequential", 0, seq, timeout_s);
	bad |= ramp(seq, conc, budget_s, timeout_s);
	bad |= sequence("again", 1000, again, timeout_s);
	return bad;
}
