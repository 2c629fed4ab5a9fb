/* SPDX-License-Identifier: MIT */
/*
 * net_facet bursts (see facet_ethdev.h for both modes).
 *
 * Zero copy. RX: one facet_eth_rx_burst(); each returned header carries its
 * mbuf (the device wrote the frame into it), which gets its fields with one
 * 8-byte store plus lengths and flags; one detach of the headers. Refills
 * happen inside the facet burst through the pool's attach(): one
 * rte_mempool_get_bulk() and an IOVA lookup (a compare against the last
 * hit) per mbuf. TX: one bulk get of headers, each pointed at its mbuf's
 * buffer (the IOVA of the queue's device), one facet_eth_tx_burst(); the
 * driver's completion reclaim hands the mbufs to rte_pktmbuf_free_bulk().
 *
 * Copy mode (copy=1). RX: one facet_eth_rx_burst(), one
 * rte_pktmbuf_alloc_bulk() for the frames received, a copy each, one
 * facet_pktbuf_free_bulk(). TX: one facet_pktbuf_alloc_bulk() from the
 * queue's own pool, a copy each, one facet_eth_tx_burst(), one
 * rte_pktmbuf_free_bulk() of what it accepted.
 *
 * Nothing takes a lock or makes a syscall; the pools are used by the
 * queue's polling thread only.
 */
#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "facet_ethdev.h"

/* The device writes a frame at buf_iova + FACET_PKTBUF_HEADROOM: the mbuf's data_off. */
static_assert(RTE_PKTMBUF_HEADROOM == FACET_PKTBUF_HEADROOM,
	      "mbuf headroom and facet_pktbuf headroom differ");

/* TX offloads the device has: TCP/UDP checksum (it fills the field, no seed needed). */
static __rte_always_inline uint64_t tx_flags(const struct rte_mbuf *m)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;

	return (l4 == RTE_MBUF_F_TX_TCP_CKSUM || l4 == RTE_MBUF_F_TX_UDP_CKSUM)
		       ? FACET_PKTBUF_TX_L4_CSUM
		       : 0;
}

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
			f->ol_flags = tx_flags(m);
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

/* ---- zero copy: RX ------------------------------------------------------------------- */

/* The queue's view of the IOVA table, refreshed when a new one is published. */
static __rte_always_inline const struct facet_pmd_iova_table *
table_of(struct facet_pmd_mem *mem, const struct facet_pmd_iova_table **cached, uint32_t *hint)
{
	const struct facet_pmd_iova_table *t = facet_pmd_mem_table(mem);

	if (unlikely(t != *cached)) {
		*cached = t;
		*hint = 0;
	}
	return t;
}

#define RX_ATTACH_CHUNK 64

/* Give @n headers a buffer each: @n mbufs of the mempool, untouched (raw). */
static int rx_attach_chunk(struct facet_pmd_rxq *rxq, const struct facet_pmd_iova_table *t,
			   struct facet_pktbuf **bufs, unsigned int n)
{
	struct rte_mbuf *mb[RX_ATTACH_CHUNK];
	uint16_t room = facet_pktbuf_pool_buf_size(rxq->pool);

	if (unlikely(rte_mempool_get_bulk(rxq->mp, (void **)mb, n) != 0))
		return -ENOBUFS;
	for (unsigned int i = 0; i < n; i++) {
		struct facet_pktbuf *b = bufs[i];
		/* The buffer follows the mbuf: no need to touch the mbuf to find it. */
		void *buf = likely(!rxq->pinned_ext) ? (uint8_t *)mb[i] + rxq->mbuf_hdr
						     : mb[i]->buf_addr;
		uint64_t iova = facet_pmd_iova(t, &rxq->hint, buf, room);

		if (unlikely(iova == FACET_PMD_IOVA_NONE)) {
			/* Checked at setup; memory unregistered since? Keep the ring short. */
			rte_mempool_put_bulk(rxq->mp, (void **)mb, n);
			return -ENOBUFS;
		}
		b->buf_addr = buf;
		b->buf_iova = iova;
		b->udata = (uintptr_t)mb[i];
	}
	return 0;
}

