/* SPDX-License-Identifier: MIT */
/*
 * Kernel VFIO transport: naming and sysfs (see core_vfio_kernel.c).
 *
 * Before touching /dev the transport reads sysfs, so that each of the usual
 * set-up mistakes gets its own errno and a log line saying what to do.
 * FACET_SYSFS_ROOT and FACET_DEV_ROOT (default "/sys" and "/dev", read once)
 * move both trees, for tests.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_vfio_kernel.h"

pthread_once_t kv_roots_once = PTHREAD_ONCE_INIT;
char kv_sys_root[PATH_MAX / 2];
char kv_dev_root[PATH_MAX / 2];

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

void kv_roots_init(void)
{
	kv_root_from_env(kv_sys_root, sizeof(kv_sys_root), "FACET_SYSFS_ROOT", "/sys");
	kv_root_from_env(kv_dev_root, sizeof(kv_dev_root), "FACET_DEV_ROOT", "/dev");
}

int kv_path(char *buf, size_t size, const char *fmt, ...)
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
int kv_parse_addr(const char *spec, char *out, size_t size)
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
bool kv_handles(const char *spec)
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
int kv_group_members(const struct kv_dev *kv, char *buf, size_t size)
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

void kv_log_not_viable(const struct kv_dev *kv, const char *members)
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

int kv_check_sysfs(struct kv_dev *kv)
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

int kv_numa_node(const struct kv_dev *kv)
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
int kv_find_cdev(const struct kv_dev *kv, char *name, size_t size)
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
int kv_open_node(const struct kv_dev *kv, const char *path, const char *missing)
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
