/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user server framework (facet_vfu_server.h).
 *
 * One thread accepts a client, serves its commands in order until it leaves,
 * drops what belonged to it (DMA maps, interrupt eventfds) and accepts the
 * next. Commands run in this thread while the connection's receiver thread
 * keeps reading, so a handler, or a device thread, may wait for the reply to
 * a DMA_READ/WRITE of its own. Everything in a client's message is checked
 * before use; a bad one gets an error reply and the server goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "facet_log.h"
#include "facet_vfu.h"
#include "facet_vfu_conn.h"
#include "facet_vfu_server.h"
#include "vfu_server_private.h"

/* ---- small helpers -------------------------------------------------------- */

/* The fixed part of a command's payload, or -EINVAL (logged) if it is short. */
static int vfu_args(const struct facet_vfu_msg *msg, void *args, size_t size)
{
	if (msg->len < size) {
		VFU_ERR("server: %s payload of %zu bytes, need %zu",
			facet_vfu_cmd_name(msg->hdr.cmd), msg->len, size);
		return -EINVAL;
	}
	memcpy(args, msg->data, size);
	return 0;
}

static int vfu_reply_copy(struct facet_vfu_reply *rep, const void *data, size_t len)
{
	rep->data = malloc(len);
	if (!rep->data) {
		VFU_ERR("server: out of memory for a reply");
		return -ENOMEM;
	}
	memcpy(rep->data, data, len);
	rep->len = len;
	return 0;
}

static bool vfu_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* ---- VERSION and device info --------------------------------------------- */

static int vfu_cmd_version(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
			   struct facet_vfu_reply *rep)
{
	struct facet_vfu_caps theirs, ours = {
		.max_msg_fds = FACET_VFU_MAX_MSG_FDS,
		.max_data_xfer_size = FACET_VFU_MAX_DATA_XFER_SIZE,
		.max_dma_maps = VFU_SERVER_MAX_DMA_MAPS,
		.pgsizes = VFU_PAGE_SIZE,
	};
	uint16_t major, minor;
	int ret;

	if (srv->versioned) {
		VFU_ERR("server %s: second VERSION from the client", srv->desc.name);
		return -EINVAL;
	}
	ret = facet_vfu_version_decode(msg->data, msg->len, &major, &minor, &theirs);
	if (ret)
		return ret;
	if (major != FACET_VFU_VERSION_MAJOR) {
		VFU_ERR("server %s: client speaks vfio-user %u.%u, we speak %u.x", srv->desc.name,
			major, minor, FACET_VFU_VERSION_MAJOR);
		return -ENOTSUP;
	}
	if (minor > FACET_VFU_VERSION_MINOR)
		minor = FACET_VFU_VERSION_MINOR;
	ret = facet_vfu_version_encode(major, minor, &ours, true, &rep->data, &rep->len);
	if (ret)
		return ret;
	pthread_mutex_lock(&srv->lock);
	srv->client_caps = theirs;
	srv->versioned = true;
	pthread_mutex_unlock(&srv->lock);
	VFU_DEBUG("server %s: client speaks %u.%u, max_data_xfer_size %u, max_msg_fds %u",
		  srv->desc.name, major, minor, theirs.max_data_xfer_size, theirs.max_msg_fds);
	return 0;
}

static int vfu_cmd_device_info(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
			       struct facet_vfu_reply *rep)
{
	struct facet_vfu_device_info info;
	int ret = vfu_args(msg, &info, sizeof(info));

	if (ret)
		return ret;
	if (info.argsz < sizeof(info)) {
		VFU_ERR("server %s: DEVICE_GET_INFO argsz %u too small", srv->desc.name,
			info.argsz);
		return -EINVAL;
	}
	info.argsz = sizeof(info);
	info.flags = FACET_VFU_DEV_F_PCI | (srv->desc.pci_flags_reset ? FACET_VFU_DEV_F_RESET : 0);
	info.num_regions = FACET_VFU_PCI_NUM_REGIONS;
	info.num_irqs = FACET_VFU_PCI_NUM_IRQS;
	return vfu_reply_copy(rep, &info, sizeof(info));
}

