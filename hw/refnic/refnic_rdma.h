/* SPDX-License-Identifier: MIT */
/*
 * Private to the RDMA engine of the refnic model (docs/refnic.md §16,
 * refnic_hw_rdma.h). One file per concern:
 *
 *   refnic_rdma_obj.c   per-function state, PDs, MRs (key -> IOVA), AHs, GIDs,
 *                       QUERY_RDMA_CAPS, latched asynchronous events
 *   refnic_rdma_qp.c    QP commands and the state machine; ERR and flushing
 *   refnic_rdma_cq.c    the CQ queue type: CQEs with phase, arming, overrun
 *   refnic_rdma_wire.c  RoCEv2 framing: headers, parsing, ICRC (CRC-32)
 *   refnic_rdma_req.c   the requester: WQEs to packets, ACK/NAK, READ and
 *                       atomic responses, retransmission, RNR
 *   refnic_rdma_resp.c  the responder: requests, receive WQEs, placement,
 *                       duplicates, responder resources, ACK/NAK and READ
 *                       response generation
 *   refnic_rdma_eng.c   the engine: the worker's poll, frame batches into the
 *                       switch, frames from the switch, timers
 *
 * Everything runs under sys->lock (the worker's pass, or an admin command).
 * The datapath (poll, receive) additionally holds the device's DMA read lock
 * (refnic_dp_lock()) and never drops sys->lock; event posting, which may, is
 * done at the top of the poll outside it.
 *
 * Receive never sends: it records what the QP owes (ACKs, NAKs, READ and
 * atomic responses) and the QP's next poll sends it. That keeps the
 * engine free of recursion through the switch.
 */
#ifndef REFNIC_RDMA_H
#define REFNIC_RDMA_H

#include "refnic_priv.h"

/* Limits (QUERY_RDMA_CAPS). */
#define RDMA_MAX_PD	  256
#define RDMA_MAX_MR	  1024 /* key = index << 8 | tag */
#define RDMA_MAX_QP	  64
#define RDMA_MAX_AH	  256
#define RDMA_MAX_CQ	  32
#define RDMA_SQ_LOG_MAX	  13
#define RDMA_RQ_LOG_MAX	  13
#define RDMA_CQ_LOG_MIN	  1
#define RDMA_CQ_LOG_MAX	  16
#define RDMA_MAX_RD_ATOM  16
#define RDMA_MAX_MR_SIZE  (1ull << 40)
#define RDMA_MAX_MSG	  (1u << 31)
#define RDMA_GID_TBL	  16
#define RDMA_CQ_IDX_MASK  REFNIC_CQ_DB_CI_MASK
#define RDMA_PSN_MASK	  0xffffffu
#define RDMA_QPN_MASK	  0xffffffu
#define RDMA_PKEY_DEFAULT 0xffffu

/* QP doorbells in the function's page: SQ at +0, RQ at +8 (docs §16.5). */
#define RDMA_QP_DB_BASE	 0x900u
#define RDMA_QP_DB_SQ(i) (RDMA_QP_DB_BASE + 16u * (i))
#define RDMA_QP_DB_RQ(i) (RDMA_QP_DB_SQ(i) + 8u)

/* Engine tuning. */
#define RDMA_WINDOW	  1024u /* packets a requester may have unacknowledged */
#define RDMA_QP_BUDGET	  64u	/* packets a QP sends per pass */
#define RDMA_ACKREQ_EVERY 64u	/* AckReq at least this often inside long messages */
#define RDMA_FRAME_BUF	  4352u /* one frame: headers + 4096 payload + ICRC */
#define RDMA_RSPQ	  64u	/* responses a responder may owe */
#define RDMA_EVQ	  16u	/* latched asynchronous events per function */

