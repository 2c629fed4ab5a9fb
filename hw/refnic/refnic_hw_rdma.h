/* SPDX-License-Identifier: MIT */
/*
 * refnic_hw_rdma.h: the RDMA half of the refnic hardware interface
 * (revision 1.2; docs/refnic.md §16), included by refnic_hw.h. The
 * conventions of refnic_hw.h hold: little-endian, natural alignment, sizes
 * pinned by static asserts, reserved fields written 0 and checked.
 *
 * Model of the engine, in one paragraph: every function with
 * REFNIC_FEAT_RDMA has an RDMA engine speaking RoCEv2 on the function's
 * Ethernet port. Objects (PD, MR, CQ, QP, AH) are created through the admin
 * queue and belong to one function; object numbers are per function. Work
 * requests are WQEs in rings in the function's DMA space, announced by a
 * doorbell; completions are CQEs the device writes into CQ rings with a
 * phase bit, as the admin CQ does. Addresses in WQEs (SGEs, remote_addr)
 * are *virtual addresses* as the application names them: an MR maps
 * [va, va + length) linearly onto [iova, iova + length) of the function's
 * DMA space, and the device translates through the MR named by the key.
 * Packets leave as RoCEv2 frames (Ethernet / IPv4 or IPv6 / UDP 4791 / BTH
 * ... / ICRC) through the embedded switch: to another function of the same
 * system, or to the uplink. Received RoCEv2 frames addressed to a
 * function's MAC and UDP port 4791 go to its RDMA engine, never to its
 * Ethernet RX queues.
 */
#ifndef REFNIC_HW_RDMA_H
#define REFNIC_HW_RDMA_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* ---- admin commands (range 0x40-0x5f) ------------------------------------ */

enum refnic_rdma_opcode {
	REFNIC_OP_QUERY_RDMA_CAPS = 0x40, /* data out: struct refnic_rdma_caps */
	REFNIC_OP_CREATE_PD = 0x41,	  /* result: pdn */
	REFNIC_OP_DESTROY_PD = 0x42,	  /* cmd.rdma_obj.id = pdn */
	REFNIC_OP_CREATE_MR = 0x43,	  /* data in: struct refnic_mr_config; result: lkey | rkey << 32 */
	REFNIC_OP_DESTROY_MR = 0x44,	  /* cmd.rdma_obj.id = lkey */
	REFNIC_OP_CREATE_QP = 0x45,	  /* data in: struct refnic_qp_config; result: REFNIC_QP_RESULT_* */
	REFNIC_OP_MODIFY_QP = 0x46,	  /* cmd.rdma_obj.id = qpn; data in: struct refnic_qp_attr */
	REFNIC_OP_QUERY_QP = 0x47,	  /* cmd.rdma_obj.id = qpn; data out: struct refnic_qp_attr */
	REFNIC_OP_DESTROY_QP = 0x48,	  /* cmd.rdma_obj.id = qpn */
	REFNIC_OP_CREATE_AH = 0x49,	  /* data in: struct refnic_ah_config; result: ahn */
	REFNIC_OP_DESTROY_AH = 0x4a,	  /* cmd.rdma_obj.id = ahn */
	REFNIC_OP_SET_GID = 0x4b,	  /* cmd.set_gid */
	REFNIC_OP_QUERY_GID = 0x4c,	  /* data out: struct refnic_gid_entry[gid_tbl_len] */
	/* 0x4d-0x5f reserved. CQs are queues: CREATE_QUEUE with REFNIC_QT_CQ. */
};

/* Extra status code of the RDMA commands. */
#define REFNIC_STATUS_BAD_STATE 0x08 /* MODIFY_QP: transition or attributes not allowed; object busy */

/* Payload of the commands naming one object (DESTROY_*, MODIFY_QP, QUERY_QP). */
struct refnic_cmd_rdma_obj {
	uint32_t id;
	uint8_t rsvd[36];
};
static_assert(sizeof(struct refnic_cmd_rdma_obj) == 40, "rdma_obj payload");

