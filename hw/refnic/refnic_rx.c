/* SPDX-License-Identifier: MIT */
/*
 * RX queues (docs/refnic.md §15.3): the driver posts buffers (descriptors
 * up to its producer index); the switch hands frames to a function, which
 * steers each to one of its RX queues (RSS, §15.4) and copies it into
 * posted buffers, as many consecutive ones as it needs. Descriptors are
 * written back per frame; status.head once per queue per burst.
 */
#include <string.h>

#include "refnic_priv.h"

/* Most descriptors one frame can take: buffers are at least 64 bytes. */
#define RX_MAX_DESCS ((REFNIC_FRAME_MAX + REFNIC_RX_BUF_MIN - 1) / REFNIC_RX_BUF_MIN)

static struct refnic_queue *rx_lowest(struct refnic_func *fn)
{
	for (unsigned int i = 0; fn->nq_type[REFNIC_QT_RX] && i < REFNIC_FUNC_MAX_QUEUES; i++)
		if (fn->queues[i].used && fn->queues[i].type == REFNIC_QT_RX)
			return &fn->queues[i];
	return NULL;
}

/* The RX queue for @f, and its RSS hash (*hashed). NULL: no queue to take it. */
static struct refnic_queue *rx_steer(struct refnic_func *fn, const struct refnic_frame *f,
				     uint32_t *hash, bool *hashed)
{
	uint32_t slot = 0;

	*hashed = false;
	if (!fn->rss_set)
		return rx_lowest(fn);
	if (fn->rss.hash_types && refnic_pkt_rss(f->data, &f->pkt, &fn->rss, hash)) {
		*hashed = true;
		slot = *hash & (fn->rss.reta_size - 1u);
	}
	/* A table entry whose queue was destroyed since SET_RSS: no queue. */
	return refnic_queue_get(fn, REFNIC_QT_RX, fn->rss.reta[slot]);
}

/*
 * Read the descriptors @f needs into @d. Returns how many, 0 if too few are
 * posted (a drop), or -REFNIC_QERR_*.
 */
static int rx_reserve(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
		      uint32_t len, struct refnic_rx_desc *d)
{
	uint32_t mask = (1u << q->log_size) - 1;
	uint32_t pi = refnic_db_read(fn, REFNIC_DB_QUEUE(q->id));
	uint32_t avail, got = 0;
	int n = 0;

	if (pi > mask)
		return -REFNIC_QERR_DOORBELL;
	avail = (pi - q->ci) & mask;
	while (got < len) {
		if ((uint32_t)n == avail || n == RX_MAX_DESCS)
			return 0;
		if (refnic_dp_read(dev, fn,
				   q->ring_iova + (uint64_t)((q->ci + n) & mask) * sizeof(*d),
				   &d[n], sizeof(*d)))
			return -REFNIC_QERR_RING_DMA;
		if (d[n].len < REFNIC_RX_BUF_MIN)
			return -REFNIC_QERR_BAD_LEN;
		got += d[n].len;
		n++;
	}
	return n;
}

/* The frame's receive flags, parsed once per frame whatever the number of receivers. */
static uint16_t rx_flags(struct refnic_frame *f)
{
	if (f->csum_flags < 0)
		f->csum_flags = (int16_t)refnic_pkt_csum_flags(f->data, &f->pkt);
	return f->pkt.flags | (uint16_t)f->csum_flags;
}

/* Copy @f into the reserved buffers, then write the descriptors back; 0 or -REFNIC_QERR_*. */
static int rx_write(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
		    struct refnic_frame *f, struct refnic_rx_desc *d, int n, uint16_t flags,
		    uint32_t hash)
{
	uint32_t mask = (1u << q->log_size) - 1;
	uint32_t off = 0;

	for (int i = 0; i < n; i++) {
		uint32_t chunk = f->len - off < d[i].len ? f->len - off : d[i].len;

		if (refnic_dp_write(dev, fn, d[i].addr, f->data + off, chunk))
			return -REFNIC_QERR_BUF_DMA;
		d[i].len = (uint16_t)chunk;
		d[i].flags = flags | (i == n - 1 ? REFNIC_RXD_EOP : 0);
		d[i].rss_hash = hash;
		off += chunk;
	}
	for (int i = 0; i < n; i++)
		if (refnic_dp_write(dev, fn,
				    q->ring_iova + (uint64_t)((q->ci + i) & mask) * sizeof(*d),
				    &d[i], sizeof(*d)))
			return -REFNIC_QERR_RING_DMA;
	q->ci = (q->ci + (uint32_t)n) & mask;
	q->dirty = true;
	return 0;
}

