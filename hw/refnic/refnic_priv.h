/* SPDX-License-Identifier: MIT */
/*
 * Private to the refnic model: the device object and the interfaces between
 * its files. One file per concern:
 *
 *   refnic_dev.c     create/destroy, the vfio-user glue, device reset
 *   refnic_pci.c     configuration space
 *   refnic_regs.c    BAR0: global registers, MSI-X table, trapped doorbells
 *   refnic_func.c    functions: doorbell pages, MAC, per-function state
 *   refnic_dma.c     DMA through the function's maps, and nowhere else
 *   refnic_admin.c   the admin queue: fetch, complete with phase, interrupt
 *   refnic_cmd.c     admin command validation and execution
 *   refnic_queue.c   generic queue objects and the queue-type table
 *   refnic_event.c   the EVENT queue type, event posting, link changes
 *   refnic_worker.c  the worker thread: poll, back off, sleep, wake
 *   refnic_sys.c     a system: the devices of one process, their switch, worker, uplink
 *   refnic_tx.c      the TX queue type: descriptors to frames
 *   refnic_rx.c      the RX queue type: steering (RSS), frames to posted buffers
 *   refnic_switch.c  the embedded switch: function ports and the uplink
 *   refnic_eth.c     Ethernet commands: RX mode, MTU, RSS, queue statistics
 *   refnic_pkt.c     frame parsing, checksums, the Toeplitz hash
 *   refnic_rdma_*.c  the RDMA engine (its own private header, refnic_rdma.h)
 *
 * Locking: one mutex per system, sys->lock (refnic_lock()), protects the
 * state of every device in it: the switch moves frames from one device's
 * queues to another's, so they share it. The worker holds it for a whole
 * poll pass; trapped accesses (server threads) and the public API take it
 * per call. It is taken before a server's DMA lock, never after. The
 * datapath holds a sending device's DMA read lock while the switch delivers
 * its burst (frames may point into the driver's TX buffers) and takes each
 * receiver's in turn: read locks do not wait for one another (readers
 * first), and a server holds its DMA write lock without waiting for
 * anything. refnic_dp_lock() nests per device. The DMA message
 * path of the admin queue (maps without an fd) drops it while it waits for
 * the client (refnic_dma.c); a device reset in that window bumps
 * dev->reset_gen and the interrupted work is abandoned (-ECANCELED). The
 * datapath never drops it.
 */
#ifndef REFNIC_PRIV_H
#define REFNIC_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "facet_log.h"
#include "facet_vfu_server.h"
#include "refnic_hw.h"
#include "refnic_model.h"
#include "refnic_uplink.h"

#define REFNIC_TAG "refnic"

#define RN_ERR(...)   FACET_ERR(REFNIC_TAG, __VA_ARGS__)
#define RN_WARN(...)  FACET_WARN(REFNIC_TAG, __VA_ARGS__)
#define RN_INFO(...)  FACET_INFO(REFNIC_TAG, __VA_ARGS__)
#define RN_DEBUG(...) FACET_DEBUG(REFNIC_TAG, __VA_ARGS__)

/* Model limits (advertised through QUERY_CAPS). */
#define REFNIC_FUNC_MAX_QUEUES 64 /* per function, all types */
#define REFNIC_MAX_DATA_LEN    65536u
#define REFNIC_LINK_SPEED_MBPS 100000u
#define REFNIC_ADMIN_BUDGET    32 /* commands per poll pass */

/* Ethernet (docs/refnic.md §15). */
#define REFNIC_MIN_MTU	      68u
#define REFNIC_MAX_MTU	      9000u
#define REFNIC_DEFAULT_MTU    1500u
#define REFNIC_ETH_HLEN	      14u
#define REFNIC_ETH_OVERHEAD   18u /* header and one VLAN tag: frame <= MTU + 18 */
#define REFNIC_FRAME_MIN      60u /* shorter TX frames are padded, as a MAC does */
#define REFNIC_FRAME_MAX      REFNIC_UPLINK_FRAME_MAX
#define REFNIC_ETH_MAX_QUEUES 16 /* TX queues per function, and RX queues */
#define REFNIC_ETH_LOG_MIN    6
#define REFNIC_ETH_LOG_MAX    12
#define REFNIC_RX_BUF_MIN     64u
#define REFNIC_BURST	      32 /* frames per TX queue visit, per uplink read */
#define REFNIC_SYS_MAX_DEVS   16
#define REFNIC_DP_TLB	      4 /* translation cache entries per device (refnic_dma.c) */