static void rx_release(void *ctx, struct facet_pktbuf *const *bufs, unsigned int n)
{
	struct facet_pmd_rxq *rxq = ctx;
	void *mb[RX_ATTACH_CHUNK];
	unsigned int k = 0;

	/* Never given to the application: the mbufs are as the mempool gave them. */
	for (unsigned int i = 0; i < n; i++) {
		mb[k++] = (void *)(uintptr_t)bufs[i]->udata;
		if (k == RX_ATTACH_CHUNK) {
			rte_mempool_put_bulk(rxq->mp, mb, k);
			k = 0;
		}
	}
	if (k)
		rte_mempool_put_bulk(rxq->mp, mb, k);
}

static int rx_attach(void *ctx, struct facet_pktbuf **bufs, unsigned int n)
{
	struct facet_pmd_rxq *rxq = ctx;
	const struct facet_pmd_iova_table *t = table_of(rxq->mem, &rxq->table, &rxq->hint);
	unsigned int done = 0;

	while (done < n) {
		unsigned int c = RTE_MIN(n - done, (unsigned int)RX_ATTACH_CHUNK);

		if (unlikely(rx_attach_chunk(rxq, t, bufs + done, c) < 0)) {
			rx_release(rxq, bufs, done); /* all or nothing */
			return -ENOBUFS;
		}
		done += c;
	}
	return 0;
}

const struct facet_pktbuf_ext_ops facet_pmd_rx_ext_ops = {
	.attach = rx_attach,
	.release = rx_release,
};

/* A frame in several buffers: link their mbufs, give the headers back. Slow path. */
static void rx_zc_chain(struct facet_pmd_rxq *rxq, struct rte_mbuf *m, struct facet_pktbuf *f)
{
	struct rte_mbuf *prev = m;
	struct facet_pktbuf *s = f->next;

	m->nb_segs = f->nb_segs;
	f->next = NULL; /* the pool's invariant */
	while (s) {
		struct facet_pktbuf *next = s->next;
		struct rte_mbuf *seg = (struct rte_mbuf *)(uintptr_t)s->udata;

		*facet_pmd_mbuf_rearm(seg) = rxq->mbuf_rearm;
		seg->data_len = s->data_len;
		seg->pkt_len = s->data_len;
		seg->ol_flags = 0;
		prev->next = seg;
		prev = seg;
		s->next = NULL;
		facet_pktbuf_pool_detach_bulk(rxq->pool, &s, 1);
		s = next;
	}
}

uint16_t facet_pmd_rx_burst_zc(void *queue, struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	struct facet_pmd_rxq *rxq = queue;
	struct facet_pktbuf *fb[FACET_PMD_BURST];
	const uint64_t rearm = rxq->mbuf_rearm;
	uint16_t n, i;

	if (nb_pkts > FACET_PMD_BURST)
		nb_pkts = FACET_PMD_BURST;
	n = facet_eth_rx_burst(rxq->port, rxq->qid, fb, nb_pkts);
	if (n == 0)
		return 0;
	/* The mbufs were not touched since the refill: fetch their first lines now. */
	for (i = 0; i < n; i++) {
		pkts[i] = (struct rte_mbuf *)(uintptr_t)fb[i]->udata;
		rte_prefetch0(pkts[i]);
	}
	for (i = 0; i < n; i++) {
		struct facet_pktbuf *f = fb[i];
		struct rte_mbuf *m = pkts[i];

		/* data_off, refcnt 1, nb_segs 1, port: one store. */
		*facet_pmd_mbuf_rearm(m) = rearm;
		m->data_len = f->data_len;
		m->pkt_len = f->pkt_len;
		m->vlan_tci = 0;
		if (unlikely(f->next != NULL))
			rx_zc_chain(rxq, m, f);
		rx_meta(m, f);
	}
	facet_pktbuf_pool_detach_bulk(rxq->pool, fb, n);
	return n;
}

