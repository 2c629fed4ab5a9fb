/* SPDX-License-Identifier: MIT */
/*
 * The device list: Facet devices beside the kernel's.
 *
 * FACET_RDMA_DEVICES names the devices to open, comma-separated
 * ("vfio-user:/run/a.sock,vfio-user:/run/b.sock" or PCI addresses). On the
 * first ibv_get_device_list() the library creates one bus, opens each
 * device on it (the core and RDMA slice drivers autoload from the plugin
 * path) and lists every RDMA slice the drivers registered, in order, as
 * facet_<core><n>: facet_refnic0, facet_refnic1, ... numbered per kind of
 * device across all the devices named. Devices are opened once per process
 * and stay open until exit (a vfio-user device serves one process at a time,
 * so two processes need two devices).
 *
 * The list handed out is libibverbs' own list followed by ours. On a machine
 * without a kernel RDMA stack libibverbs fails (ENOSYS); that must not hide
 * our devices, so its failure only matters when we have none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facet_bus.h"
#include "facet_core_bus.h"
#include "fv_private.h"

static pthread_once_t fv_once = PTHREAD_ONCE_INIT;
static struct facet_bus *fv_bus;
static struct facet_bus_device *fv_roots[FV_MAX_DEVS]; /* publisher references */
static unsigned int fv_nroots;
static struct fv_device fv_devs[FV_MAX_DEVS];
static unsigned int fv_ndevs; /* set once, under fv_once */

static pthread_mutex_t fv_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int fv_open_contexts;

/* Lists handed out, so ibv_free_device_list() knows ours from libibverbs'. */
struct fv_list {
	struct fv_list *next;
	struct ibv_device **ours;
	struct ibv_device **real; /* freed with libibverbs' ibv_free_device_list */
};
static struct fv_list *fv_lists;

struct fv_device *fv_device_of(const struct ibv_device *dev)
{
	uintptr_t p = (uintptr_t)dev, first = (uintptr_t)&fv_devs[0];

	if (p < first || p >= (uintptr_t)&fv_devs[fv_ndevs])
		return NULL;
	if ((p - first) % sizeof(fv_devs[0]))
		return NULL;
	return (struct fv_device *)dev;
}

/* "refnic.rdma.0" -> "facet_refnic<n>", n counting the devices of that kind. */
static void fv_device_name(const char *slice, char *buf, size_t len)
{
	size_t kind = strcspn(slice, ".");
	unsigned int n = 0;

	for (unsigned int i = 0; i < fv_ndevs; i++) {
		const char *other = facet_rdma_dev_name(fv_devs[i].rdev);

		if (strcspn(other, ".") == kind && !strncmp(other, slice, kind))
			n++;
	}
	snprintf(buf, len, "facet_%.*s%u", (int)kind, slice, n);
}

static int fv_add_device(struct facet_rdma_dev *rdev, void *arg)
{
	struct fv_device *d = &fv_devs[fv_ndevs];
	struct facet_rdma_dev_attr attr;
	const char *slice = facet_rdma_dev_name(rdev);
	char name[IBV_SYSFS_NAME_MAX];
	int rc;

	if (fv_ndevs == FV_MAX_DEVS) {
		FV_WARN("more than %d RDMA devices; %s is not listed", FV_MAX_DEVS, slice);
		return 1;
	}
	rc = facet_rdma_query_device(rdev, &attr);
	if (rc) {
		FV_WARN("%s: cannot query the device (%s); not listed", slice, strerror(-rc));
		return 0;
	}
	facet_rdma_dev_ref(rdev);
	d->rdev = rdev;
	d->guid = attr.node_guid; /* the EUI-64 of the MAC, network order */
	d->max_inline_data = attr.max_inline_data;
	d->ibdev.node_type = IBV_NODE_CA;
	d->ibdev.transport_type = IBV_TRANSPORT_IB; /* what RoCE devices report */
	fv_device_name(slice, name, sizeof(name));
	snprintf(d->ibdev.name, sizeof(d->ibdev.name), "%s", name);
	snprintf(d->ibdev.dev_name, sizeof(d->ibdev.dev_name), "%s", slice);
	/* No sysfs behind us: paths that do not exist make sysfs readers fail cleanly. */
	snprintf(d->ibdev.dev_path, sizeof(d->ibdev.dev_path), "/sys/class/infiniband_verbs/%s",
		 name);
	snprintf(d->ibdev.ibdev_path, sizeof(d->ibdev.ibdev_path), "/sys/class/infiniband/%s",
		 name);
	fv_ndevs++;
	FV_INFO("%s is %s", d->ibdev.name, slice);
	return 0;
}

static void fv_open_roots(char *list)
{
	char *save = NULL;

	for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int rc;

		if (fv_nroots == FV_MAX_DEVS) {
			FV_WARN("more than %d devices in %s; %s and after are ignored", FV_MAX_DEVS,
				FV_DEVICES_ENV, name);
			return;
		}
		rc = facet_core_bus_open(fv_bus, name, NULL, &fv_roots[fv_nroots]);
		if (rc) {
			FV_ERR("cannot open %s: %s (is its device model running, and used by no "
			       "other process?)",
			       name, strerror(-rc));
			continue;
		}
		fv_nroots++;
	}
}

