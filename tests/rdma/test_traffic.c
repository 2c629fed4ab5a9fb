/* SPDX-License-Identifier: MIT */
/*
 * RDMA traffic through the native API between two devices of one model
 * process (one embedded switch): RC SEND/RECV (with immediate, inline, SGE
 * lists), RDMA WRITE (with immediate), RDMA READ, both atomics, selective
 * signalling over many laps of the send queue, UD sends through an AH with
 * the GRH and source QP reported, a bad rkey completing with a remote access
 * error and the target memory untouched, and event mode through a
 * completion channel. Data is verified byte for byte.
 *
 *   test_rdma_traffic FACET_REFNIC_EXE PLUGIN_DIR
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "trdma.h"

#define BUF_LEN (64 * 1024)
#define ALL_ACCESS                                                                                 \
	(FACET_RDMA_ACCESS_LOCAL_WRITE | FACET_RDMA_ACCESS_REMOTE_WRITE |                          \
	 FACET_RDMA_ACCESS_REMOTE_READ | FACET_RDMA_ACCESS_REMOTE_ATOMIC)

static struct trdma_env env;
static struct trdma_side a, b; /* a connected RC pair, dev 0 <-> dev 1 */

static int group_setup(void **state)
{
	trdma_env_start(&env);
	trdma_side_init(&a, env.dev[0], FACET_RDMA_QPT_RC, BUF_LEN, ALL_ACCESS);
	trdma_side_init(&b, env.dev[1], FACET_RDMA_QPT_RC, BUF_LEN, ALL_ACCESS);
	trdma_connect(&a, &b);
	return 0;
}

static int group_teardown(void **state)
{
	trdma_side_fini(&a);
	trdma_side_fini(&b);
	trdma_env_stop(&env);
	return 0;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

static void check(const uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != (uint8_t)(seed * 31 + i * 7 + (i >> 9)))
			fail_msg("byte %zu is %#x, want %#x", i, p[i],
				 (uint8_t)(seed * 31 + i * 7 + (i >> 9)));
	}
}

static struct facet_rdma_sge sge_of(struct trdma_side *s, size_t off, uint32_t len)
{
	return (struct facet_rdma_sge){
		.addr = (uintptr_t)s->buf + off,
		.length = len,
		.lkey = facet_rdma_mr_lkey(s->mr),
	};
}

static void post_send(struct trdma_side *s, struct facet_rdma_send_wr *wr)
{
	struct facet_rdma_send_wr *bad = NULL;
	int ret = facet_rdma_post_send(s->qp, wr, &bad);

	if (ret)
		fail_msg("post_send: %s", strerror(-ret));
}

static void test_send_recv(void **state)
{
	struct facet_rdma_sge sge[2] = { sge_of(&a, 0, 3000), sge_of(&a, 8192, 5000) };
	struct facet_rdma_send_wr wr = {
		.wr_id = 11,
		.sg_list = sge,
		.num_sge = 2,
		.opcode = FACET_RDMA_WR_SEND_WITH_IMM,
		.send_flags = FACET_RDMA_SEND_SIGNALED,
		.imm_data = htonl(0xabcd1234),
	};
	struct facet_rdma_wc wc;

	fill(a.buf, 3000, 1);
	fill(a.buf + 8192, 5000, 2);
	memset(b.buf, 0, 16384);
	trdma_post_recv(&b, 21, 0, 16384);
	post_send(&a, &wr);
	trdma_expect(a.cq, 11, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_SEND, NULL);
	trdma_expect(b.cq, 21, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RECV, &wc);
	assert_int_equal(wc.byte_len, 8000);
	assert_true(wc.wc_flags & FACET_RDMA_WC_WITH_IMM);
	assert_int_equal(ntohl(wc.imm_data), 0xabcd1234);
	assert_int_equal(wc.qp_num, facet_rdma_qp_num(b.qp));
	check(b.buf, 3000, 1);
	check(b.buf + 3000, 5000, 2);
	assert_int_equal(b.buf[8000], 0);

	/* Inline: the data is copied at post time, the buffer may change at once */
	memcpy(a.buf, "inline hello", 13);
	wr = (struct facet_rdma_send_wr){
		.wr_id = 12,
		.sg_list = sge,
		.num_sge = 1,
		.opcode = FACET_RDMA_WR_SEND,
		.send_flags = FACET_RDMA_SEND_SIGNALED | FACET_RDMA_SEND_INLINE,
	};
	sge[0].length = 13;
	trdma_post_recv(&b, 22, 100, 64);
	post_send(&a, &wr);
	memset(a.buf, 0, 13);
	trdma_expect(a.cq, 12, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_SEND, NULL);
	trdma_expect(b.cq, 22, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RECV, &wc);
	assert_int_equal(wc.byte_len, 13);
	assert_string_equal((char *)b.buf + 100, "inline hello");

	/* Inline beyond the device's 64 bytes: refused at post time */
	sge[0].length = 65;
	assert_int_equal(facet_rdma_post_send(a.qp, &wr, &(struct facet_rdma_send_wr *){ NULL }),
			 -EINVAL);
}

