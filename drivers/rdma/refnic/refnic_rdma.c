/* SPDX-License-Identifier: MIT */
/*
 * refnic_rdma: the RDMA slice driver of refnic. It binds "refnic.rdma.N",
 * reaches the device only through the refnic core API (admin commands,
 * doorbells, events) and registers a facet_rdma device named after the
 * slice. Applications find the device by name; they never link against
 * this plugin.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facet_core.h"
#include "refnic_rdma.h"

static_assert(sizeof(struct facet_rdma_sge) == sizeof(struct refnic_sge) &&
		      offsetof(struct facet_rdma_sge, lkey) == offsetof(struct refnic_sge, lkey),
	      "SGEs are copied as they are");
static_assert(FACET_RDMA_ACCESS_REMOTE_ATOMIC == REFNIC_ACCESS_REMOTE_ATOMIC &&
		      FACET_RDMA_ACCESS_LOCAL_WRITE == REFNIC_ACCESS_LOCAL_WRITE,
	      "access flags are the device's");
static_assert((int)FACET_RDMA_WR_ATOMIC_FETCH_AND_ADD == (int)REFNIC_WR_ATOMIC_FETCH_AND_ADD &&
		      (int)FACET_RDMA_WC_RECV_RDMA_WITH_IMM == (int)REFNIC_WC_RECV_RDMA_WITH_IMM &&
		      (int)FACET_RDMA_WC_GENERAL_ERR == (int)REFNIC_WC_STATUS_GENERAL_ERR,
	      "opcodes and statuses are the device's");

/* ---- device and port ---------------------------------------------------------------- */

static int rr_query_device(void *priv, struct facet_rdma_dev_attr *a)
{
	struct rr_dev *rd = priv;
	const struct refnic_rdma_caps *c = &rd->caps;
	const struct facet_core_info *pi = facet_core_info(rd->pci);
	uint8_t guid[8] = { rd->mac[0] ^ 0x02, rd->mac[1], rd->mac[2], 0xff, 0xfe,
			    rd->mac[3],	       rd->mac[4], rd->mac[5] };
	uint32_t version = rd->ops->caps(rd->slice)->version;

	memset(a, 0, sizeof(*a));
	snprintf(a->driver, sizeof(a->driver), "refnic_rdma");
	snprintf(a->fw_ver, sizeof(a->fw_ver), "refnic %u.%u", version >> 16, version & 0xffff);
	memcpy(&a->node_guid, guid, 8); /* network order, as the bytes go */
	a->sys_image_guid = a->node_guid;
	a->max_mr_size = c->max_mr_size;
	a->page_size_cap = ~0xfffull; /* any multiple of 4 KiB */
	a->vendor_id = pi->vendor_id;
	a->vendor_part_id = pi->device_id;
	a->hw_ver = pi->revision;
	a->max_qp = c->max_qp;
	a->max_send_wr = (1u << c->sq_log_max) - 1;
	a->max_recv_wr = (1u << c->rq_log_max) - 1;
	a->max_qp_wr = a->max_send_wr < a->max_recv_wr ? a->max_send_wr : a->max_recv_wr;
	a->max_send_sge = c->max_send_sge;
	a->max_recv_sge = c->max_recv_sge;
	a->max_inline_data = c->max_inline;
	a->max_cq = c->max_cq;
	a->max_cqe = 1u << c->cq_log_max;
	a->max_mr = c->max_mr;
	a->max_pd = c->max_pd;
	a->max_ah = c->max_ah;
	a->max_qp_rd_atom = c->max_qp_dest_rd_atom;
	a->max_qp_init_rd_atom = c->max_qp_rd_atom;
	a->max_msg_size = c->max_msg_size;
	a->atomic_cap = FACET_RDMA_ATOMIC_HCA;
	a->phys_port_cnt = 1;
	memcpy(a->mac, rd->mac, 6);
	return 0;
}