static int vfu_cmd_region_info(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
			       struct facet_vfu_reply *rep)
{
	struct {
		struct facet_vfu_region_info info;
		struct facet_vfu_cap_sparse_mmap cap;
		struct facet_vfu_sparse_area areas[FACET_VFU_MAX_MMAP_AREAS];
	} r;
	const struct facet_vfu_region *reg;
	size_t needed = sizeof(r.info);
	bool mmap_ok;
	int ret;

	ret = vfu_args(msg, &r.info, sizeof(r.info));
	if (ret)
		return ret;
	if (r.info.argsz < sizeof(r.info) || r.info.index >= FACET_VFU_PCI_NUM_REGIONS) {
		VFU_ERR("server %s: GET_REGION_INFO with argsz %u, index %u", srv->desc.name,
			r.info.argsz, r.info.index);
		return -EINVAL;
	}
	reg = &srv->desc.regions[r.info.index];
	/* A client that cannot receive fds gets no mmap: trapped access still works. */
	mmap_ok = reg->size && (reg->flags & FACET_VFU_REGION_MMAP) &&
		  srv->client_caps.max_msg_fds > 0;
	memset(&r.cap, 0, sizeof(r.cap) + sizeof(r.areas));
	r.info.flags = 0;
	r.info.cap_offset = 0;
	r.info.size = reg->size;
	r.info.offset = mmap_ok ? reg->fd_offset : 0;
	if (reg->size) {
		r.info.flags |= reg->flags & FACET_VFU_REGION_READ ? FACET_VFU_REG_F_READ : 0;
		r.info.flags |= reg->flags & FACET_VFU_REGION_WRITE ? FACET_VFU_REG_F_WRITE : 0;
	}
	if (mmap_ok) {
		r.info.flags |= FACET_VFU_REG_F_MMAP;
		if (reg->n_mmap_areas) {
			r.info.flags |= FACET_VFU_REG_F_CAPS;
			needed += sizeof(r.cap) + reg->n_mmap_areas * sizeof(r.areas[0]);
		}
	}
	if (r.info.argsz >= needed && needed > sizeof(r.info)) {
		r.info.cap_offset = sizeof(r.info);
		r.cap.hdr.id = FACET_VFU_CAP_SPARSE_MMAP;
		r.cap.hdr.version = 1;
		r.cap.nr_areas = reg->n_mmap_areas;
		for (unsigned int i = 0; i < reg->n_mmap_areas; i++) {
			r.areas[i].offset = reg->mmap_areas[i].offset;
			r.areas[i].size = reg->mmap_areas[i].size;
		}
	}
	/* Too small a buffer: state the size needed, send the fd with the full reply only. */
	if (r.info.argsz >= needed && mmap_ok) {
		rep->fds = &reg->fd;
		rep->nfds = 1;
	}
	ret = r.info.argsz >= needed ? (int)needed : (int)sizeof(r.info);
	r.info.argsz = (uint32_t)needed;
	return vfu_reply_copy(rep, &r, (size_t)ret);
}

static int vfu_cmd_irq_info(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
			    struct facet_vfu_reply *rep)
{
	struct facet_vfu_irq_info info;
	int ret = vfu_args(msg, &info, sizeof(info));

	if (ret)
		return ret;
	if (info.argsz < sizeof(info) || info.index >= FACET_VFU_PCI_NUM_IRQS) {
		VFU_ERR("server %s: GET_IRQ_INFO with argsz %u, index %u", srv->desc.name,
			info.argsz, info.index);
		return -EINVAL;
	}
	info.argsz = sizeof(info);
	info.flags = FACET_VFU_IRQ_INFO_EVENTFD;
	if (info.index == FACET_VFU_IRQ_MSI || info.index == FACET_VFU_IRQ_MSIX)
		info.flags |= FACET_VFU_IRQ_INFO_NORESIZE;
	info.count = srv->desc.irq_counts[info.index];
	return vfu_reply_copy(rep, &info, sizeof(info));
}

static int vfu_cmd_reset(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
			 struct facet_vfu_reply *rep)
{
	const struct facet_vfu_device_ops *ops = srv->desc.ops;
	int ret;

