/* SPDX-License-Identifier: MIT */
/*
 * Kernel VFIO transport, iommufd back-end: /dev/vfio/devices/vfioN (the vfio
 * cdev, Linux 6.6+) bound to /dev/iommu, attached to an IOAS of its own
 * (see core_vfio_kernel.c).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#include "core_vfio_kernel.h"

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

int kv_iommufd_attach(struct kv_dev *kv, const char *cdev)
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

/* ---- DMA ------------------------------------------------------------------ */

int kv_iommufd_map(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, void *va,
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

int kv_iommufd_unmap(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, size_t len)
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

/* ---- IOVA window ---------------------------------------------------------- */

int kv_iommufd_iova_range(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t *start,
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
