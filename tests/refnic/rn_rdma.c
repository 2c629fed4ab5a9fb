/* SPDX-License-Identifier: MIT */
/*
 * The RDMA half of the refnic test harness (rn_rdma.h): function 0 of the
 * harness's device, everything in its datapath memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rn_rdma.h"

static void pause_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

	nanosleep(&ts, NULL);
}

int rn_rdma_cmd(struct rn *h, uint8_t op, const void *payload, const void *data, uint32_t len,
		uint64_t *result)
{
	struct refnic_sqe s = { .opcode = op };
	struct refnic_cqe c = { 0 };
	int rc;

	if (payload)
		memcpy(s.raw, payload, sizeof(s.raw));
	if (len) {
		memcpy(facet_core_dma_va(h->buf), data, len);
		s.data_iova = facet_core_dma_iova(h->buf);
		s.data_len = len;
	}
	rc = rn_cmd(h, &s, &c);
	if (result)
		*result = c.result;
	return rc;
}

int rn_rdma_query(struct rn *h, uint8_t op, uint32_t id, void *out, uint32_t len, uint64_t *result)
{
	struct refnic_sqe s = { .opcode = op };
	struct refnic_cqe c = { 0 };
	int rc;

	s.rdma_obj.id = id;
	s.data_iova = facet_core_dma_iova(h->buf);
	s.data_len = len;
	rc = rn_cmd(h, &s, &c);
	memcpy(out, facet_core_dma_va(h->buf), len);
	if (result)
		*result = c.result;
	return rc;
}

int rn_obj_cmd(struct rn *h, uint8_t op, uint32_t id)
{
	struct refnic_cmd_rdma_obj o = { .id = id };

	return rn_rdma_cmd(h, op, &o, NULL, 0, NULL);
}

int rn_pd_create(struct rn *h, uint32_t *pdn)
{
	uint64_t r = 0;
	int rc = rn_rdma_cmd(h, REFNIC_OP_CREATE_PD, NULL, NULL, 0, &r);

	*pdn = (uint32_t)r;
	return rc;
}

int rn_mr_create(struct rn *h, uint32_t pdn, void *ptr, uint64_t iova, uint64_t len,
		 uint32_t access, uint32_t *key)
{
	struct refnic_mr_config c = {
		.va = (uint64_t)(uintptr_t)ptr,
		.length = len,
		.iova = iova,
		.pdn = pdn,
		.access = access,
	};
	uint64_t r = 0;
	int rc = rn_rdma_cmd(h, REFNIC_OP_CREATE_MR, NULL, &c, sizeof(c), &r);

	*key = (uint32_t)r;
	if (rc == 0 && (uint32_t)(r >> 32) != *key)
		fprintf(stderr, "rn: lkey %x rkey %x differ\n", *key, (uint32_t)(r >> 32));
	return rc;
}

int rn_cq_create(struct rn *h, unsigned int log, struct rn_cq *cq)
{
	return rn_cq_create_irq(h, log, 0, cq);
}

int rn_cq_create_irq(struct rn *h, unsigned int log, uint16_t vector, struct rn_cq *cq)
{
	struct refnic_cmd_create_queue c = {
		.type = REFNIC_QT_CQ,
		.log_size = (uint8_t)log,
		.flags = vector ? REFNIC_QF_IRQ_EN : 0,
		.msix_vector = vector,
	};
	uint64_t iova, r = 0;
	int rc;

	memset(cq, 0, sizeof(*cq));
	cq->h = h;
	cq->log = log;
	cq->ring = rn_dp_alloc(h, sizeof(*cq->ring) << log, &iova);
	if (!cq->ring)
		return -ENOMEM;
	memset(cq->ring, 0, sizeof(*cq->ring) << log);
	c.ring_iova = iova;
	rc = rn_fn_cmd(h, REFNIC_OP_CREATE_QUEUE, 0, &c, &r);
	cq->id = REFNIC_CREATE_RESULT_QID(r);
	cq->db = REFNIC_CREATE_RESULT_DB_OFF(r);
	return rc;
}

static bool cqe_ready(struct rn_cq *cq)
{
	struct refnic_rdma_cqe *e = &cq->ring[cq->ci & ((1u << cq->log) - 1)];
	uint8_t phase = ((cq->ci >> cq->log) & 1) ^ 1;

	return (__atomic_load_n(&e->phase, __ATOMIC_ACQUIRE) & 1) == phase;
}

bool rn_cq_empty(struct rn_cq *cq)
{
	return !cqe_ready(cq);
}

int rn_cq_poll(struct rn_cq *cq, struct refnic_rdma_cqe *out, int timeout_ms)
{
	uint64_t end = rn_now_ms() + (uint64_t)timeout_ms;

	while (!cqe_ready(cq)) {
		if (rn_now_ms() >= end)
			return -ETIMEDOUT;
		pause_us(20);
	}
	*out = cq->ring[cq->ci & ((1u << cq->log) - 1)];
	cq->ci = (cq->ci + 1) & REFNIC_CQ_DB_CI_MASK;
	*rn_db(cq->h, 0, cq->db) = cq->ci | cq->arm; /* the whole word; no kick needed */
	return 0;
}

