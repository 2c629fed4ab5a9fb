/* SPDX-License-Identifier: MIT */
/* Device names, duplicates and attributes. */
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
	facet_bus_destroy(*state);
	return 0;
}

static void test_name_components(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev, *found;
	struct trel rel = { 0 };

	assert_int_equal(tdev_init(bus, "refnic", "eth", 0, NULL, &rel, &dev), 0);
	assert_string_equal(facet_bus_device_name(dev), "refnic.eth.0");
	assert_string_equal(facet_bus_device_match_name(dev), "refnic.eth");
	assert_int_equal(facet_bus_device_id(dev), 0);
	assert_null(facet_bus_device_parent(dev));
	assert_ptr_equal(facet_bus_device_publisher_ctx(dev), &rel);
	assert_false(facet_bus_device_is_registered(dev));
	assert_null(facet_bus_find_device(bus, "refnic.eth.0"));

	assert_int_equal(facet_bus_device_add(dev), 0);
	assert_true(facet_bus_device_is_registered(dev));
	found = facet_bus_find_device(bus, "refnic.eth.0");
	assert_ptr_equal(found, dev);
	facet_bus_device_put(found);
	tdev_unpublish(dev);
	assert_int_equal(trel_count(&rel), 1);
}

static void test_name_charset(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_int_equal(tdev_init(bus, "a_b-1", "c-d_2", UINT32_MAX, NULL, NULL, &dev), 0);
	assert_string_equal(facet_bus_device_name(dev), "a_b-1.c-d_2.4294967295");
	assert_string_equal(facet_bus_device_match_name(dev), "a_b-1.c-d_2");
	assert_int_equal(facet_bus_device_id(dev), UINT32_MAX);
	facet_bus_device_put(dev);
}

static void test_name_invalid(void **state)
{
	static const struct {
		const char *core, *slice;
	} bad[] = {
		{ "Refnic", "eth" },	{ "refnic", "Eth" },  { "ref.nic", "eth" },
		{ "refnic", "e.th" },	{ "ref nic", "eth" }, { "refnic", "eth " },
		{ "", "eth" },		{ "refnic", "" },     { NULL, "eth" },
		{ "refnic", NULL },	{ "ref/nic", "eth" }, { "refnic", "eth\n" },
		{ "r\xc3\xa9", "eth" }, { "refnic", "e:th" },
	};
	struct facet_bus *bus = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct facet_bus_device *dev = NULL;
		struct trel rel = { 0 };

		print_message("core \"%s\" slice \"%s\"\n", bad[i].core ? bad[i].core : "(null)",
			      bad[i].slice ? bad[i].slice : "(null)");
		assert_int_equal(tdev_init(bus, bad[i].core, bad[i].slice, 0, NULL, &rel, &dev),
				 -EINVAL);
		assert_int_equal(trel_count(&rel), 0);
	}
}

static void test_name_too_long(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;
	char core[128], slice[16];

	/* "<core>.<slice>" of FACET_BUS_MATCH_MAX - 1 characters fits... */
	memset(core, 'c', 40);
	core[40] = '\0';
	memset(slice, 's', 6);
	slice[6] = '\0';
	assert_int_equal(tdev_init(bus, core, slice, UINT32_MAX, NULL, NULL, &dev), 0);
	assert_int_equal(strlen(facet_bus_device_match_name(dev)), FACET_BUS_MATCH_MAX - 1);
	facet_bus_device_put(dev);

	/* ...one more does not. */
	slice[6] = 's';
	slice[7] = '\0';
	assert_int_equal(tdev_init(bus, core, slice, 0, NULL, NULL, &dev), -ENAMETOOLONG);

	memset(core, 'c', sizeof(core) - 1);
	core[sizeof(core) - 1] = '\0';
	assert_int_equal(tdev_init(bus, core, "eth", 0, NULL, NULL, &dev), -ENAMETOOLONG);
	assert_int_equal(tdev_init(bus, "refnic", core, 0, NULL, NULL, &dev), -ENAMETOOLONG);
}

static void test_duplicate_name(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *a, *b, *found;
	struct trel rel_a = { 0 }, rel_b = { 0 };

	assert_int_equal(tdev_publish(bus, "dup", "eth", 1, NULL, &rel_a, &a), 0);
	assert_int_equal(tdev_init(bus, "dup", "eth", 1, NULL, &rel_b, &b), 0);
	assert_int_equal(facet_bus_device_add(b), -EEXIST);
	assert_false(facet_bus_device_is_registered(b));
	facet_bus_device_put(b);
	assert_int_equal(trel_count(&rel_b), 1);

	found = facet_bus_find_device(bus, "dup.eth.1");
	assert_ptr_equal(found, a);
	facet_bus_device_put(found);
	assert_true(facet_bus_device_is_registered(a));

	/* Another id, or the same id in another slice, is another name. */
	assert_int_equal(tdev_publish(bus, "dup", "eth", 2, NULL, NULL, &b), 0);
	tdev_unpublish(b);
	assert_int_equal(tdev_publish(bus, "dup", "rdma", 1, NULL, NULL, &b), 0);
	tdev_unpublish(b);

	/* Once deleted, the name is free again. */
	tdev_unpublish(a);
	assert_int_equal(tdev_publish(bus, "dup", "eth", 1, NULL, NULL, &a), 0);
	tdev_unpublish(a);
}