struct refnic_dev;
struct refnic_func;
struct refnic_rdma;
struct refnic_rdma_dev;

/* A queue object of any type. */
struct refnic_queue {
	bool used;
	uint8_t type;
	uint8_t log_size;
	uint16_t flags;
	uint16_t msix_vector;
	uint16_t cq_id;
	uint32_t id;
	uint64_t ring_iova;
	/* device-side ring state (event queue: producer) */
	uint32_t pi;
	uint8_t phase;
	bool overflow; /* EQ: set OVERFLOW on the next entry written */
	void *priv;    /* type-specific state (datapath types) */
	/* TX/RX (refnic_tx.c, refnic_rx.c) */
	uint64_t status_iova;
	uint32_t ci;	  /* device's consumer index */
	uint8_t error;	  /* REFNIC_QERR_*: nonzero, the queue has stopped */
	bool error_event; /* a QUEUE_ERROR waits to be posted */
	bool dirty;	  /* RX: descriptors written back, status.head not yet */
	/* CQ (refnic_rdma_cq.c); ci above is the consumer index last taken */
	uint32_t cq_arm;   /* REFNIC_CQ_DB_ARM or _ARM_SOLICITED pending, 0: disarmed */
	uint8_t cq_arm_sn; /* sequence number of the last arm request taken */
	struct refnic_queue_stats stats;
};

/*
 * A queue type. The generic CREATE_QUEUE path checks what is common (type,
 * log size, flags/vector, alignment, limits, ring DMA access) and calls
 * these; the datapath adds TX/RX/CQ by filling more entries of the table.
 */
struct refnic_qtype_ops {
	const char *name;
	uint64_t feature; /* REFNIC_FEAT_* bit the type brings */
	uint16_t max_per_func;
	uint8_t log_min, log_max;
	uint16_t entry_size;
	uint32_t ring_access; /* FACET_VFU_DMA_* the device needs on the ring */
	bool status_line;     /* has a queue status line (status_iova) */
	/** Type-specific payload checks: REFNIC_STATUS_OK or an error status. */
	uint8_t (*validate)(struct refnic_dev *dev, struct refnic_func *fn,
			    const struct refnic_cmd_create_queue *cmd);
	/** The queue exists now (ring zeroed by the driver): start it. 0 or -errno. */
	int (*start)(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q);
	/** Stop touching the ring; release type state. */
	void (*stop)(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q);
	/** Worker: serve the queue; returns how much work was done (0: idle). */
	unsigned int (*poll)(struct refnic_dev *dev, struct refnic_func *fn,
			     struct refnic_queue *q);
	/** Does the queue's doorbell announce work (the sleep re-check)? */
	bool (*has_work)(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q);
};

struct refnic_func {
	unsigned int idx;
	bool active;
	uint8_t mac[6];
	uint8_t *db; /* its doorbell page (in the BAR0 memfd mapping) */
	bool link_up;
	bool link_event; /* a LINK_CHANGE is waiting to be posted */
	struct refnic_func_stats stats;
	unsigned int nq_total;
	unsigned int nq_type[REFNIC_QT_NUM];
	struct refnic_queue queues[REFNIC_FUNC_MAX_QUEUES];
	/* Ethernet port (refnic_eth.c) */
	uint16_t mtu;
	uint32_t rx_mode;  /* REFNIC_RXMODE_* */
	bool rss_set;	   /* SET_RSS happened: steer by rss, else the lowest RX queue */
	bool qerr_pending; /* some queue has error_event set */
	struct refnic_rss_config rss;
	struct refnic_rdma *rdma; /* RDMA engine (refnic_rdma_*.c); NULL until first used */
};

/* What refnic_pkt_parse() found in a frame. */
struct refnic_pkt {
	uint16_t flags;	  /* REFNIC_RXD_IPV4/IPV6/TCP/UDP */
	uint8_t l3;	  /* 4, 6, or 0: not IP */
	uint8_t l4_proto; /* 6 TCP, 17 UDP, or 0: no L4 header the device trusts */
	uint16_t l3_off, l4_off;
	uint16_t l4_len; /* from the IP header */
};

/*
 * A frame in the switch: in the system's burst buffers, or by reference in a
 * sender's TX buffer (valid while its device's refnic_dp_lock() is held).
 */
