/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user server's ioeventfds (DEVICE_GET_REGION_IO_FDS): the device
 * offers an eventfd for a register, a client writes the eventfd instead of
 * sending REGION_WRITE. For a register whose write only wakes the device
 * (a doorbell kick) that saves the message, the reply and every thread
 * hand-over in between.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facet_vfu.h"
#include "facet_vfu_conn.h"
#include "facet_vfu_server.h"
#include "vfu_server_private.h"

static bool vfu_iofd_size_ok(uint64_t size)
{
	return size == 0 || size == 1 || size == 2 || size == 4 || size == 8;
}

int facet_vfu_server_add_ioeventfd(struct facet_vfu_server *srv, unsigned int index,
				   uint64_t offset, uint64_t size, bool datamatch_on,
				   uint64_t datamatch, int fd)
{
	const struct facet_vfu_region *reg;
	uint64_t span = size ? size : 1;
	int ret = 0;

	if (!srv || index >= FACET_VFU_PCI_NUM_REGIONS || fd < 0 || !vfu_iofd_size_ok(size))
		return -EINVAL;
	reg = &srv->desc.regions[index];
	if (offset >= reg->size || span > reg->size - offset) {
		VFU_ERR("server %s: ioeventfd at %#llx outside region %u", srv->desc.name,
			(unsigned long long)offset, index);
		return -EINVAL;
	}
	pthread_mutex_lock(&srv->lock);
	if (srv->n_ioeventfds == FACET_VFU_MAX_IOEVENTFDS) {
		ret = -ENOSPC;
	} else {
		srv->ioeventfds[srv->n_ioeventfds++] = (struct vfu_ioeventfd){
			.index = index,
			.offset = offset,
			.size = size,
			.flags = datamatch_on ? FACET_VFU_IOEVENTFD_F_DATAMATCH : 0,
			.datamatch = datamatch_on ? datamatch : 0,
			.fd = fd,
		};
	}
	pthread_mutex_unlock(&srv->lock);
	if (ret)
		VFU_ERR("server %s: more than %u ioeventfds", srv->desc.name,
			FACET_VFU_MAX_IOEVENTFDS);
	return ret;
}

/* fd_index of @fd in the reply's fds, adding it if there is room; -1 if not. */
static int vfu_iofd_index(struct facet_vfu_server *srv, unsigned int *nfds, unsigned int max,
			  int fd)
{
	for (unsigned int i = 0; i < *nfds; i++)
		if (srv->io_reply_fds[i] == fd)
			return (int)i;
	if (*nfds >= max)
		return -1;
	srv->io_reply_fds[*nfds] = fd;
	return (int)(*nfds)++;
}

/*
 * Fill @subs with region @index's ioeventfds and io_reply_fds with their fds.
 * A client that takes fewer fds per message than we have gets the sub-regions
 * whose fds fit: it can still reach the others with REGION_WRITE. srv->lock held.
 */
static unsigned int vfu_iofd_collect(struct facet_vfu_server *srv, unsigned int index,
				     struct facet_vfu_sub_region_ioeventfd *subs,
				     unsigned int *nfds)
{
	unsigned int n = 0, max = srv->client_caps.max_msg_fds;

	*nfds = 0;
	for (unsigned int i = 0; i < srv->n_ioeventfds; i++) {
		const struct vfu_ioeventfd *e = &srv->ioeventfds[i];
		int fdi;

		if (e->index != index)
			continue;
		fdi = vfu_iofd_index(srv, nfds, max, e->fd);
		if (fdi < 0)
			continue;
		subs[n++] = (struct facet_vfu_sub_region_ioeventfd){
			.offset = e->offset,
			.size = e->size,
			.fd_index = (uint32_t)fdi,
			.type = FACET_VFU_IO_FD_TYPE_IOEVENTFD,
			.flags = e->flags,
			.datamatch = e->datamatch,
		};
	}
	return n;
}

static int vfu_iofd_check(struct facet_vfu_server *srv, const struct facet_vfu_msg *msg,
			  struct facet_vfu_region_io_fds *req)
{
	if (msg->len < sizeof(*req)) {
		VFU_ERR("server %s: GET_REGION_IO_FDS payload of %zu bytes", srv->desc.name,
			msg->len);
		return -EINVAL;
	}
	memcpy(req, msg->data, sizeof(*req));
	if (req->argsz < sizeof(*req) || req->flags || req->count ||
	    req->index >= FACET_VFU_PCI_NUM_REGIONS || !srv->desc.regions[req->index].size) {
		VFU_ERR("server %s: GET_REGION_IO_FDS with argsz %u, flags %#x, index %u, count %u",
			srv->desc.name, req->argsz, req->flags, req->index, req->count);
		return -EINVAL;
	}
	return 0;
}

int vfu_cmd_region_io_fds(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
			  struct facet_vfu_reply *rep)
{
	struct {
		struct facet_vfu_region_io_fds hdr;
		struct facet_vfu_sub_region_ioeventfd subs[FACET_VFU_MAX_IOEVENTFDS];
	} r;
	unsigned int n, nfds;
	size_t needed, len;
	int ret = vfu_iofd_check(srv, msg, &r.hdr);

	if (ret)
		return ret;
	pthread_mutex_lock(&srv->lock);
	n = vfu_iofd_collect(srv, r.hdr.index, r.subs, &nfds);
	pthread_mutex_unlock(&srv->lock);
	needed = sizeof(r.hdr) + n * sizeof(r.subs[0]);
	/* Too small a buffer: state the size and the count, send no sub-region and no fd. */
	len = r.hdr.argsz >= needed ? needed : sizeof(r.hdr);
	if (len == needed && nfds) {
		rep->fds = srv->io_reply_fds; /* stable until sent: only this thread writes it */
		rep->nfds = nfds;
	}
	r.hdr.argsz = (uint32_t)needed;
	r.hdr.count = n;
	rep->data = malloc(len);
	if (!rep->data)
		return -ENOMEM;
	memcpy(rep->data, &r, len);
	rep->len = len;
	return 0;
}
