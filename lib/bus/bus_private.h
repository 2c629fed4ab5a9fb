/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/bus: the objects behind the opaque handles, and how the
 * files of the bus share them.
 *
 * Locks, in the only order they may be taken:
 *
 *   device lock  ->  plugin_lock  ->  bus lock  ->  subs_lock (read)
 *
 * - bus->lock (mutex) guards the device and driver lists, each device's
 *   registration and bind state, and the driver records. It is never held
 *   across a callback, a dlopen or while taking a device lock.
 * - dev->lock (error-checking mutex) serializes bind, unbind and delete of one
 *   device; probe(), remove() and that device's events run under it. A thread
 *   may hold several device locks only parent before child.
 * - bus->plugin_lock serializes the plugin index and dlopen; it is released
 *   before any newly loaded driver is bound to anything.
 * - bus->subs_lock (rwlock, readers preferred) lets event delivery run
 *   concurrently and lets unsubscribe wait for callbacks in flight.
 */
#ifndef FACET_BUS_PRIVATE_H
#define FACET_BUS_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <time.h>

#include "facet_bus_driver.h"
#include "facet_log.h"

#define BUS_TAG "bus"

#define BUS_ERR(...)   FACET_ERR(BUS_TAG, __VA_ARGS__)
#define BUS_WARN(...)  FACET_WARN(BUS_TAG, __VA_ARGS__)
#define BUS_INFO(...)  FACET_INFO(BUS_TAG, __VA_ARGS__)
#define BUS_DEBUG(...) FACET_DEBUG(BUS_TAG, __VA_ARGS__)

struct bus_plugin;

/* Registration state of a device; changes under both dev->lock and bus->lock. */
enum bus_dev_state {
	BUS_DEV_INIT,	  /* initialized, attributes may be set */
	BUS_DEV_ADDED,	  /* on the bus */
	BUS_DEV_DELETING, /* being deleted: no new binds, no new children */
	BUS_DEV_DELETED,  /* off the bus for good */
};

/* Bind state; changes under both dev->lock and bus->lock. */
enum bus_bind_state {
	BUS_BIND_NONE,	   /* no driver */
	BUS_BIND_PROBING,  /* a thread holds the lock and is matching or probing */
	BUS_BIND_BOUND,	   /* driver bound */
	BUS_BIND_REMOVING, /* children being deleted, then remove() */
};

struct bus_attr {
	char *key;
	char *value;
};

/* A registered driver: the driver's const ops plus the bus's bookkeeping. */
struct bus_driver {
	TAILQ_ENTRY(bus_driver) next;
	const struct facet_bus_driver *ops;
	struct bus_plugin *plugin; /* NULL for drivers the application registered */
	bool dying;		   /* being unregistered: binds refused */
};
TAILQ_HEAD(bus_driver_list, bus_driver);

struct facet_bus_device {
	TAILQ_ENTRY(facet_bus_device) next;
	struct facet_bus *bus;
	atomic_uint refcnt;
	pthread_mutex_t lock;

	char name[FACET_BUS_NAME_MAX];
	char match[FACET_BUS_MATCH_MAX];
	uint32_t id;
	struct facet_bus_device *parent;
	struct facet_bus_core_handle core;
	void (*release)(struct facet_bus_device *dev, void *publisher_ctx);
	void *publisher_ctx;
	struct bus_attr *attrs;
	unsigned int n_attrs;
	struct bus_plugin *pinned; /* plugin kept mapped until release, or NULL */

	/* Guarded as described above. */
	enum bus_dev_state state;
	enum bus_bind_state bind;
	struct bus_driver *driver;
	void *drvdata;
	char override[FACET_BUS_DRIVER_NAME_MAX]; /* empty: none */
};
TAILQ_HEAD(bus_device_list, facet_bus_device);

struct bus_subscriber {
	TAILQ_ENTRY(bus_subscriber) next;
	int id;
	unsigned int mask;
	facet_bus_event_fn fn;
	void *arg;
};
TAILQ_HEAD(bus_subscriber_list, bus_subscriber);

