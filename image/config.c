/* Run defaults of a cached image: "key=value\0" records, parsed into lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* Appends a copy of value to a NULL-terminated list. */
static int list_add(char ***list, const char *value)
{
	size_t n = 0;

	while (*list && (*list)[n])
		n++;
	char **more = realloc(*list, (n + 2) * sizeof(char *));
	if (!more)
		return -ENOMEM;
	*list = more;
	more[n] = strdup(value);
	more[n + 1] = NULL;
	return more[n] ? 0 : -ENOMEM;
}

static int config_set(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
	return *field ? 0 : -ENOMEM;
}

static int config_add(struct image_config *cfg, const char *rec)
{
	const char *eq = strchr(rec, '=');
	size_t klen = eq ? (size_t)(eq - rec) : 0;
	const char *v = eq ? eq + 1 : NULL;

#define KEY_IS(k) (klen == strlen(k) && strncmp(rec, k, klen) == 0)
	if (!eq)
		return -EINVAL;
	if (KEY_IS(IMAGE_KEY_ENTRYPOINT))
		return list_add(&cfg->entrypoint, v);
	if (KEY_IS(IMAGE_KEY_CMD))
		return list_add(&cfg->cmd, v);
	if (KEY_IS(IMAGE_KEY_ENV))
		return list_add(&cfg->env, v);
	if (KEY_IS(IMAGE_KEY_WORKDIR))
		return config_set(&cfg->workdir, v);
	if (KEY_IS(IMAGE_KEY_USER))
		return config_set(&cfg->user, v);
#undef KEY_IS
	return 0;	/* a newer hvm-image may record more */
}

int image_config_parse(const char *buf, size_t len, struct image_config *cfg)
{
	int err = 0;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t off = 0; off < len && !err; ) {
		const char *rec = buf + off;
		size_t n = strnlen(rec, len - off);
		if (n == len - off)
			err = -EINVAL;	/* last record not terminated */
		else if (n)
			err = config_add(cfg, rec);
		off += n + 1;
	}
	if (err)
		image_config_free(cfg);
	return err;
}

static void list_free(char ***list)
{
	for (char **p = *list; p && *p; p++)
		free(*p);
	free(*list);
	*list = NULL;
}

void image_config_free(struct image_config *cfg)
{
	list_free(&cfg->entrypoint);
	list_free(&cfg->cmd);
	list_free(&cfg->env);
	free(cfg->workdir);
	free(cfg->user);
	cfg->workdir = cfg->user = NULL;
}
