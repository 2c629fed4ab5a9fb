/* SPDX-License-Identifier: MIT */
/*
 * Control calls: the generic half of configure, queue setup, start/stop,
 * link, MAC, RX mode, MTU and RSS. Each takes the port's lock, checks that
 * the port is attached and the arguments sane, then calls the driver.
 */
#include <errno.h>
#include <string.h>

#include "eth_private.h"

static bool is_pow2(unsigned int v)
{
	return v && !(v & (v - 1));
}

int facet_eth_dev_info_get(struct facet_eth_port *port, struct facet_eth_dev_info *info)
{
	int ret = eth_port_lock(port, "dev_info");

	if (ret < 0)
		return ret;
	*info = port->info;
	eth_port_unlock(port);
	return 0;
}

int facet_eth_queue_count(struct facet_eth_port *port, uint16_t *nb_rxq, uint16_t *nb_txq)
{
	int ret = eth_port_lock(port, "queue_count");

	if (ret < 0)
		return ret;
	*nb_rxq = port->configured ? port->conf.nb_rxq : 0;
	*nb_txq = port->configured ? port->conf.nb_txq : 0;
	eth_port_unlock(port);
	return 0;
}

/* A default table spreading over every RX queue. */
static void rss_default_reta(struct facet_eth_port *port)
{
	struct facet_eth_rss_conf *rss = &port->rss;

	rss->reta_size = port->info.reta_size;
	for (unsigned int i = 0; i < rss->reta_size; i++)
		rss->reta[i] = (uint16_t)(i % port->conf.nb_rxq);
}

static int check_conf(struct facet_eth_port *port, const struct facet_eth_conf *conf)
{
	const struct facet_eth_dev_info *info = &port->info;

	if (conf->nb_rxq < 1 || conf->nb_rxq > info->max_rx_queues || conf->nb_txq < 1 ||
	    conf->nb_txq > info->max_tx_queues) {
		ETH_ERR("%s: configure: %u RX / %u TX queues, the port has 1..%u / 1..%u",
			port->name, conf->nb_rxq, conf->nb_txq, info->max_rx_queues,
			info->max_tx_queues);
		return -EINVAL;
	}
	if (conf->rss_hash_types & ~info->rss_hash_types) {
		ETH_ERR("%s: configure: RSS hash types 0x%x not supported (0x%x)", port->name,
			conf->rss_hash_types, info->rss_hash_types);
		return -EINVAL;
	}
	return 0;
}

int facet_eth_configure(struct facet_eth_port *port, const struct facet_eth_conf *conf)
{
	int ret = eth_port_lock(port, "configure");

	if (ret < 0)
		return ret;
	if (port->started) {
		ETH_ERR("%s: configure: port is started", port->name);
		ret = -EBUSY;
	}
	if (ret == 0)
		ret = check_conf(port, conf);
	if (ret == 0 && port->ops->configure)
		ret = port->ops->configure(port->priv, conf);
	if (ret == 0) {
		port->conf = *conf;
		port->configured = true;
		memset(port->rxq, 0, sizeof(port->rxq));
		memset(port->txq, 0, sizeof(port->txq));
		/* One queue: RSS off. More: spread over all of them. */
		port->rss.hash_types = conf->nb_rxq > 1
					       ? (conf->rss_hash_types ? conf->rss_hash_types
								       : port->info.rss_hash_types)
					       : 0;
		rss_default_reta(port);
		eth_stats_clear_queue_base(port);
	}
	eth_port_unlock(port);
	return ret;
}

static int check_queue(struct facet_eth_port *port, const char *what, uint16_t qid,
		       uint16_t nb_queues, uint16_t nb_desc, uint16_t min, uint16_t max)
{
	if (!port->configured || port->started) {
		ETH_ERR("%s: %s: port %s", port->name, what,
			port->started ? "is started" : "not configured");
		return -EBUSY;
	}
	if (qid >= nb_queues) {
		ETH_ERR("%s: %s: queue %u, the port has %u", port->name, what, qid, nb_queues);
		return -EINVAL;
	}
	if (!is_pow2(nb_desc) || nb_desc < min || nb_desc > max) {
		ETH_ERR("%s: %s: %u descriptors, need a power of two in %u..%u", port->name, what,
			nb_desc, min, max);
		return -EINVAL;
	}
	return 0;
}

int facet_eth_rx_queue_setup(struct facet_eth_port *port, uint16_t qid, uint16_t nb_desc,
			     struct facet_pktbuf_pool *pool)
{
	int ret = eth_port_lock(port, "rx_queue_setup");

