/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs: send and receive rings in one DMA block, the QP commands,
 * and the post functions.
 *
 * Posting writes WQEs at the producer index and rings the queue's doorbell
 * once per list with the ring index to fill next; the core's ring_doorbell
 * makes a syscall only when the device sleeps. Free space comes from the
 * consumer indexes the CQ pollers advance (refnic_rdma_cq.c): a ring of
 * 2^n slots holds 2^n - 1 WQEs, as the device takes a doorbell equal to the
 * consumer position as "empty".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refnic_rdma.h"

/* ---- QPN table ------------------------------------------------------------------------ */

static uint32_t qpn_hash(uint32_t qpn)
{
	return qpn * 2654435761u;
}

int rr_qp_table_init(struct rr_qp_table *t, uint32_t max_qp)
{
	uint32_t size = 16;

	while (size < 2 * max_qp)
		size <<= 1;
	t->slots = calloc(size, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->mask = size - 1;
	return 0;
}

void rr_qp_table_free(struct rr_qp_table *t)
{
	free(t->slots);
	t->slots = NULL;
}

struct rr_qp *rr_qp_lookup(const struct rr_qp_table *t, uint32_t qpn)
{
	for (uint32_t i = qpn_hash(qpn) & t->mask, n = 0; n <= t->mask;
	     i = (i + 1) & t->mask, n++) {
		struct rr_qp *qp = atomic_load_explicit(&t->slots[i], memory_order_acquire);

		if (!qp)
			return NULL;
		if (qp != RR_QP_TOMBSTONE && qp->qpn == qpn)
			return qp;
	}
	return NULL;
}

static int table_add(struct rr_qp_table *t, struct rr_qp *qp)
{
	for (uint32_t i = qpn_hash(qp->qpn) & t->mask, n = 0; n <= t->mask;
	     i = (i + 1) & t->mask, n++) {
		struct rr_qp *cur = atomic_load(&t->slots[i]);

		if (!cur || cur == RR_QP_TOMBSTONE) {
			atomic_store_explicit(&t->slots[i], qp, memory_order_release);
			return 0;
		}
	}
	return -ENOSPC;
}

static void table_del(struct rr_qp_table *t, struct rr_qp *qp)
{
	for (uint32_t i = 0; i <= t->mask; i++) {
		if (atomic_load(&t->slots[i]) == qp)
			atomic_store(&t->slots[i], RR_QP_TOMBSTONE);
	}
}

/* ---- create / destroy ----------------------------------------------------------------- */

static uint8_t ring_log(uint32_t wr, uint8_t log_max)
{
	uint8_t log = 1;

	while ((1u << log) < wr + 1 && log < 31)
		log++;
	return log <= log_max ? log : 0;
}

static void qp_free(struct rr_qp *qp)
{
	facet_core_dma_free(qp->mem);
	free(qp);
}

static int qp_rings(struct rr_dev *rd, struct rr_qp *qp, uint8_t sq_log, uint8_t rq_log)
{
	const struct facet_core_dma_opts opts = { .numa_node = -1, .no_hugepages = true };
	size_t sq_bytes = sizeof(struct refnic_send_wqe) << sq_log;
	size_t rq_bytes = sizeof(struct refnic_recv_wqe) << rq_log;
	int ret = facet_core_dma_alloc(rd->pci, sq_bytes + rq_bytes, &opts, &qp->mem);

	if (ret < 0)
		return ret;
	qp->sq = facet_core_dma_va(qp->mem);
	qp->rq = (struct refnic_recv_wqe *)((uint8_t *)qp->sq + sq_bytes);
	qp->sq_mask = (1u << sq_log) - 1;
	qp->rq_mask = (1u << rq_log) - 1;
	return 0;
}

int rr_qp_create(void *priv, const struct facet_rdma_qp_hw *in, struct facet_rdma_qp_hw_out *out)
{
	struct rr_dev *rd = priv;
	struct rr_cq *scq = in->send_cq, *rcq = in->recv_cq;
	uint8_t sq_log = ring_log(in->cap.max_send_wr, rd->caps.sq_log_max);
	uint8_t rq_log = ring_log(in->cap.max_recv_wr, rd->caps.rq_log_max);
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_CREATE_QP };
	struct refnic_qp_config cfg;
	struct rr_qp *qp;
	uint64_t result;
	int ret;

	if (!sq_log || !rq_log) {
		RR_ERR("%s: QP: %u send / %u receive WRs: rings too large", rd->name,
		       in->cap.max_send_wr, in->cap.max_recv_wr);
		return -EINVAL;
	}
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return -ENOMEM;
	ret = qp_rings(rd, qp, sq_log, rq_log);
	if (ret < 0) {
		free(qp);
		return ret;
	}
	cfg = (struct refnic_qp_config){
		.type = in->type == FACET_RDMA_QPT_UD ? REFNIC_QPT_UD : REFNIC_QPT_RC,
		.sq_log_size = sq_log,
		.rq_log_size = rq_log,
		.flags = in->sq_sig_all ? REFNIC_QPF_SQ_SIG_ALL : 0,
		.pdn = in->pdn,
		.send_cqn = scq->cqn,
		.recv_cqn = rcq->cqn,
		.sq_iova = facet_core_dma_iova(qp->mem),
		.rq_iova =
			facet_core_dma_iova(qp->mem) + (sizeof(struct refnic_send_wqe) << sq_log),
	};
	ret = rr_cmd_data(rd, &sqe, &cfg, sizeof(cfg), &result, "CREATE_QP");
	if (ret < 0) {
		qp_free(qp);
		return ret;
	}
	qp->qpn = REFNIC_QP_RESULT_QPN(result);
	qp->sq_db = REFNIC_QP_RESULT_SQ_DB(result);
	qp->rq_db = REFNIC_QP_RESULT_RQ_DB(result);
	qp->type = cfg.type;
	qp->max_send_sge = (uint8_t)in->cap.max_send_sge;
	qp->max_recv_sge = (uint8_t)in->cap.max_recv_sge;
	qp->max_inline = rd->caps.max_inline;
	qp->ops = rd->ops;
	qp->slice = rd->slice;
	qp->scq = scq;
	qp->rcq = rcq;
	ret = table_add(&rd->qps, qp);
	if (ret < 0) {
		RR_ERR("%s: QP %u: QP table full", rd->name, qp->qpn);
		if (rr_cmd_obj(rd, REFNIC_OP_DESTROY_QP, qp->qpn, "DESTROY_QP") == 0)
			qp_free(qp);
		return ret;
	}
	out->ctx = qp;
	out->qpn = qp->qpn;
	out->cap = (struct facet_rdma_qp_cap){
		.max_send_wr = qp->sq_mask,
		.max_recv_wr = qp->rq_mask,
		.max_send_sge = qp->max_send_sge,
		.max_recv_sge = qp->max_recv_sge,
		.max_inline_data = qp->max_inline,
	};
	return 0;
}

