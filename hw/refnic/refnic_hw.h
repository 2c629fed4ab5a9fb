/* SPDX-License-Identifier: MIT */
/*
 * refnic_hw.h: the hardware interface of the refnic reference device, shared
 * by the device model (hw/refnic) and its drivers (drivers/pci/refnic...), in
 * the manner of mlx5_ifc.h. docs/refnic.md is the programming spec; this file
 * is its machine-readable half and the two must agree.
 *
 * Conventions:
 * - Everything is little-endian. Structures use natural alignment only (no
 *   packing attributes) and every size is pinned by a static assert, so the
 *   layout is the same for every C compiler on every ABI Facet supports.
 * - "rsvd" fields are reserved: a driver writes 0; the device rejects a
 *   command with a nonzero reserved field (REFNIC_STATUS_INVALID_FIELD), so
 *   later revisions can give them a meaning safely.
 * - Register offsets are byte offsets into BAR0; doorbell offsets are byte
 *   offsets into one function's doorbell page.
 */
#ifndef REFNIC_HW_H
#define REFNIC_HW_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "refnic_hw_rdma.h" /* revision 1.2: the RDMA engine */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- PCI identity -------------------------------------------------------- */

/*
 * 0x1fac is NOT a PCI-SIG assigned vendor id: refnic is a model, and this id
 * was picked because no assigned vendor uses it at the time of writing. A
 * silicon implementation must use its own vendor's id.
 */
#define REFNIC_PCI_VENDOR_ID	 0x1fac
#define REFNIC_PCI_DEVICE_PF	 0x0001 /* refnic physical function */
#define REFNIC_PCI_SUBSYS_VENDOR 0x1fac
#define REFNIC_PCI_SUBSYS_ID	 0x0001
#define REFNIC_PCI_REVISION	 0x01
#define REFNIC_PCI_CLASS	 0x020000 /* network controller, Ethernet */

/* Config space layout of the PF (standard type-0 header, then capabilities). */
#define REFNIC_PCI_CFG_SIZE  4096 /* PCIe: extended config space */
#define REFNIC_PCI_CAP_PM    0x40 /* Power Management, 8 bytes */
#define REFNIC_PCI_CAP_MSIX  0x50 /* MSI-X, 12 bytes */
#define REFNIC_PCI_CAP_PCIE  0x60 /* PCI Express v2, 60 bytes */
#define REFNIC_PCI_MSIX_VECS 64	  /* MSI-X table size */

/* MSI-X vectors with a fixed role. */
#define REFNIC_MSIX_ADMIN 0 /* admin completions (DEV_CTRL.ADMIN_IRQ_EN) */
#define REFNIC_MSIX_EVENT 1 /* conventional vector of the PF's event queue */

/* ---- BAR0 ---------------------------------------------------------------- */

/*
 * BAR0: 64-bit non-prefetchable memory BAR.
 *   page 0          global registers, MSI-X table and PBA (trapped)
 *   page 1 + f      doorbell page of function f (memory: mmap it)
 * Its size is the smallest power of two >= (1 + NUM_FUNCS) pages, and at
 * least 16 KiB. Each function's doorbell page is a page of its own so that
 * it can later be handed to another process alone (sparse mmap).
 */
#define REFNIC_PAGE_SIZE     4096u
#define REFNIC_BAR0_MIN_SIZE (16u * 1024)
#define REFNIC_MAX_FUNCS     64 /* architectural limit of this revision */
#define REFNIC_DB_PAGE(f)    (REFNIC_PAGE_SIZE * (1u + (f)))

