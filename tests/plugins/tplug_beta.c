/* SPDX-License-Identifier: MIT */
/*
 * Test plugin with two drivers:
 *  - "tdrv_core" binds "tcore.core.<id>" and, from its probe, publishes the
 *    slices "tcore.alpha.<id>" and "tcore.beta.<id>" with itself as parent
 *    and a core handle { TCORE_API, TCORE_API_VERSION }.
 *  - "tdrv_beta" binds "tcore.beta" and checks the core handle.
 * Counters: core.probe, core.remove, core.child_release, beta.probe,
 * beta.remove, and core.bad_* / beta.bad_* for anything unexpected.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facet_bus_driver.h"
#include "tplug_common.h"

#define N_SLICES 2

struct core_priv {
	struct facet_bus_device *slices[N_SLICES];
};

static const char *const slice_names[N_SLICES] = { "alpha", "beta" };

static int core_ping(void *ctx)
{
	return ctx ? TCORE_PING : -EINVAL;
}

static const struct tcore_ops core_ops = { .ping = core_ping };

FACET_BUS_ID_TABLE(core_ids) = {
	{ "tcore.core", 0 },
	{ "" },
};

FACET_BUS_ID_TABLE(beta_ids) = {
	{ "tcore.beta", 0xb },
	{ "" },
};

static void core_child_release(struct facet_bus_device *dev, void *publisher_ctx)
{
	tplug_note("core.child_release");
}

static void core_drop_slices(struct core_priv *priv)
{
	for (int i = 0; i < N_SLICES; i++) {
		if (!priv->slices[i])
			continue;
		if (facet_bus_device_is_registered(priv->slices[i]))
			tplug_note("core.bad_child_registered");
		/* The bus deleted them before remove(); deleting again is a no-op. */
		facet_bus_device_del(priv->slices[i]);
		facet_bus_device_put(priv->slices[i]);
		priv->slices[i] = NULL;
	}
}

static int core_publish(struct facet_bus_device *dev, struct core_priv *priv, int i)
{
	struct facet_bus_device_info info = {
		.core = "tcore",
		.slice = slice_names[i],
		.id = facet_bus_device_id(dev),
		.parent = dev,
		.core_handle = { .api = TCORE_API,
				 .version = TCORE_API_VERSION,
				 .ops = &core_ops,
				 .ctx = priv },
		.release = core_child_release,
	};
	int ret;

	ret = facet_bus_device_init(facet_bus_device_bus(dev), &info, &priv->slices[i]);
	if (ret < 0) {
		priv->slices[i] = NULL;
		return ret;
	}
	return facet_bus_device_add(priv->slices[i]);
}

static int core_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	struct core_priv *priv = calloc(1, sizeof(*priv));
	int ret = 0;

	if (!priv)
		return -ENOMEM;
	/* Set first: the slices may bind (and be removed) before probe returns. */
	facet_bus_device_set_drvdata(dev, priv);
	for (int i = 0; i < N_SLICES && ret == 0; i++)
		ret = core_publish(dev, priv, i);
	if (ret < 0) {
		tplug_note("core.probe_fail");
		for (int i = 0; i < N_SLICES; i++) {
			if (priv->slices[i]) {
				facet_bus_device_del(priv->slices[i]);
				facet_bus_device_put(priv->slices[i]);
			}
		}
		facet_bus_device_set_drvdata(dev, NULL);
		free(priv);
		return ret;
	}
	tplug_note("core.probe");
	return 0;
}

static void core_remove(struct facet_bus_device *dev)
{
	struct core_priv *priv = facet_bus_device_get_drvdata(dev);

	if (!priv) {
		tplug_note("core.bad_drvdata");
		return;
	}
	core_drop_slices(priv);
	free(priv);
	tplug_note("core.remove");
}

static int beta_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	const struct facet_bus_core_handle *h = NULL;
	const struct facet_bus_device *parent = facet_bus_device_parent(dev);
	const struct tcore_ops *ops;
	int ret;

	ret = facet_bus_device_core(dev, TCORE_API, TCORE_API_VERSION, &h);
	if (ret < 0 || !h) {
		char key[64];

		/* Which error, for the report: "beta.bad_core.-19". */
		snprintf(key, sizeof(key), "beta.bad_core.%d", ret);
		tplug_note(key);
		tplug_note("beta.bad_core");
		return ret < 0 ? ret : -EPROTO;
	}
	ops = h->ops;
	if (ops != &core_ops || ops->ping(h->ctx) != TCORE_PING)
		tplug_note("beta.bad_ops");
	if (facet_bus_device_core(dev, TCORE_API, TCORE_API_VERSION + 1, &h) != -EPROTO)
		tplug_note("beta.bad_version_check");
	if (facet_bus_device_core(dev, "other.api", TCORE_API_VERSION, &h) != -EPROTO)
		tplug_note("beta.bad_api_check");
	if (!parent || strcmp(facet_bus_device_match_name(parent), "tcore.core") != 0)
		tplug_note("beta.bad_parent");
	if (!id || id->driver_data != 0xb)
		tplug_note("beta.bad_id");
	tplug_note("beta.probe");
	return 0;
}

static void beta_remove(struct facet_bus_device *dev)
{
	const struct facet_bus_device *parent = facet_bus_device_parent(dev);

	/* Slices are removed while their core is still bound. */
	if (!parent || !facet_bus_device_get_drvdata(parent))
		tplug_note("beta.bad_core_gone");
	tplug_note("beta.remove");
}

static const struct facet_bus_driver core_driver = {
	.name = "tdrv_core",
	.id_table = core_ids,
	.probe = core_probe,
	.remove = core_remove,
};

static const struct facet_bus_driver beta_driver = {
	.name = "tdrv_beta",
	.id_table = beta_ids,
	.probe = beta_probe,
	.remove = beta_remove,
};

FACET_BUS_PLUGIN(&core_driver, &beta_driver);