/* A plugin file seen in the plugin path, loaded or not. */
struct bus_plugin {
	TAILQ_ENTRY(bus_plugin) next;
	char *path;
	const char *file; /* base name, points into path */
	char (*matches)[FACET_BUS_MATCH_MAX];
	unsigned int n_matches;
	void *handle;	   /* dlopen handle; NULL while not loaded */
	void *zombie;	   /* unloaded but still pinned: dlclose at last unpin */
	unsigned int pins; /* devices pointing into this plugin */
	bool broken;	   /* failed to load; not retried until it changes */
	bool unloading;	   /* its drivers are being unregistered */
	dev_t dev;	   /* identity of the file, so a symlink is indexed once */
	ino_t ino;
	struct timespec mtime; /* to notice a rebuilt file */
	off_t size;
};
TAILQ_HEAD(bus_plugin_list, bus_plugin);

struct facet_bus {
	atomic_uint refcnt; /* the creator's, plus one per device */
	pthread_mutex_t lock;
	struct bus_device_list devices;
	struct bus_driver_list drivers;

	pthread_mutex_t plugin_lock;
	struct bus_plugin_list plugins;
	char *plugin_path;
	bool autoprobe;
	bool autoload;

	pthread_rwlock_t subs_lock;
	struct bus_subscriber_list subs;
	int next_sub_id;
};

/* bus.c */
void bus_get(struct facet_bus *bus);
void bus_put(struct facet_bus *bus);
struct facet_bus_device *bus_find_locked(struct facet_bus *bus, const char *name);
struct bus_driver *bus_driver_find_locked(struct facet_bus *bus, const char *name);

/* bus_device.c */
int bus_device_lock(struct facet_bus_device *dev);
void bus_device_unlock(struct facet_bus_device *dev);
/* Snapshot of referenced devices for which @pick returns true (under the bus lock). */
int bus_snapshot(struct facet_bus *bus, bool (*pick)(struct facet_bus_device *, void *), void *arg,
		 struct facet_bus_device ***devs, unsigned int *n);
void bus_snapshot_put(struct facet_bus_device **devs, unsigned int n);
/* Delete every registered child of @dev (dev->lock held). */
void bus_delete_children(struct facet_bus_device *dev);

/* bus_bind.c (callers hold dev->lock) */
void bus_autoprobe_locked(struct facet_bus_device *dev);
void bus_unbind_locked(struct facet_bus_device *dev);
/* Register all of @ops (NULL-terminated) or none; emits no event. */
int bus_drivers_add(struct facet_bus *bus, const struct facet_bus_driver *const *ops,
		    struct bus_plugin *plugin);
/* Bind @drv_name to every unbound device it accepts; @try_lock skips busy devices. */
void bus_driver_attach_all(struct facet_bus *bus, const char *drv_name, bool try_lock);
int bus_driver_remove(struct facet_bus *bus, const struct facet_bus_driver *ops);
bool bus_driver_matches(const struct facet_bus_driver *ops, const char *match,
			const struct facet_bus_device_id **id);

/* bus_plugin.c */
void bus_plugin_autoload(struct facet_bus *bus, const char *match);
/* At destroy: dlclose what no device points into; the rest waits for unpin. */
void bus_plugins_unload_all(struct facet_bus *bus);
/* At the last bus reference: free the index. */
void bus_plugins_free(struct facet_bus *bus);
/* Keep @dev's parent's plugin mapped while @dev lives (see facet_bus_driver.h). */
void bus_plugin_pin(struct facet_bus_device *dev);
void bus_plugin_unpin(struct facet_bus_device *dev);
const char *bus_plugin_default_path(void);

/* bus_plugin_elf.c */
int bus_elf_read_ids(const char *path, char (**matches)[FACET_BUS_MATCH_MAX], unsigned int *n);
/* 0 if @path is a 64-bit ELF whose segments all lie inside the file. */
int bus_elf_check_loadable(const char *path);

/* bus_event.c */
void bus_event_emit(struct facet_bus *bus, enum facet_bus_event_type type,
		    struct facet_bus_device *dev, const char *driver, int error);
void bus_events_destroy(struct facet_bus *bus);

#endif /* FACET_BUS_PRIVATE_H */
