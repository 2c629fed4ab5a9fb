/* SPDX-License-Identifier: MIT */
/*
 * Private to the refnic core driver: its state, and how its files share it.
 *
 * refnic_core.c    probe/remove: bring-up and teardown of the device
 * refnic_admin.c   the admin queue: submit a command, wait for its CQE
 * refnic_events.c  the PF's event queue and its thread
 * refnic_slices.c  publishing the slices and the API they get
 */
#ifndef REFNIC_CORE_PRIV_H
#define REFNIC_CORE_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "facet_log.h"
#include "refnic_core.h"

#define RC_TAG "refnic"

#define RC_ERR(...)   FACET_ERR(RC_TAG, __VA_ARGS__)
#define RC_WARN(...)  FACET_WARN(RC_TAG, __VA_ARGS__)
#define RC_INFO(...)  FACET_INFO(RC_TAG, __VA_ARGS__)
#define RC_DEBUG(...) FACET_DEBUG(RC_TAG, __VA_ARGS__)

/* Admin ring size the driver asks for: 64 commands. */
#define RC_ADMIN_LOG 6

/* Slice kinds a function may have, in publishing order. */
enum rc_slice_kind {
	RC_SLICE_ETH,
	RC_SLICE_RDMA,
	RC_SLICE_KINDS,
};

struct refnic_core;

struct refnic_slice {
	struct refnic_core *core;
	uint16_t function;
	enum rc_slice_kind kind;
	struct facet_bus_device *dev; /* publisher's reference */
};

struct rc_admin {
	pthread_mutex_t lock;	     /* one command in flight at a time */
	struct facet_core_dma *ring; /* SQ then CQ */
	struct refnic_sqe *sq;
	volatile struct refnic_cqe *cq;
	uint32_t mask;
	uint32_t pi;   /* next SQ slot */
	uint32_t ci;   /* next CQ slot */
	uint8_t phase; /* expected CQE phase */
	bool broken;   /* a command failed to complete: the rings are out of step */
	unsigned int timeout_ms;
};

#define RC_EVENT_SUBS_MAX 8

struct rc_events {
	struct facet_core_dma *ring;
	uint32_t qid, db_offset;
	uint32_t ci;   /* next entry to read */
	uint8_t phase; /* expected phase */
	int irq_fd;    /* MSI-X vector 1, or -1: poll */
	int stop_fd;
	pthread_t thread;
	bool running;
	_Atomic uint64_t link; /* last LINK_CHANGE data */
	pthread_mutex_t subs_lock;
	struct {
		void (*fn)(const struct refnic_eqe *eqe, void *arg);
		void *arg;
	} subs[RC_EVENT_SUBS_MAX];
};

struct refnic_core {
	struct facet_bus_device *bdev; /* the PCI bus device we are bound to */
	struct facet_core_dev *pci;
	const char *name;	/* bdev's name, for logs */
	volatile uint8_t *bar0; /* doorbell pages mapped; page 0 is trapped */
	uint32_t db_offset, db_stride;
	int kick_fd; /* ioeventfd standing for a KICK write (§7), -1: trapped write */
	struct refnic_caps caps;
	struct rc_admin admin;
	struct rc_events events;
	struct refnic_slice slices[RC_SLICE_KINDS];
};

/* refnic_admin.c */
int rc_admin_init(struct refnic_core *rc);
void rc_admin_fini(struct refnic_core *rc);
int rc_admin_cmd(struct refnic_core *rc, struct refnic_sqe *sqe, struct refnic_cqe *cqe);
/* Run a command with a DMA data buffer of @len bytes copied out into @out. */
int rc_admin_cmd_read(struct refnic_core *rc, uint8_t opcode, uint16_t function, void *out,
		      uint32_t len);
void rc_ring_doorbell(struct refnic_core *rc, uint16_t function, uint32_t db_offset,
		      uint32_t value);
volatile uint8_t *rc_doorbell_page(struct refnic_core *rc, uint16_t function);

/* refnic_events.c */
int rc_events_start(struct refnic_core *rc);
void rc_events_stop(struct refnic_core *rc);
/* Returns a subscription id >= 0, or -ENOSPC. Callbacks run in the event thread. */
int rc_events_subscribe(struct refnic_core *rc, void (*fn)(const struct refnic_eqe *, void *),
			void *arg);
void rc_events_unsubscribe(struct refnic_core *rc, int id);

/* refnic_slices.c */
int rc_slices_publish(struct refnic_core *rc);
void rc_slices_remove(struct refnic_core *rc);

#endif /* REFNIC_CORE_PRIV_H */
