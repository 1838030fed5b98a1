/*
 * libhvm's public API (include/hvm.h) on the real kernel and agent: two VMs in one process
 * running different commands at once, each output through its own pipes; the documented
 * errors (bad kernel, setters after start, double start, wait timeout, kill) and hvm_start's
 * causes (hvm_error_kind) for what fails before a boot; a snapshot resumed by a second handle
 * and a template's warm start; and the process's fds and threads back to where they were
 * once every handle is destroyed.
 * The data files come from the build directory this binary sits in (HVM_DATA_DIR).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/proc_self.h"
#include "../../include/hvm.h"
#include "../harness.h"

#define SAFETY_TIMEOUT_S 600	/* a broken guest still ends the test, as a failure */

static int baseline_fds, baseline_threads;

/* A VM running `sh -c command`, stdout and stderr into pipes; NULL after a CHECK failed. */
static struct hvm *vm_with(const char *command, int out[2], int err[2])
{
	struct hvm *vm = NULL;

	CHECK(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0);
	CHECK_EQ(hvm_create(&vm), 0);
	CHECK_EQ(hvm_set_shell_command(vm, command), 0);
	CHECK_EQ(hvm_set_stdio(vm, -1, out[1], err[1]), 0);
	CHECK_EQ(hvm_set_timeout(vm, SAFETY_TIMEOUT_S), 0);
	return vm;
}

/* All a pipe holds once its writers are gone. */
static void drain(int fds[2], char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	close(fds[1]);
	while (len < cap - 1 && (n = read(fds[0], buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
}

static void baseline(void)
{
	baseline_fds = proc_self_count("fd");
	baseline_threads = proc_self_count("task");
	CHECK(baseline_fds > 0 && baseline_threads == 1);
}

static void two_vms_at_once(void)
{
	int aout[2], aerr[2], bout[2], berr[2], sa = -1, sb = -1;
	struct hvm *a = vm_with("echo alpha-out; echo alpha-err >&2; exit 3", aout, aerr);
	struct hvm *b = vm_with("sleep 1; echo beta-out; echo beta-err >&2", bout, berr);
	char text[256];

	CHECK_EQ(hvm_start(a), 0);
	CHECK_EQ(hvm_start(b), 0);
	CHECK(proc_self_count("task") >= 5);	/* service + vCPU threads of both */
	CHECK_EQ(hvm_wait(a, -1, &sa), 0);
	CHECK_EQ(hvm_wait(b, -1, &sb), 0);
	CHECK_EQ(sa, 3);
	CHECK_EQ(sb, 0);
	drain(aout, text, sizeof(text));
	CHECK_STR(text, "alpha-out\n");
	drain(aerr, text, sizeof(text));
	CHECK_STR(text, "alpha-err\n");
	drain(bout, text, sizeof(text));
	CHECK_STR(text, "beta-out\n");
	drain(berr, text, sizeof(text));
	CHECK_STR(text, "beta-err\n");
	CHECK_EQ(hvm_kill(a, SIGTERM), -ESRCH);	/* it ended */
	hvm_destroy(a);
	hvm_destroy(b);
}

static void bad_kernel(void)
{
	struct hvm *vm = NULL;
	int status = -1;

	CHECK_EQ(hvm_create(&vm), 0);
	CHECK_EQ(hvm_set_shell_command(vm, "true"), 0);
	CHECK_EQ(hvm_wait(vm, 0, &status), -EINVAL);	/* not started */
	CHECK_EQ(hvm_kill(vm, SIGTERM), -EINVAL);
	CHECK_EQ(hvm_set_kernel(vm, "/nonexistent/vmlinux"), 0);
	CHECK_EQ(hvm_start(vm), -ENOENT);
	CHECK(strstr(hvm_error(vm), "/nonexistent/vmlinux") != NULL);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_KERNEL);
	CHECK_EQ(hvm_wait(vm, 0, &status), 0);
	CHECK_EQ(status, 125);
	CHECK_EQ(hvm_start(vm), -EALREADY);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_USAGE);
	hvm_destroy(vm);
}

/*
 * hvm_start, failing before anything boots: the -errno says how, hvm_error_kind which cause,
 * hvm_error one line naming the thing. configure(vm) sets up the failure.
 */
static void expect_start_error(const char *what, int (*configure)(struct hvm *vm), int err,
			       enum hvm_error_kind kind, const char *names)
{
	struct hvm *vm = NULL;
	int status = -1;

	CHECK_EQ(hvm_create(&vm), 0);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_NONE);
	CHECK_EQ(configure(vm), 0);
	if (hvm_start(vm) != err || hvm_error_kind(vm) != kind || !strstr(hvm_error(vm), names))
		fprintf(stderr, "%s: hvm_start %s (kind %d)\n", what, hvm_error(vm),
			hvm_error_kind(vm));
	CHECK_EQ(hvm_error_kind(vm), kind);
	CHECK(strstr(hvm_error(vm), names) != NULL);
	CHECK(strchr(hvm_error(vm), '\n') == NULL);
	CHECK_EQ(hvm_wait(vm, 0, &status), 0);
	CHECK_EQ(status, 125);
	hvm_destroy(vm);
}

