/* SPDX-License-Identifier: MIT */
/*
 * Plugins: autoload from the plugin path, parents publishing children from
 * probe(), unload and reload of one slice driver, and plugins the bus must
 * refuse. The test plugins are in tests/plugins (TPLUG_DIR, which is also
 * $FACET_PLUGIN_PATH) and tests/plugins/alt (TPLUG_ALT_DIR).
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "facet_log.h"
#include "tbus.h"
#include "tplug_common.h"

static struct recorder rec;

static const char *const bad_keys[] = {
	"alpha.bad_id",	   "alpha.bad_drvdata", "core.bad_child_registered", "core.bad_drvdata",
	"beta.bad_core",   "beta.bad_ops",	"beta.bad_version_check",    "beta.bad_api_check",
	"beta.bad_parent", "beta.bad_id",	"beta.bad_core_gone",	     "fail.remove",
	"badabi.probe",	   "nosym.probe",
};

static int make_bus(void **state, const struct facet_bus_config *cfg)
{
	struct facet_bus *bus;

	tplug_reset();
	rec_init(&rec);
	if (facet_bus_create(cfg, &bus) < 0)
		return -1;
	if (facet_bus_subscribe(bus, FACET_BUS_EVENT_ALL, rec_fn, &rec) <= 0)
		return -1;
	*state = bus;
	return 0;
}

static int setup(void **state)
{
	return make_bus(state, NULL);
}

static int setup_alt_path(void **state)
{
	struct facet_bus_config cfg = { .plugin_path = "/nonexistent/facet:" TPLUG_ALT_DIR };

	return make_bus(state, &cfg);
}

static int setup_no_autoload(void **state)
{
	struct facet_bus_config cfg = { .no_autoload = true };

	return make_bus(state, &cfg);
}

static int teardown(void **state)
{
	int bad = 0;

	if (*state)
		facet_bus_destroy(*state);
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		if (tplug_count(bad_keys[i])) {
			print_error("plugin reported %s x%d\n", bad_keys[i],
				    tplug_count(bad_keys[i]));
			bad++;
		}
	}
	/* Every slice that was probed was removed by the time the bus is gone. */
	if (tplug_count("alpha.probe") != tplug_count("alpha.remove") ||
	    tplug_count("beta.probe") != tplug_count("beta.remove") ||
	    tplug_count("core.probe") != tplug_count("core.remove")) {
		print_error("probe/remove mismatch\n");
		bad++;
	}
	return bad ? -1 : 0;
}

struct drv_lookup {
	const char *name;
	char plugin[256];
	int found;
};

static int drv_lookup_fn(const char *drv_name, const char *plugin, void *arg)
{
	struct drv_lookup *l = arg;
	const char *slash;

	if (strcmp(drv_name, l->name) != 0)
		return 0;
	l->found++;
	if (plugin) {
		slash = strrchr(plugin, '/');
		snprintf(l->plugin, sizeof(l->plugin), "%s", slash ? slash + 1 : plugin);
	}
	return 0;
}

/* Base name of the plugin file of driver @name, "" if built in, NULL if not registered. */
static const char *driver_plugin(struct facet_bus *bus, const char *name)
{
	static struct drv_lookup l;

	memset(&l, 0, sizeof(l));
	l.name = name;
	facet_bus_for_each_driver(bus, drv_lookup_fn, &l);
	return l.found == 1 ? l.plugin : l.found ? "?duplicate" : NULL;
}

/* Add "tcore.core.<id>": tdrv_core binds it and publishes its two slices. */
static struct facet_bus_device *add_core(struct facet_bus *bus, uint32_t id)
{
	struct facet_bus_device *dev;

	assert_int_equal(tdev_publish(bus, "tcore", "core", id, NULL, NULL, &dev), 0);
	return dev;
}

