#include "run_exec.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../include/hvm.h"
#include "run_tty.h"

#define EXIT_HVM_ERROR 125

void run_signal_set(sigset_t *set)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

	sigemptyset(set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(set, sigs[i]);
}

int run_signals_block(void)
{
	sigset_t set;

	run_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a vanished reader of our stdout must not end us */
	return signalfd(-1, &set, SFD_CLOEXEC);
}

void run_env(const struct run_flags *f, const char **env, char **owned)
{
	int n = 0;

	for (int i = 0; i < f->nenv; i++) {
		const char *v = getenv(f->env[i]);
		owned[i] = NULL;
		if (strchr(f->env[i], '='))
			env[n++] = f->env[i];
		else if (v && asprintf(&owned[i], "%s=%s", f->env[i], v) > 0)
			env[n++] = owned[i];
	}
	env[n] = NULL;
}

int run_exec(const struct run_flags *f)
{
	const char *shell[] = { "/bin/sh", "-c", f->cmd, NULL };
	const char *env[HVM_ENV_MAX + 1];
	char *owned[HVM_ENV_MAX];
	int sigfd, err, status = EXIT_HVM_ERROR;

	if (!f->cmd && !f->nargs) {
		fprintf(stderr, "hvm-run: exec: no command: give --cmd STRING or -- PROGRAM [ARG...]\n");
		return EXIT_HVM_ERROR;
	}
	run_env(f, env, owned);
	sigfd = run_signals_block();
	if (f->tty)
		run_tty_raw(STDIN_FILENO);
	err = hvm_exec_signals(f->api_socket, f->cmd ? shell : (const char *const *)f->args, env,
			       f->workdir, f->user, f->tty, f->interactive ? STDIN_FILENO : -1,
			       STDOUT_FILENO, STDERR_FILENO, sigfd, &status);
	run_tty_restore();
	for (int i = 0; i < f->nenv; i++)
		free(owned[i]);
	if (sigfd >= 0)
		close(sigfd);
	return err ? EXIT_HVM_ERROR : status;
}
