/* SPDX-License-Identifier: MIT */
/*
 * RDMA objects (docs/refnic.md §16.2-§16.3): a function's engine state,
 * protection domains, memory regions, address handles, the GID table and
 * the capabilities. An MR maps [va, va + length) linearly onto [iova, iova +
 * length) of the function's DMA space; every access the engine makes goes
 * through rdma_mr_iova() (key, PD, rights, bounds) and then through the DMA
 * maps, so nothing is ever read or written outside a registered region.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refnic_rdma.h"

/* ---- per-function state ------------------------------------------------------- */

/* GID 0: fe80::EUI-64 of the function's MAC (as rxe derives it). */
void rdma_gid_default(struct refnic_func *fn)
{
	struct refnic_gid_entry *e = &fn->rdma->gid[0];

	memset(e, 0, sizeof(*e));
	e->gid[0] = 0xfe;
	e->gid[1] = 0x80;
	e->gid[8] = fn->mac[0] ^ 0x02;
	e->gid[9] = fn->mac[1];
	e->gid[10] = fn->mac[2];
	e->gid[11] = 0xff;
	e->gid[12] = 0xfe;
	e->gid[13] = fn->mac[3];
	e->gid[14] = fn->mac[4];
	e->gid[15] = fn->mac[5];
	e->type = REFNIC_GID_TYPE_ROCEV2;
}

struct refnic_rdma *rdma_get(struct refnic_func *fn)
{
	if (fn->rdma)
		return fn->rdma;
	fn->rdma = calloc(1, sizeof(*fn->rdma));
	if (!fn->rdma)
		return NULL;
	fn->rdma->mr_tag = 1;
	rdma_gid_default(fn);
	return fn->rdma;
}

void refnic_rdma_mac_changed(struct refnic_func *fn)
{
	if (fn->rdma)
		rdma_gid_default(fn);
}

/* Every object gone (their memory no longer touched), the GID table back to its default. */
void refnic_rdma_func_reset(struct refnic_dev *dev, struct refnic_func *fn)
{
	struct refnic_rdma *r = fn->rdma;

	(void)dev;
	if (!r)
		return;
	for (unsigned int i = 0; i < RDMA_MAX_QP; i++)
		if (r->qp[i])
			rdma_qp_free(fn, r->qp[i]);
	memset(r, 0, sizeof(*r));
	r->mr_tag = 1;
	rdma_gid_default(fn);
}

void refnic_rdma_func_fini(struct refnic_func *fn)
{
	refnic_rdma_func_reset(NULL, fn);
	free(fn->rdma);
	fn->rdma = NULL;
}

/*
 * The live-object gauges of QUERY_STATS (docs §13.2). CQs are queues
 * (REFNIC_QT_CQ), counted by the queue layer; the rest are the engine's.
 */
void refnic_rdma_stats(const struct refnic_func *fn, struct refnic_func_stats *st)
{
	const struct refnic_rdma *r = fn->rdma;

	st->rdma_cqs = fn->nq_type[REFNIC_QT_CQ];
	st->rdma_pds = r ? r->npd : 0;
	st->rdma_mrs = r ? r->nmr : 0;
	st->rdma_qps = r ? r->nqp : 0;
	st->rdma_ahs = r ? r->nah : 0;
}

void rdma_event_latch(struct refnic_func *fn, uint8_t type, uint64_t data)
{
	struct refnic_rdma *r = fn->rdma;

	if (r->nev == RDMA_EVQ) {
		fn->stats.events_dropped++;
		return;
	}
	r->ev[r->nev].type = type;
	r->ev[r->nev++].data = data;
}

/* ---- command helpers ---------------------------------------------------------- */

