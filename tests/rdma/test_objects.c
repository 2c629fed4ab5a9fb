/* SPDX-License-Identifier: MIT */
/*
 * facet_rdma control path on real parts (the facet-refnic process, the
 * refnic core and RDMA plugins autoloaded): devices found by name, device,
 * port and GID queries, the PD/MR/CQ/QP/AH life cycle with its reference
 * rules, MR registration of malloc'ed memory (contents and addresses kept,
 * pages back to private memory after deregistration), QP state
 * transitions through the native API, with a transition the device refuses,
 * and which states the queues take work requests in.
 *
 *   test_rdma_objects FACET_REFNIC_EXE PLUGIN_DIR
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "trdma.h"

static struct trdma_env env;

static int group_setup(void **state)
{
	trdma_env_start(&env);
	return 0;
}

static int group_teardown(void **state)
{
	trdma_env_stop(&env);
	return 0;
}

static int count_dev(struct facet_rdma_dev *dev, void *arg)
{
	(*(unsigned int *)arg)++;
	return 0;
}

static void test_find(void **state)
{
	unsigned int n = 0;
	struct facet_rdma_dev *d;

	assert_string_equal(facet_rdma_dev_name(env.dev[0]), env.name[0]);
	assert_true(facet_rdma_dev_is_attached(env.dev[0]));
	assert_int_equal(facet_rdma_dev_for_each(env.eth.bus, count_dev, &n), 0);
	assert_int_equal(n, 2);
	assert_null(facet_rdma_dev_get(env.eth.bus, "refnic.rdma.999"));
	assert_null(facet_rdma_dev_get(env.eth.bus, env.eth.name[0])); /* an eth slice */
	d = facet_rdma_dev_get(NULL, env.name[1]);
	assert_ptr_equal(d, env.dev[1]);
	facet_rdma_dev_put(d);
}

static void test_query(void **state)
{
	struct facet_rdma_dev_attr da;
	struct facet_rdma_port_attr pa;
	enum facet_rdma_gid_type type;
	union facet_rdma_gid gid, ip;
	uint8_t eui[8];

	assert_int_equal(facet_rdma_query_device(env.dev[0], &da), 0);
	assert_string_equal(da.driver, "refnic_rdma");
	assert_int_equal(da.vendor_id, 0x1fac);
	assert_int_equal(da.phys_port_cnt, 1);
	assert_true(da.max_qp > 0 && da.max_cq > 0 && da.max_pd > 0 && da.max_mr > 0);
	assert_true(da.max_qp_wr >= 64 && da.max_cqe >= 256);
	assert_true(da.max_send_sge >= 1 && da.max_recv_sge >= 1);
	assert_int_equal(da.max_inline_data, 64);
	assert_true(da.max_qp_rd_atom > 0 && da.max_qp_init_rd_atom > 0);
	assert_memory_equal(da.mac, env.eth.mac[0], 6);
	/* node GUID: EUI-64 of the MAC, network order */
	memcpy(eui, &da.node_guid, 8);
	assert_int_equal(eui[0], env.eth.mac[0][0] ^ 2);
	assert_int_equal(eui[3], 0xff);
	assert_int_equal(eui[4], 0xfe);
	assert_int_equal(eui[7], env.eth.mac[0][5]);

	assert_int_equal(facet_rdma_query_port(env.dev[0], 1, &pa), 0);
	assert_int_equal(pa.state, FACET_RDMA_PORT_ACTIVE);
	assert_int_equal(pa.link_layer, FACET_RDMA_LINK_LAYER_ETHERNET);
	assert_true(pa.active_mtu >= FACET_RDMA_MTU_1024 && pa.active_mtu <= pa.max_mtu);
	assert_true(pa.gid_tbl_len >= 2);
	assert_int_equal(facet_rdma_query_port(env.dev[0], 2, &pa), -EINVAL);

	/* GID 0: fe80::EUI-64(MAC), as rxe derives it */
	assert_int_equal(facet_rdma_query_gid(env.dev[0], 1, 0, &gid, &type), 0);
	assert_int_equal(type, FACET_RDMA_GID_TYPE_ROCEV2);
	assert_int_equal(gid.raw[0], 0xfe);
	assert_int_equal(gid.raw[1], 0x80);
	assert_memory_equal(gid.raw + 8, eui, 8);
	assert_int_equal(facet_rdma_query_gid(env.dev[0], 1, pa.gid_tbl_len, &gid, NULL), -EINVAL);

	/* An IPv4 GID at index 1, then cleared */
	facet_rdma_gid_from_ipv4(&ip, 0x0a000001);
	assert_int_equal(facet_rdma_set_gid(env.dev[0], 1, &ip, FACET_RDMA_GID_TYPE_ROCEV2), 0);
	assert_int_equal(facet_rdma_query_gid(env.dev[0], 1, 1, &gid, &type), 0);
	assert_int_equal(type, FACET_RDMA_GID_TYPE_ROCEV2);
	assert_memory_equal(gid.raw, ip.raw, 16);
	assert_int_equal(facet_rdma_set_gid(env.dev[0], 1, NULL, FACET_RDMA_GID_TYPE_NONE), 0);
	assert_int_equal(facet_rdma_query_gid(env.dev[0], 1, 1, &gid, &type), 0);
	assert_int_equal(type, FACET_RDMA_GID_TYPE_NONE);
}

