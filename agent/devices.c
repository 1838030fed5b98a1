/*
 * linux.devices of an OCI config: the nodes runc would make in the container's /dev, made
 * in the guest's. Their major and minor numbers name the guest kernel's devices: a VM's
 * container reaches its own kernel's drivers, never the host's.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../core/mkdir_p.h"
#include "agent.h"

#define GET(obj, key) cJSON_GetObjectItemCaseSensitive(obj, key)
#define DEVICE_MODE_DEFAULT 0666	/* runc's, when fileMode is absent */

/* The node type of an OCI device type: c and u (unbuffered) are character, b block, p a
 * FIFO; 0 when unknown. */
static mode_t node_type(const char *type)
{
	if (!strcmp(type, "c") || !strcmp(type, "u"))
		return S_IFCHR;
	if (!strcmp(type, "b"))
		return S_IFBLK;
	return !strcmp(type, "p") ? S_IFIFO : 0;
}

static unsigned number(const cJSON *n, unsigned fallback)
{
	return cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble <= 4294967295.0 ?
	       (unsigned)n->valuedouble : fallback;
}

/* Makes the directories above path (all but its last component), 0755; a failure shows when
 * the node is made. */
static void make_parents(const char *path)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir_p(dir, 0755, 0755);
	}
}

/* One device: what was there goes (runc starts from an empty /dev), then the node, its
 * mode (not the umask's) and owner. */
static int make_device(const cJSON *d, char *why, size_t cap)
{
	const cJSON *path = GET(d, "path"), *type = GET(d, "type");
	mode_t kind = cJSON_IsString(type) ? node_type(type->valuestring) : 0;
	mode_t mode = number(GET(d, "fileMode"), DEVICE_MODE_DEFAULT) & 07777;
	dev_t dev = makedev(number(GET(d, "major"), 0), number(GET(d, "minor"), 0));
	const char *p = cJSON_IsString(path) ? path->valuestring : "";

	if (p[0] != '/' || !kind) {
		snprintf(why, cap, "linux.devices %s: not an absolute path and a type c, b, u or p",
			 p);
		return -EINVAL;
	}
	make_parents(p);
	if ((unlink(p) < 0 && errno != ENOENT) ||
	    mknod(p, kind | mode, kind == S_IFIFO ? 0 : dev) < 0 || chmod(p, mode) < 0 ||
	    chown(p, number(GET(d, "uid"), 0), number(GET(d, "gid"), 0)) < 0) {
		snprintf(why, cap, "linux.devices %s: %s", p, strerror(errno));
		return -errno;
	}
	return 0;
}

int devices_create(const cJSON *devices, char *why, size_t cap)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, devices) {
		int err = make_device(d, why, cap);
		if (err)
			return err;
	}
	return 0;
}
