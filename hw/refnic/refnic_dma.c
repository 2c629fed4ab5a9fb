/* SPDX-License-Identifier: MIT */
/*
 * DMA (docs/refnic.md §8): the device reaches host memory only through the
 * DMA maps of the function concerned, with the access each map grants, and
 * only while Bus Master Enable is set. Every range is checked whole before
 * a byte moves, so a faulting command writes nothing.
 *
 * Fast path: translate under the server's DMA read lock and copy. Maps
 * without an fd go through DMA_READ/DMA_WRITE messages, which the server
 * thread answers; the system lock is dropped meanwhile so that thread is never
 * stuck behind us on a trapped access, and a device reset in that window is
 * reported as -ECANCELED (the caller abandons its work).
 */
#include <errno.h>
#include <string.h>

#include "refnic_priv.h"

/* The DMA space of @fn. Revision 1.0: every function shares the PF's. */
static struct facet_vfu_server *dma_space(struct refnic_dev *dev, struct refnic_func *fn)
{
	(void)fn;
	return dev->srv;
}

static int dma_precheck(struct refnic_dev *dev, uint64_t iova, size_t len)
{
	if (!refnic_pci_bus_master(dev))
		return -EIO;
	if (len == 0 || iova + len < iova)
		return -EFAULT;
	return 0;
}

/* Translate; 0 with *va, -ENOTSUP (mapped, no fd), or a fault. Lock held on 0. */
static int dma_map(struct facet_vfu_server *srv, uint64_t iova, size_t len, uint32_t access,
		   void **va)
{
	int rc;

	facet_vfu_server_dma_lock(srv);
	rc = facet_vfu_server_dma_translate(srv, iova, len, access, va);
	if (rc)
		facet_vfu_server_dma_unlock(srv);
	return rc;
}

int refnic_dma_check(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova, size_t len,
		     uint32_t access)
{
	struct facet_vfu_server *srv = dma_space(dev, fn);
	void *va;
	int rc;

	rc = dma_precheck(dev, iova, len);
	if (rc)
		return rc;
	rc = dma_map(srv, iova, len, access, &va);
	if (rc == 0)
		facet_vfu_server_dma_unlock(srv);
	return rc == -ENOTSUP ? 0 : rc;
}

/* The message path, with the system lock dropped around the round trip. */
static int dma_msg(struct refnic_dev *dev, struct facet_vfu_server *srv, uint64_t iova, void *buf,
		   size_t len, bool write)
{
	uint64_t gen = dev->reset_gen;
	int rc;

	refnic_unlock(dev);
	if (write)
		rc = facet_vfu_server_dma_write(srv, iova, buf, len);
	else
		rc = facet_vfu_server_dma_read(srv, iova, buf, len);
	refnic_lock(dev);
	if (dev->reset_gen != gen)
		return -ECANCELED;
	return rc;
}

int refnic_dma_read(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova, void *buf,
		    size_t len)
{
	struct facet_vfu_server *srv = dma_space(dev, fn);
	void *va;
	int rc;

	rc = dma_precheck(dev, iova, len);
	if (rc)
		return rc;
	rc = dma_map(srv, iova, len, FACET_VFU_DMA_READ, &va);
	if (rc == -ENOTSUP)
		return dma_msg(dev, srv, iova, buf, len, false);
	if (rc)
		return rc;
	memcpy(buf, va, len);
	facet_vfu_server_dma_unlock(srv);
	return 0;
}

int refnic_dma_write(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova, const void *buf,
		     size_t len)
{
	struct facet_vfu_server *srv = dma_space(dev, fn);
	void *va;
	int rc;

	rc = dma_precheck(dev, iova, len);
	if (rc)
		return rc;
	rc = dma_map(srv, iova, len, FACET_VFU_DMA_WRITE, &va);
	if (rc == -ENOTSUP)
		return dma_msg(dev, srv, iova, (void *)buf, len, true);
	if (rc)
		return rc;
	memcpy(va, buf, len);
	facet_vfu_server_dma_unlock(srv);
	return 0;
}

/*
 * Write a ring entry whose last byte is its phase: everything else first,
 * then the phase, so a driver that sees the new phase sees the whole entry
 * (§9.3). Over messages the two writes arrive in order.
 */
int refnic_dma_write_entry(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
			   const void *entry, size_t len)
{
	struct facet_vfu_server *srv = dma_space(dev, fn);
	const uint8_t *e = entry;
	uint8_t *va;
	int rc;

	rc = dma_precheck(dev, iova, len);
	if (rc)
		return rc;
	rc = dma_map(srv, iova, len, FACET_VFU_DMA_WRITE, (void **)&va);
	if (rc == -ENOTSUP) {
		rc = dma_msg(dev, srv, iova, (void *)e, len - 1, true);
		return rc ? rc : dma_msg(dev, srv, iova + len - 1, (void *)(e + len - 1), 1, true);
	}
	if (rc)
		return rc;
	memcpy(va, e, len - 1);
	__atomic_store_n(va + len - 1, e[len - 1], __ATOMIC_RELEASE);
	facet_vfu_server_dma_unlock(srv);
	return 0;
}

