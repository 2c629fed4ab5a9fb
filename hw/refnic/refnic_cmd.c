/* SPDX-License-Identifier: MIT */
/*
 * Admin commands (docs/refnic.md §9.5, §10): validation in the order the
 * spec fixes (opcode, SQE header, function, payload, queue, resources, DMA)
 * and execution. A command that fails has no side effect; nothing in an SQE
 * can make the model misbehave, whatever its bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refnic_priv.h"

/* An executor returns a REFNIC_STATUS_* (>= 0) or -ECANCELED. */
typedef int (*cmd_fn)(struct refnic_dev *dev, struct refnic_func *fn, const struct refnic_sqe *sqe,
		      uint64_t *result);

struct cmd_desc {
	cmd_fn exec;
	bool data;	  /* uses data_iova/data_len */
	bool device_wide; /* function must be 0 */
};

static int dma_status(int rc)
{
	if (rc == -ECANCELED)
		return rc;
	return rc ? REFNIC_STATUS_DMA_FAULT : REFNIC_STATUS_OK;
}

/* Write min(data_len, size) bytes of @obj to the command's buffer. */
int refnic_cmd_write_data(struct refnic_dev *dev, const struct refnic_sqe *sqe, const void *obj,
			  size_t size)
{
	size_t n = sqe->data_len < size ? sqe->data_len : size;

	return dma_status(refnic_dma_write(dev, &dev->funcs[0], sqe->data_iova, obj, n));
}

static int cmd_nop(struct refnic_dev *dev, struct refnic_func *fn, const struct refnic_sqe *sqe,
		   uint64_t *result)
{
	return refnic_is_zero(sqe->raw, sizeof(sqe->raw)) ? REFNIC_STATUS_OK
							  : REFNIC_STATUS_INVALID_FIELD;
}

static void caps_fill(const struct refnic_dev *dev, struct refnic_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->version = REFNIC_VERSION;
	caps->num_funcs = (uint16_t)dev->num_funcs;
	caps->msix_vectors = REFNIC_PCI_MSIX_VECS;
	caps->admin_log_min = REFNIC_ADMIN_LOG_MIN;
	caps->admin_log_max = REFNIC_ADMIN_LOG_MAX;
	caps->max_queues_per_func = REFNIC_FUNC_MAX_QUEUES;
	caps->max_mtu = REFNIC_MAX_MTU;
	memcpy(caps->mac_base, dev->mac_base, 6);
	caps->link_speed = REFNIC_LINK_SPEED_MBPS;
	caps->db_offset = REFNIC_DB_PAGE(0);
	caps->db_stride = REFNIC_PAGE_SIZE;
	/* Every function has an Ethernet port and an RDMA engine (docs/refnic.md §13.1). */
	caps->features = refnic_qtype_features() | REFNIC_FEAT_ETH | REFNIC_FEAT_RDMA;
	refnic_caps_queues(caps->queues);
}

static int cmd_query_caps(struct refnic_dev *dev, struct refnic_func *fn,
			  const struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_caps caps;

	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)))
		return REFNIC_STATUS_INVALID_FIELD;
	caps_fill(dev, &caps);
	*result = sizeof(caps);
	return refnic_cmd_write_data(dev, sqe, &caps, sizeof(caps));
}

void refnic_stats_snapshot(struct refnic_dev *dev, struct refnic_stats *hdr,
			   struct refnic_func_stats *funcs, unsigned int n)
{
	if (hdr) {
		*hdr = dev->stats;
		hdr->version = REFNIC_VERSION;
		hdr->num_funcs = (uint16_t)dev->num_funcs;
		hdr->func_stats_size = sizeof(struct refnic_func_stats);
	}
	for (unsigned int i = 0; i < n && i < dev->num_funcs; i++) {
		funcs[i] = dev->funcs[i].stats;
		refnic_rdma_stats(&dev->funcs[i], &funcs[i]); /* gauges: computed, never stored */
	}
}

