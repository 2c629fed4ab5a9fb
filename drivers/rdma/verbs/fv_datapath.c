/* SPDX-License-Identifier: MIT */
/*
 * The datapath: the context ops that verbs.h's inline ibv_post_send(),
 * ibv_post_recv(), ibv_poll_cq() and ibv_req_notify_cq() call directly.
 * They are installed on our contexts only, so every object they get is
 * ours: no lookup, lock, allocation or log here.
 *
 * Receive work requests, scatter/gather elements and work completions have
 * the same layout and values in verbs and facet_rdma (asserted below), so
 * they pass through as they are. A send work request differs (the verbs one
 * has more union members, and an AH pointer of its own), so sends are
 * translated on the stack in batches, one doorbell per batch.
 */
#include "fv_private.h"

/* Send work requests translated per call into facet_rdma_post_send(). */
#define FV_SEND_BATCH 32

static_assert(sizeof(struct ibv_sge) == sizeof(struct facet_rdma_sge), "sge layout");
static_assert(offsetof(struct ibv_sge, lkey) == offsetof(struct facet_rdma_sge, lkey),
	      "sge layout");
static_assert(sizeof(struct ibv_recv_wr) == sizeof(struct facet_rdma_recv_wr), "recv_wr layout");
static_assert(offsetof(struct ibv_recv_wr, num_sge) == offsetof(struct facet_rdma_recv_wr, num_sge),
	      "recv_wr layout");
static_assert(sizeof(struct ibv_wc) == sizeof(struct facet_rdma_wc), "wc layout");
static_assert(offsetof(struct ibv_wc, wc_flags) == offsetof(struct facet_rdma_wc, wc_flags),
	      "wc layout");
static_assert(offsetof(struct ibv_wc, imm_data) == offsetof(struct facet_rdma_wc, imm_data),
	      "wc layout");
static_assert(offsetof(struct ibv_wc, dlid_path_bits) ==
		      offsetof(struct facet_rdma_wc, dlid_path_bits),
	      "wc layout");
static_assert(IBV_WC_RECV_RDMA_WITH_IMM == (int)FACET_RDMA_WC_RECV_RDMA_WITH_IMM, "wc opcodes");
static_assert(IBV_WC_GENERAL_ERR == (int)FACET_RDMA_WC_GENERAL_ERR, "wc status");
static_assert(IBV_WC_WITH_IMM == FACET_RDMA_WC_WITH_IMM, "wc flags");
static_assert(IBV_WR_ATOMIC_FETCH_AND_ADD == (int)FACET_RDMA_WR_ATOMIC_FETCH_AND_ADD, "opcodes");
static_assert(IBV_SEND_INLINE == FACET_RDMA_SEND_INLINE, "send flags");

#define FV_SEND_FLAGS (IBV_SEND_FENCE | IBV_SEND_SIGNALED | IBV_SEND_SOLICITED | IBV_SEND_INLINE)

/* One verbs send request as facet_rdma's; EINVAL for what the device has no opcode for. */
static int fv_send_wr(const struct ibv_qp *ibqp, const struct ibv_send_wr *in,
		      struct facet_rdma_send_wr *out)
{
	if ((unsigned int)in->opcode > IBV_WR_ATOMIC_FETCH_AND_ADD ||
	    (in->send_flags & ~FV_SEND_FLAGS))
		return EINVAL;
	out->wr_id = in->wr_id;
	out->sg_list = (struct facet_rdma_sge *)in->sg_list;
	out->num_sge = in->num_sge;
	out->opcode = (uint32_t)in->opcode;
	out->send_flags = in->send_flags;
	out->imm_data = in->imm_data;
	if (ibqp->qp_type == IBV_QPT_UD) {
		out->wr.ud.ah = in->wr.ud.ah
					? fv_container_of(in->wr.ud.ah, struct fv_ah, ibah)->rah
					: NULL;
		out->wr.ud.remote_qpn = in->wr.ud.remote_qpn;
		out->wr.ud.remote_qkey = in->wr.ud.remote_qkey;
	} else if (in->opcode == IBV_WR_ATOMIC_CMP_AND_SWP ||
		   in->opcode == IBV_WR_ATOMIC_FETCH_AND_ADD) {
		out->wr.atomic.remote_addr = in->wr.atomic.remote_addr;
		out->wr.atomic.compare_add = in->wr.atomic.compare_add;
		out->wr.atomic.swap = in->wr.atomic.swap;
		out->wr.atomic.rkey = in->wr.atomic.rkey;
	} else {
		out->wr.rdma.remote_addr = in->wr.rdma.remote_addr;
		out->wr.rdma.rkey = in->wr.rdma.rkey;
	}
	return 0;
}

