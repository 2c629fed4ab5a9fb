/* SPDX-License-Identifier: MIT */
/*
 * net_facet: DPDK's memory registered with each Facet device, for zero copy
 * (see facet_ethdev.h).
 *
 * Every memory segment with a file descriptor is registered with the
 * device (facet_core_dma_register with the fd: the device process maps the
 * same pages), runs of one fd at consecutive offsets as one registration.
 * Each device gives the memory its own IOVAs, so each keeps a VA -> IOVA
 * table; the bursts read it without a lock, and a change publishes a whole
 * new table (the old ones are kept until the device's last queue goes, as
 * a burst may still be reading one).
 *
 * Locking: the EAL memory lock, then facet_mem_lock, everywhere. DPDK calls
 * the memory event callback with its memory lock held for writing, so
 * taking the read lock first in facet_pmd_mem_get/put keeps the order, and
 * no allocation can slip between the walk and the callback's registration.
 *
 * Freed memory is unregistered when a FREE event covers a registration
 * whole. A registration only partly freed is kept: unmapping memory the
 * rest of it still holds (mbufs posted to the device) would fault the
 * device. That is harmless: DPDK maps a segment at a fixed offset of its
 * segment list's file, so if the VA is allocated again, it is the same file
 * range, still mapped (an ALLOC event skips what is registered already).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "facet_bus.h"
#include "facet_core.h"
#include "facet_ethdev.h"

#define MEM_EVENT_NAME "net_facet"

/** One registration with a device. */
struct facet_pmd_mem_reg {
	uintptr_t va;
	size_t len;
	uint64_t iova;
};

/** A table replaced by a newer one. */
struct facet_pmd_mem_old {
	struct facet_pmd_mem_old *next;
	struct facet_pmd_iova_table *table;
};

/** Memory to register: runs of segments of one fd at consecutive offsets. */
struct mem_run {
	uintptr_t va;
	size_t len;
	int fd;
	uint64_t off;
};

struct mem_runs {
	struct mem_run *run;
	unsigned int n, cap;
	uint64_t no_fd; /* bytes of segments without an fd (cannot be shared) */
	int err;
};

static pthread_mutex_t facet_mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct facet_pmd_mem *facet_mems; /* every device with registrations */
static bool facet_mem_event_registered;

/* ---- the table (datapath side) ------------------------------------------------------ */

uint64_t facet_pmd_iova_lookup(const struct facet_pmd_iova_table *t, uint32_t *hint, uintptr_t va,
			       uint32_t len)
{
	uint32_t lo = 0, hi = t->n;

	/* The last range starting at or below va. */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (t->r[mid].va <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || va + len > t->r[lo - 1].end)
		return FACET_PMD_IOVA_NONE;
	*hint = lo - 1;
	return t->r[lo - 1].iova + (va - t->r[lo - 1].va);
}

/* Build the table from the registrations and make it the one the bursts see. */
static int mem_publish(struct facet_pmd_mem *mem)
{
	unsigned int n = mem->nregs;
	struct facet_pmd_iova_table *t =
		calloc(1, sizeof(*t) + (n ? n : 1) * sizeof(struct facet_pmd_iova_range));
	struct facet_pmd_mem_old *old = calloc(1, sizeof(*old));

	if (!t || !old) {
		free(t);
		free(old);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++) {
		t->r[i].va = mem->regs[i].va;
		t->r[i].end = mem->regs[i].va + mem->regs[i].len;
		t->r[i].iova = mem->regs[i].iova;
	}
	t->n = n;
	old->table = (struct facet_pmd_iova_table *)mem->table;
	__atomic_store_n(&mem->table, t, __ATOMIC_RELEASE);
	if (old->table) {
		old->next = mem->retired;
		mem->retired = old;
	} else {
		free(old);
	}
	return 0;
}

/* ---- registrations (control side, facet_mem_lock held) ----------------------------------- */

