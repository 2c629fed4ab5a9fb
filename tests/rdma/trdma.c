/* SPDX-License-Identifier: MIT */
/*
 * The facet_rdma test harness (see trdma.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "trdma.h"

void trdma_env_start(struct trdma_env *env)
{
	memset(env, 0, sizeof(*env));
	teth_plugin_add("facet_rdma_refnic.so");
	teth_env_start(&env->eth);
	for (unsigned int i = 0; i < TETH_DEVS; i++) {
		snprintf(env->name[i], sizeof(env->name[i]), "refnic.rdma.%u",
			 facet_bus_device_id(env->eth.pci[i]));
		env->dev[i] = facet_rdma_dev_get(env->eth.bus, env->name[i]);
		if (!env->dev[i])
			fail_msg("no RDMA device %s (the refnic_rdma plugin did not bind)",
				 env->name[i]);
	}
}

void trdma_env_stop(struct trdma_env *env)
{
	for (unsigned int i = 0; i < TETH_DEVS; i++)
		facet_rdma_dev_put(env->dev[i]);
	teth_env_stop(&env->eth);
}

void trdma_side_init(struct trdma_side *s, struct facet_rdma_dev *dev, enum facet_rdma_qp_type type,
		     size_t len, uint32_t access)
{
	trdma_side_init_ex(s, dev, type, len, access, NULL);
}

void trdma_side_init_ex(struct trdma_side *s, struct facet_rdma_dev *dev,
			enum facet_rdma_qp_type type, size_t len, uint32_t access,
			struct facet_rdma_comp_channel *ch)
{
	struct facet_rdma_qp_init_attr init = {
		.qp_type = type,
		.cap = { .max_send_wr = 64,
			 .max_recv_wr = 64,
			 .max_send_sge = 2,
			 .max_recv_sge = 2 },
	};

	memset(s, 0, sizeof(*s));
	s->dev = dev;
	s->len = len;
	assert_int_equal(facet_rdma_pd_alloc(dev, &s->pd), 0);
	assert_int_equal(facet_rdma_cq_create(dev,
					      &(struct facet_rdma_cq_init){
						      .cqe = 256, .cq_context = s, .channel = ch },
					      &s->cq),
			 0);
	init.send_cq = s->cq;
	init.recv_cq = s->cq;
	assert_int_equal(facet_rdma_qp_create(s->pd, &init, &s->qp), 0);
	assert_true(init.cap.max_send_wr >= 64);
	s->buf = malloc(len);
	assert_non_null(s->buf);
	memset(s->buf, 0, len);
	assert_int_equal(facet_rdma_mr_reg(s->pd, s->buf, len, access, &s->mr), 0);
	assert_int_equal(facet_rdma_query_gid(dev, 1, 0, &s->gid, NULL), 0);
}

void trdma_side_fini(struct trdma_side *s)
{
	assert_int_equal(facet_rdma_qp_destroy(s->qp), 0);
	assert_int_equal(facet_rdma_mr_dereg(s->mr), 0);
	assert_int_equal(facet_rdma_cq_destroy(s->cq), 0);
	assert_int_equal(facet_rdma_pd_free(s->pd), 0);
	free(s->buf);
}

static void to_init(struct trdma_side *s, uint32_t qkey)
{
	struct facet_rdma_qp_attr a = {
		.qp_state = FACET_RDMA_QPS_INIT,
		.port_num = 1,
		.pkey_index = 0,
		.qkey = qkey,
		.qp_access_flags = FACET_RDMA_ACCESS_REMOTE_WRITE | FACET_RDMA_ACCESS_REMOTE_READ |
				   FACET_RDMA_ACCESS_REMOTE_ATOMIC,
	};
	uint32_t mask = FACET_RDMA_QP_STATE | FACET_RDMA_QP_PORT | FACET_RDMA_QP_PKEY_INDEX;

	mask |= qkey ? FACET_RDMA_QP_QKEY : FACET_RDMA_QP_ACCESS_FLAGS;
	assert_int_equal(facet_rdma_qp_modify(s->qp, &a, mask), 0);
}

static void to_rtr_rts(struct trdma_side *s, struct trdma_side *peer)
{
	struct facet_rdma_qp_attr a = {
		.qp_state = FACET_RDMA_QPS_RTR,
		.path_mtu = FACET_RDMA_MTU_1024,
		.dest_qp_num = facet_rdma_qp_num(peer->qp),
		.rq_psn = 100,
		.max_dest_rd_atomic = 4,
		.min_rnr_timer = 1,
		.ah_attr = { .dgid = peer->gid, .sgid_index = 0, .hop_limit = 64, .port_num = 1 },
	};

	assert_int_equal(facet_rdma_qp_modify(
				 s->qp, &a,
				 FACET_RDMA_QP_STATE | FACET_RDMA_QP_AV | FACET_RDMA_QP_PATH_MTU |
					 FACET_RDMA_QP_DEST_QPN | FACET_RDMA_QP_RQ_PSN |
					 FACET_RDMA_QP_MAX_DEST_RD_ATOMIC |
					 FACET_RDMA_QP_MIN_RNR_TIMER),
			 0);
	a = (struct facet_rdma_qp_attr){
		.qp_state = FACET_RDMA_QPS_RTS,
		.sq_psn = 100,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = 4,
	};
	assert_int_equal(facet_rdma_qp_modify(
				 s->qp, &a,
				 FACET_RDMA_QP_STATE | FACET_RDMA_QP_SQ_PSN |
					 FACET_RDMA_QP_TIMEOUT | FACET_RDMA_QP_RETRY_CNT |
					 FACET_RDMA_QP_RNR_RETRY | FACET_RDMA_QP_MAX_QP_RD_ATOMIC),
			 0);
}

void trdma_connect(struct trdma_side *a, struct trdma_side *b)
{
	to_init(a, 0);
	to_init(b, 0);
	to_rtr_rts(a, b);
	to_rtr_rts(b, a);
	assert_int_equal(facet_rdma_qp_state(a->qp), FACET_RDMA_QPS_RTS);
}

void trdma_ud_ready(struct trdma_side *s, uint32_t qkey)
{
	struct facet_rdma_qp_attr a = { .qp_state = FACET_RDMA_QPS_RTR };

	to_init(s, qkey);
	assert_int_equal(facet_rdma_qp_modify(s->qp, &a, FACET_RDMA_QP_STATE), 0);
	a = (struct facet_rdma_qp_attr){ .qp_state = FACET_RDMA_QPS_RTS, .sq_psn = 7 };
	assert_int_equal(
		facet_rdma_qp_modify(s->qp, &a, FACET_RDMA_QP_STATE | FACET_RDMA_QP_SQ_PSN), 0);
}

int trdma_poll(struct facet_rdma_cq *cq, int n, struct facet_rdma_wc *wc, unsigned int ms)
{
	uint64_t deadline = teth_now_ms() + ms;
	int got = 0;

	while (got < n) {
		int r = facet_rdma_poll_cq(cq, n - got, wc + got);

		assert_true(r >= 0);
		got += r;
		if (r)
			continue;
		if (teth_now_ms() > deadline)
			break;
		usleep(20);
	}
	return got;
}

void trdma_expect(struct facet_rdma_cq *cq, uint64_t wr_id, enum facet_rdma_wc_status status,
		  enum facet_rdma_wc_opcode opcode, struct facet_rdma_wc *out)
{
	struct facet_rdma_wc wc;

	if (trdma_poll(cq, 1, &wc, 5000) != 1)
		fail_msg("no completion for wr_id %llu in 5 s", (unsigned long long)wr_id);
	if (wc.wr_id != wr_id || wc.status != (uint32_t)status || wc.opcode != (uint32_t)opcode)
		fail_msg("completion wr_id %llu status %u (%s) opcode %u vendor_err %u; expected "
			 "wr_id %llu status %u opcode %u",
			 (unsigned long long)wc.wr_id, wc.status,
			 facet_rdma_wc_status_str(wc.status), wc.opcode, wc.vendor_err,
			 (unsigned long long)wr_id, status, opcode);
	if (out)
		*out = wc;
}

void trdma_post_recv(struct trdma_side *s, uint64_t wr_id, size_t off, uint32_t len)
{
	struct facet_rdma_sge sge = {
		.addr = (uintptr_t)s->buf + off,
		.length = len,
		.lkey = facet_rdma_mr_lkey(s->mr),
	};
	struct facet_rdma_recv_wr wr = { .wr_id = wr_id, .sg_list = &sge, .num_sge = 1 };
	struct facet_rdma_recv_wr *bad = NULL;

	assert_int_equal(facet_rdma_post_recv(s->qp, &wr, &bad), 0);
}
