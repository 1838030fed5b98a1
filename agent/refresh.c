/*
 * A VM restored from a snapshot or template is a copy: the same RNG state, a clock stopped at
 * the snapshot's moment, the template's host name. REFRESH (host -> agent, before RUN) makes
 * each copy its own: fresh entropy credited to the kernel's pool and the CRNG reseeded from
 * it, the wall clock stepped to the host's, the host name the run asks for.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Credits the bytes to the kernel's pool (RNDADDENTROPY), then reseeds the CRNG from it. */
static int refresh_entropy(const char *hex, char *why, size_t cap)
{
	struct {
		struct rand_pool_info info;
		uint8_t bytes[PROTO_REFRESH_SEED];
	} pool = { .info = { .entropy_count = PROTO_REFRESH_SEED * 8,
			     .buf_size = PROTO_REFRESH_SEED } };
	int fd, err = 0;

	if (strlen(hex) != 2 * PROTO_REFRESH_SEED) {
		snprintf(why, cap, "refresh: seed must be %d hex bytes", PROTO_REFRESH_SEED);
		return -EINVAL;
	}
	for (int i = 0; i < PROTO_REFRESH_SEED; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(why, cap, "refresh: seed is not lower-case hex");
			return -EINVAL;
		}
		pool.bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, RNDADDENTROPY, &pool) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0) {
		err = -errno;
		snprintf(why, cap, "refresh: reseeding the RNG: %s", strerror(errno));
	}
	explicit_bzero(&pool, sizeof(pool));
	if (fd >= 0)
		close(fd);
	return err;
}

static int refresh_clock(double time_ns, char *why, size_t cap)
{
	struct timespec ts = { .tv_sec = (time_t)(time_ns / 1e9) };

	ts.tv_nsec = (long)(time_ns - (double)ts.tv_sec * 1e9);
	if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 0;
	if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
		snprintf(why, cap, "refresh: setting the clock: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int refresh_apply(const uint8_t *json, size_t len, char *why, size_t cap)
{
	cJSON *j = cJSON_ParseWithLength((const char *)json, len);
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time_ns");
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(j, "hostname");
	int err = 0;

	if (!cJSON_IsString(seed) || !cJSON_IsNumber(t)) {
		snprintf(why, cap, "refresh: needs \"seed\" and \"time_ns\"");
		err = -EINVAL;
	}
	if (!err)
		err = refresh_entropy(seed->valuestring, why, cap);
	if (!err)
		err = refresh_clock(t->valuedouble, why, cap);
	if (!err && cJSON_IsString(host) &&
	    sethostname(host->valuestring, strlen(host->valuestring)) < 0) {
		err = -errno;
		snprintf(why, cap, "refresh: host name %s: %s", host->valuestring, strerror(errno));
	}
	cJSON_Delete(j);
	return err;
}
