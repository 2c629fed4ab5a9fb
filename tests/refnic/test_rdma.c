/* SPDX-License-Identifier: MIT */
/*
 * The refnic RDMA engine (docs/refnic.md §16), driven by hand: two devices
 * in one system (one embedded switch), each opened through lib/core, their
 * function 0s talking RoCEv2 to each other. Objects and their bad
 * arguments, the QP state machine, every RC opcode with the data checked
 * byte for byte, UD with its GRH, selective signalling, and the error
 * paths: bad lkey, bad rkey, out of bounds, missing rights (the remote
 * memory checked untouched), RNR and RNR retries exceeded, retries
 * exceeded, flushing, CQ overrun, and function/device reset.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "facet_log.h"
#include "rn_rdma.h"

#define WAIT_MS 3000
#define MEM	(1u << 20)
#define GUARD	0x5a

#define ALL_ACCESS                                                                                 \
	(REFNIC_ACCESS_LOCAL_WRITE | REFNIC_ACCESS_REMOTE_WRITE | REFNIC_ACCESS_REMOTE_READ |      \
	 REFNIC_ACCESS_REMOTE_ATOMIC)
#define QP_ACCESS                                                                                  \
	(REFNIC_ACCESS_REMOTE_WRITE | REFNIC_ACCESS_REMOTE_READ | REFNIC_ACCESS_REMOTE_ATOMIC)

struct side {
	struct rn h;
	uint8_t mac[6], gid[16];
	struct rn_eq eq;
	struct rn_cq scq, rcq;
	uint32_t pdn, key;
	uint8_t *mem;
	uint64_t iova;
};

struct fx {
	struct refnic_system *sys;
	struct side a, b;
};

/* The fixture's objects on a freshly enabled client (also after a reconnect). */
static void side_init(struct side *s)
{
	assert_int_equal(rn_enable(&s->h, 5), 0);
	rn_mac(&s->h, 0, s->mac);
	assert_int_equal(rn_gid(&s->h, 0, s->gid), REFNIC_STATUS_OK);
	assert_int_equal(rn_eq_create(&s->h, 0, &s->eq), REFNIC_STATUS_OK);
	assert_int_equal(rn_cq_create(&s->h, 10, &s->scq), REFNIC_STATUS_OK);
	assert_int_equal(rn_cq_create(&s->h, 10, &s->rcq), REFNIC_STATUS_OK);
	assert_int_equal(rn_pd_create(&s->h, &s->pdn), REFNIC_STATUS_OK);
	s->mem = rn_dp_alloc(&s->h, MEM, &s->iova);
	assert_non_null(s->mem);
	assert_int_equal(rn_mr_create(&s->h, s->pdn, s->mem, s->iova, MEM, ALL_ACCESS, &s->key),
			 REFNIC_STATUS_OK);
}

static void side_setup(struct side *s, const struct refnic_model_opts *o)
{
	assert_int_equal(rn_start(&s->h, o), 0);
	side_init(s);
}

static int setup(void **state)
{
	struct refnic_system_opts so = { .uplink = "none" };
	struct refnic_model_opts o = { 0 };
	static const uint8_t base_b[6] = { 0x02, 0xfa, 0xce, 0x00, 0x01, 0x00 };
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	assert_int_equal(refnic_system_create(&so, &x->sys), 0);
	o.system = x->sys;
	side_setup(&x->a, &o);
	memcpy(o.mac_base, base_b, 6);
	side_setup(&x->b, &o);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	rn_stop(&x->a.h);
	rn_stop(&x->b.h);
	refnic_system_destroy(x->sys);
	free(x);
	return 0;
}

static void drain(struct rn_cq *cq)
{
	struct refnic_rdma_cqe c;

	while (rn_cq_poll(cq, &c, 0) == 0)
		;
}

static void drain_all(struct fx *x)
{
	drain(&x->a.scq);
	drain(&x->a.rcq);
	drain(&x->b.scq);
	drain(&x->b.rcq);
}

static void qp_new(struct side *s, uint8_t type, struct rn_qp *qp)
{
	assert_int_equal(rn_qp_create(&s->h, type, s->pdn, &s->scq, &s->rcq, 6, 6, 0, qp),
			 REFNIC_STATUS_OK);
}

/* An RC pair a <-> b at path MTU @mtu, both in RTS. */
static void rc_pair(struct fx *x, struct rn_qp *qa, struct rn_qp *qb, uint8_t mtu)
{
	drain_all(x);
	qp_new(&x->a, REFNIC_QPT_RC, qa);
	qp_new(&x->b, REFNIC_QPT_RC, qb);
	assert_int_equal(rn_qp_connect(qa, qb->qpn, x->b.gid, x->b.mac, 0, mtu, QP_ACCESS),
			 REFNIC_STATUS_OK);
	assert_int_equal(rn_qp_connect(qb, qa->qpn, x->a.gid, x->a.mac, 0, mtu, QP_ACCESS),
			 REFNIC_STATUS_OK);
}

static void qp_gone(struct rn_qp *qp)
{
	assert_int_equal(rn_obj_cmd(qp->h, REFNIC_OP_DESTROY_QP, qp->qpn), REFNIC_STATUS_OK);
}

static struct refnic_send_wqe wqe(uint8_t op, uint64_t wr_id, void *addr, uint32_t len,
				  uint32_t lkey)
{
	struct refnic_send_wqe w = { .opcode = op, .flags = REFNIC_WQE_F_SIGNALED, .wr_id = wr_id };

	w.num_sge = 1;
	w.sge[0].addr = (uint64_t)(uintptr_t)addr;
	w.sge[0].length = len;
	w.sge[0].lkey = lkey;
	return w;
}

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static void expect_cqe(struct rn_cq *cq, uint64_t wr_id, uint8_t opcode, uint8_t status,
		       struct refnic_rdma_cqe *out)
{
	struct refnic_rdma_cqe c;

	assert_int_equal(rn_cq_poll(cq, &c, WAIT_MS), 0);
	assert_int_equal(c.status, status);
	assert_int_equal(c.wr_id, wr_id);
	assert_int_equal(c.opcode, opcode);
	if (out)
		*out = c;
}

