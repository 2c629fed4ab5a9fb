/* SPDX-License-Identifier: MIT */
/*
 * The refnic Ethernet datapath (docs/refnic.md §15), driven by hand: two
 * devices in one system (one embedded switch), each opened through lib/core,
 * with TX/RX queues programmed straight from the spec. Frames go from one
 * device to the other and are checked byte for byte; RSS placement is
 * predicted by an independent Toeplitz implementation that is itself
 * checked against the Microsoft verification vectors first.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rn_eth.h"

#define WAIT_MS 2000

struct fx {
	struct refnic_system *sys;
	struct rn a, b;
	uint8_t amac[6], bmac[6];
	struct rn_eq aeq, beq;
	struct rn_q atx, arx, btx, brx;
	uint8_t frame[10240];
	uint8_t got[10240];
};

static int setup(void **state)
{
	struct refnic_system_opts so = { .uplink = "none" };
	struct fx *x = calloc(1, sizeof(*x));
	struct refnic_model_opts o = { 0 };
	static const uint8_t base_b[6] = { 0x02, 0xfa, 0xce, 0x00, 0x01, 0x00 };

	assert_non_null(x);
	assert_int_equal(refnic_system_create(&so, &x->sys), 0);
	o.system = x->sys;
	assert_int_equal(rn_start(&x->a, &o), 0);
	memcpy(o.mac_base, base_b, 6);
	assert_int_equal(rn_start(&x->b, &o), 0);
	assert_int_equal(rn_enable(&x->a, 4), 0);
	assert_int_equal(rn_enable(&x->b, 4), 0);
	rn_mac(&x->a, 0, x->amac);
	rn_mac(&x->b, 0, x->bmac);
	assert_int_equal(rn_eq_create(&x->a, 0, &x->aeq), REFNIC_STATUS_OK);
	assert_int_equal(rn_eq_create(&x->b, 0, &x->beq), REFNIC_STATUS_OK);
	assert_int_equal(rn_q_create(&x->a, 0, REFNIC_QT_TX, 6, 0, &x->atx), REFNIC_STATUS_OK);
	assert_int_equal(rn_q_create(&x->a, 0, REFNIC_QT_RX, 6, 2048, &x->arx), REFNIC_STATUS_OK);
	assert_int_equal(rn_q_create(&x->b, 0, REFNIC_QT_TX, 6, 0, &x->btx), REFNIC_STATUS_OK);
	assert_int_equal(rn_q_create(&x->b, 0, REFNIC_QT_RX, 6, 2048, &x->brx), REFNIC_STATUS_OK);
	rn_rx_fill(&x->arx);
	rn_rx_fill(&x->brx);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	rn_stop(&x->a);
	rn_stop(&x->b);
	refnic_system_destroy(x->sys);
	free(x);
	return 0;
}

static struct rn_flow flow4(const uint8_t *dmac, const uint8_t *smac, uint8_t proto)
{
	struct rn_flow f = { .ipv = 4, .proto = proto, .sport = 1234, .dport = 80 };

	memcpy(f.dmac, dmac, 6);
	memcpy(f.smac, smac, 6);
	memcpy(f.src, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	memcpy(f.dst, (uint8_t[]){ 10, 0, 0, 2 }, 4);
	return f;
}

static struct rn_flow flow6(const uint8_t *dmac, const uint8_t *smac, uint8_t proto)
{
	struct rn_flow f = { .ipv = 6, .proto = proto, .sport = 5555, .dport = 443 };

	memcpy(f.dmac, dmac, 6);
	memcpy(f.smac, smac, 6);
	f.src[0] = 0xfd, f.src[15] = 1;
	f.dst[0] = 0xfd, f.dst[15] = 2;
	return f;
}

/* A raw frame of @len bytes to @dmac: header, then a counting pattern. */
static void raw_frame(uint8_t *b, uint32_t len, const uint8_t *dmac, const uint8_t *smac,
		      uint8_t seed)
{
	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	b[12] = 0x88, b[13] = 0xb5; /* local experimental EtherType */
	for (uint32_t i = 14; i < len; i++)
		b[i] = (uint8_t)(seed + i * 13);
}

static void expect_frame(struct rn_q *rx, const uint8_t *want, uint32_t len, struct fx *x)
{
	uint16_t flags = 0;
	int n = rn_rx_recv(rx, x->got, sizeof(x->got), &flags, NULL, NULL, WAIT_MS);

	assert_int_equal(n, len);
	assert_memory_equal(x->got, want, len);
	assert_true(flags & REFNIC_RXD_EOP);
}

/* ---- Toeplitz: the test's own implementation against Microsoft's vectors -------- */

struct ms_vec {
	uint8_t src[4], dst[4];
	uint16_t sport, dport;
	uint32_t h_ip, h_tcp;
};

