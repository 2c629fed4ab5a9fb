/* SPDX-License-Identifier: MIT */
/*
 * net_facet: RX and TX queue setup and release (see facet_ethdev.h for the
 * two modes). A queue is set up in DPDK's terms (an ethdev queue object with
 * the pools its bursts use) and in facet_eth's (the device ring).
 */
#include <errno.h>
#include <string.h>

#include <ethdev_driver.h>
#include <rte_malloc.h>

#include "facet_ethdev.h"

/* ---- pools in the port's DMA memory ----------------------------------------------------- */

/* A pool of @count buffers in the DMA memory of @port's device. */
static int port_pool_create(struct facet_eth_port *port, uint32_t count,
			    struct facet_pktbuf_pool **pool)
{
	struct facet_pktbuf_pool_opts popts = { .numa_node = -1, .count = count };

	return facet_pktbuf_pool_create(facet_eth_port_dma_dev(port),
					facet_eth_port_dma_owner(port), &popts, pool);
}

/* An external-buffer pool (headers for mbufs' buffers) for @port's device. */
static int port_pool_create_ext(struct facet_eth_port *port,
				const struct facet_pktbuf_ext_opts *eopts,
				struct facet_pktbuf_pool **pool)
{
	return facet_pktbuf_pool_create_ext(facet_eth_port_dma_dev(port),
					    facet_eth_port_dma_owner(port), eopts, pool);
}

/* ---- RX --------------------------------------------------------------------------------- */

static void rxq_free(struct facet_pmd_rxq *rxq)
{
	if (!rxq)
		return;
	facet_pktbuf_pool_free(rxq->pool);
	facet_pmd_mem_put(rxq->mem); /* after the pool: no mbuf of it is posted any more */
	rte_free(rxq);
}

/* Copy mode: the ring's buffers plus a burst's worth being copied out. */
static int rxq_setup_copy(struct facet_pmd_internals *in, struct facet_pmd_rxq *rxq)
{
	return port_pool_create(in->port, 2u * rxq->nb_desc + FACET_PMD_BURST, &rxq->pool);
}

/* What the zero-copy burst stores into each mbuf's rearm_data: a fresh mbuf of this port. */
static void rxq_mbuf_template(struct facet_pmd_rxq *rxq)
{
	struct rte_mbuf mb;

	memset(&mb, 0, sizeof(mb));
	mb.data_off = RTE_PKTMBUF_HEADROOM;
	mb.refcnt = 1;
	mb.nb_segs = 1;
	mb.port = rxq->port_id;
	rxq->mbuf_rearm = *facet_pmd_mbuf_rearm(&mb);
	rxq->mbuf_hdr = (uint16_t)(sizeof(struct rte_mbuf) + rte_pktmbuf_priv_size(rxq->mp));
	rxq->pinned_ext = rte_pktmbuf_priv_flags(rxq->mp) & RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF;
}

/*
 * Zero copy: the pool's buffers are the mempool's mbufs. A mempool the
 * device cannot map still gets its pool (the port stays configurable) but
 * the queue is marked so that dev_start refuses with the reason.
 */
static int rxq_setup_zc(struct rte_eth_dev *dev, struct facet_pmd_rxq *rxq)
{
	struct facet_pmd_internals *in = facet_pmd_priv(dev);
	uint16_t room = rte_pktmbuf_data_room_size(rxq->mp);
	/* Headers: the ring, a refill chunk, and a frame straddling two bursts. */
	struct facet_pktbuf_ext_opts eopts = {
		.ops = &facet_pmd_rx_ext_ops,
		.ctx = rxq,
		.count = rxq->nb_desc + 2u * FACET_PMD_BURST,
		.buf_size = room,
	};
	int ret;

	if (room < RTE_PKTMBUF_HEADROOM + RTE_ETHER_MIN_LEN) {
		FACET_PMD_LOG(ERR, "%s: mbufs of mempool \"%s\" hold %u bytes, need at least %u",
			      dev->data->name, rxq->mp->name, room,
			      RTE_PKTMBUF_HEADROOM + RTE_ETHER_MIN_LEN);
		return -EINVAL;
	}
	ret = facet_pmd_mem_get(in->port, &rxq->mem);
	if (ret < 0)
		return ret;
	rxq->mode = FACET_PMD_QMODE_ZC;
	if (facet_pmd_mem_check_mempool(rxq->mem, rxq->mp, rxq->why, sizeof(rxq->why)) < 0)
		rxq->mode = FACET_PMD_QMODE_NOSHARE;
	rxq_mbuf_template(rxq);
	return port_pool_create_ext(in->port, &eopts, &rxq->pool);
}

