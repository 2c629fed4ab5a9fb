/* SPDX-License-Identifier: MIT */
/*
 * The responder (docs/refnic.md §16.10): requests arriving in PSN order are
 * executed (SEND into receive WQEs, WRITE into memory through the rkey's MR,
 * READ and atomics answered), duplicates are re-acknowledged or replayed
 * from the responder resources, and what the QP owes the requester (ACKs,
 * NAKs, READ responses, atomic ACKs) is queued in PSN order and sent by the
 * QP's next poll. Consecutive ACKs coalesce into the last one.
 *
 * Every check that can refuse a request runs before its first byte is
 * written: a refused request writes nothing.
 */
#include <errno.h>
#include <string.h>

#include "refnic_rdma.h"

/* rdma_qp.in_op: the message in progress */
#define IN_SEND	 1
#define IN_WRITE 2

static uint32_t rq_mask(const struct rdma_qp *qp)
{
	return (1u << qp->rq_log) - 1;
}

void rdma_resp_reset(struct rdma_qp *qp)
{
	qp->rq_ci = qp->epsn = qp->msn = 0;
	qp->nak_sent = false;
	qp->in_op = 0;
	qp->rwqe_held = false;
	qp->recv_off = 0;
	qp->wr_va = 0;
	qp->wr_rkey = qp->wr_len = qp->wr_off = 0;
	memset(qp->res, 0, sizeof(qp->res));
	qp->res_next = 0;
	qp->rsp_head = qp->rsp_tail = qp->rsp_rd = 0;
	qp->resp_err = false;
}

/* ---- the response queue -------------------------------------------------------------- */

static struct rdma_rsp *rsp_push(struct rdma_qp *qp)
{
	struct rdma_rsp *e;

	if (qp->rsp_tail - qp->rsp_head == RDMA_RSPQ)
		return NULL; /* cannot happen within max_dest_rd_atomic; the requester retries */
	e = &qp->rsp[qp->rsp_tail++ % RDMA_RSPQ];
	memset(e, 0, sizeof(*e));
	return e;
}

/* Queue an ACK or NAK for @psn; an ACK behind an ACK replaces it (coalescing). */
static void rsp_ack(struct rdma_qp *qp, uint8_t syndrome, uint32_t psn)
{
	struct rdma_rsp *e;

	if (syndrome == AETH_ACK_UNLIMITED && qp->rsp_tail != qp->rsp_head) {
		e = &qp->rsp[(qp->rsp_tail - 1) % RDMA_RSPQ];
		if (e->kind == RSP_ACK && e->syndrome == AETH_ACK_UNLIMITED) {
			e->psn = psn;
			return;
		}
	}
	e = rsp_push(qp);
	if (!e)
		return;
	e->kind = RSP_ACK;
	e->syndrome = syndrome;
	e->psn = psn;
}

/* A class C/D error: NAK, and the QP goes to ERR once the NAK is out. */
static void resp_fatal(struct rdma_qp *qp, uint8_t syndrome)
{
	RN_DEBUG("QP 0x%x: NAK 0x%02x at PSN 0x%x", qp->qpn, syndrome, qp->epsn);
	rsp_ack(qp, syndrome, qp->epsn);
	qp->resp_err = true;
	qp->nak_sent = true;
}

static void rnr_nak(struct rdma_qp *qp)
{
	rsp_ack(qp, AETH_RNR_NAK | qp->min_rnr_timer, qp->epsn);
	qp->nak_sent = true; /* what follows is dropped until the retry */
}

static void res_save(struct rdma_qp *qp, uint8_t kind, uint32_t psn, uint32_t npkts, uint64_t orig)
{
	struct rdma_res *r = &qp->res[qp->res_next++ % RDMA_MAX_RD_ATOM];

	r->kind = kind;
	r->psn = psn;
	r->npkts = npkts;
	r->orig = orig;
}

/* ---- receive WQEs ---------------------------------------------------------------------- */