static void test_toeplitz_ms_vectors(void **state)
{
	/* "Verifying the RSS Hash Calculation", Microsoft RSS documentation (IPv4). */
	static const struct ms_vec v[] = {
		{ { 66, 9, 149, 187 }, { 161, 142, 100, 80 }, 2794, 1766, 0x323e8fc2, 0x51ccc178 },
		{ { 199, 92, 111, 2 }, { 65, 69, 140, 83 }, 14230, 4739, 0xd718262a, 0xc626b0ea },
		{ { 24, 19, 198, 95 }, { 12, 22, 207, 184 }, 12898, 38024, 0xd2d0a5de, 0x5c2b394a },
		{ { 38, 27, 205, 30 }, { 209, 142, 163, 6 }, 48228, 2217, 0x82989176, 0xafc7327f },
		{ { 153, 39, 163, 191 },
		  { 202, 188, 127, 2 },
		  44251,
		  1303,
		  0x5d1809c5,
		  0x10e828a2 },
	};
	/* IPv6: 3ffe:2501:200:1fff::7 -> 3ffe:2501:200:3::1, ports 2794 -> 1766. */
	static const uint8_t v6[36] = {
		0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00,	 0x1f,	      0xff,	 0,
		0,    0,    0,	  0,	0,    0,	 7,	      0x3f,	 0xfe,
		0x25, 0x01, 0x02, 0x00, 0x00, 0x03,	 0,	      0,	 0,
		0,    0,    0,	  0,	1,    2794 >> 8, 2794 & 0xff, 1766 >> 8, 1766 & 0xff,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t in[12];

		memcpy(in, v[i].src, 4);
		memcpy(in + 4, v[i].dst, 4);
		in[8] = (uint8_t)(v[i].sport >> 8), in[9] = (uint8_t)v[i].sport;
		in[10] = (uint8_t)(v[i].dport >> 8), in[11] = (uint8_t)v[i].dport;
		assert_int_equal(rn_toeplitz(rn_ms_rss_key, in, 8), v[i].h_ip);
		assert_int_equal(rn_toeplitz(rn_ms_rss_key, in, 12), v[i].h_tcp);
	}
	assert_int_equal(rn_toeplitz(rn_ms_rss_key, v6, 32), 0x2cc18cd5);
	assert_int_equal(rn_toeplitz(rn_ms_rss_key, v6, 36), 0x40207d3d);
}

/* ---- capabilities ------------------------------------------------------------------- */

static void test_caps(void **state)
{
	struct fx *x = *state;
	struct rn *h = &x->a;
	struct refnic_caps caps;
	struct refnic_sqe s = { .opcode = REFNIC_OP_QUERY_CAPS };

	s.data_iova = facet_core_dma_iova(h->buf);
	s.data_len = sizeof(caps);
	assert_int_equal(rn_cmd(h, &s, NULL), REFNIC_STATUS_OK);
	memcpy(&caps, facet_core_dma_va(h->buf), sizeof(caps));
	assert_int_equal(caps.version, 0x00010002);
	assert_int_equal(rn_rd(h, REFNIC_REG_VERSION), 0x00010002);
	assert_int_equal(caps.max_mtu, 9000);
	for (int t = REFNIC_QT_TX; t <= REFNIC_QT_RX; t++) {
		assert_int_equal(caps.queues[t].max_per_func, 16);
		assert_int_equal(caps.queues[t].log_min, 6);
		assert_int_equal(caps.queues[t].log_max, 12);
		assert_int_equal(caps.queues[t].entry_size, 16);
	}
	assert_int_equal(caps.queues[REFNIC_QT_CQ].entry_size, 32); /* 1.2: RDMA CQs */
	/* Every device of the system has its own MACs. */
	assert_memory_not_equal(x->amac, x->bmac, 6);
}

/* ---- frames through the switch ------------------------------------------------------ */

static void test_unicast_sizes(void **state)
{
	static const uint32_t sizes[] = {
		60, 61, 64, 100, 1514, 1518, 2048, 2049, 4000, 8192, 9018
	};
	struct fx *x = *state;

	assert_int_equal(rn_set_mtu(&x->a, 0, 9000), REFNIC_STATUS_OK);
	assert_int_equal(rn_set_mtu(&x->b, 0, 9000), REFNIC_STATUS_OK);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t len = sizes[i];
		unsigned int nseg = 1 + i % 3, ndesc = 0;
		uint16_t flags;

		/* A -> B: B's buffers are 2048 bytes, so big frames take several. */
		raw_frame(x->frame, len, x->bmac, x->amac, (uint8_t)i);
		assert_int_equal(rn_tx_send(&x->atx, x->frame, len, nseg, 0), 0);
		assert_int_equal(
			rn_rx_recv(&x->brx, x->got, sizeof(x->got), &flags, NULL, &ndesc, WAIT_MS),
			len);
		assert_memory_equal(x->got, x->frame, len);
		assert_int_equal(ndesc, (len + 2047) / 2048);
		assert_true(flags & REFNIC_RXD_EOP);
		assert_false(flags & REFNIC_RXD_RSS);
		/* ... and back. */
		raw_frame(x->frame, len, x->amac, x->bmac, (uint8_t)(i + 100));
		assert_int_equal(rn_tx_send(&x->btx, x->frame, len, 4 - nseg, 0), 0);
		expect_frame(&x->arx, x->frame, len, x);
	}
	/* A short frame is padded to 60 bytes with zeros, as a MAC does. */
	raw_frame(x->frame, 42, x->bmac, x->amac, 7);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 42, 2, 0), 0);
	memset(x->frame + 42, 0, 18);
	expect_frame(&x->brx, x->frame, 60, x);
	assert_true(rn_rx_empty(&x->arx));
	assert_true(rn_rx_empty(&x->brx));

	/* Counters: function and queue agree. */
	struct refnic_func_stats fs;
	struct refnic_queue_stats qs;

	assert_int_equal(rn_func_stats(&x->a, 0, &fs), REFNIC_STATUS_OK);
	assert_int_equal(fs.tx_packets, 12);
	assert_int_equal(fs.rx_packets, 11);
	assert_int_equal(rn_queue_stats(&x->atx, &qs), REFNIC_STATUS_OK);
	assert_int_equal(qs.packets, 12);
	assert_int_equal(qs.bytes, fs.tx_bytes);
	assert_int_equal(rn_queue_stats(&x->brx, &qs), REFNIC_STATUS_OK);
	assert_int_equal(qs.packets, 12);
	assert_int_equal(qs.drops, 0);
}

