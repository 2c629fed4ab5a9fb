/* SPDX-License-Identifier: MIT */
/*
 * Protection domains and address handles: small objects with a number on
 * the device. A PD counts its users (MRs, QPs, AHs) so it cannot be freed
 * under them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rdma_private.h"

int facet_rdma_pd_alloc(struct facet_rdma_dev *dev, struct facet_rdma_pd **out)
{
	struct facet_rdma_pd *pd;
	int ret;

	if (!out)
		return -EINVAL;
	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return -ENOMEM;
	ret = rdma_dev_lock(dev, "pd_alloc");
	if (ret < 0) {
		free(pd);
		return ret;
	}
	ret = dev->ops->pd_alloc(dev->priv, &pd->pdn);
	if (ret == 0) {
		pd->dev = dev;
		pd->live = true;
		facet_rdma_dev_ref(dev);
		LIST_INSERT_HEAD(&dev->pds, pd, next);
	}
	rdma_dev_unlock(dev);
	if (ret < 0) {
		free(pd);
		return ret;
	}
	*out = pd;
	return 0;
}

void rdma_pd_teardown(struct facet_rdma_pd *pd)
{
	struct facet_rdma_dev *dev = pd->dev;
	int ret = dev->ops->pd_free(dev->priv, pd->pdn);

	if (ret < 0)
		RDMA_WARN("%s: PD %u: free on the device failed: %s", dev->name, pd->pdn,
			  strerror(-ret));
	LIST_REMOVE(pd, next);
	pd->live = false;
}

int facet_rdma_pd_free(struct facet_rdma_pd *pd)
{
	struct facet_rdma_dev *dev;

	if (!pd)
		return -EINVAL;
	dev = pd->dev;
	pthread_mutex_lock(&dev->lock);
	if (pd->users) {
		pthread_mutex_unlock(&dev->lock);
		RDMA_ERR("%s: PD %u is still used by %u MRs, QPs or AHs", dev->name, pd->pdn,
			 pd->users);
		return -EBUSY;
	}
	if (pd->live)
		rdma_pd_teardown(pd);
	pthread_mutex_unlock(&dev->lock);
	free(pd);
	facet_rdma_dev_put(dev);
	return 0;
}

struct facet_rdma_dev *facet_rdma_pd_dev(const struct facet_rdma_pd *pd)
{
	return pd->dev;
}

/* ---- address handles ------------------------------------------------------------ */

int facet_rdma_ah_create(struct facet_rdma_pd *pd, const struct facet_rdma_ah_attr *attr,
			 struct facet_rdma_ah **out)
{
	struct facet_rdma_ah_attr a;
	struct facet_rdma_dev *dev;
	struct facet_rdma_ah *ah;
	int ret;

	if (!pd || !attr || !out)
		return -EINVAL;
	dev = pd->dev;
	if (attr->port_num > 1) {
		RDMA_ERR("%s: AH: no port %u", dev->name, attr->port_num);
		return -EINVAL;
	}
	a = *attr;
	if (!a.hop_limit)
		a.hop_limit = 64;
	ret = rdma_resolve_dmac(dev, &a);
	if (ret < 0)
		return ret;
	ah = calloc(1, sizeof(*ah));
	if (!ah)
		return -ENOMEM;
	ret = rdma_dev_lock(dev, "ah_create");
	if (ret < 0) {
		free(ah);
		return ret;
	}
	if (!pd->live) {
		ret = -ENODEV;
	} else {
		ret = dev->ops->ah_create(dev->priv, pd->pdn, &a, &ah->hdr.handle);
	}
	if (ret == 0) {
		ah->dev = dev;
		ah->pd = pd;
		ah->live = true;
		pd->users++;
		facet_rdma_dev_ref(dev);
		LIST_INSERT_HEAD(&dev->ahs, ah, next);
	}
	rdma_dev_unlock(dev);
	if (ret < 0) {
		free(ah);
		return ret;
	}
	*out = ah;
	return 0;
}

void rdma_ah_teardown(struct facet_rdma_ah *ah)
{
	struct facet_rdma_dev *dev = ah->dev;
	int ret = dev->ops->ah_destroy(dev->priv, ah->hdr.handle);

	if (ret < 0)
		RDMA_WARN("%s: AH %u: destroy on the device failed: %s", dev->name, ah->hdr.handle,
			  strerror(-ret));
	LIST_REMOVE(ah, next);
	ah->live = false;
}

int facet_rdma_ah_destroy(struct facet_rdma_ah *ah)
{
	struct facet_rdma_dev *dev;

	if (!ah)
		return -EINVAL;
	dev = ah->dev;
	pthread_mutex_lock(&dev->lock);
	if (ah->live)
		rdma_ah_teardown(ah);
	ah->pd->users--;
	pthread_mutex_unlock(&dev->lock);
	free(ah);
	facet_rdma_dev_put(dev);
	return 0;
}
