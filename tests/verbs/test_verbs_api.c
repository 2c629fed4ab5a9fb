/* SPDX-License-Identifier: MIT */
/*
 * The verbs API on Facet devices, call by call: a program built against
 * libibverbs (nothing of Facet), run under facet-run with two devices of one
 * model process (verbs_api.sh starts them). What the tools exercise only
 * indirectly is checked here directly: every public field the provider
 * fills, the error answers, and each operation's data on the wire.
 *
 *   facet-run --dev vfio-user:A --dev vfio-user:B test_verbs_api
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#define BUF_SIZE	(64 * 1024)
#define WAIT_MS		5000
#define MODEL_MAC_GUID0 0x00facefffe000000ull /* facet-refnic --mac 02:fa:ce:00:00:00 */

struct side {
	struct ibv_device *dev;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	uint8_t *buf;
	union ibv_gid gid;
	struct ibv_device_attr attr;
};

static struct side s[2];
static struct ibv_device **dev_list;

/* ---- helpers ------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One completion from @cq within WAIT_MS (fails the test otherwise). */
static struct ibv_wc poll_one(struct ibv_cq *cq)
{
	uint64_t end = now_ms() + WAIT_MS;
	struct ibv_wc wc;
	int n;

	do {
		n = ibv_poll_cq(cq, 1, &wc);
		assert_true(n >= 0);
		if (n == 1)
			return wc;
	} while (now_ms() < end);
	fail_msg("no completion in %d ms", WAIT_MS);
	return wc;
}

/* Drop what an earlier failed test left in the shared CQs. */
static void drain_cqs(void)
{
	struct ibv_wc wc[16];

	for (int k = 0; k < 2; k++)
		while (ibv_poll_cq(s[k].cq, 16, wc) > 0)
			;
}

static struct ibv_wc poll_ok(struct ibv_cq *cq, enum ibv_wc_opcode op, uint64_t wr_id)
{
	struct ibv_wc wc = poll_one(cq);

	if (wc.status != IBV_WC_SUCCESS)
		fail_msg("completion %s (vendor error %u)", ibv_wc_status_str(wc.status),
			 wc.vendor_err);
	assert_int_equal(wc.opcode, op);
	assert_int_equal(wc.wr_id, wr_id);
	return wc;
}

static void post_recv(struct ibv_qp *qp, struct side *x, size_t off, uint32_t len, uint64_t id)
{
	struct ibv_sge sge = { (uintptr_t)x->buf + off, len, x->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = id, .sg_list = &sge, .num_sge = 1 }, *bad;

	assert_int_equal(ibv_post_recv(qp, &wr, &bad), 0);
}

static int post_send(struct ibv_qp *qp, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad = NULL;

	return ibv_post_send(qp, wr, &bad);
}

static struct ibv_qp *create_qp(struct side *x, enum ibv_qp_type type)
{
	struct ibv_qp_init_attr init = {
		.send_cq = x->cq,
		.recv_cq = x->cq,
		.cap = { .max_send_wr = 64,
			 .max_recv_wr = 64,
			 .max_send_sge = 1,
			 .max_recv_sge = 1,
			 .max_inline_data = 32 },
		.qp_type = type,
	};
	struct ibv_qp *qp = ibv_create_qp(x->pd, &init);

	assert_non_null(qp);
	assert_true(init.cap.max_send_wr >= 64 && init.cap.max_recv_wr >= 64);
	assert_true(init.cap.max_inline_data >= 32);
	return qp;
}

static void modify_init(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.pkey_index = 0,
		.port_num = 1,
		.qp_access_flags =
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC,
		.qkey = 0x11111111,
	};
	int mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT;

	mask |= qp->qp_type == IBV_QPT_UD ? IBV_QP_QKEY : IBV_QP_ACCESS_FLAGS;
	assert_int_equal(ibv_modify_qp(qp, &a, mask), 0);
	assert_int_equal(qp->state, IBV_QPS_INIT);
}

