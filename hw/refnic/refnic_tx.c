/* SPDX-License-Identifier: MIT */
/*
 * TX queues (docs/refnic.md §15.2): the worker consumes descriptors from its
 * consumer index up to the producer index the driver rang, gathers each
 * frame's segments into one of the system's burst buffers, applies the
 * checksum offload, hands the burst to the switch, and then publishes
 * status.head once for the whole burst. A frame of one segment that needs
 * neither padding nor the checksum is not gathered: the switch takes it
 * from the driver's buffer, which stays ours (DMA lock held, head not yet
 * past it) until the burst is delivered, so it is copied once, into each
 * receiver's buffer.
 */
#include <string.h>

#include "refnic_priv.h"

static uint32_t tx_max_frame(const struct refnic_func *fn)
{
	return fn->mtu + REFNIC_ETH_OVERHEAD;
}

/* A whole frame in one descriptor that tx_finish() would not touch: @f refers to it in place. */
static bool tx_by_ref(struct refnic_dev *dev, struct refnic_func *fn,
		      const struct refnic_tx_desc *d, struct refnic_frame *f)
{
	void *va;

	if (!(d->flags & REFNIC_TXD_EOP) || (d->flags & REFNIC_TXD_CSUM_L4) ||
	    d->len < REFNIC_FRAME_MIN || d->len > tx_max_frame(fn))
		return false;
	/* A fault or a map without an fd: the copy below reports or handles it. */
	if (refnic_dp_translate(dev, fn, d->addr, d->len, FACET_VFU_DMA_READ, &va))
		return false;
	f->data = va;
	f->len = d->len;
	return true;
}

/*
 * The ring as one burst reads it: translated once (NULL: descriptor by
 * descriptor through refnic_dp_read(), which reports faults), and fetched a
 * few lines ahead of use, since each line comes from the driver's core.
 */
struct tx_ring {
	const struct refnic_tx_desc *va;
	uint32_t mask, pi;
};

#define TX_PREFETCH_AHEAD 12u /* descriptors: three ring lines */

static void tx_ring_init(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
			 uint32_t pi, struct tx_ring *r)
{
	void *va;

	r->mask = (1u << q->log_size) - 1;
	r->pi = pi;
	if (refnic_dp_translate(dev, fn, q->ring_iova, (size_t)(r->mask + 1) * sizeof(*r->va),
				FACET_VFU_DMA_READ, &va))
		va = NULL;
	r->va = va;
	for (uint32_t i = 0; r->va && i < TX_PREFETCH_AHEAD && i < ((pi - q->ci) & r->mask); i += 4)
		__builtin_prefetch(&r->va[(q->ci + i) & r->mask]);
}

static int tx_desc_read(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
			const struct tx_ring *r, uint32_t pos, struct refnic_tx_desc *d)
{
	uint32_t ahead = (pos + TX_PREFETCH_AHEAD) & r->mask;

	if (!r->va)
		return refnic_dp_read(dev, fn, q->ring_iova + (uint64_t)pos * sizeof(*d), d,
				      sizeof(*d));
	/* A new line: ask for the one three lines on, if the driver has posted it. */
	if (!(pos & 3) && ((ahead - pos) & r->mask) < ((r->pi - pos) & r->mask))
		__builtin_prefetch(&r->va[ahead]);
	*d = r->va[pos];
	return 0;
}

/*
 * Gather the frame at q->ci into @f (by reference, or copied into @buf).
 * Returns the number of descriptors it took, 0 if its EOP has not been
 * posted yet (wait for the driver), or -REFNIC_QERR_* when the frame stops
 * the queue.
 */
static int tx_gather_one(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
			 const struct tx_ring *r, struct refnic_frame *f, uint8_t *buf,
			 uint16_t *offload)
{
	uint32_t pos = q->ci, total = 0;

	for (unsigned int seg = 0;; seg++) {
		struct refnic_tx_desc d;

		if (seg == REFNIC_TX_MAX_SEGS)
			return -REFNIC_QERR_BAD_LEN;
		if (pos == r->pi)
			return 0;
		if (tx_desc_read(dev, fn, q, r, pos, &d))
			return -REFNIC_QERR_RING_DMA;
		if (seg == 0) {
			*offload = d.flags;
			if (tx_by_ref(dev, fn, &d, f))
				return 1;
			f->data = buf;
		}
		if (d.len == 0 || total + d.len > tx_max_frame(fn))
			return -REFNIC_QERR_BAD_LEN;
		if (refnic_dp_read(dev, fn, d.addr, buf + total, d.len))
			return -REFNIC_QERR_BUF_DMA;
		total += d.len;
		pos = (pos + 1) & r->mask;
		if (d.flags & REFNIC_TXD_EOP) {
			f->len = total;
			return (int)seg + 1;
		}
	}
}

