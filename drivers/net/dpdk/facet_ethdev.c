/* SPDX-License-Identifier: MIT */
/*
 * net_facet: DPDK ethdev ops and vdev probe/remove (see facet_ethdev.h).
 *
 *   dpdk-testpmd -d librte_net_facet.so \
 *       --vdev net_facet0,dev=vfio-user:/run/a.sock[,port=refnic.eth.0] -- ...
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <bus_vdev_driver.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>

#include "facet_bus.h"
#include "facet_core_bus.h"
#include "facet_ethdev.h"

#define FACET_ARG_DEV  "dev"
#define FACET_ARG_PORT "port"

static const char *const facet_valid_args[] = { FACET_ARG_DEV, FACET_ARG_PORT, NULL };

RTE_LOG_REGISTER_DEFAULT(facet_pmd_logtype, NOTICE);

/* ---- the process's Facet bus and opened devices --------------------------------- */

/** One opened Facet device, shared by the net_facet ports on it. */
struct facet_pmd_dev {
	TAILQ_ENTRY(facet_pmd_dev) next;
	char name[PATH_MAX]; /**< as given in dev= */
	struct facet_bus_device *bdev;
	unsigned int refcnt;
};

/*
 * One bus per process, created by the first probe and destroyed with the
 * last device. Probe and close run on control threads; the mutex is never
 * taken on the datapath.
 */
static pthread_mutex_t facet_pmd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct facet_bus *facet_pmd_bus;
static TAILQ_HEAD(, facet_pmd_dev) facet_pmd_devs = TAILQ_HEAD_INITIALIZER(facet_pmd_devs);

/** Ports claimed by a net_facet ethdev (one ethdev per facet_eth port). */
#define FACET_PMD_MAX_PORTS RTE_MAX_ETHPORTS
static struct facet_eth_port *facet_pmd_claimed[FACET_PMD_MAX_PORTS];

static bool port_claimed(const struct facet_eth_port *port)
{
	for (unsigned int i = 0; i < FACET_PMD_MAX_PORTS; i++) {
		if (facet_pmd_claimed[i] == port)
			return true;
	}
	return false;
}

static void port_claim(struct facet_eth_port *port, bool claim)
{
	for (unsigned int i = 0; i < FACET_PMD_MAX_PORTS; i++) {
		if (facet_pmd_claimed[i] == (claim ? NULL : port)) {
			facet_pmd_claimed[i] = claim ? port : NULL;
			return;
		}
	}
}

/* Called with facet_pmd_lock held. */
static struct facet_pmd_dev *pmd_dev_get(const char *name)
{
	struct facet_pmd_dev *fdev;
	int ret;

	TAILQ_FOREACH(fdev, &facet_pmd_devs, next)
	{
		if (strcmp(fdev->name, name) == 0) {
			fdev->refcnt++;
			return fdev;
		}
	}
	if (!facet_pmd_bus) {
		const struct facet_bus_config cfg = { 0 }; /* $FACET_PLUGIN_PATH or default */

		ret = facet_bus_create(&cfg, &facet_pmd_bus);
		if (ret < 0) {
			FACET_PMD_LOG(ERR, "cannot create the Facet bus: %s", strerror(-ret));
			return NULL;
		}
	}
	fdev = calloc(1, sizeof(*fdev));
	if (!fdev || strlen(name) >= sizeof(fdev->name)) {
		free(fdev);
		fdev = NULL;
		FACET_PMD_LOG(ERR, "%s: %s", name, strerror(ENOMEM));
	} else {
		strcpy(fdev->name, name);
		ret = facet_core_bus_open(facet_pmd_bus, name, NULL, &fdev->bdev);
		if (ret < 0) {
			FACET_PMD_LOG(ERR, "cannot open %s: %s", name, strerror(-ret));
			free(fdev);
			fdev = NULL;
		}
	}
	if (!fdev) {
		if (TAILQ_EMPTY(&facet_pmd_devs)) {
			facet_bus_destroy(facet_pmd_bus);
			facet_pmd_bus = NULL;
		}
		return NULL;
	}
	fdev->refcnt = 1;
	TAILQ_INSERT_TAIL(&facet_pmd_devs, fdev, next);
	return fdev;
}

/* Called with facet_pmd_lock held. */
static void pmd_dev_put(struct facet_pmd_dev *fdev)
{
	if (--fdev->refcnt)
		return;
	TAILQ_REMOVE(&facet_pmd_devs, fdev, next);
	facet_bus_device_del(fdev->bdev);
	facet_bus_device_put(fdev->bdev);
	free(fdev);
	if (TAILQ_EMPTY(&facet_pmd_devs)) {
		facet_bus_destroy(facet_pmd_bus);
		facet_pmd_bus = NULL;
	}
}

