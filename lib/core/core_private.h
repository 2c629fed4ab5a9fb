/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/core: the device object and the transport interface.
 *
 * core_common.c and core_dma.c implement the public API once, over struct
 * core_transport;
 * each transport (core_vfio_user.c, core_vfio_kernel.c) fills one in. The
 * common code owns the IOVA allocator, the DMA mapping list, BAR mmaps and
 * the "dead" flag; a transport only moves bytes, fds and mappings.
 *
 * Transport contract:
 * - Every op returns 0 or a negative errno. Once the transport learns that
 *   the device is gone (peer closed, ENODEV from the kernel) it calls
 *   core_mark_dead(), and from then on every op returns -ENODEV quickly.
 * - Ops may be called from several threads at once; a transport serializes
 *   internally what needs it.
 * - open() fills dev->info (ids excepted: the common code reads them from
 *   config space afterwards) and dev->transport_priv.
 */
#ifndef FACET_CORE_PRIVATE_H
#define FACET_CORE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

#include "facet_core.h"
#include "facet_log.h"

#define CORE_TAG "core"

#define CORE_ERR(...)	FACET_ERR(CORE_TAG, __VA_ARGS__)
#define CORE_WARN(...)	FACET_WARN(CORE_TAG, __VA_ARGS__)
#define CORE_INFO(...)	FACET_INFO(CORE_TAG, __VA_ARGS__)
#define CORE_DEBUG(...) FACET_DEBUG(CORE_TAG, __VA_ARGS__)

struct facet_core_dev;

/** What a transport does; see the contract above. */
struct core_transport {
	const char *name;
	/** Does @spec name a device of this transport? */
	bool (*handles)(const char *spec);
	int (*open)(struct facet_core_dev *dev, const char *spec);
	void (*close)(struct facet_core_dev *dev);

	int (*region_info)(struct facet_core_dev *dev, unsigned int index,
			   struct facet_core_region_info *info);
	int (*region_rw)(struct facet_core_dev *dev, unsigned int index, uint64_t offset, void *buf,
			 size_t len, bool write);
	/**
	 * mmap [offset, offset + len) of region @index (a whole mmap area),
	 * shared, read-write, at *@addr exactly (MAP_FIXED) when it is not NULL.
	 */
	int (*region_mmap)(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
			   size_t len, void **addr);

	/** An ioeventfd for a register (facet_core_region_ioeventfd()); NULL: -ENOTSUP. */
	int (*region_ioeventfd)(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
				uint32_t size, int *fd);

	int (*irq_count)(struct facet_core_dev *dev, unsigned int type, unsigned int *count);
	/** @fds NULL: disable all vectors of @type. */
	int (*irq_set)(struct facet_core_dev *dev, unsigned int type, unsigned int start,
		       unsigned int count, const int *fds);
	int (*reset)(struct facet_core_dev *dev);

	/** Map [@va, @va + @len), backed by @fd at @offset (-1: no fd), at @iova. */
	int (*dma_map)(struct facet_core_dev *dev, uint64_t iova, void *va, size_t len, int fd,
		       uint64_t offset, uint32_t access);
	int (*dma_unmap)(struct facet_core_dev *dev, uint64_t iova, size_t len);
	/**
	 * The IOVA ranges the device accepts, to seed the allocator; NULL means
	 * [FACET_CORE_IOVA_BASE, FACET_CORE_IOVA_LIMIT).
	 */
	int (*iova_range)(struct facet_core_dev *dev, uint64_t *start, uint64_t *end);
};

/** Default IOVA window: above the first 1 MiB, below 2^47 (any IOMMU does 48 bits). */
#define FACET_CORE_IOVA_BASE  (1ull << 20)
#define FACET_CORE_IOVA_LIMIT (1ull << 47)

extern const struct core_transport core_vfio_user_transport;
extern const struct core_transport core_vfio_kernel_transport;

/** One DMA mapping of the device: an allocation or a registration. */
struct core_dma_map {
	TAILQ_ENTRY(core_dma_map) next;
	uint64_t iova;
	size_t len;
	void *va;
	struct facet_core_dma *owner; /**< NULL for registrations */
};
TAILQ_HEAD(core_dma_list, core_dma_map);

/** A free IOVA range (the allocator is a sorted first-fit free list). */
struct core_iova_hole {
	TAILQ_ENTRY(core_iova_hole) next;
	uint64_t start, end; /* [start, end) */
};
TAILQ_HEAD(core_iova_list, core_iova_hole);

struct core_bar_map {
	void *base; /* reserved VA for the whole BAR, areas mapped into it */
	size_t size;
};

struct facet_core_dev {
	const struct core_transport *tp;
	void *transport_priv;
	struct facet_core_open_opts open_opts;
	struct facet_core_info info;
	atomic_bool dead;

	pthread_mutex_t lock; /* DMA list, IOVA allocator, BAR maps */
	struct core_dma_list dmas;
	struct core_iova_list iova_free;
	struct core_bar_map bars[6];
	struct facet_core_region_info regions[FACET_CORE_NUM_REGIONS];
	bool regions_known[FACET_CORE_NUM_REGIONS];
};

/** Called by a transport when the device is gone; logged once. */
void core_mark_dead(struct facet_core_dev *dev, const char *why);

/* core_dma.c: unmap and free every mapping left at close (logged as leaks). */
void core_dma_release_all(struct facet_core_dev *dev);

/* core_iova.c: allocator over dev->iova_free; callers hold dev->lock. */
int core_iova_init(struct facet_core_dev *dev, uint64_t start, uint64_t end);
int core_iova_alloc(struct facet_core_dev *dev, size_t len, size_t align, uint64_t *iova);
int core_iova_reserve(struct facet_core_dev *dev, uint64_t iova, size_t len);
void core_iova_free(struct facet_core_dev *dev, uint64_t iova, size_t len);
void core_iova_fini(struct facet_core_dev *dev);

/* core_mem.c: fd-backed, NUMA-placed memory, independent of any device. */
struct core_mem {
	void *va;
	size_t len;	  /* multiple of page_size */
	size_t page_size; /* 4 KiB or the hugepage size */
	int fd;		  /* memfd backing it */
};
int core_mem_alloc(size_t size, int numa_node, bool hugepages, struct core_mem *mem);
void core_mem_free(struct core_mem *mem);

#endif /* FACET_CORE_PRIVATE_H */
