/* SPDX-License-Identifier: MIT */
/*
 * Kernel VFIO transport: a PCI function bound to vfio-pci, named by its
 * address, "DDDD:BB:DD.F" or "BB:DD.F" (domain 0000).
 *
 * Two IOMMU back-ends give the device its DMA address space:
 *
 *   iommufd     /dev/vfio/devices/vfioN (the vfio cdev, Linux 6.6+) bound to
 *               /dev/iommu, attached to an IOAS of its own
 *   vfio-type1  the container/group API: /dev/vfio/vfio + /dev/vfio/<group>
 *
 * By default iommufd is used when the device has a cdev and /dev/iommu
 * exists, else type1; if iommufd fails, type1 is tried. The environment
 * variable FACET_VFIO_BACKEND=type1|iommufd forces one (read at each open).
 *
 * Each device gets its own container (or IOAS). The common code keeps one
 * IOVA allocator per device, so sharing a container would only couple
 * devices' address spaces and lifetimes; per device, close is just "close
 * the fds". The price: two devices of one IOMMU group cannot both be opened
 * by one process (the group node is exclusive; the second open gets -EBUSY).
 *
 * Before touching /dev the transport reads sysfs, so that each of the usual
 * set-up mistakes gets its own errno and a log line saying what to do.
 * FACET_SYSFS_ROOT and FACET_DEV_ROOT (default "/sys" and "/dev", read once)
 * move both trees, for tests.
 *
 * After open every field of struct kv_dev is constant except irqs_on
 * (atomic), and the kernel serializes ioctls on one fd, so the ops take no
 * lock.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "core_private.h"

/*
 * ---- iommufd and vfio cdev ABI --------------------------------------------
 * Debian bookworm's uapi headers (Linux 6.1) have neither <linux/iommufd.h>
 * (6.2) nor the vfio cdev ioctls (6.6), yet a binary built there may well
 * run on a newer kernel. So the few structures and ioctl numbers used here
 * are declared locally, from the documented ABI (include/uapi/linux/
 * iommufd.h and vfio.h), under kv_ names that cannot clash with the system
 * headers; where those headers do have them, the two are checked to agree.
 * Each structure is its first version: the kernel reads the size from the
 * first field, so they stay valid as later kernels extend them.
 */
#define KV_IOMMUFD_TYPE			 ';'
#define KV_IOMMUFD_CMD_IOAS_ALLOC	 0x81
#define KV_IOMMUFD_CMD_IOAS_RANGES	 0x84
#define KV_IOMMUFD_CMD_IOAS_MAP		 0x85
#define KV_IOMMUFD_CMD_IOAS_UNMAP	 0x86
#define KV_IOMMU_IOAS_ALLOC		 _IO(KV_IOMMUFD_TYPE, KV_IOMMUFD_CMD_IOAS_ALLOC)
#define KV_IOMMU_IOAS_IOVA_RANGES	 _IO(KV_IOMMUFD_TYPE, KV_IOMMUFD_CMD_IOAS_RANGES)
#define KV_IOMMU_IOAS_MAP		 _IO(KV_IOMMUFD_TYPE, KV_IOMMUFD_CMD_IOAS_MAP)
#define KV_IOMMU_IOAS_UNMAP		 _IO(KV_IOMMUFD_TYPE, KV_IOMMUFD_CMD_IOAS_UNMAP)
#define KV_IOAS_MAP_FIXED_IOVA		 (1u << 0)
#define KV_IOAS_MAP_WRITEABLE		 (1u << 1)
#define KV_IOAS_MAP_READABLE		 (1u << 2)
#define KV_VFIO_DEVICE_BIND_IOMMUFD	 _IO(VFIO_TYPE, VFIO_BASE + 18)
#define KV_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

struct kv_iommu_ioas_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t out_ioas_id;
};

struct kv_iommu_iova_range {
	uint64_t start;
	uint64_t last; /* inclusive */
};

struct kv_iommu_ioas_iova_ranges {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;
	uint32_t reserved;
	uint64_t allowed_iovas; /* user pointer to struct kv_iommu_iova_range[] */
	uint64_t out_iova_alignment;
};

struct kv_iommu_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova;
};

struct kv_iommu_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;
};

struct kv_vfio_device_bind_iommufd {
	uint32_t argsz;
	uint32_t flags;
	int32_t iommufd;
	uint32_t out_devid;
};

struct kv_vfio_device_attach_iommufd_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pt_id;
};

#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
_Static_assert(KV_IOMMU_IOAS_ALLOC == IOMMU_IOAS_ALLOC, "iommufd ABI");
_Static_assert(KV_IOMMU_IOAS_IOVA_RANGES == IOMMU_IOAS_IOVA_RANGES, "iommufd ABI");
_Static_assert(KV_IOMMU_IOAS_MAP == IOMMU_IOAS_MAP, "iommufd ABI");
_Static_assert(KV_IOMMU_IOAS_UNMAP == IOMMU_IOAS_UNMAP, "iommufd ABI");
_Static_assert(offsetof(struct iommu_ioas_map, iova) == offsetof(struct kv_iommu_ioas_map, iova),
	       "iommufd ABI");
_Static_assert(offsetof(struct iommu_ioas_iova_ranges, out_iova_alignment) ==
		       offsetof(struct kv_iommu_ioas_iova_ranges, out_iova_alignment),
	       "iommufd ABI");
#endif
#endif
#ifdef VFIO_DEVICE_BIND_IOMMUFD
_Static_assert(KV_VFIO_DEVICE_BIND_IOMMUFD == VFIO_DEVICE_BIND_IOMMUFD, "vfio cdev ABI");
_Static_assert(KV_VFIO_DEVICE_ATTACH_IOMMUFD_PT == VFIO_DEVICE_ATTACH_IOMMUFD_PT, "vfio cdev ABI");
_Static_assert(offsetof(struct vfio_device_bind_iommufd, out_devid) ==
		       offsetof(struct kv_vfio_device_bind_iommufd, out_devid),
	       "vfio cdev ABI");
#endif

/* ---- state ---------------------------------------------------------------- */

enum kv_backend {
	KV_AUTO,
	KV_TYPE1,
	KV_IOMMUFD,
};

struct kv_region {
	uint64_t offset; /* of the region within the device fd */
	uint64_t size;	 /* 0: absent */
	uint32_t flags;	 /* VFIO_REGION_INFO_FLAG_* */
};

struct kv_dev {
	char addr[24];	    /* canonical "dddd:bb:dd.f", as sysfs and the kernel spell it */
	unsigned int group; /* IOMMU group number */
	enum kv_backend backend;
	int device_fd;
	int iommu_fd; /* type1: the container; iommufd: /dev/iommu */
	int group_fd; /* type1 only */
	uint32_t ioas_id;
	unsigned int num_regions;
	unsigned int num_irqs;
	struct kv_region regions[FACET_CORE_NUM_REGIONS];
	atomic_uint irqs_on; /* bit per interrupt type with vectors routed */
};