/* Hold the receive WQE at rq_ci: 1, 0 if none is posted, -1 if the QP failed. */
static int rq_take(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	uint32_t mask = rq_mask(qp), pi;

	if (qp->rwqe_held)
		return 1;
	pi = refnic_db_read(fn, RDMA_QP_DB_RQ(qp->idx));
	qp->rq_seen = pi;
	if (pi > mask) {
		RN_WARN("function %u: QP 0x%x: RQ doorbell %u past the ring", fn->idx, qp->qpn, pi);
		rdma_qp_error(fn, qp, true);
		return -1;
	}
	if (((pi - qp->rq_ci) & mask) == 0)
		return 0;
	if (refnic_dp_read(dev, fn, qp->rq_iova + (uint64_t)(qp->rq_ci & mask) * sizeof(qp->rwqe),
			   &qp->rwqe, sizeof(qp->rwqe))) {
		rdma_qp_error(fn, qp, true);
		return -1;
	}
	qp->rwqe_held = true;
	qp->recv_off = 0;
	return 1;
}

static void rq_complete(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			struct refnic_rdma_cqe *c)
{
	c->wr_id = qp->rwqe.wr_id;
	c->qpn = qp->qpn;
	c->wqe_index = (uint16_t)(qp->rq_ci & rq_mask(qp));
	qp->rq_ci++;
	qp->rwqe_held = false;
	if (!rdma_cq_post(dev, fn, qp->rcqn, c))
		rdma_qp_error(fn, qp, true);
}

/* Place @n bytes at recv_off of the held WQE: 0 or a VERR. */
static uint8_t recv_place(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			  const void *data, uint32_t n)
{
	const struct refnic_recv_wqe *w = &qp->rwqe;
	uint8_t verr;

	if (w->num_sge > REFNIC_RECV_WQE_SGES || !refnic_is_zero(w->rsvd, sizeof(w->rsvd)))
		return REFNIC_RDMA_VERR_WQE;
	verr = rdma_sge_copy(dev, fn, qp->pdn, w->sge, w->num_sge, qp->recv_off, (void *)data, n,
			     true);
	if (verr == REFNIC_RDMA_VERR_LENGTH)
		return REFNIC_RDMA_VERR_RECV_LEN;
	if (!verr)
		qp->recv_off += n;
	return verr;
}

static uint8_t recv_status(uint8_t verr)
{
	if (verr == REFNIC_RDMA_VERR_WQE)
		return REFNIC_WC_STATUS_LOC_QP_OP_ERR;
	return verr == REFNIC_RDMA_VERR_RECV_LEN ? REFNIC_WC_STATUS_LOC_LEN_ERR
						 : REFNIC_WC_STATUS_LOC_PROT_ERR;
}

/* RC: the receive fails; the requester hears why (length: invalid request; else operational). */
static void recv_fail(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		      uint8_t verr)
{
	struct refnic_rdma_cqe c = {
		.opcode = REFNIC_WC_RECV,
		.status = recv_status(verr),
		.vendor_err = verr,
	};

	rq_complete(dev, fn, qp, &c);
	resp_fatal(qp, verr == REFNIC_RDMA_VERR_RECV_LEN ? AETH_NAK_INV_REQ : AETH_NAK_OP);
}

/* ---- requests ------------------------------------------------------------------------------ */

static bool from_peer(const struct rdma_qp *qp, const struct rdma_pkt *p)
{
	if (p->v4 != qp->path.v4)
		return false;
	if (p->v4)
		return !memcmp(p->ip + 12, qp->path.dip + 12, 4) &&
		       !memcmp(p->ip + 16, qp->path.sip + 12, 4);
	return !memcmp(p->ip + 8, qp->path.dip, 16) && !memcmp(p->ip + 24, qp->path.sip, 16);
}

static bool is_send(uint8_t op)
{
	return op <= OP_SEND_ONLY_IMM;
}

static bool is_write(uint8_t op)
{
	return op >= OP_WRITE_FIRST && op <= OP_WRITE_ONLY_IMM;
}

/* Inside a message only its MIDDLE/LAST packets may come; outside, only a first packet. */
static bool sequence_ok(const struct rdma_qp *qp, uint8_t op, uint16_t fl)
{
	if (qp->in_op == IN_SEND)
		return is_send(op) && !(fl & OPF_FIRST);
	if (qp->in_op == IN_WRITE)
		return is_write(op) && !(fl & OPF_FIRST);
	return fl & OPF_FIRST;
}

/* FIRST and MIDDLE packets carry exactly a path MTU, LAST and ONLY at most one. */
static bool paylen_ok(const struct rdma_qp *qp, const struct rdma_pkt *p, uint16_t fl)
{
	return fl & OPF_LAST ? p->paylen <= qp->pmtu : p->paylen == qp->pmtu;
}

