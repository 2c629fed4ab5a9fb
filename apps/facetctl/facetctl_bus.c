/* SPDX-License-Identifier: MIT */
/*
 * Commands that change the bus: publish and delete devices, bind and unbind
 * them, load and unload plugins; and the event printer (-e).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "facetctl.h"

/* ---- add / del ---------------------------------------------------------- */

/* Split "<core>.<slice>.<id>" into @buf (modified in place). */
static int parse_device_name(const char *name, char *buf, size_t len,
			     struct facet_bus_device_info *info)
{
	char *slice_dot, *id_dot, *end;
	unsigned long id;

	if (snprintf(buf, len, "%s", name) >= (int)len)
		return -ENAMETOOLONG;
	id_dot = strrchr(buf, '.');
	if (!id_dot)
		return -EINVAL;
	*id_dot = '\0';
	slice_dot = strrchr(buf, '.');
	if (!slice_dot)
		return -EINVAL;
	*slice_dot = '\0';
	errno = 0;
	id = strtoul(id_dot + 1, &end, 10);
	if (errno || id_dot[1] < '0' || id_dot[1] > '9' || *end || id > UINT32_MAX)
		return -EINVAL;
	info->core = buf;
	info->slice = slice_dot + 1;
	info->id = (uint32_t)id;
	return 0;
}

int facetctl_published_add(struct facetctl *ctl, struct facet_bus_device *dev)
{
	struct facetctl_published *p = malloc(sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->dev = dev;
	p->next = ctl->published;
	ctl->published = p;
	return 0;
}

/* Take @dev off the list; returns the publisher's reference, or NULL if not ours. */
static struct facet_bus_device *published_take(struct facetctl *ctl, struct facet_bus_device *dev)
{
	for (struct facetctl_published **pp = &ctl->published; *pp; pp = &(*pp)->next) {
		struct facetctl_published *p = *pp;

		if (p->dev == dev) {
			*pp = p->next;
			free(p);
			return dev;
		}
	}
	return NULL;
}

int facetctl_cmd_add(struct facetctl *ctl, int argc, char **argv)
{
	struct facet_bus_device_info info = { 0 };
	struct facet_bus_device *dev;
	char buf[FACET_BUS_NAME_MAX];
	const char *name = argv[1];
	int ret;

	ret = parse_device_name(name, buf, sizeof(buf), &info);
	if (ret < 0)
		return facetctl_errmsg(argv[0], name, ret,
				       ret == -EINVAL ? "not a device name <core>.<slice>.<id>"
						      : "name too long");
	ret = facet_bus_device_init(ctl->bus, &info, &dev);
	if (ret == -EINVAL)
		return facetctl_errmsg(
			argv[0], name, ret,
			"bad device name (use lowercase letters, digits, '_' and '-')");
	if (ret < 0)
		return facetctl_err(argv[0], name, ret);
	/* "exdev.core.007" would become "exdev.core.7": refuse rather than surprise. */
	if (strcmp(facet_bus_device_name(dev), name) != 0) {
		facet_bus_device_put(dev);
		return facetctl_errmsg(argv[0], name, -EINVAL,
				       "not a canonical device name <core>.<slice>.<id>");
	}
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i]) {
			facet_bus_device_put(dev);
			facetctl_errmsg(argv[0], argv[i], -EINVAL, "attribute is not key=value");
			return FACETCTL_EUSAGE;
		}
		*eq = '\0';
		ret = facet_bus_device_set_attr(dev, argv[i], eq + 1);
		*eq = '=';
		if (ret < 0) {
			facet_bus_device_put(dev);
			return facetctl_err(argv[0], argv[i], ret);
		}
	}
	ret = facetctl_published_add(ctl, dev);
	if (ret == 0) {
		/* Binds it right away if a driver matches (the bus autoloads the plugin). */
		ret = facet_bus_device_add(dev);
		if (ret < 0)
			published_take(ctl, dev);
	}
	if (ret < 0) {
		facet_bus_device_put(dev);
		return facetctl_errmsg(argv[0], name, ret,
				       ret == -EEXIST ? "a device of that name exists"
						      : strerror(-ret));
	}
	return 0;
}

int facetctl_cmd_del(struct facetctl *ctl, int argc, char **argv)
{
	struct facet_bus_device *dev = facet_bus_find_device(ctl->bus, argv[1]);

	if (!dev)
		return facetctl_errmsg(argv[0], argv[1], -ENODEV, "no such device");
	/* Unbinds it and deletes its children first. */
	facet_bus_device_del(dev);
	facet_bus_device_put(published_take(ctl, dev));
	facet_bus_device_put(dev);
	return 0;
}

/* ---- binding ------------------------------------------------------------ */

/* What a bind error means, in the words of facet_bus.h. */
static const char *bind_strerror(int err, const char *drv)
{
	switch (err) {
	case -ENODEV:
		return "no such device";
	case -EBUSY:
		return "already bound (unbind it first, or use rebind)";
	case -ENOENT:
		return drv ? "no such driver" : "no matching driver";
	case -EPERM:
		return "the device's driver override names another driver";
	case -ENXIO:
		return "the driver does not match the device";
	default:
		return strerror(-err);
	}
}

