/* SPDX-License-Identifier: MIT */
/*
 * Matching, probing and removal, and the runtime controls built on them:
 * bind, unbind, rebind, driver override, driver registration.
 *
 * A device's driver is chosen under the bus lock and recorded in dev->driver
 * at the same moment its bind state becomes PROBING; the probe then runs with
 * only the device lock held. Unregistering a driver marks it dying under the
 * bus lock first, then visits every device whose dev->driver is that driver:
 * a probe already running finishes (the visitor waits on the device lock)
 * and is then undone, and no new probe can start. That is why no per-driver
 * reference count is needed, provided dev->driver is cleared only when the
 * device is done with the driver (its name included): probe failure and
 * unbind clear it last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_private.h"

bool bus_driver_matches(const struct facet_bus_driver *ops, const char *match,
			const struct facet_bus_device_id **id)
{
	const struct facet_bus_device_id *entry = ops->id_table;

	*id = NULL;
	for (; entry && entry->name[0]; entry++) {
		if (strncmp(entry->name, match, sizeof(entry->name)) == 0) {
			*id = entry;
			return true;
		}
	}
	return false;
}

/* Does @drv accept @dev, honouring the override? Bus lock held. */
static bool driver_accepts(const struct facet_bus_device *dev, const struct bus_driver *drv,
			   const struct facet_bus_device_id **id)
{
	bool matches = bus_driver_matches(drv->ops, dev->match, id);

	if (drv->dying)
		return false;
	if (dev->override[0])
		return strcmp(dev->override, drv->ops->name) == 0;
	return matches;
}

static void set_bind_locked(struct facet_bus_device *dev, enum bus_bind_state bind,
			    struct bus_driver *drv)
{
	dev->bind = bind;
	dev->driver = drv;
	if (!drv)
		dev->drvdata = NULL;
}

static void set_bind(struct facet_bus_device *dev, enum bus_bind_state bind, struct bus_driver *drv)
{
	pthread_mutex_lock(&dev->bus->lock);
	set_bind_locked(dev, bind, drv);
	pthread_mutex_unlock(&dev->bus->lock);
}

/*
 * Claim @dev for a probe by the first driver that accepts it (or the one
 * named @drv_name). Returns the driver with the device PROBING, or NULL.
 */
static struct bus_driver *claim(struct facet_bus_device *dev, const char *drv_name,
				const struct facet_bus_device_id **id)
{
	struct facet_bus *bus = dev->bus;
	struct bus_driver *drv;

	pthread_mutex_lock(&bus->lock);
	TAILQ_FOREACH(drv, &bus->drivers, next)
	{
		if (drv_name && strcmp(drv->ops->name, drv_name) != 0)
			continue;
		if (driver_accepts(dev, drv, id))
			break;
	}
	if (drv)
		set_bind_locked(dev, BUS_BIND_PROBING, drv);
	pthread_mutex_unlock(&bus->lock);
	return drv;
}

/*
 * Claim, loading plugins that declare the device's match name on a miss.
 * While plugins load, the device counts as PROBING so that binding the new
 * drivers to the other devices waiting for them passes this one by.
 */
static struct bus_driver *claim_or_load(struct facet_bus_device *dev, const char *drv_name,
					const struct facet_bus_device_id **id)
{
	struct bus_driver *drv = claim(dev, drv_name, id);

	if (drv || !dev->bus->autoload)
		return drv;
	set_bind(dev, BUS_BIND_PROBING, NULL);
	bus_plugin_autoload(dev->bus, dev->match);
	set_bind(dev, BUS_BIND_NONE, NULL);
	return claim(dev, drv_name, id);
}