static void expect_none(struct rn_cq *cq, int ms)
{
	struct refnic_rdma_cqe c;

	assert_int_equal(rn_cq_poll(cq, &c, ms), -ETIMEDOUT);
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static uint8_t qp_state(struct rn_qp *qp)
{
	struct refnic_qp_attr a;

	assert_int_equal(rn_qp_query(qp->h, qp->qpn, &a), REFNIC_STATUS_OK);
	return a.state;
}

/* ---- capabilities and objects ------------------------------------------------------ */

static void test_caps(void **state)
{
	struct fx *x = *state;
	struct refnic_rdma_caps c;
	struct refnic_gid_entry g[16];
	uint8_t want[16];
	uint64_t r = 0;

	assert_int_equal(rn_rd(&x->a.h, REFNIC_REG_VERSION), 0x00010002);
	assert_int_equal(rn_rdma_query(&x->a.h, REFNIC_OP_QUERY_RDMA_CAPS, 0, &c, sizeof(c), &r),
			 REFNIC_STATUS_OK);
	assert_int_equal(r, sizeof(c));
	assert_int_equal(c.max_send_sge, REFNIC_SEND_WQE_SGES);
	assert_int_equal(c.max_recv_sge, REFNIC_RECV_WQE_SGES);
	assert_int_equal(c.max_inline, REFNIC_MAX_INLINE);
	assert_int_equal(c.gid_tbl_len, 16);
	assert_int_equal(c.active_mtu, REFNIC_MTU_1024); /* port MTU 1500 */
	assert_true(c.max_qp >= 2 && c.max_qp_rd_atom >= 1 && c.max_mr_size >= MEM);
	/* GID 0: fe80::EUI-64(MAC) */
	assert_int_equal(rn_rdma_query(&x->a.h, REFNIC_OP_QUERY_GID, 0, g, sizeof(g), &r),
			 REFNIC_STATUS_OK);
	assert_int_equal(r, sizeof(g));
	rn_gid_from_mac(x->a.mac, want);
	assert_memory_equal(g[0].gid, want, 16);
	assert_int_equal(g[0].type, REFNIC_GID_TYPE_ROCEV2);
	assert_int_equal(g[1].type, REFNIC_GID_TYPE_NONE);
}

static void test_objects(void **state)
{
	struct fx *x = *state;
	struct rn *h = &x->a.h;
	struct refnic_mr_config mc = { .va = 0x1000, .length = 4096, .iova = x->a.iova };
	struct refnic_cmd_set_gid sg = { .index = 3, .type = REFNIC_GID_TYPE_ROCEV2 };
	struct refnic_ah_config ac = { 0 };
	struct refnic_qp_config qc = { 0 };
	struct rn_cq cq;
	struct rn_qp qp;
	uint32_t pdn, key;
	uint64_t r;
	uint8_t gid[16];

	/* PD, and MRs with every kind of bad argument */
	assert_int_equal(rn_pd_create(h, &pdn), REFNIC_STATUS_OK);
	mc.pdn = pdn;
	mc.access = REFNIC_ACCESS_REMOTE_WRITE; /* without LOCAL_WRITE */
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_MR, NULL, &mc, sizeof(mc), NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	mc.access = 0x10;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_MR, NULL, &mc, sizeof(mc), NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	mc.access = REFNIC_ACCESS_LOCAL_WRITE;
	mc.length = 0;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_MR, NULL, &mc, sizeof(mc), NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	mc.length = 4096;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_MR, NULL, &mc, sizeof(mc) - 1, NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	mc.pdn = pdn + 100;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_MR, NULL, &mc, sizeof(mc), NULL),
			 REFNIC_STATUS_BAD_QUEUE);
	mc.pdn = pdn;
	mc.iova = 0x10; /* not in the DMA maps */
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_MR, NULL, &mc, sizeof(mc), NULL),
			 REFNIC_STATUS_DMA_FAULT);
	mc.iova = x->a.iova;
	mc.rsvd[3] = 1;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_MR, NULL, &mc, sizeof(mc), NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	mc.rsvd[3] = 0;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_MR, NULL, &mc, sizeof(mc), &r),
			 REFNIC_STATUS_OK);
	key = (uint32_t)r;
	assert_int_equal(key, (uint32_t)(r >> 32));
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_PD, pdn), REFNIC_STATUS_BAD_STATE);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_MR, key ^ 0x100), REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_MR, key), REFNIC_STATUS_OK);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_MR, key), REFNIC_STATUS_BAD_QUEUE);

	/* GIDs and AHs */
	memset(sg.gid, 0, 16);
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_SET_GID, &sg, NULL, 0, NULL),
			 REFNIC_STATUS_INVALID_FIELD); /* ROCEV2 of ::0 */
	sg.gid[10] = sg.gid[11] = 0xff;
	sg.gid[12] = 10, sg.gid[15] = 1;
	sg.index = 16;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_SET_GID, &sg, NULL, 0, NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	sg.index = 3;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_SET_GID, &sg, NULL, 0, NULL), REFNIC_STATUS_OK);
	assert_int_equal(rn_gid(h, 3, gid), REFNIC_STATUS_OK);
	assert_memory_equal(gid, sg.gid, 16);
	ac.pdn = pdn;
	memcpy(ac.av.dgid, x->b.gid, 16);
	memcpy(ac.av.dmac, x->b.mac, 6);
	ac.av.sgid_index = 3; /* IPv4 source, IPv6 destination */
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_AH, NULL, &ac, sizeof(ac), NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	ac.av.sgid_index = 5; /* empty slot */
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_AH, NULL, &ac, sizeof(ac), NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	ac.av.sgid_index = 0;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_AH, NULL, &ac, sizeof(ac), &r),
			 REFNIC_STATUS_OK);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_PD, pdn), REFNIC_STATUS_BAD_STATE);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_AH, (uint32_t)r), REFNIC_STATUS_OK);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_AH, (uint32_t)r), REFNIC_STATUS_BAD_QUEUE);
	sg.type = REFNIC_GID_TYPE_NONE;
	memset(sg.gid, 0, 16);
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_SET_GID, &sg, NULL, 0, NULL), REFNIC_STATUS_OK);

	/* CQ and QP: bad arguments, then a CQ busy while a QP uses it */
	assert_int_equal(rn_cq_create(h, 17, &cq), REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(rn_cq_create(h, 4, &cq), REFNIC_STATUS_OK);
	assert_int_equal(rn_qp_create(h, REFNIC_QPT_UC, pdn, &cq, &cq, 4, 4, 0, &qp),
			 REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(rn_qp_create(h, REFNIC_QPT_RC, pdn, &cq, &cq, 14, 4, 0, &qp),
			 REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(rn_qp_create(h, REFNIC_QPT_RC, pdn, &cq, &cq, 4, 4, 0x80, &qp),
			 REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(rn_qp_create(h, REFNIC_QPT_RC, pdn + 1, &cq, &cq, 4, 4, 0, &qp),
			 REFNIC_STATUS_BAD_QUEUE);
	qc.type = REFNIC_QPT_RC;
	qc.sq_log_size = qc.rq_log_size = 4;
	qc.pdn = pdn;
	qc.send_cqn = qc.recv_cqn = cq.id;
	qc.sq_iova = 0x40; /* not mapped */
	qc.rq_iova = x->a.iova;
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_QP, NULL, &qc, sizeof(qc), NULL),
			 REFNIC_STATUS_DMA_FAULT);
	qc.sq_iova = x->a.iova + 8; /* misaligned */
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_QP, NULL, &qc, sizeof(qc), NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	qc.sq_iova = x->a.iova;
	qc.send_cqn = 0; /* queue 0 is the event queue, not a CQ */
	assert_int_equal(rn_rdma_cmd(h, REFNIC_OP_CREATE_QP, NULL, &qc, sizeof(qc), NULL),
			 REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(rn_qp_create(h, REFNIC_QPT_RC, pdn, &cq, &cq, 4, 4, 0, &qp),
			 REFNIC_STATUS_OK);
	assert_true(qp.qpn > 1 && qp.qpn <= 0xffffff);
	assert_true(qp.sq_db >= 0x804 && qp.sq_db < 0x1000 && qp.rq_db != qp.sq_db);
	assert_int_equal(qp_state(&qp), REFNIC_QPS_RESET);
	assert_int_equal(rn_fn_cmd(h, REFNIC_OP_DESTROY_QUEUE, 0,
				   &(struct refnic_cmd_destroy_queue){ .type = REFNIC_QT_CQ,
								       .queue_id = cq.id },
				   NULL),
			 REFNIC_STATUS_BAD_STATE);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_PD, pdn), REFNIC_STATUS_BAD_STATE);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_QUERY_QP, qp.qpn), REFNIC_STATUS_INVALID_FIELD);
	qp_gone(&qp);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_QP, qp.qpn), REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(rn_fn_cmd(h, REFNIC_OP_DESTROY_QUEUE, 0,
				   &(struct refnic_cmd_destroy_queue){ .type = REFNIC_QT_CQ,
								       .queue_id = cq.id },
				   NULL),
			 REFNIC_STATUS_OK);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_PD, pdn), REFNIC_STATUS_OK);
	assert_int_equal(rn_obj_cmd(h, REFNIC_OP_DESTROY_PD, pdn), REFNIC_STATUS_BAD_QUEUE);
}

/* ---- the state machine ---------------------------------------------------------------- */

static int modify(struct rn_qp *qp, uint32_t mask, uint8_t state, struct refnic_qp_attr *a)
{
	a->mask = mask | REFNIC_QP_ATTR_STATE;
	a->state = state;
	return rn_qp_modify(qp->h, qp->qpn, a);
}