struct refnic_frame {
	const uint8_t *data;
	uint32_t len;
	int src;		  /* ingress port: REFNIC_PORT(dev, fn) or REFNIC_PORT_UPLINK */
	int dst;		  /* REFNIC_PORT(...), or REFNIC_PORT_UPLINK/FLOOD/DROP */
	unsigned int reached;	  /* ports that took it */
	struct refnic_func *txfn; /* sender (NULL: from the uplink), for tx_drops */
	struct refnic_queue *txq; /* sender's TX queue */
	struct refnic_pkt pkt;
	int16_t csum_flags; /* RX L4_CSUM_OK/BAD, -1 until computed */
	bool icrc_lazy;	    /* RoCEv2 from the RDMA engine, ICRC not yet computed */
};

#define REFNIC_PORT(devidx, fnidx) ((int)((devidx)*REFNIC_MAX_FUNCS + (fnidx)))
#define REFNIC_PORT_DROP	   (-1)
#define REFNIC_PORT_UPLINK	   (-2)
#define REFNIC_PORT_FLOOD	   (-3)

/*
 * A system: the devices one process serves, the embedded switch that joins
 * their functions' ports (and the uplink), and the one worker that runs
 * them all (docs/refnic.md §14).
 */
struct refnic_system {
	pthread_mutex_t lock; /* every device's state; see the top of this file */
	pthread_mutex_t ctl;  /* attach/detach against each other */
	struct refnic_dev *devs[REFNIC_SYS_MAX_DEVS];
	unsigned int ndevs;

	/* worker (refnic_worker.c) */
	pthread_t worker;
	bool worker_started;
	int wake_fd; /* eventfd: latched wake-ups */
	atomic_bool stop;
	atomic_bool sleeping;
	unsigned int idle_us;

	/* switch (refnic_switch.c): one burst in flight at a time, the worker's */
	struct refnic_uplink *uplink;
	uint8_t *frame_mem; /* REFNIC_BURST buffers of REFNIC_FRAME_MAX bytes */
	struct refnic_frame frames[REFNIC_BURST];
	uint8_t *ubufs[REFNIC_BURST];
	uint32_t ulens[REFNIC_BURST];
};

struct refnic_dev {
	struct refnic_system *sys;
	bool own_sys; /* created with the device: destroyed with it */
	bool attached;
	struct facet_vfu_server *srv;
	char *path;
	unsigned int num_funcs;
	uint8_t mac_base[6];
	uint64_t reset_gen; /* bumped by every device reset */

	/* configuration space (refnic_pci.c) */
	uint8_t cfg[REFNIC_PCI_CFG_SIZE];
	uint8_t cfg_wmask[REFNIC_PCI_CFG_SIZE];
	uint8_t cfg_w1c[REFNIC_PCI_CFG_SIZE];
	uint64_t bar0_size;

	/* global registers (refnic_regs.c, refnic_admin.c) */
	uint32_t ctrl;
	uint32_t status;
	uint32_t fatal_code;
	uint32_t scratch;
	uint64_t sq_base, cq_base;
	uint32_t log_size;
	uint32_t sq_ci, cq_pi;
	uint8_t cq_phase;
	uint8_t msix_table[REFNIC_PCI_MSIX_VECS * 16];

	/* BAR0 backing: the doorbell pages live in a memfd the client maps */
	int memfd;
	uint8_t *bar_mem;
	size_t bar_mem_size;

	struct refnic_func *funcs;
	struct refnic_stats stats;

	/*
	 * Datapath DMA (refnic_dma.c), under sys->lock: refnic_dp_lock() depth,
	 * and a cache of the maps the datapath last used, valid while the DMA
	 * read lock is held and, across holds, while the server's map
	 * generation is dp_gen. Every function shares the device's DMA space.
	 */
	unsigned int dp_depth;
	unsigned int dp_next; /* the entry a miss replaces */
	uint64_t dp_gen;
	struct facet_vfu_dma_window dp_tlb[REFNIC_DP_TLB];

	struct refnic_rdma_dev *rdma; /* the RDMA engine's frame batch; NULL until used */
};

static inline void refnic_lock(struct refnic_dev *dev)
{
	pthread_mutex_lock(&dev->sys->lock);
}

static inline void refnic_unlock(struct refnic_dev *dev)
{
	pthread_mutex_unlock(&dev->sys->lock);
}

