/* SPDX-License-Identifier: MIT */
/*
 * facet-refnic: run refnic reference devices (docs/refnic.md) as a process,
 * each served over vfio-user at a UNIX socket of its own.
 *
 *   facet-refnic --socket A [--socket B ...] [--uplink SPEC] [--functions N]
 *                [--mac 02:..] [--pidfile F]
 *
 * Every --socket is a complete device; all of them share one embedded
 * switch (so their ports reach each other), one uplink and one worker.
 * Prints "refnic: serving on PATH" per device once its socket listens, runs
 * until SIGINT or SIGTERM, then removes the sockets (and the pidfile).
 * SIGUSR1 toggles function 0's link of every device (LINK_CHANGE events).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facet_log.h"
#include "refnic_model.h"

#define TAG	 "refnic"
#define MAX_DEVS 16 /* REFNIC_SYS_MAX_DEVS */

struct args {
	const char *sockets[MAX_DEVS];
	unsigned int ndevs;
	const char *pidfile;
	const char *uplink;
	struct refnic_model_opts opts;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: facet-refnic --socket PATH [--socket PATH ...] [--uplink SPEC]\n"
		"                    [--functions N] [--mac XX:XX:XX:XX:XX:XX] [--pidfile FILE]\n"
		"Serve refnic reference devices over vfio-user until SIGINT/SIGTERM.\n"
		"  --socket PATH  serve a device at PATH; repeat for more devices (up to %d).\n"
		"                 All devices of the process share one embedded switch, so\n"
		"                 frames one sends reach the others (two ports wired together)\n"
		"  --uplink SPEC  the switch's port to the outside: none (default),\n"
		"                 af_packet:IFNAME, tap:NAME, udp:LADDR:LPORT,RADDR:RPORT\n"
		"  --functions N  function slots per device, PF included (1..%d, default %d)\n"
		"  --mac ADDR     default MAC of device 0's function 0 (function f gets ADDR + f;\n"
		"                 device d starts at ADDR + d * 0x100, so every MAC differs)\n"
		"  --pidfile FILE write the process id to FILE\n"
		"SIGUSR1 toggles the link of function 0 of every device.\n"
		"FACET_LOG=refnic=info shows activity: clients coming and going, resets,\n"
		"and the RDMA objects a client that died left behind (the model frees them).\n",
		MAX_DEVS, REFNIC_MAX_FUNCS, REFNIC_MODEL_DEFAULT_FUNCS);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "uplink", required_argument, NULL, 'u' },
		{ "functions", required_argument, NULL, 'n' },
		{ "mac", required_argument, NULL, 'm' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long n;
	int c;

	while ((c = getopt_long(argc, argv, "s:u:n:m:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (a->ndevs == MAX_DEVS) {
				fprintf(stderr, "facet-refnic: at most %d devices\n", MAX_DEVS);
				return -EINVAL;
			}
			a->sockets[a->ndevs++] = optarg;
			break;
		case 'u':
			a->uplink = optarg;
			break;
		case 'n':
			n = strtol(optarg, &end, 0);
			if (*end || n < 1 || n > REFNIC_MAX_FUNCS) {
				fprintf(stderr, "facet-refnic: bad --functions %s\n", optarg);
				return -EINVAL;
			}
			a->opts.num_funcs = (unsigned int)n;
			break;
		case 'm':
			if (parse_mac(optarg, a->opts.mac_base) || (a->opts.mac_base[0] & 1)) {
				fprintf(stderr, "facet-refnic: bad --mac %s (unicast XX:..:XX)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'p':
			a->pidfile = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!a->ndevs || optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		fprintf(stderr, "facet-refnic: cannot write %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Device @d's MAC base: the base plus d in the fifth byte (carry kept in the low three). */
static void dev_mac_base(const uint8_t base[6], unsigned int d, uint8_t out[6])
{
	static const uint8_t dflt[6] = { 0x02, 0xfa, 0xce, 0x00, 0x00, 0x00 };
	const uint8_t *b = base[0] | base[1] | base[2] | base[3] | base[4] | base[5] ? base : dflt;
	uint32_t nic = (uint32_t)b[3] << 16 | b[4] << 8 | b[5];

	nic += d << 8;
	memcpy(out, b, 3);
	out[3] = (uint8_t)(nic >> 16);
	out[4] = (uint8_t)(nic >> 8);
	out[5] = (uint8_t)nic;
}

/* Runs until SIGINT/SIGTERM; SIGUSR1 toggles function 0's link of every device. */
static void serve(struct refnic_model **m, unsigned int n, const sigset_t *sigs)
{
	bool link_up = true;
	int sig;

	for (;;) {
		if (sigwait(sigs, &sig))
			continue;
		if (sig != SIGUSR1)
			break;
		link_up = !link_up;
		for (unsigned int i = 0; i < n; i++)
			refnic_model_set_link(m[i], 0, link_up);
	}
	facet_log(FACET_LOG_INFO, TAG, "signal %d: shutting down", sig);
}

static int start_devices(const struct args *a, struct refnic_system *sys, struct refnic_model **m)
{
	for (unsigned int i = 0; i < a->ndevs; i++) {
		struct refnic_model_opts o = a->opts;
		int rc;

		o.system = sys;
		dev_mac_base(a->opts.mac_base, i, o.mac_base);
		rc = refnic_model_create(a->sockets[i], &o, &m[i]);
		if (rc) {
			fprintf(stderr, "facet-refnic: cannot serve on %s: %s\n", a->sockets[i],
				strerror(-rc));
			return rc;
		}
		printf("refnic: serving on %s\n", a->sockets[i]);
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct refnic_system_opts so = { 0 };
	struct refnic_model *m[MAX_DEVS] = { 0 };
	struct refnic_system *sys;
	struct args a = { 0 };
	sigset_t sigs;
	int rc;

	if (parse_args(argc, argv, &a))
		return 2;
	/* Block the signals before any thread exists, so only sigwait() sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	so.uplink = a.uplink;
	so.idle_us = a.opts.idle_us;
	rc = refnic_system_create(&so, &sys);
	if (rc) {
		fprintf(stderr, "facet-refnic: cannot start (uplink %s): %s\n",
			a.uplink ? a.uplink : "none", strerror(-rc));
		return 1;
	}
	if (start_devices(&a, sys, m) || (a.pidfile && write_pidfile(a.pidfile))) {
		refnic_system_destroy(sys); /* and the devices made so far */
		return 1;
	}

	serve(m, a.ndevs, &sigs);

	refnic_system_destroy(sys); /* every device, and its socket */
	if (a.pidfile)
		unlink(a.pidfile);
	return 0;
}
