/* SPDX-License-Identifier: MIT */
/*
 * A raw client against the real server: malformed, truncated, oversized and
 * out-of-order messages get an error reply or a clean close, and the server
 * goes on serving a proper client afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "facet_core.h"
#include "tvfu.h"

struct fixture {
	struct tdev t;
	int fd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tdev_start(&f->t), 0);
	f->fd = tvfu_connect(f->t.path);
	assert_true(f->fd >= 0);
	*state = f;
	return 0;
}

/* After each test: the server still serves a proper client. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	struct facet_core_dev *dev;
	uint32_t v = 0;

	close(f->fd);
	assert_true(tdev_wait_client(&f->t, false, 2000));
	assert_int_equal(facet_core_open(tdev_spec(&f->t), NULL, &dev), 0);
	assert_int_equal(facet_core_read32(dev, 0, TREG_ID, &v), 0);
	assert_int_equal(v, TDEV_ID);
	facet_core_close(dev);
	assert_true(tdev_wait_client(&f->t, false, 2000));
	tdev_stop(&f->t);
	free(f);
	return 0;
}

static int version_with(int fd, uint16_t major, uint16_t minor, const char *json, size_t jlen)
{
	char buf[256];
	struct facet_vfu_version v = { major, minor };

	memcpy(buf, &v, sizeof(v));
	memcpy(buf + sizeof(v), json, jlen);
	return tvfu_rpc(fd, FACET_VFU_CMD_VERSION, buf, sizeof(v) + jlen, NULL, 0, NULL, NULL);
}

static void test_version(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_version v = { 0, 1 };
	struct facet_vfu_caps caps;
	uint16_t major, minor;
	void *rep;
	size_t len;

	/* anything before VERSION */
	struct facet_vfu_device_info di = { .argsz = sizeof(di) };
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0,
				  NULL, NULL),
			 EINVAL);
	/* malformed ones */
	assert_int_equal(version_with(f->fd, 0, 1, "{\"capabilities\":", 17), EINVAL);
	assert_int_equal(version_with(f->fd, 0, 1, "{}", 2), EINVAL); /* no NUL */
	assert_int_equal(version_with(f->fd, 0, 1, "[1]", 4), EINVAL);
	assert_int_equal(version_with(f->fd, 0, 1, "{\"capabilities\":{\"max_msg_fds\":-1}}", 36),
			 EINVAL);
	assert_int_equal(version_with(f->fd, 0, 1, "{}\0junk", 7), EINVAL);
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_VERSION, &v, 2, NULL, 0, NULL, NULL),
			 EINVAL);
	assert_int_equal(version_with(f->fd, 1, 0, "", 1), ENOTSUP);
	/* a newer minor is answered with ours */
	memcpy(&v, &(struct facet_vfu_version){ 0, 7 }, sizeof(v));
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_VERSION, &v, sizeof(v), NULL, 0, &rep, &len),
			 0);
	assert_int_equal(facet_vfu_version_decode(rep, len, &major, &minor, &caps), 0);
	assert_int_equal(major, 0);
	assert_int_equal(minor, FACET_VFU_VERSION_MINOR);
	assert_int_equal(caps.max_data_xfer_size, 1u << 20);
	assert_true(caps.max_msg_fds >= 1);
	assert_true(caps.pgsizes & 4096);
	free(rep);
	/* only once */
	assert_int_equal(version_with(f->fd, 0, 1, "", 1), EINVAL);
}