/* Many frames in flight at once: bursts, ring wrap-around, reposted buffers. */
static void test_burst_wrap(void **state)
{
	struct fx *x = *state;

	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < 40; i++) {
			raw_frame(x->frame, 100 + i, x->bmac, x->amac, (uint8_t)(round * 40 + i));
			rn_tx_post(&x->atx, x->frame, 100 + i, 1, 0);
		}
		assert_int_equal(rn_tx_wait(&x->atx, WAIT_MS), 0);
		for (int i = 0; i < 40; i++) {
			raw_frame(x->frame, 100 + i, x->bmac, x->amac, (uint8_t)(round * 40 + i));
			expect_frame(&x->brx, x->frame, 100 + i, x);
		}
	}
}

static void test_broadcast_multicast(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct fx *x = *state;

	raw_frame(x->frame, 200, bcast, x->amac, 1);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 200, 1, 0), 0);
	expect_frame(&x->brx, x->frame, 200, x);
	assert_true(rn_rx_empty(&x->arx)); /* never back to its source */

	raw_frame(x->frame, 300, mcast, x->bmac, 2);
	assert_int_equal(rn_tx_send(&x->btx, x->frame, 300, 2, 0), 0);
	expect_frame(&x->arx, x->frame, 300, x);
	assert_true(rn_rx_empty(&x->brx));
}

static void test_unknown_unicast_dropped(void **state)
{
	static const uint8_t nobody[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
	struct fx *x = *state;
	struct refnic_func_stats fs;
	struct refnic_queue_stats qs;

	raw_frame(x->frame, 128, nobody, x->amac, 3);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 128, 1, 0), 0);
	/* TX completion is written after the switch delivered the burst. */
	assert_true(rn_rx_empty(&x->brx));
	assert_true(rn_rx_empty(&x->arx));
	assert_int_equal(rn_func_stats(&x->a, 0, &fs), REFNIC_STATUS_OK);
	assert_int_equal(fs.tx_packets, 1);
	assert_int_equal(fs.tx_drops, 1);
	assert_int_equal(rn_queue_stats(&x->atx, &qs), REFNIC_STATUS_OK);
	assert_int_equal(qs.drops, 1);

	/* A frame to the sender's own MAC goes nowhere either. */
	raw_frame(x->frame, 128, x->amac, x->amac, 4);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 128, 1, 0), 0);
	assert_true(rn_rx_empty(&x->arx));

	/* After SET_MAC, the switch follows the new address. */
	uint8_t p[40] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

	assert_int_equal(rn_fn_cmd(&x->b, REFNIC_OP_SET_MAC, 0, p, NULL), REFNIC_STATUS_OK);
	raw_frame(x->frame, 128, p, x->amac, 5);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 128, 1, 0), 0);
	expect_frame(&x->brx, x->frame, 128, x);
}

static void test_promisc(void **state)
{
	static const uint8_t nobody[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
	struct fx *x = *state;

	assert_int_equal(rn_set_rx_mode(&x->b, 0, REFNIC_RXMODE_PROMISC), REFNIC_STATUS_OK);
	raw_frame(x->frame, 100, nobody, x->amac, 9);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 100, 1, 0), 0);
	expect_frame(&x->brx, x->frame, 100, x);
	assert_true(rn_rx_empty(&x->arx));
	assert_int_equal(rn_set_rx_mode(&x->b, 0, 0), REFNIC_STATUS_OK);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 100, 1, 0), 0);
	assert_true(rn_rx_empty(&x->brx));
	assert_int_equal(rn_set_rx_mode(&x->b, 0, 1u << 2), REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(rn_set_rx_mode(&x->b, 0, REFNIC_RXMODE_ALLMULTI), REFNIC_STATUS_OK);
}

/* ---- MTU ------------------------------------------------------------------------------ */

