/* SPDX-License-Identifier: MIT */
/*
 * The RDMA half of the refnic test harness: a naive by-hand driver for the
 * RDMA engine (docs/refnic.md §16): commands, CQs, QPs, WQE posting and
 * CQE polling, straight from the spec.
 */
#ifndef RN_RDMA_H
#define RN_RDMA_H

#include <stdbool.h>
#include <stdint.h>

#include "rn_eth.h"

struct rn_cq {
	struct rn *h;
	uint32_t id, db;
	unsigned int log;
	struct refnic_rdma_cqe *ring;
	uint32_t ci;  /* free-running */
	uint32_t arm; /* arm sequence number and request, stored with every consumer index */
};

struct rn_qp {
	struct rn *h;
	uint8_t type;
	uint32_t qpn, sq_db, rq_db;
	unsigned int sq_log, rq_log;
	struct refnic_send_wqe *sq;
	struct refnic_recv_wqe *rq;
	uint32_t sq_pi, rq_pi;
};

/** A command with a payload and (optionally) @len bytes of input data in h->buf. */
int rn_rdma_cmd(struct rn *h, uint8_t op, const void *payload, const void *data, uint32_t len,
		uint64_t *result);
/** A command that writes data: @out gets @len bytes of h->buf afterwards. */
int rn_rdma_query(struct rn *h, uint8_t op, uint32_t id, void *out, uint32_t len, uint64_t *result);
int rn_obj_cmd(struct rn *h, uint8_t op, uint32_t id);

int rn_pd_create(struct rn *h, uint32_t *pdn);
/** An MR over [ptr, ptr + len) of datapath memory (va = the pointer, as verbs does). */
int rn_mr_create(struct rn *h, uint32_t pdn, void *ptr, uint64_t iova, uint64_t len,
		 uint32_t access, uint32_t *key);
int rn_cq_create(struct rn *h, unsigned int log, struct rn_cq *cq);
/** A CQ with IRQ_EN on MSI-X vector @vector. */
int rn_cq_create_irq(struct rn *h, unsigned int log, uint16_t vector, struct rn_cq *cq);
/** Store the doorbell word: consumer index | @arm (REFNIC_CQ_DB_ARM_SN() | ARM bits), kept. */
void rn_cq_arm(struct rn_cq *cq, uint32_t arm);
int rn_cq_poll(struct rn_cq *cq, struct refnic_rdma_cqe *out, int timeout_ms);
bool rn_cq_empty(struct rn_cq *cq);
int rn_qp_create(struct rn *h, uint8_t type, uint32_t pdn, struct rn_cq *scq, struct rn_cq *rcq,
		 unsigned int sq_log, unsigned int rq_log, uint8_t flags, struct rn_qp *qp);
int rn_qp_modify(struct rn *h, uint32_t qpn, const struct refnic_qp_attr *a);
int rn_qp_query(struct rn *h, uint32_t qpn, struct refnic_qp_attr *a);
/** Bring @qp to RTS towards @dqpn at @dgid/@dmac (RC; UD ignores the path). */
int rn_qp_connect(struct rn_qp *qp, uint32_t dqpn, const uint8_t dgid[16], const uint8_t dmac[6],
		  uint8_t sgid_index, uint8_t mtu, uint32_t access);
void rn_post_send(struct rn_qp *qp, const struct refnic_send_wqe *w);
/** Write WQEs without ringing, then one doorbell for all of them. */
void rn_post_send_batch(struct rn_qp *qp, const struct refnic_send_wqe *w, unsigned int n);
void rn_post_recv(struct rn_qp *qp, uint64_t wr_id, const void *addr, uint32_t len, uint32_t lkey);
/** GID table entry @idx of the function. */
int rn_gid(struct rn *h, unsigned int idx, uint8_t gid[16]);
/** fe80::EUI-64(mac), computed by the test. */
void rn_gid_from_mac(const uint8_t mac[6], uint8_t gid[16]);

#endif /* RN_RDMA_H */