static void test_write_read(void **state)
{
	struct facet_rdma_sge sge = sge_of(&a, 0, 20000);
	struct facet_rdma_send_wr wr = {
		.wr_id = 31,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = FACET_RDMA_WR_RDMA_WRITE,
		.send_flags = FACET_RDMA_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = (uintptr_t)b.buf + 1000,
			     .rkey = facet_rdma_mr_rkey(b.mr) },
	};
	struct facet_rdma_wc wc;

	fill(a.buf, 20000, 3);
	memset(b.buf, 0, BUF_LEN);
	post_send(&a, &wr);
	trdma_expect(a.cq, 31, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RDMA_WRITE, NULL);
	check(b.buf + 1000, 20000, 3);
	assert_int_equal(b.buf[999], 0);
	assert_int_equal(b.buf[21000], 0);

	/* WRITE with immediate consumes a receive and reports the immediate only */
	trdma_post_recv(&b, 41, 0, 0);
	wr.wr_id = 32;
	wr.opcode = FACET_RDMA_WR_RDMA_WRITE_WITH_IMM;
	wr.imm_data = htonl(77);
	sge.length = 100;
	post_send(&a, &wr);
	trdma_expect(a.cq, 32, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RDMA_WRITE, NULL);
	trdma_expect(b.cq, 41, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RECV_RDMA_WITH_IMM, &wc);
	assert_int_equal(ntohl(wc.imm_data), 77);

	/* READ it back into another part of a's buffer */
	memset(a.buf + 32768, 0, 20000);
	sge = sge_of(&a, 32768, 20000);
	wr = (struct facet_rdma_send_wr){
		.wr_id = 33,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = FACET_RDMA_WR_RDMA_READ,
		.send_flags = FACET_RDMA_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = (uintptr_t)b.buf + 1000,
			     .rkey = facet_rdma_mr_rkey(b.mr) },
	};
	post_send(&a, &wr);
	trdma_expect(a.cq, 33, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RDMA_READ, &wc);
	assert_int_equal(wc.byte_len, 20000);
	check(a.buf + 32768, 20000, 3);
}

static void test_atomics(void **state)
{
	uint64_t *target = (uint64_t *)(b.buf + 4096), *old = (uint64_t *)(a.buf + 512);
	struct facet_rdma_sge sge = sge_of(&a, 512, 8);
	struct facet_rdma_send_wr wr = {
		.wr_id = 51,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = FACET_RDMA_WR_ATOMIC_FETCH_AND_ADD,
		.send_flags = FACET_RDMA_SEND_SIGNALED,
		.wr.atomic = { .remote_addr = (uintptr_t)target,
			       .rkey = facet_rdma_mr_rkey(b.mr),
			       .compare_add = 5 },
	};

	*target = 1000;
	*old = 0;
	post_send(&a, &wr);
	trdma_expect(a.cq, 51, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_FETCH_ADD, NULL);
	assert_int_equal(*old, 1000);
	assert_int_equal(*target, 1005);

	/* Compare and swap: a miss leaves the target, a hit swaps */
	wr.wr_id = 52;
	wr.opcode = FACET_RDMA_WR_ATOMIC_CMP_AND_SWP;
	wr.wr.atomic.compare_add = 1;
	wr.wr.atomic.swap = 77;
	post_send(&a, &wr);
	trdma_expect(a.cq, 52, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_COMP_SWAP, NULL);
	assert_int_equal(*old, 1005);
	assert_int_equal(*target, 1005);
	wr.wr_id = 53;
	wr.wr.atomic.compare_add = 1005;
	post_send(&a, &wr);
	trdma_expect(a.cq, 53, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_COMP_SWAP, NULL);
	assert_int_equal(*old, 1005);
	assert_int_equal(*target, 77);
}

