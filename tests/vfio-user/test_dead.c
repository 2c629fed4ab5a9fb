/* SPDX-License-Identifier: MIT */
/*
 * The server process dies (kill -9) mid-session: the client notices at once,
 * blocked callers are woken with -ENODEV, every later call fails quickly,
 * and close still cleans up.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "facet_core.h"
#include "tvfu.h"

struct child {
	pid_t pid;
	char path[108];
	char spec[128];
};

/* Serve the test device from a child process until killed. */
static void spawn_server(struct child *c, bool stall)
{
	tvfu_sock_path(c->path, sizeof(c->path), "dead");
	snprintf(c->spec, sizeof(c->spec), "vfio-user:%s", c->path);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		static struct tdev t;

		/* Stalling before serving: the parent may connect the moment we listen. */
		if (tdev_prepare_at(&t, c->path))
			_exit(1);
		atomic_store(&t.stall, stall);
		if (tdev_serve(&t))
			_exit(1);
		for (;;)
			pause();
	}
	for (int i = 0; i < 2000; i++) {
		int fd = tvfu_connect(c->path);

		if (fd >= 0) {
			close(fd);
			return;
		}
		usleep(1000);
	}
	fail_msg("child server did not come up");
}

static void kill_server(struct child *c)
{
	int status;

	kill(c->pid, SIGKILL);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	unlink(c->path);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_killed_idle(void **state)
{
	struct facet_core_open_opts opts = { .timeout_ms = 10000 };
	struct facet_core_dev *dev;
	struct facet_core_dma *dma, *dma2;
	static uint8_t page[4096] __attribute__((aligned(4096)));
	struct child c;
	uint32_t v;
	int efd = eventfd(0, EFD_CLOEXEC);
	double t0;
	uint64_t iova;

	spawn_server(&c, false);
	assert_int_equal(facet_core_open(c.spec, &opts, &dev), 0);
	assert_int_equal(facet_core_read32(dev, 0, TREG_ID, &v), 0);
	assert_int_equal(facet_core_dma_alloc(dev, 4096, NULL, &dma), 0);
	assert_int_equal(facet_core_irq_enable(dev, FACET_CORE_IRQ_MSIX, 0, 1, &efd), 0);

	kill_server(&c);
	t0 = now_ms();
	while (!facet_core_is_dead(dev) && now_ms() - t0 < 2000)
		usleep(1000);
	assert_true(facet_core_is_dead(dev));
	assert_int_equal(facet_core_read32(dev, 0, TREG_ID, &v), -ENODEV);
	assert_int_equal(facet_core_cfg_read(dev, 0, &v, 4), -ENODEV);
	assert_int_equal(facet_core_reset(dev), -ENODEV);
	assert_int_equal(facet_core_irq_disable(dev, FACET_CORE_IRQ_MSIX), -ENODEV);
	assert_int_equal(facet_core_dma_register(dev, page, 4096, -1, 0, 0, &iova), -ENODEV);
	assert_int_equal(facet_core_dma_alloc(dev, 4096, NULL, &dma2), -ENODEV);
	assert_true(now_ms() - t0 < 1000);
	facet_core_dma_free(dma);
	facet_core_close(dev);
	close(efd);
}

struct blocked {
	struct facet_core_dev *dev;
	int ret;
	double done_ms;
};

static void *blocked_read(void *arg)
{
	struct blocked *b = arg;
	uint32_t v;

	b->ret = facet_core_read32(b->dev, 0, TREG_STALL, &v);
	b->done_ms = now_ms();
	return NULL;
}

static void test_killed_while_blocked(void **state)
{
	struct facet_core_open_opts opts = { .timeout_ms = 10000 };
	struct blocked b = { 0 };
	struct child c;
	pthread_t th;
	double t0;

	spawn_server(&c, true);
	assert_int_equal(facet_core_open(c.spec, &opts, &b.dev), 0);
	assert_int_equal(pthread_create(&th, NULL, blocked_read, &b), 0);
	usleep(100 * 1000); /* the read is now stuck in the server */
	t0 = now_ms();
	kill_server(&c);
	pthread_join(th, NULL);
	assert_int_equal(b.ret, -ENODEV);
	assert_true(b.done_ms - t0 < 1000); /* not the 10 s timeout */
	assert_true(facet_core_is_dead(b.dev));
	facet_core_close(b.dev);
}

static void test_restarted_server(void **state)
{
	struct facet_core_dev *dev;
	struct child c;
	uint32_t v;

	/* a dead device stays dead; opening again reaches the new server */
	spawn_server(&c, false);
	assert_int_equal(facet_core_open(c.spec, NULL, &dev), 0);
	kill_server(&c);
	spawn_server(&c, false);
	assert_int_equal(facet_core_read32(dev, 0, TREG_ID, &v), -ENODEV);
	facet_core_close(dev);
	assert_int_equal(facet_core_open(c.spec, NULL, &dev), 0);
	assert_int_equal(facet_core_read32(dev, 0, TREG_ID, &v), 0);
	facet_core_close(dev);
	kill_server(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killed_idle),
		cmocka_unit_test(test_killed_while_blocked),
		cmocka_unit_test(test_restarted_server),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