static void stats_clear(struct refnic_dev *dev)
{
	memset(&dev->stats, 0, sizeof(dev->stats));
	for (unsigned int i = 0; i < dev->num_funcs; i++)
		memset(&dev->funcs[i].stats, 0, sizeof(dev->funcs[i].stats));
}

static int cmd_query_stats(struct refnic_dev *dev, struct refnic_func *fn,
			   const struct refnic_sqe *sqe, uint64_t *result)
{
	const struct refnic_cmd_query_stats *cmd = &sqe->query_stats;
	size_t size = REFNIC_STATS_SIZE(dev->num_funcs);
	struct refnic_stats *buf;
	int rc;

	if ((cmd->flags & ~REFNIC_STATS_F_CLEAR) || !refnic_is_zero(cmd->rsvd, sizeof(cmd->rsvd)))
		return REFNIC_STATUS_INVALID_FIELD;
	buf = malloc(size);
	if (!buf)
		return REFNIC_STATUS_INTERNAL;
	refnic_stats_snapshot(dev, buf, (struct refnic_func_stats *)(buf + 1), dev->num_funcs);
	*result = size;
	rc = refnic_cmd_write_data(dev, sqe, buf, size);
	free(buf);
	if (rc == REFNIC_STATUS_OK && (cmd->flags & REFNIC_STATS_F_CLEAR))
		stats_clear(dev);
	return rc;
}

static int cmd_reset_function(struct refnic_dev *dev, struct refnic_func *fn,
			      const struct refnic_sqe *sqe, uint64_t *result)
{
	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)))
		return REFNIC_STATUS_INVALID_FIELD;
	RN_INFO("function %u: reset", fn->idx);
	refnic_func_reset(dev, fn);
	return REFNIC_STATUS_OK;
}

static int cmd_create_queue(struct refnic_dev *dev, struct refnic_func *fn,
			    const struct refnic_sqe *sqe, uint64_t *result)
{
	return refnic_queue_create(dev, fn, &sqe->create_queue, result);
}

static int cmd_destroy_queue(struct refnic_dev *dev, struct refnic_func *fn,
			     const struct refnic_sqe *sqe, uint64_t *result)
{
	return refnic_queue_destroy(dev, fn, &sqe->destroy_queue);
}

static int cmd_set_mac(struct refnic_dev *dev, struct refnic_func *fn, const struct refnic_sqe *sqe,
		       uint64_t *result)
{
	const struct refnic_cmd_set_mac *cmd = &sqe->set_mac;

	if (!refnic_is_zero(cmd->rsvd, sizeof(cmd->rsvd)) || (cmd->mac[0] & 1) ||
	    refnic_is_zero(cmd->mac, 6))
		return REFNIC_STATUS_INVALID_FIELD;
	memcpy(fn->mac, cmd->mac, 6);
	refnic_rdma_mac_changed(fn);
	return REFNIC_STATUS_OK;
}

static int cmd_query_mac(struct refnic_dev *dev, struct refnic_func *fn,
			 const struct refnic_sqe *sqe, uint64_t *result)
{
	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)))
		return REFNIC_STATUS_INVALID_FIELD;
	*result = 0;
	for (int i = 0; i < 6; i++)
		*result |= (uint64_t)fn->mac[i] << (8 * i);
	return REFNIC_STATUS_OK;
}

