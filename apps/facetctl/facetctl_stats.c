/* SPDX-License-Identifier: MIT */
/*
 * Ethernet port counters: "stats [PORT]" prints each port's counters (and
 * its queues', once configured) through facet_eth; "watch [PORT] [-i S]
 * [-c N]" prints rates (packets and Gbit/s per second) every S seconds,
 * redrawn in place on a terminal, N times or until SIGINT.
 *
 * Ports exist while their slices are bound to an Ethernet driver: open a
 * device first (-d DEVICE, or "open" in a batch).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "facet_eth.h"
#include "facetctl.h"

#define WATCH_MAX_PORTS 32

/* ---- collecting ---------------------------------------------------------------- */

struct port_list {
	struct facet_eth_port *ports[WATCH_MAX_PORTS];
	unsigned int n;
};

static int list_add(struct facet_eth_port *port, void *arg)
{
	struct port_list *l = arg;

	if (l->n == WATCH_MAX_PORTS)
		return 0;
	facet_eth_port_ref(port);
	l->ports[l->n++] = port;
	return 0;
}

/* The ports to show: @name only, or all of them. */
static int list_ports(struct facetctl *ctl, const char *cmd, const char *name, struct port_list *l)
{
	l->n = 0;
	if (name) {
		l->ports[0] = facet_eth_port_get(ctl->bus, name);
		if (!l->ports[0])
			return facetctl_errmsg(
				cmd, name, -ENODEV,
				"no such Ethernet port (device open, driver bound?)");
		l->n = 1;
		return 0;
	}
	return facet_eth_port_for_each(ctl->bus, list_add, l);
}

static void list_put(struct port_list *l)
{
	for (unsigned int i = 0; i < l->n; i++)
		facet_eth_port_put(l->ports[i]);
}

/* ---- stats ------------------------------------------------------------------------ */

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static struct json_object *queue_json(const struct facet_eth_queue_stats *qs, unsigned int q)
{
	struct json_object *o = json_object_new_object();

	add_u64(o, "queue", q);
	add_u64(o, "packets", qs->packets);
	add_u64(o, "bytes", qs->bytes);
	add_u64(o, "drops", qs->drops);
	add_u64(o, "errors", qs->errors);
	json_object_object_add(o, "failed", json_object_new_boolean(qs->failed));
	return o;
}

static struct json_object *queues_json(struct facet_eth_port *port, bool rx, uint16_t n)
{
	struct json_object *a = json_object_new_array();
	struct facet_eth_queue_stats qs;

	for (uint16_t q = 0; q < n; q++) {
		if (facet_eth_queue_stats_get(port, rx, q, &qs) == 0)
			json_object_array_add(a, queue_json(&qs, q));
	}
	return a;
}

static struct json_object *port_json(struct facet_eth_port *port, const struct facet_eth_stats *st)
{
	struct json_object *o = json_object_new_object(), *s = json_object_new_object();
	struct facet_eth_dev_info info;
	struct facet_eth_link link = { 0 };
	uint16_t nrx = 0, ntx = 0;

	facet_eth_dev_info_get(port, &info);
	facet_eth_link_get(port, &link);
	facet_eth_queue_count(port, &nrx, &ntx);
	json_object_object_add(o, "name", json_object_new_string(facet_eth_port_name(port)));
	json_object_object_add(o, "driver", json_object_new_string(info.driver));
	json_object_object_add(o, "link_up", json_object_new_boolean(link.up));
	add_u64(o, "speed_mbps", link.speed);
	add_u64(s, "ipackets", st->ipackets);
	add_u64(s, "ibytes", st->ibytes);
	add_u64(s, "opackets", st->opackets);
	add_u64(s, "obytes", st->obytes);
	add_u64(s, "imissed", st->imissed);
	add_u64(s, "ierrors", st->ierrors);
	add_u64(s, "oerrors", st->oerrors);
	add_u64(s, "rx_nombuf", st->rx_nombuf);
	add_u64(s, "queue_errors", st->queue_errors);
	json_object_object_add(o, "stats", s);
	json_object_object_add(o, "rx_queues", queues_json(port, true, nrx));
	json_object_object_add(o, "tx_queues", queues_json(port, false, ntx));
	return o;
}

