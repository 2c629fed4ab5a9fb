/* SPDX-License-Identifier: MIT */
/*
 * Unmodified dpdk-testpmd drives refnic Ethernet slices through the
 * net_facet PMD (librte_net_facet.so), with the device model facet-refnic
 * as a separate process.
 *
 *   test_testpmd SCENARIO FACET_REFNIC_EXE LIBRTE_NET_FACET_SO DPDK_TESTPMD
 *
 * SCENARIO io:       the model serves two devices on one switch, testpmd
 *                    opens one port on each and io-forwards between them:
 *                    start tx_first, 3 s, stop: both ports moved traffic,
 *                    port0 RX ~= port1 TX and back, no error, exit 0.
 * SCENARIO reconfig: as io, then stop the ports, 2 queues each, MTU 1400,
 *                    promiscuous off/on, all-multicast on, start again; RSS
 *                    on UDP, a redirection table update read back, the RSS
 *                    key (40 bytes), and the per-queue xstats.
 * SCENARIO remove:   as io, and the model is killed (SIGKILL) under
 *                    traffic: testpmd reports the removal of both ports,
 *                    closes and detaches them (its own RMV handling), stays
 *                    alive and exits 0 on "quit".
 * SCENARIO icmpecho: (root: network namespaces; else exit 77, skipped)
 *                    Linux in a namespace of its own pings through a veth
 *                    pair and the model's af_packet uplink; testpmd
 *                    --forward-mode=icmpecho answers ARP and the echoes.
 *
 * testpmd runs interactively (-i) with its commands on a pipe, so every step
 * is explicit and it exits through "quit" (status 0). As root it runs on
 * hugepages (--in-memory; scripts/setup-hugepages.sh, named by
 * $FACET_SETUP_HUGEPAGES, reserves and mounts them), otherwise --no-huge. A
 * missing testpmd is a failure: this test exists only where libdpdk was found.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SLACK	  256 /* frames in flight or in rings when forwarding stops */
#define SKIP_CODE 77  /* meson: skipped */

/* icmpecho: the namespaces' addresses (any: testpmd answers every ARP and echo). */
#define HOST_IP	 "10.252.0.1"
#define ECHO_IP	 "10.252.0.2"
#define PORT_MAC "02:fa:ce:00:00:00" /* the model's MAC of device 0, function 0 */

static char dir[64] = "/tmp/facet-dpdk-XXXXXX";
static char sock[2][128], logpath[128], pinglog[128];
static char pmd_dir[PATH_MAX], pmd_copy[PATH_MAX];
static char ns_host[64], ns_nic[64];
static pid_t model = -1, testpmd = -1;
static bool hugepages;

static int sh_quiet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void cleanup(void)
{
	if (testpmd > 0) {
		kill(testpmd, SIGKILL);
		waitpid(testpmd, NULL, 0);
	}
	if (model > 0) {
		kill(model, SIGKILL);
		waitpid(model, NULL, 0);
	}
	/* Deleting a namespace deletes the veth end in it (and so the pair). */
	if (ns_host[0])
		sh_quiet("ip netns del %s", ns_host);
	if (ns_nic[0])
		sh_quiet("ip netns del %s", ns_nic);
	unlink(sock[0]);
	unlink(sock[1]);
	unlink(logpath);
	unlink(pinglog);
	rmdir(dir);
	if (pmd_copy[0])
		unlink(pmd_copy);
	if (pmd_dir[0])
		rmdir(pmd_dir);
}

static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...);

