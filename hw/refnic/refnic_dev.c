/* SPDX-License-Identifier: MIT */
/*
 * A refnic device: its BAR0 backing memory, the vfio-user server that
 * exposes it, device and function-level reset, and the public model API
 * (refnic_model.h). The worker that runs it belongs to its system
 * (refnic_sys.c), which it may share with other devices.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "refnic_priv.h"

struct refnic_model {
	struct refnic_dev dev;
};

static const uint8_t default_mac_base[6] = { 0x02, 0xfa, 0xce, 0x00, 0x00, 0x00 };

/* ---- reset ------------------------------------------------------------------ */

/*
 * Device reset (docs/refnic.md §6.3), the system lock held. The worker is between
 * passes (it holds the lock for a whole pass) or in a DMA message round trip,
 * which the generation bump makes it abandon.
 */
void refnic_dev_reset(struct refnic_dev *dev)
{
	dev->reset_gen++;
	for (unsigned int i = 0; i < dev->num_funcs; i++) {
		struct refnic_func *fn = &dev->funcs[i];

		refnic_func_reset(dev, fn);
		/* The driver-written part of the page; DEV_STATE is the worker's. */
		memset(fn->db, 0, REFNIC_DB_DEV_STATE);
		memset(fn->db + REFNIC_DB_DEV_STATE + 4, 0,
		       REFNIC_PAGE_SIZE - REFNIC_DB_DEV_STATE - 4);
	}
	refnic_regs_reset(dev);
	memset(&dev->stats, 0, sizeof(dev->stats));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Function-level reset (§6.4): device reset plus the MSI-X table. */
void refnic_dev_flr(struct refnic_dev *dev)
{
	refnic_dev_reset(dev);
	refnic_regs_msix_reset(dev);
}

/* ---- vfio-user callbacks (server thread) ----------------------------------- */

static int bar0_cb(void *opaque, unsigned int index, uint64_t offset, void *buf, size_t len,
		   bool write)
{
	struct refnic_dev *dev = opaque;
	int rc;

	refnic_lock(dev);
	rc = refnic_bar0_access(dev, offset, buf, len, write);
	refnic_unlock(dev);
	if (write)
		refnic_worker_kick(dev);
	return rc;
}

static int cfg_cb(void *opaque, unsigned int index, uint64_t offset, void *buf, size_t len,
		  bool write)
{
	struct refnic_dev *dev = opaque;
	int rc;

	refnic_lock(dev);
	rc = refnic_pci_access(dev, offset, buf, len, write);
	refnic_unlock(dev);
	if (write)
		refnic_worker_kick(dev);
	return rc;
}

static int reset_cb(void *opaque)
{
	struct refnic_dev *dev = opaque;

	RN_INFO("function-level reset");
	refnic_lock(dev);
	refnic_dev_flr(dev);
	refnic_unlock(dev);
	refnic_worker_kick(dev);
	return 0;
}

/*
 * Nothing to do: the datapath's translation cache (refnic_dma.c) notices the
 * server's map generation change the next time it takes the DMA lock.
 */
static void dma_added_cb(void *opaque, uint64_t iova, uint64_t len)
{
	RN_DEBUG("dma map 0x%llx+0x%llx", (unsigned long long)iova, (unsigned long long)len);
}

static void dma_removing_cb(void *opaque, uint64_t iova, uint64_t len)
{
	RN_DEBUG("dma unmap 0x%llx+0x%llx", (unsigned long long)iova, (unsigned long long)len);
}

static void client_connected_cb(void *opaque)
{
	RN_INFO("client connected");
}

/* "1 QP, 2 MRs" ...: the nonzero counts of @st's RDMA gauges, teardown order. */
static void released_list(const struct refnic_func_stats *st, char *buf, size_t size)
{
	const struct {
		uint64_t n;
		const char *what;
	} objs[] = {
		{ st->rdma_qps, "QP" }, { st->rdma_mrs, "MR" }, { st->rdma_ahs, "AH" },
		{ st->rdma_cqs, "CQ" }, { st->rdma_pds, "PD" },
	};
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]) && len < size; i++) {
		if (!objs[i].n)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%llu %s%s", len ? ", " : "",
					(unsigned long long)objs[i].n, objs[i].what,
					objs[i].n == 1 ? "" : "s");
	}
}

/*
 * Before a client's reset: name the RDMA objects it left behind, per
 * function, so an operator sees that a process died without tearing down
 * and that the model reclaimed everything (docs/refnic.md §16.1).
 */
static void log_released(struct refnic_dev *dev)
{
	for (unsigned int i = 0; i < dev->num_funcs; i++) {
		struct refnic_func_stats st = { 0 };
		char list[128];

		refnic_rdma_stats(&dev->funcs[i], &st);
		released_list(&st, list, sizeof(list));
		if (list[0])
			RN_INFO("client gone: released %s (function %u of %s)", list, i, dev->path);
	}
}