/* SET_GID: write entry @index of the function's GID table (type 0 clears it). */
struct refnic_cmd_set_gid {
	uint8_t index;
	uint8_t type; /* REFNIC_GID_TYPE_* */
	uint16_t rsvd0;
	uint32_t rsvd1;
	uint8_t gid[16]; /* network order, as on the wire */
	uint8_t rsvd2[16];
};
static_assert(sizeof(struct refnic_cmd_set_gid) == 40, "set_gid payload");

#define REFNIC_GID_TYPE_NONE   0
#define REFNIC_GID_TYPE_ROCEV2 1

/* QUERY_GID data: one entry per table slot. Slot 0 is set by function reset to
 * fe80::EUI-64(function MAC), as rxe derives it. */
struct refnic_gid_entry {
	uint8_t gid[16];
	uint8_t type; /* REFNIC_GID_TYPE_* */
	uint8_t rsvd[15];
};
static_assert(sizeof(struct refnic_gid_entry) == 32, "refnic_gid_entry is 32 bytes");

/* ---- capabilities (QUERY_RDMA_CAPS) -------------------------------------- */

struct refnic_rdma_caps {
	uint32_t max_pd;
	uint32_t max_mr;
	uint32_t max_cq;
	uint32_t max_qp;
	uint32_t max_ah;
	uint8_t sq_log_max; /* send queue: 2^1 .. 2^sq_log_max WQEs */
	uint8_t rq_log_max;
	uint8_t cq_log_max;
	uint8_t max_send_sge; /* SGEs in a send WQE (REFNIC_SEND_WQE_SGES) */
	uint8_t max_recv_sge; /* REFNIC_RECV_WQE_SGES */
	uint8_t max_inline;   /* bytes of inline data in a send WQE */
	uint8_t max_qp_rd_atom;	     /* RDMA READ/atomic a QP has outstanding as requester */
	uint8_t max_qp_dest_rd_atom; /* ... and accepts as responder */
	uint64_t max_mr_size;
	uint32_t max_msg_size;
	uint16_t gid_tbl_len;
	uint8_t active_mtu; /* REFNIC_MTU_*: largest path MTU for the current port MTU */
	uint8_t rsvd0;
	uint8_t rsvd[80];
};
static_assert(sizeof(struct refnic_rdma_caps) == 128, "refnic_rdma_caps is 128 bytes");

/* Path MTU codes, as the IB spec numbers them: payload bytes = 128 << code. */
enum refnic_mtu {
	REFNIC_MTU_256 = 1,
	REFNIC_MTU_512 = 2,
	REFNIC_MTU_1024 = 3,
	REFNIC_MTU_2048 = 4,
	REFNIC_MTU_4096 = 5,
};

/* ---- memory regions -------------------------------------------------------- */

/* Access rights of an MR and the remote rights of a QP (IB spec numbering). */
#define REFNIC_ACCESS_LOCAL_WRITE   (1u << 0)
#define REFNIC_ACCESS_REMOTE_WRITE  (1u << 1)
#define REFNIC_ACCESS_REMOTE_READ   (1u << 2)
#define REFNIC_ACCESS_REMOTE_ATOMIC (1u << 3)

/*
 * CREATE_MR data. [iova, iova + length) must lie in the function's DMA maps
 * with the access the rights imply (checked at creation, and again on every
 * access: a region unmapped since gives a protection error, not a fault).
 * REMOTE_WRITE and REMOTE_ATOMIC require LOCAL_WRITE. Keys are opaque 32-bit
 * values; lkey and rkey may be equal.
 */
struct refnic_mr_config {
	uint64_t va;	 /* first address as work requests name it */
	uint64_t length; /* bytes, 1 .. caps.max_mr_size */
	uint64_t iova;	 /* where va lies in the function's DMA space */
	uint32_t pdn;
	uint32_t access; /* REFNIC_ACCESS_* */
	uint8_t rsvd[32];
};
static_assert(sizeof(struct refnic_mr_config) == 64, "refnic_mr_config is 64 bytes");

/* ---- completion queues ----------------------------------------------------- */