int rdma_cmd_read(struct refnic_dev *dev, const struct refnic_sqe *sqe, void *obj, size_t size)
{
	int rc;

	if (sqe->data_len != size)
		return REFNIC_STATUS_INVALID_FIELD;
	rc = refnic_dma_read(dev, &dev->funcs[0], sqe->data_iova, obj, size);
	if (rc == -ECANCELED)
		return rc;
	return rc ? REFNIC_STATUS_DMA_FAULT : REFNIC_STATUS_OK;
}

bool rdma_obj_payload_ok(const struct refnic_sqe *sqe)
{
	return refnic_is_zero(sqe->rdma_obj.rsvd, sizeof(sqe->rdma_obj.rsvd));
}

/* The engine's state for a command: allocated on the first one. */
static int engine(struct refnic_func *fn, struct refnic_rdma **r)
{
	*r = rdma_get(fn);
	return *r ? REFNIC_STATUS_OK : REFNIC_STATUS_INTERNAL;
}

/* The commands naming one object (DESTROY_*): their payload, then the engine. */
static int obj_engine(struct refnic_func *fn, const struct refnic_sqe *sqe, struct refnic_rdma **r)
{
	if (!rdma_obj_payload_ok(sqe))
		return REFNIC_STATUS_INVALID_FIELD;
	return engine(fn, r);
}

uint8_t rdma_active_mtu(const struct refnic_func *fn)
{
	/* Room for Ethernet, IPv6, UDP, BTH, RETH, ImmDt and ICRC in the port MTU. */
	int room = (int)fn->mtu - 80;
	uint8_t code = REFNIC_MTU_256;

	while (code < REFNIC_MTU_4096 && (128 << (code + 1)) <= room)
		code++;
	return code;
}

/* ---- QUERY_RDMA_CAPS ------------------------------------------------------------ */

int refnic_rdma_cmd_query_caps(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_rdma_caps c = {
		.max_pd = RDMA_MAX_PD,
		.max_mr = RDMA_MAX_MR,
		.max_cq = RDMA_MAX_CQ,
		.max_qp = RDMA_MAX_QP,
		.max_ah = RDMA_MAX_AH,
		.sq_log_max = RDMA_SQ_LOG_MAX,
		.rq_log_max = RDMA_RQ_LOG_MAX,
		.cq_log_max = RDMA_CQ_LOG_MAX,
		.max_send_sge = REFNIC_SEND_WQE_SGES,
		.max_recv_sge = REFNIC_RECV_WQE_SGES,
		.max_inline = REFNIC_MAX_INLINE,
		.max_qp_rd_atom = RDMA_MAX_RD_ATOM,
		.max_qp_dest_rd_atom = RDMA_MAX_RD_ATOM,
		.max_mr_size = RDMA_MAX_MR_SIZE,
		.max_msg_size = RDMA_MAX_MSG,
		.gid_tbl_len = RDMA_GID_TBL,
	};

	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)))
		return REFNIC_STATUS_INVALID_FIELD;
	c.active_mtu = rdma_active_mtu(fn);
	*result = sizeof(c);
	return refnic_cmd_write_data(dev, sqe, &c, sizeof(c));
}

/* ---- protection domains ----------------------------------------------------------- */

bool rdma_pd_valid(const struct refnic_rdma *r, uint32_t pdn)
{
	return pdn >= 1 && pdn <= RDMA_MAX_PD && r->pd_used[pdn - 1];
}

int refnic_rdma_cmd_create_pd(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_rdma *r;
	int st;

	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)))
		return REFNIC_STATUS_INVALID_FIELD;
	st = engine(fn, &r);
	if (st)
		return st;
	for (unsigned int i = 0; i < RDMA_MAX_PD; i++) {
		if (r->pd_used[i])
			continue;
		r->pd_used[i] = true;
		r->pd_refs[i] = 0;
		r->npd++;
		*result = i + 1;
		return REFNIC_STATUS_OK;
	}
	return REFNIC_STATUS_NO_RESOURCES;
}

