/* SPDX-License-Identifier: MIT */
/*
 * Harness of the facet_rdma tests: real parts only, on top of the facet_eth
 * harness (tests/eth/teth.h): one facet-refnic process serving two devices
 * on one embedded switch, both opened over vfio-user, the refnic core,
 * Ethernet and RDMA plugins autoloaded from the build tree. Plus helpers
 * for connected QP pairs and completions.
 */
#ifndef TRDMA_H
#define TRDMA_H

#include <stdbool.h>
#include <stdint.h>

#include "facet_rdma.h"
#include "teth.h"

struct trdma_env {
	struct teth_env eth;
	struct facet_rdma_dev *dev[TETH_DEVS];
	char name[TETH_DEVS][32]; /* refnic.rdma.<the PCI device's bus id> */
};

/* Start the model and the bus, open both devices, find both RDMA devices. */
void trdma_env_start(struct trdma_env *env);
void trdma_env_stop(struct trdma_env *env);

/* One side of a connection: PD, CQ (send and receive), QP, a registered buffer. */
struct trdma_side {
	struct facet_rdma_dev *dev;
	struct facet_rdma_pd *pd;
	struct facet_rdma_cq *cq;
	struct facet_rdma_qp *qp;
	uint8_t *buf;
	size_t len;
	struct facet_rdma_mr *mr;
	union facet_rdma_gid gid; /* GID 0 */
};

/* PD, CQ, QP of @type, a malloc'ed buffer of @len bytes registered with @access. */
void trdma_side_init(struct trdma_side *s, struct facet_rdma_dev *dev, enum facet_rdma_qp_type type,
		     size_t len, uint32_t access);
/* The same, with the CQ on completion channel @ch (cq_context: @s). */
void trdma_side_init_ex(struct trdma_side *s, struct facet_rdma_dev *dev,
			enum facet_rdma_qp_type type, size_t len, uint32_t access,
			struct facet_rdma_comp_channel *ch);
void trdma_side_fini(struct trdma_side *s);

/* RC: bring both QPs to RTS, connected to each other over GID 0. */
void trdma_connect(struct trdma_side *a, struct trdma_side *b);
/* UD: bring the QP to RTS with @qkey. */
void trdma_ud_ready(struct trdma_side *s, uint32_t qkey);

/* Poll @cq until @n completions are in @wc or @ms pass; returns how many. */
int trdma_poll(struct facet_rdma_cq *cq, int n, struct facet_rdma_wc *wc, unsigned int ms);
/* Poll one completion and check wr_id, status and opcode. */
void trdma_expect(struct facet_rdma_cq *cq, uint64_t wr_id, enum facet_rdma_wc_status status,
		  enum facet_rdma_wc_opcode opcode, struct facet_rdma_wc *out);

/* Post one receive of [off, off + len) of @s's buffer. */
void trdma_post_recv(struct trdma_side *s, uint64_t wr_id, size_t off, uint32_t len);

#endif /* TRDMA_H */
