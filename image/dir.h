/* Removing directory trees: the one way image/ does it, for conversions and pulls alike. */
#ifndef HVM_IMAGE_DIR_H
#define HVM_IMAGE_DIR_H

/* Removes everything inside the directory fd, which it closes; never follows a symlink, and
 * makes read-only directories writable first. Best effort: goes on past what it cannot remove. */
void dir_empty(int fd);

/* Removes name inside dirfd (AT_FDCWD: a path) and everything below it, as dir_empty does. */
void dir_remove_at(int dirfd, const char *name);

#endif
