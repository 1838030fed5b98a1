/*
 * An OCI bundle's config.json and an exec's process.json (tools/oci_spec.c, with the checks
 * of oci_validate.c and the guest settings of oci_settings.c): written by whoever made the
 * bundle, so hostile. Parsing either must end in a spec or a one-line reason, never a crash,
 * a leak or an unterminated message.
 *
 * Input: the JSON text, parsed both as a config.json (bundle "/bundle") and as a process.json.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/oci_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reason(const char *err, size_t cap)
{
	if (!memchr(err, '\0', cap) || !err[0] || strchr(err, '\n')) {
		fprintf(stderr, "fuzz_oci_config: a refusal without a one-line reason: \"%.*s\"\n",
			(int)strnlen(err, cap), err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = malloc(size + 1), err[512];
	struct oci_spec spec;
	struct oci_process proc;

	if (!json)
		return 0;
	memcpy(json, data, size);
	json[size] = '\0';
	memset(&spec, 0, sizeof(spec));
	memset(err, 0xff, sizeof(err));
	if (oci_spec_parse(json, "/bundle", &spec, err, sizeof(err)) < 0)
		check_reason(err, sizeof(err));
	else if (!spec.process.args || !spec.process.args[0] || !spec.root || spec.root[0] != '/')
		abort();	/* accepted specs always have a command and an absolute root */
	oci_spec_free(&spec);
	memset(&proc, 0, sizeof(proc));
	memset(err, 0xff, sizeof(err));
	if (oci_process_parse(json, &proc, err, sizeof(err)) < 0)
		check_reason(err, sizeof(err));
	oci_process_free(&proc);
	free(json);
	return 0;
}
