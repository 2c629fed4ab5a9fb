/* SPDX-License-Identifier: MIT */
/*
 * tap uplink, end to end: the uplink creates a TAP device (in this test's
 * private network namespace) and brings it up; a raw AF_PACKET socket on
 * the tap plays the host. Frames both ways, every size; an oversize frame
 * is dropped; a second opener gets -EBUSY, a non-TAP name -EEXIST; the
 * device vanishes when the uplink closes. Needs root; exits 77 otherwise.
 */
#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "refnic_uplink.h"
#include "ul_test.h"

#define MAGIC_OUT 0xface1001u /* uplink -> host */
#define MAGIC_IN  0xface1002u /* host -> uplink */

#define NBUFS 64

static struct {
	char name[IFNAMSIZ];
	char spec[32];
	struct refnic_uplink *u;
	int host;
	uint8_t **bufs;
	uint32_t lens[NBUFS];
} E = { .host = -1 };

static const uint32_t sizes[] = { 60,	61,   64,   100,  128,	500,
				  1000, 1514, 1518, 4000, 9014, REFNIC_UPLINK_FRAME_MAX };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static bool if_is_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	bool up;

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	up = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	close(s);
	return up;
}

static int setup(void **state)
{
	char buf[64];

	snprintf(E.name, sizeof(E.name), "fut%d", (int)getpid());
	snprintf(E.spec, sizeof(E.spec), "tap:%s", E.name);
	ul_private_netns();
	snprintf(buf, sizeof(buf), "link del %s", E.name);
	ul_cleanup_add(buf);

	assert_int_equal(if_nametoindex(E.name), 0);
	assert_int_equal(refnic_uplink_open(E.spec, &E.u), 0);
	assert_string_equal(refnic_uplink_name(E.u), "tap");
	assert_true(if_nametoindex(E.name) > 0);
	assert_true(if_is_up(E.name)); /* the uplink brought it up */
	assert_int_equal(ul_ip("link set %s mtu 9600", E.name), 0);
	assert_true(ul_wait_running(E.name, 5000));
	E.host = ul_raw_socket(E.name);
	E.bufs = ul_bufs_alloc(NBUFS);
	return 0;
}

static int teardown(void **state)
{
	refnic_uplink_close(E.u);
	if (E.host >= 0)
		close(E.host);
	ul_bufs_free(E.bufs, NBUFS);
	ul_cleanup_run();
	return 0;
}

static unsigned int host_collect(uint32_t magic, unsigned int want, int ms)
{
	return ul_sock_collect(E.host, magic, want, ms, E.bufs, E.lens);
}

static void host_send(const uint8_t *f, uint32_t len)
{
	assert_int_equal(send(E.host, f, len, 0), (ssize_t)len);
}

static void test_tx(void **state)
{
	uint8_t **out = ul_bufs_alloc(NSIZES);
	struct refnic_uplink_stats st;

	for (unsigned int i = 0; i < NSIZES; i++)
		ul_frame_fill(out[i], sizes[i], MAGIC_OUT, i);
	assert_int_equal(refnic_uplink_tx_burst(E.u, (const uint8_t *const *)out, sizes, NSIZES),
			 NSIZES);
	assert_int_equal(host_collect(MAGIC_OUT, NSIZES, 5000), NSIZES);
	for (unsigned int i = 0; i < NSIZES; i++) {
		assert_int_equal(E.lens[i], sizes[i]);
		assert_int_equal(ul_frame_seq(E.bufs[i], E.lens[i], MAGIC_OUT), i);
	}
	refnic_uplink_get_stats(E.u, &st);
	assert_int_equal(st.tx_frames, NSIZES);
	ul_bufs_free(out, NSIZES);
}

static void test_rx(void **state)
{
	uint8_t *f = malloc(REFNIC_UPLINK_FRAME_MAX);
	unsigned int own = 0;

	assert_non_null(f);
	for (unsigned int i = 0; i < NSIZES; i++) {
		ul_frame_fill(f, sizes[i], MAGIC_IN, i);
		host_send(f, sizes[i]);
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

/* Longer than REFNIC_UPLINK_FRAME_MAX (the tap's MTU allows it): dropped, next one intact. */
static void test_rx_oversize(void **state)
{
	uint8_t *f = malloc(9200);
	struct refnic_uplink_stats before, after;

	assert_non_null(f);
	refnic_uplink_get_stats(E.u, &before);
	ul_frame_fill(f, 9200, MAGIC_IN, 50);
	host_send(f, 9200);
	ul_frame_fill(f, REFNIC_UPLINK_FRAME_MAX, MAGIC_IN, 51);
	host_send(f, REFNIC_UPLINK_FRAME_MAX);
	assert_int_equal(ul_uplink_collect(E.u, MAGIC_IN, E.bufs, E.lens, 1, 5000, 0, NULL), 1);
	assert_int_equal(E.lens[0], REFNIC_UPLINK_FRAME_MAX);
	assert_int_equal(ul_frame_seq(E.bufs[0], E.lens[0], MAGIC_IN), 51);
	refnic_uplink_get_stats(E.u, &after);
	assert_int_equal(after.rx_dropped - before.rx_dropped, 1);
	free(f);
}

static void test_bad_tx_lengths(void **state)
{
	const uint32_t sz[] = { 13, 60, REFNIC_UPLINK_FRAME_MAX + 1 };
	uint8_t **out = ul_bufs_alloc(3);
	struct refnic_uplink_stats before, after;

	for (unsigned int i = 0; i < 3; i++)
		ul_frame_fill(out[i], 60, MAGIC_OUT, 200 + i);
	refnic_uplink_get_stats(E.u, &before);
	assert_int_equal(refnic_uplink_tx_burst(E.u, (const uint8_t *const *)out, sz, 3), 3);
	refnic_uplink_get_stats(E.u, &after);
	assert_int_equal(after.tx_errors - before.tx_errors, 2);
	assert_int_equal(host_collect(MAGIC_OUT, 1, 5000), 1);
	assert_int_equal(ul_frame_seq(E.bufs[0], E.lens[0], MAGIC_OUT), 201);
	ul_bufs_free(out, 3);
}

static void test_open_errors(void **state)
{
	struct refnic_uplink *u;

	/* Attached by this test already: a TAP has one reader. */
	assert_int_equal(refnic_uplink_open(E.spec, &u), -EBUSY);
	assert_null(u);
	assert_int_equal(refnic_uplink_open("tap:lo", &u), -EEXIST);
	assert_null(u);
}

/* Last: the device was the uplink's; closing it removes it. */
static void test_close_removes(void **state)
{
	refnic_uplink_close(E.u);
	E.u = NULL;
	assert_int_equal(if_nametoindex(E.name), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx),	    cmocka_unit_test(test_rx),
		cmocka_unit_test(test_rx_oversize), cmocka_unit_test(test_bad_tx_lengths),
		cmocka_unit_test(test_open_errors), cmocka_unit_test(test_close_removes),
	};

	ul_require_root("uplink_tap");
	return cmocka_run_group_tests(tests, setup, teardown);
}
