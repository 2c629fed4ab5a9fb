/* SPDX-License-Identifier: MIT */
/*
 * io: forward between two ports as the frames come, untouched (testpmd's
 * --forward-mode=io): queue q of one port to queue q of the other. With
 * --tx-first each port first sends one burst, so there is something to
 * bounce: to --dst-mac, or broadcast by default, since a frame sent back
 * untouched to the port it is addressed to would never leave the switch.
 */
#include <errno.h>
#include <string.h>

#include "fwd.h"

static int io_init(struct fwd *f)
{
	if (!f->o.tx_first)
		return 0;
	if (!f->o.dst_mac_set)
		memset(f->o.dst_mac, 0xff, 6);
	for (unsigned int i = 0; i < 2; i++) {
		struct fwd_port *p = &f->ports[i];
		struct facet_pktbuf *pkts[FWD_BURST];
		struct fwd_udp u = {
			.src_mac = p->mac,
			.dst_mac = f->o.dst_mac,
			.src_ip = 0xc0a80001 + i,
			.dst_ip = 0xc0a80002 - i,
			.dst_port = 9,
		};
		unsigned int n = 0;

		for (; n < FWD_BURST; n++) {
			u.src_port = (uint16_t)(1024 + n % f->o.flows);
			pkts[n] = fwd_udp_frame(p->pool, &u, f->o.size, f->seq++);
			if (!pkts[n])
				return -ENOBUFS;
		}
		fwd_tx(p, 0, pkts, (uint16_t)n);
	}
	return 0;
}

static unsigned int io_poll(struct fwd *f)
{
	struct facet_pktbuf *pkts[FWD_BURST];
	unsigned int moved = 0;

	for (unsigned int i = 0; i < 2; i++) {
		struct fwd_port *in = &f->ports[i], *out = &f->ports[!i];
		uint16_t nq = in->nb_q < out->nb_q ? in->nb_q : out->nb_q;

		for (uint16_t q = 0; q < nq; q++) {
			uint16_t n = facet_eth_rx_burst(in->port, q, pkts, FWD_BURST);

			if (!n)
				continue;
			in->rx += n;
			for (uint16_t k = 0; k < n; k++)
				in->rx_bytes += pkts[k]->pkt_len;
			fwd_tx(out, q, pkts, n);
			moved += n;
		}
	}
	return moved;
}

const struct fwd_mode fwd_mode_io = {
	.name = "io",
	.nb_ports = 2,
	.init = io_init,
	.poll = io_poll,
};
