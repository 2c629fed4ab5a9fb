/* SPDX-License-Identifier: MIT */
/*
 * The admin queue (docs/refnic.md §6.1, §9): one SQ/CQ pair in DMA memory,
 * one command in flight at a time. Admin commands are control path, so a
 * mutex and a sleeping wait are fine here; what matters is that a dead or
 * wedged device gives an error, never a hang.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "refnic_core_priv.h"

#define ADMIN_TIMEOUT_MS  5000
#define ENABLE_TIMEOUT_MS 100

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Sleep a little longer each round: answers are quick, wedged devices are not. */
static void backoff(unsigned int *round)
{
	struct timespec ts = { 0, 0 };

	if (*round < 64) {
		(*round)++;
		return; /* a short spin first: the model answers within microseconds */
	}
	ts.tv_nsec = 1000L << (*round - 64 < 10 ? *round - 64 : 10); /* 1 us .. 1 ms */
	(*round)++;
	nanosleep(&ts, NULL);
}

static int write_reg64(struct facet_core_dev *pci, uint32_t reg, uint64_t value)
{
	int ret = facet_core_write32(pci, 0, reg, (uint32_t)value);

	return ret ? ret : facet_core_write32(pci, 0, reg + 4, (uint32_t)(value >> 32));
}

static int wait_ready(struct refnic_core *rc)
{
	uint64_t deadline = now_ns() + ENABLE_TIMEOUT_MS * 1000000ull;
	uint32_t status, code = 0;
	unsigned int round = 0;
	int ret;

	do {
		ret = facet_core_read32(rc->pci, 0, REFNIC_REG_DEV_STATUS, &status);
		if (ret < 0)
			return ret;
		if (status & REFNIC_DEVSTS_READY)
			return 0;
		if (status & REFNIC_DEVSTS_FATAL) {
			facet_core_read32(rc->pci, 0, REFNIC_REG_FATAL_CODE, &code);
			RC_ERR("%s: admin queue enable failed, fatal code %u", rc->name, code);
			return -EIO;
		}
		backoff(&round);
	} while (now_ns() < deadline);
	RC_ERR("%s: device not ready after %d ms", rc->name, ENABLE_TIMEOUT_MS);
	return -ETIMEDOUT;
}

int rc_admin_init(struct refnic_core *rc)
{
	const struct facet_core_dma_opts opts = { .numa_node = -1, .no_hugepages = true };
	struct rc_admin *a = &rc->admin;
	size_t entries = 1u << RC_ADMIN_LOG, sq_bytes = entries * sizeof(struct refnic_sqe);
	uint64_t iova;
	int ret;

	ret = facet_core_dma_alloc(rc->pci, sq_bytes + entries * sizeof(struct refnic_cqe), &opts,
				   &a->ring);
	if (ret < 0)
		return ret;
	pthread_mutex_init(&a->lock, NULL);
	a->sq = facet_core_dma_va(a->ring);
	a->cq = (volatile struct refnic_cqe *)((uint8_t *)a->sq + sq_bytes);
	a->mask = entries - 1;
	a->phase = 1;
	a->timeout_ms = ADMIN_TIMEOUT_MS;
	iova = facet_core_dma_iova(a->ring);
	ret = write_reg64(rc->pci, REFNIC_REG_ADMIN_SQ_BASE, iova);
	if (ret == 0)
		ret = write_reg64(rc->pci, REFNIC_REG_ADMIN_CQ_BASE, iova + sq_bytes);
	if (ret == 0)
		ret = facet_core_write32(rc->pci, 0, REFNIC_REG_ADMIN_Q_LOG_SIZE, RC_ADMIN_LOG);
	if (ret == 0)
		ret = facet_core_write32(rc->pci, 0, REFNIC_REG_DEV_CTRL, REFNIC_CTRL_ENABLE);
	if (ret == 0)
		ret = wait_ready(rc);
	if (ret < 0)
		rc_admin_fini(rc);
	return ret;
}

void rc_admin_fini(struct refnic_core *rc)
{
	if (!rc->admin.ring)
		return;
	facet_core_dma_free(rc->admin.ring);
	rc->admin.ring = NULL;
	pthread_mutex_destroy(&rc->admin.lock);
}

volatile uint8_t *rc_doorbell_page(struct refnic_core *rc, uint16_t function)
{
	return rc->bar0 + rc->db_offset + (size_t)function * rc->db_stride;
}

