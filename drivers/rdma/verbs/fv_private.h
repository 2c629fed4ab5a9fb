/* SPDX-License-Identifier: MIT */
/*
 * libfacet-verbs: the public libibverbs ABI for Facet RDMA devices.
 *
 * libibverbs finds devices only through the kernel (netlink, then sysfs),
 * and its provider interface is private and has no enumerate hook, so a
 * device that lives in userspace cannot appear in ibv_get_device_list()
 * through it. This library is preloaded instead (facet-run sets LD_PRELOAD):
 * it defines the public verbs functions with libibverbs' own symbol versions
 * (version.map), so an unmodified application binds to them. Each one looks
 * at the object it is given: a Facet object is served here on top of
 * facet_rdma (lib/rdma); anything else goes to the real libibverbs, found
 * with dlvsym(RTLD_NEXT, name, version).
 *
 * Every verbs object the library hands out is embedded in a struct of its
 * own (struct fv_context contains the ibv_context, ...), so the application
 * sees the public structs with every public field filled, and the library
 * gets back to its own state with container_of. An object is ours when its
 * context is ours; a context is ours when its device is one of ours.
 *
 * The datapath (ibv_post_send, ibv_post_recv, ibv_poll_cq,
 * ibv_req_notify_cq) is inline in the application and calls context->ops,
 * which point at fv_datapath.c.
 *
 * One file per concern: fv_forward.c (finding the real libibverbs),
 * fv_device.c (device list, FACET_RDMA_DEVICES), fv_context.c (open, query,
 * async events), fv_pd_mr.c, fv_cq.c (CQs, completion channels), fv_qp.c
 * (QPs, AHs), fv_datapath.c (the context ops).
 */
#ifndef FV_PRIVATE_H
#define FV_PRIVATE_H

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "facet_log.h"
#include "facet_rdma.h"

/*
 * verbs.h turns some calls into inline wrappers (ibv_query_port,
 * ibv_reg_mr, ...); this library defines the real functions behind them.
 */
#undef ibv_query_port
#undef ibv_reg_mr
#undef ibv_reg_mr_iova

#define FV_TAG	      "verbs"
#define FV_ERR(...)   FACET_ERR(FV_TAG, __VA_ARGS__)
#define FV_WARN(...)  FACET_WARN(FV_TAG, __VA_ARGS__)
#define FV_INFO(...)  FACET_INFO(FV_TAG, __VA_ARGS__)
#define FV_DEBUG(...) FACET_DEBUG(FV_TAG, __VA_ARGS__)

/** Environment variable naming the devices to open (facet-run sets it). */
#define FV_DEVICES_ENV "FACET_RDMA_DEVICES"
/** Facet RDMA devices one process can list. */
#define FV_MAX_DEVS    64

#define fv_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- the real libibverbs (fv_forward.c) ------------------------------------ */

/**
 * The next definition of @name at @version after this library, normally
 * libibverbs'; *@cache remembers it. NULL (logged once) if there is none.
 */
void *fv_next(const char *name, const char *version, void **cache);

