#include "oci_state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oci_spec.h"

int oci_state_dir(const char *root, const char *id, char *buf, size_t cap)
{
	if (!id[0] || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, cap, "%s/%s", root, id) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

void oci_now_rfc3339(char *buf, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, cap, "%s.%09ldZ", base, ts.tv_nsec);
}

/* The common fields, for the record and for `state`'s output alike. */
static cJSON *state_object(const struct oci_state *st, const char *status)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *ann = cJSON_Parse(st->annotations ? st->annotations : "{}");

	if (!o || !ann) {
		cJSON_Delete(o);
		cJSON_Delete(ann);
		return NULL;
	}
	cJSON_AddStringToObject(o, "ociVersion", OCI_SPEC_VERSION);
	cJSON_AddStringToObject(o, "id", st->id);
	cJSON_AddNumberToObject(o, "pid", st->pid);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddStringToObject(o, "bundle", st->bundle);
	cJSON_AddStringToObject(o, "created", st->created ? st->created : "");
	cJSON_AddItemToObject(o, "annotations", ann);
	return o;
}

int oci_state_write(const char *dir, const struct oci_state *st)
{
	char path[4096], tmp[4096];
	cJSON *o = state_object(st, st->status);
	char *text;
	int fd, err = 0;
	size_t len;

	if (!o)
		return -ENOMEM;
	cJSON_AddNumberToObject(o, "hvmPidStart", (double)st->pid_start);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", dir, OCI_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, OCI_STATE_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	free(text);
	return err;
}

static char *dup_member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

int oci_state_parse(const char *json, struct oci_state *st)
{
	cJSON *o = cJSON_Parse(json);
	const cJSON *pid, *start, *ann;

	*st = (struct oci_state){ 0 };
	if (!o)
		return -EINVAL;
	pid = cJSON_GetObjectItemCaseSensitive(o, "pid");
	start = cJSON_GetObjectItemCaseSensitive(o, "hvmPidStart");
	ann = cJSON_GetObjectItemCaseSensitive(o, "annotations");
	st->id = dup_member(o, "id");
	st->bundle = dup_member(o, "bundle");
	st->status = dup_member(o, "status");
	st->created = dup_member(o, "created");
	st->annotations = cJSON_IsObject(ann) ? cJSON_PrintUnformatted(ann) : strdup("{}");
	st->pid = cJSON_IsNumber(pid) ? (pid_t)pid->valuedouble : 0;
	st->pid_start = cJSON_IsNumber(start) ? (unsigned long long)start->valuedouble : 0;
	cJSON_Delete(o);
	if (!st->id || !st->bundle || !st->status || !st->annotations || st->pid <= 0) {
		oci_state_free(st);
		return -EINVAL;
	}
	return 0;
}

int oci_state_read(const char *dir, struct oci_state *st)
{
	char path[4096];
	char *text;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, OCI_STATE_FILE);
	text = oci_read_file(path);
	if (!text)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	err = oci_state_parse(text, st);
	free(text);
	return err;
}

unsigned long long oci_pid_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	char state;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: the fields start after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%c", &state) != 1 || state == 'Z' || state == 'X')
		return 0;
	/* field 22 (starttime) is the 20th after the state */
	for (int field = 3; field <= 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	return start;
}

const char *oci_state_status(const struct oci_state *st)
{
	unsigned long long now = oci_pid_start(st->pid);

	if (!now || (st->pid_start && now != st->pid_start))
		return "stopped";
	if (strcmp(st->status, "running") == 0)
		return "running";
	if (strcmp(st->status, "paused") == 0)
		return "paused";
	return "created";
}

char *oci_state_json(const struct oci_state *st, const char *status)
{
	cJSON *o = state_object(st, status);
	char *text;

	if (!o)
		return NULL;
	if (strcmp(status, "stopped") == 0)
		cJSON_ReplaceItemInObject(o, "pid", cJSON_CreateNumber(0));
	text = cJSON_Print(o);
	cJSON_Delete(o);
	return text;
}

void oci_state_free(struct oci_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->annotations);
	free(st->status);
	free(st->created);
	*st = (struct oci_state){ 0 };
}

int oci_write_pid_file(const char *path, pid_t pid)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%d", (int)pid) < 0 || fclose(f) != 0 || rename(tmp, path) < 0)
		return -errno;
	return 0;
}
