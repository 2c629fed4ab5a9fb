/* SPDX-License-Identifier: MIT */
/*
 * Every command round-trips: the lib/core client against facet_vfu_server
 * serving the test device in this process.
 */
#include <errno.h>
#include <poll.h>
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
	struct facet_core_dev *dev;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tdev_start(&f->t), 0);
	assert_int_equal(facet_core_open(tdev_spec(&f->t), NULL, &f->dev), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	facet_core_close(f->dev);
	assert_true(tdev_wait_client(&f->t, false, 2000));
	tdev_stop(&f->t);
	free(f);
	return 0;
}

static void test_info(void **state)
{
	struct fixture *f = *state;
	const struct facet_core_info *info = facet_core_info(f->dev);
	unsigned int n;

	assert_string_equal(info->transport, "vfio-user");
	assert_int_equal(info->vendor_id, TDEV_VENDOR);
	assert_int_equal(info->device_id, TDEV_DEVICE);
	assert_int_equal(info->class_code, TDEV_CLASS);
	assert_int_equal(info->revision, 2);
	assert_int_equal(info->subsystem_id, 0x1234);
	assert_true(info->can_reset);
	assert_int_equal(info->num_regions, 9);
	assert_int_equal(info->num_irq_types, 5);
	assert_int_equal(facet_core_irq_count(f->dev, FACET_CORE_IRQ_MSIX, &n), 0);
	assert_int_equal(n, TDEV_MSIX);
	assert_int_equal(facet_core_irq_count(f->dev, FACET_CORE_IRQ_REQ, &n), 0);
	assert_int_equal(n, 1);
	assert_true(facet_vfu_server_has_client(f->t.srv));
	assert_int_equal(atomic_load(&f->t.connected), 1);
	assert_false(facet_core_is_dead(f->dev));
}

static void test_config(void **state)
{
	struct fixture *f = *state;
	uint16_t cmd = 0x0006, back = 0;
	uint8_t big[256];

	assert_int_equal(facet_core_cfg_write(f->dev, 0x04, &cmd, sizeof(cmd)), 0);
	assert_int_equal(facet_core_cfg_read(f->dev, 0x04, &back, sizeof(back)), 0);
	assert_int_equal(back, 0x0006);
	assert_int_equal(f->t.cfg[0x04], 0x06);
	assert_int_equal(facet_core_set_bus_master(f->dev, false), 0);
	assert_int_equal(f->t.cfg[0x04], 0x02);
	assert_int_equal(facet_core_cfg_read(f->dev, 0, big, sizeof(big)), 0);
	assert_memory_equal(big, f->t.cfg, sizeof(big));
	/* beyond config space: refused locally */
	assert_int_equal(facet_core_cfg_read(f->dev, 250, big, 8), -EINVAL);
}

static void test_bar_messages(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0;
	uint8_t buf[64];

	assert_int_equal(facet_core_read32(f->dev, 0, TREG_ID, &v), 0);
	assert_int_equal(v, TDEV_ID);
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_SCRATCH, 0x12345678), 0);
	assert_int_equal(facet_core_read32(f->dev, 0, TREG_SCRATCH, &v), 0);
	assert_int_equal(v, 0x12345678);
	/* the device refuses: the error comes back */
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_ID, 1), -EPERM);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(facet_core_region_write(f->dev, 2, 100, buf, sizeof(buf)), 0);
	assert_memory_equal(f->t.bar2 + 100, buf, sizeof(buf));
	/* an mmap area reached by message: the server uses the backing fd */
	memset(f->t.bar0 + 0x2100, 0x5a, 16);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(facet_core_region_read(f->dev, 0, 0x2100, buf, 16), 0);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(buf[15], 0x5a);
	/* outside the region, or a region that does not exist */
	assert_int_equal(facet_core_read32(f->dev, 2, TDEV_BAR2_SIZE, &v), -EINVAL);
	assert_int_equal(facet_core_read32(f->dev, 1, 0, &v), -EINVAL);
}

static void test_big_transfer(void **state)
{
	struct fixture *f = *state;
	size_t len = 0x180000; /* 1.5 MiB: two messages */
	uint8_t *buf = malloc(len), *back = malloc(len);

	assert_non_null(buf);
	assert_non_null(back);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7);
	assert_int_equal(facet_core_region_write(f->dev, 4, 0x1000, buf, len), 0);
	assert_memory_equal(f->t.bar4 + 0x1000, buf, len);
	assert_int_equal(facet_core_region_read(f->dev, 4, 0x1000, back, len), 0);
	assert_memory_equal(back, buf, len);
	free(buf);
	free(back);
}

