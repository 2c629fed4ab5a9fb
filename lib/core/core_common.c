/* SPDX-License-Identifier: MIT */
/*
 * The public lib/core API, implemented once over struct core_transport:
 * opening and identifying a device, config space, BARs, interrupts, reset.
 * DMA memory and the IOVA space are in core_dma.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core_private.h"

/* Weak so that the library links while a transport is not built in. */
extern const struct core_transport core_vfio_user_transport __attribute__((weak));
extern const struct core_transport core_vfio_kernel_transport __attribute__((weak));

static const struct core_transport *find_transport(const char *spec)
{
	const struct core_transport *const all[] = { &core_vfio_user_transport,
						     &core_vfio_kernel_transport };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i] && all[i]->handles(spec))
			return all[i];
	}
	return NULL;
}

void core_mark_dead(struct facet_core_dev *dev, const char *why)
{
	if (!atomic_exchange(&dev->dead, true))
		CORE_ERR("%s: device lost: %s", dev->info.name, why);
}

bool facet_core_is_dead(const struct facet_core_dev *dev)
{
	return atomic_load(&((struct facet_core_dev *)dev)->dead);
}

static int check_alive(const struct facet_core_dev *dev)
{
	return facet_core_is_dead(dev) ? -ENODEV : 0;
}

/* Identity from config space: what the device says, not what its name says. */
static int read_identity(struct facet_core_dev *dev)
{
	uint8_t cfg[0x30];
	int ret = dev->tp->region_rw(dev, FACET_CORE_CONFIG, 0, cfg, sizeof(cfg), false);

	if (ret < 0) {
		CORE_ERR("%s: cannot read config space: %s", dev->info.name, strerror(-ret));
		return ret;
	}
	dev->info.vendor_id = cfg[0x00] | cfg[0x01] << 8;
	dev->info.device_id = cfg[0x02] | cfg[0x03] << 8;
	dev->info.revision = cfg[0x08];
	dev->info.class_code = cfg[0x09] | cfg[0x0a] << 8 | cfg[0x0b] << 16;
	dev->info.subsystem_vendor_id = cfg[0x2c] | cfg[0x2d] << 8;
	dev->info.subsystem_id = cfg[0x2e] | cfg[0x2f] << 8;
	return 0;
}

static int init_iova(struct facet_core_dev *dev)
{
	uint64_t start = FACET_CORE_IOVA_BASE, end = FACET_CORE_IOVA_LIMIT;

	if (dev->tp->iova_range && dev->tp->iova_range(dev, &start, &end) < 0) {
		start = FACET_CORE_IOVA_BASE;
		end = FACET_CORE_IOVA_LIMIT;
	}
	/* Keep page 0 and the first MiB out: an IOVA of 0 is a bug, not an address. */
	if (start < FACET_CORE_IOVA_BASE)
		start = FACET_CORE_IOVA_BASE;
	return core_iova_init(dev, start, end);
}

static struct facet_core_dev *dev_new(const char *name, const struct core_transport *tp)
{
	struct facet_core_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	snprintf(dev->info.name, sizeof(dev->info.name), "%s", name);
	dev->info.numa_node = -1;
	dev->info.transport = tp->name;
	dev->tp = tp;
	pthread_mutex_init(&dev->lock, NULL);
	TAILQ_INIT(&dev->dmas);
	TAILQ_INIT(&dev->iova_free);
	return dev;
}

