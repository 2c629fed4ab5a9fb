/* SPDX-License-Identifier: MIT */
/*
 * af_packet uplink, end to end over a veth pair: the uplink's end in this
 * test's private network namespace, the peer end in a named namespace
 * (`ip netns add`) where a raw socket plays the outside world. Frames both
 * ways, every size; VLAN tags survive the kernel's receive-side stripping;
 * partial checksums from the peer's own stack arrive completed; a frame
 * above the MTU is skipped without ending the burst; an oversize frame is
 * dropped. Needs root; exits 77 (skipped) otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "refnic_uplink.h"
#include "ul_test.h"

#define MAGIC_OUT  0xface0001u /* uplink -> peer */
#define MAGIC_IN   0xface0002u /* peer -> uplink */
#define MAGIC_VLAN 0xface0003u

#define NBUFS 64

static struct {
	char ns[32];
	char ua[IFNAMSIZ]; /* the uplink's end, here */
	char ub[IFNAMSIZ]; /* the peer's end, in ns */
	struct refnic_uplink *u;
	int peer;
	uint8_t **bufs;
	uint32_t lens[NBUFS];
} E = { .peer = -1 };

static const uint32_t sizes[] = { 60,	61,   64,   100,  128,	500,
				  1000, 1514, 1518, 4000, 9014, REFNIC_UPLINK_FRAME_MAX };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static int open_peer(void *arg)
{
	return ul_raw_socket(E.ub);
}

static int setup(void **state)
{
	char buf[128];
	int ret;

	snprintf(E.ns, sizeof(E.ns), "facet-ul-%d", (int)getpid());
	snprintf(E.ua, sizeof(E.ua), "fua%d", (int)getpid());
	snprintf(E.ub, sizeof(E.ub), "fub%d", (int)getpid());
	ul_sweep_stale_netns();
	ul_private_netns();

	/* Registered before creation, run in reverse: link first, then namespace. */
	snprintf(buf, sizeof(buf), "netns del %s", E.ns);
	ul_cleanup_add(buf);
	snprintf(buf, sizeof(buf), "link del %s", E.ua);
	ul_cleanup_add(buf);

	assert_int_equal(ul_ip("netns add %s", E.ns), 0);
	assert_int_equal(ul_ip("link add %s type veth peer name %s", E.ua, E.ub), 0);
	assert_int_equal(ul_ip("link set %s netns %s", E.ub, E.ns), 0);
	assert_int_equal(ul_ip("link set %s mtu 9600 up", E.ua), 0);
	assert_int_equal(ul_ip("-n %s link set %s mtu 9600 up", E.ns, E.ub), 0);
	E.peer = ul_in_netns(E.ns, open_peer, NULL);

	snprintf(buf, sizeof(buf), "af_packet:%s", E.ua);
	ret = refnic_uplink_open(buf, &E.u);
	assert_int_equal(ret, 0);
	assert_string_equal(refnic_uplink_name(E.u), "af_packet");
	assert_true(ul_wait_running(E.ua, 5000));
	E.bufs = ul_bufs_alloc(NBUFS);
	return 0;
}

static int teardown(void **state)
{
	char path[96];

	refnic_uplink_close(E.u);
	if (E.peer >= 0)
		close(E.peer);
	ul_bufs_free(E.bufs, NBUFS);
	ul_cleanup_run();
	/* The named namespace is the one thing that could outlive the test. */
	snprintf(path, sizeof(path), "/run/netns/%s", E.ns);
	assert_int_equal(access(path, F_OK), -1);
	return 0;
}

static unsigned int peer_collect(uint32_t magic, unsigned int want, int ms)
{
	return ul_sock_collect(E.peer, magic, want, ms, E.bufs, E.lens);
}

static void peer_send(const uint8_t *f, uint32_t len)
{
	assert_int_equal(send(E.peer, f, len, 0), (ssize_t)len);
}

