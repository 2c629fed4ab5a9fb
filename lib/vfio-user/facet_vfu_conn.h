/* SPDX-License-Identifier: MIT */
/*
 * facet_vfu_conn: one vfio-user connection over a connected AF_UNIX stream
 * socket, used by both ends.
 *
 * A receiver thread reads whole messages, validates their framing (header,
 * size bounds, fd counts), hands replies to the caller waiting for that
 * msg_id and commands to a handler, whose result becomes the reply. Commands
 * run either in the receiver thread (cheap handlers: the client serving
 * DMA_READ/WRITE) or, with FACET_VFU_CONN_QUEUE, in whatever thread calls
 * facet_vfu_conn_serve(): that way a handler may itself wait for a reply (the
 * server's DMA_READ from a region access) while the receiver keeps reading.
 *
 * When the peer closes, the framing breaks or the peer violates the protocol,
 * the connection is dead: every waiter is woken (-ENODEV, or -EPROTO for a
 * violation), on_close runs once (in the receiver thread), and calls fail at
 * once with -ENODEV.
 */
#ifndef FACET_VFU_CONN_H
#define FACET_VFU_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facet_vfu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct facet_vfu_conn;

/** A received message. Payload and fds belong to it until released. */
struct facet_vfu_msg {
	struct facet_vfu_hdr hdr;
	void *data; /* hdr.size - sizeof(hdr) bytes, NULL if none */
	size_t len;
	int fds[FACET_VFU_MAX_MSG_FDS]; /* set an entry to -1 to keep that fd */
	unsigned int nfds;
};

/** Free the payload and close the fds still in @msg. */
void facet_vfu_msg_release(struct facet_vfu_msg *msg);

/** A reply being built by a command handler. */
struct facet_vfu_reply {
	void *data; /* malloc()ed; freed by the connection once sent */
	size_t len;
	const int *fds; /* borrowed: sent, not closed */
	unsigned int nfds;
};

struct facet_vfu_conn_ops {
	/**
	 * Serve command @cmd: return 0 and fill @rep, or -errno for an error
	 * reply. Fds the handler keeps must be set to -1 in @cmd.
	 */
	int (*command)(void *arg, struct facet_vfu_msg *cmd, struct facet_vfu_reply *rep);
	/** The connection died (@err: -ENODEV peer gone, -EPROTO violation). */
	void (*on_close)(void *arg, int err);
};

#define FACET_VFU_CONN_QUEUE (1u << 0) /**< commands wait for facet_vfu_conn_serve() */

struct facet_vfu_conn_cfg {
	const char *name; /* for logs: "server", "client /path" */
	const struct facet_vfu_conn_ops *ops;
	void *arg;
	uint32_t flags;		 /* FACET_VFU_CONN_* */
	unsigned int timeout_ms; /* reply wait and send timeout; 0: 5000 */
	unsigned int max_fds;	 /* fds accepted per message; 0: FACET_VFU_MAX_MSG_FDS */
	uint32_t max_msg_size;	 /* 0: FACET_VFU_MAX_MSG_SIZE */
};

/**
 * Take over connected socket @fd (closed when the connection is freed, also
 * on failure) and start the receiver thread. Returns 0 or -errno.
 */
int facet_vfu_conn_create(int fd, const struct facet_vfu_conn_cfg *cfg,
			  struct facet_vfu_conn **out);

/** Shut the socket down, stop the receiver and drop the creator's reference. */
void facet_vfu_conn_destroy(struct facet_vfu_conn *conn);

/** References for users that may race with destroy. */
void facet_vfu_conn_get(struct facet_vfu_conn *conn);
void facet_vfu_conn_put(struct facet_vfu_conn *conn);

/** Shut the socket down (the receiver sees EOF, the connection dies). */
void facet_vfu_conn_shutdown(struct facet_vfu_conn *conn);

bool facet_vfu_conn_dead(struct facet_vfu_conn *conn);

/** A request: a fixed part and optional bulk data, sent as one message. */
struct facet_vfu_req {
	uint16_t cmd;
	const void *args;
	size_t args_len;
	const void *data;
	size_t data_len;
	const int *fds;
	unsigned int nfds;
};

/**
 * Send @req and wait for its reply (stored in @reply; release it). Returns 0,
 * -errno from an error reply (-EIO if it carried none), -ETIMEDOUT, -ENODEV
 * (dead connection), -EPROTO (the peer broke the protocol), -E2BIG.
 */
int facet_vfu_conn_call(struct facet_vfu_conn *conn, const struct facet_vfu_req *req,
			struct facet_vfu_msg *reply);

/** Serve queued commands until the connection dies (FACET_VFU_CONN_QUEUE only). */
void facet_vfu_conn_serve(struct facet_vfu_conn *conn);

#ifdef __cplusplus
}
#endif

#endif /* FACET_VFU_CONN_H */
