/* SPDX-License-Identifier: MIT */
/*
 * Test plugin: "tdrv_fail" binds "tcore.fail" devices and always fails its
 * probe with -EIO, after setting drvdata and publishing a child
 * "tcore.failchild.<id>" that it leaves registered: the bus must clear the
 * drvdata and delete the child (the child's release is counted as
 * "fail.child_release"). remove() must never run ("fail.remove").
 */
#include <errno.h>

#include "facet_bus_driver.h"
#include "tplug_common.h"

FACET_BUS_ID_TABLE(fail_ids) = {
	{ "tcore.fail", 0 },
	{ "" },
};

static int fail_marker;

static void fail_child_release(struct facet_bus_device *dev, void *publisher_ctx)
{
	tplug_note("fail.child_release");
}

static int fail_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	struct facet_bus_device_info info = {
		.core = "tcore",
		.slice = "failchild",
		.id = facet_bus_device_id(dev),
		.parent = dev,
		.release = fail_child_release,
	};
	struct facet_bus_device *child;

	tplug_note("fail.probe");
	facet_bus_device_set_drvdata(dev, &fail_marker);
	if (facet_bus_device_init(facet_bus_device_bus(dev), &info, &child) == 0) {
		if (facet_bus_device_add(child) == 0)
			tplug_note("fail.child_added");
		/* Our reference goes; the bus keeps the child until it sweeps it. */
		facet_bus_device_put(child);
	}
	return -EIO;
}

static void fail_remove(struct facet_bus_device *dev)
{
	tplug_note("fail.remove");
}

static const struct facet_bus_driver fail_driver = {
	.name = "tdrv_fail",
	.id_table = fail_ids,
	.probe = fail_probe,
	.remove = fail_remove,
};

FACET_BUS_PLUGIN(&fail_driver);
