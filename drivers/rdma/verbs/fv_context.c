/* SPDX-License-Identifier: MIT */
/*
 * Contexts: open and close, what a device and its port say about
 * themselves (device attributes, port state, GID and P_Key tables), and
 * asynchronous events.
 *
 * libibverbs answers several of these queries itself from sysfs or kernel
 * ioctls (ibv_query_gid, ibv_query_pkey, _ibv_query_gid_ex), which a Facet
 * device has neither of; every one of them is answered here from
 * facet_rdma. The port is RoCEv2 on Ethernet: no LIDs, one P_Key (0xffff),
 * GID 0 the link-local address derived from the MAC.
 */
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fv_private.h"

/* libibverbs' private enum ibv_gid_type_sysfs, answered by ibv_query_gid_type(). */
#define FV_GID_TYPE_SYSFS_ROCE_V2 1

/* IB port speed and width codes (ibv_port_attr.active_speed/width), lanes of 2.5 to 100 Gb/s. */
enum {
	FV_SPEED_SDR = 1,
	FV_SPEED_DDR = 2,
	FV_SPEED_QDR = 4,
	FV_SPEED_FDR = 16,
	FV_SPEED_EDR = 32,
	FV_SPEED_HDR = 64,
	FV_SPEED_NDR = 128,
	FV_WIDTH_1X = 1,
};

/* IB physical port states, as ibv_devinfo prints them. */
#define FV_PHYS_STATE_DISABLED 3
#define FV_PHYS_STATE_LINK_UP  5

/* ---- open and close ------------------------------------------------------------ */

struct ibv_context *ibv_open_device(struct ibv_device *device)
{
	struct fv_device *d = fv_device_of(device);
	struct ibv_context *ctx;
	struct fv_context *c;

	if (!d)
		return FV_FORWARD(ibv_open_device, "IBVERBS_1.1", NULL, device);
	if (!facet_rdma_dev_is_attached(d->rdev)) {
		FV_ERR("%s: the device went away (its slice was unbound)", d->ibdev.name);
		errno = ENODEV;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return fv_null(ENOMEM);
	ctx = &c->vctx.context;
	/* Never written: a blocking read of it waits, as on a device with no events. */
	ctx->async_fd = eventfd(0, EFD_CLOEXEC);
	if (ctx->async_fd < 0) {
		free(c);
		return NULL;
	}
	c->dev = d;
	c->rdev = d->rdev;
	facet_rdma_dev_ref(c->rdev);
	pthread_mutex_init(&c->async_lock, NULL);
	c->async_port_state = IBV_PORT_NOP;
	ctx->device = device;
	ctx->cmd_fd = -1; /* there is no kernel to talk to */
	ctx->num_comp_vectors = 1;
	fv_datapath_ops(&ctx->ops);
	pthread_mutex_init(&ctx->mutex, NULL);
	/* Extended: the inline helpers of verbs.h find our ops, or NULL (EOPNOTSUPP). */
	ctx->abi_compat = __VERBS_ABI_IS_EXTENDED;
	c->vctx.sz = sizeof(c->vctx);
	c->vctx.query_port = fv_query_port_ex;
	fv_context_opened();
	FV_DEBUG("%s: opened", d->ibdev.name);
	return ctx;
}

int ibv_close_device(struct ibv_context *ctx)
{
	struct fv_context *c = fv_ctx(ctx);

	if (!c)
		return FV_FORWARD(ibv_close_device, "IBVERBS_1.1", -1, ctx);
	close(ctx->async_fd);
	pthread_mutex_destroy(&ctx->mutex);
	pthread_mutex_destroy(&c->async_lock);
	facet_rdma_dev_put(c->rdev);
	FV_DEBUG("%s: closed", fv_name(c));
	free(c);
	fv_context_closed();
	return 0;
}

/* ---- device and port ------------------------------------------------------------ */

static void fv_fill_device_attr(const struct facet_rdma_dev_attr *a, struct ibv_device_attr *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->fw_ver, sizeof(o->fw_ver), "%s", a->fw_ver);
	o->node_guid = a->node_guid;
	o->sys_image_guid = a->sys_image_guid;
	o->max_mr_size = a->max_mr_size;
	o->page_size_cap = a->page_size_cap;
	o->vendor_id = a->vendor_id;
	o->vendor_part_id = a->vendor_part_id;
	o->hw_ver = a->hw_ver;
	o->max_qp = (int)a->max_qp;
	o->max_qp_wr = (int)a->max_qp_wr;
	o->device_cap_flags = IBV_DEVICE_RC_RNR_NAK_GEN | IBV_DEVICE_PORT_ACTIVE_EVENT |
			      IBV_DEVICE_SYS_IMAGE_GUID;
	o->max_sge = (int)(a->max_send_sge < a->max_recv_sge ? a->max_send_sge : a->max_recv_sge);
	o->max_sge_rd = (int)a->max_recv_sge;
	o->max_cq = (int)a->max_cq;
	o->max_cqe = (int)a->max_cqe;
	o->max_mr = (int)a->max_mr;
	o->max_pd = (int)a->max_pd;
	o->max_qp_rd_atom = (int)a->max_qp_rd_atom;
	o->max_qp_init_rd_atom = (int)a->max_qp_init_rd_atom;
	o->max_res_rd_atom = (int)(a->max_qp_rd_atom * a->max_qp);
	o->atomic_cap = a->atomic_cap == FACET_RDMA_ATOMIC_HCA ? IBV_ATOMIC_HCA : IBV_ATOMIC_NONE;
	o->max_ah = (int)a->max_ah;
	o->max_pkeys = 1;
	o->local_ca_ack_delay = 15;
	o->phys_port_cnt = a->phys_port_cnt;
}

