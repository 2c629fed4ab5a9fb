/* SPDX-License-Identifier: MIT */
/* Probe, bind, unbind, rebind and overrides, with drivers linked into the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tbus.h"

struct ldrv_stats {
	int probes, removes, bad_drvdata;
	bool last_id_null;
	uint64_t last_driver_data;
};

static struct ldrv_stats st_a, st_b, st_c;
static struct facet_bus *the_bus;
static struct recorder rec;

static const struct facet_bus_device_id ids_a[] = { { "ltest.a", 0xa }, { "" } };
static const struct facet_bus_device_id ids_b[] = { { "ltest.b", 0xb }, { "" } };
static const struct facet_bus_device_id ids_c[] = { { "ltest.c", 0xc0 },
						    { "ltest.a", 0xca },
						    { "" } };

/* Probe: fails with -<attr "fail"> when that attribute is set. */
static int stats_probe(struct ldrv_stats *st, struct facet_bus_device *dev,
		       const struct facet_bus_device_id *id)
{
	const char *fail = facet_bus_device_attr(dev, "fail");

	st->probes++;
	st->last_id_null = id == NULL;
	st->last_driver_data = id ? id->driver_data : 0;
	if (facet_bus_device_get_drvdata(dev))
		st->bad_drvdata++;
	facet_bus_device_set_drvdata(dev, st);
	return fail ? -atoi(fail) : 0;
}

static void stats_remove(struct ldrv_stats *st, struct facet_bus_device *dev)
{
	st->removes++;
	if (facet_bus_device_get_drvdata(dev) != st)
		st->bad_drvdata++;
}

static int probe_a(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	return stats_probe(&st_a, dev, id);
}

static void remove_a(struct facet_bus_device *dev)
{
	stats_remove(&st_a, dev);
}

static int probe_b(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	return stats_probe(&st_b, dev, id);
}

static void remove_b(struct facet_bus_device *dev)
{
	stats_remove(&st_b, dev);
}

static int probe_c(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	return stats_probe(&st_c, dev, id);
}

static void remove_c(struct facet_bus_device *dev)
{
	stats_remove(&st_c, dev);
}

static const struct facet_bus_driver drv_a = {
	.name = "ldrv_a", .id_table = ids_a, .probe = probe_a, .remove = remove_a
};
static const struct facet_bus_driver drv_b = {
	.name = "ldrv_b", .id_table = ids_b, .probe = probe_b, .remove = remove_b
};
static const struct facet_bus_driver drv_c = {
	.name = "ldrv_c", .id_table = ids_c, .probe = probe_c, .remove = remove_c
};

/* A driver that tries to act on its own device from probe() and remove(). */
static int self_bind_ret, self_unbind_ret, self_rebind_ret, self_remove_unbind_ret;

static const struct facet_bus_device_id ids_self[] = { { "ltest.self", 0 }, { "" } };

static int probe_self(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	self_bind_ret = facet_bus_bind(the_bus, facet_bus_device_name(dev), NULL);
	self_unbind_ret = facet_bus_unbind(the_bus, facet_bus_device_name(dev));
	self_rebind_ret = facet_bus_rebind(the_bus, facet_bus_device_name(dev));
	return 0;
}

static void remove_self(struct facet_bus_device *dev)
{
	self_remove_unbind_ret = facet_bus_unbind(the_bus, facet_bus_device_name(dev));
}

static const struct facet_bus_driver drv_self = {
	.name = "ldrv_self", .id_table = ids_self, .probe = probe_self, .remove = remove_self
};

static int make_bus(void **state, bool no_autoprobe)
{
	struct facet_bus_config cfg = { .no_autoload = true, .no_autoprobe = no_autoprobe };

	memset(&st_a, 0, sizeof(st_a));
	memset(&st_b, 0, sizeof(st_b));
	memset(&st_c, 0, sizeof(st_c));
	rec_init(&rec);
	if (facet_bus_create(&cfg, &the_bus) < 0)
		return -1;
	if (facet_bus_subscribe(the_bus, FACET_BUS_EVENT_ALL, rec_fn, &rec) <= 0)
		return -1;
	*state = the_bus;
	return 0;
}

