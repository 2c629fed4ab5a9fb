/* SPDX-License-Identifier: MIT */
/* Test equipment: a tiny driver for QEMU's edu device; see edu.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "edu.h"

uint32_t edu_read32(const struct edu *edu, uint32_t reg)
{
	return *(volatile uint32_t *)(edu->bar0 + reg);
}

void edu_write32(const struct edu *edu, uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(edu->bar0 + reg) = val;
}

void edu_write64(const struct edu *edu, uint32_t reg, uint64_t val)
{
	*(volatile uint64_t *)(edu->bar0 + reg) = val;
}

int edu_attach(struct edu *edu, struct facet_core_dev *dev)
{
	const struct facet_core_info *info = facet_core_info(dev);
	struct facet_core_region_info ri;
	void *base;
	uint32_t id;
	int ret;

	memset(edu, 0, sizeof(*edu));
	if (info->vendor_id != EDU_VENDOR_ID || info->device_id != EDU_DEVICE_ID) {
		printf("edu: %s is %04x:%04x, not an edu\n", info->name, info->vendor_id,
		       info->device_id);
		return -ENODEV;
	}
	ret = facet_core_region_info(dev, FACET_CORE_BAR0, &ri);
	if (ret < 0 || ri.size < 0x100 || !(ri.flags & FACET_CORE_REGION_MMAP)) {
		printf("edu: BAR0: ret %d size 0x%llx flags 0x%x: not a mappable MMIO BAR\n", ret,
		       (unsigned long long)ri.size, ri.flags);
		return ret < 0 ? ret : -ENODEV;
	}
	ret = facet_core_bar_map(dev, FACET_CORE_BAR0, &base);
	if (ret < 0) {
		printf("edu: facet_core_bar_map(BAR0): %s\n", strerror(-ret));
		return ret;
	}
	edu->dev = dev;
	edu->bar0 = base;
	id = edu_read32(edu, EDU_REG_ID);
	if (id != EDU_ID_VALUE) {
		printf("edu: id register reads 0x%08x, expected 0x%08x\n", id, EDU_ID_VALUE);
		return -ENODEV;
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int edu_dma(const struct edu *edu, uint64_t iova, uint32_t buf_off, uint32_t count, bool to_ram,
	    bool irq, unsigned int timeout_ms)
{
	uint64_t deadline;

	/* edu masks addresses to 28 bits; QEMU 7.2 aborts on the buffer's last byte. */
	if (!count || count > EDU_BUF_SIZE - 1 || buf_off > EDU_BUF_SIZE - 1 - count ||
	    iova + count - 1 > EDU_DMA_MASK)
		return -EINVAL;
	edu_write64(edu, EDU_REG_DMA_SRC, to_ram ? EDU_BUF_ADDR + buf_off : iova);
	edu_write64(edu, EDU_REG_DMA_DST, to_ram ? iova : EDU_BUF_ADDR + buf_off);
	edu_write64(edu, EDU_REG_DMA_CNT, count);
	edu_write32(edu, EDU_REG_DMA_CMD,
		    EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0) | (irq ? EDU_DMA_IRQ : 0));
	deadline = now_ms() + timeout_ms;
	while (edu_read32(edu, EDU_REG_DMA_CMD) & EDU_DMA_START) {
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
	}
	return 0;
}
