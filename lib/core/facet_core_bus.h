/* SPDX-License-Identifier: MIT */
/*
 * facet_core_bus: an open PCI device as a device on the plugin bus.
 *
 * facet_core_bus_open() opens a device with facet_core_open() and publishes
 * it as the root bus device "pci.<vendor>_<device>.<n>" (hex ids), with its
 * identity as attributes and the PCI core as its core handle. Core drivers
 * (under drivers/pci/) match "pci.<vendor>_<device>" and are autoloaded like any
 * other plugin; they reach the device with facet_core_bus_device().
 *
 * The bus device owns the PCI device: deleting it (and dropping the last
 * reference) unbinds the core driver, which removes its slices first, and
 * then closes the device.
 */
#ifndef FACET_CORE_BUS_H
#define FACET_CORE_BUS_H

#include "facet_bus_driver.h"
#include "facet_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Core handle API of a published PCI device: ctx is the struct facet_core_dev. */
#define FACET_CORE_BUS_API	   "facet.pci"
#define FACET_CORE_BUS_API_VERSION 1

/**
 * Open @name and publish it on @bus. Returns 0 and sets *@bdev (holding the
 * publisher's reference: facet_bus_device_del() then facet_bus_device_put()
 * to close), or facet_core_open()'s error, or the bus's.
 */
int facet_core_bus_open(struct facet_bus *bus, const char *name,
			const struct facet_core_open_opts *opts, struct facet_bus_device **bdev);

/** The PCI device behind bus device @bdev, or NULL if it is not one. */
struct facet_core_dev *facet_core_bus_device(struct facet_bus_device *bdev);

#ifdef __cplusplus
}
#endif

#endif /* FACET_CORE_BUS_H */
