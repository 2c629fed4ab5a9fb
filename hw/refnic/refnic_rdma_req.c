/* SPDX-License-Identifier: MIT */
/*
 * The requester (docs/refnic.md §16.9): send WQEs become packets, and
 * responses (ACK, NAK, READ responses, atomic ACKs) complete them, in order.
 *
 * Counters are free-running: WQEs [sq_comp, tx_idx) have been sent, tx_idx
 * is being sent (packet tx_pkt), [tx_idx, sq_fetch) are fetched (copied into
 * swqe[] with their PSNs assigned), the rest wait in the ring. PSNs: una is
 * the oldest not acknowledged, npsn the next to send, spsn one past the
 * highest ever sent. Recovery is go-back-N: on a sequence NAK, a lost
 * response or a timeout, transmission restarts at una (inside the WQE at
 * sq_comp, possibly in the middle of a message: a READ then asks for the
 * rest). After an RNR NAK it restarts there once the responder's RNR
 * timer has passed.
 */
#include <errno.h>
#include <string.h>

#include "refnic_rdma.h"

/* IB RNR timer encoding (min_rnr_timer, the AETH's timer field), in microseconds. */
static const uint32_t rnr_us[32] = {
	655360, 10,    20,    30,    40,    60,	    80,	    120,    160,    240,    320,
	480,	640,   960,   1280,  1920,  2560,   3840,   5120,   7680,   10240,  15360,
	20480,	30720, 40960, 61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

static uint32_t sq_mask(const struct rdma_qp *qp)
{
	return (1u << qp->sq_log) - 1;
}

static struct rdma_swqe *swqe_at(struct rdma_qp *qp, uint32_t idx)
{
	return &qp->swqe[idx & sq_mask(qp)];
}

/* The local ACK timeout: 4.096 us * 2^timeout; 0: none. */
static uint64_t rto_ns(const struct rdma_qp *qp)
{
	return qp->timeout ? 4096ull << qp->timeout : 0;
}

static bool outstanding(const struct rdma_qp *qp)
{
	return psn_diff(qp->spsn, qp->una) > 0;
}

static void rto_restart(struct refnic_dev *dev, struct rdma_qp *qp)
{
	qp->rto_at = outstanding(qp) && rto_ns(qp) ? rdma_now(dev) + rto_ns(qp) : 0;
}

void rdma_req_reset(struct rdma_qp *qp)
{
	qp->sq_fetch = qp->tx_idx = qp->sq_comp = 0;
	qp->tx_pkt = qp->rd_out = qp->noack = 0;
	qp->npsn = qp->una = qp->fpsn = qp->spsn = 0;
	qp->rto_at = qp->rnr_at = 0;
	qp->resync = false;
}

static uint8_t wc_op(uint8_t wr)
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

void rdma_req_complete(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		       uint8_t status, uint8_t verr)
{
	struct rdma_swqe *s = swqe_at(qp, qp->sq_comp);
	bool sig = status || (qp->flags & REFNIC_QPF_SQ_SIG_ALL) ||
		   (s->w.flags & REFNIC_WQE_F_SIGNALED);
	bool cq_ok = true;

	if (sig) {
		struct refnic_rdma_cqe c = {
			.wr_id = s->w.wr_id,
			.byte_len = s->len,
			.qpn = qp->qpn,
			.wqe_index = (uint16_t)(qp->sq_comp & sq_mask(qp)),
			.opcode = wc_op(s->w.opcode),
			.status = status,
			.flags = REFNIC_CQE_F_SQ,
			.vendor_err = verr,
		};

		cq_ok = rdma_cq_post(dev, fn, qp->scqn, &c);
	}
	if (s->rd && (int32_t)(qp->tx_idx - qp->sq_comp) > 0)
		qp->rd_out--;
	qp->sq_comp++;
	if ((int32_t)(qp->tx_idx - qp->sq_comp) < 0) {
		qp->tx_idx = qp->sq_comp;
		qp->tx_pkt = 0;
	}
	if (!cq_ok) {
		rdma_qp_error(fn, qp, true);
	} else if (status && qp->type == REFNIC_QPT_UD) {
		qp->state = REFNIC_QPS_SQE; /* UD: the send queue stops, receives go on */
		qp->flush = true;
		qp->rto_at = 0;
	} else if (status) {
		rdma_qp_error(fn, qp, false);
	}
}

/* ---- fetching WQEs -------------------------------------------------------------------- */

static bool is_rd(uint8_t op)
{
	return op == REFNIC_WR_RDMA_READ || op == REFNIC_WR_ATOMIC_CMP_AND_SWP ||
	       op == REFNIC_WR_ATOMIC_FETCH_AND_ADD;
}

static bool is_atomic(uint8_t op)
{
	return op == REFNIC_WR_ATOMIC_CMP_AND_SWP || op == REFNIC_WR_ATOMIC_FETCH_AND_ADD;
}

static void bad(struct rdma_swqe *s, uint8_t status, uint8_t verr)
{
	s->status = status;
	s->verr = verr;
}

/* Format and length checks, and the lkeys of the SGEs (rights, bounds). */
static void wqe_check(struct refnic_func *fn, const struct rdma_qp *qp, struct rdma_swqe *s)
{
	const struct refnic_send_wqe *w = &s->w;
	bool ud = qp->type == REFNIC_QPT_UD;
	uint32_t need = is_rd(w->opcode) ? REFNIC_ACCESS_LOCAL_WRITE : 0;
	uint64_t len = 0, iova;

	if (w->rsvd0 || w->rsvd1 || (w->flags & ~0xfu) ||
	    w->opcode > REFNIC_WR_ATOMIC_FETCH_AND_ADD ||
	    (ud && w->opcode != REFNIC_WR_SEND && w->opcode != REFNIC_WR_SEND_WITH_IMM))
		return bad(s, REFNIC_WC_STATUS_LOC_QP_OP_ERR, REFNIC_RDMA_VERR_WQE);
	if (w->flags & REFNIC_WQE_F_INLINE) {
		if (is_rd(w->opcode))
			return bad(s, REFNIC_WC_STATUS_LOC_QP_OP_ERR, REFNIC_RDMA_VERR_WQE);
		if (w->inline_len > REFNIC_MAX_INLINE)
			return bad(s, REFNIC_WC_STATUS_LOC_LEN_ERR, REFNIC_RDMA_VERR_LENGTH);
		s->len = w->inline_len;
		return;
	}
	if (w->num_sge > REFNIC_SEND_WQE_SGES)
		return bad(s, REFNIC_WC_STATUS_LOC_QP_OP_ERR, REFNIC_RDMA_VERR_WQE);
	for (unsigned int i = 0; i < w->num_sge; i++) {
		const struct refnic_sge *g = &w->sge[i];
		uint8_t verr;

		if (g->addr + g->length < g->addr)
			return bad(s, REFNIC_WC_STATUS_LOC_PROT_ERR, REFNIC_RDMA_VERR_BOUNDS);
		verr = rdma_mr_iova(fn->rdma, g->lkey, qp->pdn, g->addr, g->length, need, &iova);
		if (verr)
			return bad(s, REFNIC_WC_STATUS_LOC_PROT_ERR, verr);
		len += g->length;
	}
	if (len > RDMA_MAX_MSG || (ud && len > (128u << rdma_active_mtu(fn))))
		return bad(s, REFNIC_WC_STATUS_LOC_LEN_ERR, REFNIC_RDMA_VERR_LENGTH);
	if (is_atomic(w->opcode) && (w->num_sge != 1 || len != 8))
		return bad(s, REFNIC_WC_STATUS_LOC_LEN_ERR, REFNIC_RDMA_VERR_LENGTH);
	if (is_rd(w->opcode) && qp->max_rd_atomic == 0)
		return bad(s, REFNIC_WC_STATUS_LOC_QP_OP_ERR, REFNIC_RDMA_VERR_RD_ATOMIC);
	if (ud) {
		const struct rdma_ah *ah = rdma_ah_get(fn->rdma, w->ahn);

		if (!ah || ah->pdn != qp->pdn)
			return bad(s, REFNIC_WC_STATUS_LOC_QP_OP_ERR, REFNIC_RDMA_VERR_AH);
	}
	s->len = (uint32_t)len;
}

/* Fetch the WQE at sq_fetch, if the driver posted one: checks, PSNs. */
static bool req_fetch(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		      uint32_t pi)
{
	uint32_t mask = sq_mask(qp);
	struct rdma_swqe *s;

	if (((pi - qp->sq_comp) & mask) == ((qp->sq_fetch - qp->sq_comp) & mask))
		return false; /* nothing more posted */
	s = swqe_at(qp, qp->sq_fetch);
	memset(s, 0, sizeof(*s));
	if (refnic_dp_read(dev, fn, qp->sq_iova + (uint64_t)(qp->sq_fetch & mask) * sizeof(s->w),
			   &s->w, sizeof(s->w))) {
		rdma_qp_error(fn, qp, true); /* the ring is gone */
		return false;
	}
	wqe_check(fn, qp, s);
	s->rd = is_rd(s->w.opcode);
	s->psn = qp->fpsn;
	if (!s->status) {
		s->npkts = is_atomic(s->w.opcode) || qp->type == REFNIC_QPT_UD
				   ? 1
				   : (s->len + qp->pmtu - 1) / qp->pmtu;
		if (s->npkts == 0)
			s->npkts = 1; /* a zero-length message is one packet */
		qp->fpsn = psn_add(qp->fpsn, s->npkts);
	}
	qp->sq_fetch++;
	return true;
}

/* ---- sending ------------------------------------------------------------------------------ */

/* May the WQE at tx_idx (already fetched) send its next packet now? */
static bool tx_gate(const struct rdma_qp *qp, const struct rdma_swqe *s)
{
	if (qp->type == REFNIC_QPT_UD)
		return true;
	if (qp->tx_pkt == 0 && (s->w.flags & REFNIC_WQE_F_FENCE) && qp->rd_out)
		return false;
	if (qp->tx_pkt == 0 && s->rd && qp->rd_out >= qp->max_rd_atomic)
		return false;
	return psn_diff(qp->npsn, qp->una) < (int32_t)RDMA_WINDOW;
}

bool rdma_req_can_send(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	const struct rdma_swqe *s;

	if (qp->state != REFNIC_QPS_RTS && qp->state != REFNIC_QPS_SQD)
		return false;
	if (qp->rnr_at || qp->tx_idx == qp->sq_fetch)
		return false; /* (new WQEs: the doorbell check says so) */
	s = swqe_at(qp, qp->tx_idx);
	if (s->status)
		return qp->tx_idx == qp->sq_comp; /* its turn to complete with the error */
	return tx_gate(qp, s);
}

static uint8_t rc_opcode(const struct rdma_swqe *s, uint32_t k, bool *reth)
{
	bool first = k == 0, last = k + 1 >= s->npkts;
	bool imm = s->w.opcode == REFNIC_WR_SEND_WITH_IMM ||
		   s->w.opcode == REFNIC_WR_RDMA_WRITE_WITH_IMM;
	uint8_t base;

	*reth = false;
	switch (s->w.opcode) {
	case REFNIC_WR_RDMA_READ:
		*reth = true;
		return OP_READ_REQ;
	case REFNIC_WR_ATOMIC_CMP_AND_SWP:
		return OP_CMP_SWAP;
	case REFNIC_WR_ATOMIC_FETCH_AND_ADD:
		return OP_FETCH_ADD;
	case REFNIC_WR_RDMA_WRITE:
	case REFNIC_WR_RDMA_WRITE_WITH_IMM:
		base = OP_WRITE_FIRST;
		*reth = first;
		break;
	default:
		base = OP_SEND_FIRST;
	}
	if (first && last)
		return base + (imm ? 5 : 4);
	if (first)
		return base;
	return last ? base + (imm ? 3 : 2) : base + 1;
}

/* The payload of packet @k (bytes [off, off + n) of the message) into @dst. */
static uint8_t req_gather(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			  const struct rdma_swqe *s, uint32_t off, uint8_t *dst, uint32_t n)
{
	if (s->w.flags & REFNIC_WQE_F_INLINE) {
		memcpy(dst, s->w.inline_data + off, n);
		return 0;
	}
	return rdma_sge_copy(dev, fn, qp->pdn, s->w.sge, s->w.num_sge, off, dst, n, false);
}

/* Pad to 4 bytes, leave room for the ICRC (filled later, or never: see rdma_icrc_fill). */
static uint32_t finish_payload(uint8_t *p, uint32_t n, uint8_t *pad)
{
	*pad = (uint8_t)(-n & 3);
	memset(p + n, 0, *pad + ICRC_LEN);
	return n + *pad + ICRC_LEN;
}

static void frame_out(struct refnic_dev *dev, struct refnic_func *fn, const struct rdma_path *path,
		      uint8_t *buf, uint32_t len, uint32_t qpn)
{
	rdma_hdr_finish(path, buf, len, fn->mac, rdma_udp_sport(qpn));
	rdma_frame_commit(dev, fn, path, len);
}

/* One RC packet of the WQE at tx_idx; 0 or a VERR (the WQE then fails locally). */
static uint8_t rc_packet(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			 struct rdma_swqe *s)
{
	uint32_t k = qp->tx_pkt, off = k * qp->pmtu;
	uint32_t psn = psn_add(s->psn, k), n = 0;
	uint8_t *buf = rdma_frame_begin(dev), *b, *e, pad;
	bool reth, last, ackreq;
	uint8_t op = rc_opcode(s, k, &reth);
	uint8_t verr;

	last = op == OP_READ_REQ || k + 1 >= s->npkts;
	ackreq = last || ++qp->noack >= RDMA_ACKREQ_EVERY;
	if (ackreq)
		qp->noack = 0;
	memcpy(buf, qp->path.hdr, qp->path.hdr_len);
	b = buf + qp->path.hdr_len;
	rdma_bth_put(b, BTH_GRP_RC | op, last && (s->w.flags & REFNIC_WQE_F_SOLICITED), 0,
		     qp->dest_qpn, ackreq, psn);
	e = b + BTH_LEN;
	if (reth) {
		put64(e, s->w.remote_addr + off);
		put32(e + 8, s->w.rkey);
		put32(e + 12, s->len - off);
		e += RETH_LEN;
	}
	if (op == OP_CMP_SWAP || op == OP_FETCH_ADD) {
		put64(e, s->w.remote_addr);
		put32(e + 8, s->w.rkey);
		put64(e + 12, op == OP_CMP_SWAP ? s->w.swap : s->w.compare_add);
		put64(e + 20, op == OP_CMP_SWAP ? s->w.compare_add : 0);
		e += ATOMETH_LEN;
	}
	if (rdma_op_flags(op) & OPF_IMM) {
		memcpy(e, &s->w.imm, IMM_LEN);
		e += IMM_LEN;
	}
	if (rdma_op_flags(op) & OPF_PAYLOAD) {
		n = s->len - off < qp->pmtu ? s->len - off : qp->pmtu;
		verr = req_gather(dev, fn, qp, s, off, e, n);
		if (verr)
			return verr;
	}
	b[1] |= (uint8_t)((-n & 3) << 4);
	e += finish_payload(e, n, &pad);
	frame_out(dev, fn, &qp->path, buf, (uint32_t)(e - buf), qp->qpn);

	if (op == OP_READ_REQ) {
		qp->npsn = psn_add(s->psn, s->npkts);
		qp->tx_pkt = s->npkts;
	} else {
		qp->npsn = psn_add(psn, 1);
		qp->tx_pkt++;
	}
	if (psn_diff(qp->npsn, qp->spsn) > 0)
		qp->spsn = qp->npsn;
	if (!qp->rto_at && rto_ns(qp))
		qp->rto_at = rdma_now(dev) + rto_ns(qp);
	if (qp->tx_pkt >= s->npkts) {
		qp->tx_idx++;
		qp->tx_pkt = 0;
		if (s->rd)
			qp->rd_out++;
	}
	return 0;
}

/* A UD WQE: one packet, complete at once. 0 or a VERR. */
static uint8_t ud_packet(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			 struct rdma_swqe *s)
{
	const struct rdma_ah *ah = rdma_ah_get(fn->rdma, s->w.ahn);
	bool imm = s->w.opcode == REFNIC_WR_SEND_WITH_IMM;
	uint8_t *buf = rdma_frame_begin(dev), *b, *e, pad, verr;
	uint32_t qkey;

	if (!ah || ah->pdn != qp->pdn)
		return REFNIC_RDMA_VERR_AH;
	memcpy(buf, ah->path.hdr, ah->path.hdr_len);
	b = buf + ah->path.hdr_len;
	rdma_bth_put(b, BTH_GRP_UD | (imm ? OP_SEND_ONLY_IMM : OP_SEND_ONLY),
		     s->w.flags & REFNIC_WQE_F_SOLICITED, (uint8_t)(-s->len & 3),
		     s->w.dest_qpn & RDMA_QPN_MASK, false, qp->npsn);
	e = b + BTH_LEN;
	/* A Q_Key with its high bit set means "the QP's own" (IB spec 10.2.5). */
	qkey = s->w.qkey & 0x80000000u ? qp->qkey : s->w.qkey;
	put32(e, qkey);
	e[4] = 0;
	put24(e + 5, qp->qpn);
	e += DETH_LEN;
	if (imm) {
		memcpy(e, &s->w.imm, IMM_LEN);
		e += IMM_LEN;
	}
	verr = req_gather(dev, fn, qp, s, 0, e, s->len);
	if (verr)
		return verr;
	e += finish_payload(e, s->len, &pad);
	frame_out(dev, fn, &ah->path, buf, (uint32_t)(e - buf), qp->qpn);
	qp->npsn = qp->spsn = qp->una = psn_add(qp->npsn, 1);
	qp->tx_idx++;
	rdma_req_complete(dev, fn, qp, REFNIC_WC_STATUS_SUCCESS, 0);
	return 0;
}

/* Worker: send up to @budget packets of the QP's send queue. */
unsigned int rdma_req_send(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			   unsigned int budget)
{
	uint32_t pi = refnic_db_read(fn, RDMA_QP_DB_SQ(qp->idx));
	unsigned int n = 0;

	qp->sq_seen = pi;
	if (pi > sq_mask(qp)) {
		RN_WARN("function %u: QP 0x%x: SQ doorbell %u past the ring", fn->idx, qp->qpn, pi);
		rdma_qp_error(fn, qp, true);
		return 1;
	}
	while (n < budget && !qp->rnr_at &&
	       (qp->state == REFNIC_QPS_RTS || qp->state == REFNIC_QPS_SQD)) {
		struct rdma_swqe *s;
		uint8_t verr;

		if (qp->tx_idx == qp->sq_fetch &&
		    (qp->state != REFNIC_QPS_RTS || !req_fetch(dev, fn, qp, pi)))
			break;
		s = swqe_at(qp, qp->tx_idx);
		if (s->status) {
			if (qp->tx_idx != qp->sq_comp)
				break; /* its turn comes when everything before it completed */
			rdma_req_complete(dev, fn, qp, s->status, s->verr);
			n++;
			break;
		}
		if (!tx_gate(qp, s))
			break;
		verr = qp->type == REFNIC_QPT_UD ? ud_packet(dev, fn, qp, s)
						 : rc_packet(dev, fn, qp, s);
		if (verr)
			bad(s,
			    verr == REFNIC_RDMA_VERR_AH ? REFNIC_WC_STATUS_LOC_QP_OP_ERR
							: REFNIC_WC_STATUS_LOC_PROT_ERR,
			    verr);
		n++;
	}
	return n;
}

/* ---- responses ---------------------------------------------------------------------------- */

/* Restart transmission at una (go-back-N). */
static void req_rewind(struct rdma_qp *qp)
{
	struct rdma_swqe *s = swqe_at(qp, qp->sq_comp);

	qp->tx_idx = qp->sq_comp;
	qp->tx_pkt = 0;
	if (qp->sq_comp != qp->sq_fetch && !s->status && psn_diff(qp->una, s->psn) > 0)
		qp->tx_pkt = (uint32_t)psn_diff(qp->una, s->psn);
	qp->npsn = qp->una;
	qp->rd_out = 0;
	qp->noack = 0;
}

/* Retransmit from una, if retries remain; otherwise the WQE fails. */
static void req_retry(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	if (qp->sq_comp == qp->sq_fetch)
		return;
	if (qp->retry_left == 0) {
		rdma_req_complete(dev, fn, qp, REFNIC_WC_STATUS_RETRY_EXC_ERR,
				  REFNIC_RDMA_VERR_RETRY);
		return;
	}
	qp->retry_left--;
	req_rewind(qp);
	qp->resync = true;
	rto_restart(dev, qp);
}

static void progress(struct refnic_dev *dev, struct rdma_qp *qp)
{
	qp->retry_left = qp->retry_cnt;
	qp->rnr_left = qp->rnr_retry;
	rto_restart(dev, qp);
}

/*
 * Everything up to @psn is acknowledged: complete the SEND/WRITE WQEs it
 * covers. An acknowledgement past an incomplete READ/atomic means its
 * response was lost: go back. Returns false if the QP left RTS/SQD.
 */
static bool ack_to(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp, uint32_t psn)
{
	bool moved = false;

	if (psn_diff(psn, qp->una) < 0 || psn_diff(psn, qp->spsn) >= 0)
		return true; /* old, or beyond anything sent */
	while (qp->sq_comp != qp->tx_idx || (qp->sq_comp == qp->tx_idx && qp->tx_pkt)) {
		struct rdma_swqe *s = swqe_at(qp, qp->sq_comp);
		uint32_t last = psn_add(s->psn, s->npkts - 1);

		if (s->status)
			break;
		if (s->rd) {
			if (psn_diff(psn, s->psn) >= 0)
				req_retry(dev, fn, qp);
			break;
		}
		if (psn_diff(psn, last) < 0) {
			qp->una = psn_add(psn, 1);
			moved = true;
			break;
		}
		qp->una = psn_add(last, 1);
		moved = true;
		rdma_req_complete(dev, fn, qp, REFNIC_WC_STATUS_SUCCESS, 0);
		if (qp->state != REFNIC_QPS_RTS && qp->state != REFNIC_QPS_SQD)
			return false;
	}
	if (moved)
		progress(dev, qp);
	return qp->state == REFNIC_QPS_RTS || qp->state == REFNIC_QPS_SQD;
}

static uint8_t nak_status(uint8_t syndrome, uint8_t *verr)
{
	switch (syndrome) {
	case AETH_NAK_INV_REQ:
		*verr = REFNIC_RDMA_VERR_NAK_INV_REQ;
		return REFNIC_WC_STATUS_REM_INV_REQ_ERR;
	case AETH_NAK_ACCESS:
		*verr = REFNIC_RDMA_VERR_NAK_ACCESS;
		return REFNIC_WC_STATUS_REM_ACCESS_ERR;
	default:
		*verr = REFNIC_RDMA_VERR_NAK_OP;
		return REFNIC_WC_STATUS_REM_OP_ERR;
	}
}

static void on_rnr(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		   uint8_t timer)
{
	if (qp->sq_comp == qp->sq_fetch || qp->rnr_at)
		return;
	if (qp->rnr_left == 0) {
		rdma_req_complete(dev, fn, qp, REFNIC_WC_STATUS_RNR_RETRY_EXC_ERR,
				  REFNIC_RDMA_VERR_RNR);
		return;
	}
	if (qp->rnr_retry != 7) /* 7: retry for ever */
		qp->rnr_left--;
	req_rewind(qp);
	qp->rto_at = 0;
	qp->rnr_at = rdma_now(dev) + (uint64_t)rnr_us[timer & 0x1f] * 1000;
}

static void on_aeth(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		    const struct rdma_pkt *p)
{
	uint8_t verr, st;

	switch (p->syndrome & 0xe0) {
	case 0x00: /* ACK */
		ack_to(dev, fn, qp, p->psn);
		return;
	case AETH_RNR_NAK:
		if (ack_to(dev, fn, qp, psn_add(p->psn, RDMA_PSN_MASK)) && p->psn == qp->una)
			on_rnr(dev, fn, qp, p->syndrome);
		return;
	case 0x60: /* NAK */
		if (!ack_to(dev, fn, qp, psn_add(p->psn, RDMA_PSN_MASK)) || p->psn != qp->una ||
		    qp->sq_comp == qp->sq_fetch)
			return;
		if (p->syndrome == AETH_NAK_SEQ) {
			req_retry(dev, fn, qp);
			qp->resync = false; /* the responder waits exactly for una */
			return;
		}
		st = nak_status(p->syndrome, &verr);
		rdma_req_complete(dev, fn, qp, st, verr);
		return;
	default:
		return; /* reserved */
	}
}

/* A response for the READ/atomic at sq_comp? Implicitly acknowledge what precedes it. */
static struct rdma_swqe *rd_target(struct refnic_dev *dev, struct refnic_func *fn,
				   struct rdma_qp *qp, const struct rdma_pkt *p)
{
	struct rdma_swqe *s;

	if (psn_diff(p->psn, qp->una) < 0 || psn_diff(p->psn, qp->spsn) >= 0)
		return NULL; /* duplicate, or nothing we asked for */
	if (psn_diff(p->psn, qp->una) > 0 && !ack_to(dev, fn, qp, psn_add(p->psn, RDMA_PSN_MASK)))
		return NULL;
	if (p->psn != qp->una) {
		if (!qp->resync)
			req_retry(dev, fn, qp); /* responses were lost */
		return NULL;
	}
	qp->resync = false;
	if (qp->sq_comp == qp->tx_idx && !qp->tx_pkt)
		return NULL;
	s = swqe_at(qp, qp->sq_comp);
	return s->rd && !s->status ? s : NULL;
}

static void bad_response(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp)
{
	rdma_req_complete(dev, fn, qp, REFNIC_WC_STATUS_BAD_RESP_ERR, REFNIC_RDMA_VERR_BAD_RESP);
}

static void on_read_resp(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			 const struct rdma_pkt *p)
{
	struct rdma_swqe *s = rd_target(dev, fn, qp, p);
	uint16_t fl = rdma_op_flags(p->opcode);
	uint32_t k, off;
	uint8_t verr;

	if (!s)
		return;
	if ((fl & OPF_AETH) && (p->syndrome & 0xe0))
		return on_aeth(dev, fn, qp, p); /* a NAK in READ response clothing */
	k = (uint32_t)psn_diff(p->psn, s->psn);
	off = k * qp->pmtu;
	/* A READ resumed after a retry starts again with a FIRST (or ONLY) response. */
	if (s->w.opcode != REFNIC_WR_RDMA_READ || (!(fl & OPF_FIRST) && k == 0) ||
	    !!(fl & OPF_LAST) != (k + 1 == s->npkts) ||
	    p->paylen != (s->len - off < qp->pmtu ? s->len - off : qp->pmtu))
		return bad_response(dev, fn, qp);
	verr = rdma_sge_copy(dev, fn, qp->pdn, s->w.sge, s->w.num_sge, off, (void *)p->payload,
			     p->paylen, true);
	if (verr) {
		rdma_req_complete(dev, fn, qp, REFNIC_WC_STATUS_LOC_PROT_ERR, verr);
		return;
	}
	qp->una = psn_add(p->psn, 1);
	progress(dev, qp);
	if (fl & OPF_LAST)
		rdma_req_complete(dev, fn, qp, REFNIC_WC_STATUS_SUCCESS, 0);
}

static void on_atomic_ack(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			  const struct rdma_pkt *p)
{
	struct rdma_swqe *s = rd_target(dev, fn, qp, p);
	uint8_t le[8], verr;

	if (!s)
		return;
	if (p->syndrome & 0xe0)
		return on_aeth(dev, fn, qp, p);
	if (!is_atomic(s->w.opcode))
		return bad_response(dev, fn, qp);
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(p->orig >> (8 * i)); /* host memory is little-endian */
	verr = rdma_sge_copy(dev, fn, qp->pdn, s->w.sge, 1, 0, le, 8, true);
	if (verr) {
		rdma_req_complete(dev, fn, qp, REFNIC_WC_STATUS_LOC_PROT_ERR, verr);
		return;
	}
	qp->una = psn_add(p->psn, 1);
	progress(dev, qp);
	rdma_req_complete(dev, fn, qp, REFNIC_WC_STATUS_SUCCESS, 0);
}

void rdma_req_rx(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		 const struct rdma_pkt *p)
{
	if (qp->state != REFNIC_QPS_RTS && qp->state != REFNIC_QPS_SQD)
		return;
	switch (p->op) {
	case OP_ACK:
		on_aeth(dev, fn, qp, p);
		break;
	case OP_ATOMIC_ACK:
		on_atomic_ack(dev, fn, qp, p);
		break;
	default:
		on_read_resp(dev, fn, qp, p);
	}
}

/* Worker: the RNR wait and the retransmission timer. */
unsigned int rdma_req_timers(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			     uint64_t now)
{
	if (qp->rnr_at && now >= qp->rnr_at) {
		qp->rnr_at = 0;
		return 1;
	}
	if (!qp->rto_at || now < qp->rto_at)
		return 0;
	qp->rto_at = 0;
	if (!outstanding(qp))
		return 0;
	RN_DEBUG("function %u: QP 0x%x: timeout at PSN 0x%x (%u retries left)", fn->idx, qp->qpn,
		 qp->una, qp->retry_left);
	req_retry(dev, fn, qp);
	return 1;
}
