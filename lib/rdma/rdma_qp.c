/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs: creation with capacities checked against the device,
 * attribute changes (with the MAC of an address vector resolved here, so
 * drivers get a complete AV), queries, destruction. The datapath table
 * points straight at the driver's post functions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rdma_private.h"

/* ---- address vectors ------------------------------------------------------------ */

static bool mac_is_zero(const uint8_t mac[6])
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

struct gid_search {
	const union facet_rdma_gid *gid;
	uint8_t mac[6];
	bool found;
};

/* A device of this process whose GID table holds the GID: its MAC is the answer. */
static int search_dev(struct facet_rdma_dev *dev, void *arg)
{
	struct gid_search *s = arg;
	struct facet_rdma_port_attr pa;
	struct facet_rdma_dev_attr da;

	if (facet_rdma_query_port(dev, 1, &pa) < 0 || facet_rdma_query_device(dev, &da) < 0)
		return 0;
	for (unsigned int i = 0; i < pa.gid_tbl_len; i++) {
		enum facet_rdma_gid_type type;
		union facet_rdma_gid g;

		if (facet_rdma_query_gid(dev, 1, i, &g, &type) < 0)
			break;
		if (type != FACET_RDMA_GID_TYPE_NONE && !memcmp(g.raw, s->gid->raw, 16)) {
			memcpy(s->mac, da.mac, 6);
			s->found = true;
			return 1;
		}
	}
	return 0;
}

int rdma_resolve_dmac(struct facet_rdma_dev *dev, struct facet_rdma_ah_attr *attr)
{
	struct gid_search s = { .gid = &attr->dgid };

	if (!mac_is_zero(attr->dmac))
		return 0;
	if (facet_rdma_gid_to_mac(&attr->dgid, attr->dmac))
		return 0;
	facet_rdma_dev_for_each(NULL, search_dev, &s);
	if (s.found) {
		memcpy(attr->dmac, s.mac, 6);
		return 0;
	}
	RDMA_ERR("%s: no MAC for destination GID %02x%02x:...:%02x%02x: give it in ah_attr.dmac "
		 "(there is no neighbour resolution outside this process)",
		 dev->name, attr->dgid.raw[0], attr->dgid.raw[1], attr->dgid.raw[14],
		 attr->dgid.raw[15]);
	return -EHOSTUNREACH;
}

/* ---- QPs -------------------------------------------------------------------------- */

static int check_init(struct facet_rdma_dev *dev, const struct facet_rdma_qp_init_attr *init)
{
	const struct facet_rdma_dev_attr *a = &dev->attr;
	const struct facet_rdma_qp_cap *c = &init->cap;

	if (init->qp_type != FACET_RDMA_QPT_RC && init->qp_type != FACET_RDMA_QPT_UD) {
		RDMA_ERR("%s: QP type %d not supported (RC, UD)", dev->name, init->qp_type);
		return -EINVAL;
	}
	if (!init->send_cq || !init->recv_cq) {
		RDMA_ERR("%s: a QP needs a send CQ and a receive CQ", dev->name);
		return -EINVAL;
	}
	if (init->send_cq->dev != dev || init->recv_cq->dev != dev) {
		RDMA_ERR("%s: QP: CQs of another device", dev->name);
		return -EINVAL;
	}
	if (!init->send_cq->live || !init->recv_cq->live)
		return -ENODEV;
	if (c->max_send_wr > a->max_send_wr || c->max_recv_wr > a->max_recv_wr ||
	    c->max_send_sge > a->max_send_sge || c->max_recv_sge > a->max_recv_sge ||
	    c->max_inline_data > a->max_inline_data) {
		RDMA_ERR("%s: QP capacities (wr %u/%u, sge %u/%u, inline %u) beyond the device's "
			 "(%u/%u, %u/%u, %u)",
			 dev->name, c->max_send_wr, c->max_recv_wr, c->max_send_sge,
			 c->max_recv_sge, c->max_inline_data, a->max_send_wr, a->max_recv_wr,
			 a->max_send_sge, a->max_recv_sge, a->max_inline_data);
		return -EINVAL;
	}
	return 0;
}

int facet_rdma_qp_create(struct facet_rdma_pd *pd, struct facet_rdma_qp_init_attr *init,
			 struct facet_rdma_qp **out)
{
	struct facet_rdma_qp_hw_out hw = { 0 };
	struct facet_rdma_qp_hw in;
	struct facet_rdma_dev *dev;
	struct facet_rdma_qp *qp;
	int ret;

