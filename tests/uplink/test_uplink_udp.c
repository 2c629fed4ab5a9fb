/* SPDX-License-Identifier: MIT */
/*
 * udp uplink: two uplinks wired to each other over 127.0.0.1 exchange
 * bursts of every frame size; datagrams that are no frame (too long, too
 * short) are dropped and counted; bad tx lengths are counted, not sent.
 * No privilege needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "refnic_uplink.h"
#include "ul_test.h"

#define MAGIC_AB 0xfacea0b0u
#define MAGIC_BA 0xfaceb0a0u

struct pair {
	struct refnic_uplink *a, *b;
	uint16_t port_a, port_b;
	uint8_t **bufs;
	uint32_t lens[256];
};

/* Ports from the pid, moving on while taken: parallel runs do not collide. */
static int pair_open(struct pair *p, const char *host, bool v6)
{
	char spec[128];
	int ret = -EADDRINUSE;

	for (unsigned int t = 0; t < 200 && ret == -EADDRINUSE; t++) {
		p->port_a = (uint16_t)(20000 + ((unsigned int)getpid() * 7 + t * 2) % 40000);
		p->port_b = p->port_a + 1;
		snprintf(spec, sizeof(spec), v6 ? "udp:[%s]:%u,[%s]:%u" : "udp:%s:%u,%s:%u", host,
			 p->port_a, host, p->port_b);
		ret = refnic_uplink_open(spec, &p->a);
		if (ret)
			continue;
		snprintf(spec, sizeof(spec), v6 ? "udp:[%s]:%u,[%s]:%u" : "udp:%s:%u,%s:%u", host,
			 p->port_b, host, p->port_a);
		ret = refnic_uplink_open(spec, &p->b);
		if (ret)
			refnic_uplink_close(p->a);
	}
	return ret;
}

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	assert_int_equal(pair_open(p, "127.0.0.1", false), 0);
	p->bufs = ul_bufs_alloc(256);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	refnic_uplink_close(p->a);
	refnic_uplink_close(p->b);
	ul_bufs_free(p->bufs, 256);
	free(p);
	return 0;
}

/* Send @n frames of @sizes from @tx in bursts of @burst; @rx must get them all, in order. */
static void exchange(struct pair *p, struct refnic_uplink *tx, struct refnic_uplink *rx,
		     uint32_t magic, const uint32_t *sizes, unsigned int n, unsigned int burst)
{
	uint8_t **out = ul_bufs_alloc(burst);

	for (unsigned int base = 0; base < n; base += burst) {
		unsigned int m = n - base < burst ? n - base : burst;

		for (unsigned int i = 0; i < m; i++)
			ul_frame_fill(out[i], sizes[base + i], magic, base + i);
		assert_int_equal(
			refnic_uplink_tx_burst(tx, (const uint8_t *const *)out, sizes + base, m),
			(int)m);
		assert_int_equal(ul_uplink_collect(rx, magic, p->bufs, p->lens, m, 5000, 0, NULL),
				 m);
		for (unsigned int i = 0; i < m; i++) {
			assert_int_equal(p->lens[i], sizes[base + i]);
			assert_int_equal(ul_frame_seq(p->bufs[i], p->lens[i], magic), base + i);
		}
	}
	ul_bufs_free(out, burst);
}

/* Every size from 60 to 9022 in steps, and the limits exactly, both ways. */
static void test_sizes(void **state)
{
	struct pair *p = *state;
	struct refnic_uplink_stats st;
	uint32_t sizes[200];
	unsigned int n = 0;

	for (uint32_t s = 60; s < REFNIC_UPLINK_FRAME_MAX; s += 61)
		sizes[n++] = s;
	sizes[n++] = 1514;
	sizes[n++] = 1518;
	sizes[n++] = 9014;
	sizes[n++] = REFNIC_UPLINK_FRAME_MAX;
	assert_true(n <= 200);
	exchange(p, p->a, p->b, MAGIC_AB, sizes, n, 16);
	exchange(p, p->b, p->a, MAGIC_BA, sizes, n, 16);
	refnic_uplink_get_stats(p->a, &st);
	assert_int_equal(st.tx_frames, n);
	assert_int_equal(st.rx_frames, n);
	assert_int_equal(st.rx_dropped + st.tx_errors, 0);
}

/* One burst longer than a syscall batch (64), received with one call per batch. */
static void test_long_burst(void **state)
{
	struct pair *p = *state;
	uint32_t sizes[130];

	/* Small frames: the lot fits a default (unprivileged) socket buffer. */
	for (unsigned int i = 0; i < 130; i++)
		sizes[i] = 60 + (i * 37) % 128;
	exchange(p, p->a, p->b, MAGIC_AB, sizes, 130, 130);
	exchange(p, p->b, p->a, MAGIC_BA, sizes, 130, 100);
}

/* A burst of 1 at a time: rx_burst never returns more than asked. */
static void test_small_reads(void **state)
{
	struct pair *p = *state;
	uint8_t **out = ul_bufs_alloc(8);
	uint32_t sizes[8];

	for (unsigned int i = 0; i < 8; i++) {
		sizes[i] = 100 + i;
		ul_frame_fill(out[i], sizes[i], MAGIC_AB, i);
	}
	assert_int_equal(refnic_uplink_tx_burst(p->a, (const uint8_t *const *)out, sizes, 8), 8);
	for (unsigned int i = 0; i < 8; i++) {
		assert_int_equal(
			ul_uplink_collect(p->b, MAGIC_AB, p->bufs, p->lens, 1, 5000, 0, NULL), 1);
		assert_int_equal(ul_frame_seq(p->bufs[0], p->lens[0], MAGIC_AB), i);
	}
	ul_bufs_free(out, 8);
}

