/* SPDX-License-Identifier: MIT */
/*
 * net_facet: DPDK ethdev ops and vdev probe/remove (see facet_ethdev.h).
 *
 *   dpdk-testpmd -d librte_net_facet.so \
 *       --vdev net_facet0,dev=vfio-user:/run/a.sock[,slice=refnic.eth.0] -- ...
 *
 * Devargs (any other key is refused, and named in the error):
 *   dev=DEVICE   required. The Facet device to open: "vfio-user:/path.sock"
 *                (a device model's socket) or a PCI address ("0000:03:00.0",
 *                kernel VFIO). Ports naming the same DEVICE share one open.
 *   slice=NAME   optional. The Ethernet slice of DEVICE to drive, by its bus
 *                name ("refnic.eth.0"). Default: the first slice of DEVICE
 *                that no other net_facet port drives.
 *   copy=0|1     optional, default 0. 1: copy every frame between the mbufs and
 *                buffers of the device's own (copy mode), for mbufs in memory
 *                the device process cannot map (no file descriptor, such as
 *                external memory); 0: zero copy (see facet_ethdev.h).
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
#include <rte_alarm.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>

#include "facet_bus.h"
#include "facet_core_bus.h"
#include "facet_ethdev.h"

#define FACET_ARG_DEV	"dev"
#define FACET_ARG_SLICE "slice"
#define FACET_ARG_COPY	"copy"

static const char *const facet_valid_args[] = { FACET_ARG_DEV, FACET_ARG_SLICE, FACET_ARG_COPY,
						NULL };

RTE_LOG_REGISTER_DEFAULT(facet_pmd_logtype, NOTICE);

/* ---- the process's Facet bus and opened devices --------------------------------- */

/** One opened Facet device, shared by the net_facet ports on it. */
struct facet_pmd_dev {
	TAILQ_ENTRY(facet_pmd_dev) next;
	char name[PATH_MAX]; /**< as given in dev= */
	struct facet_bus_device *bdev;
	struct facet_core_dev *pci; /**< owned by bdev: valid as long as it is */
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

/*
 * The net_facet ethdevs by ethdev port id, under facet_pmd_lock: the
 * facet_eth port each drives (one ethdev per facet_eth port) and the
 * removal state the watchdog keeps.
 */
struct facet_pmd_slot {
	struct facet_eth_port *port; /**< NULL: not a net_facet port */
	struct facet_pmd_dev *fdev;
	bool live;    /**< probing finished: events may be raised */
	bool removed; /**< the device died or the slice went away */
};
static struct facet_pmd_slot facet_pmd_slots[RTE_MAX_ETHPORTS];
static bool facet_pmd_watching;

static bool port_claimed(const struct facet_eth_port *port)
{
	for (unsigned int i = 0; i < RTE_MAX_ETHPORTS; i++) {
		if (facet_pmd_slots[i].port == port)
			return true;
	}
	return false;
}

static void port_claim(uint16_t port_id, struct facet_eth_port *port, struct facet_pmd_dev *fdev)
{
	facet_pmd_slots[port_id] = (struct facet_pmd_slot){ .port = port, .fdev = fdev };
}

static void port_unclaim(uint16_t port_id)
{
	facet_pmd_slots[port_id] = (struct facet_pmd_slot){ 0 };
}

/* ---- removal: the device process died, or the slice went away -------------------- */

/*
 * lib/core marks a vfio-user device dead as soon as its server goes away
 * (every call then fails fast with -ENODEV), but delivers nothing: no bus
 * event, no interrupt. So a watchdog alarm looks at every port each
 * FACET_PMD_WATCH_US, in EAL's interrupt thread (never a polling lcore).
 * The first time it finds a port's device dead or its slice detached, the
 * ethdev becomes a removed port: link down, is_removed() true (ethdev then
 * turns failing calls into -EIO), and RTE_ETH_EVENT_INTR_RMV if the
 * application asked for it (intr_conf.rmv). The application stops, closes
 * and detaches the port as usual; all of that works on a dead device.
 *
 * The bursts need nothing: on a dead device RX finds no new frame and TX
 * stops accepting once its ring is full, touching only this process's
 * memory. Callbacks run with facet_pmd_lock held, so (as ethdev requires
 * anyway) they must not close the port themselves: they defer it, as
 * testpmd does with an alarm.
 */
#define FACET_PMD_WATCH_US (100 * 1000)

static bool port_gone(const struct facet_pmd_dev *fdev, const struct facet_eth_port *port)
{
	return !fdev->pci || facet_core_is_dead(fdev->pci) || !facet_eth_port_is_attached(port);
}

/* For the ops (not the watchdog): the port or its device is gone. */
static bool port_is_removed(struct rte_eth_dev *dev)
{
	const struct facet_pmd_internals *in = dev->data->dev_private;

	/* A closed port (in->port NULL) is not a removed one. */
	return in->port &&
	       (facet_pmd_slots[dev->data->port_id].removed || port_gone(in->fdev, in->port));
}

/* Called with facet_pmd_lock held. */
static void port_removed(uint16_t port_id)
{
	struct rte_eth_dev *dev = &rte_eth_devices[port_id];
	struct rte_eth_link down = { .link_status = RTE_ETH_LINK_DOWN };

	FACET_PMD_LOG(ERR, "%s: %s is gone (device process died or slice unbound): port removed",
		      dev->data->name, facet_eth_port_name(facet_pmd_slots[port_id].port));
	rte_eth_linkstatus_set(dev, &down);
	if (dev->data->dev_conf.intr_conf.rmv)
		rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_RMV, NULL);
}