/* Page 0: global registers. 32-bit registers, 64-bit ones as lo/hi pairs. */
#define REFNIC_REG_SIGNATURE	    0x000 /* RO "RFNC" */
#define REFNIC_REG_VERSION	    0x004 /* RO major << 16 | minor */
#define REFNIC_REG_NUM_FUNCS	    0x008 /* RO function slots (PF + SFs) */
#define REFNIC_REG_ADMIN_LOG_MAX    0x00c /* RO largest ADMIN_Q_LOG_SIZE */
#define REFNIC_REG_DEV_CTRL	    0x010 /* RW control */
#define REFNIC_REG_DEV_STATUS	    0x014 /* RO status */
#define REFNIC_REG_FATAL_CODE	    0x018 /* RO why DEV_STATUS.FATAL is set */
#define REFNIC_REG_ADMIN_SQ_BASE    0x020 /* RW 64-bit: admin SQ IOVA (lo, hi at +4) */
#define REFNIC_REG_ADMIN_CQ_BASE    0x028 /* RW 64-bit: admin CQ IOVA (lo, hi at +4) */
#define REFNIC_REG_ADMIN_Q_LOG_SIZE 0x030 /* RW log2 entries of both admin rings */
#define REFNIC_REG_ADMIN_SQ_CI	    0x034 /* RO next SQ slot the device will fetch */
#define REFNIC_REG_ADMIN_CQ_PI	    0x038 /* RO next CQ slot the device will write */
#define REFNIC_REG_KICK		    0x040 /* WO any value: wake the device */
#define REFNIC_REG_SCRATCH	    0x044 /* RW no effect; for bus tests */
#define REFNIC_REG_DB_OFFSET	    0x048 /* RO BAR0 offset of function 0's doorbell page */
#define REFNIC_REG_DB_STRIDE	    0x04c /* RO distance between doorbell pages */
#define REFNIC_REG_MSIX_TABLE	    0x800 /* MSI-X table: 64 entries of 16 bytes */
#define REFNIC_REG_MSIX_PBA	    0xc00 /* MSI-X pending bit array: 64 bits */

#define REFNIC_SIGNATURE 0x434e4652u /* bytes 'R' 'F' 'N' 'C' */
#define REFNIC_VERSION	 0x00010002u /* 1.2 */

/* DEV_CTRL */
#define REFNIC_CTRL_ENABLE	 (1u << 0)  /* run the admin queue */
#define REFNIC_CTRL_ADMIN_IRQ_EN (1u << 1)  /* MSI-X vector 0 after admin CQEs */
#define REFNIC_CTRL_RESET	 (1u << 31) /* write 1: device reset; reads 0 */
#define REFNIC_CTRL_RW_MASK	 (REFNIC_CTRL_ENABLE | REFNIC_CTRL_ADMIN_IRQ_EN)

/* DEV_STATUS */
#define REFNIC_DEVSTS_READY (1u << 0) /* enabled, admin queue running */
#define REFNIC_DEVSTS_FATAL (1u << 1) /* admin queue stopped; see FATAL_CODE */

/* FATAL_CODE */
enum refnic_fatal_code {
	REFNIC_FATAL_NONE = 0,
	REFNIC_FATAL_BAD_CONFIG = 1, /* ENABLE with a bad base or log size */
	REFNIC_FATAL_SQ_DMA = 2,     /* admin SQ not readable in the DMA maps */
	REFNIC_FATAL_CQ_DMA = 3,     /* admin CQ not writable in the DMA maps */
	REFNIC_FATAL_DOORBELL = 4,   /* admin SQ producer index out of range */
};

/* Admin queue sizes: 2^1 .. 2^12 entries. */
#define REFNIC_ADMIN_LOG_MIN 1
#define REFNIC_ADMIN_LOG_MAX 12
#define REFNIC_RING_ALIGN    64 /* every ring base: 64-byte aligned IOVA */

/* ---- doorbell page (one per function) ------------------------------------ */

/*
 * Written by the driver (32-bit stores into 8-byte slots), read by the
 * device. Slot 0 is the admin SQ producer index (function 0 only); queue q
 * of a function rings REFNIC_DB_QUEUE(q). The device-written line at 0x800
 * publishes its sleep state (see the idle/wake protocol in docs/refnic.md).
 */
