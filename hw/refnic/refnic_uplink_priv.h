/* SPDX-License-Identifier: MIT */
/*
 * refnic_uplink_priv.h: what the uplink backends share. refnic_uplink.c
 * parses the spec and dispatches through one ops table per backend; each
 * backend embeds struct refnic_uplink at the start of its own state.
 */
#ifndef REFNIC_UPLINK_PRIV_H
#define REFNIC_UPLINK_PRIV_H

#include <linux/if_packet.h>
#include <net/if.h>
#include <stdbool.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "facet_log.h"
#include "refnic_uplink.h"

#define UPLINK_TAG "uplink"

/* Frames moved per syscall; a longer burst loops. Sized like a NIC's burst. */
#define UPLINK_BATCH 64

/* Shortest frame an uplink accepts: destination, source, EtherType. */
#define UPLINK_FRAME_MIN 14

#define uplink_err(...)	 facet_log(FACET_LOG_ERR, UPLINK_TAG, __VA_ARGS__)
#define uplink_warn(...) facet_log(FACET_LOG_WARN, UPLINK_TAG, __VA_ARGS__)
#define uplink_info(...) facet_log(FACET_LOG_INFO, UPLINK_TAG, __VA_ARGS__)

#define uplink_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

enum uplink_kind {
	UPLINK_NONE = 0,
	UPLINK_AF_PACKET,
	UPLINK_TAP,
	UPLINK_UDP,
	UPLINK_KIND_MAX,
};

/* A parsed spec: what refnic_uplink_open() hands to a backend. */
struct refnic_uplink_spec {
	enum uplink_kind kind;
	char ifname[IFNAMSIZ]; /* af_packet, tap */
	/* udp: both of one family; sockaddr_in or sockaddr_in6 */
	struct sockaddr_storage local;
	struct sockaddr_storage remote;
	socklen_t addrlen;
};

struct refnic_uplink_ops {
	const char *name;
	/* Allocate and open; returns 0 and *out, or a negative errno (logged). */
	int (*open)(const struct refnic_uplink_spec *spec, struct refnic_uplink **out);
	void (*close)(struct refnic_uplink *u);
	int (*rx_burst)(struct refnic_uplink *u, uint8_t *const *bufs, uint32_t *lens,
			unsigned int n);
	int (*tx_burst)(struct refnic_uplink *u, const uint8_t *const *frames, const uint32_t *lens,
			unsigned int n);
};

/*
 * Common head of every backend's state. The rx_* counters are written only
 * by rx_burst and the tx_* ones only by tx_burst, so one thread may receive
 * while another transmits.
 */
struct refnic_uplink {
	const struct refnic_uplink_ops *ops;
	int fd;	       /* what poll_fd() returns */
	char desc[64]; /* the spec, for log lines */
	/* error log lines: at most one per UPLINK_LOG_INTERVAL_NS and direction */
	uint64_t tx_log_next_ns;
	uint64_t rx_log_next_ns;
	struct refnic_uplink_stats stats;
};

extern const struct refnic_uplink_ops refnic_uplink_af_packet_ops;
extern const struct refnic_uplink_ops refnic_uplink_tap_ops;
extern const struct refnic_uplink_ops refnic_uplink_udp_ops;

/* Parse @spec into @out; -EINVAL with a log line naming the bad part. */
int refnic_uplink_parse(const char *spec, struct refnic_uplink_spec *out);

/*
 * Log a failed open step and return its negative errno; a privilege failure
 * becomes -EPERM with a hint naming @caps.
 */
int uplink_open_error(const char *backend, const char *name, const char *what, int err,
		      const char *caps);

/* True if @len is a frame an uplink may carry. */
static inline bool uplink_len_ok(uint32_t len)
{
	return len >= UPLINK_FRAME_MIN && len <= REFNIC_UPLINK_FRAME_MAX;
}

#define UPLINK_LOG_INTERVAL_NS (10ull * 1000000000ull)

/* Frames the kernel refused: count them, and log (rate-limited: this is per frame). */
void uplink_tx_error(struct refnic_uplink *u, int err, unsigned int frames);

/* A receive error: log (rate-limited); returns @done, or -@err if nothing came. */
int uplink_rx_error(struct refnic_uplink *u, int err, unsigned int done);

/* recvmmsg/sendmmsg scratch, preallocated with the uplink: nothing per frame. */
struct uplink_rxq {
	struct mmsghdr msg[UPLINK_BATCH];
	struct iovec iov[UPLINK_BATCH];
	/* control space for PACKET_AUXDATA; unused by udp */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl[UPLINK_BATCH];
};

struct uplink_txq {
	struct mmsghdr msg[UPLINK_BATCH];
	struct iovec iov[UPLINK_BATCH];
	unsigned int frame[UPLINK_BATCH]; /* msg j carries frame[j] of the batch */
};

/*
 * Per-frame hook after recvmmsg: may rewrite the frame and its length
 * (*len, at most REFNIC_UPLINK_FRAME_MAX); returns false to drop it.
 */
typedef bool (*uplink_rx_fixup_fn)(struct refnic_uplink *u, const struct msghdr *mh, uint8_t *frame,
				   uint32_t *len);

/* rx_burst over recvmmsg; @want_ctl gives each message the control space above. */
int uplink_mmsg_rx(struct refnic_uplink *u, struct uplink_rxq *q, bool want_ctl,
		   uplink_rx_fixup_fn fixup, uint8_t *const *bufs, uint32_t *lens, unsigned int n);

/* tx_burst over sendmmsg, to @name (NULL: the socket's bound/connected peer). */
int uplink_mmsg_tx(struct refnic_uplink *u, struct uplink_txq *q, void *name, socklen_t namelen,
		   const uint8_t *const *frames, const uint32_t *lens, unsigned int n);

/* Complete a CHECKSUM_PARTIAL TCP/UDP checksum in place (af_packet); 1 if done. */
int uplink_csum_complete(uint8_t *frame, uint32_t len);

#endif /* REFNIC_UPLINK_PRIV_H */
