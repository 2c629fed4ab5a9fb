/* SPDX-License-Identifier: MIT */
/*
 * net_facet: removal, when the device process dies or the slice goes away
 * (see facet_ethdev.h).
 *
 * lib/core marks a vfio-user device dead as soon as its server goes away
 * (every call then fails fast with -ENODEV), but delivers nothing: no bus
 * event, no interrupt. So a watchdog alarm looks at every port each
 * FACET_PMD_WATCH_US, in EAL's interrupt thread (never a polling lcore).
 * The first time it finds a port's device dead or its slice detached, the
 * ethdev becomes a removed port: link down, is_removed() true (ethdev then
 * turns failing calls into -EIO), and RTE_ETH_EVENT_INTR_RMV if the
 * application asked for it (intr_conf.rmv). The application stops, closes
 * and detaches the port as usual; all of that works on a dead device.
 *
 * The bursts need nothing: on a dead device RX finds no new frame and TX
 * stops accepting once its ring is full, touching only this process's
 * memory. Callbacks run with facet_pmd_lock held, so (as ethdev requires
 * anyway) they must not close the port themselves: they defer it, as
 * testpmd does with an alarm.
 */
#include <ethdev_driver.h>
#include <rte_alarm.h>

#include "facet_core.h"
#include "facet_ethdev.h"

#define FACET_PMD_WATCH_US (100 * 1000)

/* Whether the alarm is armed; under facet_pmd_lock. */
static bool facet_pmd_watching;

static bool port_gone(const struct facet_pmd_dev *fdev, const struct facet_eth_port *port)
{
	return !fdev->pci || facet_core_is_dead(fdev->pci) || !facet_eth_port_is_attached(port);
}

int facet_pmd_is_removed(struct rte_eth_dev *dev)
{
	const struct facet_pmd_internals *in = facet_pmd_priv(dev);

	/* A closed port (in->port NULL) is not a removed one. */
	return in->port &&
	       (facet_pmd_slots[dev->data->port_id].removed || port_gone(in->fdev, in->port));
}

/* Called with facet_pmd_lock held. */
static void port_removed(uint16_t port_id)
{
	struct rte_eth_dev *dev = &rte_eth_devices[port_id];
	struct rte_eth_link down = { .link_status = RTE_ETH_LINK_DOWN };

	FACET_PMD_LOG(ERR, "%s: %s is gone (device process died or slice unbound): port removed",
		      dev->data->name, facet_eth_port_name(facet_pmd_slots[port_id].port));
	rte_eth_linkstatus_set(dev, &down);
	if (dev->data->dev_conf.intr_conf.rmv)
		rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_RMV, NULL);
}

static void watch_alarm(void *arg)
{
	RTE_SET_USED(arg);
	pthread_mutex_lock(&facet_pmd_lock);
	for (uint16_t id = 0; id < RTE_MAX_ETHPORTS; id++) {
		struct facet_pmd_slot *s = &facet_pmd_slots[id];

		if (s->port && s->live && !s->removed && port_gone(s->fdev, s->port)) {
			s->removed = true;
			port_removed(id);
		}
	}
	/* Stops by itself with the last device; the next probe starts it. */
	facet_pmd_watching = facet_pmd_devs_open() &&
			     rte_eal_alarm_set(FACET_PMD_WATCH_US, watch_alarm, NULL) == 0;
	pthread_mutex_unlock(&facet_pmd_lock);
}

/* Called with facet_pmd_lock held. */
static void watch_start(void)
{
	if (facet_pmd_watching)
		return;
	facet_pmd_watching = rte_eal_alarm_set(FACET_PMD_WATCH_US, watch_alarm, NULL) == 0;
	if (!facet_pmd_watching)
		FACET_PMD_LOG(WARNING, "no watchdog alarm: device removal will not be reported");
}

void facet_pmd_watch_port(uint16_t port_id)
{
	pthread_mutex_lock(&facet_pmd_lock);
	facet_pmd_slots[port_id].live = true;
	watch_start();
	pthread_mutex_unlock(&facet_pmd_lock);
}