void rn_cq_arm(struct rn_cq *cq, uint32_t arm)
{
	cq->arm = arm;
	*rn_db(cq->h, 0, cq->db) = cq->ci | cq->arm;
}

int rn_qp_create(struct rn *h, uint8_t type, uint32_t pdn, struct rn_cq *scq, struct rn_cq *rcq,
		 unsigned int sq_log, unsigned int rq_log, uint8_t flags, struct rn_qp *qp)
{
	struct refnic_qp_config c = {
		.type = type,
		.sq_log_size = (uint8_t)sq_log,
		.rq_log_size = (uint8_t)rq_log,
		.flags = flags,
		.pdn = pdn,
		.send_cqn = scq->id,
		.recv_cqn = rcq->id,
	};
	uint64_t r = 0;
	int rc;

	memset(qp, 0, sizeof(*qp));
	qp->h = h;
	qp->type = type;
	qp->sq_log = sq_log;
	qp->rq_log = rq_log;
	qp->sq = rn_dp_alloc(h, sizeof(*qp->sq) << sq_log, &c.sq_iova);
	qp->rq = rn_dp_alloc(h, sizeof(*qp->rq) << rq_log, &c.rq_iova);
	if (!qp->sq || !qp->rq)
		return -ENOMEM;
	rc = rn_rdma_cmd(h, REFNIC_OP_CREATE_QP, NULL, &c, sizeof(c), &r);
	qp->qpn = REFNIC_QP_RESULT_QPN(r);
	qp->sq_db = REFNIC_QP_RESULT_SQ_DB(r);
	qp->rq_db = REFNIC_QP_RESULT_RQ_DB(r);
	return rc;
}

int rn_qp_modify(struct rn *h, uint32_t qpn, const struct refnic_qp_attr *a)
{
	struct refnic_cmd_rdma_obj o = { .id = qpn };

	return rn_rdma_cmd(h, REFNIC_OP_MODIFY_QP, &o, a, sizeof(*a), NULL);
}

int rn_qp_query(struct rn *h, uint32_t qpn, struct refnic_qp_attr *a)
{
	return rn_rdma_query(h, REFNIC_OP_QUERY_QP, qpn, a, sizeof(*a), NULL);
}