static void test_lifecycle(void **state)
{
	struct facet_rdma_dev *dev = env.dev[0];
	struct facet_rdma_qp_init_attr init = { .qp_type = FACET_RDMA_QPT_RC };
	unsigned int maps = facet_core_dma_count(facet_eth_port_dma_dev(env.eth.port[0]));
	struct facet_rdma_qp_attr qa;
	struct facet_rdma_pd *pd, *pd2;
	struct facet_rdma_cq *scq, *rcq;
	struct facet_rdma_ah *ah;
	struct facet_rdma_mr *mr;
	struct facet_rdma_qp *qp;
	struct facet_rdma_wc wc;
	static char buf[8192];
	union facet_rdma_gid peer;

	assert_int_equal(facet_rdma_pd_alloc(dev, &pd), 0);
	assert_int_equal(facet_rdma_pd_alloc(dev, &pd2), 0);
	assert_ptr_equal(facet_rdma_pd_dev(pd), dev);
	assert_int_equal(
		facet_rdma_mr_reg(pd, buf, sizeof(buf),
				  FACET_RDMA_ACCESS_LOCAL_WRITE | FACET_RDMA_ACCESS_REMOTE_WRITE,
				  &mr),
		0);
	assert_ptr_equal(facet_rdma_mr_addr(mr), buf);
	assert_int_equal(facet_rdma_mr_length(mr), sizeof(buf));
	/* Rights verbs refuses: remote write without local write */
	assert_int_equal(facet_rdma_mr_reg(pd, buf, 16, FACET_RDMA_ACCESS_REMOTE_WRITE, &mr),
			 -EINVAL);

	assert_int_equal(
		facet_rdma_cq_create(dev, &(struct facet_rdma_cq_init){ .cqe = 100 }, &scq), 0);
	assert_true(facet_rdma_cq_size(scq) >= 100);
	assert_int_equal(
		facet_rdma_cq_create(
			dev, &(struct facet_rdma_cq_init){ .cqe = 10, .cq_context = buf }, &rcq),
		0);
	assert_ptr_equal(facet_rdma_cq_context(rcq), buf);
	assert_int_equal(facet_rdma_cq_create(dev, &(struct facet_rdma_cq_init){ .cqe = 0 }, &rcq),
			 -EINVAL);
	assert_int_equal(facet_rdma_poll_cq(scq, 1, &wc), 0);

	init.send_cq = scq;
	init.recv_cq = rcq;
	init.cap = (struct facet_rdma_qp_cap){ .max_send_wr = 100, .max_recv_wr = 3 };
	init.qp_context = &init;
	assert_int_equal(facet_rdma_qp_create(pd, &init, &qp), 0);
	assert_true(init.cap.max_send_wr >= 100 && init.cap.max_recv_wr >= 3);
	assert_int_equal(init.cap.max_send_sge, 1);
	assert_int_equal(init.cap.max_inline_data, 64);
	assert_true(facet_rdma_qp_num(qp) > 1 && facet_rdma_qp_num(qp) < (1u << 24));
	assert_ptr_equal(facet_rdma_qp_context(qp), &init);
	assert_int_equal(facet_rdma_qp_state(qp), FACET_RDMA_QPS_RESET);
	assert_int_equal(facet_rdma_qp_query(qp, &qa, 0, NULL), 0);
	assert_int_equal(qa.qp_state, FACET_RDMA_QPS_RESET);
	assert_int_equal(qa.cap.max_send_wr, init.cap.max_send_wr);

	/* Too much asked */
	init.cap.max_send_sge = 100;
	assert_int_equal(facet_rdma_qp_create(pd, &init, &qp), -EINVAL);
	init.cap.max_send_sge = 1;
	init.qp_type = 3; /* UC */
	assert_int_equal(facet_rdma_qp_create(pd, &init, &qp), -EINVAL);

	/* An AH on a link-local GID: its MAC comes from the GID */
	assert_int_equal(facet_rdma_query_gid(env.dev[1], 1, 0, &peer, NULL), 0);
	assert_int_equal(
		facet_rdma_ah_create(pd2, &(struct facet_rdma_ah_attr){ .dgid = peer }, &ah), 0);

	/* Parents refuse to go while children use them */
	assert_int_equal(facet_rdma_pd_free(pd), -EBUSY);
	assert_int_equal(facet_rdma_pd_free(pd2), -EBUSY);
	assert_int_equal(facet_rdma_cq_destroy(scq), -EBUSY);

	assert_int_equal(facet_rdma_ah_destroy(ah), 0);
	assert_int_equal(facet_rdma_qp_destroy(qp), 0);
	assert_int_equal(facet_rdma_cq_destroy(scq), 0);
	assert_int_equal(facet_rdma_cq_destroy(rcq), 0);
	assert_int_equal(facet_rdma_mr_dereg(mr), 0);
	assert_int_equal(facet_rdma_pd_free(pd), 0);
	assert_int_equal(facet_rdma_pd_free(pd2), 0);
	/* Rings, MRs: nothing left in the DMA space */
	assert_int_equal(facet_core_dma_count(facet_eth_port_dma_dev(env.eth.port[0])), maps);
}

