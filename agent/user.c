/* -u USER[:GROUP]: names resolved in the image's own /etc/passwd and /etc/group. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define USER_MAX_GROUPS 64

/* A decimal id, all of the string; returns 0 and sets *id, or -1. */
static int parse_id(const char *s, unsigned *id)
{
	char *end;
	unsigned long v;

	if (!*s)
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v > 0xfffffffeUL)
		return -1;
	*id = (unsigned)v;
	return 0;
}

static int group_lookup(const char *spec, gid_t *gid)
{
	unsigned id;
	struct group *g;

	if (parse_id(spec, &id) == 0) {
		*gid = id;
		return 0;
	}
	g = getgrnam(spec);
	if (!g) {
		fprintf(stderr, "hvm-agent: group %s not found in the image's /etc/group\n", spec);
		return -ENOENT;
	}
	*gid = g->gr_gid;
	return 0;
}

/* Like `docker run -u`: a known user brings its group, home and supplementary groups. */
int user_switch(const char *spec, const gid_t *extra, int nextra, const char **home)
{
	char buf[256], *group;
	struct passwd *pw;
	gid_t gid = 0, groups[USER_MAX_GROUPS];
	int ngroups = 0;
	unsigned id;

	snprintf(buf, sizeof(buf), "%s", spec);
	group = strchr(buf, ':');
	if (group)
		*group++ = '\0';
	pw = parse_id(buf, &id) == 0 ? getpwuid(id) : getpwnam(buf);
	if (!pw && parse_id(buf, &id) != 0) {
		fprintf(stderr, "hvm-agent: user %s not found in the image's /etc/passwd\n", buf);
		return -ENOENT;
	}
	uid_t uid = pw ? pw->pw_uid : id;
	gid = pw ? pw->pw_gid : 0;
	if (group && group_lookup(group, &gid))
		return -ENOENT;
	ngroups = USER_MAX_GROUPS;
	if (!pw || getgrouplist(pw->pw_name, gid, groups, &ngroups) < 0) {
		groups[0] = gid;
		ngroups = nextra < 0 ? 1 : 0;
	}
	for (int i = 0; i < nextra && ngroups < USER_MAX_GROUPS; i++)
		groups[ngroups++] = extra[i];
	*home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/";
	if (setgroups((size_t)ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		fprintf(stderr, "hvm-agent: switching to user %s: %s\n", spec, strerror(errno));
		return -errno;
	}
	return 0;
}
