/* SPDX-License-Identifier: MIT */
/*
 * facet_rdma: verbs-style RDMA for applications (what libibverbs is to a
 * kernel RDMA stack, without the kernel).
 *
 * API-CONTRACT: ready
 *
 * Changelog (after the contract was marked ready, changes are additive only):
 *   1.0  first version.
 *   1.0  (doc only) facet_rdma_mr_reg(): the move of anonymous memory into a
 *        file is undone when the last MR over a page is deregistered.
 *   1.0  facet_rdma_gid_to_mac() (inline). Posting to a queue that is not
 *        ready (sends before RTS, receives in RESET) fails with -EINVAL;
 *        query_port answers the device's error when the device does not
 *        answer (it used to describe a stale port).
 *
 * A slice driver (drivers/rdma/refnic) registers one RDMA device per RDMA
 * slice it binds, named after the bus device ("refnic.rdma.0"), and
 * unregisters it when unbound. An application finds the device by that name
 * and never links against the driver plugin: the device carries the
 * driver's operations. Objects follow the verbs model:
 *
 *   dev  = facet_rdma_dev_get(bus, "refnic.rdma.0");
 *   facet_rdma_query_device(dev, &dattr); facet_rdma_query_port(dev, 1, &pattr);
 *   facet_rdma_pd_alloc(dev, &pd);
 *   facet_rdma_mr_reg(pd, buf, len, FACET_RDMA_ACCESS_LOCAL_WRITE, &mr);
 *   facet_rdma_cq_create(dev, &(struct facet_rdma_cq_init){ .cqe = 256 }, &cq);
 *   facet_rdma_qp_create(pd, &init, &qp);         (init.cap is written back)
 *   facet_rdma_qp_modify(qp, &attr, mask);        RESET -> INIT -> RTR -> RTS
 *   facet_rdma_post_recv(qp, &rwr, &bad);  facet_rdma_post_send(qp, &swr, &bad);
 *   n = facet_rdma_poll_cq(cq, 16, wc);
 *   ... destroy in reverse order, facet_rdma_dev_put(dev).
 *
 * Numbering: opcodes, statuses, access flags, QP states, attribute masks and
 * MTU codes have the values of the IB verbs ABI, and struct facet_rdma_wc,
 * struct facet_rdma_sge, struct facet_rdma_recv_wr and struct
 * facet_rdma_qp_cap have its layouts (pinned by static asserts), so a verbs
 * provider built on this library can pass its caller's arrays through
 * without conversion. No libibverbs type is used or needed.
 *
 * Datapath: facet_rdma_post_send(), facet_rdma_post_recv(),
 * facet_rdma_poll_cq() and facet_rdma_req_notify_cq() are inline and cost
 * one indirect call into the driver: no lock, syscall, allocation or log.
 * One QP's send queue is posted by one thread at a time (and its receive
 * queue by one thread at a time); one CQ is polled by one thread at a time.
 * Different QPs and CQs are independent.
 *
 * Control functions are thread-safe and serialized per device. A device can
 * go away under the application (its slice is unbound): the library then
 * destroys every object on the device, and the application's handles become
 * *detached*: control calls answer -ENODEV, the datapath calls return
 * -ENODEV, and destroy/free/dereg/put only release the handle. The memory of
 * registered MRs stays the application's, with its contents. Nothing may be
 * *running* on the datapath of a device while its slice is unbound, so stop
 * polling first (as with facet_eth ports).
 *
 * Errors are negative errno values with a log line (tag "rdma"), except on
 * the datapath, which returns errors without logging.
 */
#ifndef FACET_RDMA_H
#define FACET_RDMA_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct facet_bus;
struct facet_rdma_dev;
struct facet_rdma_pd;
struct facet_rdma_mr;
struct facet_rdma_cq;
struct facet_rdma_qp;
struct facet_rdma_ah;
struct facet_rdma_comp_channel;

/** Longest device name (the bus device name), NUL included. */
#define FACET_RDMA_NAME_MAX 64

/* ---- constants (IB verbs numbering) ------------------------------------------ */

/** Access rights of an MR, and remote rights of a QP (qp_access_flags). */
#define FACET_RDMA_ACCESS_LOCAL_WRITE	(1u << 0)
#define FACET_RDMA_ACCESS_REMOTE_WRITE	(1u << 1)
#define FACET_RDMA_ACCESS_REMOTE_READ	(1u << 2)
#define FACET_RDMA_ACCESS_REMOTE_ATOMIC (1u << 3)

/** Path MTU codes: payload bytes = 128 << code. */
enum facet_rdma_mtu {
	FACET_RDMA_MTU_256 = 1,
	FACET_RDMA_MTU_512 = 2,
	FACET_RDMA_MTU_1024 = 3,
	FACET_RDMA_MTU_2048 = 4,
	FACET_RDMA_MTU_4096 = 5,
};

