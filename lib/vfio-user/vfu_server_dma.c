/* SPDX-License-Identifier: MIT */
/*
 * The server's view of client memory (DMA_MAP/UNMAP, translation, copies by
 * mmap or by DMA_READ/WRITE messages) and of interrupts (SET_IRQS, raise).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfu_server_private.h"

/* ---- the map table ---------------------------------------------------------- */

/* Index of the last map starting at or below @iova, or -1. Caller holds dma_lock. */
static int vfu_dma_floor(const struct facet_vfu_server *srv, uint64_t iova)
{
	int lo = 0, hi = (int)srv->n_dmas - 1, found = -1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (srv->dmas[mid].iova <= iova) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

static struct vfu_dma *vfu_dma_find(struct facet_vfu_server *srv, uint64_t iova)
{
	int i = vfu_dma_floor(srv, iova);

	if (i < 0 || iova - srv->dmas[i].iova >= srv->dmas[i].len)
		return NULL;
	return &srv->dmas[i];
}

/* Insert @m unless it overlaps a map. Caller holds dma_lock for writing. */
static int vfu_dma_insert(struct facet_vfu_server *srv, const struct vfu_dma *m)
{
	int i = vfu_dma_floor(srv, m->iova);
	unsigned int pos = (unsigned int)(i + 1);

	if (i >= 0 && m->iova - srv->dmas[i].iova < srv->dmas[i].len)
		return -EEXIST;
	if (pos < srv->n_dmas && srv->dmas[pos].iova - m->iova < m->len)
		return -EEXIST;
	if (srv->n_dmas >= VFU_SERVER_MAX_DMA_MAPS)
		return -ENOSPC;
	memmove(&srv->dmas[pos + 1], &srv->dmas[pos], (srv->n_dmas - pos) * sizeof(*m));
	srv->dmas[pos] = *m;
	srv->n_dmas++;
	srv->dma_gen++;
	return 0;
}

/* mmap the client's fd, refusing ranges beyond its end (a later access would SIGBUS). */
static int vfu_dma_mmap(struct facet_vfu_server *srv, int fd, const struct facet_vfu_dma_map *dm,
			void **va)
{
	int prot = (dm->flags & FACET_VFU_DMA_F_READ ? PROT_READ : 0) |
		   (dm->flags & FACET_VFU_DMA_F_WRITE ? PROT_WRITE : 0);
	struct stat st;

	if (fstat(fd, &st)) {
		VFU_ERR("server %s: DMA_MAP fd: %s", srv->name, strerror(errno));
		return -EINVAL;
	}
	if (S_ISREG(st.st_mode) &&
	    (dm->offset > (uint64_t)st.st_size || dm->size > (uint64_t)st.st_size - dm->offset)) {
		VFU_ERR("server %s: DMA_MAP [%#llx, +%#llx) of fd offset %#llx beyond its size "
			"%#llx",
			srv->name, (unsigned long long)dm->addr, (unsigned long long)dm->size,
			(unsigned long long)dm->offset, (unsigned long long)st.st_size);
		return -EINVAL;
	}
	*va = mmap(NULL, dm->size, prot, MAP_SHARED, fd, (off_t)dm->offset);
	if (*va == MAP_FAILED) {
		int err = errno;

		VFU_ERR("server %s: cannot mmap DMA region [%#llx, +%#llx): %s", srv->name,
			(unsigned long long)dm->addr, (unsigned long long)dm->size, strerror(err));
		*va = NULL;
		return -err;
	}
	return 0;
}

static int vfu_dma_map_check(struct facet_vfu_server *srv, const struct facet_vfu_msg *msg,
			     const struct facet_vfu_dma_map *dm)
{
	const uint32_t known = FACET_VFU_DMA_F_READ | FACET_VFU_DMA_F_WRITE;

	if (dm->argsz < sizeof(*dm) || (dm->flags & ~known) || !(dm->flags & known) || !dm->size ||
	    dm->addr + dm->size < dm->addr || dm->addr % VFU_PAGE_SIZE ||
	    dm->size % VFU_PAGE_SIZE || dm->size > SIZE_MAX || msg->nfds > 1 ||
	    (msg->nfds && (dm->offset % VFU_PAGE_SIZE || dm->offset > (uint64_t)LLONG_MAX))) {
		VFU_ERR("server %s: bad DMA_MAP: argsz %u flags %#x addr %#llx size %#llx offset "
			"%#llx fds %u",
			srv->name, dm->argsz, dm->flags, (unsigned long long)dm->addr,
			(unsigned long long)dm->size, (unsigned long long)dm->offset, msg->nfds);
		return -EINVAL;
	}
	return 0;
}

int vfu_cmd_dma_map(struct facet_vfu_server *srv, struct facet_vfu_msg *msg)
{
	const struct facet_vfu_device_ops *ops = srv->desc.ops;
	struct facet_vfu_dma_map dm;
	struct vfu_dma m = { 0 };
	int ret;

	if (msg->len < sizeof(dm)) {
		VFU_ERR("server %s: DMA_MAP payload of %zu bytes", srv->name, msg->len);
		return -EINVAL;
	}
	memcpy(&dm, msg->data, sizeof(dm));
	ret = vfu_dma_map_check(srv, msg, &dm);
	if (ret)
		return ret;
	m.iova = dm.addr;
	m.len = dm.size;
	m.prot = (dm.flags & FACET_VFU_DMA_F_READ ? FACET_VFU_DMA_READ : 0) |
		 (dm.flags & FACET_VFU_DMA_F_WRITE ? FACET_VFU_DMA_WRITE : 0);
	if (msg->nfds) {
		ret = vfu_dma_mmap(srv, msg->fds[0], &dm, &m.va);
		if (ret)
			return ret;
	}
	pthread_rwlock_wrlock(&srv->dma_lock);
	ret = vfu_dma_insert(srv, &m);
	pthread_rwlock_unlock(&srv->dma_lock);
	if (ret) {
		VFU_ERR("server %s: DMA_MAP [%#llx, +%#llx): %s", srv->name,
			(unsigned long long)m.iova, (unsigned long long)m.len,
			ret == -EEXIST ? "overlaps an existing map" : "too many maps");
		if (m.va)
			munmap(m.va, m.len);
		return ret;
	}
	VFU_DEBUG("server %s: DMA map [%#llx, +%#llx)%s", srv->name, (unsigned long long)m.iova,
		  (unsigned long long)m.len, m.va ? "" : " without fd");
	if (ops && ops->dma_added)
		ops->dma_added(srv->desc.dev, m.iova, m.len);
	return 0;
}

/* Drop every map: the device hears dma_removing for each first. Server thread only. */
static void vfu_drop_dmas(struct facet_vfu_server *srv)
{
	const struct facet_vfu_device_ops *ops = srv->desc.ops;

	/* Only this thread changes the table: reading it unlocked here is safe. */
	for (unsigned int i = 0; ops && ops->dma_removing && i < srv->n_dmas; i++)
		ops->dma_removing(srv->desc.dev, srv->dmas[i].iova, srv->dmas[i].len);
	pthread_rwlock_wrlock(&srv->dma_lock);
	for (unsigned int i = 0; i < srv->n_dmas; i++) {
		if (srv->dmas[i].va)
			munmap(srv->dmas[i].va, srv->dmas[i].len);
	}
	srv->n_dmas = 0;
	srv->dma_gen++;
	pthread_rwlock_unlock(&srv->dma_lock);
}

/* The reply repeats the request. */
static int vfu_unmap_reply(struct facet_vfu_reply *rep, const struct facet_vfu_dma_unmap *du)
{
	rep->data = malloc(sizeof(*du));
	if (!rep->data)
		return 0; /* unmapped all the same; an empty reply is still an answer */
	memcpy(rep->data, du, sizeof(*du));
	rep->len = sizeof(*du);
	return 0;
}

int vfu_cmd_dma_unmap(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
		      struct facet_vfu_reply *rep)
{
	const struct facet_vfu_device_ops *ops = srv->desc.ops;
	struct facet_vfu_dma_unmap du;
	struct vfu_dma *m, gone;
	int i;

	if (msg->len < sizeof(du)) {
		VFU_ERR("server %s: DMA_UNMAP payload of %zu bytes", srv->name, msg->len);
		return -EINVAL;
	}
	memcpy(&du, msg->data, sizeof(du));
	if (du.argsz >= sizeof(du) && du.flags == FACET_VFU_DMA_UNMAP_F_ALL && !du.addr &&
	    !du.size) {
		vfu_drop_dmas(srv);
		return vfu_unmap_reply(rep, &du);
	}
	if (du.argsz < sizeof(du) || du.flags) {
		VFU_ERR("server %s: DMA_UNMAP with argsz %u, flags %#x", srv->name, du.argsz,
			du.flags);
		return -EINVAL;
	}
	/* Only the server thread changes the table, so the lookup stays valid. */
	pthread_rwlock_rdlock(&srv->dma_lock);
	m = vfu_dma_find(srv, du.addr);
	gone = m ? *m : (struct vfu_dma){ 0 };
	pthread_rwlock_unlock(&srv->dma_lock);
	if (!m || gone.iova != du.addr || gone.len != du.size) {
		VFU_ERR("server %s: DMA_UNMAP [%#llx, +%#llx) matches no map%s", srv->name,
			(unsigned long long)du.addr, (unsigned long long)du.size,
			m ? " exactly" : "");
		return m ? -EINVAL : -ENOENT;
	}
	if (ops && ops->dma_removing)
		ops->dma_removing(srv->desc.dev, gone.iova, gone.len);
	/* The write side waits out every reader: no access is in flight after this. */
	pthread_rwlock_wrlock(&srv->dma_lock);
	i = vfu_dma_floor(srv, gone.iova);
	memmove(&srv->dmas[i], &srv->dmas[i + 1],
		(srv->n_dmas - (unsigned int)i - 1) * sizeof(gone));
	srv->n_dmas--;
	srv->dma_gen++;
	pthread_rwlock_unlock(&srv->dma_lock);
	if (gone.va)
		munmap(gone.va, gone.len);
	VFU_DEBUG("server %s: DMA unmap [%#llx, +%#llx)", srv->name, (unsigned long long)gone.iova,
		  (unsigned long long)gone.len);
	return vfu_unmap_reply(rep, &du);
}

/* ---- the device's DMA API ------------------------------------------------- */

void facet_vfu_server_dma_lock(struct facet_vfu_server *srv)
{
	pthread_rwlock_rdlock(&srv->dma_lock);
}

void facet_vfu_server_dma_unlock(struct facet_vfu_server *srv)
{
	pthread_rwlock_unlock(&srv->dma_lock);
}

unsigned int facet_vfu_server_dma_count(struct facet_vfu_server *srv)
{
	unsigned int n;

	pthread_rwlock_rdlock(&srv->dma_lock);
	n = srv->n_dmas;
	pthread_rwlock_unlock(&srv->dma_lock);
	return n;
}

int facet_vfu_server_dma_translate(struct facet_vfu_server *srv, uint64_t iova, size_t len,
				   uint32_t prot, void **va)
{
	struct vfu_dma *m = vfu_dma_find(srv, iova);

	if (!m || len > m->len - (iova - m->iova))
		return -EFAULT;
	if ((prot & m->prot) != prot)
		return -EACCES;
	if (!m->va)
		return -ENOTSUP;
	*va = (char *)m->va + (iova - m->iova);
	return 0;
}

uint64_t facet_vfu_server_dma_gen(struct facet_vfu_server *srv)
{
	return srv->dma_gen;
}

int facet_vfu_server_dma_window(struct facet_vfu_server *srv, uint64_t iova,
				struct facet_vfu_dma_window *w)
{
	const struct vfu_dma *m = vfu_dma_find(srv, iova);

	if (!m)
		return -EFAULT;
	*w = (struct facet_vfu_dma_window){ .iova = m->iova, .len = m->len, .prot = m->prot,
					    .va = m->va };
	return 0;
}

/* One DMA_READ/WRITE exchange with the client; @len within its max_data_xfer_size. */
static int vfu_dma_msg_one(struct facet_vfu_server *srv, struct facet_vfu_conn *conn, uint64_t iova,
			   void *buf, size_t len, bool write)
{
	struct facet_vfu_dma_access da = { .addr = iova, .count = len };
	struct facet_vfu_req req = {
		.cmd = write ? FACET_VFU_CMD_DMA_WRITE : FACET_VFU_CMD_DMA_READ,
		.args = &da,
		.args_len = sizeof(da),
		.data = write ? buf : NULL,
		.data_len = write ? len : 0,
	};
	struct facet_vfu_msg rep;
	struct facet_vfu_dma_access ra = { 0 };
	size_t want = write ? FACET_VFU_DMA_WRITE_REPLY_MIN : sizeof(da) + len;
	int ret;

	ret = facet_vfu_conn_call(conn, &req, &rep);
	if (ret) {
		VFU_ERR("server %s: %s [%#llx, +%#zx) failed: %s", srv->name,
			facet_vfu_cmd_name(req.cmd), (unsigned long long)iova, len, strerror(-ret));
		return ret;
	}
	if (rep.len >= FACET_VFU_DMA_WRITE_REPLY_MIN)
		memcpy(&ra, rep.data, rep.len < sizeof(ra) ? rep.len : sizeof(ra));
	if (rep.len < want || ra.addr != iova || (!write && (ra.count != len || rep.len != want))) {
		VFU_ERR("server %s: malformed %s reply (%zu bytes)", srv->name,
			facet_vfu_cmd_name(req.cmd), rep.len);
		ret = -EIO;
	} else if (!write) {
		memcpy(buf, (char *)rep.data + sizeof(da), len);
	}
	facet_vfu_msg_release(&rep);
	return ret;
}

static int vfu_dma_msg(struct facet_vfu_server *srv, uint64_t iova, void *buf, size_t len,
		       bool write)
{
	struct facet_vfu_conn *conn;
	size_t xfer;
	int ret = 0;

	pthread_mutex_lock(&srv->lock);
	conn = srv->conn;
	if (conn)
		facet_vfu_conn_get(conn);
	xfer = srv->client_caps.max_data_xfer_size;
	pthread_mutex_unlock(&srv->lock);
	if (!conn) {
		VFU_ERR("server %s: DMA by message without a client", srv->name);
		return -ENODEV;
	}
	if (xfer > FACET_VFU_MAX_DATA_XFER_SIZE)
		xfer = FACET_VFU_MAX_DATA_XFER_SIZE;
	while (len && !ret) {
		size_t chunk = len < xfer ? len : xfer;

		ret = vfu_dma_msg_one(srv, conn, iova, buf, chunk, write);
		iova += chunk;
		buf = (char *)buf + chunk;
		len -= chunk;
	}
	facet_vfu_conn_put(conn);
	return ret;
}

/* One piece of a copy, within one map: by memcpy, or by message without the lock. */
static int vfu_dma_piece(struct facet_vfu_server *srv, uint64_t iova, void *buf, size_t len,
			 bool write, size_t *done)
{
	uint32_t prot = write ? FACET_VFU_DMA_WRITE : FACET_VFU_DMA_READ;
	struct vfu_dma *m;
	void *va = NULL;

	pthread_rwlock_rdlock(&srv->dma_lock);
	m = vfu_dma_find(srv, iova);
	if (!m || !(m->prot & prot)) {
		pthread_rwlock_unlock(&srv->dma_lock);
		VFU_ERR("server %s: DMA %s at %#llx: %s", srv->name, write ? "write" : "read",
			(unsigned long long)iova, m ? "not permitted" : "not mapped");
		return m ? -EACCES : -EFAULT;
	}
	if (len > m->len - (iova - m->iova))
		len = m->len - (iova - m->iova);
	if (m->va) {
		va = (char *)m->va + (iova - m->iova);
		if (write)
			memcpy(va, buf, len);
		else
			memcpy(buf, va, len);
	}
	pthread_rwlock_unlock(&srv->dma_lock);
	*done = len;
	/*
	 * Without the lock: the reply needs the receiver thread, and DMA_UNMAP
	 * must not wait for it. The client refuses ranges it already unmapped.
	 */
	return va ? 0 : vfu_dma_msg(srv, iova, buf, len, write);
}

static int vfu_dma_copy(struct facet_vfu_server *srv, uint64_t iova, void *buf, size_t len,
			bool write)
{
	if (iova + len < iova) {
		VFU_ERR("server %s: DMA range %#llx + %#zx wraps", srv->name,
			(unsigned long long)iova, len);
		return -EFAULT;
	}
	while (len) {
		size_t done = 0;
		int ret = vfu_dma_piece(srv, iova, buf, len, write, &done);

		if (ret)
			return ret;
		iova += done;
		buf = (char *)buf + done;
		len -= done;
	}
	return 0;
}

int facet_vfu_server_dma_read(struct facet_vfu_server *srv, uint64_t iova, void *buf, size_t len)
{
	return vfu_dma_copy(srv, iova, buf, len, false);
}

int facet_vfu_server_dma_write(struct facet_vfu_server *srv, uint64_t iova, const void *buf,
			       size_t len)
{
	return vfu_dma_copy(srv, iova, (void *)buf, len, true);
}

/* ---- interrupts --------------------------------------------------------------- */

/* Only eventfds: writing anything else (a pipe) could block the device. */
static bool vfu_is_eventfd(int fd)
{
	char path[32], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

static int vfu_irq_signal(int fd)
{
	uint64_t one = 1;

	if (fd < 0)
		return -ENOENT;
	return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

static void vfu_irq_clear(struct facet_vfu_server *srv, unsigned int index, unsigned int start,
			  unsigned int count)
{
	for (unsigned int v = start; v < start + count; v++) {
		if (srv->irq_fds[index][v] >= 0)
			close(srv->irq_fds[index][v]);
		srv->irq_fds[index][v] = -1;
	}
}

static int vfu_irq_set_eventfds(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
				const struct facet_vfu_irq_set *is)
{
	if (msg->nfds && msg->nfds != is->count) {
		VFU_ERR("server %s: SET_IRQS for %u vectors carried %u fds", srv->name, is->count,
			msg->nfds);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < msg->nfds; i++) {
		if (!vfu_is_eventfd(msg->fds[i])) {
			VFU_ERR("server %s: SET_IRQS fd %u is not an eventfd", srv->name, i);
			return -EINVAL;
		}
	}
	pthread_mutex_lock(&srv->irq_lock);
	vfu_irq_clear(srv, is->index, is->start, is->count);
	for (unsigned int i = 0; i < msg->nfds; i++) {
		srv->irq_fds[is->index][is->start + i] = msg->fds[i];
		msg->fds[i] = -1; /* ours now */
	}
	pthread_mutex_unlock(&srv->irq_lock);
	return 0;
}

/* DATA_NONE / DATA_BOOL with TRIGGER: the client fires the interrupts itself. */
static int vfu_irq_trigger(struct facet_vfu_server *srv, const struct facet_vfu_msg *msg,
			   const struct facet_vfu_irq_set *is)
{
	const uint8_t *bools = (const uint8_t *)msg->data + sizeof(*is);

	pthread_mutex_lock(&srv->irq_lock);
	for (unsigned int i = 0; i < is->count; i++) {
		if ((is->flags & FACET_VFU_IRQ_SET_DATA_BOOL) && !bools[i])
			continue;
		vfu_irq_signal(srv->irq_fds[is->index][is->start + i]);
	}
	pthread_mutex_unlock(&srv->irq_lock);
	return 0;
}

static int vfu_irq_set_check(struct facet_vfu_server *srv, const struct facet_vfu_msg *msg,
			     const struct facet_vfu_irq_set *is)
{
	uint32_t data = is->flags & FACET_VFU_IRQ_SET_DATA_MASK;
	uint32_t action = is->flags & FACET_VFU_IRQ_SET_ACTION_MASK_ALL;
	unsigned int n = is->index < FACET_VFU_PCI_NUM_IRQS ? srv->desc.irq_counts[is->index] : 0;

	if (is->argsz < sizeof(*is) || is->index >= FACET_VFU_PCI_NUM_IRQS ||
	    (is->flags & ~(FACET_VFU_IRQ_SET_DATA_MASK | FACET_VFU_IRQ_SET_ACTION_MASK_ALL)) ||
	    __builtin_popcount(data) != 1 || __builtin_popcount(action) != 1) {
		VFU_ERR("server %s: SET_IRQS with argsz %u, index %u, flags %#x", srv->name,
			is->argsz, is->index, is->flags);
		return -EINVAL;
	}
	if (!is->count || is->start >= n || is->count > n - is->start) {
		VFU_ERR("server %s: SET_IRQS vectors [%u, +%u) outside the %u of index %u",
			srv->name, is->start, is->count, n, is->index);
		return -EINVAL;
	}
	if (data == FACET_VFU_IRQ_SET_DATA_BOOL && msg->len < sizeof(*is) + is->count) {
		VFU_ERR("server %s: SET_IRQS with %u bools in %zu bytes", srv->name, is->count,
			msg->len);
		return -EINVAL;
	}
	if (data != FACET_VFU_IRQ_SET_DATA_EVENTFD && msg->nfds) {
		VFU_ERR("server %s: SET_IRQS carried fds without DATA_EVENTFD", srv->name);
		return -EINVAL;
	}
	return 0;
}

int vfu_cmd_set_irqs(struct facet_vfu_server *srv, struct facet_vfu_msg *msg)
{
	const struct facet_vfu_device_ops *ops = srv->desc.ops;
	struct facet_vfu_irq_set is;
	uint32_t action;
	int ret;

	if (msg->len < sizeof(is)) {
		VFU_ERR("server %s: SET_IRQS payload of %zu bytes", srv->name, msg->len);
		return -EINVAL;
	}
	memcpy(&is, msg->data, sizeof(is));
	action = is.flags & FACET_VFU_IRQ_SET_ACTION_MASK_ALL;
	/* count 0 with DATA_NONE|TRIGGER: disable the whole index. */
	if (is.flags == (FACET_VFU_IRQ_SET_DATA_NONE | FACET_VFU_IRQ_SET_ACTION_TRIGGER) &&
	    !is.count && is.index < FACET_VFU_PCI_NUM_IRQS && !msg->nfds) {
		pthread_mutex_lock(&srv->irq_lock);
		vfu_irq_clear(srv, is.index, 0, srv->desc.irq_counts[is.index]);
		pthread_mutex_unlock(&srv->irq_lock);
		goto changed;
	}
	ret = vfu_irq_set_check(srv, msg, &is);
	if (ret)
		return ret;
	if (action != FACET_VFU_IRQ_SET_ACTION_TRIGGER) {
		/* Masking is not modelled; eventfds for mask events are refused. */
		if (is.flags & FACET_VFU_IRQ_SET_DATA_EVENTFD) {
			VFU_ERR("server %s: SET_IRQS mask/unmask eventfds not supported",
				srv->name);
			return -ENOTSUP;
		}
		return 0;
	}
	if (!(is.flags & FACET_VFU_IRQ_SET_DATA_EVENTFD))
		return vfu_irq_trigger(srv, msg, &is);
	ret = vfu_irq_set_eventfds(srv, msg, &is);
	if (ret)
		return ret;
changed:
	if (ops && ops->irqs_changed)
		ops->irqs_changed(srv->desc.dev, is.index);
	return 0;
}

int facet_vfu_server_irq_raise(struct facet_vfu_server *srv, unsigned int index,
			       unsigned int vector)
{
	int ret;

	if (index >= FACET_VFU_PCI_NUM_IRQS || vector >= srv->desc.irq_counts[index])
		return -EINVAL;
	pthread_mutex_lock(&srv->irq_lock);
	ret = vfu_irq_signal(srv->irq_fds[index][vector]);
	pthread_mutex_unlock(&srv->irq_lock);
	return ret;
}

void vfu_drop_client_state(struct facet_vfu_server *srv)
{
	vfu_drop_dmas(srv);

	pthread_mutex_lock(&srv->irq_lock);
	for (unsigned int i = 0; i < FACET_VFU_PCI_NUM_IRQS; i++)
		vfu_irq_clear(srv, i, 0, srv->desc.irq_counts[i]);
	pthread_mutex_unlock(&srv->irq_lock);
}
