/* SPDX-License-Identifier: MIT */
/*
 * The refnic test harness: a by-hand driver following docs/refnic.md. It is
 * deliberately naive (one command at a time unless a test batches), so a
 * test failure points at the device, not at clever driver code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rn_harness.h"

uint64_t rn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pause_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

	nanosleep(&ts, NULL);
}

uint32_t rn_rd(struct rn *h, uint32_t off)
{
	uint32_t v = 0xdeadbeef;

	if (facet_core_read32(h->dev, FACET_CORE_BAR0, off, &v))
		fprintf(stderr, "rn: read32 0x%x failed\n", off);
	return v;
}

void rn_wr(struct rn *h, uint32_t off, uint32_t v)
{
	if (facet_core_write32(h->dev, FACET_CORE_BAR0, off, v))
		fprintf(stderr, "rn: write32 0x%x failed\n", off);
}

volatile uint32_t *rn_db(struct rn *h, unsigned int fn, uint32_t off)
{
	return (volatile uint32_t *)(h->bar + REFNIC_DB_PAGE(fn) + off);
}

int rn_open(struct rn *h)
{
	char spec[160];
	void *base;
	int rc;

	snprintf(spec, sizeof(spec), "vfio-user:%s", h->path);
	rc = facet_core_open(spec, NULL, &h->dev);
	if (rc)
		return rc;
	rc = facet_core_bar_map(h->dev, 0, &base);
	if (rc)
		return rc;
	h->bar = base;
	return facet_core_set_bus_master(h->dev, true);
}

int rn_start(struct rn *h, const struct refnic_model_opts *opts)
{
	int rc;

	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/refnic-test.XXXXXX");
	if (!mkdtemp(h->dir))
		return -errno;
	snprintf(h->path, sizeof(h->path), "%s/refnic.sock", h->dir);
	rc = refnic_model_create(h->path, opts, &h->m);
	if (rc)
		return rc;
	return rn_open(h);
}

static void rn_free_mem(struct rn *h)
{
	facet_core_dma_free(h->sq);
	facet_core_dma_free(h->cq);
	facet_core_dma_free(h->buf);
	facet_core_dma_free(h->dp);
	h->sq = h->cq = h->buf = h->dp = NULL;
	h->dp_used = 0;
}

void rn_close(struct rn *h)
{
	if (!h->dev)
		return;
	rn_free_mem(h);
	facet_core_close(h->dev);
	h->dev = NULL;
	h->bar = NULL;
}

void rn_stop(struct rn *h)
{
	rn_close(h);
	refnic_model_destroy(h->m);
	h->m = NULL;
	rmdir(h->dir);
}

void rn_reset(struct rn *h)
{
	uint64_t end = rn_now_ms() + RN_TIMEOUT_MS;

	rn_wr(h, REFNIC_REG_DEV_CTRL, REFNIC_CTRL_RESET);
	while ((rn_rd(h, REFNIC_REG_DEV_CTRL) & REFNIC_CTRL_RESET) && rn_now_ms() < end)
		pause_us(100);
}

static int rn_alloc(struct rn *h, size_t size, struct facet_core_dma **dma)
{
	struct facet_core_dma_opts o = { .numa_node = -1, .no_hugepages = true };

	if (*dma)
		facet_core_dma_free(*dma);
	*dma = NULL;
	return facet_core_dma_alloc(h->dev, size, &o, dma);
}

static void wr64(struct rn *h, uint32_t off, uint64_t v)
{
	rn_wr(h, off, (uint32_t)v);
	rn_wr(h, off + 4, (uint32_t)(v >> 32));
}

int rn_enable(struct rn *h, unsigned int log)
{
	uint64_t end = rn_now_ms() + RN_TIMEOUT_MS;
	uint32_t st;

	rn_reset(h);
	if (rn_alloc(h, sizeof(struct refnic_sqe) << log, &h->sq) ||
	    rn_alloc(h, sizeof(struct refnic_cqe) << log, &h->cq) ||
	    rn_alloc(h, RN_BUF_SIZE, &h->buf))
		return -ENOMEM;
	memset(facet_core_dma_va(h->cq), 0, sizeof(struct refnic_cqe) << log);
	h->log = log;
	h->sq_pi = h->cq_ci = 0;
	h->phase = 1;
	wr64(h, REFNIC_REG_ADMIN_SQ_BASE, facet_core_dma_iova(h->sq));
	wr64(h, REFNIC_REG_ADMIN_CQ_BASE, facet_core_dma_iova(h->cq));
	rn_wr(h, REFNIC_REG_ADMIN_Q_LOG_SIZE, log);
	rn_wr(h, REFNIC_REG_DEV_CTRL, REFNIC_CTRL_ENABLE);
	do {
		st = rn_rd(h, REFNIC_REG_DEV_STATUS);
		if (st & REFNIC_DEVSTS_FATAL)
			return -EIO;
		if (st & REFNIC_DEVSTS_READY)
			return 0;
		pause_us(100);
	} while (rn_now_ms() < end);
	return -EIO;
}

void rn_doorbell(struct rn *h, unsigned int fn, uint32_t off, uint32_t value)
{
	*rn_db(h, fn, off) = value;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (*rn_db(h, fn, REFNIC_DB_DEV_STATE) & REFNIC_DEV_STATE_SLEEPING) {
		rn_wr(h, REFNIC_REG_KICK, 1);
		h->kicks++;
	}
}

void rn_post(struct rn *h, struct refnic_sqe *sqe, bool ring)
{
	struct refnic_sqe *sq = facet_core_dma_va(h->sq);

	sqe->cid = h->cid++;
	sq[h->sq_pi] = *sqe;
	h->sq_pi = (h->sq_pi + 1) & ((1u << h->log) - 1);
	if (ring)
		rn_ring(h);
}

void rn_ring(struct rn *h)
{
	__atomic_thread_fence(__ATOMIC_RELEASE); /* entries before the index */
	rn_doorbell(h, 0, REFNIC_DB_ADMIN_SQ_PI, h->sq_pi);
}

