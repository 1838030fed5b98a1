/*
 * The agent's JSON bodies as the host reads them (proto/proto.c): EXIT, STDIN_ACK and ERROR
 * come from the guest, so hostile. Each reader must give a value in its documented range or
 * its refusal, and what the writers make of a value must read back as that value.
 *
 * Input: byte 0 is STDIN_ACK's "max" (what was sent and not yet acknowledged, 0 to 255 KiB
 * in 1 KiB steps); the rest is the body, given to every reader.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../../proto/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_proto_bodies: %s\n", why);
	abort();
}

/* The writer's EXIT body for a waitpid status must read back as want. */
static void exit_round_trip(int wait_status, int want)
{
	char *json = proto_exit_json(wait_status);

	if (json && proto_exit_parse((const uint8_t *)json, strlen(json)) != want)
		fail("an EXIT body does not read back as its status");
	free(json);
}

static void error_checks(const uint8_t *body, size_t len)
{
	char msg[64];

	memset(msg, 0xff, sizeof(msg));
	proto_error_parse(body, len, msg, sizeof(msg));
	if (!memchr(msg, '\0', sizeof(msg)))
		fail("an ERROR message is not terminated within its buffer");
	for (const unsigned char *c = (const unsigned char *)msg; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			fail("an ERROR message keeps a control character");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max, bytes = 0;
	int status;

	if (size < 1)
		return 0;
	max = (size_t)data[0] << 10;
	status = proto_exit_parse(data + 1, size - 1);
	if (status != -EPROTO && (status < 0 || status > 255))
		fail("an EXIT status out of 0-255");
	if (status >= 0)	/* as an exit code, and (above 128) as death by signal N */
		exit_round_trip(status << 8, status);
	if (status > 128 && status - 128 < NSIG)	/* signals that exist; 127 is "stopped" */
		exit_round_trip(status - 128, status);
	if (proto_ack_parse(data + 1, size - 1, max, &bytes) == 0 && (bytes < 1 || bytes > max))
		fail("a STDIN_ACK count out of 1..max");
	error_checks(data + 1, size - 1);
	return 0;
}