int rr_qp_destroy(void *priv, void *ctx)
{
	struct rr_dev *rd = priv;
	struct rr_qp *qp = ctx;
	int ret = rr_cmd_obj(rd, REFNIC_OP_DESTROY_QP, qp->qpn, "DESTROY_QP");

	table_del(&rd->qps, qp);
	/* A device that refused may still read the rings: never free them then. */
	if (ret < 0 && ret != -ENODEV && !facet_core_is_dead(rd->pci)) {
		RR_WARN("%s: QP %u: rings leaked, the device may still use them", rd->name,
			qp->qpn);
		free(qp);
		return ret;
	}
	qp_free(qp);
	return 0;
}

/* ---- modify / query ------------------------------------------------------------------- */

#define HW_MASK                                                                                    \
	(REFNIC_QP_ATTR_STATE | REFNIC_QP_ATTR_CUR_STATE | REFNIC_QP_ATTR_ACCESS_FLAGS |           \
	 REFNIC_QP_ATTR_PKEY_INDEX | REFNIC_QP_ATTR_PORT | REFNIC_QP_ATTR_QKEY |                   \
	 REFNIC_QP_ATTR_AV | REFNIC_QP_ATTR_PATH_MTU | REFNIC_QP_ATTR_TIMEOUT |                    \
	 REFNIC_QP_ATTR_RETRY_CNT | REFNIC_QP_ATTR_RNR_RETRY | REFNIC_QP_ATTR_RQ_PSN |             \
	 REFNIC_QP_ATTR_MAX_QP_RD_ATOMIC | REFNIC_QP_ATTR_MIN_RNR_TIMER | REFNIC_QP_ATTR_SQ_PSN |  \
	 REFNIC_QP_ATTR_MAX_DEST_RD_ATOMIC | REFNIC_QP_ATTR_DEST_QPN)

