/* SPDX-License-Identifier: MIT */
/*
 * Packet-buffer pools: one block of DMA memory cut into equal buffers, with
 * their headers in ordinary memory and the free ones on a LIFO stack of
 * pointers. A bulk get or put is a memcpy of pointers: no per-buffer work
 * beyond touching the headers the caller touches anyway. See facet_pktbuf.h
 * for the threading rule.
 *
 * An external-buffer pool (facet_pktbuf_pool_create_ext) is the same stack
 * of headers without DMA memory of its own: its callbacks attach the
 * application's buffers on get and release them on put, one call per bulk.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eth_private.h"
#include "facet_bus.h"
#include "facet_core.h"

#define POOL_DEFAULT_BUF_SIZE 2048
#define POOL_MIN_BUF_SIZE     (FACET_PKTBUF_HEADROOM + 64)
#define POOL_ALIGN	      64

struct facet_pktbuf_pool {
	struct facet_pktbuf **stack; /* free buffers, top at stack[avail - 1] */
	uint32_t avail;
	uint32_t count;
	uint16_t buf_size;
	bool shared;
	pthread_spinlock_t lock; /* FACET_PKTBUF_POOL_F_SHARED only */
	struct facet_pktbuf *hdrs;
	struct facet_core_dma *dma;
	struct facet_core_dev *pci;
	struct facet_bus_device *owner;		/* referenced: keeps the PCI device open */
	const struct facet_pktbuf_ext_ops *ext; /* external-buffer pool: its callbacks */
	void *ext_ctx;
};

static int check_opts(const struct facet_pktbuf_pool_opts *opts, uint16_t *buf_size)
{
	*buf_size = opts->buf_size ? opts->buf_size : POOL_DEFAULT_BUF_SIZE;
	if (opts->count == 0 || *buf_size < POOL_MIN_BUF_SIZE ||
	    (opts->flags & ~FACET_PKTBUF_POOL_F_SHARED)) {
		ETH_ERR("pool: bad options: %u buffers of %u bytes (at least %u), flags 0x%x",
			opts->count, *buf_size, POOL_MIN_BUF_SIZE, opts->flags);
		return -EINVAL;
	}
	/* Whole cache lines, so no two buffers share one with the device. */
	*buf_size = (uint16_t)(*buf_size & ~(POOL_ALIGN - 1));
	return 0;
}

static void pool_init_bufs(struct facet_pktbuf_pool *p)
{
	uint8_t *va = facet_core_dma_va(p->dma);
	uint64_t iova = facet_core_dma_iova(p->dma);

	for (uint32_t i = 0; i < p->count; i++) {
		struct facet_pktbuf *b = &p->hdrs[i];

		b->buf_addr = va + (size_t)i * p->buf_size;
		b->buf_iova = iova + (uint64_t)i * p->buf_size;
		b->buf_len = p->buf_size;
		b->data_off = FACET_PKTBUF_HEADROOM;
		b->nb_segs = 1;
		b->pool = p;
		/* Highest address at the bottom: the first gets walk memory upwards. */
		p->stack[p->count - 1 - i] = b;
	}
	p->avail = p->count;
}

static void pool_release(struct facet_pktbuf_pool *p)
{
	facet_core_dma_free(p->dma);
	if (p->owner)
		facet_bus_device_put(p->owner);
	if (p->shared)
		pthread_spin_destroy(&p->lock);
	free(p->stack);
	free(p->hdrs);
	free(p);
}

/* The pool object, its header array and its stack (no buffers yet). */
static struct facet_pktbuf_pool *pool_new(struct facet_core_dev *pci,
					  struct facet_bus_device *owner, uint32_t count,
					  uint16_t buf_size, bool shared)
{
	struct facet_pktbuf_pool *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return NULL;
	p->count = count;
	p->buf_size = buf_size;
	p->shared = shared;
	if (p->shared)
		pthread_spin_init(&p->lock, PTHREAD_PROCESS_PRIVATE);
	p->pci = pci;
	p->owner = owner;
	if (owner)
		facet_bus_device_get(owner);
	p->stack = calloc(p->count, sizeof(*p->stack));
	ret = posix_memalign((void **)&p->hdrs, 64, (size_t)p->count * sizeof(*p->hdrs));
	if (ret || !p->stack) {
		p->hdrs = ret ? NULL : p->hdrs;
		pool_release(p);
		return NULL;
	}
	memset(p->hdrs, 0, (size_t)p->count * sizeof(*p->hdrs));
	return p;
}

int facet_pktbuf_pool_create(struct facet_core_dev *pci, struct facet_bus_device *owner,
			     const struct facet_pktbuf_pool_opts *opts,
			     struct facet_pktbuf_pool **out)
{
	struct facet_core_dma_opts dopts = { .align = POOL_ALIGN };
	struct facet_pktbuf_pool *p;
	uint16_t buf_size;
	int ret;

