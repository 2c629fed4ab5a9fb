/* SPDX-License-Identifier: MIT */
/*
 * BAR0 as the trapped path sees it (docs/refnic.md §3-5): the global
 * registers, the MSI-X table and PBA in page 0, and the doorbell pages for a
 * client that writes them by message instead of through its mapping. Every
 * access here runs in the server thread with dev->lock held; every write
 * wakes the worker, so a trapped doorbell write never needs a KICK.
 */
#include <errno.h>
#include <string.h>

#include "refnic_priv.h"

#define REGS_END    REFNIC_REG_MSIX_TABLE
#define MSIX_END    (REFNIC_REG_MSIX_TABLE + sizeof(((struct refnic_dev *)0)->msix_table))
#define PBA_END	    (REFNIC_REG_MSIX_PBA + 8)
#define MSIX_MASKED (1u << 0) /* vector control: mask bit */

void refnic_regs_reset(struct refnic_dev *dev)
{
	dev->ctrl = 0;
	dev->status = 0;
	dev->fatal_code = 0;
	dev->scratch = 0;
	dev->sq_base = 0;
	dev->cq_base = 0;
	dev->log_size = 0;
	dev->sq_ci = 0;
	dev->cq_pi = 0;
	dev->cq_phase = 1;
}

/* MSI-X table at reset: address and data 0, every vector masked (PCI spec). */
void refnic_regs_msix_reset(struct refnic_dev *dev)
{
	memset(dev->msix_table, 0, sizeof(dev->msix_table));
	for (unsigned int v = 0; v < REFNIC_PCI_MSIX_VECS; v++)
		dev->msix_table[v * 16 + 12] = MSIX_MASKED;
}

static uint32_t reg_read(struct refnic_dev *dev, uint32_t off)
{
	switch (off) {
	case REFNIC_REG_SIGNATURE:
		return REFNIC_SIGNATURE;
	case REFNIC_REG_VERSION:
		return REFNIC_VERSION;
	case REFNIC_REG_NUM_FUNCS:
		return dev->num_funcs;
	case REFNIC_REG_ADMIN_LOG_MAX:
		return REFNIC_ADMIN_LOG_MAX;
	case REFNIC_REG_DEV_CTRL:
		return dev->ctrl;
	case REFNIC_REG_DEV_STATUS:
		return dev->status;
	case REFNIC_REG_FATAL_CODE:
		return dev->fatal_code;
	case REFNIC_REG_ADMIN_SQ_BASE:
		return (uint32_t)dev->sq_base;
	case REFNIC_REG_ADMIN_SQ_BASE + 4:
		return (uint32_t)(dev->sq_base >> 32);
	case REFNIC_REG_ADMIN_CQ_BASE:
		return (uint32_t)dev->cq_base;
	case REFNIC_REG_ADMIN_CQ_BASE + 4:
		return (uint32_t)(dev->cq_base >> 32);
	case REFNIC_REG_ADMIN_Q_LOG_SIZE:
		return dev->log_size;
	case REFNIC_REG_ADMIN_SQ_CI:
		return dev->sq_ci;
	case REFNIC_REG_ADMIN_CQ_PI:
		return dev->cq_pi;
	case REFNIC_REG_SCRATCH:
		return dev->scratch;
	case REFNIC_REG_DB_OFFSET:
		return REFNIC_DB_PAGE(0);
	case REFNIC_REG_DB_STRIDE:
		return REFNIC_PAGE_SIZE;
	default:
		return 0; /* KICK, reserved */
	}
}

static void set_half(uint64_t *reg, bool hi, uint32_t v)
{
	if (hi)
		*reg = (*reg & 0xffffffffull) | (uint64_t)v << 32;
	else
		*reg = (*reg & ~0xffffffffull) | v;
}

static void ctrl_write(struct refnic_dev *dev, uint32_t v)
{
	bool was_enabled = dev->ctrl & REFNIC_CTRL_ENABLE;

	if (v & REFNIC_CTRL_RESET) {
		RN_INFO("DEV_CTRL.RESET");
		refnic_dev_reset(dev);
		return;
	}
	if (was_enabled && !(v & REFNIC_CTRL_ENABLE)) {
		RN_INFO("DEV_CTRL.ENABLE cleared: device reset");
		refnic_dev_reset(dev);
		return;
	}
	dev->ctrl = v & REFNIC_CTRL_RW_MASK;
	if (!was_enabled && (v & REFNIC_CTRL_ENABLE))
		refnic_admin_enable(dev);
}