int facet_pmd_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
			     unsigned int socket_id, const struct rte_eth_rxconf *rx_conf,
			     struct rte_mempool *mp)
{
	struct facet_pmd_internals *in = facet_pmd_priv(dev);
	struct facet_pmd_rxq *rxq;
	int ret;

	RTE_SET_USED(rx_conf);
	rxq = rte_zmalloc_socket("facet_rxq", sizeof(*rxq), RTE_CACHE_LINE_SIZE, socket_id);
	if (!rxq)
		return -ENOMEM;
	rxq->port = in->port;
	rxq->qid = qid;
	rxq->port_id = dev->data->port_id;
	rxq->mode = FACET_PMD_QMODE_COPY;
	rxq->mp = mp;
	rxq->data = dev->data;
	rxq->nb_desc = facet_pmd_desc_fit(nb_desc, in->info.rx_desc_min, in->info.rx_desc_max);
	ret = in->copy ? rxq_setup_copy(in, rxq) : rxq_setup_zc(dev, rxq);
	if (ret == 0)
		ret = facet_eth_rx_queue_setup(in->port, qid, rxq->nb_desc, rxq->pool);
	if (ret < 0) {
		FACET_PMD_LOG(ERR, "%s: rx queue %u (%u descriptors): %s", dev->data->name, qid,
			      rxq->nb_desc, strerror(-ret));
		rxq_free(rxq);
		return ret;
	}
	dev->data->rx_queues[qid] = rxq;
	return 0;
}

void facet_pmd_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	rxq_free(dev->data->rx_queues[qid]);
	dev->data->rx_queues[qid] = NULL;
}

/* ---- TX --------------------------------------------------------------------------------- */

static void txq_free(struct facet_pmd_txq *txq)
{
	if (!txq)
		return;
	facet_pktbuf_pool_free(txq->hdrs);
	facet_pktbuf_pool_free(txq->pool);
	facet_pmd_mem_put(txq->mem);
	rte_free(txq);
}

/* Copy mode: a full ring in flight plus the burst being filled. */
static int txq_setup_copy(struct facet_pmd_internals *in, struct facet_pmd_txq *txq)
{
	return port_pool_create(in->port, 2u * txq->nb_desc + FACET_PMD_BURST, &txq->pool);
}

/*
 * Zero copy: headers for the ring's segments (the mbufs' buffers) and a
 * small bounce pool for mbufs outside registered memory.
 */
static int txq_setup_zc(struct facet_pmd_internals *in, struct facet_pmd_txq *txq)
{
	struct facet_pktbuf_ext_opts eopts = {
		.ops = &facet_pmd_tx_ext_ops,
		.ctx = txq,
		.count = txq->nb_desc + 4u * FACET_PMD_BURST,
		.buf_size = RTE_MBUF_DEFAULT_BUF_SIZE, /* unused: each header gets its mbuf's */
	};
	int ret = facet_pmd_mem_get(in->port, &txq->mem);

	txq->mode = FACET_PMD_QMODE_ZC;
	if (ret == 0)
		ret = port_pool_create_ext(in->port, &eopts, &txq->hdrs);
	if (ret == 0)
		ret = port_pool_create(in->port, 4u * FACET_PMD_BURST, &txq->pool);
	return ret;
}