static int rr_query_port(void *priv, struct facet_rdma_port_attr *a)
{
	struct rr_dev *rd = priv;
	uint64_t link = rd->ops->link_state(rd->slice);
	struct refnic_rdma_caps caps;
	/* active_mtu follows the port's MTU, which the Ethernet slice may change. */
	int ret = rr_query_caps(rd, &caps);

	/* A device that does not answer has no port to describe (its link state is stale). */
	if (ret < 0)
		return ret;
	rd->caps.active_mtu = caps.active_mtu;
	a->state = (link & REFNIC_LINK_UP) ? FACET_RDMA_PORT_ACTIVE : FACET_RDMA_PORT_DOWN;
	a->max_mtu = FACET_RDMA_MTU_4096;
	a->active_mtu = rd->caps.active_mtu ? rd->caps.active_mtu : FACET_RDMA_MTU_1024;
	a->max_msg_sz = rd->caps.max_msg_size;
	a->gid_tbl_len = rd->caps.gid_tbl_len;
	a->pkey_tbl_len = 1;
	a->speed_mbps = (link & REFNIC_LINK_UP) ? REFNIC_LINK_SPEED(link) : 0;
	a->link_layer = FACET_RDMA_LINK_LAYER_ETHERNET;
	return 0;
}

static const struct facet_rdma_ops rr_ops = {
	.query_device = rr_query_device,
	.query_port = rr_query_port,
	.query_gid = rr_query_gid,
	.set_gid = rr_set_gid,
	.pd_alloc = rr_pd_alloc,
	.pd_free = rr_pd_free,
	.mr_reg = rr_mr_reg,
	.mr_dereg = rr_mr_dereg,
	.cq_create = rr_cq_create,
	.cq_destroy = rr_cq_destroy,
	.qp_create = rr_qp_create,
	.qp_modify = rr_qp_modify,
	.qp_query = rr_qp_query,
	.qp_destroy = rr_qp_destroy,
	.ah_create = rr_ah_create,
	.ah_destroy = rr_ah_destroy,
	.post_send = rr_post_send,
	.post_recv = rr_post_recv,
	.cq_poll = rr_cq_poll,
	.cq_arm = rr_cq_arm,
	.cq_event = rr_cq_event,
};

/* ---- events --------------------------------------------------------------------------- */

/* Event thread: the RDMA engine's asynchronous errors. */
static void on_event(const struct refnic_eqe *eqe, void *arg)
{
	struct rr_dev *rd = arg;

	if (eqe->function != rd->ops->function(rd->slice))
		return;
	switch (eqe->type) {
	case REFNIC_EVENT_QP_FATAL:
		RR_WARN("%s: QP %u went to the error state (asynchronous error)", rd->name,
			(uint32_t)eqe->data);
		break;
	case REFNIC_EVENT_CQ_ERROR:
		rr_cq_error(rd, (uint32_t)eqe->data);
		break;
	case REFNIC_EVENT_QUEUE_ERROR:
		if (REFNIC_QERR_EVENT_TYPE(eqe->data) == REFNIC_QT_CQ)
			rr_cq_error(rd, REFNIC_QERR_EVENT_QID(eqe->data));
		break;
	default:
		break;
	}
}

/* ---- probe / remove ----------------------------------------------------------------------- */

static void rd_free(struct rr_dev *rd)
{
	if (rd->event_sub >= 0)
		rd->ops->event_unsubscribe(rd->slice, rd->event_sub);
	rr_qp_table_free(&rd->qps);
	facet_core_dma_free(rd->cmd_buf);
	pthread_mutex_destroy(&rd->cq_lock);
	free(rd);
}

