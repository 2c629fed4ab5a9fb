/* SPDX-License-Identifier: MIT */
/*
 * Completion queues: a ring of 32-byte CQEs in DMA memory (CREATE_QUEUE
 * type CQ), read by phase like the admin CQ; the consumer index goes back
 * through the CQ doorbell, a plain store (it announces no work).
 *
 * Event mode: each CQ that wants events gets an MSI-X vector of its own,
 * routed to an eventfd (vectors 0 and 1 are the core's). Vectors belong to
 * the PCI device, shared by every slice on it, so they are handed out from
 * one table per PCI device for the whole process. The arm request rides in
 * the same doorbell as the consumer index, with an arm sequence number: the
 * device only reads the doorbell and takes a request once per number, so
 * we keep our own copy of the word and always store all of it. A consumer
 * index update stores the pending request again, which the device ignores;
 * an arm takes the next number once the event of the last one has been
 * taken (cq_event), or to widen ARM_SOLICITED to ARM, and otherwise stores
 * the same request again. That keeps us at most three numbers ahead of the
 * device, inside the two bits (docs/refnic.md §16.6).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "refnic_rdma.h"

/* ---- interrupt vectors ---------------------------------------------------------- */

#define MAX_PCI 16

static pthread_mutex_t vec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct facet_core_dev *pci;
	uint64_t used; /* bit v: vector v taken */
} vec_table[MAX_PCI];

unsigned int rr_vectors_usable(struct rr_dev *rd)
{
	unsigned int count = 0;

	if (facet_core_irq_count(rd->pci, FACET_CORE_IRQ_MSIX, &count) < 0)
		return 0;
	if (count > 64)
		count = 64;
	return count > RR_FIRST_VECTOR ? count - RR_FIRST_VECTOR : 0;
}

static int vector_alloc(struct rr_dev *rd)
{
	unsigned int count = rr_vectors_usable(rd) + RR_FIRST_VECTOR;
	int slot = -1, vec = -ENOSPC;

	pthread_mutex_lock(&vec_lock);
	for (int i = 0; i < MAX_PCI; i++) {
		if (vec_table[i].pci == rd->pci) {
			slot = i;
			break;
		}
		if (slot < 0 && !vec_table[i].pci)
			slot = i;
	}
	if (slot >= 0) {
		vec_table[slot].pci = rd->pci;
		for (unsigned int v = RR_FIRST_VECTOR; v < count; v++) {
			if (!(vec_table[slot].used & (1ull << v))) {
				vec_table[slot].used |= 1ull << v;
				vec = (int)v;
				break;
			}
		}
		if (!vec_table[slot].used)
			vec_table[slot].pci = NULL;
	}
	pthread_mutex_unlock(&vec_lock);
	return vec;
}

static void vector_free(struct rr_dev *rd, int vec)
{
	pthread_mutex_lock(&vec_lock);
	for (int i = 0; i < MAX_PCI; i++) {
		if (vec_table[i].pci != rd->pci)
			continue;
		vec_table[i].used &= ~(1ull << vec);
		if (!vec_table[i].used)
			vec_table[i].pci = NULL;
		break;
	}
	pthread_mutex_unlock(&vec_lock);
}

static int cq_events_setup(struct rr_dev *rd, struct rr_cq *cq)
{
	int ret;

	cq->vector = vector_alloc(rd);
	if (cq->vector < 0) {
		RR_ERR("%s: CQ: no MSI-X vector left for event mode (%u usable)", rd->name,
		       rr_vectors_usable(rd));
		return -ENOSPC;
	}
	cq->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cq->event_fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = facet_core_irq_enable(rd->pci, FACET_CORE_IRQ_MSIX, (unsigned int)cq->vector, 1,
				    &cq->event_fd);
	if (ret == 0)
		return 0;
	RR_ERR("%s: CQ: cannot route MSI-X vector %d: %s", rd->name, cq->vector, strerror(-ret));
	close(cq->event_fd);
	cq->event_fd = -1;
fail:
	vector_free(rd, cq->vector);
	cq->vector = -1;
	return ret;
}