static void test_mtu(void **state)
{
	struct fx *x = *state;
	struct refnic_func_stats fs;
	struct refnic_eqe e;
	struct rn_q tx2;

	assert_int_equal(rn_set_mtu(&x->a, 0, 67), REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(rn_set_mtu(&x->a, 0, 9001), REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(rn_set_mtu(&x->a, 0, 68), REFNIC_STATUS_OK);
	assert_int_equal(rn_set_mtu(&x->a, 0, 1500), REFNIC_STATUS_OK);

	/* MTU + 18 (header and a VLAN tag) is the largest frame. */
	raw_frame(x->frame, 1518, x->bmac, x->amac, 1);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 1518, 2, 0), 0);
	expect_frame(&x->brx, x->frame, 1518, x);

	/* RX: B at 1500 drops a 2000-byte frame A may send at 9000. */
	assert_int_equal(rn_set_mtu(&x->a, 0, 9000), REFNIC_STATUS_OK);
	raw_frame(x->frame, 2000, x->bmac, x->amac, 2);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 2000, 1, 0), 0);
	assert_true(rn_rx_empty(&x->brx));
	assert_int_equal(rn_func_stats(&x->b, 0, &fs), REFNIC_STATUS_OK);
	assert_int_equal(fs.rx_drops, 1);

	/* TX: one byte over stops the queue with BAD_LEN and an event. */
	assert_int_equal(rn_set_mtu(&x->a, 0, 1500), REFNIC_STATUS_OK);
	raw_frame(x->frame, 1519, x->bmac, x->amac, 3);
	rn_tx_post(&x->atx, x->frame, 1519, 3, 0);
	assert_int_equal(rn_tx_wait(&x->atx, WAIT_MS), -EIO);
	assert_int_equal(x->atx.st->error, REFNIC_QERR_BAD_LEN);
	assert_int_equal(rn_eq_next(&x->aeq, REFNIC_EVENT_QUEUE_ERROR, &e, WAIT_MS), 0);
	assert_int_equal(REFNIC_QERR_EVENT_QID(e.data), x->atx.id);
	assert_int_equal(REFNIC_QERR_EVENT_TYPE(e.data), REFNIC_QT_TX);
	assert_int_equal(REFNIC_QERR_EVENT_CODE(e.data), REFNIC_QERR_BAD_LEN);
	assert_true(rn_rx_empty(&x->brx));

	/* Another TX queue still works; the stopped one can be destroyed. */
	assert_int_equal(rn_q_create(&x->a, 0, REFNIC_QT_TX, 6, 0, &tx2), REFNIC_STATUS_OK);
	raw_frame(x->frame, 1000, x->bmac, x->amac, 4);
	assert_int_equal(rn_tx_send(&tx2, x->frame, 1000, 1, 0), 0);
	expect_frame(&x->brx, x->frame, 1000, x);
	assert_int_equal(rn_q_destroy(&x->atx), REFNIC_STATUS_OK);
}

/* ---- RSS ------------------------------------------------------------------------------- */

static uint32_t expect_hash(const struct rn_flow *f, bool ports)
{
	uint8_t in[36];
	unsigned int alen = f->ipv == 4 ? 4 : 16;

	memcpy(in, f->src, alen);
	memcpy(in + alen, f->dst, alen);
	in[2 * alen] = (uint8_t)(f->sport >> 8), in[2 * alen + 1] = (uint8_t)f->sport;
	in[2 * alen + 2] = (uint8_t)(f->dport >> 8), in[2 * alen + 3] = (uint8_t)f->dport;
	return rn_toeplitz(rn_ms_rss_key, in, 2 * alen + (ports ? 4 : 0));
}