static void print_queues(struct facet_eth_port *port, bool rx, uint16_t n)
{
	struct facet_eth_queue_stats qs;

	for (uint16_t q = 0; q < n; q++) {
		if (facet_eth_queue_stats_get(port, rx, q, &qs) < 0)
			continue;
		printf("  %s%-3u %14" PRIu64 " packets %16" PRIu64 " bytes %10" PRIu64
		       " drops %6" PRIu64 " errors%s\n",
		       rx ? "rx" : "tx", q, qs.packets, qs.bytes, qs.drops, qs.errors,
		       qs.failed ? "  FAILED" : "");
	}
}

static void print_port(struct facet_eth_port *port, const struct facet_eth_stats *st)
{
	struct facet_eth_dev_info info;
	struct facet_eth_link link = { 0 };
	uint16_t nrx = 0, ntx = 0;

	facet_eth_dev_info_get(port, &info);
	facet_eth_link_get(port, &link);
	facet_eth_queue_count(port, &nrx, &ntx);
	printf("%s (%s): link %s", facet_eth_port_name(port), info.driver, link.up ? "up" : "down");
	if (link.up)
		printf(", %" PRIu32 " Mb/s", link.speed);
	printf("\n  rx    %14" PRIu64 " packets %16" PRIu64 " bytes %10" PRIu64 " missed %6" PRIu64
	       " errors %6" PRIu64 " nombuf\n",
	       st->ipackets, st->ibytes, st->imissed, st->ierrors, st->rx_nombuf);
	printf("  tx    %14" PRIu64 " packets %16" PRIu64 " bytes %10" PRIu64 " errors %6" PRIu64
	       " queue errors\n",
	       st->opackets, st->obytes, st->oerrors, st->queue_errors);
	print_queues(port, true, nrx);
	print_queues(port, false, ntx);
}

int facetctl_cmd_stats(struct facetctl *ctl, int argc, char **argv)
{
	struct json_object *arr = ctl->json ? json_object_new_array() : NULL;
	struct port_list l;
	int ret = list_ports(ctl, argv[0], argc > 1 ? argv[1] : NULL, &l);

	for (unsigned int i = 0; ret == 0 && i < l.n; i++) {
		struct facet_eth_stats st;

		ret = facet_eth_stats_get(l.ports[i], &st);
		if (ret < 0)
			facetctl_err(argv[0], facet_eth_port_name(l.ports[i]), ret);
		else if (arr)
			json_object_array_add(arr, port_json(l.ports[i], &st));
		else
			print_port(l.ports[i], &st);
	}
	if (ret == 0 && arr)
		facetctl_json_print(ctl, arr);
	else if (ret == 0 && l.n == 0)
		printf("no Ethernet ports (open a device with -d DEVICE)\n");
	json_object_put(arr);
	list_put(&l);
	return ret;
}

/* ---- watch ------------------------------------------------------------------------ */

static volatile sig_atomic_t watch_stop;

static void on_sigint(int sig)
{
	watch_stop = 1;
}

struct watch_opts {
	const char *port;
	double interval;
	long count; /* 0: until SIGINT */
};

