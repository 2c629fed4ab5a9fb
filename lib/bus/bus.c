/* SPDX-License-Identifier: MIT */
/*
 * The bus object: creation, teardown and lookups. Devices live in
 * bus_device.c, binding in bus_bind.c, plugins in bus_plugin.c and events in
 * bus_event.c; bus_private.h states the locking rules they all follow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_private.h"

int facet_bus_create(const struct facet_bus_config *config, struct facet_bus **out)
{
	static const struct facet_bus_config defaults;
	const char *path;
	struct facet_bus *bus;
	pthread_rwlockattr_t rwattr;

	if (!config)
		config = &defaults;
	path = config->plugin_path ? config->plugin_path : getenv(FACET_BUS_PLUGIN_PATH_ENV);
	if (!path || !*path)
		path = bus_plugin_default_path();

	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return -ENOMEM;
	bus->plugin_path = strdup(path);
	if (!bus->plugin_path) {
		free(bus);
		return -ENOMEM;
	}
	atomic_init(&bus->refcnt, 1);
	pthread_mutex_init(&bus->lock, NULL);
	pthread_mutex_init(&bus->plugin_lock, NULL);
	/* Readers preferred: an event callback may cause nested events. */
	pthread_rwlockattr_init(&rwattr);
	pthread_rwlockattr_setkind_np(&rwattr, PTHREAD_RWLOCK_PREFER_READER_NP);
	pthread_rwlock_init(&bus->subs_lock, &rwattr);
	pthread_rwlockattr_destroy(&rwattr);
	TAILQ_INIT(&bus->devices);
	TAILQ_INIT(&bus->drivers);
	TAILQ_INIT(&bus->plugins);
	TAILQ_INIT(&bus->subs);
	bus->next_sub_id = 1;
	bus->autoprobe = !config->no_autoprobe;
	bus->autoload = !config->no_autoload;
	BUS_DEBUG("bus created, plugin path %s", bus->plugin_path);
	*out = bus;
	return 0;
}

/* Delete root devices one at a time; each deletion takes its subtree with it. */
static void bus_delete_all_devices(struct facet_bus *bus)
{
	struct facet_bus_device *dev;

	for (;;) {
		pthread_mutex_lock(&bus->lock);
		TAILQ_FOREACH(dev, &bus->devices, next)
		{
			if (!dev->parent || dev->parent->state != BUS_DEV_ADDED)
				break;
		}
		if (dev)
			facet_bus_device_get(dev);
		pthread_mutex_unlock(&bus->lock);
		if (!dev)
			return;
		facet_bus_device_del(dev);
		facet_bus_device_put(dev);
	}
}

static void bus_unregister_all_drivers(struct facet_bus *bus)
{
	struct bus_driver *drv;

	for (;;) {
		pthread_mutex_lock(&bus->lock);
		drv = TAILQ_FIRST(&bus->drivers);
		pthread_mutex_unlock(&bus->lock);
		if (!drv)
			return;
		bus_driver_remove(bus, drv->ops);
	}
}

void bus_get(struct facet_bus *bus)
{
	atomic_fetch_add_explicit(&bus->refcnt, 1, memory_order_relaxed);
}

/* The memory goes with the last device still referenced by the application. */
void bus_put(struct facet_bus *bus)
{
	if (atomic_fetch_sub_explicit(&bus->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	bus_plugins_free(bus);
	pthread_rwlock_destroy(&bus->subs_lock);
	pthread_mutex_destroy(&bus->plugin_lock);
	pthread_mutex_destroy(&bus->lock);
	free(bus->plugin_path);
	free(bus);
}

void facet_bus_destroy(struct facet_bus *bus)
{
	if (!bus)
		return;
	bus_delete_all_devices(bus);
	bus_unregister_all_drivers(bus);
	bus_plugins_unload_all(bus);
	bus_events_destroy(bus);
	bus_put(bus);
}

struct facet_bus_device *bus_find_locked(struct facet_bus *bus, const char *name)
{
	struct facet_bus_device *dev;

	TAILQ_FOREACH(dev, &bus->devices, next)
	{
		if (strcmp(dev->name, name) == 0)
			return dev;
	}
	return NULL;
}

struct bus_driver *bus_driver_find_locked(struct facet_bus *bus, const char *name)
{
	struct bus_driver *drv;

	TAILQ_FOREACH(drv, &bus->drivers, next)
	{
		if (strcmp(drv->ops->name, name) == 0)
			return drv;
	}
	return NULL;
}

struct facet_bus_device *facet_bus_find_device(struct facet_bus *bus, const char *name)
{
	struct facet_bus_device *dev;

	if (!bus || !name)
		return NULL;
	pthread_mutex_lock(&bus->lock);
	dev = bus_find_locked(bus, name);
	if (dev)
		facet_bus_device_get(dev);
	pthread_mutex_unlock(&bus->lock);
	return dev;
}

static bool pick_any(struct facet_bus_device *dev, void *arg)
{
	return true;
}

int facet_bus_for_each_device(struct facet_bus *bus,
			      int (*fn)(struct facet_bus_device *dev, void *arg), void *arg)
{
	struct facet_bus_device **devs;
	unsigned int n;
	int ret;

	ret = bus_snapshot(bus, pick_any, NULL, &devs, &n);
	if (ret < 0)
		return ret;
	for (unsigned int i = 0; i < n && ret == 0; i++)
		ret = fn(devs[i], arg);
	bus_snapshot_put(devs, n);
	return ret;
}

struct driver_entry {
	char name[FACET_BUS_DRIVER_NAME_MAX];
	char plugin[256];
};

int facet_bus_for_each_driver(struct facet_bus *bus,
			      int (*fn)(const char *drv_name, const char *plugin, void *arg),
			      void *arg)
{
	struct driver_entry *entries = NULL, *grown;
	struct bus_driver *drv;
	unsigned int n = 0;
	int ret = 0;

	/* Copy names out so that @fn runs without the lock and may unload plugins. */
	pthread_mutex_lock(&bus->lock);
	TAILQ_FOREACH(drv, &bus->drivers, next)
	{
		grown = realloc(entries, (n + 1) * sizeof(*entries));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		entries = grown;
		snprintf(entries[n].name, sizeof(entries[n].name), "%s", drv->ops->name);
		snprintf(entries[n].plugin, sizeof(entries[n].plugin), "%s",
			 drv->plugin ? drv->plugin->file : "");
		n++;
	}
	pthread_mutex_unlock(&bus->lock);
	for (unsigned int i = 0; i < n && ret == 0; i++)
		ret = fn(entries[i].name, entries[i].plugin[0] ? entries[i].plugin : NULL, arg);
	free(entries);
	return ret;
}
