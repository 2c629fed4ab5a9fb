/* SPDX-License-Identifier: MIT */
/*
 * Concurrency: several threads add and delete devices in a small shared name
 * space, bind, unbind, rebind and override them, look them up, and unload and
 * load a plugin, while a subscriber checks every device's events arrive in a
 * legal order. The run is bounded by iterations, not time. At the end the bus
 * is destroyed and every release() must have run exactly once, and every
 * successful probe must have been matched by one remove().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tbus.h"
#include "tplug_common.h"

#define N_THREADS 5
#define N_ITERS	  50000
#define N_SLOTS	  6

static struct facet_bus *bus;

static atomic_int n_inits, n_releases, n_double_release;
static atomic_int n_probe_ok, n_probe_fail, n_removes, n_bad_drvdata;
static atomic_int n_events, n_bad_events, n_bad_order;
static atomic_int n_plugin_ebusy;

/* Per-device publisher context; event order is tracked in @state. */
enum { ST_NEW, ST_ADDED, ST_BOUND, ST_REMOVED };

struct sdev {
	atomic_int released;
	atomic_int state;
};

static void sdev_release(struct facet_bus_device *dev, void *ctx)
{
	struct sdev *s = ctx;

	if (atomic_fetch_add(&s->released, 1) != 0)
		atomic_fetch_add(&n_double_release, 1);
	atomic_fetch_add(&n_releases, 1);
	free(s);
}

/* ---- linked drivers ------------------------------------------------------ */

static const struct facet_bus_device_id sdrv_ids[] = { { "stress.a", 1 }, { "" } };
static atomic_int probe_seq;

static int sdrv_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	int *priv;

	if (facet_bus_device_get_drvdata(dev))
		atomic_fetch_add(&n_bad_drvdata, 1);
	if (atomic_fetch_add(&probe_seq, 1) % 7 == 3) {
		atomic_fetch_add(&n_probe_fail, 1);
		return -EIO;
	}
	priv = malloc(sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	*priv = 0x5eed;
	facet_bus_device_set_drvdata(dev, priv);
	atomic_fetch_add(&n_probe_ok, 1);
	return 0;
}

static void sdrv_remove(struct facet_bus_device *dev)
{
	int *priv = facet_bus_device_get_drvdata(dev);

	if (!priv || *priv != 0x5eed)
		atomic_fetch_add(&n_bad_drvdata, 1);
	free(priv);
	atomic_fetch_add(&n_removes, 1);
}

static const struct facet_bus_driver sdrv = {
	.name = "sdrv", .id_table = sdrv_ids, .probe = sdrv_probe, .remove = sdrv_remove
};
static const struct facet_bus_driver sdrv2 = {
	.name = "sdrv2", .id_table = sdrv_ids, .probe = sdrv_probe, .remove = sdrv_remove
};

/* ---- event checker ------------------------------------------------------- */

static void check_transition(struct sdev *s, int from, int to)
{
	if (!atomic_compare_exchange_strong(&s->state, &from, to))
		atomic_fetch_add(&n_bad_order, 1);
}

static void event_cb(const struct facet_bus_event *e, void *arg)
{
	struct sdev *s;

	atomic_fetch_add(&n_events, 1);
	if (e->type == FACET_BUS_EVENT_DRIVER_ADD || e->type == FACET_BUS_EVENT_DRIVER_DEL) {
		if (e->dev || !e->driver)
			atomic_fetch_add(&n_bad_events, 1);
		return;
	}
	if (!e->dev || !e->dev_name || strcmp(e->dev_name, facet_bus_device_name(e->dev)) != 0) {
		atomic_fetch_add(&n_bad_events, 1);
		return;
	}
	s = facet_bus_device_publisher_ctx(e->dev);
	if (!s || facet_bus_device_parent(e->dev))
		return; /* published by a plugin */
	switch (e->type) {
	case FACET_BUS_EVENT_ADD:
		check_transition(s, ST_NEW, ST_ADDED);
		break;
	case FACET_BUS_EVENT_BIND:
		check_transition(s, ST_ADDED, ST_BOUND);
		break;
	case FACET_BUS_EVENT_UNBIND:
		check_transition(s, ST_BOUND, ST_ADDED);
		break;
	case FACET_BUS_EVENT_PROBE_FAIL:
		if (atomic_load(&s->state) != ST_ADDED || e->error == 0)
			atomic_fetch_add(&n_bad_order, 1);
		break;
	case FACET_BUS_EVENT_REMOVE:
		check_transition(s, ST_ADDED, ST_REMOVED);
		break;
	default:
		atomic_fetch_add(&n_bad_events, 1);
	}
}

