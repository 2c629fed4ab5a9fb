/* SPDX-License-Identifier: MIT */
/*
 * net_facet bursts, copy mode (see facet_ethdev.h for the zero-copy plan).
 *
 * RX: one facet_eth_rx_burst(), one rte_pktmbuf_alloc_bulk() for the frames
 * received, a copy each, one facet_pktbuf_free_bulk(). TX: one
 * facet_pktbuf_alloc_bulk() from the queue's own pool, a copy each, one
 * facet_eth_tx_burst(), one rte_pktmbuf_free_bulk() of what it accepted.
 * Nothing takes a lock or makes a syscall; the pools are used by the
 * queue's polling thread only.
 */
#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>

#include "facet_ethdev.h"

/* ---- RX ----------------------------------------------------------------------- */

static __rte_always_inline void rx_meta(struct rte_mbuf *m, const struct facet_pktbuf *f)
{
	uint64_t fl = 0;
	uint32_t ptype = RTE_PTYPE_L2_ETHER;

	if (f->ol_flags & FACET_PKTBUF_RX_RSS_HASH) {
		m->hash.rss = f->rss_hash;
		fl |= RTE_MBUF_F_RX_RSS_HASH;
	}
	if (f->ol_flags & FACET_PKTBUF_RX_L4_CSUM_OK)
		fl |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	else if (f->ol_flags & FACET_PKTBUF_RX_L4_CSUM_BAD)
		fl |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
	if (f->ol_flags & FACET_PKTBUF_RX_IPV4)
		ptype |= RTE_PTYPE_L3_IPV4_EXT_UNKNOWN;
	else if (f->ol_flags & FACET_PKTBUF_RX_IPV6)
		ptype |= RTE_PTYPE_L3_IPV6_EXT_UNKNOWN;
	if (f->ol_flags & FACET_PKTBUF_RX_TCP)
		ptype |= RTE_PTYPE_L4_TCP;
	else if (f->ol_flags & FACET_PKTBUF_RX_UDP)
		ptype |= RTE_PTYPE_L4_UDP;
	m->ol_flags = fl;
	m->packet_type = ptype;
}

/*
 * A frame that does not fit one mbuf (or arrived as a chain): copy segment
 * by segment into a chain of mbufs. Slow path. On failure (mempool empty) the
 * extra mbufs are freed and @m is left empty for reuse.
 */
static int rx_copy_chain(struct facet_pmd_rxq *rxq, struct rte_mbuf *m,
			 const struct facet_pktbuf *f)
{
	struct rte_mbuf *dst = m;

	m->data_len = 0;
	m->pkt_len = 0;
	m->nb_segs = 1;
	for (const struct facet_pktbuf *s = f; s; s = s->next) {
		const uint8_t *src = facet_pktbuf_data(s);
		uint16_t left = s->data_len;

		while (left) {
			uint16_t room = rte_pktmbuf_tailroom(dst), c;

			if (room == 0) {
				struct rte_mbuf *seg = rte_pktmbuf_alloc(rxq->mp);

				if (unlikely(!seg))
					goto fail;
				dst->next = seg;
				dst = seg;
				m->nb_segs++;
				continue;
			}
			c = RTE_MIN(room, left);
			rte_memcpy(rte_pktmbuf_mtod_offset(dst, uint8_t *, dst->data_len), src, c);
			dst->data_len += c;
			m->pkt_len += c;
			src += c;
			left -= c;
		}
	}
	return 0;
fail:
	if (m->next)
		rte_pktmbuf_free(m->next);
	m->next = NULL;
	m->nb_segs = 1;
	m->data_len = 0;
	m->pkt_len = 0;
	return -ENOBUFS;
}