/* ---- zero copy: TX ------------------------------------------------------------------- */

#define TX_MAX_SEGS 64

static void tx_release(void *ctx, struct facet_pktbuf *const *bufs, unsigned int n)
{
	struct rte_mbuf *mb[FACET_PMD_BURST];
	unsigned int k = 0;

	RTE_SET_USED(ctx);
	/* Only the header of a frame's last segment carries the mbuf (whole chain). */
	for (unsigned int i = 0; i < n; i++) {
		if (!bufs[i]->udata)
			continue;
		mb[k++] = (struct rte_mbuf *)(uintptr_t)bufs[i]->udata;
		if (k == FACET_PMD_BURST) {
			rte_pktmbuf_free_bulk(mb, k);
			k = 0;
		}
	}
	if (k)
		rte_pktmbuf_free_bulk(mb, k);
}

const struct facet_pktbuf_ext_ops facet_pmd_tx_ext_ops = {
	.attach = NULL, /* the burst points the headers at the mbufs itself */
	.release = tx_release,
};

/* Describe the segment @s with header @f (IOVA known). */
static __rte_always_inline void tx_hdr(struct facet_pktbuf *f, const struct rte_mbuf *s,
				       uint64_t iova)
{
	f->buf_addr = s->buf_addr;
	f->buf_iova = iova;
	f->buf_len = s->buf_len;
	f->data_off = s->data_off;
	f->data_len = s->data_len;
	f->next = NULL;
	f->udata = 0;
}

/* Give back the headers of frames the driver did not take (chains included). */
static void tx_zc_unsent(struct facet_pmd_txq *txq, struct facet_pktbuf **fb, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct facet_pktbuf *f = fb[i];

		if (f->pool != txq->hdrs) { /* a bounce copy: ours to free */
			facet_pktbuf_free(f);
			continue;
		}
		while (f) {
			struct facet_pktbuf *next = f->next;

			f->next = NULL;
			facet_pktbuf_pool_detach_bulk(txq->hdrs, &f, 1);
			f = next;
		}
	}
}

/* Headers for a chain; 0, or -ENOBUFS / -EFAULT (a segment outside registered memory). */
static int tx_zc_chain(struct facet_pmd_txq *txq, const struct facet_pmd_iova_table *t,
		       struct facet_pktbuf *f, struct rte_mbuf *m)
{
	struct facet_pktbuf *seg[TX_MAX_SEGS];
	unsigned int extra = m->nb_segs - 1u, i = 0;
	const struct rte_mbuf *s;
	struct facet_pktbuf *prev = f;

	if (m->nb_segs > TX_MAX_SEGS)
		return -EFAULT; /* the device takes fewer anyway: the copy is one chain */
	if (facet_pktbuf_pool_get_bulk(txq->hdrs, seg, extra) < 0)
		return -ENOBUFS;
	for (s = m; s; s = s->next) {
		struct facet_pktbuf *h = s == m ? f : i < extra ? seg[i++] : NULL;
		uint64_t iova = h ? facet_pmd_iova(t, &txq->hint, s->buf_addr, s->buf_len)
				  : FACET_PMD_IOVA_NONE;

		if (iova == FACET_PMD_IOVA_NONE)
			break;
		tx_hdr(h, s, iova);
		if (h != f)
			prev->next = h;
		prev = h;
	}
	if (likely(!s && i == extra)) {
		prev->udata = (uintptr_t)m;
		return 0;
	}
	/* Unregistered memory, or nb_segs not the chain's length: copy it. */
	f->next = NULL;
	for (i = 0; i < extra; i++)
		seg[i]->next = NULL;
	facet_pktbuf_pool_detach_bulk(txq->hdrs, seg, extra);
	return -EFAULT;
}

