/* SPDX-License-Identifier: MIT */
/*
 * Publishing the PF's slices: one bus device per capability the device
 * reports (Ethernet, RDMA), each carrying the refnic core API with the
 * slice as context. Slice drivers bind to them; the bus deletes them before
 * the core goes.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "refnic_core_priv.h"

static const struct {
	const char *name;
	uint64_t feature;
} slice_kinds[RC_SLICE_KINDS] = {
	[RC_SLICE_ETH] = { "eth", REFNIC_FEAT_ETH },
	[RC_SLICE_RDMA] = { "rdma", REFNIC_FEAT_RDMA },
};

/* ---- the API slices get ------------------------------------------------- */

static int api_admin_cmd(struct refnic_slice *s, struct refnic_sqe *sqe, struct refnic_cqe *cqe)
{
	sqe->function = s->function;
	return rc_admin_cmd(s->core, sqe, cqe);
}

static struct facet_core_dev *api_pci(struct refnic_slice *s)
{
	return s->core->pci;
}

static uint16_t api_function(struct refnic_slice *s)
{
	return s->function;
}

static const struct refnic_caps *api_caps(struct refnic_slice *s)
{
	return &s->core->caps;
}

static void api_ring_doorbell(struct refnic_slice *s, uint32_t db_offset, uint32_t value)
{
	rc_ring_doorbell(s->core, s->function, db_offset, value);
}

static volatile uint8_t *api_doorbell_page(struct refnic_slice *s)
{
	return rc_doorbell_page(s->core, s->function);
}

static uint64_t api_link_state(struct refnic_slice *s)
{
	return atomic_load(&s->core->events.link);
}

static int api_event_subscribe(struct refnic_slice *s,
			       void (*fn)(const struct refnic_eqe *eqe, void *arg), void *arg)
{
	return rc_events_subscribe(s->core, fn, arg);
}

static void api_event_unsubscribe(struct refnic_slice *s, int id)
{
	rc_events_unsubscribe(s->core, id);
}

static const struct refnic_core_ops refnic_core_api = {
	.admin_cmd = api_admin_cmd,
	.pci = api_pci,
	.function = api_function,
	.caps = api_caps,
	.ring_doorbell = api_ring_doorbell,
	.doorbell_page = api_doorbell_page,
	.link_state = api_link_state,
	.event_subscribe = api_event_subscribe,
	.event_unsubscribe = api_event_unsubscribe,
};

/* ---- publishing --------------------------------------------------------- */

static int set_attrs(struct refnic_core *rc, struct refnic_slice *s)
{
	const uint8_t *mac = rc->caps.mac_base;
	char value[32];
	int ret;

	snprintf(value, sizeof(value), "%u", s->function);
	ret = facet_bus_device_set_attr(s->dev, "function", value);
	if (ret == 0 && s->kind == RC_SLICE_ETH) {
		/* Function f's default MAC is mac_base + f (docs/refnic.md §10.7). */
		snprintf(value, sizeof(value), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
			 mac[2], mac[3], mac[4], (uint8_t)(mac[5] + s->function));
		ret = facet_bus_device_set_attr(s->dev, "mac", value);
	}
	if (ret == 0) {
		snprintf(value, sizeof(value), "%d", facet_core_info(rc->pci)->numa_node);
		ret = facet_bus_device_set_attr(s->dev, "numa_node", value);
	}
	return ret;
}

static int publish(struct refnic_core *rc, enum rc_slice_kind kind)
{
	struct refnic_slice *s = &rc->slices[kind];
	const struct facet_bus_device_info info = {
		.core = "refnic",
		.slice = slice_kinds[kind].name,
		.id = facet_bus_device_id(rc->bdev),
		.parent = rc->bdev,
		.core_handle = { .api = REFNIC_CORE_API,
				 .version = REFNIC_CORE_API_VERSION,
				 .ops = &refnic_core_api,
				 .ctx = s },
	};
	int ret;

	s->core = rc;
	s->kind = kind;
	s->function = 0;
	ret = facet_bus_device_init(facet_bus_device_bus(rc->bdev), &info, &s->dev);
	if (ret < 0)
		return ret;
	ret = set_attrs(rc, s);
	if (ret == 0)
		ret = facet_bus_device_add(s->dev);
	if (ret < 0) {
		facet_bus_device_put(s->dev);
		s->dev = NULL;
	}
	return ret;
}

int rc_slices_publish(struct refnic_core *rc)
{
	int ret = 0;

	for (int kind = 0; kind < RC_SLICE_KINDS && ret == 0; kind++) {
		if (rc->caps.features & slice_kinds[kind].feature)
			ret = publish(rc, kind);
	}
	if (ret < 0) {
		RC_ERR("%s: cannot publish slices: %s", rc->name, strerror(-ret));
		rc_slices_remove(rc);
	}
	return ret;
}

void rc_slices_remove(struct refnic_core *rc)
{
	for (int kind = RC_SLICE_KINDS - 1; kind >= 0; kind--) {
		struct refnic_slice *s = &rc->slices[kind];

		if (!s->dev)
			continue;
		facet_bus_device_del(s->dev); /* a no-op when the bus got there first */
		facet_bus_device_put(s->dev);
		s->dev = NULL;
	}
}
