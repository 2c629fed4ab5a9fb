/* SPDX-License-Identifier: MIT */
/*
 * facet_eth datapath on the real model: two refnic devices on one switch,
 * their ports driven by the refnic_eth plugin through the facet_eth API.
 * Frames of 60..9000 bytes (multi-segment on both sides) with verified
 * content, checksum offload, multi-queue with RSS, statistics, MAC,
 * promiscuous mode and MTU.
 *
 *   test_eth_datapath FACET_REFNIC_EXE PLUGIN_DIR
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

#include "teth.h"

#define NB_DESC	  256
#define POOL_SIZE 2048
#define WAIT_MS	  5000

static struct teth_env env;

static int group_setup(void **state)
{
	teth_env_start(&env);
	return 0;
}

static int group_teardown(void **state)
{
	teth_env_stop(&env);
	return 0;
}

static struct teth_flow flow_to(unsigned int from, const uint8_t *dst_mac, uint16_t sport)
{
	return (struct teth_flow){
		.src_mac = env.mac[from],
		.dst_mac = dst_mac,
		.src_ip = 0x0a000001 + from,
		.dst_ip = 0x0a000001 + !from,
		.src_port = sport,
		.dst_port = 4791,
	};
}

/* ---- content: every size, chains on both sides ------------------------------------ */

struct rx_log {
	const struct teth_flow *flow;
	uint32_t next_seq;
	unsigned int n, bad, csum_ok;
	uint64_t bytes;
	const uint32_t *lens;
};

static void on_rx_in_order(struct facet_pktbuf *pkt, uint16_t qid, void *arg)
{
	struct rx_log *log = arg;
	int64_t seq = teth_check(pkt, log->flow);

	if (seq != (int64_t)log->next_seq || pkt->pkt_len != log->lens[log->next_seq]) {
		print_error("frame %u: seq %lld, %u bytes, %u segs\n", log->next_seq,
			    (long long)seq, pkt->pkt_len, pkt->nb_segs);
		log->bad++;
	}
	if (pkt->ol_flags & FACET_PKTBUF_RX_L4_CSUM_OK)
		log->csum_ok++;
	log->next_seq++;
	log->n++;
	log->bytes += pkt->pkt_len;
	facet_pktbuf_free(pkt);
}

static uint32_t frame_len(unsigned int i)
{
	static const uint32_t fixed[] = { 60,	61,   64,   100,  127,	128,  512,  1000,
					  1514, 1518, 1919, 1920, 1921, 2048, 3000, 3840,
					  3841, 4096, 7000, 8191, 8999, 9000, 9018 };
	const unsigned int nfixed = sizeof(fixed) / sizeof(fixed[0]);

	if (i < nfixed)
		return fixed[i];
	return 60 + (i * 7919u) % (9000 - 60 + 1); /* spread over the whole range */
}

/* Send @n frames from port @from to port @to in chunks the RX ring always holds. */
static void exchange(unsigned int from, unsigned int to, struct facet_pktbuf_pool *tx_pool,
		     unsigned int n, uint64_t *bytes)
{
	static const uint16_t seg_sizes[] = { 1920, 1024, 700, 64 };
	struct teth_flow flow = flow_to(from, env.mac[to], 1000);
	uint32_t *lens = calloc(n, sizeof(*lens));
	struct rx_log log = { .flow = &flow, .lens = lens };
	struct facet_pktbuf *pkts[16];

	assert_non_null(lens);
	*bytes = 0;
	for (unsigned int seq = 0; seq < n;) {
		unsigned int chunk = n - seq < 16 ? n - seq : 16;

		for (unsigned int i = 0; i < chunk; i++) {
			uint32_t len = frame_len(seq + i);
			/* 9000 bytes in 64-byte segments would be too many: 700 then. */
			uint16_t seg = seg_sizes[(seq + i) % 4];

			if (len > 16u * seg)
				seg = 1920;
			lens[seq + i] = len > 9018 ? 9018 : len;
			pkts[i] = teth_frame(tx_pool, &flow, lens[seq + i], seq + i, seg);
			assert_non_null(pkts[i]);
			if ((seq + i) & 1)
				pkts[i]->ol_flags |= FACET_PKTBUF_TX_L4_CSUM;
			*bytes += lens[seq + i];
		}
		teth_tx_all(env.port[from], 0, pkts, chunk);
		assert_int_equal(
			teth_rx_wait(env.port[to], 1, chunk, WAIT_MS, on_rx_in_order, &log), chunk);
		seq += chunk;
	}
	assert_int_equal(log.bad, 0);
	assert_int_equal(log.n, n);
	assert_int_equal(log.bytes, *bytes);
	/* Odd frames asked for the checksum: the receiver verified each of them. */
	assert_int_equal(log.csum_ok, n / 2);
	free(lens);
}