/* Unsignaled WRITEs with one signaled per 16: the send queue laps many times. */
static void test_selective_signalling(void **state)
{
	const unsigned int total = 1000, every = 16;
	struct facet_rdma_sge sge = sge_of(&a, 0, 64);
	struct facet_rdma_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = FACET_RDMA_WR_RDMA_WRITE,
		.wr.rdma = { .rkey = facet_rdma_mr_rkey(b.mr) },
	};
	struct facet_rdma_wc wc;
	unsigned int posted = 0, signaled = 0, completed = 0;
	uint64_t deadline = teth_now_ms() + 20000;

	/* Until every request is posted and every signaled one completed (either may come last). */
	while (completed < total / every || posted < total) {
		struct facet_rdma_send_wr *bad;
		int ret;

		if (posted < total) {
			wr.wr_id = posted;
			wr.send_flags =
				(posted % every == every - 1) ? FACET_RDMA_SEND_SIGNALED : 0;
			wr.wr.rdma.remote_addr = (uintptr_t)b.buf + (posted % 512) * 64;
			ret = facet_rdma_post_send(a.qp, &wr, &bad);
			if (ret == 0) {
				signaled += !!wr.send_flags;
				posted++;
			} else {
				assert_int_equal(ret, -ENOMEM); /* full: poll to free it */
			}
		}
		ret = facet_rdma_poll_cq(a.cq, 1, &wc);
		assert_true(ret >= 0);
		if (ret) {
			assert_int_equal(wc.status, FACET_RDMA_WC_SUCCESS);
			assert_int_equal(wc.wr_id, completed * every + every - 1);
			completed++;
		}
		if (teth_now_ms() > deadline)
			fail_msg("%u posted, %u of %u signaled completed", posted, completed,
				 signaled);
	}
	assert_int_equal(posted, total);
	assert_int_equal(facet_rdma_poll_cq(a.cq, 1, &wc), 0);
}

static void test_bad_rkey(void **state)
{
	struct facet_rdma_sge sge;
	struct facet_rdma_send_wr wr = {
		.wr_id = 61,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = FACET_RDMA_WR_RDMA_WRITE,
		.send_flags = FACET_RDMA_SEND_SIGNALED,
	};
	struct trdma_side x, y;

	/* A pair of its own: the error puts the requester's QP into ERR. */
	trdma_side_init(&x, env.dev[0], FACET_RDMA_QPT_RC, 4096, ALL_ACCESS);
	trdma_side_init(&y, env.dev[1], FACET_RDMA_QPT_RC, 4096, ALL_ACCESS);
	trdma_connect(&x, &y);
	memset(y.buf, 0xee, 4096);
	memset(x.buf, 0x11, 4096);
	sge = sge_of(&x, 0, 256);
	wr.wr.rdma.remote_addr = (uintptr_t)y.buf;
	wr.wr.rdma.rkey = facet_rdma_mr_rkey(y.mr) ^ 0x5500;
	post_send(&x, &wr);
	trdma_expect(x.cq, 61, FACET_RDMA_WC_REM_ACCESS_ERR, FACET_RDMA_WC_RDMA_WRITE, NULL);
	for (unsigned int i = 0; i < 4096; i++)
		assert_int_equal(y.buf[i], 0xee);
	trdma_side_fini(&x);
	trdma_side_fini(&y);
}

static void test_ud(void **state)
{
	struct trdma_side u, v;
	struct facet_rdma_ah *ah;
	struct facet_rdma_wc wc;
	union facet_rdma_gid ip0, ip1;
	struct facet_rdma_sge sge;
	struct facet_rdma_send_wr wr;

	trdma_side_init(&u, env.dev[0], FACET_RDMA_QPT_UD, 8192, FACET_RDMA_ACCESS_LOCAL_WRITE);
	trdma_side_init(&v, env.dev[1], FACET_RDMA_QPT_UD, 8192, FACET_RDMA_ACCESS_LOCAL_WRITE);
	trdma_ud_ready(&u, 0x11111111);
	trdma_ud_ready(&v, 0x11111111);
	/* Over IPv4 GIDs: the peer's MAC is found through its GID table */
	facet_rdma_gid_from_ipv4(&ip0, 0x0a000001);
	facet_rdma_gid_from_ipv4(&ip1, 0x0a000002);
	assert_int_equal(facet_rdma_set_gid(env.dev[0], 1, &ip0, FACET_RDMA_GID_TYPE_ROCEV2), 0);
	assert_int_equal(facet_rdma_set_gid(env.dev[1], 1, &ip1, FACET_RDMA_GID_TYPE_ROCEV2), 0);
	assert_int_equal(
		facet_rdma_ah_create(
			u.pd, &(struct facet_rdma_ah_attr){ .dgid = ip1, .sgid_index = 1 }, &ah),
		0);

	trdma_post_recv(&v, 71, 0, 40 + 1024); /* room for the GRH */
	fill(u.buf, 1000, 9);
	sge = sge_of(&u, 0, 1000);
	wr = (struct facet_rdma_send_wr){
		.wr_id = 81,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = FACET_RDMA_WR_SEND,
		.send_flags = FACET_RDMA_SEND_SIGNALED,
		.wr.ud = { .ah = ah,
			   .remote_qpn = facet_rdma_qp_num(v.qp),
			   .remote_qkey = 0x11111111 },
	};
	post_send(&u, &wr);
	trdma_expect(u.cq, 81, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_SEND, NULL);
	trdma_expect(v.cq, 71, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RECV, &wc);
	assert_int_equal(wc.byte_len, 40 + 1000);
	assert_true(wc.wc_flags & FACET_RDMA_WC_GRH);
	assert_int_equal(wc.src_qp, facet_rdma_qp_num(u.qp));
	check(v.buf + 40, 1000, 9);

	/* A wrong Q_Key is dropped by the receiver: no completion there */
	trdma_post_recv(&v, 72, 0, 40 + 1024);
	wr.wr_id = 82;
	wr.wr.ud.remote_qkey = 0x22222222;
	post_send(&u, &wr);
	trdma_expect(u.cq, 82, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_SEND, NULL);
	assert_int_equal(trdma_poll(v.cq, 1, &wc, 200), 0);

	assert_int_equal(facet_rdma_ah_destroy(ah), 0);
	trdma_side_fini(&u);
	trdma_side_fini(&v);
	assert_int_equal(facet_rdma_set_gid(env.dev[0], 1, NULL, FACET_RDMA_GID_TYPE_NONE), 0);
	assert_int_equal(facet_rdma_set_gid(env.dev[1], 1, NULL, FACET_RDMA_GID_TYPE_NONE), 0);
}

