/* SPDX-License-Identifier: MIT */
/*
 * The tools on real ports: facetctl stats/watch, and facet-fwd echo, gen
 * and rx, each as a process of its own on one device of the model while
 * this test drives the other one.
 *
 *   test_eth_tools FACET_REFNIC_EXE PLUGIN_DIR FACET_FWD_EXE FACETCTL_EXE
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "teth.h"

#define WAIT_MS 10000

static const char *fwd_exe, *ctl_exe;
static struct teth_env env;

/* Everything the process writes until it exits (bounded). */
static void read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

static void dev_spec(unsigned int i, char *buf, size_t size)
{
	snprintf(buf, size, "vfio-user:%s", env.sock[i]);
}

/* ---- facetctl ------------------------------------------------------------------------ */

static void test_facetctl_stats(void **state)
{
	char spec[160], out[4096];
	char *stats[] = { (char *)ctl_exe, "-j", "-d", spec, "stats", NULL };
	char *watch[] = { (char *)ctl_exe, "-d", spec, "watch", "-i", "0.05", "-c", "2", NULL };
	int fd;
	pid_t pid;

	teth_env_start_open(&env, 0);
	dev_spec(1, spec, sizeof(spec));
	pid = teth_spawn(stats, &fd);
	read_all(fd, out, sizeof(out));
	assert_int_equal(teth_wait(pid, WAIT_MS), 0);
	assert_non_null(strstr(out, "\"name\":\"refnic.eth."));
	assert_non_null(strstr(out, "\"driver\":\"refnic_eth\""));
	assert_non_null(strstr(out, "\"link_up\":true"));
	assert_non_null(strstr(out, "\"ipackets\":0"));

	pid = teth_spawn(watch, &fd);
	read_all(fd, out, sizeof(out));
	assert_int_equal(teth_wait(pid, WAIT_MS), 0);
	/* Not a terminal: two samples one after the other, no escape codes. */
	assert_non_null(strstr(out, "rx pps"));
	assert_non_null(strstr(strstr(out, "rx pps") + 1, "rx pps"));
	assert_null(strchr(out, '\033'));
	teth_env_stop(&env);
}