static void test_exchange(void **state)
{
	struct facet_pktbuf_pool *pool[2];
	struct facet_eth_stats st;
	struct facet_eth_queue_stats qs;
	const unsigned int n = 200;
	uint64_t bytes[2];

	for (unsigned int i = 0; i < 2; i++) {
		teth_port_up(env.port[i], 1, 1, NB_DESC, POOL_SIZE, &pool[i]);
		assert_int_equal(facet_eth_mtu_set(env.port[i], 9000), 0);
		assert_int_equal(facet_eth_stats_reset(env.port[i]), 0);
	}
	exchange(0, 1, pool[0], n, &bytes[0]);
	exchange(1, 0, pool[1], n, &bytes[1]);

	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(facet_eth_stats_get(env.port[i], &st), 0);
		assert_int_equal(st.opackets, n);
		assert_int_equal(st.obytes, bytes[i]);
		assert_int_equal(st.ipackets, n);
		assert_int_equal(st.ibytes, bytes[!i]);
		assert_int_equal(st.imissed + st.oerrors + st.ierrors + st.queue_errors, 0);
		assert_int_equal(facet_eth_queue_stats_get(env.port[i], true, 0, &qs), 0);
		assert_int_equal(qs.packets, n);
		assert_int_equal(qs.bytes, bytes[!i]);
		assert_false(qs.failed);
		assert_int_equal(facet_eth_queue_stats_get(env.port[i], false, 0, &qs), 0);
		assert_int_equal(qs.packets, n);
		assert_int_equal(facet_eth_stats_reset(env.port[i]), 0);
		assert_int_equal(facet_eth_stats_get(env.port[i], &st), 0);
		assert_int_equal(st.opackets + st.ipackets + st.obytes + st.ibytes, 0);
	}
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(facet_eth_mtu_set(env.port[i], 1500), 0);
		teth_port_down(env.port[i], pool[i]);
	}
}

/* ---- forwarding between devices: buffers of one device's pool sent by another -------- */

static void on_rx_forward(struct facet_pktbuf *pkt, uint16_t qid, void *arg)
{
	struct facet_pktbuf **held = arg;

	while (*held)
		held++;
	*held = pkt;
}

static void test_cross_device_forward(void **state)
{
	struct teth_flow there = flow_to(0, env.mac[1], 5000);
	struct facet_pktbuf_pool *pool[2];
	struct facet_pktbuf *pkts[16], *held[17] = { 0 };
	uint32_t lens[16];
	struct rx_log log = { .flow = &there, .lens = lens };

	for (unsigned int i = 0; i < 2; i++) {
		teth_port_up(env.port[i], 1, 1, NB_DESC, POOL_SIZE, &pool[i]);
		assert_int_equal(facet_eth_mtu_set(env.port[i], 9000), 0);
	}
	/* Port 0 sends to port 1, which keeps the frames (buffers of pool 1)... */
	for (unsigned int i = 0; i < 16; i++) {
		lens[i] = i % 2 ? 9000 : 60 + 97 * i;
		pkts[i] = teth_frame(pool[0], &there, lens[i], i, 1920);
		assert_non_null(pkts[i]);
	}
	teth_tx_all(env.port[0], 0, pkts, 16);
	assert_int_equal(teth_rx_wait(env.port[1], 1, 16, WAIT_MS, on_rx_forward, held), 16);
	/* ...and port 0 sends them again: its device cannot reach pool 1, the driver copies. */
	teth_tx_all(env.port[0], 0, held, 16);
	assert_int_equal(teth_rx_wait(env.port[1], 1, 16, WAIT_MS, on_rx_in_order, &log), 16);
	assert_int_equal(log.bad, 0);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(facet_eth_mtu_set(env.port[i], 1500), 0);
		teth_port_down(env.port[i], pool[i]);
	}
}