static void test_commands(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_region_access ra = { .offset = 0, .region = 2, .count = 4 };
	struct facet_vfu_region_info ri = { .argsz = sizeof(ri), .index = 9 };
	struct facet_vfu_irq_info ii = { .argsz = sizeof(ii), .index = 5 };
	char wr[sizeof(ra) + 8];
	void *rep;
	size_t len;

	assert_int_equal(tvfu_handshake(f->fd), 0);
	assert_int_equal(tvfu_rpc(f->fd, 99, NULL, 0, NULL, 0, NULL, NULL), ENOSYS);
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_READ, &ra, sizeof(ra), NULL, 0, NULL, NULL),
		EINVAL);
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_FEATURE, NULL, 0, NULL, 0, NULL, NULL),
		ENOTSUP);
	/* truncated payloads */
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_GET_REGION_INFO, &ri, 8, NULL, 0, NULL, NULL),
		EINVAL);
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_REGION_READ, &ra, 12, NULL, 0, NULL, NULL),
			 EINVAL);
	/* bad indexes */
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri),
				  NULL, 0, NULL, NULL),
			 EINVAL);
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), NULL,
				  0, NULL, NULL),
			 EINVAL);
	/* region bounds */
	ra.offset = TDEV_BAR2_SIZE - 2;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_REGION_READ, &ra, sizeof(ra), NULL, 0, NULL, NULL),
		EINVAL);
	ra.offset = UINT64_MAX - 1;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_REGION_READ, &ra, sizeof(ra), NULL, 0, NULL, NULL),
		EINVAL);
	ra.offset = 0;
	ra.count = (1u << 20) + 1;
	ra.region = 4;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_REGION_READ, &ra, sizeof(ra), NULL, 0, NULL, NULL),
		EINVAL);
	ra.region = 1; /* absent */
	ra.count = 4;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_REGION_READ, &ra, sizeof(ra), NULL, 0, NULL, NULL),
		EINVAL);
	/* a write whose data does not match its count */
	ra.region = 2;
	ra.count = 8;
	memcpy(wr, &ra, sizeof(ra));
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_REGION_WRITE, wr, sizeof(ra) + 4, NULL, 0,
				  NULL, NULL),
			 EINVAL);
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_REGION_WRITE, wr, sizeof(wr), NULL, 0, NULL, NULL),
		0);
	/* a good read still works on this connection */
	ra.count = 4;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_REGION_READ, &ra, sizeof(ra), NULL, 0, &rep, &len),
		0);
	assert_int_equal(len, sizeof(ra) + 4);
	free(rep);
	/* a no-reply write gets no reply, even when it fails */
	ra.count = 0;
	memcpy(wr, &ra, sizeof(ra));
	assert_int_equal(tvfu_send(f->fd, 500, FACET_VFU_CMD_REGION_WRITE, FACET_VFU_F_NO_REPLY, wr,
				   sizeof(ra), NULL, 0),
			 0);
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, NULL, NULL),
			 0);
	assert_int_equal(atomic_load(&f->t.resets), 1);
}

static void test_region_info_argsz(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_region_info ri = { .argsz = sizeof(ri), .index = 0 };
	struct facet_vfu_hdr hdr;
	int fds[16];
	unsigned int nfds;
	void *rep;
	int n;

	assert_int_equal(tvfu_handshake(f->fd), 0);
	/* too small: the reply states the size needed and carries no fd */
	assert_int_equal(tvfu_send(f->fd, 1, FACET_VFU_CMD_DEVICE_GET_REGION_INFO, 0, &ri,
				   sizeof(ri), NULL, 0),
			 0);
	n = tvfu_recv(f->fd, &hdr, &rep, fds, &nfds, 2000);
	assert_int_equal(n, sizeof(ri));
	assert_int_equal(nfds, 0);
	memcpy(&ri, rep, sizeof(ri));
	free(rep);
	assert_int_equal(ri.argsz, sizeof(ri) + 16 + 2 * 16);
	assert_true(ri.flags & FACET_VFU_REG_F_MMAP);
	assert_true(ri.flags & FACET_VFU_REG_F_CAPS);
	/* big enough: capability and fd */
	ri.cap_offset = 0;
	assert_int_equal(tvfu_send(f->fd, 2, FACET_VFU_CMD_DEVICE_GET_REGION_INFO, 0, &ri,
				   sizeof(ri), NULL, 0),
			 0);
	n = tvfu_recv(f->fd, &hdr, &rep, fds, &nfds, 2000);
	assert_int_equal(n, sizeof(ri) + 16 + 2 * 16);
	assert_int_equal(nfds, 1);
	memcpy(&ri, rep, sizeof(ri));
	assert_int_equal(ri.cap_offset, sizeof(ri));
	free(rep);
	close(fds[0]);
}