static int missing_image(struct hvm *vm)
{
	return hvm_set_image(vm, "/nonexistent/image.tar") || hvm_set_shell_command(vm, "true");
}

static int missing_command(struct hvm *vm)
{
	(void)vm;	/* the built-in image sets no Entrypoint or Cmd: none given, none there */
	return 0;
}

static int ports_without_user_net(struct hvm *vm)
{
	return hvm_set_net(vm, "none") || hvm_add_port(vm, 8080, 80, 0) ||
	       hvm_set_shell_command(vm, "true");
}

static int missing_read_only_volume(struct hvm *vm)
{
	return hvm_add_volume(vm, "/nonexistent/vol.img", "/data", HVM_VOLUME_RO, 0) ||
	       hvm_set_shell_command(vm, "true");
}

static int missing_snapshot(struct hvm *vm)
{
	return hvm_set_restore(vm, "/nonexistent/snapshot");
}

static int not_a_kernel(struct hvm *vm)
{
	return hvm_set_kernel(vm, "/etc/passwd") || hvm_set_shell_command(vm, "true");
}

static int missing_initrd(struct hvm *vm)
{
	return hvm_set_initrd(vm, "/nonexistent/initrd.cpio") || hvm_set_shell_command(vm, "true");
}

static void start_error_causes(void)
{
	expect_start_error("image", missing_image, -ENOENT, HVM_ERROR_IMAGE,
			   "/nonexistent/image.tar: No such file or directory");
	expect_start_error("command", missing_command, -EINVAL, HVM_ERROR_COMMAND,
			   "no command given");
	expect_start_error("network", ports_without_user_net, -EINVAL, HVM_ERROR_NETWORK,
			   "published ports go through user networking");
	expect_start_error("volume", missing_read_only_volume, -ENOENT, HVM_ERROR_VOLUME,
			   "volume /nonexistent/vol.img: no such file");
	expect_start_error("snapshot", missing_snapshot, -ENOENT, HVM_ERROR_SNAPSHOT,
			   "snapshot /nonexistent/snapshot: No such file or directory");
	expect_start_error("kernel", not_a_kernel, -ENOEXEC, HVM_ERROR_KERNEL,
			   "/etc/passwd: not a kernel");
	expect_start_error("initramfs", missing_initrd, -ENOENT, HVM_ERROR_KERNEL,
			   "/nonexistent/initrd.cpio: No such file or directory");
}

/* A setter's failure is of its own kind; a good call clears it. */
static void setter_error_kinds(void)
{
	struct hvm *vm = NULL;

	CHECK_EQ(hvm_create(&vm), 0);
	CHECK_EQ(hvm_set_net(vm, "bogus"), -EINVAL);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_NETWORK);
	CHECK_STR(hvm_error(vm), "network bogus: use none, user or tap[:NAME]");
	CHECK_EQ(hvm_add_env(vm, "NOVALUE"), -EINVAL);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_COMMAND);
	CHECK_EQ(hvm_add_volume(vm, "/tmp/x.img", "relative", 0, 0), -EINVAL);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_VOLUME);
	CHECK_EQ(hvm_set_cpus(vm, 0), -EINVAL);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_USAGE);
	CHECK_EQ(hvm_pause(vm), -EINVAL);	/* not started: not the last setter's kind */
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_USAGE);
	CHECK_EQ(hvm_set_jail(vm, 4, HVM_JAIL_DEFAULT_ID, HVM_JAIL_DEFAULT_ID), -EINVAL);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_USAGE);
	CHECK_STR(hvm_error(vm), "jail: flags 0x4: only HVM_JAIL_ON and HVM_JAIL_PROC");
	CHECK_EQ(hvm_set_cpus(vm, 1), 0);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_NONE);
	CHECK_EQ(hvm_error_kind(NULL), HVM_ERROR_USAGE);
	hvm_destroy(vm);
}

