/*
 * The JSON that starts a process, from both ends. The agent's RUN parsing (agent/process.c,
 * built for the host here: only its parser runs, nothing forks) takes hostile bodies, and
 * SIGNAL and RESIZE bodies go through their handlers with no process behind them. The host's
 * side composes a RUN body from an image's config records (image/config.c, written by the
 * hvm-image helper from untrusted image configs) and the agent must accept whatever it composes.
 *
 * Input: byte 0 bit 0 set: the rest is "key=value\0" image config records, composed with
 * flags from bits 1-4 (-t, -i, --cmd, -- ARG); clear: the rest is a RUN/SIGNAL/RESIZE body.
 */
#include "../../agent/process.c"
#include "../../agent/user.c"
#include "../../agent/hook.c"
#include "../../agent/process_settings.c"
#include "../../agent/devices.c"
#include "../../agent/userns.c"

#include "../../image/image.h"
#include "../../vmm/hvm_internal.h"
#include "../../vmm/hvm_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_run_json: %s\n", why);
	abort();
}

/* Parses a RUN body as the agent does, up to the fork; 0 when it would run. */
static int agent_parse(const uint8_t *json, size_t len, struct run_spec *rs, cJSON **j)
{
	char why[128];

	*j = cJSON_ParseWithLength((const char *)json, len);
	if (!*j)
		return -EINVAL;
	return spec_parse(rs, *j, why, sizeof(why));
}

static void agent_side(const uint8_t *body, size_t len)
{
	static struct run_spec rs;
	struct process p = { .in_fd = -1, .out_fd = -1, .err_fd = -1, .tty = 1 };
	cJSON *j;

	agent_parse(body, len, &rs, &j);
	cJSON_Delete(j);
	process_signal(&p, body, len);		/* pid 0: parsed, never sent */
	process_resize(&p, body, len);		/* no terminal fd: parsed, never applied */
}

static void host_side(uint8_t flags, const uint8_t *rec, size_t len)
{
	static char cmd[] = "echo composed", arg[] = "arg";
	static char *args[] = { arg, NULL };
	static struct run_spec rs;
	struct hvm_config c = { .tty = flags & 2, .in_fd = flags & 4 ? 0 : -1, .rows = 24,
				.cols = 80 };
	struct image_config cfg;
	char *json = NULL;
	cJSON *j;

	if (flags & 8)
		c.shell = cmd;
	if (flags & 16)
		c.args = args;
	if (image_config_parse((const char *)rec, len, &cfg) < 0)
		return;
	if (hvm_request_process(&c, &cfg, &json, NULL) == 0) {
		if (agent_parse((const uint8_t *)json, strlen(json), &rs, &j) != 0)
			fail("the agent refuses a RUN body the host composed");
		cJSON_Delete(j);
		free(json);
	}
	image_config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		host_side(data[0], data + 1, size - 1);
	else
		agent_side(data + 1, size - 1);
	return 0;
}
