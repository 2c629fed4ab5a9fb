/* SPDX-License-Identifier: MIT */
/*
 * rx: receive on every queue of the port, count, and check each test frame
 * (its pattern, and that sequence numbers grow within each flow; RSS keeps a
 * flow on one queue, so reordering within a flow is a real error).
 */
#include <inttypes.h>
#include <stdio.h>

#include "fwd.h"

static int rx_init(struct fwd *f)
{
	for (unsigned int i = 0; i < FWD_MAX_FLOWS; i++)
		f->last_seq[i] = -1;
	return 0;
}

static void check(struct fwd *f, const struct facet_pktbuf *pkt)
{
	uint64_t seq;
	uint16_t sport;
	int64_t *last;

	if (fwd_udp_check(pkt, &seq, &sport) < 0) {
		f->bad++;
		return;
	}
	last = &f->last_seq[sport % FWD_MAX_FLOWS];
	if (*last >= 0 && (int64_t)seq <= *last)
		f->reordered++;
	*last = (int64_t)seq;
}

static unsigned int rx_poll(struct fwd *f)
{
	struct fwd_port *p = &f->ports[0];
	struct facet_pktbuf *pkts[FWD_BURST];
	unsigned int moved = 0;

	for (uint16_t q = 0; q < p->nb_q; q++) {
		uint16_t n = facet_eth_rx_burst(p->port, q, pkts, FWD_BURST);

		for (uint16_t i = 0; i < n; i++) {
			check(f, pkts[i]);
			p->rx_bytes += pkts[i]->pkt_len;
		}
		facet_pktbuf_free_bulk(pkts, n);
		p->rx += n;
		moved += n;
	}
	return moved;
}

static void rx_report(struct fwd *f)
{
	printf("rx: %" PRIu64 " bad frames, %" PRIu64 " out of order\n", f->bad, f->reordered);
}

const struct fwd_mode fwd_mode_rx = {
	.name = "rx",
	.nb_ports = 1,
	.init = rx_init,
	.poll = rx_poll,
	.report = rx_report,
};