static int setup(void **state)
{
	return make_bus(state, false);
}

static int setup_no_autoprobe(void **state)
{
	return make_bus(state, true);
}

static int teardown(void **state)
{
	facet_bus_destroy(*state);
	/* Destroying the bus unbinds everything: every successful probe was removed. */
	if (st_a.bad_drvdata || st_b.bad_drvdata || st_c.bad_drvdata)
		return -1;
	return 0;
}

static void test_autoprobe_on_add(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 0, NULL, NULL, &dev), 0);
	assert_int_equal(st_a.probes, 1);
	assert_false(st_a.last_id_null);
	assert_int_equal(st_a.last_driver_data, 0xa);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a");
	assert_ptr_equal(facet_bus_device_get_drvdata(dev), &st_a);
	assert_true(rec_find(&rec, FACET_BUS_EVENT_BIND, "ltest.a.0") >= 0);

	tdev_unpublish(dev);
	assert_int_equal(st_a.removes, 1);
	assert_int_equal(st_a.bad_drvdata, 0);
}

static void test_register_binds_existing(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *d0, *d1, *other;

	assert_int_equal(tdev_publish(bus, "ltest", "a", 0, NULL, NULL, &d0), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 1, NULL, NULL, &d1), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "b", 0, NULL, NULL, &other), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "");
	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(st_a.probes, 2);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a");
	assert_string_equal(tdev_driver(bus, "ltest.a.1"), "ldrv_a");
	assert_string_equal(tdev_driver(bus, "ltest.b.0"), "");
	tdev_unpublish(d0);
	tdev_unpublish(d1);
	tdev_unpublish(other);
}

static void test_probe_failure(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;
	int i;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(tdev_init(bus, "ltest", "a", 0, NULL, NULL, &dev), 0);
	assert_int_equal(facet_bus_device_set_attr(dev, "fail", "5"), 0);
	assert_int_equal(facet_bus_device_add(dev), 0); /* a failed probe does not fail add */
	assert_int_equal(st_a.probes, 1);
	assert_true(facet_bus_device_is_registered(dev));
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "");
	assert_null(facet_bus_device_get_drvdata(dev));

	i = rec_find(&rec, FACET_BUS_EVENT_PROBE_FAIL, "ltest.a.0");
	assert_true(i >= 0);
	assert_int_equal(rec.ev[i].error, -EIO);
	assert_string_equal(rec.ev[i].driver, "ldrv_a");
	assert_ptr_equal(rec.ev[i].dev, dev);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_BIND, "ltest.a.0"), 0);

	/* An explicit bind reports the probe's error. */
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", NULL), -EIO);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_a"), -EIO);
	assert_int_equal(st_a.probes, 3);
	assert_int_equal(st_a.bad_drvdata, 0); /* drvdata was cleared after each failure */
	tdev_unpublish(dev);
	assert_int_equal(st_a.removes, 0);
}

static void test_bind_unbind_rebind(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 0, NULL, NULL, &dev), 0);

	assert_int_equal(facet_bus_unbind(bus, "ltest.a.0"), 0);
	assert_int_equal(st_a.removes, 1);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "");
	assert_null(facet_bus_device_get_drvdata(dev));
	assert_int_equal(facet_bus_unbind(bus, "ltest.a.0"), -ENOENT);
	assert_int_equal(st_a.removes, 1);

	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", NULL), 0);
	assert_int_equal(st_a.probes, 2);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a");
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", NULL), -EBUSY);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_a"), -EBUSY);
	assert_int_equal(st_a.probes, 2);

	assert_int_equal(facet_bus_rebind(bus, "ltest.a.0"), 0);
	assert_int_equal(st_a.probes, 3);
	assert_int_equal(st_a.removes, 2);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a");

	/* Rebinding an unbound device just binds it. */
	assert_int_equal(facet_bus_unbind(bus, "ltest.a.0"), 0);
	assert_int_equal(facet_bus_rebind(bus, "ltest.a.0"), 0);
	assert_int_equal(st_a.probes, 4);
	assert_int_equal(st_a.removes, 3);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_a"), -EBUSY);
	tdev_unpublish(dev);
	assert_int_equal(st_a.removes, 4);
}