static void test_dma_map(void **state)
{
	struct fixture *f = *state;
	int mfd = memfd_create("traw", MFD_CLOEXEC);
	struct facet_vfu_dma_map dm = {
		.argsz = sizeof(dm),
		.flags = FACET_VFU_DMA_F_READ | FACET_VFU_DMA_F_WRITE,
		.addr = 0x100000,
		.size = 0x4000,
	};
	struct facet_vfu_dma_unmap du = { .argsz = sizeof(du), .addr = 0x100000, .size = 0x2000 };
	int fds[2];

	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 0x4000), 0);
	fds[0] = fds[1] = mfd;
	assert_int_equal(tvfu_handshake(f->fd), 0);
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), &mfd, 1, NULL, NULL), 0);
	/* overlaps: EEXIST, with or without fd */
	dm.addr = 0x103000;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), &mfd, 1, NULL, NULL),
		EEXIST);
	dm.addr = 0xff000;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), NULL, 0, NULL, NULL),
		EEXIST);
	/* bad ones */
	dm.addr = 0x200800;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), NULL, 0, NULL, NULL),
		EINVAL);
	dm.addr = 0x200000;
	dm.flags = 0x10;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), NULL, 0, NULL, NULL),
		EINVAL);
	dm.flags = FACET_VFU_DMA_F_READ;
	dm.size = 0x8000; /* beyond the memfd: would SIGBUS later */
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), &mfd, 1, NULL, NULL),
		EINVAL);
	dm.size = 0x1000;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), fds, 2, NULL, NULL),
		EINVAL);
	dm.addr = UINT64_MAX - 0xfff;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), NULL, 0, NULL, NULL),
		EINVAL);
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, 16, NULL, 0, NULL, NULL),
			 EINVAL);
	assert_int_equal(facet_vfu_server_dma_count(f->t.srv), 1);
	/* unmap must match exactly */
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_UNMAP, &du, sizeof(du), NULL, 0, NULL, NULL),
		EINVAL);
	du.addr = 0x500000;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_UNMAP, &du, sizeof(du), NULL, 0, NULL, NULL),
		ENOENT);
	du.addr = 0x100000;
	du.size = 0x4000;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_UNMAP, &du, sizeof(du), NULL, 0, NULL, NULL), 0);
	assert_int_equal(facet_vfu_server_dma_count(f->t.srv), 0);
	/* unmap-all (QEMU): flag ALL with zero address and size */
	dm.addr = 0x100000;
	dm.size = 0x4000;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), &mfd, 1, NULL, NULL), 0);
	dm.addr = 0x200000;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), NULL, 0, NULL, NULL), 0);
	assert_int_equal(facet_vfu_server_dma_count(f->t.srv), 2);
	du.flags = FACET_VFU_DMA_UNMAP_F_ALL;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_UNMAP, &du, sizeof(du), NULL, 0, NULL, NULL),
		EINVAL);
	du.addr = du.size = 0;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_UNMAP, &du, sizeof(du), NULL, 0, NULL, NULL), 0);
	assert_int_equal(facet_vfu_server_dma_count(f->t.srv), 0);
	/* a client leaving with a map: dropped */
	dm.addr = 0x100000;
	dm.size = 0x4000;
	assert_int_equal(
		tvfu_rpc(f->fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), &mfd, 1, NULL, NULL), 0);
	close(mfd);
}