/* Index of the first registration ending after @va. */
static unsigned int reg_find(const struct facet_pmd_mem *mem, uintptr_t va)
{
	unsigned int i = 0;

	while (i < mem->nregs && mem->regs[i].va + mem->regs[i].len <= va)
		i++;
	return i;
}

static int reg_insert(struct facet_pmd_mem *mem, const struct facet_pmd_mem_reg *reg)
{
	unsigned int i = reg_find(mem, reg->va);

	if (mem->nregs == mem->regs_cap) {
		unsigned int cap = mem->regs_cap ? 2 * mem->regs_cap : 16;
		struct facet_pmd_mem_reg *r = realloc(mem->regs, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		mem->regs = r;
		mem->regs_cap = cap;
	}
	memmove(&mem->regs[i + 1], &mem->regs[i], (mem->nregs - i) * sizeof(*reg));
	mem->regs[i] = *reg;
	mem->nregs++;
	mem->bytes += reg->len;
	return 0;
}

static int reg_add(struct facet_pmd_mem *mem, uintptr_t va, size_t len, int fd, uint64_t off)
{
	struct facet_pmd_mem_reg reg = { .va = va, .len = len };
	int ret = facet_core_dma_register(mem->pci, (void *)va, len, fd, off, FACET_CORE_DMA_RW,
					  &reg.iova);

	if (ret < 0) {
		FACET_PMD_LOG(WARNING, "cannot register %zu bytes at %p with the device: %s", len,
			      (void *)va, strerror(-ret));
		return ret;
	}
	ret = reg_insert(mem, &reg);
	if (ret < 0)
		facet_core_dma_unregister(mem->pci, reg.iova);
	return ret;
}

/* Register the parts of @run no registration covers yet. */
static int reg_add_run(struct facet_pmd_mem *mem, const struct mem_run *run)
{
	uintptr_t va = run->va, end = run->va + run->len;
	int ret = 0;

	while (va < end && ret == 0) {
		unsigned int i = reg_find(mem, va);
		uintptr_t next = i < mem->nregs ? mem->regs[i].va : end;

		if (next <= va) { /* inside registration i: skip it */
			va = mem->regs[i].va + mem->regs[i].len;
			continue;
		}
		next = RTE_MIN(next, end);
		ret = reg_add(mem, va, next - va, run->fd, run->off + (va - run->va));
		va = next;
	}
	return ret;
}

/* Unregister the registrations inside [va, va + len) (see the top comment). */
static void reg_del_range(struct facet_pmd_mem *mem, uintptr_t va, size_t len)
{
	for (unsigned int i = 0; i < mem->nregs;) {
		struct facet_pmd_mem_reg *r = &mem->regs[i];

		if (r->va < va || r->va + r->len > va + len) {
			i++;
			continue;
		}
		facet_core_dma_unregister(mem->pci, r->iova);
		mem->bytes -= r->len;
		memmove(r, r + 1, (mem->nregs - i - 1) * sizeof(*r));
		mem->nregs--;
	}
}

/* ---- DPDK's memory ------------------------------------------------------------------------ */

static void runs_add(struct mem_runs *rs, const struct rte_memseg *ms)
{
	struct mem_run *last = rs->n ? &rs->run[rs->n - 1] : NULL;
	uintptr_t va = (uintptr_t)ms->addr;
	size_t off;
	int fd = rte_memseg_get_fd_thread_unsafe(ms);

	if (fd < 0 || rte_memseg_get_fd_offset_thread_unsafe(ms, &off) < 0) {
		rs->no_fd += ms->len;
		return;
	}
	if (last && last->fd == fd && last->va + last->len == va && last->off + last->len == off) {
		last->len += ms->len;
		return;
	}
	if (rs->n == rs->cap) {
		unsigned int cap = rs->cap ? 2 * rs->cap : 16;
		struct mem_run *r = realloc(rs->run, cap * sizeof(*r));

		if (!r) {
			rs->err = -ENOMEM;
			return;
		}
		rs->run = r;
		rs->cap = cap;
	}
	rs->run[rs->n++] = (struct mem_run){ .va = va, .len = ms->len, .fd = fd, .off = off };
}

static int walk_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	if (!msl->external) /* external memory has no fd to give */
		runs_add(arg, ms);
	return 0;
}

