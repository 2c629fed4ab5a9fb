/* SPDX-License-Identifier: MIT */
/*
 * net_facet: the vdev driver, its devargs, the process's Facet bus and
 * opened devices, probe and remove (see facet_ethdev.h).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <bus_vdev_driver.h>
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

/*
 * One bus per process, created by the first probe and destroyed with the
 * last device. Probe and close run on control threads; the mutex is never
 * taken on the datapath.
 */
pthread_mutex_t facet_pmd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct facet_bus *facet_pmd_bus;
static TAILQ_HEAD(, facet_pmd_dev) facet_pmd_devs = TAILQ_HEAD_INITIALIZER(facet_pmd_devs);
struct facet_pmd_slot facet_pmd_slots[RTE_MAX_ETHPORTS];

bool facet_pmd_devs_open(void)
{
	return !TAILQ_EMPTY(&facet_pmd_devs);
}

/* Create the bus unless it exists. Called with facet_pmd_lock held. */
static int bus_get(void)
{
	const struct facet_bus_config cfg = { 0 }; /* $FACET_PLUGIN_PATH or default */
	int ret;

	if (facet_pmd_bus)
		return 0;
	ret = facet_bus_create(&cfg, &facet_pmd_bus);
	if (ret < 0)
		FACET_PMD_LOG(ERR, "cannot create the Facet bus: %s", strerror(-ret));
	return ret;
}

/* Destroy the bus once no device is open on it. Called with facet_pmd_lock held. */
static void bus_put(void)
{
	if (facet_pmd_devs_open())
		return;
	facet_bus_destroy(facet_pmd_bus);
	facet_pmd_bus = NULL;
}

/* Open the device @name (dev=) on the bus: one reference. */
static struct facet_pmd_dev *pmd_dev_open(const char *name)
{
	struct facet_pmd_dev *fdev = calloc(1, sizeof(*fdev));
	int ret;

	if (!fdev || strlen(name) >= sizeof(fdev->name)) {
		FACET_PMD_LOG(ERR, "%s: %s", name, strerror(ENOMEM));
		free(fdev);
		return NULL;
	}
	strcpy(fdev->name, name);
	ret = facet_core_bus_open(facet_pmd_bus, name, NULL, &fdev->bdev);
	if (ret < 0) {
		FACET_PMD_LOG(ERR, "cannot open %s: %s", name, strerror(-ret));
		free(fdev);
		return NULL;
	}
	fdev->pci = facet_core_bus_device(fdev->bdev);
	fdev->refcnt = 1;
	return fdev;
}

/* A reference on the device @name; the first opens it. Called with facet_pmd_lock held. */
static struct facet_pmd_dev *pmd_dev_get(const char *name)
{
	struct facet_pmd_dev *fdev;

	TAILQ_FOREACH(fdev, &facet_pmd_devs, next)
	{
		if (strcmp(fdev->name, name) == 0) {
			fdev->refcnt++;
			return fdev;
		}
	}
	if (bus_get() < 0)
		return NULL;
	fdev = pmd_dev_open(name);
	if (!fdev) {
		bus_put();
		return NULL;
	}
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
	bus_put();
}

/* ---- ports: which ethdev drives which facet_eth port ------------------------------- */

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

/*
 * The port of slice @slice of @fdev, or (@slice NULL) its first unclaimed
 * one: a new reference, or NULL. Called with facet_pmd_lock held.
 */
static struct facet_eth_port *port_lookup(struct facet_pmd_dev *fdev, const char *slice)
{
	struct port_find pf = { .owner = fdev->bdev };
	struct facet_eth_port *port;

	if (!slice) {
		facet_eth_port_for_each(facet_pmd_bus, port_find_first, &pf);
		return pf.found;
	}
	port = facet_eth_port_get(facet_pmd_bus, slice);
	if (port && facet_eth_port_dma_owner(port) != fdev->bdev) {
		facet_eth_port_put(port);
		return NULL;
	}
	return port;
}