static void test_events(void **state)
{
	struct facet_rdma_comp_channel *ch;
	struct facet_rdma_cq *got;
	struct trdma_side x, y;
	struct facet_rdma_sge sge;
	struct facet_rdma_send_wr wr;
	struct facet_rdma_wc wc;
	struct pollfd pfd;
	void *ctx;
	int ret;

	ret = facet_rdma_comp_channel_create(env.dev[1], &ch);
	if (ret == -EOPNOTSUPP)
		skip();
	assert_int_equal(ret, 0);
	trdma_side_init(&x, env.dev[0], FACET_RDMA_QPT_RC, 4096, ALL_ACCESS);
	trdma_side_init_ex(&y, env.dev[1], FACET_RDMA_QPT_RC, 4096, ALL_ACCESS, ch);
	trdma_connect(&x, &y);
	assert_int_equal(facet_rdma_get_cq_event(ch, 0, &got, &ctx), -EAGAIN);
	pfd = (struct pollfd){ .fd = facet_rdma_comp_channel_fd(ch), .events = POLLIN };

	/* Armed: the receive's completion wakes the channel */
	assert_int_equal(facet_rdma_req_notify_cq(y.cq, false), 0);
	assert_int_equal(facet_rdma_poll_cq(y.cq, 1, &wc), 0);
	trdma_post_recv(&y, 101, 0, 64);
	sge = sge_of(&x, 0, 32);
	wr = (struct facet_rdma_send_wr){
		.wr_id = 91,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = FACET_RDMA_WR_SEND,
		.send_flags = FACET_RDMA_SEND_SIGNALED,
	};
	post_send(&x, &wr);
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(facet_rdma_get_cq_event(ch, 1000, &got, &ctx), 0);
	assert_ptr_equal(got, y.cq);
	assert_ptr_equal(ctx, &y);
	assert_int_equal(facet_rdma_cq_destroy(y.cq), -EBUSY); /* QP, and an event not acked */
	facet_rdma_ack_cq_events(got, 1);
	trdma_expect(y.cq, 101, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RECV, NULL);
	trdma_expect(x.cq, 91, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_SEND, NULL);

	/* Not armed again: the next completion comes without an event */
	trdma_post_recv(&y, 102, 0, 64);
	wr.wr_id = 92;
	post_send(&x, &wr);
	trdma_expect(x.cq, 92, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_SEND, NULL);
	trdma_expect(y.cq, 102, FACET_RDMA_WC_SUCCESS, FACET_RDMA_WC_RECV, NULL);
	assert_int_equal(facet_rdma_get_cq_event(ch, 100, &got, &ctx), -EAGAIN);

	trdma_side_fini(&x);
	trdma_side_fini(&y);
	assert_int_equal(facet_rdma_comp_channel_destroy(ch), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_recv), cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_atomics),	  cmocka_unit_test(test_selective_signalling),
		cmocka_unit_test(test_bad_rkey),  cmocka_unit_test(test_ud),
		cmocka_unit_test(test_events),
	};

	teth_args(argc, argv);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