#define REFNIC_DB_ADMIN_SQ_PI 0x000
#define REFNIC_DB_QUEUE_BASE  0x100
#define REFNIC_DB_QUEUE(q)    (REFNIC_DB_QUEUE_BASE + 8u * (q))
#define REFNIC_DB_MAX_QUEUES  224   /* slots 0x100..0x7ff */
#define REFNIC_DB_DEV_STATE   0x800 /* device-written: REFNIC_DEV_STATE_* */

#define REFNIC_DEV_STATE_SLEEPING (1u << 0)

/* ---- admin queue entries --------------------------------------------------- */

enum refnic_opcode {
	/* 0x00 reserved: a zeroed SQE is never a valid command */
	REFNIC_OP_NOP = 0x01,
	REFNIC_OP_QUERY_CAPS = 0x02,
	REFNIC_OP_QUERY_STATS = 0x03,
	REFNIC_OP_RESET_FUNCTION = 0x04,
	/* 0x05-0x0f reserved: device and function management */
	REFNIC_OP_CREATE_QUEUE = 0x10,
	REFNIC_OP_DESTROY_QUEUE = 0x11,
	REFNIC_OP_QUERY_QUEUE_STATS = 0x12, /* rev 1.1 */
	/* 0x13-0x1f reserved: queue management */
	REFNIC_OP_SET_MAC = 0x20,
	REFNIC_OP_QUERY_MAC = 0x21,
	REFNIC_OP_SET_RX_MODE = 0x22, /* rev 1.1: promiscuous, all-multicast */
	REFNIC_OP_SET_MTU = 0x23,     /* rev 1.1 */
	REFNIC_OP_SET_RSS = 0x24,     /* rev 1.1: key, hash types, indirection table */
				      /* 0x25-0x2f reserved: Ethernet control */
	/* 0x30-0x3f reserved: sub-functions (SF create, destroy, query) */
	/* 0x40-0x5f: RDMA objects (rev 1.2, enum refnic_rdma_opcode) */
	/* 0x60-0x7f reserved: embedded switch, uplink, steering */
	/* 0x80-0xef reserved */
	/* 0xf0-0xff reserved: implementation specific, debug */
};

#define REFNIC_OP_RANGE_SF_FIRST   0x30
#define REFNIC_OP_RANGE_RDMA_FIRST 0x40
#define REFNIC_OP_RANGE_SW_FIRST   0x60

enum refnic_status {
	REFNIC_STATUS_OK = 0x00,
	REFNIC_STATUS_BAD_OPCODE = 0x01,    /* unknown or reserved opcode */
	REFNIC_STATUS_INVALID_FIELD = 0x02, /* reserved bit set, bad value, bad length */
	REFNIC_STATUS_BAD_FUNCTION = 0x03,  /* no such function, or not active */
	REFNIC_STATUS_BAD_QUEUE = 0x04,	    /* no such queue of that type */
	REFNIC_STATUS_DMA_FAULT = 0x05,	    /* IOVA range outside the function's maps */
	REFNIC_STATUS_NO_RESOURCES = 0x06,  /* queue or object limit reached */
	REFNIC_STATUS_INTERNAL = 0x07,	    /* device-internal failure; retry may work */
};

/* Queue types (CREATE_QUEUE / DESTROY_QUEUE). */
enum refnic_queue_type {
	/* 0 reserved */
	REFNIC_QT_EVENT = 1, /* device -> driver asynchronous events */
	REFNIC_QT_TX = 2,    /* rev 1.1: Ethernet send queue */
	REFNIC_QT_RX = 3,    /* rev 1.1: Ethernet receive queue */
	REFNIC_QT_CQ = 4,    /* rev 1.2: RDMA completion queue (refnic_hw_rdma.h) */
	/* 5-7 reserved */
	REFNIC_QT_NUM = 8,
};