static void test_qp_states(void **state)
{
	struct fx *x = *state;
	const uint32_t init_attrs =
		REFNIC_QP_ATTR_PKEY_INDEX | REFNIC_QP_ATTR_PORT | REFNIC_QP_ATTR_ACCESS_FLAGS;
	const uint32_t rtr_attrs = REFNIC_QP_ATTR_AV | REFNIC_QP_ATTR_PATH_MTU |
				   REFNIC_QP_ATTR_DEST_QPN | REFNIC_QP_ATTR_RQ_PSN |
				   REFNIC_QP_ATTR_MAX_DEST_RD_ATOMIC | REFNIC_QP_ATTR_MIN_RNR_TIMER;
	const uint32_t rts_attrs = REFNIC_QP_ATTR_SQ_PSN | REFNIC_QP_ATTR_TIMEOUT |
				   REFNIC_QP_ATTR_RETRY_CNT | REFNIC_QP_ATTR_RNR_RETRY |
				   REFNIC_QP_ATTR_MAX_QP_RD_ATOMIC;
	struct refnic_qp_attr a = { .port = 1 }, q;
	struct rn_qp qp;

	memcpy(a.av.dgid, x->b.gid, 16);
	memcpy(a.av.dmac, x->b.mac, 6);
	a.path_mtu = REFNIC_MTU_1024;
	qp_new(&x->a, REFNIC_QPT_RC, &qp);
	/* RESET -> RTR skips INIT */
	assert_int_equal(modify(&qp, rtr_attrs, REFNIC_QPS_RTR, &a), REFNIC_STATUS_BAD_STATE);
	/* RESET -> INIT: a required attribute missing, one not allowed, a bad value */
	assert_int_equal(
		modify(&qp, REFNIC_QP_ATTR_PKEY_INDEX | REFNIC_QP_ATTR_PORT, REFNIC_QPS_INIT, &a),
		REFNIC_STATUS_BAD_STATE);
	assert_int_equal(modify(&qp, init_attrs | REFNIC_QP_ATTR_SQ_PSN, REFNIC_QPS_INIT, &a),
			 REFNIC_STATUS_BAD_STATE);
	a.port = 2;
	assert_int_equal(modify(&qp, init_attrs, REFNIC_QPS_INIT, &a), REFNIC_STATUS_INVALID_FIELD);
	a.port = 1;
	assert_int_equal(modify(&qp, init_attrs | (1u << 2), REFNIC_QPS_INIT, &a),
			 REFNIC_STATUS_INVALID_FIELD); /* unknown mask bit */
	a.cur_state = REFNIC_QPS_RTS;
	assert_int_equal(modify(&qp, init_attrs | REFNIC_QP_ATTR_CUR_STATE, REFNIC_QPS_INIT, &a),
			 REFNIC_STATUS_BAD_STATE);
	a.cur_state = 0;
	a.access = QP_ACCESS;
	assert_int_equal(modify(&qp, init_attrs, REFNIC_QPS_INIT, &a), REFNIC_STATUS_OK);
	assert_int_equal(qp_state(&qp), REFNIC_QPS_INIT);
	/* INIT -> RTS skips RTR; INIT -> RTR without the AV; bad MTU; bad AV */
	assert_int_equal(modify(&qp, rts_attrs, REFNIC_QPS_RTS, &a), REFNIC_STATUS_BAD_STATE);
	memcpy(a.av.dgid, x->b.gid, 16);
	memcpy(a.av.dmac, x->b.mac, 6);
	a.path_mtu = REFNIC_MTU_1024;
	a.dest_qpn = 0x1234;
	a.max_dest_rd_atomic = 1;
	assert_int_equal(modify(&qp, rtr_attrs & ~REFNIC_QP_ATTR_AV, REFNIC_QPS_RTR, &a),
			 REFNIC_STATUS_BAD_STATE);
	a.path_mtu = 6;
	assert_int_equal(modify(&qp, rtr_attrs, REFNIC_QPS_RTR, &a), REFNIC_STATUS_INVALID_FIELD);
	a.path_mtu = REFNIC_MTU_1024;
	a.av.sgid_index = 9;
	assert_int_equal(modify(&qp, rtr_attrs, REFNIC_QPS_RTR, &a), REFNIC_STATUS_INVALID_FIELD);
	a.av.sgid_index = 0;
	a.max_dest_rd_atomic = 200;
	assert_int_equal(modify(&qp, rtr_attrs, REFNIC_QPS_RTR, &a), REFNIC_STATUS_INVALID_FIELD);
	a.max_dest_rd_atomic = 1;
	a.rq_psn = 0x1000000;
	assert_int_equal(modify(&qp, rtr_attrs, REFNIC_QPS_RTR, &a), REFNIC_STATUS_INVALID_FIELD);
	a.rq_psn = 0x42;
	assert_int_equal(modify(&qp, rtr_attrs, REFNIC_QPS_RTR, &a), REFNIC_STATUS_OK);
	/* RTR -> RTS: retry_cnt out of range, then right */
	a.retry_cnt = 8;
	assert_int_equal(modify(&qp, rts_attrs, REFNIC_QPS_RTS, &a), REFNIC_STATUS_INVALID_FIELD);
	a.retry_cnt = 3;
	a.sq_psn = 0x77;
	a.timeout = 14;
	a.rnr_retry = 7;
	a.max_rd_atomic = 2;
	assert_int_equal(modify(&qp, rts_attrs | REFNIC_QP_ATTR_PATH_MTU, REFNIC_QPS_RTS, &a),
			 REFNIC_STATUS_BAD_STATE); /* path MTU not allowed here */
	assert_int_equal(modify(&qp, rts_attrs, REFNIC_QPS_RTS, &a), REFNIC_STATUS_OK);
	assert_int_equal(rn_qp_query(qp.h, qp.qpn, &q), REFNIC_STATUS_OK);
	assert_int_equal(q.state, REFNIC_QPS_RTS);
	assert_int_equal(q.sq_psn, 0x77);
	assert_int_equal(q.rq_psn, 0x42);
	assert_int_equal(q.dest_qpn, 0x1234);
	assert_int_equal(q.path_mtu, REFNIC_MTU_1024);
	assert_int_equal(q.retry_cnt, 3);
	assert_int_equal(q.max_rd_atomic, 2);
	assert_int_equal(q.sq_size, 64);
	assert_memory_equal(q.av.dgid, x->b.gid, 16);
	/* RTS -> RTS: only the optional ones; RTS -> SQD -> SQD (timeout) -> RTS */
	assert_int_equal(modify(&qp, REFNIC_QP_ATTR_TIMEOUT, REFNIC_QPS_RTS, &a),
			 REFNIC_STATUS_BAD_STATE);
	assert_int_equal(modify(&qp, REFNIC_QP_ATTR_MIN_RNR_TIMER, REFNIC_QPS_RTS, &a),
			 REFNIC_STATUS_OK);
	assert_int_equal(modify(&qp, 0, REFNIC_QPS_SQD, &a), REFNIC_STATUS_OK);
	a.timeout = 10;
	assert_int_equal(modify(&qp, REFNIC_QP_ATTR_TIMEOUT, REFNIC_QPS_SQD, &a), REFNIC_STATUS_OK);
	assert_int_equal(modify(&qp, 0, REFNIC_QPS_RTS, &a), REFNIC_STATUS_OK);
	assert_int_equal(modify(&qp, 0, REFNIC_QPS_SQE, &a), REFNIC_STATUS_BAD_STATE);
	/* anything -> ERR -> RESET -> INIT; ERR with attributes is refused */
	assert_int_equal(modify(&qp, REFNIC_QP_ATTR_QKEY, REFNIC_QPS_ERR, &a),
			 REFNIC_STATUS_BAD_STATE);
	assert_int_equal(modify(&qp, 0, REFNIC_QPS_ERR, &a), REFNIC_STATUS_OK);
	assert_int_equal(qp_state(&qp), REFNIC_QPS_ERR);
	assert_int_equal(modify(&qp, 0, REFNIC_QPS_RTS, &a), REFNIC_STATUS_BAD_STATE);
	assert_int_equal(modify(&qp, 0, REFNIC_QPS_RESET, &a), REFNIC_STATUS_OK);
	assert_int_equal(modify(&qp, init_attrs, REFNIC_QPS_INIT, &a), REFNIC_STATUS_OK);
	qp_gone(&qp);

	/* UD: Q_Key instead of access flags; RTR needs nothing, RTS the SQ PSN */
	qp_new(&x->a, REFNIC_QPT_UD, &qp);
	assert_int_equal(modify(&qp, init_attrs, REFNIC_QPS_INIT, &a), REFNIC_STATUS_BAD_STATE);
	assert_int_equal(
		modify(&qp, REFNIC_QP_ATTR_PKEY_INDEX | REFNIC_QP_ATTR_PORT | REFNIC_QP_ATTR_QKEY,
		       REFNIC_QPS_INIT, &a),
		REFNIC_STATUS_OK);
	assert_int_equal(modify(&qp, 0, REFNIC_QPS_RTR, &a), REFNIC_STATUS_OK);
	assert_int_equal(modify(&qp, 0, REFNIC_QPS_RTS, &a), REFNIC_STATUS_BAD_STATE);
	assert_int_equal(modify(&qp, REFNIC_QP_ATTR_SQ_PSN, REFNIC_QPS_RTS, &a), REFNIC_STATUS_OK);
	qp_gone(&qp);
}

/* ---- RC operations --------------------------------------------------------------------------- */

static void test_rc_send(void **state)
{
	struct fx *x = *state;
	uint8_t *src = x->a.mem, *dst = x->b.mem + 65536;
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, 11, src, 3000, x->a.key);
	struct refnic_rdma_cqe c;
	struct rn_qp qa, qb;

	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	pattern(src, 10000, 1);
	memset(dst, GUARD, 20000);
	/* three SGEs, ten packets */
	w.num_sge = 3;
	w.sge[1] = (struct refnic_sge){ (uint64_t)(uintptr_t)(src + 3000), 5000, x->a.key };
	w.sge[2] = (struct refnic_sge){ (uint64_t)(uintptr_t)(src + 8000), 2000, x->a.key };
	rn_post_recv(&qb, 77, dst, 16384, x->b.key);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 11, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_true(c.flags & REFNIC_CQE_F_SQ);
	assert_int_equal(c.qpn, qa.qpn);
	assert_int_equal(c.wqe_index, 0);
	expect_cqe(&x->b.rcq, 77, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.byte_len, 10000);
	assert_int_equal(c.qpn, qb.qpn);
	assert_int_equal(c.flags & REFNIC_CQE_F_IMM, 0);
	assert_memory_equal(dst, src, 10000);
	assert_true(all_bytes(dst + 10000, 10000, GUARD));

	/* SEND_WITH_IMM, solicited, and a zero-length SEND */
	w = wqe(REFNIC_WR_SEND_WITH_IMM, 12, src, 100, x->a.key);
	w.imm = 0x78563412;
	w.flags |= REFNIC_WQE_F_SOLICITED;
	rn_post_recv(&qb, 78, dst, 100, x->b.key);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 12, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_cqe(&x->b.rcq, 78, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.byte_len, 100);
	assert_int_equal(c.imm, 0x78563412);
	assert_int_equal(c.flags & (REFNIC_CQE_F_IMM | REFNIC_CQE_F_SOLICITED),
			 REFNIC_CQE_F_IMM | REFNIC_CQE_F_SOLICITED);
	w = wqe(REFNIC_WR_SEND, 13, src, 0, x->a.key);
	w.num_sge = 0;
	rn_post_recv(&qb, 79, dst, 100, x->b.key);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 13, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_cqe(&x->b.rcq, 79, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.byte_len, 0);

	/* inline data */
	w = (struct refnic_send_wqe){ .opcode = REFNIC_WR_SEND,
				      .flags = REFNIC_WQE_F_SIGNALED | REFNIC_WQE_F_INLINE,
				      .wr_id = 14,
				      .inline_len = 64 };
	pattern(w.inline_data, 64, 9);
	rn_post_recv(&qb, 80, dst, 100, x->b.key);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 14, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_cqe(&x->b.rcq, 80, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.byte_len, 64);
	assert_memory_equal(dst, w.inline_data, 64);
	qp_gone(&qa);
	qp_gone(&qb);
}

static void test_rc_write_read(void **state)
{
	struct fx *x = *state;
	uint8_t *src = x->a.mem, *dst = x->b.mem + 131072, *back = x->a.mem + 262144;
	const uint32_t len = 65536;
	struct refnic_send_wqe w;
	struct refnic_rdma_cqe c;
	struct rn_qp qa, qb;

	for (uint8_t mtu = REFNIC_MTU_256; mtu <= REFNIC_MTU_4096; mtu++) {
		rc_pair(x, &qa, &qb, mtu);
		pattern(src, len, mtu);
		memset(dst - 64, GUARD, len + 128);
		w = wqe(REFNIC_WR_RDMA_WRITE, 21, src, len, x->a.key);
		w.remote_addr = (uint64_t)(uintptr_t)dst;
		w.rkey = x->b.key;
		rn_post_send(&qa, &w);
		expect_cqe(&x->a.scq, 21, REFNIC_WC_RDMA_WRITE, REFNIC_WC_STATUS_SUCCESS, NULL);
		assert_memory_equal(dst, src, len);
		assert_true(all_bytes(dst - 64, 64, GUARD) && all_bytes(dst + len, 64, GUARD));
		assert_true(rn_cq_empty(&x->b.rcq)); /* a WRITE consumes no receive */

		/* READ it back, 3 bytes short of a packet boundary */
		memset(back, GUARD, len);
		w = wqe(REFNIC_WR_RDMA_READ, 22, back, len - 3, x->a.key);
		w.remote_addr = (uint64_t)(uintptr_t)dst;
		w.rkey = x->b.key;
		rn_post_send(&qa, &w);
		expect_cqe(&x->a.scq, 22, REFNIC_WC_RDMA_READ, REFNIC_WC_STATUS_SUCCESS, &c);
		assert_int_equal(c.byte_len, len - 3);
		assert_memory_equal(back, src, len - 3);
		assert_true(all_bytes(back + len - 3, 3, GUARD));
		qp_gone(&qa);
		qp_gone(&qb);
	}

	/* WRITE_WITH_IMM consumes a receive and reports the length; READ of 0 bytes */
	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	w = wqe(REFNIC_WR_RDMA_WRITE_WITH_IMM, 23, src, 5000, x->a.key);
	w.remote_addr = (uint64_t)(uintptr_t)dst;
	w.rkey = x->b.key;
	w.imm = 0xdeadbeef;
	rn_post_recv(&qb, 90, NULL, 0, 0);
	pattern(src, 5000, 77);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 23, REFNIC_WC_RDMA_WRITE, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_cqe(&x->b.rcq, 90, REFNIC_WC_RECV_RDMA_WITH_IMM, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.imm, 0xdeadbeef);
	assert_int_equal(c.byte_len, 5000);
	assert_memory_equal(dst, src, 5000);
	w = wqe(REFNIC_WR_RDMA_READ, 24, back, 0, x->a.key);
	w.num_sge = 0;
	w.remote_addr = (uint64_t)(uintptr_t)dst;
	w.rkey = x->b.key;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 24, REFNIC_WC_RDMA_READ, REFNIC_WC_STATUS_SUCCESS, NULL);
	qp_gone(&qa);
	qp_gone(&qb);
}

