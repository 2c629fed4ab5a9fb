/* SPDX-License-Identifier: MIT */
/*
 * facet_bus: the plugin bus, application side.
 *
 * A bus holds devices published by core drivers ("refnic.eth.0") and slice
 * drivers that bind to them. Drivers come from plugins (shared objects) that
 * the bus loads on demand. This header is what an application or a control
 * tool uses: create a bus, look at its devices, bind and unbind them, follow
 * events. Publishing devices and writing drivers is in facet_bus_driver.h.
 *
 * All functions are thread-safe. Errors are negative errno values, each with
 * a log line (tag "bus") saying what went wrong.
 */
#ifndef FACET_BUS_H
#define FACET_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest device name, "<core>.<slice>.<id>", including the NUL. */
#define FACET_BUS_NAME_MAX	  64
/** Longest match name, "<core>.<slice>", including the NUL. */
#define FACET_BUS_MATCH_MAX	  48
/** Longest driver name, including the NUL. */
#define FACET_BUS_DRIVER_NAME_MAX 48
/** Longest attribute key and value, including the NUL. */
#define FACET_BUS_ATTR_KEY_MAX	  32
#define FACET_BUS_ATTR_VALUE_MAX  256

/** Environment variable: colon-separated plugin directories (overrides the default). */
#define FACET_BUS_PLUGIN_PATH_ENV "FACET_PLUGIN_PATH"

struct facet_bus;
struct facet_bus_device;

/** Options for facet_bus_create(); a zeroed struct (or NULL) gives the defaults. */
struct facet_bus_config {
	/** Colon-separated plugin directories; NULL: $FACET_PLUGIN_PATH, else the default. */
	const char *plugin_path;
	/** Do not bind devices when they are added; bind only on request. */
	bool no_autoprobe;
	/** Never load plugins implicitly (facet_bus_plugin_load() still works). */
	bool no_autoload;
};

/**
 * Create a bus. Returns 0 and sets *@bus, or -ENOMEM.
 * The default plugin directory is the build tree's when the bus library runs
 * from the build tree, and the installed one otherwise.
 */
int facet_bus_create(const struct facet_bus_config *config, struct facet_bus **bus);

/**
 * Delete every device (children before parents, so every driver's remove()
 * runs), unregister every driver, unload the plugins and free the bus.
 * Device references the caller still holds stay valid until put (the
 * devices are deleted, so most calls on them answer -ENODEV); the bus's
 * memory, and any plugin such a device points into, go with the last one.
 */
void facet_bus_destroy(struct facet_bus *bus);

/* ---- devices ------------------------------------------------------------ */

/**
 * Find a device by name and take a reference (drop it with
 * facet_bus_device_put()). Returns NULL if there is none.
 */
struct facet_bus_device *facet_bus_find_device(struct facet_bus *bus, const char *name);

/**
 * Call @fn for every device present when the call starts, in the order they
 * were added (parents before their children). The bus lock is not held while
 * @fn runs, so @fn may call any bus function. Return non-zero from @fn to stop;
 * that value is returned.
 */
int facet_bus_for_each_device(struct facet_bus *bus,
			      int (*fn)(struct facet_bus_device *dev, void *arg), void *arg);

/** Take a reference on @dev. */
void facet_bus_device_get(struct facet_bus_device *dev);

/** Drop a reference; the last one releases the device (its publisher's release() runs). */
void facet_bus_device_put(struct facet_bus_device *dev);

/** Full name, "refnic.eth.0". Valid as long as a reference is held. */
const char *facet_bus_device_name(const struct facet_bus_device *dev);

/** Match name, "refnic.eth". */
const char *facet_bus_device_match_name(const struct facet_bus_device *dev);

/** Numeric instance id, the last component of the name. */
uint32_t facet_bus_device_id(const struct facet_bus_device *dev);

/** The parent device, or NULL. No reference is taken; valid while @dev is. */
struct facet_bus_device *facet_bus_device_parent(const struct facet_bus_device *dev);

/** Value of attribute @key, or NULL. Attributes are fixed once the device is added. */
const char *facet_bus_device_attr(const struct facet_bus_device *dev, const char *key);

/**
 * Attribute number @index, in the order they were set. Returns 0 and sets
 * *@key and *@value, or -ENOENT past the end.
 */
int facet_bus_device_attr_at(const struct facet_bus_device *dev, unsigned int index,
			     const char **key, const char **value);

/** True between facet_bus_device_add() and facet_bus_device_del(). */
bool facet_bus_device_is_registered(const struct facet_bus_device *dev);

/**
 * Copy the name of the bound driver into @buf (at least FACET_BUS_DRIVER_NAME_MAX
 * bytes). Returns 0, -ENOENT if unbound, or -ENODEV if deleted. The answer may
 * be stale by the time it returns if other threads bind or unbind.
 */
int facet_bus_device_driver_name(struct facet_bus_device *dev, char *buf, size_t len);

/**
 * Copy the driver override of @dev into @buf. Returns 0, or -ENOENT when
 * there is none.
 */
int facet_bus_device_override(struct facet_bus_device *dev, char *buf, size_t len);

/* ---- binding ------------------------------------------------------------ */