int rn_wait(struct rn *h, struct refnic_cqe *cqe, int timeout_ms)
{
	struct refnic_cqe *cq = facet_core_dma_va(h->cq);
	struct refnic_cqe *slot = &cq[h->cq_ci];
	uint64_t end = rn_now_ms() + (uint64_t)timeout_ms;

	while ((__atomic_load_n(&slot->phase, __ATOMIC_ACQUIRE) & 1) != h->phase) {
		if (rn_now_ms() >= end)
			return -ETIMEDOUT;
		pause_us(10);
	}
	*cqe = *slot;
	h->cq_ci = (h->cq_ci + 1) & ((1u << h->log) - 1);
	if (h->cq_ci == 0)
		h->phase ^= 1;
	return 0;
}

int rn_cmd(struct rn *h, struct refnic_sqe *sqe, struct refnic_cqe *cqe)
{
	struct refnic_cqe tmp;
	int rc;

	if (!cqe)
		cqe = &tmp;
	rn_post(h, sqe, true);
	rc = rn_wait(h, cqe, RN_TIMEOUT_MS);
	if (rc)
		return rc;
	if (cqe->cid != sqe->cid || cqe->opcode != sqe->opcode) {
		fprintf(stderr, "rn: CQE cid %u op 0x%x for SQE cid %u op 0x%x\n", cqe->cid,
			cqe->opcode, sqe->cid, sqe->opcode);
		return -EPROTO;
	}
	return cqe->status;
}

int rn_eq_wait(const void *va, unsigned int log, uint32_t *ci, uint8_t *ph, struct refnic_eqe *e,
	       int timeout_ms)
{
	const struct refnic_eqe *slot = (const struct refnic_eqe *)va + *ci;
	uint64_t end = rn_now_ms() + (uint64_t)timeout_ms;

	while ((__atomic_load_n(&slot->phase, __ATOMIC_ACQUIRE) & 1) != *ph) {
		if (rn_now_ms() >= end)
			return -ETIMEDOUT;
		pause_us(10);
	}
	*e = *slot;
	*ci = (*ci + 1) & ((1u << log) - 1);
	if (*ci == 0)
		*ph ^= 1;
	return 0;
}

bool rn_wait_sleeping(struct rn *h, int timeout_ms)
{
	uint64_t end = rn_now_ms() + (uint64_t)timeout_ms;

	while (!refnic_model_is_sleeping(h->m)) {
		if (rn_now_ms() >= end)
			return false;
		pause_us(500);
	}
	return true;
}
