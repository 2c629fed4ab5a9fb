/* SPDX-License-Identifier: MIT */
/*
 * facet_bus_driver: the plugin bus, driver side.
 *
 * Two roles use this header:
 *
 * - A core driver *publishes* function slices of its device as bus devices:
 *   facet_bus_device_init() then facet_bus_device_add(); later
 *   facet_bus_device_del() then facet_bus_device_put(). Each device carries a
 *   typed core handle, the API the slice driver uses to reach the core.
 *
 * - A slice driver declares an id table and probe/remove callbacks, and ships
 *   in a plugin: a shared object exporting FACET_BUS_PLUGIN(). The bus reads
 *   the plugin's id table from the file without loading it, and loads it when
 *   a device it matches appears.
 *
 * Device lifetime
 * ---------------
 * facet_bus_device_init() returns a device holding one reference, owned by
 * the publisher. Until facet_bus_device_add() succeeds the publisher may set
 * attributes; if add fails (or is never called) the publisher drops its
 * reference with facet_bus_device_put() and the release() callback frees
 * whatever the publisher allocated. After add, the bus holds its own
 * reference; facet_bus_device_del() unbinds the driver, takes the device off
 * the bus and drops that reference, and the publisher then drops its own.
 * release() runs exactly once, when the last reference goes, from whichever
 * thread drops it. A deleted device answers -ENODEV to every call that needs
 * it registered; it never becomes a dangling pointer while referenced.
 * A device published while its parent is bound to a plugin's driver usually
 * points into that plugin (release(), the core handle), so the plugin stays
 * mapped, even across facet_bus_plugin_unload(), until the device is released.
 *
 * Parents and children
 * --------------------
 * A device's children belong to its binding: before a driver's remove() runs
 * (unbind, delete, or a failed probe), the bus deletes every child that is
 * still registered, so slice drivers are always removed while their core is
 * alive. A publisher that deletes its children itself in remove() finds them
 * already deleted; facet_bus_device_del() on a deleted device is a no-op.
 *
 * Locking
 * -------
 * probe() and remove() run with the device's lock held and no bus-wide lock,
 * so they may publish and delete other devices (children), which is how a
 * core driver's probe creates its slices. They must not bind, unbind or
 * delete their own device (-EDEADLK).
 */
#ifndef FACET_BUS_DRIVER_H
#define FACET_BUS_DRIVER_H

#include <stdint.h>

#include "facet_bus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- publishing devices ------------------------------------------------- */

/**
 * The typed API a core driver hands to the slice driver. @api names the ops
 * table's type and @version its layout; a slice driver asks for the API it was
 * built against and is refused anything else, so a mismatched plugin fails at
 * probe instead of calling through the wrong table.
 */
struct facet_bus_core_handle {
	const char *api;  /**< e.g. "refnic.core"; must stay valid while the device lives */
	uint32_t version; /**< layout version of @ops; must match exactly */
	const void *ops;  /**< the API's function table */
	void *ctx;	  /**< the core's context, passed back to @ops */
};

/** What a publisher says about a new device. */
struct facet_bus_device_info {
	const char *core;			  /**< core name, "refnic" */
	const char *slice;			  /**< slice name, "eth" */
	uint32_t id;				  /**< instance, the "0" of "refnic.eth.0" */
	struct facet_bus_device *parent;	  /**< optional; a reference is taken */
	struct facet_bus_core_handle core_handle; /**< optional (api NULL: none) */
	/** Called once when the last reference is dropped; may be NULL. */
	void (*release)(struct facet_bus_device *dev, void *publisher_ctx);
	void *publisher_ctx; /**< for release() and facet_bus_device_publisher_ctx() */
};

/**
 * Step one: create a device on @bus from @info. Names are made of lowercase
 * letters, digits, '_' and '-'. Returns 0 and sets *@dev (holding one
 * reference), -EINVAL (bad name), -ENAMETOOLONG, -ENODEV (parent deleted)
 * or -ENOMEM.
 */
int facet_bus_device_init(struct facet_bus *bus, const struct facet_bus_device_info *info,
			  struct facet_bus_device **dev);

/**
 * Set attribute @key to @value (copied). Only before facet_bus_device_add();
 * then -EBUSY. Setting a key twice replaces its value. Returns 0, -EBUSY,
 * -EINVAL (empty key), -ENAMETOOLONG or -ENOMEM.
 */
int facet_bus_device_set_attr(struct facet_bus_device *dev, const char *key, const char *value);

/**
 * Step two: put the device on the bus, announce it (ADD event) and, unless
 * autoprobe is off, bind a matching driver, loading its plugin if needed. A
 * failing probe does not fail the add. Returns 0, -EEXIST (name taken),
 * -ENODEV (parent deleted meanwhile) or -EALREADY (added before).
 */