static void test_attr_before_and_after_add(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;
	const char *key, *value;

	assert_int_equal(tdev_init(bus, "attr", "eth", 0, NULL, NULL, &dev), 0);
	assert_int_equal(facet_bus_device_attr_at(dev, 0, &key, &value), -ENOENT);
	assert_int_equal(facet_bus_device_set_attr(dev, "mac", "02:00:00:00:00:01"), 0);
	assert_int_equal(facet_bus_device_set_attr(dev, "mtu", "1500"), 0);
	assert_string_equal(facet_bus_device_attr(dev, "mac"), "02:00:00:00:00:01");
	assert_string_equal(facet_bus_device_attr(dev, "mtu"), "1500");
	assert_null(facet_bus_device_attr(dev, "nope"));

	assert_int_equal(facet_bus_device_attr_at(dev, 0, &key, &value), 0);
	assert_string_equal(key, "mac");
	assert_string_equal(value, "02:00:00:00:00:01");
	assert_int_equal(facet_bus_device_attr_at(dev, 1, &key, &value), 0);
	assert_string_equal(key, "mtu");
	assert_string_equal(value, "1500");
	assert_int_equal(facet_bus_device_attr_at(dev, 2, &key, &value), -ENOENT);

	/* Replacing a value keeps one entry for the key. */
	assert_int_equal(facet_bus_device_set_attr(dev, "mtu", "9000"), 0);
	assert_string_equal(facet_bus_device_attr(dev, "mtu"), "9000");
	assert_int_equal(facet_bus_device_attr_at(dev, 2, &key, &value), -ENOENT);

	assert_int_equal(facet_bus_device_add(dev), 0);
	assert_int_equal(facet_bus_device_set_attr(dev, "mtu", "1280"), -EBUSY);
	assert_int_equal(facet_bus_device_set_attr(dev, "new", "x"), -EBUSY);
	assert_string_equal(facet_bus_device_attr(dev, "mtu"), "9000");
	assert_null(facet_bus_device_attr(dev, "new"));
	assert_int_equal(facet_bus_device_attr_at(dev, 2, &key, &value), -ENOENT);
	tdev_unpublish(dev);
}

static void test_attr_limits(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;
	char key[FACET_BUS_ATTR_KEY_MAX + 1], value[FACET_BUS_ATTR_VALUE_MAX + 1];

	assert_int_equal(tdev_init(bus, "attr", "eth", 1, NULL, NULL, &dev), 0);
	assert_int_equal(facet_bus_device_set_attr(dev, "", "x"), -EINVAL);

	memset(key, 'k', FACET_BUS_ATTR_KEY_MAX);
	key[FACET_BUS_ATTR_KEY_MAX] = '\0';
	assert_int_equal(facet_bus_device_set_attr(dev, key, "x"), -ENAMETOOLONG);
	key[FACET_BUS_ATTR_KEY_MAX - 1] = '\0';
	assert_int_equal(facet_bus_device_set_attr(dev, key, "x"), 0);
	assert_string_equal(facet_bus_device_attr(dev, key), "x");

	memset(value, 'v', FACET_BUS_ATTR_VALUE_MAX);
	value[FACET_BUS_ATTR_VALUE_MAX] = '\0';
	assert_int_equal(facet_bus_device_set_attr(dev, "val", value), -ENAMETOOLONG);
	assert_null(facet_bus_device_attr(dev, "val"));
	value[FACET_BUS_ATTR_VALUE_MAX - 1] = '\0';
	assert_int_equal(facet_bus_device_set_attr(dev, "val", value), 0);

	/* The value is copied. */
	value[0] = 'X';
	assert_int_equal(facet_bus_device_attr(dev, "val")[0], 'v');
	assert_int_equal(strlen(facet_bus_device_attr(dev, "val")), FACET_BUS_ATTR_VALUE_MAX - 1);
	facet_bus_device_put(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_name_components, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_charset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attr_before_and_after_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attr_limits, setup, teardown),
	};

	return cmocka_run_group_tests_name("bus_naming", tests, NULL, NULL);
}
