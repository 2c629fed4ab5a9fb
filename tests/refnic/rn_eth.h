/* SPDX-License-Identifier: MIT */
/*
 * The datapath half of the refnic test harness: TX and RX queues programmed
 * by hand (docs/refnic.md §15), in DMA memory of the harness's device, plus
 * frame builders and an independent checksum and Toeplitz implementation to
 * check the device against.
 */
#ifndef RN_ETH_H
#define RN_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rn_harness.h"

#define RN_TX_BUF 9216 /* TX staging bytes per ring slot */

struct rn_q {
	struct rn *h;
	unsigned int fn;
	uint8_t type;
	uint32_t id;
	uint32_t db; /* doorbell offset in the function's page */
	unsigned int log;
	uint32_t size;
	void *ring;
	uint64_t ring_iova;
	volatile struct refnic_queue_status *st;
	uint64_t status_iova;
	uint32_t pi;   /* driver's producer index */
	uint32_t ci;   /* driver's consumer index (RX: next descriptor to read) */
	uint8_t *bufs; /* one buffer per slot */
	uint64_t bufs_iova;
	uint32_t buf_len;
};

/** Carve @len bytes (64-byte aligned, filled with 0xa5) out of the harness's datapath memory. */
void *rn_dp_alloc(struct rn *h, size_t len, uint64_t *iova);

/** CREATE_QUEUE of a TX/RX queue with its ring, status line and buffers; the CQE status. */
int rn_q_create(struct rn *h, unsigned int fn, uint8_t type, unsigned int log, uint32_t buf_len,
		struct rn_q *q);
/** Issue CREATE_QUEUE with a raw payload (for invalid ones); the CQE status. */
int rn_q_create_raw(struct rn *h, unsigned int fn, const struct refnic_cmd_create_queue *cq,
		    uint64_t *result);
int rn_q_destroy(struct rn_q *q);

/** RX: post buffers in every slot but one and ring the doorbell. */
void rn_rx_fill(struct rn_q *q);
/**
 * RX: wait for a frame (up to @timeout_ms), copy it to @out (@max bytes),
 * repost its buffers. Returns the frame length, -ETIMEDOUT, or -EIO if the
 * queue stopped. @flags/@hash/@ndesc (may be NULL): from the EOP descriptor.
 */
int rn_rx_recv(struct rn_q *q, void *out, size_t max, uint16_t *flags, uint32_t *hash,
	       unsigned int *ndesc, int timeout_ms);
/** RX: true if no frame is waiting (status.head == our consumer index). */
bool rn_rx_empty(struct rn_q *q);

/** TX: queue @len bytes of @frame as @nseg segments (first gets @offload), ring. */
void rn_tx_post(struct rn_q *q, const void *frame, uint32_t len, unsigned int nseg,
		uint16_t offload);
/** TX: wait until status.head reaches our producer index: 0, -EIO (error), -ETIMEDOUT. */
int rn_tx_wait(struct rn_q *q, int timeout_ms);
/** TX: post and wait. */
int rn_tx_send(struct rn_q *q, const void *frame, uint32_t len, unsigned int nseg,
	       uint16_t offload);

/** A command with no buffer on function @fn: payload bytes @payload (40). */
int rn_fn_cmd(struct rn *h, uint8_t opcode, unsigned int fn, const void *payload, uint64_t *result);
int rn_set_mtu(struct rn *h, unsigned int fn, uint16_t mtu);
int rn_set_rx_mode(struct rn *h, unsigned int fn, uint32_t flags);
int rn_set_rss(struct rn *h, unsigned int fn, const struct refnic_rss_config *c);
int rn_queue_stats(struct rn_q *q, struct refnic_queue_stats *st);
int rn_func_stats(struct rn *h, unsigned int fn, struct refnic_func_stats *st);
uint64_t rn_mac(struct rn *h, unsigned int fn, uint8_t mac[6]);

/* An event queue on a function, for QUEUE_ERROR. */
struct rn_eq {
	void *ring;
	unsigned int log;
	uint32_t ci;
	uint8_t phase;
	uint32_t db;
};
int rn_eq_create(struct rn *h, unsigned int fn, struct rn_eq *eq);
/** Next event of @type (others skipped); 0 or -ETIMEDOUT. */
int rn_eq_next(struct rn_eq *eq, uint8_t type, struct refnic_eqe *e, int timeout_ms);

/* ---- frames ----------------------------------------------------------------- */

struct rn_flow {
	uint8_t dmac[6], smac[6];
	int ipv;       /* 4 or 6 */
	uint8_t proto; /* 6 TCP, 17 UDP */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

/** Ethernet + IP + TCP/UDP with @payload bytes of pattern; L4 checksum correct. Length. */
uint32_t rn_build(uint8_t *buf, const struct rn_flow *f, uint32_t payload, uint8_t seed);
/** Offsets of the L4 header and checksum field in a frame rn_build() made. */
uint32_t rn_l4_off(const struct rn_flow *f);
uint32_t rn_csum_off(const struct rn_flow *f);
/** True if the L4 checksum of a frame rn_build() made verifies. */
bool rn_l4_csum_ok(const uint8_t *frame, const struct rn_flow *f, uint32_t len);

/** Toeplitz hash (independent of the model's): bit by bit over a 320-bit key. */
uint32_t rn_toeplitz(const uint8_t *key, const uint8_t *in, unsigned int len);
/** The Microsoft RSS verification key. */
extern const uint8_t rn_ms_rss_key[40];

#endif /* RN_ETH_H */
