/*
 * What the image fuzzers share: a private directory per process holding an empty cache and
 * a work directory (as hvm-image's work_open makes), emptied after every input and removed
 * at exit, and the check that an input wrote nothing else next to them.
 */
#ifndef HVM_FUZZ_IMAGE_H
#define HVM_FUZZ_IMAGE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../image/convert.h"

#define FUZZ_BASE_INPUTS 10000	/* inputs between two fresh BASEs */

static char fuzz_base[256], fuzz_cache[272], fuzz_work[272];
static unsigned long fuzz_inputs;

static void fuzz_image_cleanup(void)
{
	dir_remove_at(AT_FDCWD, fuzz_base);
}

/* BASE made anew, holding only an empty cache. */
static inline void fuzz_image_fresh_base(void)
{
	dir_remove_at(AT_FDCWD, fuzz_base);
	if (mkdir(fuzz_base, 0700) < 0 || mkdir(fuzz_cache, 0700) < 0)
		abort();
}

/* Once: BASE/cache (stays empty: nothing is ever cached) and BASE/work, under $TMPDIR (a
 * campaign on a tmpfs runs several times faster than on a disk) or /tmp. */
static inline void fuzz_image_init(void)
{
	const char *tmp = getenv("TMPDIR");

	if ((size_t)snprintf(fuzz_base, sizeof(fuzz_base), "%s/hvm-fuzz-image-%d",
			     tmp && *tmp ? tmp : "/tmp", (int)getpid()) >= sizeof(fuzz_base))
		abort();
	snprintf(fuzz_cache, sizeof(fuzz_cache), "%s/cache", fuzz_base);
	snprintf(fuzz_work, sizeof(fuzz_work), "%s/work", fuzz_base);
	fuzz_image_fresh_base();
	atexit(fuzz_image_cleanup);
}

/* A conversion context as convert_image sets one up, with a fresh work directory. */
static inline void fuzz_image_start(struct convert *c)
{
	*c = (struct convert){ .src = "fuzz-input", .cache_dir = fuzz_cache };
	snprintf(c->work, sizeof(c->work), "%s", fuzz_work);
	snprintf(c->path, sizeof(c->path), "%s", fuzz_work);
	if (mkdir(fuzz_work, 0700) < 0)
		abort();
}

/* After an input: nothing outside the work directory, which then goes. */
static inline void fuzz_image_finish(struct convert *c)
{
	DIR *d = opendir(fuzz_base);
	struct dirent *e;

	free(c->config);
	c->config = NULL;
	dir_remove_at(AT_FDCWD, fuzz_work);
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "cache")) {
			fprintf(stderr, "fuzz: %s/%s written outside the work directory\n", fuzz_base,
				e->d_name);
			abort();
		}
	if (d)
		closedir(d);
	d = opendir(fuzz_cache);
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			fprintf(stderr, "fuzz: %s written into the cache\n", e->d_name);
			abort();
		}
	if (d)
		closedir(d);
	/* A tmpfs directory keeps a dentry for every name ever removed from it, and listing it
	 * walks them all: after five million inputs' work directories, listing BASE took 0.6 ms
	 * and most of each input. Removing BASE drops them. */
	if (++fuzz_inputs % FUZZ_BASE_INPUTS == 0)
		fuzz_image_fresh_base();
}

#endif