static int parse_watch(int argc, char **argv, struct watch_opts *w)
{
	char *end;

	w->port = NULL;
	w->interval = 1.0;
	w->count = 0;
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-i") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
			double v = strtod(argv[i + 1], &end);

			if (*end || v <= 0 || (argv[i][1] == 'c' && v != (long)v))
				return facetctl_errmsg(argv[0], argv[i + 1], FACETCTL_EUSAGE,
						       "expected a positive number");
			if (argv[i][1] == 'i')
				w->interval = v;
			else
				w->count = (long)v;
			i++;
		} else if (argv[i][0] != '-' && !w->port) {
			w->port = argv[i];
		} else {
			return facetctl_errmsg(argv[0], argv[i], FACETCTL_EUSAGE,
					       "usage: watch [PORT] [-i SECONDS] [-c COUNT]");
		}
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep @secs, waking early on SIGINT. */
static void nap(double secs)
{
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };

	while (!watch_stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* @el: "erase to end of line" when redrawing in place, else "". */
static void rate_line(struct facetctl *ctl, struct facet_eth_port *port,
		      const struct facet_eth_stats *a, const struct facet_eth_stats *b, double dt,
		      const char *el)
{
	double rx_pps = (double)(b->ipackets - a->ipackets) / dt;
	double tx_pps = (double)(b->opackets - a->opackets) / dt;
	double rx_gbps = (double)(b->ibytes - a->ibytes) * 8 / dt / 1e9;
	double tx_gbps = (double)(b->obytes - a->obytes) * 8 / dt / 1e9;
	double drops = (double)(b->imissed - a->imissed + b->oerrors - a->oerrors) / dt;

	if (ctl->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name",
				       json_object_new_string(facet_eth_port_name(port)));
		json_object_object_add(o, "rx_pps", json_object_new_double(rx_pps));
		json_object_object_add(o, "rx_gbps", json_object_new_double(rx_gbps));
		json_object_object_add(o, "tx_pps", json_object_new_double(tx_pps));
		json_object_object_add(o, "tx_gbps", json_object_new_double(tx_gbps));
		json_object_object_add(o, "drops_per_s", json_object_new_double(drops));
		facetctl_json_print(ctl, o);
		json_object_put(o);
		return;
	}
	printf("%-16s %12.0f %9.3f %12.0f %9.3f %10.0f%s\n", facet_eth_port_name(port), rx_pps,
	       rx_gbps, tx_pps, tx_gbps, drops, el);
}

static int watch_sample(struct port_list *l, struct facet_eth_stats *st)
{
	for (unsigned int i = 0; i < l->n; i++) {
		int ret = facet_eth_stats_get(l->ports[i], &st[i]);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int facetctl_cmd_watch(struct facetctl *ctl, int argc, char **argv)
{
	struct facet_eth_stats prev[WATCH_MAX_PORTS], cur[WATCH_MAX_PORTS];
	bool in_place = !ctl->json && isatty(STDOUT_FILENO);
	const char *el = in_place ? "\033[K" : "";
	void (*old)(int);
	struct watch_opts w;
	struct port_list l;
	double t0, t1;
	int ret = parse_watch(argc, argv, &w);

	if (ret == 0)
		ret = list_ports(ctl, argv[0], w.port, &l);
	if (ret < 0)
		return ret;
	watch_stop = 0;
	old = signal(SIGINT, on_sigint);
	ret = watch_sample(&l, prev);
	t0 = now_s();
	for (long n = 0; ret == 0 && !watch_stop && (!w.count || n < w.count); n++) {
		nap(w.interval);
		ret = watch_sample(&l, cur);
		t1 = now_s();
		if (ret < 0)
			break;
		if (in_place && n > 0)
			printf("\033[%uA", l.n + 1); /* back over the previous sample */
		if (!ctl->json)
			printf("%-16s %12s %9s %12s %9s %10s%s\n", "port", "rx pps", "rx Gb/s",
			       "tx pps", "tx Gb/s", "drops/s", el);
		for (unsigned int i = 0; i < l.n; i++)
			rate_line(ctl, l.ports[i], &prev[i], &cur[i], t1 - t0, el);
		fflush(stdout);
		memcpy(prev, cur, sizeof(prev));
		t0 = t1;
	}
	signal(SIGINT, old);
	if (ret < 0)
		facetctl_err(argv[0], w.port, ret);
	list_put(&l);
	return ret;
}