static void test_rc_atomics(void **state)
{
	struct fx *x = *state;
	uint64_t *remote = (uint64_t *)(void *)(x->b.mem + 4096);
	uint64_t *local = (uint64_t *)(void *)(x->a.mem + 8192);
	struct refnic_send_wqe w;
	struct rn_qp qa, qb;

	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	remote[0] = 100;
	remote[1] = 0x5a5a5a5a5a5a5a5aull;
	*local = 0;
	w = wqe(REFNIC_WR_ATOMIC_CMP_AND_SWP, 31, local, 8, x->a.key);
	w.remote_addr = (uint64_t)(uintptr_t)remote;
	w.rkey = x->b.key;
	w.compare_add = 100;
	w.swap = 200;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 31, REFNIC_WC_COMP_SWAP, REFNIC_WC_STATUS_SUCCESS, NULL);
	assert_int_equal(*local, 100);
	assert_int_equal(remote[0], 200);
	/* compare fails: nothing swapped, the current value returned */
	w.wr_id = 32;
	w.compare_add = 5;
	w.swap = 7;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 32, REFNIC_WC_COMP_SWAP, REFNIC_WC_STATUS_SUCCESS, NULL);
	assert_int_equal(*local, 200);
	assert_int_equal(remote[0], 200);
	w = wqe(REFNIC_WR_ATOMIC_FETCH_AND_ADD, 33, local, 8, x->a.key);
	w.remote_addr = (uint64_t)(uintptr_t)remote;
	w.rkey = x->b.key;
	w.compare_add = 0x100000005ull;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 33, REFNIC_WC_FETCH_ADD, REFNIC_WC_STATUS_SUCCESS, NULL);
	assert_int_equal(*local, 200);
	assert_int_equal(remote[0], 0x100000005ull + 200);
	assert_int_equal(remote[1], 0x5a5a5a5a5a5a5a5aull);
	/* a local buffer of 4 bytes is a length error, found before anything is sent */
	w.wr_id = 34;
	w.sge[0].length = 4;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 34, REFNIC_WC_FETCH_ADD, REFNIC_WC_STATUS_LOC_LEN_ERR, NULL);
	assert_int_equal(remote[0], 0x100000005ull + 200);
	qp_gone(&qa);
	qp_gone(&qb);
}

/* Unsignaled WQEs complete silently; a signaled one's CQE covers them. */
static void test_selective_signal(void **state)
{
	struct fx *x = *state;
	struct refnic_send_wqe w[5];
	struct refnic_rdma_cqe c;
	struct rn_qp qa, qb;

	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	for (int i = 0; i < 5; i++) {
		w[i] = wqe(REFNIC_WR_RDMA_WRITE, 40 + i, x->a.mem + 1000 * i, 1000, x->a.key);
		w[i].remote_addr = (uint64_t)(uintptr_t)(x->b.mem + 1000 * i);
		w[i].rkey = x->b.key;
		w[i].flags = i == 4 ? REFNIC_WQE_F_SIGNALED : 0;
	}
	pattern(x->a.mem, 5000, 3);
	rn_post_send_batch(&qa, w, 5);
	expect_cqe(&x->a.scq, 44, REFNIC_WC_RDMA_WRITE, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.wqe_index, 4);
	expect_none(&x->a.scq, 20);
	assert_memory_equal(x->b.mem, x->a.mem, 5000);
	qp_gone(&qa);
	qp_gone(&qb);

	/* SQ_SIG_ALL: every WQE completes */
	drain_all(x);
	assert_int_equal(rn_qp_create(&x->a.h, REFNIC_QPT_RC, x->a.pdn, &x->a.scq, &x->a.rcq, 6, 6,
				      REFNIC_QPF_SQ_SIG_ALL, &qa),
			 REFNIC_STATUS_OK);
	qp_new(&x->b, REFNIC_QPT_RC, &qb);
	assert_int_equal(rn_qp_connect(&qa, qb.qpn, x->b.gid, x->b.mac, 0, 3, QP_ACCESS), 0);
	assert_int_equal(rn_qp_connect(&qb, qa.qpn, x->a.gid, x->a.mac, 0, 3, QP_ACCESS), 0);
	rn_post_send_batch(&qa, w, 5);
	for (int i = 0; i < 5; i++) {
		expect_cqe(&x->a.scq, 40 + i, REFNIC_WC_RDMA_WRITE, REFNIC_WC_STATUS_SUCCESS, &c);
		assert_int_equal(c.wqe_index, i);
	}
	qp_gone(&qa);
	qp_gone(&qb);
}

/* Two QPs of one function: the engine loops the frames back without the switch. */
static void test_loopback(void **state)
{
	struct fx *x = *state;
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, 51, x->a.mem, 3000, x->a.key);
	struct refnic_rdma_cqe c;
	struct rn_qp q1, q2;

	drain_all(x);
	qp_new(&x->a, REFNIC_QPT_RC, &q1);
	qp_new(&x->a, REFNIC_QPT_RC, &q2);
	assert_int_equal(rn_qp_connect(&q1, q2.qpn, x->a.gid, x->a.mac, 0, 3, QP_ACCESS), 0);
	assert_int_equal(rn_qp_connect(&q2, q1.qpn, x->a.gid, x->a.mac, 0, 3, QP_ACCESS), 0);
	pattern(x->a.mem, 3000, 5);
	rn_post_recv(&q2, 52, x->a.mem + 500000, 4096, x->a.key);
	rn_post_send(&q1, &w);
	expect_cqe(&x->a.scq, 51, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_cqe(&x->a.rcq, 52, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.byte_len, 3000);
	assert_memory_equal(x->a.mem + 500000, x->a.mem, 3000);
	qp_gone(&q1);
	qp_gone(&q2);
}

/* RoCEv2 over IPv4: IPv4-mapped GIDs at index 1 of both functions. */
static void set_v4_gid(struct side *s, uint8_t host, uint8_t gid[16])
{
	struct refnic_cmd_set_gid sg = { .index = 1, .type = REFNIC_GID_TYPE_ROCEV2 };

	sg.gid[10] = sg.gid[11] = 0xff;
	sg.gid[12] = 10, sg.gid[15] = host;
	assert_int_equal(rn_rdma_cmd(&s->h, REFNIC_OP_SET_GID, &sg, NULL, 0, NULL), 0);
	memcpy(gid, sg.gid, 16);
}

static void test_rc_ipv4(void **state)
{
	struct fx *x = *state;
	struct refnic_send_wqe w = wqe(REFNIC_WR_RDMA_WRITE, 61, x->a.mem, 9000, x->a.key);
	uint8_t ga[16], gb[16];
	struct rn_qp qa, qb;

	set_v4_gid(&x->a, 1, ga);
	set_v4_gid(&x->b, 2, gb);
	drain_all(x);
	qp_new(&x->a, REFNIC_QPT_RC, &qa);
	qp_new(&x->b, REFNIC_QPT_RC, &qb);
	assert_int_equal(rn_qp_connect(&qa, qb.qpn, gb, x->b.mac, 1, 3, QP_ACCESS), 0);
	assert_int_equal(rn_qp_connect(&qb, qa.qpn, ga, x->a.mac, 1, 3, QP_ACCESS), 0);
	pattern(x->a.mem, 9000, 8);
	w.remote_addr = (uint64_t)(uintptr_t)(x->b.mem + 8192);
	w.rkey = x->b.key;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 61, REFNIC_WC_RDMA_WRITE, REFNIC_WC_STATUS_SUCCESS, NULL);
	assert_memory_equal(x->b.mem + 8192, x->a.mem, 9000);
	qp_gone(&qa);
	qp_gone(&qb);
}

/* ---- UD -------------------------------------------------------------------------------------- */

static void ud_qp(struct side *s, struct rn_qp *qp, uint32_t qkey)
{
	struct refnic_qp_attr a = { .mask = REFNIC_QP_ATTR_STATE | REFNIC_QP_ATTR_PKEY_INDEX |
					    REFNIC_QP_ATTR_PORT | REFNIC_QP_ATTR_QKEY,
				    .state = REFNIC_QPS_INIT,
				    .port = 1,
				    .qkey = qkey };

	qp_new(s, REFNIC_QPT_UD, qp);
	assert_int_equal(rn_qp_modify(&s->h, qp->qpn, &a), 0);
	memset(&a, 0, sizeof(a));
	a.mask = REFNIC_QP_ATTR_STATE;
	a.state = REFNIC_QPS_RTR;
	assert_int_equal(rn_qp_modify(&s->h, qp->qpn, &a), 0);
	a.mask = REFNIC_QP_ATTR_STATE | REFNIC_QP_ATTR_SQ_PSN;
	a.state = REFNIC_QPS_RTS;
	assert_int_equal(rn_qp_modify(&s->h, qp->qpn, &a), 0);
}

static uint32_t ah_create(struct side *s, const uint8_t *dgid, const uint8_t *dmac, uint8_t sgid)
{
	struct refnic_ah_config ac = { .pdn = s->pdn };
	uint64_t r = 0;

	memcpy(ac.av.dgid, dgid, 16);
	memcpy(ac.av.dmac, dmac, 6);
	ac.av.sgid_index = sgid;
	ac.av.hop_limit = 1;
	assert_int_equal(rn_rdma_cmd(&s->h, REFNIC_OP_CREATE_AH, NULL, &ac, sizeof(ac), &r), 0);
	return (uint32_t)r;
}

