/* SPDX-License-Identifier: MIT */
/*
 * A raw fake server against the real client (facet_core_open): protocol
 * violations in its replies fail the open with -EPROTO (or the error it
 * claims), never a crash or a hang, and leak no fd. Server-to-client DMA
 * commands are checked against the client's maps.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "facet_core.h"
#include "tvfu.h"

enum fault {
	F_NONE,
	F_CLOSE_AT_ACCEPT,
	F_NO_REPLY,
	F_BAD_JSON,
	F_BAD_MAJOR,
	F_BIG_MINOR,
	F_WRONG_ID,
	F_WRONG_CMD,
	F_OVERSIZED,
	F_SHORT_INFO,
	F_ERROR_REPLY,
	F_SPARSE_OUTSIDE,
	F_CAP_LOOP,
	F_HUGE_ARGSZ,
	F_REGION_SHORT,
	F_NOT_PCI,
};

struct fake {
	char path[108];
	int lfd;
	pthread_t thread;
	enum fault fault;
	int memfd;
	/* results of the probes sent to the client */
	int probe_unknown, probe_read_unmapped, probe_write_bad, probe_read_ok;
	uint64_t probe_iova;
	char probe_data[8];
};

static int reply(int fd, const struct facet_vfu_hdr *cmd, const void *p, size_t len, const int *fds,
		 unsigned int nfds)
{
	return tvfu_send(fd, cmd->msg_id, cmd->cmd, FACET_VFU_F_TYPE_REPLY, p, len, fds, nfds);
}

static int reply_version(struct fake *fk, int fd, const struct facet_vfu_hdr *h)
{
	static const char good[] = "{\"capabilities\":{\"max_msg_fds\":8,\"max_data_xfer_size\":"
				   "65536,\"pgsizes\":4096,\"max_dma_maps\":16}}";
	char buf[256];
	struct facet_vfu_version v = { 0, 1 };
	struct facet_vfu_hdr big = *h;
	const char *json = good;
	size_t jlen = sizeof(good);

	switch (fk->fault) {
	case F_NO_REPLY:
		return 0;
	case F_BAD_JSON:
		json = "{\"capabilities\":{\"max_msg_fds\":\"many\"}}";
		jlen = strlen(json) + 1;
		break;
	case F_BAD_MAJOR:
		v.major = 1;
		break;
	case F_BIG_MINOR:
		v.minor = 9;
		break;
	case F_WRONG_ID:
		big.msg_id++;
		break;
	case F_WRONG_CMD:
		big.cmd = FACET_VFU_CMD_DMA_MAP;
		break;
	case F_OVERSIZED:
		big.size = 0x10000000;
		big.flags = FACET_VFU_F_TYPE_REPLY;
		return tvfu_send_raw(fd, &big, sizeof(big));
	default:
		break;
	}
	memcpy(buf, &v, sizeof(v));
	memcpy(buf + sizeof(v), json, jlen);
	return reply(fd, &big, buf, sizeof(v) + jlen, NULL, 0);
}

static int reply_device_info(struct fake *fk, int fd, const struct facet_vfu_hdr *h)
{
	struct facet_vfu_device_info di = {
		.argsz = sizeof(di),
		.flags = FACET_VFU_DEV_F_PCI,
		.num_regions = 9,
		.num_irqs = 5,
	};

	if (fk->fault == F_SHORT_INFO)
		return reply(fd, h, &di, 8, NULL, 0);
	if (fk->fault == F_NOT_PCI)
		di.flags = 0;
	if (fk->fault == F_ERROR_REPLY)
		return tvfu_send(fd, h->msg_id, h->cmd, FACET_VFU_F_TYPE_REPLY | FACET_VFU_F_ERROR,
				 NULL, 0, NULL, 0);
	return reply(fd, h, &di, sizeof(di), NULL, 0);
}

static int reply_region_info(struct fake *fk, int fd, const struct facet_vfu_hdr *h, const void *p)
{
	struct {
		struct facet_vfu_region_info ri;
		struct facet_vfu_cap_sparse_mmap cap;
		struct facet_vfu_sparse_area area;
	} r;

	memset(&r, 0, sizeof(r));
	memcpy(&r.ri, p, sizeof(r.ri));
	r.ri.flags = 0;
	r.ri.size = 0;
	r.ri.argsz = sizeof(r.ri);
	if (r.ri.index == 7) {
		r.ri.size = 256;
		r.ri.flags = FACET_VFU_REG_F_READ | FACET_VFU_REG_F_WRITE;
	}
	if (r.ri.index == 0 && (fk->fault == F_SPARSE_OUTSIDE || fk->fault == F_CAP_LOOP ||
				fk->fault == F_HUGE_ARGSZ)) {
		r.ri.size = 0x2000;
		r.ri.flags |= FACET_VFU_REG_F_MMAP | FACET_VFU_REG_F_CAPS;
		r.ri.cap_offset = sizeof(r.ri);
		r.ri.argsz = sizeof(r);
		r.cap.hdr.id = FACET_VFU_CAP_SPARSE_MMAP;
		r.cap.hdr.version = 1;
		r.cap.hdr.next = fk->fault == F_CAP_LOOP ? sizeof(r.ri) : 0;
		r.cap.nr_areas = 1;
		r.area.offset = 0x1000;
		r.area.size = fk->fault == F_SPARSE_OUTSIDE ? 0x2000 : 0x1000;
		if (fk->fault == F_HUGE_ARGSZ) {
			r.ri.argsz = 1u << 30;
			return reply(fd, h, &r, sizeof(r.ri), NULL, 0);
		}
		return reply(fd, h, &r, sizeof(r), &fk->memfd, 1);
	}
	return reply(fd, h, &r, sizeof(r.ri), NULL, 0);
}

