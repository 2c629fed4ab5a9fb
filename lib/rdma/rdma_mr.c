/* SPDX-License-Identifier: MIT */
/*
 * Memory regions: the library makes the memory reachable in the device's
 * DMA space (rdma_mem.c) and hands the driver an IOVA; the driver creates
 * the MR on the device with its keys.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facet_core.h"
#include "rdma_private.h"

#define ACCESS_ALL                                                                                 \
	(FACET_RDMA_ACCESS_LOCAL_WRITE | FACET_RDMA_ACCESS_REMOTE_WRITE |                          \
	 FACET_RDMA_ACCESS_REMOTE_READ | FACET_RDMA_ACCESS_REMOTE_ATOMIC)

static int check_access(struct facet_rdma_dev *dev, size_t length, uint32_t access)
{
	if (access & ~ACCESS_ALL) {
		RDMA_ERR("%s: MR: unknown access flags %#x", dev->name, access & ~ACCESS_ALL);
		return -EINVAL;
	}
	/* As in verbs: whoever may write remotely must be allowed to write locally. */
	if ((access & (FACET_RDMA_ACCESS_REMOTE_WRITE | FACET_RDMA_ACCESS_REMOTE_ATOMIC)) &&
	    !(access & FACET_RDMA_ACCESS_LOCAL_WRITE)) {
		RDMA_ERR("%s: MR: REMOTE_WRITE and REMOTE_ATOMIC need LOCAL_WRITE", dev->name);
		return -EINVAL;
	}
	if (!length || (dev->attr.max_mr_size && length > dev->attr.max_mr_size)) {
		RDMA_ERR("%s: MR: length %zu out of range (1 .. %llu)", dev->name, length,
			 (unsigned long long)dev->attr.max_mr_size);
		return -EINVAL;
	}
	return 0;
}

/* Lock held. */
static int mr_create(struct facet_rdma_mr *mr)
{
	struct facet_rdma_dev *dev = mr->dev;
	uint32_t dma_access = FACET_CORE_DMA_READ;
	struct facet_rdma_mr_hw hw = {
		.va = (uintptr_t)mr->addr,
		.length = mr->length,
		.pdn = mr->pd->pdn,
		.access = mr->access,
	};
	int ret;

	if (mr->access & ACCESS_ALL & ~FACET_RDMA_ACCESS_REMOTE_READ)
		dma_access |= FACET_CORE_DMA_WRITE;
	ret = rdma_mem_map(dev->dma_dev, mr->addr, mr->length, dma_access, &mr->mem, &hw.iova);
	if (ret < 0)
		return ret;
	ret = dev->ops->mr_reg(dev->priv, &hw, &mr->lkey, &mr->rkey);
	if (ret < 0) {
		rdma_mem_unmap(dev->dma_dev, &mr->mem);
		return ret;
	}
	return 0;
}

int facet_rdma_mr_reg(struct facet_rdma_pd *pd, void *addr, size_t length, uint32_t access,
		      struct facet_rdma_mr **out)
{
	struct facet_rdma_dev *dev;
	struct facet_rdma_mr *mr;
	int ret;

	if (!pd || !addr || !out)
		return -EINVAL;
	dev = pd->dev;
	mr = calloc(1, sizeof(*mr));
	if (!mr)
		return -ENOMEM;
	ret = rdma_dev_lock(dev, "mr_reg");
	if (ret < 0) {
		free(mr);
		return ret;
	}
	mr->dev = dev;
	mr->pd = pd;
	mr->addr = addr;
	mr->length = length;
	mr->access = access;
	ret = pd->live ? check_access(dev, length, access) : -ENODEV;
	if (ret == 0)
		ret = mr_create(mr);
	if (ret == 0) {
		mr->live = true;
		pd->users++;
		facet_rdma_dev_ref(dev);
		LIST_INSERT_HEAD(&dev->mrs, mr, next);
	}
	rdma_dev_unlock(dev);
	if (ret < 0) {
		free(mr);
		return ret;
	}
	RDMA_DEBUG("%s: MR %p+%zu: lkey %#x rkey %#x", dev->name, addr, length, mr->lkey, mr->rkey);
	*out = mr;
	return 0;
}

/* Lock held: the device stops using the memory, then it leaves the DMA space. */
void rdma_mr_teardown(struct facet_rdma_mr *mr)
{
	struct facet_rdma_dev *dev = mr->dev;
	int ret = dev->ops->mr_dereg(dev->priv, mr->lkey);

	if (ret < 0)
		RDMA_WARN("%s: MR lkey %#x: destroy on the device failed: %s", dev->name, mr->lkey,
			  strerror(-ret));
	rdma_mem_unregister(dev->dma_dev, &mr->mem);
	LIST_REMOVE(mr, next);
	mr->live = false;
}

int facet_rdma_mr_dereg(struct facet_rdma_mr *mr)
{
	struct facet_rdma_dev *dev;

	if (!mr)
		return -EINVAL;
	dev = mr->dev;
	pthread_mutex_lock(&dev->lock);
	if (mr->live)
		rdma_mr_teardown(mr);
	/* Registration is gone either way; the alias and the shadow pages go now. */
	rdma_mem_unmap(NULL, &mr->mem);
	mr->pd->users--;
	pthread_mutex_unlock(&dev->lock);
	free(mr);
	facet_rdma_dev_put(dev);
	return 0;
}

uint32_t facet_rdma_mr_lkey(const struct facet_rdma_mr *mr)
{
	return mr->lkey;
}

uint32_t facet_rdma_mr_rkey(const struct facet_rdma_mr *mr)
{
	return mr->rkey;
}

void *facet_rdma_mr_addr(const struct facet_rdma_mr *mr)
{
	return mr->addr;
}

size_t facet_rdma_mr_length(const struct facet_rdma_mr *mr)
{
	return mr->length;
}
