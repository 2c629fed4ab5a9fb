/* SPDX-License-Identifier: MIT */
/*
 * refnic_eth: the Ethernet slice driver of refnic. It binds "refnic.eth.N",
 * reaches the device only through the refnic core API (admin commands,
 * doorbells, events) and registers a facet_eth port named after the slice.
 * Applications find the port by name; they never link against this plugin.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facet_core.h"
#include "refnic_eth.h"

/* Data buffer of control commands: the largest is QUERY_STATS of every function. */
#define CMD_BUF_SIZE REFNIC_STATS_SIZE(REFNIC_MAX_FUNCS)
static_assert(sizeof(struct refnic_rss_config) <= CMD_BUF_SIZE, "RSS config fits");

int rfe_admin(struct rfe_eth *eth, struct refnic_sqe *sqe, uint64_t *result, const char *what)
{
	struct refnic_cqe cqe;
	int ret = eth->ops->admin_cmd(eth->slice, sqe, &cqe);

	if (ret < 0) {
		RFE_ERR("%s: %s: %s", eth->name, what, strerror(-ret));
		return ret;
	}
	if (cqe.status != REFNIC_STATUS_OK) {
		RFE_ERR("%s: %s failed with status %u", eth->name, what, cqe.status);
		return -EIO;
	}
	if (result)
		*result = cqe.result;
	return 0;
}

/* Event thread: link changes are the core's to track; queue errors are ours. */
static void on_event(const struct refnic_eqe *eqe, void *arg)
{
	struct rfe_eth *eth = arg;

	if (eqe->function != eth->ops->function(eth->slice))
		return;
	if (eqe->type == REFNIC_EVENT_QUEUE_ERROR)
		rfe_queue_error(eth, REFNIC_QERR_EVENT_TYPE(eqe->data),
				REFNIC_QERR_EVENT_QID(eqe->data),
				REFNIC_QERR_EVENT_CODE(eqe->data));
	else if (eqe->type == REFNIC_EVENT_LINK_CHANGE)
		RFE_INFO("%s: link %s", eth->name, (eqe->data & REFNIC_LINK_UP) ? "up" : "down");
}

static int set_mtu(struct rfe_eth *eth, uint16_t mtu)
{
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_SET_MTU, .set_mtu = { .mtu = mtu } };
	int ret = rfe_admin(eth, &sqe, NULL, "SET_MTU");

	if (ret == 0)
		atomic_store(&eth->max_frame, mtu + RFE_ETH_OVERHEAD);
	return ret;
}

static void eth_free(struct rfe_eth *eth)
{
	if (eth->event_sub >= 0)
		eth->ops->event_unsubscribe(eth->slice, eth->event_sub);
	rfe_queues_free(eth);
	facet_core_dma_free(eth->cmd_buf);
	pthread_mutex_destroy(&eth->qlock);
	free(eth);
}

static int eth_init(struct facet_bus_device *dev, struct rfe_eth *eth)
{
	const struct facet_core_dma_opts opts = { .numa_node = -1, .no_hugepages = true };
	int ret;

	eth->dev = dev;
	eth->name = facet_bus_device_name(dev);
	eth->event_sub = -1;
	pthread_mutex_init(&eth->qlock, NULL);
	ret = refnic_core_get(dev, &eth->ops, &eth->slice);
	if (ret < 0) {
		RFE_ERR("%s: no %s v%d core API: %s", eth->name, REFNIC_CORE_API,
			REFNIC_CORE_API_VERSION, strerror(-ret));
		return ret;
	}
	ret = facet_core_dma_alloc(eth->ops->pci(eth->slice), CMD_BUF_SIZE, &opts, &eth->cmd_buf);
	if (ret < 0)
		return ret;
	/* A known MTU from the start: the TX path checks frames against it. */
	ret = set_mtu(eth, RFE_DEFAULT_MTU);
	if (ret < 0)
		return ret;
	eth->event_sub = eth->ops->event_subscribe(eth->slice, on_event, eth);
	if (eth->event_sub < 0) {
		RFE_ERR("%s: cannot subscribe to device events: %s", eth->name,
			strerror(-eth->event_sub));
		return eth->event_sub;
	}
	return 0;
}

static const uint8_t default_rss_key[REFNIC_RSS_KEY_SIZE] = {
	/* The Microsoft RSS verification key, the usual default. */
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static int eth_register(struct rfe_eth *eth)
{
	struct facet_eth_port_info info = {
		.ops = &rfe_eth_ops,
		.priv = eth,
		.dma_dev = eth->ops->pci(eth->slice),
		.dma_owner = facet_bus_device_parent(eth->dev),
		.mtu = RFE_DEFAULT_MTU,
	};

	memcpy(info.rss.key, default_rss_key, sizeof(default_rss_key));
	info.rss.key_len = sizeof(default_rss_key);
	return facet_eth_port_register(eth->dev, &info, &eth->port);
}

static int rfe_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	struct rfe_eth *eth = calloc(1, sizeof(*eth));
	int ret;

	if (!eth)
		return -ENOMEM;
	ret = eth_init(dev, eth);
	if (ret == 0)
		ret = eth_register(eth);
	if (ret < 0) {
		RFE_ERR("%s: probe failed: %s", facet_bus_device_name(dev), strerror(-ret));
		eth_free(eth);
		return ret;
	}
	facet_bus_device_set_drvdata(dev, eth);
	RFE_INFO("%s: Ethernet port ready", eth->name);
	return 0;
}

static void rfe_remove(struct facet_bus_device *dev)
{
	struct rfe_eth *eth = facet_bus_device_get_drvdata(dev);

	/* First the port: no op runs after this, and a started port is stopped. */
	facet_eth_port_unregister(eth->port);
	eth_free(eth);
	RFE_INFO("%s: Ethernet port removed", facet_bus_device_name(dev));
}

FACET_BUS_ID_TABLE(rfe_ids) = {
	{ .name = "refnic.eth" },
	{ .name = "" },
};

static const struct facet_bus_driver rfe_driver = {
	.name = "refnic_eth",
	.id_table = rfe_ids,
	.probe = rfe_probe,
	.remove = rfe_remove,
};

FACET_BUS_PLUGIN(&rfe_driver);