static void test_ud(void **state)
{
	struct fx *x = *state;
	uint8_t *rbuf = x->b.mem + 300000, ga[16], gb[16];
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND_WITH_IMM, 71, x->a.mem, 1000, x->a.key);
	struct refnic_rdma_cqe c;
	struct rn_qp qa, qb;
	uint32_t ahn;

	drain_all(x);
	ud_qp(&x->a, &qa, 0x1111);
	ud_qp(&x->b, &qb, 0x2222);
	ahn = ah_create(&x->a, x->b.gid, x->b.mac, 0);
	pattern(x->a.mem, 1000, 4);
	memset(rbuf, GUARD, 2048);
	rn_post_recv(&qb, 72, rbuf, 1100, x->b.key);
	/* a wrong Q_Key is dropped; the receive stays posted */
	w.ahn = ahn;
	w.dest_qpn = qb.qpn;
	w.qkey = 0x3333;
	w.imm = 0x01020304;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 71, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_none(&x->b.rcq, 30);
	w.wr_id = 73;
	w.qkey = 0x2222;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 73, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_cqe(&x->b.rcq, 72, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.byte_len, 40 + 1000);
	assert_int_equal(c.src_qp, qa.qpn);
	assert_int_equal(c.imm, 0x01020304);
	assert_int_equal(c.flags & (REFNIC_CQE_F_GRH | REFNIC_CQE_F_IMM),
			 REFNIC_CQE_F_GRH | REFNIC_CQE_F_IMM);
	/* the GRH: the IPv6 header as it came */
	assert_int_equal(rbuf[0] >> 4, 6);
	assert_int_equal(rbuf[4] << 8 | rbuf[5], 8 + 12 + 8 + 4 + 1000 + 4); /* UDP..ICRC */
	assert_int_equal(rbuf[6], 17);
	assert_int_equal(rbuf[7], 1);
	assert_memory_equal(rbuf + 8, x->a.gid, 16);
	assert_memory_equal(rbuf + 24, x->b.gid, 16);
	assert_memory_equal(rbuf + 40, x->a.mem, 1000);
	assert_true(all_bytes(rbuf + 1040, 1008, GUARD));

	/* IPv4: 20 zero bytes, then the IPv4 header */
	set_v4_gid(&x->a, 1, ga);
	set_v4_gid(&x->b, 2, gb);
	w.ahn = ah_create(&x->a, gb, x->b.mac, 1);
	w.wr_id = 74;
	w.opcode = REFNIC_WR_SEND;
	w.qkey = 0x80000000; /* "the QP's Q_Key" (0x1111): wrong for qb, dropped */
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 74, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_none(&x->b.rcq, 30);
	w.wr_id = 75;
	w.qkey = 0x2222;
	memset(rbuf, GUARD, 2048);
	rn_post_recv(&qb, 76, rbuf, 1100, x->b.key);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 75, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_cqe(&x->b.rcq, 76, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.flags & REFNIC_CQE_F_IMM, 0);
	assert_true(all_bytes(rbuf, 20, 0));
	assert_int_equal(rbuf[20], 0x45);
	assert_int_equal(rbuf[29], 17);
	assert_memory_equal(rbuf + 32, ga + 12, 4);
	assert_memory_equal(rbuf + 36, gb + 12, 4);
	assert_memory_equal(rbuf + 40, x->a.mem, 1000);

	/* a message longer than the path allows is a local length error; the SQ stops (SQE) */
	w = wqe(REFNIC_WR_SEND, 77, x->a.mem, 2000, x->a.key);
	w.ahn = ahn;
	w.dest_qpn = qb.qpn;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 77, REFNIC_WC_SEND, REFNIC_WC_STATUS_LOC_LEN_ERR, NULL);
	assert_int_equal(qp_state(&qa), REFNIC_QPS_SQE);
	qp_gone(&qa);
	qp_gone(&qb);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_bad_lkey(void **state)
{
	struct fx *x = *state;
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, 81, x->a.mem, 100, x->a.key ^ 0x300);
	struct refnic_rdma_cqe c;
	struct rn_qp qa, qb;

	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	rn_post_recv(&qb, 82, x->b.mem, 100, x->b.key);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 81, REFNIC_WC_SEND, REFNIC_WC_STATUS_LOC_PROT_ERR, &c);
	assert_int_equal(c.vendor_err, REFNIC_RDMA_VERR_KEY);
	assert_int_equal(qp_state(&qa), REFNIC_QPS_ERR);
	/* SGE outside its MR: a protection error too; the QP is in ERR: flushed */
	w = wqe(REFNIC_WR_SEND, 83, x->a.mem + MEM - 10, 100, x->a.key);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 83, REFNIC_WC_SEND, REFNIC_WC_STATUS_WR_FLUSH_ERR, &c);
	assert_int_equal(c.vendor_err, REFNIC_RDMA_VERR_FLUSH);
	expect_none(&x->b.rcq, 20); /* nothing arrived */
	assert_int_equal(qp_state(&qb), REFNIC_QPS_RTS);
	qp_gone(&qa);

	/* out of bounds on a live QP */
	qp_gone(&qb);
	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 83, REFNIC_WC_SEND, REFNIC_WC_STATUS_LOC_PROT_ERR, &c);
	assert_int_equal(c.vendor_err, REFNIC_RDMA_VERR_BOUNDS);
	qp_gone(&qa);
	qp_gone(&qb);
}

/*
 * A remote error: the requester sees @status, the responder QP goes to ERR
 * with a QP_FATAL event, and the responder's memory is untouched.
 */
static void remote_error(struct fx *x, uint8_t op, uint64_t raddr, uint32_t rkey, uint32_t len,
			 uint8_t status)
{
	uint8_t *guard = x->b.mem + 600000;
	struct refnic_send_wqe w = wqe(op, 91, x->a.mem, len, x->a.key);
	struct refnic_eqe e;
	struct rn_qp qa, qb;

	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	memset(guard, GUARD, 65536);
	pattern(x->a.mem, len, 6);
	w.remote_addr = raddr;
	w.rkey = rkey;
	if (op == REFNIC_WR_ATOMIC_FETCH_AND_ADD)
		w.compare_add = 1;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 91,
		   op == REFNIC_WR_RDMA_READ		  ? REFNIC_WC_RDMA_READ
		   : op == REFNIC_WR_ATOMIC_FETCH_AND_ADD ? REFNIC_WC_FETCH_ADD
							  : REFNIC_WC_RDMA_WRITE,
		   status, NULL);
	assert_true(all_bytes(guard, 65536, GUARD));
	assert_int_equal(rn_eq_next(&x->b.eq, REFNIC_EVENT_QP_FATAL, &e, WAIT_MS), 0);
	assert_int_equal(e.data, qb.qpn);
	assert_int_equal(qp_state(&qa), REFNIC_QPS_ERR);
	assert_int_equal(qp_state(&qb), REFNIC_QPS_ERR);
	qp_gone(&qa);
	qp_gone(&qb);
}

static void test_remote_access(void **state)
{
	struct fx *x = *state;
	uint8_t *guard = x->b.mem + 600000;
	uint64_t g = (uint64_t)(uintptr_t)guard;
	uint32_t ro, wo;

	/* bad rkey, out of bounds (the MR ends inside the message), wrong PD's key */
	remote_error(x, REFNIC_WR_RDMA_WRITE, g, x->b.key ^ 0x100, 3000,
		     REFNIC_WC_STATUS_REM_ACCESS_ERR);
	assert_int_equal(rn_mr_create(&x->b.h, x->b.pdn, guard, x->b.iova + 600000, 4096,
				      REFNIC_ACCESS_LOCAL_WRITE | REFNIC_ACCESS_REMOTE_READ, &ro),
			 0);
	assert_int_equal(rn_mr_create(&x->b.h, x->b.pdn, guard + 4096, x->b.iova + 604096, 4096,
				      REFNIC_ACCESS_LOCAL_WRITE | REFNIC_ACCESS_REMOTE_WRITE, &wo),
			 0);
	remote_error(x, REFNIC_WR_RDMA_WRITE, g + 4096 + 2048, wo, 3000,
		     REFNIC_WC_STATUS_REM_ACCESS_ERR);
	/* missing rights: WRITE into a read-only MR, READ from a write-only one, atomics */
	remote_error(x, REFNIC_WR_RDMA_WRITE, g, ro, 100, REFNIC_WC_STATUS_REM_ACCESS_ERR);
	remote_error(x, REFNIC_WR_RDMA_READ, g + 4096, wo, 100, REFNIC_WC_STATUS_REM_ACCESS_ERR);
	remote_error(x, REFNIC_WR_ATOMIC_FETCH_AND_ADD, g + 4096, wo, 8,
		     REFNIC_WC_STATUS_REM_ACCESS_ERR);
	/* a misaligned atomic is an invalid request */
	remote_error(x, REFNIC_WR_ATOMIC_FETCH_AND_ADD, g + 4, x->b.key, 8,
		     REFNIC_WC_STATUS_REM_INV_REQ_ERR);
	assert_int_equal(rn_obj_cmd(&x->b.h, REFNIC_OP_DESTROY_MR, ro), 0);
	assert_int_equal(rn_obj_cmd(&x->b.h, REFNIC_OP_DESTROY_MR, wo), 0);
}

/* A SEND longer than the receive buffer: LOC_LEN_ERR there, REM_INV_REQ_ERR here. */
static void test_recv_too_short(void **state)
{
	struct fx *x = *state;
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, 95, x->a.mem, 3000, x->a.key);
	struct rn_qp qa, qb;

	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	memset(x->b.mem, GUARD, 4096);
	rn_post_recv(&qb, 96, x->b.mem, 2048, x->b.key);
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 95, REFNIC_WC_SEND, REFNIC_WC_STATUS_REM_INV_REQ_ERR, NULL);
	expect_cqe(&x->b.rcq, 96, REFNIC_WC_RECV, REFNIC_WC_STATUS_LOC_LEN_ERR, NULL);
	assert_true(all_bytes(x->b.mem + 2048, 2048, GUARD)); /* nothing past the buffer */
	qp_gone(&qa);
	qp_gone(&qb);
}

