/* SPDX-License-Identifier: MIT */
/*
 * Queues on the device. Setup only records sizes and pools; start allocates
 * each queue's ring and status line in one DMA block, creates the queue with
 * CREATE_QUEUE, posts RX buffers and installs the bursts. Stop destroys each
 * queue on the device *before* freeing its memory (after the DESTROY_QUEUE
 * completion the device no longer touches the ring) and returns every buffer
 * to its pool. On a dead device the commands fail at once and the memory is
 * freed anyway: unmapping it from the device comes first, so nothing can
 * write into it afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facet_core.h"
#include "refnic_eth.h"

#define RX_REFILL_THRESH 32
#define TX_BOUNCE_MAX	 512

static int ring_log(uint16_t nb_desc)
{
	return __builtin_ctz(nb_desc);
}

int rfe_configure(void *priv, const struct facet_eth_conf *conf)
{
	struct rfe_eth *eth = priv;

	/* Counters of the queues of an earlier configuration go with them. */
	rfe_queues_free(eth);
	memset(eth->rx_desc, 0, sizeof(eth->rx_desc));
	memset(eth->rx_pool, 0, sizeof(eth->rx_pool));
	memset(eth->tx_desc, 0, sizeof(eth->tx_desc));
	eth->nb_rxq = conf->nb_rxq;
	eth->nb_txq = conf->nb_txq;
	return 0;
}

int rfe_rx_queue_setup(void *priv, uint16_t qid, uint16_t nb_desc, struct facet_pktbuf_pool *pool)
{
	struct rfe_eth *eth = priv;

	if (facet_pktbuf_pool_dev(pool) != eth->ops->pci(eth->slice)) {
		RFE_ERR("%s: RX queue %u: the pool is in another device's DMA space", eth->name,
			qid);
		return -EINVAL;
	}
	if (facet_pktbuf_pool_buf_size(pool) < FACET_PKTBUF_HEADROOM + RFE_RX_MIN_BUF) {
		RFE_ERR("%s: RX queue %u: pool buffers of %u bytes, need %u", eth->name, qid,
			facet_pktbuf_pool_buf_size(pool), FACET_PKTBUF_HEADROOM + RFE_RX_MIN_BUF);
		return -EINVAL;
	}
	eth->rx_desc[qid] = nb_desc;
	eth->rx_pool[qid] = pool;
	return 0;
}

int rfe_tx_queue_setup(void *priv, uint16_t qid, uint16_t nb_desc)
{
	struct rfe_eth *eth = priv;

	eth->tx_desc[qid] = nb_desc;
	return 0;
}

/* ---- device commands --------------------------------------------------------- */

static int create_queue(struct rfe_eth *eth, uint8_t type, struct rfe_queue_common *c,
			uint16_t nb_desc, struct facet_core_dma *mem, uint32_t *hw_qid)
{
	uint64_t iova = facet_core_dma_iova(mem), result = 0;
	struct refnic_sqe sqe = {
		.opcode = REFNIC_OP_CREATE_QUEUE,
		.create_queue = {
			.type = type,
			.log_size = (uint8_t)ring_log(nb_desc),
			.ring_iova = iova,
			.status_iova = iova + (uint64_t)nb_desc * 16,
		},
	};
	int ret = rfe_admin(eth, &sqe, &result,
			    type == REFNIC_QT_RX ? "CREATE_QUEUE(RX)" : "CREATE_QUEUE(TX)");

	if (ret < 0)
		return ret;
	*hw_qid = REFNIC_CREATE_RESULT_QID(result);
	c->db_offset = REFNIC_CREATE_RESULT_DB_OFF(result);
	return 0;
}

static void destroy_queue(struct rfe_eth *eth, uint8_t type, uint32_t hw_qid)
{
	struct refnic_sqe sqe = {
		.opcode = REFNIC_OP_DESTROY_QUEUE,
		.destroy_queue = { .type = type, .queue_id = hw_qid },
	};

	rfe_admin(eth, &sqe, NULL,
		  type == REFNIC_QT_RX ? "DESTROY_QUEUE(RX)" : "DESTROY_QUEUE(TX)");
}

