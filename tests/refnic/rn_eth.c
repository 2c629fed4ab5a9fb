/* SPDX-License-Identifier: MIT */
/*
 * The datapath half of the refnic test harness (rn_eth.h): a naive driver
 * for TX/RX queues written straight from docs/refnic.md §15.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rn_eth.h"

#define DP_SIZE (32u << 20)

static void pause_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

	nanosleep(&ts, NULL);
}

void *rn_dp_alloc(struct rn *h, size_t len, uint64_t *iova)
{
	struct facet_core_dma_opts o = { .numa_node = -1, .no_hugepages = true };
	uint8_t *va;

	if (!h->dp) {
		if (facet_core_dma_alloc(h->dev, DP_SIZE, &o, &h->dp))
			return NULL;
		memset(facet_core_dma_va(h->dp), 0xa5, DP_SIZE);
		h->dp_used = 0;
	}
	len = (len + 63) & ~(size_t)63;
	if (h->dp_used + len > DP_SIZE) {
		fprintf(stderr, "rn: datapath memory exhausted\n");
		return NULL;
	}
	va = (uint8_t *)facet_core_dma_va(h->dp) + h->dp_used;
	*iova = facet_core_dma_iova(h->dp) + h->dp_used;
	h->dp_used += len;
	return va;
}

/* ---- commands ------------------------------------------------------------------ */

int rn_fn_cmd(struct rn *h, uint8_t opcode, unsigned int fn, const void *payload, uint64_t *result)
{
	struct refnic_sqe s = { .opcode = opcode, .function = (uint16_t)fn };
	struct refnic_cqe c;
	int rc;

	if (payload)
		memcpy(s.raw, payload, sizeof(s.raw));
	rc = rn_cmd(h, &s, &c);
	if (result)
		*result = c.result;
	return rc;
}

static int buf_cmd(struct rn *h, uint8_t opcode, unsigned int fn, const void *payload, uint32_t len,
		   uint64_t *result)
{
	struct refnic_sqe s = { .opcode = opcode, .function = (uint16_t)fn };
	struct refnic_cqe c;
	int rc;

	if (payload)
		memcpy(s.raw, payload, sizeof(s.raw));
	s.data_iova = facet_core_dma_iova(h->buf);
	s.data_len = len;
	rc = rn_cmd(h, &s, &c);
	if (result)
		*result = c.result;
	return rc;
}

int rn_set_mtu(struct rn *h, unsigned int fn, uint16_t mtu)
{
	struct refnic_cmd_set_mtu p = { .mtu = mtu };

	return rn_fn_cmd(h, REFNIC_OP_SET_MTU, fn, &p, NULL);
}

int rn_set_rx_mode(struct rn *h, unsigned int fn, uint32_t flags)
{
	struct refnic_cmd_set_rx_mode p = { .flags = flags };

	return rn_fn_cmd(h, REFNIC_OP_SET_RX_MODE, fn, &p, NULL);
}

int rn_set_rss(struct rn *h, unsigned int fn, const struct refnic_rss_config *c)
{
	memcpy(facet_core_dma_va(h->buf), c, sizeof(*c));
	return buf_cmd(h, REFNIC_OP_SET_RSS, fn, NULL, sizeof(*c), NULL);
}

int rn_queue_stats(struct rn_q *q, struct refnic_queue_stats *st)
{
	struct refnic_cmd_queue_stats p = { .type = q->type, .queue_id = q->id };
	int rc = buf_cmd(q->h, REFNIC_OP_QUERY_QUEUE_STATS, q->fn, &p, sizeof(*st), NULL);

	memcpy(st, facet_core_dma_va(q->h->buf), sizeof(*st));
	return rc;
}

int rn_func_stats(struct rn *h, unsigned int fn, struct refnic_func_stats *st)
{
	int rc = buf_cmd(h, REFNIC_OP_QUERY_STATS, 0, NULL, RN_BUF_SIZE, NULL);
	const uint8_t *b = facet_core_dma_va(h->buf);

	memcpy(st, b + sizeof(struct refnic_stats) + fn * sizeof(*st), sizeof(*st));
	return rc;
}

