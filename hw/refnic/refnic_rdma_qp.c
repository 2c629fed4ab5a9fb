/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs (docs/refnic.md §16.4, §16.7): CREATE/MODIFY/QUERY/DESTROY_QP,
 * the state machine with the IB spec's required and optional attributes
 * per transition, and the error state: a QP in ERR completes everything
 * outstanding, and everything posted later, with WR_FLUSH_ERR.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refnic_rdma.h"

#define A(x) REFNIC_QP_ATTR_##x

#define ATTR_KNOWN                                                                                 \
	(A(STATE) | A(CUR_STATE) | A(ACCESS_FLAGS) | A(PKEY_INDEX) | A(PORT) | A(QKEY) | A(AV) |   \
	 A(PATH_MTU) | A(TIMEOUT) | A(RETRY_CNT) | A(RNR_RETRY) | A(RQ_PSN) |                      \
	 A(MAX_QP_RD_ATOMIC) | A(MIN_RNR_TIMER) | A(SQ_PSN) | A(MAX_DEST_RD_ATOMIC) | A(DEST_QPN))

struct qp_trans {
	bool ok;
	uint32_t req, opt;
};

/* Allowed transitions and their attributes (IB spec 11.2.4.2); to RESET and ERR from anywhere. */
static const struct qp_trans rc_trans[7][7] = {
	[REFNIC_QPS_RESET][REFNIC_QPS_RESET] = { true, 0, 0 },
	[REFNIC_QPS_RESET][REFNIC_QPS_INIT] = { true, A(PKEY_INDEX) | A(PORT) | A(ACCESS_FLAGS),
						0 },
	[REFNIC_QPS_INIT][REFNIC_QPS_INIT] = { true, 0, A(PKEY_INDEX) | A(PORT) | A(ACCESS_FLAGS) },
	[REFNIC_QPS_INIT][REFNIC_QPS_RTR] = { true,
					      A(AV) | A(PATH_MTU) | A(DEST_QPN) | A(RQ_PSN) |
						      A(MAX_DEST_RD_ATOMIC) | A(MIN_RNR_TIMER),
					      A(PKEY_INDEX) | A(ACCESS_FLAGS) },
	[REFNIC_QPS_RTR][REFNIC_QPS_RTS] = { true,
					     A(SQ_PSN) | A(TIMEOUT) | A(RETRY_CNT) | A(RNR_RETRY) |
						     A(MAX_QP_RD_ATOMIC),
					     A(ACCESS_FLAGS) | A(MIN_RNR_TIMER) },
	[REFNIC_QPS_RTS][REFNIC_QPS_RTS] = { true, 0, A(ACCESS_FLAGS) | A(MIN_RNR_TIMER) },
	[REFNIC_QPS_RTS][REFNIC_QPS_SQD] = { true, 0, 0 },
	[REFNIC_QPS_SQD][REFNIC_QPS_RTS] = { true, 0, A(ACCESS_FLAGS) | A(MIN_RNR_TIMER) },
	[REFNIC_QPS_SQD][REFNIC_QPS_SQD] = { true, 0,
					     A(AV) | A(PKEY_INDEX) | A(TIMEOUT) | A(RETRY_CNT) |
						     A(RNR_RETRY) | A(MAX_QP_RD_ATOMIC) |
						     A(MAX_DEST_RD_ATOMIC) | A(ACCESS_FLAGS) |
						     A(MIN_RNR_TIMER) },
};

static const struct qp_trans ud_trans[7][7] = {
	[REFNIC_QPS_RESET][REFNIC_QPS_RESET] = { true, 0, 0 },
	[REFNIC_QPS_RESET][REFNIC_QPS_INIT] = { true, A(PKEY_INDEX) | A(PORT) | A(QKEY), 0 },
	[REFNIC_QPS_INIT][REFNIC_QPS_INIT] = { true, 0, A(PKEY_INDEX) | A(PORT) | A(QKEY) },
	[REFNIC_QPS_INIT][REFNIC_QPS_RTR] = { true, 0, A(PKEY_INDEX) | A(QKEY) },
	[REFNIC_QPS_RTR][REFNIC_QPS_RTS] = { true, A(SQ_PSN), A(QKEY) },
	[REFNIC_QPS_RTS][REFNIC_QPS_RTS] = { true, 0, A(QKEY) },
	[REFNIC_QPS_RTS][REFNIC_QPS_SQD] = { true, 0, 0 },
	[REFNIC_QPS_SQD][REFNIC_QPS_RTS] = { true, 0, A(QKEY) },
	[REFNIC_QPS_SQD][REFNIC_QPS_SQD] = { true, 0, A(PKEY_INDEX) | A(QKEY) },
	[REFNIC_QPS_SQE][REFNIC_QPS_RTS] = { true, 0, A(QKEY) },
};

