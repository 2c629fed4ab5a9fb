/* SPDX-License-Identifier: MIT */
/*
 * Publishing an open PCI device on the plugin bus; see facet_core_bus.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "core_private.h"
#include "facet_core_bus.h"

static void pci_release(struct facet_bus_device *bdev, void *ctx)
{
	facet_core_close(ctx);
}

/* The instance number: unique per process, so names never collide across buses. */
static uint32_t next_instance(void)
{
	static atomic_uint counter;

	return atomic_fetch_add(&counter, 1);
}

static int set_attrf(struct facet_bus_device *bdev, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_attrf(struct facet_bus_device *bdev, const char *key, const char *fmt, ...)
{
	char value[FACET_BUS_ATTR_VALUE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	return facet_bus_device_set_attr(bdev, key, value);
}

static int set_bar_attrs(struct facet_core_dev *dev, struct facet_bus_device *bdev)
{
	struct facet_core_region_info r;
	char key[8];
	int ret = 0;

	for (unsigned int bar = 0; bar < 6 && ret == 0; bar++) {
		if (facet_core_region_info(dev, bar, &r) < 0 || !r.size)
			continue;
		snprintf(key, sizeof(key), "bar%u", bar);
		ret = set_attrf(bdev, key, "%llu%s", (unsigned long long)r.size,
				r.n_mmap_areas ? " mmap" : "");
	}
	return ret;
}

static int set_attrs(struct facet_core_dev *dev, struct facet_bus_device *bdev)
{
	const struct facet_core_info *info = facet_core_info(dev);
	int ret;

	ret = facet_bus_device_set_attr(bdev, "device", info->name);
	if (ret == 0)
		ret = facet_bus_device_set_attr(bdev, "transport", info->transport);
	if (ret == 0)
		ret = set_attrf(bdev, "ids", "%04x:%04x", info->vendor_id, info->device_id);
	if (ret == 0)
		ret = set_attrf(bdev, "class", "%06x", info->class_code);
	if (ret == 0)
		ret = set_attrf(bdev, "numa_node", "%d", info->numa_node);
	if (ret == 0)
		ret = set_bar_attrs(dev, bdev);
	return ret;
}

int facet_core_bus_open(struct facet_bus *bus, const char *name,
			const struct facet_core_open_opts *opts, struct facet_bus_device **out)
{
	struct facet_bus_device_info binfo = {
		.core = "pci",
		.id = next_instance(),
		.core_handle = { .api = FACET_CORE_BUS_API, .version = FACET_CORE_BUS_API_VERSION },
		.release = pci_release,
	};
	const struct facet_core_info *info;
	struct facet_bus_device *bdev;
	struct facet_core_dev *dev;
	char slice[16];
	int ret;

	ret = facet_core_open(name, opts, &dev);
	if (ret < 0)
		return ret;
	info = facet_core_info(dev);
	snprintf(slice, sizeof(slice), "%04x_%04x", info->vendor_id, info->device_id);
	binfo.slice = slice;
	binfo.core_handle.ctx = dev;
	binfo.publisher_ctx = dev;
	ret = facet_bus_device_init(bus, &binfo, &bdev);
	if (ret < 0) {
		facet_core_close(dev);
		return ret;
	}
	/* From here the bus device owns @dev: put closes it. */
	ret = set_attrs(dev, bdev);
	if (ret == 0)
		ret = facet_bus_device_add(bdev);
	if (ret < 0) {
		facet_bus_device_put(bdev);
		return ret;
	}
	*out = bdev;
	return 0;
}

struct facet_core_dev *facet_core_bus_device(struct facet_bus_device *bdev)
{
	const struct facet_bus_core_handle *h;

	if (facet_bus_device_core(bdev, FACET_CORE_BUS_API, FACET_CORE_BUS_API_VERSION, &h) < 0)
		return NULL;
	return h->ctx;
}
