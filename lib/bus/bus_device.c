/* SPDX-License-Identifier: MIT */
/*
 * Device lifetime: init, attributes, add, del, references and release. The
 * contract is written once, in facet_bus_driver.h; this file implements it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_private.h"

/* Name components: lowercase letters, digits, '_' and '-'; never '.'. */
static int check_component(const char *what, const char *s)
{
	if (!s || !*s) {
		BUS_ERR("device %s name is empty", what);
		return -EINVAL;
	}
	for (const char *c = s; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')
			continue;
		BUS_ERR("device %s name \"%s\": character '%c' not allowed (use [a-z0-9_-])", what,
			s, *c);
		return -EINVAL;
	}
	return 0;
}

static int format_names(struct facet_bus_device *dev, const struct facet_bus_device_info *info)
{
	int len;

	if (check_component("core", info->core) < 0 || check_component("slice", info->slice) < 0)
		return -EINVAL;
	len = snprintf(dev->match, sizeof(dev->match), "%s.%s", info->core, info->slice);
	if (len < 0 || (size_t)len >= sizeof(dev->match)) {
		BUS_ERR("device match name \"%s.%s\" longer than %d characters", info->core,
			info->slice, FACET_BUS_MATCH_MAX - 1);
		return -ENAMETOOLONG;
	}
	len = snprintf(dev->name, sizeof(dev->name), "%s.%u", dev->match, info->id);
	if (len < 0 || (size_t)len >= sizeof(dev->name)) {
		BUS_ERR("device name \"%s.%u\" too long", dev->match, info->id);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Early check only: facet_bus_device_add() checks again under the lock. */
static bool parent_alive(struct facet_bus_device *parent)
{
	bool alive;

	pthread_mutex_lock(&parent->bus->lock);
	alive = parent->state == BUS_DEV_INIT || parent->state == BUS_DEV_ADDED;
	pthread_mutex_unlock(&parent->bus->lock);
	return alive;
}

int facet_bus_device_init(struct facet_bus *bus, const struct facet_bus_device_info *info,
			  struct facet_bus_device **out)
{
	struct facet_bus_device *dev;
	pthread_mutexattr_t attr;
	int ret;

	if (!bus || !info || !out)
		return -EINVAL;
	if (info->parent && !parent_alive(info->parent)) {
		BUS_ERR("%s.%s.%u: parent %s is deleted", info->core, info->slice, info->id,
			info->parent->name);
		return -ENODEV;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	ret = format_names(dev, info);
	if (ret < 0) {
		free(dev);
		return ret;
	}
	bus_get(bus);
	dev->bus = bus;
	dev->id = info->id;
	dev->core = info->core_handle;
	dev->release = info->release;
	dev->publisher_ctx = info->publisher_ctx;
	atomic_init(&dev->refcnt, 1);
	/* Error-checking: a driver deleting its own device gets EDEADLK, not a hang. */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&dev->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (info->parent) {
		facet_bus_device_get(info->parent);
		dev->parent = info->parent;
		bus_plugin_pin(dev);
	}
	*out = dev;
	return 0;
}

static struct bus_attr *attr_find(const struct facet_bus_device *dev, const char *key)
{
	for (unsigned int i = 0; i < dev->n_attrs; i++) {
		if (strcmp(dev->attrs[i].key, key) == 0)
			return &dev->attrs[i];
	}
	return NULL;
}

static int attr_check(const struct facet_bus_device *dev, const char *key, const char *value)
{
	if (!key || !*key || !value)
		return -EINVAL;
	if (strlen(key) >= FACET_BUS_ATTR_KEY_MAX || strlen(value) >= FACET_BUS_ATTR_VALUE_MAX) {
		BUS_ERR("%s: attribute \"%.32s\" key or value too long", dev->name, key);
		return -ENAMETOOLONG;
	}
	return 0;
}

int facet_bus_device_set_attr(struct facet_bus_device *dev, const char *key, const char *value)
{
	struct bus_attr *attr, *grown;
	char *copy;
	int ret;

	if (!dev)
		return -EINVAL;
	ret = attr_check(dev, key, value);
	if (ret < 0)
		return ret;
	/* Attributes are read without locks once the device is visible. */
	if (dev->state != BUS_DEV_INIT) {
		BUS_ERR("%s: attributes are fixed once the device is added", dev->name);
		return -EBUSY;
	}
	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	attr = attr_find(dev, key);
	if (attr) {
		free(attr->value);
		attr->value = copy;
		return 0;
	}
	grown = realloc(dev->attrs, (dev->n_attrs + 1) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	dev->attrs = grown;
	attr = &dev->attrs[dev->n_attrs];
	attr->key = strdup(key);
	if (!attr->key) {
		free(copy);
		return -ENOMEM;
	}
	attr->value = copy;
	dev->n_attrs++;
	return 0;
}

int bus_device_lock(struct facet_bus_device *dev)
{
	int ret = pthread_mutex_lock(&dev->lock);

	if (ret == EDEADLK)
		BUS_ERR("%s: called from its own probe/remove/event; not allowed", dev->name);
	return -ret;
}

void bus_device_unlock(struct facet_bus_device *dev)
{
	pthread_mutex_unlock(&dev->lock);
}

/* Can @dev join the bus now? Called with the bus lock held. */
static int add_check_locked(struct facet_bus_device *dev)
{
	struct facet_bus_device *parent = dev->parent;

	if (dev->state != BUS_DEV_INIT) {
		BUS_ERR("%s: added twice", dev->name);
		return -EALREADY;
	}
	if (parent && (parent->state != BUS_DEV_ADDED || parent->bind == BUS_BIND_REMOVING)) {
		BUS_ERR("%s: parent %s is going away", dev->name, parent->name);
		return -ENODEV;
	}
	if (bus_find_locked(dev->bus, dev->name)) {
		BUS_ERR("%s: a device of that name exists", dev->name);
		return -EEXIST;
	}
	return 0;
}

int facet_bus_device_add(struct facet_bus_device *dev)
{
	struct facet_bus *bus;
	int ret;

	if (!dev)
		return -EINVAL;
	bus = dev->bus;
	ret = bus_device_lock(dev);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&bus->lock);
	ret = add_check_locked(dev);
	if (ret == 0) {
		facet_bus_device_get(dev); /* the bus's reference */
		TAILQ_INSERT_TAIL(&bus->devices, dev, next);
		dev->state = BUS_DEV_ADDED;
	}
	pthread_mutex_unlock(&bus->lock);
	if (ret == 0) {
		BUS_DEBUG("%s: added", dev->name);
		bus_event_emit(bus, FACET_BUS_EVENT_ADD, dev, NULL, 0);
		if (bus->autoprobe)
			bus_autoprobe_locked(dev);
	}
	bus_device_unlock(dev);
	return ret;
}

static bool pick_child(struct facet_bus_device *dev, void *parent)
{
	return dev->parent == parent && dev->state == BUS_DEV_ADDED;
}

void bus_delete_children(struct facet_bus_device *dev)
{
	struct facet_bus_device **children;
	unsigned int n;

	if (bus_snapshot(dev->bus, pick_child, dev, &children, &n) < 0)
		return;
	/* Newest first, so that later slices (which may depend on earlier ones) go first. */
	for (unsigned int i = n; i-- > 0;)
		facet_bus_device_del(children[i]);
	bus_snapshot_put(children, n);
}

void facet_bus_device_del(struct facet_bus_device *dev)
{
	struct facet_bus *bus;
	bool registered;

	if (!dev || bus_device_lock(dev) < 0)
		return;
	bus = dev->bus;
	pthread_mutex_lock(&bus->lock);
	registered = dev->state == BUS_DEV_ADDED;
	if (registered)
		dev->state = BUS_DEV_DELETING;
	pthread_mutex_unlock(&bus->lock);
	if (!registered) {
		bus_device_unlock(dev);
		return;
	}
	if (dev->bind == BUS_BIND_BOUND)
		bus_unbind_locked(dev); /* deletes the children too */
	else
		bus_delete_children(dev);
	pthread_mutex_lock(&bus->lock);
	TAILQ_REMOVE(&bus->devices, dev, next);
	dev->state = BUS_DEV_DELETED;
	pthread_mutex_unlock(&bus->lock);
	BUS_DEBUG("%s: deleted", dev->name);
	bus_event_emit(bus, FACET_BUS_EVENT_REMOVE, dev, NULL, 0);
	bus_device_unlock(dev);
	facet_bus_device_put(dev); /* the bus's reference */
}

void facet_bus_device_get(struct facet_bus_device *dev)
{
	atomic_fetch_add_explicit(&dev->refcnt, 1, memory_order_relaxed);
}

static void device_release(struct facet_bus_device *dev)
{
	for (unsigned int i = 0; i < dev->n_attrs; i++) {
		free(dev->attrs[i].key);
		free(dev->attrs[i].value);
	}
	free(dev->attrs);
	if (dev->release)
		dev->release(dev, dev->publisher_ctx);
	bus_plugin_unpin(dev); /* after release(): it may live in the plugin */
	if (dev->parent)
		facet_bus_device_put(dev->parent);
	pthread_mutex_destroy(&dev->lock);
	bus_put(dev->bus);
	free(dev);
}

void facet_bus_device_put(struct facet_bus_device *dev)
{
	if (!dev)
		return;
	if (atomic_fetch_sub_explicit(&dev->refcnt, 1, memory_order_acq_rel) == 1)
		device_release(dev);
}

int bus_snapshot(struct facet_bus *bus, bool (*pick)(struct facet_bus_device *, void *), void *arg,
		 struct facet_bus_device ***out, unsigned int *n_out)
{
	struct facet_bus_device *dev, **devs = NULL, **grown;
	unsigned int n = 0, cap = 0;
	int ret = 0;

	pthread_mutex_lock(&bus->lock);
	TAILQ_FOREACH(dev, &bus->devices, next)
	{
		if (!pick(dev, arg))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(devs, cap * sizeof(*devs));
			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			devs = grown;
		}
		facet_bus_device_get(dev);
		devs[n++] = dev;
	}
	pthread_mutex_unlock(&bus->lock);
	if (ret < 0) {
		bus_snapshot_put(devs, n);
		return ret;
	}
	*out = devs;
	*n_out = n;
	return 0;
}

void bus_snapshot_put(struct facet_bus_device **devs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		facet_bus_device_put(devs[i]);
	free(devs);
}

/* ---- accessors ---------------------------------------------------------- */

const char *facet_bus_device_name(const struct facet_bus_device *dev)
{
	return dev->name;
}

const char *facet_bus_device_match_name(const struct facet_bus_device *dev)
{
	return dev->match;
}

uint32_t facet_bus_device_id(const struct facet_bus_device *dev)
{
	return dev->id;
}

struct facet_bus_device *facet_bus_device_parent(const struct facet_bus_device *dev)
{
	return dev->parent;
}

void *facet_bus_device_publisher_ctx(const struct facet_bus_device *dev)
{
	return dev->publisher_ctx;
}

struct facet_bus *facet_bus_device_bus(const struct facet_bus_device *dev)
{
	return dev->bus;
}

int facet_bus_device_override(struct facet_bus_device *dev, char *buf, size_t len)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&dev->bus->lock);
	if (dev->override[0]) {
		snprintf(buf, len, "%s", dev->override);
		ret = 0;
	}
	pthread_mutex_unlock(&dev->bus->lock);
	return ret;
}