struct rdma_qp *rdma_qp_get(struct refnic_rdma *r, uint32_t qpn)
{
	struct rdma_qp *qp;

	if ((qpn & 0xff) >= RDMA_MAX_QP)
		return NULL;
	qp = r->qp[qpn & 0xff];
	return qp && qp->qpn == qpn ? qp : NULL;
}

static void db_zero(struct refnic_func *fn, struct rdma_qp *qp)
{
	memset(fn->db + RDMA_QP_DB_SQ(qp->idx), 0, 16);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- the error state --------------------------------------------------------------- */

void rdma_qp_error(struct refnic_func *fn, struct rdma_qp *qp, bool async)
{
	if (qp->state == REFNIC_QPS_ERR)
		return;
	qp->state = REFNIC_QPS_ERR;
	qp->flush = true;
	qp->rto_at = qp->rnr_at = 0;
	qp->rsp_head = qp->rsp_tail = qp->rsp_rd = 0;
	qp->resp_err = false;
	if (async) {
		RN_DEBUG("function %u: QP 0x%x: fatal error", fn->idx, qp->qpn);
		rdma_event_latch(fn, REFNIC_EVENT_QP_FATAL, qp->qpn);
	}
}

static uint8_t wc_opcode(uint8_t wr)
{
	switch (wr) {
	case REFNIC_WR_RDMA_WRITE:
	case REFNIC_WR_RDMA_WRITE_WITH_IMM:
		return REFNIC_WC_RDMA_WRITE;
	case REFNIC_WR_RDMA_READ:
		return REFNIC_WC_RDMA_READ;
	case REFNIC_WR_ATOMIC_CMP_AND_SWP:
		return REFNIC_WC_COMP_SWAP;
	case REFNIC_WR_ATOMIC_FETCH_AND_ADD:
		return REFNIC_WC_FETCH_ADD;
	default:
		return REFNIC_WC_SEND;
	}
}

static void flush_cqe(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		      uint32_t cqn, uint64_t wr_id, uint32_t index, uint8_t opcode, uint8_t flags)
{
	struct refnic_rdma_cqe c = {
		.wr_id = wr_id,
		.qpn = qp->qpn,
		.wqe_index = (uint16_t)index,
		.opcode = opcode,
		.status = REFNIC_WC_STATUS_WR_FLUSH_ERR,
		.flags = flags,
		.vendor_err = REFNIC_RDMA_VERR_FLUSH,
	};

	rdma_cq_post(dev, fn, cqn,
		     &c); /* a CQ that cannot take it has stopped: nothing more to do */
}

/* Send WQEs from sq_comp to the doorbell. */
static unsigned int flush_sq(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	uint32_t mask = (1u << qp->sq_log) - 1;
	uint32_t pi = refnic_db_read(fn, RDMA_QP_DB_SQ(qp->idx));
	uint32_t end = pi > mask ? qp->sq_comp : qp->sq_comp + ((pi - qp->sq_comp) & mask);
	unsigned int n = 0;

	qp->sq_seen = pi;
	for (; qp->sq_comp != end; qp->sq_comp++, n++) {
		struct refnic_send_wqe w = { 0 };
		uint32_t i = qp->sq_comp & mask;

		if ((int32_t)(qp->sq_fetch - qp->sq_comp) > 0)
			w = qp->swqe[i].w;
		else
			refnic_dp_read(dev, fn, qp->sq_iova + (uint64_t)i * sizeof(w), &w,
				       sizeof(w));
		flush_cqe(dev, fn, qp, qp->scqn, w.wr_id, i, wc_opcode(w.opcode), REFNIC_CQE_F_SQ);
	}
	qp->sq_fetch = qp->tx_idx = qp->sq_comp;
	qp->tx_pkt = qp->rd_out = 0;
	return n;
}

static unsigned int flush_rq(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	uint32_t mask = (1u << qp->rq_log) - 1;
	uint32_t pi = refnic_db_read(fn, RDMA_QP_DB_RQ(qp->idx));
	uint32_t end = pi > mask ? qp->rq_ci : qp->rq_ci + ((pi - qp->rq_ci) & mask);
	unsigned int n = 0;

	qp->rq_seen = pi;
	for (; qp->rq_ci != end; qp->rq_ci++, n++) {
		struct refnic_recv_wqe w = { 0 };
		uint32_t i = qp->rq_ci & mask;

		refnic_dp_read(dev, fn, qp->rq_iova + (uint64_t)i * sizeof(w), &w, sizeof(w));
		flush_cqe(dev, fn, qp, qp->rcqn, w.wr_id, i, REFNIC_WC_RECV, 0);
	}
	qp->rwqe_held = false;
	qp->in_op = 0;
	return n;
}

/* ERR flushes both queues, SQE (UD) the send queue; WQEs posted later are flushed too. */
unsigned int rdma_qp_flush(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	unsigned int n;

	qp->flush = false;
	n = flush_sq(dev, fn, qp);
	if (qp->state == REFNIC_QPS_ERR)
		n += flush_rq(dev, fn, qp);
	return n;
}

bool rdma_qp_has_work(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	uint32_t sq = refnic_db_read(fn, RDMA_QP_DB_SQ(qp->idx));

	switch (qp->state) {
	case REFNIC_QPS_ERR:
		return qp->flush || sq != qp->sq_seen ||
		       refnic_db_read(fn, RDMA_QP_DB_RQ(qp->idx)) != qp->rq_seen;
	case REFNIC_QPS_SQE:
		return qp->flush || sq != qp->sq_seen;
	case REFNIC_QPS_RTR:
	case REFNIC_QPS_RTS:
	case REFNIC_QPS_SQD:
		if (qp->rsp_head != qp->rsp_tail || qp->resp_err)
			return true;
		if (qp->state == REFNIC_QPS_RTS && sq != qp->sq_seen)
			return true;
		return qp->state != REFNIC_QPS_RTR && rdma_req_can_send(dev, fn, qp);
	default:
		return false;
	}
}

/* ---- create, destroy ------------------------------------------------------------------ */

static bool qp_config_ok(const struct refnic_qp_config *c)
{
	if (c->type != REFNIC_QPT_RC && c->type != REFNIC_QPT_UD)
		return false;
	if (c->sq_log_size < 1 || c->sq_log_size > RDMA_SQ_LOG_MAX)
		return false;
	if (c->rq_log_size < 1 || c->rq_log_size > RDMA_RQ_LOG_MAX)
		return false;
	if (c->flags & ~REFNIC_QPF_SQ_SIG_ALL)
		return false;
	if (!c->sq_iova || (c->sq_iova & (REFNIC_RING_ALIGN - 1)))
		return false;
	if (!c->rq_iova || (c->rq_iova & (REFNIC_RING_ALIGN - 1)))
		return false;
	return refnic_is_zero(c->rsvd, sizeof(c->rsvd));
}

static int free_slot(const struct refnic_rdma *r)
{
	for (int i = 0; i < RDMA_MAX_QP; i++)
		if (!r->qp[i])
			return i;
	return -1;
}

static int rings_check(struct refnic_dev *dev, struct refnic_func *fn,
		       const struct refnic_qp_config *c)
{
	int rc = refnic_dma_check(dev, fn, c->sq_iova,
				  sizeof(struct refnic_send_wqe) << c->sq_log_size,
				  FACET_VFU_DMA_READ);

	if (!rc)
		rc = refnic_dma_check(dev, fn, c->rq_iova,
				      sizeof(struct refnic_recv_wqe) << c->rq_log_size,
				      FACET_VFU_DMA_READ);
	if (rc == -ECANCELED)
		return rc;
	return rc ? REFNIC_STATUS_DMA_FAULT : REFNIC_STATUS_OK;
}

static struct rdma_qp *qp_alloc(const struct refnic_qp_config *c)
{
	struct rdma_qp *qp = calloc(1, sizeof(*qp));

	if (!qp)
		return NULL;
	qp->swqe = calloc((size_t)1 << c->sq_log_size, sizeof(*qp->swqe));
	if (!qp->swqe) {
		free(qp);
		return NULL;
	}
	return qp;
}

int refnic_rdma_cmd_create_qp(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_qp_config c;
	struct refnic_rdma *r;
	struct rdma_qp *qp;
	int st, idx;

	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)))
		return REFNIC_STATUS_INVALID_FIELD;
	st = rdma_cmd_read(dev, sqe, &c, sizeof(c));
	if (st)
		return st;
	if (!qp_config_ok(&c))
		return REFNIC_STATUS_INVALID_FIELD;
	r = rdma_get(fn);
	if (!r)
		return REFNIC_STATUS_INTERNAL;
	if (!rdma_pd_valid(r, c.pdn) || !refnic_queue_get(fn, REFNIC_QT_CQ, c.send_cqn) ||
	    !refnic_queue_get(fn, REFNIC_QT_CQ, c.recv_cqn))
		return REFNIC_STATUS_BAD_QUEUE;
	idx = free_slot(r);
	if (idx < 0)
		return REFNIC_STATUS_NO_RESOURCES;
	st = rings_check(dev, fn, &c);
	if (st)
		return st;
	qp = qp_alloc(&c);
	if (!qp)
		return REFNIC_STATUS_INTERNAL;
	if (++r->qp_seq == 0)
		r->qp_seq = 1;
	qp->qpn = (uint32_t)r->qp_seq << 8 | (uint32_t)idx; /* never 0 or 1 */
	qp->idx = (unsigned int)idx;
	qp->type = c.type;
	qp->flags = c.flags;
	qp->sq_log = c.sq_log_size;
	qp->rq_log = c.rq_log_size;
	qp->pdn = c.pdn;
	qp->scqn = c.send_cqn;
	qp->rcqn = c.recv_cqn;
	qp->sq_iova = c.sq_iova;
	qp->rq_iova = c.rq_iova;
	qp->pmtu = 128u << rdma_active_mtu(fn);
	r->qp[idx] = qp;
	r->nqp++;
	r->pd_refs[c.pdn - 1]++;
	r->cq_refs[c.send_cqn]++;
	r->cq_refs[c.recv_cqn]++;
	db_zero(fn, qp);
	*result = qp->qpn | (uint64_t)RDMA_QP_DB_SQ(idx) << 32 | (uint64_t)RDMA_QP_DB_RQ(idx) << 48;
	RN_INFO("function %u: %s QP 0x%x created (SQ %u, RQ %u)", fn->idx,
		c.type == REFNIC_QPT_RC ? "RC" : "UD", qp->qpn, 1u << c.sq_log_size,
		1u << c.rq_log_size);
	return REFNIC_STATUS_OK;
}

