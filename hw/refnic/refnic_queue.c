/* SPDX-License-Identifier: MIT */
/*
 * Queues (docs/refnic.md §10.5, §10.6): one generic object for every queue
 * type, created and destroyed by the admin queue. What all types share is
 * checked here; each type (struct refnic_qtype_ops) adds its own checks and
 * its ring work: EVENT (refnic_event.c), TX (refnic_tx.c), RX (refnic_rx.c),
 * CQ (refnic_rdma_cq.c).
 * TX and RX share their status line and error handling, here.
 */
#include <errno.h>
#include <string.h>

#include "refnic_priv.h"

static const struct refnic_qtype_ops *const qtypes[REFNIC_QT_NUM] = {
	[REFNIC_QT_EVENT] = &refnic_qtype_event,
	[REFNIC_QT_TX] = &refnic_qtype_tx,
	[REFNIC_QT_RX] = &refnic_qtype_rx,
	[REFNIC_QT_CQ] = &refnic_qtype_cq,
};

const struct refnic_qtype_ops *refnic_qtype(unsigned int type)
{
	return type < REFNIC_QT_NUM ? qtypes[type] : NULL;
}

uint64_t refnic_qtype_features(void)
{
	uint64_t f = 0;

	for (unsigned int t = 0; t < REFNIC_QT_NUM; t++)
		if (qtypes[t])
			f |= qtypes[t]->feature;
	return f;
}

void refnic_caps_queues(struct refnic_caps_queue *out)
{
	memset(out, 0, sizeof(*out) * REFNIC_QT_NUM);
	for (unsigned int t = 0; t < REFNIC_QT_NUM; t++) {
		const struct refnic_qtype_ops *ops = qtypes[t];

		if (!ops)
			continue;
		out[t].max_per_func = ops->max_per_func;
		out[t].log_min = ops->log_min;
		out[t].log_max = ops->log_max;
		out[t].entry_size = ops->entry_size;
	}
}

/* The payload checks every type shares (INVALID_FIELD otherwise). */
static bool create_fields_ok(const struct refnic_qtype_ops *ops,
			     const struct refnic_cmd_create_queue *cmd)
{
	if (cmd->log_size < ops->log_min || cmd->log_size > ops->log_max)
		return false;
	if (cmd->flags & ~REFNIC_QF_IRQ_EN)
		return false;
	if (cmd->flags & REFNIC_QF_IRQ_EN) {
		if (cmd->msix_vector == REFNIC_MSIX_ADMIN ||
		    cmd->msix_vector >= REFNIC_PCI_MSIX_VECS)
			return false;
	} else if (cmd->msix_vector) {
		return false;
	}
	if (!cmd->ring_iova || (cmd->ring_iova & (REFNIC_RING_ALIGN - 1)))
		return false;
	if (!ops->status_line && cmd->status_iova)
		return false;
	if (ops->status_line && (!cmd->status_iova || (cmd->status_iova & (REFNIC_RING_ALIGN - 1))))
		return false;
	return refnic_is_zero(cmd->rsvd, sizeof(cmd->rsvd));
}

static struct refnic_queue *queue_alloc(struct refnic_func *fn)
{
	for (unsigned int i = 0; i < REFNIC_FUNC_MAX_QUEUES; i++)
		if (!fn->queues[i].used)
			return &fn->queues[i];
	return NULL;
}

static void queue_release(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q)
{
	const struct refnic_qtype_ops *ops = refnic_qtype(q->type);

	if (ops->stop)
		ops->stop(dev, fn, q);
	fn->nq_type[q->type]--;
	fn->nq_total--;
	memset(q, 0, sizeof(*q));
}