static void acked(struct rdma_qp *qp, const struct rdma_pkt *p, uint16_t fl)
{
	qp->epsn = psn_add(qp->epsn, 1);
	if (p->ackreq || (fl & OPF_LAST))
		rsp_ack(qp, AETH_ACK_UNLIMITED, psn_add(qp->epsn, RDMA_PSN_MASK));
}

static uint8_t cqe_flags(const struct rdma_pkt *p)
{
	return (uint8_t)((p->has_imm ? REFNIC_CQE_F_IMM : 0) |
			 (p->se ? REFNIC_CQE_F_SOLICITED : 0));
}

static void on_send(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		    const struct rdma_pkt *p, uint16_t fl)
{
	uint8_t verr;
	int t;

	if (!paylen_ok(qp, p, fl))
		return resp_fatal(qp, AETH_NAK_INV_REQ);
	t = rq_take(dev, fn, qp);
	if (t <= 0) {
		if (t == 0)
			rnr_nak(qp);
		return;
	}
	if (fl & OPF_FIRST)
		qp->recv_off = 0;
	verr = recv_place(dev, fn, qp, p->payload, p->paylen);
	if (verr)
		return recv_fail(dev, fn, qp, verr);
	qp->in_op = IN_SEND;
	if (fl & OPF_LAST) {
		struct refnic_rdma_cqe c = {
			.byte_len = qp->recv_off,
			.imm = p->imm,
			.opcode = REFNIC_WC_RECV,
			.flags = cqe_flags(p),
		};

		qp->in_op = 0;
		qp->msn = psn_add(qp->msn, 1);
		acked(qp, p, fl); /* the ACK is owed before the receiver can see the CQE */
		rq_complete(dev, fn, qp, &c);
		return;
	}
	acked(qp, p, fl);
}

/* The rkey of @p (or of the message in progress) for @len bytes at @va with @right. */
static bool rkey_ok(struct refnic_func *fn, const struct rdma_qp *qp, uint32_t rkey, uint64_t va,
		    uint64_t len, uint32_t right, uint64_t *iova)
{
	if (!(qp->access & right))
		return false;
	return rdma_mr_iova(fn->rdma, rkey, qp->pdn, va, len, right, iova) == 0;
}

static void on_write(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		     const struct rdma_pkt *p, uint16_t fl)
{
	uint64_t iova = 0;
	uint32_t left;
	int t;

	if (fl & OPF_FIRST) {
		if (p->dmalen > RDMA_MAX_MSG)
			return resp_fatal(qp, AETH_NAK_INV_REQ);
		if (!rkey_ok(fn, qp, p->rkey, p->va, p->dmalen, REFNIC_ACCESS_REMOTE_WRITE, &iova))
			return resp_fatal(qp, AETH_NAK_ACCESS);
		qp->wr_va = p->va;
		qp->wr_rkey = p->rkey;
		qp->wr_len = p->dmalen;
		qp->wr_off = 0;
	}
	left = qp->wr_len - qp->wr_off;
	if (!paylen_ok(qp, p, fl) || (fl & OPF_LAST ? p->paylen != left : p->paylen >= left))
		return resp_fatal(qp, AETH_NAK_INV_REQ);
	if (p->has_imm && (t = rq_take(dev, fn, qp)) <= 0) {
		if (t == 0)
			rnr_nak(qp);
		return;
	}
	if (p->paylen) {
		if (!rkey_ok(fn, qp, qp->wr_rkey, qp->wr_va + qp->wr_off, p->paylen,
			     REFNIC_ACCESS_REMOTE_WRITE, &iova) ||
		    refnic_dp_write(dev, fn, iova, p->payload, p->paylen))
			return resp_fatal(qp, AETH_NAK_ACCESS);
	}
	qp->wr_off += p->paylen;
	qp->in_op = IN_WRITE;
	if (fl & OPF_LAST) {
		qp->in_op = 0;
		qp->msn = psn_add(qp->msn, 1);
		if (p->has_imm) {
			struct refnic_rdma_cqe c = {
				.byte_len = qp->wr_len,
				.imm = p->imm,
				.opcode = REFNIC_WC_RECV_RDMA_WITH_IMM,
				.flags = cqe_flags(p),
			};

			acked(qp, p, fl); /* as on_send(): ACK first, then the CQE */
			rq_complete(dev, fn, qp, &c);
			return;
		}
	}
	acked(qp, p, fl);
}