/* Post @n translated requests; on failure point *@bad_wr at the verbs one. */
static int fv_post_batch(struct fv_qp *qp, struct facet_rdma_send_wr *batch,
			 struct ibv_send_wr **src, int n, struct ibv_send_wr **bad_wr)
{
	struct facet_rdma_send_wr *bad = NULL;
	int rc;

	if (!n)
		return 0;
	for (int i = 0; i < n - 1; i++)
		batch[i].next = &batch[i + 1];
	batch[n - 1].next = NULL;
	rc = facet_rdma_post_send(qp->rqp, batch, &bad);
	if (rc) {
		*bad_wr = bad ? src[bad - batch] : src[0];
		return fv_err(rc);
	}
	return 0;
}

static int fv_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr, struct ibv_send_wr **bad_wr)
{
	struct fv_qp *qp = fv_container_of(ibqp, struct fv_qp, ibqp);
	struct facet_rdma_send_wr batch[FV_SEND_BATCH];
	struct ibv_send_wr *src[FV_SEND_BATCH];
	int n = 0, rc;

	for (; wr; wr = wr->next) {
		if (n == FV_SEND_BATCH) {
			rc = fv_post_batch(qp, batch, src, n, bad_wr);
			if (rc)
				return rc;
			n = 0;
		}
		if (fv_send_wr(ibqp, wr, &batch[n])) {
			/* The ones before it are posted, as the verbs contract says. */
			rc = fv_post_batch(qp, batch, src, n, bad_wr);
			if (rc)
				return rc;
			*bad_wr = wr;
			return EINVAL;
		}
		src[n++] = wr;
	}
	return fv_post_batch(qp, batch, src, n, bad_wr);
}

static int fv_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
	struct fv_qp *qp = fv_container_of(ibqp, struct fv_qp, ibqp);

	return fv_err(facet_rdma_post_recv(qp->rqp, (struct facet_rdma_recv_wr *)wr,
					   (struct facet_rdma_recv_wr **)bad_wr));
}

static int fv_poll_cq(struct ibv_cq *ibcq, int n, struct ibv_wc *wc)
{
	struct fv_cq *cq = fv_container_of(ibcq, struct fv_cq, ibcq);

	/* A count, or a negative errno (verbs asks only for "negative"). */
	return facet_rdma_poll_cq(cq->rcq, n, (struct facet_rdma_wc *)wc);
}

static int fv_req_notify_cq(struct ibv_cq *ibcq, int solicited_only)
{
	struct fv_cq *cq = fv_container_of(ibcq, struct fv_cq, ibcq);

	return fv_err(facet_rdma_req_notify_cq(cq->rcq, solicited_only != 0));
}

void fv_datapath_ops(struct ibv_context_ops *ops)
{
	ops->post_send = fv_post_send;
	ops->post_recv = fv_post_recv;
	ops->poll_cq = fv_poll_cq;
	ops->req_notify_cq = fv_req_notify_cq;
	/* Left NULL: memory windows and SRQs (the inline wrappers answer EOPNOTSUPP). */
}