int ibv_query_device(struct ibv_context *ctx, struct ibv_device_attr *attr)
{
	struct fv_context *c = fv_ctx(ctx);
	struct facet_rdma_dev_attr a;
	int rc;

	if (!c)
		return FV_FORWARD(ibv_query_device, "IBVERBS_1.1", ENOSYS, ctx, attr);
	rc = facet_rdma_query_device(c->rdev, &a);
	if (rc)
		return fv_err(rc);
	fv_fill_device_attr(&a, attr);
	return 0;
}

/* An IB width and speed whose product is the link speed (1X lanes of the fastest kind that fit). */
static void fv_width_speed(uint32_t mbps, uint8_t *width, uint8_t *speed)
{
	static const struct {
		uint32_t mbps;
		uint8_t speed;
	} speeds[] = {
		{ 100000, FV_SPEED_NDR }, { 50000, FV_SPEED_HDR }, { 25000, FV_SPEED_EDR },
		{ 14000, FV_SPEED_FDR },  { 10000, FV_SPEED_QDR }, { 5000, FV_SPEED_DDR },
	};

	*width = FV_WIDTH_1X;
	*speed = FV_SPEED_SDR;
	for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++) {
		if (mbps >= speeds[i].mbps) {
			*speed = speeds[i].speed;
			return;
		}
	}
}

static int fv_query_port_full(struct fv_context *c, uint8_t port, struct ibv_port_attr *o)
{
	struct facet_rdma_port_attr a;
	int rc = facet_rdma_query_port(c->rdev, port, &a);

	if (rc)
		return fv_err(rc);
	memset(o, 0, sizeof(*o));
	o->state = (enum ibv_port_state)a.state; /* same numbering */
	o->max_mtu = (enum ibv_mtu)a.max_mtu;
	o->active_mtu = (enum ibv_mtu)a.active_mtu;
	o->gid_tbl_len = a.gid_tbl_len;
	o->max_msg_sz = a.max_msg_sz;
	o->pkey_tbl_len = a.pkey_tbl_len;
	o->max_vl_num = 1;
	fv_width_speed(a.speed_mbps, &o->active_width, &o->active_speed);
	o->phys_state =
		a.state == FACET_RDMA_PORT_ACTIVE ? FV_PHYS_STATE_LINK_UP : FV_PHYS_STATE_DISABLED;
	o->link_layer = IBV_LINK_LAYER_ETHERNET;
	return 0;
}

int fv_query_port_ex(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr,
		     size_t attr_len)
{
	struct ibv_port_attr full;
	int rc;

	rc = fv_query_port_full(fv_ctx(ctx), port, &full);
	if (rc)
		return rc;
	/* An application built with an older verbs.h has a shorter struct. */
	memcpy(attr, &full, attr_len < sizeof(full) ? attr_len : sizeof(full));
	return 0;
}

/*
 * The exported symbol takes libibverbs' compat struct, but verbs.h's inline
 * ibv_query_port() passes (and clears) a whole struct ibv_port_attr, which
 * libibverbs fills too.
 */
