/* SPDX-License-Identifier: MIT */
/*
 * facet_core: the PCI core. It owns one PCI device through VFIO and gives
 * its driver config space, BARs, interrupts, reset and DMA memory, the same
 * way over both transports:
 *
 *   "0000:03:00.0"            kernel VFIO: iommufd + vfio cdev where the
 *                             kernel has them, else the type1 container/group
 *   "vfio-user:/path/to.sock" vfio-user: a device served by another process
 *
 * DMA memory is fd-backed (memfd, hugetlb when available), so a vfio-user
 * server can map it, and placed on a NUMA node. Each device has its own IOVA
 * space; facet_core_dma_alloc() and facet_core_dma_register() map memory into
 * it and hand back the IOVA the device uses.
 *
 * Functions are thread-safe unless noted. Errors are negative errno values
 * with a log line (tag "core"). A device whose transport died (the vfio-user
 * server exited) answers -ENODEV to every call from then on, promptly.
 */
#ifndef FACET_CORE_H
#define FACET_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct facet_core_dev;
struct facet_core_dma;

/** Regions, numbered as VFIO numbers PCI regions. */
enum facet_core_region {
	FACET_CORE_BAR0 = 0,
	FACET_CORE_BAR5 = 5,
	FACET_CORE_ROM = 6,
	FACET_CORE_CONFIG = 7,
	FACET_CORE_NUM_REGIONS = 9,
};

/** Interrupt types, numbered as VFIO numbers PCI interrupt indexes. */
enum facet_core_irq_type {
	FACET_CORE_IRQ_INTX = 0,
	FACET_CORE_IRQ_MSI = 1,
	FACET_CORE_IRQ_MSIX = 2,
	FACET_CORE_IRQ_ERR = 3,
	FACET_CORE_IRQ_REQ = 4,
	FACET_CORE_IRQ_TYPES = 5,
};

/** What is known about an open device. */
struct facet_core_info {
	char name[64];	       /**< as given to facet_core_open() */
	const char *transport; /**< "vfio-user", "vfio-type1", "iommufd" */
	uint16_t vendor_id;    /**< from config space */
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
	uint32_t class_code; /**< 24 bits: class, subclass, prog-if */
	uint8_t revision;
	int numa_node;	/**< -1 when unknown */
	bool can_reset; /**< the device supports reset */
	unsigned int num_regions;
	unsigned int num_irq_types;
};

/** Region flags. */
#define FACET_CORE_REGION_READ	(1u << 0)
#define FACET_CORE_REGION_WRITE (1u << 1)
#define FACET_CORE_REGION_MMAP	(1u << 2) /**< some or all of it can be mapped */

/** A region (BAR) as the transport describes it. */
struct facet_core_region_info {
	uint64_t size; /**< 0: the region does not exist */
	uint32_t flags;
	unsigned int n_mmap_areas; /**< mappable windows (sparse mmap), 0 if none */
	struct {
		uint64_t offset; /**< within the region */
		uint64_t size;
	} mmap_areas[8];
};

/** Options for facet_core_open(); zeroed (or NULL) means defaults. */
struct facet_core_open_opts {
	/** Milliseconds to wait for a vfio-user server's reply (0: 5000). */
	unsigned int timeout_ms;
};

/**
 * Open the device @name (see above). Returns 0 and sets *@dev, or -ENODEV
 * (no such device, not bound to vfio-pci, server not listening), -EPERM /
 * -EACCES (no permission), -EINVAL (group not viable: the log names the other
 * devices in the group; malformed name), -ENXIO (no IOMMU), -EPROTO (the
 * vfio-user server broke the protocol), -EBUSY (the device or its IOMMU
 * group is in use).
 */
int facet_core_open(const char *name, const struct facet_core_open_opts *opts,
		    struct facet_core_dev **dev);

/**
 * Close the device: unmap BARs, unmap and free every DMA
 * mapping still held (logged: they are leaks of the caller), release the
 * transport.
 */
void facet_core_close(struct facet_core_dev *dev);

/** Identity and capabilities; valid until close. */
const struct facet_core_info *facet_core_info(const struct facet_core_dev *dev);

/** True once the transport has failed (e.g. the vfio-user server died). */
bool facet_core_is_dead(const struct facet_core_dev *dev);

/* ---- config space and BARs --------------------------------------------- */

/** Read or write @len bytes of config space at @offset. Returns 0 or a negative errno. */
int facet_core_cfg_read(struct facet_core_dev *dev, uint32_t offset, void *buf, size_t len);
int facet_core_cfg_write(struct facet_core_dev *dev, uint32_t offset, const void *buf, size_t len);

/** Enable or disable bus mastering (DMA) in the command register. */
int facet_core_set_bus_master(struct facet_core_dev *dev, bool enable);

/** Describe region @index. Returns 0 or -EINVAL. */
int facet_core_region_info(struct facet_core_dev *dev, unsigned int index,
			   struct facet_core_region_info *info);

/**
 * Map the mappable parts of BAR @bar and return a pointer to its start:
 * offsets within the mmap areas of facet_core_region_info() may be
 * dereferenced directly (volatile, aligned accesses). Mapped once, on first
 * call; unmapped at close. Returns -ENOTSUP if nothing of it is mappable.
 */
