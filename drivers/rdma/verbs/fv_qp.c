/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs and address handles.
 *
 * facet_rdma numbers QP states, attribute masks, access flags and MTUs as
 * verbs does, and struct ibv_qp_cap has the layout of struct
 * facet_rdma_qp_cap, so most of this is copying fields. What needs thought:
 *
 * - RoCE has no LIDs: every address vector is "global", a GID. An
 *   application that leaves is_global clear (ibv_rc_pingpong without -g)
 *   would work on InfiniBand only, so it is refused with a message saying
 *   which option to use.
 * - The destination MAC comes from the GID: facet_rdma derives it from a
 *   link-local GID (fe80::EUI-64) or finds the GID on another device of the
 *   process. Anything else (an IPv4-mapped GID of another machine would need
 *   ARP) is refused with a message.
 * - RC and UD only: no SRQ, UC, XRC, raw packet, multicast, memory windows,
 *   alternate paths.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "fv_private.h"

#define FV_QP_MASK_SUPPORTED                                                                       \
	(IBV_QP_STATE | IBV_QP_CUR_STATE | IBV_QP_EN_SQD_ASYNC_NOTIFY | IBV_QP_ACCESS_FLAGS |      \
	 IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY | IBV_QP_AV | IBV_QP_PATH_MTU |             \
	 IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_RQ_PSN |                    \
	 IBV_QP_MAX_QP_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER | IBV_QP_SQ_PSN |                          \
	 IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_DEST_QPN)

static_assert(sizeof(struct ibv_qp_cap) == sizeof(struct facet_rdma_qp_cap), "qp_cap layout");
static_assert(IBV_QP_DEST_QPN == FACET_RDMA_QP_DEST_QPN, "attribute masks share numbering");
static_assert(IBV_QPS_ERR == (int)FACET_RDMA_QPS_ERR, "QP states share numbering");

/* ---- address vectors -------------------------------------------------------------- */

static const char *fv_gid_str(const union ibv_gid *gid, char *buf, size_t len)
{
	return inet_ntop(AF_INET6, gid->raw, buf, (socklen_t)len) ? buf : "?";
}

/* A verbs address vector to facet_rdma's; EINVAL (logged) when it is not global. */
static int fv_av_from_verbs(struct fv_context *c, const char *what, const struct ibv_ah_attr *in,
			    struct facet_rdma_ah_attr *out)
{
	memset(out, 0, sizeof(*out));
	if (!in->is_global) {
		FV_ERR("%s: %s: the address has no GID (is_global 0, LID %u). RoCE addresses "
		       "peers by GID: give the application a GID index (ibv_rc_pingpong -g 0, "
		       "perftest -x 0)",
		       fv_name(c), what, in->dlid);
		return EINVAL;
	}
	memcpy(out->dgid.raw, in->grh.dgid.raw, sizeof(out->dgid.raw));
	out->flow_label = in->grh.flow_label;
	out->sgid_index = in->grh.sgid_index;
	out->hop_limit = in->grh.hop_limit;
	out->traffic_class = in->grh.traffic_class;
	out->port_num = in->port_num;
	return 0;
}

static void fv_av_to_verbs(const struct facet_rdma_ah_attr *in, struct ibv_ah_attr *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->grh.dgid.raw, in->dgid.raw, sizeof(out->grh.dgid.raw));
	out->grh.flow_label = in->flow_label;
	out->grh.sgid_index = in->sgid_index;
	out->grh.hop_limit = in->hop_limit;
	out->grh.traffic_class = in->traffic_class;
	out->is_global = 1;
	out->port_num = in->port_num ? in->port_num : 1;
}

static void fv_log_unreachable(struct fv_context *c, const char *what, const union ibv_gid *dgid)
{
	char buf[INET6_ADDRSTRLEN];

	FV_ERR("%s: %s: no MAC address for GID %s: use the peer's link-local GID (index 0, "
	       "fe80::...), which carries its MAC",
	       fv_name(c), what, fv_gid_str(dgid, buf, sizeof(buf)));
}

/* ---- queue pairs -------------------------------------------------------------------- */

