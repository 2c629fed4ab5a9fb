/* SPDX-License-Identifier: MIT */
/* The test device and raw-peer helpers (see tvfu.h). */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tvfu.h"

/* ---- the device ----------------------------------------------------------- */

static uint32_t *reg(struct tdev *t, uint64_t off)
{
	return &t->regs[off / 4];
}

static int tdev_dma_go(struct tdev *t)
{
	uint64_t iova = *reg(t, TREG_DMA_LO) | (uint64_t)*reg(t, TREG_DMA_HI) << 32;
	uint32_t len = *reg(t, TREG_DMA_LEN);
	uint8_t *buf = malloc(len ? len : 1);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = facet_vfu_server_dma_read(t->srv, iova, buf, len);
	for (uint32_t i = 0; !ret && i < len; i++)
		buf[i]++;
	if (!ret)
		ret = facet_vfu_server_dma_write(t->srv, iova, buf, len);
	free(buf);
	return ret;
}

static int tdev_bar0(struct tdev *t, uint64_t off, void *buf, size_t len, bool write)
{
	if (len != 4 || off % 4 || off >= 4096)
		return -EINVAL;
	if (!write) {
		if (off == TREG_STALL) {
			while (atomic_load(&t->stall))
				usleep(1000);
		}
		memcpy(buf, reg(t, off), 4);
		return 0;
	}
	if (off == TREG_ID || off == TREG_DMA_STAT)
		return -EPERM;
	memcpy(reg(t, off), buf, 4);
	if (off == TREG_DMA_GO)
		*reg(t, TREG_DMA_STAT) = (uint32_t)tdev_dma_go(t);
	return 0;
}

static int tdev_access(void *dev, unsigned int index, uint64_t off, void *buf, size_t len,
		       bool write)
{
	struct tdev *t = dev;
	uint8_t *mem;

	switch (index) {
	case FACET_VFU_PCI_CONFIG:
		mem = t->cfg;
		break;
	case 0:
		return tdev_bar0(t, off, buf, len, write);
	case 2:
		mem = t->bar2;
		break;
	case 4:
		mem = t->bar4;
		break;
	default:
		return -EINVAL;
	}
	if (write)
		memcpy(mem + off, buf, len);
	else
		memcpy(buf, mem + off, len);
	return 0;
}

static int tdev_reset(void *dev)
{
	struct tdev *t = dev;

	atomic_fetch_add(&t->resets, 1);
	*reg(t, TREG_SCRATCH) = 0;
	return 0;
}

static void tdev_dma_added(void *dev, uint64_t iova, uint64_t len)
{
	atomic_fetch_add(&((struct tdev *)dev)->dma_added, 1);
}

static void tdev_dma_removing(void *dev, uint64_t iova, uint64_t len)
{
	atomic_fetch_add(&((struct tdev *)dev)->dma_removing, 1);
}

static void tdev_irqs_changed(void *dev, unsigned int index)
{
	atomic_fetch_add(&((struct tdev *)dev)->irqs_changed, 1);
}

static void tdev_connected(void *dev)
{
	atomic_fetch_add(&((struct tdev *)dev)->connected, 1);
}

static void tdev_gone(void *dev)
{
	atomic_fetch_add(&((struct tdev *)dev)->gone, 1);
}

static const struct facet_vfu_device_ops tdev_ops = {
	.reset = tdev_reset,
	.dma_added = tdev_dma_added,
	.dma_removing = tdev_dma_removing,
	.irqs_changed = tdev_irqs_changed,
	.client_connected = tdev_connected,
	.client_gone = tdev_gone,
};

static void tdev_init_cfg(struct tdev *t)
{
	t->cfg[0x00] = TDEV_VENDOR & 0xff;
	t->cfg[0x01] = TDEV_VENDOR >> 8;
	t->cfg[0x02] = TDEV_DEVICE & 0xff;
	t->cfg[0x03] = TDEV_DEVICE >> 8;
	t->cfg[0x08] = 2; /* revision */
	t->cfg[0x0b] = (TDEV_CLASS >> 16) & 0xff;
	t->cfg[0x2c] = TDEV_VENDOR & 0xff;
	t->cfg[0x2d] = TDEV_VENDOR >> 8;
	t->cfg[0x2e] = 0x34;
	t->cfg[0x2f] = 0x12;
}