/* The mapping that holds @p: "p" (private) or "s" (shared). */
static char map_kind(const void *p)
{
	unsigned long a = (unsigned long)p, s, e;
	char line[512], perms[5];
	char kind = '?';
	FILE *f = fopen("/proc/self/maps", "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && a >= s && a < e) {
			kind = perms[3];
			break;
		}
	}
	fclose(f);
	return kind;
}

static void test_mr_malloc(void **state)
{
	struct facet_rdma_dev *dev = env.dev[0];
	const size_t len = 3 * 4096 + 100;
	struct facet_rdma_mr *mr, *mr2, *mr3;
	struct facet_rdma_pd *pd;
	uint8_t *a = malloc(len), *b = malloc(200), *big;

	assert_true(a && b);
	for (size_t i = 0; i < len; i++)
		a[i] = (uint8_t)(i * 7 + 3);
	memset(b, 0x5a, 200);
	assert_int_equal(facet_rdma_pd_alloc(dev, &pd), 0);
	assert_int_equal(facet_rdma_mr_reg(pd, a + 1, len - 1, FACET_RDMA_ACCESS_LOCAL_WRITE, &mr),
			 0);
	/* Same pages again (verbs allows overlapping MRs), and a neighbour sharing a page */
	assert_int_equal(facet_rdma_mr_reg(pd, a, 64, FACET_RDMA_ACCESS_LOCAL_WRITE, &mr2), 0);
	assert_int_equal(facet_rdma_mr_reg(pd, b, 200, FACET_RDMA_ACCESS_LOCAL_WRITE, &mr3), 0);
	assert_int_not_equal(facet_rdma_mr_lkey(mr), facet_rdma_mr_lkey(mr2));
	/* Contents and addresses kept; the pages are now shared with the device */
	for (size_t i = 0; i < len; i++)
		assert_int_equal(a[i], (uint8_t)(i * 7 + 3));
	for (size_t i = 0; i < 200; i++)
		assert_int_equal(b[i], 0x5a);
	assert_int_equal(map_kind(a + 4096), 's');
	a[5000] = 1; /* still writable */
	assert_int_equal(facet_rdma_mr_dereg(mr), 0);
	assert_int_equal(map_kind(a + 4096), 'p'); /* no MR over it any more */
	assert_int_equal(facet_rdma_mr_dereg(mr2), 0);
	assert_int_equal(facet_rdma_mr_dereg(mr3), 0);
	assert_int_equal(a[5000], 1);
	for (size_t i = 0; i < len; i++) {
		if (i != 5000)
			assert_int_equal(a[i], (uint8_t)(i * 7 + 3));
	}
	for (size_t i = 0; i < 200; i++)
		assert_int_equal(b[i], 0x5a);
	free(a);
	free(b);

	/* A large anonymous mapping (glibc would mmap it too), registered and freed */
	big = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(big != MAP_FAILED);
	big[12345] = 42;
	assert_int_equal(facet_rdma_mr_reg(pd, big, 1 << 20, FACET_RDMA_ACCESS_LOCAL_WRITE, &mr),
			 0);
	assert_int_equal(big[12345], 42);
	assert_int_equal(facet_rdma_mr_dereg(mr), 0);
	assert_int_equal(big[12345], 42);
	munmap(big, 1 << 20);

	/* Not mapped at all */
	assert_int_equal(facet_rdma_mr_reg(pd, (void *)0x1000, 4096, 0, &mr), -EFAULT);
	assert_int_equal(facet_rdma_pd_free(pd), 0);
}