	if (!srv->desc.pci_flags_reset) {
		VFU_ERR("server %s: DEVICE_RESET, but the device has no reset", srv->desc.name);
		return -ENOTSUP;
	}
	if (!ops || !ops->reset)
		return 0;
	ret = ops->reset(srv->desc.dev);
	if (ret)
		VFU_ERR("server %s: device reset failed: %s", srv->desc.name, strerror(-ret));
	return ret;
}

/* ---- region access ---------------------------------------------------------- */

/* The mmap area of @reg holding @off, or NULL; *@next: start of the next area after @off. */
static const struct facet_vfu_sparse_area *vfu_area_at(const struct facet_vfu_region *reg,
						       uint64_t off, uint64_t *next,
						       struct facet_vfu_sparse_area *whole)
{
	*next = reg->size;
	if (!(reg->flags & FACET_VFU_REGION_MMAP) || reg->fd < 0)
		return NULL;
	if (!reg->n_mmap_areas) {
		whole->offset = 0;
		whole->size = reg->size;
		return whole;
	}
	for (unsigned int i = 0; i < reg->n_mmap_areas; i++) {
		uint64_t a = reg->mmap_areas[i].offset, e = a + reg->mmap_areas[i].size;

		if (off >= a && off < e) {
			whole->offset = a;
			whole->size = e - a;
			return whole;
		}
		if (a > off && a < *next)
			*next = a;
	}
	return NULL;
}

/* Bytes inside an mmap area go straight to the backing fd: the client may use either path. */
static int vfu_region_fd_rw(struct facet_vfu_server *srv, const struct facet_vfu_region *reg,
			    uint64_t off, void *buf, size_t len, bool write)
{
	off_t pos = (off_t)(reg->fd_offset + off);
	ssize_t n = write ? pwrite(reg->fd, buf, len, pos) : pread(reg->fd, buf, len, pos);

	if (n == (ssize_t)len)
		return 0;
	VFU_ERR("server %s: %s of the region backing fd at %#llx failed: %s", srv->desc.name,
		write ? "write" : "read", (unsigned long long)pos,
		n < 0 ? strerror(errno) : "short");
	return n < 0 ? -errno : -EIO;
}

static int vfu_region_rw(struct facet_vfu_server *srv, unsigned int index, uint64_t off, void *buf,
			 size_t len, bool write)
{
	const struct facet_vfu_region *reg = &srv->desc.regions[index];

	while (len) {
		struct facet_vfu_sparse_area whole;
		const struct facet_vfu_sparse_area *a;
		uint64_t next;
		size_t chunk;
		int ret;

		a = vfu_area_at(reg, off, &next, &whole);
		chunk = a ? a->offset + a->size - off : next - off;
		if (chunk > len)
			chunk = len;
		if (a) {
			ret = vfu_region_fd_rw(srv, reg, off, buf, chunk, write);
		} else if (reg->access) {
			ret = reg->access(srv->desc.dev, index, off, buf, chunk, write);
		} else {
			VFU_ERR("server %s: region %u has no access handler for offset %#llx",
				srv->desc.name, index, (unsigned long long)off);
			ret = -EINVAL;
		}
		if (ret)
			return ret > 0 ? -EIO : ret;
		off += chunk;
		buf = (char *)buf + chunk;
		len -= chunk;
	}
	return 0;
}

static int vfu_cmd_region_access(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
				 struct facet_vfu_reply *rep, bool write)
{
	struct facet_vfu_region_access ra;
	const struct facet_vfu_region *reg;
	char *out;
	int ret;

