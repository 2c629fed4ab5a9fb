/* SPDX-License-Identifier: MIT */
/*
 * DEVICE_GET_REGION_IO_FDS: the server API that offers ioeventfds, the
 * command against good and malformed requests from a raw client, and the
 * lib/core client (facet_core_region_ioeventfd) that turns a register write
 * into an eventfd write.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "facet_core.h"
#include "tvfu.h"

#define SUB_SIZE sizeof(struct facet_vfu_sub_region_ioeventfd)
#define HDR_SIZE sizeof(struct facet_vfu_region_io_fds)

struct fixture {
	struct tdev t;
	int efd_a, efd_b; /* the device's eventfds */
	int fd;		  /* raw client */
};

/* BAR0: 0x08 (4 bytes) and 0x0c (4 bytes, datamatch 5) on efd_a; BAR2: 0 (8 bytes) on efd_b. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct facet_vfu_server *srv;

	assert_non_null(f);
	assert_int_equal(tdev_start(&f->t), 0);
	srv = f->t.srv;
	f->efd_a = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->efd_b = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(f->efd_a >= 0 && f->efd_b >= 0);
	assert_int_equal(facet_vfu_server_add_ioeventfd(srv, 0, 0x08, 4, false, 0, f->efd_a), 0);
	assert_int_equal(facet_vfu_server_add_ioeventfd(srv, 0, 0x0c, 4, true, 5, f->efd_a), 0);
	assert_int_equal(facet_vfu_server_add_ioeventfd(srv, 2, 0, 8, false, 0, f->efd_b), 0);
	f->fd = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->fd >= 0)
		close(f->fd);
	tdev_stop(&f->t);
	close(f->efd_a);
	close(f->efd_b);
	free(f);
	return 0;
}

static uint64_t drain(int efd)
{
	uint64_t v = 0;

	return read(efd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

static void test_add_invalid(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_server *srv = f->t.srv;

	assert_int_equal(facet_vfu_server_add_ioeventfd(srv, 9, 0, 4, false, 0, f->efd_a), -EINVAL);
	assert_int_equal(facet_vfu_server_add_ioeventfd(srv, 1, 0, 4, false, 0, f->efd_a), -EINVAL);
	assert_int_equal(
		facet_vfu_server_add_ioeventfd(srv, 0, TDEV_BAR0_SIZE - 2, 4, false, 0, f->efd_a),
		-EINVAL);
	assert_int_equal(facet_vfu_server_add_ioeventfd(srv, 0, 0, 3, false, 0, f->efd_a), -EINVAL);
	assert_int_equal(facet_vfu_server_add_ioeventfd(srv, 0, 0, 4, false, 0, -1), -EINVAL);
	for (unsigned int i = 3; i < FACET_VFU_MAX_IOEVENTFDS; i++)
		assert_int_equal(
			facet_vfu_server_add_ioeventfd(srv, 4, 8 * i, 8, false, 0, f->efd_b), 0);
	assert_int_equal(facet_vfu_server_add_ioeventfd(srv, 4, 0, 8, false, 0, f->efd_b), -ENOSPC);
}

static int query(int fd, uint16_t id, const struct facet_vfu_region_io_fds *q, size_t qlen,
		 void **rep, int *fds, unsigned int *nfds)
{
	struct facet_vfu_hdr hdr;
	int n;

	assert_int_equal(
		tvfu_send(fd, id, FACET_VFU_CMD_DEVICE_GET_REGION_IO_FDS, 0, q, qlen, NULL, 0), 0);
	n = tvfu_recv(fd, &hdr, rep, fds, nfds, 2000);
	assert_int_equal(hdr.msg_id, id);
	assert_int_equal(hdr.cmd, FACET_VFU_CMD_DEVICE_GET_REGION_IO_FDS);
	if (!(hdr.flags & FACET_VFU_F_ERROR))
		return n;
	free(*rep);
	*rep = NULL;
	return -(int)hdr.error;
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_region_io_fds q = { .argsz = 4096 };
	int fds[16];
	unsigned int nfds;
	void *rep = NULL;

	f->fd = tvfu_connect(f->t.path);
	assert_true(f->fd >= 0);
	assert_int_equal(tvfu_handshake(f->fd), 0);
	assert_int_equal(query(f->fd, 1, &q, 8, &rep, fds, &nfds), -EINVAL); /* short */
	q.argsz = 8;
	assert_int_equal(query(f->fd, 2, &q, sizeof(q), &rep, fds, &nfds), -EINVAL);
	q.argsz = 4096;
	q.flags = 1;
	assert_int_equal(query(f->fd, 3, &q, sizeof(q), &rep, fds, &nfds), -EINVAL);
	q.flags = 0;
	q.count = 1;
	assert_int_equal(query(f->fd, 4, &q, sizeof(q), &rep, fds, &nfds), -EINVAL);
	q.count = 0;
	q.index = FACET_VFU_PCI_NUM_REGIONS;
	assert_int_equal(query(f->fd, 5, &q, sizeof(q), &rep, fds, &nfds), -EINVAL);
	q.index = 1; /* BAR1 is absent */
	assert_int_equal(query(f->fd, 6, &q, sizeof(q), &rep, fds, &nfds), -EINVAL);
	/* the connection survives: a good query still works */
	q.index = 4;
	assert_int_equal(query(f->fd, 7, &q, sizeof(q), &rep, fds, &nfds), (int)HDR_SIZE);
	assert_int_equal(nfds, 0);
	memcpy(&q, rep, sizeof(q));
	free(rep);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.argsz, HDR_SIZE);
}

