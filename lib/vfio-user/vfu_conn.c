/* SPDX-License-Identifier: MIT */
/*
 * One vfio-user connection: framing, fd passing, request/reply matching and
 * command dispatch (see facet_vfu_conn.h). Everything read from the socket
 * comes from a peer we do not trust: sizes and fd counts are checked before
 * anything is allocated or handed on, and a broken frame ends the connection
 * rather than guessing where the next message starts.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "facet_log.h"
#include "facet_vfu_conn.h"

#define VFU_ERR(...)   FACET_ERR(FACET_VFU_TAG, __VA_ARGS__)
#define VFU_WARN(...)  FACET_WARN(FACET_VFU_TAG, __VA_ARGS__)
#define VFU_DEBUG(...) FACET_DEBUG(FACET_VFU_TAG, __VA_ARGS__)

#define VFU_DEFAULT_TIMEOUT_MS 5000u
/* Commands queued for facet_vfu_conn_serve() before the receiver waits. */
#define VFU_QUEUE_MAX	       64u
/* Message ids of timed-out calls whose late replies are dropped quietly. */
#define VFU_STALE_IDS	       16u

struct vfu_waiter {
	TAILQ_ENTRY(vfu_waiter) next;
	uint16_t msg_id;
	uint16_t cmd;
	bool done;
	int result; /* -EPROTO if the reply was unacceptable */
	struct facet_vfu_msg reply;
};
TAILQ_HEAD(vfu_waiter_list, vfu_waiter);

struct vfu_queued {
	TAILQ_ENTRY(vfu_queued) next;
	struct facet_vfu_msg msg;
	bool bad_fds;
};
TAILQ_HEAD(vfu_queue, vfu_queued);

struct facet_vfu_conn {
	int fd;
	char name[64];
	struct facet_vfu_conn_ops ops;
	void *arg;
	uint32_t flags;
	unsigned int timeout_ms;
	unsigned int max_fds;
	uint32_t max_msg_size;
	atomic_int refcnt;

	pthread_t rx_thread;
	pthread_mutex_t send_lock; /* one message on the wire at a time */

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t reply_cond;
	pthread_cond_t queue_cond;
	struct vfu_waiter_list waiters;
	struct vfu_queue queue;
	unsigned int queue_len;
	bool dead;
	bool closing;
	int dead_err;
	uint16_t next_id;
	uint16_t stale[VFU_STALE_IDS];
	unsigned int n_stale;
};

/* ---- messages ------------------------------------------------------------ */

static void vfu_close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

void facet_vfu_msg_release(struct facet_vfu_msg *msg)
{
	free(msg->data);
	msg->data = NULL;
	msg->len = 0;
	vfu_close_fds(msg->fds, msg->nfds);
	msg->nfds = 0;
}

static void vfu_msg_init(struct facet_vfu_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	for (unsigned int i = 0; i < FACET_VFU_MAX_MSG_FDS; i++)
		msg->fds[i] = -1;
}

/* ---- sending ------------------------------------------------------------- */

static unsigned int vfu_iov_advance(struct iovec *iov, unsigned int cnt, size_t n)
{
	unsigned int i = 0;

	while (i < cnt && n >= iov[i].iov_len) {
		n -= iov[i].iov_len;
		i++;
	}
	if (i < cnt) {
		iov[i].iov_base = (char *)iov[i].iov_base + n;
		iov[i].iov_len -= n;
	}
	return i;
}

/*
 * Write the whole message; the fds ride on its first byte. Returns -ECOMM if
 * it failed after part of the message went out. Caller holds send_lock.
 */
static int vfu_sendmsg_all(struct facet_vfu_conn *conn, struct iovec *iov, unsigned int cnt,
			   const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FACET_VFU_CAP_MAX_MSG_FDS_LIMIT)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { 0 };
	bool sent_any = false;
	unsigned int first = 0;

	if (nfds) {
		struct cmsghdr *cm;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	while (first < cnt) {
		ssize_t n;

		mh.msg_iov = iov + first;
		mh.msg_iovlen = cnt - first;
		n = sendmsg(conn->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sent_any ? -ECOMM : -errno;
		}
		sent_any = true;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		first += vfu_iov_advance(iov + first, cnt - first, (size_t)n);
	}
	return 0;
}