	ret = vfu_args(msg, &ra, sizeof(ra));
	if (ret)
		return ret;
	if (ra.region >= FACET_VFU_PCI_NUM_REGIONS || !srv->desc.regions[ra.region].size) {
		VFU_ERR("server %s: region access to missing region %u", srv->desc.name, ra.region);
		return -EINVAL;
	}
	reg = &srv->desc.regions[ra.region];
	if (!ra.count || ra.count > FACET_VFU_MAX_DATA_XFER_SIZE ||
	    !vfu_range_ok(ra.offset, ra.count, reg->size) ||
	    (write && msg->len != sizeof(ra) + ra.count)) {
		VFU_ERR("server %s: bad %s: region %u offset %#llx count %u payload %zu (size "
			"%#llx)",
			srv->desc.name, write ? "write" : "read", ra.region,
			(unsigned long long)ra.offset, ra.count, msg->len,
			(unsigned long long)reg->size);
		return -EINVAL;
	}
	if (!(reg->flags & (write ? FACET_VFU_REGION_WRITE : FACET_VFU_REGION_READ))) {
		VFU_ERR("server %s: region %u is not %s", srv->desc.name, ra.region,
			write ? "writable" : "readable");
		return -EPERM;
	}
	out = malloc(sizeof(ra) + (write ? 0 : ra.count));
	if (!out) {
		VFU_ERR("server %s: out of memory for a %u-byte read", srv->desc.name, ra.count);
		return -ENOMEM;
	}
	if (write)
		ret = vfu_region_rw(srv, ra.region, ra.offset, (char *)msg->data + sizeof(ra),
				    ra.count, true);
	else
		ret = vfu_region_rw(srv, ra.region, ra.offset, out + sizeof(ra), ra.count, false);
	if (ret) {
		free(out);
		return ret;
	}
	memcpy(out, &ra, sizeof(ra));
	rep->data = out;
	rep->len = sizeof(ra) + (write ? 0 : ra.count);
	return 0;
}

/* ---- dispatch ------------------------------------------------------------- */

static int vfu_command(void *arg, struct facet_vfu_msg *msg, struct facet_vfu_reply *rep)
{
	struct facet_vfu_server *srv = arg;
	unsigned int cmd = msg->hdr.cmd;

	if (!srv->versioned && cmd != FACET_VFU_CMD_VERSION) {
		VFU_ERR("server %s: %s before VERSION", srv->desc.name, facet_vfu_cmd_name(cmd));
		return -EINVAL;
	}
	switch (cmd) {
	case FACET_VFU_CMD_VERSION:
		return vfu_cmd_version(srv, msg, rep);
	case FACET_VFU_CMD_DMA_MAP:
		return vfu_cmd_dma_map(srv, msg);
	case FACET_VFU_CMD_DMA_UNMAP:
		return vfu_cmd_dma_unmap(srv, msg, rep);
	case FACET_VFU_CMD_DEVICE_GET_INFO:
		return vfu_cmd_device_info(srv, msg, rep);
	case FACET_VFU_CMD_DEVICE_GET_REGION_INFO:
		return vfu_cmd_region_info(srv, msg, rep);
	case FACET_VFU_CMD_DEVICE_GET_IRQ_INFO:
		return vfu_cmd_irq_info(srv, msg, rep);
	case FACET_VFU_CMD_DEVICE_SET_IRQS:
		return vfu_cmd_set_irqs(srv, msg);
	case FACET_VFU_CMD_REGION_READ:
		return vfu_cmd_region_access(srv, msg, rep, false);
	case FACET_VFU_CMD_REGION_WRITE:
		return vfu_cmd_region_access(srv, msg, rep, true);
	case FACET_VFU_CMD_DEVICE_RESET:
		return vfu_cmd_reset(srv, msg, rep);
	case FACET_VFU_CMD_DEVICE_GET_REGION_IO_FDS:
		return vfu_cmd_region_io_fds(srv, msg, rep);
	case FACET_VFU_CMD_REGION_WRITE_MULTI:
	case FACET_VFU_CMD_DEVICE_FEATURE:
	case FACET_VFU_CMD_MIG_DATA_READ:
	case FACET_VFU_CMD_MIG_DATA_WRITE:
		VFU_DEBUG("server %s: %s not supported", srv->desc.name, facet_vfu_cmd_name(cmd));
		return -ENOTSUP;
	case FACET_VFU_CMD_DMA_READ:
	case FACET_VFU_CMD_DMA_WRITE:
		VFU_ERR("server %s: client sent %s, a server-to-client command", srv->desc.name,
			facet_vfu_cmd_name(cmd));
		return -EINVAL;
	default:
		VFU_ERR("server %s: unknown command %u", srv->desc.name, cmd);
		return -ENOSYS;
	}
}

/* ---- clients ------------------------------------------------------------- */

