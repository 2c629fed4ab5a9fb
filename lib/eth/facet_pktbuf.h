/* SPDX-License-Identifier: MIT */
/*
 * facet_pktbuf: packet buffers and packet-buffer pools, the currency of the
 * facet_eth burst API (what an rte_mbuf and an rte_mempool are to DPDK).
 *
 * A pool is one block of Facet DMA memory of a PCI device, cut into buffers
 * of equal size, so every buffer has an address the device can use (its
 * IOVA) and a driver posts it without a lookup. Buffer headers
 * (struct facet_pktbuf) live in ordinary memory next to the pool; only the
 * data is DMA memory. An external-buffer pool (facet_pktbuf_pool_create_ext)
 * has headers only and borrows the application's buffers, already mapped
 * for the device (the DPDK PMD's zero copy: the buffers are mbufs).
 *
 * A frame larger than one buffer is a chain of segments linked by @next; the
 * first segment carries the frame-wide fields (pkt_len, nb_segs, ol_flags,
 * rss_hash).
 *
 * Threading: a pool is a LIFO stack of free buffers without a lock, so one
 * pool is used by one thread at a time (its "owner": the thread that polls
 * the queues posting its buffers and frees what they return). That is the
 * usual poll-mode layout, one pool per polling thread (or per queue), and
 * keeps the fast path free of atomics. A pool created with
 * FACET_PKTBUF_POOL_F_SHARED takes a spinlock once per bulk operation (not
 * per buffer) and may then be used by several threads.
 */
#ifndef FACET_PKTBUF_H
#define FACET_PKTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct facet_core_dev;
struct facet_bus_device;
struct facet_pktbuf_pool;

/* ---- offload flags (struct facet_pktbuf.ol_flags) -------------------------- */

/** RX: rss_hash holds the device's Toeplitz hash of the flow. */
#define FACET_PKTBUF_RX_RSS_HASH    (1ull << 0)
/** RX: the L4 (TCP/UDP) checksum was verified good. */
#define FACET_PKTBUF_RX_L4_CSUM_OK  (1ull << 1)
/** RX: the L4 checksum was verified bad. */
#define FACET_PKTBUF_RX_L4_CSUM_BAD (1ull << 2)
/** RX: packet type as the device parsed it. */
#define FACET_PKTBUF_RX_IPV4	    (1ull << 3)
#define FACET_PKTBUF_RX_IPV6	    (1ull << 4)
#define FACET_PKTBUF_RX_TCP	    (1ull << 5)
#define FACET_PKTBUF_RX_UDP	    (1ull << 6)
/** TX: ask the device to fill the TCP/UDP checksum (IPv4/IPv6, no IP options needed). */
#define FACET_PKTBUF_TX_L4_CSUM	    (1ull << 32)

/** Bytes left in front of the data of a fresh buffer, for headers to prepend. */
#define FACET_PKTBUF_HEADROOM 128

/** One packet buffer (one segment of a frame). */
struct facet_pktbuf {
	void *buf_addr;			/**< start of the buffer (VA) */
	uint64_t buf_iova;		/**< start of the buffer as the device sees it */
	uint16_t data_off;		/**< data starts at buf_addr + data_off */
	uint16_t data_len;		/**< bytes of data in this segment */
	uint16_t buf_len;		/**< size of the buffer */
	uint16_t nb_segs;		/**< first segment: segments in the frame */
	uint32_t pkt_len;		/**< first segment: bytes in the whole frame */
	uint32_t rss_hash;		/**< first segment, RX: with FACET_PKTBUF_RX_RSS_HASH */
	uint64_t ol_flags;		/**< first segment: FACET_PKTBUF_RX_* / TX_* */
	struct facet_pktbuf *next;	/**< next segment, NULL on the last */
	struct facet_pktbuf_pool *pool; /**< the pool it returns to */
	uint16_t port_qid;		/**< RX: queue it arrived on */
	uint16_t rsvd[3];
	uint64_t udata; /**< free for the application */
} __attribute__((aligned(64)));

