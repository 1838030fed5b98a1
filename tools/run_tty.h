/* The host terminal for -t: raw mode while the guest owns it, and its size. */
#ifndef HVM_RUN_TTY_H
#define HVM_RUN_TTY_H

/* Puts fd's terminal in raw mode, remembering how it was; 0, or -1 if fd is not a tty. */
int run_tty_raw(int fd);

/* Restores what run_tty_raw changed; safe to call on every exit path, more than once. */
void run_tty_restore(void);

/* The window size of fd's terminal (24x80 when fd is not a terminal). */
void run_tty_size(int fd, unsigned *rows, unsigned *cols);

#endif