uint64_t rn_mac(struct rn *h, unsigned int fn, uint8_t mac[6])
{
	uint64_t r = 0;

	rn_fn_cmd(h, REFNIC_OP_QUERY_MAC, fn, NULL, &r);
	for (int i = 0; i < 6; i++)
		mac[i] = REFNIC_MAC_RESULT_BYTE(r, i);
	return r;
}

/* ---- queues -------------------------------------------------------------------- */

int rn_q_create_raw(struct rn *h, unsigned int fn, const struct refnic_cmd_create_queue *cq,
		    uint64_t *result)
{
	return rn_fn_cmd(h, REFNIC_OP_CREATE_QUEUE, fn, cq, result);
}

int rn_q_create(struct rn *h, unsigned int fn, uint8_t type, unsigned int log, uint32_t buf_len,
		struct rn_q *q)
{
	struct refnic_cmd_create_queue cq = { .type = type, .log_size = (uint8_t)log };
	size_t ring_bytes = (size_t)16 << log;
	uint64_t result;
	uint8_t *mem;
	int rc;

	memset(q, 0, sizeof(*q));
	q->h = h;
	q->fn = fn;
	q->type = type;
	q->log = log;
	q->size = 1u << log;
	q->buf_len = type == REFNIC_QT_TX ? RN_TX_BUF : buf_len;
	mem = rn_dp_alloc(h, ring_bytes + 64, &q->ring_iova);
	q->bufs = rn_dp_alloc(h, (size_t)q->size * q->buf_len, &q->bufs_iova);
	if (!mem || !q->bufs)
		return -ENOMEM;
	memset(mem, 0, ring_bytes + 64);
	q->ring = mem;
	q->st = (volatile struct refnic_queue_status *)(mem + ring_bytes);
	q->status_iova = q->ring_iova + ring_bytes;
	cq.ring_iova = q->ring_iova;
	cq.status_iova = q->status_iova;
	rc = rn_q_create_raw(h, fn, &cq, &result);
	if (rc == REFNIC_STATUS_OK) {
		q->id = REFNIC_CREATE_RESULT_QID(result);
		q->db = REFNIC_CREATE_RESULT_DB_OFF(result);
	}
	return rc;
}

int rn_q_destroy(struct rn_q *q)
{
	struct refnic_cmd_destroy_queue p = { .type = q->type, .queue_id = q->id };

	return rn_fn_cmd(q->h, REFNIC_OP_DESTROY_QUEUE, q->fn, &p, NULL);
}

static uint32_t st_head(struct rn_q *q)
{
	return __atomic_load_n(&q->st->head, __ATOMIC_ACQUIRE);
}

static uint32_t st_error(struct rn_q *q)
{
	return __atomic_load_n(&q->st->error, __ATOMIC_ACQUIRE);
}

static void ring(struct rn_q *q)
{
	__atomic_thread_fence(__ATOMIC_RELEASE); /* descriptors before the index */
	rn_doorbell(q->h, q->fn, q->db, q->pi);
}

static void rx_post(struct rn_q *q, uint32_t slot)
{
	struct refnic_rx_desc *d = (struct refnic_rx_desc *)q->ring + slot;

	d->addr = q->bufs_iova + (uint64_t)slot * q->buf_len;
	d->len = (uint16_t)q->buf_len;
	d->flags = 0;
	d->rss_hash = 0;
}

void rn_rx_fill(struct rn_q *q)
{
	for (uint32_t i = 0; i < q->size - 1; i++)
		rx_post(q, i);
	q->pi = q->size - 1;
	ring(q);
}

bool rn_rx_empty(struct rn_q *q)
{
	return st_head(q) == q->ci;
}

