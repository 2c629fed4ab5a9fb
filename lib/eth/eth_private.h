/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/eth: the port object and how its files share it.
 *
 * eth_port.c    the registry: register, unregister, find, references
 * eth_ctrl.c    control calls: configure, queues, start/stop, MAC, MTU, RSS
 * eth_stats.c   statistics with reset baselines
 * eth_pool.c    packet-buffer pools and buffer helpers
 */
#ifndef ETH_PRIVATE_H
#define ETH_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "facet_eth_driver.h"
#include "facet_log.h"

#define ETH_TAG "eth"

#define ETH_ERR(...)   FACET_ERR(ETH_TAG, __VA_ARGS__)
#define ETH_WARN(...)  FACET_WARN(ETH_TAG, __VA_ARGS__)
#define ETH_INFO(...)  FACET_INFO(ETH_TAG, __VA_ARGS__)
#define ETH_DEBUG(...) FACET_DEBUG(ETH_TAG, __VA_ARGS__)

struct eth_queue_setup {
	uint16_t nb_desc; /* 0: not set up */
	struct facet_pktbuf_pool *pool;
};

struct facet_eth_port {
	struct facet_eth_fp fp; /* first: the inline bursts cast the port to it */

	/* registry (eth_port.c), under the registry lock */
	struct facet_eth_port *next;
	atomic_uint refs;
	char name[FACET_ETH_NAME_MAX];
	struct facet_bus *bus;

	/* everything below: under lock */
	pthread_mutex_t lock;
	bool attached;
	bool started;
	bool configured;
	const struct facet_eth_ops *ops;
	void *priv;
	struct facet_core_dev *dma_dev;
	struct facet_bus_device *dma_owner;
	struct facet_eth_dev_info info;
	struct facet_eth_conf conf;
	struct eth_queue_setup rxq[FACET_ETH_MAX_QUEUES];
	struct eth_queue_setup txq[FACET_ETH_MAX_QUEUES];
	uint16_t mtu;
	bool promisc, allmulti;
	struct facet_eth_rss_conf rss;

	/* eth_stats.c: counters at the last reset */
	struct facet_eth_stats base;
	struct facet_eth_queue_stats rx_base[FACET_ETH_MAX_QUEUES];
	struct facet_eth_queue_stats tx_base[FACET_ETH_MAX_QUEUES];
};

/* eth_port.c */
/* Take the port's lock; -ENODEV (unlocked) if it is detached. */
int eth_port_lock(struct facet_eth_port *port, const char *what);
void eth_port_unlock(struct facet_eth_port *port);
/* Put the "return 0" bursts back on every queue. */
void eth_port_clear_bursts(struct facet_eth_port *port);

/* eth_ctrl.c */
/* Stop a started port (lock held): stubs, ops->stop. */
void eth_port_do_stop(struct facet_eth_port *port);

/* eth_stats.c */
/* Forget the baselines (after configure: new queues count from zero). */
void eth_stats_clear_queue_base(struct facet_eth_port *port);

#endif /* ETH_PRIVATE_H */
