/* SPDX-License-Identifier: MIT */
/*
 * The device registry: devices are registered by slice drivers under their
 * bus device's name and found by applications by that name (the registry
 * is process-wide: this library is shared by the application and the
 * driver plugins). A device object is reference counted and outlives its
 * driver: after unregister it is detached, and so is every object on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facet_bus_driver.h"
#include "rdma_private.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct facet_rdma_dev *registry; /* in registration order */

int rdma_stub_post_send(void *ctx, struct facet_rdma_send_wr *wr,
			struct facet_rdma_send_wr **bad_wr)
{
	if (bad_wr)
		*bad_wr = wr;
	return -ENODEV;
}

int rdma_stub_post_recv(void *ctx, struct facet_rdma_recv_wr *wr,
			struct facet_rdma_recv_wr **bad_wr)
{
	if (bad_wr)
		*bad_wr = wr;
	return -ENODEV;
}

int rdma_stub_poll(void *ctx, int n, struct facet_rdma_wc *wc)
{
	return -ENODEV;
}

int rdma_stub_arm(void *ctx, bool solicited_only)
{
	return -ENODEV;
}

int rdma_dev_lock(struct facet_rdma_dev *dev, const char *what)
{
	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	if (!dev->attached) {
		pthread_mutex_unlock(&dev->lock);
		RDMA_DEBUG("%s: %s: device detached (slice unbound)", dev->name, what);
		return -ENODEV;
	}
	return 0;
}

void rdma_dev_unlock(struct facet_rdma_dev *dev)
{
	pthread_mutex_unlock(&dev->lock);
}

/* Registry lock held. */
static struct facet_rdma_dev *find_locked(struct facet_bus *bus, const char *name)
{
	for (struct facet_rdma_dev *d = registry; d; d = d->next_dev) {
		if ((!bus || d->bus == bus) && strcmp(d->name, name) == 0)
			return d;
	}
	return NULL;
}

static int check_info(const char *name, const struct facet_rdma_dev_info *info)
{
	const struct facet_rdma_ops *o = info->ops;

	if (!o || !o->query_device || !o->query_port || !o->query_gid || !o->set_gid ||
	    !o->pd_alloc || !o->pd_free || !o->mr_reg || !o->mr_dereg || !o->cq_create ||
	    !o->cq_destroy || !o->qp_create || !o->qp_modify || !o->qp_query || !o->qp_destroy ||
	    !o->ah_create || !o->ah_destroy || !o->post_send || !o->post_recv || !o->cq_poll ||
	    !o->cq_arm || !info->dma_dev) {
		RDMA_ERR("%s: cannot register: incomplete RDMA ops", name);
		return -EINVAL;
	}
	return 0;
}

static struct facet_rdma_dev *dev_new(struct facet_bus_device *bdev,
				      const struct facet_rdma_dev_info *info)
{
	struct facet_rdma_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	snprintf(dev->name, sizeof(dev->name), "%s", facet_bus_device_name(bdev));
	dev->bus = facet_bus_device_bus(bdev);
	atomic_init(&dev->refs, 1); /* the registry's */
	pthread_mutex_init(&dev->lock, NULL);
	dev->attached = true;
	dev->ops = info->ops;
	dev->priv = info->priv;
	dev->dma_dev = info->dma_dev;
	dev->dma_owner = info->dma_owner;
	dev->events = info->events;
	snprintf(dev->no_events_reason, sizeof(dev->no_events_reason), "%s",
		 info->no_events_reason ? info->no_events_reason : "the driver has no interrupts");
	LIST_INIT(&dev->pds);
	LIST_INIT(&dev->mrs);
	LIST_INIT(&dev->cqs);
	LIST_INIT(&dev->qps);
	LIST_INIT(&dev->ahs);
	return dev;
}

