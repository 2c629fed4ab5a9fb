/* SPDX-License-Identifier: MIT */
/*
 * Completion queues and completion channels.
 *
 * In event mode the driver gives each CQ an eventfd the device signals
 * (through an MSI-X vector) after an armed completion. A channel is an epoll
 * set of those eventfds, so its one fd is readable when any of its CQs has
 * an event, and an event names its CQ: the epoll data is the CQ.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "rdma_private.h"

/* ---- channels ---------------------------------------------------------------- */

int facet_rdma_comp_channel_create(struct facet_rdma_dev *dev, struct facet_rdma_comp_channel **out)
{
	struct facet_rdma_comp_channel *ch;
	int ret;

	if (!out)
		return -EINVAL;
	ret = rdma_dev_lock(dev, "comp_channel_create");
	if (ret < 0)
		return ret;
	if (!dev->events) {
		RDMA_ERR("%s: no completion events: %s", dev->name, dev->no_events_reason);
		rdma_dev_unlock(dev);
		return -EOPNOTSUPP;
	}
	rdma_dev_unlock(dev);
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ch->epfd < 0) {
		ret = -errno;
		RDMA_ERR("%s: completion channel: epoll_create1: %s", dev->name, strerror(-ret));
		free(ch);
		return ret;
	}
	ch->dev = dev;
	facet_rdma_dev_ref(dev);
	*out = ch;
	return 0;
}

int facet_rdma_comp_channel_destroy(struct facet_rdma_comp_channel *ch)
{
	struct facet_rdma_dev *dev;

	if (!ch)
		return -EINVAL;
	dev = ch->dev;
	pthread_mutex_lock(&dev->lock);
	if (ch->cqs) {
		pthread_mutex_unlock(&dev->lock);
		RDMA_ERR("%s: completion channel still used by %u CQs", dev->name, ch->cqs);
		return -EBUSY;
	}
	pthread_mutex_unlock(&dev->lock);
	close(ch->epfd);
	free(ch);
	facet_rdma_dev_put(dev);
	return 0;
}

int facet_rdma_comp_channel_fd(const struct facet_rdma_comp_channel *ch)
{
	return ch->epfd;
}

int facet_rdma_get_cq_event(struct facet_rdma_comp_channel *ch, int timeout_ms,
			    struct facet_rdma_cq **cq_out, void **ctx_out)
{
	struct epoll_event ev;
	struct facet_rdma_cq *cq;
	uint64_t count;
	int n;

	if (!ch || !cq_out)
		return -EINVAL;
	n = epoll_wait(ch->epfd, &ev, 1, timeout_ms);
	if (n < 0)
		return -errno;
	if (n == 0)
		return facet_rdma_dev_is_attached(ch->dev) ? -EAGAIN : -ENODEV;
	cq = ev.data.ptr;
	/* Consume the interrupt(s): one event per wake-up, as verbs has it. */
	if (read(cq->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return -errno;
	atomic_fetch_add(&cq->events_got, 1);
	if (cq->dev->ops->cq_event)
		cq->dev->ops->cq_event(cq->drv);
	*cq_out = cq;
	if (ctx_out)
		*ctx_out = cq->context;
	return 0;
}

void facet_rdma_ack_cq_events(struct facet_rdma_cq *cq, unsigned int nevents)
{
	if (cq)
		atomic_fetch_add(&cq->events_acked, nevents);
}

/* ---- CQs ------------------------------------------------------------------------- */

/* Lock held. */
static int cq_attach_channel(struct facet_rdma_cq *cq)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cq };

	if (epoll_ctl(cq->channel->epfd, EPOLL_CTL_ADD, cq->event_fd, &ev) < 0) {
		int err = -errno;

		RDMA_ERR("%s: CQ: cannot add its eventfd to the channel: %s", cq->dev->name,
			 strerror(-err));
		return err;
	}
	cq->channel->cqs++;
	return 0;
}

/* Lock held. */
static void cq_detach_channel(struct facet_rdma_cq *cq)
{
	if (!cq->channel || cq->event_fd < 0)
		return;
	epoll_ctl(cq->channel->epfd, EPOLL_CTL_DEL, cq->event_fd, NULL);
	cq->event_fd = -1;
}