static_assert(FACET_RDMA_QP_AV == REFNIC_QP_ATTR_AV &&
		      FACET_RDMA_QP_DEST_QPN == REFNIC_QP_ATTR_DEST_QPN &&
		      FACET_RDMA_QP_MAX_DEST_RD_ATOMIC == REFNIC_QP_ATTR_MAX_DEST_RD_ATOMIC,
	      "the library's attribute mask is the device's");

/* Only attributes in the mask: the device wants the others written 0. */
static void attr_to_hw(const struct facet_rdma_qp_attr *a, uint32_t mask, struct refnic_qp_attr *h)
{
	memset(h, 0, sizeof(*h));
	h->mask = mask;
	if (mask & REFNIC_QP_ATTR_STATE)
		h->state = (uint8_t)a->qp_state;
	if (mask & REFNIC_QP_ATTR_CUR_STATE)
		h->cur_state = (uint8_t)a->cur_qp_state;
	if (mask & REFNIC_QP_ATTR_PATH_MTU)
		h->path_mtu = (uint8_t)a->path_mtu;
	if (mask & REFNIC_QP_ATTR_PORT)
		h->port = a->port_num;
	if (mask & REFNIC_QP_ATTR_ACCESS_FLAGS)
		h->access = a->qp_access_flags;
	if (mask & REFNIC_QP_ATTR_QKEY)
		h->qkey = a->qkey;
	if (mask & REFNIC_QP_ATTR_RQ_PSN)
		h->rq_psn = a->rq_psn & 0xffffffu;
	if (mask & REFNIC_QP_ATTR_SQ_PSN)
		h->sq_psn = a->sq_psn & 0xffffffu;
	if (mask & REFNIC_QP_ATTR_DEST_QPN)
		h->dest_qpn = a->dest_qp_num;
	if (mask & REFNIC_QP_ATTR_PKEY_INDEX)
		h->pkey_index = a->pkey_index;
	if (mask & REFNIC_QP_ATTR_TIMEOUT)
		h->timeout = a->timeout;
	if (mask & REFNIC_QP_ATTR_RETRY_CNT)
		h->retry_cnt = a->retry_cnt;
	if (mask & REFNIC_QP_ATTR_RNR_RETRY)
		h->rnr_retry = a->rnr_retry;
	if (mask & REFNIC_QP_ATTR_MIN_RNR_TIMER)
		h->min_rnr_timer = a->min_rnr_timer;
	if (mask & REFNIC_QP_ATTR_MAX_QP_RD_ATOMIC)
		h->max_rd_atomic = a->max_rd_atomic;
	if (mask & REFNIC_QP_ATTR_MAX_DEST_RD_ATOMIC)
		h->max_dest_rd_atomic = a->max_dest_rd_atomic;
	if (mask & REFNIC_QP_ATTR_AV)
		rr_av_to_hw(&a->ah_attr, &h->av);
}

int rr_qp_modify(void *priv, void *ctx, const struct facet_rdma_qp_attr *attr, uint32_t mask)
{
	struct rr_dev *rd = priv;
	struct rr_qp *qp = ctx;
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_MODIFY_QP, .rdma_obj = { .id = qp->qpn } };
	struct refnic_qp_attr h;
	int ret;

	if (mask & ~HW_MASK) {
		RR_ERR("%s: QP %u: attributes %#x cannot be modified", rd->name, qp->qpn,
		       mask & ~HW_MASK);
		return -EINVAL;
	}
	attr_to_hw(attr, mask, &h);
	ret = rr_cmd_data(rd, &sqe, &h, sizeof(h), NULL, "MODIFY_QP");
	if (ret < 0 || !(mask & REFNIC_QP_ATTR_STATE))
		return ret;
	if (attr->qp_state == FACET_RDMA_QPS_RESET) {
		/* RESET empties both queues: the rings start over at index 0. */
		qp->sq_pi = 0;
		atomic_store(&qp->sq_ci, 0);
		qp->rq_pi = 0;
		atomic_store(&qp->rq_ci, 0);
	}
	atomic_store_explicit(&qp->state, (uint8_t)attr->qp_state, memory_order_relaxed);
	return 0;
}

