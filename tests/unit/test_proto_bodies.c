/* The agent's JSON bodies (proto/proto.c): what one side writes, the other reads back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/protocol.h"
#include "../harness.h"

static int exit_round_trip(int wait_status)
{
	char *body = proto_exit_json(wait_status);
	int status = proto_exit_parse((const uint8_t *)body, strlen(body));

	free(body);
	return status;
}

static int exit_of(const char *body)
{
	return proto_exit_parse((const uint8_t *)body, strlen(body));
}

static void exit_bodies(void)
{
	CHECK_EQ(exit_round_trip(0), 0);
	CHECK_EQ(exit_round_trip(3 << 8), 3);		/* exited with 3 */
	CHECK_EQ(exit_round_trip(9), 128 + 9);		/* killed by SIGKILL */
	char *body = proto_exit_json(42 << 8);
	CHECK_STR(body, "{\"status\":42}");
	free(body);
	CHECK_EQ(exit_of("{\"status\":256}"), -EPROTO);
	CHECK_EQ(exit_of("{\"signal\":0}"), -EPROTO);
	CHECK_EQ(exit_of("{\"signal\":128}"), -EPROTO);
	CHECK_EQ(exit_of("not json"), -EPROTO);
}

static void ack_bodies(void)
{
	char *body = proto_ack_json(4096);
	size_t n = 0;

	CHECK_STR(body, "{\"bytes\":4096}");
	CHECK_EQ(proto_ack_parse((const uint8_t *)body, strlen(body), 4096, &n), 0);
	CHECK_EQ(n, 4096);
	CHECK_EQ(proto_ack_parse((const uint8_t *)body, strlen(body), 4095, &n), -EPROTO);
	CHECK_EQ(proto_ack_parse((const uint8_t *)"{\"bytes\":0}", 11, 10, &n), -EPROTO);
	free(body);
	body = proto_ack_json((size_t)-1);
	CHECK(strlen(body) < PROTO_ACK_JSON_MAX);
	free(body);
}

static void error_bodies(void)
{
	char *body = proto_error_json("exec \"x\": not found");
	char msg[64];

	proto_error_parse((const uint8_t *)body, strlen(body), msg, sizeof(msg));
	CHECK_STR(msg, "exec \"x\": not found");
	free(body);
	proto_error_parse((const uint8_t *)"{}", 2, msg, sizeof(msg));
	CHECK_STR(msg, "error (no message)");
	proto_error_parse((const uint8_t *)"{\"message\":\"0123456789\"}", 24, msg, 5);
	CHECK_STR(msg, "0123");
}

HARNESS_MAIN(exit_bodies, ack_bodies, error_bodies)
