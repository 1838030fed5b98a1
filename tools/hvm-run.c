/*
 * hvm-run: runs one command in a fresh micro-VM, over libhvm's public API only.
 * parse flags -> configure the handle -> start -> forward signals until it ends -> report.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../include/hvm.h"
#include "run_check.h"
#include "run_exec.h"
#include "run_flags.h"
#include "run_pull.h"
#include "run_tty.h"

#ifndef HVM_VERSION
#define HVM_VERSION "0.1.0"
#endif

#define EXIT_HVM_ERROR 125
#define EXIT_TIMEOUT   124

static int fail(struct hvm *vm)
{
	fprintf(stderr, "hvm-run: %s\n", hvm_error(vm));
	return EXIT_HVM_ERROR;
}

static int configure_net(struct hvm *vm, const struct run_net_flags *n)
{
	static const char *const modes[] = { NULL, "none", "user", "tap" };
	char mode[32], dns[3 * 16 + 3] = "";
	int err = 0;

	if (n->mode != RUN_NET_AUTO) {
		snprintf(mode, sizeof(mode), "%s%s%s", modes[n->mode], n->tap_name ? ":" : "",
			 n->tap_name ? n->tap_name : "");
		err = hvm_set_net(vm, mode);
	}
	for (int i = 0; !err && i < n->nports; i++)
		err = hvm_add_port(vm, n->ports[i].host, n->ports[i].guest, n->ports[i].udp);
	for (int i = 0; i < n->ndns; i++)
		snprintf(dns + strlen(dns), sizeof(dns) - strlen(dns), "%s%s", i ? "," : "", n->dns[i]);
	if (!err && (n->ip || n->gateway || n->ndns))
		err = hvm_set_net_addr(vm, n->ip, n->gateway, n->ndns ? dns : NULL);
	if (!err && n->mac)
		err = hvm_set_mac(vm, n->mac);
	return err;
}

static int configure_machine(struct hvm *vm, const struct run_flags *f)
{
	int err = hvm_set_kernel(vm, f->kernel);

	if (!err)
		err = hvm_set_initrd(vm, f->initrd);
	if (!err)
		err = hvm_set_cmdline_extra(vm, f->append);
	if (!err && f->cpus)
		err = hvm_set_cpus(vm, f->cpus);
	if (!err)
		err = hvm_set_memory(vm, f->mem_mib);
	if (!err)
		err = hvm_set_image(vm, f->image);
	if (!err)
		err = hvm_set_read_only(vm, f->read_only);
	for (int i = 0; !err && i < f->nvolumes; i++)
		err = hvm_add_volume(vm, f->volumes[i].host, f->volumes[i].guest,
				     f->volumes[i].read_only, f->volume_size_mib);
	if (!err)
		err = configure_net(vm, &f->net);
	if (!err && f->console)
		err = hvm_set_console(vm, STDERR_FILENO);
	if (!err)
		err = hvm_set_timeout(vm, f->timeout_s);
	if (!err && f->api_socket)
		err = hvm_set_api_socket(vm, f->api_socket);
	if (!err && f->jail)
		err = hvm_set_jail(vm, HVM_JAIL_ON, f->uid, f->gid);
	if (!err && f->restore)
		err = hvm_set_restore(vm, f->restore);
	if (!err)
		err = hvm_set_templates(vm, !f->cold && !f->restore);
	return err;
}

static int configure_process(struct hvm *vm, const struct run_flags *f)
{
	const char *env[HVM_ENV_MAX + 1];
	char *owned[HVM_ENV_MAX];
	unsigned rows, cols;
	int err = 0;

	if (f->cmd)
		err = hvm_set_shell_command(vm, f->cmd);
	else if (f->nargs)
		err = hvm_set_args(vm, (const char *const *)f->args);
	run_env(f, env, owned);
	for (int i = 0; !err && env[i]; i++)
		err = hvm_add_env(vm, env[i]);
	for (int i = 0; i < f->nenv; i++)
		free(owned[i]);
	if (!err)
		err = hvm_set_workdir(vm, f->workdir);
	if (!err)
		err = hvm_set_user(vm, f->user);
	if (!err)
		err = hvm_set_stdio(vm, f->interactive ? STDIN_FILENO : -1, STDOUT_FILENO,
				    STDERR_FILENO);
	run_tty_size(STDIN_FILENO, &rows, &cols);
	if (!err && f->tty)
		err = hvm_set_tty(vm, 1, rows, cols);
	return err;
}

/* Until the VM is gone: our signals go to the guest, SIGWINCH resizes its terminal. */
static int forward_signals(struct hvm *vm, int sigfd, int tty)
{
	struct pollfd pf[2] = { { .fd = hvm_wait_fd(vm), .events = POLLIN },
				{ .fd = sigfd, .events = POLLIN } };
	struct signalfd_siginfo si;
	unsigned rows, cols;
	int status = EXIT_HVM_ERROR;
	ssize_t n;

	while (hvm_wait(vm, 0, &status) == -ETIMEDOUT) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (!pf[1].revents)
			continue;
		n = read(sigfd, &si, sizeof(si));
		if (n == 0) {		/* --jail: the parent outside is gone; so is its caller */
			pf[1].fd = -1;
			hvm_kill(vm, SIGKILL);
		}
		if (n != sizeof(si))
			continue;
		if ((int)si.ssi_signo != SIGWINCH) {
			hvm_kill(vm, (int)si.ssi_signo);
		} else if (tty) {
			run_tty_size(STDIN_FILENO, &rows, &cols);
			hvm_resize(vm, rows, cols);
		}
	}
	return status;
}