/* DMA commands to the client while it waits for our reply. */
static void probe_client(struct fake *fk, int fd)
{
	struct facet_vfu_dma_access da = { .addr = 0xdead0000, .count = 8 };
	char wr[sizeof(da) + 4];
	size_t len;
	void *p;

	fk->probe_unknown = tvfu_rpc(fd, 99, NULL, 0, NULL, 0, NULL, NULL);
	fk->probe_read_unmapped =
		tvfu_rpc(fd, FACET_VFU_CMD_DMA_READ, &da, sizeof(da), NULL, 0, NULL, NULL);
	da.addr = fk->probe_iova;
	memcpy(wr, &da, sizeof(da)); /* count 8, only 4 bytes of data */
	fk->probe_write_bad =
		tvfu_rpc(fd, FACET_VFU_CMD_DMA_WRITE, wr, sizeof(wr), NULL, 0, NULL, NULL);
	fk->probe_read_ok =
		tvfu_rpc(fd, FACET_VFU_CMD_DMA_READ, &da, sizeof(da), NULL, 0, &p, &len);
	if (fk->probe_read_ok == 0) {
		if (len == sizeof(da) + 8)
			memcpy(fk->probe_data, (char *)p + sizeof(da), 8);
		free(p);
	}
}

static int reply_region_read(struct fake *fk, int fd, const struct facet_vfu_hdr *h, const void *p,
			     size_t len)
{
	struct facet_vfu_region_access ra;
	uint8_t buf[sizeof(ra) + 256] = { 0 };
	struct facet_vfu_hdr wrong = *h;

	if (len < sizeof(ra))
		return -1;
	memcpy(&ra, p, sizeof(ra));
	if (ra.count > 256)
		return -1;
	memcpy(buf, &ra, sizeof(ra));
	if (ra.offset == 0) {
		buf[sizeof(ra)] = 0xc3;
		buf[sizeof(ra) + 1] = 0xfa;
	}
	if (ra.offset == 0x40)
		probe_client(fk, fd); /* probe_iova was set by the test beforehand */
	if (ra.offset == 0x44) {
		wrong.msg_id += 100; /* a reply the client never asked for */
		return reply(fd, &wrong, buf, sizeof(ra) + ra.count, NULL, 0);
	}
	if (fk->fault == F_REGION_SHORT)
		return reply(fd, h, buf, sizeof(ra) + ra.count - 1, NULL, 0);
	return reply(fd, h, buf, sizeof(ra) + ra.count, NULL, 0);
}

static int serve_one(struct fake *fk, int fd, const struct facet_vfu_hdr *h, void *p, size_t len)
{
	struct facet_vfu_irq_info ii;

	switch (h->cmd) {
	case FACET_VFU_CMD_VERSION:
		return reply_version(fk, fd, h);
	case FACET_VFU_CMD_DEVICE_GET_INFO:
		return reply_device_info(fk, fd, h);
	case FACET_VFU_CMD_DEVICE_GET_REGION_INFO:
		return reply_region_info(fk, fd, h, p);
	case FACET_VFU_CMD_DEVICE_GET_IRQ_INFO:
		memcpy(&ii, p, sizeof(ii));
		ii.count = 1;
		ii.flags = FACET_VFU_IRQ_INFO_EVENTFD;
		return reply(fd, h, &ii, sizeof(ii), NULL, 0);
	case FACET_VFU_CMD_REGION_READ:
		return reply_region_read(fk, fd, h, p, len);
	default:
		return reply(fd, h, p, len, NULL, 0); /* DMA_MAP/UNMAP etc.: echo */
	}
}

static void *fake_thread(void *arg)
{
	struct fake *fk = arg;
	int fd = accept4(fk->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fk->fault == F_CLOSE_AT_ACCEPT) {
		close(fd);
		return NULL;
	}
	for (;;) {
		struct facet_vfu_hdr h;
		int fds[16];
		unsigned int nfds = 0;
		void *p;
		int n = tvfu_recv(fd, &h, &p, fds, &nfds, 5000);

		if (n < 0)
			break;
		for (unsigned int i = 0; i < nfds; i++)
			close(fds[i]);
		n = serve_one(fk, fd, &h, p, (size_t)n);
		free(p);
		if (n)
			break;
	}
	close(fd);
	return NULL;
}