static int vfu_send(struct facet_vfu_conn *conn, struct facet_vfu_hdr *hdr, const void *args,
		    size_t args_len, const void *data, size_t data_len, const int *fds,
		    unsigned int nfds)
{
	struct iovec iov[3] = {
		{ hdr, sizeof(*hdr) },
		{ (void *)args, args_len },
		{ (void *)data, data_len },
	};
	size_t total = sizeof(*hdr) + args_len + data_len;
	int ret;

	if (total > UINT32_MAX || nfds > FACET_VFU_CAP_MAX_MSG_FDS_LIMIT) {
		VFU_ERR("%s: %s message too big (%zu bytes, %u fds)", conn->name,
			facet_vfu_cmd_name(hdr->cmd), total, nfds);
		return -E2BIG;
	}
	hdr->size = (uint32_t)total;
	pthread_mutex_lock(&conn->send_lock);
	ret = vfu_sendmsg_all(conn, iov, 3, fds, nfds);
	pthread_mutex_unlock(&conn->send_lock);
	if (ret == -ECOMM) {
		/* Half a message went out: the stream cannot be resynchronized. */
		VFU_ERR("%s: %s message cut short while sending, closing", conn->name,
			facet_vfu_cmd_name(hdr->cmd));
		shutdown(conn->fd, SHUT_RDWR);
		return -ENODEV;
	}
	if (ret == -EAGAIN || ret == -EWOULDBLOCK) {
		VFU_ERR("%s: peer not reading, %s not sent", conn->name,
			facet_vfu_cmd_name(hdr->cmd));
		return -ETIMEDOUT;
	}
	if (ret == -EPIPE || ret == -ECONNRESET || ret == -ENOTCONN) {
		VFU_DEBUG("%s: peer gone, %s not sent", conn->name, facet_vfu_cmd_name(hdr->cmd));
		return -ENODEV;
	}
	if (ret)
		VFU_ERR("%s: cannot send %s: %s", conn->name, facet_vfu_cmd_name(hdr->cmd),
			strerror(-ret));
	return ret;
}

/* ---- receiving ----------------------------------------------------------- */

/* Keep the fds of one recvmsg(); beyond room (or @max) they are closed. */
static bool vfu_take_fds(struct facet_vfu_conn *conn, struct msghdr *mh, struct facet_vfu_msg *msg)
{
	bool bad = (mh->msg_flags & MSG_CTRUNC) != 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;
		int *p;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		p = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, p + i, sizeof(fd));
			if (msg->nfds < conn->max_fds) {
				msg->fds[msg->nfds++] = fd;
			} else {
				close(fd);
				bad = true;
			}
		}
	}
	return bad;
}

/*
 * Read exactly @len bytes into @buf, collecting fds. Returns 0, -ENODEV on EOF
 * at a message boundary (@at_start), -EPROTO on EOF inside a message.
 */
static int vfu_recv_exact(struct facet_vfu_conn *conn, void *buf, size_t len,
			  struct facet_vfu_msg *msg, bool *bad_fds, bool at_start)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FACET_VFU_MAX_MSG_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(conn->fd, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != ECONNRESET)
				VFU_ERR("%s: receive failed: %s", conn->name, strerror(errno));
			return -ENODEV;
		}
		if (vfu_take_fds(conn, &mh, msg))
			*bad_fds = true;
		if (n == 0) {
			if (at_start && got == 0)
				return -ENODEV;
			VFU_ERR("%s: peer closed in the middle of a message", conn->name);
			return -ENODEV;
		}
		got += (size_t)n;
	}
	return 0;
}

