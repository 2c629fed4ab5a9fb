/* SPDX-License-Identifier: MIT */
/*
 * The worker thread: the engine of every device in a system. It polls the
 * doorbell pages (plain memory the drivers store to) and the uplink while
 * there is work, backs off when there is none, and finally sleeps on an
 * eventfd (and the uplink's fd) until something wakes it, so an idle model
 * costs no CPU. docs/refnic.md §7 is the protocol, and the
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

/* One pass over everything the devices serve; sys->lock held. */
static unsigned int worker_poll(struct refnic_system *sys)
{
	unsigned int n = 0;

	/* ndevs is read every time: the admin path may drop the lock, and a device may join. */
	for (unsigned int i = 0; i < sys->ndevs; i++)
		n += refnic_admin_poll(sys->devs[i]) + refnic_events_poll(sys->devs[i]);
	for (unsigned int i = 0; i < sys->ndevs; i++)
		n += refnic_queues_poll(sys->devs[i]) + refnic_rdma_poll(sys->devs[i]);
	return n + refnic_switch_poll_uplink(sys);
}

static bool worker_has_work(struct refnic_system *sys)
{
	for (unsigned int i = 0; i < sys->ndevs; i++) {
		struct refnic_dev *dev = sys->devs[i];

		if (refnic_admin_has_work(dev) || refnic_events_pending(dev) ||
		    refnic_queues_have_work(dev) || refnic_rdma_has_work(dev))
			return true;
	}
	return false;
}

static void set_sleeping(struct refnic_system *sys, bool sleeping)
{
	for (unsigned int i = 0; i < sys->ndevs; i++) {
		refnic_funcs_set_sleeping(sys->devs[i], sleeping);
		if (!sleeping)
			sys->devs[i]->stats.wakeups++;
	}
}

/*
 * How long the sleep may last: until the earliest RDMA timer (retransmission,
 * RNR wait), or for ever; a timer is a wake-up the device gives itself.
 */
static int sleep_timeout_ms(struct refnic_system *sys)
{
	uint64_t dl = UINT64_MAX, now;

	for (unsigned int i = 0; i < sys->ndevs; i++) {
		uint64_t d = refnic_rdma_deadline(sys->devs[i]);

		dl = d < dl ? d : dl;
	}
	if (dl == UINT64_MAX)
		return -1;
	now = now_ns();
	if (dl <= now)
		return 0;
	dl = (dl - now + 999999) / 1000000; /* round up: never wake before it */
	return dl > 3600000 ? 3600000 : (int)dl;
}

static void wake_drain(struct refnic_system *sys)
{
	uint64_t v;

	while (read(sys->wake_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/*
 * Publish SLEEPING, fence, re-check every doorbell, and only then block: a
 * doorbell written before the driver read SLEEPING = 0 is seen by the
 * re-check, and a driver that read SLEEPING = 1 writes KICK, which the
 * eventfd latches even if it lands before poll() (§7). Wake-ups latched
 * before the flag went up are drained first: the re-check covers them.
 * Frames arriving on the uplink wake it through the uplink's fd, a pending
 * RDMA timer by the poll timeout.
 */
static void worker_sleep(struct refnic_system *sys)
{
	struct pollfd pfd[2] = { { .fd = sys->wake_fd, .events = POLLIN } };
	nfds_t nfds = 1;
	bool work;
	int timeout = -1;

	if (sys->uplink) {
		pfd[1].fd = refnic_uplink_poll_fd(sys->uplink);
		pfd[1].events = POLLIN;
		nfds = pfd[1].fd >= 0 ? 2 : 1;
	}
	wake_drain(sys);
	pthread_mutex_lock(&sys->lock);
	for (unsigned int i = 0; i < sys->ndevs; i++)
		refnic_funcs_set_sleeping(sys->devs[i], true);
	pthread_mutex_unlock(&sys->lock);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	pthread_mutex_lock(&sys->lock);
	work = worker_has_work(sys);
	if (!work)
		timeout = sleep_timeout_ms(sys);
	pthread_mutex_unlock(&sys->lock);
	if (!work && timeout != 0 && !atomic_load(&sys->stop)) {
		atomic_store(&sys->sleeping, true);
		while (poll(pfd, nfds, timeout) < 0 && errno == EINTR)
			;
		atomic_store(&sys->sleeping, false);
		wake_drain(sys);
	}

	pthread_mutex_lock(&sys->lock);
	if (work)
		for (unsigned int i = 0; i < sys->ndevs; i++)
			refnic_funcs_set_sleeping(sys->devs[i], false);
	else
		set_sleeping(sys, false);
	pthread_mutex_unlock(&sys->lock);
}

static void *worker_main(void *arg)
{
	struct refnic_system *sys = arg;
	uint64_t last_work = now_ns();
	unsigned int nap_us = 1;

	while (!atomic_load(&sys->stop)) {
		uint64_t idle;
		unsigned int n;

		pthread_mutex_lock(&sys->lock);
		n = worker_poll(sys);
		pthread_mutex_unlock(&sys->lock);
		if (n) {
			last_work = now_ns();
			nap_us = 1;
			continue;
		}
		idle = now_ns() - last_work;
		if (idle < SPIN_NS) {
			cpu_relax();
		} else if (idle < sys->idle_us * 1000ull) {
			nap(nap_us);
			nap_us = nap_us * 2 > NAP_MAX_US ? NAP_MAX_US : nap_us * 2;
		} else {
			worker_sleep(sys);
			last_work = now_ns();
			nap_us = 1;
		}
	}
	return NULL;
}

/* Wake the worker (KICK, trapped writes, events, shutdown); any thread. */
void refnic_sys_kick(struct refnic_system *sys)
{
	uint64_t one = 1;

	while (write(sys->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* Start the thread (the eventfd is made once and outlives restarts). */
int refnic_worker_start(struct refnic_system *sys)
{
	int rc;

	if (sys->wake_fd < 0) {
		sys->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (sys->wake_fd < 0)
			return -errno;
	}
	atomic_store(&sys->stop, false);
	rc = pthread_create(&sys->worker, NULL, worker_main, sys);
	if (rc)
		return -rc;
	sys->worker_started = true;
	return 0;
}

/* Stop and join the thread; the eventfd stays (trapped writes may still kick). */
void refnic_worker_stop(struct refnic_system *sys)
{
	if (!sys->worker_started)
		return;
	atomic_store(&sys->stop, true);
	refnic_sys_kick(sys);
	pthread_join(sys->worker, NULL);
	sys->worker_started = false;
	atomic_store(&sys->sleeping, false);
}

/* After the servers are gone: nothing can kick any more. */
void refnic_worker_fini(struct refnic_system *sys)
{
	if (sys->wake_fd >= 0)
		close(sys->wake_fd);
	sys->wake_fd = -1;
}