/* As vfio-pci on release: FLR, and config space back to power-on values. */
static void client_gone_cb(void *opaque)
{
	struct refnic_dev *dev = opaque;

	RN_INFO("client gone: device reset (%s)", dev->path);
	refnic_lock(dev);
	log_released(dev);
	refnic_dev_flr(dev);
	refnic_pci_init(dev);
	refnic_unlock(dev);
	refnic_worker_kick(dev);
}

static const struct facet_vfu_device_ops dev_ops = {
	.reset = reset_cb,
	.dma_added = dma_added_cb,
	.dma_removing = dma_removing_cb,
	.client_connected = client_connected_cb,
	.client_gone = client_gone_cb,
};

static void dev_desc(struct refnic_dev *dev, struct facet_vfu_device_desc *d)
{
	struct facet_vfu_region *bar0 = &d->regions[FACET_VFU_PCI_BAR0];
	struct facet_vfu_region *cfg = &d->regions[FACET_VFU_PCI_CONFIG];

	memset(d, 0, sizeof(*d));
	for (unsigned int i = 0; i < FACET_VFU_PCI_NUM_REGIONS; i++)
		d->regions[i].fd = -1;
	d->name = "refnic";
	d->pci_flags_reset = 1;
	bar0->size = dev->bar0_size;
	bar0->flags = FACET_VFU_REGION_READ | FACET_VFU_REGION_WRITE | FACET_VFU_REGION_MMAP;
	bar0->fd = dev->memfd;
	bar0->fd_offset = 0;
	bar0->n_mmap_areas = 1; /* all doorbell pages; page 0 is trapped */
	bar0->mmap_areas[0].offset = REFNIC_DB_PAGE(0);
	bar0->mmap_areas[0].size = (uint64_t)dev->num_funcs * REFNIC_PAGE_SIZE;
	bar0->access = bar0_cb;
	cfg->size = REFNIC_PCI_CFG_SIZE;
	cfg->flags = FACET_VFU_REGION_READ | FACET_VFU_REGION_WRITE;
	cfg->access = cfg_cb;
	d->irq_counts[FACET_VFU_IRQ_MSIX] = REFNIC_PCI_MSIX_VECS;
	d->ops = &dev_ops;
	d->dev = dev;
}

/* ---- create / destroy ------------------------------------------------------- */

static int opts_apply(struct refnic_dev *dev, const struct refnic_model_opts *o)
{
	static const struct refnic_model_opts none;

	if (!o)
		o = &none;
	dev->num_funcs = o->num_funcs ? o->num_funcs : REFNIC_MODEL_DEFAULT_FUNCS;
	if (dev->num_funcs > REFNIC_MAX_FUNCS) {
		RN_ERR("%u functions: at most %d", dev->num_funcs, REFNIC_MAX_FUNCS);
		return -EINVAL;
	}
	memcpy(dev->mac_base, refnic_is_zero(o->mac_base, 6) ? default_mac_base : o->mac_base, 6);
	if (dev->mac_base[0] & 1) {
		RN_ERR("MAC base must be a unicast address");
		return -EINVAL;
	}
	return 0;
}

/* The system the device joins: the caller's, or one of its own. */
static int sys_get(struct refnic_dev *dev, const struct refnic_model_opts *o)
{
	struct refnic_system_opts so = { .idle_us = o ? o->idle_us : 0 };

	if (o && o->system) {
		dev->sys = o->system;
		return 0;
	}
	dev->own_sys = true;
	return refnic_system_create(&so, &dev->sys);
}

/* BAR0: a power of two covering page 0 and every doorbell page, >= 16 KiB (§3). */
static uint64_t bar0_size(unsigned int num_funcs)
{
	uint64_t need = (uint64_t)(1 + num_funcs) * REFNIC_PAGE_SIZE;
	uint64_t size = REFNIC_BAR0_MIN_SIZE;

	while (size < need)
		size <<= 1;
	return size;
}

static int bar_mem_init(struct refnic_dev *dev)
{
	dev->bar_mem_size = (size_t)(1 + dev->num_funcs) * REFNIC_PAGE_SIZE;
	dev->memfd = memfd_create("refnic-bar0", MFD_CLOEXEC);
	if (dev->memfd < 0)
		return -errno;
	if (ftruncate(dev->memfd, (off_t)dev->bar_mem_size) < 0)
		return -errno;
	dev->bar_mem =
		mmap(NULL, dev->bar_mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, dev->memfd, 0);
	if (dev->bar_mem == MAP_FAILED) {
		dev->bar_mem = NULL;
		return -errno;
	}
	return 0;
}

static void dev_free(struct refnic_dev *dev)
{
	if (dev->attached)
		refnic_sys_detach(dev->sys, dev);
	/* Detached: the worker no longer sees it; callbacks still may, under the lock. */
	if (dev->srv)
		facet_vfu_server_destroy(dev->srv);
	refnic_funcs_fini(dev);
	if (dev->bar_mem)
		munmap(dev->bar_mem, dev->bar_mem_size);
	if (dev->memfd >= 0)
		close(dev->memfd);
	if (dev->own_sys)
		refnic_system_destroy(dev->sys);
	free(dev->path);
	free((struct refnic_model *)dev); /* dev is the model's first member */
}

