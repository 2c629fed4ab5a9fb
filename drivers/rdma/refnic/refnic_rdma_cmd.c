/* SPDX-License-Identifier: MIT */
/*
 * Admin command wrappers of the RDMA objects (refnic_hw_rdma.h). Data
 * travels in one DMA buffer per device; the library serializes the ops, so
 * one buffer is enough.
 */
#include <errno.h>
#include <string.h>

#include "refnic_rdma.h"

static int status_errno(uint8_t status)
{
	switch (status) {
	case REFNIC_STATUS_INVALID_FIELD:
	case REFNIC_STATUS_BAD_STATE:
	case REFNIC_STATUS_BAD_QUEUE:
		return -EINVAL;
	case REFNIC_STATUS_NO_RESOURCES:
		return -ENOSPC;
	case REFNIC_STATUS_DMA_FAULT:
		return -EFAULT;
	case REFNIC_STATUS_BAD_OPCODE:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static const char *status_str(uint8_t status)
{
	switch (status) {
	case REFNIC_STATUS_BAD_OPCODE:
		return "unknown opcode (no RDMA engine?)";
	case REFNIC_STATUS_INVALID_FIELD:
		return "invalid field";
	case REFNIC_STATUS_BAD_FUNCTION:
		return "bad function";
	case REFNIC_STATUS_BAD_QUEUE:
		return "no such object";
	case REFNIC_STATUS_DMA_FAULT:
		return "memory outside the DMA maps";
	case REFNIC_STATUS_NO_RESOURCES:
		return "device limit reached";
	case REFNIC_STATUS_BAD_STATE:
		return "transition or attributes not allowed in this state";
	default:
		return "device error";
	}
}

int rr_cmd(struct rr_dev *rd, struct refnic_sqe *sqe, uint64_t *result, const char *what)
{
	struct refnic_cqe cqe;
	int ret = rd->ops->admin_cmd(rd->slice, sqe, &cqe);

	if (ret < 0) {
		RR_ERR("%s: %s: %s", rd->name, what, strerror(-ret));
		return ret;
	}
	if (cqe.status != REFNIC_STATUS_OK) {
		RR_ERR("%s: %s failed: status %#x, %s", rd->name, what, cqe.status,
		       status_str(cqe.status));
		return status_errno(cqe.status);
	}
	if (result)
		*result = cqe.result;
	return 0;
}

int rr_cmd_data(struct rr_dev *rd, struct refnic_sqe *sqe, const void *in, uint32_t len,
		uint64_t *result, const char *what)
{
	if (len > RR_CMD_BUF_SIZE)
		return -EINVAL;
	if (in)
		memcpy(facet_core_dma_va(rd->cmd_buf), in, len);
	else
		memset(facet_core_dma_va(rd->cmd_buf), 0, len);
	sqe->data_iova = facet_core_dma_iova(rd->cmd_buf);
	sqe->data_len = len;
	return rr_cmd(rd, sqe, result, what);
}

int rr_cmd_obj(struct rr_dev *rd, uint8_t opcode, uint32_t id, const char *what)
{
	struct refnic_sqe sqe = { .opcode = opcode, .rdma_obj = { .id = id } };

	return rr_cmd(rd, &sqe, NULL, what);
}

int rr_query_caps(struct rr_dev *rd, struct refnic_rdma_caps *caps)
{
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_QUERY_RDMA_CAPS };
	int ret = rr_cmd_data(rd, &sqe, NULL, sizeof(*caps), NULL, "QUERY_RDMA_CAPS");

	if (ret == 0)
		memcpy(caps, facet_core_dma_va(rd->cmd_buf), sizeof(*caps));
	return ret;
}

int rr_query_mac(struct rr_dev *rd, uint8_t mac[6])
{
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_QUERY_MAC };
	uint64_t result;
	int ret = rr_cmd(rd, &sqe, &result, "QUERY_MAC");

	for (unsigned int i = 0; ret == 0 && i < 6; i++)
		mac[i] = REFNIC_MAC_RESULT_BYTE(result, i);
	return ret;
}

/* ---- GIDs --------------------------------------------------------------------------- */