int rfe_query_queue_stats(struct rfe_eth *eth, uint8_t type, uint32_t hw_qid,
			  struct refnic_queue_stats *out)
{
	struct refnic_sqe sqe = {
		.opcode = REFNIC_OP_QUERY_QUEUE_STATS,
		.data_iova = facet_core_dma_iova(eth->cmd_buf),
		.data_len = sizeof(*out),
		.queue_stats = { .type = type, .queue_id = hw_qid },
	};
	int ret = rfe_admin(eth, &sqe, NULL, "QUERY_QUEUE_STATS");

	if (ret == 0)
		memcpy(out, facet_core_dma_va(eth->cmd_buf), sizeof(*out));
	return ret;
}

static void add_stats(struct refnic_queue_stats *acc, const struct refnic_queue_stats *s)
{
	acc->packets += s->packets;
	acc->bytes += s->bytes;
	acc->drops += s->drops;
	acc->errors += s->errors;
}

/* Before a queue goes: keep what it counted, so counters stay monotonic. */
static void retire_stats(struct rfe_eth *eth, uint8_t type, uint32_t hw_qid,
			 struct refnic_queue_stats *retired)
{
	struct refnic_queue_stats s;

	if (!facet_core_is_dead(eth->ops->pci(eth->slice)) &&
	    rfe_query_queue_stats(eth, type, hw_qid, &s) == 0)
		add_stats(retired, &s);
}

/* Create the queue on the device; the event thread looks queues up under qlock. */
static int hwq_up(struct rfe_eth *eth, struct rfe_hwq *hw, struct rfe_queue_common *c)
{
	int ret;

	pthread_mutex_lock(&eth->qlock);
	ret = create_queue(eth, hw->type, c, hw->nb_desc, hw->mem, &hw->hw_qid);
	hw->created = ret == 0;
	pthread_mutex_unlock(&eth->qlock);
	return ret;
}

/* Keep its counters, then destroy it on the device: after this the device is done with it. */
static void hwq_down(struct rfe_eth *eth, struct rfe_hwq *hw)
{
	if (!hw->created)
		return;
	retire_stats(eth, hw->type, hw->hw_qid, &hw->retired);
	destroy_queue(eth, hw->type, hw->hw_qid);
	pthread_mutex_lock(&eth->qlock);
	hw->created = false;
	pthread_mutex_unlock(&eth->qlock);
}

/* ---- memory -------------------------------------------------------------------- */

/* Ring then status line, in one block; zeroed, so the status head starts at 0. */
static int queue_mem(struct rfe_eth *eth, struct rfe_queue_common *c, uint16_t nb_desc,
		     struct facet_core_dma **mem)
{
	const struct facet_core_dma_opts opts = { .numa_node = -1, .align = REFNIC_RING_ALIGN };
	size_t ring = (size_t)nb_desc * 16;
	int ret;

	ret = facet_core_dma_alloc(eth->ops->pci(eth->slice), ring + sizeof(*c->status), &opts,
				   mem);
	if (ret < 0) {
		RFE_ERR("%s: cannot allocate a ring of %u descriptors: %s", eth->name, nb_desc,
			strerror(-ret));
		return ret;
	}
	c->sw_ring = calloc(nb_desc, sizeof(*c->sw_ring));
	if (!c->sw_ring) {
		facet_core_dma_free(*mem);
		*mem = NULL;
		return -ENOMEM;
	}
	c->status =
		(volatile struct refnic_queue_status *)((uint8_t *)facet_core_dma_va(*mem) + ring);
	c->mask = nb_desc - 1u;
	c->ops = eth->ops;
	c->slice = eth->slice;
	return 0;
}

static void *queue_alloc(size_t size)
{
	void *q = NULL;

	if (posix_memalign(&q, 64, size))
		return NULL;
	memset(q, 0, size);
	return q;
}

