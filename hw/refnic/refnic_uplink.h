/* SPDX-License-Identifier: MIT */
/*
 * refnic_uplink.h: the model's uplink backends, the embedded switch's port
 * to the outside world. Chosen when the model starts:
 *
 *   none                         no uplink (frames for it are dropped)
 *   af_packet:IFNAME             a Linux interface, e.g. one end of a veth pair
 *   tap:NAME                     a TAP device (created if missing)
 *   udp:LADDR:LPORT,RADDR:RPORT  one Ethernet frame per UDP datagram, the framing of
 *                                QEMU's -netdev dgram: wires two models (or a model and
 *                                a QEMU guest) together
 *
 * Backends move frames in bursts and never block: the worker polls them
 * while busy and sleeps on poll_fd() when idle.
 */
#ifndef REFNIC_UPLINK_H
#define REFNIC_UPLINK_H

#include <stdint.h>

/* Largest frame an uplink carries: a 9000-byte MTU plus Ethernet and VLAN headers. */
#define REFNIC_UPLINK_FRAME_MAX 9022

struct refnic_uplink;

/**
 * Open the uplink described by @spec (see above). "none" (or NULL) gives
 * *@out = NULL and 0. Returns 0 or a negative errno with a log line naming
 * the backend and the reason (no such interface, permission, bad address).
 */
int refnic_uplink_open(const char *spec, struct refnic_uplink **out);

void refnic_uplink_close(struct refnic_uplink *u);

/**
 * Receive up to @n frames without blocking; frame i is copied into bufs[i]
 * (REFNIC_UPLINK_FRAME_MAX bytes each) and its length stored in lens[i].
 * Returns the number received (0 if none) or a negative errno.
 */
int refnic_uplink_rx_burst(struct refnic_uplink *u, uint8_t *const *bufs, uint32_t *lens,
			   unsigned int n);

/**
 * Send @n frames without blocking. Returns the number handed to the
 * backend; the rest are the caller's to count as drops.
 */
int refnic_uplink_tx_burst(struct refnic_uplink *u, const uint8_t *const *frames,
			   const uint32_t *lens, unsigned int n);

/** An fd that is readable when frames wait, for the worker to sleep on. */
int refnic_uplink_poll_fd(const struct refnic_uplink *u);

/** Backend name ("af_packet", "tap", "udp") for logs and stats. */
const char *refnic_uplink_name(const struct refnic_uplink *u);

/**
 * Counters of one uplink, for the switch's statistics. They include the
 * frames a backend drops itself, which the burst return values do not
 * show: tx_burst counts a frame the kernel refused (longer than the
 * interface's MTU, link down) as handed over, so one bad frame does not
 * make the caller drop the rest of its burst.
 */
struct refnic_uplink_stats {
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t rx_dropped;	    /* longer than FRAME_MAX or shorter than 14 bytes */
	uint64_t rx_csum_completed; /* af_packet: partial checksums completed (see .c) */
	uint64_t tx_frames;
	uint64_t tx_bytes;
	uint64_t tx_errors; /* bad length, or refused by the kernel */
};

/** Copy @u's counters into @st (all zero for a NULL uplink). */
void refnic_uplink_get_stats(const struct refnic_uplink *u, struct refnic_uplink_stats *st);

#endif /* REFNIC_UPLINK_H */