/* A usable IOVA range, [start, last]. */
struct kv_range {
	uint64_t start;
	uint64_t last;
};

/* MSI-X allows 2048 vectors per function; anything larger is a caller bug. */
#define KV_MAX_VECTORS 2048

static pthread_once_t kv_roots_once = PTHREAD_ONCE_INIT;
static char kv_sys_root[PATH_MAX / 2];
static char kv_dev_root[PATH_MAX / 2];

static void kv_root_from_env(char *root, size_t size, const char *var, const char *def)
{
	const char *val = getenv(var);

	if (!val || !*val)
		val = def;
	if ((size_t)snprintf(root, size, "%s", val) >= size) {
		CORE_ERR("%s is too long, using %s", var, def);
		snprintf(root, size, "%s", def);
	}
}

static void kv_roots_init(void)
{
	kv_root_from_env(kv_sys_root, sizeof(kv_sys_root), "FACET_SYSFS_ROOT", "/sys");
	kv_root_from_env(kv_dev_root, sizeof(kv_dev_root), "FACET_DEV_ROOT", "/dev");
}

static int kv_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int kv_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		CORE_ERR("path too long: %s...", buf);
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * An ioctl or I/O on an open device failed with @err: log what, and on
 * ENODEV (the device was hot-removed) mark @dev dead. @dev is NULL during
 * open, when there is nothing to mark yet.
 */
static int kv_fail(struct facet_core_dev *dev, const struct kv_dev *kv, int err, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

static int kv_fail(struct facet_core_dev *dev, const struct kv_dev *kv, int err, const char *fmt,
		   ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err == ENODEV && dev) {
		core_mark_dead(dev, what);
		return -ENODEV;
	}
	CORE_ERR("%s: %s: %s", kv->addr, what, strerror(err));
	return -err;
}

static struct kv_dev *kv_of(struct facet_core_dev *dev)
{
	return dev->transport_priv;
}

static bool kv_dead(struct facet_core_dev *dev)
{
	return atomic_load(&dev->dead);
}

/* ---- naming --------------------------------------------------------------- */

static int kv_hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Parse @min to @max hex digits at @s; returns how many, or -1. */
static int kv_parse_hex(const char *s, int min, int max, unsigned long *val)
{
	int i;

	*val = 0;
	for (i = 0; i < max && isxdigit((unsigned char)s[i]); i++)
		*val = *val << 4 | (unsigned long)kv_hexval(s[i]);
	return i >= min ? i : -1;
}

/* "DDDD:BB:DD.F" or "BB:DD.F" into the canonical lowercase form, or -EINVAL. */
static int kv_parse_addr(const char *spec, char *out, size_t size)
{
	unsigned long dom = 0, bus, slot, fn;
	const char *p = spec;
	int n;

	if (strchr(spec, ':') != strrchr(spec, ':')) { /* two colons: the domain is given */
		n = kv_parse_hex(p, 4, 8, &dom);
		if (n < 0 || p[n] != ':')
			return -EINVAL;
		p += n + 1;
	}
	if (kv_parse_hex(p, 2, 2, &bus) < 0 || p[2] != ':')
		return -EINVAL;
	p += 3;
	if (kv_parse_hex(p, 2, 2, &slot) < 0 || p[2] != '.' || slot > 0x1f)
		return -EINVAL;
	p += 3;
	if (kv_parse_hex(p, 1, 1, &fn) < 0 || p[1] != '\0' || fn > 7)
		return -EINVAL;
	snprintf(out, size, "%04lx:%02lx:%02lx.%lx", dom, bus, slot, fn);
	return 0;
}

/*
 * A PCI address is made of hex digits, ':' and '.'; other transports use a
 * "scheme:" prefix. Malformed addresses are still claimed, so that open()
 * can say what is wrong with them.
 */
static bool kv_handles(const char *spec)
{
	if (!spec || !*spec)
		return false;
	for (const char *p = spec; *p; p++) {
		if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
			return false;
	}
	return true;
}

/* ---- sysfs ---------------------------------------------------------------- */

/* The last component of symlink @path (a driver or group name). */
static int kv_link_name(const char *path, char *name, size_t size)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	strcpy(name, base);
	return 0;
}

/* Driver a device of the IOMMU group is bound to; "" when none. */
static void kv_member_driver(const struct kv_dev *kv, const char *member, char *drv, size_t size)
{
	char path[PATH_MAX];

	drv[0] = '\0';
	if (kv_path(path, sizeof(path), "%s/kernel/iommu_groups/%u/devices/%s/driver", kv_sys_root,
		    kv->group, member) == 0 &&
	    kv_link_name(path, drv, size) < 0)
		drv[0] = '\0';
}

/*
 * Drivers that leave a group usable by VFIO: the kernel lets a group be
 * viable when each device has no driver or one that declares it manages no
 * DMA of its own (vfio-pci and its variants, pci-stub, pcieport).
 */
static bool kv_driver_harmless(const char *drv)
{
	return !*drv || strstr(drv, "vfio") || !strcmp(drv, "pci-stub") || !strcmp(drv, "pcieport");
}

static void kv_append(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void kv_append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
	if (*len >= size && size > 4)
		strcpy(buf + size - 4, "...");
}

/*
 * List the other devices of the group with their drivers into @buf.
 * Returns how many of them keep the group from being viable, or -errno if
 * the group's directory cannot be read.
 */
static int kv_group_members(const struct kv_dev *kv, char *buf, size_t size)
{
	char path[PATH_MAX], drv[64];
	struct dirent *de;
	size_t len = 0;
	int blockers = 0;
	DIR *dir;

	buf[0] = '\0';
	if (kv_path(path, sizeof(path), "%s/kernel/iommu_groups/%u/devices", kv_sys_root,
		    kv->group))
		return -ENAMETOOLONG;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, kv->addr))
			continue;
		kv_member_driver(kv, de->d_name, drv, sizeof(drv));
		if (!kv_driver_harmless(drv))
			blockers++;
		kv_append(buf, size, &len, "%s%s (%s%s)", len ? ", " : "", de->d_name,
			  *drv ? "bound to " : "no driver", drv);
	}
	closedir(dir);
	if (!len)
		kv_append(buf, size, &len, "none");
	return blockers;
}

static void kv_log_not_viable(const struct kv_dev *kv, const char *members)
{
	CORE_ERR("%s: IOMMU group %u is not viable: every device in it must be bound to vfio-pci "
		 "(or pci-stub, pcieport) or to no driver. Other devices in the group: %s. Unbind "
		 "them or bind them to vfio-pci as well",
		 kv->addr, kv->group, members);
}

