/* SPDX-License-Identifier: MIT */
/*
 * The RDMA engine on the wire (docs/refnic.md §16.8): a device whose system
 * has a UDP uplink, and this test at the other end of it, playing the peer
 * with its own RoCEv2 encoder and decoder (Ethernet / IPv6 or IPv4 / UDP /
 * BTH / RETH / AETH, ICRC with zlib's crc32). Checked: every header field
 * of what the device sends, PSN order, the ICRC; the device's responder
 * answering WRITE and READ requests from the wire; a bad ICRC dropped;
 * retransmission after a timeout; a NAK from the wire; the ACK of a message
 * sent even when the QP is destroyed right after its completion.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "rn_rdma.h"

#define WAIT_MS	 3000
#define MEM	 (1u << 20)
#define PEER_QPN 0x123456u

struct fx {
	struct refnic_system *sys;
	struct rn h;
	int sock;
	struct sockaddr_in dev_addr; /* where the model's uplink listens */
	uint8_t mac[6], gid[16];
	uint8_t peer_mac[6], peer_gid[16];
	struct rn_cq scq, rcq;
	struct rn_eq eq;
	uint32_t pdn, key;
	uint8_t *mem;
	uint64_t iova;
	uint8_t frame[9216];
};

/* ---- the test's own RoCEv2 ------------------------------------------------------------ */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* ICRC per the RoCEv2 annex: 8 bytes of ones, masked IP/UDP/BTH, the rest; zlib's CRC-32. */
static uint32_t icrc(const uint8_t *ip, bool v4, size_t upto)
{
	size_t iplen = v4 ? 20 : 40, hl = iplen + 8 + 12;
	uint8_t ones[8], h[60];
	uLong crc;

	memset(ones, 0xff, sizeof(ones));
	memcpy(h, ip, hl);
	if (v4) {
		h[1] = 0xff;
		h[8] = 0xff;
		h[10] = h[11] = 0xff;
	} else {
		h[0] |= 0x0f;
		h[1] = h[2] = h[3] = 0xff;
		h[7] = 0xff;
	}
	h[iplen + 6] = h[iplen + 7] = 0xff;
	h[iplen + 8 + 4] = 0xff;
	crc = crc32(0, ones, 8);
	crc = crc32(crc, h, (uInt)hl);
	crc = crc32(crc, ip + hl, (uInt)(upto - hl));
	return (uint32_t)crc;
}

struct pkt {
	bool v4;
	const uint8_t *ip, *bth, *ext, *payload;
	uint32_t paylen;
	uint8_t opcode;
	uint32_t qpn, psn;
	bool ackreq;
	uint16_t sport;
};

