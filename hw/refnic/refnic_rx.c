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
 * An RX queue as one delivery sees it. The producer index and the ring's
 * translation are taken once per queue per delivery, not per frame: the
 * doorbell line is the driver's (it writes it at every refill), so each
 * read of it can be a transfer from the other core.
 */
struct rx_view {
	struct refnic_rx_desc *ring; /* the ring in our memory; NULL: via refnic_dp_*() */
	uint32_t avail;		     /* descriptors posted from q->ci */
};

/* The views of one delivery, by queue id, loaded on first use. */
struct rx_burst {
	uint64_t loaded; /* bit i: view[i] is valid */
	struct rx_view view[REFNIC_FUNC_MAX_QUEUES];
};
static_assert(REFNIC_FUNC_MAX_QUEUES <= 64, "rx_burst.loaded has a bit per queue");

/*
 * Take the ring line of slot @i for writing. The driver wrote it when it
 * posted the buffers; reading it first and writing back after would move it
 * twice (shared, then exclusive). PREFETCHW asks for it exclusive at once;
 * elsewhere a plain prefetch still hides the read.
 */
static inline void rx_ring_prefetch(const struct rx_view *v, uint32_t mask, uint32_t i)
{
	if (!v->ring)
		return;
#if defined(__x86_64__) && defined(__PRFCHW__)
	__builtin_prefetch(&v->ring[i & mask], 1, 3);
#elif defined(__x86_64__)
	/* 3DNowPrefetch/PRFCHW: every x86-64 CPU of the last decade; a NOP hint before. */
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)&v->ring[i & mask]));
#else
	__builtin_prefetch(&v->ring[i & mask], 1, 3);
#endif
}

/* Slots ahead of the one in use that the device asks for: two ring lines. */
#define RX_PREFETCH_AHEAD 8u

/* @q's view for this delivery; NULL if its doorbell stopped it (DOORBELL). */
static struct rx_view *rx_view_get(struct refnic_dev *dev, struct refnic_func *fn,
				   struct rx_burst *b, struct refnic_queue *q)
{
	struct rx_view *v = &b->view[q->id];
	uint32_t mask = (1u << q->log_size) - 1;
	uint32_t pi;
	void *ring;

	if (b->loaded & (1ull << q->id))
		return v;
	pi = refnic_db_read(fn, REFNIC_DB_QUEUE(q->id));
	if (pi > mask) {
		refnic_queue_fail(dev, fn, q, REFNIC_QERR_DOORBELL);
		return NULL;
	}
	/* A ring we cannot reach whole (no fd, a fault) goes descriptor by descriptor. */
	if (refnic_dp_translate(dev, fn, q->ring_iova, (size_t)(mask + 1) * sizeof(*v->ring),
				FACET_VFU_DMA_READ | FACET_VFU_DMA_WRITE, &ring))
		ring = NULL;
	v->ring = ring;
	v->avail = (pi - q->ci) & mask;
	b->loaded |= 1ull << q->id;
	for (uint32_t i = 0; i < RX_PREFETCH_AHEAD && i < v->avail; i += 4)
		rx_ring_prefetch(v, mask, q->ci + i);
	return v;
}

static int rx_desc_read(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
			const struct rx_view *v, uint32_t slot, struct refnic_rx_desc *d)
{
	if (v->ring) {
		*d = v->ring[slot];
		return 0;
	}
	return refnic_dp_read(dev, fn, q->ring_iova + (uint64_t)slot * sizeof(*d), d, sizeof(*d));
}

/*
 * The write-back of a descriptor's second 8 bytes: len, flags, rss_hash
 * (addr stays as posted, §15.3), little-endian as the device is (§1).
 */
static inline uint64_t rx_wb(uint16_t len, uint16_t flags, uint32_t hash)
{
	static_assert(offsetof(struct refnic_rx_desc, len) == 8 &&
			      offsetof(struct refnic_rx_desc, flags) == 10 &&
			      offsetof(struct refnic_rx_desc, rss_hash) == 12,
		      "len, flags, rss_hash: the descriptor's second 8 bytes");
	static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the word is built little-endian");
	return len | (uint64_t)flags << 16 | (uint64_t)hash << 32;
}

/*
 * One 8-byte store of a word built in registers. A descriptor assembled in
 * memory and copied (or any load wider than the stores that wrote it) could
 * not take its data from the pending stores: it would wait for them, and
 * with them for the frame's stores still fetching their lines.
 */
static int rx_desc_write(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
			 const struct rx_view *v, uint32_t slot, struct refnic_rx_desc *d,
			 uint64_t wb)
{
	if (v->ring) {
		memcpy(&v->ring[slot].len, &wb, sizeof(wb));
		return 0;
	}
	memcpy(&d->len, &wb, sizeof(wb));
	return refnic_dp_write(dev, fn, q->ring_iova + (uint64_t)slot * sizeof(*d), d, sizeof(*d));
}

/*
 * Read the descriptors @f needs into @d. Returns how many, 0 if too few are
 * posted (a drop), or -REFNIC_QERR_*.
 */