/* Wait until status.head moved past our consumer index (or the queue stopped). */
static int rx_wait(struct rn_q *q, int timeout_ms)
{
	uint64_t end = rn_now_ms() + (uint64_t)timeout_ms;

	while (st_head(q) == q->ci) {
		if (st_error(q))
			return -EIO;
		if (rn_now_ms() >= end)
			return -ETIMEDOUT;
		pause_us(20);
	}
	return 0;
}

int rn_rx_recv(struct rn_q *q, void *out, size_t max, uint16_t *flags, uint32_t *hash,
	       unsigned int *ndesc, int timeout_ms)
{
	uint32_t mask = q->size - 1, len = 0, head;
	unsigned int n = 0;
	int rc = rx_wait(q, timeout_ms);

	if (rc)
		return rc;
	head = st_head(q);
	for (;;) {
		const struct refnic_rx_desc *d = (struct refnic_rx_desc *)q->ring + q->ci;
		const uint8_t *buf = q->bufs + (size_t)q->ci * q->buf_len;

		if (q->ci == head) {
			fprintf(stderr, "rn: RX frame without EOP before head\n");
			return -EPROTO;
		}
		if (d->addr != q->bufs_iova + (uint64_t)q->ci * q->buf_len || d->len > q->buf_len)
			return -EPROTO;
		if (len + d->len <= max)
			memcpy((uint8_t *)out + len, buf, d->len);
		len += d->len;
		n++;
		if (flags)
			*flags = d->flags;
		if (hash)
			*hash = d->rss_hash;
		bool eop = d->flags & REFNIC_RXD_EOP;

		q->ci = (q->ci + 1) & mask;
		rx_post(q, q->pi);
		q->pi = (q->pi + 1) & mask;
		if (eop)
			break;
	}
	ring(q);
	if (ndesc)
		*ndesc = n;
	return (int)len;
}

void rn_tx_post(struct rn_q *q, const void *frame, uint32_t len, unsigned int nseg,
		uint16_t offload)
{
	uint32_t off = 0, mask = q->size - 1;

	for (unsigned int i = 0; i < nseg; i++) {
		struct refnic_tx_desc *d = (struct refnic_tx_desc *)q->ring + q->pi;
		uint32_t chunk = i == nseg - 1 ? len - off : len / nseg;
		uint8_t *buf = q->bufs + (size_t)q->pi * q->buf_len;

		memcpy(buf, (const uint8_t *)frame + off, chunk);
		d->addr = q->bufs_iova + (uint64_t)q->pi * q->buf_len;
		d->len = (uint16_t)chunk;
		d->flags =
			(uint16_t)((i == 0 ? offload : 0) | (i == nseg - 1 ? REFNIC_TXD_EOP : 0));
		d->rsvd = 0;
		off += chunk;
		q->pi = (q->pi + 1) & mask;
	}
	ring(q);
}

int rn_tx_wait(struct rn_q *q, int timeout_ms)
{
	uint64_t end = rn_now_ms() + (uint64_t)timeout_ms;

	while (st_head(q) != q->pi) {
		if (st_error(q))
			return -EIO;
		if (rn_now_ms() >= end)
			return -ETIMEDOUT;
		pause_us(20);
	}
	q->ci = q->pi;
	return 0;
}

int rn_tx_send(struct rn_q *q, const void *frame, uint32_t len, unsigned int nseg, uint16_t offload)
{
	rn_tx_post(q, frame, len, nseg, offload);
	return rn_tx_wait(q, RN_TIMEOUT_MS);
}

/* ---- event queue ---------------------------------------------------------------- */

int rn_eq_create(struct rn *h, unsigned int fn, struct rn_eq *eq)
{
	struct refnic_cmd_create_queue cq = { .type = REFNIC_QT_EVENT, .log_size = 5 };
	uint64_t iova, result;
	int rc;

	memset(eq, 0, sizeof(*eq));
	eq->log = 5;
	eq->phase = 1;
	eq->ring = rn_dp_alloc(h, 16u << eq->log, &iova);
	if (!eq->ring)
		return -ENOMEM;
	memset(eq->ring, 0, 16u << eq->log);
	cq.ring_iova = iova;
	rc = rn_q_create_raw(h, fn, &cq, &result);
	eq->db = REFNIC_CREATE_RESULT_DB_OFF(result);
	return rc;
}