	if (!pd || !init || !out)
		return -EINVAL;
	dev = pd->dev;
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return -ENOMEM;
	ret = rdma_dev_lock(dev, "qp_create");
	if (ret < 0) {
		free(qp);
		return ret;
	}
	ret = pd->live ? check_init(dev, init) : -ENODEV;
	if (ret < 0)
		goto out;
	in = (struct facet_rdma_qp_hw){
		.type = init->qp_type,
		.pdn = pd->pdn,
		.send_cq = init->send_cq->drv,
		.recv_cq = init->recv_cq->drv,
		.cap = init->cap,
		.sq_sig_all = init->sq_sig_all,
	};
	if (!in.cap.max_send_sge)
		in.cap.max_send_sge = 1;
	if (!in.cap.max_recv_sge)
		in.cap.max_recv_sge = 1;
	ret = dev->ops->qp_create(dev->priv, &in, &hw);
	if (ret < 0)
		goto out;
	qp->dev = dev;
	qp->pd = pd;
	qp->send_cq = init->send_cq;
	qp->recv_cq = init->recv_cq;
	qp->drv = hw.ctx;
	qp->qpn = hw.qpn;
	init->cap = hw.cap;
	qp->init = *init;
	atomic_init(&qp->state, FACET_RDMA_QPS_RESET);
	qp->fp.ctx = hw.ctx;
	qp->fp.post_recv = dev->ops->post_recv;
	qp->fp.post_send = dev->ops->post_send;
	qp->live = true;
	pd->users++;
	qp->send_cq->users++;
	qp->recv_cq->users++;
	facet_rdma_dev_ref(dev);
	LIST_INSERT_HEAD(&dev->qps, qp, next);
out:
	rdma_dev_unlock(dev);
	if (ret < 0) {
		free(qp);
		return ret;
	}
	RDMA_DEBUG("%s: QP %u created (%s, sq %u, rq %u)", dev->name, qp->qpn,
		   init->qp_type == FACET_RDMA_QPT_RC ? "RC" : "UD", init->cap.max_send_wr,
		   init->cap.max_recv_wr);
	*out = qp;
	return 0;
}

int facet_rdma_qp_modify(struct facet_rdma_qp *qp, const struct facet_rdma_qp_attr *attr,
			 uint32_t mask)
{
	struct facet_rdma_qp_attr a;
	struct facet_rdma_dev *dev;
	int ret;

	if (!qp || !attr)
		return -EINVAL;
	dev = qp->dev;
	a = *attr;
	if (mask & FACET_RDMA_QP_CAP) {
		RDMA_ERR("%s: QP %u: capacities cannot be modified", dev->name, qp->qpn);
		return -EINVAL;
	}
	if (mask & FACET_RDMA_QP_AV) {
		if (a.ah_attr.port_num > 1) {
			RDMA_ERR("%s: QP %u: no port %u", dev->name, qp->qpn, a.ah_attr.port_num);
			return -EINVAL;
		}
		if (!a.ah_attr.hop_limit)
			a.ah_attr.hop_limit = 64;
		ret = rdma_resolve_dmac(dev, &a.ah_attr); /* before our lock: it queries devices */
		if (ret < 0)
			return ret;
	}
	ret = rdma_dev_lock(dev, "qp_modify");
	if (ret < 0)
		return ret;
	ret = qp->live ? dev->ops->qp_modify(dev->priv, qp->drv, &a, mask) : -ENODEV;
	if (ret == 0 && (mask & FACET_RDMA_QP_STATE))
		atomic_store(&qp->state, a.qp_state);
	rdma_dev_unlock(dev);
	return ret;
}

int facet_rdma_qp_query(struct facet_rdma_qp *qp, struct facet_rdma_qp_attr *attr, uint32_t mask,
			struct facet_rdma_qp_init_attr *init)
{
	struct facet_rdma_dev *dev;
	int ret;

	if (!qp || !attr)
		return -EINVAL;
	dev = qp->dev;
	ret = rdma_dev_lock(dev, "qp_query");
	if (ret < 0)
		return ret;
	memset(attr, 0, sizeof(*attr));
	ret = qp->live ? dev->ops->qp_query(dev->priv, qp->drv, attr) : -ENODEV;
	if (ret == 0) {
		attr->cap = qp->init.cap;
		attr->sq_sig_all = qp->init.sq_sig_all;
		atomic_store(&qp->state, attr->qp_state);
		if (init)
			*init = qp->init;
	}
	rdma_dev_unlock(dev);
	return ret;
}

/* Lock held. */
void rdma_qp_teardown(struct facet_rdma_qp *qp)
{
	struct facet_rdma_dev *dev = qp->dev;
	int ret;

	qp->fp.post_send = rdma_stub_post_send;
	qp->fp.post_recv = rdma_stub_post_recv;
	ret = dev->ops->qp_destroy(dev->priv, qp->drv);
	if (ret < 0)
		RDMA_WARN("%s: QP %u: destroy on the device failed: %s", dev->name, qp->qpn,
			  strerror(-ret));
	LIST_REMOVE(qp, next);
	qp->live = false;
}

int facet_rdma_qp_destroy(struct facet_rdma_qp *qp)
{
	struct facet_rdma_dev *dev;

	if (!qp)
		return -EINVAL;
	dev = qp->dev;
	pthread_mutex_lock(&dev->lock);
	if (qp->live)
		rdma_qp_teardown(qp);
	qp->pd->users--;
	qp->send_cq->users--;
	qp->recv_cq->users--;
	pthread_mutex_unlock(&dev->lock);
	free(qp);
	facet_rdma_dev_put(dev);
	return 0;
}

uint32_t facet_rdma_qp_num(const struct facet_rdma_qp *qp)
{
	return qp->qpn;
}

void *facet_rdma_qp_context(const struct facet_rdma_qp *qp)
{
	return qp->init.qp_context;
}

enum facet_rdma_qp_state facet_rdma_qp_state(const struct facet_rdma_qp *qp)
{
	return atomic_load(&((struct facet_rdma_qp *)qp)->state);
}