static void test_autoload_from_env(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_null(driver_plugin(bus, "tdrv_alpha"));
	assert_int_equal(tdev_publish(bus, "tcore", "alpha", 0, NULL, NULL, &dev), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "tdrv_alpha");
	assert_int_equal(tplug_count("alpha.probe"), 1);
	assert_string_equal(driver_plugin(bus, "tdrv_alpha"), "tplug_alpha.so");
	assert_true(rec_find(&rec, FACET_BUS_EVENT_DRIVER_ADD, "tdrv_alpha") <
		    rec_find(&rec, FACET_BUS_EVENT_BIND, "tcore.alpha.0"));
	/* Only the plugin that was needed was loaded. */
	assert_null(driver_plugin(bus, "tdrv_beta"));
	assert_null(driver_plugin(bus, "tdrv_fail"));

	/* A second device uses the loaded driver. */
	tdev_unpublish(dev);
	assert_int_equal(tdev_publish(bus, "tcore", "alpha", 1, NULL, NULL, &dev), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.1"), "tdrv_alpha");
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_ADD, "tdrv_alpha"), 1);
	tdev_unpublish(dev);
}

static void test_autoload_from_config_path(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	/* plugin_path wins over $FACET_PLUGIN_PATH: only tplug_alpha2.so is there. */
	assert_int_equal(tdev_publish(bus, "tcore", "alpha", 0, NULL, NULL, &dev), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "tdrv_alpha2");
	assert_int_equal(tplug_count("alpha2.probe_id"), 1);
	assert_int_equal(tplug_count("alpha.probe"), 0);
	assert_string_equal(driver_plugin(bus, "tdrv_alpha2"), "tplug_alpha2.so");
	assert_null(driver_plugin(bus, "tdrv_alpha"));
	/* Names resolve in plugin_path too. */
	assert_int_equal(facet_bus_plugin_load(bus, "tplug_alpha.so"), -ENOENT);
	tdev_unpublish(dev);
	assert_int_equal(tplug_count("alpha2.remove"), 1);
}

static void test_parent_publishes_children(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *core = add_core(bus, 0), *child;

	assert_string_equal(tdev_driver(bus, "tcore.core.0"), "tdrv_core");
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "tdrv_alpha");
	assert_string_equal(tdev_driver(bus, "tcore.beta.0"), "tdrv_beta");
	assert_int_equal(tplug_count("core.probe"), 1);
	assert_int_equal(tplug_count("alpha.probe"), 1);
	assert_int_equal(tplug_count("beta.probe"), 1);
	assert_string_equal(driver_plugin(bus, "tdrv_core"), "tplug_beta.so");
	assert_string_equal(driver_plugin(bus, "tdrv_beta"), "tplug_beta.so");

	child = facet_bus_find_device(bus, "tcore.alpha.0");
	assert_non_null(child);
	assert_ptr_equal(facet_bus_device_parent(child), core);
	facet_bus_device_put(child);
	/* Children are announced after their parent. */
	assert_true(rec_find(&rec, FACET_BUS_EVENT_ADD, "tcore.core.0") <
		    rec_find(&rec, FACET_BUS_EVENT_ADD, "tcore.alpha.0"));
	tdev_unpublish(core);
	assert_int_equal(tplug_count("core.child_release"), 2);
	assert_null(facet_bus_find_device(bus, "tcore.beta.0"));
}

static void test_parent_unbind_deletes_children(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *core = add_core(bus, 3);
	int unbind_core;

	rec_clear(&rec);
	assert_int_equal(facet_bus_unbind(bus, "tcore.core.3"), 0);
	assert_null(facet_bus_find_device(bus, "tcore.alpha.3"));
	assert_null(facet_bus_find_device(bus, "tcore.beta.3"));
	assert_true(facet_bus_device_is_registered(core));
	assert_string_equal(tdev_driver(bus, "tcore.core.3"), "");
	assert_int_equal(tplug_count("alpha.remove"), 1);
	assert_int_equal(tplug_count("beta.remove"), 1);
	assert_int_equal(tplug_count("core.remove"), 1);
	assert_int_equal(tplug_count("core.child_release"), 2);

	unbind_core = rec_find(&rec, FACET_BUS_EVENT_UNBIND, "tcore.core.3");
	assert_true(unbind_core >= 0);
	assert_true(rec_find(&rec, FACET_BUS_EVENT_UNBIND, "tcore.alpha.3") <
		    rec_find(&rec, FACET_BUS_EVENT_REMOVE, "tcore.alpha.3"));
	assert_true(rec_find(&rec, FACET_BUS_EVENT_REMOVE, "tcore.alpha.3") < unbind_core);
	assert_true(rec_find(&rec, FACET_BUS_EVENT_REMOVE, "tcore.beta.3") < unbind_core);
	assert_true(rec_find(&rec, FACET_BUS_EVENT_REMOVE, "tcore.beta.3") >= 0);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_REMOVE, "tcore.core.3"), 0);

	/* Binding again publishes the slices again. */
	assert_int_equal(facet_bus_bind(bus, "tcore.core.3", NULL), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.3"), "tdrv_alpha");
	assert_string_equal(tdev_driver(bus, "tcore.beta.3"), "tdrv_beta");
	tdev_unpublish(core);
}