/* BTH opcodes within a transport group (IB spec numbering). */
enum rdma_bth_op {
	OP_SEND_FIRST = 0x00,
	OP_SEND_MIDDLE = 0x01,
	OP_SEND_LAST = 0x02,
	OP_SEND_LAST_IMM = 0x03,
	OP_SEND_ONLY = 0x04,
	OP_SEND_ONLY_IMM = 0x05,
	OP_WRITE_FIRST = 0x06,
	OP_WRITE_MIDDLE = 0x07,
	OP_WRITE_LAST = 0x08,
	OP_WRITE_LAST_IMM = 0x09,
	OP_WRITE_ONLY = 0x0a,
	OP_WRITE_ONLY_IMM = 0x0b,
	OP_READ_REQ = 0x0c,
	OP_READ_FIRST = 0x0d,
	OP_READ_MIDDLE = 0x0e,
	OP_READ_LAST = 0x0f,
	OP_READ_ONLY = 0x10,
	OP_ACK = 0x11,
	OP_ATOMIC_ACK = 0x12,
	OP_CMP_SWAP = 0x13,
	OP_FETCH_ADD = 0x14,
};
#define BTH_GRP_RC 0x00
#define BTH_GRP_UD 0x60

/* Header sizes. */
#define BTH_LEN	     12
#define RETH_LEN     16
#define AETH_LEN     4
#define ATOMETH_LEN  28
#define ATOMACK_LEN  8
#define IMM_LEN	     4
#define DETH_LEN     8
#define ICRC_LEN     4
#define GRH_LEN	     40
#define RDMA_HDR_MAX (14 + 40 + 8)	     /* Ethernet, IPv6, UDP */
#define RDMA_EXT_MAX (BTH_LEN + ATOMETH_LEN) /* the longest BTH + extensions */

/* AETH syndromes. */
#define AETH_ACK_UNLIMITED 0x1f
#define AETH_RNR_NAK	   0x20
#define AETH_NAK_SEQ	   0x60
#define AETH_NAK_INV_REQ   0x61
#define AETH_NAK_ACCESS	   0x62
#define AETH_NAK_OP	   0x63

static inline uint32_t psn_add(uint32_t psn, uint32_t n)
{
	return (psn + n) & RDMA_PSN_MASK;
}

/* a - b in the 24-bit PSN space, as a signed distance. */
static inline int32_t psn_diff(uint32_t a, uint32_t b)
{
	return (int32_t)((a - b) << 8) >> 8;
}

/* Where a QP (RC) or an AH (UD) sends: the AV as given, and a header template. */
struct rdma_path {
	struct refnic_av av;
	bool v4;
	uint8_t hdr_len;	   /* Ethernet + IP + UDP */
	uint8_t hdr[RDMA_HDR_MAX]; /* smac, lengths, IPv4 checksum filled per packet */
	uint8_t sip[16], dip[16];  /* IPv6, or IPv4 in bytes 12..15 */
};

struct rdma_mr {
	bool used;
	uint32_t key;
	uint32_t pdn;
	uint32_t access;
	uint64_t va, len, iova;
};

struct rdma_ah {
	bool used;
	uint32_t pdn;
	struct rdma_path path;
};

/* The device's copy of a send WQE it has fetched. */
struct rdma_swqe {
	struct refnic_send_wqe w;
	uint32_t psn;	/* first PSN */
	uint32_t npkts; /* PSNs it spans (READ: its response packets) */
	uint32_t len;	/* message bytes */
	uint8_t status; /* a local error: completes with it when its turn comes */
	uint8_t verr;
	bool rd;   /* READ or atomic: completes with its response */
	bool done; /* READ/atomic response fully placed */
};

/* A response a responder owes, kept in PSN order. */
enum rdma_rsp_kind { RSP_ACK = 1, RSP_READ, RSP_ATOMIC };

