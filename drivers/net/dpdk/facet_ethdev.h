/* SPDX-License-Identifier: MIT */
/*
 * net_facet: a DPDK poll-mode driver on top of facet_eth (private header).
 *
 * One ethdev per --vdev net_facetN,dev=DEVICE[,port=NAME]. Every net_facet
 * port of the process shares one Facet bus; each distinct DEVICE is opened
 * once on it (facet_core_bus_open: the core and Ethernet slice plugins
 * autoload) and the ethdev drives the facet_eth port NAME of it (default:
 * the device's first port). The ethdev ops are thin wrappers of the
 * facet_eth control calls; the bursts (facet_rxtx.c) wrap facet_eth's.
 *
 * Datapath: zero copy (facet_mem.c, facet_rxtx.c).
 *  1. Memory. The first queue set up on a device registers every DPDK memory
 *     segment that has a file descriptor with it (facet_core_dma_register:
 *     the device process maps the same pages), merging runs of one fd, and
 *     follows rte_mem_event_callback_register() (ALLOC: register, FREE:
 *     unregister) while any queue lives. Each device has its own IOVAs for
 *     the same VA, so each keeps a sorted VA -> IOVA table; a change
 *     publishes a new table (the bursts load the pointer once per burst, no
 *     lock) and old tables are freed when the device's last queue goes.
 *     DPDK memory is fd-backed with hugepages (--in-memory: memfd; hugetlbfs
 *     files otherwise) and with --no-huge (one memfd); it is not with
 *     --legacy-mem on hugetlbfs, nor for external memory without an fd.
 *  2. RX. The queue's pool is an external-buffer facet_pktbuf pool
 *     (facet_pktbuf_pool_create_ext) whose attach() takes mbufs from the
 *     mempool with one rte_mempool_get_bulk per refill and points a header
 *     at each mbuf's buffer (IOVA from the table). The device writes frames
 *     into the mbufs; the burst turns each returned header into its mbuf
 *     (one store for data_off/refcnt/nb_segs/port, lengths, flags) and
 *     gives the headers back with facet_pktbuf_pool_detach_bulk().
 *  3. TX. Each mbuf segment is described by a header of the queue's
 *     external pool (buffer IOVA from the table of the queue's device, so an
 *     mbuf received on one device is sent on another without a copy); the
 *     header of a frame's last segment carries the mbuf, and the driver's
 *     completion reclaim frees the mbufs with rte_pktmbuf_free_bulk().
 *     A segment outside registered memory is copied into the queue's small
 *     bounce pool (slow path, counted).
 * Setup checks that every mbuf of an RX queue's mempool is in registered
 * memory; if not, dev_start fails and says to run with hugepages
 * (--in-memory, scripts/setup-hugepages.sh) or to ask for copy mode.
 *
 * Copy mode (devarg copy=1, for memory that cannot be shared and for
 * comparison): each queue owns a facet_pktbuf pool in the port's DMA
 * memory; RX copies received frames into mbufs, TX copies mbufs into
 * buffers of the queue's pool.
 *
 * Per burst, either mode: one facet burst, bulk mbuf get/free, no lock and
 * no syscall.
 */
#ifndef FACET_ETHDEV_H
#define FACET_ETHDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ethdev_driver.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "facet_eth.h"
#include "facet_pktbuf.h"

#define FACET_PMD_NAME net_facet