/* Submission queue entry: 64 bytes. */
struct refnic_sqe {
	uint8_t opcode;	   /* REFNIC_OP_* */
	uint8_t flags;	   /* rsvd */
	uint16_t cid;	   /* command id, echoed in the CQE */
	uint16_t function; /* target function */
	uint16_t rsvd0;
	uint64_t data_iova; /* data buffer (PF DMA space), 0 if unused */
	uint32_t data_len;  /* its length in bytes, 0 if unused */
	uint32_t rsvd1;
	union {
		uint8_t raw[40];
		struct refnic_cmd_create_queue {
			uint8_t type;	  /* REFNIC_QT_* */
			uint8_t log_size; /* log2 entries */
			uint16_t flags;	  /* REFNIC_QF_* */
			uint16_t msix_vector;
			uint16_t cq_id;	      /* rsvd (0) for EVENT, TX and RX */
			uint64_t ring_iova;   /* owning function's DMA space */
			uint64_t status_iova; /* TX/RX: 64-byte queue status line; rsvd for EVENT */
			uint8_t rsvd[16];
		} create_queue;
		struct refnic_cmd_queue_stats {
			uint8_t type; /* REFNIC_QT_TX or REFNIC_QT_RX */
			uint8_t rsvd0;
			uint16_t rsvd1;
			uint32_t queue_id;
			uint8_t rsvd[32];
		} queue_stats;
		struct refnic_cmd_set_rx_mode {
			uint32_t flags; /* REFNIC_RXMODE_* */
			uint8_t rsvd[36];
		} set_rx_mode;
		struct refnic_cmd_set_mtu {
			uint16_t mtu; /* 68 .. caps.max_mtu: L3 bytes, Ethernet header excluded */
			uint8_t rsvd[38];
		} set_mtu;
		struct refnic_cmd_destroy_queue {
			uint8_t type;
			uint8_t rsvd0;
			uint16_t rsvd1;
			uint32_t queue_id;
			uint8_t rsvd[32];
		} destroy_queue;
		struct refnic_cmd_set_mac {
			uint8_t mac[6];
			uint8_t rsvd[34];
		} set_mac;
		struct refnic_cmd_query_stats {
			uint32_t flags; /* REFNIC_STATS_F_* */
			uint8_t rsvd[36];
		} query_stats;
		struct refnic_cmd_rdma_obj rdma_obj; /* rev 1.2 (refnic_hw_rdma.h) */
		struct refnic_cmd_set_gid set_gid;   /* rev 1.2 */
	};
};
static_assert(sizeof(struct refnic_sqe) == 64, "refnic_sqe is 64 bytes");
static_assert(offsetof(struct refnic_sqe, data_iova) == 8, "refnic_sqe layout");
static_assert(offsetof(struct refnic_sqe, create_queue) == 24, "refnic_sqe layout");
static_assert(sizeof(struct refnic_cmd_create_queue) == 40, "create_queue payload");
static_assert(sizeof(struct refnic_cmd_destroy_queue) == 40, "destroy_queue payload");
static_assert(offsetof(struct refnic_cmd_create_queue, status_iova) == 16, "create_queue");

#define REFNIC_QF_IRQ_EN     (1u << 0) /* raise msix_vector after new entries */
#define REFNIC_STATS_F_CLEAR (1u << 0) /* zero the counters after reading */

/* Completion queue entry: 16 bytes, four per cache line; phase written last. */
struct refnic_cqe {
	uint64_t result;  /* command specific, 0 unless stated */
	uint16_t sq_head; /* SQ consumer index after this command */
	uint16_t cid;	  /* from the SQE */
	uint8_t status;	  /* REFNIC_STATUS_* */
	uint8_t opcode;	  /* from the SQE */
	uint8_t rsvd;
	uint8_t phase; /* bit 0: phase tag; bits 7:1 zero */
};
static_assert(sizeof(struct refnic_cqe) == 16, "refnic_cqe is 16 bytes");
static_assert(offsetof(struct refnic_cqe, phase) == 15, "CQE phase is the last byte");

