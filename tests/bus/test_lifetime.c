/* SPDX-License-Identifier: MIT */
/* Device references, release() and what a deleted device answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tbus.h"

static int setup(void **state)
{
	struct facet_bus_config cfg = { .no_autoload = true };
	struct facet_bus *bus;

	if (facet_bus_create(&cfg, &bus) < 0)
		return -1;
	*state = bus;
	return 0;
}

static int teardown(void **state)
{
	if (*state)
		facet_bus_destroy(*state);
	return 0;
}

static void test_never_added(void **state)
{
	struct facet_bus_device *dev;
	struct trel rel = { 0 };

	assert_int_equal(tdev_init(*state, "life", "eth", 0, NULL, &rel, &dev), 0);
	assert_int_equal(trel_count(&rel), 0);
	facet_bus_device_put(dev);
	assert_int_equal(trel_count(&rel), 1);
}

static void test_release_after_last_ref(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev, *found;
	struct trel rel = { 0 };

	assert_int_equal(tdev_publish(bus, "life", "eth", 0, NULL, &rel, &dev), 0);
	found = facet_bus_find_device(bus, "life.eth.0");
	assert_ptr_equal(found, dev);
	facet_bus_device_get(dev);

	facet_bus_device_del(dev);
	assert_false(facet_bus_device_is_registered(dev));
	assert_null(facet_bus_find_device(bus, "life.eth.0"));
	assert_int_equal(trel_count(&rel), 0);
	facet_bus_device_put(found);
	assert_int_equal(trel_count(&rel), 0);
	facet_bus_device_put(dev);
	assert_int_equal(trel_count(&rel), 0);
	/* Still readable while referenced. */
	assert_string_equal(facet_bus_device_name(dev), "life.eth.0");
	facet_bus_device_put(dev);
	assert_int_equal(trel_count(&rel), 1);
}

static void test_bus_ref_outlives_publisher(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev, *found;
	struct trel rel = { 0 };

	assert_int_equal(tdev_publish(bus, "life", "eth", 1, NULL, &rel, &dev), 0);
	facet_bus_device_put(dev); /* the bus keeps it */
	assert_int_equal(trel_count(&rel), 0);
	found = facet_bus_find_device(bus, "life.eth.1");
	assert_non_null(found);
	assert_true(facet_bus_device_is_registered(found));
	facet_bus_device_del(found);
	assert_int_equal(trel_count(&rel), 0);
	facet_bus_device_put(found);
	assert_int_equal(trel_count(&rel), 1);
}

static void test_deleted_device(void **state)
{
	static const struct facet_bus_core_handle handle = { .api = "life.api", .version = 1 };
	struct facet_bus_device_info info = {
		.core = "life",
		.slice = "eth",
		.id = 2,
		.core_handle = handle,
		.release = trel_release,
	};
	struct facet_bus *bus = *state;
	const struct facet_bus_core_handle *h;
	struct facet_bus_device *dev;
	struct trel rel = { 0 };
	char buf[FACET_BUS_DRIVER_NAME_MAX];

	info.publisher_ctx = &rel;
	assert_int_equal(facet_bus_device_init(bus, &info, &dev), 0);
	assert_int_equal(facet_bus_device_add(dev), 0);
	assert_int_equal(facet_bus_device_core(dev, "life.api", 1, &h), 0);
	assert_int_equal(facet_bus_device_driver_name(dev, buf, sizeof(buf)), -ENOENT);

	facet_bus_device_del(dev);
	assert_int_equal(facet_bus_bind(bus, "life.eth.2", NULL), -ENODEV);
	assert_int_equal(facet_bus_unbind(bus, "life.eth.2"), -ENODEV);
	assert_int_equal(facet_bus_rebind(bus, "life.eth.2"), -ENODEV);
	assert_int_equal(facet_bus_set_override(bus, "life.eth.2", "x"), -ENODEV);
	assert_int_equal(facet_bus_device_core(dev, "life.api", 1, &h), -ENODEV);
	assert_int_equal(facet_bus_device_driver_name(dev, buf, sizeof(buf)), -ENODEV);

	facet_bus_device_del(dev); /* no-op */
	assert_int_equal(trel_count(&rel), 0);
	assert_int_equal(facet_bus_device_add(dev), -EALREADY);
	assert_false(facet_bus_device_is_registered(dev));
	facet_bus_device_put(dev);
	assert_int_equal(trel_count(&rel), 1);
}