static void reg_write(struct refnic_dev *dev, uint32_t off, uint32_t v)
{
	bool enabled = dev->ctrl & REFNIC_CTRL_ENABLE;

	switch (off) {
	case REFNIC_REG_DEV_CTRL:
		ctrl_write(dev, v);
		break;
	case REFNIC_REG_ADMIN_SQ_BASE:
	case REFNIC_REG_ADMIN_SQ_BASE + 4:
		if (!enabled)
			set_half(&dev->sq_base, off & 4, v);
		break;
	case REFNIC_REG_ADMIN_CQ_BASE:
	case REFNIC_REG_ADMIN_CQ_BASE + 4:
		if (!enabled)
			set_half(&dev->cq_base, off & 4, v);
		break;
	case REFNIC_REG_ADMIN_Q_LOG_SIZE:
		if (!enabled)
			dev->log_size = v & 0xf;
		break;
	case REFNIC_REG_KICK:
		dev->stats.kicks++;
		break;
	case REFNIC_REG_SCRATCH:
		dev->scratch = v;
		break;
	default:
		break; /* read-only, reserved */
	}
}

/* Registers: aligned 4-byte accesses; an aligned 8-byte one is lo then hi. */
static void regs_access(struct refnic_dev *dev, uint32_t off, uint8_t *buf, size_t len, bool write)
{
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v;

		if (write) {
			memcpy(&v, buf + i, 4);
			reg_write(dev, off + (uint32_t)i, v);
		} else {
			v = reg_read(dev, off + (uint32_t)i);
			memcpy(buf + i, &v, 4);
		}
	}
}

/* MSI-X table: storage the VFIO layer owns (§12); PBA reads 0. */
static void msix_access(struct refnic_dev *dev, uint32_t off, uint8_t *buf, size_t len, bool write)
{
	if (off >= REFNIC_REG_MSIX_PBA) {
		if (!write)
			memset(buf, 0, len);
		return;
	}
	off -= REFNIC_REG_MSIX_TABLE;
	if (write)
		memcpy(dev->msix_table + off, buf, len);
	else
		memcpy(buf, dev->msix_table + off, len);
}

/* Which part of page 0 [off, off + len) lies in; -1 if it straddles two. */
static int page0_area(uint32_t off, size_t len)
{
	static const uint32_t bounds[] = { 0,	    REGS_END,	     MSIX_END, REFNIC_REG_MSIX_PBA,
					   PBA_END, REFNIC_PAGE_SIZE };

	for (int i = 0; i < 5; i++)
		if (off >= bounds[i] && off < bounds[i + 1])
			return off + len <= bounds[i + 1] ? i : -1;
	return -1;
}

static void page0_access(struct refnic_dev *dev, uint32_t off, uint8_t *buf, size_t len, bool write)
{
	bool sized = (len == 4 || len == 8) && !(off & (len - 1));
	int area = sized ? page0_area(off, len) : -1;

	switch (area) {
	case 0:
		regs_access(dev, off, buf, len, write);
		break;
	case 1: /* MSI-X table */
	case 3: /* PBA */
		msix_access(dev, off, buf, len, write);
		break;
	case 2: /* reserved */
	case 4:
		if (!write)
			memset(buf, 0, len);
		break;
	default:
		/* Unsupported access: reads all ones, writes dropped (§4). */
		RN_DEBUG("bar0: unsupported %s of %zu bytes at 0x%x", write ? "write" : "read", len,
			 off);
		if (!write)
			memset(buf, 0xff, len);
		break;
	}
}

/*
 * Past page 0. The server serves the doorbell pages (the mmap area) from the
 * memfd itself, so only the reserved tail of the BAR normally gets here.
 */
static void db_access(struct refnic_dev *dev, uint64_t off, uint8_t *buf, size_t len, bool write)
{
	uint64_t end = off + len;
	uint64_t mem_end = dev->bar_mem_size;

	if (off >= mem_end) { /* reserved pages after the last function */
		if (!write)
			memset(buf, 0, len);
		return;
	}
	if (end > mem_end) {
		db_access(dev, mem_end, buf + (mem_end - off), end - mem_end, write);
		len = mem_end - off;
	}
	if (write)
		memcpy(dev->bar_mem + off, buf, len);
	else
		memcpy(buf, dev->bar_mem + off, len);
}

/* Trapped BAR0 access; dev->lock held. */
int refnic_bar0_access(struct refnic_dev *dev, uint64_t offset, void *buf, size_t len, bool write)
{
	if (offset >= dev->bar0_size || len > dev->bar0_size - offset)
		return -EINVAL;
	if (offset < REFNIC_PAGE_SIZE) {
		if (offset + len > REFNIC_PAGE_SIZE) {
			RN_DEBUG("bar0: access at 0x%llx crosses page 0",
				 (unsigned long long)offset);
			if (!write)
				memset(buf, 0xff, len);
			return 0;
		}
		page0_access(dev, (uint32_t)offset, buf, len, write);
	} else {
		db_access(dev, offset, buf, len, write);
	}
	return 0;
}