static void watch_alarm(void *arg)
{
	RTE_SET_USED(arg);
	pthread_mutex_lock(&facet_pmd_lock);
	for (uint16_t id = 0; id < RTE_MAX_ETHPORTS; id++) {
		struct facet_pmd_slot *s = &facet_pmd_slots[id];

		if (s->port && s->live && !s->removed && port_gone(s->fdev, s->port)) {
			s->removed = true;
			port_removed(id);
		}
	}
	/* Stops by itself with the last device; the next probe starts it. */
	facet_pmd_watching = !TAILQ_EMPTY(&facet_pmd_devs) &&
			     rte_eal_alarm_set(FACET_PMD_WATCH_US, watch_alarm, NULL) == 0;
	pthread_mutex_unlock(&facet_pmd_lock);
}

/* Called with facet_pmd_lock held. */
static void watch_start(void)
{
	if (facet_pmd_watching)
		return;
	facet_pmd_watching = rte_eal_alarm_set(FACET_PMD_WATCH_US, watch_alarm, NULL) == 0;
	if (!facet_pmd_watching)
		FACET_PMD_LOG(WARNING, "no watchdog alarm: device removal will not be reported");
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
		if (ret == 0)
			fdev->pci = facet_core_bus_device(fdev->bdev);
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
	/*
	 * Copy mode: frames of any size land in mbuf chains; mbuf chains are
	 * sent. The device verifies TCP/UDP checksums on RX and fills them on
	 * TX (the field's content is ignored, so no pseudo-header seed and no
	 * tx_prepare); it does not check or fill IPv4 header checksums.
	 */
	di->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_RSS_HASH |
			      RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	di->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
			      RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
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

/* ---- RSS ---------------------------------------------------------------------------- */

/*
 * The device hashes per frame type (docs/refnic.md 15.4): TCP and UDP over
 * IPv4/IPv6 on addresses and ports, and, with IPV4/IPV6, every other frame of
 * that family on addresses (facet_rss_map). A frame whose type is not
 * enabled goes to reta[0] without a hash. The key is 40 bytes.
 */

/* Take @rc's key into @conf (key_len 0: keep the current one). */
static int rss_key_from_rte(struct rte_eth_dev *dev, const struct rte_eth_rss_conf *rc,
			    struct facet_eth_rss_conf *conf)
{
	uint16_t size = pmd(dev)->info.rss_key_size;

	conf->key_len = 0;
	if (!rc->rss_key)
		return 0;
	if (rc->rss_key_len != size || size > sizeof(conf->key)) {
		FACET_PMD_LOG(ERR, "%s: RSS key of %u bytes, the device takes %u", dev->data->name,
			      rc->rss_key_len, size);
		return -EINVAL;
	}
	memcpy(conf->key, rc->rss_key, size);
	conf->key_len = size;
	return 0;
}

/*
 * After facet_eth_configure() (which spreads several queues over all hash
 * types and the default table): apply what ethdev was asked. Without an RSS
 * mq_mode everything goes to queue 0; with one, the rss_hf given (0: no
 * hashing), even on a single queue, where the hash still reaches the mbufs.
 */
static int rss_configure(struct rte_eth_dev *dev)
{
	const struct rte_eth_conf *c = &dev->data->dev_conf;
	struct facet_eth_rss_conf conf = { 0 }; /* reta_size 0: keep the default table */
	int ret = 0;

	if (c->rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) {
		conf.hash_types = rss_from_rte(c->rx_adv_conf.rss_conf.rss_hf);
		ret = rss_key_from_rte(dev, &c->rx_adv_conf.rss_conf, &conf);
	}
	if (ret == 0)
		ret = facet_eth_rss_set(pmd(dev)->port, &conf);
	if (ret < 0)
		FACET_PMD_LOG(ERR, "%s: RSS configuration: %s", dev->data->name, strerror(-ret));
	return ret;
}

static int facet_rss_hash_update(struct rte_eth_dev *dev, struct rte_eth_rss_conf *rc)
{
	struct facet_eth_rss_conf conf = { 0 }; /* reta_size 0: keep the table */
	int ret = rss_key_from_rte(dev, rc, &conf);

	if (ret < 0)
		return ret;
	conf.hash_types = rss_from_rte(rc->rss_hf);
	return facet_eth_rss_set(pmd(dev)->port, &conf);
}

static int facet_rss_hash_conf_get(struct rte_eth_dev *dev, struct rte_eth_rss_conf *rc)
{
	struct facet_eth_rss_conf conf;
	int ret = facet_eth_rss_get(pmd(dev)->port, &conf);

	if (ret < 0)
		return ret;
	if (rc->rss_key) {
		/* 0: an application that sized the buffer from dev_info without saying so. */
		if (rc->rss_key_len && rc->rss_key_len < conf.key_len)
			return -EINVAL;
		memcpy(rc->rss_key, conf.key, conf.key_len);
	}
	rc->rss_key_len = (uint8_t)conf.key_len;
	rc->rss_hf = rss_to_rte(conf.hash_types);
	return 0;
}

static bool reta_masked(const struct rte_eth_rss_reta_entry64 *reta_conf, unsigned int i)
{
	return reta_conf[i / RTE_ETH_RETA_GROUP_SIZE].mask &
	       (1ull << (i % RTE_ETH_RETA_GROUP_SIZE));
}

/* Entry @i of a table of @size entries, as the device reads it: hash & (size - 1). */
static uint16_t reta_entry(const struct facet_eth_rss_conf *conf, unsigned int i)
{
	return conf->reta_size ? conf->reta[i & (conf->reta_size - 1u)] : 0;
}

static int reta_check_size(struct rte_eth_dev *dev, uint16_t reta_size, bool exact_pow2)
{
	uint16_t max = pmd(dev)->info.reta_size;

	if (reta_size && reta_size <= max && reta_size <= FACET_ETH_RSS_RETA_MAX &&
	    (!exact_pow2 || rte_is_power_of_2(reta_size)))
		return 0;
	FACET_PMD_LOG(ERR, "%s: redirection table of %u entries: the device takes %s%u",
		      dev->data->name, reta_size, exact_pow2 ? "a power of two up to " : "up to ",
		      max);
	return -EINVAL;
}

/*
 * Entries outside the masks keep their value. A size below the device's
 * (a power of two) makes the table that small: the device then indexes it
 * with the hash's low bits, as reta_query() reports.
 */
static int facet_reta_update(struct rte_eth_dev *dev, struct rte_eth_rss_reta_entry64 *reta_conf,
			     uint16_t reta_size)
{
	struct facet_eth_rss_conf cur, conf;
	int ret = reta_check_size(dev, reta_size, true);

	if (ret == 0)
		ret = facet_eth_rss_get(pmd(dev)->port, &cur);
	if (ret < 0)
		return ret;
	conf = cur;
	conf.key_len = 0; /* keep */
	conf.reta_size = reta_size;
	for (unsigned int i = 0; i < reta_size; i++) {
		conf.reta[i] = reta_masked(reta_conf, i)
				       ? reta_conf[i / RTE_ETH_RETA_GROUP_SIZE]
						 .reta[i % RTE_ETH_RETA_GROUP_SIZE]
				       : reta_entry(&cur, i);
	}
	return facet_eth_rss_set(pmd(dev)->port, &conf);
}

static int facet_reta_query(struct rte_eth_dev *dev, struct rte_eth_rss_reta_entry64 *reta_conf,
			    uint16_t reta_size)
{
	struct facet_eth_rss_conf cur;
	int ret = reta_check_size(dev, reta_size, false);

	if (ret == 0)
		ret = facet_eth_rss_get(pmd(dev)->port, &cur);
	if (ret < 0)
		return ret;
	for (unsigned int i = 0; i < reta_size; i++) {
		if (reta_masked(reta_conf, i))
			reta_conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
				reta_entry(&cur, i);
	}
	return 0;
}

/* ---- configuration and queues -------------------------------------------------------- */

static void rxq_free(struct facet_pmd_rxq *rxq)
{
	if (!rxq)
		return;
	facet_pktbuf_pool_free(rxq->pool);
	facet_pmd_mem_put(rxq->mem); /* after the pool: no mbuf of it is posted any more */
	rte_free(rxq);
}

static void txq_free(struct facet_pmd_txq *txq)
{
	if (!txq)
		return;
	facet_pktbuf_pool_free(txq->hdrs);
	facet_pktbuf_pool_free(txq->pool);
	facet_pmd_mem_put(txq->mem);
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
	ret = facet_eth_mtu_set(in->port, data->mtu);
	return ret < 0 ? ret : rss_configure(dev);
}

/* Copy mode: the ring's buffers plus a burst's worth being copied out. */
static int rxq_setup_copy(struct facet_pmd_internals *in, struct facet_pmd_rxq *rxq)
{
	struct facet_pktbuf_pool_opts popts = {
		.numa_node = -1,
		.count = 2u * rxq->nb_desc + FACET_PMD_BURST,
	};

	return facet_pktbuf_pool_create(facet_eth_port_dma_dev(in->port),
					facet_eth_port_dma_owner(in->port), &popts, &rxq->pool);
}

/*
 * Zero copy: the pool's buffers are the mempool's mbufs. A mempool the
 * device cannot map still gets its pool (the port stays configurable) but
 * the queue is marked so that dev_start refuses with the reason.
 */
static int rxq_setup_zc(struct rte_eth_dev *dev, struct facet_pmd_rxq *rxq)
{
	struct facet_pmd_internals *in = pmd(dev);
	struct facet_pktbuf_ext_opts eopts = { .ops = &facet_pmd_rx_ext_ops, .ctx = rxq };
	uint16_t room = rte_pktmbuf_data_room_size(rxq->mp);
	struct rte_mbuf mb;
	int ret;

	if (room < RTE_PKTMBUF_HEADROOM + RTE_ETHER_MIN_LEN) {
		FACET_PMD_LOG(ERR, "%s: mbufs of mempool \"%s\" hold %u bytes, need at least %u",
			      dev->data->name, rxq->mp->name, room,
			      RTE_PKTMBUF_HEADROOM + RTE_ETHER_MIN_LEN);
		return -EINVAL;
	}
	ret = facet_pmd_mem_get(in->port, &rxq->mem);
	if (ret < 0)
		return ret;
	rxq->mode = FACET_PMD_QMODE_ZC;
	if (facet_pmd_mem_check_mempool(rxq->mem, rxq->mp, rxq->why, sizeof(rxq->why)) < 0)
		rxq->mode = FACET_PMD_QMODE_NOSHARE;
	/* What the burst stores into each mbuf's rearm_data: a fresh mbuf of this port. */
	memset(&mb, 0, sizeof(mb));
	mb.data_off = RTE_PKTMBUF_HEADROOM;
	mb.refcnt = 1;
	mb.nb_segs = 1;
	mb.port = rxq->port_id;
	rxq->mbuf_rearm = *facet_pmd_mbuf_rearm(&mb);
	rxq->mbuf_hdr = (uint16_t)(sizeof(struct rte_mbuf) + rte_pktmbuf_priv_size(rxq->mp));
	rxq->pinned_ext = rte_pktmbuf_priv_flags(rxq->mp) & RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF;
	/* Headers: the ring, a refill chunk, and a frame straddling two bursts. */
	eopts.count = rxq->nb_desc + 2u * FACET_PMD_BURST;
	eopts.buf_size = room;
	return facet_pktbuf_pool_create_ext(facet_eth_port_dma_dev(in->port),
					    facet_eth_port_dma_owner(in->port), &eopts, &rxq->pool);
}

static int facet_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
				unsigned int socket_id, const struct rte_eth_rxconf *rx_conf,
				struct rte_mempool *mp)
{
	struct facet_pmd_internals *in = pmd(dev);
	struct facet_pmd_rxq *rxq;
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
	ret = in->copy ? rxq_setup_copy(in, rxq) : rxq_setup_zc(dev, rxq);
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

/*
 * Zero copy: headers for the ring's segments (the mbufs' buffers) and a
 * small bounce pool for mbufs outside registered memory.
 */
static int txq_setup_zc(struct facet_pmd_internals *in, struct facet_pmd_txq *txq)
{
	struct facet_pktbuf_ext_opts eopts = {
		.ops = &facet_pmd_tx_ext_ops,
		.ctx = txq,
		.count = txq->nb_desc + 4u * FACET_PMD_BURST,
		.buf_size = RTE_MBUF_DEFAULT_BUF_SIZE, /* unused: each header gets its mbuf's */
	};
	struct facet_pktbuf_pool_opts popts = { .numa_node = -1, .count = 4u * FACET_PMD_BURST };
	int ret = facet_pmd_mem_get(in->port, &txq->mem);

	txq->mode = FACET_PMD_QMODE_ZC;
	if (ret == 0)
		ret = facet_pktbuf_pool_create_ext(facet_eth_port_dma_dev(in->port),
						   facet_eth_port_dma_owner(in->port), &eopts,
						   &txq->hdrs);
	if (ret == 0)
		ret = facet_pktbuf_pool_create(facet_eth_port_dma_dev(in->port),
					       facet_eth_port_dma_owner(in->port), &popts,
					       &txq->pool);
	return ret;
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
	if (in->copy) {
		/* A full ring in flight plus the burst being filled. */
		popts.count = 2u * txq->nb_desc + FACET_PMD_BURST;
		ret = facet_pktbuf_pool_create(facet_eth_port_dma_dev(in->port),
					       facet_eth_port_dma_owner(in->port), &popts,
					       &txq->pool);
	} else {
		ret = txq_setup_zc(in, txq);
	}
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

	if (ret == 0 && fl.up && !port_is_removed(dev)) {
		link.link_status = RTE_ETH_LINK_UP;
		link.link_speed = fl.speed ? fl.speed : RTE_ETH_SPEED_NUM_UNKNOWN;
	}
	rte_eth_linkstatus_set(dev, &link);
	return ret;
}

/* Zero copy needs the mbufs in memory the device maps: say how to get there. */
static int check_shareable(struct rte_eth_dev *dev, const struct facet_pmd_rxq *rxq)
{
	if (rxq->mode != FACET_PMD_QMODE_NOSHARE)
		return 0;
	FACET_PMD_LOG(ERR,
		      "%s: rx queue %u: %s. net_facet hands mbufs to the device (zero copy), "
		      "so the mbufs must be in DPDK memory with file descriptors the device "
		      "process can map: create the mempool in DPDK's own memory (hugepages: "
		      "scripts/setup-hugepages.sh, EAL --in-memory --single-file-segments; "
		      "or --no-huge), not in external memory, or add copy=1 to the devargs "
		      "to copy every frame instead",
		      dev->data->name, rxq->qid, rxq->why);
	return -ENOTSUP;
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
		ret = check_shareable(dev, dev->data->rx_queues[q]);
		if (ret < 0)
			return ret;
	}
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++) {
		if (!dev->data->tx_queues[q]) {
			FACET_PMD_LOG(ERR, "%s: tx queue %u not set up", dev->data->name, q);
			return -EINVAL;
		}
	}
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
	int ret = facet_eth_stop(pmd(dev)->port);

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
	port_unclaim(dev->data->port_id);
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
	int ret;

	/* Polled by monitoring loops: no driver error log per call once removed. */
	if (port_is_removed(dev))
		return -EIO;
	ret = facet_eth_stats_get(in->port, &st);
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