/** Port states. */
enum facet_rdma_port_state {
	FACET_RDMA_PORT_DOWN = 1,
	FACET_RDMA_PORT_INIT = 2,
	FACET_RDMA_PORT_ARMED = 3,
	FACET_RDMA_PORT_ACTIVE = 4,
};

/** Link layer of a port (the only one: Ethernet, RoCEv2). */
#define FACET_RDMA_LINK_LAYER_ETHERNET 2

/** GID table entry types. */
enum facet_rdma_gid_type {
	FACET_RDMA_GID_TYPE_NONE = 0,	/**< empty slot */
	FACET_RDMA_GID_TYPE_ROCEV2 = 1, /**< RoCEv2 (UDP/IP) */
};

/** QP transport types. */
enum facet_rdma_qp_type {
	FACET_RDMA_QPT_RC = 2, /**< reliable connected */
	FACET_RDMA_QPT_UD = 4, /**< unreliable datagram */
};

/** QP states. */
enum facet_rdma_qp_state {
	FACET_RDMA_QPS_RESET = 0,
	FACET_RDMA_QPS_INIT = 1,
	FACET_RDMA_QPS_RTR = 2,
	FACET_RDMA_QPS_RTS = 3,
	FACET_RDMA_QPS_SQD = 4,
	FACET_RDMA_QPS_SQE = 5,
	FACET_RDMA_QPS_ERR = 6,
};

/** facet_rdma_qp_modify() / facet_rdma_qp_query() attribute mask. */
#define FACET_RDMA_QP_STATE		 (1u << 0)
#define FACET_RDMA_QP_CUR_STATE		 (1u << 1)
#define FACET_RDMA_QP_ACCESS_FLAGS	 (1u << 3)
#define FACET_RDMA_QP_PKEY_INDEX	 (1u << 4)
#define FACET_RDMA_QP_PORT		 (1u << 5)
#define FACET_RDMA_QP_QKEY		 (1u << 6)
#define FACET_RDMA_QP_AV		 (1u << 7)
#define FACET_RDMA_QP_PATH_MTU		 (1u << 8)
#define FACET_RDMA_QP_TIMEOUT		 (1u << 9)
#define FACET_RDMA_QP_RETRY_CNT		 (1u << 10)
#define FACET_RDMA_QP_RNR_RETRY		 (1u << 11)
#define FACET_RDMA_QP_RQ_PSN		 (1u << 12)
#define FACET_RDMA_QP_MAX_QP_RD_ATOMIC	 (1u << 13)
#define FACET_RDMA_QP_MIN_RNR_TIMER	 (1u << 15)
#define FACET_RDMA_QP_SQ_PSN		 (1u << 16)
#define FACET_RDMA_QP_MAX_DEST_RD_ATOMIC (1u << 17)
#define FACET_RDMA_QP_CAP		 (1u << 19) /**< query only */
#define FACET_RDMA_QP_DEST_QPN		 (1u << 20)

/** Send work request opcodes. */
enum facet_rdma_wr_opcode {
	FACET_RDMA_WR_RDMA_WRITE = 0,
	FACET_RDMA_WR_RDMA_WRITE_WITH_IMM = 1,
	FACET_RDMA_WR_SEND = 2,
	FACET_RDMA_WR_SEND_WITH_IMM = 3,
	FACET_RDMA_WR_RDMA_READ = 4,
	FACET_RDMA_WR_ATOMIC_CMP_AND_SWP = 5,
	FACET_RDMA_WR_ATOMIC_FETCH_AND_ADD = 6,
};

/** Send flags (struct facet_rdma_send_wr.send_flags). */
#define FACET_RDMA_SEND_FENCE	  (1u << 0) /**< wait for earlier READ/atomics */
#define FACET_RDMA_SEND_SIGNALED  (1u << 1) /**< complete with a work completion */
#define FACET_RDMA_SEND_SOLICITED (1u << 2) /**< solicited event at the receiver */
#define FACET_RDMA_SEND_INLINE	  (1u << 3) /**< copy the data into the WQE now */

/** Work completion opcodes. */
enum facet_rdma_wc_opcode {
	FACET_RDMA_WC_SEND = 0,
	FACET_RDMA_WC_RDMA_WRITE = 1,
	FACET_RDMA_WC_RDMA_READ = 2,
	FACET_RDMA_WC_COMP_SWAP = 3,
	FACET_RDMA_WC_FETCH_ADD = 4,
	FACET_RDMA_WC_RECV = 128,
	FACET_RDMA_WC_RECV_RDMA_WITH_IMM = 129,
};

