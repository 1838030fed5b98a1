/*
 * The image module: config records, quick keys, the cache directory, and conversions of
 * archives built here (whiteouts, docker-save, OCI, digests, hostile entries), checked inside
 * the resulting ext4 with debugfs. No KVM needed.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../image/cache.h"
#include "../../image/convert.h"
#include "../../image/sha256.h"
#include "../harness.h"

static char tmp[64], cache[128];

struct tar_entry {
	const char *name;
	char type;		/* 'f' file, 'd' dir, 'l' symlink, 'h' hard link */
	const char *data;	/* file content or link target */
};

static void make_tar(const char *path, const struct tar_entry *e)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();

	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	for (; e->name; e++) {
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, e->name);
		archive_entry_set_perm(ae, e->type == 'd' ? 0755 : 0644);
		archive_entry_set_filetype(ae, e->type == 'd' ? AE_IFDIR : e->type == 'l' ? AE_IFLNK :
					   AE_IFREG);
		archive_entry_set_mtime(ae, 1000000000, 0);
		if (e->type == 'l')
			archive_entry_set_symlink(ae, e->data);
		if (e->type == 'h')
			archive_entry_set_hardlink(ae, e->data);
		if (e->type == 'f')
			archive_entry_set_size(ae, (la_int64_t)strlen(e->data));
		archive_write_header(a, ae);
		if (e->type == 'f')
			archive_write_data(a, e->data, strlen(e->data));
	}
	archive_entry_free(ae);
	archive_write_close(a);
	archive_write_free(a);
}

/* Runs a formatted shell command line, returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* A formatted shell command's first output line. */
static const char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sh_out(const char *fmt, ...)
{
	static char out[8192];
	char cmd[8192];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (p)
		pclose(p);
	return out;
}

static void file_sha(const char *path, char hex[SHA256_HEX])
{
	struct sha256 s;
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	sha256_init(&s);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&s, buf, (size_t)n);
	if (fd >= 0)
		close(fd);
	sha256_final_hex(&s, hex);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The only cache entry's rootfs.ext4 ("" when there is none). */
static const char *only_rootfs(void)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", sh_out("ls -d %s/images/*/rootfs.ext4 2>/dev/null", cache));
	return path;
}

/* Names in a directory of an ext4 image (debugfs), sorted, space-separated. */
static const char *ext4_ls(const char *img, const char *dir)
{
	return sh_out("debugfs -R 'ls -p %s' %s 2>/dev/null | awk -F/ '$6 != \".\" && $6 != \"..\" "
		      "&& $6 != \"\" && $6 != \"lost+found\" {print $6}' | sort | tr '\\n' ' '", dir, img);
}

/* Entries in the cache's subdirectory sub. */
static int cache_count(const char *sub)
{
	return atoi(sh_out("ls -A %s/%s 2>/dev/null | wc -l", cache, sub));
}

/* Nothing half-made anywhere: tmp/ empty, no *.tmp* or *.part names. */
static int cache_clean(void)
{
	return sh("test -z \"$(ls -A %s/tmp 2>/dev/null)\" && "
		  "test -z \"$(find %s -name '*.tmp*' -o -name '*.part')\"", cache, cache) == 0;
}

static void cleanup(void)
{
	sh("chmod -R u+rwx %s; rm -rf %s", tmp, tmp);
}

static void fresh(void)
{
	if (!tmp[0]) {
		snprintf(tmp, sizeof(tmp), "/tmp/hvm-test-image.XXXXXX");
		CHECK(mkdtemp(tmp) != NULL);
		atexit(cleanup);
	}
	sh("chmod -R u+rwx %s; rm -rf %s/* && mkdir -p %s/src", tmp, tmp, tmp);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
}

/* ---- library side ---------------------------------------------------------------------- */

