/* SPDX-License-Identifier: MIT */
/*
 * facet-fwd: move packets through facet_eth ports from the command line.
 *
 *   facet-fwd -d DEVICE... -P PORT [-P PORT] [options] MODE
 *
 * Opens the devices on a bus of its own (the core and Ethernet drivers
 * autoload), finds the ports by name, starts them, runs MODE (gen, rx, io,
 * echo; see fwd.h) for --duration seconds or until SIGINT, printing the
 * counters every second and at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "facet_bus.h"
#include "facet_core_bus.h"
#include "fwd.h"

#define MAX_DEVICES  8
#define IDLE_SPIN_NS 50000u  /* keep polling this long after the last frame */
#define IDLE_MAX_NS  1000000 /* longest nap: 1 ms */

static volatile sig_atomic_t stop;

static const struct fwd_mode *const modes[] = { &fwd_mode_gen, &fwd_mode_rx, &fwd_mode_io,
						&fwd_mode_echo };

uint64_t fwd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint16_t fwd_tx_some(struct fwd_port *p, uint16_t qid, struct facet_pktbuf **pkts, uint16_t n)
{
	uint64_t bytes = 0;
	uint16_t sent;

	/* Lengths first: once sent, the buffers are the driver's. */
	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	sent = facet_eth_tx_burst(p->port, qid, pkts, n);
	for (uint16_t i = sent; i < n; i++)
		bytes -= pkts[i]->pkt_len;
	p->tx_bytes += bytes;
	p->tx += sent;
	return sent;
}

void fwd_tx(struct fwd_port *p, uint16_t qid, struct facet_pktbuf **pkts, uint16_t n)
{
	uint16_t sent = fwd_tx_some(p, qid, pkts, n);

	if (sent < n) {
		p->dropped += n - sent;
		facet_pktbuf_free_bulk(pkts + sent, n - sent);
	}
}

static void usage(FILE *out)
{
	fprintf(out, "usage: facet-fwd -d DEVICE [-d DEVICE...] -P PORT [-P PORT] [options] MODE\n"
		     "modes:\n"
		     "  gen   send UDP frames on the first port\n"
		     "  rx    receive on the first port, count and verify test frames\n"
		     "  io    forward between two ports (testpmd --forward-mode=io)\n"
		     "  echo  answer ARP and ICMP echo requests for --ip on the first port\n"
		     "options:\n"
		     "  -d, --device DEV     open DEV (0000:03:00.0 or vfio-user:/path.sock)\n"
		     "  -P, --port NAME      a port by name, e.g. refnic.eth.0\n"
		     "  -p, --plugin-path P  plugin directories (default: the built-in path)\n"
		     "  -t, --duration S     run S seconds (default: until SIGINT)\n"
		     "  -s, --size N         gen/io --tx-first frame bytes, 60..9018 (default 64)\n"
		     "  -r, --rate PPS       gen frames per second (default: as fast as possible)\n"
		     "  -n, --count N        gen frames in all, then stop (default: no limit)\n"
		     "  -f, --flows N        UDP source ports to spread over (default 1)\n"
		     "  -m, --dst-mac MAC    gen destination (default: broadcast)\n"
		     "  -i, --ip A.B.C.D     echo: our address\n"
		     "  -x, --tx-first       io: each port sends a burst first\n"
		     "  -q, --queues N       RX and TX queues per port (default 1)\n"
		     "      --mtu N          set the ports' MTU\n"
		     "  -Q, --quiet          only the final counters\n");
}

struct cli {
	const char *devices[MAX_DEVICES];
	unsigned int nb_devices;
	const char *plugin_path;
	uint16_t mtu;
};

