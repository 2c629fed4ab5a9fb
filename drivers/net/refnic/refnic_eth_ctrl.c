/* SPDX-License-Identifier: MIT */
/*
 * The facet_eth port ops of refnic: the device side of dev info, link, MAC,
 * RX mode, MTU, RSS and statistics. lib/eth serializes them per port, so
 * the command data buffer (eth->cmd_buf) needs no lock of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "facet_core.h"
#include "refnic_eth.h"

static uint16_t desc_limit(unsigned int log)
{
	return log >= 15 ? 32768 : (uint16_t)(1u << log);
}

static void rfe_dev_info(void *priv, struct facet_eth_dev_info *info)
{
	struct rfe_eth *eth = priv;
	const struct refnic_caps *caps = eth->ops->caps(eth->slice);
	const struct refnic_caps_queue *rx = &caps->queues[REFNIC_QT_RX];
	const struct refnic_caps_queue *tx = &caps->queues[REFNIC_QT_TX];

	memset(info, 0, sizeof(*info));
	snprintf(info->driver, sizeof(info->driver), "refnic_eth");
	info->max_rx_queues =
		rx->max_per_func < FACET_ETH_MAX_QUEUES ? rx->max_per_func : FACET_ETH_MAX_QUEUES;
	info->max_tx_queues =
		tx->max_per_func < FACET_ETH_MAX_QUEUES ? tx->max_per_func : FACET_ETH_MAX_QUEUES;
	info->rx_desc_min = desc_limit(rx->log_min);
	info->rx_desc_max = desc_limit(rx->log_max);
	info->tx_desc_min = desc_limit(tx->log_min);
	info->tx_desc_max = desc_limit(tx->log_max);
	info->max_tx_segs = REFNIC_TX_MAX_SEGS;
	info->min_mtu = RFE_MIN_MTU;
	info->max_mtu = caps->max_mtu;
	info->rss_key_size = REFNIC_RSS_KEY_SIZE;
	info->reta_size = REFNIC_RSS_RETA_MAX;
	info->rss_hash_types = FACET_ETH_RSS_ALL;
	info->link_speed = caps->link_speed;
}

static int rfe_link_get(void *priv, struct facet_eth_link *link)
{
	struct rfe_eth *eth = priv;
	uint64_t state = eth->ops->link_state(eth->slice);

	link->up = state & REFNIC_LINK_UP;
	link->speed = link->up ? REFNIC_LINK_SPEED(state) : 0;
	return 0;
}

static int rfe_mac_get(void *priv, uint8_t mac[6])
{
	struct rfe_eth *eth = priv;
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_QUERY_MAC };
	uint64_t result;
	int ret = rfe_admin(eth, &sqe, &result, "QUERY_MAC");

	for (int i = 0; ret == 0 && i < 6; i++)
		mac[i] = REFNIC_MAC_RESULT_BYTE(result, i);
	return ret;
}

static int rfe_mac_set(void *priv, const uint8_t mac[6])
{
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_SET_MAC };

	memcpy(sqe.set_mac.mac, mac, 6);
	return rfe_admin(priv, &sqe, NULL, "SET_MAC");
}

static int rfe_rx_mode_set(void *priv, bool promisc, bool allmulti)
{
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_SET_RX_MODE };

	sqe.set_rx_mode.flags =
		(promisc ? REFNIC_RXMODE_PROMISC : 0) | (allmulti ? REFNIC_RXMODE_ALLMULTI : 0);
	return rfe_admin(priv, &sqe, NULL, "SET_RX_MODE");
}

static int rfe_mtu_set(void *priv, uint16_t mtu)
{
	struct rfe_eth *eth = priv;
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_SET_MTU, .set_mtu = { .mtu = mtu } };
	int ret = rfe_admin(eth, &sqe, NULL, "SET_MTU");

	if (ret == 0)
		atomic_store(&eth->max_frame, mtu + RFE_ETH_OVERHEAD);
	return ret;
}

/* The table names device queue ids; lib/eth checked the indexes. */
static int rfe_rss_set(void *priv, const struct facet_eth_rss_conf *conf)
{
	struct rfe_eth *eth = priv;
	struct refnic_rss_config *rss = facet_core_dma_va(eth->cmd_buf);
	struct refnic_sqe sqe = {
		.opcode = REFNIC_OP_SET_RSS,
		.data_iova = facet_core_dma_iova(eth->cmd_buf),
		.data_len = sizeof(*rss),
	};

	memset(rss, 0, sizeof(*rss));
	memcpy(rss->key, conf->key, REFNIC_RSS_KEY_SIZE);
	rss->hash_types = conf->hash_types; /* FACET_ETH_RSS_* are the device's bits */
	rss->reta_size = conf->reta_size;
	for (unsigned int i = 0; i < conf->reta_size; i++)
		rss->reta[i] = (uint16_t)eth->rxq[conf->reta[i]]->hw.hw_qid;
	return rfe_admin(eth, &sqe, NULL, "SET_RSS");
}
static_assert(FACET_ETH_RSS_UDP_IPV6 == REFNIC_RSS_UDP_IPV6 &&
		      FACET_ETH_RSS_IPV4 == REFNIC_RSS_IPV4,
	      "facet_eth RSS bits are refnic's");

