/* SPDX-License-Identifier: MIT */
/*
 * facet_vfu_server: serve one PCI device over vfio-user.
 *
 * The server listens on a UNIX socket and serves one client at a time, in a
 * thread of its own. The device model describes its regions and interrupts
 * once (struct facet_vfu_device_desc) and is called back for trapped region
 * accesses, reset and DMA map changes. When a client leaves, its DMA maps and
 * interrupt eventfds are dropped but the device state is kept, and the next
 * client may connect.
 *
 * Errors are negative errno values with a log line (tag "vfu").
 */
#ifndef FACET_VFU_SERVER_H
#define FACET_VFU_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct facet_vfu_server;

/** Region flags. */
#define FACET_VFU_REGION_READ  (1u << 0)
#define FACET_VFU_REGION_WRITE (1u << 1)
#define FACET_VFU_REGION_MMAP  (1u << 2)

/** DMA access bits for facet_vfu_server_dma_translate(). */
#define FACET_VFU_DMA_READ  (1u << 0)
#define FACET_VFU_DMA_WRITE (1u << 1)

/** Region indexes, as VFIO numbers PCI regions. */
#define FACET_VFU_PCI_BAR0	  0
#define FACET_VFU_PCI_ROM	  6
#define FACET_VFU_PCI_CONFIG	  7
#define FACET_VFU_PCI_VGA	  8
#define FACET_VFU_PCI_NUM_REGIONS 9

/** Interrupt indexes, as VFIO numbers PCI interrupts. */
#define FACET_VFU_IRQ_INTX     0
#define FACET_VFU_IRQ_MSI      1
#define FACET_VFU_IRQ_MSIX     2
#define FACET_VFU_IRQ_ERR      3
#define FACET_VFU_IRQ_REQ      4
#define FACET_VFU_PCI_NUM_IRQS 5

/** Most sparse mmap areas a region may have. */
#define FACET_VFU_MAX_MMAP_AREAS 8

struct facet_vfu_region {
	uint64_t size;		   /**< 0: region absent */
	uint32_t flags;		   /**< FACET_VFU_REGION_* */
	int fd;			   /**< backing fd for the mmap areas, -1 if none */
	uint64_t fd_offset;	   /**< where the region starts in fd */
	unsigned int n_mmap_areas; /**< sparse mmap: areas the client may mmap */
	struct {
		uint64_t offset, size;
	} mmap_areas[FACET_VFU_MAX_MMAP_AREAS];
	/**
	 * Trapped access (everything outside the mmap areas, and all of config
	 * space). Runs in the server thread. Return 0 or -errno (the client
	 * gets an error reply).
	 */
	int (*access)(void *dev, unsigned int index, uint64_t offset, void *buf, size_t len,
		      bool write);
};

struct facet_vfu_device_ops {
	/** DEVICE_RESET */
	int (*reset)(void *dev);
	/** After a DMA_MAP took effect. */
	void (*dma_added)(void *dev, uint64_t iova, uint64_t len);
	/** Before DMA_UNMAP: stop using it. */
	void (*dma_removing)(void *dev, uint64_t iova, uint64_t len);
	/** SET_IRQS changed the eventfds of @index. */
	void (*irqs_changed)(void *dev, unsigned int index);
	void (*client_connected)(void *dev);
	/** Maps and irq fds already dropped; device state kept. */
	void (*client_gone)(void *dev);
};

struct facet_vfu_device_desc {
	const char *name;
	uint32_t pci_flags_reset; /**< nonzero: advertise VFIO_DEVICE_FLAGS_RESET */
	/** VFIO PCI indexes: BAR0-5 = 0-5, ROM 6, CONFIG 7, VGA 8 */
	struct facet_vfu_region regions[FACET_VFU_PCI_NUM_REGIONS];
	/** INTx, MSI, MSI-X, ERR, REQ */
	unsigned int irq_counts[FACET_VFU_PCI_NUM_IRQS];
	const struct facet_vfu_device_ops *ops; /**< may be NULL, as may any op */
	void *dev;				/**< passed to callbacks */
};

/**
 * Create the socket at @path (unlink a stale one), listen, and serve in a
 * thread of its own, one client at a time; a new client may connect after the
 * previous one left. @desc is copied (the fds in it are not: they must stay
 * open until destroy).
 */