int facet_pmd_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
			     unsigned int socket_id, const struct rte_eth_txconf *tx_conf)
{
	struct facet_pmd_internals *in = facet_pmd_priv(dev);
	struct facet_pmd_txq *txq;
	int ret;

	RTE_SET_USED(tx_conf);
	txq = rte_zmalloc_socket("facet_txq", sizeof(*txq), RTE_CACHE_LINE_SIZE, socket_id);
	if (!txq)
		return -ENOMEM;
	txq->port = in->port;
	txq->qid = qid;
	txq->mode = FACET_PMD_QMODE_COPY;
	txq->nb_desc = facet_pmd_desc_fit(nb_desc, in->info.tx_desc_min, in->info.tx_desc_max);
	ret = in->copy ? txq_setup_copy(in, txq) : txq_setup_zc(in, txq);
	if (ret == 0)
		ret = facet_eth_tx_queue_setup(in->port, qid, txq->nb_desc);
	if (ret < 0) {
		FACET_PMD_LOG(ERR, "%s: tx queue %u (%u descriptors): %s", dev->data->name, qid,
			      txq->nb_desc, strerror(-ret));
		txq_free(txq);
		return ret;
	}
	dev->data->tx_queues[qid] = txq;
	return 0;
}

void facet_pmd_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	txq_free(dev->data->tx_queues[qid]);
	dev->data->tx_queues[qid] = NULL;
}

/* ---- all queues of a port ---------------------------------------------------------------- */

int facet_pmd_queues_restore(struct rte_eth_dev *dev)
{
	struct rte_eth_dev_data *data = dev->data;
	struct facet_eth_port *port = facet_pmd_priv(dev)->port;
	int ret;

	for (uint16_t q = 0; q < data->nb_rx_queues; q++) {
		struct facet_pmd_rxq *rxq = data->rx_queues[q];

		if (!rxq)
			continue;
		ret = facet_eth_rx_queue_setup(port, q, rxq->nb_desc, rxq->pool);
		if (ret < 0)
			return ret;
	}
	for (uint16_t q = 0; q < data->nb_tx_queues; q++) {
		struct facet_pmd_txq *txq = data->tx_queues[q];

		if (!txq)
			continue;
		ret = facet_eth_tx_queue_setup(port, q, txq->nb_desc);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Zero copy needs the mbufs in memory the device maps: say how to get there. */
static int check_shareable(struct rte_eth_dev *dev, const struct facet_pmd_rxq *rxq)
{
	if (rxq->mode != FACET_PMD_QMODE_NOSHARE)
		return 0;
	FACET_PMD_LOG(ERR,
		      "%s: rx queue %u: %s. net_facet hands mbufs to the device (zero copy), "
		      "so the mbufs must be in DPDK memory with file descriptors the device "
		      "process can map: create the mempool in DPDK's own memory (hugepages: "
		      "scripts/setup-hugepages.sh, EAL --in-memory --single-file-segments; "
		      "or --no-huge), not in external memory, or add copy=1 to the devargs "
		      "to copy every frame instead",
		      dev->data->name, rxq->qid, rxq->why);
	return -ENOTSUP;
}

int facet_pmd_queues_check(struct rte_eth_dev *dev)
{
	int ret;

	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++) {
		if (!dev->data->rx_queues[q]) {
			FACET_PMD_LOG(ERR, "%s: rx queue %u not set up", dev->data->name, q);
			return -EINVAL;
		}
		ret = check_shareable(dev, dev->data->rx_queues[q]);
		if (ret < 0)
			return ret;
	}
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++) {
		if (!dev->data->tx_queues[q]) {
			FACET_PMD_LOG(ERR, "%s: tx queue %u not set up", dev->data->name, q);
			return -EINVAL;
		}
	}
	return 0;
}

void facet_pmd_queues_release(struct rte_eth_dev *dev)
{
	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++)
		facet_pmd_rx_queue_release(dev, q);
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++)
		facet_pmd_tx_queue_release(dev, q);
}