static int fv_qp_init_check(struct fv_context *c, const struct ibv_qp_init_attr *attr)
{
	if (attr->srq) {
		FV_ERR("%s: create_qp: shared receive queues are not supported", fv_name(c));
		return EOPNOTSUPP;
	}
	if (attr->qp_type != IBV_QPT_RC && attr->qp_type != IBV_QPT_UD) {
		FV_ERR("%s: create_qp: QP type %d is not supported (RC and UD are)", fv_name(c),
		       attr->qp_type);
		return EOPNOTSUPP;
	}
	if (!fv_cq(attr->send_cq) || !fv_cq(attr->recv_cq) ||
	    attr->send_cq->context != &c->vctx.context ||
	    attr->recv_cq->context != &c->vctx.context)
		return EINVAL;
	return 0;
}

/*
 * Inline data beyond what a WQE holds: the QP gets what the device has, and
 * says so in the capabilities written back, instead of failing. Tools size
 * their inline sends from that (ibv_rc_pingpong inlines only what fits, and
 * perftest adopts the capability it reads back); a send that still asks for
 * more fails on its own.
 */
static void fv_clamp_inline(struct fv_context *c, struct facet_rdma_qp_cap *cap)
{
	if (cap->max_inline_data <= c->dev->max_inline_data)
		return;
	FV_INFO("%s: create_qp: %u bytes of inline data asked for, the device has %u: the QP "
		"gets %u",
		fv_name(c), cap->max_inline_data, c->dev->max_inline_data, c->dev->max_inline_data);
	cap->max_inline_data = c->dev->max_inline_data;
}

struct ibv_qp *ibv_create_qp(struct ibv_pd *ibpd, struct ibv_qp_init_attr *attr)
{
	struct fv_pd *pd = fv_pd(ibpd);
	struct facet_rdma_qp_init_attr init;
	struct fv_context *c;
	struct fv_qp *qp;
	int rc;

	if (!pd)
		return FV_FORWARD(ibv_create_qp, "IBVERBS_1.1", NULL, ibpd, attr);
	c = fv_ctx(ibpd->context);
	rc = fv_qp_init_check(c, attr);
	if (rc)
		return fv_null(rc);
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return fv_null(ENOMEM);
	init = (struct facet_rdma_qp_init_attr){
		.qp_context = qp,
		.send_cq = fv_cq(attr->send_cq)->rcq,
		.recv_cq = fv_cq(attr->recv_cq)->rcq,
		.qp_type = attr->qp_type == IBV_QPT_RC ? FACET_RDMA_QPT_RC : FACET_RDMA_QPT_UD,
		.sq_sig_all = attr->sq_sig_all != 0,
	};
	memcpy(&init.cap, &attr->cap, sizeof(init.cap));
	fv_clamp_inline(c, &init.cap);
	rc = facet_rdma_qp_create(pd->rpd, &init, &qp->rqp);
	if (rc) {
		free(qp);
		return fv_null(rc);
	}
	memcpy(&attr->cap, &init.cap, sizeof(attr->cap));
	qp->sq_sig_all = init.sq_sig_all;
	qp->ibqp.context = ibpd->context;
	qp->ibqp.qp_context = attr->qp_context;
	qp->ibqp.pd = ibpd;
	qp->ibqp.send_cq = attr->send_cq;
	qp->ibqp.recv_cq = attr->recv_cq;
	qp->ibqp.qp_num = facet_rdma_qp_num(qp->rqp);
	qp->ibqp.state = IBV_QPS_RESET;
	qp->ibqp.qp_type = attr->qp_type;
	pthread_mutex_init(&qp->ibqp.mutex, NULL);
	pthread_cond_init(&qp->ibqp.cond, NULL);
	return &qp->ibqp;
}

