/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/rdma: the objects and how its files share them.
 *
 * rdma_dev.c   the registry: register, unregister (tear-down), find, queries
 * rdma_pd.c    protection domains and address handles
 * rdma_mem.c   making application memory reachable by the device (MR memory)
 * rdma_mr.c    memory regions
 * rdma_cq.c    completion queues and channels
 * rdma_qp.c    queue pairs, address vector resolution
 *
 * Every object holds a reference on its device, so a handle never dangles.
 * Objects are listed on their device (under its lock); when the device is
 * unregistered the library destroys them on the device and marks them dead
 * ("detached"), and their datapath tables point at stubs.
 */
#ifndef RDMA_PRIVATE_H
#define RDMA_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

#include "facet_log.h"
#include "facet_rdma_driver.h"

#define RDMA_TAG "rdma"

#define RDMA_ERR(...)	FACET_ERR(RDMA_TAG, __VA_ARGS__)
#define RDMA_WARN(...)	FACET_WARN(RDMA_TAG, __VA_ARGS__)
#define RDMA_INFO(...)	FACET_INFO(RDMA_TAG, __VA_ARGS__)
#define RDMA_DEBUG(...) FACET_DEBUG(RDMA_TAG, __VA_ARGS__)

/* How a range of application memory was made reachable (rdma_mem.c). */
struct rdma_mem {
	void *alias;	 /* our second mapping of the pages, registered; NULL: the VA itself */
	size_t len;	 /* page-aligned length registered */
	uintptr_t start; /* page-aligned start of the application's range */
	uint64_t iova;	 /* where the registered mapping starts in the DMA space */
	bool shadow;	 /* the pages live in the library's shadow file */
	bool registered; /* facet_core_dma_register() done */
	LIST_ENTRY(rdma_mem) next; /* live shadow ranges (rdma_mem.c) */
};

struct facet_rdma_pd {
	struct facet_rdma_dev *dev;
	LIST_ENTRY(facet_rdma_pd) next;
	uint32_t pdn;
	bool live;
	unsigned int users; /* MRs, QPs, AHs */
};

struct facet_rdma_mr {
	struct facet_rdma_dev *dev;
	struct facet_rdma_pd *pd;
	LIST_ENTRY(facet_rdma_mr) next;
	void *addr;
	size_t length;
	uint32_t access;
	uint32_t lkey, rkey;
	bool live;
	struct rdma_mem mem;
};

struct facet_rdma_ah {
	struct facet_rdma_ah_hdr hdr; /* first: drivers read the handle */
	struct facet_rdma_dev *dev;
	struct facet_rdma_pd *pd;
	LIST_ENTRY(facet_rdma_ah) next;
	bool live;
};

struct facet_rdma_comp_channel {
	struct facet_rdma_dev *dev;
	int epfd; /* one eventfd per CQ in it, data = the CQ */
	unsigned int cqs;
};

struct facet_rdma_cq {
	struct facet_rdma_cq_fp fp; /* first: the inline calls cast the CQ */
	struct facet_rdma_dev *dev;
	LIST_ENTRY(facet_rdma_cq) next;
	void *drv;
	uint32_t cqe;
	void *context;
	struct facet_rdma_comp_channel *channel;
	int event_fd;
	bool live;
	unsigned int users; /* QPs */
	atomic_uint events_got, events_acked;
};

struct facet_rdma_qp {
	struct facet_rdma_qp_fp fp; /* first: the inline calls cast the QP */
	struct facet_rdma_dev *dev;
	struct facet_rdma_pd *pd;
	struct facet_rdma_cq *send_cq, *recv_cq;
	LIST_ENTRY(facet_rdma_qp) next;
	void *drv;
	uint32_t qpn;
	struct facet_rdma_qp_init_attr init; /* as granted */
	_Atomic int state;
	bool live;
};

struct facet_rdma_dev {
	/* registry (rdma_dev.c), under the registry lock */
	struct facet_rdma_dev *next_dev;
	atomic_uint refs;
	char name[FACET_RDMA_NAME_MAX];
	struct facet_bus *bus;

	/* everything below: under lock */
	pthread_mutex_t lock;
	bool attached;
	const struct facet_rdma_ops *ops;
	void *priv;
	struct facet_core_dev *dma_dev;
	struct facet_bus_device *dma_owner;
	bool events;
	char no_events_reason[128];
	struct facet_rdma_dev_attr attr; /* limits, read at registration */

	LIST_HEAD(, facet_rdma_pd) pds;
	LIST_HEAD(, facet_rdma_mr) mrs;
	LIST_HEAD(, facet_rdma_cq) cqs;
	LIST_HEAD(, facet_rdma_qp) qps;
	LIST_HEAD(, facet_rdma_ah) ahs;
};

/* rdma_dev.c */
/* Take the device's lock; -ENODEV (unlocked) if it is detached. */
int rdma_dev_lock(struct facet_rdma_dev *dev, const char *what);
void rdma_dev_unlock(struct facet_rdma_dev *dev);

/* rdma_mem.c */
/*
 * Make [@addr, @addr + @len) reachable by @dma's device with @access
 * (FACET_CORE_DMA_*): fill @mem; *@iova is where @addr lies in the DMA space.
 */
int rdma_mem_map(struct facet_core_dev *dma, void *addr, size_t len, uint32_t access,
		 struct rdma_mem *mem, uint64_t *iova);
/* Undo rdma_mem_map() (the device must not access the memory any more). */
void rdma_mem_unmap(struct facet_core_dev *dma, struct rdma_mem *mem);
/* Device gone: forget the registration (done by tear-down), keep the rest for unmap. */
void rdma_mem_unregister(struct facet_core_dev *dma, struct rdma_mem *mem);

/* rdma_mr.c, rdma_cq.c, rdma_qp.c, rdma_pd.c: destroy on the device, mark dead (lock held) */
void rdma_mr_teardown(struct facet_rdma_mr *mr);
void rdma_cq_teardown(struct facet_rdma_cq *cq);
void rdma_qp_teardown(struct facet_rdma_qp *qp);
void rdma_ah_teardown(struct facet_rdma_ah *ah);
void rdma_pd_teardown(struct facet_rdma_pd *pd);

/* rdma_qp.c: fill @attr->dmac if zero (before taking @dev's lock). */
int rdma_resolve_dmac(struct facet_rdma_dev *dev, struct facet_rdma_ah_attr *attr);

/* Datapath stubs of detached objects. */
int rdma_stub_post_send(void *ctx, struct facet_rdma_send_wr *wr,
			struct facet_rdma_send_wr **bad_wr);
int rdma_stub_post_recv(void *ctx, struct facet_rdma_recv_wr *wr,
			struct facet_rdma_recv_wr **bad_wr);
int rdma_stub_poll(void *ctx, int n, struct facet_rdma_wc *wc);
int rdma_stub_arm(void *ctx, bool solicited_only);

#endif /* RDMA_PRIVATE_H */
