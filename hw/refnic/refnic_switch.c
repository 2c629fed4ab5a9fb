/* SPDX-License-Identifier: MIT */
/*
 * The embedded switch (docs/refnic.md §15.8). Its ports are the Ethernet
 * port of every active function of every device in the system, and the
 * uplink if there is one. It forwards by destination MAC: a function whose
 * MAC matches, broadcast and multicast to every port but the source,
 * unknown unicast to the uplink; promiscuous functions get every frame.
 *
 * It works on bursts: a TX queue visit or an uplink read gives up to
 * REFNIC_BURST frames, each destination is decided once per frame, and
 * each receiving port then takes all its frames in one call (one DMA-lock
 * hold, one status write per RX queue). Nothing here allocates, locks or
 * makes a syscall per frame; the uplink backend makes one per burst.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refnic_priv.h"

int refnic_switch_init(struct refnic_system *sys, const char *uplink)
{
	sys->frame_mem = malloc((size_t)REFNIC_BURST * REFNIC_FRAME_MAX);
	if (!sys->frame_mem)
		return -ENOMEM;
	for (unsigned int i = 0; i < REFNIC_BURST; i++)
		sys->ubufs[i] = sys->frame_mem + (size_t)i * REFNIC_FRAME_MAX;
	if (uplink && strcmp(uplink, "none"))
		return refnic_uplink_open(uplink, &sys->uplink);
	return 0;
}

void refnic_switch_fini(struct refnic_system *sys)
{
	if (sys->uplink)
		refnic_uplink_close(sys->uplink);
	sys->uplink = NULL;
	free(sys->frame_mem);
	sys->frame_mem = NULL;
}

static unsigned int dev_index(const struct refnic_dev *dev)
{
	const struct refnic_system *sys = dev->sys;

	for (unsigned int i = 0; i < sys->ndevs; i++)
		if (sys->devs[i] == dev)
			return i;
	return 0;
}

int refnic_switch_port(const struct refnic_dev *dev, const struct refnic_func *fn)
{
	return REFNIC_PORT(dev_index(dev), fn->idx);
}

/* The port a frame goes to; ports are few, so a scan is as good as a table. */
static int sw_lookup(struct refnic_system *sys, const uint8_t *dmac)
{
	if (dmac[0] & 1)
		return REFNIC_PORT_FLOOD; /* broadcast and multicast */
	for (unsigned int d = 0; d < sys->ndevs; d++) {
		struct refnic_dev *dev = sys->devs[d];

		for (unsigned int f = 0; f < dev->num_funcs; f++)
			if (dev->funcs[f].active && !memcmp(dev->funcs[f].mac, dmac, 6))
				return REFNIC_PORT(d, f);
	}
	return sys->uplink ? REFNIC_PORT_UPLINK : REFNIC_PORT_DROP;
}

static bool goes_to(const struct refnic_frame *f, int port, bool promisc)
{
	return f->src != port && (f->dst == port || f->dst == REFNIC_PORT_FLOOD || promisc);
}

/*
 * What a burst's frames have in common: a burst from one TX queue usually
 * goes to one port (one flow, or a forwarder's peer). Then each function
 * port knows from @dst alone whether it takes all of the burst or none of
 * it, without looking at every frame.
 */
struct sw_summary {
	bool uniform; /* every frame has this src and this dst */
	int src, dst;
};

/* Destinations, one lookup per run of frames to the same MAC. */
static void sw_classify(struct refnic_system *sys, struct refnic_frame *frames, unsigned int n,
			struct sw_summary *sum)
{
	const uint8_t *last = NULL;
	int dst = REFNIC_PORT_DROP;

	sum->uniform = true;
	sum->src = n ? frames[0].src : REFNIC_PORT_DROP;
	for (unsigned int i = 0; i < n; i++) {
		struct refnic_frame *f = &frames[i];

		if (!last || memcmp(f->data, last, 6))
			dst = sw_lookup(sys, f->data);
		last = f->data;
		f->dst = dst;
		f->reached = 0;
		if (i && (f->dst != frames[0].dst || f->src != sum->src))
			sum->uniform = false;
	}
	sum->dst = n ? frames[0].dst : REFNIC_PORT_DROP;
}