static uint32_t read_pkts(const struct rdma_qp *qp, uint32_t len)
{
	return len ? (len + qp->pmtu - 1) / qp->pmtu : 1;
}

/* READ and atomics need a responder resource (max_dest_rd_atomic). */
static bool rd_room(const struct rdma_qp *qp)
{
	return qp->max_dest_rd_atomic && qp->rsp_rd < qp->max_dest_rd_atomic;
}

static void on_read(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		    const struct rdma_pkt *p)
{
	struct rdma_rsp *e;
	uint64_t iova;
	uint32_t n;

	if (!rd_room(qp) || p->dmalen > RDMA_MAX_MSG)
		return resp_fatal(qp, AETH_NAK_INV_REQ);
	if (!rkey_ok(fn, qp, p->rkey, p->va, p->dmalen, REFNIC_ACCESS_REMOTE_READ, &iova))
		return resp_fatal(qp, AETH_NAK_ACCESS);
	e = rsp_push(qp);
	if (!e)
		return;
	n = read_pkts(qp, p->dmalen);
	e->kind = RSP_READ;
	e->psn = qp->epsn;
	e->va = p->va;
	e->rkey = p->rkey;
	e->len = p->dmalen;
	qp->rsp_rd++;
	res_save(qp, RSP_READ, qp->epsn, n, 0);
	qp->epsn = psn_add(qp->epsn, n);
	qp->msn = psn_add(qp->msn, 1);
}

/* Execute an atomic on the 8 bytes at @iova; false if they cannot be reached. */
static bool atomic_exec(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
			const struct rdma_pkt *p, uint64_t *orig)
{
	uint64_t v;
	void *va;
	int rc;

	rc = refnic_dp_translate(dev, fn, iova, 8, FACET_VFU_DMA_READ | FACET_VFU_DMA_WRITE, &va);
	if (!rc && !((uintptr_t)va & 7)) {
		uint64_t *m = va;

		if (p->op == OP_FETCH_ADD) {
			*orig = __atomic_fetch_add(m, p->swap_add, __ATOMIC_SEQ_CST);
		} else {
			*orig = p->compare;
			__atomic_compare_exchange_n(m, orig, p->swap_add, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST);
		}
		return true;
	}
	if (rc && rc != -ENOTSUP)
		return false;
	/* No shared mapping (or an odd host alignment): read, modify, write. */
	if (refnic_dp_read(dev, fn, iova, &v, 8))
		return false;
	*orig = v;
	if (p->op == OP_FETCH_ADD)
		v += p->swap_add;
	else if (v == p->compare)
		v = p->swap_add;
	return refnic_dp_write(dev, fn, iova, &v, 8) == 0;
}

static void on_atomic(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		      const struct rdma_pkt *p)
{
	struct rdma_rsp *e;
	uint64_t iova, orig;

	if (!rd_room(qp) || (p->va & 7))
		return resp_fatal(qp, AETH_NAK_INV_REQ);
	if (!rkey_ok(fn, qp, p->rkey, p->va, 8, REFNIC_ACCESS_REMOTE_ATOMIC, &iova) ||
	    qp->rsp_tail - qp->rsp_head == RDMA_RSPQ || !atomic_exec(dev, fn, iova, p, &orig))
		return resp_fatal(qp, AETH_NAK_ACCESS);
	e = rsp_push(qp);
	e->kind = RSP_ATOMIC;
	e->psn = qp->epsn;
	e->orig = orig;
	qp->rsp_rd++;
	res_save(qp, RSP_ATOMIC, qp->epsn, 1, orig);
	qp->epsn = psn_add(qp->epsn, 1);
	qp->msn = psn_add(qp->msn, 1);
}

/*
 * A request already executed: SEND/WRITE are acknowledged again; a READ is
 * executed again from its (possibly resumed) RETH; an atomic is answered
 * with its saved result, never executed twice. Requests older than the
 * resources remember are dropped.
 */
