/* SPDX-License-Identifier: MIT */
/*
 * Frames as the device's parser sees them (docs/refnic.md §15.4, §15.5):
 * Ethernet with at most one VLAN tag, IPv4 or IPv6 (no extension headers),
 * TCP or UDP. The parser believes a header only when the whole of it, and
 * the IP payload length it announces, lie inside the frame; anything else
 * is "not IP" or "no L4" and the offloads leave it alone. Also the L4
 * checksum (RFC 1071, with the pseudo-header) and the Toeplitz hash of the
 * Microsoft RSS specification.
 */
#include <string.h>

#include "refnic_priv.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define PROTO_TCP      6
#define PROTO_UDP      17
#define TCP_HLEN_MIN   20
#define UDP_HLEN       8

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void l4_set(struct refnic_pkt *p, uint8_t proto, uint32_t off, uint32_t len)
{
	if (proto == PROTO_TCP && len >= TCP_HLEN_MIN)
		p->flags |= REFNIC_RXD_TCP;
	else if (proto == PROTO_UDP && len >= UDP_HLEN)
		p->flags |= REFNIC_RXD_UDP;
	else
		return;
	p->l4_proto = proto;
	p->l4_off = (uint16_t)off;
	p->l4_len = (uint16_t)len;
}

static void parse_ipv4(const uint8_t *d, uint32_t len, uint32_t off, struct refnic_pkt *p)
{
	const uint8_t *ip = d + off;
	uint32_t ihl, tot;

	if (len < off + 20 || ip[0] >> 4 != 4)
		return;
	ihl = (ip[0] & 0xfu) * 4;
	tot = rd16(ip + 2);
	if (ihl < 20 || tot < ihl || off + tot > len)
		return;
	p->l3 = 4;
	p->l3_off = (uint16_t)off;
	p->flags |= REFNIC_RXD_IPV4;
	/* A fragment (offset or MF set): its L4 header is absent or incomplete. */
	if (rd16(ip + 6) & 0x3fff)
		return;
	l4_set(p, ip[9], off + ihl, tot - ihl);
}

static void parse_ipv6(const uint8_t *d, uint32_t len, uint32_t off, struct refnic_pkt *p)
{
	const uint8_t *ip = d + off;
	uint32_t plen;

	if (len < off + 40 || ip[0] >> 4 != 6)
		return;
	plen = rd16(ip + 4);
	if (off + 40 + plen > len)
		return;
	p->l3 = 6;
	p->l3_off = (uint16_t)off;
	p->flags |= REFNIC_RXD_IPV6;
	l4_set(p, ip[6], off + 40, plen); /* next header other than TCP/UDP: no L4 */
}

void refnic_pkt_parse(const uint8_t *d, uint32_t len, struct refnic_pkt *p)
{
	uint32_t off = REFNIC_ETH_HLEN;
	uint16_t type;

	memset(p, 0, sizeof(*p));
	if (len < REFNIC_ETH_HLEN)
		return;
	type = rd16(d + 12);
	if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) {
		if (len < REFNIC_ETH_HLEN + 4)
			return;
		type = rd16(d + 16);
		off += 4;
	}
	if (type == ETHERTYPE_IPV4)
		parse_ipv4(d, len, off, p);
	else if (type == ETHERTYPE_IPV6)
		parse_ipv6(d, len, off, p);
}

/* ---- checksums -------------------------------------------------------------- */