/* Decode and check a frame from the device: every field the spec fixes. */
static void decode(struct fx *x, const uint8_t *f, size_t len, struct pkt *p)
{
	const uint8_t *udp;
	size_t ulen, hdr, pad;

	memset(p, 0, sizeof(*p));
	assert_true(len >= 60);
	assert_memory_equal(f, x->peer_mac, 6);
	assert_memory_equal(f + 6, x->mac, 6);
	p->ip = f + 14;
	if (rd16(f + 12) == 0x0800) {
		p->v4 = true;
		assert_int_equal(p->ip[0], 0x45);
		assert_int_equal(rd16(p->ip + 6), 0x4000); /* DF */
		assert_int_equal(p->ip[9], 17);
		/* header checksum verifies */
		uint32_t s = 0;

		for (int i = 0; i < 20; i += 2)
			s += rd16(p->ip + i);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		assert_int_equal(s, 0xffff);
		assert_memory_equal(p->ip + 12, x->gid + 12, 4);
		assert_memory_equal(p->ip + 16, x->peer_gid + 12, 4);
		udp = p->ip + 20;
		assert_true(rd16(p->ip + 2) + 14u <= len);
		ulen = rd16(p->ip + 2) - 20u;
	} else {
		assert_int_equal(rd16(f + 12), 0x86dd);
		assert_int_equal(p->ip[0] >> 4, 6);
		assert_int_equal(p->ip[6], 17);
		assert_int_equal(p->ip[7], 64);
		assert_memory_equal(p->ip + 8, x->gid, 16);
		assert_memory_equal(p->ip + 24, x->peer_gid, 16);
		udp = p->ip + 40;
		ulen = rd16(p->ip + 4);
	}
	assert_int_equal(rd16(udp + 4), ulen);
	assert_int_equal(rd16(udp + 2), 4791);
	p->sport = rd16(udp);
	assert_true(p->sport >= 0xc000);
	assert_int_equal(rd16(udp + 6), 0); /* no UDP checksum */
	p->bth = udp + 8;
	p->opcode = p->bth[0];
	assert_int_equal(p->bth[1] & 0x0f, 0); /* TVer */
	assert_int_equal(rd16(p->bth + 2), 0xffff);
	p->qpn = rd24(p->bth + 5);
	p->ackreq = p->bth[8] & 0x80;
	p->psn = rd24(p->bth + 9);
	pad = (p->bth[1] >> 4) & 3;
	/* the ICRC, little-endian, after payload and pad */
	const uint8_t *ic = udp + ulen - 4;

	assert_int_equal((uint32_t)ic[0] | (uint32_t)ic[1] << 8 | (uint32_t)ic[2] << 16 |
				 (uint32_t)ic[3] << 24,
			 icrc(p->ip, p->v4, (size_t)(ic - p->ip)));
	p->ext = p->bth + 12;
	switch (p->opcode & 0x1f) {
	case 0x06: /* WRITE_FIRST, ONLY: RETH */
	case 0x0a:
	case 0x0c: /* READ request */
		hdr = 16;
		break;
	case 0x0d: /* READ response FIRST, LAST, ONLY: AETH */
	case 0x0f:
	case 0x10:
	case 0x11: /* ACK */
		hdr = 4;
		break;
	case 0x12: /* ATOMIC ACK: AETH, then AtomicAckETH (read as ext + 4) */
		hdr = 12;
		break;
	default:
		hdr = 0;
	}
	p->payload = p->ext + hdr;
	p->paylen = (uint32_t)(ic - p->payload - pad);
}

static int recv_frame(struct fx *x, int timeout_ms, size_t *len)
{
	struct pollfd pfd = { .fd = x->sock, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	n = recv(x->sock, x->frame, sizeof(x->frame), 0);
	if (n < 0)
		return -errno;
	*len = (size_t)n;
	return 0;
}

/* A frame from the peer to the device's QP @qpn: BTH, @ext, @payload; ICRC right unless @bad. */
static void send_frame(struct fx *x, bool v4, uint8_t opcode, uint32_t qpn, uint32_t psn,
		       const void *ext, size_t extlen, const void *payload, size_t paylen, bool bad)
{
	uint8_t f[2048] = { 0 }, *ip = f + 14, *udp, *bth;
	size_t pad = -paylen & 3, l4 = 8 + 12 + extlen + paylen + pad + 4;
	uint32_t c;

	memcpy(f, x->mac, 6);
	memcpy(f + 6, x->peer_mac, 6);
	if (v4) {
		wr16(f + 12, 0x0800);
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(20 + l4));
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, x->peer_gid + 12, 4);
		memcpy(ip + 16, x->gid + 12, 4);
		uint32_t s = 0;

		for (int i = 0; i < 20; i += 2)
			s += rd16(ip + i);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		wr16(ip + 10, (uint16_t)~s);
		udp = ip + 20;
	} else {
		wr16(f + 12, 0x86dd);
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)l4);
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, x->peer_gid, 16);
		memcpy(ip + 24, x->gid, 16);
		udp = ip + 40;
	}
	wr16(udp, 0xc123);
	wr16(udp + 2, 4791);
	wr16(udp + 4, (uint16_t)l4);
	bth = udp + 8;
	bth[0] = opcode;
	bth[1] = (uint8_t)(pad << 4);
	wr16(bth + 2, 0xffff);
	wr32(bth + 4, qpn & 0xffffff);
	wr32(bth + 8, 0x80000000u | (psn & 0xffffff)); /* AckReq */
	if (extlen)
		memcpy(bth + 12, ext, extlen);
	if (paylen)
		memcpy(bth + 12 + extlen, payload, paylen);
	c = icrc(ip, v4, (size_t)(udp + l4 - 4 - ip)) ^ (bad ? 1u : 0u);
	for (int i = 0; i < 4; i++)
		udp[l4 - 4 + i] = (uint8_t)(c >> (8 * i));
	assert_true(sendto(x->sock, f, (size_t)(udp + l4 - f), 0,
			   (const struct sockaddr *)&x->dev_addr, sizeof(x->dev_addr)) > 0);
}