static void fake_start(struct fake *fk, enum fault fault)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(fk, 0, sizeof(*fk));
	fk->fault = fault;
	tvfu_sock_path(fk->path, sizeof(fk->path), "fake");
	strcpy(sa.sun_path, fk->path);
	fk->memfd = memfd_create("fake", MFD_CLOEXEC);
	assert_true(fk->memfd >= 0);
	assert_int_equal(ftruncate(fk->memfd, 0x2000), 0);
	fk->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk->lfd >= 0);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk->lfd, 1), 0);
	assert_int_equal(pthread_create(&fk->thread, NULL, fake_thread, fk), 0);
}

static void fake_stop(struct fake *fk)
{
	pthread_join(fk->thread, NULL);
	close(fk->lfd);
	close(fk->memfd);
	unlink(fk->path);
}

static int open_against(enum fault fault)
{
	struct facet_core_open_opts opts = { .timeout_ms = 300 };
	struct facet_core_dev *dev = NULL;
	char spec[160];
	struct fake fk;
	int before = tvfu_count_fds(), ret;

	fake_start(&fk, fault);
	snprintf(spec, sizeof(spec), "vfio-user:%s", fk.path);
	ret = facet_core_open(spec, &opts, &dev);
	if (ret == 0)
		facet_core_close(dev);
	fake_stop(&fk);
	assert_int_equal(tvfu_count_fds(), before);
	return ret;
}

static void test_open_good(void **state)
{
	assert_int_equal(open_against(F_NONE), 0);
}

static void test_open_faults(void **state)
{
	assert_int_equal(open_against(F_CLOSE_AT_ACCEPT), -ENODEV);
	assert_int_equal(open_against(F_NO_REPLY), -ETIMEDOUT);
	assert_int_equal(open_against(F_BAD_JSON), -EPROTO);
	assert_int_equal(open_against(F_BAD_MAJOR), -EPROTO);
	assert_int_equal(open_against(F_BIG_MINOR), -EPROTO);
	assert_int_equal(open_against(F_WRONG_ID), -EPROTO);
	assert_int_equal(open_against(F_WRONG_CMD), -EPROTO);
	assert_int_equal(open_against(F_OVERSIZED), -EPROTO);
	assert_int_equal(open_against(F_SHORT_INFO), -EPROTO);
	assert_int_equal(open_against(F_ERROR_REPLY), -EIO);
	assert_int_equal(open_against(F_NOT_PCI), -ENODEV);
	assert_int_equal(open_against(F_SPARSE_OUTSIDE), -EPROTO);
	assert_int_equal(open_against(F_CAP_LOOP), -EPROTO);
	assert_int_equal(open_against(F_HUGE_ARGSZ), -EPROTO);
	assert_int_equal(open_against(F_REGION_SHORT), -EPROTO);
}

static void test_no_server(void **state)
{
	struct facet_core_dev *dev;

	assert_int_equal(facet_core_open("vfio-user:/nonexistent/sock", NULL, &dev), -ENODEV);
	assert_int_equal(facet_core_open("vfio-user:", NULL, &dev), -EINVAL);
}

static void test_server_commands(void **state)
{
	struct facet_core_dev *dev;
	uint8_t *va = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char spec[160];
	struct fake fk;
	uint64_t iova;
	uint32_t v;

	assert_true(va != MAP_FAILED);
	fake_start(&fk, F_NONE);
	snprintf(spec, sizeof(spec), "vfio-user:%s", fk.path);
	assert_int_equal(facet_core_open(spec, NULL, &dev), 0);
	assert_int_equal(facet_core_info(dev)->vendor_id, 0xfac3);
	assert_int_equal(facet_core_dma_register(dev, va, 4096, -1, 0, FACET_CORE_DMA_RW, &iova),
			 0);
	memcpy(va, "guestmem", 8);
	fk.probe_iova = iova;
	/* the fake server sends DMA commands before answering this read */
	assert_int_equal(facet_core_cfg_read(dev, 0x40, &v, 4), 0);
	assert_int_equal(fk.probe_unknown, ENOSYS);
	assert_int_equal(fk.probe_read_unmapped, EFAULT);
	assert_int_equal(fk.probe_write_bad, EINVAL);
	assert_int_equal(fk.probe_read_ok, 0);
	assert_memory_equal(fk.probe_data, "guestmem", 8);
	assert_false(facet_core_is_dead(dev));
	/* a reply with an id we never used: protocol violation, device dead */
	assert_int_equal(facet_core_cfg_read(dev, 0x44, &v, 4), -EPROTO);
	assert_true(facet_core_is_dead(dev));
	assert_int_equal(facet_core_cfg_read(dev, 0, &v, 4), -ENODEV);
	assert_int_equal(facet_core_dma_unregister(dev, iova), 0);
	facet_core_close(dev);
	fake_stop(&fk);
	munmap(va, 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_good),
		cmocka_unit_test(test_open_faults),
		cmocka_unit_test(test_no_server),
		cmocka_unit_test(test_server_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