/* ---- extended statistics ------------------------------------------------------------- */

/*
 * ethdev lists the basic counters (rx_good_packets, rx_missed_errors, ...)
 * itself; the driver adds the device counters those lack and every queue's
 * (rx_q0_packets, rx_q0_drops, ...), read from facet_eth in one pass.
 */
static const struct {
	const char *name;
	size_t off;
} facet_xstats_dev[] = {
	{ "rx_refill_no_buffer", offsetof(struct facet_eth_stats, rx_nombuf) },
	{ "queue_errors", offsetof(struct facet_eth_stats, queue_errors) },
};

static const struct {
	const char *name;
	size_t off;
} facet_xstats_queue[] = {
	{ "packets", offsetof(struct facet_eth_queue_stats, packets) },
	{ "bytes", offsetof(struct facet_eth_queue_stats, bytes) },
	{ "drops", offsetof(struct facet_eth_queue_stats, drops) },
	{ "errors", offsetof(struct facet_eth_queue_stats, errors) },
};

#define XSTATS_PER_QUEUE RTE_DIM(facet_xstats_queue)

static unsigned int xstats_count(const struct rte_eth_dev *dev)
{
	return RTE_DIM(facet_xstats_dev) +
	       XSTATS_PER_QUEUE * (dev->data->nb_rx_queues + dev->data->nb_tx_queues);
}

