/* SPDX-License-Identifier: MIT */
/*
 * Private to the refnic Ethernet slice driver (facet_net_refnic.so).
 *
 * refnic_eth.c        probe/remove, device events (link, queue errors)
 * refnic_eth_ctrl.c   the facet_eth port ops: info, MAC, MTU, RX mode, RSS, stats
 * refnic_eth_queue.c  queues on the device: start/stop, rings, buffers
 * refnic_eth_rx.c     the RX burst and refill
 * refnic_eth_tx.c     the TX burst and completion
 *
 * Datapath layout (docs/refnic.md, Ethernet datapath): each queue is a ring
 * of 16-byte descriptors plus a 64-byte status line, both in one DMA block.
 * The device writes status.head after writing back descriptors, so one
 * cache line per burst tells the driver what is done.
 */
#ifndef REFNIC_ETH_H
#define REFNIC_ETH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "facet_eth_driver.h"
#include "facet_log.h"
#include "refnic_core.h"

#define RFE_TAG "refnic_eth"

#define RFE_ERR(...)   FACET_ERR(RFE_TAG, __VA_ARGS__)
#define RFE_WARN(...)  FACET_WARN(RFE_TAG, __VA_ARGS__)
#define RFE_INFO(...)  FACET_INFO(RFE_TAG, __VA_ARGS__)
#define RFE_DEBUG(...) FACET_DEBUG(RFE_TAG, __VA_ARGS__)

/* The longest frame is MTU + 18: Ethernet header and one VLAN tag (docs/refnic.md). */
#define RFE_ETH_OVERHEAD 18
#define RFE_MIN_MTU	 68
#define RFE_DEFAULT_MTU	 1500
#define RFE_RX_MIN_BUF	 64 /* the device refuses smaller RX buffers */

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Fetch a ring line to write it: the device (on another core) had it last,
 * and a plain load then a store would move it twice. PREFETCHW is an x86-64
 * hint (a NOP on CPUs without it); elsewhere the write-intent prefetch.
 */
