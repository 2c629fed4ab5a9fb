/* SPDX-License-Identifier: MIT */
/*
 * facet_eth: poll-mode Ethernet ports, application side (what rte_ethdev is
 * to DPDK).
 *
 * A slice driver (drivers/net/refnic) registers one port per Ethernet slice
 * it binds, named after the bus device ("refnic.eth.0"), and unregisters it
 * when unbound. An application finds a port by that name, configures it,
 * sets up queues with packet-buffer pools, starts it and moves packets with
 * facet_eth_rx_burst() / facet_eth_tx_burst(). It never links against the
 * driver plugin: the port carries the driver's operations.
 *
 * Typical use:
 *
 *   port = facet_eth_port_get(bus, "refnic.eth.0");
 *   facet_eth_configure(port, &(struct facet_eth_conf){ .nb_rxq = 2, .nb_txq = 2 });
 *   facet_pktbuf_pool_create(facet_eth_port_dma_dev(port), facet_eth_port_dma_owner(port),
 *                            &opts, &pool);
 *   facet_eth_rx_queue_setup(port, q, 512, pool);  facet_eth_tx_queue_setup(port, q, 512);
 *   facet_eth_start(port);
 *   for (;;) { n = facet_eth_rx_burst(port, 0, bufs, 32); ... facet_eth_tx_burst(...); }
 *   facet_eth_stop(port); facet_eth_port_put(port); facet_pktbuf_pool_free(pool);
 *
 * Threading: control functions (everything but the bursts) are thread-safe
 * and serialized per port. The bursts take no lock: one queue is polled by
 * one thread at a time, and different queues by any threads. A port can go
 * away under the application (its slice is unbound): control functions then
 * return -ENODEV and bursts return 0, but a burst must not be *running* on
 * the port while the slice is unbound, so stop polling first (the thread
 * that unbinds is usually the one that polls).
 *
 * Errors are negative errno values with a log line (tag "eth").
 */
#ifndef FACET_ETH_H
#define FACET_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facet_pktbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct facet_bus;
struct facet_bus_device;
struct facet_core_dev;
struct facet_eth_port;

/** Queues per direction a port can have at most. */
#define FACET_ETH_MAX_QUEUES   64
/** Largest RSS key and redirection table. */
#define FACET_ETH_RSS_KEY_MAX  64
#define FACET_ETH_RSS_RETA_MAX 512
/** Longest port name (the bus device name), NUL included. */
#define FACET_ETH_NAME_MAX     64

/* ---- fast path -------------------------------------------------------------- */

/** A burst function of a driver; @queue is the driver's queue context. */
typedef uint16_t (*facet_eth_burst_fn)(void *queue, struct facet_pktbuf **bufs, uint16_t n);

/** One queue's entry in the fast-path table. */
struct facet_eth_fp_queue {
	facet_eth_burst_fn burst;
	void *queue;
};

/**
 * The fast-path table at the start of every port: what the inline bursts
 * read (two cache lines per direction of 4 queues). Unused entries point at a
 * function that returns 0, so a burst on a queue that is not started (or a
 * port that went away) is harmless.
 */
struct facet_eth_fp {
	struct facet_eth_fp_queue rx[FACET_ETH_MAX_QUEUES];
	struct facet_eth_fp_queue tx[FACET_ETH_MAX_QUEUES];
};

/**
 * Receive up to @n frames from RX queue @qid of @port into @bufs. Returns the
 * number received (0 if none). Each is a chain of segments; the caller owns
 * them and frees them with facet_pktbuf_free*() or sends them. No lock, no
 * syscall, no allocation. @qid must be < FACET_ETH_MAX_QUEUES.
 */
static inline uint16_t facet_eth_rx_burst(struct facet_eth_port *port, uint16_t qid,
					  struct facet_pktbuf **bufs, uint16_t n)
{
	const struct facet_eth_fp_queue *q = &((const struct facet_eth_fp *)port)->rx[qid];

	return q->burst(q->queue, bufs, n);
}

/**
 * Send up to @n frames of @bufs on TX queue @qid of @port. Returns the number
 * accepted; the driver owns those and frees them once sent. The caller keeps
 * the rest (the ring was full) to retry or free. Frames the device would
 * refuse (too long, too many segments) are accepted, freed and counted as
 * errors, so they never block the queue. Sent buffers are reclaimed inside
 * later bursts; a burst of @n = 0 only reclaims.
 */
static inline uint16_t facet_eth_tx_burst(struct facet_eth_port *port, uint16_t qid,
					  struct facet_pktbuf **bufs, uint16_t n)
{
	const struct facet_eth_fp_queue *q = &((const struct facet_eth_fp *)port)->tx[qid];

	return q->burst(q->queue, bufs, n);
}

/* ---- finding ports ------------------------------------------------------------ */