/** Work completion status. */
enum facet_rdma_wc_status {
	FACET_RDMA_WC_SUCCESS = 0,
	FACET_RDMA_WC_LOC_LEN_ERR = 1,
	FACET_RDMA_WC_LOC_QP_OP_ERR = 2,
	FACET_RDMA_WC_LOC_PROT_ERR = 4,
	FACET_RDMA_WC_WR_FLUSH_ERR = 5,
	FACET_RDMA_WC_BAD_RESP_ERR = 7,
	FACET_RDMA_WC_LOC_ACCESS_ERR = 8,
	FACET_RDMA_WC_REM_INV_REQ_ERR = 9,
	FACET_RDMA_WC_REM_ACCESS_ERR = 10,
	FACET_RDMA_WC_REM_OP_ERR = 11,
	FACET_RDMA_WC_RETRY_EXC_ERR = 12,
	FACET_RDMA_WC_RNR_RETRY_EXC_ERR = 13,
	FACET_RDMA_WC_GENERAL_ERR = 21,
};

/** Work completion flags. */
#define FACET_RDMA_WC_GRH      (1u << 0) /**< UD receive: a 40-byte GRH leads the buffer */
#define FACET_RDMA_WC_WITH_IMM (1u << 1) /**< imm_data is valid */

/** Atomic capability (struct facet_rdma_dev_attr.atomic_cap). */
#define FACET_RDMA_ATOMIC_NONE 0
#define FACET_RDMA_ATOMIC_HCA  1 /**< atomic within this device */

/* ---- structures --------------------------------------------------------------- */

/** A GID: 16 bytes in network order (an IPv6 address, or IPv4-mapped ::ffff:a.b.c.d). */
union facet_rdma_gid {
	uint8_t raw[16];
	struct {
		uint64_t subnet_prefix; /**< network order */
		uint64_t interface_id;	/**< network order */
	} global;
};

/** What a device can do (limits from the device, what the library adds on top). */
struct facet_rdma_dev_attr {
	char driver[48];	 /**< driver name ("refnic_rdma") */
	char fw_ver[64];	 /**< device revision, as text */
	uint64_t node_guid;	 /**< EUI-64 of the MAC, network order */
	uint64_t sys_image_guid; /**< the same */
	uint64_t max_mr_size;	 /**< bytes */
	uint64_t page_size_cap;	 /**< page sizes MRs may use (bit n: 2^n) */
	uint32_t vendor_id;	 /**< PCI vendor id */
	uint32_t vendor_part_id; /**< PCI device id */
	uint32_t hw_ver;	 /**< PCI revision */
	uint32_t max_qp;
	uint32_t max_qp_wr; /**< work requests per queue (the smaller of send and receive) */
	uint32_t max_send_wr;
	uint32_t max_recv_wr;
	uint32_t max_send_sge;
	uint32_t max_recv_sge;
	uint32_t max_inline_data; /**< bytes of inline data a send may carry */
	uint32_t max_cq;
	uint32_t max_cqe;
	uint32_t max_mr;
	uint32_t max_pd;
	uint32_t max_ah;
	uint32_t max_qp_rd_atom;      /**< READ/atomics a QP accepts as responder */
	uint32_t max_qp_init_rd_atom; /**< READ/atomics a QP has outstanding as requester */
	uint32_t max_msg_size;	      /**< bytes of one message */
	uint32_t atomic_cap;	      /**< FACET_RDMA_ATOMIC_* */
	uint8_t phys_port_cnt;	      /**< 1 */
	uint8_t mac[6];		      /**< the function's MAC */
};

/** A port (there is one: port 1). */
struct facet_rdma_port_attr {
	enum facet_rdma_port_state state; /**< ACTIVE when the link is up, else DOWN */
	enum facet_rdma_mtu max_mtu;
	enum facet_rdma_mtu active_mtu; /**< largest path MTU for the port's current MTU */
	uint32_t max_msg_sz;
	uint16_t gid_tbl_len;
	uint16_t pkey_tbl_len; /**< 1: the default P_Key 0xffff */
	uint32_t speed_mbps;   /**< link speed, 0 when down */
	uint8_t link_layer;    /**< FACET_RDMA_LINK_LAYER_ETHERNET */
};

/** Scatter/gather element. Layout of the verbs ABI's. */
struct facet_rdma_sge {
	uint64_t addr;	 /**< virtual address inside the MR of lkey */
	uint32_t length; /**< bytes */
	uint32_t lkey;
};
static_assert(sizeof(struct facet_rdma_sge) == 16, "facet_rdma_sge is the verbs layout");

/**
 * Work completion. Layout and values of the verbs ABI's work completion
 * (48 bytes), so a provider can pass its caller's array through.
 */