static void queue_init(struct refnic_func *fn, struct refnic_queue *q,
		       const struct refnic_cmd_create_queue *cmd)
{
	memset(q, 0, sizeof(*q));
	q->used = true;
	q->type = cmd->type;
	q->log_size = cmd->log_size;
	q->flags = cmd->flags;
	q->msix_vector = cmd->msix_vector;
	q->cq_id = cmd->cq_id;
	q->id = (uint32_t)(q - fn->queues);
	q->ring_iova = cmd->ring_iova;
	q->status_iova = cmd->status_iova;
	q->phase = 1;
	fn->nq_type[q->type]++;
	fn->nq_total++;
	/* The whole 8-byte slot starts at 0 (§10.5). */
	memset(fn->db + REFNIC_DB_QUEUE(q->id), 0, 8);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int refnic_queue_create(struct refnic_dev *dev, struct refnic_func *fn,
			const struct refnic_cmd_create_queue *cmd, uint64_t *result)
{
	const struct refnic_qtype_ops *ops = refnic_qtype(cmd->type);
	struct refnic_queue *q;
	uint8_t st;
	int rc;

	if (!ops || !create_fields_ok(ops, cmd))
		return REFNIC_STATUS_INVALID_FIELD;
	st = ops->validate ? ops->validate(dev, fn, cmd) : REFNIC_STATUS_OK;
	if (st != REFNIC_STATUS_OK)
		return st;
	q = queue_alloc(fn);
	if (!q || fn->nq_type[cmd->type] >= ops->max_per_func)
		return REFNIC_STATUS_NO_RESOURCES;
	rc = refnic_dma_check(dev, fn, cmd->ring_iova, (size_t)ops->entry_size << cmd->log_size,
			      ops->ring_access);
	if (!rc && ops->status_line)
		rc = refnic_dma_check(dev, fn, cmd->status_iova, sizeof(struct refnic_queue_status),
				      FACET_VFU_DMA_WRITE);
	if (rc)
		return rc == -ECANCELED ? rc : REFNIC_STATUS_DMA_FAULT;
	/* Counted before start(): a reset inside it must find and release it. */
	queue_init(fn, q, cmd);
	rc = ops->start ? ops->start(dev, fn, q) : 0;
	if (rc == -ECANCELED)
		return rc;
	if (rc) {
		queue_release(dev, fn, q);
		return REFNIC_STATUS_INTERNAL;
	}
	*result = q->id | (uint64_t)REFNIC_DB_QUEUE(q->id) << 32;
	RN_INFO("function %u: %s queue %u created (%u entries at 0x%llx)", fn->idx, ops->name,
		q->id, 1u << q->log_size, (unsigned long long)q->ring_iova);
	return REFNIC_STATUS_OK;
}

int refnic_queue_destroy(struct refnic_dev *dev, struct refnic_func *fn,
			 const struct refnic_cmd_destroy_queue *cmd)
{
	struct refnic_queue *q;

	if (!refnic_qtype(cmd->type) || cmd->rsvd0 || cmd->rsvd1 ||
	    !refnic_is_zero(cmd->rsvd, sizeof(cmd->rsvd)))
		return REFNIC_STATUS_INVALID_FIELD;
	if (cmd->queue_id >= REFNIC_FUNC_MAX_QUEUES)
		return REFNIC_STATUS_BAD_QUEUE;
	q = &fn->queues[cmd->queue_id];
	if (!q->used || q->type != cmd->type)
		return REFNIC_STATUS_BAD_QUEUE;
	if (q->type == REFNIC_QT_CQ && refnic_rdma_cq_busy(fn, q->id))
		return REFNIC_STATUS_BAD_STATE; /* a QP still completes into it */
	queue_release(dev, fn, q);
	RN_INFO("function %u: queue %u destroyed", fn->idx, cmd->queue_id);
	return REFNIC_STATUS_OK;
}

void refnic_queues_destroy_all(struct refnic_dev *dev, struct refnic_func *fn)
{
	for (unsigned int i = 0; i < REFNIC_FUNC_MAX_QUEUES; i++)
		if (fn->queues[i].used)
			queue_release(dev, fn, &fn->queues[i]);
}

/* Worker: serve every queue whose type has ring work. */
unsigned int refnic_queues_poll(struct refnic_dev *dev)
{
	unsigned int n = 0;

	for (unsigned int f = 0; f < dev->num_funcs; f++) {
		struct refnic_func *fn = &dev->funcs[f];

		/* Up to the last queue in use: the ids are usually the first few. */
		for (unsigned int i = 0, seen = 0;
		     fn->active && seen < fn->nq_total && i < REFNIC_FUNC_MAX_QUEUES; i++) {
			struct refnic_queue *q = &fn->queues[i];
			const struct refnic_qtype_ops *ops;

			if (!q->used)
				continue;
			seen++;
			ops = refnic_qtype(q->type);
			if (ops && ops->poll)
				n += ops->poll(dev, fn, q);
		}
	}
	return n;
}

bool refnic_queues_have_work(struct refnic_dev *dev)
{
	for (unsigned int f = 0; f < dev->num_funcs; f++) {
		struct refnic_func *fn = &dev->funcs[f];

		for (unsigned int i = 0, seen = 0;
		     fn->active && seen < fn->nq_total && i < REFNIC_FUNC_MAX_QUEUES; i++) {
			struct refnic_queue *q = &fn->queues[i];
			const struct refnic_qtype_ops *ops;

			if (!q->used)
				continue;
			seen++;
			ops = refnic_qtype(q->type);
			if (ops && ops->has_work && ops->has_work(dev, fn, q))
				return true;
		}
	}
	return false;
}

struct refnic_queue *refnic_queue_get(struct refnic_func *fn, uint8_t type, uint32_t id)
{
	struct refnic_queue *q;

	if (id >= REFNIC_FUNC_MAX_QUEUES)
		return NULL;
	q = &fn->queues[id];
	return q->used && q->type == type ? q : NULL;
}

/* ---- TX/RX: what the datapath queue types share ------------------------------- */

uint8_t refnic_dpq_validate(struct refnic_dev *dev, struct refnic_func *fn,
			    const struct refnic_cmd_create_queue *cmd)
{
	return cmd->cq_id ? REFNIC_STATUS_INVALID_FIELD : REFNIC_STATUS_OK;
}

/* The status line starts as head 0, error 0: the device writes all of it once. */
int refnic_dpq_start(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q)
{
	static const struct refnic_queue_status zero;
	int rc = refnic_dma_write(dev, fn, q->status_iova, &zero, sizeof(zero));

	return rc == -ECANCELED ? rc : rc ? -EIO : 0;
}

void refnic_queue_publish(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q)
{
	q->dirty = false;
	if (refnic_dp_store32(dev, fn, q->status_iova + offsetof(struct refnic_queue_status, head),
			      q->ci)) {
		refnic_queue_fail(dev, fn, q, REFNIC_QERR_RING_DMA);
		return;
	}
	if (q->flags & REFNIC_QF_IRQ_EN)
		refnic_irq_raise(dev, q->msix_vector);
}

/*
 * A queue error (docs/refnic.md §15.6): the queue stops where it is,
 * status.error tells the driver (head already says how far it got), and the
 * worker posts a QUEUE_ERROR event on its next pass (event DMA may drop the
 * lock, which the datapath must not).
 */
void refnic_queue_fail(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q,
		       uint8_t code)
{
	if (q->error)
		return;
	/* Written-back descriptors first: a driver that sees error sees the final head. */
	if (q->dirty) {
		q->dirty = false;
		refnic_dp_store32(dev, fn,
				  q->status_iova + offsetof(struct refnic_queue_status, head),
				  q->ci);
	}
	q->error = code;
	q->stats.errors++;
	q->error_event = true;
	fn->qerr_pending = true;
	RN_WARN("function %u: %s queue %u stopped: error %u (ci %u)", fn->idx,
		refnic_qtype(q->type)->name, q->id, code, q->ci);
	/* Best effort: a status line that is gone is the reason itself. */
	refnic_dp_store32(dev, fn, q->status_iova + offsetof(struct refnic_queue_status, error),
			  code);
}
