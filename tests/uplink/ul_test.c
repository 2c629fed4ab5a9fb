/* SPDX-License-Identifier: MIT */
/*
 * ul_test.c: helpers shared by the uplink tests (see ul_test.h).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ul_test.h"

static uint8_t pattern(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31u + i * 7u + (i >> 8));
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void ul_frame_fill(uint8_t *f, uint32_t len, uint32_t magic, uint32_t seq)
{
	static const uint8_t src[6] = { 0x02, 0xfa, 0xce, 0x00, 0x00, 0x01 };

	assert_true(len >= 26);
	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = UL_ETHERTYPE >> 8;
	f[13] = UL_ETHERTYPE & 0xff;
	put32(f + 14, magic);
	put32(f + 18, seq);
	put32(f + 22, len);
	for (uint32_t i = 26; i < len; i++)
		f[i] = pattern(seq, i);
}

int ul_frame_seq(const uint8_t *f, uint32_t len, uint32_t magic)
{
	uint32_t seq;

	if (len < 26 || f[12] != UL_ETHERTYPE >> 8 || f[13] != (UL_ETHERTYPE & 0xff) ||
	    get32(f + 14) != magic)
		return -1;
	seq = get32(f + 18);
	assert_int_equal(get32(f + 22), len);
	for (uint32_t i = 26; i < len; i++) {
		if (f[i] != pattern(seq, i))
			fail_msg("frame seq %u len %u: byte %u is %#x, want %#x", seq, len, i, f[i],
				 pattern(seq, i));
	}
	return (int)seq;
}

static uint32_t sum16(uint32_t s, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* Verification the textbook way: the sum over pseudo-header and segment is all ones. */
bool ul_l4_csum_ok(const uint8_t *f, uint32_t len, int *proto)
{
	uint32_t off = 14, l4, l4len, s;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);

	if (type == 0x8100) {
		type = (uint16_t)(f[16] << 8 | f[17]);
		off = 18;
	}
	if (type == 0x0800) {
		uint32_t ihl = (f[off] & 0xfu) * 4;

		*proto = f[off + 9];
		l4 = off + ihl;
		l4len = (uint32_t)(f[off + 2] << 8 | f[off + 3]) - ihl;
		s = sum16(0, f + off + 12, 8);
	} else if (type == 0x86dd) {
		*proto = f[off + 6];
		l4 = off + 40;
		l4len = (uint32_t)(f[off + 4] << 8 | f[off + 5]);
		s = sum16(0, f + off + 8, 32);
	} else {
		return false;
	}
	if (l4 + l4len > len)
		return false;
	s = sum16(s + (uint32_t)*proto + l4len, f + l4, l4len);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

bool ul_wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keep the frames with @magic among bufs[base..base+n), packed from slot @got on. */
static unsigned int collect_keep(uint8_t **bufs, uint32_t *lens, unsigned int got,
				 unsigned int base, unsigned int n, uint32_t magic,
				 uint32_t other_magic, unsigned int *other)
{
	for (unsigned int i = base; i < base + n; i++) {
		if (ul_frame_seq(bufs[i], lens[i], magic) < 0) {
			if (other && ul_frame_seq(bufs[i], lens[i], other_magic) >= 0)
				(*other)++;
			continue;
		}
		if (i != got) {
			memcpy(bufs[got], bufs[i], lens[i]);
			lens[got] = lens[i];
		}
		got++;
	}
	return got;
}

unsigned int ul_uplink_collect(struct refnic_uplink *u, uint32_t magic, uint8_t **bufs,
			       uint32_t *lens, unsigned int want, int ms, uint32_t other_magic,
			       unsigned int *other)
{
	long end = now_ms() + ms;
	unsigned int got = 0;

	while (got < want && now_ms() < end) {
		int r;

		/* Sleep on poll_fd as the model's worker does. */
		if (!ul_wait_readable(refnic_uplink_poll_fd(u), (int)(end - now_ms())))
			continue;
		r = refnic_uplink_rx_burst(u, bufs + got, lens + got, want - got);
		assert_true(r >= 0);
		got = collect_keep(bufs, lens, got, got, (unsigned int)r, magic, other_magic,
				   other);
	}
	return got;
}

uint8_t **ul_bufs_alloc(unsigned int n)
{
	uint8_t **b = calloc(n, sizeof(*b));

	assert_non_null(b);
	for (unsigned int i = 0; i < n; i++) {
		b[i] = malloc(REFNIC_UPLINK_FRAME_MAX);
		assert_non_null(b[i]);
	}
	return b;
}

void ul_bufs_free(uint8_t **bufs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free(bufs[i]);
	free(bufs);
}

/* ---- root-only helpers ---- */

static char ip_path[64];