int refnic_rdma_cmd_destroy_pd(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result)
{
	uint32_t pdn = sqe->rdma_obj.id;
	struct refnic_rdma *r;
	int st;

	st = obj_engine(fn, sqe, &r);
	if (st)
		return st;
	if (!rdma_pd_valid(r, pdn))
		return REFNIC_STATUS_BAD_QUEUE;
	if (r->pd_refs[pdn - 1])
		return REFNIC_STATUS_BAD_STATE; /* MRs, QPs or AHs still use it */
	r->pd_used[pdn - 1] = false;
	r->npd--;
	return REFNIC_STATUS_OK;
}

/* ---- memory regions ------------------------------------------------------------------ */

static struct rdma_mr *mr_find(const struct refnic_rdma *r, uint32_t key)
{
	const struct rdma_mr *mr;

	if ((key >> 8) >= RDMA_MAX_MR)
		return NULL;
	mr = &r->mr[key >> 8];
	return mr->used && mr->key == key ? (struct rdma_mr *)mr : NULL;
}

uint8_t rdma_mr_iova(const struct refnic_rdma *r, uint32_t key, uint32_t pdn, uint64_t va,
		     uint64_t len, uint32_t need, uint64_t *iova)
{
	const struct rdma_mr *mr;
	uint64_t off;

	if (len == 0)
		return REFNIC_RDMA_VERR_NONE;
	mr = mr_find(r, key);
	if (!mr || mr->pdn != pdn)
		return REFNIC_RDMA_VERR_KEY;
	off = va - mr->va;
	if (va < mr->va || off >= mr->len || len > mr->len - off)
		return REFNIC_RDMA_VERR_BOUNDS;
	if ((mr->access & need) != need)
		return REFNIC_RDMA_VERR_RIGHTS;
	*iova = mr->iova + off;
	return REFNIC_RDMA_VERR_NONE;
}

static bool mr_config_ok(const struct refnic_mr_config *c)
{
	const uint32_t remote = REFNIC_ACCESS_REMOTE_WRITE | REFNIC_ACCESS_REMOTE_ATOMIC;

	if (!refnic_is_zero(c->rsvd, sizeof(c->rsvd)))
		return false;
	if (c->length == 0 || c->length > RDMA_MAX_MR_SIZE)
		return false;
	if (c->va + c->length < c->va || c->iova + c->length < c->iova)
		return false;
	if (c->access & ~0xfu)
		return false;
	/* A remote peer may write only where the function itself may. */
	return !(c->access & remote) || (c->access & REFNIC_ACCESS_LOCAL_WRITE);
}

static struct rdma_mr *mr_alloc(struct refnic_rdma *r)
{
	for (unsigned int i = 0; i < RDMA_MAX_MR; i++)
		if (!r->mr[i].used)
			return &r->mr[i];
	return NULL;
}

int refnic_rdma_cmd_create_mr(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_mr_config c;
	struct refnic_rdma *r;
	struct rdma_mr *mr;
	uint32_t dma;
	int st;

	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)))
		return REFNIC_STATUS_INVALID_FIELD;
	st = rdma_cmd_read(dev, sqe, &c, sizeof(c));
	if (st)
		return st;
	if (!mr_config_ok(&c))
		return REFNIC_STATUS_INVALID_FIELD;
	st = engine(fn, &r);
	if (st)
		return st;
	if (!rdma_pd_valid(r, c.pdn))
		return REFNIC_STATUS_BAD_QUEUE;
	mr = mr_alloc(r);
	if (!mr)
		return REFNIC_STATUS_NO_RESOURCES;
	dma = FACET_VFU_DMA_READ | (c.access & REFNIC_ACCESS_LOCAL_WRITE ? FACET_VFU_DMA_WRITE : 0);
	st = refnic_dma_check(dev, fn, c.iova, c.length, dma);
	if (st)
		return st == -ECANCELED ? st : REFNIC_STATUS_DMA_FAULT;
	if (++r->mr_tag == 0)
		r->mr_tag = 1; /* keys are never 0 */
	*mr = (struct rdma_mr){
		.used = true,
		.key = (uint32_t)(mr - r->mr) << 8 | r->mr_tag,
		.pdn = c.pdn,
		.access = c.access,
		.va = c.va,
		.len = c.length,
		.iova = c.iova,
	};
	r->pd_refs[c.pdn - 1]++;
	r->nmr++;
	*result = mr->key | (uint64_t)mr->key << 32;
	return REFNIC_STATUS_OK;
}