static void config_records(void)
{
	static const char recs[] = "entrypoint=/bin/sh\0entrypoint=-c\0cmd=echo hi\0env=A=1\0"
				   "workdir=/w\0user=nobody\0future=ignored\0";
	struct image_config cfg;

	CHECK_EQ(image_config_parse(recs, sizeof(recs) - 1, &cfg), 0);
	CHECK_STR(cfg.entrypoint[0], "/bin/sh");
	CHECK_STR(cfg.entrypoint[1], "-c");
	CHECK(cfg.entrypoint[2] == NULL);
	CHECK_STR(cfg.cmd[0], "echo hi");
	CHECK_STR(cfg.env[0], "A=1");
	CHECK_STR(cfg.workdir, "/w");
	CHECK_STR(cfg.user, "nobody");
	image_config_free(&cfg);
	CHECK_EQ(image_config_parse("cmd=x", 5, &cfg), -EINVAL);	/* unterminated */
	CHECK_EQ(image_config_parse("noequals\0", 9, &cfg), -EINVAL);
	CHECK_EQ(image_config_parse("", 0, &cfg), 0);
	CHECK(cfg.cmd == NULL && cfg.workdir == NULL);
	image_config_free(&cfg);
}

static void cache_dir_from_env(void)
{
	char buf[PATH_MAX], small[8];
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CACHE_HOME");
	char saved_home[PATH_MAX] = "", saved_xdg[PATH_MAX] = "";

	snprintf(saved_home, sizeof(saved_home), "%s", home ? home : "");
	snprintf(saved_xdg, sizeof(saved_xdg), "%s", xdg ? xdg : "");
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	CHECK_EQ(image_cache_dir(buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/x/cache/hvm");
	CHECK_EQ(image_cache_dir(small, sizeof(small)), -ENAMETOOLONG);
	setenv("XDG_CACHE_HOME", "relative", 1);	/* ignored, as the XDG spec says */
	setenv("HOME", "/home/u", 1);
	CHECK_EQ(image_cache_dir(buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/home/u/.cache/hvm");
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	CHECK_EQ(image_cache_dir(buf, sizeof(buf)), -ENOENT);
	if (*saved_home)
		setenv("HOME", saved_home, 1);
	if (*saved_xdg)
		setenv("XDG_CACHE_HOME", saved_xdg, 1);
}

static void quick_keys(void)
{
	char k1[SHA256_HEX], k2[SHA256_HEX], src[PATH_MAX];

	fresh();
	snprintf(src, sizeof(src), "%s/src", tmp);
	sh("mkdir -p %s/sub && echo one > %s/sub/f && ln -s /nowhere %s/l", src, src, src);
	CHECK_EQ(image_quick_key(src, k1, NULL), 0);
	CHECK_EQ(image_quick_key(src, k2, NULL), 0);
	CHECK_STR(k1, k2);
	sh("echo two > %s/sub/f && touch -d @1000000000 %s/sub/f", src, src);	/* same size */
	CHECK_EQ(image_quick_key(src, k2, NULL), 0);
	CHECK(strcmp(k1, k2) != 0);
	memcpy(k1, k2, sizeof(k1));
	sh("echo longer > %s/sub/f && touch -d @1000000000 %s/sub/f", src, src);	/* same mtime */
	CHECK_EQ(image_quick_key(src, k2, NULL), 0);
	CHECK(strcmp(k1, k2) != 0);
	memcpy(k1, k2, sizeof(k1));
	sh("ln -sf /elsewhere %s/l", src);
	CHECK_EQ(image_quick_key(src, k2, NULL), 0);
	CHECK(strcmp(k1, k2) != 0);
	/* A file: its stat, not its bytes. */
	sh("echo x > %s/file.tar", tmp);
	snprintf(src, sizeof(src), "%s/file.tar", tmp);
	CHECK_EQ(image_quick_key(src, k1, NULL), 0);
	sh("touch -d @1000000000 %s", src);
	CHECK_EQ(image_quick_key(src, k2, NULL), 0);
	CHECK(strcmp(k1, k2) != 0);
	CHECK_EQ(image_quick_key("/nonexistent/image", k1, NULL), -ENOENT);
}

/* ---- layers ----------------------------------------------------------------------------- */

static const struct tar_entry layer1[] = {
	{ "./", 'd' }, { "bin/", 'd' }, { "bin/sh", 'f', "#!sh" }, { "data/", 'd' },
	{ "data/old.txt", 'f', "old" }, { "data/keep.txt", 'f', "keep" }, { "opq/", 'd' },
	{ "opq/a.txt", 'f', "a" }, { "opq/sub/", 'd' }, { "opq/sub/deep", 'f', "d" },
	{ "opq2/", 'd' }, { "opq2/x", 'f', "x" }, { "gone/", 'd' }, { "gone/f", 'f', "f" }, { NULL },
};

/* Deletes a file and a directory, makes opq/ opaque with the marker first and opq2/ with the
 * marker after the layer's own entry: both must keep what this layer adds. */
static const struct tar_entry layer2[] = {
	{ "data/", 'd' }, { "data/.wh.old.txt", 'f', "" }, { "data/new.txt", 'f', "new-layer-2" },
	{ ".wh.gone", 'f', "" }, { "opq/", 'd' }, { "opq/.wh..wh..opq", 'f', "" },
	{ "opq/b.txt", 'f', "b" }, { "opq2/", 'd' }, { "opq2/y", 'f', "y" },
	{ "opq2/.wh..wh..opq", 'f', "" }, { NULL },
};

/* The staged tree as "path path ..." (sorted, relative). */
static const char *tree_list(const char *dir)
{
	return sh_out("cd %s && find . -mindepth 1 | sort | tr '\\n' ' '", dir);
}

static int apply(struct convert *c, const char *layer)
{
	struct convert_scan scan;
	int fd = open(layer, O_RDONLY), err;

	err = convert_layer_scan(c, fd, layer, &scan);
	if (!err)
		err = convert_layer_extract(c, fd, layer, c->stage, &scan);
	if (!err)
		convert_layer_scan_free(&scan);
	close(fd);
	return err;
}

static void whiteouts_merge(void)
{
	struct convert c = { .src = "test" };
	char l1[PATH_MAX], l2[PATH_MAX];

	fresh();
	snprintf(c.stage, sizeof(c.stage), "%s/src", tmp);
	snprintf(l1, sizeof(l1), "%s/l1.tar", tmp);
	snprintf(l2, sizeof(l2), "%s/l2.tar", tmp);
	make_tar(l1, layer1);
	make_tar(l2, layer2);
	CHECK_EQ(apply(&c, l1), 0);
	CHECK_EQ(apply(&c, l2), 0);
	CHECK_STR(tree_list(c.stage), "./bin ./bin/sh ./data ./data/keep.txt ./data/new.txt "
		  "./opq ./opq/b.txt ./opq2 ./opq2/y ");
}

/* ---- whole conversions ------------------------------------------------------------------- */

/* Layer tars of the two layers above in dir: l1.tar, l2.tar and their sha256. */
static void two_layers(const char *dir, char d1[SHA256_HEX], char d2[SHA256_HEX])
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/l1.tar", dir);
	make_tar(path, layer1);
	file_sha(path, d1);
	snprintf(path, sizeof(path), "%s/l2.tar", dir);
	make_tar(path, layer2);
	file_sha(path, d2);
}

static const char config_fmt[] =
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\",\"HVM=yes\"],"
	"\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"cat /data/new.txt\"],\"WorkingDir\":\"/data\","
	"\"User\":\"65534:65534\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\","
	"\"sha256:%s\"]}}";

/* A docker-save tarball at tmp/ds.tar; returns nothing, checks as it goes. */
static void make_docker_save(const char *out, const char *diff2)
{
	char d1[SHA256_HEX], d2[SHA256_HEX], c[SHA256_HEX], path[PATH_MAX], json[2048];

	sh("mkdir -p %s/ds", tmp);
	snprintf(path, sizeof(path), "%s/ds", tmp);
	two_layers(path, d1, d2);
	sh("cd %s/ds && mkdir -p %s %s && mv l1.tar %s/layer.tar && mv l2.tar %s/layer.tar", tmp, d1,
	   d2, d1, d2);
	snprintf(json, sizeof(json), config_fmt, d1, diff2 ? diff2 : d2);
	sha256_hex(json, strlen(json), c);
	snprintf(path, sizeof(path), "%s/ds/%s.json", tmp, c);
	write_text(path, json);
	snprintf(json, sizeof(json), "[{\"Config\":\"%s.json\",\"RepoTags\":[\"t:latest\"],"
		 "\"Layers\":[\"%s/layer.tar\",\"%s/layer.tar\"]}]", c, d1, d2);
	snprintf(path, sizeof(path), "%s/ds/manifest.json", tmp);
	write_text(path, json);
	CHECK_EQ(sh("cd %s/ds && tar -cf %s .", tmp, out), 0);
}

static void check_merged_image(void)
{
	struct image img;

	CHECK_STR(ext4_ls(only_rootfs(), "/data"), "keep.txt new.txt ");
	CHECK_STR(ext4_ls(only_rootfs(), "/opq"), "b.txt ");
	CHECK_STR(ext4_ls(only_rootfs(), "/opq2"), "y ");
	CHECK_STR(ext4_ls(only_rootfs(), "/"), "bin data opq opq2 ");
	CHECK_EQ(image_cache_load(cache, sh_out("ls %s/images", cache), &img), 0);
	CHECK_STR(img.config.entrypoint[0], "/bin/sh");
	CHECK_STR(img.config.cmd[0], "cat /data/new.txt");
	CHECK(img.config.cmd[1] == NULL);
	CHECK_STR(img.config.env[1], "HVM=yes");
	CHECK_STR(img.config.workdir, "/data");
	CHECK_STR(img.config.user, "65534:65534");
	image_free(&img);
}

static void docker_save(void)
{
	char img[PATH_MAX], bad[SHA256_HEX];

	fresh();
	snprintf(img, sizeof(img), "%s/ds.tar", tmp);
	make_docker_save(img, NULL);
	CHECK_EQ(convert_image(img, cache), 0);
	check_merged_image();
	CHECK(cache_clean());
	/* A layer changed after the fact: refused although its config names a cached entry. */
	sh("cd %s/ds && for d in */; do printf x >> $d/layer.tar; break; done && tar -cf %s .",
	   tmp, img);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
	CHECK_EQ(cache_count("index"), 1);
	/* A diff_id that does not match its layer: refused, nothing kept. */
	fresh();
	memset(bad, 'a', 64);
	bad[64] = '\0';
	make_docker_save(img, bad);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
	CHECK_EQ(cache_count("images"), 0);
	CHECK(cache_clean());
}

/* An OCI layout in tmp/oci with gzip layers. */
static void make_oci(void)
{
	char d1[SHA256_HEX], d2[SHA256_HEX], g1[SHA256_HEX], g2[SHA256_HEX], c[SHA256_HEX];
	char m[SHA256_HEX], path[PATH_MAX], json[4096], man[2048], s1[32], s2[32];

	sh("mkdir -p %s/oci/blobs/sha256 %s/ocisrc", tmp, tmp);
	snprintf(path, sizeof(path), "%s/ocisrc", tmp);
	two_layers(path, d1, d2);
	sh("cd %s/ocisrc && gzip -n -k l1.tar l2.tar", tmp);
	snprintf(path, sizeof(path), "%s/ocisrc/l1.tar.gz", tmp);
	file_sha(path, g1);
	snprintf(path, sizeof(path), "%s/ocisrc/l2.tar.gz", tmp);
	file_sha(path, g2);
	sh("cd %s && cp ocisrc/l1.tar.gz oci/blobs/sha256/%s && cp ocisrc/l2.tar.gz oci/blobs/sha256/%s",
	   tmp, g1, g2);
	snprintf(json, sizeof(json), config_fmt, d1, d2);
	sha256_hex(json, strlen(json), c);
	snprintf(path, sizeof(path), "%s/oci/blobs/sha256/%s", tmp, c);
	write_text(path, json);
	snprintf(s1, sizeof(s1), "%s", sh_out("stat -c %%s %s/ocisrc/l1.tar.gz", tmp));
	snprintf(s2, sizeof(s2), "%s", sh_out("stat -c %%s %s/ocisrc/l2.tar.gz", tmp));
	snprintf(man, sizeof(man), "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:%s\","
		 "\"size\":%zu},\"layers\":[{\"digest\":\"sha256:%s\",\"size\":%s},"
		 "{\"digest\":\"sha256:%s\",\"size\":%s}]}", c, strlen(json), g1, s1, g2, s2);
	sha256_hex(man, strlen(man), m);
	snprintf(path, sizeof(path), "%s/oci/blobs/sha256/%s", tmp, m);
	write_text(path, man);
	snprintf(path, sizeof(path), "%s/oci/oci-layout", tmp);
	write_text(path, "{\"imageLayoutVersion\":\"1.0.0\"}");
	snprintf(json, sizeof(json), "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:%s\","
		 "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}",
		 m, strlen(man));
	snprintf(path, sizeof(path), "%s/oci/index.json", tmp);
	write_text(path, json);
}

static void oci_layout(void)
{
	char img[PATH_MAX];

	fresh();
	make_oci();
	snprintf(img, sizeof(img), "%s/oci", tmp);
	CHECK_EQ(convert_image(img, cache), 0);
	check_merged_image();
	/* The same image as a tar is the same content: one entry, two index records. */
	CHECK_EQ(sh("cd %s/oci && tar -cf %s/oci.tar .", tmp, tmp), 0);
	snprintf(img, sizeof(img), "%s/oci.tar", tmp);
	CHECK_EQ(convert_image(img, cache), 0);
	CHECK_EQ(cache_count("images"), 1);
	CHECK_EQ(cache_count("index"), 2);
	CHECK(cache_clean());
}

static void oci_digest_mismatch(void)
{
	char img[PATH_MAX];

	fresh();
	make_oci();
	snprintf(img, sizeof(img), "%s/oci", tmp);
	CHECK_EQ(convert_image(img, cache), 0);
	/* One byte more in a layer blob: its size and sha256 no longer match. The manifest
	 * still names the cached entry, and the image must be refused all the same. */
	sh("cp -r %s/oci %s/bad && cd %s/bad/blobs/sha256 && for f in *; do "
	   "if gzip -t $f 2>/dev/null; then printf x >> $f; break; fi; done", tmp, tmp, tmp);
	snprintf(img, sizeof(img), "%s/bad", tmp);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
	CHECK_EQ(cache_count("images"), 1);
	CHECK_EQ(cache_count("index"), 1);
	CHECK(cache_clean());
	/* The same with the layer's bytes changed but not its size. */
	sh("rm -rf %s/bad && cp -r %s/oci %s/bad && cd %s/bad/blobs/sha256 && for f in *; do "
	   "if gzip -t $f 2>/dev/null; then printf x | dd of=$f bs=1 seek=20 conv=notrunc "
	   "status=none; break; fi; done", tmp, tmp, tmp, tmp);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
	CHECK_EQ(cache_count("index"), 1);
	CHECK(cache_clean());
	/* A missing blob. */
	fresh();
	make_oci();
	snprintf(img, sizeof(img), "%s/oci", tmp);
	sh("cd %s/oci/blobs/sha256 && for f in *; do if gzip -t $f 2>/dev/null; then rm $f; break; fi; "
	   "done", tmp);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
	CHECK(cache_clean());
}

/* A tar.gz converted, found by image_cache_lookup, and deduplicated when seen elsewhere. */
static void tar_roundtrip_and_reuse(void)
{
	const struct tar_entry t[] = {
		{ "./etc/", 'd' }, { "./etc/hostname", 'f', "hvm\n" }, { "./bin/", 'd' },
		{ "./bin/sh", 'l', "/bin/busybox" }, { "./etc/h2", 'h', "etc/hostname" }, { NULL },
	};
	char img[PATH_MAX], key[SHA256_HEX];
	struct image out;

	fresh();
	snprintf(img, sizeof(img), "%s/img.tar", tmp);
	make_tar(img, t);
	sh("cd %s && gzip -n img.tar && ln -s img.tar.gz link.tgz", tmp);
	snprintf(img, sizeof(img), "%s/img.tar.gz", tmp);
	CHECK_EQ(convert_image(img, cache), 0);
	CHECK_STR(ext4_ls(only_rootfs(), "/etc"), "h2 hostname ");
	CHECK_EQ(image_quick_key(img, key, NULL), 0);
	CHECK_EQ(image_cache_lookup(cache, key, &out), 0);
	CHECK(out.config.cmd == NULL && out.config.entrypoint == NULL);
	CHECK_EQ(access(out.rootfs, R_OK), 0);
	image_free(&out);
	/* Converting it again changes nothing; a copy elsewhere reuses the entry. */
	CHECK_EQ(convert_image(img, cache), 0);
	sh("cp %s %s/copy.tgz", img, tmp);
	snprintf(img, sizeof(img), "%s/copy.tgz", tmp);
	CHECK_EQ(convert_image(img, cache), 0);
	CHECK_EQ(cache_count("images"), 1);
	CHECK_EQ(cache_count("index"), 2);
	CHECK(cache_clean());
}

/* A rootfs directory: used in place, digest independent of where it is. */
static void rootfs_dir(void)
{
	char img[PATH_MAX];

	fresh();
	sh("cd %s/src && mkdir -p etc bin && echo hi > etc/motd && ln -s motd etc/l && "
	   "cp -a %s/src %s/copy", tmp, tmp, tmp);
	snprintf(img, sizeof(img), "%s/src", tmp);
	CHECK_EQ(convert_image(img, cache), 0);
	CHECK_STR(ext4_ls(only_rootfs(), "/etc"), "l motd ");
	snprintf(img, sizeof(img), "%s/copy", tmp);
	CHECK_EQ(convert_image(img, cache), 0);
	CHECK_EQ(cache_count("images"), 1);
	CHECK_EQ(cache_count("index"), 2);
	sh("echo changed > %s/copy/etc/motd", tmp);
	CHECK_EQ(convert_image(img, cache), 0);
	CHECK_EQ(cache_count("images"), 2);
	CHECK(cache_clean());
}

static void hostile_archives(void)
{
	const struct tar_entry up[] = { { "ok", 'f', "x" }, { "../../escape-test", 'f', "x" }, { NULL } };
	const struct tar_entry abs[] = { { "/tmp/hvm-escape-test-abs", 'f', "x" }, { NULL } };
	const struct tar_entry hl[] = { { "h", 'h', "../../etc/passwd" }, { NULL } };
	const struct tar_entry wh[] = { { "a/.wh...", 'f', "" }, { NULL } };
	const struct tar_entry *bad[] = { up, abs, hl, wh };
	char img[PATH_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fresh();
		snprintf(img, sizeof(img), "%s/src/evil.tar", tmp);
		make_tar(img, bad[i]);
		CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
		CHECK_EQ(cache_count("images") + cache_count("index") + cache_count("tmp"), 0);
		CHECK_EQ(sh("test ! -e %s/escape-test", tmp), 0);
	}
	CHECK(access("/tmp/hvm-escape-test-abs", F_OK) != 0);
}

/* Symlinks resolve inside the image, as in the container: an absolute target is the image's /. */
static void symlinks_stay_inside(void)
{
	const struct tar_entry t[] = {
		{ "tmp/", 'd' }, { "bin", 'l', "/tmp" }, { "bin/hvm-escape-test", 'f', "x" },
		{ "up", 'l', "../../../../tmp" }, { "up/hvm-escape-test2", 'f', "y" },
		{ "hl", 'h', "bin/hvm-escape-test" }, { NULL },
	};
	char img[PATH_MAX];

	fresh();
	unlink("/tmp/hvm-escape-test");
	unlink("/tmp/hvm-escape-test2");
	snprintf(img, sizeof(img), "%s/links.tar", tmp);
	make_tar(img, t);
	CHECK_EQ(convert_image(img, cache), 0);
	CHECK(access("/tmp/hvm-escape-test", F_OK) != 0);
	CHECK(access("/tmp/hvm-escape-test2", F_OK) != 0);
	CHECK_STR(ext4_ls(only_rootfs(), "/tmp"), "hvm-escape-test hvm-escape-test2 ");
	CHECK_STR(ext4_ls(only_rootfs(), "/"), "bin hl tmp up ");
}

static void broken_inputs(void)
{
	char img[PATH_MAX];

	fresh();
	snprintf(img, sizeof(img), "%s/random.bin", tmp);
	sh("head -c 5000 /dev/urandom > %s", img);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);	/* unknown format */
	snprintf(img, sizeof(img), "%s/empty", tmp);
	sh(": > %s", img);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
	snprintf(img, sizeof(img), "%s/trunc.tar", tmp);
	sh("head -c 300000 /dev/urandom > %s/src/big && tar -cf %s/full.tar -C %s/src big && "
	   "head -c 30000 %s/full.tar > %s", tmp, tmp, tmp, tmp, img);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
	snprintf(img, sizeof(img), "%s/trunc.tgz", tmp);
	sh("gzip -n -c %s/full.tar | head -c 2000 > %s", tmp, img);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
	CHECK_EQ(convert_image("/nonexistent/image.tar", cache), CONVERT_BAD);
	/* docker-save without layers. */
	sh("mkdir -p %s/nol && cd %s/nol && echo '{}' > c.json && "
	   "echo '[{\"Config\":\"c.json\",\"Layers\":[]}]' > manifest.json && tar -cf ../nol.tar .",
	   tmp, tmp);
	snprintf(img, sizeof(img), "%s/nol.tar", tmp);
	CHECK_EQ(convert_image(img, cache), CONVERT_BAD);
	CHECK_EQ(cache_count("images") + cache_count("index"), 0);
	CHECK(cache_clean());
}

/* A work directory left by a killed converter is swept by the next one. */
static void stale_work_swept(void)
{
	const struct tar_entry t[] = { { "f", 'f', "x" }, { NULL } };
	char img[PATH_MAX];

	fresh();
	sh("mkdir -p %s/tmp/work.dead01/rootfs && touch %s/tmp/work.dead01/lock", cache, cache);
	snprintf(img, sizeof(img), "%s/t.tar", tmp);
	make_tar(img, t);
	CHECK_EQ(convert_image(img, cache), 0);
	CHECK(cache_clean());
}

/* hvm-run's path: a miss runs the helper, then a hit; a refused image is -EINVAL. */
static void resolve_with_helper(void)
{
	const struct tar_entry t[] = { { "etc/", 'd' }, { "etc/x", 'f', "x" }, { NULL } };
	const char *helper = "build/hvm-image";
	char img[PATH_MAX], script[PATH_MAX];
	struct image out;

	fresh();
	snprintf(script, sizeof(script), "%s/refuse.sh", tmp);
	write_text(script, "#!/bin/sh\necho 'hvm-image: test: refused' >&2\nexit 125\n");
	snprintf(img, sizeof(img), "%s/t.tar", tmp);
	make_tar(img, t);
	chmod(script, 0755);
	CHECK_EQ(image_resolve(img, cache, script, &out, NULL), -EINVAL);
	write_text(script, "#!/bin/sh\nexit 0\n");	/* claims success, leaves nothing */
	CHECK_EQ(image_resolve(img, cache, script, &out, NULL), -EIO);
	CHECK_EQ(image_resolve(img, cache, "/nonexistent/hvm-image", &out, NULL), -ENOENT);
	CHECK_EQ(image_resolve("/nonexistent/image", cache, script, &out, NULL), -ENOENT);
	if (access(helper, X_OK) != 0) {
		fprintf(stderr, "note: %s not built, the real helper is not exercised\n", helper);
		return;
	}
	CHECK_EQ(image_resolve(img, cache, helper, &out, NULL), 0);
	CHECK_STR(ext4_ls(out.rootfs, "/etc"), "x ");
	image_free(&out);
	/* A hit: no helper needed. */
	CHECK_EQ(image_resolve(img, cache, script, &out, NULL), 0);
	image_free(&out);
}

HARNESS_MAIN(config_records, cache_dir_from_env, quick_keys, whiteouts_merge, docker_save,
	     oci_layout, oci_digest_mismatch, tar_roundtrip_and_reuse, rootfs_dir, hostile_archives,
	     symlinks_stay_inside, broken_inputs, stale_work_swept, resolve_with_helper)