struct facet_rdma_wc {
	uint64_t wr_id;
	uint32_t status;	/**< enum facet_rdma_wc_status */
	uint32_t opcode;	/**< enum facet_rdma_wc_opcode */
	uint32_t vendor_err;	/**< the device's detail for a bad status */
	uint32_t byte_len;	/**< receives, READ, atomics: bytes placed */
	uint32_t imm_data;	/**< network order, with FACET_RDMA_WC_WITH_IMM */
	uint32_t qp_num;	/**< the QP the work request belonged to */
	uint32_t src_qp;	/**< UD receives: the sender's QPN */
	uint32_t wc_flags;	/**< FACET_RDMA_WC_GRH, FACET_RDMA_WC_WITH_IMM */
	uint16_t pkey_index;	/**< 0 */
	uint16_t slid;		/**< 0 (RoCE has no LIDs) */
	uint8_t sl;		/**< 0 */
	uint8_t dlid_path_bits; /**< 0 */
};
static_assert(sizeof(struct facet_rdma_wc) == 48, "facet_rdma_wc is the verbs layout");
static_assert(offsetof(struct facet_rdma_wc, wc_flags) == 36, "facet_rdma_wc layout");

/** Receive work request, a list through @next. Layout of the verbs ABI's. */
struct facet_rdma_recv_wr {
	uint64_t wr_id;
	struct facet_rdma_recv_wr *next;
	struct facet_rdma_sge *sg_list;
	int num_sge;
};
static_assert(sizeof(struct facet_rdma_recv_wr) == 32, "facet_rdma_recv_wr is the verbs layout");

/** Send work request, a list through @next. */
struct facet_rdma_send_wr {
	uint64_t wr_id;
	struct facet_rdma_send_wr *next;
	struct facet_rdma_sge *sg_list;
	int num_sge;
	uint32_t opcode;     /**< enum facet_rdma_wr_opcode */
	uint32_t send_flags; /**< FACET_RDMA_SEND_* */
	uint32_t imm_data;   /**< network order: *_WITH_IMM */
	union {
		struct {
			uint64_t remote_addr;
			uint32_t rkey;
		} rdma; /**< RDMA_WRITE*, RDMA_READ */
		struct {
			uint64_t remote_addr; /**< 8-byte aligned */
			uint64_t compare_add; /**< CMP_AND_SWP: compare; FETCH_AND_ADD: add */
			uint64_t swap;
			uint32_t rkey;
		} atomic; /**< one SGE of 8 bytes receives the old value */
		struct {
			struct facet_rdma_ah *ah;
			uint32_t remote_qpn;
			uint32_t remote_qkey;
		} ud; /**< UD sends */
	} wr;
};

/** Capacities of a QP: asked for at creation, written back with what it got. */
struct facet_rdma_qp_cap {
	uint32_t max_send_wr;
	uint32_t max_recv_wr;
	uint32_t max_send_sge;
	uint32_t max_recv_sge;
	uint32_t max_inline_data;
};
static_assert(sizeof(struct facet_rdma_qp_cap) == 20, "facet_rdma_qp_cap is the verbs layout");

/** QP creation. */
struct facet_rdma_qp_init_attr {
	void *qp_context; /**< the application's, see facet_rdma_qp_context() */
	struct facet_rdma_cq *send_cq;
	struct facet_rdma_cq *recv_cq;
	struct facet_rdma_qp_cap cap; /**< in: wanted (0 SGEs means 1); out: granted */
	enum facet_rdma_qp_type qp_type;
	bool sq_sig_all; /**< every send completes, SIGNALED or not */
};

/**
 * Address vector: where a QP (RC) or an AH (UD) sends. RoCEv2 is always
 * "global": the source is the local GID at @sgid_index, the destination
 * @dgid. The next hop's MAC is @dmac; all zero means "resolve it": from a
 * link-local @dgid (fe80::EUI-64, which carries the MAC), or from another
 * facet_rdma device of this process whose GID table holds @dgid.
 */
struct facet_rdma_ah_attr {
	union facet_rdma_gid dgid;
	uint32_t flow_label; /**< 20 bits */
	uint8_t sgid_index;
	uint8_t hop_limit; /**< 0: 64 */
	uint8_t traffic_class;
	uint8_t port_num; /**< 0 or 1 */
	uint8_t dmac[6];
};