int rr_qp_query(void *priv, void *ctx, struct facet_rdma_qp_attr *a)
{
	struct rr_dev *rd = priv;
	struct rr_qp *qp = ctx;
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_QUERY_QP, .rdma_obj = { .id = qp->qpn } };
	struct refnic_qp_attr h;
	int ret = rr_cmd_data(rd, &sqe, NULL, sizeof(h), NULL, "QUERY_QP");

	if (ret < 0)
		return ret;
	memcpy(&h, facet_core_dma_va(rd->cmd_buf), sizeof(h));
	/* The device may have moved the QP to ERR on its own: posting follows. */
	atomic_store_explicit(&qp->state, h.state, memory_order_relaxed);
	a->qp_state = h.state;
	a->cur_qp_state = h.state;
	a->path_mtu = h.path_mtu;
	a->port_num = h.port ? h.port : 1;
	a->qp_access_flags = h.access;
	a->qkey = h.qkey;
	a->rq_psn = h.rq_psn;
	a->sq_psn = h.sq_psn;
	a->dest_qp_num = h.dest_qpn;
	a->pkey_index = h.pkey_index;
	a->timeout = h.timeout;
	a->retry_cnt = h.retry_cnt;
	a->rnr_retry = h.rnr_retry;
	a->min_rnr_timer = h.min_rnr_timer;
	a->max_rd_atomic = h.max_rd_atomic;
	a->max_dest_rd_atomic = h.max_dest_rd_atomic;
	rr_av_from_hw(&h.av, &a->ah_attr);
	return 0;
}

/* ---- datapath ----------------------------------------------------------------------------- */

static inline bool opcode_ok(const struct rr_qp *qp, uint32_t op)
{
	if (qp->type == REFNIC_QPT_UD)
		return op == FACET_RDMA_WR_SEND || op == FACET_RDMA_WR_SEND_WITH_IMM;
	return op <= FACET_RDMA_WR_ATOMIC_FETCH_AND_ADD;
}

/* Copy the gather list into the WQE: the device carries at most max_inline bytes. */
static inline int put_inline(const struct rr_qp *qp, const struct facet_rdma_send_wr *wr,
			     struct refnic_send_wqe *w)
{
	uint32_t len = 0;

	for (int i = 0; i < wr->num_sge; i++) {
		const struct facet_rdma_sge *s = &wr->sg_list[i];

		if (s->length > qp->max_inline - len)
			return -EINVAL;
		if (s->length) /* an empty SGE may carry no address */
			memcpy(w->inline_data + len, (const void *)(uintptr_t)s->addr, s->length);
		len += s->length;
	}
	w->inline_len = len;
	w->num_sge = 0;
	return 0;
}

static inline int write_send_wqe(struct rr_qp *qp, const struct facet_rdma_send_wr *wr,
				 struct refnic_send_wqe *w)
{
	uint32_t f = wr->send_flags;

	if (unlikely(!opcode_ok(qp, wr->opcode) || wr->num_sge < 0))
		return -EINVAL;
	memset(w, 0, 64); /* the header; the SGE area is written below */
	w->opcode = (uint8_t)wr->opcode;
	w->flags = ((f & FACET_RDMA_SEND_SIGNALED) ? REFNIC_WQE_F_SIGNALED : 0) |
		   ((f & FACET_RDMA_SEND_SOLICITED) ? REFNIC_WQE_F_SOLICITED : 0) |
		   ((f & FACET_RDMA_SEND_FENCE) ? REFNIC_WQE_F_FENCE : 0);
	w->imm = wr->imm_data;
	w->wr_id = wr->wr_id;
	switch (wr->opcode) {
	case FACET_RDMA_WR_RDMA_WRITE:
	case FACET_RDMA_WR_RDMA_WRITE_WITH_IMM:
	case FACET_RDMA_WR_RDMA_READ:
		w->remote_addr = wr->wr.rdma.remote_addr;
		w->rkey = wr->wr.rdma.rkey;
		break;
	case FACET_RDMA_WR_ATOMIC_CMP_AND_SWP:
	case FACET_RDMA_WR_ATOMIC_FETCH_AND_ADD:
		w->remote_addr = wr->wr.atomic.remote_addr;
		w->rkey = wr->wr.atomic.rkey;
		w->compare_add = wr->wr.atomic.compare_add;
		w->swap = wr->wr.atomic.swap;
		break;
	default:
		break;
	}
	if (qp->type == REFNIC_QPT_UD) {
		if (unlikely(!wr->wr.ud.ah))
			return -EINVAL;
		w->ahn = facet_rdma_ah_handle(wr->wr.ud.ah);
		w->dest_qpn = wr->wr.ud.remote_qpn;
		w->qkey = wr->wr.ud.remote_qkey;
	}
	if (f & FACET_RDMA_SEND_INLINE) {
		/* READ and atomics place data locally: no inline for them. */
		if (unlikely(wr->opcode == FACET_RDMA_WR_RDMA_READ ||
			     wr->opcode >= FACET_RDMA_WR_ATOMIC_CMP_AND_SWP))
			return -EINVAL;
		w->flags |= REFNIC_WQE_F_INLINE;
		return put_inline(qp, wr, w);
	}
	if (unlikely(wr->num_sge > qp->max_send_sge))
		return -EINVAL;
	w->num_sge = (uint8_t)wr->num_sge;
	if (wr->num_sge) /* a zero-length request may have no list at all */
		memcpy(w->sge, wr->sg_list, sizeof(struct refnic_sge) * (size_t)wr->num_sge);
	return 0;
}

