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
 * Datapath, first step: copy mode. Each queue owns a facet_pktbuf pool in
 * the port's DMA memory; RX copies received frames into mbufs of the
 * application's mempool, TX copies mbufs into buffers of the queue's pool.
 * Per burst: one facet burst, one rte_pktmbuf_alloc_bulk (RX) or one
 * facet_pktbuf_alloc_bulk + rte_pktmbuf_free_bulk (TX); no lock, no syscall.
 *
 * Zero-copy, the next step (the queue structures below keep a "mode" so the
 * copy path stays as the fallback):
 *  1. Memory. At the first probe, walk DPDK's memsegs
 *     (rte_memseg_contig_walk_thread_unsafe under rte_mcfg_mem_read_lock)
 *     and register each contiguous run with every opened device:
 *     facet_core_dma_register(dev, va, len, rte_memseg_get_fd_thread_unsafe(ms),
 *     rte_memseg_get_fd_offset_thread_unsafe(ms), ...), keeping a sorted
 *     VA -> IOVA range table per device (read-only on the datapath, replaced
 *     RCU-style). Follow rte_mem_event_callback_register() (ALLOC: register,
 *     FREE: unregister) and rte_extmem. Memory without an fd (--no-huge) or
 *     not registered keeps the copy path: decided per queue at setup (RX:
 *     the whole mempool registered? rte_mempool_mem_iter) and per mbuf on TX
 *     (range lookup miss -> copy).
 *  2. RX. lib/eth grows external-buffer pools: a facet_pktbuf_pool whose
 *     get_bulk is rte_pktmbuf_alloc_bulk of the queue's mempool, each
 *     facet_pktbuf header taken from a per-queue shadow array indexed by the
 *     mbuf (udata = mbuf, buf_iova from the range table), and whose put
 *     frees the mbuf. The refnic RX path is unchanged (it posts
 *     pktbuf->buf_iova); the PMD turns each returned pktbuf into its mbuf
 *     (data_off, data_len, pkt_len, next, flags) without touching the data.
 *  3. TX. Each mbuf segment gets a shadow facet_pktbuf (buf_iova =
 *     range-table IOVA of the mbuf data, pool = an external pool whose put
 *     is rte_pktmbuf_free_seg), so completed descriptors free the mbufs in
 *     refnic's existing bulk reclaim.
 */
#ifndef FACET_ETHDEV_H
#define FACET_ETHDEV_H

#include <stdbool.h>
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
	FACET_PMD_QMODE_COPY = 0, /**< memcpy through the queue's own pool */
	/* FACET_PMD_QMODE_ZC: mbuf data is the device buffer (next step) */
};

/** An RX queue: data->rx_queues[qid]. */
struct facet_pmd_rxq {
	struct facet_eth_port *port; /**< hot: first */
	uint16_t qid;
	uint16_t port_id;
	enum facet_pmd_qmode mode;
	struct rte_mempool *mp;		/**< the application's mbufs */
	struct facet_pktbuf_pool *pool; /**< the device buffers (copy mode) */
	struct rte_eth_dev_data *data;	/**< rx_mbuf_alloc_failed */
	uint16_t nb_desc;
} __rte_cache_aligned;

/** A TX queue: data->tx_queues[qid]. */
struct facet_pmd_txq {
	struct facet_eth_port *port; /**< hot: first */
	uint16_t qid;
	enum facet_pmd_qmode mode;
	struct facet_pktbuf_pool *pool; /**< bounce buffers (copy mode) */
	uint64_t nobuf;			/**< bursts cut short: pool empty */
	uint16_t nb_desc;
} __rte_cache_aligned;

/** The ethdev's private data. */
struct facet_pmd_internals {
	struct facet_pmd_dev *fdev;  /**< the opened Facet device (shared) */
	struct facet_eth_port *port; /**< reference held until close */
	char port_name[FACET_ETH_NAME_MAX];
	struct facet_eth_dev_info info;
	struct rte_ether_addr mac;
};

/* facet_rxtx.c */
uint16_t facet_pmd_rx_burst(void *rxq, struct rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t facet_pmd_tx_burst(void *txq, struct rte_mbuf **pkts, uint16_t nb_pkts);

#endif /* FACET_ETHDEV_H */
