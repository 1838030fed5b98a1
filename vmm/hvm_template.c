/*
 * Templates (warm starts, docs/snapshot.md): a booted VM saved at agent-ready, before any
 * command ran in it, under $XDG_CACHE_HOME/hvm/templates/KEY, where KEY digests everything
 * the booted guest depends on. A run whose key has a template restores it and sends its
 * command to the agent there; one without boots, and saves the template on the way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/mkdir_p.h"
#include "../image/sha256.h"
#include "../core/clock.h"
#include "hvm_internal.h"
#include "../core/log.h"

#define TEMPLATE_FORMAT 2	/* bump when what the key covers changes */
#define TEMPLATE_STAGE_PREFIX ".jail-"	/* a jailed run's template, for the next run to adopt */
#define TEMPLATE_STAGE_MAX_AGE_S 3600
#define TEMPLATE_SEEN_PREFIX ".seen-"	/* HVM_TEMPLATES_REPEATED: a key booted once */
#define TEMPLATE_SEEN_MAX_AGE_S (7 * 24 * 3600)

/* What the file at path is: any change (a rebuilt kernel, image or hvm) changes the key. */
static void key_file(struct sha256 *h, const char *what, const char *path)
{
	struct stat st;
	uint64_t rec[5] = { 0 };

	if (path && stat(path, &st) == 0) {
		rec[0] = st.st_dev;
		rec[1] = st.st_ino;
		rec[2] = (uint64_t)st.st_size;
		rec[3] = (uint64_t)st.st_mtim.tv_sec;
		rec[4] = (uint64_t)st.st_mtim.tv_nsec;
	}
	sha256_update(h, what, strlen(what) + 1);
	sha256_update(h, path ? path : "", path ? strlen(path) + 1 : 1);
	sha256_update(h, rec, sizeof(rec));
}

/* The key of the booted guest this run would get: kernel, initramfs, the agent's boot
 * request, command line, vCPUs, memory, disks, network kind, this hvm binary. */
static void template_key(struct hvm *vm, char out[SHA256_HEX])
{
	const struct machine_config *c = &vm->mcfg;
	uint64_t nums[] = { TEMPLATE_FORMAT, SNAP_VERSION, c->cpus, c->mem_mib, c->ndisks,
			    (uint64_t)kvm_host_is_pvm() };
	struct sha256 h;

	sha256_init(&h);
	sha256_update(&h, HVM_VERSION, sizeof(HVM_VERSION));
	sha256_update(&h, nums, sizeof(nums));
	key_file(&h, "hvm", "/proc/self/exe");
	key_file(&h, "kernel", c->kernel_path);
	key_file(&h, "initrd", c->initrd_path);
	sha256_update(&h, c->initrd_extra, c->initrd_extra_len);	/* the boot request */
	sha256_update(&h, c->cmdline_extra ? c->cmdline_extra : "", c->cmdline_extra ?
		      strlen(c->cmdline_extra) + 1 : 1);
	for (unsigned i = 0; i < c->ndisks; i++) {
		key_file(&h, c->disks[i].read_only ? "disk ro" : "disk rw", c->disks[i].path);
		sha256_update(&h, c->disks[i].serial, strlen(c->disks[i].serial) + 1);
	}
	/* The network's kind and TAP; its addresses are in the boot request. A MAC the run sets
	 * is part of the guest; a random one is not: a restored guest keeps its template's. */
	uint64_t net[] = { (uint64_t)vm->net.mode, (uint64_t)vm->cfg.net.has_mac };
	sha256_update(&h, net, sizeof(net));
	sha256_update(&h, vm->cfg.net.tap_name, sizeof(vm->cfg.net.tap_name));
	if (vm->cfg.net.has_mac)
		sha256_update(&h, vm->cfg.net.mac, sizeof(vm->cfg.net.mac));
	sha256_final_hex(&h, out);
}

static int templates_dir(char *out, size_t cap)
{
	char cache[PATH_MAX];
	int err = image_cache_dir(cache, sizeof(cache));

	if (!err && snprintf(out, cap, "%s/templates", cache) >= (int)cap)
		err = -ENAMETOOLONG;
	return err;
}