/* CQE.result of CREATE_QUEUE: queue id and doorbell offset in the function's page. */
#define REFNIC_CREATE_RESULT_QID(r)    ((uint32_t)((r)&0xffffffffu))
#define REFNIC_CREATE_RESULT_DB_OFF(r) ((uint32_t)((r) >> 32))
/* CQE.result of QUERY_MAC: mac[i] in bits 8i+7:8i. */
#define REFNIC_MAC_RESULT_BYTE(r, i)   ((uint8_t)((r) >> (8 * (i))))

/* ---- event queue entries ---------------------------------------------------- */

enum refnic_event_type {
	/* 0 reserved */
	REFNIC_EVENT_LINK_CHANGE = 1, /* data: REFNIC_LINK_* */
	REFNIC_EVENT_QUEUE_ERROR = 2, /* rev 1.1; data: REFNIC_QERR_EVENT_* */
				      /* 3 reserved: SF state change */
};

/* Event queue entry: 16 bytes; phase written last, as in the CQE. */
struct refnic_eqe {
	uint64_t data;	   /* event specific */
	uint16_t function; /* function the event concerns */
	uint8_t type;	   /* REFNIC_EVENT_* */
	uint8_t rsvd0;
	uint16_t rsvd1;
	uint8_t flags; /* REFNIC_EQE_F_* */
	uint8_t phase; /* bit 0: phase tag */
};
static_assert(sizeof(struct refnic_eqe) == 16, "refnic_eqe is 16 bytes");
static_assert(offsetof(struct refnic_eqe, phase) == 15, "EQE phase is the last byte");

#define REFNIC_EQE_F_OVERFLOW (1u << 0) /* events were lost before this one */

/* QUEUE_ERROR data: which queue stopped and why (REFNIC_QERR_*). */
#define REFNIC_QERR_EVENT_QID(d)  ((uint32_t)((d)&0xffffffffu))
#define REFNIC_QERR_EVENT_TYPE(d) ((uint8_t)((d) >> 32)) /* REFNIC_QT_TX or REFNIC_QT_RX */
#define REFNIC_QERR_EVENT_CODE(d) ((uint8_t)((d) >> 40)) /* REFNIC_QERR_* */
#define REFNIC_QERR_EVENT_DATA(qid, type, code)                                                    \
	((uint64_t)(qid) | (uint64_t)(type) << 32 | (uint64_t)(code) << 40)

#define REFNIC_LINK_UP	     (1ull << 0)
#define REFNIC_LINK_SPEED(d) ((uint32_t)((d) >> 32)) /* Mb/s */

/* ---- capability structure (QUERY_CAPS) ----------------------------------- */

struct refnic_caps_queue {
	uint16_t max_per_func; /* 0: type not supported */
	uint8_t log_min;
	uint8_t log_max;
	uint16_t entry_size; /* bytes */
	uint16_t rsvd;
};
static_assert(sizeof(struct refnic_caps_queue) == 8, "refnic_caps_queue is 8 bytes");

#define REFNIC_FEAT_EVENT_QUEUE (1ull << 0)
#define REFNIC_FEAT_ETH		(1ull << 1) /* functions have an Ethernet port (eth slice) */
#define REFNIC_FEAT_RDMA	(1ull << 2) /* functions have an RDMA engine (rdma slice) */
#define REFNIC_FEAT_SF		(1ull << 3) /* reserved: sub-function management */

struct refnic_caps {
	uint32_t version;   /* REFNIC_VERSION */
	uint16_t num_funcs; /* function slots, PF included */
	uint16_t msix_vectors;
	uint8_t admin_log_min;
	uint8_t admin_log_max;
	uint16_t max_queues_per_func; /* all types together */
	uint16_t max_mtu;
	uint8_t mac_base[6]; /* function f's default MAC is mac_base + f */
	uint32_t link_speed; /* Mb/s */
	uint32_t db_offset;  /* BAR0 offset of function 0's doorbell page */
	uint32_t db_stride;
	uint64_t features;				/* REFNIC_FEAT_* */
	struct refnic_caps_queue queues[REFNIC_QT_NUM]; /* indexed by REFNIC_QT_* */
	uint8_t rsvd[152];
};
static_assert(sizeof(struct refnic_caps) == 256, "refnic_caps is 256 bytes");
static_assert(offsetof(struct refnic_caps, features) == 32, "refnic_caps has no padding");
static_assert(offsetof(struct refnic_caps, queues) == 40, "refnic_caps has no padding");