static void on_duplicate(struct rdma_qp *qp, const struct rdma_pkt *p)
{
	struct rdma_rsp *e;

	if (p->op == OP_READ_REQ || p->op == OP_CMP_SWAP || p->op == OP_FETCH_ADD) {
		uint8_t kind = p->op == OP_READ_REQ ? RSP_READ : RSP_ATOMIC;

		for (unsigned int i = 0; i < RDMA_MAX_RD_ATOM; i++) {
			const struct rdma_res *r = &qp->res[i];
			int32_t d = psn_diff(p->psn, r->psn);

			if (r->kind != kind || d < 0 || (uint32_t)d >= r->npkts ||
			    qp->rsp_rd >= RDMA_MAX_RD_ATOM || !(e = rsp_push(qp)))
				continue;
			e->kind = kind;
			e->psn = p->psn;
			e->va = p->va;
			e->rkey = p->rkey;
			e->len = p->dmalen;
			e->orig = r->orig;
			qp->rsp_rd++;
			return;
		}
		return;
	}
	rsp_ack(qp, AETH_ACK_UNLIMITED, psn_add(qp->epsn, RDMA_PSN_MASK));
}

void rdma_resp_rx(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		  const struct rdma_pkt *p)
{
	uint16_t fl = rdma_op_flags(p->opcode);
	int32_t d;

	if (qp->state < REFNIC_QPS_RTR || qp->state == REFNIC_QPS_ERR || qp->resp_err ||
	    !from_peer(qp, p))
		return;
	d = psn_diff(p->psn, qp->epsn);
	if (d < 0)
		return on_duplicate(qp, p);
	if (d > 0) {
		/* Packets were lost: one NAK, then silence until the expected PSN comes. */
		if (!qp->nak_sent) {
			rsp_ack(qp, AETH_NAK_SEQ, qp->epsn);
			qp->nak_sent = true;
		}
		return;
	}
	qp->nak_sent = false;
	if (!sequence_ok(qp, p->op, fl))
		return resp_fatal(qp, AETH_NAK_INV_REQ);
	if (is_send(p->op))
		on_send(dev, fn, qp, p, fl);
	else if (is_write(p->op))
		on_write(dev, fn, qp, p, fl);
	else if (p->op == OP_READ_REQ)
		on_read(dev, fn, qp, p);
	else
		on_atomic(dev, fn, qp, p);
}

/* UD: Q_Key checked, a 40-byte GRH before the payload; no acknowledgements. */
void rdma_resp_ud_rx(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		     const struct rdma_pkt *p)
{
	struct refnic_rdma_cqe c = {
		.imm = p->imm,
		.src_qp = p->src_qp,
		.opcode = REFNIC_WC_RECV,
		.flags = (uint8_t)(cqe_flags(p) | REFNIC_CQE_F_GRH),
	};
	uint8_t grh[GRH_LEN] = { 0 };
	uint8_t verr;

	if (qp->state < REFNIC_QPS_RTR || qp->state == REFNIC_QPS_ERR || p->qkey != qp->qkey ||
	    rq_take(dev, fn, qp) <= 0) {
		fn->rdma->rx_drops++;
		return;
	}
	/* IPv6: its header is the GRH; IPv4: 20 zero bytes, then the IPv4 header (as rxe). */
	if (p->v4)
		memcpy(grh + 20, p->ip, 20);
	else
		memcpy(grh, p->ip, GRH_LEN);
	qp->recv_off = 0;
	verr = recv_place(dev, fn, qp, grh, GRH_LEN);
	if (!verr)
		verr = recv_place(dev, fn, qp, p->payload, p->paylen);
	c.byte_len = verr ? 0 : qp->recv_off;
	c.status = verr ? recv_status(verr) : REFNIC_WC_STATUS_SUCCESS;
	c.vendor_err = verr;
	rq_complete(dev, fn, qp, &c);
}

/* ---- responses ------------------------------------------------------------------------------ */

static uint8_t *resp_begin(struct refnic_dev *dev, struct rdma_qp *qp, uint8_t op, uint32_t psn,
			   uint8_t **e)
{
	uint8_t *buf = rdma_frame_begin(dev);

	memcpy(buf, qp->path.hdr, qp->path.hdr_len);
	rdma_bth_put(buf + qp->path.hdr_len, BTH_GRP_RC | op, false, 0, qp->dest_qpn, false, psn);
	*e = buf + qp->path.hdr_len + BTH_LEN;
	return buf;
}