/*
 * A CQ is CREATE_QUEUE type REFNIC_QT_CQ: ring of 2^log_size struct
 * refnic_rdma_cqe, status_iova and cq_id reserved; REFNIC_QF_IRQ_EN with
 * msix_vector for armed notification. CQE ownership by phase, as the admin
 * CQ: the first pass writes phase 1.
 *
 * The CQ doorbell (result DB_OFF) holds the driver's consumer index and the
 * arm request; writing it announces no work (no wake needed). The device
 * only reads it. The driver keeps its own copy of the word and always
 * stores all of it. An arm request is ARM or ARM_SOLICITED with an arm
 * sequence number other than the one of the last request the device took:
 * the device takes it, raises the CQ's vector once for it and ignores that
 * sequence number from then on, so storing the word again (a new consumer
 * index) neither re-arms nor disarms. The driver moves to the next number
 * once the event of the last one has been taken, or to ask ARM while
 * ARM_SOLICITED is pending (docs/refnic.md §16.6).
 *
 * The device never writes a CQE into a slot the consumer index does not
 * free: a full CQ stops (REFNIC_QERR_CQ_OVERRUN in a QUEUE_ERROR event) and
 * the QPs that then need it go to the error state.
 */
#define REFNIC_CQ_DB_CI_MASK	   0x00ffffffu /* consumer index, modulo 2^24 (free-running) */
#define REFNIC_CQ_DB_ARM_SN_SHIFT  28
#define REFNIC_CQ_DB_ARM_SN_MASK   (3u << REFNIC_CQ_DB_ARM_SN_SHIFT) /* arm sequence number */
#define REFNIC_CQ_DB_ARM_SN(sn)	   (((uint32_t)(sn)&3u) << REFNIC_CQ_DB_ARM_SN_SHIFT)
#define REFNIC_CQ_DB_ARM_SOLICITED (1u << 30) /* interrupt on the next solicited or error CQE */
#define REFNIC_CQ_DB_ARM	   (1u << 31) /* interrupt on the next CQE */
/* Bits 27:24 are reserved: 0. */
#define REFNIC_QERR_CQ_OVERRUN	   5u

/* CQE: 32 bytes, phase in the last byte, written last. */
struct refnic_rdma_cqe {
	uint64_t wr_id;
	uint32_t byte_len; /* receives and READ/atomic: bytes placed */
	uint32_t imm;	   /* immediate data, wire (big-endian) order, REFNIC_CQE_F_IMM */
	uint32_t qpn;
	uint32_t src_qp;    /* UD receives: the sender's QPN */
	uint16_t wqe_index; /* ring index of the WQE completed (SQ: it and every unsignaled one before) */
	uint8_t opcode;	    /* REFNIC_WC_* */
	uint8_t status;	    /* REFNIC_WC_STATUS_* */
	uint8_t flags;	    /* REFNIC_CQE_F_* */
	uint8_t vendor_err; /* REFNIC_RDMA_VERR_*: the device's detail for a bad status */
	uint8_t rsvd;
	uint8_t phase; /* bit 0 */
};
static_assert(sizeof(struct refnic_rdma_cqe) == 32, "refnic_rdma_cqe is 32 bytes");
static_assert(offsetof(struct refnic_rdma_cqe, phase) == 31, "CQE phase is the last byte");

/* CQE.vendor_err: which check failed (0 with SUCCESS; docs/refnic.md §16.6). */
enum refnic_rdma_verr {
	REFNIC_RDMA_VERR_NONE = 0,
	REFNIC_RDMA_VERR_KEY = 1,	  /* no MR with that key in the function, or another PD */
	REFNIC_RDMA_VERR_BOUNDS = 2,	  /* range outside the MR */
	REFNIC_RDMA_VERR_RIGHTS = 3,	  /* the MR (or QP) lacks the access right */
	REFNIC_RDMA_VERR_DMA = 4,	  /* the MR's memory is no longer in the DMA maps */
	REFNIC_RDMA_VERR_WQE = 5,	  /* bad opcode, flags, SGE count or reserved field */
	REFNIC_RDMA_VERR_LENGTH = 6,	  /* message too long, inline too long, atomic not 8 bytes */
	REFNIC_RDMA_VERR_AH = 7,	  /* UD: no such AH, or another PD */
	REFNIC_RDMA_VERR_RD_ATOMIC = 8,	  /* READ/atomic with max_rd_atomic 0 */
	REFNIC_RDMA_VERR_NAK_INV_REQ = 9, /* the responder NAKed: invalid request */
	REFNIC_RDMA_VERR_NAK_ACCESS = 10, /* ... remote access error */
	REFNIC_RDMA_VERR_NAK_OP = 11,	  /* ... remote operational error */
	REFNIC_RDMA_VERR_RETRY = 12,	  /* retransmission timeouts (or sequence NAKs) exhausted */
	REFNIC_RDMA_VERR_RNR = 13,	  /* RNR NAKs exhausted */
	REFNIC_RDMA_VERR_FLUSH = 14,	  /* flushed: the QP is in ERR (or SQE) */
	REFNIC_RDMA_VERR_RECV_LEN = 15,	  /* receive: message longer than the posted buffers */
	REFNIC_RDMA_VERR_BAD_RESP = 16,	  /* a response the requester could not use */
};