static void test_tx(void **state)
{
	uint8_t **out = ul_bufs_alloc(NSIZES);
	struct refnic_uplink_stats st;

	for (unsigned int i = 0; i < NSIZES; i++)
		ul_frame_fill(out[i], sizes[i], MAGIC_OUT, i);
	assert_int_equal(refnic_uplink_tx_burst(E.u, (const uint8_t *const *)out, sizes, NSIZES),
			 NSIZES);
	assert_int_equal(peer_collect(MAGIC_OUT, NSIZES, 5000), NSIZES);
	for (unsigned int i = 0; i < NSIZES; i++) {
		assert_int_equal(E.lens[i], sizes[i]);
		assert_int_equal(ul_frame_seq(E.bufs[i], E.lens[i], MAGIC_OUT), i);
	}
	refnic_uplink_get_stats(E.u, &st);
	assert_int_equal(st.tx_frames, NSIZES);
	assert_int_equal(st.tx_errors, 0);
	ul_bufs_free(out, NSIZES);
}

/* And the uplink never sees its own transmissions (PACKET_IGNORE_OUTGOING). */
static void test_rx(void **state)
{
	uint8_t *f = malloc(REFNIC_UPLINK_FRAME_MAX);
	unsigned int own = 0;

	assert_non_null(f);
	for (unsigned int i = 0; i < NSIZES; i++) {
		ul_frame_fill(f, sizes[i], MAGIC_IN, i);
		peer_send(f, sizes[i]);
	}
	assert_int_equal(
		ul_uplink_collect(E.u, MAGIC_IN, E.bufs, E.lens, NSIZES, 5000, MAGIC_OUT, &own),
		NSIZES);
	for (unsigned int i = 0; i < NSIZES; i++) {
		assert_int_equal(E.lens[i], sizes[i]);
		assert_int_equal(ul_frame_seq(E.bufs[i], E.lens[i], MAGIC_IN), i);
	}
	assert_int_equal(own, 0);
	free(f);
}

/* @tagged = @plain with a tag after the MAC addresses. */
static uint32_t make_tagged(uint8_t *tagged, uint32_t len, uint16_t tpid, uint16_t tci,
			    uint32_t seq)
{
	uint8_t plain[256];

	ul_frame_fill(plain, len, MAGIC_VLAN, seq);
	memcpy(tagged, plain, 12);
	tagged[12] = (uint8_t)(tpid >> 8);
	tagged[13] = (uint8_t)tpid;
	tagged[14] = (uint8_t)(tci >> 8);
	tagged[15] = (uint8_t)tci;
	memcpy(tagged + 16, plain + 12, len - 12);
	return len + 4;
}

static bool is_vlan_test_frame(const uint8_t *f, uint32_t len)
{
	return len > 22 && (f[12] == 0x81 || f[12] == 0x88) && f[16] == 0x88 && f[17] == 0xb5 &&
	       f[18] == 0xfa && f[19] == 0xce && f[20] == 0x00 && f[21] == 0x03;
}

/*
 * The peer's kernel sends the tag in the frame; the uplink's kernel moves it
 * into metadata on receive; the uplink must put it back, byte for byte.
 */
static void test_vlan(void **state)
{
	uint8_t sent[3][256];
	uint32_t slen[3];
	unsigned int got = 0;
	long end = ul_now_ms() + 5000;

	slen[0] = make_tagged(sent[0], 100, 0x8100, 0x2005, 0);
	slen[1] = make_tagged(sent[1], 200, 0x88a8, 0x0123, 1);
	slen[2] = make_tagged(sent[2], 60, 0x8100, 0x0000, 2); /* priority tag: VID 0 */
	for (unsigned int i = 0; i < 3; i++)
		peer_send(sent[i], slen[i]);
	while (got < 3 && ul_now_ms() < end) {
		int r;

		if (!ul_wait_readable(refnic_uplink_poll_fd(E.u), 100))
			continue;
		r = refnic_uplink_rx_burst(E.u, E.bufs, E.lens, NBUFS);
		assert_true(r >= 0);
		for (int i = 0; i < r; i++) {
			if (!is_vlan_test_frame(E.bufs[i], E.lens[i]))
				continue;
			assert_int_equal(E.lens[i], slen[got]);
			assert_memory_equal(E.bufs[i], sent[got], slen[got]);
			got++;
		}
	}
	assert_int_equal(got, 3);
}

