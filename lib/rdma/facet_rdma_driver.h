/* SPDX-License-Identifier: MIT */
/*
 * facet_rdma_driver: RDMA devices, driver side.
 *
 * A slice driver registers a device in probe() with
 * facet_rdma_dev_register() and unregisters it first thing in remove(). The
 * library does the generic part of every call: argument checks, object
 * bookkeeping (which PD an MR is in, which QPs use a CQ), reference counts,
 * per-device serialization, registering MR memory with the device's DMA
 * space (so the driver gets an IOVA), resolving the MAC of an address
 * vector, completion channels, and tearing everything down when the device
 * is unregistered under the application. The driver's struct
 * facet_rdma_ops does the device part.
 *
 * Every control op runs with the device's lock held and never concurrently
 * with another control op of the same device. The datapath ops (post_send,
 * post_recv, cq_poll, cq_arm) are called inline by the application, without
 * any lock, on the driver contexts the create ops returned.
 */
#ifndef FACET_RDMA_DRIVER_H
#define FACET_RDMA_DRIVER_H

#include "facet_rdma.h"

#ifdef __cplusplus
extern "C" {
#endif

struct facet_bus_device;
struct facet_core_dev;

/** An MR as the device gets it: [va, va + length) lies at iova in the DMA space. */
struct facet_rdma_mr_hw {
	uint64_t va;
	uint64_t length;
	uint64_t iova;
	uint32_t pdn;
	uint32_t access; /**< FACET_RDMA_ACCESS_* (checked) */
};

/** CQ creation, as the driver gets it. */
struct facet_rdma_cq_hw {
	uint32_t cqe; /**< entries wanted (1 .. max_cqe, checked) */
	bool events;  /**< event mode: give an eventfd the device signals when armed */
};

/** What a driver returns for a new CQ. */
struct facet_rdma_cq_hw_out {
	void *ctx;    /**< the driver's CQ: passed to cq_poll, cq_arm, cq_destroy */
	uint32_t cqe; /**< entries it holds */
	int event_fd; /**< events: an eventfd (the driver owns it), else -1 */
};

/** QP creation, as the driver gets it (capacities checked against the device's). */
struct facet_rdma_qp_hw {
	enum facet_rdma_qp_type type;
	uint32_t pdn;
	void *send_cq; /**< driver contexts of the CQs */
	void *recv_cq;
	struct facet_rdma_qp_cap cap; /**< wanted; SGEs at least 1 */
	bool sq_sig_all;
};

/** What a driver returns for a new QP. */
struct facet_rdma_qp_hw_out {
	void *ctx; /**< the driver's QP: passed to post_send, post_recv, qp_* */
	uint32_t qpn;
	struct facet_rdma_qp_cap cap; /**< granted */
};

/** What a driver implements. @priv is facet_rdma_dev_info.priv. */
struct facet_rdma_ops {
	/** Fill @attr (limits of the device; the library reads it once per call). */
	int (*query_device)(void *priv, struct facet_rdma_dev_attr *attr);
	/** Fill @attr of the port. */
	int (*query_port)(void *priv, struct facet_rdma_port_attr *attr);
	/** Read GID entry @index (< gid_tbl_len, checked). */
	int (*query_gid)(void *priv, unsigned int index, union facet_rdma_gid *gid,
			 enum facet_rdma_gid_type *type);
	/** Write GID entry @index. */
	int (*set_gid)(void *priv, unsigned int index, const union facet_rdma_gid *gid,
		       enum facet_rdma_gid_type type);

	int (*pd_alloc)(void *priv, uint32_t *pdn);
	int (*pd_free)(void *priv, uint32_t pdn);

	/** Create the MR; the memory is in the DMA space already. */
	int (*mr_reg)(void *priv, const struct facet_rdma_mr_hw *mr, uint32_t *lkey,
		      uint32_t *rkey);
	int (*mr_dereg)(void *priv, uint32_t lkey);

	int (*cq_create)(void *priv, const struct facet_rdma_cq_hw *in,
			 struct facet_rdma_cq_hw_out *out);
	/** Destroy a CQ no QP uses; the device must stop writing it first. */
	int (*cq_destroy)(void *priv, void *cq);

	int (*qp_create)(void *priv, const struct facet_rdma_qp_hw *in,
			 struct facet_rdma_qp_hw_out *out);
	/** Modify; @attr->ah_attr.dmac is resolved when @mask has FACET_RDMA_QP_AV. */
	int (*qp_modify)(void *priv, void *qp, const struct facet_rdma_qp_attr *attr,
			 uint32_t mask);
	/** Query every attribute the device keeps (cap and sq_sig_all are the library's). */
	int (*qp_query)(void *priv, void *qp, struct facet_rdma_qp_attr *attr);
	int (*qp_destroy)(void *priv, void *qp);

	/** Create an AH (@attr->dmac resolved); *@handle is what UD WQEs name. */
	int (*ah_create)(void *priv, uint32_t pdn, const struct facet_rdma_ah_attr *attr,
			 uint32_t *handle);
	int (*ah_destroy)(void *priv, uint32_t handle);

	/* datapath, called inline by the application */
	int (*post_send)(void *qp, struct facet_rdma_send_wr *wr,
			 struct facet_rdma_send_wr **bad_wr);
	int (*post_recv)(void *qp, struct facet_rdma_recv_wr *wr,
			 struct facet_rdma_recv_wr **bad_wr);
	int (*cq_poll)(void *cq, int n, struct facet_rdma_wc *wc);
	int (*cq_arm)(void *cq, bool solicited_only);

	/** Optional: the application took an event of @cq (the arm it answered is spent). */
	void (*cq_event)(void *cq);
};

/** What a driver says about a new device. */
struct facet_rdma_dev_info {
	const struct facet_rdma_ops *ops;
	void *priv;			    /**< passed back to every op */
	struct facet_core_dev *dma_dev;	    /**< where MRs are registered */
	struct facet_bus_device *dma_owner; /**< bus device holding dma_dev, or NULL */
	bool events;			    /**< CQs can signal an eventfd (event mode) */
	const char *no_events_reason;	    /**< why not, for the log */
};

/**
 * Register an RDMA device for bus device @dev, named after it. Returns 0 and
 * sets *@out, -EEXIST (a device of that name on that bus), -EINVAL, -ENOMEM.
 */
int facet_rdma_dev_register(struct facet_bus_device *dev, const struct facet_rdma_dev_info *info,
			    struct facet_rdma_dev **out);

/**
 * Unregister @dev: destroy every object the application left on it (QPs,
 * AHs, CQs, MRs, PDs, through the ops), detach the handles (the datapath
 * returns -ENODEV) and drop the registry's reference. When this returns no
 * op is running or will run.
 */
void facet_rdma_dev_unregister(struct facet_rdma_dev *dev);

/** The head every struct facet_rdma_ah starts with: what a driver reads from a UD WR. */
struct facet_rdma_ah_hdr {
	uint32_t handle; /**< from ops->ah_create */
};

/** The handle of @ah, for the WQE of a UD send. */
static inline uint32_t facet_rdma_ah_handle(const struct facet_rdma_ah *ah)
{
	return ((const struct facet_rdma_ah_hdr *)ah)->handle;
}

#ifdef __cplusplus
}
#endif

#endif /* FACET_RDMA_DRIVER_H */