/* ---- workers ------------------------------------------------------------- */

struct name {
	const char *core, *slice;
	uint32_t id;
};

/* Names the test publishes itself. */
static const struct name own_names[] = {
	{ "stress", "a", 0 },	   { "stress", "a", 1 },      { "stress", "a", 2 },
	{ "stress", "a", 3 },	   { "stress", "a", 4 },      { "stress", "a", 5 },
	{ "tcore", "alpha", 100 }, { "tcore", "alpha", 101 }, { "tcore", "alpha", 102 },
	{ "tcore", "core", 0 },	   { "tcore", "core", 1 },
};
#define N_OWN (sizeof(own_names) / sizeof(own_names[0]))

/* Every name worth acting on, including the slices tdrv_core publishes. */
static const char *const all_names[] = {
	"stress.a.0",	   "stress.a.1",   "stress.a.2",      "stress.a.3",
	"stress.a.4",	   "stress.a.5",   "tcore.alpha.100", "tcore.alpha.101",
	"tcore.alpha.102", "tcore.core.0", "tcore.core.1",    "tcore.alpha.0",
	"tcore.alpha.1",   "tcore.beta.0", "tcore.beta.1",    "stress.none.0",
};
#define N_ALL (sizeof(all_names) / sizeof(all_names[0]))

static const char *const overrides[] = { NULL, "sdrv", "sdrv2", "tdrv_alpha", "nodrv" };

/* Count a return code outside the documented ones, and say which. */
#define UNEXPECTED(w, what, ret)                                                                   \
	do {                                                                                       \
		print_error("%s: unexpected %d\n", what, (int)(ret));                              \
		(w)->unexpected++;                                                                 \
	} while (0)

struct worker {
	pthread_t thread;
	unsigned int seed;
	struct facet_bus_device *slots[N_SLOTS];
	int unexpected; /* return codes outside the documented ones */
};

static void publish(struct worker *w)
{
	const struct name *n = &own_names[rand_r(&w->seed) % N_OWN];
	struct facet_bus_device_info info = {
		.core = n->core, .slice = n->slice, .id = n->id, .release = sdev_release
	};
	struct facet_bus_device *dev;
	struct sdev *s;
	int slot = rand_r(&w->seed) % N_SLOTS, ret;

	if (w->slots[slot])
		return;
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	info.publisher_ctx = s;
	ret = facet_bus_device_init(bus, &info, &dev);
	if (ret < 0) {
		free(s);
		UNEXPECTED(w, "init", ret);
		return;
	}
	atomic_fetch_add(&n_inits, 1);
	if (rand_r(&w->seed) % 2)
		facet_bus_device_set_attr(dev, "k", "v");
	ret = facet_bus_device_add(dev);
	if (ret == 0) {
		w->slots[slot] = dev;
		return;
	}
	if (ret != -EEXIST)
		UNEXPECTED(w, "add", ret);
	facet_bus_device_put(dev);
}

static void unpublish(struct worker *w, int slot)
{
	if (!w->slots[slot])
		return;
	facet_bus_device_del(w->slots[slot]);
	facet_bus_device_put(w->slots[slot]);
	w->slots[slot] = NULL;
}

/* Delete a device someone else may have published. */
static void delete_other(const char *name)
{
	struct facet_bus_device *dev = facet_bus_find_device(bus, name);

	if (!dev)
		return;
	facet_bus_device_del(dev);
	facet_bus_device_put(dev);
}

