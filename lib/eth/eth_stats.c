/* SPDX-License-Identifier: MIT */
/*
 * Statistics. Drivers report monotonic counters; a reset here only takes a
 * baseline that later reads subtract. The device's counters are never
 * cleared, so resetting one port does not disturb another function's
 * counters or a second reader.
 */
#include <errno.h>
#include <string.h>

#include "eth_private.h"

static void sub_stats(struct facet_eth_stats *s, const struct facet_eth_stats *b)
{
	s->ipackets -= b->ipackets;
	s->ibytes -= b->ibytes;
	s->opackets -= b->opackets;
	s->obytes -= b->obytes;
	s->imissed -= b->imissed;
	s->oerrors -= b->oerrors;
	s->ierrors -= b->ierrors;
	s->rx_nombuf -= b->rx_nombuf;
	s->queue_errors -= b->queue_errors;
}

static void sub_queue_stats(struct facet_eth_queue_stats *s, const struct facet_eth_queue_stats *b)
{
	s->packets -= b->packets;
	s->bytes -= b->bytes;
	s->drops -= b->drops;
	s->errors -= b->errors;
}

void eth_stats_clear_queue_base(struct facet_eth_port *port)
{
	memset(port->rx_base, 0, sizeof(port->rx_base));
	memset(port->tx_base, 0, sizeof(port->tx_base));
}

int facet_eth_stats_get(struct facet_eth_port *port, struct facet_eth_stats *stats)
{
	int ret = eth_port_lock(port, "stats_get");

	if (ret < 0)
		return ret;
	memset(stats, 0, sizeof(*stats));
	ret = port->ops->stats_get(port->priv, stats);
	if (ret == 0)
		sub_stats(stats, &port->base);
	eth_port_unlock(port);
	return ret;
}

int facet_eth_queue_stats_get(struct facet_eth_port *port, bool rx, uint16_t qid,
			      struct facet_eth_queue_stats *stats)
{
	int ret = eth_port_lock(port, "queue_stats_get");
	uint16_t nb;

	if (ret < 0)
		return ret;
	nb = port->configured ? (rx ? port->conf.nb_rxq : port->conf.nb_txq) : 0;
	if (qid >= nb) {
		ETH_ERR("%s: queue_stats_get: no %s queue %u", port->name, rx ? "RX" : "TX", qid);
		ret = -EINVAL;
	}
	if (ret == 0) {
		memset(stats, 0, sizeof(*stats));
		ret = port->ops->queue_stats_get(port->priv, rx, qid, stats);
	}
	if (ret == 0)
		sub_queue_stats(stats, rx ? &port->rx_base[qid] : &port->tx_base[qid]);
	eth_port_unlock(port);
	return ret;
}

static int take_queue_base(struct facet_eth_port *port)
{
	int ret = 0;

	for (uint16_t q = 0; ret == 0 && q < port->conf.nb_rxq; q++) {
		memset(&port->rx_base[q], 0, sizeof(port->rx_base[q]));
		ret = port->ops->queue_stats_get(port->priv, true, q, &port->rx_base[q]);
	}
	for (uint16_t q = 0; ret == 0 && q < port->conf.nb_txq; q++) {
		memset(&port->tx_base[q], 0, sizeof(port->tx_base[q]));
		ret = port->ops->queue_stats_get(port->priv, false, q, &port->tx_base[q]);
	}
	return ret;
}

int facet_eth_stats_reset(struct facet_eth_port *port)
{
	struct facet_eth_stats base = { 0 };
	int ret = eth_port_lock(port, "stats_reset");

	if (ret < 0)
		return ret;
	ret = port->ops->stats_get(port->priv, &base);
	if (ret == 0)
		port->base = base;
	if (ret == 0 && port->configured)
		ret = take_queue_base(port);
	if (ret < 0)
		ETH_ERR("%s: stats_reset: %s", port->name, strerror(-ret));
	eth_port_unlock(port);
	return ret;
}