/* ---- statistics (QUERY_STATS) -------------------------------------------- */

struct refnic_func_stats {
	uint64_t admin_cmds;   /* commands that targeted this function */
	uint64_t admin_errors; /* ... completed with status != OK */
	uint64_t events_posted;
	uint64_t events_dropped; /* event queue full or faulted */
	uint64_t rx_packets;	 /* rev 1.1: the function's Ethernet port (docs §15.9) */
	uint64_t rx_bytes;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t rx_drops;
	uint64_t tx_drops;
	/*
	 * rev 1.2: the function's live RDMA objects (docs §13.2). Gauges, not
	 * counters: CLEAR leaves them, a reset or destroy takes them down.
	 */
	uint64_t rdma_pds;
	uint64_t rdma_mrs;
	uint64_t rdma_cqs;
	uint64_t rdma_qps;
	uint64_t rdma_ahs;
	uint64_t rsvd[1];
};
static_assert(sizeof(struct refnic_func_stats) == 128, "refnic_func_stats is 128 bytes");

/* Header, followed by num_funcs struct refnic_func_stats. */
struct refnic_stats {
	uint32_t version;	  /* REFNIC_VERSION */
	uint16_t num_funcs;	  /* entries that follow */
	uint16_t func_stats_size; /* sizeof(struct refnic_func_stats) */
	uint64_t admin_cmds;	  /* all commands processed */
	uint64_t admin_errors;	  /* ... completed with status != OK */
	uint64_t admin_dma_faults;
	uint64_t kicks;	  /* KICK register writes */
	uint64_t wakeups; /* times the device left its sleep */
	uint64_t rsvd[10];
};
static_assert(sizeof(struct refnic_stats) == 128, "refnic_stats is 128 bytes");

#define REFNIC_STATS_SIZE(nf)                                                                      \
	(sizeof(struct refnic_stats) + (nf) * sizeof(struct refnic_func_stats))

/* ---- Ethernet datapath (revision 1.1) ------------------------------------- */

/*
 * TX and RX queues are rings of 16-byte descriptors in the function's DMA
 * space, 2^log_size entries (caps.queues[type].log_min..log_max). The driver
 * owns a producer index and rings it through the queue's doorbell (which
 * announces work: the idle/wake protocol applies). The device reports
 * progress by writing the 64-byte queue status line at status_iova: after
 * writing back a batch of descriptors it writes status.head, so a driver
 * learns what completed by reading one cache line per burst.
 */

/* TX descriptor, written by the driver. A frame is 1..REFNIC_TX_MAX_SEGS
 * consecutive descriptors, the last with EOP. */
struct refnic_tx_desc {
	uint64_t addr;	/* buffer IOVA */
	uint16_t len;	/* bytes, 1 .. 65535 */
	uint16_t flags; /* REFNIC_TXD_* (offload flags: first descriptor of the frame) */
	uint32_t rsvd;
};
static_assert(sizeof(struct refnic_tx_desc) == 16, "refnic_tx_desc is 16 bytes");

#define REFNIC_TXD_EOP	   (1u << 0) /* last descriptor of the frame */
#define REFNIC_TXD_CSUM_L4 (1u << 1) /* device fills the TCP/UDP checksum (IPv4/IPv6) */
#define REFNIC_TX_MAX_SEGS 16

/*
 * RX descriptor. The driver posts addr and len (buffer size); the device
 * writes the frame into the buffer and writes back len, flags and rss_hash
 * (addr is left as it was). A frame larger than one buffer takes consecutive
 * descriptors, EOP on the last.
 */