/**
 * Find the port named @name ("refnic.eth.0") and take a reference. With @bus
 * not NULL only ports of devices on that bus match. Returns NULL if there is
 * none (the slice is not bound to an Ethernet driver).
 */
struct facet_eth_port *facet_eth_port_get(struct facet_bus *bus, const char *name);

/** Take one more reference on @port (e.g. to keep one met in facet_eth_port_for_each()). */
void facet_eth_port_ref(struct facet_eth_port *port);

/** Drop a reference taken by facet_eth_port_get() or facet_eth_port_ref(). */
void facet_eth_port_put(struct facet_eth_port *port);

/**
 * Call @fn for each registered port (of @bus, or all with NULL), in
 * registration order, holding a reference during the call. Return non-zero
 * from @fn to stop; that value is returned.
 */
int facet_eth_port_for_each(struct facet_bus *bus,
			    int (*fn)(struct facet_eth_port *port, void *arg), void *arg);

/** The port's name, its bus device's. Valid while a reference is held. */
const char *facet_eth_port_name(const struct facet_eth_port *port);

/** True until the driver unregistered the port (its slice was unbound). */
bool facet_eth_port_is_attached(const struct facet_eth_port *port);

/** The PCI device whose DMA memory the port's queues use (for pools). */
struct facet_core_dev *facet_eth_port_dma_dev(const struct facet_eth_port *port);

/** The bus device owning facet_eth_port_dma_dev() (pools keep a reference on it). */
struct facet_bus_device *facet_eth_port_dma_owner(const struct facet_eth_port *port);

/* ---- information and configuration ------------------------------------------ */

/** RSS hash types (struct facet_eth_rss_conf.hash_types). */
#define FACET_ETH_RSS_IPV4     (1u << 0)
#define FACET_ETH_RSS_TCP_IPV4 (1u << 1)
#define FACET_ETH_RSS_UDP_IPV4 (1u << 2)
#define FACET_ETH_RSS_IPV6     (1u << 3)
#define FACET_ETH_RSS_TCP_IPV6 (1u << 4)
#define FACET_ETH_RSS_UDP_IPV6 (1u << 5)
#define FACET_ETH_RSS_ALL      0x3fu

/** What a port can do. */
struct facet_eth_dev_info {
	char driver[48]; /**< driver name */
	uint16_t max_rx_queues;
	uint16_t max_tx_queues;
	uint16_t rx_desc_min, rx_desc_max; /**< ring sizes (powers of two) */
	uint16_t tx_desc_min, tx_desc_max;
	uint16_t max_tx_segs; /**< segments per TX frame */
	uint16_t min_mtu, max_mtu;
	uint16_t rss_key_size;
	uint16_t reta_size;	 /**< redirection table entries */
	uint32_t rss_hash_types; /**< FACET_ETH_RSS_* supported */
	uint32_t link_speed;	 /**< nominal, Mb/s */
};

/** Port configuration, given to facet_eth_configure() while stopped. */
struct facet_eth_conf {
	uint16_t nb_rxq; /**< 1 .. max_rx_queues */
	uint16_t nb_txq; /**< 1 .. max_tx_queues */
	/** With more than one RX queue: hash types to spread on (0: FACET_ETH_RSS_ALL). */
	uint32_t rss_hash_types;
};

/** RSS configuration. */
struct facet_eth_rss_conf {
	uint8_t key[FACET_ETH_RSS_KEY_MAX];
	uint16_t key_len;    /**< 0: keep the current key */
	uint32_t hash_types; /**< FACET_ETH_RSS_*; 0: RSS off, all to reta[0] */
	uint16_t reta_size;  /**< 0: keep the current table; else a power of two */
	uint16_t reta[FACET_ETH_RSS_RETA_MAX]; /**< RX queue indexes (< nb_rxq) */
};

/** Link status. */
struct facet_eth_link {
	bool up;
	uint32_t speed; /**< Mb/s, 0 when down */
};

/** Fill @info. Returns 0 or -ENODEV. */
int facet_eth_dev_info_get(struct facet_eth_port *port, struct facet_eth_dev_info *info);

/**
 * Set the number of queues (port stopped). Queues set up before are
 * released. Returns 0, -EINVAL (out of range), -EBUSY (started), -ENODEV.
 */
int facet_eth_configure(struct facet_eth_port *port, const struct facet_eth_conf *conf);

/**
 * Set up RX queue @qid with a ring of @nb_desc descriptors (a power of two in
 * the dev_info range) refilled from @pool. The pool must be in the port's
 * DMA device and outlive the queue. Returns 0, -EINVAL, -EBUSY, -ENODEV.
 */
int facet_eth_rx_queue_setup(struct facet_eth_port *port, uint16_t qid, uint16_t nb_desc,
			     struct facet_pktbuf_pool *pool);