static void bad_settings(void)
{
	struct hvm *vm = NULL;

	CHECK_EQ(hvm_create(&vm), 0);
	CHECK_EQ(hvm_set_cpus(vm, 0), -EINVAL);
	CHECK(strstr(hvm_error(vm), "0 vCPUs") != NULL);
	CHECK_EQ(hvm_set_memory(vm, 1), -EINVAL);
	CHECK_EQ(hvm_set_net(vm, "bogus"), -EINVAL);
	CHECK(strstr(hvm_error(vm), "bogus") != NULL);
	CHECK_EQ(hvm_set_mac(vm, "ff:ff:ff:ff:ff:ff"), -EINVAL);
	CHECK_EQ(hvm_add_env(vm, "NOVALUE"), -EINVAL);
	CHECK_EQ(hvm_add_volume(vm, "/tmp/x.img", "relative", 0, 0), -EINVAL);
	CHECK_EQ(hvm_pause(vm), -EINVAL);	/* not started */
	CHECK_EQ(hvm_set_cpus(vm, 2), 0);
	CHECK_STR(hvm_error(vm), "");
	hvm_destroy(vm);
}

/* Setters after start, double start, wait timeouts, then SIGTERM to the command. */
static void running_vm(void)
{
	int out[2], err[2], status = -1;
	struct hvm *vm = vm_with("echo ready; exec sleep 1000", out, err);
	char text[64] = "";
	ssize_t n;

	CHECK_EQ(hvm_start(vm), 0);
	CHECK_EQ(hvm_set_cpus(vm, 2), -EBUSY);
	CHECK_EQ(hvm_set_shell_command(vm, "true"), -EBUSY);
	CHECK_EQ(hvm_start(vm), -EALREADY);
	CHECK_EQ(hvm_wait(vm, 0, &status), -ETIMEDOUT);
	CHECK_EQ(hvm_wait(vm, 50, &status), -ETIMEDOUT);
	/* "ready": the agent runs the command, so the signal goes through its session. */
	n = read(out[0], text, sizeof(text) - 1);
	CHECK(n > 0 && strncmp(text, "ready", 5) == 0);
	CHECK_EQ(hvm_wait(vm, 200, &status), -ETIMEDOUT);
	CHECK_EQ(hvm_kill(vm, 0), -EINVAL);
	CHECK_EQ(hvm_kill(vm, SIGTERM), 0);
	CHECK_EQ(hvm_wait(vm, -1, &status), 0);
	CHECK_EQ(status, 128 + SIGTERM);
	drain(out, text, sizeof(text));
	drain(err, text, sizeof(text));
	hvm_destroy(vm);
}

/* Whether fd has something to read within ms. */
static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Reads what fd holds until it stays quiet for quiet_ms: output already on its way when the
 * vCPUs stopped may still arrive. */
