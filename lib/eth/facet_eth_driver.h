/* SPDX-License-Identifier: MIT */
/*
 * facet_eth_driver: poll-mode Ethernet ports, driver side.
 *
 * A slice driver registers a port in probe() with facet_eth_port_register()
 * and unregisters it first thing in remove(). The library does the generic
 * part of every call (argument checks, the started/stopped state machine,
 * per-port serialization, remembering MTU, RX mode and RSS, statistics
 * baselines) and calls the driver's struct facet_eth_ops for the device
 * part. Every op runs with the port's lock held and never concurrently with
 * another op of the same port, so a driver needs no locking of its own for
 * what only ops touch.
 *
 * Fast path: in start() the driver installs, for each queue, its burst
 * function and queue context with facet_eth_port_set_rx_burst() /
 * facet_eth_port_set_tx_burst(). The library puts the "return 0" stubs back
 * before it calls stop(), and on unregister.
 */
#ifndef FACET_ETH_DRIVER_H
#define FACET_ETH_DRIVER_H

#include "facet_eth.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a driver implements. @priv is facet_eth_port_info.priv. */
struct facet_eth_ops {
	/** Fill @info (called once at registration and cached). */
	void (*dev_info)(void *priv, struct facet_eth_dev_info *info);
	/**
	 * Prepare for @conf (stopped; counts already checked against dev_info).
	 * Queue setups done before are void: release what they held. May be NULL.
	 */
	int (*configure)(void *priv, const struct facet_eth_conf *conf);
	/** Remember the setup of RX queue @qid (stopped; arguments checked). May be NULL. */
	int (*rx_queue_setup)(void *priv, uint16_t qid, uint16_t nb_desc,
			      struct facet_pktbuf_pool *pool);
	/** Remember the setup of TX queue @qid (stopped; arguments checked). May be NULL. */
	int (*tx_queue_setup)(void *priv, uint16_t qid, uint16_t nb_desc);
	/**
	 * Create every configured queue on the device, post RX buffers and
	 * install the bursts. On failure undo everything and return the error.
	 */
	int (*start)(void *priv, const struct facet_eth_conf *conf);
	/**
	 * Destroy the queues on the device, then free their rings and return
	 * their buffers. The bursts are already stubs. Must not fail, even on a
	 * dead device.
	 */
	void (*stop)(void *priv);
	/** Current link status. */
	int (*link_get)(void *priv, struct facet_eth_link *link);
	/** Read / set the MAC address. */
	int (*mac_get)(void *priv, uint8_t mac[6]);
	int (*mac_set)(void *priv, const uint8_t mac[6]);
	/** Apply the RX mode (promiscuous, all-multicast). */
	int (*rx_mode_set)(void *priv, bool promisc, bool allmulti);
	/** Apply the MTU (range checked). */
	int (*mtu_set)(void *priv, uint16_t mtu);
	/**
	 * Apply RSS (started only; also right after start). @conf is complete:
	 * key, hash types and a table of queue indexes < nb_rxq.
	 */
	int (*rss_set)(void *priv, const struct facet_eth_rss_conf *conf);
	/**
	 * Port counters since registration, monotonic (the library subtracts its
	 * reset baseline).
	 */
	int (*stats_get)(void *priv, struct facet_eth_stats *stats);
	/** Queue counters since configure, monotonic across stop/start. */
	int (*queue_stats_get)(void *priv, bool rx, uint16_t qid,
			       struct facet_eth_queue_stats *stats);
};

/** What a driver says about a new port. */
struct facet_eth_port_info {
	const struct facet_eth_ops *ops;
	void *priv;			    /**< passed back to every op */
	struct facet_core_dev *dma_dev;	    /**< where rings and pools live */
	struct facet_bus_device *dma_owner; /**< bus device holding dma_dev, or NULL */
	uint16_t mtu;			    /**< the device's current MTU */
	struct facet_eth_rss_conf rss;	    /**< default RSS (key, hash types) */
};

/**
 * Register a port for bus device @dev, named after it. Returns 0 and sets
 * *@port, -EEXIST (a port of that name on that bus), -EINVAL, -ENOMEM.
 */
int facet_eth_port_register(struct facet_bus_device *dev, const struct facet_eth_port_info *info,
			    struct facet_eth_port **port);

/**
 * Unregister @port: stop it if started (ops->stop runs), detach it (later
 * calls from the application get -ENODEV, bursts return 0) and drop the
 * registry's reference. When this returns no op is running or will run.
 */
void facet_eth_port_unregister(struct facet_eth_port *port);

/** Install the burst of RX queue @qid (from start()). */
void facet_eth_port_set_rx_burst(struct facet_eth_port *port, uint16_t qid,
				 facet_eth_burst_fn burst, void *queue);

/** Install the burst of TX queue @qid (from start()). */
void facet_eth_port_set_tx_burst(struct facet_eth_port *port, uint16_t qid,
				 facet_eth_burst_fn burst, void *queue);

#ifdef __cplusplus
}
#endif

#endif /* FACET_ETH_DRIVER_H */
