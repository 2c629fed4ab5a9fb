/* SPDX-License-Identifier: MIT */
/*
 * Test plugin: "tdrv_alpha" binds "tcore.alpha" devices. Probe and remove are
 * counted in tplug_common ("alpha.probe", "alpha.remove"); anything the driver
 * finds wrong is counted under "alpha.bad_*", which the tests expect to be 0.
 */
#include <stdlib.h>

#include "facet_bus_driver.h"
#include "tplug_common.h"

#define ALPHA_DRIVER_DATA 0xa1

struct alpha_priv {
	struct facet_bus_device *dev;
};

FACET_BUS_ID_TABLE(alpha_ids) = {
	{ "tcore.alpha", ALPHA_DRIVER_DATA },
	{ "" },
};

static int alpha_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	struct alpha_priv *priv;

	if (!id || id->driver_data != ALPHA_DRIVER_DATA)
		tplug_note("alpha.bad_id");
	if (facet_bus_device_get_drvdata(dev))
		tplug_note("alpha.bad_drvdata");
	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -12;
	priv->dev = dev;
	facet_bus_device_set_drvdata(dev, priv);
	tplug_note("alpha.probe");
	return 0;
}

static void alpha_remove(struct facet_bus_device *dev)
{
	struct alpha_priv *priv = facet_bus_device_get_drvdata(dev);

	if (!priv || priv->dev != dev)
		tplug_note("alpha.bad_drvdata");
	free(priv);
	tplug_note("alpha.remove");
}

static const struct facet_bus_driver alpha_driver = {
	.name = "tdrv_alpha",
	.id_table = alpha_ids,
	.probe = alpha_probe,
	.remove = alpha_remove,
};

FACET_BUS_PLUGIN(&alpha_driver);