/* refnic_dev.c */
void refnic_dev_reset(struct refnic_dev *dev); /* device reset, dev->lock held */
void refnic_dev_flr(struct refnic_dev *dev);   /* function-level reset, dev->lock held */

/* refnic_pci.c */
void refnic_pci_init(struct refnic_dev *dev);
int refnic_pci_access(struct refnic_dev *dev, uint64_t offset, void *buf, size_t len, bool write);
bool refnic_pci_bus_master(const struct refnic_dev *dev);

/* refnic_regs.c */
void refnic_regs_reset(struct refnic_dev *dev);
void refnic_regs_msix_reset(struct refnic_dev *dev);
int refnic_bar0_access(struct refnic_dev *dev, uint64_t offset, void *buf, size_t len, bool write);

/* refnic_func.c */
int refnic_funcs_init(struct refnic_dev *dev);
void refnic_funcs_fini(struct refnic_dev *dev);
struct refnic_func *refnic_func_get(struct refnic_dev *dev, unsigned int idx); /* active only */
void refnic_func_default_mac(const struct refnic_dev *dev, unsigned int idx, uint8_t mac[6]);
void refnic_func_reset(struct refnic_dev *dev, struct refnic_func *fn);
void refnic_funcs_set_sleeping(struct refnic_dev *dev, bool sleeping);
uint32_t refnic_db_read(const struct refnic_func *fn, uint32_t offset);
void refnic_db_write(struct refnic_func *fn, uint32_t offset, uint32_t value);

/* refnic_dma.c: fn selects the DMA space; 0 or -EFAULT/-EACCES/-EIO/-ECANCELED */
int refnic_dma_check(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova, size_t len,
		     uint32_t access);
int refnic_dma_read(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova, void *buf,
		    size_t len);
int refnic_dma_write(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova, const void *buf,
		     size_t len);
int refnic_dma_write_entry(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
			   const void *entry, size_t len);
void refnic_irq_raise(struct refnic_dev *dev, unsigned int vector);
/*
 * Datapath DMA, between refnic_dp_lock() and refnic_dp_unlock() (one burst;
 * they nest): translate and copy, no lock or syscall per access (maps
 * without an fd fall back to messages). 0 or -EFAULT/-EACCES/-EIO.
 * Translations hit the device's cache inline; the rest is refnic_dma.c.
 */
void refnic_dp_lock(struct refnic_dev *dev);
void refnic_dp_unlock(struct refnic_dev *dev);
/* As facet_vfu_server_dma_translate(), through the cache: *va valid until the unlock. */
int refnic_dp_translate_slow(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
			     size_t len, uint32_t access, void **va);
int refnic_dp_read_slow(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova, void *buf,
			size_t len);
int refnic_dp_write_slow(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
			 const void *buf, size_t len);
int refnic_dp_store32_slow(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
			   uint32_t v);

/* A cache hit for [iova, iova+len) with @access and an fd, or NULL: ask the slow path. */
static inline uint8_t *refnic_dp_hit(struct refnic_dev *dev, uint64_t iova, size_t len,
				     uint32_t access)
{
	if (len == 0 || iova + len < iova)
		return NULL;
	for (unsigned int i = 0; i < REFNIC_DP_TLB; i++) {
		const struct facet_vfu_dma_window *w = &dev->dp_tlb[i];
		uint64_t off = iova - w->iova;

		if (off < w->len)
			return len <= w->len - off && (w->prot & access) == access && w->va
				       ? (uint8_t *)w->va + off
				       : NULL;
	}
	return NULL;
}

static inline int refnic_dp_translate(struct refnic_dev *dev, struct refnic_func *fn,
				      uint64_t iova, size_t len, uint32_t access, void **va)
{
	uint8_t *p = refnic_dp_hit(dev, iova, len, access);

	if (!p)
		return refnic_dp_translate_slow(dev, fn, iova, len, access, va);
	*va = p;
	return 0;
}

static inline int refnic_dp_read(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
				 void *buf, size_t len)
{
	const uint8_t *p = refnic_dp_hit(dev, iova, len, FACET_VFU_DMA_READ);

	if (!p)
		return refnic_dp_read_slow(dev, fn, iova, buf, len);
	memcpy(buf, p, len);
	return 0;
}