uint16_t facet_pmd_rx_burst(void *queue, struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	struct facet_pmd_rxq *rxq = queue;
	struct facet_pktbuf *fb[FACET_PMD_BURST];
	uint16_t n, i, done = 0;

	if (nb_pkts > FACET_PMD_BURST)
		nb_pkts = FACET_PMD_BURST;
	n = facet_eth_rx_burst(rxq->port, rxq->qid, fb, nb_pkts);
	if (n == 0)
		return 0;
	if (unlikely(rte_pktmbuf_alloc_bulk(rxq->mp, pkts, n) != 0)) {
		rxq->data->rx_mbuf_alloc_failed += n;
		facet_pktbuf_free_bulk(fb, n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct facet_pktbuf *f = fb[i];
		struct rte_mbuf *m = pkts[done];

		if (likely(f->nb_segs == 1 && f->data_len <= rte_pktmbuf_tailroom(m))) {
			rte_memcpy(rte_pktmbuf_mtod(m, void *), facet_pktbuf_data(f), f->data_len);
			m->data_len = f->data_len;
			m->pkt_len = f->data_len;
		} else if (rx_copy_chain(rxq, m, f) < 0) {
			rxq->data->rx_mbuf_alloc_failed++;
			continue; /* dropped; pkts[done] is reused */
		}
		m->port = rxq->port_id;
		rx_meta(m, f);
		done++;
	}
	if (unlikely(done < n))
		rte_pktmbuf_free_bulk(pkts + done, n - done);
	facet_pktbuf_free_bulk(fb, n);
	return done;
}

/* ---- TX ----------------------------------------------------------------------- */

/*
 * Copy the chain @m into the fresh buffer @f (and more buffers of the pool
 * if needed). Slow path. On failure @f is left empty: the driver refuses an
 * empty frame, frees it and counts it in oerrors, so the mbuf is dropped
 * visibly.
 */
static void tx_copy_chain(struct facet_pmd_txq *txq, struct facet_pktbuf *f,
			  const struct rte_mbuf *m)
{
	struct facet_pktbuf *dst = f;

	for (const struct rte_mbuf *s = m; s; s = s->next) {
		const uint8_t *src = rte_pktmbuf_mtod(s, const uint8_t *);
		uint16_t left = s->data_len;

		while (left) {
			uint16_t room = facet_pktbuf_tailroom(dst), c;

			if (room == 0) {
				struct facet_pktbuf *seg = facet_pktbuf_alloc(txq->pool);

				if (unlikely(!seg))
					goto fail;
				dst->next = seg;
				dst = seg;
				f->nb_segs++;
				continue;
			}
			c = RTE_MIN(room, left);
			rte_memcpy((uint8_t *)facet_pktbuf_data(dst) + dst->data_len, src, c);
			dst->data_len += c;
			f->pkt_len += c;
			src += c;
			left -= c;
		}
	}
	return;
fail:
	if (f->next)
		facet_pktbuf_free(f->next);
	f->next = NULL;
	f->nb_segs = 1;
	f->data_len = 0;
	f->pkt_len = 0;
}

uint16_t facet_pmd_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	struct facet_pmd_txq *txq = queue;
	struct facet_pktbuf *fb[FACET_PMD_BURST];
	uint16_t total = 0;

	while (total < nb_pkts) {
		uint16_t n = RTE_MIN(nb_pkts - total, FACET_PMD_BURST), sent, i;

		if (unlikely(facet_pktbuf_alloc_bulk(txq->pool, fb, n) != 0)) {
			/* Reclaim what the device has sent, then retry once. */
			facet_eth_tx_burst(txq->port, txq->qid, NULL, 0);
			if (facet_pktbuf_alloc_bulk(txq->pool, fb, n) != 0) {
				txq->nobuf++;
				break;
			}
		}
		for (i = 0; i < n; i++) {
			const struct rte_mbuf *m = pkts[total + i];
			struct facet_pktbuf *f = fb[i];

			if (likely(m->nb_segs == 1 && m->data_len <= facet_pktbuf_tailroom(f))) {
				rte_memcpy(facet_pktbuf_data(f), rte_pktmbuf_mtod(m, const void *),
					   m->data_len);
				f->data_len = m->data_len;
				f->pkt_len = m->data_len;
			} else {
				tx_copy_chain(txq, f, m);
			}
		}
		sent = facet_eth_tx_burst(txq->port, txq->qid, fb, n);
		if (unlikely(sent < n))
			facet_pktbuf_free_bulk(fb + sent, n - sent);
		rte_pktmbuf_free_bulk(pkts + total, sent);
		total += sent;
		if (sent < n)
			break;
	}
	return total;
}
