/*
 * docker-save and OCI layout images: every file they name is opened below the image directory
 * without following symlinks, every blob is checked against its sha256 (and size) before its
 * content is used, layers are applied in order, and the image config's run defaults recorded.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "convert.h"
#include "image.h"

#define JSON_MAX (4 << 20)	/* manifests and configs are kilobytes; a bound for hostile ones */
#define INDEX_DEPTH 4		/* nested indexes followed (multi-platform images have one) */

/* One layer to apply: where it is and what it must hash to. */
struct layer_ref {
	char rel[100];			/* below the image directory */
	const char *blob_hex;		/* sha256 of the file, when known */
	long long size;			/* its size in bytes, or -1 */
	const char *diff_hex;		/* sha256 of its decompressed tar, when known */
};

/* ---- files ---------------------------------------------------------------------------------- */

/* Opens regular file rel below dir without following any symlink (archives may plant them);
 * *size is its size. */
static int blob_open(struct convert *c, const char *dir, const char *rel, int *fd, off_t *size)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;
	struct stat st;

	if (!convert_path_ok(rel))
		return convert_bad(c, "%s: names a file outside the image", rel);
	if (dfd < 0)
		return convert_err(c, -errno, "%s: %s", dir, strerror(errno));
	*fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	err = *fd < 0 ? errno : fstat(*fd, &st) < 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
	close(dfd);
	*size = err ? 0 : st.st_size;
	if (!err)
		return 0;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	if (err == ENOENT)
		return convert_bad(c, "%s: missing from the image", rel);
	if (err == ELOOP)
		return convert_bad(c, "%s: a symbolic link (not followed)", rel);
	if (err == EINVAL)
		return convert_bad(c, "%s: not a regular file", rel);
	return convert_err(c, -err, "%s: %s", rel, strerror(err));
}

/* Reads a JSON file below dir (at most JSON_MAX bytes) into a NUL-terminated buffer. The
 * buffer is the file's size, not JSON_MAX: every manifest and config read costs no more. */
static int json_read(struct convert *c, const char *dir, const char *rel, char **buf, size_t *len)
{
	off_t size;
	int fd, err = blob_open(c, dir, rel, &fd, &size);
	ssize_t n;

	*buf = NULL;	/* callers free it on every path (oci_manifest does) */
	if (err)
		return err;
	if (size > JSON_MAX) {
		close(fd);
		return convert_bad(c, "%s: larger than %d bytes", rel, JSON_MAX);
	}
	*buf = malloc((size_t)size + 1);
	n = *buf ? read(fd, *buf, (size_t)size + 1) : -1;
	close(fd);
	if (n != size) {	/* a file that changed under us is no manifest to trust */
		free(*buf);
		*buf = NULL;
		return n < 0 ? convert_err(c, -EIO, "%s: %s", rel, strerror(errno ? errno : ENOMEM)) :
		       convert_err(c, -EIO, "%s: changed while being read", rel);
	}
	(*buf)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

static cJSON *json_parse(struct convert *c, const char *what, const char *buf, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(buf, len);

	if (!j)
		convert_bad(c, "%s: not valid JSON", what);
	return j;
}

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "sha256:<64 lower-case hex>" -> the hex part, or NULL. */
static const char *sha256_of(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest + 7) != 64 ||
	    strspn(digest + 7, "0123456789abcdef") != 64)
		return NULL;
	return digest + 7;
}

/* ---- run defaults --------------------------------------------------------------------------- */

static int record_add(struct convert *c, const char *key, const char *value)
{
	size_t n = strlen(key) + 1 + strlen(value) + 1;
	char *more = realloc(c->config, c->config_len + n);

	if (!more)
		return convert_err(c, -ENOMEM, "image config: %s", strerror(ENOMEM));
	c->config = more;
	snprintf(c->config + c->config_len, n, "%s=%s", key, value);
	c->config_len += n;
	return 0;
}

static int record_list(struct convert *c, const cJSON *cfg, const char *key, const char *rec)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(cfg, key), *v;
	int err = 0;

	if (arr && !cJSON_IsArray(arr) && !cJSON_IsNull(arr))
		return convert_bad(c, "image config: %s is not a list", key);
	cJSON_ArrayForEach(v, (cJSON_IsArray(arr) ? arr : NULL)) {
		if (!cJSON_IsString(v))
			return convert_bad(c, "image config: %s holds a non-string", key);
		if ((err = record_add(c, rec, v->valuestring)))
			break;
	}
	return err;
}