/*
 * The states a queue takes work requests in (IB spec 10.8.2): sends from RTS
 * on, receives from INIT on; in ERR they complete flushed. Before that the
 * device would keep them and run them at a later transition, so they are
 * refused now.
 */
static inline bool queue_ready(const struct rr_qp *qp, enum facet_rdma_qp_state first)
{
	return atomic_load_explicit(&qp->state, memory_order_relaxed) >= first;
}

int rr_post_send(void *ctx, struct facet_rdma_send_wr *wr, struct facet_rdma_send_wr **bad_wr)
{
	struct rr_qp *qp = ctx;
	uint32_t pi = qp->sq_pi, ci = atomic_load_explicit(&qp->sq_ci, memory_order_acquire);
	int ret = 0;

	if (unlikely(wr && !queue_ready(qp, FACET_RDMA_QPS_RTS))) {
		if (bad_wr)
			*bad_wr = wr;
		return -EINVAL;
	}
	for (; wr; wr = wr->next) {
		if (unlikely(pi - ci >= qp->sq_mask)) {
			ci = atomic_load_explicit(&qp->sq_ci, memory_order_acquire);
			if (pi - ci >= qp->sq_mask) {
				ret = -ENOMEM;
				break;
			}
		}
		ret = write_send_wqe(qp, wr, &qp->sq[pi & qp->sq_mask]);
		if (unlikely(ret < 0))
			break;
		pi++;
	}
	if (ret < 0 && bad_wr)
		*bad_wr = wr;
	if (pi != qp->sq_pi) {
		qp->sq_pi = pi;
		atomic_thread_fence(memory_order_release); /* WQEs before the doorbell */
		qp->ops->ring_doorbell(qp->slice, qp->sq_db, pi & qp->sq_mask);
	}
	return ret;
}

int rr_post_recv(void *ctx, struct facet_rdma_recv_wr *wr, struct facet_rdma_recv_wr **bad_wr)
{
	struct rr_qp *qp = ctx;
	uint32_t pi = qp->rq_pi, ci = atomic_load_explicit(&qp->rq_ci, memory_order_acquire);
	int ret = 0;

	if (unlikely(wr && !queue_ready(qp, FACET_RDMA_QPS_INIT))) {
		if (bad_wr)
			*bad_wr = wr;
		return -EINVAL;
	}
	for (; wr; wr = wr->next) {
		struct refnic_recv_wqe *w = &qp->rq[pi & qp->rq_mask];

		if (unlikely(pi - ci >= qp->rq_mask)) {
			ci = atomic_load_explicit(&qp->rq_ci, memory_order_acquire);
			if (pi - ci >= qp->rq_mask) {
				ret = -ENOMEM;
				break;
			}
		}
		if (unlikely(wr->num_sge < 0 || wr->num_sge > qp->max_recv_sge)) {
			ret = -EINVAL;
			break;
		}
		w->wr_id = wr->wr_id;
		w->num_sge = (uint8_t)wr->num_sge;
		memset(w->rsvd, 0, sizeof(w->rsvd));
		if (wr->num_sge)
			memcpy(w->sge, wr->sg_list,
			       sizeof(struct refnic_sge) * (size_t)wr->num_sge);
		pi++;
	}
	if (ret < 0 && bad_wr)
		*bad_wr = wr;
	if (pi != qp->rq_pi) {
		qp->rq_pi = pi;
		atomic_thread_fence(memory_order_release);
		qp->ops->ring_doorbell(qp->slice, qp->rq_db, pi & qp->rq_mask);
	}
	return ret;
}
