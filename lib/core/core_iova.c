/* SPDX-License-Identifier: MIT */
/*
 * The IOVA allocator of one device: a sorted list of free ranges, first fit.
 * A device holds a few dozen mappings (rings, buffer pools, registrations),
 * allocated at setup time, so a list beats anything cleverer here.
 */
#include <errno.h>
#include <stdlib.h>

#include "core_private.h"

static struct core_iova_hole *hole_new(uint64_t start, uint64_t end)
{
	struct core_iova_hole *h = malloc(sizeof(*h));

	if (h) {
		h->start = start;
		h->end = end;
	}
	return h;
}

int core_iova_init(struct facet_core_dev *dev, uint64_t start, uint64_t end)
{
	struct core_iova_hole *h;

	TAILQ_INIT(&dev->iova_free);
	if (start >= end)
		return -EINVAL;
	h = hole_new(start, end);
	if (!h)
		return -ENOMEM;
	TAILQ_INSERT_TAIL(&dev->iova_free, h, next);
	return 0;
}

void core_iova_fini(struct facet_core_dev *dev)
{
	struct core_iova_hole *h;

	while ((h = TAILQ_FIRST(&dev->iova_free))) {
		TAILQ_REMOVE(&dev->iova_free, h, next);
		free(h);
	}
}

/* Take [start, start + len) out of hole @h, which contains it. */
static int hole_carve(struct facet_core_dev *dev, struct core_iova_hole *h, uint64_t start,
		      uint64_t len)
{
	uint64_t end = start + len;
	struct core_iova_hole *tail;

	if (start > h->start && end < h->end) {
		tail = hole_new(end, h->end);
		if (!tail)
			return -ENOMEM;
		TAILQ_INSERT_AFTER(&dev->iova_free, h, tail, next);
		h->end = start;
	} else if (start > h->start) {
		h->end = start;
	} else if (end < h->end) {
		h->start = end;
	} else {
		TAILQ_REMOVE(&dev->iova_free, h, next);
		free(h);
	}
	return 0;
}

int core_iova_alloc(struct facet_core_dev *dev, size_t len, size_t align, uint64_t *iova)
{
	struct core_iova_hole *h;

	if (!len || (align & (align - 1)))
		return -EINVAL;
	TAILQ_FOREACH(h, &dev->iova_free, next)
	{
		uint64_t start = (h->start + align - 1) & ~(uint64_t)(align - 1);

		if (start < h->start || start >= h->end || h->end - start < len)
			continue;
		if (hole_carve(dev, h, start, len) < 0)
			return -ENOMEM;
		*iova = start;
		return 0;
	}
	return -ENOSPC;
}

int core_iova_reserve(struct facet_core_dev *dev, uint64_t iova, size_t len)
{
	struct core_iova_hole *h;

	TAILQ_FOREACH(h, &dev->iova_free, next)
	{
		if (iova >= h->start && iova + len <= h->end && iova + len > iova)
			return hole_carve(dev, h, iova, len);
	}
	return -EEXIST;
}

void core_iova_free(struct facet_core_dev *dev, uint64_t iova, size_t len)
{
	struct core_iova_hole *h, *prev = NULL, *fresh;
	uint64_t end = iova + len;

	TAILQ_FOREACH(h, &dev->iova_free, next)
	{
		if (h->start >= end)
			break;
		prev = h;
	}
	/* Coalesce with the neighbours where they touch. */
	if (prev && prev->end == iova) {
		prev->end = end;
		if (h && h->start == end) {
			prev->end = h->end;
			TAILQ_REMOVE(&dev->iova_free, h, next);
			free(h);
		}
		return;
	}
	if (h && h->start == end) {
		h->start = iova;
		return;
	}
	fresh = hole_new(iova, end);
	if (!fresh) {
		CORE_WARN("IOVA [0x%llx, +0x%zx) lost: out of memory", (unsigned long long)iova,
			  len);
		return;
	}
	if (prev)
		TAILQ_INSERT_AFTER(&dev->iova_free, prev, fresh, next);
	else
		TAILQ_INSERT_HEAD(&dev->iova_free, fresh, next);
}
