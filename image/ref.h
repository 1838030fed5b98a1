/*
 * Image references that name an image elsewhere than a local path: a registry
 * (docker://REPO[:TAG|@DIGEST], or a bare NAME[:TAG] that is not a local path) or one of
 * skopeo's local transports (oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE).
 * image/pull.c fetches them into the cache through skopeo.
 */
#ifndef HVM_IMAGE_REF_H
#define HVM_IMAGE_REF_H

#include <limits.h>
#include <stddef.h>

#define IMAGE_REF_DIGEST 72		/* "sha256:" + 64 hex + NUL, with room */

struct image_ref {
	char name[PATH_MAX];		/* transport:reference, as skopeo takes it */
	int remote;			/* docker://: a registry, asked only when not cached */
	char digest[IMAGE_REF_DIGEST];	/* "sha256:<hex>" when the reference pins one, else "" */
};

/*
 * Classifies s. Returns 1 (a reference: ref filled, a docker:// one without tag or digest
 * gets ":latest"), 0 (a local path: s exists, starts with '/' or '.', or looks like an
 * archive file name) or -EINVAL (a transport with nothing after it, a bad digest: logged).
 */
int image_ref_parse(const char *s, struct image_ref *ref);

/* The same reference pinned to digest ("sha256:<hex>"): docker://REPO@DIGEST, into out. */
int image_ref_pinned(const struct image_ref *ref, const char *digest, char *out, size_t cap);

#endif