int facet_bus_device_add(struct facet_bus_device *dev);

/**
 * Unbind and take the device off the bus (REMOVE event), then drop the bus's
 * reference. A no-op on a device that is not on the bus. Children are deleted
 * first. Must not be called from the device's own probe() or remove().
 */
void facet_bus_device_del(struct facet_bus_device *dev);

/** The publisher's context from facet_bus_device_info. */
void *facet_bus_device_publisher_ctx(const struct facet_bus_device *dev);

/** The bus @dev is on; a core driver publishes its slices there. */
struct facet_bus *facet_bus_device_bus(const struct facet_bus_device *dev);

/**
 * The core handle of @dev, if it has API @api at @version. Returns 0 and sets
 * *@handle, -ENODEV (device deleted), -ENOENT (no handle) or -EPROTO (another
 * API or version; logged with both names).
 */
int facet_bus_device_core(const struct facet_bus_device *dev, const char *api, uint32_t version,
			  const struct facet_bus_core_handle **handle);

/* ---- writing drivers ---------------------------------------------------- */

/**
 * One match entry: a match name "<core>.<slice>" and a value for the driver.
 * Fixed-size so that the bus can read a plugin's table from its file.
 */
struct facet_bus_device_id {
	char name[FACET_BUS_MATCH_MAX];
	uint64_t driver_data;
};

/** A slice (or core) driver. */
struct facet_bus_driver {
	/** Unique name, "refnic_eth". */
	const char *name;
	/** Match entries ending in an empty name; declare with FACET_BUS_ID_TABLE. */
	const struct facet_bus_device_id *id_table;
	/**
	 * Bind to @dev. @id is the matching entry, or NULL when the device was
	 * bound through a driver override that the table does not list. Return 0
	 * or a negative errno; on failure the driver must have undone everything
	 * it did (the bus clears drvdata and deletes children left behind).
	 */
	int (*probe)(struct facet_bus_device *dev, const struct facet_bus_device_id *id);
	/** Unbind from @dev: stop using it, free what probe() allocated. May be NULL. */
	void (*remove)(struct facet_bus_device *dev);
};

/** Attach driver data to a bound device (typically in probe()). */
void facet_bus_device_set_drvdata(struct facet_bus_device *dev, void *data);

/** Driver data set by the bound driver, or NULL. */
void *facet_bus_device_get_drvdata(const struct facet_bus_device *dev);

/**
 * Register a driver that is linked into the application (plugins need not
 * call this: the bus registers theirs). Binds it to every unbound device it
 * matches. @drv must stay valid until unregistered. Returns 0, -EEXIST (a
 * driver of that name exists) or -EINVAL.
 */
int facet_bus_driver_register(struct facet_bus *bus, const struct facet_bus_driver *drv);

/** Unbind @drv from all its devices and unregister it. Returns 0 or -ENOENT. */
int facet_bus_driver_unregister(struct facet_bus *bus, const struct facet_bus_driver *drv);

/* ---- plugins ------------------------------------------------------------ */

/** Layout version of struct facet_bus_plugin and struct facet_bus_driver. */
#define FACET_BUS_PLUGIN_ABI	1
/** ELF section holding the id tables, read by the bus without loading the plugin. */
#define FACET_BUS_IDS_SECTION	".facet_bus_ids"
/** Symbol every plugin exports. */
#define FACET_BUS_PLUGIN_SYMBOL "facet_bus_plugin"

/** What a plugin exports (use FACET_BUS_PLUGIN, not this directly). */
struct facet_bus_plugin {
	uint32_t abi;				       /**< FACET_BUS_PLUGIN_ABI */
	const struct facet_bus_driver *const *drivers; /**< NULL-terminated */
};

/**
 * Declare a driver's id table; it lands in the section the bus scans, which
 * is how a plugin is found without being loaded (like a kernel modalias).
 */
#define FACET_BUS_ID_TABLE(sym)                                                                    \
	__attribute__((used, section(FACET_BUS_IDS_SECTION),                                       \
		       aligned(8))) static const struct facet_bus_device_id sym[]

/** Export the plugin's drivers: FACET_BUS_PLUGIN(&drv_a, &drv_b). */
#define FACET_BUS_PLUGIN(...)                                                                      \
	__attribute__((visibility("default"))) const struct facet_bus_plugin facet_bus_plugin = {  \
		.abi = FACET_BUS_PLUGIN_ABI,                                                       \
		.drivers = (const struct facet_bus_driver *const[]){ __VA_ARGS__, NULL },          \
	}

#ifdef __cplusplus
}
#endif

#endif /* FACET_BUS_DRIVER_H */