/* A plain UDP socket sends datagrams that are no frame at uplink b. */
static void test_bad_datagrams(void **state)
{
	struct pair *p = *state;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(p->port_b) };
	static uint8_t big[REFNIC_UPLINK_FRAME_MAX + 100];
	const uint32_t bad[] = { REFNIC_UPLINK_FRAME_MAX + 1, REFNIC_UPLINK_FRAME_MAX + 100, 13, 1,
				 0 };
	struct refnic_uplink_stats before, after;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(s >= 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	refnic_uplink_get_stats(p->b, &before);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ul_frame_fill(big, bad[i] < 26 ? 26 : bad[i], MAGIC_AB, 100 + i);
		assert_int_equal(sendto(s, big, bad[i], 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)bad[i]);
	}
	/* A good one after them arrives intact: the drops left no hole. */
	ul_frame_fill(big, 60, MAGIC_AB, 7);
	assert_int_equal(sendto(s, big, 60, 0, (struct sockaddr *)&to, sizeof(to)), 60);
	assert_int_equal(ul_uplink_collect(p->b, MAGIC_AB, p->bufs, p->lens, 1, 5000, 0, NULL), 1);
	assert_int_equal(ul_frame_seq(p->bufs[0], p->lens[0], MAGIC_AB), 7);
	refnic_uplink_get_stats(p->b, &after);
	assert_int_equal(after.rx_dropped - before.rx_dropped, 5);
	assert_int_equal(after.rx_frames - before.rx_frames, 1);
	close(s);
}

/* Bad lengths are consumed and counted, and do not stop the rest of the burst. */
static void test_bad_tx_lengths(void **state)
{
	struct pair *p = *state;
	const uint32_t sizes[] = { 13, 60, REFNIC_UPLINK_FRAME_MAX + 1, 61, 0 };
	struct refnic_uplink_stats before, after;
	uint8_t **out = ul_bufs_alloc(5);

	for (unsigned int i = 0; i < 5; i++)
		ul_frame_fill(out[i], 60, MAGIC_AB, i);
	ul_frame_fill(out[3], 61, MAGIC_AB, 3);
	refnic_uplink_get_stats(p->a, &before);
	assert_int_equal(refnic_uplink_tx_burst(p->a, (const uint8_t *const *)out, sizes, 5), 5);
	refnic_uplink_get_stats(p->a, &after);
	assert_int_equal(after.tx_errors - before.tx_errors, 3);
	assert_int_equal(after.tx_frames - before.tx_frames, 2);
	assert_int_equal(ul_uplink_collect(p->b, MAGIC_AB, p->bufs, p->lens, 2, 5000, 0, NULL), 2);
	assert_int_equal(ul_frame_seq(p->bufs[0], p->lens[0], MAGIC_AB), 1);
	assert_int_equal(ul_frame_seq(p->bufs[1], p->lens[1], MAGIC_AB), 3);
	ul_bufs_free(out, 5);
}

static void test_accessors(void **state)
{
	struct pair *p = *state;
	struct refnic_uplink *u;
	char spec[64];

	assert_string_equal(refnic_uplink_name(p->a), "udp");
	assert_true(refnic_uplink_poll_fd(p->a) >= 0);
	assert_true(refnic_uplink_poll_fd(p->a) != refnic_uplink_poll_fd(p->b));
	/* Nothing waiting: an empty burst, not an error. */
	assert_int_equal(refnic_uplink_rx_burst(p->a, p->bufs, p->lens, 4), 0);
	/* The local port is taken by a: bind fails with its errno. */
	snprintf(spec, sizeof(spec), "udp:127.0.0.1:%u,127.0.0.1:9", p->port_a);
	assert_int_equal(refnic_uplink_open(spec, &u), -EADDRINUSE);
	assert_null(u);
	/* Not an address of this host. */
	assert_int_equal(refnic_uplink_open("udp:192.0.2.123:5000,127.0.0.1:9", &u),
			 -EADDRNOTAVAIL);
}

static void test_ipv6(void **state)
{
	struct pair p6 = { 0 };
	uint32_t sizes[] = { 60, 1514, REFNIC_UPLINK_FRAME_MAX };
	int ret = pair_open(&p6, "::1", true);

	if (ret == -EADDRNOTAVAIL || ret == -EAFNOSUPPORT) {
		printf("ipv6 part skipped: no ::1 here (%s)\n", strerror(-ret));
		return;
	}
	assert_int_equal(ret, 0);
	p6.bufs = ul_bufs_alloc(256);
	exchange(&p6, p6.a, p6.b, MAGIC_AB, sizes, 3, 3);
	exchange(&p6, p6.b, p6.a, MAGIC_BA, sizes, 3, 3);
	ul_bufs_free(p6.bufs, 256);
	refnic_uplink_close(p6.a);
	refnic_uplink_close(p6.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),	       cmocka_unit_test(test_long_burst),
		cmocka_unit_test(test_small_reads),    cmocka_unit_test(test_bad_datagrams),
		cmocka_unit_test(test_bad_tx_lengths), cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
