/* SPDX-License-Identifier: MIT */
/*
 * Kernel VFIO transport, vfio-type1 back-end: the container/group API,
 * /dev/vfio/vfio + /dev/vfio/<group> (see core_vfio_kernel.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#include "core_vfio_kernel.h"

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

int kv_type1_attach(struct kv_dev *kv)
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

/* ---- DMA ------------------------------------------------------------------ */

int kv_type1_map(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, void *va, size_t len,
		 bool rd, bool wr)
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

int kv_type1_unmap(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, size_t len)
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

/* ---- IOVA window ---------------------------------------------------------- */

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

int kv_type1_iova_range(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t *start,
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
