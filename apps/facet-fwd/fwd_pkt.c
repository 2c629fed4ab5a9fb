/* SPDX-License-Identifier: MIT */
/*
 * Test frames: Ethernet / IPv4 / UDP with a payload that starts with a
 * 64-bit sequence number and the frame length, followed by a pattern derived
 * from the sequence number, so a receiver can tell a damaged frame from a
 * good one without knowing what was sent.
 */
#include <stdio.h>
#include <string.h>

#include "fwd.h"

#define SEQ_OFF FWD_HDR_LEN
#define PAT_OFF (SEQ_OFF + 12)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t pattern(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 7u + i * 13u);
}

uint16_t fwd_csum(const void *data, unsigned int len, uint32_t sum)
{
	const uint8_t *b = data;

	for (unsigned int i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void headers(uint8_t *f, const struct fwd_udp *u, uint32_t len, uint64_t seq)
{
	memcpy(f, u->dst_mac, 6);
	memcpy(f + 6, u->src_mac, 6);
	put16(f + 12, 0x0800);
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(len - 14));
	f[22] = 64;
	f[23] = 17;
	put32(f + 26, u->src_ip);
	put32(f + 30, u->dst_ip);
	put16(f + 24, fwd_csum(f + 14, 20, 0));
	put16(f + 34, u->src_port);
	put16(f + 36, u->dst_port);
	put16(f + 38, (uint16_t)(len - 34));
	put16(f + 40, 0);
	put32(f + SEQ_OFF, (uint32_t)(seq >> 32));
	put32(f + SEQ_OFF + 4, (uint32_t)seq);
	put32(f + SEQ_OFF + 8, len);
}

struct facet_pktbuf *fwd_udp_frame(struct facet_pktbuf_pool *pool, const struct fwd_udp *u,
				   uint32_t len, uint64_t seq)
{
	struct facet_pktbuf *head = NULL, *last = NULL;
	uint32_t off = 0;

	while (off < len) {
		struct facet_pktbuf *seg = facet_pktbuf_alloc(pool);
		uint8_t *d;
		uint32_t take;

		if (!seg) {
			facet_pktbuf_free(head);
			return NULL;
		}
		take = facet_pktbuf_tailroom(seg);
		take = len - off < take ? len - off : take;
		d = facet_pktbuf_data(seg);
		if (off == 0)
			headers(d, u, len, seq); /* the first segment holds every header */
		for (uint32_t i = off < PAT_OFF ? PAT_OFF : off; i < off + take; i++)
			d[i - off] = pattern(seq, i);
		seg->data_len = (uint16_t)take;
		if (last) {
			last->next = seg;
			head->nb_segs++;
		} else {
			head = seg;
		}
		head->pkt_len += take;
		last = seg;
		off += take;
	}
	return head;
}

int fwd_udp_check(const struct facet_pktbuf *pkt, uint64_t *seq, uint16_t *src_port)
{
	uint8_t h[PAT_OFF];
	uint32_t off = 0;

	if (facet_pktbuf_read(pkt, 0, h, PAT_OFF) != PAT_OFF || h[12] != 0x08 || h[13] != 0 ||
	    h[23] != 17 || get32(h + SEQ_OFF + 8) != pkt->pkt_len)
		return -1;
	*seq = (uint64_t)get32(h + SEQ_OFF) << 32 | get32(h + SEQ_OFF + 4);
	*src_port = (uint16_t)(h[34] << 8 | h[35]);
	for (const struct facet_pktbuf *s = pkt; s; s = s->next) {
		const uint8_t *d = facet_pktbuf_data(s);

		for (uint32_t i = off < PAT_OFF ? PAT_OFF : off; i < off + s->data_len; i++) {
			if (d[i - off] != pattern(*seq, i))
				return -1;
		}
		off += s->data_len;
	}
	return 0;
}

int fwd_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

void fwd_mac_str(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}