/*
 * Offer KICK as an ioeventfd backed by the worker's wake eventfd (§7): a
 * driver then wakes the worker with one eventfd write instead of a trapped
 * REGION_WRITE and its reply. Such a KICK never reaches refnic_regs.c, so it
 * counts as a wake-up (stats.wakeups), not in stats.kicks.
 */
static int kick_ioeventfd(struct refnic_dev *dev)
{
	return facet_vfu_server_add_ioeventfd(dev->srv, FACET_VFU_PCI_BAR0, REFNIC_REG_KICK, 4,
					      false, 0, dev->sys->wake_fd);
}

int refnic_model_create(const char *path, const struct refnic_model_opts *opts,
			struct refnic_model **out)
{
	struct facet_vfu_device_desc desc;
	struct refnic_model *m;
	struct refnic_dev *dev;
	int rc;

	if (!path || !out)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	dev = &m->dev;
	dev->memfd = -1;
	rc = opts_apply(dev, opts);
	if (!rc)
		rc = sys_get(dev, opts);
	if (rc)
		goto fail;
	dev->bar0_size = bar0_size(dev->num_funcs);
	dev->path = strdup(path);
	rc = dev->path ? bar_mem_init(dev) : -ENOMEM;
	if (!rc)
		rc = refnic_funcs_init(dev);
	if (rc)
		goto fail;
	refnic_pci_init(dev);
	refnic_regs_reset(dev);
	refnic_regs_msix_reset(dev);
	dev_desc(dev, &desc);
	/* Hold the lock so neither a callback nor the worker sees it before dev->srv is set. */
	refnic_lock(dev);
	rc = facet_vfu_server_create(path, &desc, &dev->srv);
	if (!rc)
		rc = kick_ioeventfd(dev);
	if (!rc)
		rc = refnic_sys_attach(dev->sys, dev);
	refnic_unlock(dev);
	if (rc)
		goto fail;
	RN_INFO("device with %u functions (BAR0 %llu KiB) at %s", dev->num_funcs,
		(unsigned long long)dev->bar0_size / 1024, path);
	*out = m;
	return 0;
fail:
	RN_ERR("cannot create a device at %s: %s", path, strerror(-rc));
	if (!dev->sys)
		dev->own_sys = false;
	dev_free(dev);
	return rc;
}

void refnic_model_destroy(struct refnic_model *m)
{
	if (m)
		dev_free(&m->dev);
}

unsigned int refnic_model_num_funcs(const struct refnic_model *m)
{
	return m->dev.num_funcs;
}

/* ---- hooks: link, stats, ports ------------------------------------------- */

int refnic_model_set_link(struct refnic_model *m, unsigned int idx, bool up)
{
	struct refnic_dev *dev = &m->dev;
	struct refnic_func *fn;

	if (idx >= dev->num_funcs)
		return -EINVAL;
	refnic_lock(dev);
	fn = &dev->funcs[idx];
	if (fn->link_up != up) {
		fn->link_up = up;
		fn->link_event = fn->active;
		RN_INFO("function %u: link %s", idx, up ? "up" : "down");
	}
	refnic_unlock(dev);
	refnic_worker_kick(dev);
	return 0;
}

void refnic_model_get_stats(struct refnic_model *m, struct refnic_stats *hdr,
			    struct refnic_func_stats *funcs, unsigned int n)
{
	refnic_lock(&m->dev);
	refnic_stats_snapshot(&m->dev, hdr, funcs, n);
	refnic_unlock(&m->dev);
}

bool refnic_model_is_sleeping(struct refnic_model *m)
{
	return refnic_system_is_sleeping(m->dev.sys);
}

/* A frame from outside the switch (tests, embedders), straight to the function's port. */
int refnic_model_port_rx(struct refnic_model *m, unsigned int idx, const void *frame, size_t len)
{
	struct refnic_dev *dev = &m->dev;
	struct refnic_frame f = {
		.data = (uint8_t *)frame,
		.len = (uint32_t)len,
		.src = REFNIC_PORT_UPLINK,
		.csum_flags = -1,
	};
	struct refnic_frame *fp = &f;
	struct refnic_func *fn;
	unsigned int n = 0;

	if (idx >= dev->num_funcs || !frame || len == 0 || len > REFNIC_FRAME_MAX)
		return -EINVAL;
	refnic_pkt_parse(f.data, f.len, &f.pkt);
	refnic_lock(dev);
	fn = refnic_func_get(dev, idx);
	if (fn)
		n = refnic_rx_deliver(dev, fn, &fp, 1);
	refnic_unlock(dev);
	if (!fn)
		return -EINVAL;
	return n ? 0 : -ENOBUFS;
}