/* @fn's share of the burst into @sel; returns its size. */
static unsigned int sw_select(struct refnic_func *fn, int port, struct refnic_frame *frames,
			      unsigned int n, const struct sw_summary *sum,
			      struct refnic_frame **sel)
{
	bool promisc = fn->rx_mode & REFNIC_RXMODE_PROMISC;
	unsigned int m = 0;

	if (sum->uniform && !promisc && sum->dst != REFNIC_PORT_FLOOD &&
	    (sum->dst != port || sum->src == port))
		return 0;
	for (unsigned int i = 0; i < n; i++)
		if (goes_to(&frames[i], port, promisc))
			sel[m++] = &frames[i];
	return m;
}

/* Every function port takes its share of the burst in one delivery. */
static void sw_to_functions(struct refnic_system *sys, struct refnic_frame *frames, unsigned int n,
			    const struct sw_summary *sum)
{
	struct refnic_frame *sel[REFNIC_BURST];

	for (unsigned int d = 0; d < sys->ndevs; d++) {
		struct refnic_dev *dev = sys->devs[d];

		for (unsigned int fi = 0; fi < dev->num_funcs; fi++) {
			struct refnic_func *fn = &dev->funcs[fi];
			unsigned int m;

			if (!fn->active)
				continue;
			m = sw_select(fn, REFNIC_PORT(d, fi), frames, n, sum, sel);
			if (!m)
				continue;
			refnic_rx_deliver(dev, fn, sel, m);
			for (unsigned int i = 0; i < m; i++)
				sel[i]->reached++;
		}
	}
}

static void sw_to_uplink(struct refnic_system *sys, struct refnic_frame *frames, unsigned int n)
{
	const uint8_t *out[REFNIC_BURST];
	uint32_t lens[REFNIC_BURST];
	struct refnic_frame *sel[REFNIC_BURST];
	unsigned int m = 0;
	int sent;

	if (!sys->uplink)
		return;
	for (unsigned int i = 0; i < n; i++) {
		struct refnic_frame *f = &frames[i];

		if (f->src != REFNIC_PORT_UPLINK &&
		    (f->dst == REFNIC_PORT_UPLINK || f->dst == REFNIC_PORT_FLOOD)) {
			refnic_rdma_icrc_fill(f); /* leaving the system: the wire needs it */
			sel[m] = f;
			out[m] = f->data;
			lens[m++] = f->len;
		}
	}
	if (!m)
		return;
	sent = refnic_uplink_tx_burst(sys->uplink, out, lens, m);
	for (int i = 0; i < sent && i < (int)m; i++)
		sel[i]->reached++;
}

/* A unicast frame no port took was refused: the sender's TX drop. */
static void sw_count_drops(struct refnic_frame *frames, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct refnic_frame *f = &frames[i];

		if (f->reached || f->dst == REFNIC_PORT_FLOOD || !f->txfn)
			continue;
		f->txfn->stats.tx_drops++;
		f->txq->stats.drops++;
	}
}

void refnic_switch_forward(struct refnic_system *sys, struct refnic_frame *frames, unsigned int n)
{
	struct sw_summary sum;

	sw_classify(sys, frames, n, &sum);
	sw_to_functions(sys, frames, n, &sum);
	sw_to_uplink(sys, frames, n);
	sw_count_drops(frames, n);
}

/* Worker: one burst from the uplink, switched like any port's. */
unsigned int refnic_switch_poll_uplink(struct refnic_system *sys)
{
	int n;

	if (!sys->uplink)
		return 0;
	n = refnic_uplink_rx_burst(sys->uplink, sys->ubufs, sys->ulens, REFNIC_BURST);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		struct refnic_frame *f = &sys->frames[i];

		memset(f, 0, sizeof(*f));
		f->data = sys->ubufs[i];
		f->len = sys->ulens[i];
		f->src = REFNIC_PORT_UPLINK;
		f->csum_flags = -1;
		refnic_pkt_parse(f->data, f->len, &f->pkt);
	}
	refnic_switch_forward(sys, sys->frames, (unsigned int)n);
	return (unsigned int)n;
}