static void dev_free(struct facet_core_dev *dev)
{
	core_iova_fini(dev);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

int facet_core_open(const char *name, const struct facet_core_open_opts *opts,
		    struct facet_core_dev **out)
{
	const struct core_transport *tp;
	struct facet_core_dev *dev;
	int ret;

	if (!name || !out)
		return -EINVAL;
	tp = find_transport(name);
	if (!tp) {
		CORE_ERR("%s: not a device name (use a PCI address or vfio-user:/path)", name);
		return -EINVAL;
	}
	dev = dev_new(name, tp);
	if (!dev)
		return -ENOMEM;
	dev->open_opts = opts ? *opts : (struct facet_core_open_opts){ 0 };
	ret = tp->open(dev, name);
	if (ret < 0) {
		dev_free(dev);
		return ret;
	}
	ret = read_identity(dev);
	if (ret == 0)
		ret = init_iova(dev);
	if (ret < 0) {
		tp->close(dev);
		dev_free(dev);
		return ret;
	}
	CORE_INFO("%s: %04x:%04x class %06x over %s", name, dev->info.vendor_id,
		  dev->info.device_id, dev->info.class_code, dev->info.transport);
	*out = dev;
	return 0;
}

static void unmap_bars(struct facet_core_dev *dev)
{
	for (unsigned int i = 0; i < 6; i++) {
		if (dev->bars[i].base)
			munmap(dev->bars[i].base, dev->bars[i].size);
		dev->bars[i].base = NULL;
	}
}

void facet_core_close(struct facet_core_dev *dev)
{
	if (!dev)
		return;
	core_dma_release_all(dev);
	unmap_bars(dev);
	dev->tp->close(dev);
	dev_free(dev);
}

const struct facet_core_info *facet_core_info(const struct facet_core_dev *dev)
{
	return &dev->info;
}

/* ---- config space and regions ------------------------------------------- */

int facet_core_region_info(struct facet_core_dev *dev, unsigned int index,
			   struct facet_core_region_info *info)
{
	int ret = check_alive(dev);

	if (ret < 0)
		return ret;
	if (index >= FACET_CORE_NUM_REGIONS)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	if (!dev->regions_known[index]) {
		ret = dev->tp->region_info(dev, index, &dev->regions[index]);
		dev->regions_known[index] = ret == 0;
	}
	if (ret == 0)
		*info = dev->regions[index];
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* Is [offset, offset + len) of @index inside a mapped area? Returns the address or NULL. */
static volatile void *mapped_addr(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
				  size_t len)
{
	const struct facet_core_region_info *r;

	if (index >= 6 || !dev->bars[index].base)
		return NULL;
	r = &dev->regions[index];
	for (unsigned int i = 0; i < r->n_mmap_areas; i++) {
		uint64_t start = r->mmap_areas[i].offset, size = r->mmap_areas[i].size;

		if (offset >= start && len <= size && offset - start <= size - len)
			return (volatile uint8_t *)dev->bars[index].base + offset;
	}
	return NULL;
}

/* Copy with single accesses of the register's width, as hardware expects. */
static void mmio_copy(volatile void *mmio, void *buf, size_t len, bool write)
{
	switch (len) {
	case 1:
		write ? (void)(*(volatile uint8_t *)mmio = *(uint8_t *)buf)
		      : (void)(*(uint8_t *)buf = *(volatile uint8_t *)mmio);
		return;
	case 2:
		write ? (void)(*(volatile uint16_t *)mmio = *(uint16_t *)buf)
		      : (void)(*(uint16_t *)buf = *(volatile uint16_t *)mmio);
		return;
	case 4:
		write ? (void)(*(volatile uint32_t *)mmio = *(uint32_t *)buf)
		      : (void)(*(uint32_t *)buf = *(volatile uint32_t *)mmio);
		return;
	case 8:
		write ? (void)(*(volatile uint64_t *)mmio = *(uint64_t *)buf)
		      : (void)(*(uint64_t *)buf = *(volatile uint64_t *)mmio);
		return;
	}
	if (write)
		memcpy((void *)mmio, buf, len);
	else
		memcpy(buf, (const void *)mmio, len);
}

static int region_rw(struct facet_core_dev *dev, unsigned int index, uint64_t offset, void *buf,
		     size_t len, bool write)
{
	volatile void *mmio;
	int ret = check_alive(dev);

	if (ret < 0)
		return ret;
	if (index >= FACET_CORE_NUM_REGIONS || !buf)
		return -EINVAL;
	mmio = mapped_addr(dev, index, offset, len);
	if (mmio) {
		mmio_copy(mmio, buf, len, write);
		return 0;
	}
	return dev->tp->region_rw(dev, index, offset, buf, len, write);
}

int facet_core_region_read(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
			   void *buf, size_t len)
{
	return region_rw(dev, index, offset, buf, len, false);
}

int facet_core_region_write(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
			    const void *buf, size_t len)
{
	return region_rw(dev, index, offset, (void *)buf, len, true);
}

int facet_core_region_ioeventfd(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
				uint32_t size, int *fd)
{
	int ret = check_alive(dev);

	if (ret < 0)
		return ret;
	if (index >= FACET_CORE_NUM_REGIONS || !fd ||
	    (size != 1 && size != 2 && size != 4 && size != 8))
		return -EINVAL;
	if (!dev->tp->region_ioeventfd)
		return -ENOTSUP;
	return dev->tp->region_ioeventfd(dev, index, offset, size, fd);
}

int facet_core_cfg_read(struct facet_core_dev *dev, uint32_t offset, void *buf, size_t len)
{
	return region_rw(dev, FACET_CORE_CONFIG, offset, buf, len, false);
}

int facet_core_cfg_write(struct facet_core_dev *dev, uint32_t offset, const void *buf, size_t len)
{
	return region_rw(dev, FACET_CORE_CONFIG, offset, (void *)buf, len, true);
}

int facet_core_read32(struct facet_core_dev *dev, unsigned int bar, uint64_t offset,
		      uint32_t *value)
{
	return region_rw(dev, bar, offset, value, sizeof(*value), false);
}

int facet_core_write32(struct facet_core_dev *dev, unsigned int bar, uint64_t offset,
		       uint32_t value)
{
	return region_rw(dev, bar, offset, &value, sizeof(value), true);
}

#define PCI_COMMAND	       0x04
#define PCI_COMMAND_BUS_MASTER 0x4

int facet_core_set_bus_master(struct facet_core_dev *dev, bool enable)
{
	uint16_t cmd;
	int ret = facet_core_cfg_read(dev, PCI_COMMAND, &cmd, sizeof(cmd));

	if (ret < 0)
		return ret;
	cmd = enable ? cmd | PCI_COMMAND_BUS_MASTER : cmd & ~PCI_COMMAND_BUS_MASTER;
	return facet_core_cfg_write(dev, PCI_COMMAND, &cmd, sizeof(cmd));
}

/* Reserve the whole BAR's VA range, then map each mmap area into place. */
static int bar_map_locked(struct facet_core_dev *dev, unsigned int bar)
{
	const struct facet_core_region_info *r = &dev->regions[bar];
	uint8_t *base;
	int ret = 0;

	if (!r->n_mmap_areas)
		return -ENOTSUP;
	base = mmap(NULL, r->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	for (unsigned int i = 0; i < r->n_mmap_areas && ret == 0; i++) {
		void *addr = base + r->mmap_areas[i].offset;

		ret = dev->tp->region_mmap(dev, bar, r->mmap_areas[i].offset, r->mmap_areas[i].size,
					   &addr);
	}
	if (ret < 0) {
		munmap(base, r->size);
		CORE_ERR("%s: cannot map BAR%u: %s", dev->info.name, bar, strerror(-ret));
		return ret;
	}
	dev->bars[bar].base = base;
	dev->bars[bar].size = r->size;
	return 0;
}

int facet_core_bar_map(struct facet_core_dev *dev, unsigned int bar, void **base)
{
	struct facet_core_region_info info;
	int ret;

	if (bar >= 6 || !base)
		return -EINVAL;
	ret = facet_core_region_info(dev, bar, &info);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&dev->lock);
	if (!dev->bars[bar].base)
		ret = bar_map_locked(dev, bar);
	if (ret == 0)
		*base = dev->bars[bar].base;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* ---- interrupts and reset ------------------------------------------------ */

int facet_core_irq_count(struct facet_core_dev *dev, enum facet_core_irq_type type,
			 unsigned int *count)
{
	int ret = check_alive(dev);

	if (ret < 0)
		return ret;
	if ((unsigned int)type >= FACET_CORE_IRQ_TYPES || !count)
		return -EINVAL;
	return dev->tp->irq_count(dev, type, count);
}

int facet_core_irq_enable(struct facet_core_dev *dev, enum facet_core_irq_type type,
			  unsigned int start, unsigned int count, const int *fds)
{
	int ret = check_alive(dev);

	if (ret < 0)
		return ret;
	if ((unsigned int)type >= FACET_CORE_IRQ_TYPES || !count || !fds)
		return -EINVAL;
	return dev->tp->irq_set(dev, type, start, count, fds);
}

int facet_core_irq_disable(struct facet_core_dev *dev, enum facet_core_irq_type type)
{
	int ret = check_alive(dev);

	if (ret < 0)
		return ret;
	if ((unsigned int)type >= FACET_CORE_IRQ_TYPES)
		return -EINVAL;
	return dev->tp->irq_set(dev, type, 0, 0, NULL);
}

int facet_core_reset(struct facet_core_dev *dev)
{
	int ret = check_alive(dev);

	if (ret < 0)
		return ret;
	if (!dev->info.can_reset) {
		CORE_ERR("%s: device does not support reset", dev->info.name);
		return -ENOTSUP;
	}
	return dev->tp->reset(dev);
}