int refnic_rdma_cmd_destroy_mr(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_rdma *r;
	struct rdma_mr *mr;
	int st;

	st = obj_engine(fn, sqe, &r);
	if (st)
		return st;
	mr = mr_find(r, sqe->rdma_obj.id);
	if (!mr)
		return REFNIC_STATUS_BAD_QUEUE;
	r->pd_refs[mr->pdn - 1]--;
	r->nmr--;
	memset(mr, 0, sizeof(*mr));
	return REFNIC_STATUS_OK;
}

/* ---- address vectors and handles --------------------------------------------------- */

static bool gid_v4mapped(const uint8_t *g)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(g, prefix, sizeof(prefix));
}

uint8_t rdma_path_set(struct refnic_func *fn, const struct refnic_av *av, struct rdma_path *p)
{
	const struct refnic_gid_entry *sgid;

	if (!refnic_is_zero(av->rsvd, sizeof(av->rsvd)) || (av->flow_label >> 20))
		return REFNIC_STATUS_INVALID_FIELD;
	if (av->sgid_index >= RDMA_GID_TBL)
		return REFNIC_STATUS_INVALID_FIELD;
	sgid = &fn->rdma->gid[av->sgid_index];
	if (sgid->type != REFNIC_GID_TYPE_ROCEV2)
		return REFNIC_STATUS_INVALID_FIELD;
	/* Both IPv4 (mapped) or both IPv6: one IP header carries them. */
	if (gid_v4mapped(sgid->gid) != gid_v4mapped(av->dgid) || refnic_is_zero(av->dmac, 6))
		return REFNIC_STATUS_INVALID_FIELD;
	memset(p, 0, sizeof(*p));
	p->av = *av;
	p->v4 = gid_v4mapped(sgid->gid);
	memcpy(p->sip, sgid->gid, 16);
	memcpy(p->dip, av->dgid, 16);
	rdma_path_build(p);
	return REFNIC_STATUS_OK;
}

const struct rdma_ah *rdma_ah_get(const struct refnic_rdma *r, uint32_t ahn)
{
	if (ahn < 1 || ahn > RDMA_MAX_AH || !r->ah[ahn - 1].used)
		return NULL;
	return &r->ah[ahn - 1];
}

int refnic_rdma_cmd_create_ah(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_ah_config c;
	struct rdma_path path;
	struct refnic_rdma *r;
	int st;

	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)))
		return REFNIC_STATUS_INVALID_FIELD;
	st = rdma_cmd_read(dev, sqe, &c, sizeof(c));
	if (st)
		return st;
	if (c.rsvd0 || !refnic_is_zero(c.rsvd, sizeof(c.rsvd)))
		return REFNIC_STATUS_INVALID_FIELD;
	st = engine(fn, &r);
	if (st)
		return st;
	st = rdma_path_set(fn, &c.av, &path);
	if (st)
		return st;
	if (!rdma_pd_valid(r, c.pdn))
		return REFNIC_STATUS_BAD_QUEUE;
	for (unsigned int i = 0; i < RDMA_MAX_AH; i++) {
		if (r->ah[i].used)
			continue;
		r->ah[i].used = true;
		r->ah[i].pdn = c.pdn;
		r->ah[i].path = path;
		r->pd_refs[c.pdn - 1]++;
		r->nah++;
		*result = i + 1;
		return REFNIC_STATUS_OK;
	}
	return REFNIC_STATUS_NO_RESOURCES;
}

