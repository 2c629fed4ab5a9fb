/* SPDX-License-Identifier: MIT */
/*
 * facet-fwd: a small poll-mode tool on the facet_eth API, in the spirit of
 * testpmd. Shared declarations.
 *
 * facet-fwd.c  options, devices, ports, the main loop, counters
 * fwd_pkt.c    building and parsing frames (UDP test frames, checksums)
 * fwd_gen.c    gen:  generate UDP frames (size, rate, count, flows)
 * fwd_rx.c     rx:   receive, count, verify the sequence and the pattern
 * fwd_io.c     io:   forward between two ports as they come (--tx-first)
 * fwd_echo.c   echo: answer ARP and ICMP echo requests for one IPv4 address
 *
 * Everything runs in one thread: each mode's poll() is called in a loop
 * and says how many packets it moved; the loop backs off when nothing
 * moves, so an idle tool does not burn a CPU.
 */
#ifndef FWD_H
#define FWD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "facet_eth.h"

#define FWD_MAX_PORTS 2
#define FWD_BURST     32
#define FWD_MAX_FLOWS 256

struct fwd_port {
	const char *name;
	struct facet_eth_port *port;
	struct facet_pktbuf_pool *pool;
	uint16_t nb_q; /* RX and TX queues */
	uint8_t mac[6];
	/* counted by the tool itself */
	uint64_t rx, tx, rx_bytes, tx_bytes, dropped;
};

struct fwd_opts {
	const char *mode;
	double duration;    /* seconds, 0: until SIGINT (or --count done) */
	uint32_t size;	    /* gen: frame bytes */
	uint64_t rate;	    /* gen: frames per second, 0: as fast as possible */
	uint64_t count;	    /* gen: frames to send, 0: no limit */
	unsigned int flows; /* gen: UDP source ports */
	uint8_t dst_mac[6]; /* gen */
	bool dst_mac_set;
	uint32_t ip;	 /* echo: our IPv4 address (host order) */
	bool tx_first;	 /* io */
	uint16_t queues; /* per port */
	uint16_t nb_desc;
	uint32_t pool_size;
	bool quiet; /* no per-second lines */
};

struct fwd {
	struct fwd_opts o;
	struct fwd_port ports[FWD_MAX_PORTS];
	unsigned int nb_ports;
	/* mode state */
	uint64_t seq;				 /* gen: next sequence number */
	uint64_t next_ns;			 /* gen: when the next frame is due */
	struct facet_pktbuf *pending[FWD_BURST]; /* gen: built, not taken by the ring yet */
	unsigned int nb_pending;
	uint16_t next_q;
	uint64_t out_base;		    /* gen: the port's opackets + oerrors at start */
	uint64_t drain_end_ns;		    /* gen: stop waiting for completions then */
	uint64_t bad, reordered;	    /* rx: pattern errors, out-of-order per flow */
	int64_t last_seq[FWD_MAX_FLOWS];    /* rx: per flow */
	uint64_t arp_replies, icmp_replies; /* echo */
	bool done;			    /* the mode finished (gen --count) */
};

/* One mode. */
struct fwd_mode {
	const char *name;
	unsigned int nb_ports; /* ports it needs */
	int (*init)(struct fwd *f);
	/* Move what is there; returns the number of packets moved (0: idle). */
	unsigned int (*poll)(struct fwd *f);
	void (*report)(struct fwd *f); /* mode counters of the final summary; may be NULL */
};

extern const struct fwd_mode fwd_mode_gen, fwd_mode_rx, fwd_mode_io, fwd_mode_echo;

uint64_t fwd_now_ns(void);

/* Send all of @pkts or free (and count as dropped) what the ring does not take. */
void fwd_tx(struct fwd_port *p, uint16_t qid, struct facet_pktbuf **pkts, uint16_t n);
/* Send what the ring takes and count it; returns that number (the caller keeps the rest). */
uint16_t fwd_tx_some(struct fwd_port *p, uint16_t qid, struct facet_pktbuf **pkts, uint16_t n);

/* fwd_pkt.c */
#define FWD_HDR_LEN 42 /* Ethernet + IPv4 + UDP */
struct fwd_udp {
	const uint8_t *src_mac, *dst_mac;
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
};
/* A UDP test frame of @len bytes (>= 60): sequence number and pattern payload. */
struct facet_pktbuf *fwd_udp_frame(struct facet_pktbuf_pool *pool, const struct fwd_udp *u,
				   uint32_t len, uint64_t seq);
/* Check a test frame: 0 with its sequence number and UDP source port, or -1. */
int fwd_udp_check(const struct facet_pktbuf *pkt, uint64_t *seq, uint16_t *src_port);
uint16_t fwd_csum(const void *data, unsigned int len, uint32_t sum);
int fwd_parse_mac(const char *s, uint8_t mac[6]);
void fwd_mac_str(const uint8_t mac[6], char buf[18]);

#endif /* FWD_H */
