/* SPDX-License-Identifier: MIT */
/*
 * Uplink specs: what parses and what fails with which errno, the open-time
 * errors that need no privilege to provoke (no such interface; permission,
 * by dropping capabilities in a child), and checksum completion.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "refnic_uplink_priv.h"
#include "ul_test.h"

static const char *const bad_specs[] = {
	"",
	"bogus",
	"bogus:x",
	"AF_PACKET:eth0",
	"af_packet",
	"af_packet:",
	"af_packet:0123456789abcdef",
	"tap:a/b",
	"tap:a b",
	"tap:.",
	"tap:a:b",
	"udp",
	"udp:",
	"udp:127.0.0.1:5000",
	"udp:127.0.0.1:5000,",
	"udp:127.0.0.1:5000,127.0.0.1",
	"udp:127.0.0.1:0,127.0.0.1:1",
	"udp:127.0.0.1:1,127.0.0.1:0",
	"udp:127.0.0.1:65536,127.0.0.1:1",
	"udp:127.0.0.1:5x,127.0.0.1:1",
	"udp:127.0.0.1:+5,127.0.0.1:1",
	"udp:127.0.0.1: 5,127.0.0.1:1",
	"udp:localhost:1,127.0.0.1:2",
	"udp:127.0.0.256:1,127.0.0.1:2",
	"udp::1,127.0.0.1:2",
	"udp:127.0.0.1:1,[::1]:2",
	"udp:[::1:1,[::1]:2",
	"udp:[::1]1,[::1]:2",
	"udp:[]:1,[::1]:2",
	"udp:[127.0.0.1]:1,[::1]:2",
	"udp:127.0.0.1:1,0.0.0.0:2",
	"udp:[::1]:1,[::]:2",
	"udp:1.2.3.4:1,1.2.3.4:2,1.2.3.4:3",
};

static void test_bad_specs(void **state)
{
	struct refnic_uplink_spec ps;
	struct refnic_uplink *u;

	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		u = (struct refnic_uplink *)&ps; /* must come back NULL */
		if (refnic_uplink_parse(bad_specs[i], &ps) != -EINVAL)
			fail_msg("spec '%s' parsed", bad_specs[i]);
		assert_int_equal(refnic_uplink_open(bad_specs[i], &u), -EINVAL);
		assert_null(u);
	}
}

static void test_none(void **state)
{
	struct refnic_uplink_stats st;
	struct refnic_uplink *u = (struct refnic_uplink *)&st;

	assert_int_equal(refnic_uplink_open(NULL, &u), 0);
	assert_null(u);
	u = (struct refnic_uplink *)&st;
	assert_int_equal(refnic_uplink_open("none", &u), 0);
	assert_null(u);
	/* A NULL uplink is a valid "none" for the cheap accessors. */
	assert_int_equal(refnic_uplink_poll_fd(NULL), -1);
	assert_string_equal(refnic_uplink_name(NULL), "none");
	memset(&st, 0xa5, sizeof(st));
	refnic_uplink_get_stats(NULL, &st);
	assert_int_equal(st.rx_frames + st.tx_frames + st.rx_dropped + st.tx_errors, 0);
	refnic_uplink_close(NULL);
}

static void test_ifname_specs(void **state)
{
	struct refnic_uplink_spec ps;

	assert_int_equal(refnic_uplink_parse("af_packet:veth0", &ps), 0);
	assert_int_equal(ps.kind, UPLINK_AF_PACKET);
	assert_string_equal(ps.ifname, "veth0");
	assert_int_equal(refnic_uplink_parse("tap:0123456789abcde", &ps), 0);
	assert_int_equal(ps.kind, UPLINK_TAP);
	assert_string_equal(ps.ifname, "0123456789abcde");
}

static void check_in4(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char buf[INET_ADDRSTRLEN];

	assert_int_equal(ss->ss_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), port);
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
}

static void check_in6(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(ss->ss_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), port);
	assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
}

static void test_udp_specs(void **state)
{
	struct refnic_uplink_spec ps;

	assert_int_equal(refnic_uplink_parse("udp:127.0.0.1:5000,10.1.2.3:65535", &ps), 0);
	assert_int_equal(ps.kind, UPLINK_UDP);
	check_in4(&ps.local, "127.0.0.1", 5000);
	check_in4(&ps.remote, "10.1.2.3", 65535);
	assert_int_equal(ps.addrlen, sizeof(struct sockaddr_in));

	assert_int_equal(refnic_uplink_parse("udp:0.0.0.0:1,127.0.0.1:2", &ps), 0);
	check_in4(&ps.local, "0.0.0.0", 1);

	assert_int_equal(refnic_uplink_parse("udp:[::]:7000,[fe80::1:2]:7001", &ps), 0);
	check_in6(&ps.local, "::", 7000);
	check_in6(&ps.remote, "fe80::1:2", 7001);
	assert_int_equal(ps.addrlen, sizeof(struct sockaddr_in6));
}