static void test_rss(void **state)
{
	struct fx *x = *state;
	struct refnic_rss_config c = { 0 };
	struct rn_q rx[4], *byid[REFNIC_DB_MAX_QUEUES] = { 0 };
	unsigned int hits[4] = { 0 };

	rx[0] = x->brx;
	for (int i = 1; i < 4; i++) {
		assert_int_equal(rn_q_create(&x->b, 0, REFNIC_QT_RX, 7, 256, &rx[i]),
				 REFNIC_STATUS_OK);
		rn_rx_fill(&rx[i]);
	}
	for (int i = 0; i < 4; i++)
		byid[rx[i].id] = &rx[i];
	memcpy(c.key, rn_ms_rss_key, 40);
	/* TCP and UDP over IPv4 by 4-tuple; over IPv6 TCP only, UDP by addresses. */
	c.hash_types = REFNIC_RSS_IPV4 | REFNIC_RSS_TCP_IPV4 | REFNIC_RSS_UDP_IPV4 |
		       REFNIC_RSS_IPV6 | REFNIC_RSS_TCP_IPV6;
	c.reta_size = 128;
	for (int i = 0; i < 128; i++)
		c.reta[i] = (uint16_t)rx[(i * 7 + i / 5) % 4].id;

	/* Bad tables first: nothing changes. */
	c.reta[5] = (uint16_t)x->btx.id;
	assert_int_equal(rn_set_rss(&x->b, 0, &c), REFNIC_STATUS_BAD_QUEUE);
	c.reta[5] = (uint16_t)rx[0].id;
	c.reta_size = 96;
	assert_int_equal(rn_set_rss(&x->b, 0, &c), REFNIC_STATUS_INVALID_FIELD);
	c.reta_size = 128;
	c.hash_types |= 1u << 6;
	assert_int_equal(rn_set_rss(&x->b, 0, &c), REFNIC_STATUS_INVALID_FIELD);
	c.hash_types &= ~(1u << 6);
	assert_int_equal(rn_set_rss(&x->b, 0, &c), REFNIC_STATUS_OK);

	for (int i = 0; i < 96; i++) {
		bool v6 = i % 3 == 2;
		uint8_t proto = i % 2 ? 17 : 6;
		struct rn_flow f =
			v6 ? flow6(x->bmac, x->amac, proto) : flow4(x->bmac, x->amac, proto);
		bool ports = proto == 6 || !v6;
		uint32_t h, got_hash = 0, len;
		uint16_t flags = 0;
		struct rn_q *q;

		f.sport = (uint16_t)(1000 + i * 37);
		f.dport = (uint16_t)(80 + i);
		f.src[v6 ? 15 : 3] = (uint8_t)(i * 11);
		len = rn_build(x->frame, &f, 30 + i, (uint8_t)i);
		h = expect_hash(&f, ports);
		q = byid[c.reta[h & 127]];
		assert_int_equal(rn_tx_send(&x->atx, x->frame, len, 1, 0), 0);
		assert_int_equal(
			rn_rx_recv(q, x->got, sizeof(x->got), &flags, &got_hash, NULL, WAIT_MS),
			len);
		assert_memory_equal(x->got, x->frame, len);
		assert_true(flags & REFNIC_RXD_RSS);
		assert_int_equal(got_hash, h);
		for (int k = 0; k < 4; k++)
			assert_true(rn_rx_empty(&rx[k]));
		hits[q - rx]++;
	}
	for (int k = 0; k < 4; k++)
		assert_true(hits[k] > 0); /* spread over every queue */

	/* A non-IP frame is not hashed: reta[0]. */
	raw_frame(x->frame, 80, x->bmac, x->amac, 1);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 80, 1, 0), 0);
	{
		uint16_t flags = 0;

		assert_int_equal(rn_rx_recv(byid[c.reta[0]], x->got, sizeof(x->got), &flags, NULL,
					    NULL, WAIT_MS),
				 80);
		assert_false(flags & REFNIC_RXD_RSS);
	}

	/* hash_types 0: RSS off, everything to reta[0]. */
	c.hash_types = 0;
	c.reta_size = 1;
	c.reta[0] = (uint16_t)rx[2].id;
	memset(&c.reta[1], 0, sizeof(c.reta) - sizeof(c.reta[0]));
	assert_int_equal(rn_set_rss(&x->b, 0, &c), REFNIC_STATUS_OK);
	for (int i = 0; i < 8; i++) {
		struct rn_flow f = flow4(x->bmac, x->amac, 6);
		uint32_t len;

		f.sport = (uint16_t)(i * 1000);
		len = rn_build(x->frame, &f, 10, (uint8_t)i);
		assert_int_equal(rn_tx_send(&x->atx, x->frame, len, 1, 0), 0);
		expect_frame(&rx[2], x->frame, len, x);
	}
}

/* ---- checksum offload -------------------------------------------------------------- */

static void send_csum(struct fx *x, struct rn_flow f, uint32_t payload, uint16_t want_l34)
{
	uint32_t len = rn_build(x->frame, &f, payload, 3);
	uint32_t co = rn_csum_off(&f);
	uint16_t flags = 0;

	/* Garbage in the checksum field: the device computes the whole of it. */
	x->frame[co] = 0xde;
	x->frame[co + 1] = 0xad;
	assert_int_equal(rn_tx_send(&x->atx, x->frame, len, 2, REFNIC_TXD_CSUM_L4), 0);
	assert_int_equal(rn_rx_recv(&x->brx, x->got, sizeof(x->got), &flags, NULL, NULL, WAIT_MS),
			 len);
	assert_true(rn_l4_csum_ok(x->got, &f, len));
	assert_memory_equal(x->got, x->frame, co);
	assert_memory_equal(x->got + co + 2, x->frame + co + 2, len - co - 2);
	assert_int_equal(flags & ~REFNIC_RXD_EOP, want_l34 | REFNIC_RXD_L4_CSUM_OK);
}

static void test_csum(void **state)
{
	struct fx *x = *state;
	struct rn_flow f;
	uint16_t flags = 0;
	uint32_t len;

	assert_int_equal(rn_set_mtu(&x->a, 0, 9000), REFNIC_STATUS_OK);
	assert_int_equal(rn_set_mtu(&x->b, 0, 9000), REFNIC_STATUS_OK);
	send_csum(x, flow4(x->bmac, x->amac, 6), 100, REFNIC_RXD_IPV4 | REFNIC_RXD_TCP);
	send_csum(x, flow4(x->bmac, x->amac, 17), 19, REFNIC_RXD_IPV4 | REFNIC_RXD_UDP);
	send_csum(x, flow6(x->bmac, x->amac, 6), 5000, REFNIC_RXD_IPV6 | REFNIC_RXD_TCP);
	send_csum(x, flow6(x->bmac, x->amac, 17), 777, REFNIC_RXD_IPV6 | REFNIC_RXD_UDP);

	/* Without the offload a wrong checksum travels as is, and RX says so. */
	f = flow4(x->bmac, x->amac, 6);
	len = rn_build(x->frame, &f, 64, 9);
	x->frame[rn_csum_off(&f)] ^= 0x40;
	assert_int_equal(rn_tx_send(&x->atx, x->frame, len, 1, 0), 0);
	assert_int_equal(rn_rx_recv(&x->brx, x->got, sizeof(x->got), &flags, NULL, NULL, WAIT_MS),
			 len);
	assert_memory_equal(x->got, x->frame, len);
	assert_int_equal(flags, REFNIC_RXD_EOP | REFNIC_RXD_IPV4 | REFNIC_RXD_TCP |
					REFNIC_RXD_L4_CSUM_BAD);

	/* A correct one, no offload: OK. */
	len = rn_build(x->frame, &f, 64, 9);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, len, 1, 0), 0);
	assert_int_equal(rn_rx_recv(&x->brx, x->got, sizeof(x->got), &flags, NULL, NULL, WAIT_MS),
			 len);
	assert_true(flags & REFNIC_RXD_L4_CSUM_OK);

	/* The offload on a frame that is not TCP/UDP leaves it alone. */
	raw_frame(x->frame, 100, x->bmac, x->amac, 4);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 100, 1, REFNIC_TXD_CSUM_L4), 0);
	assert_int_equal(rn_rx_recv(&x->brx, x->got, sizeof(x->got), &flags, NULL, NULL, WAIT_MS),
			 100);
	assert_memory_equal(x->got, x->frame, 100);
	assert_int_equal(flags, REFNIC_RXD_EOP);
}