/** QP attributes (facet_rdma_qp_modify() uses the ones in its mask). */
struct facet_rdma_qp_attr {
	enum facet_rdma_qp_state qp_state;     /**< FACET_RDMA_QP_STATE: target state */
	enum facet_rdma_qp_state cur_qp_state; /**< FACET_RDMA_QP_CUR_STATE: asserted current */
	enum facet_rdma_mtu path_mtu;	       /**< FACET_RDMA_QP_PATH_MTU (RC) */
	uint32_t qkey;			       /**< FACET_RDMA_QP_QKEY (UD) */
	uint32_t rq_psn;		       /**< FACET_RDMA_QP_RQ_PSN, 24 bits */
	uint32_t sq_psn;		       /**< FACET_RDMA_QP_SQ_PSN, 24 bits */
	uint32_t dest_qp_num;		       /**< FACET_RDMA_QP_DEST_QPN (RC) */
	uint32_t qp_access_flags;	       /**< FACET_RDMA_QP_ACCESS_FLAGS: REMOTE_* */
	struct facet_rdma_qp_cap cap;	       /**< query only */
	struct facet_rdma_ah_attr ah_attr;     /**< FACET_RDMA_QP_AV (RC) */
	uint16_t pkey_index;		       /**< FACET_RDMA_QP_PKEY_INDEX: 0 */
	uint8_t port_num;		       /**< FACET_RDMA_QP_PORT: 1 */
	uint8_t max_rd_atomic;		       /**< FACET_RDMA_QP_MAX_QP_RD_ATOMIC */
	uint8_t max_dest_rd_atomic;	       /**< FACET_RDMA_QP_MAX_DEST_RD_ATOMIC */
	uint8_t min_rnr_timer;		       /**< FACET_RDMA_QP_MIN_RNR_TIMER */
	uint8_t timeout;   /**< FACET_RDMA_QP_TIMEOUT: 4.096 us * 2^n, 0: none */
	uint8_t retry_cnt; /**< FACET_RDMA_QP_RETRY_CNT: 0..7 */
	uint8_t rnr_retry; /**< FACET_RDMA_QP_RNR_RETRY: 0..7, 7 infinite */
	bool sq_sig_all;   /**< query only */
};

/** CQ creation. */
struct facet_rdma_cq_init {
	uint32_t cqe;	  /**< entries wanted (at least; the CQ may get more) */
	void *cq_context; /**< the application's, returned by facet_rdma_get_cq_event() */
	/** Event mode: armed completions are announced on this channel (NULL: polling only). */
	struct facet_rdma_comp_channel *channel;
};

/* ---- fast path ------------------------------------------------------------------ */

/**
 * The datapath table at the start of every QP: what the inline post calls
 * read. A detached QP's entries return -ENODEV.
 */
struct facet_rdma_qp_fp {
	int (*post_send)(void *ctx, struct facet_rdma_send_wr *wr,
			 struct facet_rdma_send_wr **bad_wr);
	int (*post_recv)(void *ctx, struct facet_rdma_recv_wr *wr,
			 struct facet_rdma_recv_wr **bad_wr);
	void *ctx; /**< the driver's QP */
};

/** The datapath table at the start of every CQ. */
struct facet_rdma_cq_fp {
	int (*poll)(void *ctx, int n, struct facet_rdma_wc *wc);
	int (*arm)(void *ctx, bool solicited_only);
	void *ctx; /**< the driver's CQ */
};

/**
 * Post a list of send work requests on @qp's send queue and ring the doorbell
 * once. Returns 0, or on the first request that cannot be posted sets
 * *@bad_wr to it and returns -ENOMEM (send queue full), -EINVAL (bad request:
 * too many SGEs, inline data too long, opcode not valid for the QP type,
 * UD without an AH; or the QP is in RESET, INIT or RTR), or -ENODEV
 * (detached); the requests before it are posted. In ERR requests are
 * taken and complete flushed. No lock, no syscall unless the device sleeps.
 *
 * Unsignaled requests (no FACET_RDMA_SEND_SIGNALED, QP without sq_sig_all)
 * make no work completion on success; their slots are freed when a later
 * signaled request completes, so signal at least once per send queue depth.
 */
static inline int facet_rdma_post_send(struct facet_rdma_qp *qp, struct facet_rdma_send_wr *wr,
				       struct facet_rdma_send_wr **bad_wr)
{
	const struct facet_rdma_qp_fp *fp = (const struct facet_rdma_qp_fp *)qp;

	return fp->post_send(fp->ctx, wr, bad_wr);
}

/**
 * Post a list of receive work requests on @qp's receive queue. Returns 0, or
 * sets *@bad_wr and returns -ENOMEM (full), -EINVAL (too many SGEs, or the
 * QP is in RESET) or -ENODEV, as facet_rdma_post_send().
 */
static inline int facet_rdma_post_recv(struct facet_rdma_qp *qp, struct facet_rdma_recv_wr *wr,
				       struct facet_rdma_recv_wr **bad_wr)
{
	const struct facet_rdma_qp_fp *fp = (const struct facet_rdma_qp_fp *)qp;

	return fp->post_recv(fp->ctx, wr, bad_wr);
}

/**
 * Take up to @n work completions from @cq into @wc. Returns how many (0 if
 * none), or -ENODEV (detached, or the device died: noticed after a few hundred
 * empty polls) / -EIO (the CQ overran and stopped). Frees the send and receive
 * queue slots of the completed requests.
 */
