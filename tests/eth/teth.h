/* SPDX-License-Identifier: MIT */
/*
 * Harness of the facet_eth tests: real parts only. One facet-refnic process
 * serving two devices on one embedded switch, a bus whose plugin path is a
 * directory of its own with links to the build tree's refnic core driver and
 * refnic_eth slice driver plugins (they autoload; no other slice driver does
 * unless added), both devices opened over vfio-user, and their Ethernet
 * ports found by name. Plus UDP frame builders and checkers with a payload
 * pattern derived from a sequence number, so content errors are caught.
 */
#ifndef TETH_H
#define TETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "facet_bus.h"
#include "facet_core.h"
#include "facet_eth.h"

#define TETH_DEVS 2

struct teth_env {
	pid_t model;
	char dir[64];
	char sock[TETH_DEVS][128];
	struct facet_bus *bus;
	struct facet_bus_device *pci[TETH_DEVS]; /* publisher's references */
	struct facet_eth_port *port[TETH_DEVS];
	char name[TETH_DEVS][32]; /* port names: refnic.eth.<the PCI device's bus id> */
	uint8_t mac[TETH_DEVS][6];
	bool model_killed;
};

/* argv[1]: facet-refnic, argv[2]: the build's plugin directory (exits on errors). */
void teth_args(int argc, char **argv);
/* Autoload plugin @file of the build's plugin directory too, in environments started next. */
void teth_plugin_add(const char *file);

/* Start the model and the bus, open both devices, find both ports. */
void teth_env_start(struct teth_env *env);
/* The same, opening only devices [0, @n_open): the others are left to other processes. */
void teth_env_start_open(struct teth_env *env, unsigned int n_open);
/* SIGKILL the model: the devices die under the drivers. */
void teth_model_kill(struct teth_env *env);
/* Everything back down; the model must exit cleanly (unless killed). */
void teth_env_stop(struct teth_env *env);

/* Configure @port with queues of @nb_desc, one pool for all of them, and start it. */
void teth_port_up(struct facet_eth_port *port, uint16_t nb_rxq, uint16_t nb_txq, uint16_t nb_desc,
		  uint32_t pool_count, struct facet_pktbuf_pool **pool);
/* Stop, check every buffer came back, free the pool. */
void teth_port_down(struct facet_eth_port *port, struct facet_pktbuf_pool *pool);

/* What a test frame carries. */
struct teth_flow {
	const uint8_t *src_mac, *dst_mac;
	uint32_t src_ip, dst_ip; /* host order */
	uint16_t src_port, dst_port;
};

/*
 * Build a UDP/IPv4 frame of @len bytes (>= 60) with sequence number @seq
 * and its pattern, cut into segments of at most @seg_size bytes. NULL if the
 * pool is short.
 */
struct facet_pktbuf *teth_frame(struct facet_pktbuf_pool *pool, const struct teth_flow *flow,
				uint32_t len, uint32_t seq, uint16_t seg_size);

/* Check a received frame: length, headers of @flow (if not NULL), pattern. Returns seq or -1. */
int64_t teth_check(const struct facet_pktbuf *pkt, const struct teth_flow *flow);

/* Flow of a frame (UDP source port) for RSS checks, or -1 if not a test frame. */
int teth_src_port(const struct facet_pktbuf *pkt);

/* Poll RX queues [0, nb_rxq) of @port until @want frames or @ms pass; each goes to @fn. */
unsigned int teth_rx_wait(struct facet_eth_port *port, uint16_t nb_rxq, unsigned int want,
			  unsigned int ms,
			  void (*fn)(struct facet_pktbuf *pkt, uint16_t qid, void *arg), void *arg);

/* Send all of @pkts on queue @qid, retrying while the ring is full (bounded). */
void teth_tx_all(struct facet_eth_port *port, uint16_t qid, struct facet_pktbuf **pkts,
		 unsigned int n);

uint64_t teth_now_ms(void);

/* Spawn @argv with its stdout on a pipe (*@out_fd). */
pid_t teth_spawn(char *const argv[], int *out_fd);
/* Read from @fd until @lines lines are in @buf or @ms pass (then fail). */
void teth_read_lines(int fd, char *buf, size_t size, unsigned int lines, unsigned int ms);
/* Wait for @pid to exit within @ms; its exit status (the test fails on a timeout). */
int teth_wait(pid_t pid, unsigned int ms);

#endif /* TETH_H */
