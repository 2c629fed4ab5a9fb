/* SPDX-License-Identifier: MIT */
/*
 * refnic_model: the refnic reference device as a library. A model serves one
 * device over vfio-user at a UNIX socket path; a client (lib/core, QEMU...)
 * sees the PCI device that docs/refnic.md specifies. facet-refnic is a thin
 * command around this; tests embed the model directly.
 *
 * The model runs in threads of its own (the vfio-user server thread and a
 * worker that polls doorbells and sleeps when idle). Every function here is
 * thread-safe. Errors are negative errno values with a log line (tag
 * "refnic").
 */
#ifndef REFNIC_MODEL_H
#define REFNIC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refnic_hw.h"

#ifdef __cplusplus
extern "C" {
#endif

struct refnic_model;
struct refnic_system;

/*
 * A system: the devices one process serves, one embedded switch joining
 * the Ethernet ports of all their functions and the uplink, and one worker
 * thread that runs them all. Frames one device sends reach the others
 * through the switch, so two devices in one system are two ports wired
 * together (docs/refnic.md §14, §15.8).
 */
struct refnic_system_opts {
	/** Uplink spec (refnic_uplink.h): NULL or "none" for no uplink. */
	const char *uplink;
	/** Microseconds without work before the worker sleeps (0: 2000). */
	unsigned int idle_us;
};

/** Create a system (no devices yet) and start its worker. 0, -EINVAL, -ENOMEM, uplink errors. */
int refnic_system_create(const struct refnic_system_opts *opts, struct refnic_system **out);

/** Destroy the devices still in @sys, stop the worker, close the uplink, free. NULL: no-op. */
void refnic_system_destroy(struct refnic_system *sys);

/** True while the system's worker is asleep. */
bool refnic_system_is_sleeping(struct refnic_system *sys);

/** Options for refnic_model_create(); zeroed (or NULL) means defaults. */
struct refnic_model_opts {
	/** Function slots, PF included: 1..REFNIC_MAX_FUNCS (0: 4). */
	unsigned int num_funcs;
	/** Default MAC of function 0; function f gets base + f (all zero: 02:fa:ce:00:00:00). */
	uint8_t mac_base[6];
	/** Microseconds without work before the worker sleeps (0: 2000); own system only. */
	unsigned int idle_us;
	/** The system to join; NULL: one of its own (no uplink), destroyed with the device. */
	struct refnic_system *system;
};

/** Default number of function slots. */
#define REFNIC_MODEL_DEFAULT_FUNCS 4

/**
 * Create a device and serve it at @path (a stale socket there is replaced).
 * Returns 0 and sets *@out, or -EINVAL (bad options), -ENOMEM, or the
 * server's error (e.g. -EADDRINUSE, -ENAMETOOLONG).
 */
int refnic_model_create(const char *path, const struct refnic_model_opts *opts,
			struct refnic_model **out);

/** Disconnect the client, stop the threads, remove the socket, free. NULL is a no-op. */
void refnic_model_destroy(struct refnic_model *m);

/** Number of function slots. */
unsigned int refnic_model_num_funcs(const struct refnic_model *m);

/**
 * Change the link state of function @fn (the cable, seen from the function's
 * port): the device posts a LINK_CHANGE event to the function's event queue.
 * Returns 0, or -EINVAL for a bad function.
 */
int refnic_model_set_link(struct refnic_model *m, unsigned int fn, bool up);

/**
 * Snapshot the statistics the device would DMA for QUERY_STATS: the header
 * into *@hdr (may be NULL) and the first @n function entries into @funcs.
 */
void refnic_model_get_stats(struct refnic_model *m, struct refnic_stats *hdr,
			    struct refnic_func_stats *funcs, unsigned int n);

/** True while the device's worker is asleep (published SLEEPING, blocked on a wake-up). */
bool refnic_model_is_sleeping(struct refnic_model *m);

/* ---- datapath hooks ------------------------------------------------------- */

/**
 * Offer @frame to function @fn's receive path, as if the switch delivered
 * it (RX mode, MTU and RSS apply). Returns 0 if a receive queue took it,
 * -ENOBUFS if it was dropped (counted in rx_drops), -EINVAL for a bad
 * function or length.
 */
int refnic_model_port_rx(struct refnic_model *m, unsigned int fn, const void *frame, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* REFNIC_MODEL_H */