static inline int facet_rdma_poll_cq(struct facet_rdma_cq *cq, int n, struct facet_rdma_wc *wc)
{
	const struct facet_rdma_cq_fp *fp = (const struct facet_rdma_cq_fp *)cq;

	return fp->poll(fp->ctx, n, wc);
}

/**
 * Arm @cq: the next completion (@solicited_only: the next solicited or
 * error completion) is announced on the CQ's completion channel. Returns 0,
 * -EINVAL (the CQ has no channel) or -ENODEV. Completions already in the CQ
 * do not count: poll after arming to close the race.
 */
static inline int facet_rdma_req_notify_cq(struct facet_rdma_cq *cq, bool solicited_only)
{
	const struct facet_rdma_cq_fp *fp = (const struct facet_rdma_cq_fp *)cq;

	return fp->arm(fp->ctx, solicited_only);
}

/* ---- devices ----------------------------------------------------------------------- */

/**
 * Find the device named @name ("refnic.rdma.0") and take a reference. With
 * @bus not NULL only devices on that bus match. NULL if there is none (the
 * slice is not bound to an RDMA driver).
 */
struct facet_rdma_dev *facet_rdma_dev_get(struct facet_bus *bus, const char *name);

/** Take one more reference on @dev. */
void facet_rdma_dev_ref(struct facet_rdma_dev *dev);

/** Drop a reference. Objects of the device keep their own references. */
void facet_rdma_dev_put(struct facet_rdma_dev *dev);

/**
 * Call @fn for each registered device (of @bus, or all with NULL) in
 * registration order, holding a reference during the call. Return non-zero
 * from @fn to stop; that value is returned.
 */
int facet_rdma_dev_for_each(struct facet_bus *bus, int (*fn)(struct facet_rdma_dev *dev, void *arg),
			    void *arg);

/** The device's name, its bus device's. Valid while a reference is held. */
const char *facet_rdma_dev_name(const struct facet_rdma_dev *dev);

/** True until the driver unregistered the device (its slice was unbound). */
bool facet_rdma_dev_is_attached(const struct facet_rdma_dev *dev);

/** Fill @attr. Returns 0 or -ENODEV. */
int facet_rdma_query_device(struct facet_rdma_dev *dev, struct facet_rdma_dev_attr *attr);

/**
 * Fill @attr of port @port (1). Returns 0, -EINVAL (no such port), -ENODEV
 * (detached, or the device is gone: its process died) or the device's error.
 */
int facet_rdma_query_port(struct facet_rdma_dev *dev, uint8_t port,
			  struct facet_rdma_port_attr *attr);

/**
 * Read GID table entry @index of port @port. An empty entry reads as all
 * zero with type NONE. @type may be NULL. Returns 0, -EINVAL (index out of
 * range), -ENODEV or -EIO.
 */
int facet_rdma_query_gid(struct facet_rdma_dev *dev, uint8_t port, unsigned int index,
			 union facet_rdma_gid *gid, enum facet_rdma_gid_type *type);

/**
 * Write GID table entry @index (e.g. an IPv4-mapped address at index 1,
 * as rxe has it); type NONE clears it. Entry 0 is the link-local GID the
 * device derives from its MAC. Returns 0, -EINVAL, -ENODEV or -EIO.
 */
int facet_rdma_set_gid(struct facet_rdma_dev *dev, unsigned int index,
		       const union facet_rdma_gid *gid, enum facet_rdma_gid_type type);

/** Fill @gid with the IPv4-mapped GID ::ffff:@ipv4 (@ipv4 in host order: 10.0.0.1 = 0x0a000001). */
static inline void facet_rdma_gid_from_ipv4(union facet_rdma_gid *gid, uint32_t ipv4)
{
	for (unsigned int i = 0; i < 10; i++)
		gid->raw[i] = 0;
	gid->raw[10] = 0xff;
	gid->raw[11] = 0xff;
	gid->raw[12] = (uint8_t)(ipv4 >> 24);
	gid->raw[13] = (uint8_t)(ipv4 >> 16);
	gid->raw[14] = (uint8_t)(ipv4 >> 8);
	gid->raw[15] = (uint8_t)ipv4;
}

/**
 * The MAC a link-local GID carries: fe80::/64 with an EUI-64 interface id
 * (ff:fe in the middle, the universal/local bit inverted), as GID 0 of every
 * port is. Returns false, leaving @mac alone, for any other GID.
 */
static inline bool facet_rdma_gid_to_mac(const union facet_rdma_gid *gid, uint8_t mac[6])
{
	const uint8_t *g = gid->raw;

	if (g[0] != 0xfe || (g[1] & 0xc0) != 0x80 || g[11] != 0xff || g[12] != 0xfe)
		return false;
	for (unsigned int i = 2; i < 8; i++) {
		if (g[i])
			return false;
	}
	mac[0] = g[8] ^ 0x02;
	mac[1] = g[9];
	mac[2] = g[10];
	mac[3] = g[13];
	mac[4] = g[14];
	mac[5] = g[15];
	return true;
}