/* ---- RX ------------------------------------------------------------------------- */

static struct rfe_rxq *rxq_get(struct rfe_eth *eth, uint16_t qid)
{
	struct rfe_rxq *q = eth->rxq[qid];

	if (q)
		return q;
	q = queue_alloc(sizeof(*q));
	if (!q)
		return NULL;
	q->qid = qid;
	q->hw.type = REFNIC_QT_RX;
	atomic_init(&q->hw.hw_error, REFNIC_QERR_NONE);
	pthread_mutex_lock(&eth->qlock);
	eth->rxq[qid] = q;
	pthread_mutex_unlock(&eth->qlock);
	return q;
}

static int rxq_start(struct rfe_eth *eth, uint16_t qid)
{
	struct rfe_rxq *q = rxq_get(eth, qid);
	uint16_t room;
	int ret;

	if (!q)
		return -ENOMEM;
	q->hw.nb_desc = eth->rx_desc[qid];
	q->pool = eth->rx_pool[qid];
	room = (uint16_t)(facet_pktbuf_pool_buf_size(q->pool) - FACET_PKTBUF_HEADROOM);
	q->buf_room = room;
	q->refill_thresh =
		q->hw.nb_desc / 4 < RX_REFILL_THRESH ? q->hw.nb_desc / 4 : RX_REFILL_THRESH;
	if (!q->refill_thresh)
		q->refill_thresh = 1;
	q->ci = q->pi = 0;
	atomic_store(&q->hw.hw_error, REFNIC_QERR_NONE);
	ret = queue_mem(eth, &q->c, q->hw.nb_desc, &q->hw.mem);
	if (ret < 0)
		return ret;
	q->ring = facet_core_dma_va(q->hw.mem);
	ret = hwq_up(eth, &q->hw, &q->c);
	if (ret == 0) {
		ret = rfe_rx_fill(q);
		if (ret < 0)
			RFE_ERR("%s: RX queue %u: the pool cannot fill a ring of %u (%u free)",
				eth->name, qid, q->hw.nb_desc, facet_pktbuf_pool_avail(q->pool));
	}
	if (ret == 0)
		facet_eth_port_set_rx_burst(eth->port, qid, rfe_rx_burst, q);
	return ret;
}

static void rxq_stop(struct rfe_eth *eth, struct rfe_rxq *q)
{
	hwq_down(eth, &q->hw);
	if (q->c.sw_ring)
		rfe_rx_drain(q);
	facet_core_dma_free(q->hw.mem);
	q->hw.mem = NULL;
	q->ring = NULL;
	free(q->c.sw_ring);
	q->c.sw_ring = NULL;
}

/* ---- TX ------------------------------------------------------------------------- */

static struct rfe_txq *txq_get(struct rfe_eth *eth, uint16_t qid)
{
	struct rfe_txq *q = eth->txq[qid];

	if (q)
		return q;
	q = queue_alloc(sizeof(*q));
	if (!q)
		return NULL;
	q->qid = qid;
	q->max_frame = &eth->max_frame;
	q->hw.type = REFNIC_QT_TX;
	atomic_init(&q->hw.hw_error, REFNIC_QERR_NONE);
	pthread_mutex_lock(&eth->qlock);
	eth->txq[qid] = q;
	pthread_mutex_unlock(&eth->qlock);
	return q;
}

/* Buffers for frames from another device's pool (see refnic_eth_tx.c). */
static int txq_bounce_pool(struct rfe_eth *eth, struct rfe_txq *q)
{
	const struct facet_pktbuf_pool_opts opts = {
		.count = q->hw.nb_desc < TX_BOUNCE_MAX ? q->hw.nb_desc : TX_BOUNCE_MAX,
		.numa_node = -1,
	};

	q->pci = eth->ops->pci(eth->slice);
	q->local_pool = NULL;
	return facet_pktbuf_pool_create(q->pci, NULL, &opts, &q->bounce);
}

