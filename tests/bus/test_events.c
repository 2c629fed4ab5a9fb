/* SPDX-License-Identifier: MIT */
/* Event subscriptions: order, masks, unsubscribe, and what callbacks may do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tbus.h"

static struct recorder rec, rec2;
static struct facet_bus *the_bus;
static int probes;

static const struct facet_bus_device_id ids_a[] = { { "evt.a", 0 }, { "" } };

static int probe_a(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	probes++;
	return facet_bus_device_attr(dev, "fail") ? -EIO : 0;
}

static const struct facet_bus_driver drv_a = { .name = "edrv_a",
					       .id_table = ids_a,
					       .probe = probe_a };

static int setup(void **state)
{
	struct facet_bus_config cfg = { .no_autoload = true };

	rec_init(&rec);
	rec_init(&rec2);
	probes = 0;
	if (facet_bus_create(&cfg, &the_bus) < 0)
		return -1;
	*state = the_bus;
	return 0;
}

static int teardown(void **state)
{
	facet_bus_destroy(*state);
	return 0;
}

static void test_subscribe_invalid(void **state)
{
	struct facet_bus *bus = *state;

	assert_int_equal(facet_bus_subscribe(bus, 0, rec_fn, &rec), -EINVAL);
	assert_int_equal(facet_bus_subscribe(bus, FACET_BUS_EVENT_ALL, NULL, &rec), -EINVAL);
	assert_int_equal(facet_bus_unsubscribe(bus, 12345), -ENOENT);
	assert_int_equal(facet_bus_unsubscribe(bus, 0), -ENOENT);
	assert_int_equal(facet_bus_unsubscribe(bus, -1), -ENOENT);
}

static void test_device_event_order(void **state)
{
	static const enum facet_bus_event_type expect[] = { FACET_BUS_EVENT_ADD,
							    FACET_BUS_EVENT_BIND,
							    FACET_BUS_EVENT_UNBIND,
							    FACET_BUS_EVENT_REMOVE };
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;
	int sub = facet_bus_subscribe(bus, FACET_BUS_EVENT_ALL, rec_fn, &rec);

	assert_true(sub > 0);
	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.ev[0].type, FACET_BUS_EVENT_DRIVER_ADD);
	assert_null(rec.ev[0].dev);
	assert_false(rec.ev[0].has_dev_name);
	assert_string_equal(rec.ev[0].driver, "edrv_a");

	rec_clear(&rec);
	assert_int_equal(tdev_publish(bus, "evt", "a", 0, NULL, NULL, &dev), 0);
	facet_bus_device_del(dev);
	assert_int_equal(rec.n, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(rec.ev[i].type, expect[i]);
		assert_ptr_equal(rec.ev[i].dev, dev);
		assert_string_equal(rec.ev[i].dev_name, "evt.a.0");
		assert_int_equal(rec.ev[i].error, 0);
	}
	assert_string_equal(rec.ev[1].driver, "edrv_a");
	assert_string_equal(rec.ev[2].driver, "edrv_a");
	facet_bus_device_put(dev);

	rec_clear(&rec);
	assert_int_equal(facet_bus_driver_unregister(bus, &drv_a), 0);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.ev[0].type, FACET_BUS_EVENT_DRIVER_DEL);
	assert_string_equal(rec.ev[0].driver, "edrv_a");
	assert_int_equal(facet_bus_unsubscribe(bus, sub), 0);
}

static void test_probe_fail_event(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_true(facet_bus_subscribe(bus, FACET_BUS_EVENT_ALL, rec_fn, &rec) > 0);
	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(tdev_init(bus, "evt", "a", 1, NULL, NULL, &dev), 0);
	assert_int_equal(facet_bus_device_set_attr(dev, "fail", "1"), 0);
	rec_clear(&rec);
	assert_int_equal(facet_bus_device_add(dev), 0);
	assert_int_equal(rec.n, 2);
	assert_int_equal(rec.ev[0].type, FACET_BUS_EVENT_ADD);
	assert_int_equal(rec.ev[1].type, FACET_BUS_EVENT_PROBE_FAIL);
	assert_int_equal(rec.ev[1].error, -EIO);
	assert_string_equal(rec.ev[1].driver, "edrv_a");
	assert_string_equal(rec.ev[1].dev_name, "evt.a.1");
	rec_clear(&rec);
	tdev_unpublish(dev);
	/* Never bound: no unbind. */
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.ev[0].type, FACET_BUS_EVENT_REMOVE);
}

