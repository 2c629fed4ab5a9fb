/* SPDX-License-Identifier: MIT */
/*
 * Test plugin with an id table ("tcore.nosym") but no facet_bus_plugin
 * symbol: the bus finds it by its table, then must refuse it (-ELIBBAD).
 */
#include "facet_bus_driver.h"
#include "tplug_common.h"

FACET_BUS_ID_TABLE(nosym_ids) = {
	{ "tcore.nosym", 0 },
	{ "" },
};

static int nosym_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	tplug_note("nosym.probe");
	return 0;
}

/* Exported under another name, so that the driver is not simply dropped. */
__attribute__((visibility("default"))) const struct facet_bus_driver tplug_nosym_driver = {
	.name = "tdrv_nosym",
	.id_table = nosym_ids,
	.probe = nosym_probe,
};