/*
 * The slow path of one frame: a chain, or buffers outside registered memory
 * (copied into the bounce pool). Replaces fb[0] if it copies. Returns 0, 1
 * (copied: free the mbuf once sent), or -ENOBUFS (stop the burst here).
 */
static int tx_zc_slow(struct facet_pmd_txq *txq, const struct facet_pmd_iova_table *t,
		      struct facet_pktbuf **fb, struct rte_mbuf *m)
{
	struct facet_pktbuf *f = fb[0], *copy;
	int ret = m->nb_segs > 1 ? tx_zc_chain(txq, t, f, m) : -EFAULT;

	if (ret != -EFAULT)
		return ret;
	copy = facet_pktbuf_alloc(txq->pool);
	if (!copy)
		return -ENOBUFS;
	tx_copy_chain(txq, copy, m);
	copy->ol_flags = tx_flags(m);
	facet_pktbuf_pool_detach_bulk(txq->hdrs, &f, 1);
	fb[0] = copy;
	txq->copied++;
	return 1;
}

/* Point @n headers at the mbufs; returns how many frames are ready (a prefix). */
static uint16_t tx_zc_fill(struct facet_pmd_txq *txq, struct facet_pktbuf **fb,
			   struct rte_mbuf **pkts, uint16_t n, uint64_t *copied)
{
	const struct facet_pmd_iova_table *t = table_of(txq->mem, &txq->table, &txq->hint);

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct facet_pktbuf *f = fb[i];
		uint64_t iova;
		int ret;

		if (i + 1 < n)
			rte_prefetch0(pkts[i + 1]);
		f->nb_segs = m->nb_segs;
		f->pkt_len = m->pkt_len;
		f->ol_flags = tx_flags(m);
		if (likely(m->nb_segs == 1)) {
			iova = facet_pmd_iova(t, &txq->hint, m->buf_addr, m->buf_len);
			if (likely(iova != FACET_PMD_IOVA_NONE)) {
				tx_hdr(f, m, iova);
				f->udata = (uintptr_t)m;
				continue;
			}
		}
		ret = tx_zc_slow(txq, t, &fb[i], m);
		if (ret == 1) {
			*copied |= 1ull << i;
		} else if (ret < 0) {
			facet_pktbuf_pool_detach_bulk(txq->hdrs, fb + i, n - i);
			txq->nobuf++;
			return i;
		}
	}
	return n;
}

uint16_t facet_pmd_tx_burst_zc(void *queue, struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	struct facet_pmd_txq *txq = queue;
	struct facet_pktbuf *fb[FACET_PMD_BURST];
	uint16_t total = 0;

	while (total < nb_pkts) {
		uint16_t n = RTE_MIN(nb_pkts - total, FACET_PMD_BURST), ready, sent;
		uint64_t copied = 0;

		if (unlikely(facet_pktbuf_pool_get_bulk(txq->hdrs, fb, n) != 0)) {
			/* Reclaim what the device has sent, then retry once. */
			facet_eth_tx_burst(txq->port, txq->qid, NULL, 0);
			if (facet_pktbuf_pool_get_bulk(txq->hdrs, fb, n) != 0) {
				txq->nobuf++;
				break;
			}
		}
		ready = tx_zc_fill(txq, fb, pkts + total, n, &copied);
		sent = facet_eth_tx_burst(txq->port, txq->qid, fb, ready);
		if (unlikely(sent < ready))
			tx_zc_unsent(txq, fb + sent, ready - sent);
		/* Copied frames: the mbuf is ours to free once the copy is accepted. */
		for (; unlikely(copied); copied &= copied - 1) {
			unsigned int i = (unsigned int)__builtin_ctzll(copied);

			if (i < sent)
				rte_pktmbuf_free(pkts[total + i]);
		}
		total += sent;
		if (sent < n)
			break;
	}
	return total;
}