int facetctl_cmd_bind(struct facetctl *ctl, int argc, char **argv)
{
	const char *drv = argc > 2 ? argv[2] : NULL;
	int ret = facet_bus_bind(ctl->bus, argv[1], drv);

	if (ret < 0)
		return facetctl_errmsg(argv[0], argv[1], ret, bind_strerror(ret, drv));
	return 0;
}

int facetctl_cmd_unbind(struct facetctl *ctl, int argc, char **argv)
{
	int ret = facet_bus_unbind(ctl->bus, argv[1]);

	if (ret < 0)
		return facetctl_errmsg(argv[0], argv[1], ret,
				       ret == -ENOENT ? "not bound" : bind_strerror(ret, NULL));
	return 0;
}

int facetctl_cmd_rebind(struct facetctl *ctl, int argc, char **argv)
{
	int ret = facet_bus_rebind(ctl->bus, argv[1]);

	if (ret < 0)
		return facetctl_errmsg(argv[0], argv[1], ret, bind_strerror(ret, NULL));
	return 0;
}

int facetctl_cmd_override(struct facetctl *ctl, int argc, char **argv)
{
	const char *drv = strcmp(argv[2], "none") == 0 ? NULL : argv[2];
	int ret = facet_bus_set_override(ctl->bus, argv[1], drv);

	if (ret < 0)
		return facetctl_errmsg(argv[0], argv[1], ret,
				       ret == -ENODEV ? "no such device" : strerror(-ret));
	return 0;
}

/* ---- plugins ------------------------------------------------------------ */

int facetctl_cmd_load(struct facetctl *ctl, int argc, char **argv)
{
	int ret = facet_bus_plugin_load(ctl->bus, argv[1]);
	const char *msg;

	switch (ret) {
	case 0:
		return 0;
	case -EEXIST:
		msg = "already loaded";
		break;
	case -ENOENT:
		msg = "no such plugin in the plugin path";
		break;
	case -ELIBBAD:
		msg = "cannot load it as a Facet plugin (the log above says why)";
		break;
	default:
		msg = strerror(-ret);
		break;
	}
	return facetctl_errmsg(argv[0], argv[1], ret, msg);
}

int facetctl_cmd_unload(struct facetctl *ctl, int argc, char **argv)
{
	int ret = facet_bus_plugin_unload(ctl->bus, argv[1]);

	if (ret < 0)
		return facetctl_errmsg(argv[0], argv[1], ret,
				       ret == -ENOENT ? "not loaded" : strerror(-ret));
	return 0;
}

/* ---- events ------------------------------------------------------------- */

/* Runs in whatever thread caused the event, with that device's lock held: print only. */
static void print_event(const struct facet_bus_event *ev, void *arg)
{
	struct facetctl *ctl = arg;
	const char *type = facet_bus_event_name(ev->type);

	if (ctl->json) {
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, "event", json_object_new_string(type));
		if (ev->dev_name)
			json_object_object_add(obj, "device", json_object_new_string(ev->dev_name));
		if (ev->driver)
			json_object_object_add(obj, "driver", json_object_new_string(ev->driver));
		if (ev->error) {
			json_object_object_add(obj, "error", json_object_new_int(ev->error));
			json_object_object_add(obj, "error_msg",
					       json_object_new_string(strerror(-ev->error)));
		}
		/* One object per line, whatever -P says: it is a stream. */
		printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		json_object_put(obj);
	} else {
		/* One write per event: events may come from several threads. */
		char line[FACET_BUS_NAME_MAX + FACET_BUS_DRIVER_NAME_MAX + 128];
		int len = snprintf(line, sizeof(line), "event: %s", type);

		if (ev->dev_name)
			len += snprintf(line + len, sizeof(line) - len, " %s", ev->dev_name);
		if (ev->driver)
			len += snprintf(line + len, sizeof(line) - len,
					ev->dev_name ? " driver=%s" : " %s", ev->driver);
		if (ev->error)
			snprintf(line + len, sizeof(line) - len, " error=\"%s\"",
				 strerror(-ev->error));
		puts(line);
	}
	fflush(stdout);
}

int facetctl_events_start(struct facetctl *ctl)
{
	int ret = facet_bus_subscribe(ctl->bus, FACET_BUS_EVENT_ALL, print_event, ctl);

	if (ret < 0)
		return ret;
	ctl->events_sub = ret;
	return 0;
}

void facetctl_bus_teardown(struct facetctl *ctl)
{
	/* The teardown is not something the user asked to watch. */
	if (ctl->events_sub > 0)
		facet_bus_unsubscribe(ctl->bus, ctl->events_sub);
	ctl->events_sub = 0;
	while (ctl->published) {
		struct facet_bus_device *dev = ctl->published->dev;

		published_take(ctl, dev);
		facet_bus_device_del(dev);
		facet_bus_device_put(dev);
	}
}