static void sqd_set(struct rn_qp *qp, uint32_t mask, const struct refnic_qp_attr *v)
{
	struct refnic_qp_attr a = *v;

	assert_int_equal(modify(qp, 0, REFNIC_QPS_SQD, &a), 0);
	a = *v;
	assert_int_equal(modify(qp, mask, REFNIC_QPS_SQD, &a), 0);
	a = (struct refnic_qp_attr){ 0 };
	assert_int_equal(modify(qp, 0, REFNIC_QPS_RTS, &a), 0);
}

static void test_rnr(void **state)
{
	struct fx *x = *state;
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, 101, x->a.mem, 5000, x->a.key);
	struct refnic_rdma_cqe c;
	struct rn_qp qa, qb;

	/* no receive posted: RNR NAKs, retried for ever (rnr_retry 7) until one is */
	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	pattern(x->a.mem, 5000, 11);
	rn_post_send(&qa, &w);
	expect_none(&x->a.scq, 30);
	rn_post_recv(&qb, 102, x->b.mem, 8192, x->b.key);
	expect_cqe(&x->a.scq, 101, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_cqe(&x->b.rcq, 102, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.byte_len, 5000);
	assert_memory_equal(x->b.mem, x->a.mem, 5000);

	/* rnr_retry 2: three RNR NAKs and the WQE fails */
	sqd_set(&qa, REFNIC_QP_ATTR_RNR_RETRY, &(struct refnic_qp_attr){ .rnr_retry = 2 });
	w.wr_id = 103;
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 103, REFNIC_WC_SEND, REFNIC_WC_STATUS_RNR_RETRY_EXC_ERR, &c);
	assert_int_equal(c.vendor_err, REFNIC_RDMA_VERR_RNR);
	assert_int_equal(qp_state(&qa), REFNIC_QPS_ERR);
	assert_int_equal(qp_state(&qb), REFNIC_QPS_RTS); /* RNR is not the responder's error */
	qp_gone(&qa);
	qp_gone(&qb);
}

static void test_retry_exceeded(void **state)
{
	struct fx *x = *state;
	struct refnic_send_wqe w = wqe(REFNIC_WR_RDMA_WRITE, 111, x->a.mem, 100, x->a.key);
	struct refnic_rdma_cqe c;
	struct rn_qp qa;
	uint64_t t0;

	/* the peer QP does not exist: no answer, ever */
	drain_all(x);
	qp_new(&x->a, REFNIC_QPT_RC, &qa);
	assert_int_equal(rn_qp_connect(&qa, 0xabcdef, x->b.gid, x->b.mac, 0, 3, QP_ACCESS), 0);
	sqd_set(&qa, REFNIC_QP_ATTR_TIMEOUT | REFNIC_QP_ATTR_RETRY_CNT,
		&(struct refnic_qp_attr){ .timeout = 8, .retry_cnt = 3 }); /* ~1 ms, 3 retries */
	w.remote_addr = (uint64_t)(uintptr_t)x->b.mem;
	w.rkey = x->b.key;
	t0 = rn_now_ms();
	rn_post_send(&qa, &w);
	expect_cqe(&x->a.scq, 111, REFNIC_WC_RDMA_WRITE, REFNIC_WC_STATUS_RETRY_EXC_ERR, &c);
	assert_int_equal(c.vendor_err, REFNIC_RDMA_VERR_RETRY);
	assert_true(rn_now_ms() - t0 >= 3); /* four timeouts of ~1 ms */
	assert_int_equal(qp_state(&qa), REFNIC_QPS_ERR);
	qp_gone(&qa);
	/* with nothing outstanding the device sleeps again: no timer left behind */
	assert_true(rn_wait_sleeping(&x->a.h, WAIT_MS));
}

static void test_flush(void **state)
{
	struct fx *x = *state;
	struct refnic_qp_attr a = { 0 };
	struct refnic_rdma_cqe c;
	struct rn_qp qa, qb;

	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	for (int i = 0; i < 3; i++)
		rn_post_recv(&qb, 120 + i, x->b.mem, 100, x->b.key);
	assert_int_equal(modify(&qb, 0, REFNIC_QPS_ERR, &a), 0);
	for (int i = 0; i < 3; i++) {
		expect_cqe(&x->b.rcq, 120 + i, REFNIC_WC_RECV, REFNIC_WC_STATUS_WR_FLUSH_ERR, &c);
		assert_int_equal(c.wqe_index, i);
	}
	/* posted later: flushed as well, on both queues */
	rn_post_recv(&qb, 123, x->b.mem, 100, x->b.key);
	expect_cqe(&x->b.rcq, 123, REFNIC_WC_RECV, REFNIC_WC_STATUS_WR_FLUSH_ERR, NULL);
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, 124, x->b.mem, 10, x->b.key);

	w.flags = 0; /* errors complete even unsignaled */
	rn_post_send(&qb, &w);
	expect_cqe(&x->b.scq, 124, REFNIC_WC_SEND, REFNIC_WC_STATUS_WR_FLUSH_ERR, NULL);
	qp_gone(&qa);
	qp_gone(&qb);
}

static void test_cq_overrun(void **state)
{
	struct fx *x = *state;
	struct refnic_send_wqe w[3];
	struct refnic_rdma_cqe c;
	struct refnic_eqe e;
	struct rn_cq small;
	struct rn_qp qa, qb;

	drain_all(x);
	assert_int_equal(rn_cq_create(&x->a.h, 1, &small), 0);
	assert_int_equal(
		rn_qp_create(&x->a.h, REFNIC_QPT_RC, x->a.pdn, &small, &x->a.rcq, 6, 6, 0, &qa), 0);
	qp_new(&x->b, REFNIC_QPT_RC, &qb);
	assert_int_equal(rn_qp_connect(&qa, qb.qpn, x->b.gid, x->b.mac, 0, 3, QP_ACCESS), 0);
	assert_int_equal(rn_qp_connect(&qb, qa.qpn, x->a.gid, x->a.mac, 0, 3, QP_ACCESS), 0);
	for (int i = 0; i < 3; i++) {
		w[i] = wqe(REFNIC_WR_RDMA_WRITE, 130 + i, x->a.mem, 64, x->a.key);
		w[i].remote_addr = (uint64_t)(uintptr_t)x->b.mem;
		w[i].rkey = x->b.key;
	}
	rn_post_send_batch(&qa, w, 3);
	assert_int_equal(rn_eq_next(&x->a.eq, REFNIC_EVENT_QUEUE_ERROR, &e, WAIT_MS), 0);
	assert_int_equal(REFNIC_QERR_EVENT_QID(e.data), small.id);
	assert_int_equal(REFNIC_QERR_EVENT_TYPE(e.data), REFNIC_QT_CQ);
	assert_int_equal(REFNIC_QERR_EVENT_CODE(e.data), REFNIC_QERR_CQ_OVERRUN);
	assert_int_equal(rn_eq_next(&x->a.eq, REFNIC_EVENT_CQ_ERROR, &e, WAIT_MS), 0);
	assert_int_equal(e.data, small.id);
	assert_int_equal(rn_eq_next(&x->a.eq, REFNIC_EVENT_QP_FATAL, &e, WAIT_MS), 0);
	assert_int_equal(e.data, qa.qpn);
	/* the two CQEs that fitted are intact; nothing was written over them */
	assert_int_equal(rn_cq_poll(&small, &c, 0), 0);
	assert_int_equal(c.wr_id, 130);
	assert_int_equal(rn_cq_poll(&small, &c, 0), 0);
	assert_int_equal(c.wr_id, 131);
	expect_none(&small, 20);
	assert_int_equal(qp_state(&qa), REFNIC_QPS_ERR);
	qp_gone(&qa);
	qp_gone(&qb);
	assert_int_equal(rn_fn_cmd(&x->a.h, REFNIC_OP_DESTROY_QUEUE, 0,
				   &(struct refnic_cmd_destroy_queue){ .type = REFNIC_QT_CQ,
								       .queue_id = small.id },
				   NULL),
			 0);
}

/* ---- CQ arming (§16.6) -------------------------------------------------------------- */

#define ARM_VEC 2

struct arm_fx {
	struct fx *x;
	struct rn_cq ev; /* b's receive CQ, on ARM_VEC */
	struct rn_qp qa, qb;
	int efd;
	uint64_t wr;
};

/* Interrupts of ARM_VEC since the last call (waiting @ms for the first). */
static uint64_t irqs(struct arm_fx *f, int ms)
{
	uint64_t end = rn_now_ms() + (uint64_t)ms, n = 0;

	while (read(f->efd, &n, sizeof(n)) != sizeof(n)) {
		if (rn_now_ms() >= end)
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 200000 }, NULL);
	}
	return n;
}

/* One SEND a -> b, its receive CQE left on f->ev. */
static void arm_send_only(struct arm_fx *f, bool solicited)
{
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, ++f->wr, f->x->a.mem, 8, f->x->a.key);

	if (solicited)
		w.flags |= REFNIC_WQE_F_SOLICITED;
	rn_post_recv(&f->qb, f->wr, f->x->b.mem, 64, f->x->b.key);
	rn_post_send(&f->qa, &w);
	expect_cqe(&f->x->a.scq, f->wr, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
}

/* One SEND a -> b: its receive CQE on f->ev, consumed (a consumer index store). */
static void arm_send(struct arm_fx *f, bool solicited)
{
	arm_send_only(f, solicited);
	expect_cqe(&f->ev, f->wr, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, NULL);
}

/* The device never writes the doorbell: it holds what the driver stored last. */
static void db_is_ours(struct arm_fx *f)
{
	assert_int_equal(*rn_db(&f->x->b.h, 0, f->ev.db), f->ev.ci | f->ev.arm);
}