static void test_set_irqs(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_irq_set is = {
		.argsz = sizeof(is),
		.flags = FACET_VFU_IRQ_SET_DATA_EVENTFD | FACET_VFU_IRQ_SET_ACTION_TRIGGER,
		.index = FACET_VFU_IRQ_MSIX,
		.start = 0,
		.count = 1,
	};
	int efd = eventfd(0, EFD_CLOEXEC), p[2], many[17];
	char withbool[sizeof(is) + 2];

	assert_true(efd >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	for (int i = 0; i < 17; i++)
		many[i] = efd;
	assert_int_equal(tvfu_handshake(f->fd), 0);
	/* not an eventfd */
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), &p[1], 1,
				  NULL, NULL),
			 EINVAL);
	/* fd count does not match */
	is.count = 2;
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), &efd, 1,
				  NULL, NULL),
			 EINVAL);
	/* out of range, and overflowing */
	is.start = 3;
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), NULL, 0,
				  NULL, NULL),
			 EINVAL);
	is.start = 2;
	is.count = UINT32_MAX;
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), NULL, 0,
				  NULL, NULL),
			 EINVAL);
	/* two data kinds at once */
	is.start = 0;
	is.count = 1;
	is.flags |= FACET_VFU_IRQ_SET_DATA_NONE;
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), NULL, 0,
				  NULL, NULL),
			 EINVAL);
	/* more fds than the server takes: the connection drops them, error reply */
	is.flags = FACET_VFU_IRQ_SET_DATA_EVENTFD | FACET_VFU_IRQ_SET_ACTION_TRIGGER;
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), many, 17,
				  NULL, NULL),
			 EINVAL);
	/* a good one, then a client-side trigger with DATA_BOOL */
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), &efd, 1,
				  NULL, NULL),
			 0);
	is.flags = FACET_VFU_IRQ_SET_DATA_BOOL | FACET_VFU_IRQ_SET_ACTION_TRIGGER;
	is.count = 2;
	memcpy(withbool, &is, sizeof(is));
	withbool[sizeof(is)] = 1;
	withbool[sizeof(is) + 1] = 0;
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, withbool, sizeof(is) + 1,
				  NULL, 0, NULL, NULL),
			 EINVAL);
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, withbool, sizeof(withbool),
				  NULL, 0, NULL, NULL),
			 0);
	{
		uint64_t n = 0;

		assert_int_equal(read(efd, &n, sizeof(n)), sizeof(n));
		assert_int_equal(n, 1);
	}
	/* mask/unmask: accepted, not modelled */
	is.flags = FACET_VFU_IRQ_SET_DATA_NONE | FACET_VFU_IRQ_SET_ACTION_UNMASK;
	is.index = FACET_VFU_IRQ_INTX;
	is.count = 1;
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), NULL, 0,
				  NULL, NULL),
			 0);
	close(p[0]);
	close(p[1]);
	close(efd);
}

static void test_bad_reply_closes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(tvfu_handshake(f->fd), 0);
	/* a reply to nothing the server asked: the server closes */
	assert_int_equal(tvfu_send(f->fd, 77, FACET_VFU_CMD_DMA_READ, FACET_VFU_F_TYPE_REPLY, NULL,
				   0, NULL, 0),
			 0);
	assert_true(tvfu_wait_eof(f->fd, 2000));
}

static void test_bad_type_closes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(tvfu_send(f->fd, 1, FACET_VFU_CMD_VERSION, 0x7, NULL, 0, NULL, 0), 0);
	assert_true(tvfu_wait_eof(f->fd, 2000));
}

static void test_oversized(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_hdr hdr = { .msg_id = 9,
				     .cmd = FACET_VFU_CMD_REGION_WRITE,
				     .size = 0x7fffffff };
	void *rep;
	int n;

	assert_int_equal(tvfu_handshake(f->fd), 0);
	assert_int_equal(tvfu_send_raw(f->fd, &hdr, sizeof(hdr)), 0);
	n = tvfu_recv(f->fd, &hdr, &rep, NULL, NULL, 2000);
	assert_int_equal(n, 0);
	free(rep);
	assert_int_equal(hdr.msg_id, 9);
	assert_true(hdr.flags & FACET_VFU_F_ERROR);
	assert_int_equal(hdr.error, E2BIG);
	assert_true(tvfu_wait_eof(f->fd, 2000));
}

static void test_undersized(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_hdr hdr = { .msg_id = 9, .cmd = FACET_VFU_CMD_VERSION, .size = 8 };

	assert_int_equal(tvfu_send_raw(f->fd, &hdr, sizeof(hdr)), 0);
	assert_true(tvfu_wait_eof(f->fd, 2000));
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_hdr hdr = { .msg_id = 9, .cmd = FACET_VFU_CMD_REGION_WRITE, .size = 100 };
	char half[20] = { 0 };

	assert_int_equal(tvfu_handshake(f->fd), 0);
	assert_int_equal(tvfu_send_raw(f->fd, &hdr, sizeof(hdr)), 0);
	assert_int_equal(tvfu_send_raw(f->fd, half, sizeof(half)), 0);
	/* and the client goes: teardown checks the server recovers */
}

static void test_garbage(void **state)
{
	struct fixture *f = *state;
	uint8_t junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(tvfu_handshake(f->fd), 0);
	(void)tvfu_send_raw(f->fd, junk, sizeof(junk));
	assert_true(tvfu_wait_eof(f->fd, 3000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_info_argsz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_irqs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_reply_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_type_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undersized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
