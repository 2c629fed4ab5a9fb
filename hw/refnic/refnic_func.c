/* SPDX-License-Identifier: MIT */
/*
 * Functions (docs/refnic.md §1, §5): the model is built for NUM_FUNCS
 * function slots from the start, each with its own doorbell page, queues,
 * MAC, link and counters. Function 0, the PF, is always active; SF slots
 * become active through SF management commands of a later revision.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refnic_priv.h"

void refnic_func_default_mac(const struct refnic_dev *dev, unsigned int idx, uint8_t mac[6])
{
	uint32_t nic = (uint32_t)dev->mac_base[3] << 16 | dev->mac_base[4] << 8 | dev->mac_base[5];

	/* Add in the low three bytes only: the OUI part never changes. */
	nic += idx;
	memcpy(mac, dev->mac_base, 3);
	mac[3] = (uint8_t)(nic >> 16);
	mac[4] = (uint8_t)(nic >> 8);
	mac[5] = (uint8_t)nic;
}

int refnic_funcs_init(struct refnic_dev *dev)
{
	dev->funcs = calloc(dev->num_funcs, sizeof(*dev->funcs));
	if (!dev->funcs)
		return -ENOMEM;
	for (unsigned int i = 0; i < dev->num_funcs; i++) {
		struct refnic_func *fn = &dev->funcs[i];

		fn->idx = i;
		fn->active = i == 0;
		fn->db = dev->bar_mem + REFNIC_DB_PAGE(i);
		fn->link_up = true;
		refnic_func_default_mac(dev, i, fn->mac);
		refnic_eth_func_reset(fn);
	}
	return 0;
}

void refnic_funcs_fini(struct refnic_dev *dev)
{
	for (unsigned int i = 0; dev->funcs && i < dev->num_funcs; i++)
		refnic_rdma_func_fini(&dev->funcs[i]);
	refnic_rdma_dev_fini(dev);
	free(dev->funcs);
	dev->funcs = NULL;
}

struct refnic_func *refnic_func_get(struct refnic_dev *dev, unsigned int idx)
{
	if (idx >= dev->num_funcs || !dev->funcs[idx].active)
		return NULL;
	return &dev->funcs[idx];
}

/*
 * RESET_FUNCTION, and each function's share of a device reset: RDMA objects
 * and queues gone (their memory no longer touched; QPs first, they complete
 * into CQs), default MAC and GID 0 = fe80::EUI-64(MAC), counters zero,
 * pending events dropped, Ethernet settings (MTU, RX mode, RSS) back to
 * defaults. The link is the cable's and stays. This is also how a client
 * that died without tearing down leaves nothing behind.
 */
void refnic_func_reset(struct refnic_dev *dev, struct refnic_func *fn)
{
	refnic_func_default_mac(dev, fn->idx, fn->mac);
	refnic_rdma_func_reset(dev, fn);
	refnic_queues_destroy_all(dev, fn);
	memset(&fn->stats, 0, sizeof(fn->stats));
	fn->link_event = false;
	fn->qerr_pending = false;
	refnic_eth_func_reset(fn);
}

/*
 * Doorbells are plain memory the driver stores to through its mapping;
 * access them atomically so neither compiler nor CPU tears or caches them.
 */
uint32_t refnic_db_read(const struct refnic_func *fn, uint32_t offset)
{
	return __atomic_load_n((const uint32_t *)(fn->db + offset), __ATOMIC_ACQUIRE);
}

void refnic_db_write(struct refnic_func *fn, uint32_t offset, uint32_t value)
{
	__atomic_store_n((uint32_t *)(fn->db + offset), value, __ATOMIC_RELEASE);
}

/* Publish DEV_STATE.SLEEPING in every active function's page (§7). */
void refnic_funcs_set_sleeping(struct refnic_dev *dev, bool sleeping)
{
	for (unsigned int i = 0; i < dev->num_funcs; i++)
		if (dev->funcs[i].active)
			refnic_db_write(&dev->funcs[i], REFNIC_DB_DEV_STATE,
					sleeping ? REFNIC_DEV_STATE_SLEEPING : 0);
}