static int parse_num(const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end || v < min || v > max) {
		fprintf(stderr, "facet-fwd: bad number \"%s\" (%g..%g)\n", s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_opt(struct fwd *f, struct cli *c, int opt, const char *arg)
{
	struct in_addr a;
	double v = 0;
	int ret = 0;

	switch (opt) {
	case 'd':
		if (c->nb_devices == MAX_DEVICES)
			return -E2BIG;
		c->devices[c->nb_devices++] = arg;
		break;
	case 'P':
		if (f->nb_ports == FWD_MAX_PORTS)
			return -E2BIG;
		f->ports[f->nb_ports++].name = arg;
		break;
	case 'p':
		c->plugin_path = arg;
		break;
	case 't':
		ret = parse_num(arg, 0, 1e9, &f->o.duration);
		break;
	case 's':
		ret = parse_num(arg, 60, 9018, &v);
		f->o.size = (uint32_t)v;
		break;
	case 'r':
		ret = parse_num(arg, 0, 1e10, &v);
		f->o.rate = (uint64_t)v;
		break;
	case 'n':
		ret = parse_num(arg, 0, 1e18, &v);
		f->o.count = (uint64_t)v;
		break;
	case 'f':
		ret = parse_num(arg, 1, FWD_MAX_FLOWS, &v);
		f->o.flows = (unsigned int)v;
		break;
	case 'q':
		ret = parse_num(arg, 1, FACET_ETH_MAX_QUEUES, &v);
		f->o.queues = (uint16_t)v;
		break;
	case 'M':
		ret = parse_num(arg, 68, 65535, &v);
		c->mtu = (uint16_t)v;
		break;
	case 'm':
		ret = fwd_parse_mac(arg, f->o.dst_mac);
		f->o.dst_mac_set = true;
		break;
	case 'i':
		ret = inet_pton(AF_INET, arg, &a) == 1 ? 0 : -EINVAL;
		f->o.ip = ntohl(a.s_addr);
		break;
	case 'x':
		f->o.tx_first = true;
		break;
	case 'Q':
		f->o.quiet = true;
		break;
	default:
		return -EINVAL;
	}
	if (ret < 0)
		fprintf(stderr, "facet-fwd: bad -%c %s\n", opt, arg);
	return ret < 0 ? -EINVAL : 0;
}

static int parse_args(int argc, char **argv, struct fwd *f, struct cli *c)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'P' },
		{ "plugin-path", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "flows", required_argument, NULL, 'f' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "ip", required_argument, NULL, 'i' },
		{ "tx-first", no_argument, NULL, 'x' },
		{ "queues", required_argument, NULL, 'q' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	f->o.size = 64;
	f->o.flows = 1;
	f->o.queues = 1;
	f->o.nb_desc = 512;
	f->o.pool_size = 8192;
	while ((opt = getopt_long(argc, argv, "d:P:p:t:s:r:n:f:m:i:xq:Qh", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			exit(0);
		}
		if (opt == '?' || parse_opt(f, c, opt, optarg) < 0) {
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc - 1 || !c->nb_devices || !f->nb_ports) {
		usage(stderr);
		return -EINVAL;
	}
	f->o.mode = argv[optind];
	return 0;
}

static const struct fwd_mode *find_mode(const char *name)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(modes[i]->name, name) == 0)
			return modes[i];
	}
	return NULL;
}

/* Configure, set up and start one port with its own pool. */
static int port_up(struct fwd *f, struct fwd_port *p, struct facet_bus *bus, uint16_t mtu)
{
	const struct facet_eth_conf conf = { .nb_rxq = f->o.queues, .nb_txq = f->o.queues };
	const struct facet_pktbuf_pool_opts popts = { .count = f->o.pool_size, .numa_node = -1 };
	int ret;

	p->port = facet_eth_port_get(bus, p->name);
	if (!p->port) {
		fprintf(stderr,
			"facet-fwd: no port %s (is its device open and its driver bound?)\n",
			p->name);
		return -ENODEV;
	}
	p->nb_q = f->o.queues;
	ret = facet_pktbuf_pool_create(facet_eth_port_dma_dev(p->port),
				       facet_eth_port_dma_owner(p->port), &popts, &p->pool);
	if (ret == 0)
		ret = facet_eth_configure(p->port, &conf);
	for (uint16_t q = 0; ret == 0 && q < p->nb_q; q++) {
		ret = facet_eth_rx_queue_setup(p->port, q, f->o.nb_desc, p->pool);
		if (ret == 0)
			ret = facet_eth_tx_queue_setup(p->port, q, f->o.nb_desc);
	}
	if (ret == 0 && mtu)
		ret = facet_eth_mtu_set(p->port, mtu);
	if (ret == 0)
		ret = facet_eth_mac_get(p->port, p->mac);
	if (ret == 0)
		ret = facet_eth_start(p->port);
	if (ret < 0)
		fprintf(stderr, "facet-fwd: %s: cannot start: %s\n", p->name, strerror(-ret));
	return ret;
}

/* Stop every port before freeing any pool: a port's TX ring holds buffers of the others' pools. */
static void ports_down(struct fwd *f)
{
	for (unsigned int i = 0; i < f->nb_ports; i++) {
		if (f->ports[i].port)
			facet_eth_stop(f->ports[i].port);
	}
	for (unsigned int i = 0; i < f->nb_ports; i++) {
		facet_eth_port_put(f->ports[i].port);
		facet_pktbuf_pool_free(f->ports[i].pool);
	}
}

static void print_rates(struct fwd *f, double secs, const struct fwd_port *prev)
{
	for (unsigned int i = 0; i < f->nb_ports; i++) {
		const struct fwd_port *p = &f->ports[i], *o = &prev[i];
		double rx = (double)(p->rx - o->rx) / secs, tx = (double)(p->tx - o->tx) / secs;

		printf("%-14s rx %10.0f pps %8.3f Gbit/s   tx %10.0f pps %8.3f Gbit/s\n", p->name,
		       rx, (double)(p->rx_bytes - o->rx_bytes) * 8 / secs / 1e9, tx,
		       (double)(p->tx_bytes - o->tx_bytes) * 8 / secs / 1e9);
	}
	fflush(stdout);
}