/* Open (or share) the device and claim the slice's port. Called with facet_pmd_lock held. */
static int port_attach(struct facet_pmd_internals *in, const char *name, uint16_t port_id,
		       const char *dev_arg, const char *slice_arg)
{
	in->fdev = pmd_dev_get(dev_arg);
	if (!in->fdev)
		return -ENODEV;
	in->port = port_lookup(in->fdev, slice_arg);
	if (!in->port) {
		FACET_PMD_LOG(ERR, "%s: %s has no %s Ethernet slice (driver bound?)", name, dev_arg,
			      slice_arg ? slice_arg : "free");
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

void facet_pmd_port_detach(struct facet_pmd_internals *in, uint16_t port_id)
{
	pthread_mutex_lock(&facet_pmd_lock);
	port_unclaim(port_id);
	facet_eth_port_put(in->port);
	in->port = NULL;
	pmd_dev_put(in->fdev);
	in->fdev = NULL;
	pthread_mutex_unlock(&facet_pmd_lock);
}

/* ---- devargs ------------------------------------------------------------------------------- */

/* The devargs of one net_facet device; the strings point into the parsed kvargs. */
struct facet_pmd_args {
	const char *dev;
	const char *slice;
	bool copy;
};

static int save_arg(const char *key, const char *value, void *opaque)
{
	RTE_SET_USED(key);
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
 * Unknown keys are named, since rte_kvargs_parse() with a key list only
 * says "invalid". Returns whether every key is known and dev= and slice=
 * are given as they must be.
 */
static bool args_valid(const char *name, const struct rte_kvargs *kv)
{
	bool valid = true;

	for (unsigned int i = 0; i < kv->count; i++) {
		bool known = false;

		for (unsigned int k = 0; facet_valid_args[k]; k++)
			known |= strcmp(kv->pairs[i].key, facet_valid_args[k]) == 0;
		if (!known) {
			FACET_PMD_LOG(ERR, "%s: unknown devarg \"%s\" (valid: %s, %s, %s)", name,
				      kv->pairs[i].key, FACET_ARG_DEV, FACET_ARG_SLICE,
				      FACET_ARG_COPY);
			valid = false;
		}
	}
	if (!valid)
		return false;
	if (rte_kvargs_count(kv, FACET_ARG_DEV) != 1 || rte_kvargs_count(kv, FACET_ARG_SLICE) > 1) {
		FACET_PMD_LOG(ERR, "%s: needs exactly one %s= and at most one %s=", name,
			      FACET_ARG_DEV, FACET_ARG_SLICE);
		return false;
	}
	return true;
}

/*
 * Parse the devargs (see the top of this file) into @args. Returns the
 * kvargs @args points into, for the caller to free, or NULL (logged).
 */
static struct rte_kvargs *parse_args(const char *name, const char *params,
				     struct facet_pmd_args *args)
{
	struct rte_kvargs *kv = rte_kvargs_parse(params ? params : "", NULL);

	if (!kv) {
		FACET_PMD_LOG(ERR, "%s: cannot parse devargs \"%s\"", name, params);
		return NULL;
	}
	if (!args_valid(name, kv) ||
	    rte_kvargs_process(kv, FACET_ARG_COPY, copy_arg, &args->copy) < 0) {
		rte_kvargs_free(kv);
		return NULL;
	}
	rte_kvargs_process(kv, FACET_ARG_DEV, save_arg, &args->dev);
	rte_kvargs_process(kv, FACET_ARG_SLICE, save_arg, &args->slice);
	return kv;
}

/* ---- probe and remove ------------------------------------------------------------------- */

/* Fill the ethdev of an attached port: device info, MAC address, ops, bursts. */
static int ethdev_init(struct rte_eth_dev *eth_dev, const char *name)
{
	struct facet_pmd_internals *in = facet_pmd_priv(eth_dev);
	int ret = facet_eth_dev_info_get(in->port, &in->info);

	if (ret == 0)
		ret = facet_eth_mac_get(in->port, in->mac.addr_bytes);
	if (ret < 0)
		return ret;
	eth_dev->data->mac_addrs = rte_zmalloc(name, sizeof(struct rte_ether_addr), 0);
	if (!eth_dev->data->mac_addrs)
		return -ENOMEM;
	rte_ether_addr_copy(&in->mac, eth_dev->data->mac_addrs);
	eth_dev->dev_ops = &facet_pmd_ops;
	/* Until dev_start picks the bursts of the port's mode. */
	eth_dev->rx_pkt_burst = facet_pmd_rx_burst;
	eth_dev->tx_pkt_burst = facet_pmd_tx_burst;
	/*
	 * No RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS: queue counters are the
	 * driver's xstats (with drops), not ethdev's autofill.
	 */
	eth_dev->data->dev_flags |= RTE_ETH_DEV_INTR_RMV;
	return 0;
}

static int facet_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct facet_pmd_args args = { 0 };
	struct facet_pmd_internals *in;
	struct rte_eth_dev *eth_dev;
	struct rte_kvargs *kv;
	uint16_t port_id;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		FACET_PMD_LOG(ERR, "%s: secondary processes are not supported yet", name);
		return -ENOTSUP;
	}
	kv = parse_args(name, rte_vdev_device_args(vdev), &args);
	if (!kv)
		return -EINVAL;
	eth_dev = rte_eth_vdev_allocate(vdev, sizeof(*in));
	if (!eth_dev) {
		rte_kvargs_free(kv);
		return -ENOMEM;
	}
	in = facet_pmd_priv(eth_dev);
	in->copy = args.copy;
	port_id = eth_dev->data->port_id;
	pthread_mutex_lock(&facet_pmd_lock);
	ret = port_attach(in, name, port_id, args.dev, args.slice);
	pthread_mutex_unlock(&facet_pmd_lock);
	rte_kvargs_free(kv);
	if (ret == 0)
		ret = ethdev_init(eth_dev, name);
	if (ret < 0) {
		if (in->port)
			facet_pmd_port_detach(in, port_id);
		rte_eth_dev_release_port(eth_dev);
		return ret;
	}
	rte_eth_dev_probing_finish(eth_dev);
	facet_pmd_watch_port(port_id);
	FACET_PMD_LOG(INFO, "%s: %s on %s, port %u", name, in->port_name, in->fdev->name, port_id);
	return 0;
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
