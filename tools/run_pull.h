/* hvm-run's registry references: `--image docker://...` and `hvm-run pull IMAGE`. */
#ifndef HVM_RUN_PULL_H
#define HVM_RUN_PULL_H

#include "run_flags.h"

/*
 * When f->image is a registry or transport reference, pulls it (if not cached) and points
 * f->image at its OCI layout in the cache. Returns 0, or 125 after one line saying why.
 */
int run_pull_image(struct run_flags *f);

/* `hvm-run pull IMAGE`: asks the registry, fetches what is new, converts it; an exit status. */
int run_pull(struct run_flags *f);

#endif