/** Set up TX queue @qid with a ring of @nb_desc descriptors. As above. */
int facet_eth_tx_queue_setup(struct facet_eth_port *port, uint16_t qid, uint16_t nb_desc);

/**
 * Start the port: create the queues on the device, post RX buffers, apply
 * RSS, enable the bursts. Every configured queue must be set up. Returns 0,
 * -EINVAL (a queue not set up), -ENOBUFS (pool too small for the RX rings),
 * -EALREADY, -ENODEV, -EIO (the device refused).
 */
int facet_eth_start(struct facet_eth_port *port);

/**
 * Stop the port: disable the bursts, destroy the queues on the device (it
 * stops touching their memory), return every posted and in-flight buffer to
 * its pool. The queue setup is kept for the next start. Stop polling first.
 * Returns 0 or -ENODEV; a dead device still frees everything.
 */
int facet_eth_stop(struct facet_eth_port *port);

/** True between a successful start and stop. */
bool facet_eth_is_started(struct facet_eth_port *port);

/** Current link status. Returns 0 or -ENODEV. */
int facet_eth_link_get(struct facet_eth_port *port, struct facet_eth_link *link);

/** The port's MAC address. Returns 0, -ENODEV or -EIO. */
int facet_eth_mac_get(struct facet_eth_port *port, uint8_t mac[6]);

/** Set the MAC address (unicast, not zero). Returns 0, -EINVAL, -ENODEV or -EIO. */
int facet_eth_mac_set(struct facet_eth_port *port, const uint8_t mac[6]);

/** Receive every frame the switch sees (on) or only ours (off). */
int facet_eth_promiscuous_set(struct facet_eth_port *port, bool on);

/** Receive every multicast frame (on). */
int facet_eth_allmulticast_set(struct facet_eth_port *port, bool on);

/** Current promiscuous / all-multicast state (-ENODEV if detached). */
int facet_eth_promiscuous_get(struct facet_eth_port *port);
int facet_eth_allmulticast_get(struct facet_eth_port *port);

/** Set the MTU (L3 bytes, min_mtu..max_mtu). Returns 0, -EINVAL, -ENODEV, -EIO. */
int facet_eth_mtu_set(struct facet_eth_port *port, uint16_t mtu);

/** Current MTU. Returns 0 or -ENODEV. */
int facet_eth_mtu_get(struct facet_eth_port *port, uint16_t *mtu);

/**
 * Set RSS: key, hash types and redirection table (see struct
 * facet_eth_rss_conf). Applied now if started, and kept across restarts.
 * Returns 0, -EINVAL, -ENODEV, -EIO.
 */
int facet_eth_rss_set(struct facet_eth_port *port, const struct facet_eth_rss_conf *conf);

/** Current RSS configuration. Returns 0 or -ENODEV. */
int facet_eth_rss_get(struct facet_eth_port *port, struct facet_eth_rss_conf *conf);

/* ---- statistics --------------------------------------------------------------- */

/** Port counters since the last reset. */
struct facet_eth_stats {
	uint64_t ipackets, ibytes; /**< received (delivered into RX rings) */
	uint64_t opackets, obytes; /**< sent */
	uint64_t imissed;	   /**< RX frames dropped: no descriptor posted */
	uint64_t oerrors;	   /**< TX frames dropped by the device or refused by the driver */
	uint64_t ierrors;	   /**< RX queue errors */
	uint64_t rx_nombuf;	   /**< RX refills that found the pool empty */
	uint64_t queue_errors;	   /**< queues stopped by the device (QUEUE_ERROR) */
};

/** One queue's counters since the last reset. */
struct facet_eth_queue_stats {
	uint64_t packets, bytes;
	uint64_t drops;	 /**< RX: no descriptor; TX: refused (device or driver) */
	uint64_t errors; /**< descriptors that stopped the queue */
	bool failed;	 /**< the device stopped the queue (see the log) */
};

/** Port counters. Returns 0, -ENODEV or -EIO. */
int facet_eth_stats_get(struct facet_eth_port *port, struct facet_eth_stats *stats);

/**
 * Counters of RX (@rx true) or TX queue @qid; queues that are not started
 * read their last values. Returns 0, -EINVAL, -ENODEV or -EIO.
 */
int facet_eth_queue_stats_get(struct facet_eth_port *port, bool rx, uint16_t qid,
			      struct facet_eth_queue_stats *stats);

/** Zero the port's and its queues' counters (as seen through this API). */
int facet_eth_stats_reset(struct facet_eth_port *port);

/** Configured queue counts (0 before configure). */
int facet_eth_queue_count(struct facet_eth_port *port, uint16_t *nb_rxq, uint16_t *nb_txq);

#ifdef __cplusplus
}
#endif

#endif /* FACET_ETH_H */
