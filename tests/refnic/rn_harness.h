/* SPDX-License-Identifier: MIT */
/*
 * Test harness for the refnic model: the model served in this process at a
 * socket in a temporary directory, and lib/core as its client, programming
 * the device by hand the way docs/refnic.md tells a driver to.
 */
#ifndef RN_HARNESS_H
#define RN_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "facet_core.h"
#include "refnic_hw.h"
#include "refnic_model.h"

struct rn {
	char dir[64];
	char path[128];
	struct refnic_model *m;
	struct facet_core_dev *dev;
	uint8_t *bar;		   /* BAR0 mapping: doorbell pages usable */
	struct facet_core_dma *sq; /* admin rings */
	struct facet_core_dma *cq;
	struct facet_core_dma *buf; /* a 64 KiB data buffer for commands */
	struct facet_core_dma *dp;  /* datapath memory (rn_eth.c), carved by rn_dp_alloc() */
	size_t dp_used;
	unsigned int log;
	uint32_t sq_pi;
	uint32_t cq_ci;
	uint8_t phase;
	uint16_t cid;
	unsigned int kicks; /* KICKs the harness wrote */
};

#define RN_TIMEOUT_MS 3000
#define RN_BUF_SIZE   65536

/** Start a model (opts may be NULL), open it, map BAR0, enable bus mastering. */
int rn_start(struct rn *h, const struct refnic_model_opts *opts);
/** Close the client, destroy the model, remove the directory. */
void rn_stop(struct rn *h);

/** Open the client again after rn_close(); maps BAR0 and enables bus mastering. */
int rn_open(struct rn *h);
/** Free the rings and buffer, close the client (the model resets the device). */
void rn_close(struct rn *h);

uint32_t rn_rd(struct rn *h, uint32_t off);
void rn_wr(struct rn *h, uint32_t off, uint32_t v);

/** Pointer into function @fn's doorbell page. */
volatile uint32_t *rn_db(struct rn *h, unsigned int fn, uint32_t off);

/** Reset the device (DEV_CTRL.RESET) and wait for it. */
void rn_reset(struct rn *h);
/** Reset, allocate 2^log-entry rings, program them, enable; 0 or -EIO (FATAL/timeout). */
int rn_enable(struct rn *h, unsigned int log);

/** Driver side of the idle/wake protocol after a producer-index store (§7). */
void rn_doorbell(struct rn *h, unsigned int fn, uint32_t off, uint32_t value);

/** Write @sqe (cid filled in) at the SQ tail; @ring: also ring the doorbell. */
void rn_post(struct rn *h, struct refnic_sqe *sqe, bool ring);
/** Ring the admin SQ doorbell with the current producer index. */
void rn_ring(struct rn *h);
/** Wait for the next CQE; 0 or -ETIMEDOUT. */
int rn_wait(struct rn *h, struct refnic_cqe *cqe, int timeout_ms);
/** Post, ring and wait: the CQE status (>= 0) or -ETIMEDOUT. */
int rn_cmd(struct rn *h, struct refnic_sqe *sqe, struct refnic_cqe *cqe);

/** Wait for the next event in an EQ ring at @va (consumer @ci, phase @ph). */
int rn_eq_wait(const void *va, unsigned int log, uint32_t *ci, uint8_t *ph, struct refnic_eqe *e,
	       int timeout_ms);

/** Wait until the worker sleeps; false after @timeout_ms. */
bool rn_wait_sleeping(struct rn *h, int timeout_ms);

/** Milliseconds of monotonic time. */
uint64_t rn_now_ms(void);

#endif /* RN_HARNESS_H */