/* Removes a template's files (or a half-made one's) from its directory dirfd. */
static void template_empty(int dirfd)
{
	static const char *const files[] = { "state", "memory", ".state.tmp", ".memory.tmp" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlinkat(dirfd, files[i], 0);
}

/* Removes a template directory (or a half-made one): its files, then itself. */
static void template_remove(int parentfd, const char *name)
{
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		template_empty(fd);
		close(fd);
	}
	unlinkat(parentfd, name, AT_REMOVEDIR);
}

struct template_entry {
	char name[SHA256_HEX];
	uint64_t bytes;
	int64_t mtime;
};

static uint64_t template_bytes(int parentfd, const char *name, int64_t *mtime)
{
	struct stat st;
	uint64_t n = 0;
	char path[SHA256_HEX + 16];

	*mtime = 0;
	if (fstatat(parentfd, name, &st, 0) == 0)
		*mtime = st.st_mtim.tv_sec;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", name, i ? "memory" : "state");
		if (fstatat(parentfd, path, &st, 0) == 0)
			n += (uint64_t)st.st_blocks * 512;	/* sparse: what the disk holds */
	}
	return n;
}

/*
 * A half-made template (".tmp-KEY16-PID-RAND") whose VMM is gone: killed while it wrote it.
 * Only ours to judge in our PID namespace, which is the one templates are made in (not jailed).
 */
static int template_orphan(const char *name)
{
	const char *pid = name + 5 + 16 + 1;
	char *end;
	long v;

	if (strncmp(name, ".tmp-", 5) || strlen(name) < 5 + 16 + 1 + 2 || pid[-1] != '-')
		return 0;
	v = strtol(pid, &end, 10);
	return end != pid && *end == '-' && v > 0 && kill((pid_t)v, 0) < 0 && errno == ESRCH;
}

/*
 * A jailed VMM cannot rename into the templates directory (ours, 0700, outside its root), so
 * it stages its template in ".jail-KEY16-RAND", a directory made for it before the jail and
 * owned by the jail's user, and the next run of the key adopts it. One not adopted within
 * TEMPLATE_STAGE_MAX_AGE_S is dropped: its VMM failed, or nobody ran the key again.
 * template_stale: name starts with prefix (a stage, a .seen mark) and is older than max_age_s.
 */
static int template_stale(int parentfd, const char *name, const char *prefix, int64_t max_age_s)
{
	struct stat st;

	return strncmp(name, prefix, strlen(prefix)) == 0 &&
	       fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       st.st_mtim.tv_sec + max_age_s < (int64_t)(clock_now_us() / 1000000);
}

/*
 * A complete stage, made ours: its two files regular, single-linked (the jail's user made
 * them and could have left a link to anything instead) and given to our uid, so that no
 * jail's user can change them later. 0, or -1 when it is not a complete stage.
 */