/* Run the claimed driver's probe; dev->lock held, dev PROBING. */
static int probe(struct facet_bus_device *dev, struct bus_driver *drv,
		 const struct facet_bus_device_id *id)
{
	const char *name = drv->ops->name;
	int ret;

	BUS_DEBUG("%s: probing with %s", dev->name, name);
	ret = drv->ops->probe(dev, id);
	if (ret == 0) {
		set_bind(dev, BUS_BIND_BOUND, drv);
		BUS_INFO("%s: bound to %s", dev->name, name);
		bus_event_emit(dev->bus, FACET_BUS_EVENT_BIND, dev, name, 0);
		return 0;
	}
	if (ret > 0)
		ret = -EINVAL; /* a probe must return a negative errno */
	/* Leave nothing half-bound: children the failed probe published go too. */
	set_bind(dev, BUS_BIND_REMOVING, drv);
	bus_delete_children(dev);
	BUS_ERR("%s: probe by %s failed: %s", dev->name, name, strerror(-ret));
	bus_event_emit(dev->bus, FACET_BUS_EVENT_PROBE_FAIL, dev, name, ret);
	/* Last: once dev->driver is cleared, unregistering @drv no longer waits for us. */
	set_bind(dev, BUS_BIND_NONE, NULL);
	return ret;
}

void bus_unbind_locked(struct facet_bus_device *dev)
{
	struct bus_driver *drv = dev->driver;

	set_bind(dev, BUS_BIND_REMOVING, drv);
	bus_delete_children(dev);
	if (drv->ops->remove)
		drv->ops->remove(dev);
	BUS_INFO("%s: unbound from %s", dev->name, drv->ops->name);
	bus_event_emit(dev->bus, FACET_BUS_EVENT_UNBIND, dev, drv->ops->name, 0);
	/* Last: once dev->driver is cleared, unregistering @drv no longer waits for us. */
	set_bind(dev, BUS_BIND_NONE, NULL);
}

/* Bind by matching; -ENOENT when no driver accepts the device. dev->lock held. */
static int bind_best_locked(struct facet_bus_device *dev)
{
	const struct facet_bus_device_id *id;
	struct bus_driver *drv = claim_or_load(dev, NULL, &id);

	if (!drv)
		return -ENOENT;
	return probe(dev, drv, id);
}

void bus_autoprobe_locked(struct facet_bus_device *dev)
{
	if (bind_best_locked(dev) == -ENOENT)
		BUS_DEBUG("%s: no driver yet", dev->name);
}

/* Why @drv_name cannot bind @dev, once claiming it failed. */
static int explain_refusal(struct facet_bus_device *dev, const char *drv_name)
{
	struct facet_bus *bus = dev->bus;
	struct bus_driver *drv;
	int ret;

	pthread_mutex_lock(&bus->lock);
	drv = bus_driver_find_locked(bus, drv_name);
	if (!drv || drv->dying)
		ret = -ENOENT;
	else if (dev->override[0])
		ret = -EPERM;
	else
		ret = -ENXIO;
	pthread_mutex_unlock(&bus->lock);
	if (ret == -ENOENT)
		BUS_ERR("%s: no driver named %s", dev->name, drv_name);
	else if (ret == -EPERM)
		BUS_ERR("%s: override allows only %s, not %s", dev->name, dev->override, drv_name);
	else
		BUS_ERR("%s: driver %s does not match %s", dev->name, drv_name, dev->match);
	return ret;
}

static int bind_named_locked(struct facet_bus_device *dev, const char *drv_name)
{
	const struct facet_bus_device_id *id;
	struct bus_driver *drv = claim_or_load(dev, drv_name, &id);

	if (!drv)
		return explain_refusal(dev, drv_name);
	return probe(dev, drv, id);
}

/* Find @dev_name and lock it; it must be on the bus. */
static int lock_registered(struct facet_bus *bus, const char *dev_name,
			   struct facet_bus_device **out)
{
	struct facet_bus_device *dev = facet_bus_find_device(bus, dev_name);
	int ret;