static void test_bar_mmap(void **state)
{
	struct fixture *f = *state;
	struct facet_core_region_info ri;
	volatile uint32_t *bar;
	void *base;
	uint32_t v;

	assert_int_equal(facet_core_region_info(f->dev, 0, &ri), 0);
	assert_int_equal(ri.size, TDEV_BAR0_SIZE);
	assert_true(ri.flags & FACET_CORE_REGION_MMAP);
	assert_int_equal(ri.n_mmap_areas, 2);
	assert_int_equal(ri.mmap_areas[1].offset, 0x2000);
	assert_int_equal(ri.mmap_areas[1].size, 0x2000);
	assert_int_equal(facet_core_region_info(f->dev, 2, &ri), 0);
	assert_false(ri.flags & FACET_CORE_REGION_MMAP);
	assert_int_equal(facet_core_bar_map(f->dev, 2, &base), -ENOTSUP);

	assert_int_equal(facet_core_bar_map(f->dev, 0, &base), 0);
	bar = base;
	bar[0x1000 / 4] = 0xdeadbeef; /* a doorbell write: no message */
	assert_int_equal(*(uint32_t *)(f->t.bar0 + 0x1000), 0xdeadbeef);
	*(uint32_t *)(f->t.bar0 + 0x3ffc) = 0xcafe;
	assert_int_equal(bar[0x3ffc / 4], 0xcafe);
	/* the API goes through the mapping now, and by message for page 0 */
	assert_int_equal(facet_core_read32(f->dev, 0, 0x3ffc, &v), 0);
	assert_int_equal(v, 0xcafe);
	assert_int_equal(facet_core_read32(f->dev, 0, TREG_ID, &v), 0);
	assert_int_equal(v, TDEV_ID);
}

static bool efd_fired(int efd, unsigned int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t n;

	if (poll(&p, 1, (int)ms) != 1)
		return false;
	return read(efd, &n, sizeof(n)) == sizeof(n) && n >= 1;
}

static void test_irqs(void **state)
{
	struct fixture *f = *state;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int efd2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int fds[2] = { -1, efd };
	int changed = atomic_load(&f->t.irqs_changed);

	assert_true(efd >= 0 && efd2 >= 0);
	assert_int_equal(facet_vfu_server_irq_raise(f->t.srv, FACET_VFU_IRQ_MSIX, 1), -ENOENT);
	assert_int_equal(facet_core_irq_enable(f->dev, FACET_CORE_IRQ_MSIX, 0, 2, fds), 0);
	assert_true(atomic_load(&f->t.irqs_changed) > changed);
	assert_int_equal(facet_vfu_server_irq_raise(f->t.srv, FACET_VFU_IRQ_MSIX, 1), 0);
	assert_true(efd_fired(efd, 1000));
	assert_int_equal(facet_vfu_server_irq_raise(f->t.srv, FACET_VFU_IRQ_MSIX, 0), -ENOENT);
	assert_int_equal(facet_vfu_server_irq_raise(f->t.srv, FACET_VFU_IRQ_MSIX, TDEV_MSIX),
			 -EINVAL);
	/* replace one vector */
	assert_int_equal(facet_core_irq_enable(f->dev, FACET_CORE_IRQ_MSIX, 3, 1, &efd2), 0);
	assert_int_equal(facet_vfu_server_irq_raise(f->t.srv, FACET_VFU_IRQ_MSIX, 3), 0);
	assert_true(efd_fired(efd2, 1000));
	assert_false(efd_fired(efd, 0));
	/* out of range: refused locally */
	assert_int_equal(facet_core_irq_enable(f->dev, FACET_CORE_IRQ_MSIX, 3, 2, fds), -EINVAL);
	assert_int_equal(facet_core_irq_enable(f->dev, FACET_CORE_IRQ_INTX, 0, 1, &efd), 0);
	assert_int_equal(facet_vfu_server_irq_raise(f->t.srv, FACET_VFU_IRQ_INTX, 0), 0);
	assert_true(efd_fired(efd, 1000));

	assert_int_equal(facet_core_irq_disable(f->dev, FACET_CORE_IRQ_MSIX), 0);
	assert_int_equal(facet_vfu_server_irq_raise(f->t.srv, FACET_VFU_IRQ_MSIX, 1), -ENOENT);
	assert_int_equal(facet_vfu_server_irq_raise(f->t.srv, FACET_VFU_IRQ_MSIX, 3), -ENOENT);
	assert_int_equal(facet_core_irq_disable(f->dev, FACET_CORE_IRQ_INTX), 0);
	close(efd);
	close(efd2);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	uint32_t v;

	assert_int_equal(facet_core_write32(f->dev, 0, TREG_SCRATCH, 7), 0);
	assert_int_equal(facet_core_reset(f->dev), 0);
	assert_int_equal(atomic_load(&f->t.resets), 1);
	assert_int_equal(facet_core_read32(f->dev, 0, TREG_SCRATCH, &v), 0);
	assert_int_equal(v, 0);
}