int ibv_query_port(struct ibv_context *ctx, uint8_t port, struct _compat_ibv_port_attr *attr)
{
	struct fv_context *c = fv_ctx(ctx);

	if (!c)
		return FV_FORWARD(ibv_query_port, "IBVERBS_1.1", ENOSYS, ctx, port, attr);
	return fv_query_port_full(c, port, (struct ibv_port_attr *)attr);
}

/* ---- GID and P_Key tables ----------------------------------------------------------- */

/* Entry @index: 0, ENODATA (empty slot), or another errno. */
static int fv_gid_entry(struct fv_context *c, uint32_t port, uint32_t index,
			struct ibv_gid_entry *e)
{
	union facet_rdma_gid gid;
	enum facet_rdma_gid_type type;
	int rc;

	if (port != 1)
		return EINVAL;
	rc = facet_rdma_query_gid(c->rdev, (uint8_t)port, index, &gid, &type);
	if (rc)
		return fv_err(rc);
	if (type == FACET_RDMA_GID_TYPE_NONE)
		return ENODATA;
	memset(e, 0, sizeof(*e));
	memcpy(e->gid.raw, gid.raw, sizeof(e->gid.raw));
	e->gid_index = index;
	e->port_num = port;
	e->gid_type = IBV_GID_TYPE_ROCE_V2;
	return 0;
}

int ibv_query_gid(struct ibv_context *ctx, uint8_t port, int index, union ibv_gid *gid)
{
	struct fv_context *c = fv_ctx(ctx);
	struct ibv_gid_entry e;
	int rc;

	if (!c)
		return FV_FORWARD(ibv_query_gid, "IBVERBS_1.1", -1, ctx, port, index, gid);
	if (index < 0) {
		errno = EINVAL;
		return -1;
	}
	rc = fv_gid_entry(c, port, (uint32_t)index, &e);
	if (rc == ENODATA) {
		/* An empty slot reads as zeros, as libibverbs has it. */
		memset(gid, 0, sizeof(*gid));
		return 0;
	}
	if (rc) {
		errno = rc;
		return -1;
	}
	*gid = e.gid;
	return 0;
}

int _ibv_query_gid_ex(struct ibv_context *ctx, uint32_t port, uint32_t index,
		      struct ibv_gid_entry *entry, uint32_t flags, size_t entry_size)
{
	struct fv_context *c = fv_ctx(ctx);
	struct ibv_gid_entry e;
	int rc;

	if (!c)
		return FV_FORWARD(_ibv_query_gid_ex, "IBVERBS_1.11", ENOSYS, ctx, port, index,
				  entry, flags, entry_size);
	if (flags)
		return EINVAL;
	rc = fv_gid_entry(c, port, index, &e);
	if (rc)
		return rc;
	memcpy(entry, &e, entry_size < sizeof(e) ? entry_size : sizeof(e));
	return 0;
}

ssize_t _ibv_query_gid_table(struct ibv_context *ctx, struct ibv_gid_entry *entries,
			     size_t max_entries, uint32_t flags, size_t entry_size)
{
	struct fv_context *c = fv_ctx(ctx);
	struct facet_rdma_port_attr pa;
	size_t n = 0;
	int rc;

	if (!c)
		return FV_FORWARD(_ibv_query_gid_table, "IBVERBS_1.11", -ENOSYS, ctx, entries,
				  max_entries, flags, entry_size);
	if (flags || entry_size < sizeof(struct ibv_gid_entry))
		return -EINVAL;
	rc = facet_rdma_query_port(c->rdev, 1, &pa);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < pa.gid_tbl_len; i++) {
		struct ibv_gid_entry e;

		rc = fv_gid_entry(c, 1, i, &e);
		if (rc == ENODATA)
			continue;
		if (rc)
			return -rc;
		if (n == max_entries)
			return -EINVAL;
		memcpy((char *)entries + n++ * entry_size, &e, sizeof(e));
	}
	return (ssize_t)n;
}

/* libibverbs-private (ibv_devinfo uses it): RoCE v1 or v2 of a GID entry. */
int ibv_query_gid_type(struct ibv_context *ctx, uint8_t port, unsigned int index, int *type)
{
	struct fv_context *c = fv_ctx(ctx);
	struct ibv_gid_entry e;
	int rc;

	if (!c)
		return FV_FORWARD(ibv_query_gid_type, "IBVERBS_PRIVATE_34", -1, ctx, port, index,
				  type);
	rc = fv_gid_entry(c, port, index, &e);
	if (rc && rc != ENODATA) {
		errno = rc;
		return -1;
	}
	*type = FV_GID_TYPE_SYSFS_ROCE_V2;
	return 0;
}