struct port_find {
	struct facet_bus_device *owner;
	struct facet_eth_port *found;
};

static int port_find_first(struct facet_eth_port *port, void *arg)
{
	struct port_find *pf = arg;

	if (facet_eth_port_dma_owner(port) != pf->owner || port_claimed(port))
		return 0;
	facet_eth_port_ref(port);
	pf->found = port;
	return 1;
}

/* ---- capabilities ----------------------------------------------------------------- */

#define FACET_RSS_IPV4_HF                                                                          \
	(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER)
#define FACET_RSS_IPV6_HF                                                                          \
	(RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_OTHER)

static const struct {
	uint32_t facet;
	uint64_t rte;
} facet_rss_map[] = {
	{ FACET_ETH_RSS_IPV4, FACET_RSS_IPV4_HF },
	{ FACET_ETH_RSS_TCP_IPV4, RTE_ETH_RSS_NONFRAG_IPV4_TCP },
	{ FACET_ETH_RSS_UDP_IPV4, RTE_ETH_RSS_NONFRAG_IPV4_UDP },
	{ FACET_ETH_RSS_IPV6, FACET_RSS_IPV6_HF },
	{ FACET_ETH_RSS_TCP_IPV6, RTE_ETH_RSS_NONFRAG_IPV6_TCP },
	{ FACET_ETH_RSS_UDP_IPV6, RTE_ETH_RSS_NONFRAG_IPV6_UDP },
};

static uint64_t rss_to_rte(uint32_t types)
{
	uint64_t hf = 0;

	for (unsigned int i = 0; i < RTE_DIM(facet_rss_map); i++) {
		if (types & facet_rss_map[i].facet)
			hf |= facet_rss_map[i].rte;
	}
	return hf;
}

static uint32_t rss_from_rte(uint64_t hf)
{
	uint32_t types = 0;

	for (unsigned int i = 0; i < RTE_DIM(facet_rss_map); i++) {
		if (hf & facet_rss_map[i].rte)
			types |= facet_rss_map[i].facet;
	}
	return types;
}

/* DPDK takes any ring size; the device wants a power of two in range. */
static uint16_t desc_fit(uint16_t nb, uint16_t min, uint16_t max)
{
	uint32_t v = rte_align32pow2(nb ? nb : 1);

	return (uint16_t)RTE_MAX((uint32_t)min, RTE_MIN(v, (uint32_t)max));
}

static inline struct facet_pmd_internals *pmd(struct rte_eth_dev *dev)
{
	return dev->data->dev_private;
}

static int facet_dev_infos_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *di)
{
	struct facet_pmd_internals *in = pmd(dev);
	struct facet_eth_dev_info *fi = &in->info;
	int ret = facet_eth_dev_info_get(in->port, fi);

	if (ret < 0)
		return ret;
	di->if_index = 0;
	di->max_mac_addrs = 1;
	di->max_rx_queues = RTE_MIN(fi->max_rx_queues, RTE_MAX_QUEUES_PER_PORT);
	di->max_tx_queues = RTE_MIN(fi->max_tx_queues, RTE_MAX_QUEUES_PER_PORT);
	di->min_mtu = fi->min_mtu;
	di->max_mtu = fi->max_mtu;
	di->max_rx_pktlen = (uint32_t)fi->max_mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	di->min_rx_bufsize = RTE_ETHER_MIN_LEN;
	di->rx_desc_lim = (struct rte_eth_desc_lim){
		.nb_max = fi->rx_desc_max,
		.nb_min = fi->rx_desc_min,
		.nb_align = 1, /* any count: rounded up to a power of two */
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
		.ring_size = desc_fit(512, fi->rx_desc_min, fi->rx_desc_max),
		.nb_queues = 1,
	};
	di->default_txportconf = (struct rte_eth_dev_portconf){
		.burst_size = 32,
		.ring_size = desc_fit(512, fi->tx_desc_min, fi->tx_desc_max),
		.nb_queues = 1,
	};
	/* Copy mode: frames of any size land in mbuf chains; mbuf chains are sent. */
	di->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_RSS_HASH |
			      RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	di->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	di->rx_queue_offload_capa = 0;
	di->tx_queue_offload_capa = 0;
	di->hash_key_size = (uint8_t)RTE_MIN(fi->rss_key_size, UINT8_MAX);
	di->reta_size = fi->reta_size;
	di->flow_type_rss_offloads = rss_to_rte(fi->rss_hash_types);
	di->speed_capa = fi->link_speed
				 ? rte_eth_speed_bitflag(fi->link_speed, RTE_ETH_LINK_FULL_DUPLEX)
				 : 0;
	di->dev_capa = 0;
	return 0;
}

