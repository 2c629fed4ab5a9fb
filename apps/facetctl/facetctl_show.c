/* SPDX-License-Identifier: MIT */
/*
 * Commands that print the bus: "show" (the device tree), "drivers" and "plugins".
 *
 * Text output is for people: a tree of devices, each with its driver and
 * attributes. JSON output (-j) is for scripts and stays stable: "show" gives
 * a flat array of device objects in the order they were added (parents
 * before children), each naming its parent and children, so that
 * `jq '.[] | select(.driver == null) | .name'` lists the unbound devices.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "facetctl.h"

/* Referenced devices, in bus order. */
struct snapshot {
	struct facet_bus_device **devs;
	unsigned int n;
	unsigned int cap;
};

static int snapshot_add(struct facet_bus_device *dev, void *arg)
{
	struct snapshot *s = arg;

	if (s->n == s->cap) {
		unsigned int cap = s->cap ? 2 * s->cap : 16;
		struct facet_bus_device **grown = realloc(s->devs, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->devs = grown;
		s->cap = cap;
	}
	facet_bus_device_get(dev);
	s->devs[s->n++] = dev;
	return 0;
}

static void snapshot_free(struct snapshot *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		facet_bus_device_put(s->devs[i]);
	free(s->devs);
}

static bool is_descendant(const struct facet_bus_device *dev, const struct facet_bus_device *root)
{
	for (; dev; dev = facet_bus_device_parent(dev)) {
		if (dev == root)
			return true;
	}
	return false;
}

/* All devices, or @root and its descendants. */
static int snapshot_take(struct facetctl *ctl, const struct facet_bus_device *root,
			 struct snapshot *s)
{
	unsigned int kept = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = facet_bus_for_each_device(ctl->bus, snapshot_add, s);
	if (ret < 0) {
		snapshot_free(s);
		return ret;
	}
	for (unsigned int i = 0; i < s->n; i++) {
		if (!root || is_descendant(s->devs[i], root))
			s->devs[kept++] = s->devs[i];
		else
			facet_bus_device_put(s->devs[i]);
	}
	s->n = kept;
	return 0;
}

static bool snapshot_has(const struct snapshot *s, const struct facet_bus_device *dev)
{
	for (unsigned int i = 0; i < s->n; i++) {
		if (s->devs[i] == dev)
			return true;
	}
	return false;
}

/* Driver name into @buf, or NULL if unbound (or deleted meanwhile). */
static const char *driver_of(struct facet_bus_device *dev, char *buf, size_t len)
{
	return facet_bus_device_driver_name(dev, buf, len) == 0 ? buf : NULL;
}

/* ---- text --------------------------------------------------------------- */

struct tree_glyphs {
	const char *branch; /* a child with siblings after it */
	const char *last;   /* the last child */
	const char *pipe;   /* indentation under a non-last child */
	const char *blank;  /* indentation under the last child */
};

static const struct tree_glyphs glyphs_utf8 = { "├── ", "└── ", "│   ", "    " };
static const struct tree_glyphs glyphs_ascii = { "|-- ", "`-- ", "|   ", "    " };

static void print_device_line(struct facet_bus_device *dev)
{
	char drv[FACET_BUS_DRIVER_NAME_MAX];
	const char *key, *value;

	if (driver_of(dev, drv, sizeof(drv)))
		printf("%s [%s]", facet_bus_device_name(dev), drv);
	else
		printf("%s (unbound)", facet_bus_device_name(dev));
	if (facet_bus_device_override(dev, drv, sizeof(drv)) == 0)
		printf(" override=%s", drv);
	for (unsigned int i = 0; facet_bus_device_attr_at(dev, i, &key, &value) == 0; i++) {
		if (!*value || strpbrk(value, " \t\""))
			printf(" %s=\"%s\"", key, value);
		else
			printf(" %s=%s", key, value);
	}
	printf("\n");
}

static void print_tree(const struct snapshot *s, struct facet_bus_device *dev, char *prefix,
		       size_t prefix_len, const struct tree_glyphs *g)
{
	unsigned int last = 0, n_children = 0;

	print_device_line(dev);
	for (unsigned int i = 0; i < s->n; i++) {
		if (facet_bus_device_parent(s->devs[i]) == dev) {
			last = i;
			n_children++;
		}
	}
	for (unsigned int i = 0; n_children && i <= last; i++) {
		const char *indent;
		size_t len = strlen(prefix);

		if (facet_bus_device_parent(s->devs[i]) != dev)
			continue;
		indent = i == last ? g->blank : g->pipe;
		printf("%s%s", prefix, i == last ? g->last : g->branch);
		if (len + strlen(indent) < prefix_len) {
			strcat(prefix, indent);
			print_tree(s, s->devs[i], prefix, prefix_len, g);
			prefix[len] = '\0';
		} else {
			print_device_line(s->devs[i]); /* absurdly deep: stop indenting */
		}
	}
}

static void show_text(const struct facetctl *ctl, const struct snapshot *s)
{
	const struct tree_glyphs *g = ctl->utf8 ? &glyphs_utf8 : &glyphs_ascii;
	char prefix[256];

	for (unsigned int i = 0; i < s->n; i++) {
		/* Roots: no parent, or a parent outside what is shown. */
		if (snapshot_has(s, facet_bus_device_parent(s->devs[i])))
			continue;
		prefix[0] = '\0';
		print_tree(s, s->devs[i], prefix, sizeof(prefix), g);
	}
}

/* ---- JSON --------------------------------------------------------------- */

static struct json_object *json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *device_json(const struct snapshot *s, struct facet_bus_device *dev)
{
	struct facet_bus_device *parent = facet_bus_device_parent(dev);
	struct json_object *obj = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	struct json_object *children = json_object_new_array();
	char drv[FACET_BUS_DRIVER_NAME_MAX];
	const char *key, *value;

	json_object_object_add(obj, "name", json_object_new_string(facet_bus_device_name(dev)));
	json_object_object_add(obj, "match",
			       json_object_new_string(facet_bus_device_match_name(dev)));
	json_object_object_add(obj, "id", json_object_new_int64(facet_bus_device_id(dev)));
	json_object_object_add(obj, "parent",
			       json_string_or_null(parent ? facet_bus_device_name(parent) : NULL));
	json_object_object_add(obj, "driver",
			       json_string_or_null(driver_of(dev, drv, sizeof(drv))));
	json_object_object_add(
		obj, "override",
		json_string_or_null(facet_bus_device_override(dev, drv, sizeof(drv)) ? NULL : drv));
	for (unsigned int i = 0; facet_bus_device_attr_at(dev, i, &key, &value) == 0; i++)
		json_object_object_add(attrs, key, json_object_new_string(value));
	json_object_object_add(obj, "attrs", attrs);
	for (unsigned int i = 0; i < s->n; i++) {
		if (facet_bus_device_parent(s->devs[i]) == dev)
			json_object_array_add(children, json_object_new_string(
								facet_bus_device_name(s->devs[i])));
	}
	json_object_object_add(obj, "children", children);
	return obj;
}

void facetctl_json_print(const struct facetctl *ctl, struct json_object *obj)
{
	int flags = ctl->pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
				: JSON_C_TO_STRING_PLAIN;

	printf("%s\n", json_object_to_json_string_ext(obj, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- commands ----------------------------------------------------------- */

int facetctl_cmd_show(struct facetctl *ctl, int argc, char **argv)
{
	struct facet_bus_device *root = NULL;
	struct snapshot s;
	int ret;

	if (argc > 1) {
		root = facet_bus_find_device(ctl->bus, argv[1]);
		if (!root)
			return facetctl_errmsg(argv[0], argv[1], -ENODEV, "no such device");
	}
	ret = snapshot_take(ctl, root, &s);
	facet_bus_device_put(root);
	if (ret < 0)
		return facetctl_err(argv[0], NULL, ret);
	if (ctl->json) {
		struct json_object *arr = json_object_new_array();

		for (unsigned int i = 0; i < s.n; i++)
			json_object_array_add(arr, device_json(&s, s.devs[i]));
		facetctl_json_print(ctl, arr);
		json_object_put(arr);
	} else {
		show_text(ctl, &s);
	}
	snapshot_free(&s);
	return 0;
}

static int driver_json(const char *name, const char *plugin, void *arg)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "name", json_object_new_string(name));
	json_object_object_add(obj, "plugin", json_string_or_null(plugin));
	json_object_array_add(arg, obj);
	return 0;
}

static int driver_text(const char *name, const char *plugin, void *arg)
{
	printf("%-24s %s\n", name, plugin ? plugin : "(built in)");
	return 0;
}

int facetctl_cmd_drivers(struct facetctl *ctl, int argc, char **argv)
{
	int ret;

	if (ctl->json) {
		struct json_object *arr = json_object_new_array();

		ret = facet_bus_for_each_driver(ctl->bus, driver_json, arr);
		if (ret == 0)
			facetctl_json_print(ctl, arr);
		json_object_put(arr);
	} else {
		ret = facet_bus_for_each_driver(ctl->bus, driver_text, NULL);
	}
	if (ret < 0)
		return facetctl_err(argv[0], NULL, ret);
	return 0;
}

static int plugin_json(const char *path, bool loaded, const char *matches, void *arg)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *list = json_object_new_array();
	char *copy = strdup(matches), *save = NULL;

	for (char *m = copy ? strtok_r(copy, ",", &save) : NULL; m; m = strtok_r(NULL, ",", &save))
		json_object_array_add(list, json_object_new_string(m));
	free(copy);
	json_object_object_add(obj, "path", json_object_new_string(path));
	json_object_object_add(obj, "loaded", json_object_new_boolean(loaded));
	json_object_object_add(obj, "matches", list);
	json_object_array_add(arg, obj);
	return 0;
}

static int plugin_text(const char *path, bool loaded, const char *matches, void *arg)
{
	printf("%-7s %-24s %s\n", loaded ? "loaded" : "-", *matches ? matches : "(no ids)", path);
	return 0;
}

int facetctl_cmd_plugins(struct facetctl *ctl, int argc, char **argv)
{
	int ret;

	if (ctl->json) {
		struct json_object *arr = json_object_new_array();

		ret = facet_bus_for_each_plugin(ctl->bus, plugin_json, arr);
		if (ret == 0)
			facetctl_json_print(ctl, arr);
		json_object_put(arr);
	} else {
		ret = facet_bus_for_each_plugin(ctl->bus, plugin_text, NULL);
	}
	if (ret < 0)
		return facetctl_err(argv[0], NULL, ret);
	return 0;
}