/* A pool of another device cannot feed an RX queue. */
static void test_foreign_rx_pool(void **state)
{
	const struct facet_pktbuf_pool_opts opts = { .count = 64, .numa_node = -1 };
	struct facet_pktbuf_pool *pool;

	assert_int_equal(
		facet_pktbuf_pool_create(facet_eth_port_dma_dev(env.port[1]), NULL, &opts, &pool),
		0);
	assert_int_equal(facet_eth_configure(env.port[0],
					     &(struct facet_eth_conf){ .nb_rxq = 1, .nb_txq = 1 }),
			 0);
	assert_int_equal(facet_eth_rx_queue_setup(env.port[0], 0, 64, pool), -EINVAL);
	facet_pktbuf_pool_free(pool);
}

/* ---- RSS: flows spread over queues, each flow stays on one ------------------------- */

#define RSS_QUEUES 4
#define RSS_FLOWS  64

struct rss_log {
	int queue_of[RSS_FLOWS];
	uint32_t hash_of[RSS_FLOWS];
	unsigned int per_queue[RSS_QUEUES];
	unsigned int bad;
};

static void on_rx_rss(struct facet_pktbuf *pkt, uint16_t qid, void *arg)
{
	struct rss_log *log = arg;
	int flow = teth_src_port(pkt) - 2000;

	if (flow < 0 || flow >= RSS_FLOWS || !(pkt->ol_flags & FACET_PKTBUF_RX_RSS_HASH) ||
	    pkt->port_qid != qid || teth_check(pkt, NULL) < 0) {
		log->bad++;
	} else if (log->queue_of[flow] < 0) {
		log->queue_of[flow] = qid;
		log->hash_of[flow] = pkt->rss_hash;
	} else if (log->queue_of[flow] != qid || log->hash_of[flow] != pkt->rss_hash) {
		log->bad++;
	}
	if (qid < RSS_QUEUES)
		log->per_queue[qid]++;
	facet_pktbuf_free(pkt);
}

static void send_flows(struct facet_pktbuf_pool *pool, unsigned int rounds, struct rss_log *log)
{
	for (unsigned int r = 0; r < rounds; r++) {
		struct facet_pktbuf *pkts[RSS_FLOWS];

		for (unsigned int f = 0; f < RSS_FLOWS; f++) {
			struct teth_flow flow = flow_to(0, env.mac[1], (uint16_t)(2000 + f));

			pkts[f] = teth_frame(pool, &flow, 128, r * RSS_FLOWS + f, 2048);
			assert_non_null(pkts[f]);
		}
		teth_tx_all(env.port[0], 0, pkts, RSS_FLOWS);
		assert_int_equal(
			teth_rx_wait(env.port[1], RSS_QUEUES, RSS_FLOWS, WAIT_MS, on_rx_rss, log),
			RSS_FLOWS);
	}
}

