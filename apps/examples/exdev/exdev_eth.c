/* SPDX-License-Identifier: MIT */
/*
 * exdev eth slice driver: binds "exdev.eth.<N>" devices published by the
 * exdev core and talks to the core only through the exdev core API.
 *
 * This is the smallest useful slice driver: copy it to start a new one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exdev.h"
#include "facet_log.h"

/* Per-device state, hung off the device as drvdata. */
struct exdev_eth {
	const struct exdev_core_ops *core;
	void *core_ctx;
	unsigned int port;
	uint8_t mac[6];
};

static int exdev_eth_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	const char *name = facet_bus_device_name(dev);
	struct exdev_eth *eth;
	int ret;

	eth = calloc(1, sizeof(*eth));
	if (!eth)
		return -ENOMEM;
	/* Refuse a device without the core API this driver was built against. */
	ret = exdev_core_get(dev, &eth->core, &eth->core_ctx);
	if (ret < 0) {
		FACET_ERR(EXDEV_TAG, "%s: no %s v%d core API: %s", name, EXDEV_CORE_API,
			  EXDEV_CORE_API_VERSION, strerror(-ret));
		goto err_free;
	}
	ret = exdev_slice_port(dev, &eth->port);
	if (ret < 0) {
		FACET_ERR(EXDEV_TAG, "%s: missing or bad \"port\" attribute", name);
		goto err_free;
	}
	ret = eth->core->query_mac(eth->core_ctx, eth->port, eth->mac);
	if (ret < 0) {
		FACET_ERR(EXDEV_TAG, "%s: query_mac failed: %s", name, strerror(-ret));
		goto err_free;
	}
	/* "Enable the queue": the doorbell is the example's only hardware access. */
	eth->core->ring_doorbell(eth->core_ctx, eth->port);

	facet_bus_device_set_drvdata(dev, eth);
	FACET_INFO(EXDEV_TAG, "%s: eth up on port %u, mac %02x:%02x:%02x:%02x:%02x:%02x%s", name,
		   eth->port, eth->mac[0], eth->mac[1], eth->mac[2], eth->mac[3], eth->mac[4],
		   eth->mac[5], id ? "" : " (bound by driver override)");
	return 0;

err_free:
	free(eth);
	return ret;
}

static void exdev_eth_remove(struct facet_bus_device *dev)
{
	struct exdev_eth *eth = facet_bus_device_get_drvdata(dev);

	FACET_INFO(EXDEV_TAG, "%s: eth down", facet_bus_device_name(dev));
	free(eth);
}

FACET_BUS_ID_TABLE(exdev_eth_ids) = {
	{ .name = "exdev.eth" },
	{ .name = "" },
};

static const struct facet_bus_driver exdev_eth_driver = {
	.name = "exdev_eth",
	.id_table = exdev_eth_ids,
	.probe = exdev_eth_probe,
	.remove = exdev_eth_remove,
};

FACET_BUS_PLUGIN(&exdev_eth_driver);
