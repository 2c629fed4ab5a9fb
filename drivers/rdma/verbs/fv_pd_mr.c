/* SPDX-License-Identifier: MIT */
/*
 * Protection domains and memory regions.
 *
 * Access flags have the same values in verbs and facet_rdma. Of the flags
 * beyond the four rights, the "optional" range (relaxed ordering and the
 * like) is a hint an implementation may ignore, as libibverbs itself does
 * on kernels without it; the rest (zero-based, on-demand paging, memory
 * windows) change what the MR means and are refused. facet_rdma registers
 * an MR at its own address (va = iova as the application sees it), so a
 * different iova is refused too.
 */
#include <stdlib.h>
#include <string.h>

#include "fv_private.h"

#define FV_ACCESS_RIGHTS                                                                           \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |               \
	 IBV_ACCESS_REMOTE_ATOMIC)
/* Hints with no effect on what the MR allows. */
#define FV_ACCESS_IGNORED (IBV_ACCESS_OPTIONAL_RANGE | IBV_ACCESS_HUGETLB)

struct ibv_pd *ibv_alloc_pd(struct ibv_context *ctx)
{
	struct fv_context *c = fv_ctx(ctx);
	struct fv_pd *pd;
	int rc;

	if (!c)
		return FV_FORWARD(ibv_alloc_pd, "IBVERBS_1.1", NULL, ctx);
	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return fv_null(ENOMEM);
	rc = facet_rdma_pd_alloc(c->rdev, &pd->rpd);
	if (rc) {
		free(pd);
		return fv_null(rc);
	}
	pd->ibpd.context = ctx;
	return &pd->ibpd;
}

int ibv_dealloc_pd(struct ibv_pd *ibpd)
{
	struct fv_pd *pd = fv_pd(ibpd);
	int rc;

	if (!pd)
		return FV_FORWARD(ibv_dealloc_pd, "IBVERBS_1.1", ENOSYS, ibpd);
	rc = facet_rdma_pd_free(pd->rpd);
	if (rc)
		return fv_err(rc);
	free(pd);
	return 0;
}

static struct ibv_mr *fv_reg_mr(struct fv_pd *pd, void *addr, size_t length, uint64_t iova,
				unsigned int access)
{
	struct fv_context *c = fv_ctx(pd->ibpd.context);
	unsigned int unsupported = access & ~(FV_ACCESS_RIGHTS | FV_ACCESS_IGNORED);
	struct fv_mr *mr;
	int rc;

	if (unsupported) {
		FV_ERR("%s: reg_mr: access flags 0x%x are not supported (only local write, remote "
		       "read/write/atomic)",
		       fv_name(c), unsupported);
		return fv_null(EOPNOTSUPP);
	}
	if (iova != (uintptr_t)addr) {
		FV_ERR("%s: reg_mr: an iova other than the address is not supported", fv_name(c));
		return fv_null(EOPNOTSUPP);
	}
	mr = calloc(1, sizeof(*mr));
	if (!mr)
		return fv_null(ENOMEM);
	rc = facet_rdma_mr_reg(pd->rpd, addr, length, access & FV_ACCESS_RIGHTS, &mr->rmr);
	if (rc) {
		free(mr);
		return fv_null(rc);
	}
	mr->ibmr.context = pd->ibpd.context;
	mr->ibmr.pd = &pd->ibpd;
	mr->ibmr.addr = addr;
	mr->ibmr.length = length;
	mr->ibmr.lkey = facet_rdma_mr_lkey(mr->rmr);
	mr->ibmr.rkey = facet_rdma_mr_rkey(mr->rmr);
	return &mr->ibmr;
}

struct ibv_mr *ibv_reg_mr(struct ibv_pd *ibpd, void *addr, size_t length, int access)
{
	struct fv_pd *pd = fv_pd(ibpd);

	if (!pd)
		return FV_FORWARD(ibv_reg_mr, "IBVERBS_1.1", NULL, ibpd, addr, length, access);
	return fv_reg_mr(pd, addr, length, (uintptr_t)addr, (unsigned int)access);
}

struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *ibpd, void *addr, size_t length, uint64_t iova,
			       int access)
{
	struct fv_pd *pd = fv_pd(ibpd);

	if (!pd)
		return FV_FORWARD(ibv_reg_mr_iova, "IBVERBS_1.7", NULL, ibpd, addr, length, iova,
				  access);
	return fv_reg_mr(pd, addr, length, iova, (unsigned int)access);
}

struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *ibpd, void *addr, size_t length, uint64_t iova,
				unsigned int access)
{
	struct fv_pd *pd = fv_pd(ibpd);

	if (!pd)
		return FV_FORWARD(ibv_reg_mr_iova2, "IBVERBS_1.8", NULL, ibpd, addr, length, iova,
				  access);
	return fv_reg_mr(pd, addr, length, iova, access);
}

struct ibv_mr *ibv_reg_dmabuf_mr(struct ibv_pd *ibpd, uint64_t offset, size_t length, uint64_t iova,
				 int fd, int access)
{
	struct fv_pd *pd = fv_pd(ibpd);

	if (!pd)
		return FV_FORWARD(ibv_reg_dmabuf_mr, "IBVERBS_1.12", NULL, ibpd, offset, length,
				  iova, fd, access);
	FV_ERR("%s: dma-buf MRs are not supported", fv_name(fv_ctx(ibpd->context)));
	return fv_null(EOPNOTSUPP);
}

int ibv_rereg_mr(struct ibv_mr *ibmr, int flags, struct ibv_pd *ibpd, void *addr, size_t length,
		 int access)
{
	if (!fv_mr(ibmr))
		return FV_FORWARD(ibv_rereg_mr, "IBVERBS_1.1", IBV_REREG_MR_ERR_INPUT, ibmr, flags,
				  ibpd, addr, length, access);
	/* The MR is left as it was, which this error code says. */
	errno = EOPNOTSUPP;
	return IBV_REREG_MR_ERR_INPUT;
}

int ibv_dereg_mr(struct ibv_mr *ibmr)
{
	struct fv_mr *mr = fv_mr(ibmr);
	int rc;

	if (!mr)
		return FV_FORWARD(ibv_dereg_mr, "IBVERBS_1.1", ENOSYS, ibmr);
	/* The handle is released whatever the device answered. */
	rc = facet_rdma_mr_dereg(mr->rmr);
	free(mr);
	return fv_err(rc);
}

/* Sharing objects between processes needs a kernel's object handles. */
struct ibv_pd *ibv_import_pd(struct ibv_context *ctx, uint32_t pd_handle)
{
	if (!fv_ctx(ctx))
		return FV_FORWARD(ibv_import_pd, "IBVERBS_1.10", NULL, ctx, pd_handle);
	return fv_null(EOPNOTSUPP);
}

struct ibv_mr *ibv_import_mr(struct ibv_pd *ibpd, uint32_t mr_handle)
{
	if (!fv_pd(ibpd))
		return FV_FORWARD(ibv_import_mr, "IBVERBS_1.10", NULL, ibpd, mr_handle);
	return fv_null(EOPNOTSUPP);
}

struct ibv_dm *ibv_import_dm(struct ibv_context *ctx, uint32_t dm_handle)
{
	if (!fv_ctx(ctx))
		return FV_FORWARD(ibv_import_dm, "IBVERBS_1.13", NULL, ctx, dm_handle);
	return fv_null(EOPNOTSUPP);
}