int facet_rdma_cq_create(struct facet_rdma_dev *dev, const struct facet_rdma_cq_init *init,
			 struct facet_rdma_cq **out)
{
	struct facet_rdma_cq_hw_out hw = { .event_fd = -1 };
	struct facet_rdma_cq_hw in;
	struct facet_rdma_cq *cq;
	int ret;

	if (!init || !out)
		return -EINVAL;
	if (init->channel && init->channel->dev != dev) {
		RDMA_ERR("%s: CQ: the channel belongs to another device", dev->name);
		return -EINVAL;
	}
	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return -ENOMEM;
	ret = rdma_dev_lock(dev, "cq_create");
	if (ret < 0) {
		free(cq);
		return ret;
	}
	if (!init->cqe || init->cqe > dev->attr.max_cqe) {
		RDMA_ERR("%s: CQ of %u entries: out of range (1 .. %u)", dev->name, init->cqe,
			 dev->attr.max_cqe);
		ret = -EINVAL;
		goto out;
	}
	in = (struct facet_rdma_cq_hw){ .cqe = init->cqe, .events = init->channel != NULL };
	ret = dev->ops->cq_create(dev->priv, &in, &hw);
	if (ret < 0)
		goto out;
	cq->dev = dev;
	cq->drv = hw.ctx;
	cq->cqe = hw.cqe;
	cq->context = init->cq_context;
	cq->channel = init->channel;
	cq->event_fd = hw.event_fd;
	if (cq->channel) {
		ret = cq->event_fd >= 0 ? cq_attach_channel(cq) : -EIO;
		if (ret < 0) {
			cq->channel = NULL;
			dev->ops->cq_destroy(dev->priv, cq->drv);
			goto out;
		}
	}
	cq->fp.ctx = cq->drv;
	cq->fp.arm = dev->ops->cq_arm;
	cq->fp.poll = dev->ops->cq_poll;
	cq->live = true;
	facet_rdma_dev_ref(dev);
	LIST_INSERT_HEAD(&dev->cqs, cq, next);
out:
	rdma_dev_unlock(dev);
	if (ret < 0) {
		free(cq);
		return ret;
	}
	*out = cq;
	return 0;
}

/* Lock held. */
void rdma_cq_teardown(struct facet_rdma_cq *cq)
{
	struct facet_rdma_dev *dev = cq->dev;
	int ret;

	cq->fp.poll = rdma_stub_poll;
	cq->fp.arm = rdma_stub_arm;
	cq_detach_channel(cq); /* before the driver closes the eventfd */
	ret = dev->ops->cq_destroy(dev->priv, cq->drv);
	if (ret < 0)
		RDMA_WARN("%s: CQ: destroy on the device failed: %s", dev->name, strerror(-ret));
	LIST_REMOVE(cq, next);
	cq->live = false;
}

int facet_rdma_cq_destroy(struct facet_rdma_cq *cq)
{
	struct facet_rdma_dev *dev;
	unsigned int unacked;

	if (!cq)
		return -EINVAL;
	dev = cq->dev;
	pthread_mutex_lock(&dev->lock);
	unacked = atomic_load(&cq->events_got) - atomic_load(&cq->events_acked);
	if (cq->users || unacked) {
		pthread_mutex_unlock(&dev->lock);
		RDMA_ERR("%s: CQ still used by QPs (%u references) or with %u events not "
			 "acknowledged",
			 dev->name, cq->users, unacked);
		return -EBUSY;
	}
	if (cq->live)
		rdma_cq_teardown(cq);
	if (cq->channel)
		cq->channel->cqs--;
	pthread_mutex_unlock(&dev->lock);
	free(cq);
	facet_rdma_dev_put(dev);
	return 0;
}

uint32_t facet_rdma_cq_size(const struct facet_rdma_cq *cq)
{
	return cq->cqe;
}

void *facet_rdma_cq_context(const struct facet_rdma_cq *cq)
{
	return cq->context;
}
