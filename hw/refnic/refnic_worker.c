/* SPDX-License-Identifier: MIT */
/*
 * The worker thread: the device's engine. It polls the doorbell pages (plain
 * memory the driver stores to) while there is work, backs off when there is
 * none, and finally sleeps on an eventfd until something wakes it, so an
 * idle device costs no CPU. docs/refnic.md §7 is the protocol, and the
 * reason for the order of the steps in worker_sleep().
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "refnic_priv.h"

#define SPIN_NS	   20000ull /* busy-poll this long after the last work */
#define NAP_MAX_US 256u	    /* then nap, growing up to this */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static void nap(unsigned int us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

	nanosleep(&ts, NULL);
}

/* One pass over everything the device serves; dev->lock held. */
static unsigned int worker_poll(struct refnic_dev *dev)
{
	return refnic_admin_poll(dev) + refnic_events_poll(dev) + refnic_queues_poll(dev);
}

static bool worker_has_work(struct refnic_dev *dev)
{
	return refnic_admin_has_work(dev) || refnic_events_pending(dev) ||
	       refnic_queues_have_work(dev);
}

static void wake_drain(struct refnic_dev *dev)
{
	uint64_t v;

	while (read(dev->wake_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/*
 * Publish SLEEPING, fence, re-check every doorbell, and only then block: a
 * doorbell written before the driver read SLEEPING = 0 is seen by the
 * re-check, and a driver that read SLEEPING = 1 writes KICK, which the
 * eventfd latches even if it lands before poll() (§7). Wake-ups latched
 * before the flag went up are drained first: the re-check covers them.
 */
static void worker_sleep(struct refnic_dev *dev)
{
	struct pollfd pfd = { .fd = dev->wake_fd, .events = POLLIN };
	bool work;

	wake_drain(dev);
	pthread_mutex_lock(&dev->lock);
	refnic_funcs_set_sleeping(dev, true);
	pthread_mutex_unlock(&dev->lock);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	pthread_mutex_lock(&dev->lock);
	work = worker_has_work(dev);
	pthread_mutex_unlock(&dev->lock);
	if (!work && !atomic_load(&dev->stop)) {
		atomic_store(&dev->sleeping, true);
		while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
			;
		atomic_store(&dev->sleeping, false);
		wake_drain(dev);
	}

	pthread_mutex_lock(&dev->lock);
	refnic_funcs_set_sleeping(dev, false);
	if (!work)
		dev->stats.wakeups++;
	pthread_mutex_unlock(&dev->lock);
}

static void *worker_main(void *arg)
{
	struct refnic_dev *dev = arg;
	uint64_t last_work = now_ns();
	unsigned int nap_us = 1;

	while (!atomic_load(&dev->stop)) {
		uint64_t idle;
		unsigned int n;

		pthread_mutex_lock(&dev->lock);
		n = worker_poll(dev);
		pthread_mutex_unlock(&dev->lock);
		if (n) {
			last_work = now_ns();
			nap_us = 1;
			continue;
		}
		idle = now_ns() - last_work;
		if (idle < SPIN_NS) {
			cpu_relax();
		} else if (idle < dev->idle_us * 1000ull) {
			nap(nap_us);
			nap_us = nap_us * 2 > NAP_MAX_US ? NAP_MAX_US : nap_us * 2;
		} else {
			worker_sleep(dev);
			last_work = now_ns();
			nap_us = 1;
		}
	}
	return NULL;
}

/* Wake the worker (KICK, trapped writes, events, shutdown); any thread. */
void refnic_worker_kick(struct refnic_dev *dev)
{
	uint64_t one = 1;

	while (write(dev->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

int refnic_worker_start(struct refnic_dev *dev)
{
	int rc;

	dev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->wake_fd < 0)
		return -errno;
	atomic_store(&dev->stop, false);
	rc = pthread_create(&dev->worker, NULL, worker_main, dev);
	if (rc) {
		close(dev->wake_fd);
		dev->wake_fd = -1;
		return -rc;
	}
	dev->worker_started = true;
	return 0;
}

/* Stop and join the thread; the eventfd stays (trapped writes may still kick). */
void refnic_worker_stop(struct refnic_dev *dev)
{
	if (!dev->worker_started)
		return;
	atomic_store(&dev->stop, true);
	refnic_worker_kick(dev);
	pthread_join(dev->worker, NULL);
	dev->worker_started = false;
}

/* After the server is gone: nothing can kick any more. */
void refnic_worker_fini(struct refnic_dev *dev)
{
	if (dev->wake_fd >= 0)
		close(dev->wake_fd);
	dev->wake_fd = -1;
}