int rn_qp_connect(struct rn_qp *qp, uint32_t dqpn, const uint8_t dgid[16], const uint8_t dmac[6],
		  uint8_t sgid_index, uint8_t mtu, uint32_t access)
{
	bool rc = qp->type == REFNIC_QPT_RC;
	struct refnic_qp_attr a = { .mask = REFNIC_QP_ATTR_STATE | REFNIC_QP_ATTR_PKEY_INDEX |
					    REFNIC_QP_ATTR_PORT,
				    .state = REFNIC_QPS_INIT,
				    .port = 1,
				    .access = access,
				    .qkey = 0x11111111 };
	int st;

	a.mask |= rc ? REFNIC_QP_ATTR_ACCESS_FLAGS : REFNIC_QP_ATTR_QKEY;
	st = rn_qp_modify(qp->h, qp->qpn, &a);
	if (st)
		return st;
	memset(&a, 0, sizeof(a));
	a.mask = REFNIC_QP_ATTR_STATE;
	a.state = REFNIC_QPS_RTR;
	if (rc) {
		a.mask |= REFNIC_QP_ATTR_AV | REFNIC_QP_ATTR_PATH_MTU | REFNIC_QP_ATTR_DEST_QPN |
			  REFNIC_QP_ATTR_RQ_PSN | REFNIC_QP_ATTR_MAX_DEST_RD_ATOMIC |
			  REFNIC_QP_ATTR_MIN_RNR_TIMER;
		memcpy(a.av.dgid, dgid, 16);
		memcpy(a.av.dmac, dmac, 6);
		a.av.sgid_index = sgid_index;
		a.av.hop_limit = 64;
		a.path_mtu = mtu;
		a.dest_qpn = dqpn;
		a.rq_psn = 0x100;
		a.max_dest_rd_atomic = 4;
		a.min_rnr_timer = 1; /* 10 us */
	}
	st = rn_qp_modify(qp->h, qp->qpn, &a);
	if (st)
		return st;
	memset(&a, 0, sizeof(a));
	a.mask = REFNIC_QP_ATTR_STATE | REFNIC_QP_ATTR_SQ_PSN;
	a.state = REFNIC_QPS_RTS;
	a.sq_psn = 0x100;
	if (rc) {
		a.mask |= REFNIC_QP_ATTR_TIMEOUT | REFNIC_QP_ATTR_RETRY_CNT |
			  REFNIC_QP_ATTR_RNR_RETRY | REFNIC_QP_ATTR_MAX_QP_RD_ATOMIC;
		a.timeout = 14;
		a.retry_cnt = 7;
		a.rnr_retry = 7;
		a.max_rd_atomic = 4;
	}
	return rn_qp_modify(qp->h, qp->qpn, &a);
}

void rn_post_send_batch(struct rn_qp *qp, const struct refnic_send_wqe *w, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		qp->sq[qp->sq_pi] = w[i];
		qp->sq_pi = (qp->sq_pi + 1) & ((1u << qp->sq_log) - 1);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	rn_doorbell(qp->h, 0, qp->sq_db, qp->sq_pi);
}

void rn_post_send(struct rn_qp *qp, const struct refnic_send_wqe *w)
{
	rn_post_send_batch(qp, w, 1);
}

void rn_post_recv(struct rn_qp *qp, uint64_t wr_id, const void *addr, uint32_t len, uint32_t lkey)
{
	struct refnic_recv_wqe *w = &qp->rq[qp->rq_pi];

	memset(w, 0, sizeof(*w));
	w->wr_id = wr_id;
	w->num_sge = 1;
	w->sge[0].addr = (uint64_t)(uintptr_t)addr;
	w->sge[0].length = len;
	w->sge[0].lkey = lkey;
	qp->rq_pi = (qp->rq_pi + 1) & ((1u << qp->rq_log) - 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	rn_doorbell(qp->h, 0, qp->rq_db, qp->rq_pi);
}

int rn_gid(struct rn *h, unsigned int idx, uint8_t gid[16])
{
	struct refnic_gid_entry t[16];
	int rc = rn_rdma_query(h, REFNIC_OP_QUERY_GID, 0, t, sizeof(t), NULL);

	memcpy(gid, t[idx].gid, 16);
	return rc;
}

void rn_gid_from_mac(const uint8_t mac[6], uint8_t gid[16])
{
	memset(gid, 0, 16);
	gid[0] = 0xfe;
	gid[1] = 0x80;
	gid[8] = mac[0] ^ 2;
	gid[9] = mac[1];
	gid[10] = mac[2];
	gid[11] = 0xff;
	gid[12] = 0xfe;
	gid[13] = mac[3];
	gid[14] = mac[4];
	gid[15] = mac[5];
}
