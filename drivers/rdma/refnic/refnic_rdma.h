/* SPDX-License-Identifier: MIT */
/*
 * Private to the refnic RDMA slice driver (facet_rdma_refnic.so).
 *
 * refnic_rdma.c      probe/remove, device events, the facet_rdma ops table,
 *                    device and port queries
 * refnic_rdma_cmd.c  admin command wrappers: caps, GIDs, PD, MR, AH, QP commands
 * refnic_rdma_cq.c   CQs: rings, interrupt vectors, poll and arm
 * refnic_rdma_qp.c   QPs: rings, create/modify/query/destroy, post send/recv
 *
 * Datapath (refnic_hw_rdma.h): WQEs go into rings in DMA memory and the
 * ring index to fill next is written to the queue's doorbell; CQEs come
 * back in CQ rings with a phase bit, and the consumer index goes to the CQ
 * doorbell. A send CQE names the QP and the ring index of the WQE it
 * completes, which frees that WQE and every unsignaled one before it.
 */
#ifndef REFNIC_RDMA_H
#define REFNIC_RDMA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "facet_log.h"
#include "facet_rdma_driver.h"
#include "refnic_core.h"

#define RR_TAG "refnic_rdma"

#define RR_ERR(...)   FACET_ERR(RR_TAG, __VA_ARGS__)
#define RR_WARN(...)  FACET_WARN(RR_TAG, __VA_ARGS__)
#define RR_INFO(...)  FACET_INFO(RR_TAG, __VA_ARGS__)
#define RR_DEBUG(...) FACET_DEBUG(RR_TAG, __VA_ARGS__)

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define RR_CMD_BUF_SIZE 4096u
#define RR_FIRST_VECTOR (REFNIC_MSIX_EVENT + 1) /* 0: admin, 1: the core's events */

struct rr_dev;

struct rr_cq {
	/* hot: poll */
	volatile struct refnic_rdma_cqe *ring;
	uint32_t mask;
	uint32_t ci; /* free-running consumer index */
	uint8_t phase;
	volatile uint32_t *db;
	_Atomic uint32_t db_val; /* our copy of the doorbell word: ci, arm sequence and request */
	atomic_bool arm_spent;	 /* the event of the last arm was taken: the next arm is new */
	struct rr_dev *rd;
	atomic_bool failed; /* overran: the device stopped it */

	/* cold */
	struct facet_core_dma *mem;
	uint32_t cqn;
	int vector; /* -1: no events */
	int event_fd;
	struct rr_cq *next; /* rd->cqs, under rd->cq_lock */
};

struct rr_qp {
	/* hot: post_send */
	struct refnic_send_wqe *sq;
	uint32_t sq_mask;
	uint32_t sq_pi;		/* free-running */
	_Atomic uint32_t sq_ci; /* free-running, advanced by the send CQ's poller */
	uint32_t sq_db;
	uint8_t type; /* REFNIC_QPT_* */
	uint8_t max_send_sge;
	uint16_t max_inline;
	/* FACET_RDMA_QPS_* as last set or queried: posting checks it (one relaxed load) */
	_Atomic uint8_t state;
	const struct refnic_core_ops *ops;
	struct refnic_slice *slice;

	/* hot: post_recv */
	struct refnic_recv_wqe *rq __attribute__((aligned(64)));
	uint32_t rq_mask;
	uint32_t rq_pi;
	_Atomic uint32_t rq_ci;
	uint32_t rq_db;
	uint8_t max_recv_sge;

	/* cold */
	struct facet_core_dma *mem __attribute__((aligned(64)));
	uint32_t qpn;
	struct rr_cq *scq, *rcq;
};

/* QPN -> QP for the pollers: open addressing, written under the ops lock, read lock-free. */
struct rr_qp_table {
	_Atomic(struct rr_qp *) *slots;
	uint32_t mask;
};
#define RR_QP_TOMBSTONE ((struct rr_qp *)1)