/* ---- facet-fwd echo ------------------------------------------------------------------ */

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
#define OUR_IP	 0x0a090901u /* 10.9.9.1 */
#define ECHO_IP	 0x0a090902u /* 10.9.9.2, the tool */
#define ECHO_STR "10.9.9.2"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t csum(const uint8_t *d, unsigned int len)
{
	uint32_t sum = 0;

	for (unsigned int i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)d[i] << 8 | d[i + 1];
	if (len & 1)
		sum += (uint32_t)d[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static struct facet_pktbuf *frame(struct facet_pktbuf_pool *pool, const uint8_t *bytes,
				  uint16_t len)
{
	struct facet_pktbuf *pkt = facet_pktbuf_alloc(pool);

	assert_non_null(pkt);
	memcpy(facet_pktbuf_append(pkt, len), bytes, len);
	return pkt;
}

static void arp_request(uint8_t *f)
{
	memset(f, 0, 60);
	memcpy(f, bcast, 6);
	memcpy(f + 6, env.mac[0], 6);
	f[12] = 0x08, f[13] = 0x06;
	f[15] = 1, f[16] = 0x08, f[18] = 6, f[19] = 4, f[21] = 1;
	memcpy(f + 22, env.mac[0], 6);
	put32(f + 28, OUR_IP);
	put32(f + 38, ECHO_IP);
}

static void icmp_request(uint8_t *f, const uint8_t *dst, unsigned int len)
{
	uint16_t c;

	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, env.mac[0], 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8), f[17] = (uint8_t)(len - 14);
	f[22] = 64, f[23] = 1;
	put32(f + 26, OUR_IP);
	put32(f + 30, ECHO_IP);
	c = csum(f + 14, 20);
	f[24] = (uint8_t)(c >> 8), f[25] = (uint8_t)c;
	f[34] = 8;		    /* echo request */
	f[38] = 0x12, f[39] = 0x34; /* id */
	f[41] = 1;		    /* sequence */
	for (unsigned int i = 42; i < len; i++)
		f[i] = (uint8_t)i;
	c = csum(f + 34, len - 34);
	f[36] = (uint8_t)(c >> 8), f[37] = (uint8_t)c;
}

/* Send @req until a frame of @ethertype arrives (the tool may still be warming up). */
static unsigned int ask(struct facet_pktbuf_pool *pool, const uint8_t *req, uint16_t len,
			uint16_t ethertype, uint8_t *reply, unsigned int size)
{
	uint64_t deadline = teth_now_ms() + WAIT_MS;

	while (teth_now_ms() < deadline) {
		struct facet_pktbuf *pkt = frame(pool, req, len), *rx[8];
		uint64_t until = teth_now_ms() + 100;

		teth_tx_all(env.port[0], 0, &pkt, 1);
		while (teth_now_ms() < until) {
			uint16_t n = facet_eth_rx_burst(env.port[0], 0, rx, 8);

			for (uint16_t i = 0; i < n; i++) {
				unsigned int got = facet_pktbuf_read(rx[i], 0, reply, size);
				bool match = got >= 14 && (reply[12] << 8 | reply[13]) == ethertype;

				facet_pktbuf_free(rx[i]);
				if (match) {
					facet_pktbuf_free_bulk(rx + i + 1, n - i - 1u);
					return got;
				}
			}
			usleep(200);
		}
	}
	fail_msg("no reply of type 0x%04x", ethertype);
	return 0;
}

static void test_fwd_echo(void **state)
{
	char spec[160], out[4096], line[256];
	char *argv[] = { (char *)fwd_exe, "-d", spec,	"-P", "refnic.eth.0", "-i",
			 ECHO_STR,	  "-Q", "echo", NULL };
	struct facet_pktbuf_pool *pool;
	uint8_t req[128], reply[256], echo_mac[6];
	unsigned int len;
	int fd;
	pid_t pid;

	teth_env_start_open(&env, 1);
	dev_spec(1, spec, sizeof(spec));
	pid = teth_spawn(argv, &fd);
	teth_read_lines(fd, line, sizeof(line), 1, WAIT_MS);
	assert_non_null(strstr(line, "echo running on refnic.eth.0"));
	teth_port_up(env.port[0], 1, 1, 256, 512, &pool);

	arp_request(req);
	len = ask(pool, req, 60, 0x0806, reply, sizeof(reply));
	assert_true(len >= 42);
	assert_int_equal(reply[21], 2); /* reply */
	assert_memory_equal(reply, env.mac[0], 6);
	assert_memory_equal(reply + 32, env.mac[0], 6);
	memcpy(echo_mac, reply + 22, 6);
	assert_memory_equal(reply + 6, echo_mac, 6);

	icmp_request(req, echo_mac, 98);
	len = ask(pool, req, 98, 0x0800, reply, sizeof(reply));
	assert_int_equal(len, 98);
	assert_int_equal(reply[34], 0);			    /* echo reply */
	assert_memory_equal(reply + 38, req + 38, 98 - 38); /* id, sequence, payload */
	assert_int_equal(csum(reply + 14, 20), 0);
	assert_int_equal(csum(reply + 34, 98 - 34), 0);
	assert_memory_equal(reply, env.mac[0], 6);

	kill(pid, SIGINT);
	read_all(fd, out, sizeof(out));
	assert_int_equal(teth_wait(pid, WAIT_MS), 0);
	assert_non_null(strstr(out, "echo: 1 ARP replies, 1 ICMP echo replies"));
	teth_port_down(env.port[0], pool);
	teth_env_stop(&env);
}

/* ---- facet-fwd gen -> rx ---------------------------------------------------------------- */

static void test_fwd_gen_rx(void **state)
{
	char spec0[160], spec1[160], out[4096], line[256];
	char *rx[] = { (char *)fwd_exe, "-d",	spec1, "-P", "refnic.eth.0", "-q", "2", "-Q",
		       "--mtu",		"9000", "rx",  NULL };
	char *gen[] = { (char *)fwd_exe, "-d", spec0, "-P", "refnic.eth.0", "-n",    "3000", "-r",
			"30000",	 "-f", "8",   "-s", "3000",	    "--mtu", "9000", "-Q",
			"gen",		 NULL };
	unsigned long long got = 0, delivered = 0, missed = 0;
	const char *at;
	int rx_fd, gen_fd;
	pid_t rx_pid, gen_pid;

	teth_env_start_open(&env, 0);
	dev_spec(0, spec0, sizeof(spec0));
	dev_spec(1, spec1, sizeof(spec1));
	rx_pid = teth_spawn(rx, &rx_fd);
	teth_read_lines(rx_fd, line, sizeof(line), 1, WAIT_MS);
	assert_non_null(strstr(line, "rx running"));
	gen_pid = teth_spawn(gen, &gen_fd);
	read_all(gen_fd, out, sizeof(out));
	assert_int_equal(teth_wait(gen_pid, WAIT_MS), 0);
	assert_non_null(strstr(out, "tx 3000 frames 9000000 bytes, dropped 0"));
	usleep(200000); /* the last frames cross the switch */
	kill(rx_pid, SIGINT);
	read_all(rx_fd, out, sizeof(out));
	assert_int_equal(teth_wait(rx_pid, WAIT_MS), 0);
	/*
	 * Every frame arrived intact and in order per flow, or was missed for
	 * want of a posted buffer (the receiving process may be descheduled
	 * when the machine is loaded), and the device's counters add up; the
	 * tool may have been stopped before it read the last few.
	 */
	at = strstr(out, ": rx ");
	assert_non_null(at);
	assert_int_equal(sscanf(at, ": rx %llu frames", &got), 1);
	at = strstr(out, "port ipackets ");
	assert_non_null(at);
	assert_int_equal(sscanf(at, "port ipackets %llu", &delivered), 1);
	at = strstr(out, "imissed ");
	assert_non_null(at);
	assert_int_equal(sscanf(at, "imissed %llu", &missed), 1);
	assert_int_equal(delivered + missed, 3000);
	assert_true(got > 0 && got <= delivered);
	assert_non_null(strstr(out, "rx: 0 bad frames, 0 out of order"));
	teth_env_stop(&env);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_facetctl_stats),
		cmocka_unit_test(test_fwd_echo),
		cmocka_unit_test(test_fwd_gen_rx),
	};

	teth_args(argc, argv);
	if (argc != 5) {
		fprintf(stderr, "usage: %s FACET_REFNIC_EXE PLUGIN_DIR FACET_FWD FACETCTL\n",
			argv[0]);
		return 2;
	}
	fwd_exe = argv[3];
	ctl_exe = argv[4];
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