static int kv_check_present(const struct kv_dev *kv)
{
	char path[PATH_MAX];
	struct stat st;

	if (kv_path(path, sizeof(path), "%s/bus/pci/devices/%s", kv_sys_root, kv->addr))
		return -ENAMETOOLONG;
	if (stat(path, &st) == 0)
		return 0;
	if (errno == ENOENT) {
		CORE_ERR("%s: no such PCI device (%s does not exist)", kv->addr, path);
		return -ENODEV;
	}
	CORE_ERR("%s: cannot look at %s: %s", kv->addr, path, strerror(errno));
	return -errno;
}

static int kv_check_driver(const struct kv_dev *kv)
{
	char path[PATH_MAX], drv[64] = "";
	int ret;

	if (kv_path(path, sizeof(path), "%s/bus/pci/devices/%s/driver", kv_sys_root, kv->addr))
		return -ENAMETOOLONG;
	ret = kv_link_name(path, drv, sizeof(drv));
	if (ret < 0 && ret != -ENOENT) {
		CORE_ERR("%s: cannot read %s: %s", kv->addr, path, strerror(-ret));
		return ret;
	}
	/* vfio-pci, or a variant driver built on vfio-pci-core (same uAPI). */
	if (strstr(drv, "vfio"))
		return 0;
	if (!*drv) {
		CORE_ERR("%s: not bound to any driver; it must be bound to vfio-pci: modprobe "
			 "vfio-pci; echo vfio-pci > %s/bus/pci/devices/%s/driver_override; echo %s "
			 "> %s/bus/pci/drivers_probe",
			 kv->addr, kv_sys_root, kv->addr, kv->addr, kv_sys_root);
		return -ENODEV;
	}
	CORE_ERR("%s: bound to driver %s, not vfio-pci; to hand it over: modprobe vfio-pci; echo "
		 "vfio-pci > %s/bus/pci/devices/%s/driver_override; echo %s > "
		 "%s/bus/pci/devices/%s/driver/unbind; echo %s > %s/bus/pci/drivers_probe",
		 kv->addr, drv, kv_sys_root, kv->addr, kv->addr, kv_sys_root, kv->addr, kv->addr,
		 kv_sys_root);
	return -ENODEV;
}

static int kv_find_group(struct kv_dev *kv)
{
	char path[PATH_MAX], name[32], *end;
	unsigned long group;
	int ret;

	if (kv_path(path, sizeof(path), "%s/bus/pci/devices/%s/iommu_group", kv_sys_root, kv->addr))
		return -ENAMETOOLONG;
	ret = kv_link_name(path, name, sizeof(name));
	if (ret == -ENOENT) {
		CORE_ERR("%s: no IOMMU group (%s is missing): no IOMMU translates for this device; "
			 "enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on or "
			 "amd_iommu=on",
			 kv->addr, path);
		return -ENXIO;
	}
	if (ret < 0) {
		CORE_ERR("%s: cannot read %s: %s", kv->addr, path, strerror(-ret));
		return ret;
	}
	errno = 0;
	group = strtoul(name, &end, 10);
	if (errno || end == name || *end || group > UINT_MAX) {
		CORE_ERR("%s: %s points to \"%s\", not a group number", kv->addr, path, name);
		return -EINVAL;
	}
	kv->group = (unsigned int)group;
	return 0;
}

/*
 * The kernel's own verdict on viability comes later (type1:
 * VFIO_GROUP_GET_STATUS; iommufd: bind fails with EBUSY); reading sysfs
 * first gives both back-ends the same early, precise answer.
 */
static int kv_check_group_viable(const struct kv_dev *kv)
{
	char members[1024];
	int blockers = kv_group_members(kv, members, sizeof(members));

	if (blockers < 0) {
		CORE_DEBUG("%s: cannot list IOMMU group %u (%s); the kernel will judge it",
			   kv->addr, kv->group, strerror(-blockers));
		return 0;
	}
	if (blockers == 0)
		return 0;
	kv_log_not_viable(kv, members);
	return -EINVAL;
}

static int kv_check_sysfs(struct kv_dev *kv)
{
	int ret = kv_check_present(kv);

	if (ret == 0)
		ret = kv_check_driver(kv);
	if (ret == 0)
		ret = kv_find_group(kv);
	if (ret == 0)
		ret = kv_check_group_viable(kv);
	return ret;
}

static int kv_numa_node(const struct kv_dev *kv)
{
	char path[PATH_MAX], buf[16], *end;
	long node = -1;
	FILE *f;

	if (kv_path(path, sizeof(path), "%s/bus/pci/devices/%s/numa_node", kv_sys_root, kv->addr))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f)) {
		node = strtol(buf, &end, 10);
		if (end == buf || node < -1 || node > INT_MAX)
			node = -1;
	}
	fclose(f);
	return (int)node;
}

/*
 * The vfio cdev name ("vfio3") from <device>/vfio-dev/, or -ENOENT. Linux
 * 6.1 to 6.5 already list the vfio device there, but as a plain sysfs
 * device without a character device: only a "dev" attribute (major:minor)
 * says that /dev/vfio/devices/<name> exists (6.6+, CONFIG_VFIO_DEVICE_CDEV).
 */