static void test_unload_one_slice(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *core = add_core(bus, 1);

	rec_clear(&rec);
	assert_int_equal(facet_bus_plugin_unload(bus, "tplug_alpha.so"), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.1"), "");
	assert_int_equal(tplug_count("alpha.remove"), 1);
	assert_null(driver_plugin(bus, "tdrv_alpha"));
	assert_true(rec_find(&rec, FACET_BUS_EVENT_UNBIND, "tcore.alpha.1") <
		    rec_find(&rec, FACET_BUS_EVENT_DRIVER_DEL, "tdrv_alpha"));
	assert_true(rec_find(&rec, FACET_BUS_EVENT_DRIVER_DEL, "tdrv_alpha") >= 0);
	/* The sibling and the core are untouched. */
	assert_string_equal(tdev_driver(bus, "tcore.beta.1"), "tdrv_beta");
	assert_string_equal(tdev_driver(bus, "tcore.core.1"), "tdrv_core");
	assert_int_equal(tplug_count("beta.probe"), 1);
	assert_int_equal(tplug_count("beta.remove"), 0);
	assert_int_equal(tplug_count("core.remove"), 0);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_REMOVE, NULL), 0);
	assert_int_equal(facet_bus_plugin_unload(bus, "tplug_alpha.so"), -ENOENT);

	/* Binding the slice loads the plugin again. */
	assert_int_equal(facet_bus_bind(bus, "tcore.alpha.1", NULL), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.1"), "tdrv_alpha");
	assert_int_equal(tplug_count("alpha.probe"), 2);
	assert_string_equal(driver_plugin(bus, "tdrv_alpha"), "tplug_alpha.so");
	assert_int_equal(tplug_count("beta.probe"), 1);
	tdev_unpublish(core);
}

static void test_rebind_one_slice(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *core = add_core(bus, 2);

	assert_int_equal(facet_bus_unbind(bus, "tcore.beta.2"), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.2"), "tdrv_alpha");
	assert_int_equal(facet_bus_rebind(bus, "tcore.beta.2"), 0);
	assert_int_equal(facet_bus_rebind(bus, "tcore.beta.2"), 0);
	assert_string_equal(tdev_driver(bus, "tcore.beta.2"), "tdrv_beta");
	assert_int_equal(tplug_count("beta.probe"), 3);
	assert_int_equal(tplug_count("beta.remove"), 2);
	assert_int_equal(tplug_count("alpha.probe"), 1);
	assert_int_equal(tplug_count("alpha.remove"), 0);
	assert_int_equal(tplug_count("core.probe"), 1);
	tdev_unpublish(core);
}

static void test_failed_probe_sweeps_children(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;
	int i;

	assert_int_equal(tdev_publish(bus, "tcore", "fail", 0, NULL, NULL, &dev), 0);
	assert_int_equal(tplug_count("fail.probe"), 1);
	assert_int_equal(tplug_count("fail.child_added"), 1);
	assert_string_equal(tdev_driver(bus, "tcore.fail.0"), "");
	assert_null(facet_bus_device_get_drvdata(dev));
	assert_null(facet_bus_find_device(bus, "tcore.failchild.0"));
	assert_int_equal(tplug_count("fail.child_release"), 1);
	i = rec_find(&rec, FACET_BUS_EVENT_PROBE_FAIL, "tcore.fail.0");
	assert_true(i >= 0);
	assert_int_equal(rec.ev[i].error, -EIO);
	assert_string_equal(rec.ev[i].driver, "tdrv_fail");
	assert_true(rec_find(&rec, FACET_BUS_EVENT_REMOVE, "tcore.failchild.0") < i);
	assert_true(rec_find(&rec, FACET_BUS_EVENT_REMOVE, "tcore.failchild.0") >= 0);
	tdev_unpublish(dev);
}

static void test_bad_plugins_not_autoloaded(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *a, *b;

	assert_int_equal(tdev_publish(bus, "tcore", "badabi", 0, NULL, NULL, &a), 0);
	assert_int_equal(tdev_publish(bus, "tcore", "nosym", 0, NULL, NULL, &b), 0);
	assert_string_equal(tdev_driver(bus, "tcore.badabi.0"), "");
	assert_string_equal(tdev_driver(bus, "tcore.nosym.0"), "");
	assert_int_equal(facet_bus_bind(bus, "tcore.badabi.0", NULL), -ENOENT);
	assert_null(driver_plugin(bus, "tdrv_badabi"));
	assert_null(driver_plugin(bus, "tdrv_nosym"));
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_ADD, NULL), 0);
	tdev_unpublish(a);
	tdev_unpublish(b);
}