int ibv_modify_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr, int mask)
{
	struct fv_qp *qp = fv_qp(ibqp);
	struct facet_rdma_qp_attr a;
	struct fv_context *c;
	int rc;

	if (!qp)
		return FV_FORWARD(ibv_modify_qp, "IBVERBS_1.1", ENOSYS, ibqp, attr, mask);
	c = fv_ctx(ibqp->context);
	if (mask & ~FV_QP_MASK_SUPPORTED) {
		FV_ERR("%s: modify_qp: attributes 0x%x are not supported (alternate paths, path "
		       "migration, rate limits, capacities)",
		       fv_name(c), mask & ~FV_QP_MASK_SUPPORTED);
		return EOPNOTSUPP;
	}
	memset(&a, 0, sizeof(a));
	if (mask & IBV_QP_AV) {
		rc = fv_av_from_verbs(c, "modify_qp", &attr->ah_attr, &a.ah_attr);
		if (rc)
			return rc;
	}
	a.qp_state = (enum facet_rdma_qp_state)attr->qp_state;
	a.cur_qp_state = (enum facet_rdma_qp_state)attr->cur_qp_state;
	a.path_mtu = (enum facet_rdma_mtu)attr->path_mtu;
	a.qkey = attr->qkey;
	a.rq_psn = attr->rq_psn;
	a.sq_psn = attr->sq_psn;
	a.dest_qp_num = attr->dest_qp_num;
	a.qp_access_flags = (uint32_t)attr->qp_access_flags;
	a.pkey_index = attr->pkey_index;
	a.port_num = attr->port_num;
	a.max_rd_atomic = attr->max_rd_atomic;
	a.max_dest_rd_atomic = attr->max_dest_rd_atomic;
	a.min_rnr_timer = attr->min_rnr_timer;
	a.timeout = attr->timeout;
	a.retry_cnt = attr->retry_cnt;
	a.rnr_retry = attr->rnr_retry;
	/* EN_SQD_ASYNC_NOTIFY has nothing to act on (no SQD events): accepted, ignored. */
	rc = facet_rdma_qp_modify(qp->rqp, &a, (uint32_t)mask & ~IBV_QP_EN_SQD_ASYNC_NOTIFY);
	if (rc == -EHOSTUNREACH)
		fv_log_unreachable(c, "modify_qp", &attr->ah_attr.grh.dgid);
	if (rc)
		return fv_err(rc);
	if (mask & IBV_QP_STATE)
		ibqp->state = attr->qp_state;
	return 0;
}

int ibv_query_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr, int mask,
		 struct ibv_qp_init_attr *init_attr)
{
	struct fv_qp *qp = fv_qp(ibqp);
	struct facet_rdma_qp_attr a;
	int rc;

	if (!qp)
		return FV_FORWARD(ibv_query_qp, "IBVERBS_1.1", ENOSYS, ibqp, attr, mask, init_attr);
	rc = facet_rdma_qp_query(qp->rqp, &a, (uint32_t)mask, NULL);
	if (rc)
		return fv_err(rc);
	memset(attr, 0, sizeof(*attr));
	attr->qp_state = (enum ibv_qp_state)a.qp_state;
	attr->cur_qp_state = (enum ibv_qp_state)a.qp_state;
	attr->path_mtu = (enum ibv_mtu)a.path_mtu;
	attr->path_mig_state = IBV_MIG_MIGRATED;
	attr->qkey = a.qkey;
	attr->rq_psn = a.rq_psn;
	attr->sq_psn = a.sq_psn;
	attr->dest_qp_num = a.dest_qp_num;
	attr->qp_access_flags = (unsigned int)a.qp_access_flags;
	memcpy(&attr->cap, &a.cap, sizeof(attr->cap));
	if (ibqp->qp_type == IBV_QPT_RC)
		fv_av_to_verbs(&a.ah_attr, &attr->ah_attr);
	attr->pkey_index = a.pkey_index;
	attr->max_rd_atomic = a.max_rd_atomic;
	attr->max_dest_rd_atomic = a.max_dest_rd_atomic;
	attr->min_rnr_timer = a.min_rnr_timer;
	attr->port_num = a.port_num ? a.port_num : 1;
	attr->timeout = a.timeout;
	attr->retry_cnt = a.retry_cnt;
	attr->rnr_retry = a.rnr_retry;
	ibqp->state = attr->qp_state;
	if (init_attr) {
		memset(init_attr, 0, sizeof(*init_attr));
		init_attr->qp_context = ibqp->qp_context;
		init_attr->send_cq = ibqp->send_cq;
		init_attr->recv_cq = ibqp->recv_cq;
		memcpy(&init_attr->cap, &a.cap, sizeof(init_attr->cap));
		init_attr->qp_type = ibqp->qp_type;
		init_attr->sq_sig_all = qp->sq_sig_all;
	}
	return 0;
}

int ibv_destroy_qp(struct ibv_qp *ibqp)
{
	struct fv_qp *qp = fv_qp(ibqp);
	int rc;

	if (!qp)
		return FV_FORWARD(ibv_destroy_qp, "IBVERBS_1.1", ENOSYS, ibqp);
	/* The handle is released whatever the device answered. */
	rc = facet_rdma_qp_destroy(qp->rqp);
	pthread_cond_destroy(&ibqp->cond);
	pthread_mutex_destroy(&ibqp->mutex);
	free(qp);
	return fv_err(rc);
}

