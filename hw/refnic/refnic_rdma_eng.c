/* SPDX-License-Identifier: MIT */
/*
 * The RDMA engine in the worker (docs/refnic.md §16.11): each pass posts
 * latched asynchronous events, then, under the device's DMA read lock,
 * serves every QP (timers, responses owed, send queue) and hands the
 * frames to the embedded switch REFNIC_BURST at a time. Frames to the
 * sender's own MAC (two QPs of one function) are looped back without the
 * switch, which never returns a frame to its source port. RoCEv2 frames
 * the switch delivers to a function go to its engine (refnic_rx.c asks
 * refnic_rdma_rx_filter()), never to its Ethernet RX queues.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "refnic_rdma.h"

#define FRAME_MIN 60u

uint64_t rdma_now(struct refnic_dev *dev)
{
	struct timespec ts;

	(void)dev;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct refnic_rdma_dev *rdev_get(struct refnic_dev *dev)
{
	struct refnic_rdma_dev *rd = dev->rdma;

	if (rd)
		return rd;
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return NULL;
	rd->mem = malloc((size_t)REFNIC_BURST * RDMA_FRAME_BUF);
	if (!rd->mem) {
		free(rd);
		return NULL;
	}
	rdma_crc_init();
	dev->rdma = rd;
	return rd;
}

void refnic_rdma_dev_fini(struct refnic_dev *dev)
{
	if (!dev->rdma)
		return;
	free(dev->rdma->mem);
	free(dev->rdma);
	dev->rdma = NULL;
}

/* ---- frames out ------------------------------------------------------------------------ */

uint8_t *rdma_frame_begin(struct refnic_dev *dev)
{
	struct refnic_rdma_dev *rd = dev->rdma;

	if (rd->n == REFNIC_BURST)
		rdma_frames_flush(dev);
	return rd->mem + (size_t)rd->n * RDMA_FRAME_BUF;
}

void rdma_frame_commit(struct refnic_dev *dev, struct refnic_func *fn, const struct rdma_path *p,
		       uint32_t len)
{
	struct refnic_rdma_dev *rd = dev->rdma;
	struct refnic_frame *f = &rd->frames[rd->n];
	uint8_t *buf = rd->mem + (size_t)rd->n * RDMA_FRAME_BUF;

	(void)p;
	if (len < FRAME_MIN) { /* Ethernet padding, outside the IP packet */
		memset(buf + len, 0, FRAME_MIN - len);
		len = FRAME_MIN;
	}
	memset(f, 0, sizeof(*f));
	f->data = buf;
	f->len = len;
	f->src = refnic_switch_port(dev, fn);
	f->csum_flags = -1;
	f->icrc_lazy = true;
	refnic_pkt_parse(buf, len, &f->pkt);
	rd->src[rd->n++] = fn;
}

static void rx_frame(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_frame *f);

void rdma_frames_flush(struct refnic_dev *dev)
{
	struct refnic_rdma_dev *rd = dev->rdma;
	unsigned int n = rd->n, m = 0;

	rd->n = 0; /* receive never sends: nothing is added while we deliver */
	for (unsigned int i = 0; i < n; i++) {
		struct refnic_frame *f = &rd->frames[i];

		if (!memcmp(f->data, rd->src[i]->mac, 6)) {
			rx_frame(dev, rd->src[i], f); /* to ourselves */
			continue;
		}
		if (m != i)
			rd->frames[m] = *f;
		m++;
	}
	if (m)
		refnic_switch_forward(dev->sys, rd->frames, m);
}

/* ---- frames in --------------------------------------------------------------------------- */

static void rx_frame(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_frame *f)
{
	struct refnic_rdma *r = fn->rdma;
	struct rdma_pkt p;
	struct rdma_qp *qp;

	if (!r || !r->nqp)
		return;
	if (rdma_parse(f, &p)) {
		r->rx_drops++;
		return;
	}
	qp = rdma_qp_get(r, p.qpn);
	if (!qp || (qp->type == REFNIC_QPT_UD) != ((p.opcode & 0xe0) == BTH_GRP_UD)) {
		r->rx_drops++;
		return;
	}
	if (qp->type == REFNIC_QPT_UD)
		rdma_resp_ud_rx(dev, fn, qp, &p);
	else if (rdma_op_flags(p.opcode) & OPF_RESPONSE)
		rdma_req_rx(dev, fn, qp, &p);
	else
		rdma_resp_rx(dev, fn, qp, &p);
}

static bool is_roce_for(const struct refnic_func *fn, const struct refnic_frame *f)
{
	const uint8_t *udp = f->data + f->pkt.l4_off;

	return f->pkt.l4_proto == 17 && f->pkt.l4_len >= 8 &&
	       get16(udp + 2) == REFNIC_ROCEV2_UDP_PORT && !memcmp(f->data, fn->mac, 6);
}

/*
 * The engine claims RoCEv2 only while the function has a QP (§16.8): without
 * one, UDP/4791 is ordinary UDP for the Ethernet RX queues, exactly as in
 * revision 1.1, so a driver that never uses RDMA sees no change.
 */
