/* SPDX-License-Identifier: MIT */
/*
 * Event subscriptions. Delivery is synchronous, under the read side of
 * subs_lock; unsubscribing takes the write side, so when it returns no
 * callback of that subscription is running. The lock prefers readers, which
 * lets a callback cause further events (nested read locks) even while an
 * unsubscribe waits. A thread-local depth refuses (un)subscribing from inside
 * a callback, which would otherwise deadlock on the write side.
 */
#include <errno.h>
#include <stdlib.h>

#include "bus_private.h"

static __thread unsigned int event_depth;

const char *facet_bus_event_name(enum facet_bus_event_type type)
{
	switch (type) {
	case FACET_BUS_EVENT_ADD:
		return "add";
	case FACET_BUS_EVENT_REMOVE:
		return "remove";
	case FACET_BUS_EVENT_BIND:
		return "bind";
	case FACET_BUS_EVENT_UNBIND:
		return "unbind";
	case FACET_BUS_EVENT_PROBE_FAIL:
		return "probe-fail";
	case FACET_BUS_EVENT_DRIVER_ADD:
		return "driver-add";
	case FACET_BUS_EVENT_DRIVER_DEL:
		return "driver-del";
	}
	return "?";
}

int facet_bus_subscribe(struct facet_bus *bus, unsigned int mask, facet_bus_event_fn fn, void *arg)
{
	struct bus_subscriber *sub;
	int id;

	if (!bus || !fn || !mask || (mask & ~FACET_BUS_EVENT_ALL))
		return -EINVAL;
	if (event_depth) {
		BUS_ERR("subscribe from inside an event callback is not allowed");
		return -EDEADLK;
	}
	sub = calloc(1, sizeof(*sub));
	if (!sub)
		return -ENOMEM;
	sub->mask = mask;
	sub->fn = fn;
	sub->arg = arg;
	pthread_rwlock_wrlock(&bus->subs_lock);
	id = sub->id = bus->next_sub_id++;
	TAILQ_INSERT_TAIL(&bus->subs, sub, next);
	pthread_rwlock_unlock(&bus->subs_lock);
	return id;
}

int facet_bus_unsubscribe(struct facet_bus *bus, int id)
{
	struct bus_subscriber *sub;

	if (!bus)
		return -EINVAL;
	if (event_depth) {
		BUS_ERR("unsubscribe from inside an event callback is not allowed");
		return -EDEADLK;
	}
	pthread_rwlock_wrlock(&bus->subs_lock);
	TAILQ_FOREACH(sub, &bus->subs, next)
	{
		if (sub->id == id)
			break;
	}
	if (sub)
		TAILQ_REMOVE(&bus->subs, sub, next);
	pthread_rwlock_unlock(&bus->subs_lock);
	if (!sub)
		return -ENOENT;
	free(sub);
	return 0;
}

void bus_event_emit(struct facet_bus *bus, enum facet_bus_event_type type,
		    struct facet_bus_device *dev, const char *driver, int error)
{
	const struct facet_bus_event event = {
		.type = type,
		.dev = dev,
		.dev_name = dev ? dev->name : NULL,
		.driver = driver,
		.error = error,
	};
	struct bus_subscriber *sub;

	pthread_rwlock_rdlock(&bus->subs_lock);
	event_depth++;
	TAILQ_FOREACH(sub, &bus->subs, next)
	{
		if (sub->mask & type)
			sub->fn(&event, sub->arg);
	}
	event_depth--;
	pthread_rwlock_unlock(&bus->subs_lock);
}

void bus_events_destroy(struct facet_bus *bus)
{
	struct bus_subscriber *sub;

	while ((sub = TAILQ_FIRST(&bus->subs))) {
		TAILQ_REMOVE(&bus->subs, sub, next);
		free(sub);
	}
}