/* Run a shell command (its output discarded if @quiet); its exit status, or -1. */
static int vsh(bool quiet, const char *fmt, va_list ap)
{
	char line[1024];
	int st;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (quiet)
		strncat(line, " >/dev/null 2>&1", sizeof(line) - strlen(line) - 1);
	st = system(line);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A clean-up step or a probe: its status, output discarded. */
static int sh_quiet(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = vsh(true, fmt, ap);
	va_end(ap);
	return st;
}

/* A command whose output the command line itself redirects: its status. */
static int __attribute__((format(printf, 1, 2))) sh_status(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = vsh(false, fmt, ap);
	va_end(ap);
	return st;
}

/* A set-up step: must succeed. */
static void __attribute__((format(printf, 1, 2))) sh(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = vsh(false, fmt, ap);
	va_end(ap);
	if (st != 0) {
		va_start(ap, fmt);
		fprintf(stderr, "command failed (status %d): ", st);
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, "\n");
		va_end(ap);
		fail("set-up step failed");
	}
}

/* Is @path and every directory above it closed to other users' writes? */
static bool path_is_private(const char *path)
{
	char copy[PATH_MAX], parent[PATH_MAX];
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	for (;;) {
		if (stat(copy, &st) != 0 || (st.st_mode & S_IWOTH))
			return false;
		if (strcmp(copy, "/") == 0 || strcmp(copy, ".") == 0)
			return true;
		snprintf(parent, sizeof(parent), "%s", dirname(copy));
		memcpy(copy, parent, sizeof(copy));
	}
}

/*
 * EAL refuses to load a -d plugin from under a world-writable directory
 * (/tmp, where a build tree may well live), so testpmd gets a copy of the
 * PMD in a private directory.
 */
static const char *stage_pmd(const char *pmd)
{
	const char *bases[] = { getenv("HOME"), "/run", "/var/lib" };
	char buf[65536];
	ssize_t n;
	int in, out;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]) && !pmd_dir[0]; i++) {
		if (!bases[i] || !path_is_private(bases[i]))
			continue;
		snprintf(pmd_dir, sizeof(pmd_dir), "%s/.facet-pmd-XXXXXX", bases[i]);
		if (!mkdtemp(pmd_dir))
			pmd_dir[0] = '\0';
	}
	if (!pmd_dir[0])
		fail("no private directory to stage %s in for EAL", pmd);
	snprintf(pmd_copy, sizeof(pmd_copy), "%s/librte_net_facet.so", pmd_dir);
	in = open(pmd, O_RDONLY | O_CLOEXEC);
	out = open(pmd_copy, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		fail("stage %s: %s", pmd, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, n) != n)
			fail("stage %s: %s", pmd, strerror(errno));
	}
	close(in);
	close(out);
	return pmd_copy;
}

static void dump_file(const char *what, const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return;
	fprintf(stderr, "---- %s ----\n", what);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end ----\n");
	fclose(f);
}

static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...)
{
	va_list ap;

	dump_file("testpmd output", logpath);
	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	cleanup();
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait until the model printed every socket it serves. */
static void wait_model(int fd, unsigned int nsock)
{
	char out[1024];
	size_t len = 0;
	uint64_t deadline = now_ms() + 10000;

	out[0] = '\0';
	while (!strstr(out, sock[0]) || (nsock > 1 && !strstr(out, sock[1]))) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (now_ms() > deadline)
			fail("the model did not announce its sockets: \"%s\"", out);
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, out + len, sizeof(out) - 1 - len);
		if (n <= 0)
			fail("the model exited early: \"%s\"", out);
		len += (size_t)n;
		out[len] = '\0';
	}
}

/*
 * Start the model serving @nsock devices; with @uplink (an interface of
 * namespace ns_nic) inside that namespace, its switch's uplink on it.
 */
