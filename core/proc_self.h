#ifndef HVM_PROC_SELF_H
#define HVM_PROC_SELF_H

/*
 * The entries of /proc/self/DIR ("task": threads, "fd": open fds, the one reading the
 * directory included) but "." and "..": a count, or -errno when it cannot be read.
 */
int proc_self_count(const char *dir);

#endif
