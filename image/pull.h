/*
 * Pulling an image reference (image/ref.h) into the cache as an OCI image layout, through
 * skopeo, which honours registries.conf, policy.json and REGISTRY_AUTH_FILE. The layout is
 * then converted like any local OCI layout (image_resolve), every blob verified again.
 *
 * Cache layout, next to image.h's:
 *   oci/<hex>/        the layout of the image whose manifest digest is sha256:<hex>
 *   refs/<key>        "<hex>\n": the digest a registry reference had when last pulled
 *                     (key: sha256 of the reference), so a cached tag runs offline
 *   tmp/pull.XXXXXX/  one pull's work area (a flock'ed lock file and the layout being
 *                     written); renamed into oci/ only once complete
 */
#ifndef HVM_IMAGE_PULL_H
#define HVM_IMAGE_PULL_H

#include <stddef.h>

#include "../core/err.h"
#include "ref.h"

struct image_pull_opts {
	int tls_verify;		/* 0: --tls-verify=false (plain HTTP or unverified TLS) */
	const char *creds;	/* USER[:PASSWORD] for the registry, or NULL */
	const char *authfile;	/* an auth.json, or NULL (skopeo's default, REGISTRY_AUTH_FILE) */
	int progress;		/* one progress line on stderr while pulling */
	int always;		/* ask the registry even when the tag is cached (`hvm-run pull`) */
};

/*
 * Finds or pulls ref into cache_dir; writes the layout's path into layout. A registry is
 * asked only when the reference is not cached yet (or o->always); a digest already in the
 * cache is never fetched again. Returns 0 or -errno, with one line in e naming the reference
 * and what skopeo or the registry said; nothing half-written stays in the cache.
 */
int image_pull(const struct image_ref *ref, const struct image_pull_opts *o,
	       const char *cache_dir, char *layout, size_t cap, struct err *e);

/* Whether progress lines are wanted: stderr is a terminal and HVM_PROGRESS is not "0". */
int image_progress_wanted(void);

#endif