	if (!pci || !opts || !out)
		return -EINVAL;
	ret = check_opts(opts, &buf_size);
	if (ret < 0)
		return ret;
	p = pool_new(pci, owner, opts->count, buf_size, opts->flags & FACET_PKTBUF_POOL_F_SHARED);
	if (!p)
		return -ENOMEM;
	dopts.numa_node = opts->numa_node;
	dopts.no_hugepages = opts->no_hugepages;
	ret = facet_core_dma_alloc(pci, (size_t)p->count * buf_size, &dopts, &p->dma);
	if (ret < 0) {
		ETH_ERR("pool: cannot allocate %u buffers of %u bytes: %s", p->count, buf_size,
			strerror(-ret));
		pool_release(p);
		return ret;
	}
	pool_init_bufs(p);
	*out = p;
	return 0;
}

int facet_pktbuf_pool_create_ext(struct facet_core_dev *pci, struct facet_bus_device *owner,
				 const struct facet_pktbuf_ext_opts *opts,
				 struct facet_pktbuf_pool **out)
{
	struct facet_pktbuf_pool *p;

	if (!pci || !opts || !out || !opts->ops || !opts->ops->release || opts->count == 0 ||
	    opts->buf_size < POOL_MIN_BUF_SIZE) {
		ETH_ERR("pool: bad options for an external-buffer pool");
		return -EINVAL;
	}
	p = pool_new(pci, owner, opts->count, opts->buf_size, false);
	if (!p)
		return -ENOMEM;
	p->ext = opts->ops;
	p->ext_ctx = opts->ctx;
	for (uint32_t i = 0; i < p->count; i++) {
		p->hdrs[i].buf_len = p->buf_size;
		p->hdrs[i].data_off = FACET_PKTBUF_HEADROOM;
		p->hdrs[i].nb_segs = 1;
		p->hdrs[i].pool = p;
		p->stack[i] = &p->hdrs[i];
	}
	p->avail = p->count;
	*out = p;
	return 0;
}

void facet_pktbuf_pool_free(struct facet_pktbuf_pool *pool)
{
	if (!pool)
		return;
	if (pool->avail != pool->count)
		ETH_WARN("pool: freed with %u of %u buffers still out", pool->count - pool->avail,
			 pool->count);
	pool_release(pool);
}

uint32_t facet_pktbuf_pool_avail(const struct facet_pktbuf_pool *pool)
{
	return __atomic_load_n(&pool->avail, __ATOMIC_RELAXED);
}

uint32_t facet_pktbuf_pool_count(const struct facet_pktbuf_pool *pool)
{
	return pool->count;
}

uint16_t facet_pktbuf_pool_buf_size(const struct facet_pktbuf_pool *pool)
{
	return pool->buf_size;
}

struct facet_core_dev *facet_pktbuf_pool_dev(const struct facet_pktbuf_pool *pool)
{
	return pool->pci;
}

static inline void pool_lock(struct facet_pktbuf_pool *p)
{
	if (p->shared)
		pthread_spin_lock(&p->lock);
}

static inline void pool_unlock(struct facet_pktbuf_pool *p)
{
	if (p->shared)
		pthread_spin_unlock(&p->lock);
}

int facet_pktbuf_pool_get_bulk(struct facet_pktbuf_pool *pool, struct facet_pktbuf **bufs,
			       unsigned int n)
{
	int ret = 0;

	pool_lock(pool);
	if (n > pool->avail) {
		ret = -ENOBUFS;
	} else {
		pool->avail -= n;
		memcpy(bufs, &pool->stack[pool->avail], n * sizeof(*bufs));
	}
	pool_unlock(pool);
	if (pool->ext && ret == 0 && pool->ext->attach &&
	    pool->ext->attach(pool->ext_ctx, bufs, n) < 0) {
		pool->avail += n; /* the headers are still on the stack, above avail */
		ret = -ENOBUFS;
	}
	return ret;
}

void facet_pktbuf_pool_put_bulk(struct facet_pktbuf_pool *pool, struct facet_pktbuf *const *bufs,
				unsigned int n)
{
	if (pool->ext)
		pool->ext->release(pool->ext_ctx, bufs, n);
	facet_pktbuf_pool_detach_bulk(pool, bufs, n);
}

void facet_pktbuf_pool_detach_bulk(struct facet_pktbuf_pool *pool, struct facet_pktbuf *const *bufs,
				   unsigned int n)
{
	pool_lock(pool);
	memcpy(&pool->stack[pool->avail], bufs, n * sizeof(*bufs));
	pool->avail += n;
	pool_unlock(pool);
}

