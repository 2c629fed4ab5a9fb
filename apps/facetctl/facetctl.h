/* SPDX-License-Identifier: MIT */
/*
 * facetctl: shared declarations of the control tool.
 *
 * facetctl.c      options, the command table, dispatch and batch mode
 * facetctl_bus.c  commands that change the bus (add, bind, load...) and events
 * facetctl_dev.c  devices opened over VFIO / vfio-user (open, -d)
 * facetctl_show.c commands that print it (show, drivers, plugins), text and JSON
 * facetctl_stats.c Ethernet port counters and rates (stats, watch)
 *
 * Every command is a struct facetctl_cmd in the table of facetctl.c and a
 * function taking (ctl, argc, argv) with argv[0] the command name. Commands
 * return 0 or a negative errno and report their own errors with
 * facetctl_err(); usage errors return FACETCTL_EUSAGE. Sub-functions and stats
 * will be new command files and new state in struct facetctl, next to the bus.
 */
#ifndef FACETCTL_H
#define FACETCTL_H

#include <stdbool.h>

#include "facet_bus_driver.h"

/** Exit codes. */
enum {
	FACETCTL_EXIT_OK = 0,
	FACETCTL_EXIT_FAIL = 1,	 /**< a command failed */
	FACETCTL_EXIT_USAGE = 2, /**< bad options, unknown command, wrong arguments */
};

/** Returned by a command for a usage error (not an errno). */
#define FACETCTL_EUSAGE (-100000)

/** A device facetctl published itself ("add"); it holds the publisher's reference. */
struct facetctl_published {
	struct facetctl_published *next;
	struct facet_bus_device *dev;
};

/** The tool's state, shared by all commands of one run. */
struct facetctl {
	struct facet_bus *bus;
	bool json;	/**< JSON output (-j, or a batch line starting with -j) */
	bool pretty;	/**< indent JSON output (-P) */
	bool utf8;	/**< the terminal takes box-drawing characters */
	int events_sub; /**< event subscription id, 0 if not following events */
	struct facetctl_published *published;
};

/** One command. */
struct facetctl_cmd {
	const char *name;
	const char *args; /**< argument synopsis for usage, e.g. "DEV [DRV]" */
	const char *help; /**< one line */
	int min_args;	  /**< arguments after the name */
	int max_args;	  /**< -1: no limit */
	int (*run)(struct facetctl *ctl, int argc, char **argv);
};

/**
 * Print "facetctl: <cmd>: <subject>: <message>" to stderr, @subject may be
 * NULL. The message is strerror(-@err). Returns @err, for "return facetctl_err(...)".
 */
int facetctl_err(const char *cmd, const char *subject, int err);

/** Same, with a message of the caller's choice. Returns @err. */
int facetctl_errmsg(const char *cmd, const char *subject, int err, const char *msg);

/** Print a JSON value on stdout in the configured style, then a newline. */
struct json_object;
void facetctl_json_print(const struct facetctl *ctl, struct json_object *obj);

/* facetctl_bus.c */
/** Remember @dev (its publisher's reference) for del and teardown. */
int facetctl_published_add(struct facetctl *ctl, struct facet_bus_device *dev);
int facetctl_cmd_add(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_del(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_bind(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_unbind(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_rebind(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_override(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_load(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_unload(struct facetctl *ctl, int argc, char **argv);
/** Start printing bus events on stdout. Returns 0 or a negative errno. */
int facetctl_events_start(struct facetctl *ctl);
/** Stop printing events, delete what "add" published; before facet_bus_destroy(). */
void facetctl_bus_teardown(struct facetctl *ctl);

/* facetctl_dev.c */
int facetctl_cmd_open(struct facetctl *ctl, int argc, char **argv);

/* facetctl_stats.c */
int facetctl_cmd_stats(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_watch(struct facetctl *ctl, int argc, char **argv);

/* facetctl_show.c */
int facetctl_cmd_show(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_drivers(struct facetctl *ctl, int argc, char **argv);
int facetctl_cmd_plugins(struct facetctl *ctl, int argc, char **argv);

#endif /* FACETCTL_H */
