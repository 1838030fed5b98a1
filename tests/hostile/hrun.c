/* The hostile-guest suites' class runner (hrun.h). */
#include "hrun.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/log.h"
#include "hdrv.h"

int hrun_failures;
const char *hrun_dir;

/* The child: its stderr to log_fd, fresh RAM, the class; exits 0 when every check held. */
static void hrun_child(const struct hrun_class *c, void (*prepare)(void), int log_fd)
{
	dup2(log_fd, 2);
	alarm(c->alarm_s);		/* a hang is a failure: SIGALRM ends the child */
	hdrv_ram_init(HDRV_RAM);
	if (prepare)
		prepare();
	c->fn();
	fflush(stderr);
	/* Exit without detaching: the point is what happened, not the teardown. */
	_exit(hrun_failures ? 1 : 0);
}

/* Runs one class in a child: 1 when it survived. */
static int hrun_one(const struct hrun_class *c, void (*prepare)(void), int log_fd)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		hrun_child(c, prepare, log_fd);
	if (pid < 0)
		return 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	if (WIFSIGNALED(status))
		dprintf(log_fd, "killed by signal %d (%s)%s\n", WTERMSIG(status),
			strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGALRM ? ": hung" : "");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Copies the log at path to stderr, indented under the class's line. */
static void hrun_print_log(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "    %s", line);
	if (f)
		fclose(f);
}

/* Runs class c with its log in the run's directory; prints its line; 1 when it survived. */
static int hrun_class_line(const struct hrun_class *c, void (*prepare)(void))
{
	char logp[128];
	int fd, ok;

	snprintf(logp, sizeof(logp), "%s/log", hrun_dir);
	fd = open(logp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd >= 0 && hrun_one(c, prepare, fd);
	printf("%s: %s\n", c->name, ok ? "survived" : "FAILED");
	fflush(stdout);
	if (!ok)
		hrun_print_log(logp);
	if (fd >= 0)
		close(fd);
	unlink(logp);
	return ok;
}

/* Removes the run's directory and the files the classes left in it. */
static void hrun_cleanup(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Whether class name was asked for: all of them when argv names none. */
static int hrun_picked(const char *name, int argc, char **argv)
{
	int pick = argc < 2;

	for (int a = 1; a < argc; a++)
		pick |= strcmp(argv[a], name) == 0;
	return pick;
}

int hrun_main(const char *suite, const struct hrun_class *classes, unsigned n,
	      void (*prepare)(void), int argc, char **argv)
{
	char dir[] = "/tmp/hvm-hostile-XXXXXX";
	unsigned ran = 0, failed = 0;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_ERROR);	/* the devices' warnings about the guest are the point */
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: set-up: %s\n", suite, strerror(errno));
		return 2;
	}
	hrun_dir = dir;
	for (unsigned i = 0; i < n; i++) {
		if (!hrun_picked(classes[i].name, argc, argv))
			continue;
		ran++;
		failed += !hrun_class_line(&classes[i], prepare);
	}
	hrun_cleanup(dir);
	printf("%s: %u classes, %u failed\n", suite, ran, failed);
	return failed ? 1 : 0;
}

uint64_t hrun_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int hrun_idle(void)
{
	uint64_t c0 = hrun_cpu_ms(), ms;

	usleep(400 * 1000);
	ms = hrun_cpu_ms() - c0;
	if (ms >= 100)
		fprintf(stderr, "%" PRIu64 " ms of CPU while idle: a thread spins\n", ms);
	return ms < 100;
}

long hrun_rss_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}