const char *facet_bus_device_attr(const struct facet_bus_device *dev, const char *key)
{
	const struct bus_attr *attr = key ? attr_find(dev, key) : NULL;

	return attr ? attr->value : NULL;
}

int facet_bus_device_attr_at(const struct facet_bus_device *dev, unsigned int index,
			     const char **key, const char **value)
{
	if (index >= dev->n_attrs)
		return -ENOENT;
	*key = dev->attrs[index].key;
	*value = dev->attrs[index].value;
	return 0;
}

bool facet_bus_device_is_registered(const struct facet_bus_device *dev)
{
	struct facet_bus *bus = dev->bus;
	bool registered;

	pthread_mutex_lock(&bus->lock);
	registered = dev->state == BUS_DEV_ADDED;
	pthread_mutex_unlock(&bus->lock);
	return registered;
}

int facet_bus_device_driver_name(struct facet_bus_device *dev, char *buf, size_t len)
{
	struct facet_bus *bus = dev->bus;
	int ret = 0;

	pthread_mutex_lock(&bus->lock);
	if (dev->state == BUS_DEV_DELETED)
		ret = -ENODEV;
	else if (dev->bind != BUS_BIND_BOUND || !dev->driver)
		ret = -ENOENT;
	else
		snprintf(buf, len, "%s", dev->driver->ops->name);
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

int facet_bus_device_core(const struct facet_bus_device *dev, const char *api, uint32_t version,
			  const struct facet_bus_core_handle **handle)
{
	bool deleted;

	if (!dev || !api || !handle)
		return -EINVAL;
	pthread_mutex_lock(&dev->bus->lock);
	deleted = dev->state == BUS_DEV_DELETED;
	pthread_mutex_unlock(&dev->bus->lock);
	if (deleted)
		return -ENODEV;
	if (!dev->core.api)
		return -ENOENT;
	if (strcmp(dev->core.api, api) != 0 || dev->core.version != version) {
		BUS_ERR("%s: core API is %s v%u, driver wants %s v%u", dev->name, dev->core.api,
			dev->core.version, api, version);
		return -EPROTO;
	}
	*handle = &dev->core;
	return 0;
}

void facet_bus_device_set_drvdata(struct facet_bus_device *dev, void *data)
{
	dev->drvdata = data;
}

void *facet_bus_device_get_drvdata(const struct facet_bus_device *dev)
{
	return dev->drvdata;
}
