/* SPDX-License-Identifier: MIT */
/*
 * The worker thread: the engine of every device in a system. It polls the
 * doorbell pages (plain memory the drivers store to) and the uplink while
 * there is work, then naps and finally sleeps on an eventfd (and the
 * uplink's fd) with SLEEPING published, so a KICK ends either at once and
 * an idle model costs no CPU. docs/refnic.md §7 is the protocol, and the
 * reason for the order of the steps in worker_sleep().
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "refnic_priv.h"

#define SPIN_NS	   20000ull /* busy-poll this long after the last work */
#define NAP_MIN_NS 1000ll   /* then nap, starting here, */
#define NAP_MAX_NS 256000ll /* doubling up to this */
#define FOREVER	   (-1ll)   /* a sleep without a timeout */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

/* DEV_STATE.SLEEPING of every device's active functions; sys->lock held. */
static void set_sleeping(struct refnic_system *sys, bool sleeping)
{
	for (unsigned int i = 0; i < sys->ndevs; i++)
		refnic_funcs_set_sleeping(sys->devs[i], sleeping);
}

static void count_wakeup(struct refnic_system *sys)
{
	for (unsigned int i = 0; i < sys->ndevs; i++)
		sys->devs[i]->stats.wakeups++;
}

/*
 * Nanoseconds until the earliest RDMA timer (retransmission, RNR wait), 0 if
 * one is due, FOREVER if none; a timer is a wake-up the device gives itself.
 * sys->lock held.
 */
static int64_t timer_ns(struct refnic_system *sys)
{
	uint64_t dl = UINT64_MAX, now;

	for (unsigned int i = 0; i < sys->ndevs; i++) {
		uint64_t d = refnic_rdma_deadline(sys->devs[i]);

		dl = d < dl ? d : dl;
	}
	if (dl == UINT64_MAX)
		return FOREVER;
	now = now_ns();
	if (dl <= now)
		return 0;
	dl -= now;
	return dl > 3600 * 1000000000ull ? 3600 * 1000000000ll : (int64_t)dl;
}

/* The shorter of two timeouts, FOREVER being the longest. */
static int64_t min_timeout(int64_t a, int64_t b)
{
	if (a == FOREVER)
		return b;
	if (b == FOREVER)
		return a;
	return a < b ? a : b;
}

static void wake_drain(struct refnic_system *sys)
{
	uint64_t v;

	while (read(sys->wake_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/*
 * Block until a KICK (the eventfd: written by a trapped write's handler, or
 * directly by a driver, which holds it as KICK's ioeventfd, refnic_dev.c),
 * a frame on the uplink (its fd) or @timeout_ns (FOREVER: no limit). ppoll,
 * not poll: naps are microseconds.
 */
static void worker_block(struct refnic_system *sys, int64_t timeout_ns)
{
	struct pollfd pfd[2] = { { .fd = sys->wake_fd, .events = POLLIN } };
	struct timespec ts = { .tv_sec = timeout_ns / 1000000000ll,
			       .tv_nsec = timeout_ns % 1000000000ll };
	nfds_t nfds = 1;

	if (sys->uplink) {
		pfd[1].fd = refnic_uplink_poll_fd(sys->uplink);
		pfd[1].events = POLLIN;
		nfds = pfd[1].fd >= 0 ? 2 : 1;
	}
	while (ppoll(pfd, nfds, timeout_ns == FOREVER ? NULL : &ts, NULL) < 0 && errno == EINTR)
		;
}

/*
 * Publish SLEEPING, fence, re-check every doorbell, and only then block: a
 * doorbell written before the driver read SLEEPING = 0 is seen by the
 * re-check, and a driver that read SLEEPING = 1 writes KICK, which the
 * eventfd latches even if it lands before ppoll() (§7). Wake-ups latched
 * before the flag went up are drained first: the re-check covers them.
 *
 * A nap (@nap_ns > 0) is the same protocol with a timeout, so a doorbell
 * rung during a nap wakes the worker at once instead of waiting for the nap
 * to end; only the full sleep (@nap_ns = FOREVER) counts as the device being
 * asleep (refnic_system_is_sleeping(), the wakeups statistic). Either way a
 * pending RDMA timer shortens the block.
 */
static void worker_sleep(struct refnic_system *sys, int64_t nap_ns)
{
	bool deep = nap_ns == FOREVER, work;
	int64_t timeout = 0;

	wake_drain(sys);
	pthread_mutex_lock(&sys->lock);
	set_sleeping(sys, true);
	pthread_mutex_unlock(&sys->lock);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	pthread_mutex_lock(&sys->lock);
	work = worker_has_work(sys);
	if (!work)
		timeout = min_timeout(nap_ns, timer_ns(sys));
	pthread_mutex_unlock(&sys->lock);
	if (!work && timeout != 0 && !atomic_load(&sys->stop)) {
		atomic_store(&sys->sleeping, deep);
		worker_block(sys, timeout);
		atomic_store(&sys->sleeping, false);
		wake_drain(sys);
	}

	pthread_mutex_lock(&sys->lock);
	set_sleeping(sys, false);
	if (deep && !work)
		count_wakeup(sys);
	pthread_mutex_unlock(&sys->lock);
}

/*
 * Spin while there is work and for SPIN_NS after it, yielding (the next doorbell is
 * usually close behind the last), then nap in growing steps, then sleep.
 * Naps and the sleep both publish SLEEPING, so from SPIN_NS on a driver
 * pays a KICK per doorbell and gets the worker back at once.
 */
static void *worker_main(void *arg)
{
	struct refnic_system *sys = arg;
	uint64_t last_work = now_ns();
	int64_t nap = NAP_MIN_NS;

	while (!atomic_load(&sys->stop)) {
		uint64_t idle;
		unsigned int n;

		pthread_mutex_lock(&sys->lock);
		n = worker_poll(sys);
		pthread_mutex_unlock(&sys->lock);
		if (n) {
			last_work = now_ns();
			nap = NAP_MIN_NS;
			continue;
		}
		idle = now_ns() - last_work;
		if (idle < SPIN_NS) {
			/* Not a pause loop: a driver thread sharing this core (two cores,
			 * three pollers) gets it at once, and the next doorbell comes sooner. */
			sched_yield();
		} else if (idle < sys->idle_us * 1000ull) {
			worker_sleep(sys, nap);
			nap = nap * 2 > NAP_MAX_NS ? NAP_MAX_NS : nap * 2;
		} else {
			worker_sleep(sys, FOREVER);
			last_work = now_ns();
			nap = NAP_MIN_NS;
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