static int query_func_stats(struct rfe_eth *eth, struct refnic_func_stats *out)
{
	uint16_t fn = eth->ops->function(eth->slice);
	struct refnic_sqe sqe = {
		.opcode = REFNIC_OP_QUERY_STATS,
		.data_iova = facet_core_dma_iova(eth->cmd_buf),
		.data_len = (uint32_t)REFNIC_STATS_SIZE(fn + 1u),
	};
	int ret = rfe_admin(eth, &sqe, NULL, "QUERY_STATS");

	if (ret == 0)
		memcpy(out, (uint8_t *)facet_core_dma_va(eth->cmd_buf) + REFNIC_STATS_SIZE(fn),
		       sizeof(*out));
	return ret;
}

static int rfe_stats_get(void *priv, struct facet_eth_stats *stats)
{
	struct rfe_eth *eth = priv;
	struct refnic_func_stats fs;
	int ret = query_func_stats(eth, &fs);

	if (ret < 0)
		return ret;
	stats->ipackets = fs.rx_packets;
	stats->ibytes = fs.rx_bytes;
	stats->opackets = fs.tx_packets;
	stats->obytes = fs.tx_bytes;
	stats->imissed = fs.rx_drops;
	stats->oerrors = fs.tx_drops;
	stats->queue_errors = atomic_load(&eth->queue_errors);
	for (uint16_t q = 0; q < FACET_ETH_MAX_QUEUES; q++) {
		if (eth->rxq[q])
			stats->rx_nombuf += eth->rxq[q]->nombuf;
		if (eth->txq[q])
			stats->oerrors += eth->txq[q]->sw_drops;
	}
	return 0;
}

static int rfe_queue_stats_get(void *priv, bool rx, uint16_t qid,
			       struct facet_eth_queue_stats *stats)
{
	struct rfe_eth *eth = priv;
	struct refnic_queue_stats s = { 0 }, live = { 0 };
	struct rfe_hwq *hw = rfe_hwq(eth, rx, qid);
	int ret = 0;

	if (hw) {
		s = hw->retired;
		stats->failed = atomic_load(&hw->hw_error) != REFNIC_QERR_NONE;
	}
	if (!rx && eth->txq[qid])
		s.drops += eth->txq[qid]->sw_drops;
	if (hw && hw->created)
		ret = rfe_query_queue_stats(eth, hw->type, hw->hw_qid, &live);
	if (ret < 0)
		return ret;
	stats->packets = s.packets + live.packets;
	stats->bytes = s.bytes + live.bytes;
	stats->drops = s.drops + live.drops;
	stats->errors = s.errors + live.errors;
	return 0;
}

const struct facet_eth_ops rfe_eth_ops = {
	.dev_info = rfe_dev_info,
	.configure = rfe_configure,
	.rx_queue_setup = rfe_rx_queue_setup,
	.tx_queue_setup = rfe_tx_queue_setup,
	.start = rfe_start,
	.stop = rfe_stop,
	.link_get = rfe_link_get,
	.mac_get = rfe_mac_get,
	.mac_set = rfe_mac_set,
	.rx_mode_set = rfe_rx_mode_set,
	.mtu_set = rfe_mtu_set,
	.rss_set = rfe_rss_set,
	.stats_get = rfe_stats_get,
	.queue_stats_get = rfe_queue_stats_get,
};