static void connect_rc(struct ibv_qp *qp, const union ibv_gid *dgid, uint32_t dqpn)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = dqpn,
		.rq_psn = 100,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = { .is_global = 1,
			     .grh = { .dgid = *dgid, .hop_limit = 64 },
			     .port_num = 1 },
	};

	assert_int_equal(ibv_modify_qp(qp, &a,
				       IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
					       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
					       IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER),
			 0);
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS,
				  .timeout = 14,
				  .retry_cnt = 7,
				  .rnr_retry = 7,
				  .sq_psn = 100,
				  .max_rd_atomic = 1 };
	assert_int_equal(ibv_modify_qp(qp, &a,
				       IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
					       IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
					       IBV_QP_MAX_QP_RD_ATOMIC),
			 0);
	assert_int_equal(qp->state, IBV_QPS_RTS);
}

static void ud_ready(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RTR };

	modify_init(qp);
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE), 0);
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS, .sq_psn = 0 };
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN), 0);
}

/* ---- fixture --------------------------------------------------------------------- */

static int group_setup(void **state)
{
	int n = 0;

	dev_list = ibv_get_device_list(&n);
	assert_non_null(dev_list);
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			char name[32];

			snprintf(name, sizeof(name), "facet_refnic%d", k);
			if (!strcmp(ibv_get_device_name(dev_list[i]), name))
				s[k].dev = dev_list[i];
		}
	}
	for (int k = 0; k < 2; k++) {
		struct side *x = &s[k];

		assert_non_null(x->dev);
		x->ctx = ibv_open_device(x->dev);
		assert_non_null(x->ctx);
		assert_int_equal(ibv_query_device(x->ctx, &x->attr), 0);
		assert_int_equal(ibv_query_gid(x->ctx, 1, 0, &x->gid), 0);
		x->pd = ibv_alloc_pd(x->ctx);
		assert_non_null(x->pd);
		x->cq = ibv_create_cq(x->ctx, 256, NULL, NULL, 0);
		assert_non_null(x->cq);
		x->buf = aligned_alloc(4096, BUF_SIZE);
		assert_non_null(x->buf);
		memset(x->buf, 0, BUF_SIZE);
		x->mr = ibv_reg_mr(x->pd, x->buf, BUF_SIZE,
				   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
					   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC);
		assert_non_null(x->mr);
	}
	return 0;
}

static int group_teardown(void **state)
{
	for (int k = 0; k < 2; k++) {
		struct side *x = &s[k];

		assert_int_equal(ibv_dereg_mr(x->mr), 0);
		assert_int_equal(ibv_destroy_cq(x->cq), 0);
		assert_int_equal(ibv_dealloc_pd(x->pd), 0);
		assert_int_equal(ibv_close_device(x->ctx), 0);
		free(x->buf);
	}
	ibv_free_device_list(dev_list);
	return 0;
}

/* ---- devices and queries ------------------------------------------------------------ */

static void test_device_list(void **state)
{
	int n = -1;
	struct ibv_device **l = ibv_get_device_list(&n);

	assert_non_null(l);
	assert_true(n >= 2);
	assert_null(l[n]);
	assert_int_equal(be64toh(ibv_get_device_guid(s[0].dev)), MODEL_MAC_GUID0);
	assert_int_equal(be64toh(ibv_get_device_guid(s[1].dev)), MODEL_MAC_GUID0 + 0x100);
	assert_int_equal(s[0].dev->transport_type, IBV_TRANSPORT_IB);
	assert_string_equal(s[0].dev->dev_name, "refnic.rdma.0");
	assert_int_equal(ibv_get_device_index(s[0].dev), -1);
	ibv_free_device_list(l);
}

