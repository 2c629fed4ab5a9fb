/* SPDX-License-Identifier: MIT */
/*
 * Unmodified dpdk-testpmd drives two refnic Ethernet slices through the
 * net_facet PMD (librte_net_facet.so): the model process serves two devices
 * on one switch, testpmd opens one port on each and io-forwards between them.
 *
 *   test_testpmd SCENARIO FACET_REFNIC_EXE LIBRTE_NET_FACET_SO DPDK_TESTPMD
 *
 * SCENARIO io:       start tx_first, 3 s, stop: both ports moved traffic,
 *                    port0 RX ~= port1 TX and back, no error, exit 0.
 * SCENARIO reconfig: as io, then stop the ports, 2 queues each, MTU 1400,
 *                    promiscuous off/on, all-multicast on, start again.
 *
 * testpmd runs interactively (-i) with its commands on a pipe, so every step
 * is explicit and it exits through "quit" (status 0). A missing testpmd is a
 * failure: this test exists only where libdpdk was found.
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

#define SLACK 256 /* frames in flight or in rings when forwarding stops */

static char dir[64] = "/tmp/facet-dpdk-XXXXXX";
static char sock[2][128], logpath[128];
static char pmd_dir[PATH_MAX], pmd_copy[PATH_MAX];
static pid_t model = -1, testpmd = -1;

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
	unlink(sock[0]);
	unlink(sock[1]);
	unlink(logpath);
	rmdir(dir);
	if (pmd_copy[0])
		unlink(pmd_copy);
	if (pmd_dir[0])
		rmdir(pmd_dir);
}

static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...);

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

static void dump_log(void)
{
	char buf[4096];
	FILE *f = fopen(logpath, "r");
	size_t n;

	if (!f)
		return;
	fprintf(stderr, "---- testpmd output ----\n");
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end ----\n");
	fclose(f);
}

static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...)
{
	va_list ap;

	dump_log();
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

static void start_model(const char *exe)
{
	char *argv[] = { (char *)exe, "--socket", sock[0], "--socket", sock[1], NULL };
	posix_spawn_file_actions_t fa;
	char out[1024];
	size_t len = 0;
	uint64_t deadline = now_ms() + 10000;
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		fail("pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	if (posix_spawn(&model, exe, &fa, NULL, argv, environ) != 0)
		fail("cannot run %s", exe);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	out[0] = '\0';
	while (!strstr(out, sock[0]) || !strstr(out, sock[1])) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		ssize_t n;

		if (now_ms() > deadline)
			fail("the model did not announce its sockets: \"%s\"", out);
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(pipefd[0], out + len, sizeof(out) - 1 - len);
		if (n <= 0)
			fail("the model exited early: \"%s\"", out);
		len += (size_t)n;
		out[len] = '\0';
	}
	close(pipefd[0]);
}

/* Start testpmd; returns the write end of its stdin. Output goes to logpath. */
static int start_testpmd(const char *exe, const char *pmd)
{
	char vdev0[200], vdev1[200];
	char *argv[] = { (char *)exe,
			 "-l",
			 "0-1",
			 "--no-pci",
			 "--no-shconf",
			 "--no-huge",
			 "-m",
			 "512",
			 "-d",
			 (char *)pmd,
			 "--vdev",
			 vdev0,
			 "--vdev",
			 vdev1,
			 "--",
			 "-i",
			 "--forward-mode=io",
			 "--nb-cores=1",
			 "--rxq=1",
			 "--txq=1",
			 "--total-num-mbufs=16384",
			 NULL };
	posix_spawn_file_actions_t fa;
	int in[2];

	snprintf(vdev0, sizeof(vdev0), "net_facet0,dev=vfio-user:%s", sock[0]);
	snprintf(vdev1, sizeof(vdev1), "net_facet1,dev=vfio-user:%s", sock[1]);
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

static char *read_log(void)
{
	FILE *f = fopen(logpath, "r");
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

/* Wait until the log holds @n prompts (the previous command is done). */
static void wait_prompts(unsigned int n, unsigned int ms)
{
	uint64_t deadline = now_ms() + ms;

	for (;;) {
		char *log = read_log();
		unsigned int seen = log ? count_str(log, "testpmd> ") : 0;

		free(log);
		if (seen >= n)
			return;
		if (waitpid(testpmd, NULL, WNOHANG) == testpmd) {
			testpmd = -1;
			fail("testpmd exited early");
		}
		if (now_ms() > deadline)
			fail("testpmd: no prompt #%u in %u ms", n, ms);
		sleep_ms(50);
	}
}

static unsigned int prompts;

/* Send one command and wait for the prompt after it. */
static void cmd(int fd, const char *line, unsigned int ms)
{
	size_t len = strlen(line);

	if (write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		fail("write to testpmd: %s", strerror(errno));
	wait_prompts(++prompts, ms);
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
	const char *scenario, *exe;
	int fd, status;
	uint64_t deadline;
	char *log;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5) {
		fprintf(stderr, "usage: %s io|reconfig FACET_REFNIC PMD_SO DPDK_TESTPMD\n",
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
	signal(SIGPIPE, SIG_IGN);

	start_model(argv[2]);
	fd = start_testpmd(exe, stage_pmd(argv[3]));
	wait_prompts(++prompts, 60000);

	cmd(fd, "start tx_first", 10000);
	sleep_ms(3000);
	cmd(fd, "stop", 10000);
	cmd(fd, "show port stats all", 10000);
	if (strcmp(scenario, "reconfig") == 0) {
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
		cmd(fd, "clear port stats all", 10000);
		cmd(fd, "start tx_first", 10000);
		sleep_ms(2000);
		cmd(fd, "stop", 10000);
		cmd(fd, "show port stats all", 10000);
	}
	if (write(fd, "quit\n", 5) != 5)
		fail("write quit: %s", strerror(errno));
	close(fd);

	deadline = now_ms() + 30000;
	while (waitpid(testpmd, &status, WNOHANG) != testpmd) {
		if (now_ms() > deadline)
			fail("testpmd did not exit after quit");
		sleep_ms(20);
	}
	testpmd = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("testpmd exit status 0x%x", status);

	log = read_log();
	if (!log)
		fail("no testpmd output");
	if (strstr(log, "Fail") || strstr(log, "failed") || strstr(log, "Invalid"))
		fail("testpmd reported a failure");
	check_forwarding(log);
	if (strcmp(scenario, "reconfig") == 0) {
		if (!strstr(log, "MTU: 1400"))
			fail("port 0 MTU is not 1400 after the change");
		if (!strstr(log, "Promiscuous mode: enabled"))
			fail("promiscuous mode not enabled again");
		if (!strstr(log, "Allmulticast mode: enabled"))
			fail("all-multicast mode not enabled");
		if (count_str(log, "Configuring Port") < 4)
			fail("the ports were not reconfigured");
	}
	free(log);
	if (getenv("FACET_TEST_VERBOSE"))
		dump_log();
	printf("PASS %s\n", scenario);
	kill(model, SIGTERM);
	waitpid(model, &status, 0);
	model = -1;
	cleanup();
	return 0;
}