#define REFNIC_CQE_F_IMM       (1u << 0)
#define REFNIC_CQE_F_GRH       (1u << 1) /* UD receive: a 40-byte GRH leads the buffer */
#define REFNIC_CQE_F_SQ	       (1u << 2) /* completion of a send queue WQE */
#define REFNIC_CQE_F_SOLICITED (1u << 3)

/* CQE opcodes (values of the IB verbs work completion opcodes). */
enum refnic_wc_opcode {
	REFNIC_WC_SEND = 0,
	REFNIC_WC_RDMA_WRITE = 1,
	REFNIC_WC_RDMA_READ = 2,
	REFNIC_WC_COMP_SWAP = 3,
	REFNIC_WC_FETCH_ADD = 4,
	REFNIC_WC_RECV = 128,
	REFNIC_WC_RECV_RDMA_WITH_IMM = 129,
};

/* CQE status (values of the IB verbs work completion status). */
enum refnic_wc_status {
	REFNIC_WC_STATUS_SUCCESS = 0,
	REFNIC_WC_STATUS_LOC_LEN_ERR = 1,
	REFNIC_WC_STATUS_LOC_QP_OP_ERR = 2,
	REFNIC_WC_STATUS_LOC_PROT_ERR = 4,
	REFNIC_WC_STATUS_WR_FLUSH_ERR = 5,
	REFNIC_WC_STATUS_BAD_RESP_ERR = 7,
	REFNIC_WC_STATUS_LOC_ACCESS_ERR = 8,
	REFNIC_WC_STATUS_REM_INV_REQ_ERR = 9,
	REFNIC_WC_STATUS_REM_ACCESS_ERR = 10,
	REFNIC_WC_STATUS_REM_OP_ERR = 11,
	REFNIC_WC_STATUS_RETRY_EXC_ERR = 12,
	REFNIC_WC_STATUS_RNR_RETRY_EXC_ERR = 13,
	REFNIC_WC_STATUS_GENERAL_ERR = 21,
};

/* ---- queue pairs ------------------------------------------------------------- */

enum refnic_qp_type {
	REFNIC_QPT_RC = 2, /* IB numbering */
	REFNIC_QPT_UC = 3, /* reserved in this revision */
	REFNIC_QPT_UD = 4,
};

enum refnic_qp_state {
	REFNIC_QPS_RESET = 0,
	REFNIC_QPS_INIT = 1,
	REFNIC_QPS_RTR = 2,
	REFNIC_QPS_RTS = 3,
	REFNIC_QPS_SQD = 4,
	REFNIC_QPS_SQE = 5,
	REFNIC_QPS_ERR = 6,
};

/*
 * CREATE_QP data. The send queue is a ring of 2^sq_log_size struct
 * refnic_send_wqe, the receive queue one of 2^rq_log_size struct
 * refnic_recv_wqe, both 64-byte aligned in the function's DMA space. The
 * QP starts in RESET. QPNs are 24-bit, per function, never 0 or 1.
 */
struct refnic_qp_config {
	uint8_t type; /* REFNIC_QPT_* */
	uint8_t sq_log_size;
	uint8_t rq_log_size;
	uint8_t flags; /* REFNIC_QPF_* */
	uint32_t pdn;
	uint32_t send_cqn;
	uint32_t recv_cqn;
	uint64_t sq_iova;
	uint64_t rq_iova;
	uint8_t rsvd[32];
};
static_assert(sizeof(struct refnic_qp_config) == 64, "refnic_qp_config is 64 bytes");