/* One P_Key, the default full-membership one, as on every RoCE port. */
int ibv_query_pkey(struct ibv_context *ctx, uint8_t port, int index, __be16 *pkey)
{
	struct fv_context *c = fv_ctx(ctx);

	if (!c)
		return FV_FORWARD(ibv_query_pkey, "IBVERBS_1.1", -1, ctx, port, index, pkey);
	if (port != 1 || index != 0) {
		errno = EINVAL;
		return -1;
	}
	*pkey = htobe16(0xffff);
	return 0;
}

int ibv_get_pkey_index(struct ibv_context *ctx, uint8_t port, __be16 pkey)
{
	struct fv_context *c = fv_ctx(ctx);

	if (!c)
		return FV_FORWARD(ibv_get_pkey_index, "IBVERBS_1.5", -1, ctx, port, pkey);
	if (port != 1 || (be16toh(pkey) & 0x7fff) != 0x7fff) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* ---- asynchronous events -------------------------------------------------------------- */

/*
 * facet_rdma has no event stream, so the events a verbs application can
 * get are the ones a query shows: the port going down or up, and the device
 * going away. A blocking ibv_get_async_event() looks every 100 ms and
 * otherwise waits as it would on a quiet device; with O_NONBLOCK on
 * async_fd it looks once and fails with EAGAIN.
 */
static bool fv_async_check(struct fv_context *c, struct ibv_async_event *ev)
{
	struct ibv_port_attr pa;
	bool got = false;
	int rc = ENODEV;

	pthread_mutex_lock(&c->async_lock);
	/* Unbound, or its device (the model process) gone: the port query says ENODEV. */
	if (!c->async_dead_reported && facet_rdma_dev_is_attached(c->rdev))
		rc = fv_query_port_full(c, 1, &pa);
	if (rc == ENODEV) {
		if (!c->async_dead_reported) {
			c->async_dead_reported = true;
			ev->event_type = IBV_EVENT_DEVICE_FATAL;
			got = true;
		}
	} else if (!rc) {
		if (c->async_port_state == IBV_PORT_NOP)
			c->async_port_state = pa.state; /* the first look only sets the baseline */
		if (pa.state != c->async_port_state) {
			c->async_port_state = pa.state;
			ev->event_type = pa.state == IBV_PORT_ACTIVE ? IBV_EVENT_PORT_ACTIVE
								     : IBV_EVENT_PORT_ERR;
			ev->element.port_num = 1;
			got = true;
		}
	}
	pthread_mutex_unlock(&c->async_lock);
	return got;
}

int ibv_get_async_event(struct ibv_context *ctx, struct ibv_async_event *event)
{
	struct fv_context *c = fv_ctx(ctx);
	int fl;

	if (!c)
		return FV_FORWARD(ibv_get_async_event, "IBVERBS_1.1", -1, ctx, event);
	memset(event, 0, sizeof(*event));
	fl = fcntl(ctx->async_fd, F_GETFL);
	for (;;) {
		struct pollfd pfd = { .fd = ctx->async_fd, .events = POLLIN };

		if (fv_async_check(c, event))
			return 0;
		if (fl >= 0 && (fl & O_NONBLOCK)) {
			errno = EAGAIN;
			return -1;
		}
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			return -1;
	}
}

void ibv_ack_async_event(struct ibv_async_event *event)
{
	switch (event->event_type) {
	case IBV_EVENT_CQ_ERR:
		if (fv_cq(event->element.cq))
			return;
		break;
	case IBV_EVENT_QP_FATAL:
	case IBV_EVENT_QP_REQ_ERR:
	case IBV_EVENT_QP_ACCESS_ERR:
	case IBV_EVENT_COMM_EST:
	case IBV_EVENT_SQ_DRAINED:
	case IBV_EVENT_PATH_MIG:
	case IBV_EVENT_PATH_MIG_ERR:
	case IBV_EVENT_QP_LAST_WQE_REACHED:
		if (fv_qp(event->element.qp))
			return;
		break;
	default:
		/* Port and device events count nothing, in libibverbs too. */
		break;
	}
	FV_FORWARD(ibv_ack_async_event, "IBVERBS_1.1", (void)0, event);
}
