/* SPDX-License-Identifier: MIT */
/*
 * exdev: an example device for the plugin bus demo.
 *
 * The exdev core driver (facet_exdev_core.so) binds "exdev.core.<N>" and
 * publishes one "exdev.eth.<M>" and one "exdev.rdma.<M>" slice per port. The
 * slice drivers (facet_exdev_eth.so, facet_exdev_rdma.so) reach the core only
 * through the typed API below, which travels with each slice device as its
 * core handle. This is the pattern a real core/slice driver pair follows:
 * copy it, rename "exdev", and put real hardware behind the ops.
 */
#ifndef EXDEV_H
#define EXDEV_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "facet_bus_driver.h"

/** Name and layout version of the core API; bump the version when the ops change. */
#define EXDEV_CORE_API	       "exdev.core"
#define EXDEV_CORE_API_VERSION 1

/** Most ports one exdev core exposes (attribute "ports" on the core device). */
#define EXDEV_MAX_PORTS 8

/** Log tag of every exdev driver. */
#define EXDEV_TAG "exdev"

/** What the core offers its slices. @ctx is the core handle's ctx. */
struct exdev_core_ops {
	/** Copy the MAC address of port @port into @mac. Returns 0 or -EINVAL. */
	int (*query_mac)(void *ctx, unsigned int port, uint8_t mac[6]);
	/**
	 * Ring the doorbell of port @port (a stand-in for a hardware register
	 * write). Returns how many times it has rung so far, or -EINVAL.
	 */
	int64_t (*ring_doorbell)(void *ctx, unsigned int port);
};

/**
 * Fetch the exdev core API of slice device @dev. Returns 0 and sets *@ops and
 * *@ctx, or the error of facet_bus_device_core(): -ENOENT (no core handle),
 * -EPROTO (another API or version) or -ENODEV (device deleted).
 */
static inline int exdev_core_get(const struct facet_bus_device *dev,
				 const struct exdev_core_ops **ops, void **ctx)
{
	const struct facet_bus_core_handle *handle;
	int ret;

	ret = facet_bus_device_core(dev, EXDEV_CORE_API, EXDEV_CORE_API_VERSION, &handle);
	if (ret < 0)
		return ret;
	*ops = handle->ops;
	*ctx = handle->ctx;
	return 0;
}

/**
 * The port a slice device serves, from its "port" attribute (set by the core).
 * Returns 0 and sets *@port, or -EINVAL if the attribute is missing or bad.
 */
static inline int exdev_slice_port(const struct facet_bus_device *dev, unsigned int *port)
{
	const char *s = facet_bus_device_attr(dev, "port");
	unsigned long v;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= EXDEV_MAX_PORTS)
		return -EINVAL;
	*port = (unsigned int)v;
	return 0;
}

#endif /* EXDEV_H */