/* ---- bad input -------------------------------------------------------------------- */

#define FAR_IOVA 0x7ead00000000ull /* nowhere in the maps */

static void test_create_invalid(void **state)
{
	struct fx *x = *state;
	struct rn *h = &x->a;
	struct refnic_cmd_create_queue cq = { .type = REFNIC_QT_TX, .log_size = 6 };
	struct rn_q qs[16];
	uint64_t iova, r;
	uint8_t *mem = rn_dp_alloc(h, 16 << 12, &iova);

	assert_non_null(mem);
	cq.ring_iova = iova;
	cq.status_iova = iova + 1024;
	assert_int_equal(rn_q_create_raw(h, 0, &cq, &r), REFNIC_STATUS_OK);
	assert_int_equal(REFNIC_CREATE_RESULT_DB_OFF(r),
			 REFNIC_DB_QUEUE(REFNIC_CREATE_RESULT_QID(r)));
	struct refnic_cmd_destroy_queue d = { .type = REFNIC_QT_TX,
					      .queue_id = REFNIC_CREATE_RESULT_QID(r) };
	assert_int_equal(rn_fn_cmd(h, REFNIC_OP_DESTROY_QUEUE, 0, &d, NULL), REFNIC_STATUS_OK);

	for (uint8_t t = REFNIC_QT_TX; t <= REFNIC_QT_RX; t++) {
		struct refnic_cmd_create_queue b = cq;

		b.type = t;
		b.log_size = 5;
		assert_int_equal(rn_q_create_raw(h, 0, &b, NULL), REFNIC_STATUS_INVALID_FIELD);
		b.log_size = 13;
		assert_int_equal(rn_q_create_raw(h, 0, &b, NULL), REFNIC_STATUS_INVALID_FIELD);
		b = cq, b.type = t, b.status_iova = 0;
		assert_int_equal(rn_q_create_raw(h, 0, &b, NULL), REFNIC_STATUS_INVALID_FIELD);
		b.status_iova = iova + 1024 + 32;
		assert_int_equal(rn_q_create_raw(h, 0, &b, NULL), REFNIC_STATUS_INVALID_FIELD);
		b = cq, b.type = t, b.cq_id = 1;
		assert_int_equal(rn_q_create_raw(h, 0, &b, NULL), REFNIC_STATUS_INVALID_FIELD);
		b = cq, b.type = t, b.ring_iova = FAR_IOVA;
		assert_int_equal(rn_q_create_raw(h, 0, &b, NULL), REFNIC_STATUS_DMA_FAULT);
		b = cq, b.type = t, b.status_iova = FAR_IOVA;
		assert_int_equal(rn_q_create_raw(h, 0, &b, NULL), REFNIC_STATUS_DMA_FAULT);
	}
	/* An event queue has no status line. */
	struct refnic_cmd_create_queue e = { .type = REFNIC_QT_EVENT, .log_size = 4 };

	e.ring_iova = iova;
	e.status_iova = iova + 1024;
	assert_int_equal(rn_q_create_raw(h, 1 - 1, &e, NULL), REFNIC_STATUS_INVALID_FIELD);

	/* 16 TX queues per function: the fixture has one, 15 more fit. */
	for (int i = 0; i < 15; i++)
		assert_int_equal(rn_q_create(h, 0, REFNIC_QT_TX, 6, 0, &qs[i]), REFNIC_STATUS_OK);
	assert_int_equal(rn_q_create_raw(h, 0, &cq, NULL), REFNIC_STATUS_NO_RESOURCES);
	/* QUERY_QUEUE_STATS checks its queue. */
	struct refnic_queue_stats st;
	struct rn_q bogus = x->atx;

	bogus.type = REFNIC_QT_RX;
	assert_int_equal(rn_queue_stats(&bogus, &st), REFNIC_STATUS_BAD_QUEUE);
	bogus.type = REFNIC_QT_EVENT;
	assert_int_equal(rn_queue_stats(&bogus, &st), REFNIC_STATUS_INVALID_FIELD);
}