static void test_cq_arm(void **state)
{
	struct arm_fx f = { .x = *state };
	struct fx *x = f.x;

	drain_all(x);
	f.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(f.efd >= 0);
	assert_int_equal(facet_core_irq_enable(x->b.h.dev, FACET_CORE_IRQ_MSIX, ARM_VEC, 1, &f.efd),
			 0);
	assert_int_equal(rn_cq_create_irq(&x->b.h, 4, ARM_VEC, &f.ev), REFNIC_STATUS_OK);
	qp_new(&x->a, REFNIC_QPT_RC, &f.qa);
	assert_int_equal(
		rn_qp_create(&x->b.h, REFNIC_QPT_RC, x->b.pdn, &x->b.scq, &f.ev, 6, 6, 0, &f.qb),
		REFNIC_STATUS_OK);
	assert_int_equal(rn_qp_connect(&f.qa, f.qb.qpn, x->b.gid, x->b.mac, 0, 3, QP_ACCESS), 0);
	assert_int_equal(rn_qp_connect(&f.qb, f.qa.qpn, x->a.gid, x->a.mac, 0, 3, QP_ACCESS), 0);

	/* Not armed (sequence number 0 is the device's starting point): no interrupt. */
	arm_send(&f, false);
	assert_int_equal(irqs(&f, 50), 0);
	/* ARM, number 1: one interrupt; consumer index stores repeat the request, nothing more. */
	rn_cq_arm(&f.ev, REFNIC_CQ_DB_ARM_SN(1) | REFNIC_CQ_DB_ARM);
	arm_send(&f, false);
	assert_int_equal(irqs(&f, WAIT_MS), 1);
	db_is_ours(&f);
	arm_send(&f, false);
	rn_cq_arm(&f.ev, REFNIC_CQ_DB_ARM_SN(1) | REFNIC_CQ_DB_ARM); /* stored again */
	arm_send(&f, true);
	assert_int_equal(irqs(&f, 50), 0);
	db_is_ours(&f);
	/* ARM_SOLICITED, number 2: not for a plain CQE, for the next solicited one. */
	rn_cq_arm(&f.ev, REFNIC_CQ_DB_ARM_SN(2) | REFNIC_CQ_DB_ARM_SOLICITED);
	arm_send(&f, false);
	assert_int_equal(irqs(&f, 50), 0);
	arm_send(&f, true);
	assert_int_equal(irqs(&f, WAIT_MS), 1);
	/* ARM_SOLICITED (3) widened to ARM (0, wrapped) before a plain CQE: one interrupt. */
	rn_cq_arm(&f.ev, REFNIC_CQ_DB_ARM_SN(3) | REFNIC_CQ_DB_ARM_SOLICITED);
	arm_send(&f, false);
	rn_cq_arm(&f.ev, REFNIC_CQ_DB_ARM_SN(0) | REFNIC_CQ_DB_ARM);
	arm_send(&f, false);
	arm_send(&f, false);
	assert_int_equal(irqs(&f, WAIT_MS), 1);
	assert_int_equal(irqs(&f, 50), 0);
	db_is_ours(&f);
	/*
	 * A consumer index behind the last one the device took (a stale store)
	 * is ignored: the device keeps the one it read at the last CQE, one
	 * behind ours, so 15 CQEs fit without an overrun (taken, it would
	 * overrun at the 13th).
	 */
	*rn_db(&x->b.h, 0, f.ev.db) = ((f.ev.ci - 3) & REFNIC_CQ_DB_CI_MASK) | f.ev.arm;
	for (int i = 0; i < 15; i++)
		arm_send_only(&f, false);
	for (uint64_t wr = f.wr - 14; wr <= f.wr; wr++)
		expect_cqe(&f.ev, wr, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, NULL);

	qp_gone(&f.qa);
	qp_gone(&f.qb);
	assert_int_equal(rn_fn_cmd(&x->b.h, REFNIC_OP_DESTROY_QUEUE, 0,
				   &(struct refnic_cmd_destroy_queue){ .type = REFNIC_QT_CQ,
								       .queue_id = f.ev.id },
				   NULL),
			 0);
	close(f.efd);
}

/* Not a benchmark (see bench/), a sanity figure: 64 KiB WRITEs, 16 in flight. */
static void test_throughput(void **state)
{
	struct fx *x = *state;
	const uint32_t len = 65536;
	struct refnic_send_wqe w[16];
	struct refnic_rdma_cqe c;
	struct timespec t0, t1;
	struct rn_qp qa, qb;
	uint64_t bytes = 0;
	double s;

	rc_pair(x, &qa, &qb, REFNIC_MTU_4096);
	pattern(x->a.mem, len, 1);
	for (int i = 0; i < 16; i++) {
		w[i] = wqe(REFNIC_WR_RDMA_WRITE, 200 + i, x->a.mem, len, x->a.key);
		w[i].remote_addr = (uint64_t)(uintptr_t)(x->b.mem + 65536 * (i % 8));
		w[i].rkey = x->b.key;
		w[i].flags = i == 15 ? REFNIC_WQE_F_SIGNALED : 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		rn_post_send_batch(&qa, w, 16);
		expect_cqe(&x->a.scq, 215, REFNIC_WC_RDMA_WRITE, REFNIC_WC_STATUS_SUCCESS, &c);
		bytes += 16ull * len;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	} while (s < 0.3);
	print_message("RC WRITE 64 KiB: %.0f MB/s\n", (double)bytes / s / 1e6);
	assert_memory_equal(x->b.mem + 65536 * 7, x->a.mem, len);

	/* latency: one 8-byte WRITE at a time */
	w[0] = wqe(REFNIC_WR_RDMA_WRITE, 230, x->a.mem, 8, x->a.key);
	w[0].remote_addr = (uint64_t)(uintptr_t)x->b.mem;
	w[0].rkey = x->b.key;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 2000; i++) {
		rn_post_send(&qa, &w[0]);
		while (rn_cq_poll(&x->a.scq, &c, 0))
			;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("RC WRITE 8 B round trip: %.1f us\n", s / 2000 * 1e6);
	qp_gone(&qa);
	qp_gone(&qb);
}

/* ---- live-object gauges (docs §13.2) and a client that dies ------------------------------ */

/* The RDMA gauges of @st, as an array: PDs, MRs, CQs, QPs, AHs. */
static void gauges_of(const struct refnic_func_stats *st, uint64_t g[5])
{
	g[0] = st->rdma_pds;
	g[1] = st->rdma_mrs;
	g[2] = st->rdma_cqs;
	g[3] = st->rdma_qps;
	g[4] = st->rdma_ahs;
}

/* Function 0's gauges through the model's API, checked equal to what QUERY_STATS reports. */
static void gauges(struct side *s, uint64_t g[5])
{
	struct refnic_func_stats api, cmd;
	uint64_t gc[5];

	refnic_model_get_stats(s->h.m, NULL, &api, 1);
	assert_int_equal(rn_func_stats(&s->h, 0, &cmd), REFNIC_STATUS_OK);
	gauges_of(&api, g);
	gauges_of(&cmd, gc);
	assert_memory_equal(g, gc, sizeof(gc));
}

/* Gauges now = @base + the deltas (PDs, MRs, CQs, QPs, AHs). */
static void expect_gauges(struct side *s, const uint64_t base[5], int pd, int mr, int cq, int qp,
			  int ah)
{
	const int d[5] = { pd, mr, cq, qp, ah };
	uint64_t g[5];

	gauges(s, g);
	for (int i = 0; i < 5; i++)
		assert_int_equal(g[i], base[i] + (uint64_t)(int64_t)d[i]);
}

static uint32_t ah_new(struct fx *x, uint32_t pdn)
{
	struct refnic_ah_config ac = { .pdn = pdn };
	uint64_t r = 0;

	memcpy(ac.av.dgid, x->b.gid, 16);
	memcpy(ac.av.dmac, x->b.mac, 6);
	assert_int_equal(rn_rdma_cmd(&x->a.h, REFNIC_OP_CREATE_AH, NULL, &ac, sizeof(ac), &r),
			 REFNIC_STATUS_OK);
	return (uint32_t)r;
}

static void cq_gone(struct rn_cq *cq)
{
	struct refnic_cmd_destroy_queue d = { .type = REFNIC_QT_CQ, .queue_id = cq->id };

	assert_int_equal(rn_fn_cmd(cq->h, REFNIC_OP_DESTROY_QUEUE, 0, &d, NULL), REFNIC_STATUS_OK);
}

static void stats_clear(struct rn *h)
{
	struct refnic_sqe s = { .opcode = REFNIC_OP_QUERY_STATS };

	s.query_stats.flags = REFNIC_STATS_F_CLEAR;
	s.data_iova = facet_core_dma_iova(h->buf);
	s.data_len = RN_BUF_SIZE;
	assert_int_equal(rn_cmd(h, &s, NULL), REFNIC_STATUS_OK);
}

/* Every object counts while it lives, in any state; the gauges survive CLEAR. */
static void test_gauges(void **state)
{
	struct fx *x = *state;
	struct side *s = &x->a;
	uint32_t pdn, key, ahn;
	struct rn_qp qp, qb;
	uint64_t base[5];
	struct rn_cq cq;

	gauges(s, base);
	assert_true(base[0] >= 1 && base[1] >= 1 && base[2] >= 2); /* the fixture's */
	assert_int_equal(rn_pd_create(&s->h, &pdn), REFNIC_STATUS_OK);
	expect_gauges(s, base, 1, 0, 0, 0, 0);
	assert_int_equal(rn_mr_create(&s->h, pdn, s->mem, s->iova, 4096, 0, &key), 0);
	expect_gauges(s, base, 1, 1, 0, 0, 0);
	assert_int_equal(rn_cq_create(&s->h, 4, &cq), REFNIC_STATUS_OK);
	expect_gauges(s, base, 1, 1, 1, 0, 0);
	assert_int_equal(rn_qp_create(&s->h, REFNIC_QPT_RC, pdn, &cq, &cq, 4, 4, 0, &qp),
			 REFNIC_STATUS_OK);
	ahn = ah_new(x, pdn);
	expect_gauges(s, base, 1, 1, 1, 1, 1);
	/* a failed create counts nothing */
	assert_int_equal(rn_qp_create(&s->h, REFNIC_QPT_RC, pdn + 100, &cq, &cq, 4, 4, 0, &qb),
			 REFNIC_STATUS_BAD_QUEUE);
	stats_clear(&s->h);
	expect_gauges(s, base, 1, 1, 1, 1, 1);

	/* a QP in ERR still exists */
	assert_int_equal(modify(&qp, 0, REFNIC_QPS_ERR, &(struct refnic_qp_attr){ 0 }),
			 REFNIC_STATUS_OK);
	expect_gauges(s, base, 1, 1, 1, 1, 1);
	qp_gone(&qp);
	expect_gauges(s, base, 1, 1, 1, 0, 1);
	assert_int_equal(rn_obj_cmd(&s->h, REFNIC_OP_DESTROY_AH, ahn), REFNIC_STATUS_OK);
	expect_gauges(s, base, 1, 1, 1, 0, 0);
	assert_int_equal(rn_obj_cmd(&s->h, REFNIC_OP_DESTROY_MR, key), REFNIC_STATUS_OK);
	expect_gauges(s, base, 1, 0, 1, 0, 0);
	cq_gone(&cq);
	expect_gauges(s, base, 1, 0, 0, 0, 0);
	/* a refused destroy (PD in use) takes nothing down */
	assert_int_equal(rn_obj_cmd(&s->h, REFNIC_OP_DESTROY_PD, s->pdn), REFNIC_STATUS_BAD_STATE);
	assert_int_equal(rn_obj_cmd(&s->h, REFNIC_OP_DESTROY_PD, pdn), REFNIC_STATUS_OK);
	expect_gauges(s, base, 0, 0, 0, 0, 0);
}