/* ---- configuration and queues -------------------------------------------------------- */

static void rxq_free(struct facet_pmd_rxq *rxq)
{
	if (!rxq)
		return;
	facet_pktbuf_pool_free(rxq->pool);
	rte_free(rxq);
}

static void txq_free(struct facet_pmd_txq *txq)
{
	if (!txq)
		return;
	facet_pktbuf_pool_free(txq->pool);
	rte_free(txq);
}

static int facet_dev_configure(struct rte_eth_dev *dev)
{
	struct facet_pmd_internals *in = pmd(dev);
	struct rte_eth_dev_data *data = dev->data;
	const struct rte_eth_conf *c = &data->dev_conf;
	struct facet_eth_conf conf = {
		.nb_rxq = data->nb_rx_queues,
		.nb_txq = data->nb_tx_queues,
	};
	int ret;

	if (c->rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) {
		conf.rss_hash_types = rss_from_rte(c->rx_adv_conf.rss_conf.rss_hf);
		if (!conf.rss_hash_types && c->rx_adv_conf.rss_conf.rss_hf)
			FACET_PMD_LOG(WARNING, "%s: rss_hf 0x%" PRIx64 ": no type supported",
				      data->name, c->rx_adv_conf.rss_conf.rss_hf);
	}
	ret = facet_eth_configure(in->port, &conf);
	if (ret < 0) {
		FACET_PMD_LOG(ERR, "%s: configure %u rxq %u txq: %s", data->name, conf.nb_rxq,
			      conf.nb_txq, strerror(-ret));
		return ret;
	}
	/*
	 * facet_eth_configure() forgets the queue setups; ethdev keeps the
	 * queues below the new counts, so set those up again.
	 */
	for (uint16_t q = 0; q < conf.nb_rxq; q++) {
		struct facet_pmd_rxq *rxq = data->rx_queues[q];

		if (rxq) {
			ret = facet_eth_rx_queue_setup(in->port, q, rxq->nb_desc, rxq->pool);
			if (ret < 0)
				return ret;
		}
	}
	for (uint16_t q = 0; q < conf.nb_txq; q++) {
		struct facet_pmd_txq *txq = data->tx_queues[q];

		if (txq) {
			ret = facet_eth_tx_queue_setup(in->port, q, txq->nb_desc);
			if (ret < 0)
				return ret;
		}
	}
	return facet_eth_mtu_set(in->port, data->mtu);
}

static int facet_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
				unsigned int socket_id, const struct rte_eth_rxconf *rx_conf,
				struct rte_mempool *mp)
{
	struct facet_pmd_internals *in = pmd(dev);
	struct facet_pmd_rxq *rxq;
	struct facet_pktbuf_pool_opts popts = { .numa_node = -1 };
	int ret;

	rxq = rte_zmalloc_socket("facet_rxq", sizeof(*rxq), RTE_CACHE_LINE_SIZE, socket_id);
	if (!rxq)
		return -ENOMEM;
	rxq->port = in->port;
	rxq->qid = qid;
	rxq->port_id = dev->data->port_id;
	rxq->mode = FACET_PMD_QMODE_COPY;
	rxq->mp = mp;
	rxq->data = dev->data;
	rxq->nb_desc = desc_fit(nb_desc, in->info.rx_desc_min, in->info.rx_desc_max);
	/* The ring's buffers plus a burst's worth being copied out. */
	popts.count = 2u * rxq->nb_desc + FACET_PMD_BURST;
	ret = facet_pktbuf_pool_create(facet_eth_port_dma_dev(in->port),
				       facet_eth_port_dma_owner(in->port), &popts, &rxq->pool);
	if (ret == 0)
		ret = facet_eth_rx_queue_setup(in->port, qid, rxq->nb_desc, rxq->pool);
	if (ret < 0) {
		FACET_PMD_LOG(ERR, "%s: rx queue %u (%u descriptors): %s", dev->data->name, qid,
			      rxq->nb_desc, strerror(-ret));
		rxq_free(rxq);
		return ret;
	}
	dev->data->rx_queues[qid] = rxq;
	return 0;
}