/* Frames keep flowing A -> B after an error elsewhere. */
static void still_works(struct fx *x, struct rn_q *tx, struct rn_q *rx)
{
	raw_frame(x->frame, 333, x->bmac, x->amac, 77);
	assert_int_equal(rn_tx_send(tx, x->frame, 333, 1, 0), 0);
	expect_frame(rx, x->frame, 333, x);
}

static void expect_qerr(struct rn_eq *eq, struct rn_q *q, uint8_t code)
{
	struct refnic_eqe e;

	assert_int_equal(rn_eq_next(eq, REFNIC_EVENT_QUEUE_ERROR, &e, WAIT_MS), 0);
	assert_int_equal(REFNIC_QERR_EVENT_QID(e.data), q->id);
	assert_int_equal(REFNIC_QERR_EVENT_TYPE(e.data), q->type);
	assert_int_equal(REFNIC_QERR_EVENT_CODE(e.data), code);
	assert_int_equal(q->st->error, code);
}

static void test_tx_errors(void **state)
{
	struct fx *x = *state;
	struct refnic_tx_desc *d;
	struct rn_q q;
	struct refnic_queue_stats st;

	/* A zero-length descriptor. */
	assert_int_equal(rn_q_create(&x->a, 0, REFNIC_QT_TX, 6, 0, &q), REFNIC_STATUS_OK);
	raw_frame(x->frame, 100, x->bmac, x->amac, 1);
	rn_tx_post(&q, x->frame, 100, 1, 0);
	assert_int_equal(rn_tx_wait(&q, WAIT_MS), 0);
	/* Descriptors are written before the doorbell: a device that is awake
	 * takes them the moment the doorbell is rung (at the latest, when the
	 * KICK returns). */
	d = (struct refnic_tx_desc *)q.ring + q.pi;
	*d = (struct refnic_tx_desc){ .addr = q.bufs_iova, .len = 0, .flags = REFNIC_TXD_EOP };
	q.pi = (q.pi + 1) & (q.size - 1);
	rn_doorbell(&x->a, 0, q.db, q.pi);
	assert_int_equal(rn_tx_wait(&q, WAIT_MS), -EIO);
	expect_qerr(&x->aeq, &q, REFNIC_QERR_BAD_LEN);
	assert_int_equal(q.st->head, 1); /* the good frame before it was sent */
	expect_frame(&x->brx, x->frame, 100, x);
	assert_int_equal(rn_queue_stats(&q, &st), REFNIC_STATUS_OK);
	assert_int_equal(st.packets, 1);
	assert_int_equal(st.errors, 1);
	assert_int_equal(rn_q_destroy(&q), REFNIC_STATUS_OK);
	still_works(x, &x->atx, &x->brx);

	/* 17 descriptors without EOP. */
	assert_int_equal(rn_q_create(&x->a, 0, REFNIC_QT_TX, 6, 0, &q), REFNIC_STATUS_OK);
	for (int i = 0; i < 17; i++) {
		d = (struct refnic_tx_desc *)q.ring + i;
		d->addr = q.bufs_iova;
		d->len = 10;
		d->flags = 0;
	}
	q.pi = 17;
	rn_doorbell(&x->a, 0, q.db, q.pi);
	assert_int_equal(rn_tx_wait(&q, WAIT_MS), -EIO);
	expect_qerr(&x->aeq, &q, REFNIC_QERR_BAD_LEN);
	assert_int_equal(rn_q_destroy(&q), REFNIC_STATUS_OK);

	/* A buffer outside the maps. */
	assert_int_equal(rn_q_create(&x->a, 0, REFNIC_QT_TX, 6, 0, &q), REFNIC_STATUS_OK);
	d = (struct refnic_tx_desc *)q.ring;
	*d = (struct refnic_tx_desc){ .addr = FAR_IOVA, .len = 100, .flags = REFNIC_TXD_EOP };
	q.pi = 1;
	rn_doorbell(&x->a, 0, q.db, q.pi);
	assert_int_equal(rn_tx_wait(&q, WAIT_MS), -EIO);
	expect_qerr(&x->aeq, &q, REFNIC_QERR_BUF_DMA);
	assert_int_equal(q.st->head, 0);
	assert_int_equal(rn_q_destroy(&q), REFNIC_STATUS_OK);

	/* A producer index past the ring. */
	assert_int_equal(rn_q_create(&x->a, 0, REFNIC_QT_TX, 6, 0, &q), REFNIC_STATUS_OK);
	rn_doorbell(&x->a, 0, q.db, 64);
	q.pi = 64;
	assert_int_equal(rn_tx_wait(&q, WAIT_MS), -EIO);
	expect_qerr(&x->aeq, &q, REFNIC_QERR_DOORBELL);
	assert_int_equal(rn_q_destroy(&q), REFNIC_STATUS_OK);

	still_works(x, &x->atx, &x->brx);
	assert_true(rn_rx_empty(&x->brx));
}

