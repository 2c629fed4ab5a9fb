/* SPDX-License-Identifier: MIT */
/*
 * A tiny driver for QEMU's "edu" teaching device (1234:11e8), test
 * equipment for the kernel VFIO tests: it uses lib/core's public API only.
 *
 * BAR0 registers (docs/specs/edu.txt in QEMU): 0x00 id (0x010000ed),
 * 0x04 liveness (reads back ~written), 0x24 irq status, 0x60 raise irq,
 * 0x64 ack irq, 0x80 DMA source, 0x88 DMA destination, 0x90 DMA count,
 * 0x98 DMA command. The device's 4 KiB DMA buffer is at device address
 * 0x40000. A DMA takes 100 ms of virtual time.
 *
 * Limits of the emulated device that the tests respect: DMA addresses are
 * masked to 28 bits (IOVAs must be below 256 MiB), and QEMU 7.2 aborts on a
 * transfer that ends on the buffer's last byte (keep transfers <= 4095
 * bytes and away from 0x40fff).
 */
#ifndef FACET_TEST_EDU_H
#define FACET_TEST_EDU_H

#include <stdbool.h>
#include <stdint.h>

#include "facet_core.h"

#define EDU_VENDOR_ID 0x1234
#define EDU_DEVICE_ID 0x11e8
#define EDU_ID_VALUE  0x010000edu

#define EDU_REG_ID	  0x00
#define EDU_REG_LIVE	  0x04
#define EDU_REG_STATUS	  0x20
#define EDU_REG_IRQ_STAT  0x24
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK	  0x64
#define EDU_REG_DMA_SRC	  0x80
#define EDU_REG_DMA_DST	  0x88
#define EDU_REG_DMA_CNT	  0x90
#define EDU_REG_DMA_CMD	  0x98

#define EDU_DMA_START  0x1
#define EDU_DMA_TO_RAM 0x2 /* direction: device buffer -> RAM */
#define EDU_DMA_IRQ    0x4 /* raise irq 0x100 when done */
#define EDU_IRQ_DMA    0x100

#define EDU_BUF_ADDR 0x40000u
#define EDU_BUF_SIZE 4096u
#define EDU_DMA_MASK ((1ull << 28) - 1)

struct edu {
	struct facet_core_dev *dev;
	volatile uint8_t *bar0;
};

/**
 * Check that @dev is an edu (ids from facet_core_info), map BAR0 and check
 * the id register. Returns 0 or a negative errno (logged to stdout).
 */
int edu_attach(struct edu *edu, struct facet_core_dev *dev);

uint32_t edu_read32(const struct edu *edu, uint32_t reg);
void edu_write32(const struct edu *edu, uint32_t reg, uint32_t val);
void edu_write64(const struct edu *edu, uint32_t reg, uint64_t val);

/**
 * Run one DMA of @count bytes: RAM at @iova to the device buffer at
 * @buf_off (@to_ram false), or the other way. Waits up to @timeout_ms for
 * the command's start bit to clear. Returns 0, -EINVAL (outside what edu
 * and QEMU 7.2 accept) or -ETIMEDOUT.
 */
int edu_dma(const struct edu *edu, uint64_t iova, uint32_t buf_off, uint32_t count, bool to_ram,
	    bool irq, unsigned int timeout_ms);

#endif /* FACET_TEST_EDU_H */