/* 16-bit big-endian words summed into 32 bits: no overflow below 128 KiB. */
static uint32_t sum16(const uint8_t *d, uint32_t len, uint32_t sum)
{
	for (; len > 1; d += 2, len -= 2)
		sum += rd16(d);
	if (len)
		sum += (uint32_t)d[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The pseudo-header: addresses, protocol, L4 length (RFC 793/768, RFC 8200 §8.1). */
static uint32_t pseudo_sum(const uint8_t *d, const struct refnic_pkt *p)
{
	const uint8_t *ip = d + p->l3_off;
	uint32_t sum = (uint32_t)p->l4_proto + p->l4_len;

	return p->l3 == 4 ? sum16(ip + 12, 8, sum) : sum16(ip + 8, 32, sum);
}

static unsigned int csum_off(const struct refnic_pkt *p)
{
	return p->l4_proto == PROTO_TCP ? 16 : 6;
}

/*
 * TX offload: the whole checksum is computed (whatever the field held), so
 * a driver need not seed it with the pseudo-header sum. UDP sends 0 as
 * 0xffff, since 0 means "no checksum".
 */
void refnic_pkt_csum_fill(uint8_t *d, const struct refnic_pkt *p)
{
	uint8_t *l4 = d + p->l4_off;
	unsigned int co = csum_off(p);
	uint16_t c;

	if (!p->l4_proto)
		return;
	l4[co] = l4[co + 1] = 0;
	c = (uint16_t)~fold(sum16(l4, p->l4_len, pseudo_sum(d, p)));
	if (p->l4_proto == PROTO_UDP && c == 0)
		c = 0xffff;
	l4[co] = (uint8_t)(c >> 8);
	l4[co + 1] = (uint8_t)c;
}

/* RX: L4_CSUM_OK or L4_CSUM_BAD for TCP/UDP, 0 otherwise (also IPv4 UDP without one). */
uint16_t refnic_pkt_csum_flags(const uint8_t *d, const struct refnic_pkt *p)
{
	const uint8_t *l4 = d + p->l4_off;

	if (!p->l4_proto)
		return 0;
	if (p->l4_proto == PROTO_UDP && p->l3 == 4 && rd16(l4 + 6) == 0)
		return 0;
	return fold(sum16(l4, p->l4_len, pseudo_sum(d, p))) == 0xffff ? REFNIC_RXD_L4_CSUM_OK
								      : REFNIC_RXD_L4_CSUM_BAD;
}

/* ---- RSS ------------------------------------------------------------------------ */

/*
 * Toeplitz: for every input bit set, XOR in the 32-bit window of the key
 * that starts at that bit. @len <= 36, so the window stays inside 40 bytes.
 */
uint32_t refnic_toeplitz(const uint8_t key[REFNIC_RSS_KEY_SIZE], const uint8_t *in,
			 unsigned int len)
{
	uint32_t win = (uint32_t)key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3];
	uint32_t hash = 0;

	for (unsigned int i = 0; i < len; i++) {
		uint8_t next = i + 4 < REFNIC_RSS_KEY_SIZE ? key[i + 4] : 0;

		for (int b = 7; b >= 0; b--) {
			if (in[i] & (1u << b))
				hash ^= win;
			win = win << 1 | ((next >> b) & 1u);
		}
	}
	return hash;
}

/*
 * The hash input (Microsoft RSS): source address, destination address, then
 * source and destination port when the frame's L4 type is enabled; the
 * addresses alone when only its IP type is. False: not hashed.
 */
bool refnic_pkt_rss(const uint8_t *d, const struct refnic_pkt *p,
		    const struct refnic_rss_config *rss, uint32_t *hash)
{
	uint32_t t_ip, t_tcp, t_udp, alen, aoff;
	uint8_t in[36];
	bool ports;

	if (p->l3 == 4) {
		t_ip = REFNIC_RSS_IPV4, t_tcp = REFNIC_RSS_TCP_IPV4, t_udp = REFNIC_RSS_UDP_IPV4;
		alen = 4, aoff = 12;
	} else if (p->l3 == 6) {
		t_ip = REFNIC_RSS_IPV6, t_tcp = REFNIC_RSS_TCP_IPV6, t_udp = REFNIC_RSS_UDP_IPV6;
		alen = 16, aoff = 8;
	} else {
		return false;
	}
	ports = (p->l4_proto == PROTO_TCP && (rss->hash_types & t_tcp)) ||
		(p->l4_proto == PROTO_UDP && (rss->hash_types & t_udp));
	if (!ports && !(rss->hash_types & t_ip))
		return false;
	memcpy(in, d + p->l3_off + aoff, 2 * alen);
	if (ports)
		memcpy(in + 2 * alen, d + p->l4_off, 4);
	*hash = refnic_toeplitz(rss->key, in, 2 * alen + (ports ? 4 : 0));
	return true;
}