static void fv_init_once(void)
{
	const char *env = getenv(FV_DEVICES_ENV);
	char *list;
	int rc;

	if (!env || !*env)
		return;
	list = strdup(env);
	if (!list)
		return;
	rc = facet_bus_create(NULL, &fv_bus);
	if (rc) {
		FV_ERR("cannot create the bus: %s", strerror(-rc));
		free(list);
		return;
	}
	fv_open_roots(list);
	free(list);
	facet_rdma_dev_for_each(fv_bus, fv_add_device, NULL);
	if (fv_nroots && !fv_ndevs)
		FV_WARN("%s: no RDMA slice is bound (is the RDMA slice driver in the plugin path?)",
			env);
}

void fv_devices_init(void)
{
	pthread_once(&fv_once, fv_init_once);
}

void fv_context_opened(void)
{
	pthread_mutex_lock(&fv_lock);
	fv_open_contexts++;
	pthread_mutex_unlock(&fv_lock);
}

void fv_context_closed(void)
{
	pthread_mutex_lock(&fv_lock);
	fv_open_contexts--;
	pthread_mutex_unlock(&fv_lock);
}

/*
 * At exit, close the devices properly (the drivers tear their objects down
 * on the device) unless the application left contexts open: then other
 * threads may still be using them, and the process's end closes the
 * connections anyway.
 */
__attribute__((destructor)) static void fv_fini(void)
{
	if (!fv_bus || fv_open_contexts)
		return;
	for (unsigned int i = 0; i < fv_ndevs; i++)
		facet_rdma_dev_put(fv_devs[i].rdev);
	fv_ndevs = 0;
	for (unsigned int i = 0; i < fv_nroots; i++) {
		facet_bus_device_del(fv_roots[i]);
		facet_bus_device_put(fv_roots[i]);
	}
	facet_bus_destroy(fv_bus);
	fv_bus = NULL;
}

/* ---- the public calls ----------------------------------------------------------- */

struct ibv_device **ibv_get_device_list(int *num_devices)
{
	struct ibv_device **real, **ours;
	struct fv_list *entry;
	int nreal = 0, real_errno, n = 0;

	real = FV_FORWARD(ibv_get_device_list, "IBVERBS_1.1", NULL, &nreal);
	real_errno = errno;
	fv_devices_init();
	if (!fv_ndevs) {
		if (num_devices)
			*num_devices = real ? nreal : 0;
		errno = real_errno;
		return real;
	}
	if (!real)
		nreal = 0;
	ours = calloc((size_t)nreal + fv_ndevs + 1, sizeof(*ours));
	entry = calloc(1, sizeof(*entry));
	if (!ours || !entry) {
		free(ours);
		free(entry);
		if (real)
			FV_FORWARD(ibv_free_device_list, "IBVERBS_1.1", (void)0, real);
		errno = ENOMEM;
		return NULL;
	}
	for (int i = 0; i < nreal; i++)
		ours[n++] = real[i];
	for (unsigned int i = 0; i < fv_ndevs; i++)
		ours[n++] = &fv_devs[i].ibdev;
	entry->ours = ours;
	entry->real = real;
	pthread_mutex_lock(&fv_lock);
	entry->next = fv_lists;
	fv_lists = entry;
	pthread_mutex_unlock(&fv_lock);
	if (num_devices)
		*num_devices = n;
	return ours;
}

void ibv_free_device_list(struct ibv_device **list)
{
	struct fv_list **pp, *entry = NULL;

	pthread_mutex_lock(&fv_lock);
	for (pp = &fv_lists; *pp; pp = &(*pp)->next) {
		if ((*pp)->ours == list) {
			entry = *pp;
			*pp = entry->next;
			break;
		}
	}
	pthread_mutex_unlock(&fv_lock);
	if (!entry) {
		FV_FORWARD(ibv_free_device_list, "IBVERBS_1.1", (void)0, list);
		return;
	}
	if (entry->real)
		FV_FORWARD(ibv_free_device_list, "IBVERBS_1.1", (void)0, entry->real);
	free(entry->ours);
	free(entry);
}

const char *ibv_get_device_name(struct ibv_device *device)
{
	struct fv_device *d = fv_device_of(device);

	if (!d)
		return FV_FORWARD(ibv_get_device_name, "IBVERBS_1.1", NULL, device);
	return d->ibdev.name;
}

__be64 ibv_get_device_guid(struct ibv_device *device)
{
	struct fv_device *d = fv_device_of(device);

	if (!d)
		return FV_FORWARD(ibv_get_device_guid, "IBVERBS_1.1", 0, device);
	return d->guid;
}

/* The kernel's index of the device: there is none. */
int ibv_get_device_index(struct ibv_device *device)
{
	if (!fv_device_of(device))
		return FV_FORWARD(ibv_get_device_index, "IBVERBS_1.9", -1, device);
	return -1;
}