void rdma_qp_free(struct refnic_func *fn, struct rdma_qp *qp)
{
	struct refnic_rdma *r = fn->rdma;

	r->qp[qp->idx] = NULL;
	r->nqp--;
	r->pd_refs[qp->pdn - 1]--;
	r->cq_refs[qp->scqn]--;
	r->cq_refs[qp->rcqn]--;
	free(qp->swqe);
	free(qp);
}

bool refnic_rdma_cq_busy(const struct refnic_func *fn, uint32_t qid)
{
	return fn->rdma && qid < REFNIC_FUNC_MAX_QUEUES && fn->rdma->cq_refs[qid];
}

/* The QP named by a command's payload, or NULL (*st says why). */
static struct rdma_qp *cmd_qp(struct refnic_func *fn, const struct refnic_sqe *sqe, int *st)
{
	struct rdma_qp *qp;

	*st = REFNIC_STATUS_INVALID_FIELD;
	if (!rdma_obj_payload_ok(sqe))
		return NULL;
	*st = REFNIC_STATUS_INTERNAL;
	if (!rdma_get(fn))
		return NULL;
	qp = rdma_qp_get(fn->rdma, sqe->rdma_obj.id);
	*st = qp ? REFNIC_STATUS_OK : REFNIC_STATUS_BAD_QUEUE;
	return qp;
}