#define REFNIC_QPF_SQ_SIG_ALL (1u << 0) /* every send WQE completes, SIGNALED or not */

/*
 * CREATE_QP result: the QPN and the offsets of the send and receive queue
 * doorbells in the function's doorbell page. Each doorbell takes the ring
 * index the driver will fill next (as TX/RX queues do; value >= ring size
 * is a queue error), and announces work (idle/wake protocol).
 */
#define REFNIC_QP_RESULT_QPN(r)	  ((uint32_t)((r)&0xffffffu))
#define REFNIC_QP_RESULT_SQ_DB(r) ((uint32_t)(((r) >> 32) & 0xffffu))
#define REFNIC_QP_RESULT_RQ_DB(r) ((uint32_t)((r) >> 48))

/* MODIFY_QP / QUERY_QP attribute mask (IB verbs numbering of the same attributes). */
#define REFNIC_QP_ATTR_STATE		  (1u << 0)
#define REFNIC_QP_ATTR_CUR_STATE	  (1u << 1)
#define REFNIC_QP_ATTR_ACCESS_FLAGS	  (1u << 3)
#define REFNIC_QP_ATTR_PKEY_INDEX	  (1u << 4)
#define REFNIC_QP_ATTR_PORT		  (1u << 5)
#define REFNIC_QP_ATTR_QKEY		  (1u << 6)
#define REFNIC_QP_ATTR_AV		  (1u << 7)
#define REFNIC_QP_ATTR_PATH_MTU		  (1u << 8)
#define REFNIC_QP_ATTR_TIMEOUT		  (1u << 9)
#define REFNIC_QP_ATTR_RETRY_CNT	  (1u << 10)
#define REFNIC_QP_ATTR_RNR_RETRY	  (1u << 11)
#define REFNIC_QP_ATTR_RQ_PSN		  (1u << 12)
#define REFNIC_QP_ATTR_MAX_QP_RD_ATOMIC	  (1u << 13)
#define REFNIC_QP_ATTR_MIN_RNR_TIMER	  (1u << 15)
#define REFNIC_QP_ATTR_SQ_PSN		  (1u << 16)
#define REFNIC_QP_ATTR_MAX_DEST_RD_ATOMIC (1u << 17)
#define REFNIC_QP_ATTR_DEST_QPN		  (1u << 20)

/*
 * Address vector: where a QP (RC) or an AH (UD) sends. The source address
 * is the GID at sgid_index (IPv4-mapped ::ffff:a.b.c.d -> IPv4, otherwise
 * IPv6); the destination is dgid. dmac is the next hop's MAC, resolved by
 * the driver (a link-local GID carries it as EUI-64).
 */
struct refnic_av {
	uint8_t dgid[16];
	uint8_t dmac[6];
	uint8_t sgid_index;
	uint8_t hop_limit;
	uint32_t flow_label; /* 20 bits */
	uint8_t traffic_class;
	uint8_t rsvd[3];
};
static_assert(sizeof(struct refnic_av) == 32, "refnic_av is 32 bytes");

/* MODIFY_QP data (fields not in mask ignored, written 0); QUERY_QP returns all. */
struct refnic_qp_attr {
	uint32_t mask;	/* REFNIC_QP_ATTR_* */
	uint8_t state;	/* REFNIC_QPS_*: target state / current state */
	uint8_t cur_state;
	uint8_t path_mtu; /* REFNIC_MTU_* */
	uint8_t port;	  /* 1 */
	uint32_t access;  /* REFNIC_ACCESS_REMOTE_*: what remote peers may do */
	uint32_t qkey;
	uint32_t rq_psn; /* 24 bits */
	uint32_t sq_psn; /* 24 bits */
	uint32_t dest_qpn;
	uint16_t pkey_index; /* 0: P_Key 0xffff, the only one */
	uint8_t timeout;     /* local ACK timeout: 4.096 us * 2^timeout; 0: infinite */
	uint8_t retry_cnt;   /* 0..7 */
	uint8_t rnr_retry;   /* 0..7, 7: infinite */
	uint8_t min_rnr_timer; /* IB encoding, sent in RNR NAKs */
	uint8_t max_rd_atomic;
	uint8_t max_dest_rd_atomic;
	uint32_t rsvd0;
	struct refnic_av av;
	/* QUERY_QP only: capacities (0 in MODIFY_QP) */
	uint32_t sq_size;
	uint32_t rq_size;
	uint8_t rsvd[48];
};
static_assert(sizeof(struct refnic_qp_attr) == 128, "refnic_qp_attr is 128 bytes");

