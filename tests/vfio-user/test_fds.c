/* SPDX-License-Identifier: MIT */
/*
 * No fd leaks on either side: open/close cycles with DMA maps, eventfds and
 * BAR mmaps (client and server in this process, so /proc/self/fd counts
 * both), clients that leave without cleaning up, raw clients that send fds
 * with bad messages, and server create/destroy cycles.
 */
#include <errno.h>
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

#define CYCLES 10

static void one_session(struct tdev *t, bool tidy)
{
	struct facet_core_dev *dev;
	struct facet_core_dma *dma;
	void *bar, *anon = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
				0);
	int efd[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	uint64_t iova;
	uint32_t v;

	assert_true(anon != MAP_FAILED);
	assert_int_equal(facet_core_open(tdev_spec(t), NULL, &dev), 0);
	assert_int_equal(facet_core_dma_alloc(dev, 8192, NULL, &dma), 0);
	assert_int_equal(facet_core_dma_register(dev, anon, 8192, -1, 0, FACET_CORE_DMA_RW, &iova),
			 0);
	assert_int_equal(facet_core_irq_enable(dev, FACET_CORE_IRQ_MSIX, 0, 2, efd), 0);
	assert_int_equal(facet_core_bar_map(dev, 0, &bar), 0);
	assert_int_equal(facet_core_read32(dev, 0, TREG_ID, &v), 0);
	assert_int_equal(facet_vfu_server_irq_raise(t->srv, FACET_VFU_IRQ_MSIX, 1), 0);
	if (tidy) {
		assert_int_equal(facet_core_irq_disable(dev, FACET_CORE_IRQ_MSIX), 0);
		assert_int_equal(facet_core_dma_unregister(dev, iova), 0);
		facet_core_dma_free(dma);
	}
	facet_core_close(dev);
	assert_true(tdev_wait_client(t, false, 2000));
	close(efd[0]);
	close(efd[1]);
	munmap(anon, 8192);
}

static void test_client_cycles(void **state)
{
	struct tdev t;
	int before = tvfu_count_fds(), base;

	assert_int_equal(tdev_start(&t), 0);
	base = tvfu_count_fds();
	for (int i = 0; i < CYCLES; i++)
		one_session(&t, i % 2);
	assert_int_equal(tvfu_count_fds(), base);
	assert_int_equal(facet_vfu_server_dma_count(t.srv), 0);
	tdev_stop(&t);
	assert_int_equal(tvfu_count_fds(), before);
}

static void test_raw_fds(void **state)
{
	struct facet_vfu_irq_set is = {
		.argsz = sizeof(is),
		.flags = FACET_VFU_IRQ_SET_DATA_EVENTFD | FACET_VFU_IRQ_SET_ACTION_TRIGGER,
		.index = FACET_VFU_IRQ_MSIX,
		.count = 2,
	};
	struct facet_vfu_region_access ra = { .region = 2, .count = 4 };
	struct facet_vfu_dma_map dm = {
		.argsz = sizeof(dm), .flags = 3, .addr = 0x100000, .size = 0x1000
	};
	int mfd = memfd_create("tfd", MFD_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC), many[20];
	struct tdev t;
	int base, fd;

	assert_int_equal(ftruncate(mfd, 0x1000), 0);
	for (int i = 0; i < 20; i++)
		many[i] = efd;
	assert_int_equal(tdev_start(&t), 0);
	base = tvfu_count_fds();
	for (int i = 0; i < CYCLES; i++) {
		fd = tvfu_connect(t.path);
		assert_true(fd >= 0);
		/* fds on a message before VERSION, on a command that takes none, too many */
		assert_int_equal(tvfu_rpc(fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), many,
					  2, NULL, NULL),
				 EINVAL);
		assert_int_equal(tvfu_handshake(fd), 0);
		assert_int_equal(tvfu_rpc(fd, FACET_VFU_CMD_REGION_READ, &ra, sizeof(ra), many, 3,
					  NULL, NULL),
				 0);
		assert_int_equal(tvfu_rpc(fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), many,
					  20, NULL, NULL),
				 EINVAL);
		/* kept by the server until the client leaves */
		assert_int_equal(tvfu_rpc(fd, FACET_VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), many,
					  2, NULL, NULL),
				 0);
		assert_int_equal(
			tvfu_rpc(fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), &mfd, 1, NULL, NULL),
			0);
		assert_int_equal(
			tvfu_rpc(fd, FACET_VFU_CMD_DMA_MAP, &dm, sizeof(dm), &mfd, 1, NULL, NULL),
			EEXIST);
		close(fd);
		assert_true(tdev_wait_client(&t, false, 2000));
		assert_int_equal(tvfu_count_fds(), base);
	}
	tdev_stop(&t);
	close(mfd);
	close(efd);
}

static void test_server_cycles(void **state)
{
	int before = tvfu_count_fds();

	for (int i = 0; i < CYCLES; i++) {
		struct tdev t;

		assert_int_equal(tdev_start(&t), 0);
		if (i % 2) {
			struct facet_core_dev *dev;

			assert_int_equal(facet_core_open(tdev_spec(&t), NULL, &dev), 0);
			tdev_stop(&t); /* with a client still connected */
			for (int ms = 0; ms < 2000 && !facet_core_is_dead(dev); ms++)
				usleep(1000);
			assert_true(facet_core_is_dead(dev));
			facet_core_close(dev);
		} else {
			tdev_stop(&t);
		}
	}
	assert_int_equal(tvfu_count_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_cycles),
		cmocka_unit_test(test_raw_fds),
		cmocka_unit_test(test_server_cycles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