	if (ret < 0)
		return ret;
	ret = check_queue(port, "rx_queue_setup", qid, port->conf.nb_rxq, nb_desc,
			  port->info.rx_desc_min, port->info.rx_desc_max);
	if (ret == 0 && !pool) {
		ETH_ERR("%s: rx_queue_setup: queue %u needs a pool", port->name, qid);
		ret = -EINVAL;
	}
	if (ret == 0 && port->ops->rx_queue_setup)
		ret = port->ops->rx_queue_setup(port->priv, qid, nb_desc, pool);
	if (ret == 0)
		port->rxq[qid] = (struct eth_queue_setup){ .nb_desc = nb_desc, .pool = pool };
	eth_port_unlock(port);
	return ret;
}

int facet_eth_tx_queue_setup(struct facet_eth_port *port, uint16_t qid, uint16_t nb_desc)
{
	int ret = eth_port_lock(port, "tx_queue_setup");

	if (ret < 0)
		return ret;
	ret = check_queue(port, "tx_queue_setup", qid, port->conf.nb_txq, nb_desc,
			  port->info.tx_desc_min, port->info.tx_desc_max);
	if (ret == 0 && port->ops->tx_queue_setup)
		ret = port->ops->tx_queue_setup(port->priv, qid, nb_desc);
	if (ret == 0)
		port->txq[qid] = (struct eth_queue_setup){ .nb_desc = nb_desc };
	eth_port_unlock(port);
	return ret;
}

static int check_setup(struct facet_eth_port *port)
{
	if (!port->configured) {
		ETH_ERR("%s: start: port not configured", port->name);
		return -EINVAL;
	}
	for (uint16_t q = 0; q < port->conf.nb_rxq; q++) {
		if (!port->rxq[q].nb_desc) {
			ETH_ERR("%s: start: RX queue %u not set up", port->name, q);
			return -EINVAL;
		}
	}
	for (uint16_t q = 0; q < port->conf.nb_txq; q++) {
		if (!port->txq[q].nb_desc) {
			ETH_ERR("%s: start: TX queue %u not set up", port->name, q);
			return -EINVAL;
		}
	}
	return 0;
}

int facet_eth_start(struct facet_eth_port *port)
{
	int ret = eth_port_lock(port, "start");

	if (ret < 0)
		return ret;
	if (port->started)
		ret = -EALREADY;
	if (ret == 0)
		ret = check_setup(port);
	if (ret == 0)
		ret = port->ops->start(port->priv, &port->conf);
	/* Always: even one queue needs the device's table to name it. */
	if (ret == 0) {
		ret = port->ops->rss_set(port->priv, &port->rss);
		if (ret < 0) {
			eth_port_clear_bursts(port);
			port->ops->stop(port->priv);
		}
	}
	if (ret == 0) {
		port->started = true;
		ETH_INFO("%s: started, %u RX / %u TX queues", port->name, port->conf.nb_rxq,
			 port->conf.nb_txq);
	} else {
		eth_port_clear_bursts(port);
	}
	eth_port_unlock(port);
	return ret;
}

void eth_port_do_stop(struct facet_eth_port *port)
{
	eth_port_clear_bursts(port);
	port->ops->stop(port->priv);
	port->started = false;
	ETH_INFO("%s: stopped", port->name);
}

int facet_eth_stop(struct facet_eth_port *port)
{
	int ret = eth_port_lock(port, "stop");

	if (ret < 0)
		return ret;
	if (port->started)
		eth_port_do_stop(port);
	eth_port_unlock(port);
	return 0;
}

bool facet_eth_is_started(struct facet_eth_port *port)
{
	bool started = false;

	if (eth_port_lock(port, "is_started") == 0) {
		started = port->started;
		eth_port_unlock(port);
	}
	return started;
}

int facet_eth_link_get(struct facet_eth_port *port, struct facet_eth_link *link)
{
	int ret = eth_port_lock(port, "link_get");

	if (ret < 0)
		return ret;
	ret = port->ops->link_get(port->priv, link);
	eth_port_unlock(port);
	return ret;
}

int facet_eth_mac_get(struct facet_eth_port *port, uint8_t mac[6])
{
	int ret = eth_port_lock(port, "mac_get");

	if (ret < 0)
		return ret;
	ret = port->ops->mac_get(port->priv, mac);
	eth_port_unlock(port);
	return ret;
}