int facet_core_bar_map(struct facet_core_dev *dev, unsigned int bar, void **base);

/**
 * Read or write a BAR (or any region) through the transport: an mmap when
 * the range lies in a mapped area, a message or pread/pwrite otherwise.
 * For registers with side effects use 1, 2, 4 or 8-byte accesses.
 */
int facet_core_region_read(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
			   void *buf, size_t len);
int facet_core_region_write(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
			    const void *buf, size_t len);

/** 32-bit register helpers on top of facet_core_region_read/write(). */
int facet_core_read32(struct facet_core_dev *dev, unsigned int bar, uint64_t offset,
		      uint32_t *value);
int facet_core_write32(struct facet_core_dev *dev, unsigned int bar, uint64_t offset,
		       uint32_t value);

/**
 * An ioeventfd for the register of @size bytes (1, 2, 4 or 8) at @offset of
 * region @index: writing an 8-byte value to *@fd (eventfd semantics) stands
 * for a write to that register, which the device sees with no message and no
 * reply. The device decides which registers have one, and what such a write
 * means (typically a wake-up that ignores the value; a register with a
 * datamatch is not offered). The caller owns *@fd: it stays valid until
 * close(), also across a device reset, and keeps nothing of the device alive.
 * Returns 0, -ENOENT (no ioeventfd for that register), -EINVAL, or -ENOTSUP
 * (the transport has none: kernel VFIO for now, whose VFIO_DEVICE_IOEVENTFD
 * works the other way round, the kernel writing the register when an eventfd
 * we give it fires).
 */
int facet_core_region_ioeventfd(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
				uint32_t size, int *fd);

/* ---- interrupts --------------------------------------------------------- */

/** Number of vectors of interrupt type @type (0 if none). */
int facet_core_irq_count(struct facet_core_dev *dev, enum facet_core_irq_type type,
			 unsigned int *count);

/**
 * Route vectors [@start, @start + @count) of @type to the eventfds in @fds
 * (-1 leaves a vector unrouted). The device signals an interrupt by making
 * the eventfd readable. Returns 0 or a negative errno.
 */
int facet_core_irq_enable(struct facet_core_dev *dev, enum facet_core_irq_type type,
			  unsigned int start, unsigned int count, const int *fds);

/** Disable every vector of @type. */
int facet_core_irq_disable(struct facet_core_dev *dev, enum facet_core_irq_type type);

/** Function-level reset. Returns 0, -ENOTSUP, or a negative errno. */
int facet_core_reset(struct facet_core_dev *dev);

/* ---- DMA memory --------------------------------------------------------- */

/** DMA access the device gets. */
#define FACET_CORE_DMA_READ  (1u << 0) /**< device reads the memory */
#define FACET_CORE_DMA_WRITE (1u << 1) /**< device writes the memory */
#define FACET_CORE_DMA_RW    (FACET_CORE_DMA_READ | FACET_CORE_DMA_WRITE)

/** Options for facet_core_dma_alloc(). */
struct facet_core_dma_opts {
	int numa_node;	   /**< -1: the device's node (or any) */
	uint32_t access;   /**< FACET_CORE_DMA_*; 0 means RW */
	bool no_hugepages; /**< use 4 KiB pages even when hugepages are available */
	size_t align;	   /**< IOVA and VA alignment; 0: page size */
};

/**
 * Allocate @size bytes of zeroed, fd-backed DMA memory (hugepages when the
 * system has them free, else 4 KiB pages), place it on the NUMA node, and
 * map it for the device at an IOVA from the device's allocator. Returns 0
 * and sets *@dma, or -ENOMEM / -ENOSPC (no IOVA space) / the transport's error.
 */
int facet_core_dma_alloc(struct facet_core_dev *dev, size_t size,
			 const struct facet_core_dma_opts *opts, struct facet_core_dma **dma);

/** Unmap from the device and free. */
void facet_core_dma_free(struct facet_core_dma *dma);

/** The memory's address in this process. */
void *facet_core_dma_va(const struct facet_core_dma *dma);
/** The address the device uses. */
uint64_t facet_core_dma_iova(const struct facet_core_dma *dma);
/** Size as mapped (rounded up to the page size). */
size_t facet_core_dma_size(const struct facet_core_dma *dma);

/**
 * Map memory the application already owns (e.g. a DPDK mempool). @fd/@offset
 * describe its backing file (-1 if none: a vfio-user server then reaches it
 * through DMA_READ/WRITE messages, slowly). @va and @len must be page
 * aligned. Returns 0 and sets *@iova, -EEXIST if it overlaps a mapping, or
 * the transport's error.
 */
int facet_core_dma_register(struct facet_core_dev *dev, void *va, size_t len, int fd,
			    uint64_t offset, uint32_t access, uint64_t *iova);

/** Undo facet_core_dma_register(); @iova as returned. Returns 0 or -ENOENT. */
int facet_core_dma_unregister(struct facet_core_dev *dev, uint64_t iova);

/** Number of DMA mappings the device holds (allocations and registrations). */
unsigned int facet_core_dma_count(const struct facet_core_dev *dev);

#ifdef __cplusplus
}
#endif

#endif /* FACET_CORE_H */