static int vfu_recv_msg(struct facet_vfu_conn *conn, struct facet_vfu_msg *msg, bool *bad_fds)
{
	int ret;

	vfu_msg_init(msg);
	*bad_fds = false;
	ret = vfu_recv_exact(conn, &msg->hdr, sizeof(msg->hdr), msg, bad_fds, true);
	if (ret)
		return ret;
	if (msg->hdr.size < sizeof(msg->hdr)) {
		VFU_ERR("%s: message size %u is smaller than the header, closing", conn->name,
			msg->hdr.size);
		return -EPROTO;
	}
	if (msg->hdr.size > conn->max_msg_size) {
		VFU_ERR("%s: %s message of %u bytes exceeds the limit of %u, closing", conn->name,
			facet_vfu_cmd_name(msg->hdr.cmd), msg->hdr.size, conn->max_msg_size);
		return -EMSGSIZE;
	}
	msg->len = msg->hdr.size - sizeof(msg->hdr);
	if (!msg->len)
		return 0;
	msg->data = malloc(msg->len);
	if (!msg->data) {
		VFU_ERR("%s: out of memory for a %zu-byte message", conn->name, msg->len);
		return -ENOMEM;
	}
	return vfu_recv_exact(conn, msg->data, msg->len, msg, bad_fds, false);
}

/* ---- replies to our calls ------------------------------------------------ */

static bool vfu_is_stale(struct facet_vfu_conn *conn, uint16_t id)
{
	for (unsigned int i = 0; i < conn->n_stale && i < VFU_STALE_IDS; i++) {
		if (conn->stale[i] == id)
			return true;
	}
	return false;
}

/* Hand a reply to its waiter. Returns -EPROTO if the peer broke the protocol. */
static int vfu_route_reply(struct facet_vfu_conn *conn, struct facet_vfu_msg *msg, bool bad_fds)
{
	struct vfu_waiter *w;
	int ret = 0;

	pthread_mutex_lock(&conn->lock);
	TAILQ_FOREACH(w, &conn->waiters, next)
	{
		if (!w->done && w->msg_id == msg->hdr.msg_id)
			break;
	}
	if (!w) {
		if (vfu_is_stale(conn, msg->hdr.msg_id)) {
			VFU_WARN("%s: dropping late reply to %s (id %u)", conn->name,
				 facet_vfu_cmd_name(msg->hdr.cmd), msg->hdr.msg_id);
		} else {
			VFU_ERR("%s: reply with unknown message id %u (%s)", conn->name,
				msg->hdr.msg_id, facet_vfu_cmd_name(msg->hdr.cmd));
			ret = -EPROTO;
		}
		pthread_mutex_unlock(&conn->lock);
		facet_vfu_msg_release(msg);
		return ret;
	}
	if (w->cmd != msg->hdr.cmd) {
		VFU_ERR("%s: reply to %s (id %u) names command %s", conn->name,
			facet_vfu_cmd_name(w->cmd), w->msg_id, facet_vfu_cmd_name(msg->hdr.cmd));
		w->result = ret = -EPROTO;
		facet_vfu_msg_release(msg);
	} else if (bad_fds) {
		VFU_ERR("%s: reply to %s carried too many fds", conn->name,
			facet_vfu_cmd_name(w->cmd));
		w->result = -EPROTO;
		facet_vfu_msg_release(msg);
	} else {
		w->reply = *msg;
	}
	w->done = true;
	pthread_cond_broadcast(&conn->reply_cond);
	pthread_mutex_unlock(&conn->lock);
	return ret;
}

