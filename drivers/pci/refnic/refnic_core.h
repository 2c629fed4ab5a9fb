/* SPDX-License-Identifier: MIT */
/*
 * refnic_core.h: the core handle of refnic slices ("refnic.eth.N",
 * "refnic.rdma.N"), the API a slice driver uses to reach the refnic core
 * driver, like the mlx5_core interface of an mlx5 auxiliary device.
 *
 * A slice driver gets it in probe() with refnic_core_get(). Everything it
 * returns is valid until the slice driver's remove() returns: the bus
 * removes slices before their core.
 */
#ifndef REFNIC_CORE_H
#define REFNIC_CORE_H

#include <errno.h>
#include <stdint.h>

#include "facet_bus_driver.h"
#include "facet_core.h"
#include "refnic_hw.h"

#define REFNIC_CORE_API		"refnic.core"
#define REFNIC_CORE_API_VERSION 1

/** One slice of a refnic function, as its driver sees it. */
struct refnic_slice;

/** Operations of the refnic core; every one takes the slice it serves. */
struct refnic_core_ops {
	/**
	 * Execute one admin command and wait for its completion. The core sets
	 * sqe->function to the slice's function and sqe->cid; the caller fills
	 * the rest (data buffers in DMA memory of refnic_core_ops.pci()).
	 * Returns 0 with *cqe filled (check cqe->status), -ETIMEDOUT, -ENODEV
	 * (device gone) or -EIO (device fatal).
	 */
	int (*admin_cmd)(struct refnic_slice *s, struct refnic_sqe *sqe, struct refnic_cqe *cqe);
	/** The PCI device: DMA memory, interrupts. */
	struct facet_core_dev *(*pci)(struct refnic_slice *s);
	/** The function this slice belongs to (0 = PF). */
	uint16_t (*function)(struct refnic_slice *s);
	/** Device capabilities, as QUERY_CAPS returned them at bring-up. */
	const struct refnic_caps *(*caps)(struct refnic_slice *s);
	/**
	 * Write @value to the producer-index doorbell at @db_offset of the
	 * slice's doorbell page, then wake the device if it sleeps (the
	 * idle/wake protocol of docs/refnic.md). No syscall unless it sleeps.
	 */
	void (*ring_doorbell)(struct refnic_slice *s, uint32_t db_offset, uint32_t value);
	/** The slice's doorbell page, mapped (for consumer indexes and DEV_STATE). */
	volatile uint8_t *(*doorbell_page)(struct refnic_slice *s);
	/** Link state from the latest LINK_CHANGE event: REFNIC_LINK_UP, speed. */
	uint64_t (*link_state)(struct refnic_slice *s);
	/**
	 * Call @fn for every device event (struct refnic_eqe) from now on, in
	 * the core's event thread. Returns a subscription id >= 0 or -ENOSPC.
	 * Unsubscribe before remove() returns.
	 */
	int (*event_subscribe)(struct refnic_slice *s,
			       void (*fn)(const struct refnic_eqe *eqe, void *arg), void *arg);
	void (*event_unsubscribe)(struct refnic_slice *s, int id);
};

/** Fetch the refnic core API of @dev. Returns 0, or the bus's error (-EPROTO: not refnic). */
static inline int refnic_core_get(struct facet_bus_device *dev, const struct refnic_core_ops **ops,
				  struct refnic_slice **slice)
{
	const struct facet_bus_core_handle *h;
	int ret = facet_bus_device_core(dev, REFNIC_CORE_API, REFNIC_CORE_API_VERSION, &h);

	if (ret < 0)
		return ret;
	*ops = (const struct refnic_core_ops *)h->ops;
	*slice = (struct refnic_slice *)h->ctx;
	return 0;
}

#endif /* REFNIC_CORE_H */