static void test_query(void **state)
{
	struct ibv_context *ctx = s[0].ctx;
	struct ibv_device_attr_ex ax;
	struct ibv_port_attr pa;
	struct ibv_gid_entry e;
	__be16 pkey;

	assert_int_equal(s[0].attr.vendor_id, 0x1fac);
	assert_int_equal(s[0].attr.phys_port_cnt, 1);
	assert_int_equal(be64toh(s[0].attr.node_guid), MODEL_MAC_GUID0);
	assert_true(s[0].attr.max_qp > 0 && s[0].attr.max_cqe > 0 && s[0].attr.max_mr > 0);
	assert_true(s[0].attr.max_qp_rd_atom > 0 && s[0].attr.max_qp_init_rd_atom > 0);
	assert_int_equal(ibv_query_device_ex(ctx, NULL, &ax), 0); /* the legacy path */
	assert_int_equal(ax.orig_attr.max_qp, s[0].attr.max_qp);

	assert_int_equal(ibv_query_port(ctx, 1, &pa), 0);
	assert_int_equal(pa.state, IBV_PORT_ACTIVE);
	assert_int_equal(pa.link_layer, IBV_LINK_LAYER_ETHERNET);
	assert_true(pa.active_mtu >= IBV_MTU_1024);
	assert_true(pa.gid_tbl_len > 0 && pa.max_msg_sz > 0);
	assert_int_equal(pa.pkey_tbl_len, 1);
	assert_int_equal(pa.lid, 0);
	assert_int_not_equal(ibv_query_port(ctx, 2, &pa), 0);

	/* GID 0: fe80::EUI-64 of the MAC, which is the node GUID. */
	assert_int_equal(s[0].gid.raw[0], 0xfe);
	assert_int_equal(s[0].gid.raw[1], 0x80);
	assert_memory_equal(&s[0].gid.global.interface_id, &s[0].attr.node_guid, 8);
	assert_int_equal(ibv_query_gid_ex(ctx, 1, 0, &e, 0), 0);
	assert_int_equal(e.gid_type, IBV_GID_TYPE_ROCE_V2);
	assert_memory_equal(e.gid.raw, s[0].gid.raw, 16);
	assert_int_equal(ibv_query_gid_ex(ctx, 1, 0, &e, 1), EINVAL);

	assert_int_equal(ibv_query_pkey(ctx, 1, 0, &pkey), 0);
	assert_int_equal(be16toh(pkey), 0xffff);
	assert_int_not_equal(ibv_query_pkey(ctx, 1, 1, &pkey), 0);
	assert_int_equal(ibv_get_pkey_index(ctx, 1, htobe16(0xffff)), 0);
}

static void test_mr(void **state)
{
	struct side *x = &s[0];
	struct ibv_mr *mr;

	assert_ptr_equal(x->mr->addr, x->buf);
	assert_int_equal(x->mr->length, BUF_SIZE);
	assert_ptr_equal(x->mr->pd, x->pd);
	assert_ptr_equal(x->mr->context, x->ctx);
	errno = 0;
	assert_null(
		ibv_reg_mr(x->pd, x->buf, 4096, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_ZERO_BASED));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_null(ibv_reg_mr_iova(x->pd, x->buf, 4096, 0x1000, IBV_ACCESS_LOCAL_WRITE));
	assert_int_equal(errno, EOPNOTSUPP);
	/* An optional-range flag is a hint: accepted. */
	mr = ibv_reg_mr(x->pd, x->buf, 4096, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_RELAXED_ORDERING);
	assert_non_null(mr);
	assert_int_equal(ibv_dealloc_pd(x->pd), EBUSY);
	assert_int_equal(ibv_dereg_mr(mr), 0);
}