static void vfu_deadline(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait for @w; returns with it off the list. Caller holds conn->lock. */
static int vfu_wait_reply(struct facet_vfu_conn *conn, struct vfu_waiter *w)
{
	struct timespec ts;
	int rc = 0;

	vfu_deadline(&ts, conn->timeout_ms);
	while (!w->done && !conn->dead && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&conn->reply_cond, &conn->lock, &ts);
	TAILQ_REMOVE(&conn->waiters, w, next);
	if (w->done)
		return w->result;
	if (conn->dead)
		return conn->dead_err == -EPROTO ? -EPROTO : -ENODEV;
	conn->stale[conn->n_stale++ % VFU_STALE_IDS] = w->msg_id;
	VFU_ERR("%s: no reply to %s (id %u) within %u ms", conn->name, facet_vfu_cmd_name(w->cmd),
		w->msg_id, conn->timeout_ms);
	return -ETIMEDOUT;
}

static int vfu_reply_status(struct facet_vfu_conn *conn, struct facet_vfu_msg *reply)
{
	int err;

	if (!(reply->hdr.flags & FACET_VFU_F_ERROR))
		return 0;
	err = reply->hdr.error ? (int)reply->hdr.error : EIO;
	if (err <= 0 || err > 4095)
		err = EIO;
	VFU_DEBUG("%s: %s failed at the peer: %s", conn->name, facet_vfu_cmd_name(reply->hdr.cmd),
		  strerror(err));
	facet_vfu_msg_release(reply);
	return -err;
}

int facet_vfu_conn_call(struct facet_vfu_conn *conn, const struct facet_vfu_req *req,
			struct facet_vfu_msg *reply)
{
	struct vfu_waiter w = { .cmd = req->cmd };
	struct facet_vfu_hdr hdr = { .cmd = req->cmd, .flags = FACET_VFU_F_TYPE_COMMAND };
	int ret;

	vfu_msg_init(&w.reply);
	pthread_mutex_lock(&conn->lock);
	if (conn->dead) {
		pthread_mutex_unlock(&conn->lock);
		return -ENODEV;
	}
	w.msg_id = hdr.msg_id = conn->next_id++;
	TAILQ_INSERT_TAIL(&conn->waiters, &w, next);
	pthread_mutex_unlock(&conn->lock);

	ret = vfu_send(conn, &hdr, req->args, req->args_len, req->data, req->data_len, req->fds,
		       req->nfds);
	pthread_mutex_lock(&conn->lock);
	if (ret) {
		TAILQ_REMOVE(&conn->waiters, &w, next);
		if (conn->dead)
			ret = -ENODEV;
	} else {
		ret = vfu_wait_reply(conn, &w);
	}
	pthread_mutex_unlock(&conn->lock);
	if (ret) {
		facet_vfu_msg_release(&w.reply);
		return ret;
	}
	ret = vfu_reply_status(conn, &w.reply);
	if (!ret)
		*reply = w.reply;
	return ret;
}

/* ---- commands from the peer ---------------------------------------------- */

static void vfu_send_reply(struct facet_vfu_conn *conn, const struct facet_vfu_msg *cmd, int ret,
			   struct facet_vfu_reply *rep)
{
	struct facet_vfu_hdr hdr = {
		.msg_id = cmd->hdr.msg_id,
		.cmd = cmd->hdr.cmd,
		.flags = FACET_VFU_F_TYPE_REPLY,
	};

	if (ret) {
		hdr.flags |= FACET_VFU_F_ERROR;
		hdr.error = (uint32_t)-ret;
		vfu_send(conn, &hdr, NULL, 0, NULL, 0, NULL, 0);
		return;
	}
	vfu_send(conn, &hdr, rep->data, rep->len, NULL, 0, rep->fds, rep->nfds);
}

static void vfu_handle_command(struct facet_vfu_conn *conn, struct facet_vfu_msg *msg, bool bad_fds)
{
	struct facet_vfu_reply rep = { 0 };
	int ret;

	if (bad_fds) {
		VFU_ERR("%s: %s carried more than %u fds", conn->name,
			facet_vfu_cmd_name(msg->hdr.cmd), conn->max_fds);
		ret = -EINVAL;
	} else if (!conn->ops.command) {
		ret = -ENOSYS;
	} else {
		ret = conn->ops.command(conn->arg, msg, &rep);
	}
	if (ret > 0 || ret < -4095)
		ret = -EIO;
	if (!(msg->hdr.flags & FACET_VFU_F_NO_REPLY))
		vfu_send_reply(conn, msg, ret, &rep);
	else if (ret)
		VFU_WARN("%s: %s (no reply wanted) failed: %s", conn->name,
			 facet_vfu_cmd_name(msg->hdr.cmd), strerror(-ret));
	free(rep.data);
	facet_vfu_msg_release(msg);
}

static int vfu_queue_command(struct facet_vfu_conn *conn, struct facet_vfu_msg *msg, bool bad_fds)
{
	struct vfu_queued *q = malloc(sizeof(*q));

	if (!q) {
		VFU_ERR("%s: out of memory queueing %s", conn->name,
			facet_vfu_cmd_name(msg->hdr.cmd));
		facet_vfu_msg_release(msg);
		return -ENOMEM;
	}
	q->msg = *msg;
	q->bad_fds = bad_fds;
	pthread_mutex_lock(&conn->lock);
	/* Back-pressure: stop reading while the server thread catches up. */
	while (conn->queue_len >= VFU_QUEUE_MAX && !conn->closing)
		pthread_cond_wait(&conn->queue_cond, &conn->lock);
	TAILQ_INSERT_TAIL(&conn->queue, q, next);
	conn->queue_len++;
	pthread_cond_broadcast(&conn->queue_cond);
	pthread_mutex_unlock(&conn->lock);
	return 0;
}

void facet_vfu_conn_serve(struct facet_vfu_conn *conn)
{
	struct vfu_queued *q;

	pthread_mutex_lock(&conn->lock);
	for (;;) {
		while (TAILQ_EMPTY(&conn->queue) && !conn->dead)
			pthread_cond_wait(&conn->queue_cond, &conn->lock);
		q = TAILQ_FIRST(&conn->queue);
		if (!q || conn->dead)
			break;
		TAILQ_REMOVE(&conn->queue, q, next);
		conn->queue_len--;
		pthread_cond_broadcast(&conn->queue_cond);
		pthread_mutex_unlock(&conn->lock);
		vfu_handle_command(conn, &q->msg, q->bad_fds);
		free(q);
		pthread_mutex_lock(&conn->lock);
	}
	/* Nobody can receive replies any more: drop what is left. */
	while ((q = TAILQ_FIRST(&conn->queue))) {
		TAILQ_REMOVE(&conn->queue, q, next);
		conn->queue_len--;
		facet_vfu_msg_release(&q->msg);
		free(q);
	}
	pthread_mutex_unlock(&conn->lock);
}

/* ---- the receiver thread ------------------------------------------------- */

static void vfu_die(struct facet_vfu_conn *conn, int err)
{
	/* Unblock a peer still writing to us, and our own senders. */
	shutdown(conn->fd, SHUT_RDWR);
	/* First, so that a caller woken below already sees its effects (device dead). */
	if (conn->ops.on_close)
		conn->ops.on_close(conn->arg, err);
	pthread_mutex_lock(&conn->lock);
	conn->dead = true;
	conn->dead_err = err;
	pthread_cond_broadcast(&conn->reply_cond);
	pthread_cond_broadcast(&conn->queue_cond);
	pthread_mutex_unlock(&conn->lock);
}

/* Process one received message. Returns 0 to go on, or why the connection ends. */
static int vfu_dispatch(struct facet_vfu_conn *conn, struct facet_vfu_msg *msg, bool bad_fds)
{
	switch (msg->hdr.flags & FACET_VFU_F_TYPE_MASK) {
	case FACET_VFU_F_TYPE_REPLY:
		return vfu_route_reply(conn, msg, bad_fds);
	case FACET_VFU_F_TYPE_COMMAND:
		if (conn->flags & FACET_VFU_CONN_QUEUE)
			return vfu_queue_command(conn, msg, bad_fds);
		vfu_handle_command(conn, msg, bad_fds);
		return 0;
	default:
		VFU_ERR("%s: message of unknown type %#x, closing", conn->name,
			msg->hdr.flags & FACET_VFU_F_TYPE_MASK);
		facet_vfu_msg_release(msg);
		return -EPROTO;
	}
}

static void *vfu_rx_thread(void *arg)
{
	struct facet_vfu_conn *conn = arg;
	struct facet_vfu_msg msg;
	bool bad_fds;
	int ret;

	for (;;) {
		ret = vfu_recv_msg(conn, &msg, &bad_fds);
		if (ret == -EMSGSIZE &&
		    (msg.hdr.flags & FACET_VFU_F_TYPE_MASK) == FACET_VFU_F_TYPE_COMMAND)
			vfu_send_reply(conn, &msg, -E2BIG, NULL);
		if (ret) {
			facet_vfu_msg_release(&msg);
			ret = ret == -ENODEV ? -ENODEV : -EPROTO;
			break;
		}
		ret = vfu_dispatch(conn, &msg, bad_fds);
		if (ret)
			break;
	}
	VFU_DEBUG("%s: connection closed (%s)", conn->name, strerror(-ret));
	vfu_die(conn, ret);
	return NULL;
}

/* ---- lifetime ------------------------------------------------------------ */

static void vfu_set_timeouts(int fd, unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	/* Bounded sends: a peer that stops reading cannot wedge our callers. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int facet_vfu_conn_create(int fd, const struct facet_vfu_conn_cfg *cfg, struct facet_vfu_conn **out)
{
	struct facet_vfu_conn *conn;
	pthread_condattr_t ca;
	int ret;

	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		VFU_ERR("out of memory for a connection");
		close(fd);
		return -ENOMEM;
	}
	conn->fd = fd;
	snprintf(conn->name, sizeof(conn->name), "%s", cfg->name ? cfg->name : "vfio-user");
	if (cfg->ops)
		conn->ops = *cfg->ops;
	conn->arg = cfg->arg;
	conn->flags = cfg->flags;
	conn->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : VFU_DEFAULT_TIMEOUT_MS;
	conn->max_fds = cfg->max_fds && cfg->max_fds < FACET_VFU_MAX_MSG_FDS
				? cfg->max_fds
				: FACET_VFU_MAX_MSG_FDS;
	conn->max_msg_size = cfg->max_msg_size ? cfg->max_msg_size : FACET_VFU_MAX_MSG_SIZE;
	atomic_init(&conn->refcnt, 1);
	pthread_mutex_init(&conn->send_lock, NULL);
	pthread_mutex_init(&conn->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&conn->reply_cond, &ca);
	pthread_cond_init(&conn->queue_cond, &ca);
	pthread_condattr_destroy(&ca);
	TAILQ_INIT(&conn->waiters);
	TAILQ_INIT(&conn->queue);
	vfu_set_timeouts(fd, conn->timeout_ms);

	ret = pthread_create(&conn->rx_thread, NULL, vfu_rx_thread, conn);
	if (ret) {
		VFU_ERR("%s: cannot start the receiver thread: %s", conn->name, strerror(ret));
		facet_vfu_conn_put(conn);
		return -ret;
	}
	*out = conn;
	return 0;
}

void facet_vfu_conn_get(struct facet_vfu_conn *conn)
{
	atomic_fetch_add(&conn->refcnt, 1);
}

void facet_vfu_conn_put(struct facet_vfu_conn *conn)
{
	if (atomic_fetch_sub(&conn->refcnt, 1) != 1)
		return;
	close(conn->fd);
	pthread_cond_destroy(&conn->reply_cond);
	pthread_cond_destroy(&conn->queue_cond);
	pthread_mutex_destroy(&conn->lock);
	pthread_mutex_destroy(&conn->send_lock);
	free(conn);
}

void facet_vfu_conn_shutdown(struct facet_vfu_conn *conn)
{
	pthread_mutex_lock(&conn->lock);
	conn->closing = true;
	pthread_cond_broadcast(&conn->queue_cond);
	pthread_mutex_unlock(&conn->lock);
	shutdown(conn->fd, SHUT_RDWR);
}

bool facet_vfu_conn_dead(struct facet_vfu_conn *conn)
{
	bool dead;

	pthread_mutex_lock(&conn->lock);
	dead = conn->dead;
	pthread_mutex_unlock(&conn->lock);
	return dead;
}

void facet_vfu_conn_destroy(struct facet_vfu_conn *conn)
{
	if (!conn)
		return;
	facet_vfu_conn_shutdown(conn);
	pthread_join(conn->rx_thread, NULL);
	facet_vfu_conn_put(conn);
}