static void find_ip(void)
{
	static const char *const paths[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (access(paths[i], X_OK) == 0) {
			snprintf(ip_path, sizeof(ip_path), "%s", paths[i]);
			return;
		}
	}
}

void ul_require_root(const char *test)
{
	if (geteuid() != 0) {
		printf("%s: skipped: needs root (CI runs it as root)\n", test);
		fflush(stdout);
		exit(UL_SKIP);
	}
	find_ip();
	if (!ip_path[0]) {
		fprintf(stderr,
			"%s: FAIL: iproute2 ('ip') is missing: run scripts/install-deps.sh\n",
			test);
		exit(1);
	}
}

/* fork + execv of ip with @argv: async-signal-safe, for the signal path too. */
static int run_ip_argv(char *const *argv, bool quiet)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execv(ip_path, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

#define MAX_WORDS 24

/* Split @line (modified) on spaces into @argv, with "ip" as argv[0]. */
static void split_words(char *line, char **argv)
{
	int n = 0;

	argv[n++] = ip_path;
	for (char *w = strtok(line, " "); w && n < MAX_WORDS - 1; w = strtok(NULL, " "))
		argv[n++] = w;
	argv[n] = NULL;
}

int ul_ip(const char *fmt, ...)
{
	char line[512], echo[512];
	char *argv[MAX_WORDS];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(echo, sizeof(echo), "%s", line);
	split_words(line, argv);
	ret = run_ip_argv(argv, false);
	if (ret)
		fprintf(stderr, "ul_test: 'ip %s' exited %d\n", echo, ret);
	return ret;
}

void ul_private_netns(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	/* Loopback is down in a fresh namespace; nothing here needs it, but be tidy. */
	ul_ip("link set lo up");
}

/* Clean-up: argv prepared up front so the signal path only forks and execs. */
#define MAX_CLEANUPS 8

static struct cleanup {
	char line[256];
	char *argv[MAX_WORDS];
	volatile sig_atomic_t done;
} cleanups[MAX_CLEANUPS];
static int ncleanups;

void ul_cleanup_run(void)
{
	/* Reverse order: a namespace goes after what was moved into it. */
	for (int i = ncleanups - 1; i >= 0; i--) {
		if (cleanups[i].done)
			continue;
		cleanups[i].done = 1;
		run_ip_argv(cleanups[i].argv, true);
	}
}

static void cleanup_signal(int sig)
{
	ul_cleanup_run();
	signal(sig, SIG_DFL);
	raise(sig);
}

void ul_cleanup_add(const char *args)
{
	static const int sigs[] = { SIGABRT, SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	struct cleanup *c;

	assert_true(ncleanups < MAX_CLEANUPS);
	if (ncleanups == 0) {
		atexit(ul_cleanup_run);
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], cleanup_signal);
	}
	c = &cleanups[ncleanups];
	snprintf(c->line, sizeof(c->line), "%s", args);
	split_words(c->line, c->argv);
	ncleanups++;
}

void ul_sweep_stale_netns(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(e->d_name, "facet-ul-", 9))
			continue;
		pid = strtol(e->d_name + 9, &end, 10);
		if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		fprintf(stderr, "ul_test: deleting stale namespace %s\n", e->d_name);
		ul_ip("netns del %s", e->d_name);
	}
	closedir(d);
}

int ul_in_netns(const char *ns, int (*fn)(void *arg), void *arg)
{
	char path[128];
	int self, target, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0);
	assert_true(target >= 0);
	assert_int_equal(setns(target, CLONE_NEWNET), 0);
	ret = fn(arg);
	/* Sockets keep the namespace they were made in; the thread goes home. */
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	close(target);
	close(self);
	return ret;
}

int ul_raw_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int one = 1, sz = 4 << 20;
	int fd;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

bool ul_wait_running(const char *ifname, int ms)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = false;

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	for (long end = now_ms() + ms; now_ms() < end; usleep(10000)) {
		if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 &&
		    (ifr.ifr_flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING)) {
			ok = true;
			break;
		}
	}
	close(s);
	return ok;
}

long ul_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned int ul_sock_collect(int fd, uint32_t magic, unsigned int want, int ms, uint8_t **bufs,
			     uint32_t *lens)
{
	unsigned int got = 0;

	for (long end = ul_now_ms() + ms; got < want && ul_now_ms() < end;) {
		ssize_t r;

		if (!ul_wait_readable(fd, (int)(end - ul_now_ms())))
			continue;
		r = recv(fd, bufs[got], REFNIC_UPLINK_FRAME_MAX, 0);
		assert_true(r >= 0);
		lens[got] = (uint32_t)r;
		if (ul_frame_seq(bufs[got], lens[got], magic) >= 0)
			got++;
	}
	return got;
}