static void test_unsupported(void **state)
{
	struct side *x = &s[0];
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 16, .max_sge = 1 } };
	struct ibv_qp_init_attr qa = { .send_cq = x->cq,
				       .recv_cq = x->cq,
				       .qp_type = IBV_QPT_UC,
				       .cap = { .max_send_wr = 1, .max_recv_wr = 1 } };
	struct ibv_cq_init_attr_ex ca = { .cqe = 16 };
	struct ibv_async_event ev;
	struct ibv_qp *qp;

	assert_null(ibv_create_srq(x->pd, &sa));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_null(ibv_create_qp(x->pd, &qa));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_null(ibv_create_cq_ex(x->ctx, &ca));
	assert_int_equal(errno, EOPNOTSUPP);
	qp = create_qp(x, IBV_QPT_RC);
	assert_null(ibv_qp_to_qp_ex(qp));
	assert_int_equal(ibv_destroy_qp(qp), 0);
	/* More inline data than a WQE holds: the QP gets what there is, and says so. */
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_inline_data = 100000;
	qp = ibv_create_qp(x->pd, &qa);
	assert_non_null(qp);
	assert_true(qa.cap.max_inline_data > 0 && qa.cap.max_inline_data < 100000);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	/* Nothing happened to the port: a non-blocking look finds no event. */
	assert_int_equal(fcntl(x->ctx->async_fd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(ibv_get_async_event(x->ctx, &ev), -1);
	assert_int_equal(errno, EAGAIN);
}

/* ---- RC ------------------------------------------------------------------------------- */

static void test_rc_fields_and_gid(void **state)
{
	struct ibv_qp *qp = create_qp(&s[0], IBV_QPT_RC);
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RTR,
				 .path_mtu = IBV_MTU_1024,
				 .dest_qp_num = 2,
				 .ah_attr = { .dlid = 1, .port_num = 1 } };
	struct ibv_qp_init_attr init;

	assert_ptr_equal(qp->context, s[0].ctx);
	assert_ptr_equal(qp->pd, s[0].pd);
	assert_ptr_equal(qp->send_cq, s[0].cq);
	assert_int_equal(qp->qp_type, IBV_QPT_RC);
	assert_int_equal(qp->state, IBV_QPS_RESET);
	assert_true(qp->qp_num > 1 && qp->qp_num < (1u << 24));
	modify_init(qp);
	/* No GID: RoCE cannot address the peer. */
	assert_int_equal(ibv_modify_qp(qp, &a,
				       IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
					       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
					       IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER),
			 EINVAL);
	assert_int_equal(qp->state, IBV_QPS_INIT);
	assert_int_equal(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_ALT_PATH), EOPNOTSUPP);
	assert_int_equal(ibv_query_qp(qp, &a, IBV_QP_STATE | IBV_QP_CAP, &init), 0);
	assert_int_equal(a.qp_state, IBV_QPS_INIT);
	assert_true(a.cap.max_send_wr >= 64);
	assert_ptr_equal(init.send_cq, s[0].cq);
	assert_int_equal(init.qp_type, IBV_QPT_RC);
	assert_int_equal(ibv_destroy_qp(qp), 0);
}

