/* SPDX-License-Identifier: MIT */
/*
 * The RX burst. The driver posts buffers at pi and reads written-back
 * descriptors at ci; the device's progress is status.head, written after the
 * descriptors it covers. One burst: one load of the status line, a walk over
 * the new descriptors building frames (a frame longer than one buffer is a
 * chain, and may straddle bursts), one bulk get from the pool to refill, and
 * one doorbell. At most mask descriptors are posted, so pi == head always
 * means "nothing posted" to the device.
 */
#include <errno.h>
#include <string.h>

#include "refnic_eth.h"

#define RX_REFILL_CHUNK 64

/* Descriptor flags to packet flags: three shifts, no table. */
static inline uint64_t rx_ol_flags(uint32_t raw)
{
	uint64_t f = 0;

	f |= (raw & REFNIC_RXD_RSS) ? FACET_PKTBUF_RX_RSS_HASH : 0;
	f |= (raw & REFNIC_RXD_L4_CSUM_OK) ? FACET_PKTBUF_RX_L4_CSUM_OK : 0;
	f |= (raw & REFNIC_RXD_L4_CSUM_BAD) ? FACET_PKTBUF_RX_L4_CSUM_BAD : 0;
	f |= (uint64_t)(raw & (REFNIC_RXD_IPV4 | REFNIC_RXD_IPV6 | REFNIC_RXD_TCP | REFNIC_RXD_UDP))
	     << 1;
	return f;
}
static_assert(FACET_PKTBUF_RX_IPV4 == (uint64_t)REFNIC_RXD_IPV4 << 1 &&
		      FACET_PKTBUF_RX_UDP == (uint64_t)REFNIC_RXD_UDP << 1,
	      "packet-type bits are the descriptor's shifted by one");

/* The device stopped the queue: remember why (once), off the fast path. */
static void __attribute__((noinline, cold)) rx_note_error(struct rfe_rxq *q, uint32_t error)
{
	unsigned int none = REFNIC_QERR_NONE;

	atomic_compare_exchange_strong(&q->hw.hw_error, &none, error);
}

/* Post up to @free buffers at pi; the caller rings the doorbell. Returns the number posted. */
static uint32_t rx_post(struct rfe_rxq *q, uint32_t free)
{
	struct facet_pktbuf *bufs[RX_REFILL_CHUNK];
	uint32_t pi = q->pi, mask = q->c.mask, posted = 0;

	while (posted < free) {
		uint32_t n = free - posted < RX_REFILL_CHUNK ? free - posted : RX_REFILL_CHUNK;

		if (unlikely(facet_pktbuf_pool_get_bulk(q->pool, bufs, n) < 0)) {
			q->nombuf++;
			n = facet_pktbuf_pool_avail(q->pool);
			if (n > RX_REFILL_CHUNK)
				n = RX_REFILL_CHUNK;
			if (n == 0 || facet_pktbuf_pool_get_bulk(q->pool, bufs, n) < 0)
				break;
		}
		for (uint32_t i = 0; i < n; i++) {
			struct facet_pktbuf *b = bufs[i];

			b->data_off = FACET_PKTBUF_HEADROOM;
			q->c.sw_ring[pi] = b;
			q->ring[pi] = (struct refnic_rx_desc){
				.addr = b->buf_iova + FACET_PKTBUF_HEADROOM,
				.len = q->buf_room,
			};
			pi = (pi + 1) & mask;
		}
		posted += n;
	}
	q->pi = pi;
	return posted;
}

/*
 * The written-back lines this burst reads, and refills after: taken for
 * writing at once. Only lines wholly before head: the device may still be
 * writing the rest of the line head is in.
 */
static inline void rx_ring_prefetch(struct rfe_rxq *q, uint32_t ci, uint32_t head, uint16_t n)
{
	uint32_t mask = q->c.mask, todo = (head - ci) & mask;

	if (todo > n)
		todo = n;
	for (uint32_t i = 0; i < todo; i += 4) {
		uint32_t line = (ci + i) & ~3u;

		if (((head - line) & mask) >= 4)
			rfe_prefetchw(&q->ring[line & mask]);
	}
}

static void rx_doorbell(struct rfe_rxq *q)
{
	/* Descriptors before the index that announces them (a no-op on x86). */
	atomic_thread_fence(memory_order_release);
	q->c.ops->ring_doorbell(q->c.slice, q->c.db_offset, q->pi);
}

int rfe_rx_fill(struct rfe_rxq *q)
{
	uint32_t free = q->c.mask - ((q->pi - q->ci) & q->c.mask);
	uint32_t posted = rx_post(q, free);

	if (posted)
		rx_doorbell(q);
	return posted == free ? 0 : -ENOBUFS;
}

uint16_t rfe_rx_burst(void *queue, struct facet_pktbuf **bufs, uint16_t n)
{
	struct rfe_rxq *q = queue;
	volatile struct refnic_queue_status *st = q->c.status;
	uint32_t mask = q->c.mask, ci = q->ci, head, free;
	struct facet_pktbuf *first = q->pkt_first, *last = q->pkt_last;
	uint16_t nb = 0;

	head = __atomic_load_n(&st->head, __ATOMIC_ACQUIRE) & mask;
	if (unlikely(st->error))
		rx_note_error(q, st->error);
	rx_ring_prefetch(q, ci, head, n);
	while (ci != head && nb < n) {
		const struct refnic_rx_desc *d = &q->ring[ci];
		struct facet_pktbuf *seg = q->c.sw_ring[ci];
		uint16_t flags = d->flags;

		__builtin_prefetch(q->c.sw_ring[(ci + 4) & mask]);
		seg->data_len = d->len;
		if (!first) {
			first = seg;
			seg->pkt_len = 0;
			seg->nb_segs = 0;
			seg->ol_flags = 0; /* raw descriptor flags until EOP */
		} else {
			last->next = seg;
		}
		first->pkt_len += seg->data_len;
		first->nb_segs++;
		first->ol_flags |= flags;
		if (flags & REFNIC_RXD_RSS)
			first->rss_hash = d->rss_hash;
		last = seg;
		ci = (ci + 1) & mask;
		if (flags & REFNIC_RXD_EOP) {
			first->ol_flags = rx_ol_flags((uint32_t)first->ol_flags);
			first->port_qid = q->qid;
			/*
			 * No prefetch of the frame: an application that reads it
			 * fetches it itself, and one that does not (forwarding by
			 * reference) would only pull the line here for the device
			 * to take back when the buffer is filled again.
			 */
			bufs[nb++] = first;
			first = NULL;
		}
	}
	q->ci = ci;
	q->pkt_first = first;
	q->pkt_last = last;

	free = mask - ((q->pi - ci) & mask);
	/* Up to a line boundary: no ring line half ours, half the device's (§15.3). */
	if (free >= q->refill_thresh && rx_post(q, free - ((q->pi + free) & 3)))
		rx_doorbell(q);
	return nb;
}

void rfe_rx_drain(struct rfe_rxq *q)
{
	uint32_t mask = q->c.mask;

	/* Everything posted, written back or not, and a frame cut short. */
	for (uint32_t i = q->ci; i != q->pi; i = (i + 1) & mask) {
		q->c.sw_ring[i]->next = NULL;
		facet_pktbuf_pool_put_bulk(q->pool, &q->c.sw_ring[i], 1);
		q->c.sw_ring[i] = NULL;
	}
	q->ci = q->pi;
	if (q->pkt_first) {
		q->pkt_last->next = NULL;
		facet_pktbuf_free(q->pkt_first);
	}
	q->pkt_first = q->pkt_last = NULL;
}