/*
 * A QP about to be destroyed or reset first sends the acknowledgements it
 * owes for messages it has completed. The application may act on the CQE
 * at once (ibv_rc_pingpong destroys its QP): an ACK dropped here leaves the
 * requester retransmitting to a QP that is gone until its retries run out.
 * A QP in ERR (or not yet receiving) sends nothing, as the state machine says.
 */
static void qp_flush_acks(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	if (qp->type != REFNIC_QPT_RC || qp->rsp_head == qp->rsp_tail || !dev->rdma ||
	    qp->state < REFNIC_QPS_RTR || qp->state == REFNIC_QPS_ERR ||
	    !refnic_pci_bus_master(dev))
		return;
	refnic_dp_lock(dev);
	rdma_resp_flush_acks(dev, fn, qp);
	rdma_frames_flush(dev);
	refnic_dp_unlock(dev);
}

int refnic_rdma_cmd_destroy_qp(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result)
{
	struct rdma_qp *qp = NULL;
	int st;

	qp = cmd_qp(fn, sqe, &st);
	if (!qp)
		return st;
	qp_flush_acks(dev, fn, qp);
	RN_INFO("function %u: QP 0x%x destroyed", fn->idx, qp->qpn);
	rdma_qp_free(fn, qp);
	return REFNIC_STATUS_OK;
}