struct rdma_rsp {
	uint8_t kind;
	uint8_t syndrome; /* ACK: AETH syndrome (ACK or NAK) */
	uint32_t psn;	  /* ACK: PSN acknowledged; READ/ATOMIC: first response PSN */
	uint32_t rkey;	  /* READ */
	uint32_t len;
	uint32_t off; /* READ: bytes already sent */
	uint64_t va;
	uint64_t orig; /* ATOMIC: the value before the operation */
};

/* Responder resources: the last READ/atomic requests, for duplicates. */
struct rdma_res {
	uint8_t kind; /* 0, RSP_READ, RSP_ATOMIC */
	uint32_t psn, npkts;
	uint64_t orig;
};

struct rdma_qp {
	uint32_t qpn;
	unsigned int idx;
	uint8_t type, state;
	uint8_t flags;
	uint8_t sq_log, rq_log;
	uint32_t pdn, scqn, rcqn;
	uint64_t sq_iova, rq_iova;

	/* attributes */
	uint32_t access, qkey, dest_qpn;
	uint8_t path_mtu, timeout, retry_cnt, rnr_retry, min_rnr_timer;
	uint8_t max_rd_atomic, max_dest_rd_atomic;
	uint32_t pmtu; /* bytes */
	struct rdma_path path;

	/* requester: WQE counters are free-running, ring index = counter & mask */
	struct rdma_swqe *swqe;
	uint32_t sq_seen; /* the SQ doorbell value last looked at */
	uint32_t sq_fetch, tx_idx, sq_comp;
	uint32_t tx_pkt; /* next packet of the WQE at tx_idx */
	uint32_t npsn;	 /* PSN of the next packet sent */
	uint32_t una;	 /* oldest PSN not acknowledged */
	uint32_t rd_out; /* READ/atomic WQEs sent, not complete */
	uint32_t noack;	 /* packets since the last AckReq */
	uint32_t fpsn;	 /* first PSN of the next WQE fetched */
	uint32_t spsn;	 /* one past the highest PSN sent */
	bool resync;	 /* went back for a gap: ignore responses until una arrives */
	uint8_t retry_left, rnr_left;
	uint64_t rto_at; /* retransmission deadline (ns), 0: off */
	uint64_t rnr_at; /* RNR wait ends (ns), 0: not waiting */

	/* responder */
	uint32_t rq_seen, rq_ci; /* rq_ci: free-running, the oldest receive WQE not completed */
	uint32_t epsn, msn;
	bool nak_sent;	/* a NAK is out: out-of-sequence packets are dropped silently */
	uint8_t in_op;	/* message in progress: 0, or a SEND or WRITE (refnic_rdma_resp.c) */
	bool rwqe_held; /* rwqe (at rq_ci) is being filled by a SEND */
	struct refnic_recv_wqe rwqe;
	uint32_t recv_off;
	uint64_t wr_va;
	uint32_t wr_rkey, wr_len, wr_off;
	struct rdma_res res[RDMA_MAX_RD_ATOM];
	unsigned int res_next;
	struct rdma_rsp rsp[RDMA_RSPQ];
	unsigned int rsp_head, rsp_tail; /* free-running */
	unsigned int rsp_rd;		 /* READ/ATOMIC entries queued */
	bool resp_err;			 /* a fatal NAK is queued: ERR once it is sent */
	bool flush;			 /* ERR/SQE: outstanding WQEs to flush */
};

struct rdma_event {
	uint8_t type;
	uint64_t data;
};

/* A function's RDMA engine (fn->rdma), allocated on its first RDMA command. */
struct refnic_rdma {
	bool pd_used[RDMA_MAX_PD];
	uint32_t pd_refs[RDMA_MAX_PD];
	struct rdma_mr mr[RDMA_MAX_MR];
	uint8_t mr_tag;
	struct rdma_ah ah[RDMA_MAX_AH];
	struct rdma_qp *qp[RDMA_MAX_QP];
	/* Live objects, kept as they come and go: QUERY_STATS reports them without a scan. */
	unsigned int npd, nmr, nah, nqp;
	uint16_t qp_seq;
	uint16_t cq_refs[REFNIC_FUNC_MAX_QUEUES];
	struct refnic_gid_entry gid[RDMA_GID_TBL];
	struct rdma_event ev[RDMA_EVQ];
	unsigned int nev;
	uint64_t rx_drops; /* frames the engine dropped (bad ICRC, no QP, ...), for debugging */
};