static void test_rx_errors(void **state)
{
	struct fx *x = *state;
	struct refnic_rx_desc *d;
	struct refnic_func_stats fs;
	struct refnic_queue_stats st;
	struct rn_q q, q2;

	/* Make our test queue the lowest RX queue of B, so it is the one steered to. */
	assert_int_equal(rn_q_destroy(&x->brx), REFNIC_STATUS_OK);
	assert_int_equal(rn_q_create(&x->b, 0, REFNIC_QT_RX, 6, 128, &q), REFNIC_STATUS_OK);

	/* No buffer posted: dropped and counted. */
	raw_frame(x->frame, 100, x->bmac, x->amac, 1);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 100, 1, 0), 0);
	assert_int_equal(rn_queue_stats(&q, &st), REFNIC_STATUS_OK);
	assert_int_equal(st.drops, 1);
	assert_int_equal(rn_func_stats(&x->b, 0, &fs), REFNIC_STATUS_OK);
	assert_int_equal(fs.rx_drops, 1);

	/* Slot 0: a 100-byte buffer with guard bytes around it; slot 1 outside the maps. */
	d = q.ring;
	d[0].addr = q.bufs_iova + 64, d[0].len = 100;
	d[1].addr = FAR_IOVA, d[1].len = 128;
	q.pi = 2;
	rn_doorbell(&x->b, 0, q.db, q.pi);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 100, 1, 0), 0);
	assert_int_equal(q.st->head, 1);
	assert_int_equal(d[0].len, 100);
	assert_int_equal(d[0].flags, REFNIC_RXD_EOP);
	assert_int_equal(d[0].addr, q.bufs_iova + 64);
	assert_memory_equal(q.bufs + 64, x->frame, 100);
	/* The second frame stops the queue; nothing is written anywhere. */
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 100, 1, 0), 0);
	q.ci = 1;
	assert_int_equal(rn_rx_recv(&q, x->got, sizeof(x->got), NULL, NULL, NULL, WAIT_MS), -EIO);
	expect_qerr(&x->beq, &q, REFNIC_QERR_BUF_DMA);
	assert_int_equal(q.st->head, 1);
	assert_int_equal(d[1].addr, FAR_IOVA);
	assert_int_equal(d[1].len, 128);
	assert_int_equal(d[1].flags, 0);
	for (unsigned int i = 0; i < 64 * 128; i++)
		if (i < 64 || i >= 164)
			assert_int_equal(q.bufs[i], 0xa5);
	assert_int_equal(rn_q_destroy(&q), REFNIC_STATUS_OK);

	/* A buffer shorter than 64 bytes. */
	assert_int_equal(rn_q_create(&x->b, 0, REFNIC_QT_RX, 6, 128, &q), REFNIC_STATUS_OK);
	d = q.ring;
	d[0].addr = q.bufs_iova, d[0].len = 63;
	q.pi = 1;
	rn_doorbell(&x->b, 0, q.db, q.pi);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 100, 1, 0), 0);
	assert_int_equal(rn_rx_recv(&q, x->got, sizeof(x->got), NULL, NULL, NULL, WAIT_MS), -EIO);
	expect_qerr(&x->beq, &q, REFNIC_QERR_BAD_LEN);
	assert_int_equal(rn_q_destroy(&q), REFNIC_STATUS_OK);

	/* A producer index past the ring, noticed without any traffic. */
	assert_int_equal(rn_q_create(&x->b, 0, REFNIC_QT_RX, 6, 128, &q), REFNIC_STATUS_OK);
	rn_doorbell(&x->b, 0, q.db, 1000);
	expect_qerr(&x->beq, &q, REFNIC_QERR_DOORBELL);

	/* The device carries on: a fresh queue receives (the stopped one is the lowest id). */
	assert_int_equal(rn_q_destroy(&q), REFNIC_STATUS_OK);
	assert_int_equal(rn_q_create(&x->b, 0, REFNIC_QT_RX, 6, 2048, &q2), REFNIC_STATUS_OK);
	rn_rx_fill(&q2);
	still_works(x, &x->atx, &q2);
	raw_frame(x->frame, 333, x->amac, x->bmac, 78);
	assert_int_equal(rn_tx_send(&x->btx, x->frame, 333, 1, 0), 0);
	expect_frame(&x->arx, x->frame, 333, x);
}

/* Reset: queues gone, the worker stops touching them, the model carries on. */
static void test_reset_and_idle(void **state)
{
	struct fx *x = *state;

	still_works(x, &x->atx, &x->brx);
	assert_int_equal(rn_fn_cmd(&x->b, REFNIC_OP_RESET_FUNCTION, 0, NULL, NULL),
			 REFNIC_STATUS_OK);
	raw_frame(x->frame, 100, x->bmac, x->amac, 1);
	assert_int_equal(rn_tx_send(&x->atx, x->frame, 100, 1, 0), 0);
	assert_true(rn_rx_empty(&x->brx));
	/* One worker for both devices, asleep when idle. */
	assert_true(rn_wait_sleeping(&x->a, 3000));
	assert_true(refnic_system_is_sleeping(x->sys));
	/* A TX doorbell wakes it (the harness KICKs when it sees SLEEPING). */
	raw_frame(x->frame, 100, x->amac, x->bmac, 1);
	assert_int_equal(rn_q_create(&x->b, 0, REFNIC_QT_TX, 6, 0, &x->btx), REFNIC_STATUS_OK);
	assert_true(rn_wait_sleeping(&x->a, 3000));
	assert_int_equal(rn_tx_send(&x->btx, x->frame, 100, 1, 0), 0);
	expect_frame(&x->arx, x->frame, 100, x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toeplitz_ms_vectors),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unicast_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast_multicast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_unicast_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_promisc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mtu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_idle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