static int facet_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
				  unsigned int size)
{
	unsigned int n = 0;

	if (!names || size < xstats_count(dev))
		return (int)xstats_count(dev);
	for (unsigned int i = 0; i < RTE_DIM(facet_xstats_dev); i++)
		snprintf(names[n++].name, sizeof(names[0].name), "%s", facet_xstats_dev[i].name);
	for (int dir = 0; dir < 2; dir++) {
		uint16_t nb = dir == 0 ? dev->data->nb_rx_queues : dev->data->nb_tx_queues;

		for (uint16_t q = 0; q < nb; q++) {
			for (unsigned int i = 0; i < XSTATS_PER_QUEUE; i++)
				snprintf(names[n++].name, sizeof(names[0].name), "%s_q%u_%s",
					 dir == 0 ? "rx" : "tx", q, facet_xstats_queue[i].name);
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

static int facet_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int size)
{
	struct facet_eth_port *port = pmd(dev)->port;
	struct facet_eth_stats st;
	struct facet_eth_queue_stats qs;
	unsigned int n = 0;
	int ret;

	if (!xs || size < xstats_count(dev))
		return (int)xstats_count(dev);
	if (port_is_removed(dev))
		return -EIO;
	ret = facet_eth_stats_get(port, &st);
	if (ret < 0)
		return ret;
	for (unsigned int i = 0; i < RTE_DIM(facet_xstats_dev); i++, n++)
		xs[n] = (struct rte_eth_xstat){ n, counter(&st, facet_xstats_dev[i].off) };
	for (int dir = 0; dir < 2; dir++) {
		uint16_t nb = dir == 0 ? dev->data->nb_rx_queues : dev->data->nb_tx_queues;

		for (uint16_t q = 0; q < nb; q++) {
			ret = facet_eth_queue_stats_get(port, dir == 0, q, &qs);
			if (ret < 0)
				return ret;
			for (unsigned int i = 0; i < XSTATS_PER_QUEUE; i++, n++)
				xs[n] = (struct rte_eth_xstat){
					n, counter(&qs, facet_xstats_queue[i].off)
				};
		}
	}
	return (int)n;
}

/* ethdev calls this instead of stats_reset, so it does all of stats_reset's work. */
static int facet_xstats_reset(struct rte_eth_dev *dev)
{
	int ret = facet_eth_stats_reset(pmd(dev)->port);

	if (ret == 0)
		dev->data->rx_mbuf_alloc_failed = 0;
	return ret;
}

static int facet_is_removed(struct rte_eth_dev *dev)
{
	return port_is_removed(dev);
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
	.xstats_get = facet_xstats_get,
	.xstats_get_names = facet_xstats_get_names,
	.xstats_reset = facet_xstats_reset,
	.is_removed = facet_is_removed,
	.dev_infos_get = facet_dev_infos_get,
	.rss_hash_update = facet_rss_hash_update,
	.rss_hash_conf_get = facet_rss_hash_conf_get,
	.reta_update = facet_reta_update,
	.reta_query = facet_reta_query,
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

/* copy=1 (copy mode) or copy=0 / absent (zero copy); anything else is refused. */
static int copy_arg(const char *key, const char *value, void *opaque)
{
	if (!value || (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)) {
		FACET_PMD_LOG(ERR, "%s=%s: 0 or 1", key, value ? value : "");
		return -EINVAL;
	}
	*(bool *)opaque = value[0] == '1';
	return 0;
}

/*
 * Parse the devargs (see the top of this file). Unknown keys are named,
 * since rte_kvargs_parse() with a key list only says "invalid".
 */
static struct rte_kvargs *parse_args(const char *name, const char *params, const char **dev,
				     const char **slice)
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
			FACET_PMD_LOG(ERR, "%s: unknown devarg \"%s\" (valid: %s, %s, %s)", name,
				      kv->pairs[i].key, FACET_ARG_DEV, FACET_ARG_SLICE,
				      FACET_ARG_COPY);
			bad = true;
		}
	}
	if (!bad && (rte_kvargs_count(kv, FACET_ARG_DEV) != 1 ||
		     rte_kvargs_count(kv, FACET_ARG_SLICE) > 1)) {
		FACET_PMD_LOG(ERR, "%s: needs exactly one %s= and at most one %s=", name,
			      FACET_ARG_DEV, FACET_ARG_SLICE);
		bad = true;
	}
	if (bad) {
		rte_kvargs_free(kv);
		return NULL;
	}
	rte_kvargs_process(kv, FACET_ARG_DEV, save_arg, dev);
	rte_kvargs_process(kv, FACET_ARG_SLICE, save_arg, slice);
	return kv;
}