static void tdev_fill_desc(struct tdev *t, struct facet_vfu_device_desc *d)
{
	struct facet_vfu_region *r;

	memset(d, 0, sizeof(*d));
	d->name = "tdev";
	d->pci_flags_reset = 1;
	d->ops = &tdev_ops;
	d->dev = t;
	for (unsigned int i = 0; i < FACET_VFU_PCI_NUM_REGIONS; i++)
		d->regions[i].fd = -1;
	r = &d->regions[FACET_VFU_PCI_CONFIG];
	r->size = sizeof(t->cfg);
	r->flags = FACET_VFU_REGION_READ | FACET_VFU_REGION_WRITE;
	r->access = tdev_access;
	r = &d->regions[0];
	r->size = TDEV_BAR0_SIZE;
	r->flags = FACET_VFU_REGION_READ | FACET_VFU_REGION_WRITE | FACET_VFU_REGION_MMAP;
	r->fd = t->memfd;
	r->n_mmap_areas = 2;
	r->mmap_areas[0].offset = 0x1000;
	r->mmap_areas[0].size = 0x1000;
	r->mmap_areas[1].offset = 0x2000;
	r->mmap_areas[1].size = 0x2000;
	r->access = tdev_access;
	r = &d->regions[2];
	r->size = TDEV_BAR2_SIZE;
	r->flags = FACET_VFU_REGION_READ | FACET_VFU_REGION_WRITE;
	r->access = tdev_access;
	r = &d->regions[4];
	r->size = TDEV_BAR4_SIZE;
	r->flags = FACET_VFU_REGION_READ | FACET_VFU_REGION_WRITE;
	r->access = tdev_access;
	d->irq_counts[0] = 1;
	d->irq_counts[1] = 1;
	d->irq_counts[2] = TDEV_MSIX;
	d->irq_counts[3] = 1;
	d->irq_counts[4] = 1;
}

int tdev_start(struct tdev *t)
{
	char path[108];

	tvfu_sock_path(path, sizeof(path), "tdev");
	return tdev_start_at(t, path);
}

int tdev_start_at(struct tdev *t, const char *path)
{
	int ret = tdev_prepare_at(t, path);

	return ret ? ret : tdev_serve(t);
}

int tdev_prepare_at(struct tdev *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->memfd = memfd_create("tdev-bar0", MFD_CLOEXEC);
	if (t->memfd < 0 || ftruncate(t->memfd, TDEV_BAR0_SIZE))
		return -errno;
	t->bar0 = mmap(NULL, TDEV_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, t->memfd, 0);
	t->bar4 = calloc(1, TDEV_BAR4_SIZE);
	if (t->bar0 == MAP_FAILED || !t->bar4)
		return -ENOMEM;
	tdev_init_cfg(t);
	t->regs[TREG_ID / 4] = TDEV_ID;
	return 0;
}

int tdev_serve(struct tdev *t)
{
	struct facet_vfu_device_desc d;

	tdev_fill_desc(t, &d);
	return facet_vfu_server_create(t->path, &d, &t->srv);
}

void tdev_stop(struct tdev *t)
{
	facet_vfu_server_destroy(t->srv);
	t->srv = NULL;
	munmap(t->bar0, TDEV_BAR0_SIZE);
	close(t->memfd);
	free(t->bar4);
}

bool tdev_wait_client(struct tdev *t, bool present, unsigned int ms)
{
	for (unsigned int i = 0; i < ms; i++) {
		if (facet_vfu_server_has_client(t->srv) == present)
			return true;
		usleep(1000);
	}
	return facet_vfu_server_has_client(t->srv) == present;
}

const char *tdev_spec(struct tdev *t)
{
	static __thread char spec[128];

	snprintf(spec, sizeof(spec), "vfio-user:%s", t->path);
	return spec;
}

/* ---- helpers ----------------------------------------------------------------- */