static void test_argsz_and_fds(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_region_io_fds q = { .argsz = HDR_SIZE, .index = 0 };
	struct facet_vfu_sub_region_ioeventfd sr[2];
	uint64_t one = 1;
	int fds[16];
	unsigned int nfds;
	void *rep;

	f->fd = tvfu_connect(f->t.path);
	assert_true(f->fd >= 0);
	assert_int_equal(tvfu_handshake(f->fd), 0);
	/* too small: the size and the count to allocate, no sub-region, no fd */
	assert_int_equal(query(f->fd, 1, &q, sizeof(q), &rep, fds, &nfds), (int)HDR_SIZE);
	assert_int_equal(nfds, 0);
	memcpy(&q, rep, sizeof(q));
	free(rep);
	assert_int_equal(q.argsz, HDR_SIZE + 2 * SUB_SIZE);
	assert_int_equal(q.count, 2);
	assert_int_equal(q.index, 0);
	/* big enough: both sub-regions, sharing one fd */
	q.count = 0;
	assert_int_equal(query(f->fd, 2, &q, sizeof(q), &rep, fds, &nfds),
			 (int)(HDR_SIZE + 2 * SUB_SIZE));
	assert_int_equal(nfds, 1);
	memcpy(sr, (uint8_t *)rep + HDR_SIZE, sizeof(sr));
	free(rep);
	assert_int_equal(sr[0].offset, 0x08);
	assert_int_equal(sr[0].size, 4);
	assert_int_equal(sr[0].fd_index, 0);
	assert_int_equal(sr[0].type, FACET_VFU_IO_FD_TYPE_IOEVENTFD);
	assert_int_equal(sr[0].flags, 0);
	assert_int_equal(sr[1].offset, 0x0c);
	assert_int_equal(sr[1].flags, FACET_VFU_IOEVENTFD_F_DATAMATCH);
	assert_int_equal(sr[1].datamatch, 5);
	assert_int_equal(sr[1].fd_index, 0);
	/* the fd is the device's eventfd */
	assert_int_equal(write(fds[0], &one, sizeof(one)), sizeof(one));
	assert_int_equal(drain(f->efd_a), 1);
	close(fds[0]);
}

static void test_core_client(void **state)
{
	struct fixture *f = *state;
	struct facet_core_dev *dev;
	uint64_t one = 1;
	int fd = -1, fd2 = -1;

	assert_int_equal(facet_core_open(tdev_spec(&f->t), NULL, &dev), 0);
	assert_int_equal(facet_core_region_ioeventfd(dev, 0, 0x08, 4, &fd), 0);
	assert_int_equal(facet_core_region_ioeventfd(dev, 2, 0, 8, &fd2), 0);
	/* a datamatch register, one without, a bad width, an absent region */
	assert_int_equal(facet_core_region_ioeventfd(dev, 0, 0x0c, 4, &(int){ -1 }), -ENOENT);
	assert_int_equal(facet_core_region_ioeventfd(dev, 0, 0x10, 4, &(int){ -1 }), -ENOENT);
	assert_int_equal(facet_core_region_ioeventfd(dev, 0, 0x08, 3, &(int){ -1 }), -EINVAL);
	assert_int_equal(facet_core_region_ioeventfd(dev, 1, 0, 4, &(int){ -1 }), -EINVAL);
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(write(fd2, &one, sizeof(one)), sizeof(one));
	assert_int_equal(write(fd2, &one, sizeof(one)), sizeof(one));
	assert_int_equal(drain(f->efd_a), 1);
	assert_int_equal(drain(f->efd_b), 2);
	/* the fd outlives the device handle */
	facet_core_close(dev);
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(drain(f->efd_a), 1);
	close(fd);
	close(fd2);
}

/* A client that takes one fd per message gets the sub-regions whose fd fits. */
static void test_one_fd_client(void **state)
{
	struct fixture *f = *state;
	struct facet_vfu_server *srv = f->t.srv;
	struct facet_vfu_region_io_fds q = { .argsz = 4096, .index = 0 };
	struct facet_vfu_version v = { FACET_VFU_VERSION_MAJOR, FACET_VFU_VERSION_MINOR };
	int fds[16];
	unsigned int nfds;
	void *rep;

	assert_int_equal(facet_vfu_server_add_ioeventfd(srv, 0, 0x20, 4, false, 0, f->efd_b), 0);
	f->fd = tvfu_connect(f->t.path);
	assert_true(f->fd >= 0);
	assert_int_equal(tvfu_rpc(f->fd, FACET_VFU_CMD_VERSION, &v, sizeof(v), NULL, 0, NULL, NULL),
			 0);
	assert_int_equal(query(f->fd, 1, &q, sizeof(q), &rep, fds, &nfds),
			 (int)(HDR_SIZE + 2 * SUB_SIZE));
	assert_int_equal(nfds, 1);
	memcpy(&q, rep, sizeof(q));
	free(rep);
	assert_int_equal(q.count, 2);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argsz_and_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_core_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_fd_client, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