/* Only QPs made by ibv_create_qp_ex() with send ops have the ibv_wr_* interface. */
struct ibv_qp_ex *ibv_qp_to_qp_ex(struct ibv_qp *ibqp)
{
	if (!fv_qp(ibqp))
		return FV_FORWARD(ibv_qp_to_qp_ex, "IBVERBS_1.6", NULL, ibqp);
	errno = EOPNOTSUPP;
	return NULL;
}

int ibv_query_qp_data_in_order(struct ibv_qp *ibqp, enum ibv_wr_opcode op, uint32_t flags)
{
	if (!fv_qp(ibqp))
		return FV_FORWARD(ibv_query_qp_data_in_order, "IBVERBS_1.14", 0, ibqp, op, flags);
	return 0; /* no promise beyond what the verbs specification makes */
}

int ibv_set_ece(struct ibv_qp *ibqp, struct ibv_ece *ece)
{
	if (!fv_qp(ibqp))
		return FV_FORWARD(ibv_set_ece, "IBVERBS_1.10", ENOSYS, ibqp, ece);
	return EOPNOTSUPP;
}

int ibv_query_ece(struct ibv_qp *ibqp, struct ibv_ece *ece)
{
	if (!fv_qp(ibqp))
		return FV_FORWARD(ibv_query_ece, "IBVERBS_1.10", ENOSYS, ibqp, ece);
	return EOPNOTSUPP;
}

int ibv_attach_mcast(struct ibv_qp *ibqp, const union ibv_gid *gid, uint16_t lid)
{
	if (!fv_qp(ibqp))
		return FV_FORWARD(ibv_attach_mcast, "IBVERBS_1.1", ENOSYS, ibqp, gid, lid);
	FV_ERR("%s: multicast is not supported", fv_name(fv_ctx(ibqp->context)));
	return EOPNOTSUPP;
}

int ibv_detach_mcast(struct ibv_qp *ibqp, const union ibv_gid *gid, uint16_t lid)
{
	if (!fv_qp(ibqp))
		return FV_FORWARD(ibv_detach_mcast, "IBVERBS_1.1", ENOSYS, ibqp, gid, lid);
	return EOPNOTSUPP;
}

struct ibv_srq *ibv_create_srq(struct ibv_pd *ibpd, struct ibv_srq_init_attr *attr)
{
	if (!fv_pd(ibpd))
		return FV_FORWARD(ibv_create_srq, "IBVERBS_1.1", NULL, ibpd, attr);
	FV_ERR("%s: shared receive queues are not supported", fv_name(fv_ctx(ibpd->context)));
	return fv_null(EOPNOTSUPP);
}

/* ---- address handles ---------------------------------------------------------------- */

struct ibv_ah *ibv_create_ah(struct ibv_pd *ibpd, struct ibv_ah_attr *attr)
{
	struct fv_pd *pd = fv_pd(ibpd);
	struct facet_rdma_ah_attr a;
	struct fv_context *c;
	struct fv_ah *ah;
	int rc;

	if (!pd)
		return FV_FORWARD(ibv_create_ah, "IBVERBS_1.1", NULL, ibpd, attr);
	c = fv_ctx(ibpd->context);
	rc = fv_av_from_verbs(c, "create_ah", attr, &a);
	if (rc)
		return fv_null(rc);
	ah = calloc(1, sizeof(*ah));
	if (!ah)
		return fv_null(ENOMEM);
	rc = facet_rdma_ah_create(pd->rpd, &a, &ah->rah);
	if (rc) {
		if (rc == -EHOSTUNREACH)
			fv_log_unreachable(c, "create_ah", &attr->grh.dgid);
		free(ah);
		return fv_null(rc);
	}
	ah->ibah.context = ibpd->context;
	ah->ibah.pd = ibpd;
	return &ah->ibah;
}

int ibv_destroy_ah(struct ibv_ah *ibah)
{
	struct fv_ah *ah = fv_ah(ibah);
	int rc;

	if (!ah)
		return FV_FORWARD(ibv_destroy_ah, "IBVERBS_1.1", ENOSYS, ibah);
	rc = facet_rdma_ah_destroy(ah->rah); /* releases the handle in any case */
	free(ah);
	return fv_err(rc);
}

