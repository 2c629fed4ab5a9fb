/* SPDX-License-Identifier: MIT */
/*
 * Completion queues and completion channels.
 *
 * A verbs completion channel is a file descriptor the application may poll
 * itself; facet_rdma's channel is one too, so channel->fd is that fd and
 * ibv_get_cq_event() waits on it (or, when the application made it
 * non-blocking, only looks). The facet CQ's cq_context is our wrapper, so an
 * event leads back to the application's struct ibv_cq and its cq_context.
 * Polling and arming are datapath calls (fv_datapath.c).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fv_private.h"

/* How long a blocking ibv_get_cq_event() waits between looks at the device's health. */
#define FV_CQ_EVENT_LOOK_MS 100

struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *ctx)
{
	struct fv_context *c = fv_ctx(ctx);
	struct fv_channel *ch;
	int rc;

	if (!c)
		return FV_FORWARD(ibv_create_comp_channel, "IBVERBS_1.0", NULL, ctx);
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return fv_null(ENOMEM);
	rc = facet_rdma_comp_channel_create(c->rdev, &ch->rch);
	if (rc) {
		FV_ERR("%s: cannot create a completion channel (%s): use polling, without the "
		       "application's event option",
		       fv_name(c), strerror(-rc));
		free(ch);
		return fv_null(rc);
	}
	ch->ibch.context = ctx;
	ch->ibch.fd = facet_rdma_comp_channel_fd(ch->rch);
	return &ch->ibch;
}

int ibv_destroy_comp_channel(struct ibv_comp_channel *ibch)
{
	struct fv_channel *ch = fv_channel(ibch);
	int rc;

	if (!ch)
		return FV_FORWARD(ibv_destroy_comp_channel, "IBVERBS_1.0", ENOSYS, ibch);
	rc = facet_rdma_comp_channel_destroy(ch->rch);
	if (rc)
		return fv_err(rc);
	free(ch);
	return 0;
}

struct ibv_cq *ibv_create_cq(struct ibv_context *ctx, int cqe, void *cq_context,
			     struct ibv_comp_channel *channel, int comp_vector)
{
	struct fv_context *c = fv_ctx(ctx);
	struct fv_channel *ch = fv_channel(channel);
	struct fv_cq *cq;
	int rc;

	if (!c)
		return FV_FORWARD(ibv_create_cq, "IBVERBS_1.1", NULL, ctx, cqe, cq_context, channel,
				  comp_vector);
	if (cqe <= 0 || (channel && (!ch || channel->context != ctx)) || comp_vector != 0)
		return fv_null(EINVAL);
	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return fv_null(ENOMEM);
	rc = facet_rdma_cq_create(c->rdev,
				  &(struct facet_rdma_cq_init){
					  .cqe = (uint32_t)cqe,
					  .cq_context = cq,
					  .channel = ch ? ch->rch : NULL,
				  },
				  &cq->rcq);
	if (rc) {
		free(cq);
		return fv_null(rc);
	}
	cq->ibcq.context = ctx;
	cq->ibcq.channel = channel;
	cq->ibcq.cq_context = cq_context;
	cq->ibcq.cqe = (int)facet_rdma_cq_size(cq->rcq);
	pthread_mutex_init(&cq->ibcq.mutex, NULL);
	pthread_cond_init(&cq->ibcq.cond, NULL);
	if (channel) {
		pthread_mutex_lock(&ctx->mutex);
		channel->refcnt++;
		pthread_mutex_unlock(&ctx->mutex);
	}
	return &cq->ibcq;
}

/* The CQ holds at least what was asked for; growing it is not supported. */
int ibv_resize_cq(struct ibv_cq *ibcq, int cqe)
{
	if (!fv_cq(ibcq))
		return FV_FORWARD(ibv_resize_cq, "IBVERBS_1.1", ENOSYS, ibcq, cqe);
	if (cqe <= 0)
		return EINVAL;
	return cqe <= ibcq->cqe ? 0 : EOPNOTSUPP;
}

int ibv_destroy_cq(struct ibv_cq *ibcq)
{
	struct fv_cq *cq = fv_cq(ibcq);
	struct ibv_comp_channel *channel;
	int rc;

	if (!cq)
		return FV_FORWARD(ibv_destroy_cq, "IBVERBS_1.1", ENOSYS, ibcq);
	channel = ibcq->channel;
	rc = facet_rdma_cq_destroy(cq->rcq);
	if (rc)
		return fv_err(rc);
	if (channel) {
		pthread_mutex_lock(&ibcq->context->mutex);
		channel->refcnt--;
		pthread_mutex_unlock(&ibcq->context->mutex);
	}
	pthread_cond_destroy(&ibcq->cond);
	pthread_mutex_destroy(&ibcq->mutex);
	free(cq);
	return 0;
}

/* A device that went away mid-wait (unbound, or its model process dead). */
static bool fv_device_gone(struct ibv_context *ctx)
{
	struct facet_rdma_port_attr pa;

	return facet_rdma_query_port(fv_ctx(ctx)->rdev, 1, &pa) == -ENODEV;
}

int ibv_get_cq_event(struct ibv_comp_channel *ibch, struct ibv_cq **cq, void **cq_context)
{
	struct fv_channel *ch = fv_channel(ibch);
	struct facet_rdma_cq *rcq;
	struct fv_cq *fcq;
	bool blocking;
	void *ctx;
	int fl, rc;

	if (!ch)
		return FV_FORWARD(ibv_get_cq_event, "IBVERBS_1.1", -1, ibch, cq, cq_context);
	fl = fcntl(ibch->fd, F_GETFL);
	blocking = !(fl >= 0 && (fl & O_NONBLOCK));
	/* A blocking wait looks now and then whether the device is still there. */
	do {
		rc = facet_rdma_get_cq_event(ch->rch, blocking ? FV_CQ_EVENT_LOOK_MS : 0, &rcq,
					     &ctx);
		if (rc == -EAGAIN && blocking && fv_device_gone(ibch->context))
			rc = -ENODEV;
	} while (rc == -EAGAIN && blocking);
	if (rc) {
		errno = fv_err(rc);
		return -1;
	}
	fcq = ctx;
	*cq = &fcq->ibcq;
	*cq_context = fcq->ibcq.cq_context;
	return 0;
}

void ibv_ack_cq_events(struct ibv_cq *ibcq, unsigned int nevents)
{
	struct fv_cq *cq = fv_cq(ibcq);

	if (!cq) {
		FV_FORWARD(ibv_ack_cq_events, "IBVERBS_1.1", (void)0, ibcq, nevents);
		return;
	}
	facet_rdma_ack_cq_events(cq->rcq, nevents);
	pthread_mutex_lock(&ibcq->mutex);
	ibcq->comp_events_completed += nevents;
	pthread_cond_broadcast(&ibcq->cond);
	pthread_mutex_unlock(&ibcq->mutex);
}