/* @buf may be driver memory too (a frame by reference): memmove, overlap or not. */
static inline int refnic_dp_write(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
				  const void *buf, size_t len)
{
	uint8_t *p = refnic_dp_hit(dev, iova, len, FACET_VFU_DMA_WRITE);

	if (!p)
		return refnic_dp_write_slow(dev, fn, iova, buf, len);
	memmove(p, buf, len);
	return 0;
}

/* A 32-bit store with release order: everything written before is visible first. */
static inline int refnic_dp_store32(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
				    uint32_t v)
{
	uint8_t *p = (iova & 3) ? NULL : refnic_dp_hit(dev, iova, sizeof(v), FACET_VFU_DMA_WRITE);

	if (!p)
		return refnic_dp_store32_slow(dev, fn, iova, v);
	__atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELEASE);
	return 0;
}

/* refnic_admin.c */
void refnic_admin_enable(struct refnic_dev *dev);
bool refnic_admin_has_work(struct refnic_dev *dev);
unsigned int refnic_admin_poll(struct refnic_dev *dev);

/*
 * refnic_cmd.c: execute one SQE; fills cqe->status and cqe->result, and sets
 * *fn to the function it was counted against (NULL if it failed before the
 * function check). Returns 0, or -ECANCELED: a reset interrupted it, abandon.
 */
int refnic_cmd_exec(struct refnic_dev *dev, const struct refnic_sqe *sqe, struct refnic_cqe *cqe,
		    struct refnic_func **fn);

/* Write min(data_len, size) bytes of @obj to the command's buffer: a status or -ECANCELED. */
int refnic_cmd_write_data(struct refnic_dev *dev, const struct refnic_sqe *sqe, const void *obj,
			  size_t size);

void refnic_stats_snapshot(struct refnic_dev *dev, struct refnic_stats *hdr,
			   struct refnic_func_stats *funcs, unsigned int n);

/* refnic_queue.c */
const struct refnic_qtype_ops *refnic_qtype(unsigned int type);
uint64_t refnic_qtype_features(void);
void refnic_caps_queues(struct refnic_caps_queue *out);
/* create/destroy return a REFNIC_STATUS_* (>= 0) or -ECANCELED */
int refnic_queue_create(struct refnic_dev *dev, struct refnic_func *fn,
			const struct refnic_cmd_create_queue *cmd, uint64_t *result);
int refnic_queue_destroy(struct refnic_dev *dev, struct refnic_func *fn,
			 const struct refnic_cmd_destroy_queue *cmd);
void refnic_queues_destroy_all(struct refnic_dev *dev, struct refnic_func *fn);
unsigned int refnic_queues_poll(struct refnic_dev *dev);
bool refnic_queues_have_work(struct refnic_dev *dev);
struct refnic_queue *refnic_queue_get(struct refnic_func *fn, uint8_t type, uint32_t id);
/* TX/RX: stop @q with REFNIC_QERR_* @code; inside refnic_dp_lock(). */
void refnic_queue_fail(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
		       uint8_t code);
/* TX/RX: publish status.head = q->ci (release), then the interrupt; inside refnic_dp_lock(). */
void refnic_queue_publish(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q);
uint8_t refnic_dpq_validate(struct refnic_dev *dev, struct refnic_func *fn,
			    const struct refnic_cmd_create_queue *cmd);
int refnic_dpq_start(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q);

/* refnic_tx.c, refnic_rx.c */
extern const struct refnic_qtype_ops refnic_qtype_tx;
extern const struct refnic_qtype_ops refnic_qtype_rx;
/* Receive @n frames on function @fn: steer, copy, write back; returns frames taken. */
unsigned int refnic_rx_deliver(struct refnic_dev *dev, struct refnic_func *fn,
			       struct refnic_frame *const *frames, unsigned int n);

/* refnic_switch.c */
int refnic_switch_init(struct refnic_system *sys, const char *uplink);
void refnic_switch_fini(struct refnic_system *sys);
/* Switch @n frames (src, txfn, txq set) to their ports; dev->sys->lock held. */
void refnic_switch_forward(struct refnic_system *sys, struct refnic_frame *frames, unsigned int n);
unsigned int refnic_switch_poll_uplink(struct refnic_system *sys);
int refnic_switch_port(const struct refnic_dev *dev, const struct refnic_func *fn);

/* refnic_eth.c */
void refnic_eth_func_reset(struct refnic_func *fn);
int refnic_cmd_set_rx_mode(struct refnic_dev *dev, struct refnic_func *fn,
			   const struct refnic_sqe *sqe, uint64_t *result);
