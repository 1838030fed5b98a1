/*
 * Guest-side test program: crashes the guest agent (PID 1) the way a bug in it would, by
 * pointing its instruction pointer at address 0 through ptrace. The kernel then kills init
 * with SIGSEGV and panics; the host must report a guest that ended without an exit status.
 * Usage: agent_crash
 */
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

int main(void)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_ATTACH, 1, NULL, NULL) < 0) {
		perror("agent_crash: PTRACE_ATTACH 1");
		return 1;
	}
	if (waitpid(1, NULL, __WALL) != 1 || ptrace(PTRACE_GETREGS, 1, NULL, &regs) < 0) {
		perror("agent_crash: stopping PID 1");
		return 1;
	}
	regs.rip = 0;
	if (ptrace(PTRACE_SETREGS, 1, NULL, &regs) < 0 || ptrace(PTRACE_DETACH, 1, NULL, NULL) < 0) {
		perror("agent_crash: redirecting PID 1");
		return 1;
	}
	printf("agent redirected\n");
	fflush(stdout);
	return 0;
}