static void cq_events_release(struct rr_dev *rd, struct rr_cq *cq)
{
	const int none = -1;

	if (cq->vector < 0)
		return;
	if (!facet_core_is_dead(rd->pci))
		facet_core_irq_enable(rd->pci, FACET_CORE_IRQ_MSIX, (unsigned int)cq->vector, 1,
				      &none);
	close(cq->event_fd);
	cq->event_fd = -1;
	vector_free(rd, cq->vector);
	cq->vector = -1;
}

/* ---- create / destroy ---------------------------------------------------------------- */

static uint8_t log2_up(uint32_t n)
{
	uint8_t log = 0;

	while ((1u << log) < n)
		log++;
	return log;
}

static void cq_free(struct rr_dev *rd, struct rr_cq *cq)
{
	cq_events_release(rd, cq);
	facet_core_dma_free(cq->mem);
	free(cq);
}

static void cq_list_del(struct rr_dev *rd, struct rr_cq *cq)
{
	pthread_mutex_lock(&rd->cq_lock);
	for (struct rr_cq **pp = &rd->cqs; *pp; pp = &(*pp)->next) {
		if (*pp == cq) {
			*pp = cq->next;
			break;
		}
	}
	pthread_mutex_unlock(&rd->cq_lock);
}

int rr_cq_create(void *priv, const struct facet_rdma_cq_hw *in, struct facet_rdma_cq_hw_out *out)
{
	const struct facet_core_dma_opts opts = { .numa_node = -1, .no_hugepages = true };
	const struct refnic_caps_queue *qc;
	struct rr_dev *rd = priv;
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_CREATE_QUEUE };
	struct rr_cq *cq;
	uint64_t result;
	uint8_t log;
	int ret;

	qc = &rd->ops->caps(rd->slice)->queues[REFNIC_QT_CQ];
	log = log2_up(in->cqe);
	if (qc->log_min && log < qc->log_min)
		log = qc->log_min;
	if (log < 1)
		log = 1;
	if (log > rd->caps.cq_log_max) {
		RR_ERR("%s: CQ of %u entries: the device has at most %u", rd->name, in->cqe,
		       1u << rd->caps.cq_log_max);
		return -EINVAL;
	}
	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return -ENOMEM;
	cq->rd = rd;
	cq->vector = -1;
	cq->event_fd = -1;
	cq->mask = (1u << log) - 1;
	cq->phase = 1; /* the device's first pass writes phase 1 */
	ret = facet_core_dma_alloc(rd->pci, (size_t)sizeof(struct refnic_rdma_cqe) << log, &opts,
				   &cq->mem);
	if (ret < 0)
		goto fail;
	cq->ring = facet_core_dma_va(cq->mem);
	if (in->events) {
		ret = cq_events_setup(rd, cq);
		if (ret < 0)
			goto fail;
	}
	sqe.create_queue = (struct refnic_cmd_create_queue){
		.type = REFNIC_QT_CQ,
		.log_size = log,
		.flags = cq->vector >= 0 ? REFNIC_QF_IRQ_EN : 0,
		.msix_vector = cq->vector >= 0 ? (uint16_t)cq->vector : 0,
		.ring_iova = facet_core_dma_iova(cq->mem),
	};
	ret = rr_cmd(rd, &sqe, &result, "CREATE_QUEUE(CQ)");
	if (ret < 0)
		goto fail;
	cq->cqn = REFNIC_CREATE_RESULT_QID(result);
	cq->db = (volatile uint32_t *)(rd->db_page + REFNIC_CREATE_RESULT_DB_OFF(result));
	pthread_mutex_lock(&rd->cq_lock);
	cq->next = rd->cqs;
	rd->cqs = cq;
	pthread_mutex_unlock(&rd->cq_lock);
	out->ctx = cq;
	out->cqe = cq->mask + 1;
	out->event_fd = cq->event_fd;
	RR_DEBUG("%s: CQ %u: %u entries%s", rd->name, cq->cqn, cq->mask + 1,
		 cq->vector >= 0 ? ", events" : "");
	return 0;
fail:
	cq_free(rd, cq);
	return ret;
}