static int kv_find_cdev(const struct kv_dev *kv, char *name, size_t size)
{
	char path[PATH_MAX], devattr[PATH_MAX];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *dir;

	if (kv_path(path, sizeof(path), "%s/bus/pci/devices/%s/vfio-dev", kv_sys_root, kv->addr))
		return -ENAMETOOLONG;
	dir = opendir(path);
	if (!dir)
		return -ENOENT;
	while ((de = readdir(dir))) {
		if (!strncmp(de->d_name, "vfio", 4) && isdigit((unsigned char)de->d_name[4]) &&
		    strlen(de->d_name) < size &&
		    kv_path(devattr, sizeof(devattr), "%s/%s/dev", path, de->d_name) == 0 &&
		    access(devattr, F_OK) == 0) {
			strcpy(name, de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(dir);
	return ret;
}

/* ---- /dev nodes ----------------------------------------------------------- */

/* Open a VFIO or iommufd node; @missing says what its absence means. */
static int kv_open_node(const struct kv_dev *kv, const char *path, const char *missing)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	int err = errno;

	if (fd >= 0)
		return fd;
	switch (err) {
	case ENOENT:
		CORE_ERR("%s: %s does not exist: %s", kv->addr, path, missing);
		return -ENODEV;
	case EACCES:
	case EPERM:
		CORE_ERR("%s: permission denied opening %s: run as root, or give this user the "
			 "node (chown USER %s) and enough locked memory for DMA (ulimit -l)",
			 kv->addr, path, path);
		return -err;
	case EBUSY:
		CORE_ERR("%s: %s is busy: another process has it open, or this one opened another "
			 "device of IOMMU group %u (each device gets its own container)",
			 kv->addr, path, kv->group);
		return -EBUSY;
	default:
		CORE_ERR("%s: cannot open %s: %s", kv->addr, path, strerror(err));
		return -err;
	}
}

/* ---- type1 container/group ----------------------------------------------- */

static int kv_type1_check_container(const struct kv_dev *kv, const char *path)
{
	int ret = ioctl(kv->iommu_fd, VFIO_GET_API_VERSION);

	if (ret < 0) {
		CORE_ERR("%s: %s is not a VFIO container (VFIO_GET_API_VERSION: %s)", kv->addr,
			 path, strerror(errno));
		return -ENODEV;
	}
	if (ret != VFIO_API_VERSION) {
		CORE_ERR("%s: %s speaks VFIO API %d, expected %d", kv->addr, path, ret,
			 VFIO_API_VERSION);
		return -ENODEV;
	}
	if (ioctl(kv->iommu_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		CORE_ERR("%s: the kernel offers no type1v2 IOMMU (modprobe vfio_iommu_type1)",
			 kv->addr);
		return -ENXIO;
	}
	return 0;
}

static int kv_type1_join(struct kv_dev *kv, const char *group_path)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char members[1024];

	if (ioctl(kv->group_fd, VFIO_GROUP_GET_STATUS, &st) < 0) {
		CORE_ERR("%s: %s is not a VFIO group (VFIO_GROUP_GET_STATUS: %s)", kv->addr,
			 group_path, strerror(errno));
		return -ENODEV;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		kv_group_members(kv, members, sizeof(members));
		kv_log_not_viable(kv, members);
		return -EINVAL;
	}
	if (ioctl(kv->group_fd, VFIO_GROUP_SET_CONTAINER, &kv->iommu_fd) < 0)
		return kv_fail(NULL, kv, errno, "VFIO_GROUP_SET_CONTAINER (group %u)", kv->group);
	if (ioctl(kv->iommu_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		if (errno == EPERM)
			CORE_ERR(
				"%s: VFIO_SET_IOMMU refused (EPERM): the platform has no interrupt "
				"remapping; enable it, or load vfio_iommu_type1 with "
				"allow_unsafe_interrupts=1 if you accept the risk",
				kv->addr);
		return kv_fail(NULL, kv, errno, "VFIO_SET_IOMMU(TYPE1v2)");
	}
	kv->device_fd = ioctl(kv->group_fd, VFIO_GROUP_GET_DEVICE_FD, kv->addr);
	if (kv->device_fd < 0)
		return kv_fail(NULL, kv, errno, "VFIO_GROUP_GET_DEVICE_FD");
	return 0;
}

static int kv_type1_attach(struct kv_dev *kv)
{
	char container[PATH_MAX], group[PATH_MAX];
	int ret;

	if (kv_path(container, sizeof(container), "%s/vfio/vfio", kv_dev_root) ||
	    kv_path(group, sizeof(group), "%s/vfio/%u", kv_dev_root, kv->group))
		return -ENAMETOOLONG;
	/* Both nodes before any ioctl: a missing or forbidden node is the usual mistake. */
	ret = kv_open_node(kv, container, "vfio module not loaded (modprobe vfio-pci)");
	if (ret < 0)
		return ret;
	kv->iommu_fd = ret;
	ret = kv_open_node(kv, group, "no group node: is the device really bound to vfio-pci?");
	if (ret < 0)
		return ret;
	kv->group_fd = ret;
	ret = kv_type1_check_container(kv, container);
	if (ret == 0)
		ret = kv_type1_join(kv, group);
	if (ret == 0)
		kv->backend = KV_TYPE1;
	return ret;
}

/* ---- iommufd + vfio cdev -------------------------------------------------- */

static int kv_iommufd_bind(struct kv_dev *kv, const char *cdev_path)
{
	struct kv_vfio_device_bind_iommufd bind = { .argsz = sizeof(bind),
						    .iommufd = kv->iommu_fd };
	char members[1024];

	if (ioctl(kv->device_fd, KV_VFIO_DEVICE_BIND_IOMMUFD, &bind) == 0)
		return 0;
	switch (errno) {
	case ENOTTY:
		CORE_ERR("%s: %s is not a vfio device cdev (VFIO_DEVICE_BIND_IOMMUFD: %s)",
			 kv->addr, cdev_path, strerror(errno));
		return -ENODEV;
	case EBUSY:
		kv_group_members(kv, members, sizeof(members));
		CORE_ERR("%s: VFIO_DEVICE_BIND_IOMMUFD: busy: the device is open elsewhere, or a "
			 "driver of another device of IOMMU group %u owns its DMA (group: %s)",
			 kv->addr, kv->group, members);
		return -EBUSY;
	default:
		return kv_fail(NULL, kv, errno, "VFIO_DEVICE_BIND_IOMMUFD");
	}
}

static int kv_iommufd_attach(struct kv_dev *kv, const char *cdev)
{
	struct kv_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct kv_vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	char cdev_path[PATH_MAX], iommu[PATH_MAX];
	int ret;

	if (kv_path(cdev_path, sizeof(cdev_path), "%s/vfio/devices/%s", kv_dev_root, cdev) ||
	    kv_path(iommu, sizeof(iommu), "%s/iommu", kv_dev_root))
		return -ENAMETOOLONG;
	ret = kv_open_node(kv, cdev_path, "the vfio cdev node is missing");
	if (ret < 0)
		return ret;
	kv->device_fd = ret;
	ret = kv_open_node(kv, iommu, "iommufd is not available (modprobe iommufd)");
	if (ret < 0)
		return ret;
	kv->iommu_fd = ret;
	ret = kv_iommufd_bind(kv, cdev_path);
	if (ret < 0)
		return ret;
	if (ioctl(kv->iommu_fd, KV_IOMMU_IOAS_ALLOC, &alloc) < 0)
		return kv_fail(NULL, kv, errno, "IOMMU_IOAS_ALLOC");
	kv->ioas_id = alloc.out_ioas_id;
	attach.pt_id = kv->ioas_id;
	if (ioctl(kv->device_fd, KV_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
		return kv_fail(NULL, kv, errno, "VFIO_DEVICE_ATTACH_IOMMUFD_PT (IOAS %u)",
			       kv->ioas_id);
	kv->backend = KV_IOMMUFD;
	return 0;
}

/* ---- back-end choice ------------------------------------------------------ */

static int kv_backend_wanted(const struct kv_dev *kv, enum kv_backend *want)
{
	const char *s = getenv("FACET_VFIO_BACKEND");

	if (!s || !*s || !strcmp(s, "auto"))
		*want = KV_AUTO;
	else if (!strcmp(s, "type1"))
		*want = KV_TYPE1;
	else if (!strcmp(s, "iommufd"))
		*want = KV_IOMMUFD;
	else {
		CORE_ERR("%s: FACET_VFIO_BACKEND=%s: expected type1, iommufd or auto", kv->addr, s);
		return -EINVAL;
	}
	return 0;
}

static void kv_detach(struct kv_dev *kv)
{
	/* Device first, so it leaves its container or IOAS before they go. */
	if (kv->device_fd >= 0)
		close(kv->device_fd);
	if (kv->group_fd >= 0)
		close(kv->group_fd);
	if (kv->iommu_fd >= 0)
		close(kv->iommu_fd);
	kv->device_fd = kv->group_fd = kv->iommu_fd = -1;
}

static bool kv_iommufd_present(void)
{
	char path[PATH_MAX];

	return kv_path(path, sizeof(path), "%s/iommu", kv_dev_root) == 0 && access(path, F_OK) == 0;
}

static int kv_attach(struct kv_dev *kv, enum kv_backend want)
{
	char cdev[32];
	bool have_cdev = kv_find_cdev(kv, cdev, sizeof(cdev)) == 0;
	int ret;

	if (want == KV_TYPE1 || (want == KV_AUTO && (!have_cdev || !kv_iommufd_present())))
		return kv_type1_attach(kv);
	if (!have_cdev) {
		CORE_ERR("%s: FACET_VFIO_BACKEND=iommufd, but the device has no vfio cdev "
			 "(%s/bus/pci/devices/%s/vfio-dev/: needs Linux 6.6+ with "
			 "CONFIG_VFIO_DEVICE_CDEV)",
			 kv->addr, kv_sys_root, kv->addr);
		return -ENODEV;
	}
	ret = kv_iommufd_attach(kv, cdev);
	if (ret == 0 || want == KV_IOMMUFD)
		return ret;
	CORE_WARN("%s: iommufd set-up failed (%s), falling back to the type1 container", kv->addr,
		  strerror(-ret));
	kv_detach(kv);
	return kv_type1_attach(kv);
}

/* ---- device set-up -------------------------------------------------------- */

static int kv_region_basic(struct kv_dev *kv, unsigned int index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(kv->device_fd, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0) {
		/* vfio-pci answers EINVAL for regions the device lacks (VGA). */
		if (errno == EINVAL)
			return 0;
		return kv_fail(NULL, kv, errno, "VFIO_DEVICE_GET_REGION_INFO(%u)", index);
	}
	kv->regions[index].offset = ri.offset;
	kv->regions[index].size = ri.size;
	kv->regions[index].flags = ri.flags;
	return 0;
}

static int kv_device_setup(struct facet_core_dev *dev, struct kv_dev *kv)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int ret;

	if (ioctl(kv->device_fd, VFIO_DEVICE_GET_INFO, &info) < 0)
		return kv_fail(NULL, kv, errno, "VFIO_DEVICE_GET_INFO");
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		CORE_ERR("%s: the VFIO device is not a PCI device (flags 0x%x)", kv->addr,
			 info.flags);
		return -ENODEV;
	}
	kv->num_regions = info.num_regions < FACET_CORE_NUM_REGIONS ? info.num_regions
								    : FACET_CORE_NUM_REGIONS;
	kv->num_irqs = info.num_irqs;
	for (unsigned int i = 0; i < kv->num_regions; i++) {
		ret = kv_region_basic(kv, i);
		if (ret < 0)
			return ret;
	}
	dev->info.can_reset = info.flags & VFIO_DEVICE_FLAGS_RESET;
	dev->info.num_regions = kv->num_regions;
	dev->info.num_irq_types =
		kv->num_irqs < FACET_CORE_IRQ_TYPES ? kv->num_irqs : FACET_CORE_IRQ_TYPES;
	return 0;
}

static void kv_release(struct kv_dev *kv)
{
	if (!kv)
		return;
	kv_detach(kv);
	free(kv);
}

static int kv_open(struct facet_core_dev *dev, const char *spec)
{
	enum kv_backend want;
	struct kv_dev *kv;
	int ret;

	pthread_once(&kv_roots_once, kv_roots_init);
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	kv->device_fd = kv->iommu_fd = kv->group_fd = -1;
	if (kv_parse_addr(spec, kv->addr, sizeof(kv->addr)) < 0) {
		CORE_ERR("%s: malformed PCI address (expected DDDD:BB:DD.F or BB:DD.F, e.g. "
			 "0000:03:00.0)",
			 spec);
		ret = -EINVAL;
		goto fail;
	}
	ret = kv_backend_wanted(kv, &want);
	if (ret == 0)
		ret = kv_check_sysfs(kv);
	if (ret == 0)
		ret = kv_attach(kv, want);
	if (ret == 0)
		ret = kv_device_setup(dev, kv);
	if (ret < 0)
		goto fail;
	dev->transport_priv = kv;
	dev->info.transport = kv->backend == KV_IOMMUFD ? "iommufd" : "vfio-type1";
	dev->info.numa_node = kv_numa_node(kv);
	CORE_DEBUG("%s: open over %s, IOMMU group %u, %u regions, %u irq types", kv->addr,
		   dev->info.transport, kv->group, kv->num_regions, kv->num_irqs);
	return 0;
fail:
	kv_release(kv);
	return ret;
}

static void kv_close(struct facet_core_dev *dev)
{
	kv_release(kv_of(dev));
	dev->transport_priv = NULL;
}

/* ---- regions -------------------------------------------------------------- */

/* VFIO_DEVICE_GET_REGION_INFO with its capability chain, in a malloc'd buffer. */
static int kv_region_info_full(struct facet_core_dev *dev, struct kv_dev *kv, unsigned int index,
			       struct vfio_region_info **out)
{
	uint32_t argsz = sizeof(struct vfio_region_info);

	/* The kernel answers with the size it needs; it does not change between calls. */
	for (int tries = 0; tries < 4; tries++) {
		struct vfio_region_info *ri = calloc(1, argsz);

		if (!ri)
			return -ENOMEM;
		ri->argsz = argsz;
		ri->index = index;
		if (ioctl(kv->device_fd, VFIO_DEVICE_GET_REGION_INFO, ri) < 0) {
			free(ri);
			return kv_fail(dev, kv, errno, "VFIO_DEVICE_GET_REGION_INFO(%u)", index);
		}
		if (ri->argsz <= argsz) {
			*out = ri;
			return 0;
		}
		argsz = ri->argsz;
		free(ri);
	}
	CORE_ERR("%s: region %u: the kernel keeps asking for a larger buffer", kv->addr, index);
	return -EIO;
}

/*
 * Capability @id, whose fixed part is @cap_size bytes, in the chain starting
 * at @off of an info buffer of @argsz bytes; *@cap_off is its offset.
 */
static const void *kv_find_cap(const void *info, uint32_t argsz, uint32_t off, uint32_t min_off,
			       uint16_t id, size_t cap_size, size_t *cap_off)
{
	/* Bounded walk: a corrupt chain must not loop or read past the buffer. */
	for (unsigned int n = 0; off && n < 64; n++) {
		const struct vfio_info_cap_header *h;

		if (off < min_off || off % 8 || off > argsz - sizeof(*h))
			return NULL;
		h = (const void *)((const uint8_t *)info + off);
		if (h->id == id) {
			if (off + cap_size > argsz)
				return NULL;
			*cap_off = off;
			return h;
		}
		off = h->next;
	}
	return NULL;
}

static void kv_sparse_areas(const struct kv_dev *kv, unsigned int index,
			    const struct vfio_region_info *ri, struct facet_core_region_info *out)
{
	const struct vfio_region_info_cap_sparse_mmap *sp;
	size_t off = 0;

	sp = kv_find_cap(ri, ri->argsz,
			 (ri->flags & VFIO_REGION_INFO_FLAG_CAPS) ? ri->cap_offset : 0, sizeof(*ri),
			 VFIO_REGION_INFO_CAP_SPARSE_MMAP, sizeof(*sp), &off);
	if (!sp) {
		/* No sparse list: the whole region is mappable. */
		out->mmap_areas[0].offset = 0;
		out->mmap_areas[0].size = ri->size;
		out->n_mmap_areas = 1;
		return;
	}
	if (off + sizeof(*sp) + (size_t)sp->nr_areas * sizeof(sp->areas[0]) > ri->argsz) {
		CORE_WARN("%s: region %u: sparse mmap list overruns the reply; not mapping it",
			  kv->addr, index);
		return;
	}
	for (uint32_t i = 0; i < sp->nr_areas; i++) {
		uint64_t a_off = sp->areas[i].offset, a_size = sp->areas[i].size;

		if (!a_size || a_off > ri->size || a_size > ri->size - a_off)
			continue;
		if (out->n_mmap_areas == sizeof(out->mmap_areas) / sizeof(out->mmap_areas[0])) {
			CORE_WARN("%s: region %u has %u mmap areas; using the first %u", kv->addr,
				  index, sp->nr_areas, out->n_mmap_areas);
			break;
		}
		out->mmap_areas[out->n_mmap_areas].offset = a_off;
		out->mmap_areas[out->n_mmap_areas].size = a_size;
		out->n_mmap_areas++;
	}
}

static int kv_region_info(struct facet_core_dev *dev, unsigned int index,
			  struct facet_core_region_info *out)
{
	struct kv_dev *kv = kv_of(dev);
	struct vfio_region_info *ri = NULL;
	int ret;

	if (kv_dead(dev))
		return -ENODEV;
	if (index >= FACET_CORE_NUM_REGIONS)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (index >= kv->num_regions || !kv->regions[index].size)
		return 0; /* absent: size 0 */
	ret = kv_region_info_full(dev, kv, index, &ri);
	if (ret < 0)
		return ret;
	out->size = ri->size;
	if (ri->flags & VFIO_REGION_INFO_FLAG_READ)
		out->flags |= FACET_CORE_REGION_READ;
	if (ri->flags & VFIO_REGION_INFO_FLAG_WRITE)
		out->flags |= FACET_CORE_REGION_WRITE;
	if (ri->flags & VFIO_REGION_INFO_FLAG_MMAP)
		kv_sparse_areas(kv, index, ri, out);
	if (out->n_mmap_areas)
		out->flags |= FACET_CORE_REGION_MMAP;
	free(ri);
	return 0;
}

/* Is [offset, offset + len) inside region @index? Logs when not. */
static int kv_check_range(const struct kv_dev *kv, unsigned int index, uint64_t offset,
			  uint64_t len)
{
	const struct kv_region *r;

	if (index >= kv->num_regions) {
		CORE_ERR("%s: no region %u", kv->addr, index);
		return -EINVAL;
	}
	r = &kv->regions[index];
	if (offset > r->size || len > r->size - offset) {
		CORE_ERR("%s: region %u: 0x%llx+0x%llx is outside its 0x%llx bytes", kv->addr,
			 index, (unsigned long long)offset, (unsigned long long)len,
			 (unsigned long long)r->size);
		return -EINVAL;
	}
	return 0;
}

static int kv_region_rw(struct facet_core_dev *dev, unsigned int index, uint64_t offset, void *buf,
			size_t len, bool write)
{
	struct kv_dev *kv = kv_of(dev);
	uint8_t *p = buf;
	off_t pos;
	int ret;

	if (kv_dead(dev))
		return -ENODEV;
	ret = kv_check_range(kv, index, offset, len);
	if (ret < 0)
		return ret;
	pos = (off_t)(kv->regions[index].offset + offset);
	while (len) {
		ssize_t n = write ? pwrite(kv->device_fd, p, len, pos)
				  : pread(kv->device_fd, p, len, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return kv_fail(dev, kv, errno, "region %u %s at 0x%llx (%zu bytes)", index,
				       write ? "write" : "read", (unsigned long long)offset, len);
		if (n == 0) {
			CORE_ERR("%s: region %u: short %s at 0x%llx", kv->addr, index,
				 write ? "write" : "read", (unsigned long long)offset);
			return -EIO;
		}
		p += n;
		pos += n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Map an mmap area. *@addr is where the caller wants it (inside a VA range
 * it reserved for the whole BAR), or NULL to let the kernel choose.
 */
static int kv_region_mmap(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
			  size_t len, void **addr)
{
	struct kv_dev *kv = kv_of(dev);
	const struct kv_region *r;
	int prot = 0, ret;
	void *p;

	if (kv_dead(dev))
		return -ENODEV;
	ret = kv_check_range(kv, index, offset, len);
	if (ret < 0)
		return ret;
	r = &kv->regions[index];
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		CORE_ERR("%s: region %u cannot be mapped", kv->addr, index);
		return -ENOTSUP;
	}
	if (r->flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (r->flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;
	p = mmap(*addr, len, prot, MAP_SHARED | (*addr ? MAP_FIXED : 0), kv->device_fd,
		 (off_t)(r->offset + offset));
	if (p == MAP_FAILED)
		return kv_fail(dev, kv, errno, "mmap of region %u at 0x%llx (%zu bytes)", index,
			       (unsigned long long)offset, len);
	*addr = p;
	return 0;
}

/* ---- interrupts and reset ------------------------------------------------- */

static int kv_irq_count(struct facet_core_dev *dev, unsigned int type, unsigned int *count)
{
	struct kv_dev *kv = kv_of(dev);
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = type };

	if (kv_dead(dev))
		return -ENODEV;
	*count = 0;
	if (type >= kv->num_irqs)
		return 0;
	if (ioctl(kv->device_fd, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0)
		return kv_fail(dev, kv, errno, "VFIO_DEVICE_GET_IRQ_INFO(%u)", type);
	*count = info.count;
	return 0;
}

static int kv_irq_disable(struct facet_core_dev *dev, struct kv_dev *kv, unsigned int type)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = type,
	};

	/* vfio-pci refuses (EINVAL) to disable a type that is not enabled. */
	if (!(atomic_load(&kv->irqs_on) & (1u << type)))
		return 0;
	if (ioctl(kv->device_fd, VFIO_DEVICE_SET_IRQS, &set) < 0)
		return kv_fail(dev, kv, errno, "VFIO_DEVICE_SET_IRQS(disable type %u)", type);
	atomic_fetch_and(&kv->irqs_on, ~(1u << type));
	return 0;
}

static int kv_irq_set(struct facet_core_dev *dev, unsigned int type, unsigned int start,
		      unsigned int count, const int *fds)
{
	struct kv_dev *kv = kv_of(dev);
	struct vfio_irq_set *set;
	size_t size;
	int ret = 0;

	if (kv_dead(dev))
		return -ENODEV;
	if (type >= kv->num_irqs || type >= 32) {
		CORE_ERR("%s: no interrupt type %u", kv->addr, type);
		return -EINVAL;
	}
	if (!fds)
		return kv_irq_disable(dev, kv, type);
	if (!count || count > KV_MAX_VECTORS || start > KV_MAX_VECTORS - count) {
		CORE_ERR("%s: interrupt type %u: bad vector range %u+%u", kv->addr, type, start,
			 count);
		return -EINVAL;
	}
	size = sizeof(*set) + count * sizeof(int32_t);
	set = calloc(1, size);
	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)size;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = type;
	set->start = start;
	set->count = count;
	for (unsigned int i = 0; i < count; i++) {
		int32_t fd = fds[i];

		memcpy(set->data + i * sizeof(fd), &fd, sizeof(fd));
	}
	if (ioctl(kv->device_fd, VFIO_DEVICE_SET_IRQS, set) < 0)
		ret = kv_fail(dev, kv, errno, "VFIO_DEVICE_SET_IRQS(type %u, vectors %u+%u)", type,
			      start, count);
	else
		atomic_fetch_or(&kv->irqs_on, 1u << type);
	free(set);
	return ret;
}

static int kv_reset(struct facet_core_dev *dev)
{
	struct kv_dev *kv = kv_of(dev);

	if (kv_dead(dev))
		return -ENODEV;
	if (!dev->info.can_reset)
		return -ENOTSUP;
	if (ioctl(kv->device_fd, VFIO_DEVICE_RESET) < 0)
		return kv_fail(dev, kv, errno, "VFIO_DEVICE_RESET");
	return 0;
}

/* ---- DMA ------------------------------------------------------------------ */

static int kv_dma_fail(struct facet_core_dev *dev, const struct kv_dev *kv, int err, const char *op,
		       uint64_t iova, size_t len)
{
	/* Pinning counts against RLIMIT_MEMLOCK: the usual reason for ENOMEM. */
	if (err == ENOMEM)
		CORE_ERR("%s: %s: out of lockable memory? raise RLIMIT_MEMLOCK (ulimit -l)",
			 kv->addr, op);
	return kv_fail(dev, kv, err, "%s of IOVA 0x%llx (%zu bytes)", op, (unsigned long long)iova,
		       len);
}

static int kv_iommufd_map(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, void *va,
			  size_t len, bool rd, bool wr)
{
	struct kv_iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = KV_IOAS_MAP_FIXED_IOVA | (rd ? KV_IOAS_MAP_READABLE : 0) |
			 (wr ? KV_IOAS_MAP_WRITEABLE : 0),
		.ioas_id = kv->ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	if (ioctl(kv->iommu_fd, KV_IOMMU_IOAS_MAP, &m) < 0)
		return kv_dma_fail(dev, kv, errno, "IOMMU_IOAS_MAP", iova, len);
	return 0;
}

static int kv_type1_map(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, void *va,
			size_t len, bool rd, bool wr)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = (rd ? VFIO_DMA_MAP_FLAG_READ : 0) | (wr ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = len,
	};

	if (ioctl(kv->iommu_fd, VFIO_IOMMU_MAP_DMA, &m) < 0)
		return kv_dma_fail(dev, kv, errno, "VFIO_IOMMU_MAP_DMA", iova, len);
	return 0;
}

/* The kernel pins the pages by VA: the backing @fd is of no use here. */
static int kv_dma_map(struct facet_core_dev *dev, uint64_t iova, void *va, size_t len, int fd,
		      uint64_t offset, uint32_t access)
{
	struct kv_dev *kv = kv_of(dev);
	bool rd = !access || (access & FACET_CORE_DMA_READ);
	bool wr = !access || (access & FACET_CORE_DMA_WRITE);

	if (kv_dead(dev))
		return -ENODEV;
	if (kv->backend == KV_IOMMUFD)
		return kv_iommufd_map(dev, kv, iova, va, len, rd, wr);
	return kv_type1_map(dev, kv, iova, va, len, rd, wr);
}

static int kv_iommufd_unmap(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova,
			    size_t len)
{
	struct kv_iommu_ioas_unmap u = {
		.size = sizeof(u),
		.ioas_id = kv->ioas_id,
		.iova = iova,
		.length = len,
	};

	if (ioctl(kv->iommu_fd, KV_IOMMU_IOAS_UNMAP, &u) < 0)
		return kv_dma_fail(dev, kv, errno, "IOMMU_IOAS_UNMAP", iova, len);
	return 0;
}

static int kv_type1_unmap(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = len };

	if (ioctl(kv->iommu_fd, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
		return kv_dma_fail(dev, kv, errno, "VFIO_IOMMU_UNMAP_DMA", iova, len);
	/* The kernel reports how much it unmapped: less means no such mapping. */
	if (u.size != len) {
		CORE_ERR("%s: VFIO_IOMMU_UNMAP_DMA of IOVA 0x%llx unmapped %llu of %zu bytes",
			 kv->addr, (unsigned long long)iova, (unsigned long long)u.size, len);
		return u.size ? -EIO : -ENOENT;
	}
	return 0;
}

static int kv_dma_unmap(struct facet_core_dev *dev, uint64_t iova, size_t len)
{
	struct kv_dev *kv = kv_of(dev);

	if (kv_dead(dev))
		return -ENODEV;
	if (kv->backend == KV_IOMMUFD)
		return kv_iommufd_unmap(dev, kv, iova, len);
	return kv_type1_unmap(dev, kv, iova, len);
}

/* ---- IOVA window ---------------------------------------------------------- */

/*
 * One window for the allocator, clipped to [FACET_CORE_IOVA_BASE,
 * FACET_CORE_IOVA_LIMIT): the range holding FACET_CORE_IOVA_BASE if there is
 * one, because the allocator hands out from the bottom and devices with
 * narrow DMA masks (QEMU's edu: 28 bits) need low IOVAs; else the largest.
 * On x86 that is [1 MiB, 0xfee00000), below the MSI window.
 */
static int kv_pick_range(const struct kv_dev *kv, const struct kv_range *r, unsigned int n,
			 uint64_t *start, uint64_t *end)
{
	uint64_t best_s = 0, best_e = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t s = r[i].start > FACET_CORE_IOVA_BASE ? r[i].start : FACET_CORE_IOVA_BASE;
		uint64_t e = r[i].last >= FACET_CORE_IOVA_LIMIT - 1 ? FACET_CORE_IOVA_LIMIT
								    : r[i].last + 1;

		if (r[i].last < r[i].start || s >= e)
			continue;
		if (r[i].start <= FACET_CORE_IOVA_BASE) {
			best_s = s;
			best_e = e;
			break;
		}
		if (e - s > best_e - best_s) {
			best_s = s;
			best_e = e;
		}
	}
	if (best_e == 0) {
		CORE_ERR("%s: the IOMMU offers no IOVA range inside [0x%llx, 0x%llx)", kv->addr,
			 FACET_CORE_IOVA_BASE, FACET_CORE_IOVA_LIMIT);
		return -ENOSPC;
	}
	*start = best_s;
	*end = best_e;
	return 0;
}

static int kv_type1_info(struct facet_core_dev *dev, struct kv_dev *kv,
			 struct vfio_iommu_type1_info **out)
{
	uint32_t argsz = sizeof(struct vfio_iommu_type1_info);

	for (int tries = 0; tries < 4; tries++) {
		struct vfio_iommu_type1_info *info = calloc(1, argsz);

		if (!info)
			return -ENOMEM;
		info->argsz = argsz;
		if (ioctl(kv->iommu_fd, VFIO_IOMMU_GET_INFO, info) < 0) {
			free(info);
			return kv_fail(dev, kv, errno, "VFIO_IOMMU_GET_INFO");
		}
		if (info->argsz <= argsz) {
			*out = info;
			return 0;
		}
		argsz = info->argsz;
		free(info);
	}
	CORE_ERR("%s: VFIO_IOMMU_GET_INFO keeps asking for a larger buffer", kv->addr);
	return -EIO;
}

static int kv_type1_iova_range(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t *start,
			       uint64_t *end)
{
	const struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_iommu_type1_info *info = NULL;
	struct kv_range *ranges;
	size_t off = 0;
	int ret = kv_type1_info(dev, kv, &info);

	if (ret < 0)
		return ret;
	cap = kv_find_cap(info, info->argsz,
			  (info->flags & VFIO_IOMMU_INFO_CAPS) ? info->cap_offset : 0,
			  sizeof(*info), VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, sizeof(*cap), &off);
	if (!cap) {
		/* Kernels before 5.4 do not report ranges: keep the defaults. */
		CORE_DEBUG("%s: no IOVA range capability; using the default window", kv->addr);
		free(info);
		return 0;
	}
	if (off + sizeof(*cap) + (size_t)cap->nr_iovas * sizeof(cap->iova_ranges[0]) >
	    info->argsz) {
		CORE_WARN("%s: IOVA range capability overruns the reply; using the default window",
			  kv->addr);
		free(info);
		return 0;
	}
	ranges = calloc(cap->nr_iovas ? cap->nr_iovas : 1, sizeof(*ranges));
	if (!ranges) {
		free(info);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cap->nr_iovas; i++) {
		ranges[i].start = cap->iova_ranges[i].start;
		ranges[i].last = cap->iova_ranges[i].end;
	}
	ret = kv_pick_range(kv, ranges, cap->nr_iovas, start, end);
	free(ranges);
	free(info);
	return ret;
}

static int kv_iommufd_iova_range(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t *start,
				 uint64_t *end)
{
	struct kv_iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = kv->ioas_id };
	struct kv_iommu_iova_range *buf = NULL;
	struct kv_range *ranges;
	int ret;

	/* First ask how many there are, then fetch them (EMSGSIZE means "more"). */
	if (ioctl(kv->iommu_fd, KV_IOMMU_IOAS_IOVA_RANGES, &q) < 0 && errno != EMSGSIZE)
		return kv_fail(dev, kv, errno, "IOMMU_IOAS_IOVA_RANGES");
	if (!q.num_iovas)
		return kv_pick_range(kv, NULL, 0, start, end);
	buf = calloc(q.num_iovas, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	q.allowed_iovas = (uintptr_t)buf;
	if (ioctl(kv->iommu_fd, KV_IOMMU_IOAS_IOVA_RANGES, &q) < 0) {
		ret = kv_fail(dev, kv, errno, "IOMMU_IOAS_IOVA_RANGES");
		free(buf);
		return ret;
	}
	/* Same layout, but copy rather than alias two structure types. */
	ranges = calloc(q.num_iovas, sizeof(*ranges));
	if (!ranges) {
		free(buf);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < q.num_iovas; i++) {
		ranges[i].start = buf[i].start;
		ranges[i].last = buf[i].last;
	}
	ret = kv_pick_range(kv, ranges, q.num_iovas, start, end);
	free(ranges);
	free(buf);
	return ret;
}

static int kv_iova_range(struct facet_core_dev *dev, uint64_t *start, uint64_t *end)
{
	struct kv_dev *kv = kv_of(dev);

	if (kv_dead(dev))
		return -ENODEV;
	if (kv->backend == KV_IOMMUFD)
		return kv_iommufd_iova_range(dev, kv, start, end);
	return kv_type1_iova_range(dev, kv, start, end);
}

const struct core_transport core_vfio_kernel_transport = {
	.name = "vfio-kernel",
	.handles = kv_handles,
	.open = kv_open,
	.close = kv_close,
	.region_info = kv_region_info,
	.region_rw = kv_region_rw,
	.region_mmap = kv_region_mmap,
	.irq_count = kv_irq_count,
	.irq_set = kv_irq_set,
	.reset = kv_reset,
	.dma_map = kv_dma_map,
	.dma_unmap = kv_dma_unmap,
	.iova_range = kv_iova_range,
};