/* The run defaults from the image config's "config" object (Entrypoint, Cmd, Env, ...). */
static int records_from_config(struct convert *c, const cJSON *config)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(config, "config");
	const char *workdir = json_str(cfg, "WorkingDir"), *user = json_str(cfg, "User");
	int err = record_list(c, cfg, "Entrypoint", IMAGE_KEY_ENTRYPOINT);

	if (!err)
		err = record_list(c, cfg, "Cmd", IMAGE_KEY_CMD);
	if (!err)
		err = record_list(c, cfg, "Env", IMAGE_KEY_ENV);
	if (!err && workdir && *workdir)
		err = record_add(c, IMAGE_KEY_WORKDIR, workdir);
	if (!err && user && *user)
		err = record_add(c, IMAGE_KEY_USER, user);
	return err;
}

/* ---- layers --------------------------------------------------------------------------------- */

static int layer_apply(struct convert *c, const char *dir, const struct layer_ref *l)
{
	struct convert_scan scan;
	off_t size;
	int fd, err = blob_open(c, dir, l->rel, &fd, &size);

	if (err)
		return err;
	if (l->size >= 0 && size != l->size)
		err = convert_bad(c, "%s: %lld bytes, the manifest says %lld", l->rel,
				  (long long)size, l->size);
	if (!err)
		err = convert_layer_scan(c, fd, l->rel, &scan);
	if (err) {
		close(fd);
		return err;
	}
	if (l->blob_hex && strcmp(scan.digest, l->blob_hex) != 0)
		err = convert_bad(c, "%s: digest mismatch (sha256:%s, expected sha256:%s)", l->rel,
				  scan.digest, l->blob_hex);
	else if (l->diff_hex && strcmp(scan.diff_id, l->diff_hex) != 0)
		err = convert_bad(c, "%s: diff_id mismatch (sha256:%s, the config says sha256:%s)",
				  l->rel, scan.diff_id, l->diff_hex);
	else if (!c->cached)
		err = convert_layer_extract(c, fd, l->rel, c->stage, &scan);
	convert_layer_scan_free(&scan);
	close(fd);
	return err;
}

/* The config's rootfs.diff_ids, one per layer; docker-save has no other check on its layers. */
static int layers_diff_ids(struct convert *c, const cJSON *config, struct layer_ref *refs, int n,
			   int required)
{
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(config, "rootfs"), "diff_ids");

	if (!cJSON_IsArray(ids))
		return required ? convert_bad(c, "image config: no rootfs.diff_ids") : 0;
	if (cJSON_GetArraySize(ids) != n)
		return convert_bad(c, "image config: %d diff_ids for %d layers",
				   cJSON_GetArraySize(ids), n);
	for (int i = 0; i < n; i++) {
		const cJSON *d = cJSON_GetArrayItem(ids, i);
		refs[i].diff_hex = sha256_of(cJSON_IsString(d) ? d->valuestring : NULL);
		if (!refs[i].diff_hex)
			return convert_bad(c, "image config: diff_id %d is not a sha256 digest", i + 1);
	}
	return 0;
}

/*
 * Verifies and applies every layer in order. With the entry already cached the layers are
 * still verified, only not written: an image whose blobs do not match is refused either way.
 */
static int layers_apply(struct convert *c, const char *dir, const struct layer_ref *refs, int n)
{
	int err = 0;

	snprintf(c->stage, sizeof(c->stage), "%s/rootfs", c->work);
	if (!c->cached && mkdir(c->stage, 0755) < 0)
		return convert_err(c, -errno, "%s: %s", c->stage, strerror(errno));
	c->layers = n;
	for (int i = 0; i < n && !err; i++) {
		c->layer = i + 1;
		convert_progress(c, "layer");
		err = layer_apply(c, dir, &refs[i]);
	}
	return err;
}

/* ---- docker save ---------------------------------------------------------------------------- */

int convert_manifest_is_docker(const char *buf, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(buf, len);
	const cJSON *m = cJSON_GetArrayItem(j, 0);
	int yes = cJSON_IsArray(j) && json_str(m, "Config") &&
		  cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "Layers"));

	cJSON_Delete(j);
	return yes;
}

