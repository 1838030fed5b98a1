/*
 * Telling registry references from local paths, the way docker does for `docker run NAME`:
 * anything that exists, or is spelt like a path or an archive file, is a path.
 */
#include "ref.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/log.h"

#define DOCKER "docker://"

static const char *const local_transports[] = { "oci:", "oci-archive:", "docker-archive:" };
static const char *const archive_suffixes[] = { ".tar", ".tgz", ".tar.gz", ".tar.xz",
						".tar.zst", ".tar.bz2" };

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Whether s is spelt like something docker would take as NAME[:TAG][@DIGEST]. */
static int looks_like_name(const char *s)
{
	if (!*s || s[0] == '/' || s[0] == '.' || s[0] == '~' || strstr(s, "//"))
		return 0;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@") !=
	    strlen(s))
		return 0;
	for (size_t i = 0; i < sizeof(archive_suffixes) / sizeof(*archive_suffixes); i++)
		if (ends_with(s, archive_suffixes[i]))
			return 0;
	return 1;
}

/* "@sha256:<64 hex>" at the end of a docker reference: copied into ref->digest. */
static int take_digest(const char *s, struct image_ref *ref)
{
	const char *at = strchr(s, '@');

	if (!at)
		return 0;
	if (strncmp(at + 1, "sha256:", 7) != 0 || strlen(at + 8) != 64 ||
	    strspn(at + 8, "0123456789abcdef") != 64) {
		log_err("%s: the digest after @ must be sha256: and 64 lower-case hex digits", s);
		return -EINVAL;
	}
	snprintf(ref->digest, sizeof(ref->digest), "%s", at + 1);
	return 0;
}

static int docker_ref(const char *full, const char *rest, struct image_ref *ref)
{
	const char *last = strrchr(rest, '/');
	int n;

	if (!*rest || !looks_like_name(rest)) {
		log_err("%s: not a registry reference (REPO[:TAG|@DIGEST])", full);
		return -EINVAL;
	}
	if (take_digest(rest, ref))
		return -EINVAL;
	last = last ? last + 1 : rest;
	/* A ':' in the last component is a tag; one before it is a registry's port. */
	n = snprintf(ref->name, sizeof(ref->name), DOCKER "%s%s", rest,
		     strchr(last, ':') || ref->digest[0] ? "" : ":latest");
	ref->remote = 1;
	return n < (int)sizeof(ref->name) ? 1 : -ENAMETOOLONG;
}

int image_ref_parse(const char *s, struct image_ref *ref)
{
	struct stat st;

	memset(ref, 0, sizeof(*ref));
	if (strncmp(s, DOCKER, strlen(DOCKER)) == 0)
		return docker_ref(s, s + strlen(DOCKER), ref);
	for (size_t i = 0; i < sizeof(local_transports) / sizeof(*local_transports); i++) {
		size_t k = strlen(local_transports[i]);
		if (strncmp(s, local_transports[i], k) != 0)
			continue;
		if (!s[k]) {
			log_err("%s: the transport needs a path after it", s);
			return -EINVAL;
		}
		return snprintf(ref->name, sizeof(ref->name), "%s", s) < (int)sizeof(ref->name) ?
			1 : -ENAMETOOLONG;
	}
	if (lstat(s, &st) == 0 || !looks_like_name(s))
		return 0;
	return docker_ref(s, s, ref);
}

int image_ref_pinned(const struct image_ref *ref, const char *digest, char *out, size_t cap)
{
	const char *repo = ref->name + strlen(DOCKER), *last = strrchr(repo, '/');
	const char *tag;
	size_t len;

	if (!ref->remote)
		return snprintf(out, cap, "%s", ref->name) < (int)cap ? 0 : -ENAMETOOLONG;
	last = last ? last + 1 : repo;
	tag = strpbrk(last, ":@");
	len = tag ? (size_t)(tag - repo) : strlen(repo);
	return snprintf(out, cap, DOCKER "%.*s@%s", (int)len, repo, digest) < (int)cap ?
		0 : -ENAMETOOLONG;
}