static char sink_seen[1024];
static int sink_hits;

static void capture_sink(enum facet_log_level level, const char *tag, const char *msg)
{
	if (strcmp(tag, "bus") == 0 && level <= FACET_LOG_WARN && strstr(msg, "tplug_garbage.so")) {
		sink_hits++;
		snprintf(sink_seen, sizeof(sink_seen), "%s", msg);
	}
}

static void test_bad_plugins_refused(void **state)
{
	static const char *const bad[] = {
		"tplug_badabi.so",
		"tplug_nosym.so",
		"tplug_garbage.so",
		"tplug_trunc.so",
		TPLUG_DIR "/tplug_garbage.so",
	};
	struct facet_bus *bus = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("loading %s\n", bad[i]);
		assert_int_equal(facet_bus_plugin_load(bus, bad[i]), -ELIBBAD);
	}
	assert_int_equal(facet_bus_plugin_load(bus, "tplug_nonexistent.so"), -ENOENT);
	assert_int_equal(facet_bus_plugin_load(bus, TPLUG_DIR "/tplug_nonexistent.so"), -ENOENT);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_ADD, NULL), 0);
	assert_int_equal(facet_bus_plugin_unload(bus, "tplug_badabi.so"), -ENOENT);
}

/*
 * Half a plugin: its program headers promise segments past the end of the
 * file. The bus must refuse it rather than hand it to dlopen(), which maps
 * the missing pages and dies of SIGBUS touching them. Last in the group,
 * since a crash here ends the program.
 */
static void test_half_plugin_refused(void **state)
{
	assert_int_equal(facet_bus_plugin_load(*state, "tplug_half.so"), -ELIBBAD);
	assert_null(driver_plugin(*state, "tdrv_alpha"));
}

static void test_bad_plugin_logged(void **state)
{
	sink_hits = 0;
	facet_log_set_sink(capture_sink);
	assert_int_equal(facet_bus_plugin_load(*state, "tplug_garbage.so"), -ELIBBAD);
	facet_log_set_sink(NULL);
	assert_true(sink_hits >= 1);
	print_message("logged: %s\n", sink_seen);
}

static void test_load_twice(void **state)
{
	struct facet_bus *bus = *state;

	assert_int_equal(facet_bus_plugin_load(bus, "tplug_alpha.so"), 0);
	assert_string_equal(driver_plugin(bus, "tdrv_alpha"), "tplug_alpha.so");
	assert_int_equal(facet_bus_plugin_load(bus, "tplug_alpha.so"), -EEXIST);
	assert_int_equal(facet_bus_plugin_load(bus, TPLUG_DIR "/tplug_alpha.so"), -EEXIST);
	assert_string_equal(driver_plugin(bus, "tdrv_alpha"), "tplug_alpha.so");
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_ADD, "tdrv_alpha"), 1);
	/* Unload by path, load by name. */
	assert_int_equal(facet_bus_plugin_unload(bus, TPLUG_DIR "/tplug_alpha.so"), 0);
	assert_null(driver_plugin(bus, "tdrv_alpha"));
	assert_int_equal(facet_bus_plugin_load(bus, "tplug_alpha.so"), 0);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_ADD, "tdrv_alpha"), 2);
	assert_int_equal(rec_count(&rec, FACET_BUS_EVENT_DRIVER_DEL, "tdrv_alpha"), 1);
}