static void test_rc_ops(void **state)
{
	struct ibv_qp *qa = create_qp(&s[0], IBV_QPT_RC), *qb = create_qp(&s[1], IBV_QPT_RC);
	uint8_t *A = s[0].buf, *B = s[1].buf;
	struct ibv_sge sge;
	struct ibv_send_wr wr;
	struct ibv_qp_attr qattr;
	struct ibv_qp_init_attr init;
	struct ibv_wc wc;
	uint64_t *atom;

	drain_cqs();
	modify_init(qa);
	modify_init(qb);
	connect_rc(qa, &s[1].gid, qb->qp_num);
	connect_rc(qb, &s[0].gid, qa->qp_num);
	assert_int_equal(ibv_query_qp(qa, &qattr, IBV_QP_STATE | IBV_QP_AV, &init), 0);
	assert_int_equal(qattr.qp_state, IBV_QPS_RTS);
	assert_int_equal(qattr.dest_qp_num, qb->qp_num);
	assert_int_equal(qattr.ah_attr.is_global, 1);
	assert_memory_equal(qattr.ah_attr.grh.dgid.raw, s[1].gid.raw, 16);

	/* SEND with immediate, A -> B. */
	for (int i = 0; i < 1000; i++)
		A[i] = (uint8_t)(i * 7 + 1);
	post_recv(qb, &s[1], 8192, 2000, 11);
	sge = (struct ibv_sge){ (uintptr_t)A, 1000, s[0].mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 1,
				   .sg_list = &sge,
				   .num_sge = 1,
				   .opcode = IBV_WR_SEND_WITH_IMM,
				   .send_flags = IBV_SEND_SIGNALED,
				   .imm_data = htobe32(0xabcd1234) };
	assert_int_equal(post_send(qa, &wr), 0);
	poll_ok(s[0].cq, IBV_WC_SEND, 1);
	wc = poll_ok(s[1].cq, IBV_WC_RECV, 11);
	assert_int_equal(wc.byte_len, 1000);
	assert_true(wc.wc_flags & IBV_WC_WITH_IMM);
	assert_int_equal(be32toh(wc.imm_data), 0xabcd1234);
	assert_int_equal(wc.qp_num, qb->qp_num);
	assert_memory_equal(B + 8192, A, 1000);

	/* RDMA WRITE of 3000 bytes (several packets), then READ it back. */
	for (int i = 0; i < 3000; i++)
		A[4096 + i] = (uint8_t)(i ^ 0x5a);
	sge = (struct ibv_sge){ (uintptr_t)A + 4096, 3000, s[0].mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 2,
				   .sg_list = &sge,
				   .num_sge = 1,
				   .opcode = IBV_WR_RDMA_WRITE,
				   .send_flags = IBV_SEND_SIGNALED,
				   .wr.rdma = { (uintptr_t)B + 16384, s[1].mr->rkey } };
	assert_int_equal(post_send(qa, &wr), 0);
	poll_ok(s[0].cq, IBV_WC_RDMA_WRITE, 2);
	assert_memory_equal(B + 16384, A + 4096, 3000);
	sge = (struct ibv_sge){ (uintptr_t)A + 32768, 3000, s[0].mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 3,
				   .sg_list = &sge,
				   .num_sge = 1,
				   .opcode = IBV_WR_RDMA_READ,
				   .send_flags = IBV_SEND_SIGNALED,
				   .wr.rdma = { (uintptr_t)B + 16384, s[1].mr->rkey } };
	assert_int_equal(post_send(qa, &wr), 0);
	wc = poll_ok(s[0].cq, IBV_WC_RDMA_READ, 3);
	assert_memory_equal(A + 32768, A + 4096, 3000);

	/* Atomics on an 8-byte word of B. */
	atom = (uint64_t *)(B + 40960);
	*atom = 5;
	sge = (struct ibv_sge){ (uintptr_t)A + 40960, 8, s[0].mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 4,
				   .sg_list = &sge,
				   .num_sge = 1,
				   .opcode = IBV_WR_ATOMIC_FETCH_AND_ADD,
				   .send_flags = IBV_SEND_SIGNALED,
				   .wr.atomic = { (uintptr_t)atom, 10, 0, s[1].mr->rkey } };
	assert_int_equal(post_send(qa, &wr), 0);
	poll_ok(s[0].cq, IBV_WC_FETCH_ADD, 4);
	assert_int_equal(*(uint64_t *)(A + 40960), 5);
	assert_int_equal(*atom, 15);
	wr.wr_id = 5;
	wr.opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
	wr.wr.atomic.compare_add = 15;
	wr.wr.atomic.swap = 99;
	assert_int_equal(post_send(qa, &wr), 0);
	poll_ok(s[0].cq, IBV_WC_COMP_SWAP, 5);
	assert_int_equal(*(uint64_t *)(A + 40960), 15);
	assert_int_equal(*atom, 99);

	/* Inline and selective signalling: 20 unsignaled sends, then a signaled one. */
	for (int i = 0; i < 21; i++)
		post_recv(qb, &s[1], 49152 + 64 * (size_t)i, 64, 100 + (uint64_t)i);
	for (int i = 0; i < 21; i++) {
		char msg[32];

		snprintf(msg, sizeof(msg), "inline message %02d", i);
		sge = (struct ibv_sge){ (uintptr_t)msg, (uint32_t)strlen(msg) + 1, 0 };
		wr = (struct ibv_send_wr){ .wr_id = 200 + (uint64_t)i,
					   .sg_list = &sge,
					   .num_sge = 1,
					   .opcode = IBV_WR_SEND,
					   .send_flags = IBV_SEND_INLINE |
							 (i == 20 ? IBV_SEND_SIGNALED : 0) };
		assert_int_equal(post_send(qa, &wr), 0);
	}
	poll_ok(s[0].cq, IBV_WC_SEND, 220);
	for (int i = 0; i < 21; i++) {
		char want[32];

		poll_ok(s[1].cq, IBV_WC_RECV, 100 + (uint64_t)i);
		snprintf(want, sizeof(want), "inline message %02d", i);
		assert_string_equal((char *)B + 49152 + 64 * i, want);
	}
	assert_int_equal(ibv_poll_cq(s[0].cq, 1, &wc), 0); /* the unsignaled made none */

	/* A bad opcode is refused at posting, with bad_wr set. */
	{
		struct ibv_send_wr *bad = NULL;

		wr = (struct ibv_send_wr){ .wr_id = 9, .opcode = IBV_WR_BIND_MW };
		assert_int_equal(ibv_post_send(qa, &wr, &bad), EINVAL);
		assert_ptr_equal(bad, &wr);
	}
	assert_int_equal(ibv_destroy_qp(qa), 0);
	assert_int_equal(ibv_destroy_qp(qb), 0);
}