/* A device's frame batch (dev->rdma): frames go to the switch REFNIC_BURST at a time. */
struct refnic_rdma_dev {
	uint8_t *mem;
	struct refnic_frame frames[REFNIC_BURST];
	struct refnic_func *src[REFNIC_BURST];
	unsigned int n;
	uint64_t now; /* ns, taken once per pass */
};

/* A parsed RoCEv2 packet. */
struct rdma_pkt {
	const uint8_t *ip;
	bool v4;
	uint8_t opcode; /* full BTH opcode */
	uint8_t op;	/* within the group */
	bool se, ackreq;
	uint32_t qpn, psn;
	const uint8_t *payload;
	uint32_t paylen;
	/* extension headers (what the opcode has) */
	uint64_t va;
	uint32_t rkey, dmalen;
	uint8_t syndrome;
	uint32_t msn;
	uint64_t swap_add, compare, orig;
	uint32_t imm; /* wire order */
	bool has_imm;
	uint32_t qkey, src_qp;
};

/* Per-opcode header flags (refnic_rdma_wire.c). */
#define OPF_RETH     (1u << 0)
#define OPF_AETH     (1u << 1)
#define OPF_ATOMETH  (1u << 2)
#define OPF_ATOMACK  (1u << 3)
#define OPF_IMM	     (1u << 4)
#define OPF_DETH     (1u << 5)
#define OPF_PAYLOAD  (1u << 6)
#define OPF_FIRST    (1u << 7)
#define OPF_LAST     (1u << 8)
#define OPF_VALID    (1u << 9)
#define OPF_RESPONSE (1u << 10)
uint16_t rdma_op_flags(uint8_t opcode);

/* refnic_rdma_obj.c */
struct refnic_rdma *rdma_get(struct refnic_func *fn); /* allocates on first use; NULL: no memory */
void rdma_event_latch(struct refnic_func *fn, uint8_t type, uint64_t data);
void rdma_gid_default(struct refnic_func *fn);
bool rdma_pd_valid(const struct refnic_rdma *r, uint32_t pdn);
uint8_t rdma_active_mtu(const struct refnic_func *fn);
/* Resolve an AV: REFNIC_STATUS_OK or INVALID_FIELD. */
uint8_t rdma_path_set(struct refnic_func *fn, const struct refnic_av *av, struct rdma_path *p);
/*
 * [va, va + len) through the MR of @key (PD @pdn) with rights @need: 0 and
 * *iova, or a REFNIC_RDMA_VERR_*. len 0 is always fine (no access).
 */
uint8_t rdma_mr_iova(const struct refnic_rdma *r, uint32_t key, uint32_t pdn, uint64_t va,
		     uint64_t len, uint32_t need, uint64_t *iova);
const struct rdma_ah *rdma_ah_get(const struct refnic_rdma *r, uint32_t ahn);
/* A command's input buffer of exactly @size bytes: a REFNIC_STATUS_* or -ECANCELED. */
int rdma_cmd_read(struct refnic_dev *dev, const struct refnic_sqe *sqe, void *obj, size_t size);
/* The payload of the commands that name one object: its id, or INVALID_FIELD. */
bool rdma_obj_payload_ok(const struct refnic_sqe *sqe);