/* One frame into @fn: true if a queue took it. */
static bool rx_one(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_frame *f)
{
	struct refnic_rx_desc d[RX_MAX_DESCS];
	struct refnic_queue *q = NULL;
	uint32_t hash = 0;
	bool hashed;
	uint16_t flags;
	int n;

	refnic_rdma_icrc_fill(f); /* an RDMA frame in an Ethernet queue is a wire frame */
	if (f->len <= fn->mtu + REFNIC_ETH_OVERHEAD)
		q = rx_steer(fn, f, &hash, &hashed);
	if (!q || q->error)
		goto drop;
	n = rx_reserve(dev, fn, q, f->len, d);
	if (n > 0) {
		flags = rx_flags(f) | (hashed ? REFNIC_RXD_RSS : 0);
		n = rx_write(dev, fn, q, f, d, n, flags, hashed ? hash : 0);
		if (n == 0) {
			q->stats.packets++;
			q->stats.bytes += f->len;
			fn->stats.rx_packets++;
			fn->stats.rx_bytes += f->len;
			return true;
		}
	}
	if (n < 0)
		refnic_queue_fail(dev, fn, q, (uint8_t)-n);
	else
		q->stats.drops++;
drop:
	fn->stats.rx_drops++;
	return false;
}

/* Frames for function @fn, in one DMA-lock hold; status lines after the burst. */
unsigned int refnic_rx_deliver(struct refnic_dev *dev, struct refnic_func *fn,
			       struct refnic_frame *const *frames, unsigned int n)
{
	struct refnic_frame *eth[REFNIC_BURST];
	unsigned int taken = 0, m = 0;

	if (!refnic_pci_bus_master(dev)) {
		fn->stats.rx_drops += n;
		return 0;
	}
	refnic_dp_lock(dev);
	/* RoCEv2 to our MAC goes to the RDMA engine, never to an RX queue (§16.8). */
	for (unsigned int i = 0; i < n; i += m) {
		unsigned int k = n - i < REFNIC_BURST ? n - i : REFNIC_BURST;

		m = k;
		memcpy(eth, frames + i, k * sizeof(eth[0]));
		k = refnic_rdma_rx_filter(dev, fn, eth, k);
		taken += m - k;
		for (unsigned int j = 0; j < k; j++)
			taken += rx_one(dev, fn, eth[j]);
	}
	for (unsigned int i = 0; taken && i < REFNIC_FUNC_MAX_QUEUES; i++) {
		struct refnic_queue *q = &fn->queues[i];

		if (q->used && q->type == REFNIC_QT_RX && q->dirty)
			refnic_queue_publish(dev, fn, q);
	}
	refnic_dp_unlock(dev);
	return taken;
}

/* A producer index past the ring is an error even while no frame arrives. */
static bool rx_bad_doorbell(struct refnic_func *fn, struct refnic_queue *q)
{
	return !q->error && refnic_db_read(fn, REFNIC_DB_QUEUE(q->id)) >> q->log_size;
}

static unsigned int rx_poll(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q)
{
	if (!rx_bad_doorbell(fn, q) || !refnic_pci_bus_master(dev))
		return 0;
	refnic_dp_lock(dev);
	refnic_queue_fail(dev, fn, q, REFNIC_QERR_DOORBELL);
	refnic_dp_unlock(dev);
	return 1;
}

static bool rx_has_work(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q)
{
	return rx_bad_doorbell(fn, q);
}

const struct refnic_qtype_ops refnic_qtype_rx = {
	.name = "rx",
	.feature = REFNIC_FEAT_ETH,
	.max_per_func = REFNIC_ETH_MAX_QUEUES,
	.log_min = REFNIC_ETH_LOG_MIN,
	.log_max = REFNIC_ETH_LOG_MAX,
	.entry_size = sizeof(struct refnic_rx_desc),
	.ring_access = FACET_VFU_DMA_READ | FACET_VFU_DMA_WRITE,
	.status_line = true,
	.validate = refnic_dpq_validate,
	.start = refnic_dpq_start,
	.poll = rx_poll,
	.has_work = rx_has_work,
};