extern int facet_pmd_logtype;
#define FACET_PMD_LOG(level, fmt, ...)                                                             \
	rte_log(RTE_LOG_##level, facet_pmd_logtype, "%s(): " fmt "\n", __func__, ##__VA_ARGS__)

/** Frames moved per facet burst (the stack arrays of the bursts). */
#define FACET_PMD_BURST 64

/** How a queue moves data between mbufs and facet_pktbufs. */
enum facet_pmd_qmode {
	FACET_PMD_QMODE_COPY = 0, /**< memcpy through the queue's own pool (copy=1) */
	FACET_PMD_QMODE_ZC,	  /**< mbuf data is the device buffer */
	FACET_PMD_QMODE_NOSHARE,  /**< zero copy impossible (mempool not shareable): no start */
};

/* ---- registered memory (facet_mem.c) ------------------------------------------------ */

/** One registration: [va, end) is at @iova in the device's DMA space. */
struct facet_pmd_iova_range {
	uintptr_t va, end;
	uint64_t iova;
};

/** A device's registrations sorted by VA; immutable once published. */
struct facet_pmd_iova_table {
	uint32_t n; /**< ranges; r[] has at least one (empty) entry */
	struct facet_pmd_iova_range r[];
};

/** DPDK memory registered with one Facet device (shared by its queues). */
struct facet_pmd_mem {
	const struct facet_pmd_iova_table *table; /**< hot: the bursts load it once each */
	struct facet_core_dev *pci;
	struct facet_bus_device *owner; /**< referenced while registrations exist */
	unsigned int refcnt;		/**< queues using it */
	struct facet_pmd_mem_reg *regs; /**< the registrations, sorted by VA */
	unsigned int nregs, regs_cap;
	struct facet_pmd_mem_old *retired; /**< tables replaced, freed with the object */
	uint64_t bytes;			   /**< registered */
	struct facet_pmd_mem *next;
};

#define FACET_PMD_IOVA_NONE UINT64_MAX

/** Slow path of facet_pmd_iova(): binary search, updates *@hint. */
uint64_t facet_pmd_iova_lookup(const struct facet_pmd_iova_table *t, uint32_t *hint, uintptr_t va,
			       uint32_t len);

/**
 * IOVA of [@va, @va + @len) for the table's device, or FACET_PMD_IOVA_NONE
 * if it is not inside one registration. @hint: the caller's last hit, an
 * index valid for @t (reset it to 0 when the table changes).
 */
static __rte_always_inline uint64_t facet_pmd_iova(const struct facet_pmd_iova_table *t,
						   uint32_t *hint, const void *va, uint32_t len)
{
	const struct facet_pmd_iova_range *r = &t->r[*hint];
	uintptr_t a = (uintptr_t)va;

	if (likely(a >= r->va && a + len <= r->end))
		return r->iova + (a - r->va);
	return facet_pmd_iova_lookup(t, hint, a, len);
}

/** The table the bursts use now (acquire: its ranges are mapped). */
static __rte_always_inline const struct facet_pmd_iova_table *
facet_pmd_mem_table(const struct facet_pmd_mem *mem)
{
	return __atomic_load_n(&mem->table, __ATOMIC_ACQUIRE);
}

/**
 * Take a reference on the registered memory of @port's device; the first
 * registers all fd-backed DPDK memory with it. Control path only.
 * Returns 0, -ENOMEM, or the device's error.
 */
int facet_pmd_mem_get(struct facet_eth_port *port, struct facet_pmd_mem **mem);

/** Drop it; the last reference unregisters everything (the device is stopped). */
void facet_pmd_mem_put(struct facet_pmd_mem *mem);

/**
 * Whether every mbuf buffer of @mp lies in memory registered with the
 * device. Returns 0, or -ENOTSUP with the reason in @why.
 */
int facet_pmd_mem_check_mempool(struct facet_pmd_mem *mem, struct rte_mempool *mp, char *why,
				size_t why_len);

/* ---- queues ------------------------------------------------------------------------------ */

/** An RX queue: data->rx_queues[qid]. */
struct facet_pmd_rxq {
	struct facet_eth_port *port;		  /**< hot: first */
	struct facet_pktbuf_pool *pool;		  /**< device buffers (copy) or mbuf headers (zc) */
	const struct facet_pmd_iova_table *table; /**< zc: the table @hint indexes */
	uint32_t hint;
	uint16_t qid;
	uint16_t port_id;
	uint64_t mbuf_rearm;	/**< zc: data_off, refcnt 1, nb_segs 1, port */
	struct rte_mempool *mp; /**< the application's mbufs */
	uint16_t mbuf_hdr;	/**< zc: bytes from an mbuf to its buffer */
	bool pinned_ext;	/**< zc: buffers are not behind the mbufs (read buf_addr) */
	enum facet_pmd_qmode mode;
	struct rte_eth_dev_data *data; /**< rx_mbuf_alloc_failed */
	struct facet_pmd_mem *mem;     /**< zc: registered memory of the device */
	uint16_t nb_desc;
	char why[160]; /**< NOSHARE: why zero copy is impossible */
} __rte_cache_aligned;

/** A TX queue: data->tx_queues[qid]. */
struct facet_pmd_txq {
	struct facet_eth_port *port;		  /**< hot: first */
	struct facet_pktbuf_pool *hdrs;		  /**< zc: segment headers (external pool) */
	struct facet_pktbuf_pool *pool;		  /**< bounce buffers (copy mode; zc: misses) */
	const struct facet_pmd_iova_table *table; /**< zc: the table @hint indexes */
	uint32_t hint;
	uint16_t qid;
	enum facet_pmd_qmode mode;
	uint64_t nobuf;		   /**< bursts cut short: pool empty */
	uint64_t copied;	   /**< zc: frames copied (buffers outside registered memory) */
	struct facet_pmd_mem *mem; /**< zc: registered memory of the device */
	uint16_t nb_desc;
} __rte_cache_aligned;

/** The ethdev's private data. */
struct facet_pmd_internals {
	struct facet_pmd_dev *fdev;  /**< the opened Facet device (shared) */
	struct facet_eth_port *port; /**< reference held until close */
	char port_name[FACET_ETH_NAME_MAX];
	struct facet_eth_dev_info info;
	struct rte_ether_addr mac;
	bool copy; /**< devarg copy=1: copy mode instead of zero copy */
};

/*
 * data_off, refcnt, nb_segs and port of an mbuf as one 8-byte word (ethdev's
 * rearm_data marker), so a received mbuf gets them with one store.
 */
static __rte_always_inline uint64_t *facet_pmd_mbuf_rearm(struct rte_mbuf *m)
{
	return (uint64_t *)((uint8_t *)m + offsetof(struct rte_mbuf, rearm_data));
}

/* facet_rxtx.c: copy mode (facet_pmd_*_burst) and zero copy (facet_pmd_*_burst_zc) */
uint16_t facet_pmd_rx_burst(void *rxq, struct rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t facet_pmd_tx_burst(void *txq, struct rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t facet_pmd_rx_burst_zc(void *rxq, struct rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t facet_pmd_tx_burst_zc(void *txq, struct rte_mbuf **pkts, uint16_t nb_pkts);
/* The external-pool callbacks of zero-copy queues (ctx: the queue). */
extern const struct facet_pktbuf_ext_ops facet_pmd_rx_ext_ops;
extern const struct facet_pktbuf_ext_ops facet_pmd_tx_ext_ops;

#endif /* FACET_ETHDEV_H */
