/* SPDX-License-Identifier: MIT */
/*
 * net_facet: a DPDK poll-mode driver on top of facet_eth (private header).
 *
 * One ethdev per --vdev net_facetN,dev=DEVICE[,slice=NAME] (devargs:
 * facet_probe.c). Every net_facet port of the process shares one Facet bus;
 * each distinct DEVICE is opened once on it (facet_core_bus_open: the core
 * and Ethernet slice plugins autoload) and the ethdev drives the facet_eth
 * port of slice NAME of it (default: the device's first free one). The
 * ethdev ops are thin wrappers of the facet_eth control calls; the bursts
 * (facet_rxtx.c) wrap facet_eth's.
 *
 * Files, one concern each:
 *   facet_probe.c    vdev driver, devargs, the process's bus and opened devices, probe/remove
 *   facet_ethdev.c   the ops table; configure, info, start/stop/close, link, MAC, MTU, RX modes
 *   facet_queue.c    RX/TX queue setup and release
 *   facet_rss.c      RSS hash configuration and the redirection table
 *   facet_stats.c    basic and extended statistics
 *   facet_removal.c  the watchdog reporting a dead device (RTE_ETH_EVENT_INTR_RMV)
 *   facet_mem.c      DPDK memory registered with the device (zero copy)
 *   facet_rxtx.c     the bursts
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

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

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

/** The ethdev's private data (dev_private). */
static inline struct facet_pmd_internals *facet_pmd_priv(struct rte_eth_dev *dev)
{
	return dev->data->dev_private;
}

/** DPDK takes any ring size; the device wants a power of two in [@min, @max]. */
static inline uint16_t facet_pmd_desc_fit(uint16_t nb, uint16_t min, uint16_t max)
{
	uint32_t v = rte_align32pow2(nb ? nb : 1);

	/* Not nested: RTE_MIN/RTE_MAX inside each other shadow their locals. */
	v = RTE_MIN(v, (uint32_t)max);
	return (uint16_t)RTE_MAX(v, (uint32_t)min);
}

/* ---- the ethdev (facet_ethdev.c) ------------------------------------------------------ */

/** The ops of every net_facet ethdev. */
extern const struct eth_dev_ops facet_pmd_ops;

/* ---- the process's Facet bus, devices and ports (facet_probe.c) ------------------------ */

/** One opened Facet device, shared by the net_facet ports on it. */
struct facet_pmd_dev {
	TAILQ_ENTRY(facet_pmd_dev) next;
	char name[PATH_MAX]; /**< as given in dev= */
	struct facet_bus_device *bdev;
	struct facet_core_dev *pci; /**< owned by bdev: valid as long as it is */
	unsigned int refcnt;
};

/*
 * The net_facet ethdevs by ethdev port id, under facet_pmd_lock: the
 * facet_eth port each drives (one ethdev per facet_eth port) and the
 * removal state the watchdog keeps.
 */
struct facet_pmd_slot {
	struct facet_eth_port *port; /**< NULL: not a net_facet port */
	struct facet_pmd_dev *fdev;
	bool live;    /**< probing finished: events may be raised */
	bool removed; /**< the device died or the slice went away */
};

/**
 * Guards the bus, the opened devices and facet_pmd_slots. Taken by probe,
 * close and the watchdog (control threads), never on the datapath.
 */
extern pthread_mutex_t facet_pmd_lock;
extern struct facet_pmd_slot facet_pmd_slots[RTE_MAX_ETHPORTS];

/** Whether any device is open (the bus exists). Called with facet_pmd_lock held. */
bool facet_pmd_devs_open(void);

/**
 * Give the ethdev's facet_eth port back and drop its reference on the
 * device (the last one closes it, and the bus with the last device);
 * clears @in's port and fdev. Takes facet_pmd_lock.
 */
void facet_pmd_port_detach(struct facet_pmd_internals *in, uint16_t port_id);

/* ---- removal (facet_removal.c) ------------------------------------------------------------ */

/**
 * Whether the port or its device is gone (ops, not the watchdog); a closed
 * port is not a removed one. The is_removed op.
 */
int facet_pmd_is_removed(struct rte_eth_dev *dev);

/** The port is ready: from now on the watchdog may report its removal. */
void facet_pmd_watch_port(uint16_t port_id);

/* ---- queues (facet_queue.c) ---------------------------------------------------------------- */

int facet_pmd_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
			     unsigned int socket_id, const struct rte_eth_rxconf *rx_conf,
			     struct rte_mempool *mp);
int facet_pmd_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
			     unsigned int socket_id, const struct rte_eth_txconf *tx_conf);
void facet_pmd_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid);
void facet_pmd_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid);

/**
 * After facet_eth_configure(), which forgets the queue setups: set up again
 * the queues ethdev kept (those below the new counts).
 */
int facet_pmd_queues_restore(struct rte_eth_dev *dev);

/** Before start: every queue is set up and, in zero copy, its mbufs shareable. */
int facet_pmd_queues_check(struct rte_eth_dev *dev);

/** Release every queue (close: ethdev frees the queue arrays, not the queues). */
void facet_pmd_queues_release(struct rte_eth_dev *dev);

/* ---- RSS (facet_rss.c) ----------------------------------------------------------------------- */

/** facet_eth hash types (FACET_ETH_RSS_*) as RTE_ETH_RSS_* flags, and back. */
uint64_t facet_pmd_rss_to_rte(uint32_t types);
uint32_t facet_pmd_rss_from_rte(uint64_t hf);

/** After facet_eth_configure(): apply the RSS configuration ethdev was given. */
int facet_pmd_rss_configure(struct rte_eth_dev *dev);

int facet_pmd_rss_hash_update(struct rte_eth_dev *dev, struct rte_eth_rss_conf *rc);
int facet_pmd_rss_hash_conf_get(struct rte_eth_dev *dev, struct rte_eth_rss_conf *rc);
int facet_pmd_reta_update(struct rte_eth_dev *dev, struct rte_eth_rss_reta_entry64 *reta_conf,
			  uint16_t reta_size);
int facet_pmd_reta_query(struct rte_eth_dev *dev, struct rte_eth_rss_reta_entry64 *reta_conf,
			 uint16_t reta_size);

/* ---- statistics (facet_stats.c) ------------------------------------------------------------ */

int facet_pmd_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *stats);
int facet_pmd_stats_reset(struct rte_eth_dev *dev);
int facet_pmd_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int size);
int facet_pmd_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
			       unsigned int size);
int facet_pmd_xstats_reset(struct rte_eth_dev *dev);

/* ---- datapath -------------------------------------------------------------------------------- */

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