static void test_plugin_driver_events(void **state)
{
	struct facet_bus *bus = *state;

	assert_true(facet_bus_subscribe(bus,
					FACET_BUS_EVENT_DRIVER_ADD | FACET_BUS_EVENT_DRIVER_DEL,
					rec_fn, &rec) > 0);
	assert_int_equal(facet_bus_plugin_load(bus, "tplug_beta.so"), 0);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_ADD, "tdrv_core"), 1);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_ADD, "tdrv_beta"), 1);
	assert_int_equal(rec.n, 2);
	assert_int_equal(facet_bus_plugin_unload(bus, "tplug_beta.so"), 0);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_DEL, "tdrv_core"), 1);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_DEL, "tdrv_beta"), 1);
	assert_int_equal(rec.n, 4);
	assert_null(rec.ev[3].dev);
}

static void test_mask_filter(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_true(facet_bus_subscribe(bus, FACET_BUS_EVENT_BIND | FACET_BUS_EVENT_REMOVE, rec_fn,
					&rec) > 0);
	assert_true(facet_bus_subscribe(bus, FACET_BUS_EVENT_ADD, rec_fn, &rec2) > 0);
	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(tdev_publish(bus, "evt", "a", 2, NULL, NULL, &dev), 0);
	tdev_unpublish(dev);
	assert_int_equal(rec.n, 2);
	assert_int_equal(rec.ev[0].type, FACET_BUS_EVENT_BIND);
	assert_int_equal(rec.ev[1].type, FACET_BUS_EVENT_REMOVE);
	assert_int_equal(rec2.n, 1);
	assert_int_equal(rec2.ev[0].type, FACET_BUS_EVENT_ADD);
}

static void test_unsubscribe_stops(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;
	int sub = facet_bus_subscribe(bus, FACET_BUS_EVENT_ALL, rec_fn, &rec);
	int sub2 = facet_bus_subscribe(bus, FACET_BUS_EVENT_ALL, rec_fn, &rec2);

	assert_true(sub > 0);
	assert_true(sub2 > 0);
	assert_int_not_equal(sub, sub2);
	assert_int_equal(tdev_publish(bus, "evt", "x", 0, NULL, NULL, &dev), 0);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec2.n, 1);
	assert_int_equal(facet_bus_unsubscribe(bus, sub), 0);
	tdev_unpublish(dev);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec2.n, 2);
	assert_int_equal(facet_bus_unsubscribe(bus, sub), -ENOENT);
	assert_int_equal(facet_bus_unsubscribe(bus, sub2), 0);
	assert_true(facet_bus_subscribe(bus, FACET_BUS_EVENT_ALL, rec_fn, &rec) > 0);
}

static int self_sub, other_sub, unsub_self_ret = 1, unsub_other_ret = 1;

static void unsub_in_cb(const struct facet_bus_event *e, void *arg)
{
	unsub_self_ret = facet_bus_unsubscribe(the_bus, self_sub);
	unsub_other_ret = facet_bus_unsubscribe(the_bus, other_sub);
}