static void start_model(const char *exe, unsigned int nsock, const char *uplink)
{
	char upl[96];
	char *argv[16];
	unsigned int argc = 0;
	posix_spawn_file_actions_t fa;
	int pipefd[2];

	if (uplink) {
		/* ip netns exec exec()s the model: its pid is the model's. */
		argv[argc++] = "ip";
		argv[argc++] = "netns";
		argv[argc++] = "exec";
		argv[argc++] = ns_nic;
	}
	argv[argc++] = (char *)exe;
	for (unsigned int i = 0; i < nsock; i++) {
		argv[argc++] = "--socket";
		argv[argc++] = sock[i];
	}
	if (uplink) {
		snprintf(upl, sizeof(upl), "af_packet:%s", uplink);
		argv[argc++] = "--uplink";
		argv[argc++] = upl;
	}
	argv[argc] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		fail("pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	if (posix_spawnp(&model, argv[0], &fa, NULL, argv, environ) != 0)
		fail("cannot run %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	wait_model(pipefd[0], nsock);
	close(pipefd[0]);
}

/*
 * Hugepages as root (scripts/setup-hugepages.sh reserves and mounts them);
 * otherwise --no-huge, which is anonymous memory and enough for copy mode.
 */
static void choose_memory(void)
{
	const char *script = getenv("FACET_SETUP_HUGEPAGES");

	if (geteuid() != 0) {
		printf("not root: testpmd runs with --no-huge (no hugepages)\n");
		return;
	}
	if (!script)
		fail("FACET_SETUP_HUGEPAGES (scripts/setup-hugepages.sh) is not set");
	sh("%s", script);
	hugepages = true;
	printf("root: testpmd runs on hugepages (--in-memory)\n");
}

/* Start testpmd on @nports ports; returns the write end of its stdin. Output goes to logpath. */
static int start_testpmd(const char *exe, const char *pmd, unsigned int nports, const char *mode)
{
	char vdev[2][320], fwd[64];
	char *argv[40];
	unsigned int argc = 0;
	posix_spawn_file_actions_t fa;
	int in[2];

	argv[argc++] = (char *)exe;
	argv[argc++] = "-l";
	argv[argc++] = "0-1";
	argv[argc++] = "--no-pci";
	argv[argc++] = "--no-shconf";
	if (hugepages) {
		argv[argc++] = "--in-memory";
		argv[argc++] = "-m";
		argv[argc++] = "256";
	} else {
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = "512";
	}
	argv[argc++] = "-d";
	argv[argc++] = (char *)pmd;
	for (unsigned int i = 0; i < nports; i++) {
		snprintf(vdev[i], sizeof(vdev[i]), "net_facet%u,dev=vfio-user:%s", i, sock[i]);
		argv[argc++] = "--vdev";
		argv[argc++] = vdev[i];
	}
	snprintf(fwd, sizeof(fwd), "--forward-mode=%s", mode);
	argv[argc++] = "--";
	argv[argc++] = "-i";
	argv[argc++] = fwd;
	argv[argc++] = "--nb-cores=1";
	argv[argc++] = "--rxq=1";
	argv[argc++] = "--txq=1";
	argv[argc++] = "--total-num-mbufs=16384";
	argv[argc] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0)
		fail("pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, logpath, O_WRONLY | O_CREAT | O_TRUNC,
					 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	if (posix_spawn(&testpmd, exe, &fa, NULL, argv, environ) != 0)
		fail("cannot run %s", exe);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	return in[1];
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static unsigned int count_str(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void check_alive(void)
{
	if (waitpid(testpmd, NULL, WNOHANG) == testpmd) {
		testpmd = -1;
		fail("testpmd exited early");
	}
}

/* Wait until the log holds @n occurrences of @needle. */
static void wait_log(const char *needle, unsigned int n, unsigned int ms)
{
	uint64_t deadline = now_ms() + ms;

	for (;;) {
		char *log = read_file(logpath);
		unsigned int seen = log ? count_str(log, needle) : 0;

		free(log);
		if (seen >= n)
			return;
		check_alive();
		if (now_ms() > deadline)
			fail("testpmd: no \"%s\" #%u in %u ms", needle, n, ms);
		sleep_ms(50);
	}
}

static unsigned int prompts;

/* Send one command and wait for the prompt after it (the previous command is done). */
static void cmd(int fd, const char *line, unsigned int ms)
{
	size_t len = strlen(line);

	if (write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		fail("write to testpmd: %s", strerror(errno));
	wait_log("testpmd> ", ++prompts, ms);
}

/* Send "quit"; testpmd must exit 0. Returns its output. */
static char *quit(int fd)
{
	uint64_t deadline = now_ms() + 30000;
	int status;
	char *log;

	if (write(fd, "quit\n", 5) != 5)
		fail("write quit: %s", strerror(errno));
	close(fd);
	while (waitpid(testpmd, &status, WNOHANG) != testpmd) {
		if (now_ms() > deadline)
			fail("testpmd did not exit after quit");
		sleep_ms(20);
	}
	testpmd = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("testpmd exit status 0x%x", status);
	log = read_file(logpath);
	if (!log)
		fail("no testpmd output");
	return log;
}

struct port_stats {
	uint64_t rx, missed, rx_err, nombuf, tx, tx_err;
};

static uint64_t field(const char *sect, const char *name)
{
	const char *p = strstr(sect, name);

	if (!p)
		fail("no \"%s\" in the port statistics", name);
	return strtoull(p + strlen(name), NULL, 10);
}

/* The last "show port stats" block of port @port. */
static void parse_stats(const char *log, unsigned int port, struct port_stats *st)
{
	char hdr[64];
	const char *sect = NULL;

	snprintf(hdr, sizeof(hdr), "NIC statistics for port %u ", port);
	for (const char *p = log; (p = strstr(p, hdr)); p++)
		sect = p;
	if (!sect)
		fail("no statistics of port %u", port);
	st->rx = field(sect, "RX-packets:");
	st->missed = field(sect, "RX-missed:");
	st->rx_err = field(sect, "RX-errors:");
	st->nombuf = field(sect, "RX-nombuf:");
	st->tx = field(sect, "TX-packets:");
	st->tx_err = field(sect, "TX-errors:");
	printf("port %u: RX %" PRIu64 " missed %" PRIu64 " errors %" PRIu64 " nombuf %" PRIu64
	       "  TX %" PRIu64 " errors %" PRIu64 "\n",
	       port, st->rx, st->missed, st->rx_err, st->nombuf, st->tx, st->tx_err);
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static void check_forwarding(const char *log)
{
	struct port_stats s[2];

	parse_stats(log, 0, &s[0]);
	parse_stats(log, 1, &s[1]);
	for (unsigned int i = 0; i < 2; i++) {
		if (s[i].rx < 1000 || s[i].tx < 1000)
			fail("port %u moved too little: RX %" PRIu64 " TX %" PRIu64, i, s[i].rx,
			     s[i].tx);
		if (s[i].missed || s[i].rx_err || s[i].nombuf || s[i].tx_err)
			fail("port %u has errors", i);
	}
	/* io forwarding: what port 0 receives port 1 sends, and back. */
	if (absdiff(s[0].rx, s[1].tx) > SLACK || absdiff(s[1].rx, s[0].tx) > SLACK)
		fail("RX and TX of the two ports do not match");
}

static void check_no_failure(const char *log)
{
	if (strstr(log, "Fail") || strstr(log, "failed") || strstr(log, "Invalid"))
		fail("testpmd reported a failure");
}

/* The value of xstat @name in the last "show port xstats" block. */
static uint64_t xstat(const char *log, const char *name)
{
	char key[96];
	const char *sect = NULL, *p;

	for (p = log; (p = strstr(p, "NIC extended statistics for port")); p++)
		sect = p;
	if (!sect)
		fail("no extended statistics");
	snprintf(key, sizeof(key), "\n%s: ", name);
	p = strstr(sect, key);
	if (!p)
		fail("no xstat \"%s\"", name);
	return strtoull(p + strlen(key), NULL, 10);
}

static void check_reconfig(const char *log)
{
	const char *key;
	size_t hex;
	uint64_t rxq;

	if (!strstr(log, "MTU: 1400"))
		fail("port 0 MTU is not 1400 after the change");
	if (!strstr(log, "Promiscuous mode: enabled"))
		fail("promiscuous mode not enabled again");
	if (!strstr(log, "Allmulticast mode: enabled"))
		fail("all-multicast mode not enabled");
	if (count_str(log, "Configuring Port") < 4)
		fail("the ports were not reconfigured");
	/* RSS: types read back, the table entries written, the 40-byte key. */
	if (!strstr(log, "ipv4-udp") || !strstr(log, "ipv6-udp"))
		fail("RSS hash types not read back as ipv4-udp ipv6-udp");
	if (!strstr(log, "hash index=0, queue=1") || !strstr(log, "hash index=1, queue=0"))
		fail("the redirection table did not read back (0,1)(1,0)");
	key = strstr(log, "RSS key:\n");
	if (!key)
		fail("no RSS key shown");
	key += strlen("RSS key:\n");
	hex = strspn(key, "0123456789ABCDEF");
	if (hex != 80)
		fail("RSS key of %zu hex digits, not 80 (40 bytes)", hex);
	/* xstats: the driver's per-queue counters, which add up. */
	rxq = xstat(log, "rx_q0_packets") + xstat(log, "rx_q1_packets");
	xstat(log, "rx_q1_drops");
	xstat(log, "tx_q1_errors");
	xstat(log, "queue_errors");
	if (rxq < 1000)
		fail("rx_q0_packets + rx_q1_packets = %" PRIu64 ": too few", rxq);
	printf("xstats: rx_q0_packets + rx_q1_packets = %" PRIu64 "\n", rxq);
}

/* io and reconfig. */
static void run_forwarding(const char *scenario, const char *refnic, const char *pmd,
			   const char *exe)
{
	bool reconfig = strcmp(scenario, "reconfig") == 0;
	char *log;
	int fd;

	start_model(refnic, 2, NULL);
	fd = start_testpmd(exe, pmd, 2, "io");
	wait_log("testpmd> ", ++prompts, 60000);

	cmd(fd, "start tx_first", 10000);
	sleep_ms(3000);
	cmd(fd, "stop", 10000);
	cmd(fd, "show port stats all", 10000);
	if (reconfig) {
		/* testpmd's stdout is a file, so fully buffered: checks come after quit. */
		cmd(fd, "port stop all", 10000);
		cmd(fd, "port config all rxq 2", 10000);
		cmd(fd, "port config all txq 2", 10000);
		cmd(fd, "port config mtu 0 1400", 10000);
		cmd(fd, "port config mtu 1 1400", 10000);
		cmd(fd, "port start all", 20000);
		cmd(fd, "set promisc all off", 10000);
		cmd(fd, "set promisc all on", 10000);
		cmd(fd, "set allmulti all on", 10000);
		cmd(fd, "show port info 0", 10000);
		cmd(fd, "port config all rss udp", 10000);
		cmd(fd, "show port 0 rss-hash key", 10000);
		cmd(fd, "port config 0 rss reta (0,1)(1,0)", 10000);
		cmd(fd, "show port 0 rss reta 2 (0x3)", 10000);
		cmd(fd, "clear port stats all", 10000);
		cmd(fd, "start tx_first", 10000);
		sleep_ms(2000);
		cmd(fd, "stop", 10000);
		cmd(fd, "show port stats all", 10000);
		cmd(fd, "show port xstats 0", 10000);
	}
	log = quit(fd);
	check_no_failure(log);
	check_forwarding(log);
	if (reconfig)
		check_reconfig(log);
	free(log);
}

/* The model dies under traffic: testpmd's removal handling on both ports. */
static void run_remove(const char *refnic, const char *pmd, const char *exe)
{
	char *log;
	int fd;

	start_model(refnic, 2, NULL);
	fd = start_testpmd(exe, pmd, 2, "io");
	wait_log("testpmd> ", ++prompts, 60000);
	cmd(fd, "start tx_first", 10000);
	sleep_ms(1000);

	printf("killing the model (pid %d) under traffic\n", (int)model);
	kill(model, SIGKILL);
	waitpid(model, NULL, 0);
	model = -1;

	/* testpmd prints the events at once (flushed), then stops, closes, detaches. */
	wait_log("Port 0: device removal event", 1, 10000);
	wait_log("Port 1: device removal event", 1, 10000);
	/*
	 * Its stdout is a file, so fully buffered: the removal's messages show
	 * after quit. A command on a port that is gone says so on stderr, at once.
	 */
	for (uint64_t end = now_ms() + 20000;;) {
		char *out;
		bool gone;

		cmd(fd, "show port info 1", 10000);
		out = read_file(logpath);
		gone = out && strstr(out, "Invalid port 1");
		free(out);
		if (gone)
			break;
		if (now_ms() > end)
			fail("port 1 still there 20 s after the removal event");
		sleep_ms(200);
	}
	check_alive();

	log = quit(fd);
	if (count_str(log, "Device is detached") != 2 || !strstr(log, "Now total ports is 0"))
		fail("testpmd did not detach both removed ports");
	if (!strstr(log, "Bye..."))
		fail("testpmd did not shut down normally");
	free(log);
}

/* Remove the namespaces of runs that were killed (their pid is gone). */
static void remove_stale_namespaces(void)
{
	sh_quiet("for ns in $(ip netns list | sed -nE "
		 "'s/^(facet-dpdk-([0-9]+)-(host|nic)).*/\\1/p');"
		 " do pid=${ns#facet-dpdk-}; pid=${pid%%-*};"
		 " kill -0 $pid 2>/dev/null || ip netns del $ns; done");
}

/*
 *   namespace ns_host                       namespace ns_nic
 *   HOST_IP/24 on veth-host <veth> veth-nic <- facet-refnic --uplink af_packet:veth-nic
 *   ping ECHO_IP                               switch -> refnic.eth.0 <- testpmd icmpecho
 *
 * Both namespaces are the test's own, so nothing on the host changes.
 */
static void setup_namespaces(void)
{
	remove_stale_namespaces();
	snprintf(ns_host, sizeof(ns_host), "facet-dpdk-%d-host", (int)getpid());
	sh("ip netns add %s", ns_host);
	snprintf(ns_nic, sizeof(ns_nic), "facet-dpdk-%d-nic", (int)getpid());
	sh("ip netns add %s", ns_nic);
	sh("ip -n %s link add veth-host type veth peer name veth-nic netns %s", ns_host, ns_nic);
	sh("ip -n %s link set lo up", ns_host);
	sh("ip -n %s addr add %s/24 dev veth-host", ns_host, HOST_IP);
	sh("ip -n %s link set veth-host up", ns_host);
	sh("ip -n %s link set veth-nic up", ns_nic);
}

static void run_icmpecho(const char *refnic, const char *pmd, const char *exe)
{
	struct port_stats st;
	char *log, *ping;
	int fd, st_ping;

	if (geteuid() != 0) {
		printf("SKIP: needs root for network namespaces\n");
		cleanup();
		exit(SKIP_CODE);
	}
	if (sh_quiet("{ command -v ip && command -v ping; }") != 0)
		fail("ip or ping missing (iproute2, iputils-ping): run scripts/install-deps.sh");
	setup_namespaces();
	start_model(refnic, 1, "veth-nic");
	fd = start_testpmd(exe, pmd, 1, "icmpecho");
	wait_log("testpmd> ", ++prompts, 60000);

	/* Nobody answers before forwarding starts: the replies below are testpmd's. */
	if (sh_quiet("ip netns exec %s ping -c 1 -W 1 %s", ns_host, ECHO_IP) == 0)
		fail("%s answered before testpmd's icmpecho started", ECHO_IP);
	/* Forget the unanswered entry, or its queued request would arrive later. */
	sh_quiet("ip -n %s neigh flush dev veth-host", ns_host);
	cmd(fd, "start", 10000);

	st_ping = sh_status("ip netns exec %s ping -c 5 -i 0.2 -W 2 %s >%s 2>&1", ns_host, ECHO_IP,
			    pinglog);
	ping = read_file(pinglog);
	printf("%s", ping ? ping : "");
	if (st_ping != 0)
		fail("ping exited with status %d", st_ping);
	if (!ping || !strstr(ping, "5 packets transmitted, 5 received"))
		fail("not 5 of 5 echo replies");
	free(ping);
	/* The ARP reply came from testpmd: the address is at the refnic port's MAC. */
	if (sh_quiet("ip -n %s neigh show %s dev veth-host | grep -q 'lladdr %s'", ns_host, ECHO_IP,
		     PORT_MAC) != 0)
		fail("%s is not at the refnic port's MAC %s", ECHO_IP, PORT_MAC);
	cmd(fd, "stop", 10000);
	cmd(fd, "show port stats 0", 10000);
	log = quit(fd);
	check_no_failure(log);
	parse_stats(log, 0, &st);
	/* At least the 5 echoes and one ARP each way; Linux may send more (IPv6). */
	if (st.rx < 6 || st.tx < 6)
		fail("port 0: RX %" PRIu64 " TX %" PRIu64 ", expected at least 6 each", st.rx,
		     st.tx);
	free(log);
}

static const char *find_exe(const char *name)
{
	static char path[4096];
	const char *env = getenv("PATH");
	char *dirs, *save = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? name : NULL;
	dirs = strdup(env ? env : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", d, name);
		if (access(path, X_OK) == 0) {
			free(dirs);
			return path;
		}
	}
	free(dirs);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *scenario, *exe, *pmd;
	int status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5) {
		fprintf(stderr,
			"usage: %s io|reconfig|remove|icmpecho FACET_REFNIC PMD_SO DPDK_TESTPMD\n",
			argv[0]);
		return 2;
	}
	scenario = argv[1];
	exe = find_exe(argv[4]);
	if (!exe) {
		fprintf(stderr,
			"FAIL: %s not found: libdpdk is installed, so dpdk-testpmd must be "
			"too (Debian: apt-get install dpdk)\n",
			argv[4]);
		return 1;
	}
	if (access(argv[3], R_OK) != 0) {
		fprintf(stderr, "FAIL: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	if (!mkdtemp(dir))
		fail("mkdtemp: %s", strerror(errno));
	snprintf(sock[0], sizeof(sock[0]), "%s/a.sock", dir);
	snprintf(sock[1], sizeof(sock[1]), "%s/b.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/testpmd.log", dir);
	snprintf(pinglog, sizeof(pinglog), "%s/ping.log", dir);
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(scenario, "icmpecho") == 0 && geteuid() != 0) {
		printf("SKIP: needs root for network namespaces\n");
		cleanup();
		return SKIP_CODE;
	}
	choose_memory();
	pmd = stage_pmd(argv[3]);
	if (strcmp(scenario, "io") == 0 || strcmp(scenario, "reconfig") == 0)
		run_forwarding(scenario, argv[2], pmd, exe);
	else if (strcmp(scenario, "remove") == 0)
		run_remove(argv[2], pmd, exe);
	else if (strcmp(scenario, "icmpecho") == 0)
		run_icmpecho(argv[2], pmd, exe);
	else
		fail("unknown scenario %s", scenario);

	if (getenv("FACET_TEST_VERBOSE"))
		dump_file("testpmd output", logpath);
	if (model > 0) {
		kill(model, SIGTERM);
		waitpid(model, &status, 0);
		model = -1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail("the model exited with status 0x%x", status);
	}
	printf("PASS %s\n", scenario);
	cleanup();
	return 0;
}