static void resp_end(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		     uint8_t *buf, uint8_t *e, uint32_t n)
{
	uint8_t pad = (uint8_t)(-n & 3);

	buf[qp->path.hdr_len + 1] |= (uint8_t)(pad << 4);
	memset(e + n, 0, pad + ICRC_LEN);
	e += n + pad + ICRC_LEN;
	rdma_hdr_finish(&qp->path, buf, (uint32_t)(e - buf), fn->mac, rdma_udp_sport(qp->qpn));
	rdma_frame_commit(dev, fn, &qp->path, (uint32_t)(e - buf));
}

static void put_aeth(uint8_t *e, uint8_t syndrome, uint32_t msn)
{
	e[0] = syndrome;
	put24(e + 1, msn);
}

static void ack_packet(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		       const struct rdma_rsp *r)
{
	bool atomic = r->kind == RSP_ATOMIC;
	uint8_t *e, *buf = resp_begin(dev, qp, atomic ? OP_ATOMIC_ACK : OP_ACK, r->psn, &e);

	put_aeth(e, atomic ? AETH_ACK_UNLIMITED : r->syndrome, qp->msn);
	e += AETH_LEN;
	if (atomic) {
		put64(e, r->orig);
		e += ATOMACK_LEN;
	}
	resp_end(dev, fn, qp, buf, e, 0);
}

/* One packet of a READ response; true when the READ is answered completely. */
static bool read_packet(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			struct rdma_rsp *r)
{
	uint32_t npk = read_pkts(qp, r->len), k = r->off / qp->pmtu;
	uint32_t n = r->len - r->off < qp->pmtu ? r->len - r->off : qp->pmtu;
	uint8_t op = npk == 1	    ? OP_READ_ONLY
		     : k == 0	    ? OP_READ_FIRST
		     : k + 1 == npk ? OP_READ_LAST
				    : OP_READ_MIDDLE;
	uint8_t *e, *buf = resp_begin(dev, qp, op, psn_add(r->psn, k), &e);
	uint64_t iova;

	if (op != OP_READ_MIDDLE) {
		put_aeth(e, AETH_ACK_UNLIMITED, qp->msn);
		e += AETH_LEN;
	}
	/* Checked again at every access: the MR may be gone since the request. */
	if (n && (!rkey_ok(fn, qp, r->rkey, r->va + r->off, n, REFNIC_ACCESS_REMOTE_READ, &iova) ||
		  refnic_dp_read(dev, fn, iova, e, n))) {
		uint32_t psn = psn_add(r->psn, k);

		memset(r, 0, sizeof(*r));
		r->kind = RSP_ACK;
		r->syndrome = AETH_NAK_ACCESS;
		r->psn = psn;
		qp->rsp_rd--;
		qp->resp_err = true;
		return false;
	}
	resp_end(dev, fn, qp, buf, e, n);
	r->off += n;
	return k + 1 >= npk;
}

/*
 * Send the ACKs, NAKs and atomic ACKs at the head of the response queue, up
 * to the first READ response (data, not an acknowledgement): what a QP owes
 * for messages it has completed, before it is destroyed or reset.
 */
void rdma_resp_flush_acks(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	while (qp->rsp_head != qp->rsp_tail) {
		struct rdma_rsp *r = &qp->rsp[qp->rsp_head % RDMA_RSPQ];

		if (r->kind == RSP_READ)
			break;
		ack_packet(dev, fn, qp, r);
		if (r->kind == RSP_ATOMIC)
			qp->rsp_rd--;
		qp->rsp_head++;
	}
}

/* Worker: send what the responder owes, up to @budget packets. */
unsigned int rdma_resp_send(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			    unsigned int budget)
{
	unsigned int n = 0;

	while (n < budget && qp->rsp_head != qp->rsp_tail) {
		struct rdma_rsp *r = &qp->rsp[qp->rsp_head % RDMA_RSPQ];

		if (r->kind == RSP_READ) {
			bool done = read_packet(dev, fn, qp, r);

			if (r->kind != RSP_READ)
				continue; /* became a NAK: sent next */
			n++;
			if (!done)
				continue;
			qp->rsp_rd--;
		} else {
			ack_packet(dev, fn, qp, r);
			if (r->kind == RSP_ATOMIC)
				qp->rsp_rd--;
			n++;
		}
		qp->rsp_head++;
	}
	return n;
}