static void test_qp_states(void **state)
{
	struct trdma_side a, b;
	struct facet_rdma_qp_attr qa;

	trdma_side_init(&a, env.dev[0], FACET_RDMA_QPT_RC, 4096, FACET_RDMA_ACCESS_LOCAL_WRITE);
	trdma_side_init(&b, env.dev[1], FACET_RDMA_QPT_RC, 4096, FACET_RDMA_ACCESS_LOCAL_WRITE);

	/* RESET -> RTS directly: refused, nothing changes */
	qa = (struct facet_rdma_qp_attr){ .qp_state = FACET_RDMA_QPS_RTS };
	assert_int_equal(facet_rdma_qp_modify(a.qp, &qa, FACET_RDMA_QP_STATE), -EINVAL);
	assert_int_equal(facet_rdma_qp_query(a.qp, &qa, 0, NULL), 0);
	assert_int_equal(qa.qp_state, FACET_RDMA_QPS_RESET);

	trdma_connect(&a, &b);
	assert_int_equal(facet_rdma_qp_query(a.qp, &qa, 0, NULL), 0);
	assert_int_equal(qa.qp_state, FACET_RDMA_QPS_RTS);
	assert_int_equal(qa.dest_qp_num, facet_rdma_qp_num(b.qp));
	assert_int_equal(qa.path_mtu, FACET_RDMA_MTU_1024);
	assert_int_equal(qa.sq_psn, 100);
	assert_memory_equal(qa.ah_attr.dgid.raw, b.gid.raw, 16);
	assert_int_equal(qa.max_rd_atomic, 4);

	/* To ERR, back to RESET, and up again */
	qa = (struct facet_rdma_qp_attr){ .qp_state = FACET_RDMA_QPS_ERR };
	assert_int_equal(facet_rdma_qp_modify(a.qp, &qa, FACET_RDMA_QP_STATE), 0);
	assert_int_equal(facet_rdma_qp_state(a.qp), FACET_RDMA_QPS_ERR);
	qa.qp_state = FACET_RDMA_QPS_RTR; /* ERR -> RTR: refused */
	assert_int_equal(facet_rdma_qp_modify(a.qp, &qa, FACET_RDMA_QP_STATE), -EINVAL);
	qa.qp_state = FACET_RDMA_QPS_RESET;
	assert_int_equal(facet_rdma_qp_modify(a.qp, &qa, FACET_RDMA_QP_STATE), 0);
	assert_int_equal(facet_rdma_qp_query(a.qp, &qa, 0, NULL), 0);
	assert_int_equal(qa.qp_state, FACET_RDMA_QPS_RESET);

	trdma_side_fini(&a);
	trdma_side_fini(&b);
}