static int txq_start(struct rfe_eth *eth, uint16_t qid)
{
	struct rfe_txq *q = txq_get(eth, qid);
	int ret;

	if (!q)
		return -ENOMEM;
	q->hw.nb_desc = eth->tx_desc[qid];
	q->pi = q->clean = 0;
	atomic_store(&q->hw.hw_error, REFNIC_QERR_NONE);
	ret = txq_bounce_pool(eth, q);
	if (ret < 0)
		return ret;
	ret = queue_mem(eth, &q->c, q->hw.nb_desc, &q->hw.mem);
	if (ret < 0)
		return ret;
	q->ring = facet_core_dma_va(q->hw.mem);
	ret = hwq_up(eth, &q->hw, &q->c);
	if (ret == 0)
		facet_eth_port_set_tx_burst(eth->port, qid, rfe_tx_burst, q);
	return ret;
}

static void txq_stop(struct rfe_eth *eth, struct rfe_txq *q)
{
	hwq_down(eth, &q->hw);
	if (q->c.sw_ring)
		rfe_tx_drain(q);
	facet_pktbuf_pool_free(q->bounce); /* after the drain: it returned their buffers */
	q->bounce = NULL;
	facet_core_dma_free(q->hw.mem);
	q->hw.mem = NULL;
	q->ring = NULL;
	free(q->c.sw_ring);
	q->c.sw_ring = NULL;
}

/* ---- start / stop ------------------------------------------------------------------ */

int rfe_start(void *priv, const struct facet_eth_conf *conf)
{
	struct rfe_eth *eth = priv;
	int ret = 0;

	for (uint16_t q = 0; ret == 0 && q < eth->nb_rxq; q++)
		ret = rxq_start(eth, q);
	for (uint16_t q = 0; ret == 0 && q < eth->nb_txq; q++)
		ret = txq_start(eth, q);
	if (ret < 0) {
		RFE_ERR("%s: start failed: %s", eth->name, strerror(-ret));
		rfe_stop(eth);
	}
	return ret;
}

void rfe_stop(void *priv)
{
	struct rfe_eth *eth = priv;

	/* TX first: the frames still queued there may come from RX pools. */
	for (uint16_t q = 0; q < FACET_ETH_MAX_QUEUES; q++) {
		if (eth->txq[q])
			txq_stop(eth, eth->txq[q]);
	}
	for (uint16_t q = 0; q < FACET_ETH_MAX_QUEUES; q++) {
		if (eth->rxq[q])
			rxq_stop(eth, eth->rxq[q]);
	}
}

void rfe_queues_free(struct rfe_eth *eth)
{
	rfe_stop(eth);
	pthread_mutex_lock(&eth->qlock);
	for (uint16_t q = 0; q < FACET_ETH_MAX_QUEUES; q++) {
		free(eth->rxq[q]);
		free(eth->txq[q]);
		eth->rxq[q] = NULL;
		eth->txq[q] = NULL;
	}
	pthread_mutex_unlock(&eth->qlock);
}

/* Event thread: the device stopped a queue. Log, count, mark it for the stats. */
void rfe_queue_error(struct rfe_eth *eth, uint8_t type, uint32_t hw_qid, uint8_t code)
{
	int qid = -1;

	atomic_fetch_add(&eth->queue_errors, 1);
	pthread_mutex_lock(&eth->qlock);
	for (uint16_t q = 0; q < FACET_ETH_MAX_QUEUES && qid < 0; q++) {
		struct rfe_hwq *hw = rfe_hwq(eth, type == REFNIC_QT_RX, q);

		if (hw && hw->created && hw->hw_qid == hw_qid) {
			atomic_store(&hw->hw_error, code);
			qid = q;
		}
	}
	pthread_mutex_unlock(&eth->qlock);
	RFE_ERR("%s: device stopped %s queue %d (device queue %u): error %u", eth->name,
		type == REFNIC_QT_RX ? "RX" : "TX", qid, hw_qid, code);
}
