/* SPDX-License-Identifier: MIT */
/*
 * The port registry: ports are registered by slice drivers under their bus
 * device's name and found by applications by that name. The registry is
 * process-wide (this library is shared by the application and the driver
 * plugins), and a port can be on any bus, so lookups name the bus too.
 *
 * A port object is reference counted and outlives its driver: after
 * unregister it stays "detached" (every call says -ENODEV, bursts return 0)
 * until the last application reference goes, so an application handle never
 * dangles when a slice is unbound under it.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth_private.h"
#include "facet_bus_driver.h"

static_assert(offsetof(struct facet_eth_port, fp) == 0, "the inline bursts cast the port");

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct facet_eth_port *registry; /* in registration order */

static uint16_t burst_none(void *queue, struct facet_pktbuf **bufs, uint16_t n)
{
	return 0;
}

/* Queue context first, burst last (release): a reader never pairs a new
 * burst with an old context. Readers must not run during a change anyway. */
static void set_burst(struct facet_eth_fp_queue *q, facet_eth_burst_fn burst, void *queue)
{
	q->queue = queue;
	__atomic_store_n(&q->burst, burst, __ATOMIC_RELEASE);
}

void eth_port_clear_bursts(struct facet_eth_port *port)
{
	for (unsigned int i = 0; i < FACET_ETH_MAX_QUEUES; i++) {
		__atomic_store_n(&port->fp.rx[i].burst, burst_none, __ATOMIC_RELEASE);
		__atomic_store_n(&port->fp.tx[i].burst, burst_none, __ATOMIC_RELEASE);
	}
}

void facet_eth_port_set_rx_burst(struct facet_eth_port *port, uint16_t qid,
				 facet_eth_burst_fn burst, void *queue)
{
	if (qid < FACET_ETH_MAX_QUEUES)
		set_burst(&port->fp.rx[qid], burst ? burst : burst_none, queue);
}

void facet_eth_port_set_tx_burst(struct facet_eth_port *port, uint16_t qid,
				 facet_eth_burst_fn burst, void *queue)
{
	if (qid < FACET_ETH_MAX_QUEUES)
		set_burst(&port->fp.tx[qid], burst ? burst : burst_none, queue);
}

int eth_port_lock(struct facet_eth_port *port, const char *what)
{
	if (!port)
		return -EINVAL;
	pthread_mutex_lock(&port->lock);
	if (!port->attached) {
		pthread_mutex_unlock(&port->lock);
		ETH_DEBUG("%s: %s: port detached (slice unbound)", port->name, what);
		return -ENODEV;
	}
	return 0;
}

void eth_port_unlock(struct facet_eth_port *port)
{
	pthread_mutex_unlock(&port->lock);
}

