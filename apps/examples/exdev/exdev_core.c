/* SPDX-License-Identifier: MIT */
/*
 * exdev core driver: binds "exdev.core.<N>" and publishes its function
 * slices, one "exdev.eth.<M>" and one "exdev.rdma.<M>" per port, each
 * carrying the exdev core API (exdev.h) as its core handle.
 *
 * Attributes read from the core device (all optional):
 *   ports=<1..8>     number of eth/rdma slice pairs (default 1)
 *   numa_node=<n>    copied to every slice (default 0)
 *
 * Slice ids are <core id> * EXDEV_MAX_PORTS + <port>, so that the slices of
 * exdev.core.0 and exdev.core.1 never collide on the bus.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exdev.h"
#include "facet_log.h"

struct exdev_port {
	uint8_t mac[6];
	atomic_int_fast64_t doorbells;
	struct facet_bus_device *eth;
	struct facet_bus_device *rdma;
};

struct exdev_core {
	struct facet_bus_device *dev;
	const char *numa_node;
	unsigned int n_ports;
	struct exdev_port ports[];
};

/* ---- the core API handed to the slices ---------------------------------- */

static int exdev_core_query_mac(void *ctx, unsigned int port, uint8_t mac[6])
{
	struct exdev_core *core = ctx;

	if (port >= core->n_ports)
		return -EINVAL;
	memcpy(mac, core->ports[port].mac, 6);
	return 0;
}

static int64_t exdev_core_ring_doorbell(void *ctx, unsigned int port)
{
	struct exdev_core *core = ctx;

	if (port >= core->n_ports)
		return -EINVAL;
	return atomic_fetch_add(&core->ports[port].doorbells, 1) + 1;
}

static const struct exdev_core_ops exdev_core_ops = {
	.query_mac = exdev_core_query_mac,
	.ring_doorbell = exdev_core_ring_doorbell,
};

/* ---- publishing slices -------------------------------------------------- */

/* Create, describe and add one slice device. On failure nothing is left behind. */
static int exdev_core_publish(struct exdev_core *core, const char *slice, unsigned int port,
			      struct facet_bus_device **out)
{
	const uint8_t *m = core->ports[port].mac;
	struct facet_bus_device_info info = {
		.core = "exdev",
		.slice = slice,
		.id = facet_bus_device_id(core->dev) * EXDEV_MAX_PORTS + port,
		.parent = core->dev,
		.core_handle = {
			.api = EXDEV_CORE_API,
			.version = EXDEV_CORE_API_VERSION,
			.ops = &exdev_core_ops,
			.ctx = core,
		},
		/*
		 * No release(): the bus frees the attributes itself, and a
		 * release() would be code in this plugin, which may be
		 * unloaded while someone still holds a reference.
		 */
	};
	struct facet_bus_device *dev;
	char buf[32];
	int ret;

	ret = facet_bus_device_init(facet_bus_device_bus(core->dev), &info, &dev);
	if (ret < 0)
		return ret;
	snprintf(buf, sizeof(buf), "%u", port);
	ret = facet_bus_device_set_attr(dev, "port", buf);
	if (ret == 0)
		ret = facet_bus_device_set_attr(dev, "numa_node", core->numa_node);
	if (ret == 0 && strcmp(slice, "eth") == 0) {
		snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		ret = facet_bus_device_set_attr(dev, "mac", buf);
	}
	/* The add binds the slice driver right away (loading its plugin) if one matches. */
	if (ret == 0)
		ret = facet_bus_device_add(dev);
	if (ret < 0) {
		facet_bus_device_put(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

/* Delete and drop every published slice, newest first. */
static void exdev_core_unpublish(struct exdev_core *core)
{
	for (unsigned int i = core->n_ports; i-- > 0;) {
		struct exdev_port *p = &core->ports[i];

		/* On unbind the bus deleted them already; del is then a no-op. */
		if (p->rdma) {
			facet_bus_device_del(p->rdma);
			facet_bus_device_put(p->rdma);
			p->rdma = NULL;
		}
		if (p->eth) {
			facet_bus_device_del(p->eth);
			facet_bus_device_put(p->eth);
			p->eth = NULL;
		}
	}
}

static int exdev_core_parse_ports(struct facet_bus_device *dev, unsigned int *n_ports)
{
	const char *s = facet_bus_device_attr(dev, "ports");
	unsigned long v;
	char *end;

	*n_ports = 1;
	if (!s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v < 1 || v > EXDEV_MAX_PORTS) {
		FACET_ERR(EXDEV_TAG, "%s: ports=%s: want 1 to %d", facet_bus_device_name(dev), s,
			  EXDEV_MAX_PORTS);
		return -EINVAL;
	}
	*n_ports = (unsigned int)v;
	return 0;
}

/* ---- the driver --------------------------------------------------------- */

static int exdev_core_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	uint32_t core_id = facet_bus_device_id(dev);
	struct exdev_core *core;
	unsigned int n_ports;
	int ret;

	ret = exdev_core_parse_ports(dev, &n_ports);
	if (ret < 0)
		return ret;
	if (core_id > UINT32_MAX / EXDEV_MAX_PORTS - 1) {
		FACET_ERR(EXDEV_TAG, "%s: id too large for slice ids", facet_bus_device_name(dev));
		return -ERANGE;
	}
	core = calloc(1, sizeof(*core) + n_ports * sizeof(core->ports[0]));
	if (!core)
		return -ENOMEM;
	core->dev = dev;
	core->n_ports = n_ports;
	/* Attribute strings live as long as the device, which outlives this binding. */
	core->numa_node = facet_bus_device_attr(dev, "numa_node");
	if (!core->numa_node)
		core->numa_node = "0";
	for (unsigned int i = 0; i < n_ports; i++) {
		/* Locally administered: 02:fa:ce:<core id>:<port>. */
		const uint8_t mac[6] = {
			0x02, 0xfa, 0xce, (core_id >> 8) & 0xff, core_id & 0xff, i
		};

		memcpy(core->ports[i].mac, mac, sizeof(mac));
		atomic_init(&core->ports[i].doorbells, 0);
	}

	for (unsigned int i = 0; i < n_ports; i++) {
		ret = exdev_core_publish(core, "eth", i, &core->ports[i].eth);
		if (ret < 0)
			goto err_unpublish;
		ret = exdev_core_publish(core, "rdma", i, &core->ports[i].rdma);
		if (ret < 0)
			goto err_unpublish;
	}
	facet_bus_device_set_drvdata(dev, core);
	FACET_INFO(EXDEV_TAG, "%s: core up, %u port(s)", facet_bus_device_name(dev), n_ports);
	return 0;

err_unpublish:
	FACET_ERR(EXDEV_TAG, "%s: publishing slices failed: %s", facet_bus_device_name(dev),
		  strerror(-ret));
	exdev_core_unpublish(core);
	free(core);
	return ret;
}

static void exdev_core_remove(struct facet_bus_device *dev)
{
	struct exdev_core *core = facet_bus_device_get_drvdata(dev);

	exdev_core_unpublish(core);
	free(core);
	FACET_INFO(EXDEV_TAG, "%s: core down", facet_bus_device_name(dev));
}

FACET_BUS_ID_TABLE(exdev_core_ids) = {
	{ .name = "exdev.core" },
	{ .name = "" },
};

static const struct facet_bus_driver exdev_core_driver = {
	.name = "exdev_core",
	.id_table = exdev_core_ids,
	.probe = exdev_core_probe,
	.remove = exdev_core_remove,
};

FACET_BUS_PLUGIN(&exdev_core_driver);