/*
 * Make a frame wire-ready: pad like a MAC, parse, checksum offload. Only a
 * gathered frame (in @buf) is ever padded or checksummed (see tx_by_ref()).
 */
static void tx_finish(struct refnic_frame *f, uint8_t *buf, uint16_t offload)
{
	if (f->len < REFNIC_FRAME_MIN) {
		memset(buf + f->len, 0, REFNIC_FRAME_MIN - f->len);
		f->len = REFNIC_FRAME_MIN;
	}
	refnic_pkt_parse(f->data, f->len, &f->pkt);
	if (offload & REFNIC_TXD_CSUM_L4)
		refnic_pkt_csum_fill(buf, &f->pkt);
}

static uint8_t *tx_buf(struct refnic_system *sys, unsigned int i)
{
	return sys->frame_mem + (size_t)i * REFNIC_FRAME_MAX;
}

/*
 * Up to a burst of frames into sys->frames; *err: the REFNIC_QERR_* that
 * stopped it. The descriptors first, each frame's header prefetched, then
 * the parsing: the headers arrive while later descriptors are read.
 */
static unsigned int tx_gather(struct refnic_dev *dev, struct refnic_func *fn,
			      struct refnic_queue *q, uint32_t pi, uint8_t *err)
{
	struct refnic_system *sys = dev->sys;
	int port = refnic_switch_port(dev, fn);
	uint16_t offload[REFNIC_BURST];
	struct tx_ring r;
	unsigned int n = 0;

	tx_ring_init(dev, fn, q, pi, &r);
	while (n < REFNIC_BURST && q->ci != pi) {
		struct refnic_frame *f = &sys->frames[n];
		int rc;

		offload[n] = 0;
		rc = tx_gather_one(dev, fn, q, &r, f, tx_buf(sys, n), &offload[n]);
		if (rc <= 0) {
			*err = (uint8_t)-rc;
			break;
		}
		__builtin_prefetch(f->data);
		q->ci = (q->ci + (uint32_t)rc) & r.mask;
		f->src = port;
		f->txfn = fn;
		f->txq = q;
		f->csum_flags = -1;
		n++;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct refnic_frame *f = &sys->frames[i];

		q->stats.bytes += f->len; /* as the descriptors give it, before padding */
		fn->stats.tx_bytes += f->len;
		tx_finish(f, tx_buf(sys, i), offload[i]);
	}
	q->stats.packets += n;
	fn->stats.tx_packets += n;
	return n;
}

/* Worker: one burst of queue @q; dev's system lock held. */
static unsigned int tx_poll(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q)
{
	uint32_t pi;
	unsigned int n = 0;
	uint8_t err = 0;

	if (q->error || !refnic_pci_bus_master(dev))
		return 0;
	pi = refnic_db_read(fn, REFNIC_DB_QUEUE(q->id));
	q->pi = pi; /* seen: see tx_has_work() */
	if (pi == q->ci)
		return 0;
	refnic_dp_lock(dev);
	if (pi >> q->log_size)
		err = REFNIC_QERR_DOORBELL;
	else
		n = tx_gather(dev, fn, q, pi, &err);
	/*
	 * Frames may point into our driver's buffers: they are delivered with
	 * our DMA lock held (delivery takes each receiver's in turn, nesting
	 * if it is ours), and head passes them only afterwards.
	 */
	if (n) {
		refnic_switch_forward(dev->sys, dev->sys->frames, n);
		refnic_queue_publish(dev, fn, q);
	}
	if (err)
		refnic_queue_fail(dev, fn, q, err);
	refnic_dp_unlock(dev);
	if (!n && !err)
		return 0; /* a frame without its EOP yet */
	return n ? n : 1;
}

/*
 * The sleep re-check: a doorbell value the worker has not looked at. (Not
 * "pi != ci": a frame whose EOP the driver has not posted yet must not keep
 * the worker awake; the doorbell that completes it will wake it.)
 */
static bool tx_has_work(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q)
{
	return !q->error && refnic_db_read(fn, REFNIC_DB_QUEUE(q->id)) != q->pi;
}

const struct refnic_qtype_ops refnic_qtype_tx = {
	.name = "tx",
	.feature = REFNIC_FEAT_ETH,
	.max_per_func = REFNIC_ETH_MAX_QUEUES,
	.log_min = REFNIC_ETH_LOG_MIN,
	.log_max = REFNIC_ETH_LOG_MAX,
	.entry_size = sizeof(struct refnic_tx_desc),
	.ring_access = FACET_VFU_DMA_READ,
	.status_line = true,
	.validate = refnic_dpq_validate,
	.start = refnic_dpq_start,
	.poll = tx_poll,
	.has_work = tx_has_work,
};