/**
 * Bind device @dev_name. With @drv_name NULL the bus picks the first loaded
 * driver that matches (loading a plugin if needed), as on hotplug; otherwise
 * it binds that driver, which must match the device (or be its override).
 * Returns 0, -ENODEV (no such device), -EBUSY (already bound), -ENOENT (no
 * such driver / no matching driver), -EPERM (override names another driver),
 * -ENXIO (the driver does not match), or the probe's error.
 */
int facet_bus_bind(struct facet_bus *bus, const char *dev_name, const char *drv_name);

/**
 * Unbind @dev_name: its driver's remove() runs, after the bus has deleted the
 * device's children. Returns 0, -ENODEV, or -ENOENT (not bound).
 */
int facet_bus_unbind(struct facet_bus *bus, const char *dev_name);

/** Unbind (if bound) and bind again by matching, e.g. after an override change. */
int facet_bus_rebind(struct facet_bus *bus, const char *dev_name);

/**
 * Set or clear (@drv_name NULL) the driver override of @dev_name: only that
 * driver may bind the device, whatever its id table says. Takes effect on the
 * next bind; a bound device stays bound. Returns 0, -ENODEV or -ENAMETOOLONG.
 */
int facet_bus_set_override(struct facet_bus *bus, const char *dev_name, const char *drv_name);

/* ---- drivers and plugins ------------------------------------------------ */

/**
 * Call @fn for each registered driver with its name and the plugin file it
 * came from (NULL for drivers registered by the application itself).
 */
int facet_bus_for_each_driver(struct facet_bus *bus,
			      int (*fn)(const char *drv_name, const char *plugin, void *arg),
			      void *arg);

/**
 * Call @fn for each plugin file in the plugin path (the index is refreshed
 * first): its path, whether it is loaded, and the match names it declares,
 * comma-separated ("" for a file that is not a readable plugin).
 */
int facet_bus_for_each_plugin(struct facet_bus *bus,
			      int (*fn)(const char *path, bool loaded, const char *matches,
					void *arg),
			      void *arg);

/**
 * Load a plugin by file path or by file name in the plugin path, and register
 * its drivers (binding them to matching unbound devices). Returns 0, -EEXIST
 * (it is loaded already, or a driver it contains is registered under that
 * name), -ENOENT, -EBUSY (another thread is unloading it), or -ELIBBAD (not a
 * Facet plugin, truncated, wrong ABI, dlopen failure; the log names the file
 * and the reason).
 */
int facet_bus_plugin_load(struct facet_bus *bus, const char *plugin);

/**
 * Unload a plugin: unbind every device bound to its drivers, unregister the
 * drivers and dlclose it. The next bind that needs it loads it again, which
 * is how one slice driver is replaced while its siblings keep running.
 * @plugin is a file name ("facet_rdma_refnic.so") or path. Returns 0, -ENOENT
 * (not loaded) or -EBUSY (another thread is unloading it).
 */
int facet_bus_plugin_unload(struct facet_bus *bus, const char *plugin);

/* ---- events ------------------------------------------------------------- */

/** What happened. */
enum facet_bus_event_type {
	FACET_BUS_EVENT_ADD = 1 << 0,	     /**< device added */
	FACET_BUS_EVENT_REMOVE = 1 << 1,     /**< device deleted */
	FACET_BUS_EVENT_BIND = 1 << 2,	     /**< driver probed the device successfully */
	FACET_BUS_EVENT_UNBIND = 1 << 3,     /**< driver removed from the device */
	FACET_BUS_EVENT_PROBE_FAIL = 1 << 4, /**< a probe failed; error is set */
	FACET_BUS_EVENT_DRIVER_ADD = 1 << 5, /**< driver registered (dev is NULL) */
	FACET_BUS_EVENT_DRIVER_DEL = 1 << 6, /**< driver unregistered (dev is NULL) */
};

/** All event types, for subscribing to everything. */
#define FACET_BUS_EVENT_ALL 0x7f

/** One event, valid only during the callback. */
struct facet_bus_event {
	enum facet_bus_event_type type;
	struct facet_bus_device *dev; /**< NULL for driver events */
	const char *dev_name;	      /**< NULL for driver events */
	const char *driver;	      /**< driver name for bind/unbind/probe-fail/driver events */
	int error;		      /**< probe error for PROBE_FAIL, else 0 */
};

/**
 * Event callback. It runs synchronously in the thread that caused the event;
 * for device events the device's lock is held, so events of one device arrive
 * in order (add, bind, unbind, remove) and the callback must not bind, unbind
 * or delete that same device (it may do anything to others, and may query it).
 * It must not subscribe or unsubscribe.
 */
typedef void (*facet_bus_event_fn)(const struct facet_bus_event *event, void *arg);

/**
 * Subscribe @fn to the events in @mask (FACET_BUS_EVENT_*). Returns a positive
 * subscription id, or -EINVAL / -ENOMEM.
 */
int facet_bus_subscribe(struct facet_bus *bus, unsigned int mask, facet_bus_event_fn fn, void *arg);

/**
 * Cancel a subscription. When it returns, the callback is not running and
 * will not run again. Returns 0, -ENOENT, or -EDEADLK if called from a callback.
 */
int facet_bus_unsubscribe(struct facet_bus *bus, int id);

/** Name of an event type ("add", "bind", ...). */
const char *facet_bus_event_name(enum facet_bus_event_type type);

#ifdef __cplusplus
}
#endif

#endif /* FACET_BUS_H */