/* refnic_rdma_qp.c */
struct rdma_qp *rdma_qp_get(struct refnic_rdma *r, uint32_t qpn);
/* To ERR (flushing follows in the poll); @async: post QP_FATAL. */
void rdma_qp_error(struct refnic_func *fn, struct rdma_qp *qp, bool async);
/* ERR: complete what is outstanding with WR_FLUSH_ERR; returns CQEs written. */
unsigned int rdma_qp_flush(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp);
void rdma_qp_free(struct refnic_func *fn, struct rdma_qp *qp);
bool rdma_qp_has_work(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp);

/*
 * Copy between @buf and the memory an SGE list names, from byte @off of the
 * message: @to_mem scatters (needs LOCAL_WRITE), else gathers. 0, or a
 * REFNIC_RDMA_VERR_* (LENGTH: the SGEs end before the bytes do).
 */
uint8_t rdma_sge_copy(struct refnic_dev *dev, struct refnic_func *fn, uint32_t pdn,
		      const struct refnic_sge *sge, unsigned int nsge, uint32_t off, void *buf,
		      uint32_t len, bool to_mem);

/* refnic_rdma_cq.c: post a CQE (phase filled); false: the CQ did not take it. */
bool rdma_cq_post(struct refnic_dev *dev, struct refnic_func *fn, uint32_t cqn,
		  struct refnic_rdma_cqe *cqe);

/* refnic_rdma_wire.c */
void rdma_crc_init(void);
uint32_t rdma_crc32(uint32_t crc, const void *buf, size_t len);
/* Build the path's header template for @fn (called by rdma_path_set). */
void rdma_path_build(struct rdma_path *p);
/* Fill the IP/UDP lengths, the IPv4 checksum and smac; @len: the frame's length. */
void rdma_hdr_finish(const struct rdma_path *p, uint8_t *frame, uint32_t len, const uint8_t smac[6],
		     uint16_t sport);
void rdma_bth_put(uint8_t *b, uint8_t opcode, bool se, uint8_t pad, uint32_t qpn, bool ackreq,
		  uint32_t psn);
uint32_t rdma_icrc(const uint8_t *frame, uint32_t l3_off, bool v4, uint32_t icrc_off);
/* Parse @f as RoCEv2 for the engine: 0, or -1 (drop). ICRC checked unless f->icrc_lazy. */
int rdma_parse(const struct refnic_frame *f, struct rdma_pkt *p);
uint16_t rdma_udp_sport(uint32_t qpn);

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* refnic_rdma_eng.c */
/* A buffer for the next frame of the device's batch (flushes a full batch first). */
uint8_t *rdma_frame_begin(struct refnic_dev *dev);
/* Queue it: @len bytes, from @fn, path @p (ICRC left to the switch, see rdma_icrc_fill()). */
void rdma_frame_commit(struct refnic_dev *dev, struct refnic_func *fn, const struct rdma_path *p,
		       uint32_t len);
void rdma_frames_flush(struct refnic_dev *dev);
uint64_t rdma_now(struct refnic_dev *dev);

/* refnic_rdma_req.c */
unsigned int rdma_req_send(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			   unsigned int budget);
void rdma_req_rx(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		 const struct rdma_pkt *p);
unsigned int rdma_req_timers(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			     uint64_t now);
bool rdma_req_can_send(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp);
void rdma_req_reset(struct rdma_qp *qp);
/* SQ completion of the WQE at sq_comp with @status (always written unless SUCCESS and unsignaled).
 */
void rdma_req_complete(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		       uint8_t status, uint8_t verr);

/* refnic_rdma_resp.c */
void rdma_resp_rx(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		  const struct rdma_pkt *p);
void rdma_resp_ud_rx(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
		     const struct rdma_pkt *p);
unsigned int rdma_resp_send(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp,
			    unsigned int budget);
void rdma_resp_reset(struct rdma_qp *qp);
/* The acknowledgements queued at the head of the response queue, out now (DMA lock held). */
void rdma_resp_flush_acks(struct refnic_dev *dev, struct refnic_func *fn, struct rdma_qp *qp);

#endif /* REFNIC_RDMA_H */
