/*
 * hvm-image: converts a container image into hvm's cache (an ext4 root file system plus run
 * defaults). A separate process because it parses untrusted archives; hvm-run runs it on a
 * cache miss. Exit status: 0 converted, 125 the image is unusable (one line says why), 1 our
 * own failure (also explained).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../image/convert.h"
#include "../image/image.h"

static const char usage[] =
	"Usage: hvm-image convert IMAGE CACHE_DIR\n"
	"       hvm-image --help | --version\n"
	"\n"
	"Converts IMAGE into an ext4 root file system plus its run defaults, stored under\n"
	"CACHE_DIR/images/<digest>/ and found again through CACHE_DIR/index/. IMAGE is one of:\n"
	"  a root file system directory    used as it is\n"
	"  a tar archive (any compression) as made by `docker export`\n"
	"  a docker-save tarball           manifest.json, config and layers, sha256-checked\n"
	"  an OCI image layout             directory or tar; every blob sha256-checked\n"
	"hvm-run runs this itself when an image is not in the cache yet.\n"
	"\n"
	"Exit status: 0 done, 125 the image is unusable (the message says why), 1 another\n"
	"failure (disk full, mke2fs missing, ...).\n";

static void on_signal(int sig)
{
	convert_stop(sig);
}

/* Ctrl-C and friends stop the conversion at the next entry, so it can clean up after itself. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: waits end */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* After cleaning up, die of the signal that stopped us, as the caller expects. */
static void die_of_signal(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	int err;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("hvm-image %s\n", HVM_VERSION);
		return 0;
	}
	if (argc != 4 || strcmp(argv[1], "convert") != 0) {
		fputs("hvm-image: usage: hvm-image convert IMAGE CACHE_DIR (see --help)\n", stderr);
		return IMAGE_EXIT_BAD_IMAGE;
	}
	catch_signals();
	err = convert_image(argv[2], argv[3]);
	if (err && convert_stopped())
		die_of_signal(convert_stopped());
	if (err == CONVERT_BAD)
		return IMAGE_EXIT_BAD_IMAGE;
	return err ? 1 : 0;
}
