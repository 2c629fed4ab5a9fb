/* SPDX-License-Identifier: MIT */
/*
 * The PF's event queue (docs/refnic.md §11): asynchronous device events
 * (link changes) delivered on MSI-X vector 1. Events are control path, so
 * one thread sleeps on the vector's eventfd (no polling, no CPU when idle),
 * drains the ring, and calls the subscribers. Without a usable interrupt it
 * looks at the ring every 100 ms instead.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "refnic_core_priv.h"

#define EQ_LOG		    6
#define EQ_VECTOR	    REFNIC_MSIX_EVENT
#define EQ_POLL_FALLBACK_MS 100

static int create_eq(struct refnic_core *rc, bool irq)
{
	struct rc_events *ev = &rc->events;
	struct refnic_sqe sqe = {
		.opcode = REFNIC_OP_CREATE_QUEUE,
		.create_queue = {
			.type = REFNIC_QT_EVENT,
			.log_size = EQ_LOG,
			.flags = irq ? REFNIC_QF_IRQ_EN : 0,
			.msix_vector = irq ? EQ_VECTOR : 0,
			.ring_iova = facet_core_dma_iova(ev->ring),
		},
	};
	struct refnic_cqe cqe;
	int ret = rc_admin_cmd(rc, &sqe, &cqe);

	if (ret == 0 && cqe.status != REFNIC_STATUS_OK) {
		RC_ERR("%s: CREATE_QUEUE(EVENT) failed with status %u", rc->name, cqe.status);
		ret = -EIO;
	}
	if (ret < 0)
		return ret;
	ev->qid = REFNIC_CREATE_RESULT_QID(cqe.result);
	ev->db_offset = REFNIC_CREATE_RESULT_DB_OFF(cqe.result);
	return 0;
}

static void destroy_eq(struct refnic_core *rc)
{
	struct refnic_sqe sqe = {
		.opcode = REFNIC_OP_DESTROY_QUEUE,
		.destroy_queue = { .type = REFNIC_QT_EVENT, .queue_id = rc->events.qid },
	};
	struct refnic_cqe cqe;

	if (rc_admin_cmd(rc, &sqe, &cqe) == 0 && cqe.status != REFNIC_STATUS_OK)
		RC_WARN("%s: DESTROY_QUEUE(EVENT) failed with status %u", rc->name, cqe.status);
}

static void dispatch(struct refnic_core *rc, const struct refnic_eqe *eqe)
{
	struct rc_events *ev = &rc->events;

	if (eqe->flags & REFNIC_EQE_F_OVERFLOW)
		RC_WARN("%s: events were lost", rc->name);
	if (eqe->type == REFNIC_EVENT_LINK_CHANGE) {
		atomic_store(&ev->link, eqe->data);
		RC_INFO("%s: link %s, %u Mb/s", rc->name,
			(eqe->data & REFNIC_LINK_UP) ? "up" : "down", REFNIC_LINK_SPEED(eqe->data));
	}
	pthread_mutex_lock(&ev->subs_lock);
	for (unsigned int i = 0; i < RC_EVENT_SUBS_MAX; i++) {
		if (ev->subs[i].fn)
			ev->subs[i].fn(eqe, ev->subs[i].arg);
	}
	pthread_mutex_unlock(&ev->subs_lock);
}

/* Consume every new entry, then tell the device how far we got. */
static void drain(struct refnic_core *rc)
{
	struct rc_events *ev = &rc->events;
	volatile struct refnic_eqe *ring = facet_core_dma_va(ev->ring);
	uint32_t mask = (1u << EQ_LOG) - 1, start = ev->ci;
	struct refnic_eqe eqe;

	while ((ring[ev->ci].phase & 1) == ev->phase) {
		atomic_thread_fence(memory_order_acquire); /* phase is written last */
		memcpy(&eqe, (const void *)&ring[ev->ci], sizeof(eqe));
		dispatch(rc, &eqe);
		ev->ci = (ev->ci + 1) & mask;
		if (ev->ci == 0)
			ev->phase ^= 1;
	}
	if (ev->ci != start)
		*(volatile uint32_t *)(rc_doorbell_page(rc, 0) + ev->db_offset) = ev->ci;
}