int refnic_rdma_cmd_destroy_ah(struct refnic_dev *dev, struct refnic_func *fn,
			       const struct refnic_sqe *sqe, uint64_t *result)
{
	uint32_t ahn = sqe->rdma_obj.id;
	struct refnic_rdma *r;
	int st;

	st = obj_engine(fn, sqe, &r);
	if (st)
		return st;
	if (!rdma_ah_get(r, ahn))
		return REFNIC_STATUS_BAD_QUEUE;
	r->pd_refs[r->ah[ahn - 1].pdn - 1]--;
	r->nah--;
	memset(&r->ah[ahn - 1], 0, sizeof(r->ah[0]));
	return REFNIC_STATUS_OK;
}

/* ---- GID table ------------------------------------------------------------------------ */

int refnic_rdma_cmd_set_gid(struct refnic_dev *dev, struct refnic_func *fn,
			    const struct refnic_sqe *sqe, uint64_t *result)
{
	const struct refnic_cmd_set_gid *c = &sqe->set_gid;
	struct refnic_rdma *r;
	bool zero = refnic_is_zero(c->gid, sizeof(c->gid));
	int st;

	if (c->rsvd0 || c->rsvd1 || !refnic_is_zero(c->rsvd2, sizeof(c->rsvd2)))
		return REFNIC_STATUS_INVALID_FIELD;
	if (c->index >= RDMA_GID_TBL || c->type > REFNIC_GID_TYPE_ROCEV2)
		return REFNIC_STATUS_INVALID_FIELD;
	if (zero != (c->type == REFNIC_GID_TYPE_NONE))
		return REFNIC_STATUS_INVALID_FIELD;
	st = engine(fn, &r);
	if (st)
		return st;
	memset(&r->gid[c->index], 0, sizeof(r->gid[0]));
	memcpy(r->gid[c->index].gid, c->gid, 16);
	r->gid[c->index].type = c->type;
	return REFNIC_STATUS_OK;
}

int refnic_rdma_cmd_query_gid(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_rdma *r;
	int st;

	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)))
		return REFNIC_STATUS_INVALID_FIELD;
	st = engine(fn, &r);
	if (st)
		return st;
	*result = sizeof(r->gid);
	return refnic_cmd_write_data(dev, sqe, r->gid, sizeof(r->gid));
}

/* ---- SGE lists ---------------------------------------------------------------------------- */

uint8_t rdma_sge_copy(struct refnic_dev *dev, struct refnic_func *fn, uint32_t pdn,
		      const struct refnic_sge *sge, unsigned int nsge, uint32_t off, void *buf,
		      uint32_t len, bool to_mem)
{
	uint32_t need = to_mem ? REFNIC_ACCESS_LOCAL_WRITE : 0;
	uint8_t *b = buf;

	for (unsigned int i = 0; i < nsge && len; i++) {
		uint32_t chunk;
		uint64_t iova;
		uint8_t verr;
		int rc;

		if (sge[i].addr + sge[i].length < sge[i].addr)
			return REFNIC_RDMA_VERR_BOUNDS; /* wraps: names no region */
		if (off >= sge[i].length) {
			off -= sge[i].length;
			continue;
		}
		chunk = sge[i].length - off < len ? sge[i].length - off : len;
		verr = rdma_mr_iova(fn->rdma, sge[i].lkey, pdn, sge[i].addr + off, chunk, need,
				    &iova);
		if (verr)
			return verr;
		rc = to_mem ? refnic_dp_write(dev, fn, iova, b, chunk)
			    : refnic_dp_read(dev, fn, iova, b, chunk);
		if (rc)
			return REFNIC_RDMA_VERR_DMA;
		b += chunk;
		len -= chunk;
		off = 0;
	}
	return len ? REFNIC_RDMA_VERR_LENGTH : REFNIC_RDMA_VERR_NONE;
}
