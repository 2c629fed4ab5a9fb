/* SPDX-License-Identifier: MIT */
/*
 * An application outside the tree, built against the installed headers and
 * pkg-config files: it publishes the example core device and expects the
 * installed plugins to bind it and its slices.
 */
#include <stdio.h>

#include <facet_bus_driver.h>

static int print_device(struct facet_bus_device *dev, void *arg)
{
	char drv[FACET_BUS_DRIVER_NAME_MAX];

	if (facet_bus_device_driver_name(dev, drv, sizeof(drv)) < 0)
		return -1; /* every device must be bound */
	printf("%s %s\n", facet_bus_device_name(dev), drv);
	return 0;
}

int main(void)
{
	const struct facet_bus_device_info info = { .core = "exdev", .slice = "core" };
	struct facet_bus_device *dev;
	struct facet_bus *bus;
	int ret;

	if (facet_bus_create(NULL, &bus) < 0)
		return 1;
	ret = facet_bus_device_init(bus, &info, &dev);
	if (ret == 0) {
		ret = facet_bus_device_add(dev);
		if (ret == 0)
			ret = facet_bus_for_each_device(bus, print_device, NULL);
		facet_bus_device_del(dev);
		facet_bus_device_put(dev);
	}
	facet_bus_destroy(bus);
	return ret == 0 ? 0 : 1;
}
