/* SPDX-License-Identifier: MIT */
/*
 * Test plugin: "tdrv_alpha2", an alternative driver for "tcore.alpha". It is
 * built outside the test plugin directory so that autoloading there stays
 * deterministic; tests load it by path or point plugin_path at it.
 */
#include "facet_bus_driver.h"
#include "tplug_common.h"

FACET_BUS_ID_TABLE(alpha2_ids) = {
	{ "tcore.alpha", 0xa2 },
	{ "" },
};

static int alpha2_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	tplug_note("alpha2.probe");
	tplug_note(id ? "alpha2.probe_id" : "alpha2.probe_noid");
	return 0;
}

static void alpha2_remove(struct facet_bus_device *dev)
{
	tplug_note("alpha2.remove");
}

static const struct facet_bus_driver alpha2_driver = {
	.name = "tdrv_alpha2",
	.id_table = alpha2_ids,
	.probe = alpha2_probe,
	.remove = alpha2_remove,
};

FACET_BUS_PLUGIN(&alpha2_driver);