/*
 * Queues take work requests only in the states the verbs say (sends from
 * RTS, receives from INIT; ERR flushes them): before, they are refused at
 * once instead of being kept by the device for a later transition.
 */
static void test_post_states(void **state)
{
	struct facet_rdma_qp_attr qa = {
		.qp_state = FACET_RDMA_QPS_INIT,
		.port_num = 1,
		.qp_access_flags = FACET_RDMA_ACCESS_REMOTE_WRITE,
	};
	struct facet_rdma_send_wr swr = { .wr_id = 2, .opcode = FACET_RDMA_WR_SEND }, *sbad;
	struct facet_rdma_recv_wr rwr = { .wr_id = 1 }, *rbad;
	struct facet_rdma_wc wc[2];
	struct trdma_side a;

	trdma_side_init(&a, env.dev[0], FACET_RDMA_QPT_RC, 4096, FACET_RDMA_ACCESS_LOCAL_WRITE);
	sbad = NULL;
	rbad = NULL;
	assert_int_equal(facet_rdma_post_send(a.qp, &swr, &sbad), -EINVAL);
	assert_ptr_equal(sbad, &swr);
	assert_int_equal(facet_rdma_post_recv(a.qp, &rwr, &rbad), -EINVAL);
	assert_ptr_equal(rbad, &rwr);

	assert_int_equal(facet_rdma_qp_modify(a.qp, &qa,
					      FACET_RDMA_QP_STATE | FACET_RDMA_QP_PORT |
						      FACET_RDMA_QP_PKEY_INDEX |
						      FACET_RDMA_QP_ACCESS_FLAGS),
			 0);
	sbad = NULL;
	assert_int_equal(facet_rdma_post_send(a.qp, &swr, &sbad), -EINVAL);
	assert_ptr_equal(sbad, &swr);
	trdma_post_recv(&a, 1, 0, 64);

	/* ERR: both queues flush, a send posted now too */
	qa.qp_state = FACET_RDMA_QPS_ERR;
	assert_int_equal(facet_rdma_qp_modify(a.qp, &qa, FACET_RDMA_QP_STATE), 0);
	assert_int_equal(facet_rdma_post_send(a.qp, &swr, &sbad), 0);
	assert_int_equal(trdma_poll(a.cq, 2, wc, 5000), 2);
	assert_int_equal(wc[0].wr_id + wc[1].wr_id, 3);
	assert_int_equal(wc[0].status, FACET_RDMA_WC_WR_FLUSH_ERR);
	assert_int_equal(wc[1].status, FACET_RDMA_WC_WR_FLUSH_ERR);

	/* Back in RESET nothing is taken, and nothing was kept */
	qa.qp_state = FACET_RDMA_QPS_RESET;
	assert_int_equal(facet_rdma_qp_modify(a.qp, &qa, FACET_RDMA_QP_STATE), 0);
	assert_int_equal(facet_rdma_post_recv(a.qp, &rwr, &rbad), -EINVAL);
	assert_int_equal(trdma_poll(a.cq, 1, wc, 50), 0);
	trdma_side_fini(&a);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),	  cmocka_unit_test(test_query),
		cmocka_unit_test(test_lifecycle), cmocka_unit_test(test_mr_malloc),
		cmocka_unit_test(test_qp_states), cmocka_unit_test(test_post_states),
	};

	teth_args(argc, argv);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
