/* SPDX-License-Identifier: MIT */
/*
 * net_facet: the ethdev ops table and the ops of the port as a whole:
 * information, configure, start, stop, close, link, MAC, MTU and RX modes
 * (see facet_ethdev.h). Queues, RSS, statistics and removal have files of
 * their own.
 */
#include <errno.h>
#include <string.h>

#include <ethdev_driver.h>

#include "facet_ethdev.h"

/* ---- device information ------------------------------------------------------------------ */

/* Ring limits and defaults: any count is taken, rounded up to a power of two. */
static void infos_rings(struct rte_eth_dev_info *di, const struct facet_eth_dev_info *fi)
{
	di->rx_desc_lim = (struct rte_eth_desc_lim){
		.nb_max = fi->rx_desc_max,
		.nb_min = fi->rx_desc_min,
		.nb_align = 1,
	};
	di->tx_desc_lim = (struct rte_eth_desc_lim){
		.nb_max = fi->tx_desc_max,
		.nb_min = fi->tx_desc_min,
		.nb_align = 1,
		.nb_seg_max = fi->max_tx_segs,
		.nb_mtu_seg_max = fi->max_tx_segs,
	};
	di->default_rxportconf = (struct rte_eth_dev_portconf){
		.burst_size = 32,
		.ring_size = facet_pmd_desc_fit(512, fi->rx_desc_min, fi->rx_desc_max),
		.nb_queues = 1,
	};
	di->default_txportconf = (struct rte_eth_dev_portconf){
		.burst_size = 32,
		.ring_size = facet_pmd_desc_fit(512, fi->tx_desc_min, fi->tx_desc_max),
		.nb_queues = 1,
	};
}

/*
 * Frames of any size land in mbuf chains; mbuf chains are sent. The device
 * verifies TCP/UDP checksums on RX and fills them on TX (the field's content
 * is ignored, so no pseudo-header seed and no tx_prepare); it does not check
 * or fill IPv4 header checksums.
 */
static void infos_offloads(struct rte_eth_dev_info *di, const struct facet_eth_dev_info *fi)
{
	di->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_RSS_HASH |
			      RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	di->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
			      RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	di->rx_queue_offload_capa = 0;
	di->tx_queue_offload_capa = 0;
	di->hash_key_size = (uint8_t)RTE_MIN(fi->rss_key_size, UINT8_MAX);
	di->reta_size = fi->reta_size;
	di->flow_type_rss_offloads = facet_pmd_rss_to_rte(fi->rss_hash_types);
}

static int facet_dev_infos_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *di)
{
	struct facet_pmd_internals *in = facet_pmd_priv(dev);
	struct facet_eth_dev_info *fi = &in->info;

	/*
	 * A port whose slice went away keeps answering with what it had: an
	 * application handling the removal asks for it before closing.
	 */
	facet_eth_dev_info_get(in->port, fi);
	di->if_index = 0;
	di->max_mac_addrs = 1;
	di->max_rx_queues = RTE_MIN(fi->max_rx_queues, RTE_MAX_QUEUES_PER_PORT);
	di->max_tx_queues = RTE_MIN(fi->max_tx_queues, RTE_MAX_QUEUES_PER_PORT);
	di->min_mtu = fi->min_mtu;
	di->max_mtu = fi->max_mtu;
	di->max_rx_pktlen = (uint32_t)fi->max_mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	di->min_rx_bufsize = RTE_ETHER_MIN_LEN;
	infos_rings(di, fi);
	infos_offloads(di, fi);
	di->speed_capa = fi->link_speed
				 ? rte_eth_speed_bitflag(fi->link_speed, RTE_ETH_LINK_FULL_DUPLEX)
				 : 0;
	di->dev_capa = 0;
	return 0;
}

/* ---- configure, start, stop, close --------------------------------------------------------- */

static int facet_dev_configure(struct rte_eth_dev *dev)
{
	struct facet_pmd_internals *in = facet_pmd_priv(dev);
	struct rte_eth_dev_data *data = dev->data;
	const struct rte_eth_rss_conf *rss = &data->dev_conf.rx_adv_conf.rss_conf;
	struct facet_eth_conf conf = {
		.nb_rxq = data->nb_rx_queues,
		.nb_txq = data->nb_tx_queues,
	};
	int ret;

	if (data->dev_conf.rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) {
		conf.rss_hash_types = facet_pmd_rss_from_rte(rss->rss_hf);
		if (!conf.rss_hash_types && rss->rss_hf)
			FACET_PMD_LOG(WARNING, "%s: rss_hf 0x%" PRIx64 ": no type supported",
				      data->name, rss->rss_hf);
	}
	ret = facet_eth_configure(in->port, &conf);
	if (ret < 0) {
		FACET_PMD_LOG(ERR, "%s: configure %u rxq %u txq: %s", data->name, conf.nb_rxq,
			      conf.nb_txq, strerror(-ret));
		return ret;
	}
	ret = facet_pmd_queues_restore(dev);
	if (ret == 0)
		ret = facet_eth_mtu_set(in->port, data->mtu);
	return ret < 0 ? ret : facet_pmd_rss_configure(dev);
}

static void queue_states(struct rte_eth_dev *dev, uint8_t state)
{
	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++)
		dev->data->rx_queue_state[q] = state;
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++)
		dev->data->tx_queue_state[q] = state;
}