static int template_stage_claim(int parentfd, const char *name)
{
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), ok = fd >= 0;
	static const char *const files[] = { "state", "memory" };
	struct stat st;

	for (size_t i = 0; ok && i < 2; i++)
		ok = fstatat(fd, files[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		     st.st_nlink == 1 &&
		     fchownat(fd, files[i], geteuid(), getegid(), AT_SYMLINK_NOFOLLOW) == 0 &&
		     fchmodat(fd, files[i], 0600, 0) == 0;
	ok = ok && fchown(fd, geteuid(), getegid()) == 0 && fchmod(fd, 0700) == 0;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* Publishes a complete stage of this key, if one exists, under the key's own name. */
static void template_adopt(struct hvm *vm, int parentfd)
{
	char prefix[sizeof(TEMPLATE_STAGE_PREFIX) + 16 + 1];
	int dupfd = dup(parentfd);
	DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	struct dirent *de;

	snprintf(prefix, sizeof(prefix), "%s%.16s-", TEMPLATE_STAGE_PREFIX, vm->template_key);
	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		    template_stage_claim(parentfd, de->d_name) == 0 &&
		    renameat(parentfd, de->d_name, parentfd, vm->template_key) == 0) {
			log_info("template %s: adopted from a jailed run", vm->template_key);
			break;
		}
	if (d)
		closedir(d);
	else if (dupfd >= 0)
		close(dupfd);
}

/*
 * HVM_TEMPLATES_REPEATED: 1 if the key was booted before (its ".seen-KEY" mark is taken),
 * else 0 and the key is marked for next time. Marks older than TEMPLATE_SEEN_MAX_AGE_S go.
 */
static int template_seen(int parentfd, const char *key)
{
	char mark[sizeof(TEMPLATE_SEEN_PREFIX) + SHA256_HEX];
	int fd;

	snprintf(mark, sizeof(mark), "%s%s", TEMPLATE_SEEN_PREFIX, key);
	if (unlinkat(parentfd, mark, 0) == 0)
		return 1;
	fd = openat(parentfd, mark, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	return 0;
}


/* Keeps the templates within HVM_TEMPLATES_MAX_MIB by removing the least recently used. */
static void templates_evict(int parentfd)
{
	struct template_entry e[HVM_TEMPLATES_MAX];
	int n = 0, dupfd = dup(parentfd);
	DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	struct dirent *de;
	uint64_t total = 0;

	while (d && (de = readdir(d)) && n < HVM_TEMPLATES_MAX) {
		if (template_orphan(de->d_name) || template_stale(parentfd, de->d_name,
				TEMPLATE_STAGE_PREFIX, TEMPLATE_STAGE_MAX_AGE_S))
			template_remove(parentfd, de->d_name);
		else if (template_stale(parentfd, de->d_name, TEMPLATE_SEEN_PREFIX,
					TEMPLATE_SEEN_MAX_AGE_S))
			unlinkat(parentfd, de->d_name, 0);
		if (strlen(de->d_name) != SHA256_HEX - 1)
			continue;	/* not a template (".", "..", a half-made ".tmp-...") */
		memcpy(e[n].name, de->d_name, SHA256_HEX);
		e[n].bytes = template_bytes(parentfd, de->d_name, &e[n].mtime);
		total += e[n++].bytes;
	}
	if (d)
		closedir(d);
	else if (dupfd >= 0)
		close(dupfd);
	while (total > (uint64_t)HVM_TEMPLATES_MAX_MIB << 20 && n > 0) {
		int oldest = 0;
		for (int i = 1; i < n; i++)
			if (e[i].mtime < e[oldest].mtime)
				oldest = i;
		log_info("template %s: removed (templates over %d MiB)", e[oldest].name,
			 HVM_TEMPLATES_MAX_MIB);
		template_remove(parentfd, e[oldest].name);
		total -= e[oldest].bytes;
		e[oldest] = e[--n];
	}
}

/* A template of this key exists: plan the run as its restore. 0, or -errno (why in e) to
 * boot. */
static int template_use(struct hvm *vm, const char *dir, struct err *e)
{
	int err = snap_read(dir, &vm->snap, &vm->snap_mem_fd, e);

	vm->metrics.snapshot_read_us = clock_now_us();
	vm->cold_mcfg = vm->mcfg;	/* for hvm_template_fallback */
	snprintf(vm->snap_dir, sizeof(vm->snap_dir), "%s", dir);
	if (!err)
		err = machine_config_from_snapshot(&vm->snap, dir, &vm->mcfg, e);
	if (err) {
		hvm_restore_release(vm);
		vm->mcfg = vm->cold_mcfg;
		return err;
	}
	vm->restored = 1;
	vm->metrics.start = "template";
	utimensat(AT_FDCWD, dir, NULL, 0);	/* recently used: evicted last */
	return 0;
}

/* No template yet: a temporary directory to write one into at agent-ready. */
static void template_begin(struct hvm *vm, int parentfd)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)clock_now_us();
	templates_evict(parentfd);
	if (vm->cfg.jail)
		snprintf(vm->template_tmp, sizeof(vm->template_tmp), "%s%.16s-%08x",
			 TEMPLATE_STAGE_PREFIX, vm->template_key, r);
	else
		snprintf(vm->template_tmp, sizeof(vm->template_tmp), ".tmp-%.16s-%d-%08x",
			 vm->template_key, (int)getpid(), r);
	if (mkdirat(parentfd, vm->template_tmp, 0700) < 0 ||
	    (vm->cfg.jail && fchownat(parentfd, vm->template_tmp, vm->cfg.jail_uid,
				      vm->cfg.jail_gid, AT_SYMLINK_NOFOLLOW) < 0) ||
	    (vm->template_dirfd = openat(parentfd, vm->template_tmp,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_warn("templates: %s: %s; no template saved", vm->template_tmp, strerror(errno));
		unlinkat(parentfd, vm->template_tmp, AT_REMOVEDIR);
		close(parentfd);
		return;
	}
	if (vm->cfg.jail) {	/* staged: the next run of the key adopts it */
		close(parentfd);
		parentfd = -1;
	}
	vm->template_parentfd = parentfd;
}

int hvm_template_eligible(const struct hvm *vm)
{
	/*
	 * Never with a writable volume: the template would hold the guest's view of it from
	 * before the command wrote it (and each run would change the key). Nor with a directory
	 * volume: its 9p connection and server process cannot be part of a snapshot. Nor with
	 * a console: whoever asks for the kernel's log wants to see it boot.
	 */
	if (!vm->cfg.templates || vm->cfg.restore || vm->cfg.console_fd >= 0)
		return 0;
	for (int i = 0; i < vm->cfg.nvolumes; i++)
		if (!vm->cfg.volumes[i].read_only || vm->cfg.volumes[i].port)
			return 0;
	return 1;
}

int hvm_template_prepare(struct hvm *vm)
{
	char dir[PATH_MAX - SHA256_HEX - 1], path[PATH_MAX];
	struct err why;
	int parentfd;

	vm->metrics.start = "cold";
	if (!hvm_template_eligible(vm) || templates_dir(dir, sizeof(dir)))
		return 0;
	template_key(vm, vm->template_key);
	snprintf(path, sizeof(path), "%s/%s", dir, vm->template_key);
	mkdir_p(dir, 0700, 0700);	/* a failure shows at the open */
	parentfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parentfd < 0) {
		log_warn("templates: %s: %s; no template saved", dir, strerror(errno));
		return 0;
	}
	if (faccessat(parentfd, vm->template_key, F_OK, 0) < 0)
		template_adopt(vm, parentfd);
	if (faccessat(parentfd, vm->template_key, F_OK, 0) == 0) {
		err_clear(&why);
		if (template_use(vm, path, &why) == 0) {
			close(parentfd);
			return 0;
		}
		log_warn("template %s: unusable (%s); removed, booting cold", vm->template_key,
			 why.msg);
	}
	template_remove(parentfd, vm->template_key);	/* an unusable one, if any */
	if (vm->cfg.templates == HVM_TEMPLATES_REPEATED && !template_seen(parentfd, vm->template_key)) {
		close(parentfd);	/* a first boot: no snapshot for what may never recur */
		return 0;
	}
	template_begin(vm, parentfd);
	return 0;
}

int hvm_template_fallback(struct hvm *vm, const struct err *why, struct err *e)
{
	char dir[PATH_MAX];
	int parentfd;

	log_warn("template %s: failed to restore (%s); removed, booting cold", vm->template_key,
		 err_is_set(why) ? why->msg : "no reason given");
	if (templates_dir(dir, sizeof(dir)) == 0 &&
	    (parentfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		template_remove(parentfd, vm->template_key);
		close(parentfd);
	}
	hvm_restore_release(vm);
	vm->metrics.start = "cold";
	vm->mcfg = vm->cold_mcfg;
	return machine_create(&vm->machine, &vm->mcfg, e);
}

void hvm_template_save(struct hvm *vm)
{
	char name[PATH_MAX];
	int err;

	snprintf(name, sizeof(name), "template %s", vm->template_key);
	err = hvm_snapshot_now(vm, vm->template_dirfd, name, 0, NULL);	/* said on stderr */
	if (vm->template_parentfd < 0) {	/* jailed: staged, or emptied for the next run */
		if (err)
			template_empty(vm->template_dirfd);
		else
			vm->metrics.template_saved_us = clock_now_us();
		close(vm->template_dirfd);
		vm->template_dirfd = -1;
		return;
	}
	close(vm->template_dirfd);
	vm->template_dirfd = -1;
	/* Complete: the directory gets its name at once. Another run may have been first. */
	if (!err && renameat(vm->template_parentfd, vm->template_tmp, vm->template_parentfd,
			     vm->template_key) == 0)
		vm->metrics.template_saved_us = clock_now_us();
	else
		template_remove(vm->template_parentfd, vm->template_tmp);
	close(vm->template_parentfd);
	vm->template_parentfd = -1;
}

void hvm_template_abandon(struct hvm *vm)
{
	if (vm->template_dirfd >= 0) {
		if (vm->template_parentfd < 0)
			template_empty(vm->template_dirfd);	/* the directory: stale later */
		close(vm->template_dirfd);
		vm->template_dirfd = -1;
		if (vm->template_parentfd >= 0)
			template_remove(vm->template_parentfd, vm->template_tmp);
	}
	if (vm->template_parentfd >= 0)
		close(vm->template_parentfd);
	vm->template_parentfd = -1;
}
