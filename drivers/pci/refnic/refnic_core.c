/* SPDX-License-Identifier: MIT */
/*
 * The refnic core driver: binds the refnic PF ("pci.1fac_0001"), brings the
 * device up (docs/refnic.md §6.1), reads its capabilities and publishes one
 * slice per capability of the PF. remove() is probe() backwards; the bus has
 * deleted the slices before it runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "facet_core_bus.h"
#include "refnic_core_priv.h"

#define RESET_TIMEOUT_MS 100

static int check_identity(struct refnic_core *rc)
{
	uint32_t sig, version;
	int ret = facet_core_read32(rc->pci, 0, REFNIC_REG_SIGNATURE, &sig);

	if (ret == 0)
		ret = facet_core_read32(rc->pci, 0, REFNIC_REG_VERSION, &version);
	if (ret < 0)
		return ret;
	if (sig != REFNIC_SIGNATURE || version >> 16 != REFNIC_VERSION >> 16) {
		RC_ERR("%s: not a refnic v1 (signature 0x%08x, version 0x%08x)", rc->name, sig,
		       version);
		return -ENODEV;
	}
	return 0;
}

/* DEV_CTRL.RESET, then wait for the bit to clear (§6.3). */
static int reset_device(struct refnic_core *rc)
{
	struct timespec nap = { 0, 100000 };
	uint32_t ctrl = REFNIC_CTRL_RESET;
	int ret = facet_core_write32(rc->pci, 0, REFNIC_REG_DEV_CTRL, REFNIC_CTRL_RESET);

	for (int i = 0; ret == 0 && i < RESET_TIMEOUT_MS * 10; i++) {
		ret = facet_core_read32(rc->pci, 0, REFNIC_REG_DEV_CTRL, &ctrl);
		if (ret < 0 || !(ctrl & REFNIC_CTRL_RESET))
			break;
		nanosleep(&nap, NULL);
	}
	if (ret == 0 && (ctrl & REFNIC_CTRL_RESET)) {
		RC_ERR("%s: device reset did not complete", rc->name);
		ret = -ETIMEDOUT;
	}
	return ret;
}

static int map_doorbells(struct refnic_core *rc)
{
	void *bar0;
	int ret = facet_core_read32(rc->pci, 0, REFNIC_REG_DB_OFFSET, &rc->db_offset);

	if (ret == 0)
		ret = facet_core_read32(rc->pci, 0, REFNIC_REG_DB_STRIDE, &rc->db_stride);
	if (ret == 0)
		ret = facet_core_bar_map(rc->pci, 0, &bar0);
	if (ret < 0) {
		RC_ERR("%s: cannot map the doorbell pages: %s", rc->name, strerror(-ret));
		return ret;
	}
	rc->bar0 = bar0;
	return 0;
}

/*
 * KICK through an ioeventfd when the transport offers one: an eventfd write
 * instead of a trapped register write, whose round trip over vfio-user costs
 * several thread hand-overs. Without one (kernel VFIO, an older model) the
 * trapped write stays; either way it is only an optimisation.
 */
static void kick_init(struct refnic_core *rc)
{
	int fd, ret = facet_core_region_ioeventfd(rc->pci, 0, REFNIC_REG_KICK, 4, &fd);

	rc->kick_fd = ret == 0 ? fd : -1;
	RC_DEBUG("%s: KICK by %s", rc->name, ret == 0 ? "ioeventfd" : "trapped write");
}

static void kick_fini(struct refnic_core *rc)
{
	if (rc->kick_fd >= 0)
		close(rc->kick_fd);
	rc->kick_fd = -1;
}

static int bring_up(struct refnic_core *rc)
{
	int ret = check_identity(rc);

	if (ret == 0)
		ret = reset_device(rc);
	if (ret == 0)
		ret = facet_core_set_bus_master(rc->pci, true);
	if (ret == 0)
		ret = map_doorbells(rc);
	if (ret < 0)
		return ret;
	kick_init(rc);
	ret = rc_admin_init(rc);
	if (ret < 0) {
		kick_fini(rc);
		return ret;
	}
	ret = rc_admin_cmd_read(rc, REFNIC_OP_QUERY_CAPS, 0, &rc->caps, sizeof(rc->caps));
	if (ret == 0 && (rc->caps.features & REFNIC_FEAT_EVENT_QUEUE))
		ret = rc_events_start(rc);
	if (ret < 0) {
		reset_device(rc);
		rc_admin_fini(rc);
		kick_fini(rc);
	}
	return ret;
}

/* Stop the device touching memory before that memory is freed. */
static void bring_down(struct refnic_core *rc)
{
	rc_events_stop(rc);
	if (!facet_core_is_dead(rc->pci))
		reset_device(rc);
	rc_admin_fini(rc);
	if (!facet_core_is_dead(rc->pci))
		facet_core_set_bus_master(rc->pci, false);
	kick_fini(rc);
}

static int refnic_core_probe(struct facet_bus_device *bdev, const struct facet_bus_device_id *id)
{
	struct refnic_core *rc;
	int ret;

	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->bdev = bdev;
	rc->kick_fd = -1;
	rc->name = facet_bus_device_name(bdev);
	rc->pci = facet_core_bus_device(bdev);
	if (!rc->pci) {
		RC_ERR("%s: not a PCI device", rc->name);
		free(rc);
		return -ENODEV;
	}
	ret = bring_up(rc);
	if (ret == 0) {
		facet_bus_device_set_drvdata(bdev, rc);
		ret = rc_slices_publish(rc);
		if (ret < 0)
			bring_down(rc);
	}
	if (ret < 0) {
		free(rc);
		return ret;
	}
	RC_INFO("%s: refnic up: %u function slots, %u MSI-X vectors, MAC base "
		"%02x:%02x:%02x:%02x:%02x:%02x",
		rc->name, rc->caps.num_funcs, rc->caps.msix_vectors, rc->caps.mac_base[0],
		rc->caps.mac_base[1], rc->caps.mac_base[2], rc->caps.mac_base[3],
		rc->caps.mac_base[4], rc->caps.mac_base[5]);
	return 0;
}

static void refnic_core_remove(struct facet_bus_device *bdev)
{
	struct refnic_core *rc = facet_bus_device_get_drvdata(bdev);

	rc_slices_remove(rc); /* already deleted by the bus: this drops our references */
	bring_down(rc);
	RC_INFO("%s: refnic down", rc->name);
	free(rc);
}

FACET_BUS_ID_TABLE(refnic_core_ids) = {
	{ .name = "pci.1fac_0001" },
	{ .name = "" },
};

static const struct facet_bus_driver refnic_core_driver = {
	.name = "refnic_core",
	.id_table = refnic_core_ids,
	.probe = refnic_core_probe,
	.remove = refnic_core_remove,
};

FACET_BUS_PLUGIN(&refnic_core_driver);