/* The model's log while a test listens: lines of tag refnic, kept in order. */
static struct {
	pthread_mutex_t lock;
	char text[4096];
	size_t len;
} logcap = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void logcap_sink(enum facet_log_level level, const char *tag, const char *msg)
{
	fprintf(stderr, "facet[%s] %s: %s\n", tag, facet_log_level_name(level), msg);
	if (strcmp(tag, "refnic") != 0)
		return;
	pthread_mutex_lock(&logcap.lock);
	logcap.len += (size_t)snprintf(logcap.text + logcap.len, sizeof(logcap.text) - logcap.len,
				       "%s\n", msg);
	if (logcap.len >= sizeof(logcap.text))
		logcap.len = sizeof(logcap.text) - 1;
	pthread_mutex_unlock(&logcap.lock);
}

static void logcap_start(void)
{
	logcap.len = 0;
	logcap.text[0] = '\0';
	assert_int_equal(facet_log_configure("warn,refnic=info"), 0);
	facet_log_set_sink(logcap_sink);
}

/* Stop listening; true if @line was logged. */
static bool logcap_stop(const char *line)
{
	bool found;

	facet_log_set_sink(NULL);
	facet_log_configure(getenv("FACET_LOG") ? getenv("FACET_LOG") : "warn");
	pthread_mutex_lock(&logcap.lock);
	found = strstr(logcap.text, line) != NULL;
	if (!found)
		print_message("wanted \"%s\" in:\n%s", line, logcap.text);
	pthread_mutex_unlock(&logcap.lock);
	return found;
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* The line the model logs for a client that left @st's objects on function 0 (docs §16.1). */
static void released_line(const struct refnic_func_stats *st, const char *path, char *buf,
			  size_t size)
{
	snprintf(buf, size,
		 "client gone: released %llu QP%s, %llu MR%s, %llu AH%s, %llu CQ%s, %llu PD%s "
		 "(function 0 of %s)",
		 (unsigned long long)st->rdma_qps, plural(st->rdma_qps),
		 (unsigned long long)st->rdma_mrs, plural(st->rdma_mrs),
		 (unsigned long long)st->rdma_ahs, plural(st->rdma_ahs),
		 (unsigned long long)st->rdma_cqs, plural(st->rdma_cqs),
		 (unsigned long long)st->rdma_pds, plural(st->rdma_pds), path);
}

/* Wait until the client's disconnect has reached the model: function 0 holds nothing. */
static bool all_released(struct side *s)
{
	uint64_t end = rn_now_ms() + WAIT_MS, g[5];
	struct refnic_func_stats st;

	do {
		refnic_model_get_stats(s->h.m, NULL, &st, 1);
		gauges_of(&st, g);
		if (!(g[0] | g[1] | g[2] | g[3] | g[4]))
			return true;
		usleep(1000);
	} while (rn_now_ms() < end);
	return false;
}

/*
 * A client that goes away holding objects (a killed process: no destroy of
 * anything) leaves nothing behind; the model says what it released, and
 * serves the next client as a fresh device.
 */
static void test_client_gone(void **state)
{
	struct fx *x = *state;
	struct refnic_func_stats before, after_b, before_b;
	struct rn_qp qa, qb, qa2, qb2;
	struct refnic_rdma_cqe c;
	char line[256];
	uint32_t key;

	/* objects of every kind, a connection, and a SEND in flight (RNR: no receive) */
	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	ah_new(x, x->a.pdn);
	assert_int_equal(rn_mr_create(&x->a.h, x->a.pdn, x->a.mem, x->a.iova, 4096,
				      REFNIC_ACCESS_LOCAL_WRITE, &key),
			 0);
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, 7, x->a.mem, 10, x->a.key);

	rn_post_send(&qa, &w);
	refnic_model_get_stats(x->a.h.m, NULL, &before, 1);
	refnic_model_get_stats(x->b.h.m, NULL, &before_b, 1);
	/* earlier tests may have left QPs: count what is there */
	assert_true(before.rdma_qps >= 1 && before.rdma_ahs >= 1 && before.rdma_mrs >= 2 &&
		    before.rdma_cqs >= 2 && before.rdma_pds >= 1);
	released_line(&before, x->a.h.path, line, sizeof(line));

	logcap_start();
	rn_close(&x->a.h); /* no destroy of anything */
	assert_true(all_released(&x->a));
	assert_true(logcap_stop(line));
	/* the other device is untouched */
	refnic_model_get_stats(x->b.h.m, NULL, &after_b, 1);
	assert_memory_equal(&after_b.rdma_pds, &before_b.rdma_pds, 5 * sizeof(uint64_t));

	/* the next client finds a fresh device, and RDMA works again */
	assert_int_equal(rn_open(&x->a.h), 0);
	side_init(&x->a);
	rc_pair(x, &qa2, &qb2, REFNIC_MTU_1024);
	w = wqe(REFNIC_WR_SEND, 7, x->a.mem, 10, x->a.key); /* the new client's memory */
	rn_post_recv(&qb2, 8, x->b.mem, 64, x->b.key);
	rn_post_send(&qa2, &w);
	expect_cqe(&x->a.scq, 7, REFNIC_WC_SEND, REFNIC_WC_STATUS_SUCCESS, NULL);
	expect_cqe(&x->b.rcq, 8, REFNIC_WC_RECV, REFNIC_WC_STATUS_SUCCESS, &c);
	assert_int_equal(c.byte_len, 10);
	qp_gone(&qa2);
	qp_gone(&qb2);
	qp_gone(&qb);
	drain_all(x);
}

/* RESET_FUNCTION, and a client that goes away without teardown, leave nothing behind. */
static void test_reset_frees(void **state)
{
	struct fx *x = *state;
	struct rn_qp qa, qb;
	uint32_t mr;

	rc_pair(x, &qa, &qb, REFNIC_MTU_1024);
	assert_int_equal(rn_mr_create(&x->b.h, x->b.pdn, x->b.mem, x->b.iova, 4096,
				      REFNIC_ACCESS_LOCAL_WRITE, &mr),
			 0);
	/* something in flight: a SEND waiting for a receive (RNR) */
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, 141, x->a.mem, 10, x->a.key);

	rn_post_send(&qa, &w);
	assert_int_equal(rn_fn_cmd(&x->b.h, REFNIC_OP_RESET_FUNCTION, 0, NULL, NULL), 0);
	assert_int_equal(rn_obj_cmd(&x->b.h, REFNIC_OP_DESTROY_QP, qb.qpn),
			 REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(rn_obj_cmd(&x->b.h, REFNIC_OP_DESTROY_MR, mr), REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(rn_obj_cmd(&x->b.h, REFNIC_OP_DESTROY_MR, x->b.key),
			 REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(rn_obj_cmd(&x->b.h, REFNIC_OP_DESTROY_PD, x->b.pdn),
			 REFNIC_STATUS_BAD_QUEUE);
	/* a's SEND now goes nowhere: its retries run out (timeout 14 is 67 ms; shorten it) */
	sqd_set(&qa, REFNIC_QP_ATTR_TIMEOUT | REFNIC_QP_ATTR_RETRY_CNT,
		&(struct refnic_qp_attr){ .timeout = 6, .retry_cnt = 1 });
	expect_cqe(&x->a.scq, 141, REFNIC_WC_SEND, REFNIC_WC_STATUS_RETRY_EXC_ERR, NULL);

	/* the client of a goes away with a QP and MRs alive: the model resets the device */
	rn_close(&x->a.h);
	assert_int_equal(rn_open(&x->a.h), 0);
	assert_int_equal(rn_enable(&x->a.h, 5), 0);
	assert_int_equal(rn_obj_cmd(&x->a.h, REFNIC_OP_DESTROY_QP, qa.qpn),
			 REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(rn_obj_cmd(&x->a.h, REFNIC_OP_DESTROY_PD, x->a.pdn),
			 REFNIC_STATUS_BAD_QUEUE);
	assert_true(rn_wait_sleeping(&x->a.h, WAIT_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_qp_states),
		cmocka_unit_test(test_rc_send),
		cmocka_unit_test(test_rc_write_read),
		cmocka_unit_test(test_rc_atomics),
		cmocka_unit_test(test_selective_signal),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_rc_ipv4),
		cmocka_unit_test(test_ud),
		cmocka_unit_test(test_bad_lkey),
		cmocka_unit_test(test_remote_access),
		cmocka_unit_test(test_recv_too_short),
		cmocka_unit_test(test_rnr),
		cmocka_unit_test(test_retry_exceeded),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_cq_overrun),
		cmocka_unit_test(test_cq_arm),
		cmocka_unit_test(test_throughput),
		cmocka_unit_test(test_gauges),
		cmocka_unit_test(test_client_gone),
		cmocka_unit_test(test_reset_frees), /* last: it takes the fixture apart */
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