/* One frame above the interface's MTU is counted and skipped; the burst goes on. */
static void test_tx_above_mtu(void **state)
{
	const uint32_t sz[] = { 100, 3000, 101 };
	uint8_t **out = ul_bufs_alloc(3);
	struct refnic_uplink_stats before, after;

	assert_int_equal(ul_ip("link set %s mtu 1500", E.ua), 0);
	for (unsigned int i = 0; i < 3; i++)
		ul_frame_fill(out[i], sz[i], MAGIC_OUT, 100 + i);
	refnic_uplink_get_stats(E.u, &before);
	assert_int_equal(refnic_uplink_tx_burst(E.u, (const uint8_t *const *)out, sz, 3), 3);
	refnic_uplink_get_stats(E.u, &after);
	assert_int_equal(after.tx_errors - before.tx_errors, 1);
	assert_int_equal(after.tx_frames - before.tx_frames, 2);
	assert_int_equal(peer_collect(MAGIC_OUT, 2, 5000), 2);
	assert_int_equal(ul_frame_seq(E.bufs[0], E.lens[0], MAGIC_OUT), 100);
	assert_int_equal(ul_frame_seq(E.bufs[1], E.lens[1], MAGIC_OUT), 102);
	assert_int_equal(ul_ip("link set %s mtu 9600", E.ua), 0);
	ul_bufs_free(out, 3);
}

/* A frame longer than REFNIC_UPLINK_FRAME_MAX (the veth allows 9600) is dropped. */
static void test_rx_oversize(void **state)
{
	uint8_t *f = malloc(9200);
	struct refnic_uplink_stats before, after;

	assert_non_null(f);
	refnic_uplink_get_stats(E.u, &before);
	ul_frame_fill(f, 9200, MAGIC_IN, 50);
	peer_send(f, 9200);
	ul_frame_fill(f, 60, MAGIC_IN, 51);
	peer_send(f, 60);
	assert_int_equal(ul_uplink_collect(E.u, MAGIC_IN, E.bufs, E.lens, 1, 5000, 0, NULL), 1);
	assert_int_equal(ul_frame_seq(E.bufs[0], E.lens[0], MAGIC_IN), 51);
	refnic_uplink_get_stats(E.u, &after);
	assert_true(after.rx_dropped - before.rx_dropped >= 1);
	free(f);
}

/*
 * Link down: a burst is consumed and counted as errors (no retry storm, no
 * stuck caller); rx reports nothing. Back up, frames flow again on the
 * same socket.
 */
static void test_link_down(void **state)
{
	const uint32_t sz[] = { 60, 61, 62 };
	uint8_t **out = ul_bufs_alloc(3);
	struct refnic_uplink_stats before, after;

	for (unsigned int i = 0; i < 3; i++)
		ul_frame_fill(out[i], sz[i], MAGIC_OUT, 300 + i);
	assert_int_equal(ul_ip("link set %s down", E.ua), 0);
	refnic_uplink_get_stats(E.u, &before);
	assert_int_equal(refnic_uplink_tx_burst(E.u, (const uint8_t *const *)out, sz, 3), 3);
	refnic_uplink_get_stats(E.u, &after);
	assert_int_equal(after.tx_errors - before.tx_errors, 3);
	assert_int_equal(after.tx_frames, before.tx_frames);
	assert_int_equal(refnic_uplink_rx_burst(E.u, E.bufs, E.lens, NBUFS) >= 0, 1);

	assert_int_equal(ul_ip("link set %s up", E.ua), 0);
	assert_true(ul_wait_running(E.ua, 5000));
	peer_send(out[0], sz[0]);
	ul_frame_fill(out[1], 60, MAGIC_IN, 7);
	peer_send(out[1], 60);
	assert_int_equal(ul_uplink_collect(E.u, MAGIC_IN, E.bufs, E.lens, 1, 5000, 0, NULL), 1);
	assert_int_equal(ul_frame_seq(E.bufs[0], E.lens[0], MAGIC_IN), 7);
	assert_int_equal(refnic_uplink_tx_burst(E.u, (const uint8_t *const *)out, sz, 1), 1);
	assert_int_equal(peer_collect(MAGIC_OUT, 1, 5000), 1);
	ul_bufs_free(out, 3);
}