static void query(struct worker *w, const char *name)
{
	struct facet_bus_device *dev = facet_bus_find_device(bus, name);
	char buf[FACET_BUS_DRIVER_NAME_MAX];
	const char *k, *v;
	int ret;

	if (!dev)
		return;
	facet_bus_device_get(dev);
	ret = facet_bus_device_driver_name(dev, buf, sizeof(buf));
	if (ret < 0 && ret != -ENOENT && ret != -ENODEV)
		UNEXPECTED(w, "driver_name", ret);
	if (strcmp(facet_bus_device_name(dev), name) != 0)
		UNEXPECTED(w, "device name", 0);
	facet_bus_device_attr_at(dev, 0, &k, &v);
	facet_bus_device_put(dev);
	facet_bus_device_put(dev);
}

static int count_fn(struct facet_bus_device *dev, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static bool allowed(int ret, const int *ok)
{
	if (ret >= 0)
		return true;
	for (; *ok; ok++) {
		if (ret == *ok)
			return true;
	}
	return false;
}

static void bind_op(struct worker *w, int op, const char *name)
{
	static const int bind_ok[] = { -ENODEV, -EBUSY, -ENOENT, -EPERM, -ENXIO, -EIO, -EEXIST, 0 };
	static const int unbind_ok[] = { -ENODEV, -ENOENT, 0 };
	int ret;

	switch (op) {
	case 0:
		ret = facet_bus_bind(bus, name, NULL);
		break;
	case 1:
		ret = facet_bus_bind(bus, name, rand_r(&w->seed) % 2 ? "sdrv" : "tdrv_alpha");
		break;
	case 2:
		ret = facet_bus_unbind(bus, name);
		if (!allowed(ret, unbind_ok))
			UNEXPECTED(w, "unbind", ret);
		return;
	default:
		ret = facet_bus_rebind(bus, name);
		break;
	}
	if (!allowed(ret, bind_ok))
		UNEXPECTED(w, op == 3 ? "rebind" : "bind", ret);
}

static void plugin_op(struct worker *w)
{
	static const int ok[] = { -EEXIST, -ENOENT, -EBUSY, 0 };
	bool unload = rand_r(&w->seed) % 2;
	int ret;

	if (unload)
		ret = facet_bus_plugin_unload(bus, "tplug_alpha.so");
	else
		ret = facet_bus_plugin_load(bus, "tplug_alpha.so");
	if (ret == -EBUSY)
		atomic_fetch_add(&n_plugin_ebusy, 1);
	if (!allowed(ret, ok))
		UNEXPECTED(w, unload ? "plugin_unload" : "plugin_load", ret);
}

static void transient_cb(const struct facet_bus_event *e, void *arg)
{
	if (e->type != FACET_BUS_EVENT_BIND)
		atomic_fetch_add(&n_bad_events, 1);
}

static void subscribe_op(struct worker *w)
{
	int id = facet_bus_subscribe(bus, FACET_BUS_EVENT_BIND, transient_cb, NULL);

	if (id <= 0 || facet_bus_unsubscribe(bus, id) != 0)
		UNEXPECTED(w, "subscribe", id);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int count;

	for (int i = 0; i < N_ITERS; i++) {
		const char *name = all_names[rand_r(&w->seed) % N_ALL];
		int op = rand_r(&w->seed) % 100;

		if (op < 20)
			publish(w);
		else if (op < 32)
			unpublish(w, rand_r(&w->seed) % N_SLOTS);
		else if (op < 36)
			delete_other(name);
		else if (op < 66)
			bind_op(w, op % 4, name);
		else if (op < 72)
			facet_bus_set_override(bus, name, overrides[rand_r(&w->seed) % 5]);
		else if (op < 92)
			query(w, name);
		else if (op < 95)
			facet_bus_for_each_device(bus, count_fn, &count);
		else if (op < 97)
			subscribe_op(w);
		else
			plugin_op(w);
	}
	for (int s = 0; s < N_SLOTS; s++)
		unpublish(w, s);
	return NULL;
}

static void test_stress(void **state)
{
	struct worker workers[N_THREADS] = { 0 };
	int sub, unexpected = 0;

	tplug_reset();
	assert_int_equal(facet_bus_create(NULL, &bus), 0);
	sub = facet_bus_subscribe(bus, FACET_BUS_EVENT_ALL, event_cb, NULL);
	assert_true(sub > 0);
	assert_int_equal(facet_bus_driver_register(bus, &sdrv), 0);
	assert_int_equal(facet_bus_driver_register(bus, &sdrv2), 0);

	for (int i = 0; i < N_THREADS; i++) {
		workers[i].seed = 0x1234u + 7919u * (unsigned int)i;
		assert_int_equal(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]),
				 0);
	}
	for (int i = 0; i < N_THREADS; i++) {
		pthread_join(workers[i].thread, NULL);
		unexpected += workers[i].unexpected;
	}

	/* A few devices left for destroy to clean up, bound and with children. */
	for (int i = 0; i < 2; i++) {
		struct facet_bus_device *dev;
		struct sdev *s = calloc(1, sizeof(*s));
		struct facet_bus_device_info info = {
			.core = "tcore",
			.slice = "core",
			.id = (uint32_t)i,
			.release = sdev_release,
			.publisher_ctx = s,
		};

		assert_non_null(s);
		assert_int_equal(facet_bus_device_init(bus, &info, &dev), 0);
		atomic_fetch_add(&n_inits, 1);
		assert_int_equal(facet_bus_device_add(dev), 0);
		facet_bus_device_put(dev);
	}
	assert_int_equal(facet_bus_unsubscribe(bus, sub), 0);
	facet_bus_destroy(bus);

	print_message("inits %d, probes ok %d / failed %d, events %d\n", atomic_load(&n_inits),
		      atomic_load(&n_probe_ok), atomic_load(&n_probe_fail), atomic_load(&n_events));
	assert_int_equal(unexpected, 0);
	assert_int_equal(atomic_load(&n_double_release), 0);
	assert_int_equal(atomic_load(&n_releases), atomic_load(&n_inits));
	assert_int_equal(atomic_load(&n_probe_ok), atomic_load(&n_removes));
	assert_int_equal(atomic_load(&n_bad_drvdata), 0);
	assert_int_equal(atomic_load(&n_bad_events), 0);
	assert_int_equal(atomic_load(&n_bad_order), 0);
	assert_int_equal(tplug_count("alpha.probe"), tplug_count("alpha.remove"));
	assert_int_equal(tplug_count("core.probe"), tplug_count("core.remove"));
	assert_int_equal(tplug_count("beta.probe"), tplug_count("beta.remove"));
	assert_int_equal(tplug_count("core.bad_child_registered"), 0);
	assert_int_equal(tplug_count("alpha.bad_drvdata"), 0);
	assert_int_equal(tplug_count("beta.bad_core_gone"), 0);
	if (tplug_count("beta.bad_core"))
		print_error("beta probe: core handle -ENODEV %d, -ENOENT %d, -EPROTO %d\n",
			    tplug_count("beta.bad_core.-19"), tplug_count("beta.bad_core.-2"),
			    tplug_count("beta.bad_core.-71"));
	assert_int_equal(tplug_count("beta.bad_core"), 0);
	/* The run did exercise what it is meant to. */
	assert_true(atomic_load(&n_probe_ok) > 0);
	assert_true(atomic_load(&n_probe_fail) > 0);
	assert_true(tplug_count("core.probe") > 0);
	/* Loads and unloads did race (documented -EBUSY), without any other damage. */
	print_message("plugin load/unload races answered -EBUSY: %d\n",
		      atomic_load(&n_plugin_ebusy));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
	};

	return cmocka_run_group_tests_name("bus_stress", tests, NULL, NULL);
}