static void test_no_such_interface(void **state)
{
	struct refnic_uplink *u;

	assert_int_equal(refnic_uplink_open("af_packet:facetnoif0", &u), -ENODEV);
	assert_null(u);
}

/* Clear CAP_NET_RAW and CAP_NET_ADMIN from this process's effective set. */
static int drop_net_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	data[0].effective &= ~((1u << CAP_NET_RAW) | (1u << CAP_NET_ADMIN));
	return (int)syscall(SYS_capset, &hdr, data);
}

/* In a child (capabilities are dropped for good): both privileged opens refuse. */
static int eperm_child(void)
{
	struct refnic_uplink *u;

	if (drop_net_caps() < 0)
		return 10;
	if (refnic_uplink_open("af_packet:lo", &u) != -EPERM || u)
		return 11;
	if (access("/dev/net/tun", R_OK | W_OK) == 0 &&
	    (refnic_uplink_open("tap:facetnotap0", &u) != -EPERM || u))
		return 12;
	return 0;
}

static void test_permission(void **state)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(eperm_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st))
		fail_msg("child: step %d did not give -EPERM", WEXITSTATUS(st));
}

/* ---- checksum completion ---- */

static uint32_t build_ipv4(uint8_t *f, uint8_t proto, uint32_t plen, bool vlan)
{
	uint32_t off = 14;

	memset(f, 0, 14 + 4 + 20 + plen);
	memset(f, 0xff, 12);
	if (vlan) {
		f[12] = 0x81;
		f[14] = 0x00;
		f[15] = 0x07;
		off = 18;
	}
	f[off - 2] = 0x08;
	f[off - 1] = 0x00;
	f[off] = 0x45;
	f[off + 2] = (uint8_t)((20 + plen) >> 8);
	f[off + 3] = (uint8_t)(20 + plen);
	f[off + 8] = 64;
	f[off + 9] = proto;
	memcpy(f + off + 12, (uint8_t[]){ 192, 0, 2, 1, 192, 0, 2, 2 }, 8);
	for (uint32_t i = 0; i < plen; i++)
		f[off + 20 + i] = (uint8_t)(i * 13 + 5);
	if (proto == IPPROTO_TCP)
		f[off + 20 + 12] = 0x50; /* data offset 5 */
	return off + 20 + plen;
}

static uint32_t build_ipv6_udp(uint8_t *f, uint32_t plen)
{
	memset(f, 0xff, 12);
	f[12] = 0x86;
	f[13] = 0xdd;
	memset(f + 14, 0, 40);
	f[14] = 0x60;
	f[18] = (uint8_t)(plen >> 8);
	f[19] = (uint8_t)plen;
	f[20] = IPPROTO_UDP;
	f[21] = 64;
	f[22] = 0x20;
	f[23] = 0x01;
	f[37] = 1;
	f[38] = 0x20;
	f[39] = 0x01;
	f[53] = 2;
	for (uint32_t i = 0; i < plen; i++)
		f[54 + i] = (uint8_t)(i * 7 + 1);
	return 54 + plen;
}

static void test_csum_complete(void **state)
{
	static uint8_t f[REFNIC_UPLINK_FRAME_MAX];
	uint32_t len;
	int proto;

	len = build_ipv4(f, IPPROTO_UDP, 1001, false);
	assert_int_equal(uplink_csum_complete(f, len), 1);
	assert_true(ul_l4_csum_ok(f, len, &proto));
	assert_int_equal(proto, IPPROTO_UDP);

	len = build_ipv4(f, IPPROTO_TCP, 8000, true);
	assert_int_equal(uplink_csum_complete(f, len), 1);
	assert_true(ul_l4_csum_ok(f, len, &proto));
	assert_int_equal(proto, IPPROTO_TCP);

	/* Ethernet padding past the IP packet is not part of the sum. */
	len = build_ipv4(f, IPPROTO_UDP, 9, false);
	memset(f + len, 0xee, 60 - len);
	assert_int_equal(uplink_csum_complete(f, 60), 1);
	assert_true(ul_l4_csum_ok(f, 60, &proto));

	len = build_ipv6_udp(f, 333);
	assert_int_equal(uplink_csum_complete(f, len), 1);
	assert_true(ul_l4_csum_ok(f, len, &proto));

	/* Not TCP/UDP over IP, or cut short: left alone. */
	len = build_ipv4(f, IPPROTO_ICMP, 64, false);
	assert_int_equal(uplink_csum_complete(f, len), 0);
	len = build_ipv4(f, IPPROTO_UDP, 64, false);
	assert_int_equal(uplink_csum_complete(f, len - 1), 0);
	ul_frame_fill(f, 100, 1, 1);
	assert_int_equal(uplink_csum_complete(f, 100), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_specs),	  cmocka_unit_test(test_none),
		cmocka_unit_test(test_ifname_specs),	  cmocka_unit_test(test_udp_specs),
		cmocka_unit_test(test_no_such_interface), cmocka_unit_test(test_permission),
		cmocka_unit_test(test_csum_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