/** Data of @b (this segment). */
static inline void *facet_pktbuf_data(const struct facet_pktbuf *b)
{
	return (uint8_t *)b->buf_addr + b->data_off;
}

/** Device address of the data of @b (this segment). */
static inline uint64_t facet_pktbuf_iova(const struct facet_pktbuf *b)
{
	return b->buf_iova + b->data_off;
}

/** Bytes free after the data of @b. */
static inline uint16_t facet_pktbuf_tailroom(const struct facet_pktbuf *b)
{
	return (uint16_t)(b->buf_len - b->data_off - b->data_len);
}

/* ---- pools ------------------------------------------------------------------ */

/** Pool flags. */
#define FACET_PKTBUF_POOL_F_SHARED (1u << 0) /**< several threads: a spinlock per bulk op */

/** Options for facet_pktbuf_pool_create(). */
struct facet_pktbuf_pool_opts {
	uint32_t count;	   /**< buffers in the pool (> 0) */
	uint16_t buf_size; /**< bytes per buffer, headroom included (0: 2048) */
	uint32_t flags;	   /**< FACET_PKTBUF_POOL_F_* */
	int numa_node;	   /**< -1: the device's node */
	bool no_hugepages; /**< 4 KiB pages even if hugepages are free */
};

/**
 * Create a pool of buffers in DMA memory of the PCI device @pci. @owner, if
 * not NULL, is the bus device holding @pci (facet_eth_port_dma_owner()): the
 * pool keeps a reference on it, so the PCI device stays open as long as the
 * pool lives, whatever is unbound meanwhile. Returns 0 and sets *@pool, or
 * -EINVAL, -ENOMEM, or facet_core_dma_alloc()'s error.
 */
int facet_pktbuf_pool_create(struct facet_core_dev *pci, struct facet_bus_device *owner,
			     const struct facet_pktbuf_pool_opts *opts,
			     struct facet_pktbuf_pool **pool);

/**
 * Free a pool and its DMA memory. Buffers still out (not returned) are
 * reported in the log; they must not be used afterwards. NULL is a no-op.
 */
void facet_pktbuf_pool_free(struct facet_pktbuf_pool *pool);

/** Buffers in the pool now (free ones). */
uint32_t facet_pktbuf_pool_avail(const struct facet_pktbuf_pool *pool);

/** Buffers the pool was created with. */
uint32_t facet_pktbuf_pool_count(const struct facet_pktbuf_pool *pool);

/** Buffer size (headroom included). */
uint16_t facet_pktbuf_pool_buf_size(const struct facet_pktbuf_pool *pool);

/**
 * The PCI device whose DMA space the pool is mapped in. Buffer IOVAs mean
 * something to that device only: a driver given a buffer of another
 * device's pool (forwarding between two devices) must copy it.
 */
struct facet_core_dev *facet_pktbuf_pool_dev(const struct facet_pktbuf_pool *pool);

/**
 * Take @n buffers, all or nothing (driver refill path). The buffers are as
 * they were returned: buf_* and pool are valid, next is NULL; everything else
 * is the caller's to set. Returns 0 or -ENOBUFS (nothing taken).
 */
int facet_pktbuf_pool_get_bulk(struct facet_pktbuf_pool *pool, struct facet_pktbuf **bufs,
			       unsigned int n);

/**
 * Return @n single segments to @pool (they must be from it and have next ==
 * NULL). The pool is a LIFO, so recently used, cache-warm buffers go out first.
 */
void facet_pktbuf_pool_put_bulk(struct facet_pktbuf_pool *pool, struct facet_pktbuf *const *bufs,
				unsigned int n);

/**
 * Allocate @n fresh packets, all or nothing (application path): each is one
 * empty segment, data_off = FACET_PKTBUF_HEADROOM, lengths 0, flags 0.
 * Returns 0 or -ENOBUFS.
 */
int facet_pktbuf_alloc_bulk(struct facet_pktbuf_pool *pool, struct facet_pktbuf **bufs,
			    unsigned int n);

/** Allocate one fresh packet, or NULL. */
struct facet_pktbuf *facet_pktbuf_alloc(struct facet_pktbuf_pool *pool);