/* ---- protection domains ------------------------------------------------------------ */

/** Allocate a PD on @dev. Returns 0, -ENOMEM / -ENOSPC (device limit), -ENODEV, -EIO. */
int facet_rdma_pd_alloc(struct facet_rdma_dev *dev, struct facet_rdma_pd **pd);

/** Free @pd. Returns 0, or -EBUSY (MRs, QPs or AHs use it; nothing is freed). */
int facet_rdma_pd_free(struct facet_rdma_pd *pd);

/** The device of @pd. */
struct facet_rdma_dev *facet_rdma_pd_dev(const struct facet_rdma_pd *pd);

/* ---- memory regions ---------------------------------------------------------------- */

/**
 * Register [@addr, @addr + @length) of this process for RDMA with the
 * rights @access (FACET_RDMA_ACCESS_*; REMOTE_WRITE and REMOTE_ATOMIC need
 * LOCAL_WRITE). The device reaches it through the DMA space of its PCI
 * device. Returns 0 and sets *@mr, or -EINVAL (bad range or rights),
 * -EFAULT (not mapped readable and writable), -ENOSPC, -ENOMEM, -ENODEV,
 * -EIO.
 *
 * Any memory works: malloc, mmap, stack-free static data, facet DMA memory.
 * For the device (another process, with vfio-user) to map the pages, they
 * must have a file behind them. Private anonymous memory (malloc, anonymous
 * mmap) therefore has its page-aligned range moved, in place, into a file
 * the library keeps: same addresses, same contents, now MAP_SHARED. What
 * this means for the application:
 * - the conversion lasts while an MR covers the page: when the last one is
 *   deregistered, facet_rdma_mr_dereg() moves the page back into private
 *   anonymous memory (same address, same contents);
 * - meanwhile a fork()ed child shares these pages with the parent instead
 *   of getting a copy (as with verbs' fork support, do not use MR memory
 *   from both);
 * - other threads must not write to the range (including the rest of its
 *   first and last pages, e.g. neighbouring malloc blocks) while
 *   facet_rdma_mr_reg() or facet_rdma_mr_dereg() runs: a write could be
 *   lost. That is a caller bug;
 * - the pages are faulted in (memory is committed for the whole range).
 * Memory already shared and file-backed is used as it is when the library
 * can reach its file; otherwise the device reaches it through slower DMA
 * messages.
 */
int facet_rdma_mr_reg(struct facet_rdma_pd *pd, void *addr, size_t length, uint32_t access,
		      struct facet_rdma_mr **mr);

/**
 * Deregister @mr: the device stops accessing the memory. Returns 0; the
 * handle is released even when the device refuses (that is logged).
 */
int facet_rdma_mr_dereg(struct facet_rdma_mr *mr);

/** Local key of @mr (SGEs). */
uint32_t facet_rdma_mr_lkey(const struct facet_rdma_mr *mr);
/** Remote key of @mr (what peers put in RDMA and atomic requests). */
uint32_t facet_rdma_mr_rkey(const struct facet_rdma_mr *mr);
/** Start and length of @mr as registered. */
void *facet_rdma_mr_addr(const struct facet_rdma_mr *mr);
size_t facet_rdma_mr_length(const struct facet_rdma_mr *mr);

/* ---- completion channels and queues --------------------------------------------------- */

/**
 * Create a completion channel on @dev: a file descriptor that becomes
 * readable when an armed CQ attached to it gets a completion. Returns 0,
 * -EOPNOTSUPP (the device cannot interrupt; the log says why), -ENOMEM,
 * -ENODEV.
 */
int facet_rdma_comp_channel_create(struct facet_rdma_dev *dev,
				   struct facet_rdma_comp_channel **channel);

/** Destroy @channel. Returns 0 or -EBUSY (CQs still use it). */
int facet_rdma_comp_channel_destroy(struct facet_rdma_comp_channel *channel);

/** The channel's file descriptor (poll it for POLLIN; it may be made non-blocking). */
int facet_rdma_comp_channel_fd(const struct facet_rdma_comp_channel *channel);

/**
 * Wait up to @timeout_ms (-1: forever; 0: do not wait) for an event on
 * @channel and return its CQ and cq_context. Each event must be acknowledged
 * with facet_rdma_ack_cq_events() before the CQ is destroyed; the CQ must
 * be armed again for the next one. Returns 0, -EAGAIN (no event in time),
 * -EINTR, -ENODEV.
 */
int facet_rdma_get_cq_event(struct facet_rdma_comp_channel *channel, int timeout_ms,
			    struct facet_rdma_cq **cq, void **cq_context);