static inline void reset(struct facet_pktbuf *b)
{
	b->data_off = FACET_PKTBUF_HEADROOM;
	b->data_len = 0;
	b->pkt_len = 0;
	b->nb_segs = 1;
	b->ol_flags = 0;
	b->rss_hash = 0;
	b->next = NULL;
}

int facet_pktbuf_alloc_bulk(struct facet_pktbuf_pool *pool, struct facet_pktbuf **bufs,
			    unsigned int n)
{
	int ret = facet_pktbuf_pool_get_bulk(pool, bufs, n);

	if (ret == 0) {
		for (unsigned int i = 0; i < n; i++)
			reset(bufs[i]);
	}
	return ret;
}

struct facet_pktbuf *facet_pktbuf_alloc(struct facet_pktbuf_pool *pool)
{
	struct facet_pktbuf *b;

	return facet_pktbuf_alloc_bulk(pool, &b, 1) == 0 ? b : NULL;
}

#define FREE_BATCH 64

/* Collect segments per pool run and put each run with one bulk call. */
struct free_batch {
	struct facet_pktbuf_pool *pool;
	unsigned int n;
	struct facet_pktbuf *bufs[FREE_BATCH];
};

static void batch_flush(struct free_batch *fb)
{
	if (fb->n)
		facet_pktbuf_pool_put_bulk(fb->pool, fb->bufs, fb->n);
	fb->n = 0;
}

static void batch_add_chain(struct free_batch *fb, struct facet_pktbuf *seg)
{
	while (seg) {
		struct facet_pktbuf *next = seg->next;

		seg->next = NULL; /* the pool's invariant */
		if (fb->n == FREE_BATCH || (fb->n && fb->pool != seg->pool))
			batch_flush(fb);
		fb->pool = seg->pool;
		fb->bufs[fb->n++] = seg;
		seg = next;
	}
}

void facet_pktbuf_free(struct facet_pktbuf *pkt)
{
	facet_pktbuf_free_bulk(&pkt, 1);
}

void facet_pktbuf_free_bulk(struct facet_pktbuf *const *pkts, unsigned int n)
{
	struct free_batch fb;

	fb.n = 0;
	fb.pool = NULL;
	for (unsigned int i = 0; i < n; i++)
		batch_add_chain(&fb, pkts[i]);
	batch_flush(&fb);
}

void *facet_pktbuf_append(struct facet_pktbuf *pkt, uint16_t len)
{
	struct facet_pktbuf *last = pkt;
	void *tail;

	while (last->next)
		last = last->next;
	if (facet_pktbuf_tailroom(last) < len)
		return NULL;
	tail = (uint8_t *)facet_pktbuf_data(last) + last->data_len;
	last->data_len += len;
	pkt->pkt_len += len;
	return tail;
}

struct facet_pktbuf *facet_pktbuf_copy(const struct facet_pktbuf *pkt,
				       struct facet_pktbuf_pool *pool)
{
	uint32_t room = pool->buf_size - FACET_PKTBUF_HEADROOM, off = 0;
	unsigned int n = (pkt->pkt_len + room - 1) / room, i;
	struct facet_pktbuf *segs[64];

	if (n == 0)
		n = 1;
	if (n > sizeof(segs) / sizeof(segs[0]) || facet_pktbuf_alloc_bulk(pool, segs, n) < 0)
		return NULL;
	for (i = 0; i < n; i++) {
		uint32_t take = pkt->pkt_len - off < room ? pkt->pkt_len - off : room;

		facet_pktbuf_read(pkt, off, facet_pktbuf_data(segs[i]), take);
		segs[i]->data_len = (uint16_t)take;
		segs[i]->next = i + 1 < n ? segs[i + 1] : NULL;
		off += take;
	}
	segs[0]->nb_segs = (uint16_t)n;
	segs[0]->pkt_len = pkt->pkt_len;
	segs[0]->ol_flags = pkt->ol_flags;
	segs[0]->rss_hash = pkt->rss_hash;
	return segs[0];
}

uint32_t facet_pktbuf_read(const struct facet_pktbuf *pkt, uint32_t offset, void *dst, uint32_t len)
{
	uint8_t *out = dst;
	uint32_t done = 0;

	for (const struct facet_pktbuf *s = pkt; s && done < len; s = s->next) {
		uint32_t take;

		if (offset >= s->data_len) {
			offset -= s->data_len;
			continue;
		}
		take = s->data_len - offset;
		if (take > len - done)
			take = len - done;
		memcpy(out + done, (const uint8_t *)facet_pktbuf_data(s) + offset, take);
		done += take;
		offset = 0;
	}
	return done;
}