/* Write KICK: by its ioeventfd if we have one (no reply to wait for), else trapped. */
static void rc_kick(struct refnic_core *rc)
{
	uint64_t one = 1;

	if (rc->kick_fd >= 0 && write(rc->kick_fd, &one, sizeof(one)) == sizeof(one))
		return;
	facet_core_write32(rc->pci, 0, REFNIC_REG_KICK, 1);
}

void rc_ring_doorbell(struct refnic_core *rc, uint16_t function, uint32_t db_offset, uint32_t value)
{
	volatile uint8_t *page = rc_doorbell_page(rc, function);

	*(volatile uint32_t *)(page + db_offset) = value;
	/* Store, fence, load: the Dekker pattern of docs/refnic.md §7. */
	atomic_thread_fence(memory_order_seq_cst);
	if (*(volatile uint32_t *)(page + REFNIC_DB_DEV_STATE) & REFNIC_DEV_STATE_SLEEPING)
		rc_kick(rc);
}

/* Why no CQE came: the device died, went fatal, or is just slow. */
static int admin_failure(struct refnic_core *rc)
{
	uint32_t status = 0, code = 0;

	if (facet_core_is_dead(rc->pci))
		return -ENODEV;
	if (facet_core_read32(rc->pci, 0, REFNIC_REG_DEV_STATUS, &status) == 0 &&
	    (status & REFNIC_DEVSTS_FATAL)) {
		facet_core_read32(rc->pci, 0, REFNIC_REG_FATAL_CODE, &code);
		RC_ERR("%s: device fatal (code %u); reset it", rc->name, code);
		return -EIO;
	}
	RC_ERR("%s: admin command timed out after %u ms", rc->name, rc->admin.timeout_ms);
	return -ETIMEDOUT;
}

static int wait_cqe(struct refnic_core *rc, struct refnic_cqe *out)
{
	struct rc_admin *a = &rc->admin;
	volatile struct refnic_cqe *cqe = &a->cq[a->ci];
	uint64_t deadline = now_ns() + a->timeout_ms * 1000000ull;
	unsigned int round = 0;

	while ((cqe->phase & 1) != a->phase) {
		if (facet_core_is_dead(rc->pci) || now_ns() > deadline)
			return admin_failure(rc);
		backoff(&round);
	}
	atomic_thread_fence(memory_order_acquire); /* the phase byte is written last */
	memcpy(out, (const void *)cqe, sizeof(*out));
	a->ci = (a->ci + 1) & a->mask;
	if (a->ci == 0)
		a->phase ^= 1;
	return 0;
}

int rc_admin_cmd(struct refnic_core *rc, struct refnic_sqe *sqe, struct refnic_cqe *cqe)
{
	struct rc_admin *a = &rc->admin;
	int ret;

	pthread_mutex_lock(&a->lock);
	if (a->broken) {
		pthread_mutex_unlock(&a->lock);
		return -EIO; /* an earlier failure left the ring out of step */
	}
	sqe->cid = (uint16_t)a->pi;
	memcpy(&a->sq[a->pi], sqe, sizeof(*sqe));
	a->pi = (a->pi + 1) & a->mask;
	rc_ring_doorbell(rc, 0, REFNIC_DB_ADMIN_SQ_PI, a->pi);
	ret = wait_cqe(rc, cqe);
	if (ret == 0 && cqe->cid != sqe->cid) {
		RC_ERR("%s: CQE for command %u, expected %u", rc->name, cqe->cid, sqe->cid);
		ret = -EIO;
	}
	if (ret == -ETIMEDOUT || ret == -EIO)
		a->broken = true;
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int rc_admin_cmd_read(struct refnic_core *rc, uint8_t opcode, uint16_t function, void *out,
		      uint32_t len)
{
	const struct facet_core_dma_opts opts = { .numa_node = -1, .no_hugepages = true };
	struct refnic_sqe sqe = { .opcode = opcode, .function = function, .data_len = len };
	struct facet_core_dma *buf;
	struct refnic_cqe cqe;
	int ret = facet_core_dma_alloc(rc->pci, len, &opts, &buf);

	if (ret < 0)
		return ret;
	sqe.data_iova = facet_core_dma_iova(buf);
	ret = rc_admin_cmd(rc, &sqe, &cqe);
	if (ret == 0 && cqe.status != REFNIC_STATUS_OK) {
		RC_ERR("%s: admin opcode 0x%02x failed with status %u", rc->name, opcode,
		       cqe.status);
		ret = -EIO;
	}
	if (ret == 0)
		memcpy(out, facet_core_dma_va(buf), len);
	facet_core_dma_free(buf);
	return ret;
}