/** Acknowledge @nevents events of @cq taken with facet_rdma_get_cq_event(). */
void facet_rdma_ack_cq_events(struct facet_rdma_cq *cq, unsigned int nevents);

/**
 * Create a CQ of at least @init->cqe entries (1 .. max_cqe). Returns 0 and
 * sets *@cq, or -EINVAL, -ENOSPC (device limit or no interrupt vector left
 * for event mode), -ENOMEM, -ENODEV, -EIO.
 */
int facet_rdma_cq_create(struct facet_rdma_dev *dev, const struct facet_rdma_cq_init *init,
			 struct facet_rdma_cq **cq);

/**
 * Destroy @cq. Returns 0, or -EBUSY (QPs use it, or events taken but not
 * acknowledged; nothing is freed).
 */
int facet_rdma_cq_destroy(struct facet_rdma_cq *cq);

/** Entries @cq holds (at least what was asked for). */
uint32_t facet_rdma_cq_size(const struct facet_rdma_cq *cq);

/** The cq_context given at creation. */
void *facet_rdma_cq_context(const struct facet_rdma_cq *cq);

/* ---- queue pairs --------------------------------------------------------------------- */

/**
 * Create a QP on @pd with the CQs and capacities of @init (queues sized to
 * powers of two; @init->cap is written back with what the QP got, which is
 * at least what was asked). The QP starts in RESET. Returns 0 and sets
 * *@qp, or -EINVAL (bad type, capacities beyond the device's, CQs of
 * another device), -ENOSPC, -ENOMEM, -ENODEV, -EIO.
 */
int facet_rdma_qp_create(struct facet_rdma_pd *pd, struct facet_rdma_qp_init_attr *init,
			 struct facet_rdma_qp **qp);

/**
 * Change @qp's attributes in @mask (FACET_RDMA_QP_*), usually its state:
 * RESET -> INIT (PKEY_INDEX, PORT, ACCESS_FLAGS; UD: QKEY), INIT -> RTR
 * (RC: AV, PATH_MTU, DEST_QPN, RQ_PSN, MAX_DEST_RD_ATOMIC, MIN_RNR_TIMER),
 * RTR -> RTS (SQ_PSN; RC: TIMEOUT, RETRY_CNT, RNR_RETRY, MAX_QP_RD_ATOMIC),
 * any -> ERR or RESET. Returns 0, -EINVAL (a transition or attribute the
 * device does not allow: nothing changes), -EHOSTUNREACH (the AV's MAC
 * cannot be resolved), -ENODEV, -EIO. Moving to RESET discards every
 * outstanding work request without completions.
 */
int facet_rdma_qp_modify(struct facet_rdma_qp *qp, const struct facet_rdma_qp_attr *attr,
			 uint32_t mask);

/**
 * Read @qp's attributes (all of them; @mask is accepted for symmetry) into
 * @attr, and its creation attributes into @init if not NULL. Returns 0,
 * -ENODEV, -EIO.
 */
int facet_rdma_qp_query(struct facet_rdma_qp *qp, struct facet_rdma_qp_attr *attr, uint32_t mask,
			struct facet_rdma_qp_init_attr *init);

/**
 * Destroy @qp (outstanding work requests are dropped). Returns 0; the handle
 * is released even when the device refuses (logged).
 */
int facet_rdma_qp_destroy(struct facet_rdma_qp *qp);

/** The QP number (24 bits) peers address. */
uint32_t facet_rdma_qp_num(const struct facet_rdma_qp *qp);

/** The qp_context given at creation. */
void *facet_rdma_qp_context(const struct facet_rdma_qp *qp);

/** The QP's state as last set or queried (the device may have moved it to ERR since). */
enum facet_rdma_qp_state facet_rdma_qp_state(const struct facet_rdma_qp *qp);

/* ---- address handles ---------------------------------------------------------------------- */

/**
 * Create an address handle for UD sends (see struct facet_rdma_ah_attr).
 * Returns 0 and sets *@ah, or -EINVAL, -EHOSTUNREACH (no MAC for the
 * destination), -ENOSPC, -ENOMEM, -ENODEV, -EIO.
 */
int facet_rdma_ah_create(struct facet_rdma_pd *pd, const struct facet_rdma_ah_attr *attr,
			 struct facet_rdma_ah **ah);

/**
 * Destroy @ah (UD sends naming it must have completed). Returns 0; the
 * handle is released even when the device refuses (logged).
 */
int facet_rdma_ah_destroy(struct facet_rdma_ah *ah);

/* ---- text ----------------------------------------------------------------------------------- */

/** Name of a work completion status ("success", "remote access error", ...). */
const char *facet_rdma_wc_status_str(enum facet_rdma_wc_status status);

#ifdef __cplusplus
}
#endif

#endif /* FACET_RDMA_H */
