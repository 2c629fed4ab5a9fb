/* SPDX-License-Identifier: MIT */
/*
 * Test plugin with a valid id table ("tcore.badabi") but a plugin record
 * claiming ABI 999: the bus must refuse it (-ELIBBAD) and never probe.
 */
#include "facet_bus_driver.h"
#include "tplug_common.h"

FACET_BUS_ID_TABLE(badabi_ids) = {
	{ "tcore.badabi", 0 },
	{ "" },
};

static int badabi_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	tplug_note("badabi.probe");
	return 0;
}

static const struct facet_bus_driver badabi_driver = {
	.name = "tdrv_badabi",
	.id_table = badabi_ids,
	.probe = badabi_probe,
};

static const struct facet_bus_driver *const badabi_drivers[] = { &badabi_driver, NULL };

__attribute__((visibility("default"))) const struct facet_bus_plugin facet_bus_plugin = {
	.abi = 999,
	.drivers = badabi_drivers,
};
