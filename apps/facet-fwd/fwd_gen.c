/* SPDX-License-Identifier: MIT */
/*
 * gen: send UDP test frames of --size bytes on every queue of the port, at
 * --rate frames per second (0: as fast as the ring takes them), --count in
 * all (0: no limit), spread over --flows UDP source ports so RSS at the
 * receiver has something to spread. With --count it ends once the device
 * has completed every frame, so the final counters include them all.
 */
#include <string.h>

#include "fwd.h"

#define DRAIN_NS 1000000000ull /* --count done: wait up to 1 s for the last completions */

static int gen_init(struct fwd *f)
{
	struct facet_eth_stats st;

	if (!f->o.dst_mac_set)
		memset(f->o.dst_mac, 0xff, 6); /* broadcast: every other port gets it */
	if (facet_eth_stats_get(f->ports[0].port, &st) == 0)
		f->out_base = st.opackets + st.oerrors;
	f->next_ns = fwd_now_ns();
	return 0;
}

/*
 * Has the device finished (sent or dropped) every frame we handed it? The
 * ring takes frames before the device has processed them, so without this
 * the final counters of a --count run could miss the last burst.
 */
static bool drained(struct fwd *f)
{
	struct fwd_port *p = &f->ports[0];
	struct facet_eth_stats st;
	uint64_t now = fwd_now_ns();

	if (!f->drain_end_ns)
		f->drain_end_ns = now + DRAIN_NS;
	if (now >= f->drain_end_ns || facet_eth_stats_get(p->port, &st) < 0)
		return true;
	return st.opackets + st.oerrors - f->out_base >= p->tx;
}

/* Frames due now under the rate limit, at most one burst. */
static unsigned int due(struct fwd *f)
{
	uint64_t now = fwd_now_ns(), n;

	if (!f->o.rate)
		return FWD_BURST;
	if (now < f->next_ns)
		return 0;
	n = (now - f->next_ns) * f->o.rate / 1000000000ull + 1;
	return n > FWD_BURST ? FWD_BURST : (unsigned int)n;
}

/* Build up to @n frames into the pending list. */
static void build(struct fwd *f, unsigned int n)
{
	struct fwd_port *p = &f->ports[0];
	struct fwd_udp u = {
		.src_mac = p->mac,
		.dst_mac = f->o.dst_mac,
		.src_ip = 0xc0a80001,
		.dst_ip = 0xc0a80002,
		.dst_port = 9,
	};

	if (f->o.count && f->seq + n > f->o.count)
		n = (unsigned int)(f->o.count - f->seq);
	while (f->nb_pending < n) {
		struct facet_pktbuf *pkt;

		u.src_port = (uint16_t)(1024 + f->seq % f->o.flows);
		pkt = fwd_udp_frame(p->pool, &u, f->o.size, f->seq);
		if (!pkt)
			break; /* the pool is in flight: more next round */
		f->pending[f->nb_pending++] = pkt;
		f->seq++;
		if (f->o.rate)
			f->next_ns += 1000000000ull / f->o.rate;
	}
}

/* Queues in turn; what the ring does not take waits for the next round. */
static unsigned int gen_poll(struct fwd *f)
{
	struct fwd_port *p = &f->ports[0];
	uint16_t sent;

	if (!f->nb_pending)
		build(f, due(f));
	if (!f->nb_pending) {
		struct facet_pktbuf *none[1];

		/* Completions are reaped inside tx_burst: keep them flowing when idle. */
		for (uint16_t q = 0; q < p->nb_q; q++)
			facet_eth_tx_burst(p->port, q, none, 0);
		if (f->o.count && f->seq >= f->o.count && drained(f))
			f->done = true;
		return 0;
	}
	sent = fwd_tx_some(p, f->next_q, f->pending, (uint16_t)f->nb_pending);
	f->next_q = (uint16_t)((f->next_q + 1) % p->nb_q);
	f->nb_pending -= sent;
	memmove(f->pending, f->pending + sent, f->nb_pending * sizeof(f->pending[0]));
	return sent;
}

const struct fwd_mode fwd_mode_gen = {
	.name = "gen",
	.nb_ports = 1,
	.init = gen_init,
	.poll = gen_poll,
};