int rr_cq_destroy(void *priv, void *ctx)
{
	struct rr_dev *rd = priv;
	struct rr_cq *cq = ctx;
	struct refnic_sqe sqe = {
		.opcode = REFNIC_OP_DESTROY_QUEUE,
		.destroy_queue = { .type = REFNIC_QT_CQ, .queue_id = cq->cqn },
	};
	int ret = rr_cmd(rd, &sqe, NULL, "DESTROY_QUEUE(CQ)");

	cq_list_del(rd, cq);
	/* A device that refused still owns the ring: never free memory it may write. */
	if (ret < 0 && ret != -ENODEV && !facet_core_is_dead(rd->pci)) {
		RR_WARN("%s: CQ %u: ring leaked, the device may still write it", rd->name, cq->cqn);
		cq_events_release(rd, cq);
		free(cq);
		return ret;
	}
	cq_free(rd, cq);
	return 0;
}

void rr_cq_error(struct rr_dev *rd, uint32_t cqn)
{
	pthread_mutex_lock(&rd->cq_lock);
	for (struct rr_cq *cq = rd->cqs; cq; cq = cq->next) {
		if (cq->cqn == cqn) {
			atomic_store(&cq->failed, true);
			RR_ERR("%s: CQ %u overran and stopped; its QPs go to the error state",
			       rd->name, cqn);
		}
	}
	pthread_mutex_unlock(&rd->cq_lock);
}

/* ---- datapath ------------------------------------------------------------------------------ */

#define ARM_BITS (REFNIC_CQ_DB_ARM | REFNIC_CQ_DB_ARM_SOLICITED)

/*
 * Store our copy @val to the doorbell. An arm and a poll in two threads each
 * store the copy they made, in either order: store again until the device
 * has the latest (a stale store in between is one the device tolerates).
 */
static inline void cq_db_store(struct rr_cq *cq, uint32_t val)
{
	for (;;) {
		uint32_t now;

		/* release: the CQEs we consumed were read before their slots are freed */
		__atomic_store_n((uint32_t *)cq->db, val, __ATOMIC_RELEASE);
		now = atomic_load_explicit(&cq->db_val, memory_order_acquire);
		if (likely(now == val))
			return;
		val = now;
	}
}

/* Our consumer index into the copy, then to the device; the arm part stays as it is. */
static inline void cq_db_ci(struct rr_cq *cq)
{
	uint32_t old = atomic_load_explicit(&cq->db_val, memory_order_relaxed), val;

	do {
		val = (old & ~REFNIC_CQ_DB_CI_MASK) | (cq->ci & REFNIC_CQ_DB_CI_MASK);
	} while (!atomic_compare_exchange_weak_explicit(
		&cq->db_val, &old, val, memory_order_relaxed, memory_order_relaxed));
	cq_db_store(cq, val);
}

/* The arm part of doorbell word @old for a request of @want, @spent: the last one was answered. */
static uint32_t arm_next(uint32_t old, uint32_t want, bool spent)
{
	uint32_t have = old & ARM_BITS;
	uint32_t sn = (old & REFNIC_CQ_DB_ARM_SN_MASK) >> REFNIC_CQ_DB_ARM_SN_SHIFT;

	if (have && !spent && (have == want || have == REFNIC_CQ_DB_ARM))
		return old & (REFNIC_CQ_DB_ARM_SN_MASK | ARM_BITS); /* pending already */
	return REFNIC_CQ_DB_ARM_SN(sn + 1) | want;
}

/* What a send CQE frees: its WQE and every unsignaled one before it. */
static inline void sq_complete(struct rr_qp *qp, uint16_t wqe_index)
{
	uint32_t ci = atomic_load_explicit(&qp->sq_ci, memory_order_relaxed);

	ci += ((uint32_t)wqe_index + 1 - ci) & qp->sq_mask;
	atomic_store_explicit(&qp->sq_ci, ci, memory_order_release);
}

static inline void rq_complete(struct rr_qp *qp, uint16_t wqe_index)
{
	uint32_t ci = atomic_load_explicit(&qp->rq_ci, memory_order_relaxed);

	ci += ((uint32_t)wqe_index + 1 - ci) & qp->rq_mask;
	atomic_store_explicit(&qp->rq_ci, ci, memory_order_release);
}