struct refnic_rx_desc {
	uint64_t addr;	   /* buffer IOVA (driver) */
	uint16_t len;	   /* driver: buffer size (>= 64); device: bytes written */
	uint16_t flags;	   /* device: REFNIC_RXD_*; driver writes 0 */
	uint32_t rss_hash; /* device: Toeplitz hash when REFNIC_RXD_RSS */
};
static_assert(sizeof(struct refnic_rx_desc) == 16, "refnic_rx_desc is 16 bytes");

#define REFNIC_RXD_EOP	       (1u << 0)
#define REFNIC_RXD_RSS	       (1u << 1) /* rss_hash is valid */
#define REFNIC_RXD_IPV4	       (1u << 2)
#define REFNIC_RXD_IPV6	       (1u << 3)
#define REFNIC_RXD_TCP	       (1u << 4)
#define REFNIC_RXD_UDP	       (1u << 5)
#define REFNIC_RXD_L4_CSUM_OK  (1u << 6) /* TCP/UDP checksum verified good */
#define REFNIC_RXD_L4_CSUM_BAD (1u << 7)

/* Queue status line, written by the device (64 bytes, 64-byte aligned). */
struct refnic_queue_status {
	/*
	 * TX: descriptors before head have been sent (their buffers are free).
	 * RX: descriptors before head are written back. Written after the
	 * descriptors it covers are visible.
	 */
	uint32_t head;
	uint32_t error; /* REFNIC_QERR_*: nonzero = the queue has stopped */
	uint64_t rsvd[7];
};
static_assert(sizeof(struct refnic_queue_status) == 64, "refnic_queue_status is 64 bytes");

/* Queue errors: the queue stops, status.error says why, a QUEUE_ERROR event follows. */
enum refnic_queue_error {
	REFNIC_QERR_NONE = 0,
	REFNIC_QERR_RING_DMA = 1, /* ring or status line not accessible in the maps */
	REFNIC_QERR_BUF_DMA = 2,  /* a buffer outside the function's maps */
	REFNIC_QERR_BAD_LEN = 3,  /* TX: len 0, frame > MTU, too many segments; RX: len < 64 */
	REFNIC_QERR_DOORBELL = 4, /* doorbell value >= ring size */
};

/* SET_RX_MODE flags. */
#define REFNIC_RXMODE_PROMISC  (1u << 0) /* every frame the switch sees */
#define REFNIC_RXMODE_ALLMULTI (1u << 1) /* every multicast frame */

/* SET_RSS data buffer. Hash: Toeplitz (Microsoft RSS) over src/dst address, then ports. */
#define REFNIC_RSS_KEY_SIZE 40
#define REFNIC_RSS_RETA_MAX 128
#define REFNIC_RSS_IPV4	    (1u << 0)
#define REFNIC_RSS_TCP_IPV4 (1u << 1)
#define REFNIC_RSS_UDP_IPV4 (1u << 2)
#define REFNIC_RSS_IPV6	    (1u << 3)
#define REFNIC_RSS_TCP_IPV6 (1u << 4)
#define REFNIC_RSS_UDP_IPV6 (1u << 5)

struct refnic_rss_config {
	uint8_t key[REFNIC_RSS_KEY_SIZE];
	uint32_t hash_types; /* REFNIC_RSS_*; 0: RSS off, everything to reta[0] */
	uint16_t reta_size;  /* power of two, 1 .. REFNIC_RSS_RETA_MAX */
	uint16_t rsvd;
	uint16_t reta[REFNIC_RSS_RETA_MAX]; /* RX queue ids of the function */
};
static_assert(sizeof(struct refnic_rss_config) == 304, "refnic_rss_config is 304 bytes");

/* QUERY_QUEUE_STATS data buffer. */
struct refnic_queue_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;	 /* RX: no descriptor posted; TX: frame refused by the switch */
	uint64_t errors; /* descriptors that stopped the queue */
	uint64_t rsvd[4];
};
static_assert(sizeof(struct refnic_queue_stats) == 64, "refnic_queue_stats is 64 bytes");

#ifdef __cplusplus
}
#endif

#endif /* REFNIC_HW_H */
