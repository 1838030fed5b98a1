/*
 * Guest-side test program: durable records for the SIGKILL test.
 *   fsync_records write FILE JUNK   appends numbered 512-byte records to FILE; after each
 *                                   one's fsync returns it prints "flushed N", so every line
 *                                   the host saw names a record the guest saw reach the disk.
 *                                   Between records it writes 64 KiB of unflushed data to JUNK
 *                                   to keep the disk busy. Runs until killed.
 *   fsync_records check FILE        prints "valid N": the number of intact records from the
 *                                   start (a torn or missing record ends the count).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC_SIZE 512
#define JUNK_SIZE (64 * 1024)

/* FNV-1a: enough to tell a whole record from a torn or stale one. */
static uint32_t fnv(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (uint8_t)*p++) * 16777619u;
	return h;
}

/* "rec NNNNNNNN " + a payload derived from N + "sum XXXXXXXX\n" at the end. */
static void make_record(char *rec, uint32_t n)
{
	int len = snprintf(rec, REC_SIZE, "rec %08u ", n);

	for (int i = len; i < REC_SIZE - 14; i++)
		rec[i] = (char)('a' + (n + (uint32_t)i) % 26);
	snprintf(rec + REC_SIZE - 14, 14, "sum %08x", fnv(rec, REC_SIZE - 14));
	rec[REC_SIZE - 1] = '\n';
}

static int do_write(const char *file, const char *junk)
{
	static char rec[REC_SIZE], pad[JUNK_SIZE];
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int jfd = open(junk, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || jfd < 0) {
		perror("fsync_records: open");
		return 1;
	}
	memset(pad, 'j', sizeof(pad));
	for (uint32_t n = 0;; n++) {
		make_record(rec, n);
		if (pwrite(fd, rec, REC_SIZE, (off_t)n * REC_SIZE) != REC_SIZE || fsync(fd) < 0) {
			perror("fsync_records: record");
			return 1;
		}
		printf("flushed %u\n", n);
		fflush(stdout);
		/* Unflushed bulk: wraps at 4 MiB so the disk never fills. */
		if (pwrite(jfd, pad, sizeof(pad), (off_t)(n % 64) * JUNK_SIZE) < 0) {
			perror("fsync_records: junk");
			return 1;
		}
	}
}

static int do_check(const char *file)
{
	static char rec[REC_SIZE], want[REC_SIZE];
	int fd = open(file, O_RDONLY);
	uint32_t n = 0;

	if (fd < 0) {
		perror("fsync_records: open");
		return 1;
	}
	/* Only the prefix counts: what follows the last flushed record may be torn. */
	for (; pread(fd, rec, REC_SIZE, (off_t)n * REC_SIZE) == REC_SIZE; n++) {
		make_record(want, n);
		if (memcmp(rec, want, REC_SIZE) != 0)
			break;
	}
	printf("valid %u\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "write") == 0)
		return do_write(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return do_check(argv[2]);
	fprintf(stderr, "usage: fsync_records write FILE JUNK | check FILE\n");
	return 2;
}
