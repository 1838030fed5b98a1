/*
 * docker-save and OCI layout manifests (image/convert_manifest.c): the input is the files of
 * an unpacked image, and the JSON in them is followed all the way to applied layers and
 * recorded run defaults. Blobs are named by digests a fuzzer cannot forge, so the harness
 * does the hashing: "@1".."@4" in a part become the sha256 of part 1..4.
 *
 * Input: up to 5 parts split by "\n@@@@\n". Part 0 is manifest.json when it reads as a
 * docker-save manifest, else index.json (with an oci-layout marker); part N >= 1 is written
 * as blobs/sha256/<its sha256> and as <its sha256>.json. Parts may name only later parts.
 */
#include "../../image/image.h"
#include "../../image/sha256.h"
#include "fuzz_image.h"

#define MAX_PARTS 5
#define PART_MAX  (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sep[] = "\n@@@@\n";

struct part {
	char *buf;		/* after substitution */
	size_t len;
	char hex[SHA256_HEX];
};

/* Copies src replacing "@N" (N a later part) by that part's digest. */
static void substitute(struct part *p, const uint8_t *src, size_t n, const struct part *parts,
		       int self, int nparts)
{
	p->buf = malloc(n * 32 + 1);	/* "@N" (2 bytes) grows to 64 at most */
	p->len = 0;
	for (size_t i = 0; i < n; i++) {
		int k = i + 1 < n && src[i] == '@' ? src[i + 1] - '0' : -1;
		if (k > self && k < nparts) {
			memcpy(p->buf + p->len, parts[k].hex, 64);
			p->len += 64;
			i++;
		} else {
			p->buf[p->len++] = (char)src[i];
		}
	}
	sha256_hex(p->buf, p->len, p->hex);
}

static void write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *start[MAX_PARTS];
	size_t len[MAX_PARTS];
	struct part parts[MAX_PARTS];
	char dir[PATH_MAX], name[SHA256_HEX + 32];
	struct convert c;
	int n = 0, docker;

	if (!fuzz_base[0])
		fuzz_image_init();
	if (size > PART_MAX)
		return 0;
	for (const uint8_t *p = data, *end = data + size; n < MAX_PARTS; n++) {
		const uint8_t *s = n + 1 < MAX_PARTS ? memmem(p, (size_t)(end - p), sep, 6) : NULL;
		start[n] = p;
		len[n] = s ? (size_t)(s - p) : (size_t)(end - p);
		if (!s) {
			n++;
			break;
		}
		p = s + 6;
	}
	for (int i = n - 1; i >= 0; i--)
		substitute(&parts[i], start[i], len[i], parts, i, n);
	fuzz_image_start(&c);
	snprintf(dir, sizeof(dir), "%s/image", c.work);
	if (mkdir(dir, 0700) < 0)
		abort();
	snprintf(name, sizeof(name), "%s/blobs", dir);
	mkdir(name, 0700);
	snprintf(name, sizeof(name), "%s/blobs/sha256", dir);
	mkdir(name, 0700);
	for (int i = 1; i < n; i++) {
		snprintf(name, sizeof(name), "blobs/sha256/%s", parts[i].hex);
		write_file(dir, name, parts[i].buf, parts[i].len);
		snprintf(name, sizeof(name), "%s.json", parts[i].hex);
		write_file(dir, name, parts[i].buf, parts[i].len);
	}
	docker = convert_manifest_is_docker(parts[0].buf, parts[0].len);
	write_file(dir, docker ? "manifest.json" : "index.json", parts[0].buf, parts[0].len);
	if (!docker)
		write_file(dir, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}", 31);
	if (docker)
		convert_manifest_docker(&c, dir);
	else
		convert_manifest_oci(&c, dir);
	/* What the run defaults became must read back as config records. */
	if (c.config) {
		struct image_config cfg;
		if (image_config_parse(c.config, c.config_len, &cfg) < 0) {
			fprintf(stderr, "fuzz_oci_manifest: recorded config does not parse\n");
			abort();
		}
		image_config_free(&cfg);
	}
	fuzz_image_finish(&c);
	for (int i = 0; i < n; i++)
		free(parts[i].buf);
	return 0;
}