/* The segments of [va, va + len), as an ALLOC event announces them. */
static void runs_of_range(struct mem_runs *rs, uintptr_t va, size_t len)
{
	uintptr_t end = va + len;

	while (va < end) {
		const void *p = (const void *)va;
		struct rte_memseg_list *msl = rte_mem_virt2memseg_list(p);
		struct rte_memseg *ms = msl ? rte_mem_virt2memseg(p, msl) : NULL;

		if (!ms) {
			rs->no_fd += end - va;
			return;
		}
		if (!msl->external)
			runs_add(rs, ms);
		va = (uintptr_t)ms->addr + ms->len;
	}
}

static int mem_register_runs(struct facet_pmd_mem *mem, const struct mem_runs *rs)
{
	int ret = 0;

	for (unsigned int i = 0; i < rs->n && ret != -ENOMEM; i++)
		ret = reg_add_run(mem, &rs->run[i]);
	if (ret == -ENOMEM)
		return ret;
	return mem_publish(mem);
}

/* DPDK grows or shrinks its memory (EAL memory lock held for writing). */
static void mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	struct mem_runs rs = { 0 };

	RTE_SET_USED(arg);
	if (type == RTE_MEM_EVENT_ALLOC)
		runs_of_range(&rs, (uintptr_t)addr, len);
	pthread_mutex_lock(&facet_mem_lock);
	for (struct facet_pmd_mem *mem = facet_mems; mem; mem = mem->next) {
		if (type == RTE_MEM_EVENT_ALLOC) {
			mem_register_runs(mem, &rs);
		} else {
			reg_del_range(mem, (uintptr_t)addr, len);
			mem_publish(mem);
		}
		FACET_PMD_LOG(DEBUG,
			      "DPDK memory %s: %zu bytes at %p; %u registrations, %" PRIu64 " MiB",
			      type == RTE_MEM_EVENT_ALLOC ? "added" : "freed", len, addr,
			      mem->nregs, mem->bytes >> 20);
	}
	pthread_mutex_unlock(&facet_mem_lock);
	free(rs.run);
}

/* Called with both locks held. */
static void mem_event_follow(void)
{
	if (facet_mem_event_registered)
		return;
	if (rte_mem_event_callback_register(MEM_EVENT_NAME, mem_event, NULL) == 0)
		facet_mem_event_registered = true;
	else if (rte_errno != ENOTSUP) /* ENOTSUP: --legacy-mem, --no-huge: memory never changes */
		FACET_PMD_LOG(WARNING, "cannot follow DPDK memory events: %s",
			      rte_strerror(rte_errno));
}

static void mem_destroy(struct facet_pmd_mem *mem)
{
	while (mem->nregs)
		reg_del_range(mem, mem->regs[0].va, mem->regs[0].len);
	while (mem->retired) {
		struct facet_pmd_mem_old *old = mem->retired;

		mem->retired = old->next;
		free(old->table);
		free(old);
	}
	free((void *)mem->table);
	free(mem->regs);
	if (mem->owner)
		facet_bus_device_put(mem->owner);
	free(mem);
}

