/* SPDX-License-Identifier: MIT */
/*
 * The admin queue (docs/refnic.md §6, §9): an SQ of 64-byte entries and a CQ
 * of 16-byte entries in the PF's DMA memory. The worker fetches SQEs from its
 * consumer index up to the producer index in the PF's doorbell page,
 * executes them one at a time in order, and writes one CQE each, phase byte
 * last. Faults on the rings themselves stop the queue (FATAL); anything
 * wrong inside an SQE only earns a status code.
 */
#include <errno.h>

#include "refnic_priv.h"

static void admin_fatal(struct refnic_dev *dev, enum refnic_fatal_code code)
{
	RN_WARN("admin queue stopped: fatal code %d (sq_ci %u, cq_pi %u)", code, dev->sq_ci,
		dev->cq_pi);
	dev->status = REFNIC_DEVSTS_FATAL;
	dev->fatal_code = code;
}

static bool ring_ok(uint64_t base, uint64_t bytes)
{
	return base && !(base & (REFNIC_RING_ALIGN - 1)) && base + bytes > base;
}

/* DEV_CTRL.ENABLE 0->1 (server thread, dev->lock held): check the config, start. */
void refnic_admin_enable(struct refnic_dev *dev)
{
	uint32_t lg = dev->log_size;

	if (lg < REFNIC_ADMIN_LOG_MIN || lg > REFNIC_ADMIN_LOG_MAX ||
	    !ring_ok(dev->sq_base, sizeof(struct refnic_sqe) << lg) ||
	    !ring_ok(dev->cq_base, sizeof(struct refnic_cqe) << lg)) {
		RN_WARN("enable: bad admin config (sq 0x%llx cq 0x%llx log %u)",
			(unsigned long long)dev->sq_base, (unsigned long long)dev->cq_base, lg);
		admin_fatal(dev, REFNIC_FATAL_BAD_CONFIG);
		return;
	}
	dev->sq_ci = 0;
	dev->cq_pi = 0;
	dev->cq_phase = 1;
	dev->status = REFNIC_DEVSTS_READY;
	RN_INFO("enabled: admin queue of %u entries", 1u << lg);
}

static bool admin_running(struct refnic_dev *dev)
{
	return (dev->status & REFNIC_DEVSTS_READY) && refnic_pci_bus_master(dev);
}

bool refnic_admin_has_work(struct refnic_dev *dev)
{
	return admin_running(dev) &&
	       refnic_db_read(&dev->funcs[0], REFNIC_DB_ADMIN_SQ_PI) != dev->sq_ci;
}

static void admin_count(struct refnic_dev *dev, struct refnic_func *fn, uint8_t status)
{
	dev->stats.admin_cmds++;
	dev->stats.admin_errors += status != REFNIC_STATUS_OK;
	dev->stats.admin_dma_faults += status == REFNIC_STATUS_DMA_FAULT;
	if (fn) {
		fn->stats.admin_cmds++;
		fn->stats.admin_errors += status != REFNIC_STATUS_OK;
	}
}

/* Write the CQE at cq_pi and advance; 0, -ECANCELED, or a fault (FATAL set). */
static int admin_complete(struct refnic_dev *dev, struct refnic_cqe *cqe)
{
	uint64_t iova = dev->cq_base + (uint64_t)dev->cq_pi * sizeof(*cqe);
	int rc;

	cqe->phase = dev->cq_phase;
	rc = refnic_dma_write_entry(dev, &dev->funcs[0], iova, cqe, sizeof(*cqe));
	if (rc == -ECANCELED)
		return rc;
	if (rc) {
		admin_fatal(dev, REFNIC_FATAL_CQ_DMA);
		return rc;
	}
	dev->cq_pi = (dev->cq_pi + 1) & ((1u << dev->log_size) - 1);
	if (dev->cq_pi == 0)
		dev->cq_phase ^= 1;
	return 0;
}

/* Fetch, execute and complete the command at sq_ci; 0 or an error that ends the pass. */
static int admin_one(struct refnic_dev *dev)
{
	uint64_t iova = dev->sq_base + (uint64_t)dev->sq_ci * sizeof(struct refnic_sqe);
	struct refnic_func *fn = NULL;
	struct refnic_cqe cqe = { 0 };
	struct refnic_sqe sqe;
	int rc;

	rc = refnic_dma_read(dev, &dev->funcs[0], iova, &sqe, sizeof(sqe));
	if (rc == -ECANCELED)
		return rc;
	if (rc) {
		admin_fatal(dev, REFNIC_FATAL_SQ_DMA);
		return rc;
	}
	dev->sq_ci = (dev->sq_ci + 1) & ((1u << dev->log_size) - 1);
	cqe.sq_head = (uint16_t)dev->sq_ci;
	cqe.cid = sqe.cid;
	cqe.opcode = sqe.opcode;
	rc = refnic_cmd_exec(dev, &sqe, &cqe, &fn);
	if (rc)
		return rc;
	rc = admin_complete(dev, &cqe);
	if (rc)
		return rc;
	admin_count(dev, fn, cqe.status);
	return 0;
}

/* Worker, dev->lock held: run up to a budget of commands; returns how many. */
unsigned int refnic_admin_poll(struct refnic_dev *dev)
{
	unsigned int n = 0;
	uint32_t pi;

	if (!admin_running(dev))
		return 0;
	pi = refnic_db_read(&dev->funcs[0], REFNIC_DB_ADMIN_SQ_PI);
	if (pi == dev->sq_ci)
		return 0;
	if (pi >> dev->log_size) {
		RN_WARN("admin SQ producer index %u out of range", pi);
		admin_fatal(dev, REFNIC_FATAL_DOORBELL);
		return 1;
	}
	while (n < REFNIC_ADMIN_BUDGET && dev->sq_ci != pi && admin_running(dev)) {
		if (admin_one(dev))
			break;
		n++;
	}
	/* One interrupt per batch; a reset in between cleared ADMIN_IRQ_EN. */
	if (n && (dev->ctrl & REFNIC_CTRL_ADMIN_IRQ_EN))
		refnic_irq_raise(dev, REFNIC_MSIX_ADMIN);
	return n ? n : 1;
}