static inline void rfe_prefetchw(const void *p)
{
#if defined(__x86_64__) && !defined(__PRFCHW__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

struct rfe_eth;

/* Fields every queue has; the burst reads the first cache lines only. */
struct rfe_queue_common {
	volatile struct refnic_queue_status *status;
	struct facet_pktbuf **sw_ring; /* the buffer behind each descriptor */
	uint32_t mask;		       /* ring entries - 1 */
	uint32_t db_offset;
	const struct refnic_core_ops *ops;
	struct refnic_slice *slice;
};

/* The device side of a queue, the same for RX and TX (cold: control path only). */
struct rfe_hwq {
	uint8_t type; /* REFNIC_QT_RX or REFNIC_QT_TX */
	uint16_t nb_desc;
	bool created;
	uint32_t hw_qid;
	atomic_uint hw_error; /* REFNIC_QERR_* seen in the status line or an event */
	struct facet_core_dma *mem;
	struct refnic_queue_stats retired; /* counted by earlier incarnations */
};

struct rfe_rxq {
	/* hot: rx burst */
	struct rfe_queue_common c;
	struct refnic_rx_desc *ring;
	uint32_t ci;	   /* next descriptor to read */
	uint32_t pi;	   /* next descriptor to post */
	uint16_t buf_room; /* bytes the device may write per buffer */
	uint16_t refill_thresh;
	uint16_t qid;
	struct facet_pktbuf *pkt_first, *pkt_last; /* frame spanning bursts */
	struct facet_pktbuf_pool *pool;
	uint64_t nombuf;

	struct rfe_hwq hw __attribute__((aligned(64)));
};

struct rfe_txq {
	/* hot: tx burst */
	struct rfe_queue_common c;
	struct refnic_tx_desc *ring;
	uint32_t pi;			   /* next descriptor to write */
	uint32_t clean;			   /* next descriptor whose buffer to free */
	const _Atomic uint32_t *max_frame; /* the port's, follows the MTU */
	uint16_t qid;
	uint64_t sw_drops;		      /* frames refused before the device saw them */
	struct facet_pktbuf_pool *local_pool; /* last pool seen in our DMA space */
	struct facet_core_dev *pci;	      /* our DMA space */
	struct facet_pktbuf_pool *bounce;     /* for buffers of another device's pool */
	uint64_t bounced;

	struct rfe_hwq hw __attribute__((aligned(64)));
};

struct rfe_eth {
	struct facet_bus_device *dev;
	const char *name;
	const struct refnic_core_ops *ops;
	struct refnic_slice *slice;
	struct facet_eth_port *port;
	int event_sub;

	struct facet_core_dma *cmd_buf; /* data buffer of admin commands, under the port lock */

	_Atomic uint32_t max_frame; /* longest frame the device sends: MTU + headers */
	uint16_t nb_rxq, nb_txq;

	/* Queue tables: changed by ops (port lock) and read by the event thread. */
	pthread_mutex_t qlock;
	struct rfe_rxq *rxq[FACET_ETH_MAX_QUEUES];
	struct rfe_txq *txq[FACET_ETH_MAX_QUEUES];
	/* The setup, kept across stop/start. */
	uint16_t rx_desc[FACET_ETH_MAX_QUEUES];
	struct facet_pktbuf_pool *rx_pool[FACET_ETH_MAX_QUEUES];
	uint16_t tx_desc[FACET_ETH_MAX_QUEUES];

	atomic_uint_fast64_t queue_errors; /* QUEUE_ERROR events */
};

/* The device side of RX (@rx) or TX queue @qid, or NULL if it was never set up. */
static inline struct rfe_hwq *rfe_hwq(struct rfe_eth *eth, bool rx, uint16_t qid)
{
	if (rx)
		return eth->rxq[qid] ? &eth->rxq[qid]->hw : NULL;
	return eth->txq[qid] ? &eth->txq[qid]->hw : NULL;
}

/* refnic_eth.c */
/* One admin command; 0, or -EIO (logged with @what) for a bad status, or the API's error. */
int rfe_admin(struct rfe_eth *eth, struct refnic_sqe *sqe, uint64_t *result, const char *what);
extern const struct facet_eth_ops rfe_eth_ops;

/* refnic_eth_queue.c */
int rfe_configure(void *priv, const struct facet_eth_conf *conf);
int rfe_rx_queue_setup(void *priv, uint16_t qid, uint16_t nb_desc, struct facet_pktbuf_pool *pool);
int rfe_tx_queue_setup(void *priv, uint16_t qid, uint16_t nb_desc);
int rfe_start(void *priv, const struct facet_eth_conf *conf);
void rfe_stop(void *priv);
/* Free every queue (removal). */
void rfe_queues_free(struct rfe_eth *eth);
/* Counters of a created queue, through QUERY_QUEUE_STATS. */
int rfe_query_queue_stats(struct rfe_eth *eth, uint8_t type, uint32_t hw_qid,
			  struct refnic_queue_stats *out);
/* A QUEUE_ERROR event (event thread). */
void rfe_queue_error(struct rfe_eth *eth, uint8_t type, uint32_t hw_qid, uint8_t code);

/* refnic_eth_rx.c */
uint16_t rfe_rx_burst(void *queue, struct facet_pktbuf **bufs, uint16_t n);
/* Post buffers into every free slot; -ENOBUFS if the pool ran short. */
int rfe_rx_fill(struct rfe_rxq *q);
/* Return every posted buffer and a partial frame to the pool. */
void rfe_rx_drain(struct rfe_rxq *q);

/* refnic_eth_tx.c */
uint16_t rfe_tx_burst(void *queue, struct facet_pktbuf **bufs, uint16_t n);
/* Return every buffer still on the ring. */
void rfe_tx_drain(struct rfe_txq *q);

#endif /* REFNIC_ETH_H */
