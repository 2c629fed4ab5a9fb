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
 * The transport is split by concern beside a private header,
 * core_vfio_kernel.h: core_vfio_sysfs.c (naming, sysfs checks),
 * core_vfio_type1.c and core_vfio_iommufd.c (the two back-ends); this file
 * has open/close, regions, interrupts, reset, DMA and the ops table.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "core_vfio_kernel.h"

/* MSI-X allows 2048 vectors per function; anything larger is a caller bug. */
#define KV_MAX_VECTORS 2048

/*
 * An ioctl or I/O on an open device failed with @err: log what, and on
 * ENODEV (the device was hot-removed) mark @dev dead. @dev is NULL during
 * open, when there is nothing to mark yet.
 */
int kv_fail(struct facet_core_dev *dev, const struct kv_dev *kv, int err, const char *fmt, ...)
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
const void *kv_find_cap(const void *info, uint32_t argsz, uint32_t off, uint32_t min_off,
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

int kv_dma_fail(struct facet_core_dev *dev, const struct kv_dev *kv, int err, const char *op,
		uint64_t iova, size_t len)
{
	/* Pinning counts against RLIMIT_MEMLOCK: the usual reason for ENOMEM. */
	if (err == ENOMEM)
		CORE_ERR("%s: %s: out of lockable memory? raise RLIMIT_MEMLOCK (ulimit -l)",
			 kv->addr, op);
	return kv_fail(dev, kv, err, "%s of IOVA 0x%llx (%zu bytes)", op, (unsigned long long)iova,
		       len);
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
int kv_pick_range(const struct kv_dev *kv, const struct kv_range *r, unsigned int n,
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
