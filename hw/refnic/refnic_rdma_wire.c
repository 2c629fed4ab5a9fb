/* SPDX-License-Identifier: MIT */
/*
 * RoCEv2 on the wire (docs/refnic.md §16.8): Ethernet / IPv4 or IPv6 / UDP
 * 4791 / BTH / extension headers / payload / pad / ICRC. Header templates
 * per path, packet parsing for the engine, and the ICRC: the reflected
 * CRC-32 of the Ethernet FCS over a pseudo packet (8 bytes of ones, then
 * the IP, UDP and BTH headers with their variant fields set to ones, then
 * the rest), computed slice-by-8 from tables built at first use.
 */
#include <pthread.h>
#include <string.h>

#include "refnic_rdma.h"

#define CRC_POLY 0xedb88320u

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC_POLY : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] =
				(crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

void rdma_crc_init(void)
{
	pthread_once(&crc_once, crc_build);
}

/* zlib's crc32() semantics: start with 0, feed the previous result to continue. */
uint32_t rdma_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (len >= 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= crc;
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xff] ^
		      crc_tab[2][(hi >> 8) & 0xff] ^ crc_tab[1][(hi >> 16) & 0xff] ^
		      crc_tab[0][hi >> 24];
		p += 8;
		len -= 8;
	}
#endif
	while (len--)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/*
 * The ICRC of the packet whose IP header is at @l3_off and whose ICRC field
 * is at @icrc_off. Only IPv4 headers without options are RoCEv2 here.
 */
uint32_t rdma_icrc(const uint8_t *frame, uint32_t l3_off, bool v4, uint32_t icrc_off)
{
	uint8_t h[8 + 40 + 8 + BTH_LEN];
	uint32_t iplen = v4 ? 20 : 40;
	uint32_t hlen = iplen + 8 + BTH_LEN;
	uint8_t *ip = h + 8, *udp = ip + iplen;
	uint32_t crc;

	memset(h, 0xff, 8);
	memcpy(ip, frame + l3_off, hlen);
	if (v4) {
		ip[1] = 0xff; /* TOS */
		ip[8] = 0xff; /* TTL */
		ip[10] = ip[11] = 0xff;
	} else {
		ip[0] |= 0x0f; /* traffic class and flow label */
		ip[1] = ip[2] = ip[3] = 0xff;
		ip[7] = 0xff; /* hop limit */
	}
	udp[6] = udp[7] = 0xff;
	udp[8 + 4] = 0xff; /* BTH: FECN, BECN, reserved */
	crc = rdma_crc32(0, h, 8 + hlen);
	return rdma_crc32(crc, frame + l3_off + hlen, icrc_off - (l3_off + hlen));
}

static void icrc_store(uint8_t *p, uint32_t crc)
{
	p[0] = (uint8_t)crc;
	p[1] = (uint8_t)(crc >> 8);
	p[2] = (uint8_t)(crc >> 16);
	p[3] = (uint8_t)(crc >> 24);
}