static void drain_until_quiet(int fd, int quiet_ms)
{
	char buf[256];

	while (readable(fd, quiet_ms) && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* A paused guest prints nothing until resumed; a signal sent meanwhile waits for the resume. */
static void pause_and_resume(void)
{
	int out[2], err[2], status = -1;
	struct hvm *vm = vm_with("i=0; while :; do echo $i; i=$((i+1)); sleep 0.2; done", out, err);
	char text[64];

	CHECK_EQ(hvm_start(vm), 0);
	CHECK(readable(out[0], SAFETY_TIMEOUT_S * 1000));	/* the loop runs */
	CHECK_EQ(hvm_pause(vm), 0);
	CHECK_EQ(hvm_pause(vm), -EALREADY);
	CHECK(strstr(hvm_error(vm), "paused already") != NULL);
	drain_until_quiet(out[0], 1000);
	CHECK(!readable(out[0], 3000));	/* running, it prints within ~1 s even here */
	CHECK_EQ(hvm_resume(vm), 0);
	CHECK_EQ(hvm_resume(vm), -EALREADY);
	CHECK(readable(out[0], SAFETY_TIMEOUT_S * 1000));
	CHECK_EQ(hvm_pause(vm), 0);
	CHECK_EQ(hvm_kill(vm, SIGTERM), 0);
	CHECK_EQ(hvm_wait(vm, 3000, &status), -ETIMEDOUT);	/* the command cannot run */
	CHECK_EQ(hvm_resume(vm), 0);
	CHECK_EQ(hvm_wait(vm, -1, &status), 0);
	CHECK_EQ(status, 128 + SIGTERM);
	CHECK_EQ(hvm_pause(vm), -ESRCH);
	drain(out, text, sizeof(text));
	drain(err, text, sizeof(text));
	hvm_destroy(vm);
}

/* SIGKILL stops a paused VM at once. */
static void kill_paused(void)
{
	int out[2], err[2], status = -1;
	struct hvm *vm = vm_with("echo ready; exec sleep 1000", out, err);
	char text[64];

	CHECK_EQ(hvm_start(vm), 0);
	CHECK(readable(out[0], SAFETY_TIMEOUT_S * 1000));
	CHECK_EQ(hvm_pause(vm), 0);
	CHECK_EQ(hvm_kill(vm, SIGKILL), 0);
	CHECK_EQ(hvm_wait(vm, SAFETY_TIMEOUT_S * 1000, &status), 0);
	CHECK_EQ(status, 128 + SIGKILL);
	drain(out, text, sizeof(text));
	drain(err, text, sizeof(text));
	hvm_destroy(vm);
}

/* hvm_destroy of a VM still running stops it and leaves nothing behind. */
static void destroy_running(void)
{
	int out[2], err[2];
	struct hvm *vm = vm_with("sleep 1000", out, err);
	char text[64];

	CHECK_EQ(hvm_start(vm), 0);
	hvm_destroy(vm);
	drain(out, text, sizeof(text));
	drain(err, text, sizeof(text));
}

/* hvm_snapshot with stop, then a second handle resumes it: the command reads its stdin. */
static void snapshot_and_restore(void)
{
	int in[2], out[2], err[2], status = -1;
	struct hvm *vm = vm_with("echo up; read x; echo got-$x", out, err);
	char dir[] = "/tmp/hvm-api-snap-XXXXXX", text[64];

	CHECK(mkdtemp(dir) != NULL);
	CHECK(pipe2(in, O_CLOEXEC) == 0);
	CHECK_EQ(hvm_snapshot(vm, dir, 0), -ESRCH);	/* not started */
	CHECK_EQ(hvm_set_stdio(vm, in[0], out[1], err[1]), 0);
	CHECK_EQ(hvm_start(vm), 0);
	CHECK(readable(out[0], SAFETY_TIMEOUT_S * 1000));
	CHECK_EQ(hvm_snapshot(vm, dir, 1), 0);
	CHECK_EQ(hvm_wait(vm, SAFETY_TIMEOUT_S * 1000, &status), 0);
	CHECK_EQ(status, 0);	/* its command lives on in the snapshot */
	CHECK_EQ(hvm_snapshot(vm, dir, 0), -ESRCH);	/* ended */
	drain(out, text, sizeof(text));
	CHECK_STR(text, "up\n");
	drain(err, text, sizeof(text));
	hvm_destroy(vm);
	close(in[1]);
	close(in[0]);

	CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0);
	CHECK_EQ(hvm_create(&vm), 0);
	CHECK_EQ(hvm_set_restore(vm, dir), 0);
	CHECK_EQ(hvm_set_stdio(vm, in[0], out[1], err[1]), 0);
	CHECK_EQ(hvm_start(vm), 0);
	CHECK_EQ(write(in[1], "hi\n", 3), 3);
	close(in[1]);
	CHECK_EQ(hvm_wait(vm, SAFETY_TIMEOUT_S * 1000, &status), 0);
	CHECK_EQ(status, 0);
	drain(out, text, sizeof(text));
	CHECK_STR(text, "got-hi\n");
	drain(err, text, sizeof(text));
	hvm_destroy(vm);
	close(in[0]);
	for (int i = 0; i < 2; i++) {
		char path[64];
		snprintf(path, sizeof(path), "%s/%s", dir, i ? "memory" : "state");
		CHECK_EQ(unlink(path), 0);
	}
	CHECK_EQ(rmdir(dir), 0);

	/* Nothing there: hvm_start fails naming it. */
	CHECK_EQ(hvm_create(&vm), 0);
	CHECK_EQ(hvm_set_restore(vm, dir), 0);
	CHECK_EQ(hvm_start(vm), -ENOENT);
	CHECK(strstr(hvm_error(vm), dir) != NULL);
	hvm_destroy(vm);
}

/* A private template cache for one test: made, exported, and removed again. */
static void cache_begin(char *cache)
{
	CHECK(mkdtemp(cache) != NULL);
	setenv("XDG_CACHE_HOME", cache, 1);
}

static void cache_end(const char *cache)
{
	char cmd[128];

	unsetenv("XDG_CACHE_HOME");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cache);
	CHECK_EQ(system(cmd), 0);
}

