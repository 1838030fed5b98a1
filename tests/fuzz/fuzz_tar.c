/*
 * Image archives (image/convert_layer.c and the archive path of image/convert.c): the input
 * is a tar, compressed or not, as `docker export`, `docker save` or an OCI layout tar would
 * be. It is scanned (names, whiteouts, digests), then unpacked exactly as convert_archive
 * does, short of making the ext4 image: a plain root file system, or an unpacked docker-save
 * / OCI layout whose manifests are then followed. Nothing may land outside the work directory.
 */
#include <sys/mman.h>

#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int file_fd = -1;

/* As convert_archive, from the scan on, without publishing. */
static void convert(struct convert *c)
{
	struct convert_scan scan;
	char dir[PATH_MAX];
	int err = convert_layer_scan(c, file_fd, NULL, &scan), oci = !err && scan.oci_layout;

	if (oci || (!err && scan.manifest &&
		    convert_manifest_is_docker(scan.manifest, scan.manifest_len))) {
		convert_layer_scan_free(&scan);
		snprintf(dir, sizeof(dir), "%s/unpacked", c->work);
		if (mkdir(dir, 0700) == 0 && convert_layer_extract(c, file_fd, NULL, dir, NULL) == 0)
			oci ? convert_manifest_oci(c, dir) : convert_manifest_docker(c, dir);
		return;
	}
	if (!err) {
		snprintf(c->stage, sizeof(c->stage), "%s/rootfs", c->work);
		if (mkdir(c->stage, 0755) == 0)
			convert_layer_extract(c, file_fd, NULL, c->stage, &scan);
		convert_layer_scan_free(&scan);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct convert c;

	if (file_fd < 0) {
		fuzz_image_init();
		file_fd = memfd_create("fuzz-archive", MFD_CLOEXEC);
		if (file_fd < 0)
			abort();
	}
	if (ftruncate(file_fd, 0) < 0 || pwrite(file_fd, data, size, 0) != (ssize_t)size)
		abort();
	fuzz_image_start(&c);
	convert(&c);
	fuzz_image_finish(&c);
	return 0;
}
