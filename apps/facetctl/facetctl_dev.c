/* SPDX-License-Identifier: MIT */
/*
 * Devices: "open DEVICE" (and -d DEVICE) opens a PCI device over kernel VFIO
 * ("0000:03:00.0") or vfio-user ("vfio-user:/path.sock") and publishes it on
 * the bus, where its core driver autoloads and publishes the slices.
 */
#include <errno.h>
#include <string.h>

#include "facet_core_bus.h"
#include "facetctl.h"

int facetctl_cmd_open(struct facetctl *ctl, int argc, char **argv)
{
	struct facet_bus_device *bdev;
	int ret = facet_core_bus_open(ctl->bus, argv[1], NULL, &bdev);

	if (ret < 0)
		return facetctl_err(argv[0], argv[1], ret);
	ret = facetctl_published_add(ctl, bdev);
	if (ret < 0) {
		facet_bus_device_del(bdev);
		facet_bus_device_put(bdev);
		return facetctl_err(argv[0], argv[1], ret);
	}
	return 0;
}
