#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "jail.h"
#include "err.h"

#define KVM_CPUID_MAX_ENTRIES 256

static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

static int kvm_check_caps(struct kvm *kvm, const char *path, struct err *e)
{
	for (size_t i = 0; i < sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]); i++) {
		if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
			err_set(e, -ENOTSUP, "%s: %s not supported by this KVM", path,
				kvm_required_caps[i].name);
			return -ENOTSUP;
		}
	}
	kvm->max_vcpus = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = 4;	/* KVM's documented floor when neither cap answers */
	return 0;
}

static int kvm_get_cpuid(struct kvm *kvm, const char *path, struct err *e)
{
	size_t size = sizeof(*kvm->cpuid) + KVM_CPUID_MAX_ENTRIES * sizeof(kvm->cpuid->entries[0]);

	kvm->cpuid = calloc(1, size);
	if (!kvm->cpuid)
		return -ENOMEM;
	kvm->cpuid->nent = KVM_CPUID_MAX_ENTRIES;
	if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, kvm->cpuid) < 0) {
		int err = -errno;
		err_set(e, err, "%s: KVM_GET_SUPPORTED_CPUID: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

int kvm_open(struct kvm *kvm, const char *path, struct err *e)
{
	int err, version;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = jail_open(path, O_RDWR | O_CLOEXEC);	/* opened already when jailed */
	if (kvm->fd < 0) {
		err = -errno;
		err_set(e, err, "%s: %s", path, strerror(errno));
		return err;
	}
	version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (version < 0) {
		err = -errno;
		err_set(e, err, "%s: not a KVM device (KVM_GET_API_VERSION: %s)", path,
			strerror(errno));
		goto fail;
	}
	if (version != KVM_API_VERSION) {
		err_set(e, -ENOTSUP, "%s: KVM API version %d, hvm needs %d", path, version,
			KVM_API_VERSION);
		err = -ENOTSUP;
		goto fail;
	}
	err = kvm_check_caps(kvm, path, e);
	if (err)
		goto fail;
	kvm->vcpu_mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size <= 0) {
		err = -errno;
		err_set(e, err, "%s: KVM_GET_VCPU_MMAP_SIZE: %s", path, strerror(errno));
		goto fail;
	}
	err = kvm_get_cpuid(kvm, path, e);
	if (err)
		goto fail;
	return 0;
fail:
	kvm_close(kvm);
	return err;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->fd >= 0)
		close(kvm->fd);
	free(kvm->cpuid);
	kvm->cpuid = NULL;
	kvm->fd = -1;
}

const char *kvm_required_cap(size_t i, int *cap)
{
	if (i >= sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]))
		return NULL;
	*cap = kvm_required_caps[i].cap;
	return kvm_required_caps[i].name;
}

int kvm_host_is_pvm(void)
{
	/* Asked once: a jailed process no longer sees /sys (hvm_jail_enter asks before). Threads
	 * racing here store the same answer. */
	static int pvm = -1;

	if (pvm < 0)
		pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	return pvm;
}