static void aeth(uint8_t *e, uint8_t syndrome, uint32_t msn)
{
	wr32(e, (uint32_t)syndrome << 24 | (msn & 0xffffff));
}

static void reth(uint8_t *e, uint64_t va, uint32_t rkey, uint32_t len)
{
	wr32(e, (uint32_t)(va >> 32));
	wr32(e + 4, (uint32_t)va);
	wr32(e + 8, rkey);
	wr32(e + 12, len);
}

/* ---- fixture ----------------------------------------------------------------------------- */

static int open_pair(struct fx *x)
{
	struct refnic_system_opts so = { 0 };
	struct sockaddr_in me = { .sin_family = AF_INET };
	char spec[96];

	for (unsigned int t = 0; t < 200; t++) {
		uint16_t pa = (uint16_t)(20000 + ((unsigned int)getpid() * 7 + t * 2 + 1) % 40000);

		me.sin_port = htons((uint16_t)(pa + 1));
		me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		x->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (x->sock < 0)
			return -errno;
		if (bind(x->sock, (struct sockaddr *)&me, sizeof(me))) {
			close(x->sock);
			continue;
		}
		snprintf(spec, sizeof(spec), "udp:127.0.0.1:%u,127.0.0.1:%u", pa, pa + 1);
		so.uplink = spec;
		if (refnic_system_create(&so, &x->sys) == 0) {
			x->dev_addr = me;
			x->dev_addr.sin_port = htons(pa);
			return 0;
		}
		close(x->sock);
	}
	return -EADDRINUSE;
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct refnic_model_opts o = { 0 };
	static const uint8_t peer[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

	assert_non_null(x);
	assert_int_equal(open_pair(x), 0);
	o.system = x->sys;
	assert_int_equal(rn_start(&x->h, &o), 0);
	assert_int_equal(rn_enable(&x->h, 5), 0);
	rn_mac(&x->h, 0, x->mac);
	assert_int_equal(rn_gid(&x->h, 0, x->gid), 0);
	memcpy(x->peer_mac, peer, 6);
	rn_gid_from_mac(peer, x->peer_gid);
	assert_int_equal(rn_eq_create(&x->h, 0, &x->eq), 0);
	assert_int_equal(rn_cq_create(&x->h, 8, &x->scq), 0);
	assert_int_equal(rn_cq_create(&x->h, 8, &x->rcq), 0);
	assert_int_equal(rn_pd_create(&x->h, &x->pdn), 0);
	x->mem = rn_dp_alloc(&x->h, MEM, &x->iova);
	assert_non_null(x->mem);
	assert_int_equal(rn_mr_create(&x->h, x->pdn, x->mem, x->iova, MEM,
				      REFNIC_ACCESS_LOCAL_WRITE | REFNIC_ACCESS_REMOTE_WRITE |
					      REFNIC_ACCESS_REMOTE_READ |
					      REFNIC_ACCESS_REMOTE_ATOMIC,
				      &x->key),
			 0);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	rn_stop(&x->h);
	refnic_system_destroy(x->sys);
	close(x->sock);
	free(x);
	return 0;
}

static void qp_to_peer(struct fx *x, struct rn_qp *qp, uint8_t sgid)
{
	assert_int_equal(rn_qp_create(&x->h, REFNIC_QPT_RC, x->pdn, &x->scq, &x->rcq, 6, 6, 0, qp),
			 0);
	assert_int_equal(rn_qp_connect(qp, PEER_QPN, x->peer_gid, x->peer_mac, sgid,
				       REFNIC_MTU_1024,
				       REFNIC_ACCESS_REMOTE_WRITE | REFNIC_ACCESS_REMOTE_READ |
					       REFNIC_ACCESS_REMOTE_ATOMIC),
			 0);
}

static void expect_cqe(struct rn_cq *cq, uint64_t wr_id, uint8_t status)
{
	struct refnic_rdma_cqe c;

	assert_int_equal(rn_cq_poll(cq, &c, WAIT_MS), 0);
	assert_int_equal(c.wr_id, wr_id);
	assert_int_equal(c.status, status);
}

static struct refnic_send_wqe wqe(uint8_t op, uint64_t wr_id, void *addr, uint32_t len,
				  uint32_t lkey)
{
	struct refnic_send_wqe w = { .opcode = op, .flags = REFNIC_WQE_F_SIGNALED, .wr_id = wr_id };

	w.num_sge = 1;
	w.sge[0] = (struct refnic_sge){ (uint64_t)(uintptr_t)addr, len, lkey };
	return w;
}

/* ---- tests --------------------------------------------------------------------------------- */

/* A 3-packet WRITE over IPv6, then the peer's ACK (a bad-ICRC copy first, dropped). */
static void test_write_ipv6(void **state)
{
	struct fx *x = *state;
	struct refnic_send_wqe w = wqe(REFNIC_WR_RDMA_WRITE, 1, x->mem, 3000, x->key);
	struct refnic_rdma_cqe c;
	struct rn_qp qp;
	struct pkt p;
	uint8_t e[4];
	size_t len;

	qp_to_peer(x, &qp, 0);
	for (int i = 0; i < 3000; i++)
		x->mem[i] = (uint8_t)(i * 31 + 7);
	w.remote_addr = 0x1122334455667788ull;
	w.rkey = 0xcafe;
	rn_post_send(&qp, &w);
	for (uint32_t k = 0; k < 3; k++) {
		assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
		decode(x, x->frame, len, &p);
		assert_false(p.v4);
		assert_int_equal(p.opcode, 0x06 + k); /* WRITE FIRST, MIDDLE, LAST */
		assert_int_equal(p.qpn, PEER_QPN);
		assert_int_equal(p.psn, 0x100 + k);
		assert_int_equal(p.ackreq, k == 2);
		if (k == 0) {
			assert_int_equal(rd32(p.ext), 0x11223344);
			assert_int_equal(rd32(p.ext + 4), 0x55667788);
			assert_int_equal(rd32(p.ext + 8), 0xcafe);
			assert_int_equal(rd32(p.ext + 12), 3000);
		}
		assert_int_equal(p.paylen, k < 2 ? 1024 : 3000 - 2048);
		assert_memory_equal(p.payload, x->mem + k * 1024, p.paylen);
	}
	aeth(e, 0x1f, 1);
	send_frame(x, false, 0x11, qp.qpn, 0x102, e, 4, NULL, 0, true);
	assert_int_equal(rn_cq_poll(&x->scq, &c, 50), -ETIMEDOUT);
	send_frame(x, false, 0x11, qp.qpn, 0x102, e, 4, NULL, 0, false);
	expect_cqe(&x->scq, 1, REFNIC_WC_STATUS_SUCCESS);
	assert_int_equal(rn_obj_cmd(&x->h, REFNIC_OP_DESTROY_QP, qp.qpn), 0);
}

/* IPv4: a SEND, no answer, the retransmission after the timeout, then a NAK (access). */
static void test_send_ipv4_retry_nak(void **state)
{
	struct fx *x = *state;
	struct refnic_cmd_set_gid sg = { .index = 1, .type = REFNIC_GID_TYPE_ROCEV2 };
	struct refnic_send_wqe w = wqe(REFNIC_WR_SEND, 2, x->mem, 100, x->key);
	struct refnic_qp_attr a = { 0 };
	struct rn_qp qp;
	struct pkt p, p2;
	uint8_t e[4];
	size_t len;
	uint8_t gid0[16];

	memcpy(gid0, x->gid, 16);
	sg.gid[10] = sg.gid[11] = 0xff;
	memcpy(sg.gid + 12, (uint8_t[]){ 192, 168, 7, 1 }, 4);
	assert_int_equal(rn_rdma_cmd(&x->h, REFNIC_OP_SET_GID, &sg, NULL, 0, NULL), 0);
	memcpy(x->gid, sg.gid, 16);
	memset(x->peer_gid, 0, 16);
	x->peer_gid[10] = x->peer_gid[11] = 0xff;
	memcpy(x->peer_gid + 12, (uint8_t[]){ 192, 168, 7, 2 }, 4);
	qp_to_peer(x, &qp, 1);
	/* a short timeout: 4.096 us << 10 = 4 ms */
	a.mask = REFNIC_QP_ATTR_STATE;
	a.state = REFNIC_QPS_SQD;
	assert_int_equal(rn_qp_modify(&x->h, qp.qpn, &a), 0);
	a.mask = REFNIC_QP_ATTR_STATE | REFNIC_QP_ATTR_TIMEOUT;
	a.timeout = 10;
	assert_int_equal(rn_qp_modify(&x->h, qp.qpn, &a), 0);
	a.mask = REFNIC_QP_ATTR_STATE;
	a.state = REFNIC_QPS_RTS;
	assert_int_equal(rn_qp_modify(&x->h, qp.qpn, &a), 0);

	rn_post_send(&qp, &w);
	assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
	decode(x, x->frame, len, &p);
	assert_true(p.v4);
	assert_int_equal(p.opcode, 0x04); /* SEND ONLY */
	assert_int_equal(p.psn, 0x100);
	assert_int_equal(p.paylen, 100);
	assert_memory_equal(p.payload, x->mem, 100);
	/* no answer: the same packet again */
	assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
	decode(x, x->frame, len, &p2);
	assert_int_equal(p2.opcode, 0x04);
	assert_int_equal(p2.psn, 0x100);
	assert_int_equal(p2.sport, p.sport); /* one QP, one source port */
	aeth(e, 0x62, 0);		     /* NAK: remote access error */
	send_frame(x, true, 0x11, qp.qpn, 0x100, e, 4, NULL, 0, false);
	expect_cqe(&x->scq, 2, REFNIC_WC_STATUS_REM_ACCESS_ERR);
	assert_int_equal(rn_obj_cmd(&x->h, REFNIC_OP_DESTROY_QP, qp.qpn), 0);
	/* back to IPv6 for whatever follows */
	memcpy(x->gid, gid0, 16);
	rn_gid_from_mac(x->peer_mac, x->peer_gid);
	while (recv_frame(x, 10, &len) == 0)
		; /* retransmissions still in flight */
}

/* The device as responder: a WRITE and a READ from the wire, answered on the wire. */
static void test_responder(void **state)
{
	struct fx *x = *state;
	uint8_t data[1500], e[16];
	struct rn_qp qp;
	struct pkt p;
	size_t len;

	qp_to_peer(x, &qp, 0);
	for (int i = 0; i < 1500; i++)
		data[i] = (uint8_t)(i ^ 0x3c);
	memset(x->mem + 65536, 0, 4096);
	/* WRITE ONLY of 1000 bytes at PSN 0x100 (the QP's rq_psn) */
	reth(e, (uint64_t)(uintptr_t)(x->mem + 65536), x->key, 1000);
	send_frame(x, false, 0x0a, qp.qpn, 0x100, e, 16, data, 1000, false);
	assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
	decode(x, x->frame, len, &p);
	assert_int_equal(p.opcode, 0x11); /* ACK */
	assert_int_equal(p.psn, 0x100);
	assert_int_equal(p.ext[0], 0x1f);     /* ACK, no credit limit */
	assert_int_equal(rd24(p.ext + 1), 1); /* MSN */
	assert_memory_equal(x->mem + 65536, data, 1000);
	/* a duplicate is acknowledged again, and not executed */
	x->mem[65536] ^= 0xff;
	send_frame(x, false, 0x0a, qp.qpn, 0x100, e, 16, data, 1000, false);
	assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
	decode(x, x->frame, len, &p);
	assert_int_equal(p.opcode, 0x11);
	assert_int_equal(p.psn, 0x100);
	assert_int_equal(x->mem[65536], data[0] ^ 0xff);
	/* READ of 1500 bytes: FIRST and LAST responses, PSNs 0x101 and 0x102 */
	memcpy(x->mem + 131072, data, 1500);
	reth(e, (uint64_t)(uintptr_t)(x->mem + 131072), x->key, 1500);
	send_frame(x, false, 0x0c, qp.qpn, 0x101, e, 16, NULL, 0, false);
	for (uint32_t k = 0; k < 2; k++) {
		assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
		decode(x, x->frame, len, &p);
		assert_int_equal(p.opcode, k ? 0x0f : 0x0d);
		assert_int_equal(p.qpn, PEER_QPN);
		assert_int_equal(p.psn, 0x101 + k);
		assert_int_equal(p.ext[0], 0x1f);
		assert_int_equal(p.paylen, k ? 1500 - 1024 : 1024);
		assert_memory_equal(p.payload, data + 1024 * k, p.paylen);
	}
	/* the same READ again (its response was "lost"): executed again, from memory */
	x->mem[131072] ^= 0xff;
	send_frame(x, false, 0x0c, qp.qpn, 0x101, e, 16, NULL, 0, false);
	for (uint32_t k = 0; k < 2; k++) {
		assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
		decode(x, x->frame, len, &p);
		assert_int_equal(p.psn, 0x101 + k);
		assert_int_equal(p.payload[0], k ? data[1024] : (uint8_t)(data[0] ^ 0xff));
	}
	/* FETCH_ADD at 0x103, then its duplicate: executed once, answered twice alike */
	uint8_t ae[28] = { 0 };
	uint64_t *v = (uint64_t *)(void *)(x->mem + 4096);

	*v = 1000;
	wr32(ae, (uint32_t)((uint64_t)(uintptr_t)v >> 32));
	wr32(ae + 4, (uint32_t)(uintptr_t)v);
	wr32(ae + 8, x->key);
	wr32(ae + 16, 5); /* add 5 */
	for (int i = 0; i < 2; i++) {
		send_frame(x, false, 0x14, qp.qpn, 0x103, ae, 28, NULL, 0, false);
		assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
		decode(x, x->frame, len, &p);
		assert_int_equal(p.opcode, 0x12); /* ATOMIC ACKNOWLEDGE */
		assert_int_equal(p.psn, 0x103);
		assert_int_equal(p.ext[0], 0x1f);
		assert_int_equal(rd32(p.ext + 4), 0);
		assert_int_equal(rd32(p.ext + 8), 1000); /* the original value, both times */
		assert_int_equal(*v, 1005);
	}
	/* a PSN from the future: one sequence NAK carrying the expected PSN */
	send_frame(x, false, 0x0a, qp.qpn, 0x110, e, 16, data, 1000, false);
	assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
	decode(x, x->frame, len, &p);
	assert_int_equal(p.opcode, 0x11);
	assert_int_equal(p.ext[0], 0x60);
	assert_int_equal(p.psn, 0x104);
	send_frame(x, false, 0x0a, qp.qpn, 0x111, e, 16, data, 1000, false);
	assert_int_equal(recv_frame(x, 30, &len), -ETIMEDOUT); /* silence until 0x104 */
	assert_int_equal(rn_obj_cmd(&x->h, REFNIC_OP_DESTROY_QP, qp.qpn), 0);
}

/*
 * The ACK of a message is on the wire even when the application destroys
 * the QP as soon as it sees the receive completion (the device may not have
 * had a pass to send it yet): destroying a QP first sends the ACKs it owes.
 */
static void test_ack_before_destroy(void **state)
{
	struct fx *x = *state;
	uint8_t data[64] = { 1, 2, 3 };
	struct rn_qp qp;
	struct pkt p;
	size_t len;

	for (int round = 0; round < 20; round++) {
		qp_to_peer(x, &qp, 0);
		rn_post_recv(&qp, 500 + (uint64_t)round, x->mem, 4096, x->key);
		send_frame(x, false, 0x04, qp.qpn, 0x100, NULL, 0, data, sizeof(data), false);
		expect_cqe(&x->rcq, 500 + (uint64_t)round, REFNIC_WC_STATUS_SUCCESS);
		assert_int_equal(rn_obj_cmd(&x->h, REFNIC_OP_DESTROY_QP, qp.qpn), 0);
		assert_int_equal(recv_frame(x, WAIT_MS, &len), 0);
		decode(x, x->frame, len, &p);
		assert_int_equal(p.opcode, 0x11); /* ACK */
		assert_int_equal(p.psn, 0x100);
		assert_int_equal(p.ext[0], 0x1f);
		assert_int_equal(rd24(p.ext + 1), 1); /* MSN: the SEND completed */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_ipv6),
		cmocka_unit_test(test_send_ipv4_retry_nak),
		cmocka_unit_test(test_responder),
		cmocka_unit_test(test_ack_before_destroy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