/* Registry lock held. */
static struct facet_eth_port *find_locked(struct facet_bus *bus, const char *name)
{
	for (struct facet_eth_port *p = registry; p; p = p->next) {
		if ((!bus || p->bus == bus) && strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

static int check_info(const char *name, const struct facet_eth_port_info *info)
{
	const struct facet_eth_ops *ops = info->ops;

	if (!ops || !ops->dev_info || !ops->start || !ops->stop || !ops->link_get ||
	    !ops->mac_get || !ops->mac_set || !ops->rx_mode_set || !ops->mtu_set || !ops->rss_set ||
	    !ops->stats_get || !ops->queue_stats_get || !info->dma_dev) {
		ETH_ERR("%s: cannot register: incomplete port ops", name);
		return -EINVAL;
	}
	return 0;
}

static struct facet_eth_port *port_new(struct facet_bus_device *dev,
				       const struct facet_eth_port_info *info)
{
	struct facet_eth_port *port = calloc(1, sizeof(*port));

	if (!port)
		return NULL;
	snprintf(port->name, sizeof(port->name), "%s", facet_bus_device_name(dev));
	port->bus = facet_bus_device_bus(dev);
	atomic_init(&port->refs, 1); /* the registry's */
	pthread_mutex_init(&port->lock, NULL);
	port->attached = true;
	port->ops = info->ops;
	port->priv = info->priv;
	port->dma_dev = info->dma_dev;
	port->dma_owner = info->dma_owner;
	port->mtu = info->mtu;
	port->rss = info->rss;
	info->ops->dev_info(info->priv, &port->info);
	eth_port_clear_bursts(port);
	return port;
}

int facet_eth_port_register(struct facet_bus_device *dev, const struct facet_eth_port_info *info,
			    struct facet_eth_port **out)
{
	struct facet_eth_port *port, **tail;
	int ret;

	if (!dev || !info || !out)
		return -EINVAL;
	ret = check_info(facet_bus_device_name(dev), info);
	if (ret < 0)
		return ret;
	port = port_new(dev, info);
	if (!port)
		return -ENOMEM;
	pthread_mutex_lock(&registry_lock);
	if (find_locked(port->bus, port->name)) {
		pthread_mutex_unlock(&registry_lock);
		ETH_ERR("%s: a port of that name is registered already", port->name);
		pthread_mutex_destroy(&port->lock);
		free(port);
		return -EEXIST;
	}
	for (tail = &registry; *tail; tail = &(*tail)->next)
		;
	*tail = port;
	pthread_mutex_unlock(&registry_lock);
	ETH_INFO("%s: port registered (driver %s)", port->name, port->info.driver);
	*out = port;
	return 0;
}

void facet_eth_port_unregister(struct facet_eth_port *port)
{
	struct facet_eth_port **pp;

	if (!port)
		return;
	pthread_mutex_lock(&port->lock);
	if (port->started)
		eth_port_do_stop(port);
	eth_port_clear_bursts(port);
	port->attached = false;
	pthread_mutex_unlock(&port->lock);

	pthread_mutex_lock(&registry_lock);
	for (pp = &registry; *pp; pp = &(*pp)->next) {
		if (*pp == port) {
			*pp = port->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	ETH_INFO("%s: port unregistered", port->name);
	facet_eth_port_put(port);
}

struct facet_eth_port *facet_eth_port_get(struct facet_bus *bus, const char *name)
{
	struct facet_eth_port *port;

	if (!name)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	port = find_locked(bus, name);
	if (port)
		atomic_fetch_add(&port->refs, 1);
	pthread_mutex_unlock(&registry_lock);
	return port;
}

void facet_eth_port_ref(struct facet_eth_port *port)
{
	atomic_fetch_add(&port->refs, 1);
}

void facet_eth_port_put(struct facet_eth_port *port)
{
	if (!port || atomic_fetch_sub(&port->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&port->lock);
	free(port);
}

int facet_eth_port_for_each(struct facet_bus *bus,
			    int (*fn)(struct facet_eth_port *port, void *arg), void *arg)
{
	struct facet_eth_port **snap = NULL;
	unsigned int n = 0, cap = 0;
	int ret = 0;

	/* Snapshot with references, then call without the lock: @fn may do anything. */
	pthread_mutex_lock(&registry_lock);
	for (struct facet_eth_port *p = registry; p; p = p->next) {
		if (bus && p->bus != bus)
			continue;
		if (n == cap) {
			struct facet_eth_port **grown;

			cap = cap ? 2 * cap : 8;
			grown = realloc(snap, cap * sizeof(*snap));
			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			snap = grown;
		}
		atomic_fetch_add(&p->refs, 1);
		snap[n++] = p;
	}
	pthread_mutex_unlock(&registry_lock);
	for (unsigned int i = 0; i < n; i++) {
		if (ret == 0)
			ret = fn(snap[i], arg);
		facet_eth_port_put(snap[i]);
	}
	free(snap);
	return ret;
}

const char *facet_eth_port_name(const struct facet_eth_port *port)
{
	return port->name;
}

bool facet_eth_port_is_attached(const struct facet_eth_port *port)
{
	struct facet_eth_port *p = (struct facet_eth_port *)port;
	bool attached;

	pthread_mutex_lock(&p->lock);
	attached = p->attached;
	pthread_mutex_unlock(&p->lock);
	return attached;
}

struct facet_core_dev *facet_eth_port_dma_dev(const struct facet_eth_port *port)
{
	return port->dma_dev;
}

struct facet_bus_device *facet_eth_port_dma_owner(const struct facet_eth_port *port)
{
	return port->dma_owner;
}