static int rd_init(struct facet_bus_device *dev, struct rr_dev *rd)
{
	const struct facet_core_dma_opts opts = { .numa_node = -1, .no_hugepages = true };
	int ret;

	rd->dev = dev;
	rd->name = facet_bus_device_name(dev);
	rd->event_sub = -1;
	pthread_mutex_init(&rd->cq_lock, NULL);
	ret = refnic_core_get(dev, &rd->ops, &rd->slice);
	if (ret < 0) {
		RR_ERR("%s: no %s v%d core API: %s", rd->name, REFNIC_CORE_API,
		       REFNIC_CORE_API_VERSION, strerror(-ret));
		return ret;
	}
	rd->pci = rd->ops->pci(rd->slice);
	rd->db_page = rd->ops->doorbell_page(rd->slice);
	ret = facet_core_dma_alloc(rd->pci, RR_CMD_BUF_SIZE, &opts, &rd->cmd_buf);
	if (ret < 0)
		return ret;
	ret = rr_query_caps(rd, &rd->caps);
	if (ret < 0) {
		RR_ERR("%s: the device has no usable RDMA engine", rd->name);
		return ret;
	}
	if ((uint32_t)rd->caps.gid_tbl_len * sizeof(struct refnic_gid_entry) > RR_CMD_BUF_SIZE ||
	    !rd->caps.max_qp || !rd->caps.sq_log_max || !rd->caps.rq_log_max ||
	    !rd->caps.cq_log_max) {
		RR_ERR("%s: RDMA capabilities out of range (GID table %u, %u QPs)", rd->name,
		       rd->caps.gid_tbl_len, rd->caps.max_qp);
		return -EPROTO;
	}
	ret = rr_query_mac(rd, rd->mac);
	if (ret < 0)
		return ret;
	ret = rr_qp_table_init(&rd->qps, rd->caps.max_qp);
	if (ret < 0)
		return ret;
	rd->event_sub = rd->ops->event_subscribe(rd->slice, on_event, rd);
	if (rd->event_sub < 0) {
		RR_ERR("%s: cannot subscribe to device events: %s", rd->name,
		       strerror(-rd->event_sub));
		return rd->event_sub;
	}
	return 0;
}

static int rd_register(struct rr_dev *rd)
{
	unsigned int vectors = rr_vectors_usable(rd);
	struct facet_rdma_dev_info info = {
		.ops = &rr_ops,
		.priv = rd,
		.dma_dev = rd->pci,
		.dma_owner = facet_bus_device_parent(rd->dev),
		.events = vectors > 0,
		.no_events_reason = "the device has no MSI-X vector beyond the core's two",
	};

	return facet_rdma_dev_register(rd->dev, &info, &rd->fdev);
}

static int rr_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	struct rr_dev *rd = calloc(1, sizeof(*rd));
	int ret;

	if (!rd)
		return -ENOMEM;
	ret = rd_init(dev, rd);
	if (ret == 0)
		ret = rd_register(rd);
	if (ret < 0) {
		RR_ERR("%s: probe failed: %s", facet_bus_device_name(dev), strerror(-ret));
		rd_free(rd);
		return ret;
	}
	facet_bus_device_set_drvdata(dev, rd);
	RR_INFO("%s: RDMA device ready (%u QPs, %u CQs, GID table of %u)", rd->name,
		rd->caps.max_qp, rd->caps.max_cq, rd->caps.gid_tbl_len);
	return 0;
}

static void rr_remove(struct facet_bus_device *dev)
{
	struct rr_dev *rd = facet_bus_device_get_drvdata(dev);

	/* First the device: every object the application left is destroyed through us. */
	facet_rdma_dev_unregister(rd->fdev);
	rd_free(rd);
	RR_INFO("%s: RDMA device removed", facet_bus_device_name(dev));
}

FACET_BUS_ID_TABLE(rr_ids) = {
	{ .name = "refnic.rdma" },
	{ .name = "" },
};

static const struct facet_bus_driver rr_driver = {
	.name = "refnic_rdma",
	.id_table = rr_ids,
	.probe = rr_probe,
	.remove = rr_remove,
};

FACET_BUS_PLUGIN(&rr_driver);