static void test_bind_errors(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev, *orphan;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(facet_bus_driver_register(bus, &drv_b), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 0, NULL, NULL, &dev), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "z", 0, NULL, NULL, &orphan), 0);

	assert_int_equal(facet_bus_bind(bus, "ltest.nope.0", NULL), -ENODEV);
	assert_int_equal(facet_bus_bind(bus, "ltest.nope.0", "ldrv_a"), -ENODEV);
	assert_int_equal(facet_bus_unbind(bus, "ltest.nope.0"), -ENODEV);
	assert_int_equal(facet_bus_rebind(bus, "ltest.nope.0"), -ENODEV);

	assert_int_equal(facet_bus_unbind(bus, "ltest.a.0"), 0);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_nope"), -ENOENT);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_b"), -ENXIO);
	assert_int_equal(st_b.probes, 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "");
	assert_int_equal(facet_bus_bind(bus, "ltest.z.0", NULL), -ENOENT);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_a"), 0);
	tdev_unpublish(dev);
	tdev_unpublish(orphan);
}

static void test_override(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(facet_bus_driver_register(bus, &drv_b), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 0, NULL, NULL, &dev), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a");

	/* Takes effect on the next bind only. */
	assert_int_equal(facet_bus_set_override(bus, "ltest.a.0", "ldrv_b"), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a");
	assert_int_equal(facet_bus_rebind(bus, "ltest.a.0"), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_b");
	assert_int_equal(st_b.probes, 1);
	assert_true(st_b.last_id_null); /* ldrv_b's table does not list ltest.a */

	assert_int_equal(facet_bus_unbind(bus, "ltest.a.0"), 0);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_a"), -EPERM);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_b"), 0);
	assert_int_equal(facet_bus_unbind(bus, "ltest.a.0"), 0);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", NULL), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_b");
	assert_int_equal(st_a.probes, 1);

	/* Cleared: matching by table again. */
	assert_int_equal(facet_bus_set_override(bus, "ltest.a.0", NULL), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_b");
	assert_int_equal(facet_bus_rebind(bus, "ltest.a.0"), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a");
	assert_false(st_a.last_id_null);
	assert_int_equal(facet_bus_unbind(bus, "ltest.a.0"), 0);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_b"), -ENXIO);
	tdev_unpublish(dev);
	assert_int_equal(st_b.probes, st_b.removes);
}

static void test_override_listed_driver(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(facet_bus_driver_register(bus, &drv_c), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 0, NULL, NULL, &dev), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a"); /* registered first */
	assert_int_equal(facet_bus_set_override(bus, "ltest.a.0", "ldrv_c"), 0);
	assert_int_equal(facet_bus_rebind(bus, "ltest.a.0"), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_c");
	assert_false(st_c.last_id_null); /* its table lists ltest.a: it gets that entry */
	assert_int_equal(st_c.last_driver_data, 0xca);
	tdev_unpublish(dev);
}

static void test_override_errors(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;
	char name[FACET_BUS_DRIVER_NAME_MAX + 1];

	memset(name, 'd', FACET_BUS_DRIVER_NAME_MAX);
	name[FACET_BUS_DRIVER_NAME_MAX] = '\0';
	assert_int_equal(facet_bus_set_override(bus, "ltest.nope.0", "ldrv_a"), -ENODEV);
	assert_int_equal(facet_bus_set_override(bus, "ltest.nope.0", NULL), -ENODEV);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 0, NULL, NULL, &dev), 0);
	assert_int_equal(facet_bus_set_override(bus, "ltest.a.0", name), -ENAMETOOLONG);
	/* The refused override did not stick: ldrv_a may bind. */
	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a");
	/* An override naming a driver that does not exist: nothing binds. */
	assert_int_equal(facet_bus_set_override(bus, "ltest.a.0", "ldrv_ghost"), 0);
	assert_int_equal(facet_bus_unbind(bus, "ltest.a.0"), 0);
	assert_true(facet_bus_bind(bus, "ltest.a.0", NULL) < 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "");
	tdev_unpublish(dev);
}

