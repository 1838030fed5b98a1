/* Running skopeo: its stdout captured, its error turned into one readable line. */
#ifndef HVM_IMAGE_SKOPEO_H
#define HVM_IMAGE_SKOPEO_H

#include <stddef.h>

#define SKOPEO_OUT_MAX (256 * 1024)	/* a manifest or an index, with room */

/* Called about every 200 ms while skopeo runs (progress lines). */
typedef void (*skopeo_tick_fn)(void *arg);

struct skopeo_run {
	char out[SKOPEO_OUT_MAX];	/* its stdout, NUL-terminated (truncated to fit) */
	size_t out_len;			/* its bytes; SKOPEO_OUT_MAX - 1: maybe truncated */
	char why[1024];			/* on failure: what it said went wrong, one line */
	skopeo_tick_fn tick;		/* NULL: none */
	void *tick_arg;
};

/*
 * Runs skopeo with argv (argv[0] "skopeo", found on PATH or as $HVM_SKOPEO). Returns its exit
 * status (0 success), or -errno when it could not be run (r->why says why, naming the
 * program). On a non-zero status r->why holds skopeo's own message without its log prefix.
 */
int skopeo_exec(char *const argv[], struct skopeo_run *r);

#endif