/* In the peer's namespace: its stack sends UDP/IPv4, a TCP SYN, UDP/IPv6. */
static int peer_stack_send(void *arg)
{
	struct sockaddr_in d4 = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sockaddr_in t4 = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct sockaddr_in6 d6 = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	uint8_t payload[1000];
	int *tcp = arg;
	int s4, s6;

	for (unsigned int i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 3);
	inet_pton(AF_INET, "192.0.2.2", &d4.sin_addr);
	t4.sin_addr = d4.sin_addr;
	inet_pton(AF_INET6, "2001:db8::2", &d6.sin6_addr);
	s4 = socket(AF_INET, SOCK_DGRAM, 0);
	s6 = socket(AF_INET6, SOCK_DGRAM, 0);
	*tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(s4 >= 0 && s6 >= 0 && *tcp >= 0);
	assert_int_equal(sendto(s4, payload, 999, 0, (struct sockaddr *)&d4, sizeof(d4)), 999);
	assert_int_equal(sendto(s6, payload, 333, 0, (struct sockaddr *)&d6, sizeof(d6)), 333);
	assert_int_equal(connect(*tcp, (struct sockaddr *)&t4, sizeof(t4)), -1);
	assert_int_equal(errno, EINPROGRESS);
	close(s4);
	close(s6);
	return 0;
}

static bool to_fake_neighbor(const uint8_t *f)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	return !memcmp(f, mac, 6);
}

/* Collect the peer stack's frames; returns a bit per kind seen (1 udp4, 2 tcp4, 4 udp6). */
static unsigned int collect_stack_frames(void)
{
	unsigned int seen = 0;

	for (long end = ul_now_ms() + 5000; seen != 7 && ul_now_ms() < end;) {
		int r, proto;

		if (!ul_wait_readable(refnic_uplink_poll_fd(E.u), 100))
			continue;
		r = refnic_uplink_rx_burst(E.u, E.bufs, E.lens, NBUFS);
		assert_true(r >= 0);
		for (int i = 0; i < r; i++) {
			const uint8_t *f = E.bufs[i];

			if (!to_fake_neighbor(f))
				continue;
			if (!ul_l4_csum_ok(f, E.lens[i], &proto))
				fail_msg("frame of %u bytes to the neighbour: bad L4 checksum",
					 E.lens[i]);
			if (f[12] == 0x08)
				seen |= proto == IPPROTO_UDP ? 1 : 2;
			else
				seen |= 4;
		}
	}
	return seen;
}

/*
 * veth offloads tx checksums: the peer's stack leaves TCP/UDP checksums
 * partial (CHECKSUM_PARTIAL) and the uplink must complete them.
 */
static void test_partial_checksums(void **state)
{
	struct refnic_uplink_stats before, after;
	int tcp = -1;

	assert_int_equal(ul_ip("-n %s addr add 192.0.2.1/24 dev %s", E.ns, E.ub), 0);
	assert_int_equal(ul_ip("-n %s addr add 2001:db8::1/64 dev %s nodad", E.ns, E.ub), 0);
	assert_int_equal(ul_ip("-n %s neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev %s nud "
			       "permanent",
			       E.ns, E.ub),
			 0);
	assert_int_equal(ul_ip("-n %s neigh add 2001:db8::2 lladdr 02:00:00:00:00:02 dev %s nud "
			       "permanent",
			       E.ns, E.ub),
			 0);
	refnic_uplink_get_stats(E.u, &before);
	ul_in_netns(E.ns, peer_stack_send, &tcp);
	assert_int_equal(collect_stack_frames(), 7);
	close(tcp);
	refnic_uplink_get_stats(E.u, &after);
	printf("partial checksums completed: %llu\n",
	       (unsigned long long)(after.rx_csum_completed - before.rx_csum_completed));
	assert_true(after.rx_csum_completed - before.rx_csum_completed >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx),
		cmocka_unit_test(test_rx),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_tx_above_mtu),
		cmocka_unit_test(test_rx_oversize),
		cmocka_unit_test(test_link_down),
		cmocka_unit_test(test_partial_checksums),
	};

	ul_require_root("uplink_af_packet");
	return cmocka_run_group_tests(tests, setup, teardown);
}
