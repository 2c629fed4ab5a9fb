/* SPDX-License-Identifier: MIT */
/*
 * net_facet: basic and extended statistics, read from facet_eth (see
 * facet_ethdev.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ethdev_driver.h>

#include "facet_ethdev.h"

/* ---- basic statistics ------------------------------------------------------------------- */

/* The per-queue counters of ethdev's basic statistics (the first RTE_ETHDEV_QUEUE_STAT_CNTRS). */
static void queue_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *stats)
{
	struct facet_eth_port *port = facet_pmd_priv(dev)->port;
	struct facet_eth_queue_stats qs;

	for (uint16_t q = 0; q < RTE_MIN(dev->data->nb_rx_queues, RTE_ETHDEV_QUEUE_STAT_CNTRS);
	     q++) {
		if (facet_eth_queue_stats_get(port, true, q, &qs) == 0) {
			stats->q_ipackets[q] = qs.packets;
			stats->q_ibytes[q] = qs.bytes;
			stats->q_errors[q] = qs.errors;
		}
	}
	for (uint16_t q = 0; q < RTE_MIN(dev->data->nb_tx_queues, RTE_ETHDEV_QUEUE_STAT_CNTRS);
	     q++) {
		if (facet_eth_queue_stats_get(port, false, q, &qs) == 0) {
			stats->q_opackets[q] = qs.packets;
			stats->q_obytes[q] = qs.bytes;
		}
	}
}

int facet_pmd_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *stats)
{
	struct facet_eth_stats st;
	int ret;

	/* Polled by monitoring loops: no driver error log per call once removed. */
	if (facet_pmd_is_removed(dev))
		return -EIO;
	ret = facet_eth_stats_get(facet_pmd_priv(dev)->port, &st);
	if (ret < 0)
		return ret;
	stats->ipackets = st.ipackets;
	stats->ibytes = st.ibytes;
	stats->opackets = st.opackets;
	stats->obytes = st.obytes;
	stats->imissed = st.imissed;
	stats->ierrors = st.ierrors;
	stats->oerrors = st.oerrors;
	stats->rx_nombuf = st.rx_nombuf + dev->data->rx_mbuf_alloc_failed;
	queue_stats_get(dev, stats);
	return 0;
}

int facet_pmd_stats_reset(struct rte_eth_dev *dev)
{
	return facet_eth_stats_reset(facet_pmd_priv(dev)->port);
}

/* ---- extended statistics ------------------------------------------------------------- */

/*
 * ethdev lists the basic counters (rx_good_packets, rx_missed_errors, ...)
 * itself; the driver adds the device counters those lack and every queue's
 * (rx_q0_packets, rx_q0_drops, ...), read from facet_eth in one pass.
 */
struct facet_xstat {
	const char *name;
	size_t off; /**< of the uint64_t counter in facet_eth's statistics */
};

static const struct facet_xstat facet_xstats_dev[] = {
	{ "rx_refill_no_buffer", offsetof(struct facet_eth_stats, rx_nombuf) },
	{ "queue_errors", offsetof(struct facet_eth_stats, queue_errors) },
};

static const struct facet_xstat facet_xstats_queue[] = {
	{ "packets", offsetof(struct facet_eth_queue_stats, packets) },
	{ "bytes", offsetof(struct facet_eth_queue_stats, bytes) },
	{ "drops", offsetof(struct facet_eth_queue_stats, drops) },
	{ "errors", offsetof(struct facet_eth_queue_stats, errors) },
};

#define XSTATS_PER_QUEUE RTE_DIM(facet_xstats_queue)

/* Queues listed in the xstats: the RX ones first, then the TX ones. */
static uint16_t nb_queues(const struct rte_eth_dev *dev, bool rx)
{
	return rx ? dev->data->nb_rx_queues : dev->data->nb_tx_queues;
}

static unsigned int xstats_count(const struct rte_eth_dev *dev)
{
	return RTE_DIM(facet_xstats_dev) +
	       XSTATS_PER_QUEUE * (nb_queues(dev, true) + nb_queues(dev, false));
}

int facet_pmd_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
			       unsigned int size)
{
	unsigned int n = 0;

	if (!names || size < xstats_count(dev))
		return (int)xstats_count(dev);
	for (unsigned int i = 0; i < RTE_DIM(facet_xstats_dev); i++)
		snprintf(names[n++].name, sizeof(names[0].name), "%s", facet_xstats_dev[i].name);
	for (int rx = 1; rx >= 0; rx--) {
		for (uint16_t q = 0; q < nb_queues(dev, rx); q++) {
			for (unsigned int i = 0; i < XSTATS_PER_QUEUE; i++)
				snprintf(names[n++].name, sizeof(names[0].name), "%s_q%u_%s",
					 rx ? "rx" : "tx", q, facet_xstats_queue[i].name);
		}
	}
	return (int)n;
}

static uint64_t counter(const void *stats, size_t off)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)stats + off, sizeof(v));
	return v;
}

/* Append the counters of @table read from @stats to @xs, from index *@n on. */
static void xstats_fill(struct rte_eth_xstat *xs, unsigned int *n, const struct facet_xstat *table,
			unsigned int count, const void *stats)
{
	for (unsigned int i = 0; i < count; i++, (*n)++)
		xs[*n] = (struct rte_eth_xstat){ *n, counter(stats, table[i].off) };
}

int facet_pmd_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int size)
{
	struct facet_eth_port *port = facet_pmd_priv(dev)->port;
	struct facet_eth_stats st;
	struct facet_eth_queue_stats qs;
	unsigned int n = 0;
	int ret;

	if (!xs || size < xstats_count(dev))
		return (int)xstats_count(dev);
	if (facet_pmd_is_removed(dev))
		return -EIO;
	ret = facet_eth_stats_get(port, &st);
	if (ret < 0)
		return ret;
	xstats_fill(xs, &n, facet_xstats_dev, RTE_DIM(facet_xstats_dev), &st);
	for (int rx = 1; rx >= 0; rx--) {
		for (uint16_t q = 0; q < nb_queues(dev, rx); q++) {
			ret = facet_eth_queue_stats_get(port, rx, q, &qs);
			if (ret < 0)
				return ret;
			xstats_fill(xs, &n, facet_xstats_queue, XSTATS_PER_QUEUE, &qs);
		}
	}
	return (int)n;
}

/* ethdev calls this instead of stats_reset, so it does all of stats_reset's work. */
int facet_pmd_xstats_reset(struct rte_eth_dev *dev)
{
	int ret = facet_pmd_stats_reset(dev);

	if (ret == 0)
		dev->data->rx_mbuf_alloc_failed = 0;
	return ret;
}