/* The hex digest a docker-save file name promises: "<hex>.json" or "blobs/sha256/<hex>". */
static const char *docker_named_hex(const char *rel)
{
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	size_t n = strspn(base, "0123456789abcdef");

	if (n == 64 && (!strcmp(base + 64, ".json") ||
			(!base[64] && base - rel == 13 && !strncmp(rel, "blobs/sha256/", 13))))
		return base;
	return NULL;
}

/* The config: checked against its name where the name is a digest; its digest names the entry. */
static int docker_config(struct convert *c, const char *dir, const char *rel, cJSON **config)
{
	char *buf, got[SHA256_HEX];
	const char *want = docker_named_hex(rel);
	size_t len;
	int err = json_read(c, dir, rel, &buf, &len);

	if (err)
		return err;
	sha256_hex(buf, len, got);
	if (want && strncmp(want, got, 64) != 0)
		err = convert_bad(c, "%s: digest mismatch (sha256:%s)", rel, got);
	if (!err && !(*config = json_parse(c, rel, buf, len)))
		err = CONVERT_BAD;
	if (!err)
		convert_set_digest(c, "docker-save", got);
	free(buf);
	return err;
}

static int docker_layers(struct convert *c, const char *dir, const cJSON *layers,
			 const cJSON *config)
{
	int n = cJSON_GetArraySize(layers), i = 0, err;
	struct layer_ref *refs = calloc((size_t)n, sizeof(*refs));
	const cJSON *l;

	if (!refs)
		return convert_err(c, -ENOMEM, "manifest.json: %s", strerror(ENOMEM));
	cJSON_ArrayForEach(l, layers) {
		if (!cJSON_IsString(l) || strlen(l->valuestring) >= sizeof(refs[i].rel)) {
			free(refs);
			return convert_bad(c, "manifest.json: layer %d is not a file name", i + 1);
		}
		snprintf(refs[i].rel, sizeof(refs[i].rel), "%s", l->valuestring);
		refs[i].blob_hex = docker_named_hex(l->valuestring);
		refs[i++].size = -1;
	}
	err = layers_diff_ids(c, config, refs, n, 1);
	if (!err)
		err = layers_apply(c, dir, refs, n);
	free(refs);
	return err;
}

int convert_manifest_docker(struct convert *c, const char *dir)
{
	cJSON *manifest = NULL, *config = NULL;
	char *buf = NULL;
	size_t len;
	int err = json_read(c, dir, "manifest.json", &buf, &len);

	if (!err && !(manifest = json_parse(c, "manifest.json", buf, len)))
		err = CONVERT_BAD;
	const cJSON *m = cJSON_GetArrayItem(manifest, 0);
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(m, "Layers");
	if (!err && (!json_str(m, "Config") || !cJSON_IsArray(layers)))
		err = convert_bad(c, "manifest.json: no Config or Layers");
	if (!err && cJSON_GetArraySize(layers) == 0)
		err = convert_bad(c, "manifest.json: the image has no layers");
	if (!err)
		err = docker_config(c, dir, json_str(m, "Config"), &config);
	if (!err)
		err = docker_layers(c, dir, layers, config);
	if (!err && !c->cached)
		err = records_from_config(c, config);
	cJSON_Delete(manifest);
	cJSON_Delete(config);
	free(buf);
	return err;
}

/* ---- OCI image layout ----------------------------------------------------------------------- */

/* Loads the JSON blob a descriptor names, verified against its digest and size. */
static int oci_blob_json(struct convert *c, const char *dir, const cJSON *desc, const char *what,
			 cJSON **out, const char **hex_out)
{
	const char *hex = sha256_of(json_str(desc, "digest"));
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(desc, "size");
	char rel[100], got[SHA256_HEX], *buf;
	size_t len;
	int err;

	if (!hex)
		return convert_bad(c, "%s: no sha256 digest in its descriptor", what);
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", hex);
	if ((err = json_read(c, dir, rel, &buf, &len)))
		return err;
	sha256_hex(buf, len, got);
	if (strcmp(got, hex) != 0)
		err = convert_bad(c, "%s: digest mismatch (sha256:%s)", rel, got);
	else if (cJSON_IsNumber(size) && size->valuedouble != (double)len)
		err = convert_bad(c, "%s: %zu bytes, the descriptor says %.0f", rel, len,
				  size->valuedouble);
	else if (!(*out = json_parse(c, rel, buf, len)))
		err = CONVERT_BAD;
	free(buf);
	if (!err && hex_out)
		*hex_out = hex;
	return err;
}

