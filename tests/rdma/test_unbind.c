/* SPDX-License-Identifier: MIT */
/*
 * Unbind and rebind the RDMA slice of one device while the application holds
 * objects on it and the Ethernet slice beside it stays bound with its port
 * started: the application's handles are detached (control calls and the
 * datapath say -ENODEV, destroy only releases them), the objects are gone
 * from the device and the DMA space (mapping count back to the driver's
 * baseline), the registered memory keeps its contents, and after the rebind
 * a new device under the same name carries traffic again. And the device
 * dying under the application (its model process killed).
 *
 *   test_rdma_unbind FACET_REFNIC_EXE PLUGIN_DIR
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

#include "facet_bus.h"
#include "facet_core_bus.h"
#include "trdma.h"

#define ROUNDS 10

static struct trdma_env env;

static int setup(void **state)
{
	trdma_env_start(&env);
	return 0;
}

static int teardown(void **state)
{
	trdma_env_stop(&env);
	return 0;
}

/* One SEND over a fresh pair between the two devices. */
static void exchange(struct facet_rdma_dev *d0, struct facet_rdma_dev *d1, uint32_t seq)
{
	struct trdma_side x, y;
	struct facet_rdma_sge sge;
	struct facet_rdma_send_wr wr, *bad;
	struct facet_rdma_wc wc;

	trdma_side_init(&x, d0, FACET_RDMA_QPT_RC, 4096, FACET_RDMA_ACCESS_LOCAL_WRITE);
	trdma_side_init(&y, d1, FACET_RDMA_QPT_RC, 4096, FACET_RDMA_ACCESS_LOCAL_WRITE);
	trdma_connect(&x, &y);
	trdma_post_recv(&y, seq, 0, 4096);
	memcpy(x.buf, &seq, sizeof(seq));
	sge = (struct facet_rdma_sge){ .addr = (uintptr_t)x.buf,
				       .length = 1000,
				       .lkey = facet_rdma_mr_lkey(x.mr) };
	wr = (struct facet_rdma_send_wr){ .wr_id = seq,
					  .sg_list = &sge,
					  .num_sge = 1,
					  .opcode = FACET_RDMA_WR_SEND,
					  .send_flags = FACET_RDMA_SEND_SIGNALED };
	assert_int_equal(facet_rdma_post_send(x.qp, &wr, &bad), 0);
	trdma_expect(x.cq, seq, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_SEND, NULL);
	trdma_expect(y.cq, seq, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RECV, &wc);
	assert_int_equal(wc.byte_len, 1000);
	assert_memory_equal(y.buf, &seq, sizeof(seq));
	trdma_side_fini(&x);
	trdma_side_fini(&y);
}

static void test_unbind_with_objects(void **state)
{
	struct facet_core_dev *pci = facet_core_bus_device(env.eth.pci[0]);
	struct facet_pktbuf_pool *pool;
	unsigned int baseline;

	/* The Ethernet sibling is up the whole time. */
	teth_port_up(env.eth.port[0], 1, 1, 128, 512, &pool);
	baseline = facet_core_dma_count(pci);

	for (uint32_t round = 0; round < ROUNDS; round++) {
		struct facet_rdma_send_wr swr = { .opcode = FACET_RDMA_WR_SEND }, *sbad = NULL;
		struct facet_rdma_recv_wr rwr = { 0 }, *rbad = NULL;
		struct facet_rdma_qp_attr qa;
		struct facet_rdma_wc wc;
		struct trdma_side s;
		struct facet_rdma_dev *old = env.dev[0];

		trdma_side_init(&s, old, FACET_RDMA_QPT_RC, 3 * 4096,
				FACET_RDMA_ACCESS_LOCAL_WRITE);
		memset(s.buf, (int)round, s.len);
		assert_true(facet_core_dma_count(pci) > baseline);

		assert_int_equal(facet_bus_unbind(env.eth.bus, env.name[0]), 0);
		/* Detached, not dangling */
		assert_false(facet_rdma_dev_is_attached(old));
		assert_null(facet_rdma_dev_get(env.eth.bus, env.name[0]));
		assert_int_equal(facet_rdma_post_send(s.qp, &swr, &sbad), -ENODEV);
		assert_ptr_equal(sbad, &swr);
		assert_int_equal(facet_rdma_post_recv(s.qp, &rwr, &rbad), -ENODEV);
		assert_int_equal(facet_rdma_poll_cq(s.cq, 1, &wc), -ENODEV);
		assert_int_equal(facet_rdma_qp_query(s.qp, &qa, 0, NULL), -ENODEV);
		assert_int_equal(facet_rdma_query_port(old, 1, &(struct facet_rdma_port_attr){ 0 }),
				 -ENODEV);
		/* Everything left the DMA space; the memory is still the application's */
		assert_int_equal(facet_core_dma_count(pci), baseline - 1); /* the driver's buffer */
		for (size_t i = 0; i < s.len; i++)
			assert_int_equal(s.buf[i], (uint8_t)round);
		trdma_side_fini(&s);
		facet_rdma_dev_put(old);

		/* The sibling never noticed */
		assert_true(facet_eth_port_is_attached(env.eth.port[0]));
		assert_true(facet_eth_is_started(env.eth.port[0]));

		assert_int_equal(facet_bus_bind(env.eth.bus, env.name[0], NULL), 0);
		env.dev[0] = facet_rdma_dev_get(env.eth.bus, env.name[0]);
		assert_non_null(env.dev[0]);
		assert_int_equal(facet_core_dma_count(pci), baseline);
	}
	/* The new device works */
	exchange(env.dev[0], env.dev[1], 4242);
	exchange(env.dev[1], env.dev[0], 4243);
	teth_port_down(env.eth.port[0], pool);
}