static void print_final(struct fwd *f, const struct fwd_mode *mode, double secs)
{
	printf("--- %s, %.2f s\n", mode->name, secs);
	for (unsigned int i = 0; i < f->nb_ports; i++) {
		struct fwd_port *p = &f->ports[i];
		struct facet_eth_stats st;

		printf("%s: rx %" PRIu64 " frames %" PRIu64 " bytes, tx %" PRIu64 " frames %" PRIu64
		       " bytes, dropped %" PRIu64 "\n",
		       p->name, p->rx, p->rx_bytes, p->tx, p->tx_bytes, p->dropped);
		if (facet_eth_stats_get(p->port, &st) == 0)
			printf("%s: port ipackets %" PRIu64 " opackets %" PRIu64 " imissed %" PRIu64
			       " oerrors %" PRIu64 " rx_nombuf %" PRIu64 "\n",
			       p->name, st.ipackets, st.opackets, st.imissed, st.oerrors,
			       st.rx_nombuf);
	}
	if (mode->report)
		mode->report(f);
}

/*
 * Poll on for IDLE_SPIN_NS after the last frame (yielding, so a device
 * model sharing the core runs), then sleep longer the longer nothing moves:
 * no CPU burnt while idle. The spin is timed, not counted: a short sleep
 * costs some 50 us of timer slack, far more than a frame's round trip.
 */
static void idle_backoff(uint64_t idle_since, unsigned int *naps)
{
	struct timespec ts = { 0, 0 };
	unsigned int shift;

	if (fwd_now_ns() - idle_since < IDLE_SPIN_NS) {
		sched_yield();
		return;
	}
	shift = *naps < 10 ? *naps : 10;
	++*naps;
	ts.tv_nsec = 1000L << shift; /* 1 us .. ~1 ms */
	if (ts.tv_nsec > IDLE_MAX_NS)
		ts.tv_nsec = IDLE_MAX_NS;
	nanosleep(&ts, NULL);
}

static void run(struct fwd *f, const struct fwd_mode *mode)
{
	uint64_t start = fwd_now_ns(), last = start, now;
	uint64_t end = f->o.duration > 0 ? start + (uint64_t)(f->o.duration * 1e9) : UINT64_MAX;
	struct fwd_port prev[FWD_MAX_PORTS];
	uint64_t idle_since = start;
	unsigned int naps = 0;

	memcpy(prev, f->ports, sizeof(prev));
	while (!stop && !f->done) {
		if (mode->poll(f)) {
			idle_since = fwd_now_ns();
			naps = 0;
		} else {
			idle_backoff(idle_since, &naps);
		}
		now = fwd_now_ns();
		if (now >= end)
			break;
		if (now - last >= 1000000000ull) {
			if (!f->o.quiet)
				print_rates(f, (double)(now - last) / 1e9, prev);
			memcpy(prev, f->ports, sizeof(prev));
			last = now;
		}
	}
	print_final(f, mode, (double)(fwd_now_ns() - start) / 1e9);
}

static void on_signal(int sig)
{
	stop = 1;
}

static int open_all(struct facet_bus *bus, const struct cli *c, struct facet_bus_device **devs)
{
	for (unsigned int i = 0; i < c->nb_devices; i++) {
		int ret = facet_core_bus_open(bus, c->devices[i], NULL, &devs[i]);

		if (ret < 0) {
			fprintf(stderr, "facet-fwd: cannot open %s: %s\n", c->devices[i],
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct facet_bus_device *devs[MAX_DEVICES] = { 0 };
	const struct fwd_mode *mode;
	struct facet_bus *bus = NULL;
	struct fwd f = { 0 };
	struct cli c = { 0 };
	struct facet_bus_config cfg = { 0 };
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &f, &c) < 0)
		return 2;
	mode = find_mode(f.o.mode);
	if (!mode || f.nb_ports != mode->nb_ports) {
		fprintf(stderr, "facet-fwd: %s%s needs %u port(s)\n",
			mode ? "mode " : "unknown mode ", f.o.mode, mode ? mode->nb_ports : 0);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	cfg.plugin_path = c.plugin_path;
	ret = facet_bus_create(&cfg, &bus);
	if (ret == 0)
		ret = open_all(bus, &c, devs);
	for (unsigned int i = 0; ret == 0 && i < f.nb_ports; i++)
		ret = port_up(&f, &f.ports[i], bus, c.mtu);
	if (ret == 0)
		ret = mode->init(&f);
	if (ret == 0) {
		/* Scripts wait for this line before they send. */
		printf("facet-fwd: %s running on %s%s%s\n", mode->name, f.ports[0].name,
		       f.nb_ports > 1 ? " and " : "", f.nb_ports > 1 ? f.ports[1].name : "");
		run(&f, mode);
	}
	facet_pktbuf_free_bulk(f.pending, f.nb_pending);
	ports_down(&f);
	for (unsigned int i = 0; i < c.nb_devices; i++) {
		if (devs[i]) {
			facet_bus_device_del(devs[i]);
			facet_bus_device_put(devs[i]);
		}
	}
	if (bus)
		facet_bus_destroy(bus);
	return ret < 0 ? 1 : 0;
}