static int rx_reserve(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
		      const struct rx_view *v, uint32_t len, struct refnic_rx_desc *d)
{
	uint32_t mask = (1u << q->log_size) - 1;
	uint32_t got = 0;
	int n = 0;

	while (got < len) {
		if ((uint32_t)n == v->avail || n == RX_MAX_DESCS)
			return 0;
		if (rx_desc_read(dev, fn, q, v, (q->ci + n) & mask, &d[n]))
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

static uint32_t rx_chunk(const struct refnic_frame *f, uint32_t off, const struct refnic_rx_desc *d)
{
	return f->len - off < d->len ? f->len - off : d->len;
}

/*
 * Copy @f into the reserved buffers, then write the descriptors back (none
 * if a buffer faults, §15.3); 0 or -REFNIC_QERR_*. @d keeps the buffer sizes
 * the driver posted: each chunk is worked out again for the write-back.
 */
static int rx_write(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
		    struct rx_view *v, struct refnic_frame *f, struct refnic_rx_desc *d, int n,
		    uint16_t flags, uint32_t hash)
{
	uint32_t mask = (1u << q->log_size) - 1;
	uint64_t meta = rx_wb(0, flags, hash); /* built before the copies, kept 64-bit wide */
	uint32_t off = 0;

	for (int i = 0; i < n; i++) {
		uint32_t chunk = rx_chunk(f, off, &d[i]);

		if (refnic_dp_write(dev, fn, d[i].addr, f->data + off, chunk))
			return -REFNIC_QERR_BUF_DMA;
		off += chunk;
	}
	off = 0;
	for (int i = 0; i < n; i++) {
		uint32_t chunk = rx_chunk(f, off, &d[i]);
		uint64_t eop = i == n - 1 ? rx_wb(0, REFNIC_RXD_EOP, 0) : 0;

		if (rx_desc_write(dev, fn, q, v, (q->ci + i) & mask, &d[i], meta | eop | chunk))
			return -REFNIC_QERR_RING_DMA;
		off += chunk;
	}
	q->ci = (q->ci + (uint32_t)n) & mask;
	v->avail -= (uint32_t)n;
	q->dirty = true;
	if (v->avail > RX_PREFETCH_AHEAD && (q->ci & 3) < (uint32_t)n)
		rx_ring_prefetch(v, mask, q->ci + RX_PREFETCH_AHEAD); /* a new line began */
	return 0;
}

/* One frame into @fn: true if a queue took it. */
static bool rx_one(struct refnic_dev *dev, struct refnic_func *fn, struct rx_burst *b,
		   struct refnic_frame *f)
{
	struct refnic_rx_desc d[RX_MAX_DESCS];
	struct refnic_queue *q = NULL;
	struct rx_view *v;
	uint32_t hash = 0;
	bool hashed;
	uint16_t flags;
	int n;

	refnic_rdma_icrc_fill(f); /* an RDMA frame in an Ethernet queue is a wire frame */
	if (f->len <= fn->mtu + REFNIC_ETH_OVERHEAD)
		q = rx_steer(fn, f, &hash, &hashed);
	if (!q || q->error)
		goto drop;
	v = rx_view_get(dev, fn, b, q);
	if (!v)
		goto drop;
	n = rx_reserve(dev, fn, q, v, f->len, d);
	if (n > 0) {
		flags = rx_flags(f) | (hashed ? REFNIC_RXD_RSS : 0);
		n = rx_write(dev, fn, q, v, f, d, n, flags, hashed ? hash : 0);
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

/* status.head of every queue the delivery wrote to, once. */
static void rx_publish(struct refnic_dev *dev, struct refnic_func *fn, uint64_t loaded)
{
	for (; loaded; loaded &= loaded - 1) {
		struct refnic_queue *q = &fn->queues[__builtin_ctzll(loaded)];

		if (q->dirty)
			refnic_queue_publish(dev, fn, q);
	}
}

/* Frames for function @fn, in one DMA-lock hold; status lines after the burst. */
unsigned int refnic_rx_deliver(struct refnic_dev *dev, struct refnic_func *fn,
			       struct refnic_frame *const *frames, unsigned int n)
{
	struct refnic_frame *eth[REFNIC_BURST];
	struct rx_burst b;
	unsigned int taken = 0, m = 0;

	if (!refnic_pci_bus_master(dev)) {
		fn->stats.rx_drops += n;
		return 0;
	}
	b.loaded = 0;
	refnic_dp_lock(dev);
	/* RoCEv2 to our MAC goes to the RDMA engine, never to an RX queue (§16.8). */
	for (unsigned int i = 0; i < n; i += m) {
		unsigned int k = n - i < REFNIC_BURST ? n - i : REFNIC_BURST;

		m = k;
		memcpy(eth, frames + i, k * sizeof(eth[0]));
		k = refnic_rdma_rx_filter(dev, fn, eth, k);
		taken += m - k;
		for (unsigned int j = 0; j < k; j++)
			taken += rx_one(dev, fn, &b, eth[j]);
	}
	rx_publish(dev, fn, b.loaded);
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
