/* SPDX-License-Identifier: MIT */
/*
 * TX queues (docs/refnic.md §15.2): the worker consumes descriptors from its
 * consumer index up to the producer index the driver rang, gathers each
 * frame's segments into one of the system's burst buffers (so the driver's
 * buffers are free as soon as the frame is copied), applies the checksum
 * offload, hands the burst to the switch, and then publishes status.head
 * once for the whole burst.
 */
#include <string.h>

#include "refnic_priv.h"

static uint32_t tx_max_frame(const struct refnic_func *fn)
{
	return fn->mtu + REFNIC_ETH_OVERHEAD;
}

/*
 * Gather the frame at q->ci into @f. Returns the number of descriptors it
 * took, 0 if its EOP has not been posted yet (wait for the driver), or
 * -REFNIC_QERR_* when the frame stops the queue.
 */
static int tx_gather_one(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
			 uint32_t pi, struct refnic_frame *f, uint16_t *offload)
{
	uint32_t mask = (1u << q->log_size) - 1;
	uint32_t pos = q->ci, total = 0;

	for (unsigned int seg = 0;; seg++) {
		struct refnic_tx_desc d;

		if (seg == REFNIC_TX_MAX_SEGS)
			return -REFNIC_QERR_BAD_LEN;
		if (pos == pi)
			return 0;
		if (refnic_dp_read(dev, fn, q->ring_iova + (uint64_t)pos * sizeof(d), &d,
				   sizeof(d)))
			return -REFNIC_QERR_RING_DMA;
		if (seg == 0)
			*offload = d.flags;
		if (d.len == 0 || total + d.len > tx_max_frame(fn))
			return -REFNIC_QERR_BAD_LEN;
		if (refnic_dp_read(dev, fn, d.addr, f->data + total, d.len))
			return -REFNIC_QERR_BUF_DMA;
		total += d.len;
		pos = (pos + 1) & mask;
		if (d.flags & REFNIC_TXD_EOP) {
			f->len = total;
			return (int)seg + 1;
		}
	}
}

/* Make a gathered frame wire-ready: pad like a MAC, parse, checksum offload. */
static void tx_finish(struct refnic_frame *f, uint16_t offload)
{
	if (f->len < REFNIC_FRAME_MIN) {
		memset(f->data + f->len, 0, REFNIC_FRAME_MIN - f->len);
		f->len = REFNIC_FRAME_MIN;
	}
	refnic_pkt_parse(f->data, f->len, &f->pkt);
	if (offload & REFNIC_TXD_CSUM_L4)
		refnic_pkt_csum_fill(f->data, &f->pkt);
}

/* Up to a burst of frames into sys->frames; *err: the REFNIC_QERR_* that stopped it. */
static unsigned int tx_gather(struct refnic_dev *dev, struct refnic_func *fn,
			      struct refnic_queue *q, uint32_t pi, uint8_t *err)
{
	struct refnic_system *sys = dev->sys;
	int port = refnic_switch_port(dev, fn);
	unsigned int n = 0;

	while (n < REFNIC_BURST && q->ci != pi) {
		struct refnic_frame *f = &sys->frames[n];
		uint16_t offload = 0;
		int rc;

		f->data = sys->frame_mem + (size_t)n * REFNIC_FRAME_MAX;
		rc = tx_gather_one(dev, fn, q, pi, f, &offload);
		if (rc <= 0) {
			*err = (uint8_t)-rc;
			break;
		}
		q->ci = (q->ci + (uint32_t)rc) & ((1u << q->log_size) - 1);
		q->stats.packets++;
		q->stats.bytes += f->len;
		fn->stats.tx_packets++;
		fn->stats.tx_bytes += f->len;
		tx_finish(f, offload);
		f->src = port;
		f->txfn = fn;
		f->txq = q;
		f->csum_flags = -1;
		n++;
	}
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
	refnic_dp_unlock(dev);
	/* Our DMA lock is released: delivery takes each receiver's in turn. */
	if (n)
		refnic_switch_forward(dev->sys, dev->sys->frames, n);
	if (!n && !err)
		return 0; /* a frame without its EOP yet */
	refnic_dp_lock(dev);
	if (n)
		refnic_queue_publish(dev, fn, q);
	if (err)
		refnic_queue_fail(dev, fn, q, err);
	refnic_dp_unlock(dev);
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