/* Picks from an index: the manifest tagged "latest", else linux/amd64, else the first. */
static const cJSON *oci_pick(const cJSON *index)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(index, "manifests"), *m, *amd64 = NULL;

	cJSON_ArrayForEach(m, (cJSON_IsArray(list) ? list : NULL)) {
		const cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
		const cJSON *plat = cJSON_GetObjectItemCaseSensitive(m, "platform");
		const char *ref = json_str(ann, "org.opencontainers.image.ref.name");
		const char *arch = json_str(plat, "architecture"), *os = json_str(plat, "os");
		if (ref && !strcmp(ref, "latest"))
			return m;
		if (!amd64 && arch && !strcmp(arch, "amd64") && (!os || !strcmp(os, "linux")))
			amd64 = m;
	}
	return amd64 ? amd64 : cJSON_GetArrayItem(list, 0);
}

/* index.json, through nested indexes, to a verified image manifest and its digest. */
static int oci_manifest(struct convert *c, const char *dir, cJSON **manifest, const char **hex,
			cJSON **holder)
{
	char *buf;
	size_t len;
	int err = json_read(c, dir, "index.json", &buf, &len);
	cJSON *index = err ? NULL : json_parse(c, "index.json", buf, len), *next;

	free(buf);
	if (!err && !index)
		err = CONVERT_BAD;
	for (int depth = 0; !err; depth++) {
		const cJSON *desc = oci_pick(index);
		if (!desc || depth == INDEX_DEPTH) {
			err = convert_bad(c, "index.json: %s", desc ? "indexes nested too deep" :
					  "no manifest listed");
			break;
		}
		err = oci_blob_json(c, dir, desc, "manifest", &next, hex);
		if (err)
			break;
		/* The descriptor is kept alive with its index: hex points into it. */
		cJSON_AddItemToArray(*holder, index);
		index = NULL;
		if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(next, "manifests"))) {
			*manifest = next;
			return 0;
		}
		index = next;
	}
	cJSON_Delete(index);
	return err;
}

static int oci_layers(struct convert *c, const char *dir, const cJSON *manifest,
		      const cJSON *config)
{
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(manifest, "layers"), *l;
	int n = cJSON_GetArraySize(layers), i = 0, err;
	struct layer_ref *refs;

	if (!cJSON_IsArray(layers) || n == 0)
		return convert_bad(c, "manifest: the image has no layers");
	if (!(refs = calloc((size_t)n, sizeof(*refs))))
		return convert_err(c, -ENOMEM, "manifest: %s", strerror(ENOMEM));
	cJSON_ArrayForEach(l, layers) {
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(l, "size");
		refs[i].blob_hex = sha256_of(json_str(l, "digest"));
		if (!refs[i].blob_hex) {
			free(refs);
			return convert_bad(c, "manifest: layer %d has no sha256 digest", i + 1);
		}
		snprintf(refs[i].rel, sizeof(refs[i].rel), "blobs/sha256/%s", refs[i].blob_hex);
		refs[i++].size = cJSON_IsNumber(size) ? (long long)size->valuedouble : -1;
	}
	err = layers_diff_ids(c, config, refs, n, 0);
	if (!err)
		err = layers_apply(c, dir, refs, n);
	free(refs);
	return err;
}

int convert_manifest_oci(struct convert *c, const char *dir)
{
	cJSON *holder = cJSON_CreateArray(), *manifest = NULL, *config = NULL, *layout = NULL;
	const char *hex = NULL;
	char *buf = NULL;
	size_t len;
	int err = holder ? json_read(c, dir, "oci-layout", &buf, &len) :
		  convert_err(c, -ENOMEM, "%s", strerror(ENOMEM));

	if (!err && (!(layout = cJSON_ParseWithLength(buf, len)) ||
		     !json_str(layout, "imageLayoutVersion")))
		err = convert_bad(c, "oci-layout: not an OCI image layout marker");
	if (!err)
		err = oci_manifest(c, dir, &manifest, &hex, &holder);
	if (!err)
		convert_set_digest(c, "oci", hex);
	if (!err)
		err = oci_blob_json(c, dir, cJSON_GetObjectItemCaseSensitive(manifest, "config"),
				    "config", &config, NULL);
	if (!err)
		err = oci_layers(c, dir, manifest, config);
	if (!err && !c->cached)
		err = records_from_config(c, config);
	cJSON_Delete(layout);
	cJSON_Delete(manifest);
	cJSON_Delete(config);
	cJSON_Delete(holder);
	free(buf);
	return err;
}