/* Why the run ended, when it was not the command's own doing. */
static void report_end(struct hvm *vm, const struct run_flags *f, int status)
{
	const char *tail = hvm_console_tail(vm);

	if (status == EXIT_TIMEOUT && f->timeout_s) {
		fprintf(stderr, "hvm-run: --timeout %u s expired: VM stopped\n", f->timeout_s);
		return;
	}
	if (status == EXIT_HVM_ERROR && hvm_error(vm)[0])
		fprintf(stderr, "hvm-run: %s\n", hvm_error(vm));
	if (tail[0] && !f->console)
		fprintf(stderr, "hvm-run: last guest console output:\n%s\n", tail);
}

/* fp: the file opened before the jail (--jail), or NULL to open path now. */
static int write_metrics(struct hvm *vm, const char *path, FILE *fp)
{
	char *json = hvm_metrics_json(vm);
	int ok;

	if (json && !fp)
		fp = fopen(path, "we");
	ok = json && fp && fputs(json, fp) >= 0;

	if (fp && fclose(fp) != 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "hvm-run: --metrics-json %s: %s\n", path,
			json ? strerror(errno) : "no metrics");
	free(json);
	return ok ? 0 : -1;
}

/* jail_sigfd: with --jail, the forwarded signals from the parent outside (see jail()). */
static int run(struct hvm *vm, const struct run_flags *f, int jail_sigfd)
{
	FILE *metrics = NULL;
	int sigfd, status;

	/* Jailed, the file's directory is out of reach once the VM starts. */
	if (f->jail && f->metrics_json && !(metrics = fopen(f->metrics_json, "we"))) {
		fprintf(stderr, "hvm-run: --metrics-json %s: %s\n", f->metrics_json,
			strerror(errno));
		return EXIT_HVM_ERROR;
	}
	if (hvm_start(vm)) {
		if (metrics)
			fclose(metrics);
		return fail(vm);
	}
	if (jail_sigfd >= 0) {
		sigfd = jail_sigfd;
		signal(SIGPIPE, SIG_IGN);	/* as run_signals_block does */
	} else {
		sigfd = run_signals_block();	/* after start: the helpers it ran keep our signals */
	}
	if (f->tty)
		run_tty_raw(STDIN_FILENO);
	/* From here this thread only waits, signals and tears down. */
	if (hvm_seccomp_restrict_self())
		hvm_kill(vm, SIGKILL);
	status = forward_signals(vm, sigfd, f->tty);
	run_tty_restore();
	report_end(vm, f, status);
	if (f->metrics_json && write_metrics(vm, f->metrics_json, metrics))
		status = status ? status : EXIT_HVM_ERROR;
	return status;
}

static int print_cmdline(struct hvm *vm)
{
	char cl[4096];

	if (hvm_cmdline(vm, cl, sizeof(cl)))
		return fail(vm);
	puts(cl);
	return 0;
}

/*
 * Not root and neither --jail nor --no-jail: the jail is on where the host allows one, as
 * rootless podman confines its containers; where it does not, a warning says why. (Root
 * chooses with --jail: its jail also changes the VM's uid, and with it what the VM may open.)
 */
static void default_jail(struct run_flags *f)
{
	char why[256];

	if (f->jail || f->no_jail || geteuid() == 0 || f->print_cmdline)
		return;
	if (hvm_jail_probe(why, sizeof(why)) == 0)
		f->jail = 1;
	else
		fprintf(stderr, "hvm-run: warning: running without the jail, the host refuses %s "
			"(--no-jail: without it, quietly)\n", why);
}

/*
 * --jail: forks once. The parent waits outside, forwards our signals and returns the
 * child's status; the child (return -1, *sigfd set) is PID 1 of a new PID namespace and
 * runs the VM, which hvm_start jails further (docs/jail.md).
 */
static int jail(int *sigfd)
{
	sigset_t set;
	int status, r;

	run_signal_set(&set);
	r = hvm_jail_fork(&set, sigfd, &status);
	if (r < 0)
		return EXIT_HVM_ERROR;	/* the library said why */
	return r ? status : -1;
}

int main(int argc, char **argv)
{
	static struct run_flags f;
	struct hvm *vm;
	int status, jail_sigfd = -1;

	if (run_flags_parse(&f, argc, argv))
		return EXIT_HVM_ERROR;
	if (f.help || f.version) {
		fputs(f.help ? run_flags_usage : "hvm-run " HVM_VERSION "\n", stdout);
		return 0;
	}
	if (f.log_level && hvm_set_log_level(f.log_level)) {
		fprintf(stderr, "hvm-run: --log-level %s: use error, warn, info or debug\n",
			f.log_level);
		return EXIT_HVM_ERROR;
	}
	if (f.check)
		return run_check(f.json);
	if (f.quiet)
		setenv("HVM_PROGRESS", "0", 1);	/* hvm-image, the converter, reads it too */
	if (f.pull)
		return run_pull(&f);
	if (f.exec)
		return run_exec(&f);
	if (f.snapshot)
		return hvm_snapshot_socket(f.api_socket, f.snapshot_dir, f.stop) ? EXIT_HVM_ERROR : 0;
	if (run_pull_image(&f))
		return EXIT_HVM_ERROR;
	default_jail(&f);
	if (f.jail && !f.print_cmdline && (status = jail(&jail_sigfd)) >= 0)
		return status;
	hvm_set_seccomp(!f.no_seccomp, EXIT_HVM_ERROR);
	if (hvm_create(&vm)) {
		fprintf(stderr, "hvm-run: %s\n", strerror(ENOMEM));
		return EXIT_HVM_ERROR;
	}
	if (configure_machine(vm, &f) || configure_process(vm, &f))
		status = fail(vm);
	else
		status = f.print_cmdline ? print_cmdline(vm) : run(vm, &f, jail_sigfd);
	hvm_destroy(vm);
	return status;
}