/*
 * Empty polls in a row before a poller starts to yield. Programs spin on
 * poll_cq (perftest does), and the device is software that may share the
 * core, as may the program's peer: after about as long as a round trip on
 * the engine takes, each further empty poll gives the core away
 * (sched_yield, which returns at once when nobody else wants it). A
 * syscall only when idle; per thread, as spinning is.
 */
#define POLL_SPIN 256u

static _Thread_local unsigned int empty_polls;

/*
 * Count an empty poll and back off; 0, or -ENODEV once the device is gone
 * (its process died): a program waiting for a completion that can no longer
 * come gets an error instead of polling for ever. Checked only once the
 * poller yields, so the spin stays a load of the CQE.
 */
static int poll_backoff(const struct rr_cq *cq)
{
	if (empty_polls < POLL_SPIN) {
		empty_polls++;
		return 0;
	}
	if (unlikely(facet_core_is_dead(cq->rd->pci)))
		return -ENODEV;
	sched_yield();
	return 0;
}

int rr_cq_poll(void *ctx, int n, struct facet_rdma_wc *wc)
{
	struct rr_cq *cq = ctx;
	int i;

	for (i = 0; i < n; i++) {
		volatile struct refnic_rdma_cqe *cqe = &cq->ring[cq->ci & cq->mask];
		struct facet_rdma_wc *w = &wc[i];
		struct rr_qp *qp;
		uint8_t flags;

		if ((cqe->phase & 1) != cq->phase)
			break;
		atomic_thread_fence(memory_order_acquire); /* phase is written last */
		flags = cqe->flags;
		w->wr_id = cqe->wr_id;
		w->status = cqe->status;
		w->opcode = cqe->opcode;
		w->vendor_err = cqe->vendor_err;
		w->byte_len = cqe->byte_len;
		w->imm_data = cqe->imm;
		w->qp_num = cqe->qpn;
		w->src_qp = cqe->src_qp;
		w->wc_flags = ((flags & REFNIC_CQE_F_IMM) ? FACET_RDMA_WC_WITH_IMM : 0) |
			      ((flags & REFNIC_CQE_F_GRH) ? FACET_RDMA_WC_GRH : 0);
		w->pkey_index = 0;
		w->slid = 0;
		w->sl = 0;
		w->dlid_path_bits = 0;
		qp = rr_qp_lookup(&cq->rd->qps, cqe->qpn);
		if (likely(qp)) {
			if (flags & REFNIC_CQE_F_SQ)
				sq_complete(qp, cqe->wqe_index);
			else
				rq_complete(qp, cqe->wqe_index);
		}
		cq->ci++;
		if ((cq->ci & cq->mask) == 0)
			cq->phase ^= 1;
	}
	if (i) {
		cq_db_ci(cq);
		empty_polls = 0;
		return i;
	}
	if (unlikely(atomic_load_explicit(&cq->failed, memory_order_relaxed)))
		return -EIO;
	return poll_backoff(cq);
}

int rr_cq_arm(void *ctx, bool solicited_only)
{
	struct rr_cq *cq = ctx;
	uint32_t want = solicited_only ? REFNIC_CQ_DB_ARM_SOLICITED : REFNIC_CQ_DB_ARM;
	uint32_t old, val;
	bool spent;

	if (cq->vector < 0)
		return -EINVAL;
	spent = atomic_exchange_explicit(&cq->arm_spent, false, memory_order_acquire);
	old = atomic_load_explicit(&cq->db_val, memory_order_relaxed);
	do {
		val = (old & REFNIC_CQ_DB_CI_MASK) | arm_next(old, want, spent);
	} while (!atomic_compare_exchange_weak_explicit(
		&cq->db_val, &old, val, memory_order_relaxed, memory_order_relaxed));
	cq_db_store(cq, val);
	/* The caller polls next: the device reads the arm after writing a CQE, we the reverse. */
	atomic_thread_fence(memory_order_seq_cst);
	return 0;
}

/* The application took an event of @ctx: the arm it answered is spent. */
void rr_cq_event(void *ctx)
{
	struct rr_cq *cq = ctx;

	atomic_store_explicit(&cq->arm_spent, true, memory_order_release);
}