/* The real @fn, typed, looked up once per call site. */
#define FV_NEXT(fn, ver)                                                                           \
	({                                                                                         \
		static void *fv_cache_;                                                            \
		(__typeof__(&fn))fv_next(#fn, ver, &fv_cache_);                                    \
	})

/* Call the real @fn; without libibverbs fail with ENOSYS, returning @fail. */
#define FV_FORWARD(fn, ver, fail, ...)                                                             \
	({                                                                                         \
		__typeof__(&fn) fv_real_ = FV_NEXT(fn, ver);                                       \
		fv_real_ ? fv_real_(__VA_ARGS__) : (errno = ENOSYS, (fail));                       \
	})

/* ---- objects ---------------------------------------------------------------- */

/** A Facet RDMA device as libibverbs lists it. */
struct fv_device {
	struct ibv_device ibdev;
	struct facet_rdma_dev *rdev; /* one reference, for the life of the process */
	__be64 guid;		     /* EUI-64 of the MAC */
	uint32_t max_inline_data;    /* bytes of inline data a send WQE holds */
};

struct fv_context {
	struct verbs_context vctx; /* vctx.context is what the application holds */
	struct fv_device *dev;
	struct facet_rdma_dev *rdev;
	/* async events: the port state last reported, guarded by async_lock */
	pthread_mutex_t async_lock;
	enum ibv_port_state async_port_state;
	bool async_dead_reported;
};

struct fv_pd {
	struct ibv_pd ibpd;
	struct facet_rdma_pd *rpd;
};

struct fv_mr {
	struct ibv_mr ibmr;
	struct facet_rdma_mr *rmr;
};

struct fv_channel {
	struct ibv_comp_channel ibch;
	struct facet_rdma_comp_channel *rch;
};

struct fv_cq {
	struct ibv_cq ibcq;
	struct facet_rdma_cq *rcq;
};

struct fv_qp {
	struct ibv_qp ibqp;
	struct facet_rdma_qp *rqp;
	bool sq_sig_all;
};

struct fv_ah {
	struct ibv_ah ibah;
	struct facet_rdma_ah *rah;
};

/* ---- fv_device.c -------------------------------------------------------------- */

/** Our device behind @dev, or NULL when it is another provider's. */
struct fv_device *fv_device_of(const struct ibv_device *dev);

/** One process-wide bus: open the devices of FV_DEVICES_ENV once. */
void fv_devices_init(void);

/** Count open contexts, so the bus is torn down at exit only when idle. */
void fv_context_opened(void);
void fv_context_closed(void);

/* ---- lookups: our object behind a verbs one, or NULL -------------------------- */

static inline struct fv_context *fv_ctx(struct ibv_context *ctx)
{
	if (!ctx || !fv_device_of(ctx->device))
		return NULL;
	return fv_container_of(ctx, struct fv_context, vctx.context);
}

static inline struct fv_pd *fv_pd(struct ibv_pd *pd)
{
	return pd && fv_ctx(pd->context) ? fv_container_of(pd, struct fv_pd, ibpd) : NULL;
}

static inline struct fv_mr *fv_mr(struct ibv_mr *mr)
{
	return mr && fv_ctx(mr->context) ? fv_container_of(mr, struct fv_mr, ibmr) : NULL;
}

static inline struct fv_channel *fv_channel(struct ibv_comp_channel *ch)
{
	return ch && fv_ctx(ch->context) ? fv_container_of(ch, struct fv_channel, ibch) : NULL;
}

static inline struct fv_cq *fv_cq(struct ibv_cq *cq)
{
	return cq && fv_ctx(cq->context) ? fv_container_of(cq, struct fv_cq, ibcq) : NULL;
}

static inline struct fv_qp *fv_qp(struct ibv_qp *qp)
{
	return qp && fv_ctx(qp->context) ? fv_container_of(qp, struct fv_qp, ibqp) : NULL;
}

static inline struct fv_ah *fv_ah(struct ibv_ah *ah)
{
	return ah && fv_ctx(ah->context) ? fv_container_of(ah, struct fv_ah, ibah) : NULL;
}

/* ---- errors --------------------------------------------------------------------- */

/* facet_rdma answers -errno; verbs calls return errno (int) or set it (pointers). */
static inline int fv_err(int rc)
{
	return rc < 0 ? -rc : rc;
}

static inline void *fv_null(int rc)
{
	errno = fv_err(rc);
	return NULL;
}

/* ---- fv_datapath.c ----------------------------------------------------------------- */

/** Fill the context ops the inline datapath calls go through. */
void fv_datapath_ops(struct ibv_context_ops *ops);

/* ---- fv_context.c -------------------------------------------------------------------- */

/* libibverbs-private calls some tools use; not in the public headers. */
int ibv_query_gid_type(struct ibv_context *ctx, uint8_t port, unsigned int index, int *type);

/** Name of @ctx's device, for log lines. */
static inline const char *fv_name(const struct fv_context *c)
{
	return c->dev->ibdev.name;
}

/** Extended query_port of the verbs_context (what the inline ibv_query_port calls). */
int fv_query_port_ex(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr,
		     size_t attr_len);

#endif /* FV_PRIVATE_H */
