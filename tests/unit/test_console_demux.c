/* Console demultiplexing: agent frames pulled out of kernel log text, byte by byte. */
#include "../../tools/console_demux.h"
#include "../harness.h"

struct seen {
	char log[256];
	size_t log_len;
	int types[8];
	char payloads[8][64];
	size_t lens[8];
	int frames;
};

static void on_frame(void *opaque, int type, const uint8_t *payload, size_t len)
{
	struct seen *s = opaque;

	s->types[s->frames] = type;
	memcpy(s->payloads[s->frames], payload, len);
	s->lens[s->frames++] = len;
}

static void on_log(void *opaque, uint8_t byte)
{
	struct seen *s = opaque;

	s->log[s->log_len++] = (char)byte;
}

static void feed(struct console_demux *d, const char *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		console_demux_feed(d, (uint8_t)bytes[i]);
}

static void frames_between_log_text(void)
{
	static struct seen s;
	struct console_demux d = { .on_frame = on_frame, .on_log = on_log, .opaque = &s };
	static const char stream[] = "[ 1.0] boot\n\x1eo\x03\x00" "abc" "more log\x1e" "e\x00\x00"
				     "\x1ex\x01\x00\x07";

	feed(&d, stream, sizeof(stream) - 1);
	CHECK_EQ(s.frames, 3);
	CHECK_EQ(s.types[0], CFRAME_STDOUT);
	CHECK_EQ(s.lens[0], 3);
	CHECK(memcmp(s.payloads[0], "abc", 3) == 0);
	CHECK_EQ(s.types[1], CFRAME_STDERR);
	CHECK_EQ(s.lens[1], 0);
	CHECK_EQ(s.types[2], CFRAME_EXIT);
	CHECK_EQ(s.payloads[2][0], 7);
	s.log[s.log_len] = '\0';
	CHECK_STR(s.log, "[ 1.0] boot\nmore log");
}

static void binary_payload(void)
{
	static struct seen s;
	struct console_demux d = { .on_frame = on_frame, .on_log = on_log, .opaque = &s };
	static const char stream[] = "\x1eo\x04\x00\x1e\x00\xff\n";

	feed(&d, stream, sizeof(stream) - 1);
	CHECK_EQ(s.frames, 1);
	CHECK(memcmp(s.payloads[0], "\x1e\x00\xff\n", 4) == 0);	/* a mark inside is data */
	CHECK_EQ(s.log_len, 0);
}

static void oversized_length_is_text(void)
{
	static struct seen s;
	struct console_demux d = { .on_frame = on_frame, .on_log = on_log, .opaque = &s };
	static const char stream[] = "\x1eo\xff\xffok";

	feed(&d, stream, sizeof(stream) - 1);
	CHECK_EQ(s.frames, 0);
	CHECK_EQ(s.log_len, 6);
	CHECK(memcmp(s.log, stream, 6) == 0);
}

HARNESS_MAIN(frames_between_log_text, binary_payload, oversized_length_is_text)