int facet_vfu_server_create(const char *path, const struct facet_vfu_device_desc *desc,
			    struct facet_vfu_server **out);

/** Disconnect the client, stop the thread, remove the socket, free. */
void facet_vfu_server_destroy(struct facet_vfu_server *srv);

/**
 * DMA, for the device (any thread). The device holds the DMA read lock while
 * it uses translated pointers (e.g. per burst); DMA_UNMAP takes the write
 * side, so when it replies no access is in flight.
 */
void facet_vfu_server_dma_lock(struct facet_vfu_server *srv);
void facet_vfu_server_dma_unlock(struct facet_vfu_server *srv);

/**
 * Under the lock: pointer to [iova, iova+len) if wholly inside one fd-backed
 * map with @prot (FACET_VFU_DMA_READ/WRITE bits), else -EFAULT (outside any
 * map, or crosses maps) / -EACCES (no permission) / -ENOTSUP (map has no fd).
 */
int facet_vfu_server_dma_translate(struct facet_vfu_server *srv, uint64_t iova, size_t len,
				   uint32_t prot, void **va);

/** A whole DMA map, as facet_vfu_server_dma_window() reports it. */
struct facet_vfu_dma_window {
	uint64_t iova;
	uint64_t len;
	uint32_t prot; /* FACET_VFU_DMA_* the map grants */
	void *va;      /* start of the map in our mapping; NULL: no fd (messages only) */
};

/**
 * Under the lock: the map containing @iova (0), or -EFAULT. For translation
 * caches: the window (and its va) stays valid while the read lock is held,
 * and across lock holds while facet_vfu_server_dma_gen() is unchanged.
 * translate() on a range is the same as checking it against this window.
 */
int facet_vfu_server_dma_window(struct facet_vfu_server *srv, uint64_t iova,
				struct facet_vfu_dma_window *w);

/** Under the lock: the map table's generation, changed by every DMA_MAP and DMA_UNMAP. */
uint64_t facet_vfu_server_dma_gen(struct facet_vfu_server *srv);

/**
 * Copy in/out (take the lock themselves): through the mmap, or
 * DMA_READ/DMA_WRITE messages for maps without an fd; -EFAULT outside mapped
 * memory, -EACCES without permission. Usable from any thread, including a
 * region access() callback (commands are served apart from the socket
 * reader). The read lock may be held around them (it is readers-first).
 */
int facet_vfu_server_dma_read(struct facet_vfu_server *srv, uint64_t iova, void *buf, size_t len);
int facet_vfu_server_dma_write(struct facet_vfu_server *srv, uint64_t iova, const void *buf,
			       size_t len);

/** Most ioeventfds a server hands out (all regions together). */
#define FACET_VFU_MAX_IOEVENTFDS 8

/**
 * Offer an ioeventfd for a sub-region (DEVICE_GET_REGION_IO_FDS): a client
 * that writes the 8-byte eventfd counter of @fd instead of sending a
 * REGION_WRITE of @size bytes at @offset of region @index means that write,
 * with no message and no reply. @datamatch_on: only a write of @datamatch
 * (the client's business; the device sees only the eventfd). The device
 * reads @fd; it is borrowed and must stay open until destroy. Callable
 * before or after a client connects (the next query sees it). Returns 0,
 * -EINVAL (bad region or range, fd < 0) or -ENOSPC.
 */
int facet_vfu_server_add_ioeventfd(struct facet_vfu_server *srv, unsigned int index,
				   uint64_t offset, uint64_t size, bool datamatch_on,
				   uint64_t datamatch, int fd);

/** Signal vector @vector of irq type @index: write its eventfd. -ENOENT if none set. */
int facet_vfu_server_irq_raise(struct facet_vfu_server *srv, unsigned int index,
			       unsigned int vector);

/**
 * True from the moment a client connects until it has left and its maps and
 * eventfds were dropped (client_gone has returned).
 */
bool facet_vfu_server_has_client(struct facet_vfu_server *srv);

/** Number of DMA maps the current client holds (0 without a client). */
unsigned int facet_vfu_server_dma_count(struct facet_vfu_server *srv);

#ifdef __cplusplus
}
#endif

#endif /* FACET_VFU_SERVER_H */