unsigned int refnic_rdma_rx_filter(struct refnic_dev *dev, struct refnic_func *fn,
				   struct refnic_frame **f, unsigned int n)
{
	unsigned int m = 0;

	if (!fn->rdma || !fn->rdma->nqp || !rdev_get(dev))
		return n;
	for (unsigned int i = 0; i < n; i++) {
		if (is_roce_for(fn, f[i])) {
			rx_frame(dev, fn, f[i]);
			continue;
		}
		f[m++] = f[i];
	}
	return m;
}

/* ---- the worker ------------------------------------------------------------------------------ */

/* Latched events (QP_FATAL, CQ_ERROR): posting may drop the lock, so outside the DMA lock. */
static int post_events(struct refnic_dev *dev, unsigned int *n)
{
	for (unsigned int i = 0; i < dev->num_funcs; i++) {
		struct refnic_func *fn = &dev->funcs[i];
		struct refnic_rdma *r = fn->rdma;

		while (fn->active && r && r->nev) {
			struct rdma_event ev = r->ev[0];

			memmove(&r->ev[0], &r->ev[1], --r->nev * sizeof(r->ev[0]));
			if (refnic_event_post(dev, fn, ev.type, ev.data) == -ECANCELED)
				return -ECANCELED; /* a reset: everything is gone */
			(*n)++;
		}
	}
	return 0;
}

static unsigned int qp_poll(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			    uint64_t now)
{
	unsigned int n = 0;

	switch (qp->state) {
	case REFNIC_QPS_RESET:
	case REFNIC_QPS_INIT:
		return 0;
	case REFNIC_QPS_ERR:
		return rdma_qp_flush(dev, fn, qp);
	case REFNIC_QPS_SQE:
		return qp->flush || refnic_db_read(fn, RDMA_QP_DB_SQ(qp->idx)) != qp->sq_seen
			       ? rdma_qp_flush(dev, fn, qp)
			       : 0;
	default:
		break;
	}
	n += rdma_req_timers(dev, fn, qp, now);
	n += rdma_resp_send(dev, fn, qp, RDMA_QP_BUDGET);
	if (qp->resp_err && qp->rsp_head == qp->rsp_tail) {
		rdma_qp_error(fn, qp, true); /* its fatal NAK is out */
		n++;
	}
	if (qp->state == REFNIC_QPS_RTS || qp->state == REFNIC_QPS_SQD)
		n += rdma_req_send(dev, fn, qp, RDMA_QP_BUDGET);
	if (qp->state == REFNIC_QPS_ERR || qp->state == REFNIC_QPS_SQE)
		n += rdma_qp_flush(dev, fn, qp);
	return n;
}

static bool any_qp(struct refnic_dev *dev)
{
	for (unsigned int i = 0; i < dev->num_funcs; i++)
		if (dev->funcs[i].active && dev->funcs[i].rdma && dev->funcs[i].rdma->nqp)
			return true;
	return false;
}

unsigned int refnic_rdma_poll(struct refnic_dev *dev)
{
	unsigned int n = 0;
	uint64_t now;

	if (!refnic_pci_bus_master(dev))
		return 0;
	if (post_events(dev, &n) < 0)
		return n;
	if (!any_qp(dev) || !rdev_get(dev))
		return n;
	now = rdma_now(dev);
	refnic_dp_lock(dev);
	for (unsigned int i = 0; i < dev->num_funcs; i++) {
		struct refnic_func *fn = &dev->funcs[i];
		struct refnic_rdma *r = fn->rdma;

		for (unsigned int q = 0; fn->active && r && r->nqp && q < RDMA_MAX_QP; q++)
			if (r->qp[q])
				n += qp_poll(dev, fn, r->qp[q], now);
	}
	rdma_frames_flush(dev);
	refnic_dp_unlock(dev);
	return n;
}

bool refnic_rdma_has_work(struct refnic_dev *dev)
{
	if (!refnic_pci_bus_master(dev))
		return false;
	for (unsigned int i = 0; i < dev->num_funcs; i++) {
		struct refnic_func *fn = &dev->funcs[i];
		struct refnic_rdma *r = fn->rdma;

		if (!fn->active || !r)
			continue;
		if (r->nev)
			return true;
		for (unsigned int q = 0; r->nqp && q < RDMA_MAX_QP; q++)
			if (r->qp[q] && rdma_qp_has_work(dev, fn, r->qp[q]))
				return true;
	}
	return false;
}

uint64_t refnic_rdma_deadline(struct refnic_dev *dev)
{
	uint64_t dl = UINT64_MAX;

	for (unsigned int i = 0; i < dev->num_funcs; i++) {
		struct refnic_rdma *r = dev->funcs[i].rdma;

		for (unsigned int q = 0; dev->funcs[i].active && r && r->nqp && q < RDMA_MAX_QP;
		     q++) {
			const struct rdma_qp *qp = r->qp[q];

			if (!qp)
				continue;
			if (qp->rto_at && qp->rto_at < dl)
				dl = qp->rto_at;
			if (qp->rnr_at && qp->rnr_at < dl)
				dl = qp->rnr_at;
		}
	}
	return dl;
}
