/* SPDX-License-Identifier: MIT */
/*
 * echo: be a host at --ip: answer ARP requests for it and ICMP echo
 * requests to it, in place (the request's buffer becomes the reply), so
 * `ping` from a peer on the switch or the uplink works. Everything else is
 * dropped and counted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fwd.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int echo_init(struct fwd *f)
{
	if (!f->o.ip) {
		fprintf(stderr, "facet-fwd: echo needs --ip A.B.C.D\n");
		return -EINVAL;
	}
	return 0;
}

/* ARP request for our address: turn it into the reply. */
static bool arp_reply(struct fwd *f, uint8_t *d, uint32_t len)
{
	const uint8_t *mac = f->ports[0].mac;
	uint8_t tmp[4];

	if (len < 42 || d[14] != 0 || d[15] != 1 || d[16] != 8 || d[17] != 0 || d[21] != 1 ||
	    get32(d + 38) != f->o.ip)
		return false;
	memcpy(d, d + 6, 6); /* to the asker */
	memcpy(d + 6, mac, 6);
	d[21] = 2;		   /* reply */
	memcpy(d + 32, d + 22, 6); /* target hw = sender hw */
	memcpy(tmp, d + 28, 4);
	memcpy(d + 28, d + 38, 4); /* sender ip = our ip */
	memcpy(d + 38, tmp, 4);
	memcpy(d + 22, mac, 6);
	f->arp_replies++;
	return true;
}

/* ICMP echo request to us: swap the ends, type 0, fix the checksum. */
static bool icmp_reply(struct fwd *f, uint8_t *d, uint32_t len)
{
	unsigned int ihl = (d[14] & 0xf) * 4u, icmp = 14 + ihl;
	uint8_t tmp[6];

	if (len < icmp + 8 || (d[14] >> 4) != 4 || d[23] != 1 || get32(d + 30) != f->o.ip ||
	    d[icmp] != 8)
		return false;
	memcpy(tmp, d, 6);
	memcpy(d, d + 6, 6);
	memcpy(d + 6, tmp, 6);
	memcpy(tmp, d + 26, 4);
	memcpy(d + 26, d + 30, 4);
	memcpy(d + 30, tmp, 4);
	d[22] = 64; /* fresh ttl: recompute the header checksum */
	d[24] = d[25] = 0;
	uint16_t c = fwd_csum(d + 14, ihl, 0);
	d[24] = (uint8_t)(c >> 8);
	d[25] = (uint8_t)c;
	d[icmp] = 0;
	d[icmp + 2] = d[icmp + 3] = 0;
	c = fwd_csum(d + icmp, len - icmp, 0);
	d[icmp + 2] = (uint8_t)(c >> 8);
	d[icmp + 3] = (uint8_t)c;
	f->icmp_replies++;
	return true;
}

static bool answer(struct fwd *f, struct facet_pktbuf *pkt)
{
	uint8_t *d = facet_pktbuf_data(pkt);
	uint32_t len = pkt->data_len;

	if (pkt->next || len < 14)
		return false; /* requests are small: one segment */
	if (d[12] == 0x08 && d[13] == 0x06)
		return arp_reply(f, d, len);
	if (d[12] == 0x08 && d[13] == 0x00 && len >= 34)
		return icmp_reply(f, d, len);
	return false;
}

static unsigned int echo_poll(struct fwd *f)
{
	struct fwd_port *p = &f->ports[0];
	struct facet_pktbuf *pkts[FWD_BURST], *out[FWD_BURST];
	unsigned int moved = 0;

	for (uint16_t q = 0; q < p->nb_q; q++) {
		uint16_t n = facet_eth_rx_burst(p->port, q, pkts, FWD_BURST), m = 0;

		for (uint16_t i = 0; i < n; i++) {
			p->rx_bytes += pkts[i]->pkt_len;
			pkts[i]->ol_flags = 0; /* RX flags must not read as TX requests */
			if (answer(f, pkts[i])) {
				out[m++] = pkts[i];
			} else {
				p->dropped++;
				facet_pktbuf_free(pkts[i]);
			}
		}
		p->rx += n;
		fwd_tx(p, q, out, m);
		moved += n;
	}
	return moved;
}

static void echo_report(struct fwd *f)
{
	printf("echo: %" PRIu64 " ARP replies, %" PRIu64 " ICMP echo replies\n", f->arp_replies,
	       f->icmp_replies);
}

const struct fwd_mode fwd_mode_echo = {
	.name = "echo",
	.nb_ports = 1,
	.init = echo_init,
	.poll = echo_poll,
	.report = echo_report,
};