static int facet_link_update(struct rte_eth_dev *dev, int wait_to_complete)
{
	struct facet_eth_link fl;
	struct rte_eth_link link = {
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
	};
	int ret = facet_eth_link_get(facet_pmd_priv(dev)->port, &fl);

	RTE_SET_USED(wait_to_complete); /* the link is known at once */
	if (ret == 0 && fl.up && !facet_pmd_is_removed(dev)) {
		link.link_status = RTE_ETH_LINK_UP;
		link.link_speed = fl.speed ? fl.speed : RTE_ETH_SPEED_NUM_UNKNOWN;
	}
	rte_eth_linkstatus_set(dev, &link);
	return ret;
}

static int facet_dev_start(struct rte_eth_dev *dev)
{
	struct facet_pmd_internals *in = facet_pmd_priv(dev);
	int ret = facet_pmd_queues_check(dev);

	if (ret < 0)
		return ret;
	/* Every queue of a port is in the port's mode (copy=1 or not). */
	dev->rx_pkt_burst = in->copy ? facet_pmd_rx_burst : facet_pmd_rx_burst_zc;
	dev->tx_pkt_burst = in->copy ? facet_pmd_tx_burst : facet_pmd_tx_burst_zc;
	ret = facet_eth_start(in->port);
	if (ret < 0) {
		FACET_PMD_LOG(ERR, "%s: start: %s", dev->data->name, strerror(-ret));
		return ret;
	}
	queue_states(dev, RTE_ETH_QUEUE_STATE_STARTED);
	facet_link_update(dev, 0);
	return 0;
}

static int facet_dev_stop(struct rte_eth_dev *dev)
{
	/* Returns every posted mbuf to its mempool and frees every unsent one. */
	int ret = facet_eth_stop(facet_pmd_priv(dev)->port);

	queue_states(dev, RTE_ETH_QUEUE_STATE_STOPPED);
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++) {
		struct facet_pmd_txq *txq = dev->data->tx_queues[q];

		if (txq && txq->copied)
			FACET_PMD_LOG(INFO,
				      "%s: tx queue %u copied %" PRIu64
				      " frames (mbufs outside registered memory)",
				      dev->data->name, q, txq->copied);
	}
	return ret;
}

static int facet_dev_close(struct rte_eth_dev *dev)
{
	struct facet_pmd_internals *in = facet_pmd_priv(dev);

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	if (!in->port)
		return 0;
	if (facet_eth_is_started(in->port))
		facet_eth_stop(in->port);
	facet_pmd_queues_release(dev);
	facet_pmd_port_detach(in, dev->data->port_id);
	return 0;
}

/* ---- RX modes, MAC, MTU ------------------------------------------------------------------ */

static int facet_promiscuous_enable(struct rte_eth_dev *dev)
{
	return facet_eth_promiscuous_set(facet_pmd_priv(dev)->port, true);
}

static int facet_promiscuous_disable(struct rte_eth_dev *dev)
{
	return facet_eth_promiscuous_set(facet_pmd_priv(dev)->port, false);
}

static int facet_allmulticast_enable(struct rte_eth_dev *dev)
{
	return facet_eth_allmulticast_set(facet_pmd_priv(dev)->port, true);
}

static int facet_allmulticast_disable(struct rte_eth_dev *dev)
{
	return facet_eth_allmulticast_set(facet_pmd_priv(dev)->port, false);
}

static int facet_mac_addr_set(struct rte_eth_dev *dev, struct rte_ether_addr *addr)
{
	return facet_eth_mac_set(facet_pmd_priv(dev)->port, addr->addr_bytes);
}

static int facet_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	return facet_eth_mtu_set(facet_pmd_priv(dev)->port, mtu);
}

/* ---- the ops table ----------------------------------------------------------------------- */

const struct eth_dev_ops facet_pmd_ops = {
	.dev_configure = facet_dev_configure,
	.dev_start = facet_dev_start,
	.dev_stop = facet_dev_stop,
	.dev_close = facet_dev_close,
	.dev_infos_get = facet_dev_infos_get,
	.link_update = facet_link_update,
	.is_removed = facet_pmd_is_removed,
	.promiscuous_enable = facet_promiscuous_enable,
	.promiscuous_disable = facet_promiscuous_disable,
	.allmulticast_enable = facet_allmulticast_enable,
	.allmulticast_disable = facet_allmulticast_disable,
	.mac_addr_set = facet_mac_addr_set,
	.mtu_set = facet_mtu_set,
	.rx_queue_setup = facet_pmd_rx_queue_setup,
	.rx_queue_release = facet_pmd_rx_queue_release,
	.tx_queue_setup = facet_pmd_tx_queue_setup,
	.tx_queue_release = facet_pmd_tx_queue_release,
	.rss_hash_update = facet_pmd_rss_hash_update,
	.rss_hash_conf_get = facet_pmd_rss_hash_conf_get,
	.reta_update = facet_pmd_reta_update,
	.reta_query = facet_pmd_reta_query,
	.stats_get = facet_pmd_stats_get,
	.stats_reset = facet_pmd_stats_reset,
	.xstats_get = facet_pmd_xstats_get,
	.xstats_get_names = facet_pmd_xstats_get_names,
	.xstats_reset = facet_pmd_xstats_reset,
};