static void test_rss(void **state)
{
	struct facet_pktbuf_pool *pool[2];
	struct facet_eth_rss_conf rss = { 0 };
	struct facet_eth_queue_stats qs;
	struct rss_log log;
	unsigned int used = 0;
	uint64_t total = 0;

	teth_port_up(env.port[0], 1, 1, NB_DESC, POOL_SIZE, &pool[0]);
	teth_port_up(env.port[1], RSS_QUEUES, 1, NB_DESC, POOL_SIZE, &pool[1]);
	assert_int_equal(facet_eth_stats_reset(env.port[1]), 0);
	memset(&log, 0, sizeof(log));
	memset(log.queue_of, -1, sizeof(log.queue_of));
	send_flows(pool[0], 4, &log);
	assert_int_equal(log.bad, 0);
	for (unsigned int q = 0; q < RSS_QUEUES; q++) {
		used += log.per_queue[q] > 0;
		assert_int_equal(facet_eth_queue_stats_get(env.port[1], true, (uint16_t)q, &qs), 0);
		assert_int_equal(qs.packets, log.per_queue[q]);
		total += qs.packets;
	}
	assert_true(used >= 3); /* 64 flows on 4 queues: all of them, in practice */
	assert_int_equal(total, 4 * RSS_FLOWS);

	/* Every table entry on queue 2: everything lands there. */
	rss.hash_types = FACET_ETH_RSS_ALL;
	rss.reta_size = 128;
	for (unsigned int i = 0; i < rss.reta_size; i++)
		rss.reta[i] = 2;
	assert_int_equal(facet_eth_rss_set(env.port[1], &rss), 0);
	memset(&log, 0, sizeof(log));
	memset(log.queue_of, -1, sizeof(log.queue_of));
	send_flows(pool[0], 1, &log);
	assert_int_equal(log.bad, 0);
	assert_int_equal(log.per_queue[2], RSS_FLOWS);

	/* A table naming a queue the port does not have is refused. */
	rss.reta[0] = RSS_QUEUES;
	assert_int_equal(facet_eth_rss_set(env.port[1], &rss), -EINVAL);
	teth_port_down(env.port[0], pool[0]);
	teth_port_down(env.port[1], pool[1]);
}

/* ---- MAC, promiscuous mode, MTU ------------------------------------------------------ */

static void count_rx(struct facet_pktbuf *pkt, uint16_t qid, void *arg)
{
	(*(unsigned int *)arg)++;
	facet_pktbuf_free(pkt);
}

/* Send one frame of @len from port 0 to @dst; how many frames port 1 got. */
static unsigned int probe(struct facet_pktbuf_pool *pool, const uint8_t *dst, uint32_t len,
			  unsigned int wait_ms)
{
	struct teth_flow flow = flow_to(0, dst, 3000);
	struct facet_pktbuf *pkt = teth_frame(pool, &flow, len, 1, 1920);
	unsigned int got = 0;

	assert_non_null(pkt);
	teth_tx_all(env.port[0], 0, &pkt, 1);
	teth_rx_wait(env.port[1], 1, 1, wait_ms, count_rx, &got);
	return got;
}

static void test_mac_promisc_mtu(void **state)
{
	static const uint8_t new_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	static const uint8_t other[6] = { 0x02, 0x99, 0x88, 0x77, 0x66, 0x55 };
	static const uint8_t bad[6] = { 0x03, 0, 0, 0, 0, 1 };
	struct facet_pktbuf_pool *pool[2];
	struct facet_eth_stats st;
	uint8_t mac[6];

	teth_port_up(env.port[0], 1, 1, NB_DESC, POOL_SIZE, &pool[0]);
	teth_port_up(env.port[1], 1, 1, NB_DESC, POOL_SIZE, &pool[1]);

	/* MAC: the switch follows the new address. */
	assert_int_equal(facet_eth_mac_set(env.port[1], bad), -EINVAL);
	assert_int_equal(facet_eth_mac_set(env.port[1], new_mac), 0);
	assert_int_equal(facet_eth_mac_get(env.port[1], mac), 0);
	assert_memory_equal(mac, new_mac, 6);
	assert_int_equal(probe(pool[0], new_mac, 100, WAIT_MS), 1);
	assert_int_equal(probe(pool[0], env.mac[1], 100, 50), 0);
	assert_int_equal(facet_eth_mac_set(env.port[1], env.mac[1]), 0);
	assert_int_equal(probe(pool[0], env.mac[1], 100, WAIT_MS), 1);

	/* Promiscuous: frames for someone else too. */
	assert_int_equal(probe(pool[0], other, 100, 50), 0);
	assert_int_equal(facet_eth_promiscuous_set(env.port[1], true), 0);
	assert_int_equal(facet_eth_promiscuous_get(env.port[1]), 1);
	assert_int_equal(probe(pool[0], other, 100, WAIT_MS), 1);
	assert_int_equal(facet_eth_promiscuous_set(env.port[1], false), 0);
	assert_int_equal(probe(pool[0], other, 100, 50), 0);
	assert_int_equal(facet_eth_allmulticast_set(env.port[1], true), 0);
	assert_int_equal(facet_eth_allmulticast_get(env.port[1]), 1);
	assert_int_equal(facet_eth_allmulticast_set(env.port[1], false), 0);

	/* MTU: the receiver drops what is too long, the sender refuses to send it. */
	assert_int_equal(facet_eth_mtu_set(env.port[1], 60), -EINVAL);
	assert_int_equal(facet_eth_mtu_set(env.port[0], 9000), 0);
	assert_int_equal(facet_eth_stats_reset(env.port[1]), 0);
	assert_int_equal(probe(pool[0], env.mac[1], 1518, WAIT_MS), 1);
	assert_int_equal(probe(pool[0], env.mac[1], 1519, 50), 0);
	assert_int_equal(facet_eth_stats_get(env.port[1], &st), 0);
	assert_int_equal(st.ipackets, 1);
	assert_int_equal(st.imissed, 1);
	assert_int_equal(facet_eth_mtu_set(env.port[0], 1500), 0);
	assert_int_equal(facet_eth_stats_reset(env.port[0]), 0);
	assert_int_equal(probe(pool[0], env.mac[1], 2000, 50), 0);
	assert_int_equal(facet_eth_stats_get(env.port[0], &st), 0);
	assert_int_equal(st.oerrors, 1);
	assert_int_equal(st.opackets, 0);
	/* The queue survived the refused frame. */
	assert_int_equal(probe(pool[0], env.mac[1], 1000, WAIT_MS), 1);

	teth_port_down(env.port[0], pool[0]);
	teth_port_down(env.port[1], pool[1]);
}