static void dev_free(struct facet_rdma_dev *dev)
{
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

int facet_rdma_dev_register(struct facet_bus_device *bdev, const struct facet_rdma_dev_info *info,
			    struct facet_rdma_dev **out)
{
	struct facet_rdma_dev *dev, **tail;
	int ret;

	if (!bdev || !info || !out)
		return -EINVAL;
	ret = check_info(facet_bus_device_name(bdev), info);
	if (ret < 0)
		return ret;
	dev = dev_new(bdev, info);
	if (!dev)
		return -ENOMEM;
	ret = info->ops->query_device(info->priv, &dev->attr);
	if (ret < 0) {
		RDMA_ERR("%s: cannot register: device query failed: %s", dev->name, strerror(-ret));
		dev_free(dev);
		return ret;
	}
	pthread_mutex_lock(&registry_lock);
	if (find_locked(dev->bus, dev->name)) {
		pthread_mutex_unlock(&registry_lock);
		RDMA_ERR("%s: an RDMA device of that name is registered already", dev->name);
		dev_free(dev);
		return -EEXIST;
	}
	for (tail = &registry; *tail; tail = &(*tail)->next_dev)
		;
	*tail = dev;
	pthread_mutex_unlock(&registry_lock);
	RDMA_INFO("%s: RDMA device registered (driver %s)", dev->name, dev->attr.driver);
	*out = dev;
	return 0;
}

/* Lock held: destroy what the application left, children before parents. */
static void teardown_objects(struct facet_rdma_dev *dev)
{
	struct facet_rdma_qp *qp;
	struct facet_rdma_ah *ah;
	struct facet_rdma_cq *cq;
	struct facet_rdma_mr *mr;
	struct facet_rdma_pd *pd;
	unsigned int n = 0;

	while ((qp = LIST_FIRST(&dev->qps)) && ++n)
		rdma_qp_teardown(qp);
	while ((ah = LIST_FIRST(&dev->ahs)) && ++n)
		rdma_ah_teardown(ah);
	while ((cq = LIST_FIRST(&dev->cqs)) && ++n)
		rdma_cq_teardown(cq);
	while ((mr = LIST_FIRST(&dev->mrs)) && ++n)
		rdma_mr_teardown(mr);
	while ((pd = LIST_FIRST(&dev->pds)) && ++n)
		rdma_pd_teardown(pd);
	if (n)
		RDMA_WARN("%s: device going away: %u objects of the application destroyed on it "
			  "(their handles are detached)",
			  dev->name, n);
}

void facet_rdma_dev_unregister(struct facet_rdma_dev *dev)
{
	struct facet_rdma_dev **pp;

	if (!dev)
		return;
	pthread_mutex_lock(&dev->lock);
	teardown_objects(dev);
	dev->attached = false;
	pthread_mutex_unlock(&dev->lock);

	pthread_mutex_lock(&registry_lock);
	for (pp = &registry; *pp; pp = &(*pp)->next_dev) {
		if (*pp == dev) {
			*pp = dev->next_dev;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	RDMA_INFO("%s: RDMA device unregistered", dev->name);
	facet_rdma_dev_put(dev);
}

struct facet_rdma_dev *facet_rdma_dev_get(struct facet_bus *bus, const char *name)
{
	struct facet_rdma_dev *dev;

	if (!name)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	dev = find_locked(bus, name);
	if (dev)
		atomic_fetch_add(&dev->refs, 1);
	pthread_mutex_unlock(&registry_lock);
	return dev;
}

void facet_rdma_dev_ref(struct facet_rdma_dev *dev)
{
	atomic_fetch_add(&dev->refs, 1);
}

void facet_rdma_dev_put(struct facet_rdma_dev *dev)
{
	if (!dev || atomic_fetch_sub(&dev->refs, 1) != 1)
		return;
	dev_free(dev);
}

int facet_rdma_dev_for_each(struct facet_bus *bus, int (*fn)(struct facet_rdma_dev *dev, void *arg),
			    void *arg)
{
	struct facet_rdma_dev **snap = NULL;
	unsigned int n = 0, cap = 0;
	int ret = 0;

	/* Snapshot with references, then call without the lock: @fn may do anything. */
	pthread_mutex_lock(&registry_lock);
	for (struct facet_rdma_dev *d = registry; d; d = d->next_dev) {
		if (bus && d->bus != bus)
			continue;
		if (n == cap) {
			struct facet_rdma_dev **grown;

			cap = cap ? 2 * cap : 8;
			grown = realloc(snap, cap * sizeof(*snap));
			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			snap = grown;
		}
		atomic_fetch_add(&d->refs, 1);
		snap[n++] = d;
	}
	pthread_mutex_unlock(&registry_lock);
	for (unsigned int i = 0; i < n; i++) {
		if (ret == 0)
			ret = fn(snap[i], arg);
		facet_rdma_dev_put(snap[i]);
	}
	free(snap);
	return ret;
}

const char *facet_rdma_dev_name(const struct facet_rdma_dev *dev)
{
	return dev->name;
}

bool facet_rdma_dev_is_attached(const struct facet_rdma_dev *dev)
{
	struct facet_rdma_dev *d = (struct facet_rdma_dev *)dev;
	bool attached;

	pthread_mutex_lock(&d->lock);
	attached = d->attached;
	pthread_mutex_unlock(&d->lock);
	return attached;
}

/* ---- queries ------------------------------------------------------------------ */

int facet_rdma_query_device(struct facet_rdma_dev *dev, struct facet_rdma_dev_attr *attr)
{
	int ret;

	if (!attr)
		return -EINVAL;
	ret = rdma_dev_lock(dev, "query_device");
	if (ret < 0)
		return ret;
	ret = dev->ops->query_device(dev->priv, attr);
	if (ret == 0)
		dev->attr = *attr;
	rdma_dev_unlock(dev);
	return ret;
}

int facet_rdma_query_port(struct facet_rdma_dev *dev, uint8_t port,
			  struct facet_rdma_port_attr *attr)
{
	int ret;

	if (!attr)
		return -EINVAL;
	if (port != 1) {
		RDMA_ERR("%s: no port %u (the only port is 1)", dev ? dev->name : "?", port);
		return -EINVAL;
	}
	ret = rdma_dev_lock(dev, "query_port");
	if (ret < 0)
		return ret;
	memset(attr, 0, sizeof(*attr));
	ret = dev->ops->query_port(dev->priv, attr);
	rdma_dev_unlock(dev);
	return ret;
}

static int check_gid_index(struct facet_rdma_dev *dev, unsigned int index)
{
	struct facet_rdma_port_attr pa = { 0 };
	int ret = dev->ops->query_port(dev->priv, &pa);

	if (ret < 0)
		return ret;
	if (index >= pa.gid_tbl_len) {
		RDMA_ERR("%s: GID index %u out of range (table of %u)", dev->name, index,
			 pa.gid_tbl_len);
		return -EINVAL;
	}
	return 0;
}

int facet_rdma_query_gid(struct facet_rdma_dev *dev, uint8_t port, unsigned int index,
			 union facet_rdma_gid *gid, enum facet_rdma_gid_type *type)
{
	enum facet_rdma_gid_type t = FACET_RDMA_GID_TYPE_NONE;
	int ret;

	if (!gid)
		return -EINVAL;
	if (port != 1) {
		RDMA_ERR("%s: no port %u (the only port is 1)", dev ? dev->name : "?", port);
		return -EINVAL;
	}
	ret = rdma_dev_lock(dev, "query_gid");
	if (ret < 0)
		return ret;
	ret = check_gid_index(dev, index);
	if (ret == 0)
		ret = dev->ops->query_gid(dev->priv, index, gid, &t);
	rdma_dev_unlock(dev);
	if (ret == 0 && type)
		*type = t;
	return ret;
}

int facet_rdma_set_gid(struct facet_rdma_dev *dev, unsigned int index,
		       const union facet_rdma_gid *gid, enum facet_rdma_gid_type type)
{
	static const union facet_rdma_gid zero;
	int ret;

	if (type != FACET_RDMA_GID_TYPE_NONE && type != FACET_RDMA_GID_TYPE_ROCEV2) {
		RDMA_ERR("%s: unknown GID type %d", dev ? dev->name : "?", type);
		return -EINVAL;
	}
	if (!gid && type != FACET_RDMA_GID_TYPE_NONE)
		return -EINVAL;
	ret = rdma_dev_lock(dev, "set_gid");
	if (ret < 0)
		return ret;
	ret = check_gid_index(dev, index);
	if (ret == 0)
		ret = dev->ops->set_gid(dev->priv, index, gid ? gid : &zero, type);
	rdma_dev_unlock(dev);
	return ret;
}

const char *facet_rdma_wc_status_str(enum facet_rdma_wc_status status)
{
	switch (status) {
	case FACET_RDMA_WC_SUCCESS:
		return "success";
	case FACET_RDMA_WC_LOC_LEN_ERR:
		return "local length error";
	case FACET_RDMA_WC_LOC_QP_OP_ERR:
		return "local QP operation error";
	case FACET_RDMA_WC_LOC_PROT_ERR:
		return "local protection error";
	case FACET_RDMA_WC_WR_FLUSH_ERR:
		return "work request flushed error";
	case FACET_RDMA_WC_BAD_RESP_ERR:
		return "bad response error";
	case FACET_RDMA_WC_LOC_ACCESS_ERR:
		return "local access error";
	case FACET_RDMA_WC_REM_INV_REQ_ERR:
		return "remote invalid request error";
	case FACET_RDMA_WC_REM_ACCESS_ERR:
		return "remote access error";
	case FACET_RDMA_WC_REM_OP_ERR:
		return "remote operation error";
	case FACET_RDMA_WC_RETRY_EXC_ERR:
		return "transport retry counter exceeded";
	case FACET_RDMA_WC_RNR_RETRY_EXC_ERR:
		return "RNR retry counter exceeded";
	case FACET_RDMA_WC_GENERAL_ERR:
		return "general error";
	}
	return "unknown status";
}