/*
 * The model process dies under a connected QP pair, with an armed CQ on a
 * completion channel: every call answers at once (nothing hangs or
 * crashes), the control calls and the port query with -ENODEV, a wait for
 * a completion event ends, and the application's objects are released
 * (the sanitizer build checks for leaks).
 */
static void test_dead_model(void **state)
{
	struct facet_rdma_qp_attr qa = { .qp_state = FACET_RDMA_QPS_ERR };
	struct facet_rdma_send_wr wr = { .opcode = FACET_RDMA_WR_SEND }, *bad = NULL;
	struct facet_rdma_comp_channel *ch;
	struct facet_rdma_port_attr pa;
	struct facet_rdma_wc wc;
	struct facet_rdma_pd *pd;
	struct facet_rdma_cq *cq, *ev_cq;
	struct facet_rdma_mr *mr;
	union facet_rdma_gid gid;
	struct trdma_side a, b;
	void *ev_ctx;
	uint64_t t0;
	int rc;

	assert_int_equal(facet_rdma_comp_channel_create(env.dev[0], &ch), 0);
	trdma_side_init_ex(&a, env.dev[0], FACET_RDMA_QPT_RC, 4096, FACET_RDMA_ACCESS_LOCAL_WRITE,
			   ch);
	trdma_side_init(&b, env.dev[1], FACET_RDMA_QPT_RC, 4096, FACET_RDMA_ACCESS_LOCAL_WRITE);
	trdma_connect(&a, &b);
	assert_int_equal(facet_rdma_req_notify_cq(a.cq, false), 0);
	teth_model_kill(&env.eth);
	t0 = teth_now_ms();

	/* The datapath returns at once (it need not notice) */
	rc = facet_rdma_post_send(a.qp, &wr, &bad);
	assert_true(rc == 0 || rc == -ENODEV);
	rc = facet_rdma_poll_cq(a.cq, 1, &wc);
	assert_true(rc == 0 || rc == -ENODEV);
	/* ... but a program polling for a completion that cannot come gets an error. */
	for (int i = 0; i < 100000 && rc == 0; i++)
		rc = facet_rdma_poll_cq(a.cq, 1, &wc);
	assert_int_equal(rc, -ENODEV);
	assert_int_equal(facet_rdma_get_cq_event(ch, 0, &ev_cq, &ev_ctx), -EAGAIN);

	assert_int_equal(facet_rdma_query_port(env.dev[0], 1, &pa), -ENODEV);
	assert_int_equal(facet_rdma_query_gid(env.dev[0], 1, 0, &gid, NULL), -ENODEV);
	assert_int_equal(facet_rdma_qp_modify(a.qp, &qa, FACET_RDMA_QP_STATE), -ENODEV);
	assert_int_equal(facet_rdma_pd_alloc(env.dev[0], &pd), -ENODEV);
	assert_int_equal(
		facet_rdma_cq_create(env.dev[0], &(struct facet_rdma_cq_init){ .cqe = 16 }, &cq),
		-ENODEV);
	assert_int_equal(facet_rdma_mr_reg(a.pd, a.buf, a.len, FACET_RDMA_ACCESS_LOCAL_WRITE, &mr),
			 -ENODEV);

	/* Everything is released, in the usual order */
	trdma_side_fini(&a);
	trdma_side_fini(&b);
	assert_int_equal(facet_rdma_comp_channel_destroy(ch), 0);
	assert_true(teth_now_ms() - t0 < 2000);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unbind_with_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_model, setup, teardown),
	};

	teth_args(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