int facet_eth_mac_set(struct facet_eth_port *port, const uint8_t mac[6])
{
	static const uint8_t zero[6];
	int ret = eth_port_lock(port, "mac_set");

	if (ret < 0)
		return ret;
	if ((mac[0] & 1) || memcmp(mac, zero, 6) == 0) {
		ETH_ERR("%s: mac_set: %02x:%02x:%02x:%02x:%02x:%02x is not a unicast address",
			port->name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		ret = -EINVAL;
	}
	if (ret == 0)
		ret = port->ops->mac_set(port->priv, mac);
	eth_port_unlock(port);
	return ret;
}

static int rx_mode_set(struct facet_eth_port *port, const char *what, bool promisc, bool allmulti)
{
	int ret = port->ops->rx_mode_set(port->priv, promisc, allmulti);

	if (ret == 0) {
		port->promisc = promisc;
		port->allmulti = allmulti;
	} else {
		ETH_ERR("%s: %s: %s", port->name, what, strerror(-ret));
	}
	return ret;
}

int facet_eth_promiscuous_set(struct facet_eth_port *port, bool on)
{
	int ret = eth_port_lock(port, "promiscuous_set");

	if (ret < 0)
		return ret;
	ret = rx_mode_set(port, "promiscuous_set", on, port->allmulti);
	eth_port_unlock(port);
	return ret;
}

int facet_eth_allmulticast_set(struct facet_eth_port *port, bool on)
{
	int ret = eth_port_lock(port, "allmulticast_set");

	if (ret < 0)
		return ret;
	ret = rx_mode_set(port, "allmulticast_set", port->promisc, on);
	eth_port_unlock(port);
	return ret;
}

int facet_eth_promiscuous_get(struct facet_eth_port *port)
{
	int ret = eth_port_lock(port, "promiscuous_get");

	if (ret < 0)
		return ret;
	ret = port->promisc;
	eth_port_unlock(port);
	return ret;
}

int facet_eth_allmulticast_get(struct facet_eth_port *port)
{
	int ret = eth_port_lock(port, "allmulticast_get");

	if (ret < 0)
		return ret;
	ret = port->allmulti;
	eth_port_unlock(port);
	return ret;
}

int facet_eth_mtu_set(struct facet_eth_port *port, uint16_t mtu)
{
	int ret = eth_port_lock(port, "mtu_set");

	if (ret < 0)
		return ret;
	if (mtu < port->info.min_mtu || mtu > port->info.max_mtu) {
		ETH_ERR("%s: mtu_set: %u outside %u..%u", port->name, mtu, port->info.min_mtu,
			port->info.max_mtu);
		ret = -EINVAL;
	}
	if (ret == 0)
		ret = port->ops->mtu_set(port->priv, mtu);
	if (ret == 0)
		port->mtu = mtu;
	eth_port_unlock(port);
	return ret;
}

int facet_eth_mtu_get(struct facet_eth_port *port, uint16_t *mtu)
{
	int ret = eth_port_lock(port, "mtu_get");

	if (ret < 0)
		return ret;
	*mtu = port->mtu;
	eth_port_unlock(port);
	return 0;
}

/* Merge @conf into @out (keeping key or table when they are not given) and check it. */
static int rss_merge(struct facet_eth_port *port, const struct facet_eth_rss_conf *conf,
		     struct facet_eth_rss_conf *out)
{
	uint16_t nb_rxq = port->configured ? port->conf.nb_rxq : 1;

	*out = port->rss;
	if (conf->key_len && conf->key_len != port->info.rss_key_size) {
		ETH_ERR("%s: rss_set: key of %u bytes, the port takes %u", port->name,
			conf->key_len, port->info.rss_key_size);
		return -EINVAL;
	}
	if (conf->hash_types & ~port->info.rss_hash_types) {
		ETH_ERR("%s: rss_set: hash types 0x%x not supported", port->name, conf->hash_types);
		return -EINVAL;
	}
	if (conf->reta_size &&
	    (!is_pow2(conf->reta_size) || conf->reta_size > port->info.reta_size)) {
		ETH_ERR("%s: rss_set: table of %u entries, need a power of two <= %u", port->name,
			conf->reta_size, port->info.reta_size);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < conf->reta_size; i++) {
		if (conf->reta[i] >= nb_rxq) {
			ETH_ERR("%s: rss_set: table entry %u names queue %u of %u", port->name, i,
				conf->reta[i], nb_rxq);
			return -EINVAL;
		}
	}
	if (conf->key_len) {
		memcpy(out->key, conf->key, conf->key_len);
		out->key_len = conf->key_len;
	}
	out->hash_types = conf->hash_types;
	if (conf->reta_size) {
		out->reta_size = conf->reta_size;
		memcpy(out->reta, conf->reta, conf->reta_size * sizeof(conf->reta[0]));
	}
	return 0;
}

int facet_eth_rss_set(struct facet_eth_port *port, const struct facet_eth_rss_conf *conf)
{
	struct facet_eth_rss_conf merged;
	int ret = eth_port_lock(port, "rss_set");

	if (ret < 0)
		return ret;
	ret = rss_merge(port, conf, &merged);
	if (ret == 0 && port->started)
		ret = port->ops->rss_set(port->priv, &merged);
	if (ret == 0)
		port->rss = merged;
	eth_port_unlock(port);
	return ret;
}

int facet_eth_rss_get(struct facet_eth_port *port, struct facet_eth_rss_conf *conf)
{
	int ret = eth_port_lock(port, "rss_get");

	if (ret < 0)
		return ret;
	*conf = port->rss;
	eth_port_unlock(port);
	return 0;
}
