/* SPDX-License-Identifier: MIT */
/*
 * exdev rdma slice driver: binds "exdev.rdma.<N>" devices published by the
 * exdev core. Same shape as exdev_eth.c; it derives a node GUID from the
 * port's MAC address, as RDMA NICs do (EUI-64).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exdev.h"
#include "facet_log.h"

/* Per-device state, hung off the device as drvdata. */
struct exdev_rdma {
	const struct exdev_core_ops *core;
	void *core_ctx;
	unsigned int port;
	uint8_t node_guid[8];
};

static int exdev_rdma_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	const char *name = facet_bus_device_name(dev);
	struct exdev_rdma *rdma;
	uint8_t mac[6];
	int ret;

	rdma = calloc(1, sizeof(*rdma));
	if (!rdma)
		return -ENOMEM;
	ret = exdev_core_get(dev, &rdma->core, &rdma->core_ctx);
	if (ret < 0) {
		FACET_ERR(EXDEV_TAG, "%s: no %s v%d core API: %s", name, EXDEV_CORE_API,
			  EXDEV_CORE_API_VERSION, strerror(-ret));
		goto err_free;
	}
	ret = exdev_slice_port(dev, &rdma->port);
	if (ret < 0) {
		FACET_ERR(EXDEV_TAG, "%s: missing or bad \"port\" attribute", name);
		goto err_free;
	}
	ret = rdma->core->query_mac(rdma->core_ctx, rdma->port, mac);
	if (ret < 0) {
		FACET_ERR(EXDEV_TAG, "%s: query_mac failed: %s", name, strerror(-ret));
		goto err_free;
	}
	/* EUI-64 from the MAC: flip the universal/local bit, put ff:fe in the middle. */
	const uint8_t guid[8] = {
		mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]
	};
	memcpy(rdma->node_guid, guid, sizeof(guid));
	rdma->core->ring_doorbell(rdma->core_ctx, rdma->port);

	facet_bus_device_set_drvdata(dev, rdma);
	FACET_INFO(EXDEV_TAG,
		   "%s: rdma up on port %u, node guid %02x%02x:%02x%02x:%02x%02x:%02x%02x", name,
		   rdma->port, rdma->node_guid[0], rdma->node_guid[1], rdma->node_guid[2],
		   rdma->node_guid[3], rdma->node_guid[4], rdma->node_guid[5], rdma->node_guid[6],
		   rdma->node_guid[7]);
	return 0;

err_free:
	free(rdma);
	return ret;
}

static void exdev_rdma_remove(struct facet_bus_device *dev)
{
	struct exdev_rdma *rdma = facet_bus_device_get_drvdata(dev);

	FACET_INFO(EXDEV_TAG, "%s: rdma down", facet_bus_device_name(dev));
	free(rdma);
}

FACET_BUS_ID_TABLE(exdev_rdma_ids) = {
	{ .name = "exdev.rdma" },
	{ .name = "" },
};

static const struct facet_bus_driver exdev_rdma_driver = {
	.name = "exdev_rdma",
	.id_table = exdev_rdma_ids,
	.probe = exdev_rdma_probe,
	.remove = exdev_rdma_remove,
};

FACET_BUS_PLUGIN(&exdev_rdma_driver);