/* ---- modify, query ------------------------------------------------------------------------ */

static bool attr_values_ok(const struct refnic_qp_attr *a)
{
	uint32_t m = a->mask;

	if ((m & ~ATTR_KNOWN) || a->rsvd0 || a->sq_size || a->rq_size ||
	    !refnic_is_zero(a->rsvd, sizeof(a->rsvd)))
		return false;
	if (((m & A(STATE)) && a->state > REFNIC_QPS_ERR) ||
	    ((m & A(CUR_STATE)) && a->cur_state > REFNIC_QPS_ERR))
		return false;
	if (((m & A(PORT)) && a->port != 1) || ((m & A(PKEY_INDEX)) && a->pkey_index != 0))
		return false;
	if ((m & A(ACCESS_FLAGS)) && (a->access & ~0xfu))
		return false;
	if ((m & A(PATH_MTU)) && (a->path_mtu < REFNIC_MTU_256 || a->path_mtu > REFNIC_MTU_4096))
		return false;
	if (((m & A(TIMEOUT)) && a->timeout > 31) || ((m & A(RETRY_CNT)) && a->retry_cnt > 7) ||
	    ((m & A(RNR_RETRY)) && a->rnr_retry > 7) ||
	    ((m & A(MIN_RNR_TIMER)) && a->min_rnr_timer > 31))
		return false;
	if (((m & A(RQ_PSN)) && a->rq_psn > RDMA_PSN_MASK) ||
	    ((m & A(SQ_PSN)) && a->sq_psn > RDMA_PSN_MASK) ||
	    ((m & A(DEST_QPN)) && a->dest_qpn > RDMA_QPN_MASK))
		return false;
	return !((m & A(MAX_QP_RD_ATOMIC)) && a->max_rd_atomic > RDMA_MAX_RD_ATOM) &&
	       !((m & A(MAX_DEST_RD_ATOMIC)) && a->max_dest_rd_atomic > RDMA_MAX_RD_ATOM);
}

/* Is the transition, with exactly these attributes, allowed? */
static bool trans_ok(const struct rdma_qp *qp, const struct refnic_qp_attr *a, uint8_t to)
{
	const struct qp_trans *t;
	uint32_t given = a->mask & ~(A(STATE) | A(CUR_STATE));

	if ((a->mask & A(CUR_STATE)) && a->cur_state != qp->state)
		return false;
	if (to == REFNIC_QPS_RESET || to == REFNIC_QPS_ERR)
		return given == 0;
	t = qp->type == REFNIC_QPT_RC ? &rc_trans[qp->state][to] : &ud_trans[qp->state][to];
	return t->ok && (given & t->req) == t->req && !(given & ~(t->req | t->opt));
}

/* Everything the device keeps about traffic, back to nothing (RESET). */
static void qp_clear(struct refnic_func *fn, struct rdma_qp *qp)
{
	rdma_req_reset(qp);
	rdma_resp_reset(qp);
	qp->sq_seen = qp->rq_seen = 0;
	qp->flush = false;
	db_zero(fn, qp);
}