	if (!dev) {
		BUS_ERR("no device named %s", dev_name ? dev_name : "(null)");
		return -ENODEV;
	}
	ret = bus_device_lock(dev);
	if (ret == 0 && dev->state != BUS_DEV_ADDED) {
		BUS_ERR("%s: device is being deleted", dev->name);
		bus_device_unlock(dev);
		ret = -ENODEV;
	}
	if (ret < 0) {
		facet_bus_device_put(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

static void unlock_put(struct facet_bus_device *dev)
{
	bus_device_unlock(dev);
	facet_bus_device_put(dev);
}

int facet_bus_bind(struct facet_bus *bus, const char *dev_name, const char *drv_name)
{
	struct facet_bus_device *dev;
	int ret = lock_registered(bus, dev_name, &dev);

	if (ret < 0)
		return ret;
	if (dev->bind == BUS_BIND_BOUND) {
		BUS_ERR("%s: already bound to %s", dev->name, dev->driver->ops->name);
		ret = -EBUSY;
	} else if (drv_name) {
		ret = bind_named_locked(dev, drv_name);
	} else {
		ret = bind_best_locked(dev);
		if (ret == -ENOENT)
			BUS_ERR("%s: no driver matches %s", dev->name, dev->match);
	}
	unlock_put(dev);
	return ret;
}

int facet_bus_unbind(struct facet_bus *bus, const char *dev_name)
{
	struct facet_bus_device *dev;
	int ret = lock_registered(bus, dev_name, &dev);

	if (ret < 0)
		return ret;
	if (dev->bind == BUS_BIND_BOUND) {
		bus_unbind_locked(dev);
	} else {
		BUS_ERR("%s: not bound", dev->name);
		ret = -ENOENT;
	}
	unlock_put(dev);
	return ret;
}

int facet_bus_rebind(struct facet_bus *bus, const char *dev_name)
{
	struct facet_bus_device *dev;
	int ret = lock_registered(bus, dev_name, &dev);

	if (ret < 0)
		return ret;
	if (dev->bind == BUS_BIND_BOUND)
		bus_unbind_locked(dev);
	ret = bind_best_locked(dev);
	if (ret == -ENOENT)
		BUS_ERR("%s: no driver matches %s", dev->name, dev->match);
	unlock_put(dev);
	return ret;
}

int facet_bus_set_override(struct facet_bus *bus, const char *dev_name, const char *drv_name)
{
	struct facet_bus_device *dev;

	if (drv_name && strlen(drv_name) >= FACET_BUS_DRIVER_NAME_MAX) {
		BUS_ERR("override: driver name \"%.48s...\" too long", drv_name);
		return -ENAMETOOLONG;
	}
	dev = facet_bus_find_device(bus, dev_name);
	if (!dev) {
		BUS_ERR("no device named %s", dev_name ? dev_name : "(null)");
		return -ENODEV;
	}
	pthread_mutex_lock(&bus->lock);
	snprintf(dev->override, sizeof(dev->override), "%s", drv_name ? drv_name : "");
	pthread_mutex_unlock(&bus->lock);
	BUS_INFO("%s: driver override %s", dev->name, drv_name ? drv_name : "cleared");
	facet_bus_device_put(dev);
	return 0;
}

/* ---- drivers ------------------------------------------------------------ */

static int driver_check(struct facet_bus *bus, const struct facet_bus_driver *ops)
{
	if (!ops || !ops->name || !*ops->name || !ops->probe) {
		BUS_ERR("driver %s: needs a name and a probe", ops && ops->name ? ops->name : "?");
		return -EINVAL;
	}
	if (strlen(ops->name) >= FACET_BUS_DRIVER_NAME_MAX) {
		BUS_ERR("driver name %.48s... too long", ops->name);
		return -EINVAL;
	}
	if (bus_driver_find_locked(bus, ops->name)) {
		BUS_ERR("driver %s: a driver of that name is registered", ops->name);
		return -EEXIST;
	}
	return 0;
}

static void free_records(struct bus_driver **recs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free(recs[i]);
	free(recs);
}

/* One record per driver, allocated up front so that registering cannot fail half-way. */
static int alloc_records(const struct facet_bus_driver *const *ops, struct bus_plugin *plugin,
			 struct bus_driver ***out, unsigned int *n_out)
{
	struct bus_driver **recs;
	unsigned int n = 0;

	while (ops[n])
		n++;
	recs = calloc(n ? n : 1, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		recs[i] = calloc(1, sizeof(**recs));
		if (!recs[i]) {
			free_records(recs, i);
			return -ENOMEM;
		}
		recs[i]->ops = ops[i];
		recs[i]->plugin = plugin;
	}
	*out = recs;
	*n_out = n;
	return 0;
}

int bus_drivers_add(struct facet_bus *bus, const struct facet_bus_driver *const *ops,
		    struct bus_plugin *plugin)
{
	struct bus_driver **recs;
	unsigned int n;
	int ret = alloc_records(ops, plugin, &recs, &n);

	if (ret < 0)
		return ret;
	/* All or nothing: check every name before registering any. */
	pthread_mutex_lock(&bus->lock);
	for (unsigned int i = 0; i < n && ret == 0; i++) {
		ret = driver_check(bus, ops[i]);
		for (unsigned int j = 0; j < i && ret == 0; j++) {
			if (strcmp(ops[j]->name, ops[i]->name) == 0)
				ret = -EEXIST;
		}
	}
	for (unsigned int i = 0; i < n && ret == 0; i++)
		TAILQ_INSERT_TAIL(&bus->drivers, recs[i], next);
	pthread_mutex_unlock(&bus->lock);
	if (ret < 0) {
		free_records(recs, n);
		return ret;
	}
	free(recs);
	return 0;
}

static bool pick_unbound(struct facet_bus_device *dev, void *arg)
{
	return dev->state == BUS_DEV_ADDED && dev->bind == BUS_BIND_NONE;
}

void bus_driver_attach_all(struct facet_bus *bus, const char *drv_name, bool try_lock)
{
	const struct facet_bus_device_id *id;
	struct facet_bus_device **devs;
	struct bus_driver *drv;
	unsigned int n;

	if (!bus->autoprobe || bus_snapshot(bus, pick_unbound, NULL, &devs, &n) < 0)
		return;
	for (unsigned int i = 0; i < n; i++) {
		/* A busy device is being bound, unbound or deleted by its holder. */
		if (try_lock ? pthread_mutex_trylock(&devs[i]->lock) != 0
			     : bus_device_lock(devs[i]) < 0)
			continue;
		if (devs[i]->state == BUS_DEV_ADDED && devs[i]->bind == BUS_BIND_NONE) {
			drv = claim(devs[i], drv_name, &id);
			if (drv)
				probe(devs[i], drv, id);
		}
		bus_device_unlock(devs[i]);
	}
	bus_snapshot_put(devs, n);
}

int facet_bus_driver_register(struct facet_bus *bus, const struct facet_bus_driver *drv)
{
	const struct facet_bus_driver *const ops[] = { drv, NULL };
	int ret;

	if (!bus || !drv)
		return -EINVAL;
	ret = bus_drivers_add(bus, ops, NULL);
	if (ret < 0)
		return ret;
	bus_event_emit(bus, FACET_BUS_EVENT_DRIVER_ADD, NULL, drv->name, 0);
	bus_driver_attach_all(bus, drv->name, false);
	return 0;
}

static bool pick_bound_to(struct facet_bus_device *dev, void *drv)
{
	return dev->driver == drv;
}

int bus_driver_remove(struct facet_bus *bus, const struct facet_bus_driver *ops)
{
	struct facet_bus_device **devs;
	struct bus_driver *drv;
	unsigned int n;

	pthread_mutex_lock(&bus->lock);
	TAILQ_FOREACH(drv, &bus->drivers, next)
	{
		if (drv->ops == ops && !drv->dying)
			break;
	}
	if (drv)
		drv->dying = true;
	pthread_mutex_unlock(&bus->lock);
	if (!drv)
		return -ENOENT;
	if (bus_snapshot(bus, pick_bound_to, drv, &devs, &n) == 0) {
		for (unsigned int i = 0; i < n; i++) {
			if (bus_device_lock(devs[i]) < 0)
				continue;
			if (devs[i]->driver == drv && devs[i]->bind == BUS_BIND_BOUND)
				bus_unbind_locked(devs[i]);
			bus_device_unlock(devs[i]);
		}
		bus_snapshot_put(devs, n);
	}
	pthread_mutex_lock(&bus->lock);
	TAILQ_REMOVE(&bus->drivers, drv, next);
	pthread_mutex_unlock(&bus->lock);
	bus_event_emit(bus, FACET_BUS_EVENT_DRIVER_DEL, NULL, ops->name, 0);
	free(drv);
	return 0;
}

int facet_bus_driver_unregister(struct facet_bus *bus, const struct facet_bus_driver *drv)
{
	if (!bus || !drv)
		return -EINVAL;
	return bus_driver_remove(bus, drv);
}