static void test_add_twice(void **state)
{
	struct facet_bus_device *dev;
	struct trel rel = { 0 };

	assert_int_equal(tdev_publish(*state, "life", "eth", 3, NULL, &rel, &dev), 0);
	assert_int_equal(facet_bus_device_add(dev), -EALREADY);
	assert_true(facet_bus_device_is_registered(dev));
	tdev_unpublish(dev);
	assert_int_equal(trel_count(&rel), 1);
}

static void test_core_handle(void **state)
{
	static int ops, ctx;
	struct facet_bus_device_info info = {
		.core = "life",
		.slice = "eth",
		.id = 4,
		.core_handle = { .api = "life.api", .version = 3, .ops = &ops, .ctx = &ctx },
	};
	const struct facet_bus_core_handle *h = NULL;
	struct facet_bus_device *dev, *plain;

	assert_int_equal(facet_bus_device_init(*state, &info, &dev), 0);
	assert_int_equal(facet_bus_device_add(dev), 0);
	assert_int_equal(facet_bus_device_core(dev, "life.api", 3, &h), 0);
	assert_non_null(h);
	assert_string_equal(h->api, "life.api");
	assert_int_equal(h->version, 3);
	assert_ptr_equal(h->ops, &ops);
	assert_ptr_equal(h->ctx, &ctx);
	assert_int_equal(facet_bus_device_core(dev, "life.api", 2, &h), -EPROTO);
	assert_int_equal(facet_bus_device_core(dev, "life.api", 4, &h), -EPROTO);
	assert_int_equal(facet_bus_device_core(dev, "other.api", 3, &h), -EPROTO);

	assert_int_equal(tdev_publish(*state, "life", "eth", 5, NULL, NULL, &plain), 0);
	assert_int_equal(facet_bus_device_core(plain, "life.api", 3, &h), -ENOENT);
	tdev_unpublish(plain);
	tdev_unpublish(dev);
}

static void test_parent_holds_ref(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *parent, *child;
	struct trel rel_p = { 0 }, rel_c = { 0 };
	struct recorder *rec = malloc(sizeof(*rec));
	int sub;

	assert_non_null(rec);
	rec_init(rec);
	sub = facet_bus_subscribe(bus, FACET_BUS_EVENT_REMOVE, rec_fn, rec);
	assert_true(sub > 0);
	assert_int_equal(tdev_publish(bus, "life", "core", 0, NULL, &rel_p, &parent), 0);
	assert_int_equal(tdev_publish(bus, "life", "eth", 6, parent, &rel_c, &child), 0);
	assert_ptr_equal(facet_bus_device_parent(child), parent);

	/* Deleting the parent deletes the child first. */
	facet_bus_device_del(parent);
	assert_false(facet_bus_device_is_registered(child));
	assert_int_equal(rec_count(rec, FACET_BUS_EVENT_REMOVE, NULL), 2);
	assert_true(rec_find(rec, FACET_BUS_EVENT_REMOVE, "life.eth.6") <
		    rec_find(rec, FACET_BUS_EVENT_REMOVE, "life.core.0"));

	/* The child's reference keeps the parent. */
	facet_bus_device_put(parent);
	assert_int_equal(trel_count(&rel_p), 0);
	assert_ptr_equal(facet_bus_device_parent(child), parent);
	assert_string_equal(facet_bus_device_name(facet_bus_device_parent(child)), "life.core.0");
	facet_bus_device_del(child); /* no-op */
	facet_bus_device_put(child);
	assert_int_equal(trel_count(&rel_c), 1);
	assert_int_equal(trel_count(&rel_p), 1);
	assert_true(rel_c.order < rel_p.order);
	assert_int_equal(facet_bus_unsubscribe(bus, sub), 0);
	free(rec);
}

