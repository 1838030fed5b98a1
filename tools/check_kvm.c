/* `hvm-run check`'s KVM items: the device and who may use it, its API, what hvm needs of it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/kvm.h"
#include "run_check.h"

#define KVM_DEVICE "/dev/kvm"

static const char no_kvm_fix[] =
	"load kvm_intel or kvm_amd (in a VM: enable nested virtualisation); without KVM run hvm "
	"in the test host: make kvmhost CMD='...' (docs/testhost.md)";

/*
 * The name of group gid from /etc/group, or NULL. Not getgrgid: hvm-run is static, and
 * glibc's NSS would need its shared libraries at run time.
 */
static const char *group_name(unsigned gid, char *buf, size_t cap)
{
	FILE *f = fopen("/etc/group", "re");
	const char *found = NULL;
	char line[1024];
	unsigned g;

	while (f && !found && fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, ":");
		if (sscanf(line + n, ":%*[^:]:%u:", &g) == 1 && g == gid && n < cap) {
			snprintf(buf, cap, "%.*s", (int)n, line);
			found = buf;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* "crw-rw---- uid 0, group kvm" */
static void describe(const struct stat *st, char *out, size_t cap)
{
	static const char rwx[] = "rwxrwxrwx";
	char mode[11] = "c", name[64];
	const char *g = group_name(st->st_gid, name, sizeof(name));

	for (int i = 0; i < 9; i++)
		mode[1 + i] = st->st_mode & (0400 >> i) ? rwx[i] : '-';
	mode[10] = '\0';
	if (g)
		snprintf(out, cap, "%s uid %u, group %s", mode, (unsigned)st->st_uid, g);
	else
		snprintf(out, cap, "%s uid %u, gid %u", mode, (unsigned)st->st_uid, (unsigned)st->st_gid);
}

/* /dev/kvm exists, is a character device, and this user may open it (else: the group to join). */
void check_kvm_device(struct check_ctx *c, struct check_item *it)
{
	char who[96], name[64];
	const char *g;
	struct stat st;

	if (stat(KVM_DEVICE, &st) < 0) {
		check_set(it, CHECK_FAIL, KVM_DEVICE ": %s", strerror(errno));
		check_fix(it, "%s", no_kvm_fix);
		return;
	}
	describe(&st, who, sizeof(who));
	if (!S_ISCHR(st.st_mode)) {
		check_set(it, CHECK_FAIL, KVM_DEVICE ": not a character device");
		check_fix(it, "%s", no_kvm_fix);
		return;
	}
	c->kvm_fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (c->kvm_fd < 0) {
		g = group_name(st.st_gid, name, sizeof(name));
		check_set(it, CHECK_FAIL, KVM_DEVICE " (%s): %s for uid %u", who, strerror(errno),
			  (unsigned)geteuid());
		check_fix(it, "add the user to group %s (usermod -aG %s USER, then log in again)",
			  g ? g : "kvm", g ? g : "kvm");
		return;
	}
	check_set(it, CHECK_OK, KVM_DEVICE " (%s): usable by uid %u", who, (unsigned)geteuid());
}

/* The device answers KVM_GET_API_VERSION with the version hvm speaks. */
void check_kvm_api(struct check_ctx *c, struct check_item *it)
{
	int v;

	if (c->kvm_fd < 0) {
		check_set(it, CHECK_FAIL, "not asked: " KVM_DEVICE " is not usable");
		check_fix(it, "see kvm.device");
		return;
	}
	v = ioctl(c->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v < 0) {
		check_set(it, CHECK_FAIL, KVM_DEVICE ": not a KVM device (KVM_GET_API_VERSION: %s)",
			  strerror(errno));
		check_fix(it, "%s", no_kvm_fix);
	} else if (v != KVM_API_VERSION) {
		check_set(it, CHECK_FAIL, "KVM API version %d, hvm needs %d", v, KVM_API_VERSION);
		check_fix(it, "use a Linux kernel whose KVM speaks API %d", KVM_API_VERSION);
	} else {
		c->kvm_api = 1;
		check_set(it, CHECK_OK, "KVM API version %d", v);
	}
}

/* Every capability kvm_open requires; sets c->kvm_ok when all are there. */
void check_kvm_caps(struct check_ctx *c, struct check_item *it)
{
	char missing[200] = "";
	const char *name;
	int cap, vcpus;
	size_t i;

	if (!c->kvm_api) {
		check_set(it, CHECK_FAIL, "not asked: no KVM API");
		check_fix(it, "see kvm.device and kvm.api");
		return;
	}
	for (i = 0; (name = kvm_required_cap(i, &cap)); i++)
		if (ioctl(c->kvm_fd, KVM_CHECK_EXTENSION, cap) <= 0)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), " %s",
				 name);
	if (missing[0]) {
		check_set(it, CHECK_FAIL, "missing:%s", missing);
		check_fix(it, "a newer host kernel, or bare-metal KVM");
		return;
	}
	vcpus = ioctl(c->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	c->kvm_ok = 1;
	check_set(it, CHECK_OK, "all %zu hvm needs (USER_MEMORY, IRQCHIP, PIT2, ...); %d vCPUs at most",
		  i, vcpus);
}

/* Nested PVM (/sys/module/kvm_pvm): works, slowly; a warning that says so. */
void check_kvm_pvm(struct check_ctx *c, struct check_item *it)
{
	(void)c;
	if (!kvm_host_is_pvm()) {
		check_set(it, CHECK_OK, "no: /sys/module/kvm_pvm is absent");
		return;
	}
	check_set(it, CHECK_WARN, "yes (/sys/module/kvm_pvm): guest kernel code is emulated, "
		  "~1000x slower; hvm adds its PVM workarounds");
	check_fix(it, "nothing to fix: expect boots of seconds; bare-metal KVM is faster "
		  "(docs/platform.md)");
}

/* Whether a Debian kernel the test host boots is installed. */
static int have_boot_kernel(void)
{
	DIR *d = opendir("/boot");
	struct dirent *e;
	int found = 0;

	while (d && !found && (e = readdir(d)))
		found = strncmp(e->d_name, "vmlinuz-", 8) == 0;
	if (d)
		closedir(d);
	return found;
}

/* Without a working KVM: whether make kvmhost can run hvm in QEMU here. */
void check_testhost(struct check_ctx *c, struct check_item *it)
{
	int qemu = check_on_path("qemu-system-x86_64"), kernel = have_boot_kernel();

	if (c->kvm_ok) {
		check_set(it, CHECK_OK, "not needed: " KVM_DEVICE " works");
		return;
	}
	if (qemu && kernel) {
		check_set(it, CHECK_OK, "available: make kvmhost CMD='...' runs hvm inside QEMU");
		return;
	}
	check_set(it, CHECK_WARN, "unavailable:%s%s", qemu ? "" : " no qemu-system-x86_64",
		  kernel ? "" : " no /boot/vmlinuz-*");
	check_fix(it, "sh mk/deps.sh kvmhost (docs/testhost.md)");
}
