/* SPDX-License-Identifier: MIT */
/*
 * A system (refnic_model.h): the devices one process serves, the embedded
 * switch that joins their function ports and the uplink, and the one worker
 * that runs them all. Devices join at creation and leave at destruction;
 * leaving stops the worker for a moment, so the worker never holds a device
 * that is going away (it may be inside a pass with the lock dropped).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refnic_priv.h"

#define DEFAULT_IDLE_US 2000u

int refnic_system_create(const struct refnic_system_opts *opts, struct refnic_system **out)
{
	struct refnic_system *sys;
	int rc;

	if (!out)
		return -EINVAL;
	sys = calloc(1, sizeof(*sys));
	if (!sys)
		return -ENOMEM;
	pthread_mutex_init(&sys->lock, NULL);
	pthread_mutex_init(&sys->ctl, NULL);
	sys->wake_fd = -1;
	sys->idle_us = opts && opts->idle_us ? opts->idle_us : DEFAULT_IDLE_US;
	rc = refnic_switch_init(sys, opts ? opts->uplink : NULL);
	if (!rc)
		rc = refnic_worker_start(sys);
	if (rc) {
		refnic_switch_fini(sys);
		refnic_worker_fini(sys);
		pthread_mutex_destroy(&sys->ctl);
		pthread_mutex_destroy(&sys->lock);
		free(sys);
		return rc;
	}
	*out = sys;
	return 0;
}

void refnic_system_destroy(struct refnic_system *sys)
{
	if (!sys)
		return;
	/* Devices the caller left: they take themselves out of devs[]. */
	while (sys->ndevs)
		refnic_model_destroy((struct refnic_model *)sys->devs[sys->ndevs - 1]);
	refnic_worker_stop(sys);
	refnic_worker_fini(sys);
	refnic_switch_fini(sys);
	pthread_mutex_destroy(&sys->ctl);
	pthread_mutex_destroy(&sys->lock);
	free(sys);
}

bool refnic_system_is_sleeping(struct refnic_system *sys)
{
	return atomic_load(&sys->sleeping);
}

/* sys->lock held. The worker finds the device on its next pass. */
int refnic_sys_attach(struct refnic_system *sys, struct refnic_dev *dev)
{
	if (sys->ndevs == REFNIC_SYS_MAX_DEVS) {
		RN_ERR("a system holds at most %d devices", REFNIC_SYS_MAX_DEVS);
		return -ENOSPC;
	}
	sys->devs[sys->ndevs++] = dev;
	dev->attached = true;
	return 0;
}

/*
 * Take @dev out: stop the worker (it finishes its pass, even one that
 * dropped the lock for a DMA message), remove the device, restart it.
 */
void refnic_sys_detach(struct refnic_system *sys, struct refnic_dev *dev)
{
	int rc;

	pthread_mutex_lock(&sys->ctl);
	refnic_worker_stop(sys);
	pthread_mutex_lock(&sys->lock);
	for (unsigned int i = 0; i < sys->ndevs; i++) {
		if (sys->devs[i] != dev)
			continue;
		memmove(&sys->devs[i], &sys->devs[i + 1],
			(sys->ndevs - i - 1) * sizeof(sys->devs[0]));
		sys->ndevs--;
		break;
	}
	dev->attached = false;
	pthread_mutex_unlock(&sys->lock);
	rc = refnic_worker_start(sys);
	if (rc)
		RN_ERR("cannot restart the worker: %s", strerror(-rc));
	pthread_mutex_unlock(&sys->ctl);
}