static void vfu_serve_client(struct facet_vfu_server *srv, int cfd)
{
	static const struct facet_vfu_conn_ops conn_ops = { .command = vfu_command };
	const struct facet_vfu_device_ops *ops = srv->desc.ops;
	struct facet_vfu_conn_cfg cfg = {
		.name = srv->conn_name,
		.ops = &conn_ops,
		.arg = srv,
		.flags = FACET_VFU_CONN_QUEUE,
	};
	struct facet_vfu_conn *conn;

	if (facet_vfu_conn_create(cfd, &cfg, &conn))
		return;
	pthread_mutex_lock(&srv->lock);
	srv->conn = conn;
	srv->client_present = true;
	srv->versioned = false;
	facet_vfu_caps_default(&srv->client_caps);
	if (atomic_load(&srv->stop))
		facet_vfu_conn_shutdown(conn);
	pthread_mutex_unlock(&srv->lock);
	VFU_INFO("server %s: client connected", srv->desc.name);
	if (ops && ops->client_connected)
		ops->client_connected(srv->desc.dev);

	facet_vfu_conn_serve(conn);

	/* The client counts as present until what it left behind is dropped. */
	vfu_drop_client_state(srv);
	VFU_INFO("server %s: client gone", srv->desc.name);
	if (ops && ops->client_gone)
		ops->client_gone(srv->desc.dev);
	pthread_mutex_lock(&srv->lock);
	srv->conn = NULL;
	srv->versioned = false;
	pthread_mutex_unlock(&srv->lock);
	facet_vfu_conn_destroy(conn);
	pthread_mutex_lock(&srv->lock);
	srv->client_present = false;
	pthread_mutex_unlock(&srv->lock);
}

static void *vfu_server_thread(void *arg)
{
	struct facet_vfu_server *srv = arg;

	while (!atomic_load(&srv->stop)) {
		struct pollfd pfd[2] = {
			{ .fd = srv->listen_fd, .events = POLLIN },
			{ .fd = srv->wake_fd, .events = POLLIN },
		};
		int cfd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			VFU_ERR("server %s: poll failed: %s", srv->desc.name, strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		cfd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				VFU_ERR("server %s: accept failed: %s", srv->desc.name,
					strerror(errno));
			continue;
		}
		vfu_serve_client(srv, cfd);
	}
	return NULL;
}

/* ---- creation ------------------------------------------------------------- */

static int vfu_check_region(const char *name, unsigned int i, const struct facet_vfu_region *r)
{
	if (!r->size)
		return 0;
	if (!(r->flags & FACET_VFU_REGION_MMAP)) {
		if (!r->n_mmap_areas)
			return 0;
		VFU_ERR("server %s: region %u has mmap areas but no MMAP flag", name, i);
		return -EINVAL;
	}
	if (r->fd < 0 || r->fd_offset % VFU_PAGE_SIZE ||
	    r->n_mmap_areas > FACET_VFU_MAX_MMAP_AREAS) {
		VFU_ERR("server %s: region %u: mmap needs an fd, a page-aligned offset and at most "
			"%u areas",
			name, i, FACET_VFU_MAX_MMAP_AREAS);
		return -EINVAL;
	}
	for (unsigned int a = 0; a < r->n_mmap_areas; a++) {
		uint64_t off = r->mmap_areas[a].offset, sz = r->mmap_areas[a].size;

		if (!sz || off % VFU_PAGE_SIZE || sz % VFU_PAGE_SIZE ||
		    !vfu_range_ok(off, sz, r->size)) {
			VFU_ERR("server %s: region %u area %u [%#llx, +%#llx) is not page-aligned "
				"inside the region",
				name, i, a, (unsigned long long)off, (unsigned long long)sz);
			return -EINVAL;
		}
	}
	return 0;
}

static int vfu_check_desc(const struct facet_vfu_device_desc *desc)
{
	const char *name = desc->name ? desc->name : "?";
	int ret;

	for (unsigned int i = 0; i < FACET_VFU_PCI_NUM_REGIONS; i++) {
		ret = vfu_check_region(name, i, &desc->regions[i]);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < FACET_VFU_PCI_NUM_IRQS; i++) {
		if (desc->irq_counts[i] > VFU_SERVER_MAX_IRQS) {
			VFU_ERR("server %s: %u vectors for irq index %u (max %u)", name,
				desc->irq_counts[i], i, VFU_SERVER_MAX_IRQS);
			return -EINVAL;
		}
	}
	return 0;
}

