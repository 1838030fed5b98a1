/* `hvm-run exec --api-socket PATH ...`: a second process in a running VM, through hvm_exec. */
#ifndef HVM_RUN_EXEC_H
#define HVM_RUN_EXEC_H

#include <signal.h>

#include "run_flags.h"

/* Runs the command the flags give in the VM behind --api-socket; returns hvm-run's exit status. */
int run_exec(const struct run_flags *f);

/* The signals hvm-run forwards to the guest: INT TERM HUP QUIT USR1 USR2, and WINCH. */
void run_signal_set(sigset_t *set);

/* Blocks the signals hvm-run forwards (INT TERM HUP QUIT USR1 USR2 WINCH) and ignores SIGPIPE;
 * returns a signalfd for them, or -1. */
int run_signals_block(void);

/* -e flags as KEY=VALUE strings (KEY alone: hvm-run's own value, skipped when unset) into env
 * (HVM_ENV_MAX + 1 entries, NULL-terminated); owned[] holds what was allocated. */
void run_env(const struct run_flags *f, const char **env, char **owned);

#endif