/* Open (or share) the device and claim the slice's port. Called with facet_pmd_lock held. */
static int attach_port(struct facet_pmd_internals *in, const char *name, uint16_t port_id,
		       const char *dev_arg, const char *slice_arg)
{
	struct port_find pf = { 0 };

	in->fdev = pmd_dev_get(dev_arg);
	if (!in->fdev)
		return -ENODEV;
	if (slice_arg) {
		in->port = facet_eth_port_get(facet_pmd_bus, slice_arg);
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
		FACET_PMD_LOG(ERR, "%s: %s has no %s%s Ethernet slice (driver bound?)", name,
			      dev_arg, slice_arg ? slice_arg : "free", slice_arg ? "" : "");
	} else if (port_claimed(in->port)) {
		FACET_PMD_LOG(ERR, "%s: slice %s is already used by another net_facet device", name,
			      facet_eth_port_name(in->port));
		facet_eth_port_put(in->port);
		in->port = NULL;
	}
	if (!in->port) {
		pmd_dev_put(in->fdev);
		in->fdev = NULL;
		return -ENODEV;
	}
	port_claim(port_id, in->port, in->fdev);
	snprintf(in->port_name, sizeof(in->port_name), "%s", facet_eth_port_name(in->port));
	return 0;
}

static void detach_port(struct facet_pmd_internals *in, uint16_t port_id)
{
	pthread_mutex_lock(&facet_pmd_lock);
	port_unclaim(port_id);
	facet_eth_port_put(in->port);
	pmd_dev_put(in->fdev);
	pthread_mutex_unlock(&facet_pmd_lock);
}