int rr_query_gid(void *priv, unsigned int index, union facet_rdma_gid *gid,
		 enum facet_rdma_gid_type *type)
{
	struct rr_dev *rd = priv;
	uint32_t len = rd->caps.gid_tbl_len * (uint32_t)sizeof(struct refnic_gid_entry);
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_QUERY_GID };
	const struct refnic_gid_entry *e;
	int ret;

	if (index >= rd->caps.gid_tbl_len)
		return -EINVAL;
	ret = rr_cmd_data(rd, &sqe, NULL, len, NULL, "QUERY_GID");
	if (ret < 0)
		return ret;
	e = (const struct refnic_gid_entry *)facet_core_dma_va(rd->cmd_buf) + index;
	if (e->type == REFNIC_GID_TYPE_NONE) {
		memset(gid, 0, sizeof(*gid));
		*type = FACET_RDMA_GID_TYPE_NONE;
		return 0;
	}
	memcpy(gid->raw, e->gid, 16);
	*type = e->type == REFNIC_GID_TYPE_ROCEV2 ? FACET_RDMA_GID_TYPE_ROCEV2
						  : FACET_RDMA_GID_TYPE_NONE;
	return 0;
}

int rr_set_gid(void *priv, unsigned int index, const union facet_rdma_gid *gid,
	       enum facet_rdma_gid_type type)
{
	struct rr_dev *rd = priv;
	struct refnic_sqe sqe = {
		.opcode = REFNIC_OP_SET_GID,
		.set_gid = { .index = (uint8_t)index,
			     .type = type == FACET_RDMA_GID_TYPE_ROCEV2 ? REFNIC_GID_TYPE_ROCEV2
									: REFNIC_GID_TYPE_NONE },
	};

	if (index > UINT8_MAX)
		return -EINVAL;
	if (type != FACET_RDMA_GID_TYPE_NONE)
		memcpy(sqe.set_gid.gid, gid->raw, 16);
	return rr_cmd(rd, &sqe, NULL, "SET_GID");
}

/* ---- PD, MR ------------------------------------------------------------------------------ */

int rr_pd_alloc(void *priv, uint32_t *pdn)
{
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_CREATE_PD };
	uint64_t result;
	int ret = rr_cmd(priv, &sqe, &result, "CREATE_PD");

	if (ret == 0)
		*pdn = (uint32_t)result;
	return ret;
}

int rr_pd_free(void *priv, uint32_t pdn)
{
	return rr_cmd_obj(priv, REFNIC_OP_DESTROY_PD, pdn, "DESTROY_PD");
}

int rr_mr_reg(void *priv, const struct facet_rdma_mr_hw *mr, uint32_t *lkey, uint32_t *rkey)
{
	struct refnic_mr_config cfg = {
		.va = mr->va,
		.length = mr->length,
		.iova = mr->iova,
		.pdn = mr->pdn,
		.access = mr->access, /* FACET_RDMA_ACCESS_* are REFNIC_ACCESS_* */
	};
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_CREATE_MR };
	uint64_t result;
	int ret = rr_cmd_data(priv, &sqe, &cfg, sizeof(cfg), &result, "CREATE_MR");

	if (ret < 0)
		return ret;
	*lkey = (uint32_t)result;
	*rkey = (uint32_t)(result >> 32);
	return 0;
}

int rr_mr_dereg(void *priv, uint32_t lkey)
{
	return rr_cmd_obj(priv, REFNIC_OP_DESTROY_MR, lkey, "DESTROY_MR");
}

/* ---- address vectors, AH ------------------------------------------------------------------ */

void rr_av_to_hw(const struct facet_rdma_ah_attr *a, struct refnic_av *av)
{
	memset(av, 0, sizeof(*av));
	memcpy(av->dgid, a->dgid.raw, 16);
	memcpy(av->dmac, a->dmac, 6);
	av->sgid_index = a->sgid_index;
	av->hop_limit = a->hop_limit;
	av->flow_label = a->flow_label & 0xfffffu;
	av->traffic_class = a->traffic_class;
}

void rr_av_from_hw(const struct refnic_av *av, struct facet_rdma_ah_attr *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->dgid.raw, av->dgid, 16);
	memcpy(a->dmac, av->dmac, 6);
	a->sgid_index = av->sgid_index;
	a->hop_limit = av->hop_limit;
	a->flow_label = av->flow_label;
	a->traffic_class = av->traffic_class;
	a->port_num = 1;
}

int rr_ah_create(void *priv, uint32_t pdn, const struct facet_rdma_ah_attr *attr, uint32_t *handle)
{
	struct refnic_ah_config cfg = { .pdn = pdn };
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_CREATE_AH };
	uint64_t result;
	int ret;

	rr_av_to_hw(attr, &cfg.av);
	ret = rr_cmd_data(priv, &sqe, &cfg, sizeof(cfg), &result, "CREATE_AH");
	if (ret == 0)
		*handle = (uint32_t)result;
	return ret;
}

int rr_ah_destroy(void *priv, uint32_t handle)
{
	return rr_cmd_obj(priv, REFNIC_OP_DESTROY_AH, handle, "DESTROY_AH");
}