static int facet_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
				unsigned int socket_id, const struct rte_eth_txconf *tx_conf)
{
	struct facet_pmd_internals *in = pmd(dev);
	struct facet_pmd_txq *txq;
	struct facet_pktbuf_pool_opts popts = { .numa_node = -1 };
	int ret;

	txq = rte_zmalloc_socket("facet_txq", sizeof(*txq), RTE_CACHE_LINE_SIZE, socket_id);
	if (!txq)
		return -ENOMEM;
	txq->port = in->port;
	txq->qid = qid;
	txq->mode = FACET_PMD_QMODE_COPY;
	txq->nb_desc = desc_fit(nb_desc, in->info.tx_desc_min, in->info.tx_desc_max);
	/* A full ring in flight plus the burst being filled. */
	popts.count = 2u * txq->nb_desc + FACET_PMD_BURST;
	ret = facet_pktbuf_pool_create(facet_eth_port_dma_dev(in->port),
				       facet_eth_port_dma_owner(in->port), &popts, &txq->pool);
	if (ret == 0)
		ret = facet_eth_tx_queue_setup(in->port, qid, txq->nb_desc);
	if (ret < 0) {
		FACET_PMD_LOG(ERR, "%s: tx queue %u (%u descriptors): %s", dev->data->name, qid,
			      txq->nb_desc, strerror(-ret));
		txq_free(txq);
		return ret;
	}
	dev->data->tx_queues[qid] = txq;
	return 0;
}

static void facet_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	rxq_free(dev->data->rx_queues[qid]);
	dev->data->rx_queues[qid] = NULL;
}

static void facet_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	txq_free(dev->data->tx_queues[qid]);
	dev->data->tx_queues[qid] = NULL;
}

/* ---- start, stop, close --------------------------------------------------------------- */

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
	int ret = facet_eth_link_get(pmd(dev)->port, &fl);

	if (ret == 0 && fl.up) {
		link.link_status = RTE_ETH_LINK_UP;
		link.link_speed = fl.speed ? fl.speed : RTE_ETH_SPEED_NUM_UNKNOWN;
	}
	rte_eth_linkstatus_set(dev, &link);
	return ret;
}

static int facet_dev_start(struct rte_eth_dev *dev)
{
	struct facet_pmd_internals *in = pmd(dev);
	int ret;

	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++) {
		if (!dev->data->rx_queues[q]) {
			FACET_PMD_LOG(ERR, "%s: rx queue %u not set up", dev->data->name, q);
			return -EINVAL;
		}
	}
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++) {
		if (!dev->data->tx_queues[q]) {
			FACET_PMD_LOG(ERR, "%s: tx queue %u not set up", dev->data->name, q);
			return -EINVAL;
		}
	}
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
	int ret = facet_eth_stop(pmd(dev)->port);

	queue_states(dev, RTE_ETH_QUEUE_STATE_STOPPED);
	return ret;
}

static int facet_dev_close(struct rte_eth_dev *dev)
{
	struct facet_pmd_internals *in = pmd(dev);

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	if (!in->port)
		return 0;
	if (facet_eth_is_started(in->port))
		facet_eth_stop(in->port);
	/* ethdev frees the queue arrays, not the queues. */
	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++)
		facet_rx_queue_release(dev, q);
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++)
		facet_tx_queue_release(dev, q);
	pthread_mutex_lock(&facet_pmd_lock);
	port_claim(in->port, false);
	facet_eth_port_put(in->port);
	in->port = NULL;
	pmd_dev_put(in->fdev);
	in->fdev = NULL;
	pthread_mutex_unlock(&facet_pmd_lock);
	return 0;
}

/* ---- RX modes, MAC, MTU, statistics ------------------------------------------------------ */

static int facet_promiscuous_enable(struct rte_eth_dev *dev)
{
	return facet_eth_promiscuous_set(pmd(dev)->port, true);
}

static int facet_promiscuous_disable(struct rte_eth_dev *dev)
{
	return facet_eth_promiscuous_set(pmd(dev)->port, false);
}

static int facet_allmulticast_enable(struct rte_eth_dev *dev)
{
	return facet_eth_allmulticast_set(pmd(dev)->port, true);
}

static int facet_allmulticast_disable(struct rte_eth_dev *dev)
{
	return facet_eth_allmulticast_set(pmd(dev)->port, false);
}

