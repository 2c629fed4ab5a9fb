/* SPDX-License-Identifier: MIT */
/*
 * The IOVA allocator (lib/core/core_iova.c), driven directly: alignment,
 * exhaustion, reservation, coalescing on free, and a randomized run checked
 * against a bitmap of the same space.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_private.h"

#define PAGE  4096ull
#define BASE  (1ull << 20)
#define PAGES 256

static struct facet_core_dev dev;

static int setup(void **state)
{
	return core_iova_init(&dev, BASE, BASE + PAGES * PAGE);
}

static int teardown(void **state)
{
	core_iova_fini(&dev);
	return 0;
}

static unsigned int holes(void)
{
	struct core_iova_hole *h;
	unsigned int n = 0;

	TAILQ_FOREACH(h, &dev.iova_free, next)
	n++;
	return n;
}

static void test_alloc_aligned(void **state)
{
	uint64_t a, b;

	assert_int_equal(core_iova_alloc(&dev, PAGE, PAGE, &a), 0);
	assert_int_equal(a, BASE);
	assert_int_equal(core_iova_alloc(&dev, PAGE, 64 * PAGE, &b), 0);
	assert_int_equal(b % (64 * PAGE), 0);
	assert_true(b >= a + PAGE);
	assert_int_equal(core_iova_alloc(&dev, PAGE, 3 * PAGE, &b), -EINVAL); /* not a power of 2 */
	assert_int_equal(core_iova_alloc(&dev, 0, PAGE, &b), -EINVAL);
}

static void test_exhaustion_and_coalescing(void **state)
{
	uint64_t iova[PAGES], extra;

	for (unsigned int i = 0; i < PAGES; i++)
		assert_int_equal(core_iova_alloc(&dev, PAGE, PAGE, &iova[i]), 0);
	assert_int_equal(core_iova_alloc(&dev, PAGE, PAGE, &extra), -ENOSPC);
	assert_int_equal(holes(), 0);
	/* Free every other page, then the rest: the space must end up whole again. */
	for (unsigned int i = 0; i < PAGES; i += 2)
		core_iova_free(&dev, iova[i], PAGE);
	assert_int_equal(holes(), PAGES / 2);
	for (unsigned int i = 1; i < PAGES; i += 2)
		core_iova_free(&dev, iova[i], PAGE);
	assert_int_equal(holes(), 1);
	assert_int_equal(core_iova_alloc(&dev, PAGES * PAGE, PAGE, &extra), 0);
	assert_int_equal(extra, BASE);
}

static void test_reserve(void **state)
{
	uint64_t a;

	assert_int_equal(core_iova_reserve(&dev, BASE + 8 * PAGE, 4 * PAGE), 0);
	assert_int_equal(core_iova_reserve(&dev, BASE + 10 * PAGE, PAGE), -EEXIST);
	assert_int_equal(core_iova_reserve(&dev, BASE - PAGE, PAGE), -EEXIST); /* outside */
	assert_int_equal(core_iova_alloc(&dev, 16 * PAGE, 16 * PAGE, &a), 0);
	assert_true(a >= BASE + 12 * PAGE);
}

/* Random allocations and frees, checked page by page against a bitmap. */
static void test_random_against_bitmap(void **state)
{
	struct {
		uint64_t iova, pages;
	} live[PAGES];
	bool used[PAGES] = { 0 };
	unsigned int n = 0, seed = 7;

	for (int round = 0; round < 20000; round++) {
		if (n && (rand_r(&seed) % 2 || n == PAGES)) {
			unsigned int k = rand_r(&seed) % n;

			for (uint64_t p = 0; p < live[k].pages; p++)
				used[(live[k].iova - BASE) / PAGE + p] = false;
			core_iova_free(&dev, live[k].iova, live[k].pages * PAGE);
			live[k] = live[--n];
			continue;
		}
		uint64_t pages = 1 + rand_r(&seed) % 8, iova;
		int ret = core_iova_alloc(&dev, pages * PAGE, PAGE, &iova);

		if (ret == -ENOSPC)
			continue;
		assert_int_equal(ret, 0);
		assert_true(iova >= BASE && iova + pages * PAGE <= BASE + PAGES * PAGE);
		for (uint64_t p = 0; p < pages; p++) {
			assert_false(used[(iova - BASE) / PAGE + p]); /* never handed out twice */
			used[(iova - BASE) / PAGE + p] = true;
		}
		live[n].iova = iova;
		live[n++].pages = pages;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alloc_aligned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion_and_coalescing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_against_bitmap, setup, teardown),
	};

	return cmocka_run_group_tests_name("core_iova", tests, NULL, NULL);
}
