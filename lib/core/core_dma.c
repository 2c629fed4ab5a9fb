/* SPDX-License-Identifier: MIT */
/*
 * DMA mappings of a device: memory Facet allocates (facet_core_dma_alloc) and
 * memory the application registers (facet_core_dma_register). Both get an
 * IOVA from the device's allocator and are mapped through the transport;
 * the list lets close() undo whatever the caller forgot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_private.h"

struct facet_core_dma {
	struct facet_core_dev *dev;
	struct core_mem mem;
	struct core_dma_map map;
};

static int map_new(struct facet_core_dev *dev, struct core_dma_map *map, void *va, size_t len,
		   int fd, uint64_t offset, uint32_t access, size_t align)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = core_iova_alloc(dev, len, align, &map->iova);
	pthread_mutex_unlock(&dev->lock);
	if (ret < 0) {
		CORE_ERR("%s: no IOVA space for %zu bytes", dev->info.name, len);
		return ret;
	}
	ret = dev->tp->dma_map(dev, map->iova, va, len, fd, offset,
			       access ? access : FACET_CORE_DMA_RW);
	pthread_mutex_lock(&dev->lock);
	if (ret < 0) {
		core_iova_free(dev, map->iova, len);
	} else {
		map->va = va;
		map->len = len;
		TAILQ_INSERT_TAIL(&dev->dmas, map, next);
	}
	pthread_mutex_unlock(&dev->lock);
	if (ret < 0)
		CORE_ERR("%s: DMA map of %zu bytes failed: %s", dev->info.name, len,
			 strerror(-ret));
	return ret;
}

/* Unmap first, then give the IOVA back: it must not be reused while mapped. */
static void map_unmap(struct facet_core_dev *dev, struct core_dma_map *map)
{
	int ret = facet_core_is_dead(dev) ? 0 : dev->tp->dma_unmap(dev, map->iova, map->len);

	if (ret < 0)
		CORE_WARN("%s: DMA unmap of IOVA 0x%llx failed: %s", dev->info.name,
			  (unsigned long long)map->iova, strerror(-ret));
	pthread_mutex_lock(&dev->lock);
	core_iova_free(dev, map->iova, map->len);
	pthread_mutex_unlock(&dev->lock);
}

static void map_del(struct facet_core_dev *dev, struct core_dma_map *map)
{
	pthread_mutex_lock(&dev->lock);
	TAILQ_REMOVE(&dev->dmas, map, next);
	pthread_mutex_unlock(&dev->lock);
	map_unmap(dev, map);
}

int facet_core_dma_alloc(struct facet_core_dev *dev, size_t size,
			 const struct facet_core_dma_opts *opts, struct facet_core_dma **out)
{
	static const struct facet_core_dma_opts defaults = { .numa_node = -1 };
	struct facet_core_dma *dma;
	int node, ret;

	if (!dev || !size || !out)
		return -EINVAL;
	if (facet_core_is_dead(dev))
		return -ENODEV;
	if (!opts)
		opts = &defaults;
	dma = calloc(1, sizeof(*dma));
	if (!dma)
		return -ENOMEM;
	node = opts->numa_node >= 0 ? opts->numa_node : dev->info.numa_node;
	ret = core_mem_alloc(size, node, !opts->no_hugepages, &dma->mem);
	if (ret == 0)
		ret = map_new(dev, &dma->map, dma->mem.va, dma->mem.len, dma->mem.fd, 0,
			      opts->access,
			      opts->align > dma->mem.page_size ? opts->align : dma->mem.page_size);
	if (ret < 0) {
		core_mem_free(&dma->mem);
		free(dma);
		return ret;
	}
	dma->dev = dev;
	dma->map.owner = dma;
	*out = dma;
	return 0;
}

void facet_core_dma_free(struct facet_core_dma *dma)
{
	if (!dma)
		return;
	map_del(dma->dev, &dma->map);
	core_mem_free(&dma->mem);
	free(dma);
}

void *facet_core_dma_va(const struct facet_core_dma *dma)
{
	return dma->mem.va;
}

uint64_t facet_core_dma_iova(const struct facet_core_dma *dma)
{
	return dma->map.iova;
}

size_t facet_core_dma_size(const struct facet_core_dma *dma)
{
	return dma->mem.len;
}

static bool va_overlaps_locked(struct facet_core_dev *dev, const void *va, size_t len)
{
	const uint8_t *start = va, *end = start + len;
	struct core_dma_map *map;

	TAILQ_FOREACH(map, &dev->dmas, next)
	{
		const uint8_t *m = map->va;

		if (start < m + map->len && m < end)
			return true;
	}
	return false;
}

#define PAGE_MASK 4095ul

int facet_core_dma_register(struct facet_core_dev *dev, void *va, size_t len, int fd,
			    uint64_t offset, uint32_t access, uint64_t *iova)
{
	struct core_dma_map *map;
	bool overlaps;
	int ret;

	if (!dev || !va || !len || !iova || ((uintptr_t)va | len) & PAGE_MASK)
		return -EINVAL;
	if (facet_core_is_dead(dev))
		return -ENODEV;
	pthread_mutex_lock(&dev->lock);
	overlaps = va_overlaps_locked(dev, va, len);
	pthread_mutex_unlock(&dev->lock);
	if (overlaps) {
		CORE_ERR("%s: memory at %p (+%zu) is mapped already", dev->info.name, va, len);
		return -EEXIST;
	}
	map = calloc(1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	ret = map_new(dev, map, va, len, fd, offset, access, PAGE_MASK + 1);
	if (ret < 0) {
		free(map);
		return ret;
	}
	*iova = map->iova;
	return 0;
}

int facet_core_dma_unregister(struct facet_core_dev *dev, uint64_t iova)
{
	struct core_dma_map *map;

	pthread_mutex_lock(&dev->lock);
	TAILQ_FOREACH(map, &dev->dmas, next)
	{
		if (map->iova == iova && !map->owner)
			break;
	}
	pthread_mutex_unlock(&dev->lock);
	if (!map)
		return -ENOENT;
	map_del(dev, map);
	free(map);
	return 0;
}

unsigned int facet_core_dma_count(const struct facet_core_dev *dev)
{
	struct facet_core_dev *d = (struct facet_core_dev *)dev;
	struct core_dma_map *map;
	unsigned int n = 0;

	pthread_mutex_lock(&d->lock);
	TAILQ_FOREACH(map, &d->dmas, next)
	n++;
	pthread_mutex_unlock(&d->lock);
	return n;
}

void core_dma_release_all(struct facet_core_dev *dev)
{
	struct core_dma_map *map;

	while ((map = TAILQ_FIRST(&dev->dmas))) {
		CORE_WARN("%s: DMA mapping at IOVA 0x%llx still held at close; freeing it",
			  dev->info.name, (unsigned long long)map->iova);
		if (map->owner) {
			facet_core_dma_free(map->owner);
		} else {
			map_del(dev, map);
			free(map);
		}
	}
}