static void test_unsubscribe_in_callback(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	other_sub = facet_bus_subscribe(bus, FACET_BUS_EVENT_ALL, rec_fn, &rec);
	self_sub = facet_bus_subscribe(bus, FACET_BUS_EVENT_ADD, unsub_in_cb, NULL);
	assert_true(self_sub > 0);
	assert_int_equal(tdev_publish(bus, "evt", "x", 1, NULL, NULL, &dev), 0);
	assert_int_equal(unsub_self_ret, -EDEADLK);
	assert_int_equal(unsub_other_ret, -EDEADLK);
	/* Both subscriptions are still there. */
	assert_int_equal(facet_bus_unsubscribe(bus, self_sub), 0);
	assert_int_equal(facet_bus_unsubscribe(bus, other_sub), 0);
	assert_int_equal(rec.n, 1);
	tdev_unpublish(dev);
}

static char cb_drv[FACET_BUS_DRIVER_NAME_MAX];
static int cb_query_ret = 1, cb_other_ret = 1, cb_find_ok;

static void query_cb(const struct facet_bus_event *e, void *arg)
{
	struct facet_bus_device *found;

	if (strcmp(e->dev_name, "evt.a.5") != 0)
		return;
	/* The device itself may be queried... */
	cb_query_ret = facet_bus_device_driver_name(e->dev, cb_drv, sizeof(cb_drv));
	found = facet_bus_find_device(the_bus, e->dev_name);
	cb_find_ok = found == e->dev && facet_bus_device_is_registered(e->dev) &&
		     strcmp(facet_bus_device_name(e->dev), "evt.a.5") == 0;
	if (found)
		facet_bus_device_put(found);
	/* ...and any other device acted on. */
	cb_other_ret = facet_bus_unbind(the_bus, "evt.a.4");
}

static void test_callback_may_query_and_act_on_others(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *d4, *d5;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(tdev_publish(bus, "evt", "a", 4, NULL, NULL, &d4), 0);
	assert_true(facet_bus_subscribe(bus, FACET_BUS_EVENT_BIND, query_cb, NULL) > 0);
	assert_int_equal(tdev_publish(bus, "evt", "a", 5, NULL, NULL, &d5), 0);
	assert_int_equal(cb_query_ret, 0);
	assert_string_equal(cb_drv, "edrv_a");
	assert_true(cb_find_ok);
	assert_int_equal(cb_other_ret, 0);
	assert_string_equal(tdev_driver(bus, "evt.a.4"), "");
	assert_string_equal(tdev_driver(bus, "evt.a.5"), "edrv_a");
	tdev_unpublish(d5);
	tdev_unpublish(d4);
}

static void test_event_names(void **state)
{
	static const enum facet_bus_event_type all[] = {
		FACET_BUS_EVENT_ADD,	    FACET_BUS_EVENT_REMOVE,	FACET_BUS_EVENT_BIND,
		FACET_BUS_EVENT_UNBIND,	    FACET_BUS_EVENT_PROBE_FAIL, FACET_BUS_EVENT_DRIVER_ADD,
		FACET_BUS_EVENT_DRIVER_DEL,
	};
	unsigned int mask = 0;

	assert_string_equal(facet_bus_event_name(FACET_BUS_EVENT_ADD), "add");
	assert_string_equal(facet_bus_event_name(FACET_BUS_EVENT_REMOVE), "remove");
	assert_string_equal(facet_bus_event_name(FACET_BUS_EVENT_BIND), "bind");
	assert_string_equal(facet_bus_event_name(FACET_BUS_EVENT_UNBIND), "unbind");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *name = facet_bus_event_name(all[i]);

		assert_non_null(name);
		assert_true(strlen(name) > 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(name, facet_bus_event_name(all[j]));
		mask |= all[i];
	}
	assert_int_equal(mask, FACET_BUS_EVENT_ALL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_subscribe_invalid),
		T(test_device_event_order),
		T(test_probe_fail_event),
		T(test_plugin_driver_events),
		T(test_mask_filter),
		T(test_unsubscribe_stops),
		T(test_unsubscribe_in_callback),
		T(test_callback_may_query_and_act_on_others),
		T(test_event_names),
	};

	return cmocka_run_group_tests_name("bus_events", tests, NULL, NULL);
}
