#ifndef HVM_MKDIR_P_H
#define HVM_MKDIR_P_H

#include <sys/types.h>

/*
 * mkdir -p: makes path and each missing parent, parents with parents_mode and path itself with
 * mode (existing ones are left as they are). 0, or -errno (-ENAMETOOLONG past PATH_MAX).
 */
int mkdir_p(const char *path, mode_t parents_mode, mode_t mode);

#endif
