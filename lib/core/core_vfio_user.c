/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user client transport: a device served by another process over a
 * UNIX socket ("vfio-user:/path/to.sock").
 *
 * Open negotiates VERSION, then reads the device, region and interrupt
 * descriptions once and caches them (with the regions' mmap fds). Region
 * access goes by REGION_READ/WRITE (the common code uses the mmap when it
 * can), interrupts by SET_IRQS with eventfds, DMA by DMA_MAP/UNMAP with the
 * memory's fd. The server may also reach our memory by DMA_READ/WRITE
 * messages: those are served in the connection's receiver thread from a
 * table of what we mapped, and refused outside it.
 *
 * The server is not trusted: every reply is checked, and one that breaks the
 * protocol fails the call with -EPROTO. When the server goes away the device
 * is marked dead and every blocked or later call returns -ENODEV.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core_private.h"
#include "facet_vfu.h"
#include "facet_vfu_conn.h"

#define VU_PREFIX	   "vfio-user:"
#define VU_TIMEOUT_MS	   5000u
#define VU_MAX_REGION_INFO 65536u /* largest region info reply we accept */
#define VU_MAX_CAPS	   16u	  /* capability chain entries walked */
#define VU_PAGE		   4096u

struct vu_dma {
	uint64_t iova;
	uint64_t len;
	void *va;
	uint32_t access;
};

struct vu_region {
	int fd;		    /* from the server, for mmap; -1 if none */
	uint64_t fd_offset; /* region start in fd */
};

struct vu_priv {
	struct facet_core_dev *dev;
	struct facet_vfu_conn *conn;
	atomic_bool closing;
	atomic_bool opened; /* before that, a failure fails open() only */
	char conn_name[80];
	struct facet_vfu_caps server;
	struct vu_region regions[FACET_CORE_NUM_REGIONS];
	struct facet_core_region_info rinfo[FACET_CORE_NUM_REGIONS];
	unsigned int irq_counts[FACET_CORE_IRQ_TYPES];

	pthread_mutex_t dma_lock; /* the table below */
	struct vu_dma *dmas;
	unsigned int n_dmas, cap_dmas;
};

static struct vu_priv *vu_priv(struct facet_core_dev *dev)
{
	return dev->transport_priv;
}

static int vu_alive(struct facet_core_dev *dev)
{
	return facet_core_is_dead(dev) ? -ENODEV : 0;
}

/* A call; -EPROTO and -ENODEV are already logged by the connection. */
static int vu_call(struct facet_core_dev *dev, const struct facet_vfu_req *req,
		   struct facet_vfu_msg *reply)
{
	struct facet_vfu_msg dummy;
	int ret;

	ret = facet_vfu_conn_call(vu_priv(dev)->conn, req, reply ? reply : &dummy);
	if (ret == 0 && !reply)
		facet_vfu_msg_release(&dummy);
	if (ret == -ENODEV && atomic_load(&vu_priv(dev)->opened))
		core_mark_dead(dev, "vfio-user server went away");
	return ret;
}

static int vu_proto(struct facet_core_dev *dev, struct facet_vfu_msg *reply, const char *what)
{
	CORE_ERR("%s: vfio-user protocol violation: %s", dev->info.name, what);
	if (reply)
		facet_vfu_msg_release(reply);
	return -EPROTO;
}

/* ---- DMA from the server (receiver thread) ------------------------------- */

/* The map holding all of [iova, iova + len), or NULL. Caller holds dma_lock. */
static struct vu_dma *vu_dma_find(struct vu_priv *vp, uint64_t iova, uint64_t len)
{
	for (unsigned int i = 0; i < vp->n_dmas; i++) {
		struct vu_dma *m = &vp->dmas[i];

		if (iova >= m->iova && iova - m->iova < m->len && len <= m->len - (iova - m->iova))
			return m;
	}
	return NULL;
}

static int vu_serve_dma(struct vu_priv *vp, struct facet_vfu_msg *cmd, struct facet_vfu_reply *rep,
			bool write)
{
	uint32_t need = write ? FACET_CORE_DMA_WRITE : FACET_CORE_DMA_READ;
	struct facet_vfu_dma_access da;
	struct vu_dma *m;
	char *out;

	if (cmd->len < sizeof(da))
		return -EINVAL;
	memcpy(&da, cmd->data, sizeof(da));
	if (!da.count || da.count > FACET_VFU_MAX_DATA_XFER_SIZE ||
	    (write && cmd->len != sizeof(da) + da.count)) {
		CORE_ERR("%s: server sent a bad %s (addr %#llx count %llu, %zu bytes)",
			 vp->dev->info.name, write ? "DMA_WRITE" : "DMA_READ",
			 (unsigned long long)da.addr, (unsigned long long)da.count, cmd->len);
		return -EINVAL;
	}
	out = malloc(sizeof(da) + (write ? 0 : da.count));
	if (!out)
		return -ENOMEM;
	pthread_mutex_lock(&vp->dma_lock);
	m = vu_dma_find(vp, da.addr, da.count);
	if (m && (m->access & need)) {
		void *va = (char *)m->va + (da.addr - m->iova);

		if (write)
			memcpy(va, (char *)cmd->data + sizeof(da), da.count);
		else
			memcpy(out + sizeof(da), va, da.count);
	}
	pthread_mutex_unlock(&vp->dma_lock);
	if (!m || !(m->access & need)) {
		CORE_ERR("%s: server %s [%#llx, +%#llx) outside our DMA maps", vp->dev->info.name,
			 write ? "wrote" : "read", (unsigned long long)da.addr,
			 (unsigned long long)da.count);
		free(out);
		return m ? -EACCES : -EFAULT;
	}
	memcpy(out, &da, sizeof(da));
	rep->data = out;
	/* The DMA_WRITE reply carries address and a 32-bit count. */
	rep->len = write ? FACET_VFU_DMA_WRITE_REPLY_MIN : sizeof(da) + da.count;
	return 0;
}

static int vu_command(void *arg, struct facet_vfu_msg *cmd, struct facet_vfu_reply *rep)
{
	struct vu_priv *vp = arg;

	switch (cmd->hdr.cmd) {
	case FACET_VFU_CMD_DMA_READ:
		return vu_serve_dma(vp, cmd, rep, false);
	case FACET_VFU_CMD_DMA_WRITE:
		return vu_serve_dma(vp, cmd, rep, true);
	default:
		CORE_ERR("%s: server sent command %s (%u), which only a client sends",
			 vp->dev->info.name, facet_vfu_cmd_name(cmd->hdr.cmd), cmd->hdr.cmd);
		return -ENOSYS;
	}
}

static void vu_on_close(void *arg, int err)
{
	struct vu_priv *vp = arg;

	if (atomic_load(&vp->closing) || !atomic_load(&vp->opened))
		return;
	core_mark_dead(vp->dev, err == -EPROTO ? "vfio-user server broke the protocol"
					       : "vfio-user server closed the connection");
}

/* ---- open: VERSION, device, regions, interrupts ---------------------------- */

static int vu_version(struct facet_core_dev *dev)
{
	struct vu_priv *vp = vu_priv(dev);
	struct facet_vfu_caps ours = {
		.max_msg_fds = FACET_VFU_MAX_MSG_FDS,
		.max_data_xfer_size = FACET_VFU_MAX_DATA_XFER_SIZE,
	};
	struct facet_vfu_req req = { .cmd = FACET_VFU_CMD_VERSION };
	struct facet_vfu_msg rep;
	uint16_t major, minor;
	void *buf;
	int ret;

	ret = facet_vfu_version_encode(FACET_VFU_VERSION_MAJOR, FACET_VFU_VERSION_MINOR, &ours,
				       false, &buf, &req.args_len);
	if (ret)
		return ret;
	req.args = buf;
	ret = vu_call(dev, &req, &rep);
	free(buf);
	if (ret) {
		CORE_ERR("%s: vfio-user VERSION failed: %s", dev->info.name, strerror(-ret));
		return ret;
	}
	ret = facet_vfu_version_decode(rep.data, rep.len, &major, &minor, &vp->server);
	facet_vfu_msg_release(&rep);
	if (ret)
		return vu_proto(dev, NULL, "malformed VERSION reply");
	if (major != FACET_VFU_VERSION_MAJOR || minor > FACET_VFU_VERSION_MINOR) {
		CORE_ERR("%s: server answered vfio-user %u.%u to our %u.%u", dev->info.name, major,
			 minor, FACET_VFU_VERSION_MAJOR, FACET_VFU_VERSION_MINOR);
		return -EPROTO;
	}
	if (!(vp->server.pgsizes & (VU_PAGE | (VU_PAGE - 1))))
		CORE_WARN("%s: server does not take 4 KiB DMA pages (pgsizes %#llx)",
			  dev->info.name, (unsigned long long)vp->server.pgsizes);
	return 0;
}

static int vu_device_info(struct facet_core_dev *dev)
{
	struct facet_vfu_device_info info = { .argsz = sizeof(info) };
	struct facet_vfu_req req = {
		.cmd = FACET_VFU_CMD_DEVICE_GET_INFO,
		.args = &info,
		.args_len = sizeof(info),
	};
	struct facet_vfu_msg rep;
	int ret = vu_call(dev, &req, &rep);

	if (ret) {
		CORE_ERR("%s: DEVICE_GET_INFO failed: %s", dev->info.name, strerror(-ret));
		return ret;
	}
	if (rep.len < sizeof(info))
		return vu_proto(dev, &rep, "short DEVICE_GET_INFO reply");
	memcpy(&info, rep.data, sizeof(info));
	facet_vfu_msg_release(&rep);
	if (!(info.flags & FACET_VFU_DEV_F_PCI)) {
		CORE_ERR("%s: vfio-user device is not a PCI device (flags %#x)", dev->info.name,
			 info.flags);
		return -ENODEV;
	}
	dev->info.can_reset = info.flags & FACET_VFU_DEV_F_RESET;
	dev->info.num_regions = info.num_regions < FACET_CORE_NUM_REGIONS ? info.num_regions
									  : FACET_CORE_NUM_REGIONS;
	dev->info.num_irq_types =
		info.num_irqs < FACET_CORE_IRQ_TYPES ? info.num_irqs : FACET_CORE_IRQ_TYPES;
	return 0;
}

/* The sparse mmap capability at @off of @buf (@len bytes) into @ri. */
static int vu_parse_sparse(struct facet_core_dev *dev, const uint8_t *buf, size_t len, size_t off,
			   struct facet_core_region_info *ri)
{
	struct facet_vfu_cap_sparse_mmap cap;
	unsigned int n;

	if (len - off < sizeof(cap))
		return vu_proto(dev, NULL, "truncated sparse mmap capability");
	memcpy(&cap, buf + off, sizeof(cap));
	if (cap.nr_areas > (len - off - sizeof(cap)) / sizeof(struct facet_vfu_sparse_area))
		return vu_proto(dev, NULL, "sparse mmap areas beyond the reply");
	n = cap.nr_areas;
	if (n > 8) {
		CORE_WARN("%s: %u sparse mmap areas, using the first 8", dev->info.name, n);
		n = 8;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct facet_vfu_sparse_area a;

		memcpy(&a, buf + off + sizeof(cap) + i * sizeof(a), sizeof(a));
		if (!a.size || a.offset % VU_PAGE || a.size % VU_PAGE || a.offset > ri->size ||
		    a.size > ri->size - a.offset)
			return vu_proto(dev, NULL, "sparse mmap area outside the region");
		ri->mmap_areas[i].offset = a.offset;
		ri->mmap_areas[i].size = a.size;
	}
	ri->n_mmap_areas = n;
	return 0;
}

/* Walk the capability chain, bounded and strictly forward (no loops). */
static int vu_parse_caps(struct facet_core_dev *dev, const uint8_t *buf, size_t len, uint32_t off,
			 struct facet_core_region_info *ri, bool *sparse)
{
	for (unsigned int n = 0; off; n++) {
		struct facet_vfu_cap_hdr ch;
		int ret;

		if (n >= VU_MAX_CAPS || off < sizeof(struct facet_vfu_region_info) || off > len ||
		    len - off < sizeof(ch))
			return vu_proto(dev, NULL, "region capability outside the reply");
		memcpy(&ch, buf + off, sizeof(ch));
		if (ch.id == FACET_VFU_CAP_SPARSE_MMAP && !*sparse) {
			ret = vu_parse_sparse(dev, buf, len, off, ri);
			if (ret)
				return ret;
			*sparse = true;
		}
		if (ch.next && ch.next <= off)
			return vu_proto(dev, NULL, "region capability chain goes backwards");
		off = ch.next;
	}
	return 0;
}

static int vu_region_fill(struct facet_core_dev *dev, unsigned int index, struct facet_vfu_msg *rep)
{
	struct vu_priv *vp = vu_priv(dev);
	struct facet_core_region_info *ri = &vp->rinfo[index];
	struct facet_vfu_region_info info;
	bool sparse = false;
	int ret;

	memcpy(&info, rep->data, sizeof(info));
	memset(ri, 0, sizeof(*ri));
	ri->size = info.size;
	ri->flags = (info.flags & FACET_VFU_REG_F_READ ? FACET_CORE_REGION_READ : 0) |
		    (info.flags & FACET_VFU_REG_F_WRITE ? FACET_CORE_REGION_WRITE : 0);
	if ((info.flags & FACET_VFU_REG_F_CAPS) && info.cap_offset) {
		ret = vu_parse_caps(dev, rep->data, rep->len, info.cap_offset, ri, &sparse);
		if (ret)
			return ret;
	}
	if (!(info.flags & FACET_VFU_REG_F_MMAP) || !info.size || rep->nfds != 1 ||
	    (sparse && !ri->n_mmap_areas) || info.offset % VU_PAGE) {
		if ((info.flags & FACET_VFU_REG_F_MMAP) && info.size)
			CORE_WARN("%s: region %u is mappable but came without a usable fd",
				  dev->info.name, index);
		ri->n_mmap_areas = 0;
		return 0;
	}
	if (!sparse) { /* the whole region */
		ri->n_mmap_areas = 1;
		ri->mmap_areas[0].offset = 0;
		ri->mmap_areas[0].size = info.size;
	}
	ri->flags |= FACET_CORE_REGION_MMAP;
	vp->regions[index].fd = rep->fds[0];
	vp->regions[index].fd_offset = info.offset;
	rep->fds[0] = -1;
	return 0;
}

static int vu_region_query(struct facet_core_dev *dev, unsigned int index, uint32_t argsz,
			   struct facet_vfu_msg *rep)
{
	struct facet_vfu_region_info info = { .argsz = argsz, .index = index };
	struct facet_vfu_req req = {
		.cmd = FACET_VFU_CMD_DEVICE_GET_REGION_INFO,
		.args = &info,
		.args_len = sizeof(info),
	};
	int ret = vu_call(dev, &req, rep);

	if (ret) {
		CORE_ERR("%s: GET_REGION_INFO %u failed: %s", dev->info.name, index,
			 strerror(-ret));
		return ret;
	}
	if (rep->len < sizeof(info) || rep->len > argsz || rep->nfds > 1)
		return vu_proto(dev, rep, "GET_REGION_INFO reply of the wrong size");
	memcpy(&info, rep->data, sizeof(info));
	if (info.index != index || info.argsz < sizeof(info))
		return vu_proto(dev, rep, "GET_REGION_INFO reply for another region");
	return 0;
}

static int vu_region_info_load(struct facet_core_dev *dev, unsigned int index)
{
	uint32_t argsz = sizeof(struct facet_vfu_region_info) +
			 sizeof(struct facet_vfu_cap_sparse_mmap) +
			 8 * sizeof(struct facet_vfu_sparse_area);
	struct facet_vfu_region_info info;
	struct facet_vfu_msg rep;
	int ret;

	ret = vu_region_query(dev, index, argsz, &rep);
	if (ret)
		return ret;
	memcpy(&info, rep.data, sizeof(info));
	if (info.argsz > argsz) { /* more capabilities than we guessed: ask again */
		if (info.argsz > VU_MAX_REGION_INFO)
			return vu_proto(dev, &rep, "GET_REGION_INFO asks for a huge buffer");
		argsz = info.argsz;
		facet_vfu_msg_release(&rep);
		ret = vu_region_query(dev, index, argsz, &rep);
		if (ret)
			return ret;
		memcpy(&info, rep.data, sizeof(info));
		if (info.argsz > argsz)
			return vu_proto(dev, &rep, "GET_REGION_INFO size keeps growing");
	}
	ret = vu_region_fill(dev, index, &rep);
	facet_vfu_msg_release(&rep);
	return ret;
}

static int vu_irq_info_load(struct facet_core_dev *dev, unsigned int index)
{
	struct facet_vfu_irq_info info = { .argsz = sizeof(info), .index = index };
	struct facet_vfu_req req = {
		.cmd = FACET_VFU_CMD_DEVICE_GET_IRQ_INFO,
		.args = &info,
		.args_len = sizeof(info),
	};
	struct facet_vfu_msg rep;
	int ret = vu_call(dev, &req, &rep);

	if (ret) {
		CORE_ERR("%s: GET_IRQ_INFO %u failed: %s", dev->info.name, index, strerror(-ret));
		return ret;
	}
	if (rep.len < sizeof(info))
		return vu_proto(dev, &rep, "short GET_IRQ_INFO reply");
	memcpy(&info, rep.data, sizeof(info));
	facet_vfu_msg_release(&rep);
	if (info.index != index)
		return vu_proto(dev, NULL, "GET_IRQ_INFO reply for another index");
	vu_priv(dev)->irq_counts[index] = info.count;
	return 0;
}

static int vu_connect(struct facet_core_dev *dev, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
		CORE_ERR("%s: bad vfio-user socket path", dev->info.name);
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		CORE_ERR("%s: socket: %s", dev->info.name, strerror(err));
		return -err;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	err = errno;
	close(fd);
	CORE_ERR("%s: cannot connect to the vfio-user server: %s", dev->info.name, strerror(err));
	if (err == EACCES || err == EPERM)
		return -err;
	return -ENODEV;
}

static void vu_free(struct vu_priv *vp)
{
	for (unsigned int i = 0; i < FACET_CORE_NUM_REGIONS; i++) {
		if (vp->regions[i].fd >= 0)
			close(vp->regions[i].fd);
	}
	pthread_mutex_destroy(&vp->dma_lock);
	free(vp->dmas);
	free(vp);
}

static int vu_describe(struct facet_core_dev *dev)
{
	int ret = vu_version(dev);

	if (!ret)
		ret = vu_device_info(dev);
	for (unsigned int i = 0; !ret && i < dev->info.num_regions; i++)
		ret = vu_region_info_load(dev, i);
	for (unsigned int i = 0; !ret && i < dev->info.num_irq_types; i++)
		ret = vu_irq_info_load(dev, i);
	return ret;
}

static int vu_open(struct facet_core_dev *dev, const char *spec)
{
	static const struct facet_vfu_conn_ops ops = {
		.command = vu_command,
		.on_close = vu_on_close,
	};
	struct facet_vfu_conn_cfg cfg = { .ops = &ops };
	struct vu_priv *vp;
	int fd, ret;

	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->dev = dev;
	pthread_mutex_init(&vp->dma_lock, NULL);
	for (unsigned int i = 0; i < FACET_CORE_NUM_REGIONS; i++)
		vp->regions[i].fd = -1;
	fd = vu_connect(dev, spec + strlen(VU_PREFIX));
	if (fd < 0) {
		vu_free(vp);
		return fd;
	}
	snprintf(vp->conn_name, sizeof(vp->conn_name), "client %s", spec);
	cfg.name = vp->conn_name;
	cfg.arg = vp;
	cfg.timeout_ms = dev->open_opts.timeout_ms ? dev->open_opts.timeout_ms : VU_TIMEOUT_MS;
	dev->transport_priv = vp;
	ret = facet_vfu_conn_create(fd, &cfg, &vp->conn);
	if (ret == 0)
		ret = vu_describe(dev);
	if (ret) {
		atomic_store(&vp->closing, true);
		facet_vfu_conn_destroy(vp->conn);
		vu_free(vp);
		dev->transport_priv = NULL;
		return ret;
	}
	atomic_store(&vp->opened, true);
	if (facet_vfu_conn_dead(vp->conn)) /* lost between the last reply and now */
		core_mark_dead(dev, "vfio-user server closed the connection");
	CORE_DEBUG("%s: vfio-user device, %u regions, %u irq types, reset %s", dev->info.name,
		   dev->info.num_regions, dev->info.num_irq_types,
		   dev->info.can_reset ? "yes" : "no");
	return 0;
}

static void vu_close(struct facet_core_dev *dev)
{
	struct vu_priv *vp = vu_priv(dev);

	if (!vp)
		return;
	atomic_store(&vp->closing, true);
	facet_vfu_conn_destroy(vp->conn);
	vu_free(vp);
	dev->transport_priv = NULL;
}

static bool vu_handles(const char *spec)
{
	return strncmp(spec, VU_PREFIX, strlen(VU_PREFIX)) == 0;
}

/* ---- regions ---------------------------------------------------------------- */

static int vu_region_info(struct facet_core_dev *dev, unsigned int index,
			  struct facet_core_region_info *info)
{
	if (index >= FACET_CORE_NUM_REGIONS)
		return -EINVAL;
	*info = vu_priv(dev)->rinfo[index];
	return 0;
}

static int vu_rw_one(struct facet_core_dev *dev, unsigned int index, uint64_t offset, void *buf,
		     uint32_t count, bool write)
{
	struct facet_vfu_region_access ra = { .offset = offset, .region = index, .count = count };
	struct facet_vfu_req req = {
		.cmd = write ? FACET_VFU_CMD_REGION_WRITE : FACET_VFU_CMD_REGION_READ,
		.args = &ra,
		.args_len = sizeof(ra),
		.data = write ? buf : NULL,
		.data_len = write ? count : 0,
	};
	struct facet_vfu_region_access got;
	struct facet_vfu_msg rep;
	int ret = vu_call(dev, &req, &rep);

	if (ret) {
		CORE_ERR("%s: %s region %u at %#llx (%u bytes) failed: %s", dev->info.name,
			 write ? "write to" : "read of", index, (unsigned long long)offset, count,
			 strerror(-ret));
		return ret;
	}
	if (rep.len != sizeof(ra) + (write ? 0 : count))
		return vu_proto(dev, &rep, "region access reply of the wrong size");
	memcpy(&got, rep.data, sizeof(got));
	if (got.offset != offset || got.region != index || got.count != count)
		return vu_proto(dev, &rep, "region access reply for another access");
	if (!write)
		memcpy(buf, (char *)rep.data + sizeof(ra), count);
	facet_vfu_msg_release(&rep);
	return 0;
}

static int vu_region_rw(struct facet_core_dev *dev, unsigned int index, uint64_t offset, void *buf,
			size_t len, bool write)
{
	struct vu_priv *vp = vu_priv(dev);
	size_t xfer = vp->server.max_data_xfer_size;
	uint64_t size;
	int ret = vu_alive(dev);

	if (ret)
		return ret;
	if (index >= FACET_CORE_NUM_REGIONS)
		return -EINVAL;
	size = vp->rinfo[index].size;
	if (!len || offset > size || len > size - offset) {
		CORE_ERR("%s: access to region %u at %#llx (+%zu) outside its %#llx bytes",
			 dev->info.name, index, (unsigned long long)offset, len,
			 (unsigned long long)size);
		return -EINVAL;
	}
	if (xfer > FACET_VFU_MAX_DATA_XFER_SIZE)
		xfer = FACET_VFU_MAX_DATA_XFER_SIZE;
	while (len && !ret) {
		size_t n = len < xfer ? len : xfer;

		ret = vu_rw_one(dev, index, offset, buf, (uint32_t)n, write);
		offset += n;
		buf = (char *)buf + n;
		len -= n;
	}
	return ret;
}

static int vu_region_mmap(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
			  size_t len, void **addr)
{
	struct vu_priv *vp = vu_priv(dev);
	const struct facet_core_region_info *ri;
	bool inside = false;
	void *va;

	if (index >= FACET_CORE_NUM_REGIONS)
		return -EINVAL;
	ri = &vp->rinfo[index];
	for (unsigned int i = 0; i < ri->n_mmap_areas; i++) {
		uint64_t a = ri->mmap_areas[i].offset, s = ri->mmap_areas[i].size;

		inside |= offset >= a && offset - a < s && len <= s - (offset - a);
	}
	if (!inside || vp->regions[index].fd < 0) {
		CORE_ERR("%s: region %u [%#llx, +%#zx) is not mappable", dev->info.name, index,
			 (unsigned long long)offset, len);
		return -ENOTSUP;
	}
	va = mmap(*addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | (*addr ? MAP_FIXED : 0),
		  vp->regions[index].fd, (off_t)(vp->regions[index].fd_offset + offset));
	if (va == MAP_FAILED) {
		int err = errno;

		CORE_ERR("%s: mmap of region %u at %#llx failed: %s", dev->info.name, index,
			 (unsigned long long)offset, strerror(err));
		return -err;
	}
	*addr = va;
	return 0;
}

/* ---- interrupts and reset ------------------------------------------------------ */

static int vu_irq_count(struct facet_core_dev *dev, unsigned int type, unsigned int *count)
{
	*count = type < FACET_CORE_IRQ_TYPES ? vu_priv(dev)->irq_counts[type] : 0;
	return 0;
}

static int vu_set_irqs(struct facet_core_dev *dev, uint32_t flags, unsigned int type,
		       unsigned int start, unsigned int count, const int *fds, unsigned int nfds)
{
	struct facet_vfu_irq_set is = {
		.argsz = sizeof(is),
		.flags = flags,
		.index = type,
		.start = start,
		.count = count,
	};
	struct facet_vfu_req req = {
		.cmd = FACET_VFU_CMD_DEVICE_SET_IRQS,
		.args = &is,
		.args_len = sizeof(is),
		.fds = fds,
		.nfds = nfds,
	};
	int ret = vu_call(dev, &req, NULL);

	if (ret)
		CORE_ERR("%s: SET_IRQS type %u [%u, +%u) failed: %s", dev->info.name, type, start,
			 count, strerror(-ret));
	return ret;
}

/*
 * Runs of valid eventfds go in messages of at most the server's max_msg_fds;
 * runs of -1 are sent without fds, which unroutes those vectors.
 */
static int vu_irq_set(struct facet_core_dev *dev, unsigned int type, unsigned int start,
		      unsigned int count, const int *fds)
{
	const uint32_t efd = FACET_VFU_IRQ_SET_DATA_EVENTFD | FACET_VFU_IRQ_SET_ACTION_TRIGGER;
	struct vu_priv *vp = vu_priv(dev);
	unsigned int max_fds = vp->server.max_msg_fds, i = 0;
	int ret = vu_alive(dev);

	if (ret)
		return ret;
	if (type >= FACET_CORE_IRQ_TYPES)
		return -EINVAL;
	if (!fds)
		return vu_set_irqs(dev,
				   FACET_VFU_IRQ_SET_DATA_NONE | FACET_VFU_IRQ_SET_ACTION_TRIGGER,
				   type, 0, 0, NULL, 0);
	if (start > vp->irq_counts[type] || count > vp->irq_counts[type] - start) {
		CORE_ERR("%s: vectors [%u, +%u) of irq type %u, which has %u", dev->info.name,
			 start, count, type, vp->irq_counts[type]);
		return -EINVAL;
	}
	if (max_fds > FACET_VFU_CAP_MAX_MSG_FDS_LIMIT)
		max_fds = FACET_VFU_CAP_MAX_MSG_FDS_LIMIT;
	while (i < count && !ret) {
		bool valid = fds[i] >= 0;
		unsigned int n = 1;

		while (i + n < count && (fds[i + n] >= 0) == valid && (!valid || n < max_fds))
			n++;
		if (valid && !max_fds) {
			CORE_ERR("%s: the server takes no fds: cannot route interrupts",
				 dev->info.name);
			return -ENOTSUP;
		}
		ret = vu_set_irqs(dev, efd, type, start + i, n, valid ? fds + i : NULL,
				  valid ? n : 0);
		i += n;
	}
	return ret;
}

static int vu_reset(struct facet_core_dev *dev)
{
	struct facet_vfu_req req = { .cmd = FACET_VFU_CMD_DEVICE_RESET };
	int ret = vu_alive(dev);

	if (ret)
		return ret;
	ret = vu_call(dev, &req, NULL);
	if (ret)
		CORE_ERR("%s: DEVICE_RESET failed: %s", dev->info.name, strerror(-ret));
	return ret;
}

/* ---- DMA ---------------------------------------------------------------------- */

static int vu_dma_table_add(struct vu_priv *vp, const struct vu_dma *m)
{
	int ret = 0;

	pthread_mutex_lock(&vp->dma_lock);
	if (vp->n_dmas >= vp->server.max_dma_maps) {
		ret = -ENOSPC;
	} else if (vp->n_dmas == vp->cap_dmas) {
		unsigned int cap = vp->cap_dmas ? vp->cap_dmas * 2 : 16;
		struct vu_dma *d = realloc(vp->dmas, cap * sizeof(*d));

		if (d) {
			vp->dmas = d;
			vp->cap_dmas = cap;
		} else {
			ret = -ENOMEM;
		}
	}
	if (!ret)
		vp->dmas[vp->n_dmas++] = *m;
	pthread_mutex_unlock(&vp->dma_lock);
	return ret;
}

/* Drop the entry; once this returns, no DMA message touches the memory. */
static bool vu_dma_table_del(struct vu_priv *vp, uint64_t iova, uint64_t len)
{
	bool found = false;

	pthread_mutex_lock(&vp->dma_lock);
	for (unsigned int i = 0; i < vp->n_dmas; i++) {
		if (vp->dmas[i].iova == iova && vp->dmas[i].len == len) {
			vp->dmas[i] = vp->dmas[--vp->n_dmas];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&vp->dma_lock);
	return found;
}

static int vu_dma_map(struct facet_core_dev *dev, uint64_t iova, void *va, size_t len, int fd,
		      uint64_t offset, uint32_t access)
{
	struct vu_priv *vp = vu_priv(dev);
	uint64_t pg = vp->server.pgsizes & -vp->server.pgsizes;
	struct facet_vfu_dma_map dm = {
		.argsz = sizeof(dm),
		.flags = (access & FACET_CORE_DMA_READ ? FACET_VFU_DMA_F_READ : 0) |
			 (access & FACET_CORE_DMA_WRITE ? FACET_VFU_DMA_F_WRITE : 0),
		.offset = fd >= 0 ? offset : 0,
		.addr = iova,
		.size = len,
	};
	struct facet_vfu_req req = {
		.cmd = FACET_VFU_CMD_DMA_MAP,
		.args = &dm,
		.args_len = sizeof(dm),
		.fds = &fd,
		.nfds = fd >= 0,
	};
	struct vu_dma m = { .iova = iova, .len = len, .va = va, .access = access };
	int ret = vu_alive(dev);

	if (ret)
		return ret;
	if (!va || !len || iova % pg || len % pg) {
		CORE_ERR("%s: DMA map [%#llx, +%#zx) not aligned to the server's %#llx pages",
			 dev->info.name, (unsigned long long)iova, len, (unsigned long long)pg);
		return -EINVAL;
	}
	ret = vu_dma_table_add(vp, &m);
	if (ret) {
		CORE_ERR("%s: DMA map [%#llx, +%#zx): %s", dev->info.name, (unsigned long long)iova,
			 len, ret == -ENOSPC ? "the server's map limit is reached" : "no memory");
		return ret;
	}
	ret = vu_call(dev, &req, NULL);
	if (ret) {
		CORE_ERR("%s: DMA_MAP [%#llx, +%#zx) failed: %s", dev->info.name,
			 (unsigned long long)iova, len, strerror(-ret));
		vu_dma_table_del(vp, iova, len);
	}
	return ret;
}

static int vu_dma_unmap(struct facet_core_dev *dev, uint64_t iova, size_t len)
{
	struct facet_vfu_dma_unmap du = { .argsz = sizeof(du), .addr = iova, .size = len };
	struct facet_vfu_req req = {
		.cmd = FACET_VFU_CMD_DMA_UNMAP,
		.args = &du,
		.args_len = sizeof(du),
	};
	struct facet_vfu_msg rep;
	int ret;

	/* Our side first: from now on DMA messages for it are refused. */
	vu_dma_table_del(vu_priv(dev), iova, len);
	ret = vu_alive(dev);
	if (ret)
		return ret;
	ret = vu_call(dev, &req, &rep);
	if (ret) {
		CORE_ERR("%s: DMA_UNMAP [%#llx, +%#zx) failed: %s", dev->info.name,
			 (unsigned long long)iova, len, strerror(-ret));
		return ret;
	}
	if (rep.len && rep.len != sizeof(du))
		return vu_proto(dev, &rep, "DMA_UNMAP reply of the wrong size");
	facet_vfu_msg_release(&rep);
	return 0;
}

/* ---- ioeventfds (DEVICE_GET_REGION_IO_FDS) ------------------------------ */

#define VU_IOFD_GUESS 8u /* sub-regions the first query has room for */
#define VU_IOFD_MAX   4096u

static int vu_iofd_query(struct facet_core_dev *dev, unsigned int index, uint32_t argsz,
			 struct facet_vfu_msg *rep, struct facet_vfu_region_io_fds *hdr)
{
	struct facet_vfu_region_io_fds q = { .argsz = argsz, .index = index };
	struct facet_vfu_req req = {
		.cmd = FACET_VFU_CMD_DEVICE_GET_REGION_IO_FDS,
		.args = &q,
		.args_len = sizeof(q),
	};
	int ret = vu_call(dev, &req, rep);

	if (ret) {
		/* An older server does not know the command: no ioeventfds. */
		if (ret == -ENOTSUP || ret == -ENOSYS)
			return -ENOENT;
		CORE_ERR("%s: GET_REGION_IO_FDS %u failed: %s", dev->info.name, index,
			 strerror(-ret));
		return ret;
	}
	if (rep->len < sizeof(*hdr) || rep->len > argsz)
		return vu_proto(dev, rep, "GET_REGION_IO_FDS reply of the wrong size");
	memcpy(hdr, rep->data, sizeof(*hdr));
	if (hdr->index != index || hdr->count > VU_IOFD_MAX ||
	    hdr->argsz < sizeof(*hdr) + (uint64_t)hdr->count *
						sizeof(struct facet_vfu_sub_region_ioeventfd))
		return vu_proto(dev, rep, "GET_REGION_IO_FDS reply does not add up");
	return 0;
}

/* Ask, and ask again with the size the server said it needs. */
static int vu_iofd_load(struct facet_core_dev *dev, unsigned int index, struct facet_vfu_msg *rep,
			struct facet_vfu_region_io_fds *hdr)
{
	uint32_t argsz =
		sizeof(*hdr) + VU_IOFD_GUESS * sizeof(struct facet_vfu_sub_region_ioeventfd);
	int ret = vu_iofd_query(dev, index, argsz, rep, hdr);

	if (ret || hdr->argsz <= argsz)
		return ret;
	argsz = hdr->argsz;
	facet_vfu_msg_release(rep);
	ret = vu_iofd_query(dev, index, argsz, rep, hdr);
	if (ret == 0 && hdr->argsz > argsz)
		return vu_proto(dev, rep, "GET_REGION_IO_FDS size keeps growing");
	return ret;
}

/*
 * The sub-regions sit at a fixed stride of (argsz - header) / count; the spec
 * allows the entry to grow, so the stride is not assumed to be 40.
 */
static int vu_iofd_pick(const struct facet_vfu_msg *rep, const struct facet_vfu_region_io_fds *hdr,
			uint64_t offset, uint32_t size)
{
	size_t stride;

	if (!hdr->count || rep->len < hdr->argsz)
		return -ENOENT;
	stride = (hdr->argsz - sizeof(*hdr)) / hdr->count;
	for (uint32_t i = 0; i < hdr->count; i++) {
		struct facet_vfu_sub_region_ioeventfd sr;

		memcpy(&sr, (const uint8_t *)rep->data + sizeof(*hdr) + i * stride, sizeof(sr));
		if (sr.type == FACET_VFU_IO_FD_TYPE_IOEVENTFD && sr.offset == offset &&
		    (sr.size == size || sr.size == 0) &&
		    !(sr.flags & FACET_VFU_IOEVENTFD_F_DATAMATCH) && sr.fd_index < rep->nfds)
			return (int)sr.fd_index;
	}
	return -ENOENT;
}

static int vu_region_ioeventfd(struct facet_core_dev *dev, unsigned int index, uint64_t offset,
			       uint32_t size, int *fd)
{
	struct facet_vfu_region_io_fds hdr;
	struct facet_vfu_msg rep;
	int ret, i;

	if (!vu_priv(dev)->rinfo[index].size)
		return -EINVAL;
	ret = vu_iofd_load(dev, index, &rep, &hdr);
	if (ret)
		return ret;
	i = vu_iofd_pick(&rep, &hdr, offset, size);
	if (i >= 0) {
		*fd = rep.fds[i];
		rep.fds[i] = -1; /* ours now; the rest are closed with the reply */
	}
	facet_vfu_msg_release(&rep);
	return i < 0 ? i : 0;
}

const struct core_transport core_vfio_user_transport = {
	.name = "vfio-user",
	.handles = vu_handles,
	.open = vu_open,
	.close = vu_close,
	.region_info = vu_region_info,
	.region_rw = vu_region_rw,
	.region_mmap = vu_region_mmap,
	.region_ioeventfd = vu_region_ioeventfd,
	.irq_count = vu_irq_count,
	.irq_set = vu_irq_set,
	.reset = vu_reset,
	.dma_map = vu_dma_map,
	.dma_unmap = vu_dma_unmap,
};