static void test_dma_alloc(void **state)
{
	struct fixture *f = *state;
	struct facet_core_dma_opts opts = { .numa_node = -1, .no_hugepages = true };
	struct facet_core_dma *dma;
	uint8_t *va, buf[16];
	void *dva;
	uint64_t iova;

	assert_int_equal(facet_core_dma_alloc(f->dev, 8192, &opts, &dma), 0);
	va = facet_core_dma_va(dma);
	iova = facet_core_dma_iova(dma);
	assert_int_equal(facet_vfu_server_dma_count(f->t.srv), 1);
	assert_int_equal(atomic_load(&f->t.dma_added), 1);

	facet_vfu_server_dma_lock(f->t.srv);
	assert_int_equal(facet_vfu_server_dma_translate(f->t.srv, iova + 4096, 4096,
							FACET_VFU_DMA_READ | FACET_VFU_DMA_WRITE,
							&dva),
			 0);
	memcpy(dva, "device wrote", 13);
	assert_int_equal(facet_vfu_server_dma_translate(f->t.srv, iova + 4096, 4097,
							FACET_VFU_DMA_READ, &dva),
			 -EFAULT);
	assert_int_equal(
		facet_vfu_server_dma_translate(f->t.srv, iova - 4096, 8, FACET_VFU_DMA_READ, &dva),
		-EFAULT);
	facet_vfu_server_dma_unlock(f->t.srv);
	assert_string_equal((char *)va + 4096, "device wrote");

	memcpy(va, "driver wrote", 13);
	assert_int_equal(facet_vfu_server_dma_read(f->t.srv, iova, buf, 13), 0);
	assert_string_equal((char *)buf, "driver wrote");
	assert_int_equal(facet_vfu_server_dma_write(f->t.srv, iova + 8190, "xy", 2), 0);
	assert_int_equal(va[8191], 'y');
	assert_int_equal(facet_vfu_server_dma_write(f->t.srv, iova + 8191, "xy", 2), -EFAULT);

	/* the device DMAs from its own register handler (server thread) */
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_DMA_LO, (uint32_t)iova), 0);
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_DMA_HI, (uint32_t)(iova >> 32)), 0);
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_DMA_LEN, 4), 0);
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_DMA_GO, 1), 0);
	assert_memory_equal(va, "esjw", 4);

	facet_core_dma_free(dma);
	assert_int_equal(facet_vfu_server_dma_count(f->t.srv), 0);
	assert_int_equal(atomic_load(&f->t.dma_removing), 1);
	assert_int_equal(facet_core_dma_count(f->dev), 0);
}