int rn_eq_next(struct rn_eq *eq, uint8_t type, struct refnic_eqe *e, int timeout_ms)
{
	uint64_t end = rn_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		int left = (int)(end - rn_now_ms());
		int rc = rn_eq_wait(eq->ring, eq->log, &eq->ci, &eq->phase, e, left > 0 ? left : 0);

		if (rc)
			return rc;
		if (e->type == type)
			return 0;
	}
}

/* ---- frames ----------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum_bytes(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i < len; i++)
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t fold16(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

uint32_t rn_l4_off(const struct rn_flow *f)
{
	return 14 + (f->ipv == 4 ? 20 : 40);
}

uint32_t rn_csum_off(const struct rn_flow *f)
{
	return rn_l4_off(f) + (f->proto == 6 ? 16 : 6);
}

static uint32_t pseudo(const struct rn_flow *f, uint32_t l4len)
{
	uint32_t s = sum_bytes(f->src, f->ipv == 4 ? 4 : 16, 0);

	s = sum_bytes(f->dst, f->ipv == 4 ? 4 : 16, s);
	return s + f->proto + l4len;
}

uint32_t rn_build(uint8_t *b, const struct rn_flow *f, uint32_t payload, uint8_t seed)
{
	uint32_t l4hl = f->proto == 6 ? 20 : 8, l4len = l4hl + payload;
	uint32_t l4 = rn_l4_off(f), len = l4 + l4len;
	uint8_t *ip = b + 14, *t = b + l4;
	uint16_t c;

	memset(b, 0, l4 + l4hl);
	memcpy(b, f->dmac, 6);
	memcpy(b + 6, f->smac, 6);
	if (f->ipv == 4) {
		put16(b + 12, 0x0800);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		ip[8] = 64;
		ip[9] = f->proto;
		memcpy(ip + 12, f->src, 4);
		memcpy(ip + 16, f->dst, 4);
		put16(ip + 10, (uint16_t)~fold16(sum_bytes(ip, 20, 0)));
	} else {
		put16(b + 12, 0x86dd);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = f->proto;
		ip[7] = 64;
		memcpy(ip + 8, f->src, 16);
		memcpy(ip + 24, f->dst, 16);
	}
	put16(t, f->sport);
	put16(t + 2, f->dport);
	if (f->proto == 6)
		t[12] = 5 << 4;
	else
		put16(t + 4, (uint16_t)l4len);
	for (uint32_t i = 0; i < payload; i++)
		t[l4hl + i] = (uint8_t)(seed + i * 7);
	c = (uint16_t)~fold16(sum_bytes(t, l4len, pseudo(f, l4len)));
	if (f->proto == 17 && c == 0)
		c = 0xffff;
	put16(b + rn_csum_off(f), c);
	return len;
}

bool rn_l4_csum_ok(const uint8_t *b, const struct rn_flow *f, uint32_t len)
{
	uint32_t l4 = rn_l4_off(f);

	return fold16(sum_bytes(b + l4, len - l4, pseudo(f, len - l4))) == 0xffff;
}

/* ---- Toeplitz ------------------------------------------------------------------ */

const uint8_t rn_ms_rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static unsigned int key_bit(const uint8_t *key, unsigned int i)
{
	return i < 320 ? (key[i / 8] >> (7 - i % 8)) & 1 : 0;
}

/* Straight from the definition: bit i of the input selects key bits [i, i + 32). */
uint32_t rn_toeplitz(const uint8_t *key, const uint8_t *in, unsigned int len)
{
	uint32_t hash = 0;

	for (unsigned int i = 0; i < len * 8; i++) {
		uint32_t window = 0;

		if (!((in[i / 8] >> (7 - i % 8)) & 1))
			continue;
		for (unsigned int k = 0; k < 32; k++)
			window = window << 1 | key_bit(key, i + k);
		hash ^= window;
	}
	return hash;
}