/* ---- control path errors -------------------------------------------------------------- */

static void test_control_errors(void **state)
{
	struct facet_eth_port *p = env.port[0];
	struct facet_eth_dev_info info;
	struct facet_eth_link link;
	struct facet_pktbuf_pool *pool;
	struct facet_pktbuf *bufs[4];

	assert_null(facet_eth_port_get(env.bus, "refnic.eth.9"));
	assert_null(facet_eth_port_get(env.bus, "refnic.rdma.0"));
	assert_int_equal(facet_eth_dev_info_get(p, &info), 0);
	assert_string_equal(info.driver, "refnic_eth");
	assert_true(info.max_rx_queues >= RSS_QUEUES);
	assert_int_equal(facet_eth_link_get(p, &link), 0);
	assert_true(link.up);
	assert_true(link.speed > 0);
	assert_int_equal(
		facet_eth_configure(p, &(struct facet_eth_conf){ .nb_rxq = 0, .nb_txq = 1 }),
		-EINVAL);
	assert_int_equal(
		facet_eth_configure(p, &(struct facet_eth_conf){ .nb_rxq = 1, .nb_txq = 1 }), 0);
	assert_int_equal(facet_eth_start(p), -EINVAL); /* queues not set up */
	assert_int_equal(facet_eth_tx_queue_setup(p, 0, 100), -EINVAL);
	assert_int_equal(facet_eth_tx_queue_setup(p, 1, 256), -EINVAL);
	/* A pool too small for the ring: start fails cleanly, nothing leaks. */
	assert_int_equal(facet_pktbuf_pool_create(
				 facet_eth_port_dma_dev(p), facet_eth_port_dma_owner(p),
				 &(struct facet_pktbuf_pool_opts){ .count = 16, .numa_node = -1 },
				 &pool),
			 0);
	assert_int_equal(facet_eth_rx_queue_setup(p, 0, 256, pool), 0);
	assert_int_equal(facet_eth_tx_queue_setup(p, 0, 256), 0);
	assert_int_equal(facet_eth_start(p), -ENOBUFS);
	assert_false(facet_eth_is_started(p));
	assert_int_equal(facet_pktbuf_pool_avail(pool), 16);
	/* Bursts on a stopped port are harmless. */
	assert_int_equal(facet_eth_rx_burst(p, 0, bufs, 4), 0);
	assert_int_equal(facet_eth_tx_burst(p, 0, bufs, 0), 0);
	facet_pktbuf_pool_free(pool);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_errors),
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_cross_device_forward),
		cmocka_unit_test(test_foreign_rx_pool),
		cmocka_unit_test(test_rss),
		cmocka_unit_test(test_mac_promisc_mtu),
	};

	teth_args(argc, argv);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
