/* SPDX-License-Identifier: MIT */
/*
 * facet-refnic: run the refnic reference device (docs/refnic.md) as a
 * process, served over vfio-user at a UNIX socket.
 *
 *   facet-refnic --socket PATH [--functions N] [--mac 02:..] [--pidfile F]
 *
 * Prints "refnic: serving on PATH" once the socket listens, runs until
 * SIGINT or SIGTERM, then removes the socket (and the pidfile). SIGUSR1
 * toggles function 0's link, which posts a LINK_CHANGE event.
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

#define TAG "refnic"

struct args {
	const char *socket;
	const char *pidfile;
	struct refnic_model_opts opts;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: facet-refnic --socket PATH [--functions N] [--mac XX:XX:XX:XX:XX:XX]\n"
		"                    [--pidfile FILE]\n"
		"Serve a refnic reference device over vfio-user at PATH until SIGINT/SIGTERM.\n"
		"  --functions N  function slots, PF included (1..%d, default %d)\n"
		"  --mac ADDR     default MAC of function 0 (function f gets ADDR + f)\n"
		"  --pidfile FILE write the process id to FILE\n"
		"SIGUSR1 toggles the link of function 0. FACET_LOG=refnic=info shows activity.\n",
		REFNIC_MAX_FUNCS, REFNIC_MODEL_DEFAULT_FUNCS);
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
		{ "functions", required_argument, NULL, 'n' },
		{ "mac", required_argument, NULL, 'm' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long n;
	int c;

	while ((c = getopt_long(argc, argv, "s:n:m:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->socket = optarg;
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
	if (!a->socket || optind != argc) {
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

/* Runs until SIGINT/SIGTERM; SIGUSR1 toggles function 0's link. */
static void serve(struct refnic_model *m, const sigset_t *sigs)
{
	bool link_up = true;
	int sig;

	for (;;) {
		if (sigwait(sigs, &sig))
			continue;
		if (sig != SIGUSR1)
			break;
		link_up = !link_up;
		refnic_model_set_link(m, 0, link_up);
	}
	facet_log(FACET_LOG_INFO, TAG, "signal %d: shutting down", sig);
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	struct refnic_model *m;
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

	rc = refnic_model_create(a.socket, &a.opts, &m);
	if (rc) {
		fprintf(stderr, "facet-refnic: cannot serve on %s: %s\n", a.socket, strerror(-rc));
		return 1;
	}
	if (a.pidfile && write_pidfile(a.pidfile)) {
		refnic_model_destroy(m);
		return 1;
	}
	printf("refnic: serving on %s\n", a.socket);
	fflush(stdout);

	serve(m, &sigs);

	refnic_model_destroy(m); /* removes the socket */
	if (a.pidfile)
		unlink(a.pidfile);
	return 0;
}