void tvfu_sock_path(char *buf, size_t len, const char *tag)
{
	static atomic_int seq;

	snprintf(buf, len, "/tmp/tvfu-%d-%s-%d.sock", (int)getpid(), tag,
		 atomic_fetch_add(&seq, 1));
}

int tvfu_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

int tvfu_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int tvfu_send_raw(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

	return n == (ssize_t)len ? 0 : -EIO;
}

int tvfu_send(int fd, uint16_t msg_id, uint16_t cmd, uint32_t flags, const void *payload,
	      size_t len, const int *fds, unsigned int nfds)
{
	struct facet_vfu_hdr hdr = {
		.msg_id = msg_id,
		.cmd = cmd,
		.size = (uint32_t)(sizeof(hdr) + len),
		.flags = flags,
	};
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)payload, len } };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (nfds) {
		struct cmsghdr *cm;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)(sizeof(hdr) + len) ? 0 : -EIO;
}

static int tvfu_read_full(int fd, void *buf, size_t len, int *fds, unsigned int *nfds,
			  unsigned int ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		union {
			char buf[CMSG_SPACE(sizeof(int) * 16)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n;

		if (poll(&p, 1, (int)ms) <= 0)
			return -ETIMEDOUT;
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			return -ENODEV;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			unsigned int k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (unsigned int i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (fds && nfds && *nfds < 16)
					fds[(*nfds)++] = f;
				else
					close(f);
			}
		}
		got += (size_t)n;
	}
	return 0;
}

int tvfu_recv(int fd, struct facet_vfu_hdr *hdr, void **payload, int *fds, unsigned int *nfds,
	      unsigned int ms)
{
	size_t len;
	int ret;

	*payload = NULL;
	if (nfds)
		*nfds = 0;
	ret = tvfu_read_full(fd, hdr, sizeof(*hdr), fds, nfds, ms);
	if (ret)
		return ret;
	if (hdr->size < sizeof(*hdr) || hdr->size > (8u << 20))
		return -EPROTO;
	len = hdr->size - sizeof(*hdr);
	*payload = malloc(len + 1);
	if (!*payload)
		return -ENOMEM;
	ret = tvfu_read_full(fd, *payload, len, fds, nfds, ms);
	if (ret) {
		free(*payload);
		*payload = NULL;
		return ret;
	}
	return (int)len;
}

int tvfu_rpc(int fd, uint16_t cmd, const void *payload, size_t len, const int *fds,
	     unsigned int nfds, void **reply, size_t *reply_len)
{
	static atomic_int id;
	uint16_t msg_id = (uint16_t)atomic_fetch_add(&id, 1);
	struct facet_vfu_hdr hdr;
	void *rp;
	int n, ret;

	ret = tvfu_send(fd, msg_id, cmd, 0, payload, len, fds, nfds);
	if (ret)
		return ret;
	n = tvfu_recv(fd, &hdr, &rp, NULL, NULL, 3000);
	if (n < 0)
		return n;
	if (hdr.msg_id != msg_id || hdr.cmd != cmd ||
	    (hdr.flags & FACET_VFU_F_TYPE_MASK) != FACET_VFU_F_TYPE_REPLY) {
		free(rp);
		return -EPROTO;
	}
	ret = hdr.flags & FACET_VFU_F_ERROR ? (int)hdr.error : 0;
	if (reply) {
		*reply = rp;
		*reply_len = (size_t)n;
	} else {
		free(rp);
	}
	return ret;
}

int tvfu_handshake(int fd)
{
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":8}}";
	char buf[sizeof(struct facet_vfu_version) + sizeof(json)];
	struct facet_vfu_version v = { FACET_VFU_VERSION_MAJOR, FACET_VFU_VERSION_MINOR };

	memcpy(buf, &v, sizeof(v));
	memcpy(buf + sizeof(v), json, sizeof(json));
	return tvfu_rpc(fd, FACET_VFU_CMD_VERSION, buf, sizeof(buf), NULL, 0, NULL, NULL);
}

bool tvfu_wait_eof(int fd, unsigned int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c[256];

		if (poll(&p, 1, 50) > 0) {
			ssize_t n = recv(fd, c, sizeof(c), MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN))
				return true;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return false;
	}
}
