#include "run_pull.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../image/image.h"
#include "../image/pull.h"
#include "../image/ref.h"
#include "../vmm/hvm_internal.h"
#include "../core/err.h"

#define EXIT_HVM_ERROR 125

/* The cache directory and the options the flags give; 0 or -errno (said why). */
static int pull_setup(const struct run_flags *f, struct image_pull_opts *o, char *cache, size_t cap)
{
	*o = (struct image_pull_opts){ .tls_verify = f->tls_verify, .creds = f->creds,
		.authfile = f->authfile, .progress = !f->quiet && image_progress_wanted() };
	if (image_cache_dir(cache, cap)) {
		fprintf(stderr, "hvm-run: no cache directory: set XDG_CACHE_HOME or HOME\n");
		return -1;
	}
	return 0;
}

/* Pulls ref into the cache: its layout path in layout; 0 or 125 (said why). */
static int pull(const struct run_flags *f, const struct image_ref *ref, int always,
		char *layout, size_t cap)
{
	char cache[PATH_MAX];
	struct image_pull_opts o;
	struct err why;
	int err;

	if (pull_setup(f, &o, cache, sizeof(cache)))
		return EXIT_HVM_ERROR;
	o.always = always;
	err_clear(&why);
	err = image_pull(ref, &o, cache, layout, cap, &why);	/* its one line, said as ours */
	if (err)
		fprintf(stderr, "hvm-run: %s\n", err_is_set(&why) ? why.msg : strerror(-err));
	return err ? EXIT_HVM_ERROR : 0;
}

int run_pull_image(struct run_flags *f)
{
	static char layout[PATH_MAX];
	struct image_ref ref;
	int r;

	if (!f->image || (r = image_ref_parse(f->image, &ref)) == 0)
		return 0;
	if (r < 0 || (r = pull(f, &ref, 0, layout, sizeof(layout))))
		return EXIT_HVM_ERROR;
	f->image = layout;
	return 0;
}

int run_pull(struct run_flags *f)
{
	char layout[PATH_MAX], cache[PATH_MAX], helper[PATH_MAX];
	struct image_ref ref;
	struct image img;
	int r = image_ref_parse(f->image, &ref);

	if (r == 0)
		fprintf(stderr, "hvm-run: pull %s: a local path; give docker://REPO[:TAG], "
			"REPO[:TAG], oci:, oci-archive: or docker-archive:\n", f->image);
	if (r <= 0 || pull(f, &ref, 1, layout, sizeof(layout)))
		return EXIT_HVM_ERROR;
	if (f->quiet)
		setenv("HVM_PROGRESS", "0", 1);
	if (image_cache_dir(cache, sizeof(cache)) || hvm_data_path(helper, sizeof(helper), "hvm-image") ||
	    image_resolve(layout, cache, helper, &img, NULL))
		return EXIT_HVM_ERROR;
	printf("%s sha256:%s\n", ref.name, strrchr(layout, '/') + 1);
	image_free(&img);
	return 0;
}