/* CREATE_AH data. */
struct refnic_ah_config {
	uint32_t pdn;
	uint32_t rsvd0;
	struct refnic_av av;
	uint8_t rsvd[24];
};
static_assert(sizeof(struct refnic_ah_config) == 64, "refnic_ah_config is 64 bytes");

/* ---- work queue entries -------------------------------------------------------- */

struct refnic_sge {
	uint64_t addr; /* virtual address inside the MR of lkey */
	uint32_t length;
	uint32_t lkey;
};
static_assert(sizeof(struct refnic_sge) == 16, "refnic_sge is 16 bytes");

/* Send WQE opcodes (values of the IB verbs work request opcodes). */
enum refnic_wr_opcode {
	REFNIC_WR_RDMA_WRITE = 0,
	REFNIC_WR_RDMA_WRITE_WITH_IMM = 1,
	REFNIC_WR_SEND = 2,
	REFNIC_WR_SEND_WITH_IMM = 3,
	REFNIC_WR_RDMA_READ = 4,
	REFNIC_WR_ATOMIC_CMP_AND_SWP = 5,
	REFNIC_WR_ATOMIC_FETCH_AND_ADD = 6,
};

#define REFNIC_SEND_WQE_SGES 4
#define REFNIC_RECV_WQE_SGES 3
#define REFNIC_MAX_INLINE    64

#define REFNIC_WQE_F_SIGNALED  (1u << 0) /* write a CQE on success */
#define REFNIC_WQE_F_SOLICITED (1u << 1) /* set SE in the last packet */
#define REFNIC_WQE_F_INLINE    (1u << 2) /* the data is in the WQE: inline_len bytes */
#define REFNIC_WQE_F_FENCE     (1u << 3) /* wait for outstanding READ/atomics first */

/* Send WQE: 128 bytes. Atomics: remote_addr 8-byte aligned, one SGE of 8 bytes. */
struct refnic_send_wqe {
	uint8_t opcode; /* REFNIC_WR_* */
	uint8_t flags;	/* REFNIC_WQE_F_* */
	uint8_t num_sge;
	uint8_t rsvd0;
	uint32_t imm; /* wire order */
	uint64_t wr_id;
	uint64_t remote_addr;
	uint32_t rkey;
	uint32_t inline_len;
	uint64_t compare_add; /* CMP_AND_SWP: compare; FETCH_AND_ADD: add */
	uint64_t swap;
	uint32_t ahn;	   /* UD */
	uint32_t dest_qpn; /* UD */
	uint32_t qkey;	   /* UD */
	uint32_t rsvd1;
	union {
		struct refnic_sge sge[REFNIC_SEND_WQE_SGES];
		uint8_t inline_data[REFNIC_MAX_INLINE];
	};
};
static_assert(sizeof(struct refnic_send_wqe) == 128, "refnic_send_wqe is 128 bytes");
static_assert(offsetof(struct refnic_send_wqe, sge) == 64, "refnic_send_wqe layout");

/* Receive WQE: 64 bytes. */
struct refnic_recv_wqe {
	uint64_t wr_id;
	uint8_t num_sge;
	uint8_t rsvd[7];
	struct refnic_sge sge[REFNIC_RECV_WQE_SGES];
};
static_assert(sizeof(struct refnic_recv_wqe) == 64, "refnic_recv_wqe is 64 bytes");

/* ---- asynchronous events ------------------------------------------------------- */

/* Event types of the RDMA engine (struct refnic_eqe.type). */
#define REFNIC_EVENT_QP_FATAL 4 /* data: qpn; the QP went to ERR outside a WQE's completion */
#define REFNIC_EVENT_CQ_ERROR 5 /* data: cqn; the CQ overran and stopped */

/* RoCEv2 on the wire (docs/refnic.md §16.8). */
#define REFNIC_ROCEV2_UDP_PORT 4791

#endif /* REFNIC_HW_RDMA_H */
