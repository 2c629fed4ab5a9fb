/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the bus tests: publishing devices whose release() is
 * counted, and recording events.
 */
#ifndef TBUS_H
#define TBUS_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "facet_bus_driver.h"

/* Publisher context: counts release() calls and records their global order. */
struct trel {
	atomic_int released;
	int order;
};

static atomic_int trel_seq;

static inline void trel_release(struct facet_bus_device *dev, void *ctx)
{
	struct trel *r = ctx;

	r->order = atomic_fetch_add(&trel_seq, 1) + 1;
	atomic_fetch_add(&r->released, 1);
}

static inline int trel_count(struct trel *r)
{
	return atomic_load(&r->released);
}

/* Initialize "<core>.<slice>.<id>" with release counted in @rel (may be NULL). */
static inline int tdev_init(struct facet_bus *bus, const char *core, const char *slice, uint32_t id,
			    struct facet_bus_device *parent, struct trel *rel,
			    struct facet_bus_device **dev)
{
	struct facet_bus_device_info info = {
		.core = core,
		.slice = slice,
		.id = id,
		.parent = parent,
		.release = rel ? trel_release : NULL,
		.publisher_ctx = rel,
	};

	return facet_bus_device_init(bus, &info, dev);
}

/* init + add; on failure of add the device is put and the error returned. */
static inline int tdev_publish(struct facet_bus *bus, const char *core, const char *slice,
			       uint32_t id, struct facet_bus_device *parent, struct trel *rel,
			       struct facet_bus_device **dev)
{
	int ret = tdev_init(bus, core, slice, id, parent, rel, dev);

	if (ret < 0)
		return ret;
	ret = facet_bus_device_add(*dev);
	if (ret < 0) {
		facet_bus_device_put(*dev);
		*dev = NULL;
	}
	return ret;
}

/* del + put, the publisher's way out. */
static inline void tdev_unpublish(struct facet_bus_device *dev)
{
	facet_bus_device_del(dev);
	facet_bus_device_put(dev);
}

/* Name of the driver bound to @name, or "" if unbound, or "?<err>" on error. */
static inline const char *tdev_driver(struct facet_bus *bus, const char *name)
{
	static _Thread_local char buf[FACET_BUS_DRIVER_NAME_MAX + 8];
	struct facet_bus_device *dev = facet_bus_find_device(bus, name);
	int ret;

	if (!dev)
		return "?nodev";
	ret = facet_bus_device_driver_name(dev, buf, FACET_BUS_DRIVER_NAME_MAX);
	if (ret == -ENOENT)
		buf[0] = '\0';
	else if (ret < 0)
		snprintf(buf, sizeof(buf), "?%d", ret);
	facet_bus_device_put(dev);
	return buf;
}

/* ---- event recorder ----------------------------------------------------- */

#define REC_MAX 512

struct rec_event {
	enum facet_bus_event_type type;
	const struct facet_bus_device *dev;
	char dev_name[FACET_BUS_NAME_MAX];
	char driver[FACET_BUS_DRIVER_NAME_MAX];
	bool has_dev_name, has_driver;
	int error;
};

struct recorder {
	pthread_mutex_t lock;
	unsigned int n;
	struct rec_event ev[REC_MAX];
};

static inline void rec_init(struct recorder *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

static inline void rec_clear(struct recorder *r)
{
	pthread_mutex_lock(&r->lock);
	r->n = 0;
	pthread_mutex_unlock(&r->lock);
}

static inline void rec_fn(const struct facet_bus_event *e, void *arg)
{
	struct recorder *r = arg;
	struct rec_event *re;

	pthread_mutex_lock(&r->lock);
	if (r->n < REC_MAX) {
		re = &r->ev[r->n++];
		memset(re, 0, sizeof(*re));
		re->type = e->type;
		re->dev = e->dev;
		re->error = e->error;
		re->has_dev_name = e->dev_name != NULL;
		re->has_driver = e->driver != NULL;
		if (e->dev_name)
			snprintf(re->dev_name, sizeof(re->dev_name), "%s", e->dev_name);
		if (e->driver)
			snprintf(re->driver, sizeof(re->driver), "%s", e->driver);
	}
	pthread_mutex_unlock(&r->lock);
}

/* Index of the first event of @type about @name (device or driver) from @from, or -1. */
static inline int rec_find_from(struct recorder *r, unsigned int from,
				enum facet_bus_event_type type, const char *name)
{
	int found = -1;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = from; i < r->n && found < 0; i++) {
		const struct rec_event *e = &r->ev[i];
		const char *n = e->has_dev_name ? e->dev_name : e->driver;

		if (e->type == type && (!name || strcmp(n, name) == 0))
			found = (int)i;
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}

static inline int rec_find(struct recorder *r, enum facet_bus_event_type type, const char *name)
{
	return rec_find_from(r, 0, type, name);
}

/* Number of events of @type about @name (NULL: any). */
static inline int rec_count(struct recorder *r, enum facet_bus_event_type type, const char *name)
{
	int n = 0;

	for (int i = rec_find(r, type, name); i >= 0; i = rec_find_from(r, i + 1, type, name))
		n++;
	return n;
}

#endif /* TBUS_H */