/* ---- completion events ------------------------------------------------------------------ */

static void test_events(void **state)
{
	struct ibv_comp_channel *ch = ibv_create_comp_channel(s[1].ctx);
	struct ibv_cq *cq, *ev_cq;
	struct ibv_qp *qa, *qb;
	struct ibv_qp_init_attr init;
	struct ibv_ah_attr aa = { .is_global = 1,
				  .grh = { .dgid = s[1].gid, .hop_limit = 64 },
				  .port_num = 1 };
	struct ibv_ah *ah;
	struct ibv_sge sge;
	struct ibv_send_wr wr;
	void *ev_ctx;
	int cookie;

	drain_cqs();
	assert_non_null(ch);
	assert_ptr_equal(ch->context, s[1].ctx);
	cq = ibv_create_cq(s[1].ctx, 16, &cookie, ch, 0);
	assert_non_null(cq);
	assert_ptr_equal(cq->channel, ch);
	assert_int_equal(ibv_destroy_comp_channel(ch), EBUSY);
	init = (struct ibv_qp_init_attr){
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_UD, .cap = { 4, 4, 1, 1, 0 }
	};
	qb = ibv_create_qp(s[1].pd, &init);
	assert_non_null(qb);
	qa = create_qp(&s[0], IBV_QPT_UD);
	ud_ready(qa);
	ud_ready(qb);
	ah = ibv_create_ah(s[0].pd, &aa);
	assert_non_null(ah);

	/* Non-blocking and nothing armed: no event. */
	assert_int_equal(fcntl(ch->fd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(ibv_get_cq_event(ch, &ev_cq, &ev_ctx), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(fcntl(ch->fd, F_SETFL, 0), 0);

	assert_int_equal(ibv_req_notify_cq(cq, 0), 0);
	post_recv(qb, &s[1], 0, 40 + 64, 7);
	sge = (struct ibv_sge){ (uintptr_t)s[0].buf, 16, s[0].mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 8,
				   .sg_list = &sge,
				   .num_sge = 1,
				   .opcode = IBV_WR_SEND,
				   .send_flags = IBV_SEND_SIGNALED,
				   .wr.ud = { ah, qb->qp_num, 0x11111111 } };
	assert_int_equal(post_send(qa, &wr), 0);
	assert_int_equal(ibv_get_cq_event(ch, &ev_cq, &ev_ctx), 0); /* blocks until it comes */
	assert_ptr_equal(ev_cq, cq);
	assert_ptr_equal(ev_ctx, &cookie);
	ibv_ack_cq_events(cq, 1);
	assert_int_equal(cq->comp_events_completed, 1);
	poll_ok(cq, IBV_WC_RECV, 7);
	poll_ok(s[0].cq, IBV_WC_SEND, 8);

	assert_int_equal(ibv_destroy_ah(ah), 0);
	assert_int_equal(ibv_destroy_qp(qa), 0);
	assert_int_equal(ibv_destroy_qp(qb), 0);
	assert_int_equal(ibv_destroy_cq(cq), 0);
	assert_int_equal(ibv_destroy_comp_channel(ch), 0);
}

/* ---- UD ---------------------------------------------------------------------------------- */

static void test_ud(void **state)
{
	struct ibv_qp *qa = create_qp(&s[0], IBV_QPT_UD), *qb = create_qp(&s[1], IBV_QPT_UD);
	struct ibv_ah_attr aa = { .is_global = 1,
				  .grh = { .dgid = s[1].gid, .hop_limit = 64 },
				  .port_num = 1 };
	struct ibv_ah *ah, *reply;
	struct ibv_sge sge;
	struct ibv_send_wr wr;
	struct ibv_wc wc;

	drain_cqs();
	ud_ready(qa);
	ud_ready(qb);
	aa.is_global = 0;
	assert_null(ibv_create_ah(s[0].pd, &aa));
	assert_int_equal(errno, EINVAL);
	aa.is_global = 1;
	ah = ibv_create_ah(s[0].pd, &aa);
	assert_non_null(ah);
	assert_ptr_equal(ah->context, s[0].ctx);

	for (int i = 0; i < 256; i++)
		s[0].buf[i] = (uint8_t)(255 - i);
	post_recv(qb, &s[1], 0, 40 + 512, 21); /* a GRH's 40 bytes lead the data */
	sge = (struct ibv_sge){ (uintptr_t)s[0].buf, 256, s[0].mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 22,
				   .sg_list = &sge,
				   .num_sge = 1,
				   .opcode = IBV_WR_SEND,
				   .send_flags = IBV_SEND_SIGNALED,
				   .wr.ud = { ah, qb->qp_num, 0x11111111 } };
	assert_int_equal(post_send(qa, &wr), 0);
	poll_ok(s[0].cq, IBV_WC_SEND, 22);
	wc = poll_ok(s[1].cq, IBV_WC_RECV, 21);
	assert_int_equal(wc.byte_len, 40 + 256);
	assert_int_equal(wc.src_qp, qa->qp_num);
	assert_true(wc.wc_flags & IBV_WC_GRH);
	assert_memory_equal(s[1].buf + 40, s[0].buf, 256);

	/* The receiver answers the sender found in the GRH. */
	reply = ibv_create_ah_from_wc(s[1].pd, &wc, (struct ibv_grh *)s[1].buf, 1);
	assert_non_null(reply);
	post_recv(qa, &s[0], 4096, 40 + 512, 23);
	sge = (struct ibv_sge){ (uintptr_t)s[1].buf + 40, 100, s[1].mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 24,
				   .sg_list = &sge,
				   .num_sge = 1,
				   .opcode = IBV_WR_SEND,
				   .send_flags = IBV_SEND_SIGNALED,
				   .wr.ud = { reply, qa->qp_num, 0x11111111 } };
	assert_int_equal(post_send(qb, &wr), 0);
	poll_ok(s[1].cq, IBV_WC_SEND, 24);
	wc = poll_ok(s[0].cq, IBV_WC_RECV, 23);
	assert_int_equal(wc.src_qp, qb->qp_num);
	assert_memory_equal(s[0].buf + 4096 + 40, s[0].buf, 100);

	assert_int_equal(ibv_destroy_ah(reply), 0);
	assert_int_equal(ibv_destroy_ah(ah), 0);
	assert_int_equal(ibv_destroy_qp(qa), 0);
	assert_int_equal(ibv_destroy_qp(qb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_list),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_mr),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_rc_fields_and_gid),
		cmocka_unit_test(test_rc_ops),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_ud),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