static const struct cmd_desc cmds[256] = {
	[REFNIC_OP_NOP] = { cmd_nop, false, true },
	[REFNIC_OP_QUERY_CAPS] = { cmd_query_caps, true, true },
	[REFNIC_OP_QUERY_STATS] = { cmd_query_stats, true, true },
	[REFNIC_OP_RESET_FUNCTION] = { cmd_reset_function, false, false },
	[REFNIC_OP_CREATE_QUEUE] = { cmd_create_queue, false, false },
	[REFNIC_OP_DESTROY_QUEUE] = { cmd_destroy_queue, false, false },
	[REFNIC_OP_QUERY_QUEUE_STATS] = { refnic_cmd_query_queue_stats, true, false },
	[REFNIC_OP_SET_MAC] = { cmd_set_mac, false, false },
	[REFNIC_OP_QUERY_MAC] = { cmd_query_mac, false, false },
	[REFNIC_OP_SET_RX_MODE] = { refnic_cmd_set_rx_mode, false, false },
	[REFNIC_OP_SET_MTU] = { refnic_cmd_set_mtu, false, false },
	[REFNIC_OP_SET_RSS] = { refnic_cmd_set_rss, true, false },
	/* RDMA (refnic_rdma_*.c, docs/refnic.md §16.3) */
	[REFNIC_OP_QUERY_RDMA_CAPS] = { refnic_rdma_cmd_query_caps, true, false },
	[REFNIC_OP_CREATE_PD] = { refnic_rdma_cmd_create_pd, false, false },
	[REFNIC_OP_DESTROY_PD] = { refnic_rdma_cmd_destroy_pd, false, false },
	[REFNIC_OP_CREATE_MR] = { refnic_rdma_cmd_create_mr, true, false },
	[REFNIC_OP_DESTROY_MR] = { refnic_rdma_cmd_destroy_mr, false, false },
	[REFNIC_OP_CREATE_QP] = { refnic_rdma_cmd_create_qp, true, false },
	[REFNIC_OP_MODIFY_QP] = { refnic_rdma_cmd_modify_qp, true, false },
	[REFNIC_OP_QUERY_QP] = { refnic_rdma_cmd_query_qp, true, false },
	[REFNIC_OP_DESTROY_QP] = { refnic_rdma_cmd_destroy_qp, false, false },
	[REFNIC_OP_CREATE_AH] = { refnic_rdma_cmd_create_ah, true, false },
	[REFNIC_OP_DESTROY_AH] = { refnic_rdma_cmd_destroy_ah, false, false },
	[REFNIC_OP_SET_GID] = { refnic_rdma_cmd_set_gid, false, false },
	[REFNIC_OP_QUERY_GID] = { refnic_rdma_cmd_query_gid, true, false },
};

/* SQE header: reserved fields, and the buffer fields the command does (not) use. */
static bool header_ok(const struct refnic_sqe *sqe, const struct cmd_desc *d)
{
	if (sqe->flags || sqe->rsvd0 || sqe->rsvd1)
		return false;
	if (d->data)
		return sqe->data_len >= 1 && sqe->data_len <= REFNIC_MAX_DATA_LEN;
	return sqe->data_iova == 0 && sqe->data_len == 0;
}

int refnic_cmd_exec(struct refnic_dev *dev, const struct refnic_sqe *sqe, struct refnic_cqe *cqe,
		    struct refnic_func **fnp)
{
	const struct cmd_desc *d = &cmds[sqe->opcode];
	struct refnic_func *fn;
	uint64_t result = 0;
	int rc;

	*fnp = NULL;
	if (!d->exec) {
		cqe->status = REFNIC_STATUS_BAD_OPCODE;
		return 0;
	}
	if (!header_ok(sqe, d)) {
		cqe->status = REFNIC_STATUS_INVALID_FIELD;
		return 0;
	}
	fn = d->device_wide && sqe->function ? NULL : refnic_func_get(dev, sqe->function);
	if (!fn) {
		cqe->status = REFNIC_STATUS_BAD_FUNCTION;
		return 0;
	}
	*fnp = fn;
	rc = d->exec(dev, fn, sqe, &result);
	if (rc < 0)
		return rc;
	cqe->status = (uint8_t)rc;
	cqe->result = rc == REFNIC_STATUS_OK ? result : 0;
	if (rc != REFNIC_STATUS_OK)
		RN_DEBUG("cmd 0x%02x cid %u fn %u: status 0x%02x", sqe->opcode, sqe->cid, fn->idx,
			 rc);
	return 0;
}