struct rr_dev {
	struct facet_bus_device *dev;
	const char *name;
	const struct refnic_core_ops *ops;
	struct refnic_slice *slice;
	struct facet_core_dev *pci;
	volatile uint8_t *db_page;
	struct facet_rdma_dev *fdev;
	int event_sub;

	struct facet_core_dma *cmd_buf; /* data of admin commands: ops are serialized */
	struct refnic_rdma_caps caps;
	uint8_t mac[6];

	struct rr_qp_table qps;

	pthread_mutex_t cq_lock; /* the CQ list, for the event thread */
	struct rr_cq *cqs;
};

/* refnic_rdma_cmd.c */
/* One admin command; 0, -EINVAL for a refused field or state, -ENOSPC, -EIO (logged). */
int rr_cmd(struct rr_dev *rd, struct refnic_sqe *sqe, uint64_t *result, const char *what);
/* A command with data in the command buffer (@in: @len bytes copied there first). */
int rr_cmd_data(struct rr_dev *rd, struct refnic_sqe *sqe, const void *in, uint32_t len,
		uint64_t *result, const char *what);
/* A command naming one object. */
int rr_cmd_obj(struct rr_dev *rd, uint8_t opcode, uint32_t id, const char *what);
int rr_query_caps(struct rr_dev *rd, struct refnic_rdma_caps *caps);
int rr_query_mac(struct rr_dev *rd, uint8_t mac[6]);
int rr_query_gid(void *priv, unsigned int index, union facet_rdma_gid *gid,
		 enum facet_rdma_gid_type *type);
int rr_set_gid(void *priv, unsigned int index, const union facet_rdma_gid *gid,
	       enum facet_rdma_gid_type type);
int rr_pd_alloc(void *priv, uint32_t *pdn);
int rr_pd_free(void *priv, uint32_t pdn);
int rr_mr_reg(void *priv, const struct facet_rdma_mr_hw *mr, uint32_t *lkey, uint32_t *rkey);
int rr_mr_dereg(void *priv, uint32_t lkey);
int rr_ah_create(void *priv, uint32_t pdn, const struct facet_rdma_ah_attr *attr, uint32_t *handle);
int rr_ah_destroy(void *priv, uint32_t handle);
void rr_av_to_hw(const struct facet_rdma_ah_attr *a, struct refnic_av *av);
void rr_av_from_hw(const struct refnic_av *av, struct facet_rdma_ah_attr *a);

/* refnic_rdma_cq.c */
int rr_cq_create(void *priv, const struct facet_rdma_cq_hw *in, struct facet_rdma_cq_hw_out *out);
int rr_cq_destroy(void *priv, void *cq);
int rr_cq_poll(void *cq, int n, struct facet_rdma_wc *wc);
int rr_cq_arm(void *cq, bool solicited_only);
void rr_cq_event(void *cq);
/* Interrupt vectors for event mode: how many the device has (0: none usable). */
unsigned int rr_vectors_usable(struct rr_dev *rd);
/* A CQ stopped (event thread). */
void rr_cq_error(struct rr_dev *rd, uint32_t cqn);

/* refnic_rdma_qp.c */
int rr_qp_table_init(struct rr_qp_table *t, uint32_t max_qp);
void rr_qp_table_free(struct rr_qp_table *t);
struct rr_qp *rr_qp_lookup(const struct rr_qp_table *t, uint32_t qpn);
int rr_qp_create(void *priv, const struct facet_rdma_qp_hw *in, struct facet_rdma_qp_hw_out *out);
int rr_qp_modify(void *priv, void *qp, const struct facet_rdma_qp_attr *attr, uint32_t mask);
int rr_qp_query(void *priv, void *qp, struct facet_rdma_qp_attr *attr);
int rr_qp_destroy(void *priv, void *qp);
int rr_post_send(void *qp, struct facet_rdma_send_wr *wr, struct facet_rdma_send_wr **bad_wr);
int rr_post_recv(void *qp, struct facet_rdma_recv_wr *wr, struct facet_rdma_recv_wr **bad_wr);

#endif /* REFNIC_RDMA_H */