static void test_deleted_parent(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *parent, *early, *late = NULL;
	struct trel rel_p = { 0 }, rel_e = { 0 };
	int ret;

	assert_int_equal(tdev_publish(bus, "life", "core", 1, NULL, &rel_p, &parent), 0);
	assert_int_equal(tdev_init(bus, "life", "eth", 7, parent, &rel_e, &early), 0);
	facet_bus_device_del(parent);

	/* Initialized before the parent went, added after: refused. */
	assert_int_equal(facet_bus_device_add(early), -ENODEV);
	assert_false(facet_bus_device_is_registered(early));
	assert_null(facet_bus_find_device(bus, "life.eth.7"));
	facet_bus_device_put(early);
	assert_int_equal(trel_count(&rel_e), 1);

	/* Initialized after the parent went: refused at once. */
	ret = tdev_init(bus, "life", "eth", 8, parent, NULL, &late);
	if (ret == 0)
		facet_bus_device_put(late); /* no leak report on top of the failure */
	facet_bus_device_put(parent);
	assert_int_equal(ret, -ENODEV);
	assert_int_equal(trel_count(&rel_p), 1);
}

struct walk {
	struct facet_bus *bus;
	char names[8][FACET_BUS_NAME_MAX];
	int n, stop_at;
};

static int walk_fn(struct facet_bus_device *dev, void *arg)
{
	struct walk *w = arg;
	struct facet_bus_device *again;

	/* The bus lock is not held: bus calls work from here. */
	again = facet_bus_find_device(w->bus, facet_bus_device_name(dev));
	if (again != dev)
		return -1000;
	facet_bus_device_put(again);
	snprintf(w->names[w->n], FACET_BUS_NAME_MAX, "%s", facet_bus_device_name(dev));
	w->n++;
	return w->n == w->stop_at ? 77 : 0;
}

static void test_for_each_device(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *p, *c, *d;
	struct walk w = { .bus = bus };

	assert_int_equal(tdev_publish(bus, "walk", "b", 0, NULL, NULL, &d), 0);
	assert_int_equal(tdev_publish(bus, "walk", "core", 0, NULL, NULL, &p), 0);
	assert_int_equal(tdev_publish(bus, "walk", "a", 0, p, NULL, &c), 0);

	assert_int_equal(facet_bus_for_each_device(bus, walk_fn, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.names[0], "walk.b.0");
	assert_string_equal(w.names[1], "walk.core.0");
	assert_string_equal(w.names[2], "walk.a.0");

	memset(&w, 0, sizeof(w));
	w.bus = bus;
	w.stop_at = 2;
	assert_int_equal(facet_bus_for_each_device(bus, walk_fn, &w), 77);
	assert_int_equal(w.n, 2);

	tdev_unpublish(c);
	tdev_unpublish(p);
	tdev_unpublish(d);
	memset(&w, 0, sizeof(w));
	w.bus = bus;
	assert_int_equal(facet_bus_for_each_device(bus, walk_fn, &w), 0);
	assert_int_equal(w.n, 0);
}

static void test_destroy_releases(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *parent, *child, *kept;
	struct trel rel_p = { 0 }, rel_c = { 0 }, rel_k = { 0 };
	char buf[FACET_BUS_DRIVER_NAME_MAX];

	assert_int_equal(tdev_publish(bus, "gone", "core", 0, NULL, &rel_p, &parent), 0);
	assert_int_equal(tdev_publish(bus, "gone", "eth", 0, parent, &rel_c, &child), 0);
	assert_int_equal(tdev_publish(bus, "kept", "eth", 0, NULL, &rel_k, &kept), 0);
	facet_bus_device_put(child);
	facet_bus_device_put(parent);

	facet_bus_destroy(bus);
	*state = NULL;
	/* The bus's references went with it... */
	assert_int_equal(trel_count(&rel_c), 1);
	assert_int_equal(trel_count(&rel_p), 1);
	assert_true(rel_c.order < rel_p.order);
	/* ...ours stays valid until put. */
	assert_int_equal(trel_count(&rel_k), 0);
	assert_string_equal(facet_bus_device_name(kept), "kept.eth.0");
	assert_false(facet_bus_device_is_registered(kept));
	assert_int_equal(facet_bus_device_driver_name(kept, buf, sizeof(buf)), -ENODEV);
	facet_bus_device_del(kept); /* no-op */
	facet_bus_device_put(kept);
	assert_int_equal(trel_count(&rel_k), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_never_added, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_after_last_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_ref_outlives_publisher, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_core_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_holds_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_for_each_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_releases, setup, teardown),
	};

	return cmocka_run_group_tests_name("bus_lifetime", tests, NULL, NULL);
}