static void *event_thread(void *arg)
{
	struct refnic_core *rc = arg;
	struct rc_events *ev = &rc->events;
	struct pollfd fds[2] = { { .fd = ev->stop_fd, .events = POLLIN },
				 { .fd = ev->irq_fd, .events = POLLIN } };
	int timeout = ev->irq_fd >= 0 ? -1 : EQ_POLL_FALLBACK_MS;
	uint64_t count;

	for (;;) {
		drain(rc);
		if (poll(fds, ev->irq_fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (fds[1].revents && read(ev->irq_fd, &count, sizeof(count)) < 0)
			break;
	}
	return NULL;
}

/* Route vector 1 to an eventfd; on failure the thread polls instead. */
static void setup_irq(struct refnic_core *rc)
{
	struct rc_events *ev = &rc->events;
	unsigned int vectors = 0;

	ev->irq_fd = -1;
	if (facet_core_irq_count(rc->pci, FACET_CORE_IRQ_MSIX, &vectors) < 0 ||
	    vectors <= EQ_VECTOR)
		return;
	ev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev->irq_fd < 0)
		return;
	if (facet_core_irq_enable(rc->pci, FACET_CORE_IRQ_MSIX, EQ_VECTOR, 1, &ev->irq_fd) < 0) {
		RC_WARN("%s: no MSI-X for events; polling the event queue", rc->name);
		close(ev->irq_fd);
		ev->irq_fd = -1;
	}
}

static void release(struct refnic_core *rc)
{
	struct rc_events *ev = &rc->events;

	if (ev->irq_fd >= 0) {
		facet_core_irq_disable(rc->pci, FACET_CORE_IRQ_MSIX);
		close(ev->irq_fd);
	}
	if (ev->stop_fd >= 0)
		close(ev->stop_fd);
	facet_core_dma_free(ev->ring);
	pthread_mutex_destroy(&ev->subs_lock);
	ev->ring = NULL;
}

int rc_events_start(struct refnic_core *rc)
{
	const struct facet_core_dma_opts opts = { .numa_node = -1, .no_hugepages = true };
	struct rc_events *ev = &rc->events;
	int ret;

	pthread_mutex_init(&ev->subs_lock, NULL);
	ev->phase = 1;
	ev->stop_fd = eventfd(0, EFD_CLOEXEC);
	ret = ev->stop_fd < 0 ? -errno : 0;
	if (ret == 0)
		ret = facet_core_dma_alloc(rc->pci, sizeof(struct refnic_eqe) << EQ_LOG, &opts,
					   &ev->ring);
	if (ret < 0) {
		ev->irq_fd = -1;
		release(rc);
		return ret;
	}
	setup_irq(rc);
	ret = create_eq(rc, ev->irq_fd >= 0);
	if (ret == 0) {
		/*
		 * The device wrote the first LINK_CHANGE before the CREATE_QUEUE
		 * CQE (§10.5). Take it in now, so that link_state() is right
		 * before any slice exists instead of whenever the thread runs.
		 */
		drain(rc);
		ret = -pthread_create(&ev->thread, NULL, event_thread, rc);
	}
	if (ret < 0) {
		release(rc);
		return ret;
	}
	ev->running = true;
	return 0;
}

void rc_events_stop(struct refnic_core *rc)
{
	struct rc_events *ev = &rc->events;
	uint64_t one = 1;

	if (!ev->running)
		return;
	if (write(ev->stop_fd, &one, sizeof(one)) < 0)
		RC_WARN("%s: cannot stop the event thread", rc->name);
	pthread_join(ev->thread, NULL);
	ev->running = false;
	if (!facet_core_is_dead(rc->pci))
		destroy_eq(rc);
	release(rc);
}

int rc_events_subscribe(struct refnic_core *rc, void (*fn)(const struct refnic_eqe *, void *),
			void *arg)
{
	struct rc_events *ev = &rc->events;
	int ret = -ENOSPC;

	pthread_mutex_lock(&ev->subs_lock);
	for (unsigned int i = 0; i < RC_EVENT_SUBS_MAX; i++) {
		if (!ev->subs[i].fn) {
			ev->subs[i].fn = fn;
			ev->subs[i].arg = arg;
			ret = (int)i;
			break;
		}
	}
	pthread_mutex_unlock(&ev->subs_lock);
	return ret;
}

void rc_events_unsubscribe(struct refnic_core *rc, int id)
{
	struct rc_events *ev = &rc->events;

	if (id < 0 || id >= RC_EVENT_SUBS_MAX)
		return;
	pthread_mutex_lock(&ev->subs_lock);
	ev->subs[id].fn = NULL;
	pthread_mutex_unlock(&ev->subs_lock);
}