static void qp_apply(struct refnic_func *fn, struct rdma_qp *qp, const struct refnic_qp_attr *a,
		     const struct rdma_path *path)
{
	uint32_t m = a->mask;

	if (m & A(ACCESS_FLAGS))
		qp->access = a->access;
	if (m & A(QKEY))
		qp->qkey = a->qkey;
	if (m & A(AV))
		qp->path = *path;
	if (m & A(PATH_MTU)) {
		qp->path_mtu = a->path_mtu;
		qp->pmtu = 128u << a->path_mtu;
	}
	if (m & A(TIMEOUT))
		qp->timeout = a->timeout;
	if (m & A(RETRY_CNT))
		qp->retry_cnt = qp->retry_left = a->retry_cnt;
	if (m & A(RNR_RETRY))
		qp->rnr_retry = qp->rnr_left = a->rnr_retry;
	if (m & A(MIN_RNR_TIMER))
		qp->min_rnr_timer = a->min_rnr_timer;
	if (m & A(MAX_QP_RD_ATOMIC))
		qp->max_rd_atomic = a->max_rd_atomic;
	if (m & A(MAX_DEST_RD_ATOMIC))
		qp->max_dest_rd_atomic = a->max_dest_rd_atomic;
	if (m & A(DEST_QPN))
		qp->dest_qpn = a->dest_qpn;
	if (m & A(RQ_PSN))
		qp->epsn = a->rq_psn;
	if (m & A(SQ_PSN))
		qp->npsn = qp->una = qp->fpsn = qp->spsn = a->sq_psn;
}

static void qp_enter(struct refnic_func *fn, struct rdma_qp *qp, uint8_t to)
{
	uint8_t from = qp->state;

	if (to == REFNIC_QPS_ERR) {
		rdma_qp_error(fn, qp, false);
		return;
	}
	qp->state = to;
	if (to == REFNIC_QPS_RESET)
		qp_clear(fn, qp);
	/* Entering RTS: look at the SQ doorbell (WQEs may wait since INIT). */
	if (to == REFNIC_QPS_RTS && from != REFNIC_QPS_RTS)
		qp->sq_seen = ~0u;
}

int refnic_rdma_cmd_modify_qp(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_qp_attr a;
	struct rdma_path path = { 0 };
	struct rdma_qp *qp;
	uint8_t to;
	int st;

	if (!cmd_qp(fn, sqe, &st))
		return st;
	st = rdma_cmd_read(dev, sqe, &a, sizeof(a));
	if (st)
		return st;
	if (!attr_values_ok(&a))
		return REFNIC_STATUS_INVALID_FIELD;
	if ((a.mask & A(AV)) && (st = rdma_path_set(fn, &a.av, &path)))
		return st;
	qp = cmd_qp(fn, sqe, &st); /* again: the read may have let a reset in */
	if (!qp)
		return st;
	to = a.mask & A(STATE) ? a.state : qp->state;
	if (!trans_ok(qp, &a, to))
		return REFNIC_STATUS_BAD_STATE;
	if (to == REFNIC_QPS_RESET)
		qp_flush_acks(dev, fn, qp);
	qp_apply(fn, qp, &a, &path);
	qp_enter(fn, qp, to);
	RN_DEBUG("function %u: QP 0x%x -> state %u", fn->idx, qp->qpn, to);
	return REFNIC_STATUS_OK;
}

int refnic_rdma_cmd_query_qp(struct refnic_dev *dev, struct refnic_func *fn,
			     const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_qp_attr a = { 0 };
	struct rdma_qp *qp;
	int st;

	qp = cmd_qp(fn, sqe, &st);
	if (!qp)
		return st;
	a.mask = ATTR_KNOWN;
	a.state = a.cur_state = qp->state;
	a.path_mtu = qp->path_mtu;
	a.port = 1;
	a.access = qp->access;
	a.qkey = qp->qkey;
	a.rq_psn = qp->epsn;
	a.sq_psn = qp->fpsn;
	a.dest_qpn = qp->dest_qpn;
	a.timeout = qp->timeout;
	a.retry_cnt = qp->retry_cnt;
	a.rnr_retry = qp->rnr_retry;
	a.min_rnr_timer = qp->min_rnr_timer;
	a.max_rd_atomic = qp->max_rd_atomic;
	a.max_dest_rd_atomic = qp->max_dest_rd_atomic;
	a.av = qp->path.av;
	a.sq_size = 1u << qp->sq_log;
	a.rq_size = 1u << qp->rq_log;
	*result = sizeof(a);
	return refnic_cmd_write_data(dev, sqe, &a, sizeof(a));
}