static void test_no_autoload(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev;

	assert_int_equal(tdev_publish(bus, "tcore", "alpha", 0, NULL, NULL, &dev), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "");
	assert_int_equal(facet_bus_bind(bus, "tcore.alpha.0", NULL), -ENOENT);
	assert_int_equal(tplug_count("alpha.probe"), 0);
	assert_null(driver_plugin(bus, "tdrv_alpha"));

	/* An explicit load binds the waiting device. */
	assert_int_equal(facet_bus_plugin_load(bus, "tplug_alpha.so"), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "tdrv_alpha");
	assert_int_equal(tplug_count("alpha.probe"), 1);
	tdev_unpublish(dev);
}

static void test_override_to_plugin_driver(void **state)
{
	struct facet_bus *bus = *state;
	struct facet_bus_device *dev, *dev2;

	assert_int_equal(tdev_publish(bus, "tcore", "alpha", 0, NULL, NULL, &dev), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "tdrv_alpha");
	assert_int_equal(facet_bus_plugin_load(bus, TPLUG_ALT_DIR "/tplug_alpha2.so"), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "tdrv_alpha");
	assert_string_equal(driver_plugin(bus, "tdrv_alpha2"), "tplug_alpha2.so");
	/* With both loaded, a new device gets the first loaded driver. */
	assert_int_equal(tdev_publish(bus, "tcore", "alpha", 1, NULL, NULL, &dev2), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.1"), "tdrv_alpha");

	assert_int_equal(facet_bus_set_override(bus, "tcore.alpha.0", "tdrv_alpha2"), 0);
	assert_int_equal(facet_bus_rebind(bus, "tcore.alpha.0"), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "tdrv_alpha2");
	assert_int_equal(tplug_count("alpha2.probe_id"), 1);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.1"), "tdrv_alpha");

	assert_int_equal(facet_bus_plugin_unload(bus, "tplug_alpha2.so"), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "");
	assert_int_equal(tplug_count("alpha2.remove"), 1);
	assert_int_equal(facet_bus_set_override(bus, "tcore.alpha.0", NULL), 0);
	assert_int_equal(facet_bus_bind(bus, "tcore.alpha.0", NULL), 0);
	assert_string_equal(tdev_driver(bus, "tcore.alpha.0"), "tdrv_alpha");
	tdev_unpublish(dev2);
	tdev_unpublish(dev);
}

static void test_destroy_removes_and_unloads(void **state)
{
	struct facet_bus *bus = *state;
	void *handle;
	struct facet_bus_device *core = add_core(bus, 4);

	facet_bus_device_put(core); /* the bus owns the core now */
	handle = dlopen(TPLUG_DIR "/tplug_alpha.so", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(handle);
	dlclose(handle);

	facet_bus_destroy(bus);
	*state = NULL;
	assert_int_equal(tplug_count("core.remove"), 1);
	assert_int_equal(tplug_count("alpha.remove"), 1);
	assert_int_equal(tplug_count("beta.remove"), 1);
	assert_int_equal(tplug_count("core.child_release"), 2);
	assert_null(dlopen(TPLUG_DIR "/tplug_alpha.so", RTLD_NOW | RTLD_NOLOAD));
	assert_null(dlopen(TPLUG_DIR "/tplug_beta.so", RTLD_NOW | RTLD_NOLOAD));
}

#define T(fn)	      cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_WITH(fn, s) cmocka_unit_test_setup_teardown(fn, s, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_autoload_from_env),
		T_WITH(test_autoload_from_config_path, setup_alt_path),
		T(test_parent_publishes_children),
		T(test_parent_unbind_deletes_children),
		T(test_unload_one_slice),
		T(test_rebind_one_slice),
		T(test_failed_probe_sweeps_children),
		T(test_bad_plugins_not_autoloaded),
		T(test_bad_plugins_refused),
		T(test_bad_plugin_logged),
		T(test_load_twice),
		T_WITH(test_no_autoload, setup_no_autoload),
		T(test_override_to_plugin_driver),
		T(test_destroy_removes_and_unloads),
		T(test_half_plugin_refused),
	};

	return cmocka_run_group_tests_name("bus_plugins", tests, NULL, NULL);
}