static int vfu_listen(struct facet_vfu_server *srv, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		VFU_ERR("server: socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			VFU_ERR("server: %s exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path); /* stale socket of an earlier server */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		VFU_ERR("server: socket: %s", strerror(errno));
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		int err = errno;

		VFU_ERR("server: cannot listen on %s: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	srv->listen_fd = fd;
	return 0;
}

static void vfu_server_free(struct facet_vfu_server *srv)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	for (unsigned int i = 0; i < FACET_VFU_PCI_NUM_IRQS; i++)
		free(srv->irq_fds[i]);
	free(srv->dmas);
	free(srv->name);
	free(srv->path);
	pthread_rwlock_destroy(&srv->dma_lock);
	pthread_mutex_destroy(&srv->irq_lock);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

static int vfu_server_alloc(const char *path, const struct facet_vfu_device_desc *desc,
			    struct facet_vfu_server **out)
{
	struct facet_vfu_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return -ENOMEM;
	srv->listen_fd = srv->wake_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_mutex_init(&srv->irq_lock, NULL);
	/* Readers first: a device may nest dma_read() inside its own read lock. */
	pthread_rwlock_init(&srv->dma_lock, NULL);
	srv->desc = *desc;
	srv->name = strdup(desc->name ? desc->name : "vfio-user");
	srv->path = strdup(path);
	srv->dmas = calloc(VFU_SERVER_MAX_DMA_MAPS, sizeof(*srv->dmas));
	*out = srv;
	if (!srv->name || !srv->path || !srv->dmas)
		return -ENOMEM;
	srv->desc.name = srv->name;
	snprintf(srv->conn_name, sizeof(srv->conn_name), "server %s", srv->name);
	for (unsigned int i = 0; i < FACET_VFU_PCI_NUM_IRQS; i++) {
		unsigned int n = desc->irq_counts[i];

		srv->irq_fds[i] = malloc(sizeof(int) * (n ? n : 1));
		if (!srv->irq_fds[i])
			return -ENOMEM;
		for (unsigned int v = 0; v < n; v++)
			srv->irq_fds[i][v] = -1;
	}
	srv->wake_fd = eventfd(0, EFD_CLOEXEC);
	return srv->wake_fd < 0 ? -errno : 0;
}

int facet_vfu_server_create(const char *path, const struct facet_vfu_device_desc *desc,
			    struct facet_vfu_server **out)
{
	struct facet_vfu_server *srv = NULL;
	int ret;

	if (!path || !desc || !out) {
		VFU_ERR("server: create needs a path, a description and an out pointer");
		return -EINVAL;
	}
	ret = vfu_check_desc(desc);
	if (ret)
		return ret;
	ret = vfu_server_alloc(path, desc, &srv);
	if (ret) {
		VFU_ERR("server %s: cannot allocate: %s", path, strerror(-ret));
		goto fail;
	}
	ret = vfu_listen(srv, path);
	if (ret)
		goto fail;
	ret = -pthread_create(&srv->thread, NULL, vfu_server_thread, srv);
	if (ret) {
		VFU_ERR("server %s: cannot start its thread: %s", srv->name, strerror(-ret));
		unlink(path);
		goto fail;
	}
	VFU_INFO("server %s: listening on %s", srv->name, path);
	*out = srv;
	return 0;
fail:
	if (srv)
		vfu_server_free(srv);
	return ret;
}

void facet_vfu_server_destroy(struct facet_vfu_server *srv)
{
	uint64_t one = 1;

	if (!srv)
		return;
	atomic_store(&srv->stop, true);
	if (write(srv->wake_fd, &one, sizeof(one)) != sizeof(one))
		VFU_ERR("server %s: cannot wake the server thread: %s", srv->name, strerror(errno));
	pthread_mutex_lock(&srv->lock);
	if (srv->conn)
		facet_vfu_conn_shutdown(srv->conn);
	pthread_mutex_unlock(&srv->lock);
	pthread_join(srv->thread, NULL);
	unlink(srv->path);
	vfu_server_free(srv);
}

bool facet_vfu_server_has_client(struct facet_vfu_server *srv)
{
	bool ret;

	pthread_mutex_lock(&srv->lock);
	ret = srv->client_present;
	pthread_mutex_unlock(&srv->lock);
	return ret;
}