static uint32_t icrc_load(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Frames between functions of one system never meet a wire, so the engine
 * leaves their ICRC out (f->icrc_lazy) and the receiving engine trusts them;
 * a frame that leaves through the uplink or lands in an Ethernet RX queue
 * gets its ICRC here first. Same bytes, as a driver or peer sees them.
 */
void refnic_rdma_icrc_fill(struct refnic_frame *f)
{
	uint8_t *d = (uint8_t *)f->data; /* the engine's own buffer */
	uint32_t icrc_off;

	if (!f->icrc_lazy)
		return;
	f->icrc_lazy = false;
	icrc_off = f->pkt.l4_off + get16(d + f->pkt.l4_off + 4) - ICRC_LEN;
	icrc_store(d + icrc_off, rdma_icrc(d, f->pkt.l3_off, f->pkt.l3 == 4, icrc_off));
}

/* ---- headers ---------------------------------------------------------------------------- */

uint16_t rdma_udp_sport(uint32_t qpn)
{
	return (uint16_t)(0xc000u | (((qpn & RDMA_QPN_MASK) * 0x9e3779b1u) >> 18 & 0x3fffu));
}

void rdma_path_build(struct rdma_path *p)
{
	uint8_t *h = p->hdr, *ip = h + 14, *udp;
	uint8_t hop = p->av.hop_limit ? p->av.hop_limit : 64;

	memset(h, 0, sizeof(p->hdr));
	memcpy(h, p->av.dmac, 6);
	if (p->v4) {
		put16(h + 12, 0x0800);
		ip[0] = 0x45;
		ip[1] = p->av.traffic_class;
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = hop;
		ip[9] = 17;
		memcpy(ip + 12, p->sip + 12, 4);
		memcpy(ip + 16, p->dip + 12, 4);
		udp = ip + 20;
	} else {
		put16(h + 12, 0x86dd);
		put32(ip, 6u << 28 | (uint32_t)p->av.traffic_class << 20 | p->av.flow_label);
		ip[6] = 17;
		ip[7] = hop;
		memcpy(ip + 8, p->sip, 16);
		memcpy(ip + 24, p->dip, 16);
		udp = ip + 40;
	}
	put16(udp + 2, REFNIC_ROCEV2_UDP_PORT);
	p->hdr_len = (uint8_t)(udp + 8 - h);
}

static uint16_t ipv4_csum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += get16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void rdma_hdr_finish(const struct rdma_path *p, uint8_t *frame, uint32_t len, const uint8_t smac[6],
		     uint16_t sport)
{
	uint8_t *ip = frame + 14, *udp;

	memcpy(frame + 6, smac, 6);
	if (p->v4) {
		put16(ip + 2, (uint16_t)(len - 14));
		put16(ip + 10, ipv4_csum(ip));
		udp = ip + 20;
	} else {
		put16(ip + 4, (uint16_t)(len - 14 - 40));
		udp = ip + 40;
	}
	put16(udp, sport);
	put16(udp + 4, (uint16_t)(len - (uint32_t)(udp - frame)));
}

void rdma_bth_put(uint8_t *b, uint8_t opcode, bool se, uint8_t pad, uint32_t qpn, bool ackreq,
		  uint32_t psn)
{
	b[0] = opcode;
	b[1] = (uint8_t)((se ? 0x80 : 0) | (pad & 3) << 4); /* TVer 0 */
	put16(b + 2, RDMA_PKEY_DEFAULT);
	b[4] = 0;
	put24(b + 5, qpn);
	b[8] = ackreq ? 0x80 : 0;
	put24(b + 9, psn);
}

/* ---- parsing ------------------------------------------------------------------------------- */

#define P OPF_PAYLOAD
#define F OPF_FIRST
#define L OPF_LAST
#define V OPF_VALID
#define R OPF_RESPONSE
static const uint16_t rc_ops[] = {
	[OP_SEND_FIRST] = V | P | F,
	[OP_SEND_MIDDLE] = V | P,
	[OP_SEND_LAST] = V | P | L,
	[OP_SEND_LAST_IMM] = V | P | L | OPF_IMM,
	[OP_SEND_ONLY] = V | P | F | L,
	[OP_SEND_ONLY_IMM] = V | P | F | L | OPF_IMM,
	[OP_WRITE_FIRST] = V | P | F | OPF_RETH,
	[OP_WRITE_MIDDLE] = V | P,
	[OP_WRITE_LAST] = V | P | L,
	[OP_WRITE_LAST_IMM] = V | P | L | OPF_IMM,
	[OP_WRITE_ONLY] = V | P | F | L | OPF_RETH,
	[OP_WRITE_ONLY_IMM] = V | P | F | L | OPF_RETH | OPF_IMM,
	[OP_READ_REQ] = V | F | L | OPF_RETH,
	[OP_READ_FIRST] = V | R | P | F | OPF_AETH,
	[OP_READ_MIDDLE] = V | R | P,
	[OP_READ_LAST] = V | R | P | L | OPF_AETH,
	[OP_READ_ONLY] = V | R | P | F | L | OPF_AETH,
	[OP_ACK] = V | R | F | L | OPF_AETH,
	[OP_ATOMIC_ACK] = V | R | F | L | OPF_AETH | OPF_ATOMACK,
	[OP_CMP_SWAP] = V | F | L | OPF_ATOMETH,
	[OP_FETCH_ADD] = V | F | L | OPF_ATOMETH,
};
#undef P
#undef F
#undef L
#undef V
#undef R

uint16_t rdma_op_flags(uint8_t opcode)
{
	uint8_t op = opcode & 0x1f;

	if ((opcode & 0xe0) == BTH_GRP_RC)
		return op < sizeof(rc_ops) / sizeof(rc_ops[0]) ? rc_ops[op] : 0;
	if ((opcode & 0xe0) == BTH_GRP_UD && (op == OP_SEND_ONLY || op == OP_SEND_ONLY_IMM))
		return (uint16_t)((rc_ops[op] & ~OPF_RETH) | OPF_DETH);
	return 0; /* UC and reserved groups: not in this revision */
}

/* The extension headers, in the order they appear; returns their length or -1. */
static int parse_ext(const uint8_t *h, uint32_t avail, uint16_t fl, struct rdma_pkt *p)
{
	uint32_t off = 0;

#define NEED(n)                                                                                    \
	do {                                                                                       \
		if (avail - off < (n))                                                             \
			return -1;                                                                 \
	} while (0)
	if (fl & OPF_DETH) {
		NEED(DETH_LEN);
		p->qkey = get32(h + off);
		p->src_qp = get24(h + off + 5);
		off += DETH_LEN;
	}
	if (fl & OPF_RETH) {
		NEED(RETH_LEN);
		p->va = get64(h + off);
		p->rkey = get32(h + off + 8);
		p->dmalen = get32(h + off + 12);
		off += RETH_LEN;
	}
	if (fl & OPF_AETH) {
		NEED(AETH_LEN);
		p->syndrome = h[off];
		p->msn = get24(h + off + 1);
		off += AETH_LEN;
	}
	if (fl & OPF_ATOMETH) {
		NEED(ATOMETH_LEN);
		p->va = get64(h + off);
		p->rkey = get32(h + off + 8);
		p->swap_add = get64(h + off + 12);
		p->compare = get64(h + off + 20);
		off += ATOMETH_LEN;
	}
	if (fl & OPF_ATOMACK) {
		NEED(ATOMACK_LEN);
		p->orig = get64(h + off);
		off += ATOMACK_LEN;
	}
	if (fl & OPF_IMM) {
		NEED(IMM_LEN);
		memcpy(&p->imm, h + off, IMM_LEN); /* kept in wire order */
		p->has_imm = true;
		off += IMM_LEN;
	}
#undef NEED
	return (int)off;
}

int rdma_parse(const struct refnic_frame *f, struct rdma_pkt *p)
{
	const uint8_t *d = f->data, *udp, *bth;
	uint32_t ulen, blen, pad;
	uint16_t fl;
	int ext;

	memset(p, 0, sizeof(*p));
	if (f->pkt.l4_proto != 17 || (f->pkt.l3 == 4 && f->pkt.l4_off - f->pkt.l3_off != 20))
		return -1;
	udp = d + f->pkt.l4_off;
	ulen = get16(udp + 4);
	if (ulen < 8 + BTH_LEN + ICRC_LEN || ulen > f->pkt.l4_len)
		return -1;
	bth = udp + 8;
	blen = ulen - 8;
	p->opcode = bth[0];
	fl = rdma_op_flags(p->opcode);
	if (!(fl & OPF_VALID) || (bth[1] & 0x0f) || get16(bth + 2) != RDMA_PKEY_DEFAULT)
		return -1;
	p->op = p->opcode & 0x1f;
	p->se = bth[1] & 0x80;
	pad = (bth[1] >> 4) & 3;
	p->qpn = get24(bth + 5);
	p->ackreq = bth[8] & 0x80;
	p->psn = get24(bth + 9);
	ext = parse_ext(bth + BTH_LEN, blen - BTH_LEN - ICRC_LEN, fl, p);
	if (ext < 0 || blen - BTH_LEN - ICRC_LEN - (uint32_t)ext < pad)
		return -1;
	p->payload = bth + BTH_LEN + ext;
	p->paylen = blen - BTH_LEN - ICRC_LEN - (uint32_t)ext - pad;
	if (!(fl & OPF_PAYLOAD) && (p->paylen || pad))
		return -1;
	p->ip = d + f->pkt.l3_off;
	p->v4 = f->pkt.l3 == 4;
	if (!f->icrc_lazy) {
		uint32_t icrc_off = (uint32_t)(bth - d) + blen - ICRC_LEN;

		if (rdma_icrc(d, f->pkt.l3_off, p->v4, icrc_off) != icrc_load(d + icrc_off))
			return -1;
	}
	return 0;
}