/* The port is ready: from now on the watchdog may report its removal. */
static void port_live(uint16_t port_id)
{
	pthread_mutex_lock(&facet_pmd_lock);
	facet_pmd_slots[port_id].live = true;
	watch_start();
	pthread_mutex_unlock(&facet_pmd_lock);
}

static int facet_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	const char *dev_arg = NULL, *slice_arg = NULL;
	struct facet_pmd_internals *in;
	struct rte_eth_dev *eth_dev;
	struct rte_kvargs *kv;
	uint16_t port_id;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		FACET_PMD_LOG(ERR, "%s: secondary processes are not supported yet", name);
		return -ENOTSUP;
	}
	kv = parse_args(name, rte_vdev_device_args(vdev), &dev_arg, &slice_arg);
	if (!kv)
		return -EINVAL;
	eth_dev = rte_eth_vdev_allocate(vdev, sizeof(*in));
	if (!eth_dev) {
		rte_kvargs_free(kv);
		return -ENOMEM;
	}
	in = eth_dev->data->dev_private;
	port_id = eth_dev->data->port_id;
	if (rte_kvargs_process(kv, FACET_ARG_COPY, copy_arg, &in->copy) < 0) {
		rte_kvargs_free(kv);
		rte_eth_dev_release_port(eth_dev);
		return -EINVAL;
	}
	pthread_mutex_lock(&facet_pmd_lock);
	ret = attach_port(in, name, port_id, dev_arg, slice_arg);
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
	/* Queue counters are the driver's xstats (with drops), not ethdev's autofill. */
	eth_dev->data->dev_flags |= RTE_ETH_DEV_INTR_RMV;
	rte_eth_dev_probing_finish(eth_dev);
	port_live(port_id);
	FACET_PMD_LOG(INFO, "%s: %s on %s, port %u", name, in->port_name, in->fdev->name, port_id);
	return 0;
fail:
	if (in->port)
		detach_port(in, port_id);
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
RTE_PMD_REGISTER_PARAM_STRING(FACET_PMD_NAME, FACET_ARG_DEV
			      "=<vfio-user:/path.sock|PCI address> " FACET_ARG_SLICE
			      "=<Ethernet slice name, e.g. refnic.eth.0> " FACET_ARG_COPY "=<0|1>");