/* The local GID table index holding @gid (0 when it is not there). */
static uint8_t fv_sgid_index(struct ibv_context *ctx, const union ibv_gid *gid)
{
	struct ibv_port_attr pa;
	union ibv_gid g;

	if (fv_query_port_ex(ctx, 1, &pa, sizeof(pa)))
		return 0;
	for (int i = 0; i < pa.gid_tbl_len && i < 256; i++) {
		if (!ibv_query_gid(ctx, 1, i, &g) && !memcmp(&g, gid, sizeof(g)))
			return (uint8_t)i;
	}
	return 0;
}

/*
 * The reply address of a UD receive: its GRH names the sender. RoCEv2 over
 * IPv4 has no GRH on the wire; then (as rxe does) the 40 bytes hold the
 * IPv4 header in their last 20, and the addresses are IPv4-mapped GIDs.
 */
int ibv_init_ah_from_wc(struct ibv_context *ctx, uint8_t port_num, struct ibv_wc *wc,
			struct ibv_grh *grh, struct ibv_ah_attr *ah_attr)
{
	const uint8_t *raw = (const uint8_t *)grh;
	union ibv_gid sgid, dgid;
	uint32_t flow;

	if (!fv_ctx(ctx))
		return FV_FORWARD(ibv_init_ah_from_wc, "IBVERBS_1.1", -1, ctx, port_num, wc, grh,
				  ah_attr);
	if (!(wc->wc_flags & IBV_WC_GRH) || !grh) {
		errno = EINVAL;
		return -1;
	}
	memset(ah_attr, 0, sizeof(*ah_attr));
	flow = be32toh(grh->version_tclass_flow);
	if ((raw[20] >> 4) == 4 && (flow >> 28) != 6) {
		memset(&sgid, 0, sizeof(sgid));
		memset(&dgid, 0, sizeof(dgid));
		sgid.raw[10] = dgid.raw[10] = 0xff;
		sgid.raw[11] = dgid.raw[11] = 0xff;
		memcpy(&sgid.raw[12], raw + 20 + 12, 4); /* IPv4 source */
		memcpy(&dgid.raw[12], raw + 20 + 16, 4); /* IPv4 destination */
		ah_attr->grh.traffic_class = raw[21];
		ah_attr->grh.hop_limit = 0xff;
	} else {
		sgid = grh->sgid;
		dgid = grh->dgid;
		ah_attr->grh.traffic_class = (uint8_t)(flow >> 20);
		ah_attr->grh.flow_label = flow & 0xfffff;
		ah_attr->grh.hop_limit = 0xff;
	}
	ah_attr->grh.dgid = sgid;
	ah_attr->grh.sgid_index = fv_sgid_index(ctx, &dgid);
	ah_attr->is_global = 1;
	ah_attr->port_num = port_num;
	return 0;
}

struct ibv_ah *ibv_create_ah_from_wc(struct ibv_pd *ibpd, struct ibv_wc *wc, struct ibv_grh *grh,
				     uint8_t port_num)
{
	struct ibv_ah_attr attr;

	if (!fv_pd(ibpd))
		return FV_FORWARD(ibv_create_ah_from_wc, "IBVERBS_1.1", NULL, ibpd, wc, grh,
				  port_num);
	if (ibv_init_ah_from_wc(ibpd->context, port_num, wc, grh, &attr))
		return NULL;
	return ibv_create_ah(ibpd, &attr);
}

/* The MAC behind a link-local GID (fe80::EUI-64); there are no VLANs. */
int ibv_resolve_eth_l2_from_gid(struct ibv_context *ctx, struct ibv_ah_attr *attr,
				uint8_t eth_mac[6], uint16_t *vid)
{
	union facet_rdma_gid gid;

	if (!fv_ctx(ctx))
		return FV_FORWARD(ibv_resolve_eth_l2_from_gid, "IBVERBS_1.1", -1, ctx, attr,
				  eth_mac, vid);
	memcpy(gid.raw, attr->grh.dgid.raw, sizeof(gid.raw));
	if (!attr->is_global || !facet_rdma_gid_to_mac(&gid, eth_mac)) {
		errno = EINVAL;
		return -1;
	}
	if (vid)
		*vid = 0xffff;
	return 0;
}