static int facet_mac_addr_set(struct rte_eth_dev *dev, struct rte_ether_addr *addr)
{
	return facet_eth_mac_set(pmd(dev)->port, addr->addr_bytes);
}

static int facet_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	return facet_eth_mtu_set(pmd(dev)->port, mtu);
}

static int facet_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *stats)
{
	struct facet_pmd_internals *in = pmd(dev);
	struct facet_eth_stats st;
	struct facet_eth_queue_stats qs;
	int ret = facet_eth_stats_get(in->port, &st);

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
	for (uint16_t q = 0; q < RTE_MIN(dev->data->nb_rx_queues, RTE_ETHDEV_QUEUE_STAT_CNTRS);
	     q++) {
		if (facet_eth_queue_stats_get(in->port, true, q, &qs) == 0) {
			stats->q_ipackets[q] = qs.packets;
			stats->q_ibytes[q] = qs.bytes;
			stats->q_errors[q] = qs.errors;
		}
	}
	for (uint16_t q = 0; q < RTE_MIN(dev->data->nb_tx_queues, RTE_ETHDEV_QUEUE_STAT_CNTRS);
	     q++) {
		if (facet_eth_queue_stats_get(in->port, false, q, &qs) == 0) {
			stats->q_opackets[q] = qs.packets;
			stats->q_obytes[q] = qs.bytes;
		}
	}
	return 0;
}

static int facet_stats_reset(struct rte_eth_dev *dev)
{
	return facet_eth_stats_reset(pmd(dev)->port);
}

static const struct eth_dev_ops facet_eth_dev_ops = {
	.dev_configure = facet_dev_configure,
	.dev_start = facet_dev_start,
	.dev_stop = facet_dev_stop,
	.dev_close = facet_dev_close,
	.link_update = facet_link_update,
	.promiscuous_enable = facet_promiscuous_enable,
	.promiscuous_disable = facet_promiscuous_disable,
	.allmulticast_enable = facet_allmulticast_enable,
	.allmulticast_disable = facet_allmulticast_disable,
	.mac_addr_set = facet_mac_addr_set,
	.mtu_set = facet_mtu_set,
	.stats_get = facet_stats_get,
	.stats_reset = facet_stats_reset,
	.dev_infos_get = facet_dev_infos_get,
	.rx_queue_setup = facet_rx_queue_setup,
	.rx_queue_release = facet_rx_queue_release,
	.tx_queue_setup = facet_tx_queue_setup,
	.tx_queue_release = facet_tx_queue_release,
};

/* ---- probe and remove ------------------------------------------------------------------- */

static int save_arg(const char *key, const char *value, void *opaque)
{
	*(const char **)opaque = value;
	return 0;
}

/*
 * Parse the devargs: dev= (required), port= (optional). Unknown keys are
 * named, since rte_kvargs_parse() with a key list only says "invalid".
 */
static struct rte_kvargs *parse_args(const char *name, const char *params, const char **dev,
				     const char **port)
{
	struct rte_kvargs *kv = rte_kvargs_parse(params ? params : "", NULL);
	bool bad = false;

	if (!kv) {
		FACET_PMD_LOG(ERR, "%s: cannot parse devargs \"%s\"", name, params);
		return NULL;
	}
	for (unsigned int i = 0; i < kv->count; i++) {
		bool known = false;

		for (unsigned int k = 0; facet_valid_args[k]; k++)
			known |= strcmp(kv->pairs[i].key, facet_valid_args[k]) == 0;
		if (!known) {
			FACET_PMD_LOG(ERR, "%s: unknown devarg \"%s\" (valid: %s, %s)", name,
				      kv->pairs[i].key, FACET_ARG_DEV, FACET_ARG_PORT);
			bad = true;
		}
	}
	if (!bad && (rte_kvargs_count(kv, FACET_ARG_DEV) != 1 ||
		     rte_kvargs_count(kv, FACET_ARG_PORT) > 1)) {
		FACET_PMD_LOG(ERR, "%s: needs exactly one %s= and at most one %s=", name,
			      FACET_ARG_DEV, FACET_ARG_PORT);
		bad = true;
	}
	if (bad) {
		rte_kvargs_free(kv);
		return NULL;
	}
	rte_kvargs_process(kv, FACET_ARG_DEV, save_arg, dev);
	rte_kvargs_process(kv, FACET_ARG_PORT, save_arg, port);
	return kv;
}

