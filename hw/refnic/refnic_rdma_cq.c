/* SPDX-License-Identifier: MIT */
/*
 * RDMA completion queues (docs/refnic.md §16.6): the REFNIC_QT_CQ queue
 * type. The device writes 32-byte CQEs with a phase bit, as the admin CQ
 * does, and reads the driver's consumer index (free-running, 24 bits) from
 * the CQ's doorbell; it never writes a slot the consumer has not freed. A
 * CQE that finds the CQ full stops it (overrun): a QUEUE_ERROR and a
 * CQ_ERROR event follow, and the QP that needed the slot goes to ERR.
 * Arming: ARM (or ARM_SOLICITED) in the doorbell, with an arm sequence
 * number other than the last one taken, asks for the CQ's MSI-X vector on
 * the next (solicited or error) CQE. The device only ever reads the
 * doorbell, as silicon only sees the driver's stores: it remembers the
 * sequence number it took and whether the arm is still pending, so one arm
 * gives one interrupt however often the driver stores the word again.
 * The arm is looked at when a CQE has been written: an arm stored before
 * the CQE was visible counts for it (the driver polls after arming).
 */
#include <errno.h>

#include "refnic_rdma.h"

static uint8_t cq_validate(struct refnic_dev *dev, struct refnic_func *fn,
			   const struct refnic_cmd_create_queue *cmd)
{
	return cmd->cq_id ? REFNIC_STATUS_INVALID_FIELD : REFNIC_STATUS_OK;
}

static int cq_start(struct refnic_dev *dev, struct refnic_func *fn, struct refnic_queue *q)
{
	q->pi = 0; /* free-running producer count; slot and phase derive from it */
	q->ci = 0;
	q->cq_arm = 0;
	q->cq_arm_sn = 0; /* taken: the driver's first arm request uses 1 */
	return 0;
}

const struct refnic_qtype_ops refnic_qtype_cq = {
	.name = "cq",
	.feature = REFNIC_FEAT_RDMA,
	.max_per_func = RDMA_MAX_CQ,
	.log_min = RDMA_CQ_LOG_MIN,
	.log_max = RDMA_CQ_LOG_MAX,
	.entry_size = sizeof(struct refnic_rdma_cqe),
	.ring_access = FACET_VFU_DMA_WRITE,
	.validate = cq_validate,
	.start = cq_start,
};

/* The CQ stops (overrun, or its ring unmapped): QUEUE_ERROR and CQ_ERROR tell the driver. */
static void cq_fail(struct refnic_func *fn, struct refnic_queue *q, uint8_t code)
{
	if (q->error)
		return;
	q->error = code;
	q->stats.errors++;
	q->error_event = true;
	fn->qerr_pending = true;
	rdma_event_latch(fn, REFNIC_EVENT_CQ_ERROR, q->id);
	RN_WARN("function %u: cq %u stopped: error %u (pi %u)", fn->idx, q->id, code, q->pi);
}

/*
 * The consumer index of doorbell value @db, if it lies between the last one
 * taken and the producer count: anything else is a stale or broken store
 * (two driver threads storing the word out of order), which must neither
 * free slots the driver has not consumed nor make the CQ look full.
 */
static uint32_t cq_ci_take(struct refnic_queue *q, uint32_t db)
{
	uint32_t ci = db & RDMA_CQ_IDX_MASK;

	if (((ci - q->ci) & RDMA_CQ_IDX_MASK) <= ((q->pi - q->ci) & RDMA_CQ_IDX_MASK))
		q->ci = ci;
	return q->ci;
}

/* A new arm request in doorbell value @db (a sequence number not yet taken)? Take it. */
static void cq_arm_take(struct refnic_queue *q, uint32_t db)
{
	uint8_t sn = (uint8_t)((db & REFNIC_CQ_DB_ARM_SN_MASK) >> REFNIC_CQ_DB_ARM_SN_SHIFT);

	if (sn == q->cq_arm_sn)
		return; /* the same request stored again, or one already answered */
	q->cq_arm_sn = sn;
	if (db & REFNIC_CQ_DB_ARM)
		q->cq_arm = REFNIC_CQ_DB_ARM; /* the wider request wins */
	else if ((db & REFNIC_CQ_DB_ARM_SOLICITED) && q->cq_arm != REFNIC_CQ_DB_ARM)
		q->cq_arm = REFNIC_CQ_DB_ARM_SOLICITED;
}

/* The CQE just written: raise the vector if an arm pending wants it, once. */
static void cq_notify(struct refnic_dev *dev, struct refnic_queue *q, bool solicited)
{
	if (!q->cq_arm || (q->cq_arm == REFNIC_CQ_DB_ARM_SOLICITED && !solicited))
		return;
	q->cq_arm = 0;
	refnic_irq_raise(dev, q->msix_vector);
}

static int cqe_write(struct refnic_dev *dev, struct refnic_func *fn, uint64_t iova,
		     const struct refnic_rdma_cqe *cqe)
{
	const uint8_t *e = (const uint8_t *)cqe;
	const size_t body = sizeof(*cqe) - 1;
	void *va;
	int rc;

	rc = refnic_dp_translate(dev, fn, iova, sizeof(*cqe), FACET_VFU_DMA_WRITE, &va);
	if (rc == -ENOTSUP) {
		rc = refnic_dp_write(dev, fn, iova, e, body);
		return rc ? rc : refnic_dp_write(dev, fn, iova + body, e + body, 1);
	}
	if (rc)
		return rc;
	memcpy(va, e, body);
	__atomic_store_n((uint8_t *)va + body, e[body], __ATOMIC_RELEASE); /* phase last */
	return 0;
}

bool rdma_cq_post(struct refnic_dev *dev, struct refnic_func *fn, uint32_t cqn,
		  struct refnic_rdma_cqe *cqe)
{
	struct refnic_queue *q = refnic_queue_get(fn, REFNIC_QT_CQ, cqn);
	uint32_t size, ci, slot;

	if (!q || q->error)
		return false;
	size = 1u << q->log_size;
	ci = cq_ci_take(q, refnic_db_read(fn, REFNIC_DB_QUEUE(q->id)));
	if (((q->pi - ci) & RDMA_CQ_IDX_MASK) >= size) {
		cq_fail(fn, q, REFNIC_QERR_CQ_OVERRUN);
		return false;
	}
	slot = q->pi & (size - 1);
	cqe->phase = (uint8_t)(((q->pi >> q->log_size) & 1) ^ 1); /* first pass: 1 */
	cqe->rsvd = 0;
	if (cqe_write(dev, fn, q->ring_iova + (uint64_t)slot * sizeof(*cqe), cqe)) {
		cq_fail(fn, q, REFNIC_QERR_RING_DMA);
		return false;
	}
	q->pi = (q->pi + 1) & RDMA_CQ_IDX_MASK;
	q->stats.packets++;
	if (q->flags & REFNIC_QF_IRQ_EN) {
		/*
		 * The arm is read after the CQE is visible, as the driver polls
		 * after it stores an arm: one of the two sees the other.
		 */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		cq_arm_take(q, refnic_db_read(fn, REFNIC_DB_QUEUE(q->id)));
		cq_notify(dev, q, (cqe->flags & REFNIC_CQE_F_SOLICITED) || cqe->status);
	}
	return true;
}
