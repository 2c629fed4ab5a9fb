/* SPDX-License-Identifier: MIT */
/*
 * Private to the kernel VFIO transport: the per-device state and the kv_
 * helpers its files share (none of them is exported: version.map lists only
 * facet_core_*).
 *
 *   core_vfio_kernel.c   open/close, back-end choice, regions, mmap, irqs,
 *                        reset, DMA and IOVA dispatch, the transport ops
 *   core_vfio_sysfs.c    address parsing, sysfs and /dev roots, set-up
 *                        diagnostics, NUMA node, vfio cdev lookup
 *   core_vfio_type1.c    the vfio-type1 container/group back-end
 *   core_vfio_iommufd.c  the iommufd + vfio cdev back-end
 *
 * After open every field of struct kv_dev is constant except irqs_on
 * (atomic), and the kernel serializes ioctls on one fd, so the ops take no
 * lock.
 */
#ifndef FACET_CORE_VFIO_KERNEL_H
#define FACET_CORE_VFIO_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core_private.h"

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

/* ---- core_vfio_sysfs.c ---------------------------------------------------- */

extern pthread_once_t kv_roots_once;
extern char kv_sys_root[];
extern char kv_dev_root[];

void kv_roots_init(void);
int kv_path(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int kv_parse_addr(const char *spec, char *out, size_t size);
bool kv_handles(const char *spec);
int kv_group_members(const struct kv_dev *kv, char *buf, size_t size);
void kv_log_not_viable(const struct kv_dev *kv, const char *members);
int kv_check_sysfs(struct kv_dev *kv);
int kv_numa_node(const struct kv_dev *kv);
int kv_find_cdev(const struct kv_dev *kv, char *name, size_t size);
int kv_open_node(const struct kv_dev *kv, const char *path, const char *missing);

/* ---- core_vfio_kernel.c --------------------------------------------------- */

int kv_fail(struct facet_core_dev *dev, const struct kv_dev *kv, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const void *kv_find_cap(const void *info, uint32_t argsz, uint32_t off, uint32_t min_off,
			uint16_t id, size_t cap_size, size_t *cap_off);
int kv_dma_fail(struct facet_core_dev *dev, const struct kv_dev *kv, int err, const char *op,
		uint64_t iova, size_t len);
int kv_pick_range(const struct kv_dev *kv, const struct kv_range *r, unsigned int n,
		  uint64_t *start, uint64_t *end);

/* ---- core_vfio_type1.c ---------------------------------------------------- */

int kv_type1_attach(struct kv_dev *kv);
int kv_type1_map(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, void *va, size_t len,
		 bool rd, bool wr);
int kv_type1_unmap(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, size_t len);
int kv_type1_iova_range(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t *start,
			uint64_t *end);

/* ---- core_vfio_iommufd.c -------------------------------------------------- */

int kv_iommufd_attach(struct kv_dev *kv, const char *cdev);
int kv_iommufd_map(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, void *va,
		   size_t len, bool rd, bool wr);
int kv_iommufd_unmap(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t iova, size_t len);
int kv_iommufd_iova_range(struct facet_core_dev *dev, struct kv_dev *kv, uint64_t *start,
			  uint64_t *end);

#endif /* FACET_CORE_VFIO_KERNEL_H */