static void test_dma_register_nofd(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 * 4096;
	uint8_t *va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *big = malloc(len);
	uint64_t iova, ro_iova;
	uint32_t stat;
	void *dva;
	char buf[8];

	assert_true(va != MAP_FAILED);
	assert_int_equal(facet_core_dma_register(f->dev, va, len, -1, 0, FACET_CORE_DMA_RW, &iova),
			 0);
	assert_int_equal(facet_vfu_server_dma_count(f->t.srv), 1);
	facet_vfu_server_dma_lock(f->t.srv);
	assert_int_equal(
		facet_vfu_server_dma_translate(f->t.srv, iova, 8, FACET_VFU_DMA_READ, &dva),
		-ENOTSUP);
	facet_vfu_server_dma_unlock(f->t.srv);

	/* by DMA_WRITE / DMA_READ messages */
	assert_int_equal(facet_vfu_server_dma_write(f->t.srv, iova + 100, "hello", 6), 0);
	assert_string_equal((char *)va + 100, "hello");
	memcpy(va + 200, "world", 6);
	assert_int_equal(facet_vfu_server_dma_read(f->t.srv, iova + 200, buf, 6), 0);
	assert_string_equal(buf, "world");
	/* larger than one message */
	for (size_t i = 0; i < len; i++)
		va[i] = (uint8_t)i;
	assert_int_equal(facet_vfu_server_dma_read(f->t.srv, iova, big, len), 0);
	assert_memory_equal(big, va, len);
	assert_int_equal(facet_vfu_server_dma_read(f->t.srv, iova + len - 4, buf, 8), -EFAULT);

	/* from the server thread, inside a register write */
	memcpy(va, "abcd", 4);
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_DMA_LO, (uint32_t)iova), 0);
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_DMA_HI, (uint32_t)(iova >> 32)), 0);
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_DMA_LEN, 4), 0);
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_DMA_GO, 1), 0);
	assert_int_equal(facet_core_read32(f->dev, 0, TREG_DMA_STAT, &stat), 0);
	assert_int_equal(stat, 0);
	assert_memory_equal(va, "bcde", 4);

	/* read-only for the device: writes refused */
	assert_int_equal(
		facet_core_dma_register(f->dev, big, 0, -1, 0, FACET_CORE_DMA_READ, &ro_iova),
		-EINVAL);
	assert_int_equal(
		facet_core_dma_register(f->dev, va, len, -1, 0, FACET_CORE_DMA_READ, &ro_iova),
		-EEXIST);
	assert_int_equal(facet_core_dma_unregister(f->dev, iova), 0);
	assert_int_equal(
		facet_core_dma_register(f->dev, va, len, -1, 0, FACET_CORE_DMA_READ, &ro_iova), 0);
	assert_int_equal(facet_vfu_server_dma_write(f->t.srv, ro_iova, "no", 2), -EACCES);
	assert_int_equal(facet_vfu_server_dma_read(f->t.srv, ro_iova, buf, 2), 0);
	assert_int_equal(facet_core_dma_unregister(f->dev, ro_iova), 0);
	assert_int_equal(facet_core_dma_unregister(f->dev, ro_iova), -ENOENT);
	assert_int_equal(facet_vfu_server_dma_count(f->t.srv), 0);
	assert_int_equal(facet_vfu_server_dma_read(f->t.srv, ro_iova, buf, 2), -EFAULT);
	munmap(va, len);
	free(big);
}

static void test_dma_register_fd(void **state)
{
	struct fixture *f = *state;
	int mfd = memfd_create("treg", MFD_CLOEXEC);
	uint8_t *va;
	uint64_t iova;
	void *dva;

	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 3 * 4096), 0);
	va = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 4096);
	assert_true(va != MAP_FAILED);
	assert_int_equal(
		facet_core_dma_register(f->dev, va, 2 * 4096, mfd, 4096, FACET_CORE_DMA_RW, &iova),
		0);
	facet_vfu_server_dma_lock(f->t.srv);
	assert_int_equal(facet_vfu_server_dma_translate(f->t.srv, iova + 4096, 16,
							FACET_VFU_DMA_WRITE, &dva),
			 0);
	memcpy(dva, "offset ok", 10);
	facet_vfu_server_dma_unlock(f->t.srv);
	assert_string_equal((char *)va + 4096, "offset ok");
	assert_int_equal(facet_core_dma_unregister(f->dev, iova), 0);
	munmap(va, 2 * 4096);
	close(mfd);
}

static void test_reconnect(void **state)
{
	struct fixture *f = *state;
	struct facet_core_dma *dma;
	int efd = eventfd(0, EFD_CLOEXEC);
	uint32_t v;

	/* a client that leaves with maps and irqs set: the server drops them */
	assert_int_equal(facet_core_dma_alloc(f->dev, 4096, NULL, &dma), 0);
	assert_int_equal(facet_core_irq_enable(f->dev, FACET_CORE_IRQ_MSIX, 0, 1, &efd), 0);
	assert_int_equal(facet_core_write32(f->dev, 0, TREG_SCRATCH, 99), 0);
	facet_core_close(f->dev);
	assert_true(tdev_wait_client(&f->t, false, 2000));
	assert_int_equal(atomic_load(&f->t.gone), 1);
	assert_int_equal(facet_vfu_server_dma_count(f->t.srv), 0);
	assert_int_equal(facet_vfu_server_irq_raise(f->t.srv, FACET_VFU_IRQ_MSIX, 0), -ENOENT);
	close(efd);
	/* device state survives; a new client is served */
	assert_int_equal(facet_core_open(tdev_spec(&f->t), NULL, &f->dev), 0);
	assert_int_equal(facet_core_read32(f->dev, 0, TREG_SCRATCH, &v), 0);
	assert_int_equal(v, 99);
	assert_int_equal(atomic_load(&f->t.connected), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irqs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_alloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_register_nofd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_register_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
