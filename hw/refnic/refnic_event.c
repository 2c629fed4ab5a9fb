/* SPDX-License-Identifier: MIT */
/*
 * Event queues (docs/refnic.md §11): the device writes 16-byte entries with a
 * phase byte into a ring the driver consumes, and reads the driver's
 * consumer index from the queue's doorbell to know what it may overwrite.
 * Events arise outside the worker (the link, from the embedder's thread);
 * they are latched per function and posted by the worker, which does all the
 * device's DMA.
 */
#include <errno.h>

#include "refnic_priv.h"

static uint8_t eq_validate(struct refnic_dev *dev, struct refnic_func *fn,
			   const struct refnic_cmd_create_queue *cmd)
{
	return cmd->cq_id ? REFNIC_STATUS_INVALID_FIELD
			  : REFNIC_STATUS_OK; /* status_iova: generic */
}

/* Write one entry, or drop it if the ring is full or unreachable. */
static int eq_write(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
		    uint8_t type, uint64_t data)
{
	uint32_t mask = (1u << q->log_size) - 1;
	uint32_t ci = refnic_db_read(fn, REFNIC_DB_QUEUE(q->id)) & mask;
	struct refnic_eqe eqe = {
		.data = data,
		.function = (uint16_t)fn->idx,
		.type = type,
		.flags = q->overflow ? REFNIC_EQE_F_OVERFLOW : 0,
		.phase = q->phase,
	};
	int rc;

	if (((q->pi + 1) & mask) == ci) {
		fn->stats.events_dropped++;
		q->overflow = true;
		return 0;
	}
	rc = refnic_dma_write_entry(dev, fn, q->ring_iova + (uint64_t)q->pi * sizeof(eqe), &eqe,
				    sizeof(eqe));
	if (rc == -ECANCELED)
		return rc;
	if (rc) {
		RN_DEBUG("function %u: event queue %u: DMA fault %d", fn->idx, q->id, rc);
		fn->stats.events_dropped++;
		q->overflow = true;
		return 0;
	}
	q->pi = (q->pi + 1) & mask;
	if (q->pi == 0)
		q->phase ^= 1;
	q->overflow = false;
	fn->stats.events_posted++;
	if (q->flags & REFNIC_QF_IRQ_EN)
		refnic_irq_raise(dev, q->msix_vector);
	return 1;
}

uint64_t refnic_event_link_data(const struct refnic_func *fn)
{
	if (!fn->link_up)
		return 0;
	return REFNIC_LINK_UP | (uint64_t)REFNIC_LINK_SPEED_MBPS << 32;
}

/* A new event queue starts with the current link state (§10.5). */
static int eq_start(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q)
{
	int rc = eq_write(dev, fn, q, REFNIC_EVENT_LINK_CHANGE, refnic_event_link_data(fn));

	return rc < 0 ? rc : 0;
}

const struct refnic_qtype_ops refnic_qtype_event = {
	.name = "event",
	.feature = REFNIC_FEAT_EVENT_QUEUE,
	.max_per_func = 1,
	.log_min = 1,
	.log_max = 12,
	.entry_size = sizeof(struct refnic_eqe),
	.ring_access = FACET_VFU_DMA_WRITE,
	.validate = eq_validate,
	.start = eq_start,
};

/* Post to every event queue of @fn; returns entries written or -ECANCELED. */
int refnic_event_post(struct refnic_dev *dev, struct refnic_func *fn, uint8_t type, uint64_t data)
{
	int n = 0;

	for (unsigned int i = 0; fn->nq_type[REFNIC_QT_EVENT] && i < REFNIC_FUNC_MAX_QUEUES; i++) {
		struct refnic_queue *q = &fn->queues[i];
		int rc;

		if (!q->used || q->type != REFNIC_QT_EVENT)
			continue;
		rc = eq_write(dev, fn, q, type, data);
		if (rc < 0)
			return rc;
		n += rc;
	}
	return n;
}

bool refnic_events_pending(struct refnic_dev *dev)
{
	if (!refnic_pci_bus_master(dev))
		return false;
	for (unsigned int f = 0; f < dev->num_funcs; f++) {
		const struct refnic_func *fn = &dev->funcs[f];

		if (fn->active && (fn->link_event || fn->qerr_pending))
			return true;
	}
	return false;
}

/* QUEUE_ERROR for every queue of @fn that stopped since the last pass. */
static int post_queue_errors(struct refnic_dev *dev, struct refnic_func *fn)
{
	fn->qerr_pending = false;
	for (unsigned int i = 0; i < REFNIC_FUNC_MAX_QUEUES; i++) {
		struct refnic_queue *q = &fn->queues[i];
		int rc;

		if (!q->used || !q->error_event)
			continue;
		q->error_event = false;
		rc = refnic_event_post(dev, fn, REFNIC_EVENT_QUEUE_ERROR,
				       REFNIC_QERR_EVENT_DATA(q->id, q->type, q->error));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Worker: post latched events (they wait while Bus Master Enable is clear). */
unsigned int refnic_events_poll(struct refnic_dev *dev)
{
	unsigned int n = 0;

	if (!refnic_events_pending(dev))
		return 0;
	for (unsigned int f = 0; f < dev->num_funcs; f++) {
		struct refnic_func *fn = &dev->funcs[f];

		if (!fn->active)
			continue;
		if (fn->link_event) {
			fn->link_event = false;
			if (refnic_event_post(dev, fn, REFNIC_EVENT_LINK_CHANGE,
					      refnic_event_link_data(fn)) < 0)
				break; /* reset: nothing left to post */
			n++;
		}
		if (fn->qerr_pending) {
			if (post_queue_errors(dev, fn) < 0)
				break;
			n++;
		}
	}
	return n;
}
