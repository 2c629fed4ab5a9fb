/* SPDX-License-Identifier: MIT */
/*
 * The TX burst. The driver writes descriptors at pi (one per segment, EOP on
 * the last of a frame) and frees buffers from clean up to the device's
 * status.head. One burst: one load of the status line, one bulk put per run
 * of buffers from the same pool, the descriptors, one doorbell.
 *
 * A frame the device would refuse (too long for the MTU, too many or empty
 * segments) would stop the whole queue (QUEUE_ERROR), so it is checked here,
 * dropped and counted instead: one bad packet must not take the port down.
 *
 * A buffer's IOVA is valid only in the DMA space of its pool's device. A
 * frame received on another device (forwarding between two devices) is
 * copied into the queue's bounce pool first; the check costs one pointer
 * compare per frame against the last pool known to be ours.
 */
#include <string.h>

#include "refnic_eth.h"

#define TX_FREE_CHUNK 64

static void __attribute__((noinline, cold)) tx_note_error(struct rfe_txq *q, uint32_t error)
{
	unsigned int none = REFNIC_QERR_NONE;

	atomic_compare_exchange_strong(&q->hw.hw_error, &none, error);
}

/* Return the buffers of descriptors [clean, head) to their pools. */
static void tx_complete(struct rfe_txq *q)
{
	volatile struct refnic_queue_status *st = q->c.status;
	uint32_t mask = q->c.mask, i = q->clean, head;
	struct facet_pktbuf *batch[TX_FREE_CHUNK];
	struct facet_pktbuf_pool *pool = NULL;
	unsigned int n = 0;

	head = __atomic_load_n(&st->head, __ATOMIC_ACQUIRE) & mask;
	if (unlikely(st->error))
		tx_note_error(q, st->error);
	for (; i != head; i = (i + 1) & mask) {
		struct facet_pktbuf *seg = q->c.sw_ring[i];

		seg->next = NULL; /* segments go back one by one */
		if (n == TX_FREE_CHUNK || (n && seg->pool != pool)) {
			facet_pktbuf_pool_put_bulk(pool, batch, n);
			n = 0;
		}
		pool = seg->pool;
		batch[n++] = seg;
	}
	if (n)
		facet_pktbuf_pool_put_bulk(pool, batch, n);
	q->clean = head;
}

/* Check a frame the way the device will; the slow walk only for chains. */
static inline bool tx_frame_ok(const struct facet_pktbuf *pkt, uint32_t max_frame)
{
	uint32_t len = 0, segs = 0;

	if (likely(!pkt->next))
		return pkt->data_len && pkt->data_len <= max_frame && pkt->nb_segs == 1;
	for (const struct facet_pktbuf *s = pkt; s; s = s->next) {
		if (!s->data_len || ++segs > REFNIC_TX_MAX_SEGS)
			return false;
		len += s->data_len;
	}
	return len <= max_frame && segs == pkt->nb_segs;
}

static bool __attribute__((noinline))
tx_pool_check(struct rfe_txq *q, struct facet_pktbuf_pool *pool)
{
	if (facet_pktbuf_pool_dev(pool) != q->pci)
		return false;
	q->local_pool = pool;
	return true;
}

/* Every segment's buffer is in our DMA space. */
static inline bool tx_local(struct rfe_txq *q, const struct facet_pktbuf *pkt)
{
	for (const struct facet_pktbuf *s = pkt; s; s = s->next) {
		if (unlikely(s->pool != q->local_pool) && !tx_pool_check(q, s->pool))
			return false;
	}
	return true;
}

/* A copy of @pkt in the bounce pool, or NULL (bounce pool empty: retry later). */
static struct facet_pktbuf *__attribute__((noinline, cold))
tx_bounce(struct rfe_txq *q, struct facet_pktbuf *pkt, uint32_t free)
{
	struct facet_pktbuf *copy = facet_pktbuf_copy(pkt, q->bounce);

	if (copy && copy->nb_segs > free) {
		facet_pktbuf_free(copy);
		return NULL;
	}
	if (copy) {
		q->bounced++;
		facet_pktbuf_free(pkt);
	}
	return copy;
}

static inline uint32_t tx_write(struct rfe_txq *q, struct facet_pktbuf *pkt, uint32_t pi)
{
	uint16_t flags = (pkt->ol_flags & FACET_PKTBUF_TX_L4_CSUM) ? REFNIC_TXD_CSUM_L4 : 0;

	for (struct facet_pktbuf *s = pkt; s; s = s->next) {
		q->ring[pi] = (struct refnic_tx_desc){
			.addr = facet_pktbuf_iova(s),
			.len = s->data_len,
			.flags = (uint16_t)(flags | (s->next ? 0 : REFNIC_TXD_EOP)),
		};
		q->c.sw_ring[pi] = s;
		pi = (pi + 1) & q->c.mask;
		flags = 0; /* offload flags: first descriptor only */
	}
	return pi;
}

uint16_t rfe_tx_burst(void *queue, struct facet_pktbuf **bufs, uint16_t n)
{
	struct rfe_txq *q = queue;
	uint32_t mask = q->c.mask, pi = q->pi, free;
	uint32_t max_frame = atomic_load_explicit(q->max_frame, memory_order_relaxed);
	uint16_t nb;

	/* The lines this burst will write: the device read them last lap. */
	for (uint32_t i = 0; i < n; i += 4)
		rfe_prefetchw(&q->ring[(pi + i) & mask]);
	tx_complete(q);
	free = mask - ((pi - q->clean) & mask);
	for (nb = 0; nb < n; nb++) {
		struct facet_pktbuf *pkt = bufs[nb];

		if (nb + 1 < n)
			__builtin_prefetch(bufs[nb + 1]);
		if (unlikely(pkt->nb_segs > free))
			break;
		if (unlikely(!tx_frame_ok(pkt, max_frame))) {
			q->sw_drops++;
			facet_pktbuf_free(pkt);
			continue;
		}
		if (unlikely(!tx_local(q, pkt))) {
			pkt = tx_bounce(q, pkt, free);
			if (!pkt)
				break;
		}
		pi = tx_write(q, pkt, pi);
		free -= pkt->nb_segs;
	}
	if (pi != q->pi) {
		atomic_thread_fence(memory_order_release); /* descriptors before the index */
		q->pi = pi;
		q->c.ops->ring_doorbell(q->c.slice, q->c.db_offset, pi);
	}
	return nb;
}

void rfe_tx_drain(struct rfe_txq *q)
{
	for (uint32_t i = q->clean; i != q->pi; i = (i + 1) & q->c.mask) {
		q->c.sw_ring[i]->next = NULL;
		facet_pktbuf_pool_put_bulk(q->c.sw_ring[i]->pool, &q->c.sw_ring[i], 1);
		q->c.sw_ring[i] = NULL;
	}
	q->clean = q->pi;
}