static int mem_create(struct facet_eth_port *port, struct facet_pmd_mem **out)
{
	struct facet_pmd_mem *mem = calloc(1, sizeof(*mem));
	struct mem_runs rs = { 0 };
	int ret;

	if (!mem)
		return -ENOMEM;
	mem->pci = facet_eth_port_dma_dev(port);
	mem->owner = facet_eth_port_dma_owner(port);
	if (mem->owner)
		facet_bus_device_get(mem->owner);
	rte_memseg_walk_thread_unsafe(walk_seg, &rs);
	ret = rs.err ? rs.err : mem_register_runs(mem, &rs);
	free(rs.run);
	if (ret < 0) {
		mem_destroy(mem);
		return ret;
	}
	FACET_PMD_LOG(INFO, "%s: %u registrations, %" PRIu64 " MiB of DPDK memory%s",
		      facet_eth_port_name(port), mem->nregs, mem->bytes >> 20,
		      rs.no_fd ? " (some without an fd: not shared)" : "");
	*out = mem;
	return 0;
}

int facet_pmd_mem_get(struct facet_eth_port *port, struct facet_pmd_mem **out)
{
	struct facet_core_dev *pci = facet_eth_port_dma_dev(port);
	struct facet_pmd_mem *mem;
	int ret = 0;

	rte_mcfg_mem_read_lock();
	pthread_mutex_lock(&facet_mem_lock);
	for (mem = facet_mems; mem && mem->pci != pci; mem = mem->next)
		;
	if (mem) {
		mem->refcnt++;
	} else {
		ret = mem_create(port, &mem);
		if (ret == 0) {
			mem->refcnt = 1;
			mem->next = facet_mems;
			facet_mems = mem;
			mem_event_follow();
		}
	}
	pthread_mutex_unlock(&facet_mem_lock);
	rte_mcfg_mem_read_unlock();
	if (ret == 0)
		*out = mem;
	return ret;
}

void facet_pmd_mem_put(struct facet_pmd_mem *mem)
{
	struct facet_pmd_mem **pp;

	if (!mem)
		return;
	rte_mcfg_mem_read_lock();
	pthread_mutex_lock(&facet_mem_lock);
	if (--mem->refcnt == 0) {
		for (pp = &facet_mems; *pp != mem; pp = &(*pp)->next)
			;
		*pp = mem->next;
		mem_destroy(mem);
		if (!facet_mems && facet_mem_event_registered) {
			rte_mem_event_callback_unregister(MEM_EVENT_NAME, NULL);
			facet_mem_event_registered = false;
		}
	}
	pthread_mutex_unlock(&facet_mem_lock);
	rte_mcfg_mem_read_unlock();
}

/* ---- mempools ---------------------------------------------------------------------------- */

struct mp_check {
	const struct facet_pmd_iova_table *table;
	uint32_t hint;
	uint16_t hdr, room;
	bool pinned;
	unsigned int misses;
};

static void check_obj(struct rte_mempool *mp, void *arg, void *obj, unsigned int idx)
{
	struct mp_check *c = arg;
	const struct rte_mbuf *m = obj;
	const void *buf = c->pinned ? m->buf_addr : (const uint8_t *)obj + c->hdr;
	uint16_t len = c->pinned ? m->buf_len : c->room;

	RTE_SET_USED(mp);
	RTE_SET_USED(idx);
	if (facet_pmd_iova(c->table, &c->hint, buf, len) == FACET_PMD_IOVA_NONE)
		c->misses++;
}

int facet_pmd_mem_check_mempool(struct facet_pmd_mem *mem, struct rte_mempool *mp, char *why,
				size_t why_len)
{
	struct mp_check c = {
		.hdr = (uint16_t)(sizeof(struct rte_mbuf) + rte_pktmbuf_priv_size(mp)),
		.room = rte_pktmbuf_data_room_size(mp),
		.pinned = rte_pktmbuf_priv_flags(mp) & RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF,
	};

	pthread_mutex_lock(&facet_mem_lock);
	c.table = mem->table;
	rte_mempool_obj_iter(mp, check_obj, &c);
	pthread_mutex_unlock(&facet_mem_lock);
	if (c.misses == 0)
		return 0;
	snprintf(why, why_len,
		 "%u of %u mbufs of mempool \"%s\" are in memory the device cannot map "
		 "(memory without a file descriptor)",
		 c.misses, mp->size, mp->name);
	return -ENOTSUP;
}