/* ---- datapath ------------------------------------------------------------- */

/*
 * The datapath holds the device's DMA read lock for a burst and translates
 * each descriptor and buffer under it: no lock and no syscall per frame. A
 * map without an fd is served by messages with the system lock held (slow,
 * correct: the client answers from its receiver thread).
 *
 * Translations go through a small per-device cache of whole maps (a TLB):
 * the inline fast path in refnic_priv.h hits it, the functions below fill
 * it. An entry is used only under the DMA read lock, so its mapping cannot
 * go away while in use; when the lock is taken anew the server's map
 * generation tells whether any DMA_MAP/UNMAP happened since, and the cache
 * is emptied if so. A cached map gives the same answer as the server's
 * translate(): maps do not overlap, so the one containing iova is unique.
 */
void refnic_dp_lock(struct refnic_dev *dev)
{
	uint64_t gen;

	if (dev->dp_depth++)
		return;
	facet_vfu_server_dma_lock(dev->srv);
	gen = facet_vfu_server_dma_gen(dev->srv);
	if (gen != dev->dp_gen) {
		memset(dev->dp_tlb, 0, sizeof(dev->dp_tlb));
		dev->dp_gen = gen;
	}
}

void refnic_dp_unlock(struct refnic_dev *dev)
{
	if (--dev->dp_depth == 0)
		facet_vfu_server_dma_unlock(dev->srv);
}

int refnic_dp_translate_slow(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
			     size_t len, uint32_t access, void **va)
{
	struct facet_vfu_dma_window *w = NULL, found;
	uint64_t off;

	if (len == 0 || iova + len < iova)
		return -EFAULT;
	for (unsigned int i = 0; !w && i < REFNIC_DP_TLB; i++)
		if (iova - dev->dp_tlb[i].iova < dev->dp_tlb[i].len)
			w = &dev->dp_tlb[i];
	if (!w) {
		if (facet_vfu_server_dma_window(dma_space(dev, fn), iova, &found))
			return -EFAULT;
		w = &dev->dp_tlb[dev->dp_next];
		dev->dp_next = (dev->dp_next + 1) % REFNIC_DP_TLB;
		*w = found;
	}
	off = iova - w->iova;
	if (len > w->len - off)
		return -EFAULT;
	if ((w->prot & access) != access)
		return -EACCES;
	if (!w->va)
		return -ENOTSUP;
	*va = (uint8_t *)w->va + off;
	return 0;
}

int refnic_dp_read_slow(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova, void *buf,
			size_t len)
{
	void *va;
	int rc = refnic_dp_translate_slow(dev, fn, iova, len, FACET_VFU_DMA_READ, &va);

	if (rc == -ENOTSUP)
		return facet_vfu_server_dma_read(dma_space(dev, fn), iova, buf, len);
	if (rc)
		return rc;
	memcpy(buf, va, len);
	return 0;
}

int refnic_dp_write_slow(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
			 const void *buf, size_t len)
{
	void *va;
	int rc = refnic_dp_translate_slow(dev, fn, iova, len, FACET_VFU_DMA_WRITE, &va);

	if (rc == -ENOTSUP)
		return facet_vfu_server_dma_write(dma_space(dev, fn), iova, buf, len);
	if (rc)
		return rc;
	memmove(va, buf, len);
	return 0;
}

int refnic_dp_store32_slow(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
			   uint32_t v)
{
	void *va;
	int rc;

	if (iova & 3)
		return -EFAULT;
	rc = refnic_dp_translate_slow(dev, fn, iova, sizeof(v), FACET_VFU_DMA_WRITE, &va);
	if (rc == -ENOTSUP)
		return facet_vfu_server_dma_write(dma_space(dev, fn), iova, &v, sizeof(v));
	if (rc)
		return rc;
	__atomic_store_n((uint32_t *)va, v, __ATOMIC_RELEASE);
	return 0;
}

/* MSI-X: delivered iff the client routed an eventfd to the vector (§12). */
void refnic_irq_raise(struct refnic_dev *dev, unsigned int vector)
{
	int rc = facet_vfu_server_irq_raise(dev->srv, FACET_VFU_IRQ_MSIX, vector);

	if (rc && rc != -ENOENT)
		RN_DEBUG("msix vector %u: %d", vector, rc);
}