/* ---- external-buffer pools ---------------------------------------------------- */

/*
 * An external-buffer pool owns only buffer headers; the buffers belong to
 * the application (a DPDK mempool's mbufs, for instance) and are already
 * mapped for the device (facet_core_dma_register()). A driver uses it like
 * any pool: a get hands out headers the pool's attach() has just given
 * buffers (buf_addr, buf_iova, buf_len, udata), a put gives the buffers to
 * release() and keeps the headers. The application takes a buffer over
 * (zero copy) by returning its header with facet_pktbuf_pool_detach_bulk(),
 * which releases nothing. The pool's device is @pci as for any pool, so
 * drivers treat its buffers as local. Same threading rule as any pool.
 */

/** Callbacks of an external-buffer pool; @ctx is facet_pktbuf_ext_opts.ctx. */
struct facet_pktbuf_ext_ops {
	/**
	 * Give each of the @n headers a buffer: set buf_addr, buf_iova, buf_len
	 * (and udata to find the buffer again). All or nothing: 0, or -ENOBUFS
	 * with nothing taken. NULL: headers are handed out as they are (the
	 * caller fills them, e.g. a TX path describing buffers it already has).
	 */
	int (*attach)(void *ctx, struct facet_pktbuf **bufs, unsigned int n);
	/**
	 * The @n headers come back through a put or a free (sent, dropped,
	 * drained): release their buffers. Called before the headers are reused.
	 */
	void (*release)(void *ctx, struct facet_pktbuf *const *bufs, unsigned int n);
};

/** Options for facet_pktbuf_pool_create_ext(). */
struct facet_pktbuf_ext_opts {
	uint32_t count;	   /**< headers (> 0): buffers out at the same time at most */
	uint16_t buf_size; /**< bytes per buffer, headroom included: what drivers may fill */
	const struct facet_pktbuf_ext_ops *ops;
	void *ctx;
};

/**
 * Create an external-buffer pool for the PCI device @pci (@owner as in
 * facet_pktbuf_pool_create()). Returns 0 and sets *@pool, -EINVAL or -ENOMEM.
 */
int facet_pktbuf_pool_create_ext(struct facet_core_dev *pci, struct facet_bus_device *owner,
				 const struct facet_pktbuf_ext_opts *opts,
				 struct facet_pktbuf_pool **pool);

/**
 * Return @n single-segment headers to @pool without releasing their buffers:
 * the caller owns the buffers now. On a pool that is not external this is
 * facet_pktbuf_pool_put_bulk().
 */
void facet_pktbuf_pool_detach_bulk(struct facet_pktbuf_pool *pool, struct facet_pktbuf *const *bufs,
				   unsigned int n);

/** Free a packet: every segment of its chain goes back to its pool. */
void facet_pktbuf_free(struct facet_pktbuf *pkt);

/**
 * Free @n packets (chains included), batching consecutive segments of the
 * same pool into one bulk put.
 */
void facet_pktbuf_free_bulk(struct facet_pktbuf *const *pkts, unsigned int n);

/**
 * Copy the frame @pkt (all segments, pkt_len, ol_flags, rss_hash) into a new
 * chain from @pool, filling each buffer. Returns it, or NULL if the pool is
 * short (nothing taken). @pkt is left as it was.
 */
struct facet_pktbuf *facet_pktbuf_copy(const struct facet_pktbuf *pkt,
				       struct facet_pktbuf_pool *pool);

/**
 * Append @len bytes to the last segment of @pkt and return where they start,
 * or NULL if the tailroom is short. Updates data_len and pkt_len.
 */
void *facet_pktbuf_append(struct facet_pktbuf *pkt, uint16_t len);

/**
 * Copy @len bytes at @offset of the frame @pkt (across segments) into @dst.
 * Returns the bytes copied (short if the frame is shorter).
 */
uint32_t facet_pktbuf_read(const struct facet_pktbuf *pkt, uint32_t offset, void *dst,
			   uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* FACET_PKTBUF_H */