static void test_unregister_unbinds(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *d0, *d1;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 0, NULL, NULL, &d0), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 1, NULL, NULL, &d1), 0);
	assert_int_equal(st_a.probes, 2);

	assert_int_equal(facet_bus_driver_unregister(bus, &drv_a), 0);
	assert_int_equal(st_a.removes, 2);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "");
	assert_string_equal(tdev_driver(bus, "ltest.a.1"), "");
	assert_true(rec_find(&rec, FACET_BUS_EVENT_DRIVER_DEL, "ldrv_a") >
		    rec_find(&rec, FACET_BUS_EVENT_UNBIND, "ltest.a.1"));
	assert_int_equal(facet_bus_driver_unregister(bus, &drv_a), -ENOENT);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", "ldrv_a"), -ENOENT);

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(st_a.probes, 4);
	tdev_unpublish(d0);
	tdev_unpublish(d1);
}

static void test_register_errors(void **state)
{
	static const struct facet_bus_driver unnamed = { .id_table = ids_a, .probe = probe_a };
	static const struct facet_bus_driver same_name = { .name = "ldrv_a",
							   .id_table = ids_b,
							   .probe = probe_b };
	struct facet_bus *bus = *state;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(facet_bus_driver_register(bus, &drv_a), -EEXIST);
	assert_int_equal(facet_bus_driver_register(bus, &same_name), -EEXIST);
	assert_int_equal(facet_bus_driver_register(bus, &unnamed), -EINVAL);
	assert_int_equal(facet_bus_driver_register(bus, NULL), -EINVAL);
	assert_int_equal(facet_bus_driver_unregister(bus, &drv_b), -ENOENT);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_ADD, "ldrv_a"), 1);
}

static void test_no_autoprobe(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_int_equal(facet_bus_driver_register(bus, &drv_a), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "a", 0, NULL, NULL, &dev), 0);
	assert_int_equal(st_a.probes, 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "");
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_ADD, "ltest.a.0"), 1);
	assert_int_equal(facet_bus_bind(bus, "ltest.a.0", NULL), 0);
	assert_string_equal(tdev_driver(bus, "ltest.a.0"), "ldrv_a");
	tdev_unpublish(dev);
	assert_int_equal(st_a.removes, 1);
}

static void test_self_bind_deadlk(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_int_equal(facet_bus_driver_register(bus, &drv_self), 0);
	assert_int_equal(tdev_publish(bus, "ltest", "self", 0, NULL, NULL, &dev), 0);
	assert_int_equal(self_bind_ret, -EDEADLK);
	assert_int_equal(self_unbind_ret, -EDEADLK);
	assert_int_equal(self_rebind_ret, -EDEADLK);
	assert_string_equal(tdev_driver(bus, "ltest.self.0"), "ldrv_self");
	assert_int_equal(facet_bus_unbind(bus, "ltest.self.0"), 0);
	assert_int_equal(self_remove_unbind_ret, -EDEADLK);
	tdev_unpublish(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_autoprobe_on_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_binds_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_unbind_rebind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override_listed_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister_unbinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_autoprobe, setup_no_autoprobe, teardown),
		cmocka_unit_test_setup_teardown(test_self_bind_deadlk, setup, teardown),
	};

	return cmocka_run_group_tests_name("bus_bind", tests, NULL, NULL);
}