int refnic_cmd_set_mtu(struct refnic_dev *dev, struct refnic_func *fn, const struct refnic_sqe *sqe,
		       uint64_t *result);
int refnic_cmd_set_rss(struct refnic_dev *dev, struct refnic_func *fn, const struct refnic_sqe *sqe,
		       uint64_t *result);
int refnic_cmd_query_queue_stats(struct refnic_dev *dev, struct refnic_func *fn,
				 const struct refnic_sqe *sqe, uint64_t *result);

/* refnic_pkt.c */
void refnic_pkt_parse(const uint8_t *frame, uint32_t len, struct refnic_pkt *p);
void refnic_pkt_csum_fill(uint8_t *frame, const struct refnic_pkt *p);
uint16_t refnic_pkt_csum_flags(const uint8_t *frame, const struct refnic_pkt *p);
uint32_t refnic_toeplitz(const uint8_t key[REFNIC_RSS_KEY_SIZE], const uint8_t *in,
			 unsigned int len);
bool refnic_pkt_rss(const uint8_t *frame, const struct refnic_pkt *p,
		    const struct refnic_rss_config *rss, uint32_t *hash);

/* refnic_event.c */
extern const struct refnic_qtype_ops refnic_qtype_event;
int refnic_event_post(struct refnic_dev *dev, struct refnic_func *fn, uint8_t type, uint64_t data);
uint64_t refnic_event_link_data(const struct refnic_func *fn);
unsigned int refnic_events_poll(struct refnic_dev *dev);
bool refnic_events_pending(struct refnic_dev *dev);

/* refnic_worker.c */
int refnic_worker_start(struct refnic_system *sys);
void refnic_worker_stop(struct refnic_system *sys);
void refnic_worker_fini(struct refnic_system *sys);
void refnic_sys_kick(struct refnic_system *sys);
static inline void refnic_worker_kick(struct refnic_dev *dev)
{
	refnic_sys_kick(dev->sys);
}

/* refnic_sys.c */
int refnic_sys_attach(struct refnic_system *sys, struct refnic_dev *dev); /* sys->lock held */
void refnic_sys_detach(struct refnic_system *sys, struct refnic_dev *dev);

/*
 * refnic_rdma_*.c: the RDMA engine (docs/refnic.md §16). Commands return a
 * REFNIC_STATUS_* or -ECANCELED, as every executor in refnic_cmd.c.
 */
extern const struct refnic_qtype_ops refnic_qtype_cq;
void refnic_rdma_func_reset(struct refnic_dev *dev, struct refnic_func *fn); /* objects gone */
void refnic_rdma_func_fini(struct refnic_func *fn);
/* Fill @st's live-object gauges (rdma_pds .. rdma_ahs) from @fn. */
void refnic_rdma_stats(const struct refnic_func *fn, struct refnic_func_stats *st);
void refnic_rdma_dev_fini(struct refnic_dev *dev);
void refnic_rdma_mac_changed(struct refnic_func *fn); /* GID 0 follows the MAC */
bool refnic_rdma_cq_busy(const struct refnic_func *fn, uint32_t qid);
unsigned int refnic_rdma_poll(struct refnic_dev *dev);
bool refnic_rdma_has_work(struct refnic_dev *dev);
uint64_t refnic_rdma_deadline(struct refnic_dev *dev); /* earliest timer (CLOCK_MONOTONIC ns) */
/* In refnic_dp_lock(): take @fn's RoCEv2 frames out of @f[0..n); returns how many are left. */
unsigned int refnic_rdma_rx_filter(struct refnic_dev *dev, struct refnic_func *fn,
				   struct refnic_frame **f, unsigned int n);
void refnic_rdma_icrc_fill(struct refnic_frame *f); /* before a lazy frame leaves the engine */
int refnic_rdma_cmd_query_caps(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_create_pd(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_destroy_pd(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_create_mr(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_destroy_mr(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_create_qp(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_modify_qp(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_query_qp(struct refnic_dev *dev, struct refnic_func *fn,
			     const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_destroy_qp(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_create_ah(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_destroy_ah(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_set_gid(struct refnic_dev *dev, struct refnic_func *fn,
			    const struct refnic_sqe *sqe, uint64_t *result);
int refnic_rdma_cmd_query_gid(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result);

/* Helpers. */
static inline bool refnic_is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

#endif /* REFNIC_PRIV_H */