/* Open (or share) the device and claim the port. Called with facet_pmd_lock held. */
static int attach_port(struct facet_pmd_internals *in, const char *name, const char *dev_arg,
		       const char *port_arg)
{
	struct port_find pf = { 0 };

	in->fdev = pmd_dev_get(dev_arg);
	if (!in->fdev)
		return -ENODEV;
	if (port_arg) {
		in->port = facet_eth_port_get(facet_pmd_bus, port_arg);
		if (in->port && facet_eth_port_dma_owner(in->port) != in->fdev->bdev) {
			facet_eth_port_put(in->port);
			in->port = NULL;
		}
	} else {
		pf.owner = in->fdev->bdev;
		facet_eth_port_for_each(facet_pmd_bus, port_find_first, &pf);
		in->port = pf.found;
	}
	if (!in->port) {
		FACET_PMD_LOG(ERR, "%s: %s has no %s%s Ethernet port (driver bound?)", name,
			      dev_arg, port_arg ? port_arg : "free", port_arg ? "" : "");
	} else if (port_claimed(in->port)) {
		FACET_PMD_LOG(ERR, "%s: port %s is already used by another net_facet device", name,
			      facet_eth_port_name(in->port));
		facet_eth_port_put(in->port);
		in->port = NULL;
	}
	if (!in->port) {
		pmd_dev_put(in->fdev);
		in->fdev = NULL;
		return -ENODEV;
	}
	port_claim(in->port, true);
	snprintf(in->port_name, sizeof(in->port_name), "%s", facet_eth_port_name(in->port));
	return 0;
}

static void detach_port(struct facet_pmd_internals *in)
{
	pthread_mutex_lock(&facet_pmd_lock);
	port_claim(in->port, false);
	facet_eth_port_put(in->port);
	pmd_dev_put(in->fdev);
	pthread_mutex_unlock(&facet_pmd_lock);
}

static int facet_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	const char *dev_arg = NULL, *port_arg = NULL;
	struct facet_pmd_internals *in;
	struct rte_eth_dev *eth_dev;
	struct rte_kvargs *kv;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		FACET_PMD_LOG(ERR, "%s: secondary processes are not supported yet", name);
		return -ENOTSUP;
	}
	kv = parse_args(name, rte_vdev_device_args(vdev), &dev_arg, &port_arg);
	if (!kv)
		return -EINVAL;
	eth_dev = rte_eth_vdev_allocate(vdev, sizeof(*in));
	if (!eth_dev) {
		rte_kvargs_free(kv);
		return -ENOMEM;
	}
	in = eth_dev->data->dev_private;
	pthread_mutex_lock(&facet_pmd_lock);
	ret = attach_port(in, name, dev_arg, port_arg);
	pthread_mutex_unlock(&facet_pmd_lock);
	rte_kvargs_free(kv);
	if (ret == 0)
		ret = facet_eth_dev_info_get(in->port, &in->info);
	if (ret == 0)
		ret = facet_eth_mac_get(in->port, in->mac.addr_bytes);
	if (ret < 0)
		goto fail;
	eth_dev->data->mac_addrs = rte_zmalloc(name, sizeof(struct rte_ether_addr), 0);
	if (!eth_dev->data->mac_addrs) {
		ret = -ENOMEM;
		goto fail;
	}
	rte_ether_addr_copy(&in->mac, eth_dev->data->mac_addrs);
	eth_dev->dev_ops = &facet_eth_dev_ops;
	eth_dev->rx_pkt_burst = facet_pmd_rx_burst;
	eth_dev->tx_pkt_burst = facet_pmd_tx_burst;
	eth_dev->data->dev_flags |= RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	rte_eth_dev_probing_finish(eth_dev);
	FACET_PMD_LOG(INFO, "%s: %s on %s, port %u", name, in->port_name, dev_arg,
		      eth_dev->data->port_id);
	return 0;
fail:
	if (in->port)
		detach_port(in);
	in->port = NULL;
	rte_eth_dev_release_port(eth_dev);
	return ret;
}

static int facet_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *eth_dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (!eth_dev)
		return 0; /* already closed */
	return rte_eth_dev_close(eth_dev->data->port_id);
}

static struct rte_vdev_driver facet_vdev_driver = {
	.probe = facet_probe,
	.remove = facet_remove,
};

RTE_PMD_REGISTER_VDEV(FACET_PMD_NAME, facet_vdev_driver);
RTE_PMD_REGISTER_PARAM_STRING(FACET_PMD_NAME,
			      FACET_ARG_DEV "=<vfio-user:/path.sock|PCI address> " FACET_ARG_PORT
					    "=<facet_eth port name>");