/* Runs cmd with templates in mode (and hostname, if any): exits 0 printing out; its metrics
 * JSON (malloc'd) is returned. */
static char *templated_run(const char *cmd, int mode, const char *hostname, const char *out_want)
{
	int out[2], err[2], status = -1;
	struct hvm *vm = vm_with(cmd, out, err);
	char text[64], *json;

	CHECK_EQ(hvm_set_templates(vm, mode), 0);
	if (hostname)
		CHECK_EQ(hvm_set_hostname(vm, hostname), 0);
	CHECK_EQ(hvm_start(vm), 0);
	CHECK_EQ(hvm_wait(vm, SAFETY_TIMEOUT_S * 1000, &status), 0);
	CHECK_EQ(status, 0);
	json = hvm_metrics_json(vm);
	drain(out, text, sizeof(text));
	CHECK_STR(text, out_want);
	drain(err, text, sizeof(text));
	hvm_destroy(vm);
	return json;
}

/* With templates on, the second start of a configuration comes from the first's template;
 * the host name is not in the key: the template's boot and its clone each get their own. */
static void templates_through_the_api(void)
{
	char cache[] = "/tmp/hvm-api-cache-XXXXXX";
	char *cold, *warm;

	cache_begin(cache);
	cold = templated_run("echo one; hostname", HVM_TEMPLATES_ON, "boot-one", "one\nboot-one\n");
	warm = templated_run("echo two; hostname", HVM_TEMPLATES_ON, "clone-two", "two\nclone-two\n");
	CHECK(cold && strstr(cold, "\"start\": \"cold\""));
	CHECK(warm && strstr(warm, "\"start\": \"template\""));
	free(cold);
	free(warm);
	cache_end(cache);
}

/* HVM_TEMPLATES_REPEATED: the first boot of a configuration saves nothing, the second saves
 * the template, the third starts from it; a mode that is none of them is refused. */
static void templates_on_repeat(void)
{
	const char *want[] = { "\"start\": \"cold\"", "\"start\": \"cold\"", "\"start\": \"template\"" };
	char cache[] = "/tmp/hvm-api-cache-XXXXXX";
	struct hvm *vm;

	CHECK_EQ(hvm_create(&vm), 0);
	CHECK_EQ(hvm_set_templates(vm, 3), -EINVAL);
	CHECK_EQ(hvm_error_kind(vm), HVM_ERROR_USAGE);
	CHECK(strstr(hvm_error(vm), "mode 3") != NULL);	/* on the handle, not on stderr */
	hvm_destroy(vm);
	cache_begin(cache);
	for (int i = 0; i < 3; i++) {
		char *json = templated_run("echo again", HVM_TEMPLATES_REPEATED, NULL, "again\n");
		CHECK(json && strstr(json, want[i]));
		CHECK(json && !strstr(json, "template_saved") == (i != 1));	/* saved at the second */
		free(json);
	}
	cache_end(cache);
}

static void back_to_baseline(void)
{
	CHECK_EQ(proc_self_count("fd"), baseline_fds);
	CHECK_EQ(proc_self_count("task"), baseline_threads);
}

static void setup_or_skip(void)
{
	char dir[PATH_MAX], probe[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);

	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		fprintf(stderr, "SKIP test_api: /dev/kvm is not usable here\n");
		exit(HARNESS_SKIP);
	}
	dir[n > 0 ? n : 0] = '\0';
	for (int up = 0; up < 3 && strrchr(dir, '/'); up++)	/* BUILD/tests/kvm/test_api */
		*strrchr(dir, '/') = '\0';
	if (!getenv("HVM_DATA_DIR"))
		setenv("HVM_DATA_DIR", dir, 1);
	snprintf(probe, sizeof(probe), "%s/vmlinux", getenv("HVM_DATA_DIR"));
	if (access(probe, R_OK) < 0) {
		fprintf(stderr, "SKIP test_api: %s missing (run make first)\n", probe);
		exit(HARNESS_SKIP);
	}
	hvm_set_log_level("error");
}

static void setup(void)
{
	setup_or_skip();
	baseline();
}

HARNESS_MAIN(setup, bad_settings, bad_kernel, start_error_causes, setter_error_kinds,
	     two_vms_at_once, running_vm, pause_and_resume,
	     kill_paused, destroy_running, snapshot_and_restore, templates_through_the_api,
	     templates_on_repeat,
	     back_to_baseline)
