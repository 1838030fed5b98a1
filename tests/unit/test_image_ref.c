/* Image references: registry and transport names told from local paths, docker's way. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../image/ref.h"
#include "../harness.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void docker_refs(void)
{
	struct image_ref r;

	CHECK_EQ(image_ref_parse("docker://127.0.0.1:5000/acc/two:1", &r), 1);
	CHECK_STR(r.name, "docker://127.0.0.1:5000/acc/two:1");
	CHECK_EQ(r.remote, 1);
	CHECK_STR(r.digest, "");
	/* No tag: latest; the registry's port is not a tag. */
	CHECK_EQ(image_ref_parse("docker://localhost:5000/app", &r), 1);
	CHECK_STR(r.name, "docker://localhost:5000/app:latest");
	CHECK_EQ(image_ref_parse("docker://app@sha256:" HEX, &r), 1);
	CHECK_STR(r.name, "docker://app@sha256:" HEX);
	CHECK_STR(r.digest, "sha256:" HEX);
	CHECK_EQ(image_ref_parse("docker://app@sha256:1234", &r), -EINVAL);
	CHECK_EQ(image_ref_parse("docker://", &r), -EINVAL);
	CHECK_EQ(image_ref_parse("docker://a b", &r), -EINVAL);
}

static void bare_names(void)
{
	struct image_ref r;

	CHECK_EQ(image_ref_parse("alpine", &r), 1);
	CHECK_STR(r.name, "docker://alpine:latest");
	CHECK_EQ(image_ref_parse("registry.local:5000/team/app:v2", &r), 1);
	CHECK_STR(r.name, "docker://registry.local:5000/team/app:v2");
	/* Spelt like paths or archives: local, so a missing one says "No such file". */
	CHECK_EQ(image_ref_parse("/nonexistent/image", &r), 0);
	CHECK_EQ(image_ref_parse("./image", &r), 0);
	CHECK_EQ(image_ref_parse("image.tar.gz", &r), 0);
	CHECK_EQ(image_ref_parse("layout dir", &r), 0);
}

static void existing_path_wins(void)
{
	char dir[] = "/tmp/test_image_ref.XXXXXX", old[4096];
	struct image_ref r;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(getcwd(old, sizeof(old)) != NULL);
	CHECK_EQ(chdir(dir), 0);
	CHECK_EQ(image_ref_parse("alpine", &r), 1);
	CHECK_EQ(mkdir("alpine", 0700), 0);
	CHECK_EQ(image_ref_parse("alpine", &r), 0);	/* ./alpine exists: a directory image */
	CHECK_EQ(rmdir("alpine"), 0);
	CHECK_EQ(chdir(old), 0);
	CHECK_EQ(rmdir(dir), 0);
}

static void transports(void)
{
	struct image_ref r;

	CHECK_EQ(image_ref_parse("oci:/srv/layout:v1", &r), 1);
	CHECK_STR(r.name, "oci:/srv/layout:v1");
	CHECK_EQ(r.remote, 0);
	CHECK_EQ(image_ref_parse("oci-archive:img.tar", &r), 1);
	CHECK_EQ(image_ref_parse("docker-archive:img.tar", &r), 1);
	CHECK_EQ(image_ref_parse("oci-archive:", &r), -EINVAL);
}

static void pinned(void)
{
	struct image_ref r;
	char out[512];

	CHECK_EQ(image_ref_parse("docker://h:5000/a/b:1", &r), 1);
	CHECK_EQ(image_ref_pinned(&r, "sha256:" HEX, out, sizeof(out)), 0);
	CHECK_STR(out, "docker://h:5000/a/b@sha256:" HEX);
	CHECK_EQ(image_ref_parse("oci-archive:x.tar", &r), 1);
	CHECK_EQ(image_ref_pinned(&r, "sha256:" HEX, out, sizeof(out)), 0);
	CHECK_STR(out, "oci-archive:x.tar");
	CHECK_EQ(image_ref_pinned(&r, "sha256:" HEX, out, 8), -ENAMETOOLONG);
}

HARNESS_MAIN(docker_refs, bare_names, existing_path_wins, transports, pinned)
