/* SPDX-License-Identifier: MIT */
/*
 * The facet_eth test harness (see teth.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "facet_core_bus.h"
#include "teth.h"

extern char **environ;

#define MODEL_START_MS 10000 /* generous: the model may run under ASan */
#define HDR_LEN	       42    /* Ethernet + IPv4 + UDP */
#define SEQ_OFF	       HDR_LEN

static const char *model_exe;

/*
 * The bus's plugin directory: made here, holding links to the plugins under
 * test and nothing else. The build tree's plugins/ also has slice drivers
 * for the other slices (refnic.rdma, ...), which would autoload and bind
 * them: a test that does not ask for them (teth_plugin_add()) owns those
 * slices itself.
 */
#define MAX_PLUGINS 4
static const char *build_plugins;
static char plugin_dir[64];
static char plugin_link[MAX_PLUGINS][128];
static unsigned int nplugins;

static void plugins_remove(void)
{
	for (unsigned int i = 0; i < nplugins; i++)
		unlink(plugin_link[i]);
	if (plugin_dir[0])
		rmdir(plugin_dir);
}

void teth_plugin_add(const char *file)
{
	char path[PATH_MAX], link[sizeof(plugin_link[0])];
	char *target;

	snprintf(link, sizeof(link), "%s/%s", plugin_dir, file);
	for (unsigned int i = 0; i < nplugins; i++)
		if (!strcmp(plugin_link[i], link))
			return;
	assert_true(nplugins < MAX_PLUGINS);
	snprintf(path, sizeof(path), "%s/%s", build_plugins, file);
	target = realpath(path, NULL);
	if (!target)
		fail_msg("no plugin %s", path);
	assert_int_equal(symlink(target, link), 0);
	free(target);
	strcpy(plugin_link[nplugins++], link);
}

void teth_args(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s FACET_REFNIC_EXE PLUGIN_DIR [...]\n", argv[0]);
		exit(2);
	}
	model_exe = argv[1];
	build_plugins = argv[2];
	strcpy(plugin_dir, "/tmp/facet-eth-plugins-XXXXXX");
	if (!mkdtemp(plugin_dir)) {
		perror("teth: mkdtemp");
		exit(2);
	}
	atexit(plugins_remove);
	teth_plugin_add("facet_pci_refnic.so");
	teth_plugin_add("facet_net_refnic.so");
}

uint64_t teth_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the model process ----------------------------------------------------------- */

void teth_read_lines(int fd, char *buf, size_t size, unsigned int lines, unsigned int ms)
{
	uint64_t deadline = teth_now_ms() + ms;
	size_t len = 0;
	unsigned int seen = 0;

	buf[0] = '\0';
	while (seen < lines && len < size - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) == 0 && teth_now_ms() > deadline)
			fail_msg("no %u lines of output in %u ms: \"%s\"", lines, ms, buf);
		n = read(fd, buf + len, size - 1 - len);
		if (n == 0)
			fail_msg("the process exited early: \"%s\"", buf);
		if (n < 0)
			continue;
		for (ssize_t i = 0; i < n; i++)
			seen += buf[len + (size_t)i] == '\n';
		len += (size_t)n;
		buf[len] = '\0';
	}
}

/*
 * Children still running when the test exits (a failed assertion skips the
 * rest of the test) are killed, or they would hold the test's stdout and
 * stderr open and the test runner would wait for them until its timeout.
 */
#define MAX_CHILDREN 16
static pid_t children[MAX_CHILDREN];

static void kill_children(void)
{
	for (unsigned int i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] > 0 && waitpid(children[i], NULL, WNOHANG) == 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
		}
	}
}

static void track_child(pid_t pid, bool alive)
{
	static bool registered;

	if (!registered) {
		atexit(kill_children);
		registered = true;
	}
	for (unsigned int i = 0; i < MAX_CHILDREN; i++) {
		if (alive && children[i] <= 0) {
			children[i] = pid;
			return;
		}
		if (!alive && children[i] == pid) {
			children[i] = 0;
			return;
		}
	}
}

pid_t teth_spawn(char *const argv[], int *out_fd)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2];
	pid_t pid;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	track_child(pid, true);
	*out_fd = pipefd[0];
	return pid;
}

int teth_wait(pid_t pid, unsigned int ms)
{
	uint64_t deadline = teth_now_ms() + ms;
	int status = 0;

	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (teth_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			track_child(pid, false);
			fail_msg("process %d did not exit in %u ms", (int)pid, ms);
		}
		usleep(1000);
	}
	track_child(pid, false);
	return status;
}

static void model_start(struct teth_env *env)
{
	char *argv[] = {
		(char *)model_exe, "--socket", env->sock[0], "--socket", env->sock[1], NULL
	};
	char out[512];
	int fd;

	strcpy(env->dir, "/tmp/facet-eth-XXXXXX");
	assert_non_null(mkdtemp(env->dir));
	for (unsigned int i = 0; i < TETH_DEVS; i++)
		snprintf(env->sock[i], sizeof(env->sock[i]), "%s/dev%u.sock", env->dir, i);
	env->model = teth_spawn(argv, &fd);
	teth_read_lines(fd, out, sizeof(out), TETH_DEVS, MODEL_START_MS);
	close(fd);
	for (unsigned int i = 0; i < TETH_DEVS; i++)
		assert_non_null(strstr(out, env->sock[i]));
}

void teth_model_kill(struct teth_env *env)
{
	int status;

	assert_int_equal(kill(env->model, SIGKILL), 0);
	assert_int_equal(waitpid(env->model, &status, 0), env->model);
	track_child(env->model, false);
	env->model_killed = true;
}

static void model_stop(struct teth_env *env)
{
	int status;

	if (env->model_killed) {
		for (unsigned int i = 0; i < TETH_DEVS; i++)
			unlink(env->sock[i]);
		rmdir(env->dir);
		return;
	}

	kill(env->model, SIGTERM);
	status = teth_wait(env->model, MODEL_START_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	for (unsigned int i = 0; i < TETH_DEVS; i++)
		unlink(env->sock[i]);
	rmdir(env->dir);
}

/* ---- bus and ports ------------------------------------------------------------------- */

void teth_env_start(struct teth_env *env)
{
	teth_env_start_open(env, TETH_DEVS);
}

void teth_env_start_open(struct teth_env *env, unsigned int n_open)
{
	const struct facet_bus_config cfg = { .plugin_path = plugin_dir };

	memset(env, 0, sizeof(*env));
	model_start(env);
	assert_int_equal(facet_bus_create(&cfg, &env->bus), 0);
	for (unsigned int i = 0; i < n_open; i++) {
		char spec[160];

		snprintf(spec, sizeof(spec), "vfio-user:%s", env->sock[i]);
		assert_int_equal(facet_core_bus_open(env->bus, spec, NULL, &env->pci[i]), 0);
		/* The core driver published the slices, the eth driver autoloaded. */
		snprintf(env->name[i], sizeof(env->name[i]), "refnic.eth.%u",
			 facet_bus_device_id(env->pci[i]));
		env->port[i] = facet_eth_port_get(env->bus, env->name[i]);
		assert_non_null(env->port[i]);
		assert_int_equal(facet_eth_mac_get(env->port[i], env->mac[i]), 0);
	}
	if (n_open == TETH_DEVS)
		assert_memory_not_equal(env->mac[0], env->mac[1], 6);
}

void teth_env_stop(struct teth_env *env)
{
	for (unsigned int i = 0; i < TETH_DEVS; i++)
		facet_eth_port_put(env->port[i]);
	for (unsigned int i = 0; i < TETH_DEVS; i++) {
		if (!env->pci[i])
			continue;
		facet_bus_device_del(env->pci[i]);
		facet_bus_device_put(env->pci[i]);
	}
	facet_bus_destroy(env->bus);
	model_stop(env);
}

void teth_port_up(struct facet_eth_port *port, uint16_t nb_rxq, uint16_t nb_txq, uint16_t nb_desc,
		  uint32_t pool_count, struct facet_pktbuf_pool **pool)
{
	const struct facet_eth_conf conf = { .nb_rxq = nb_rxq, .nb_txq = nb_txq };
	const struct facet_pktbuf_pool_opts opts = {
		.count = pool_count,
		.numa_node = -1,
		.no_hugepages = true,
	};

	assert_int_equal(facet_pktbuf_pool_create(facet_eth_port_dma_dev(port),
						  facet_eth_port_dma_owner(port), &opts, pool),
			 0);
	assert_int_equal(facet_eth_configure(port, &conf), 0);
	for (uint16_t q = 0; q < nb_rxq; q++)
		assert_int_equal(facet_eth_rx_queue_setup(port, q, nb_desc, *pool), 0);
	for (uint16_t q = 0; q < nb_txq; q++)
		assert_int_equal(facet_eth_tx_queue_setup(port, q, nb_desc), 0);
	assert_int_equal(facet_eth_start(port), 0);
}

void teth_port_down(struct facet_eth_port *port, struct facet_pktbuf_pool *pool)
{
	assert_int_equal(facet_eth_stop(port), 0);
	assert_int_equal(facet_pktbuf_pool_avail(pool), facet_pktbuf_pool_count(pool));
	facet_pktbuf_pool_free(pool);
}

/* ---- frames ------------------------------------------------------------------------------ */

static uint16_t ip_csum(const uint8_t *hdr, unsigned int len)
{
	uint32_t sum = 0;

	for (unsigned int i = 0; i < len; i += 2)
		sum += (uint32_t)hdr[i] << 8 | hdr[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint8_t pattern(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 7u + i * 13u + (i >> 8));
}

/* The whole frame in one flat buffer. */
static void frame_bytes(uint8_t *f, const struct teth_flow *fl, uint32_t len, uint32_t seq)
{
	memcpy(f, fl->dst_mac, 6);
	memcpy(f + 6, fl->src_mac, 6);
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	f[15] = 0;
	put16(f + 16, (uint16_t)(len - 14));
	put32(f + 18, 0); /* id, flags, fragment offset */
	f[22] = 64;	  /* ttl */
	f[23] = 17;	  /* UDP */
	put16(f + 24, 0);
	put32(f + 26, fl->src_ip);
	put32(f + 30, fl->dst_ip);
	put16(f + 24, ip_csum(f + 14, 20));
	put16(f + 34, fl->src_port);
	put16(f + 36, fl->dst_port);
	put16(f + 38, (uint16_t)(len - 34));
	put16(f + 40, 0); /* no UDP checksum */
	put32(f + SEQ_OFF, seq);
	put32(f + SEQ_OFF + 4, len);
	for (uint32_t i = SEQ_OFF + 8; i < len; i++)
		f[i] = pattern(seq, i);
}

struct facet_pktbuf *teth_frame(struct facet_pktbuf_pool *pool, const struct teth_flow *flow,
				uint32_t len, uint32_t seq, uint16_t seg_size)
{
	uint8_t *flat = malloc(len);
	struct facet_pktbuf *head = NULL, *last = NULL;
	uint32_t off = 0;

	assert_non_null(flat);
	assert_true(len >= 60);
	frame_bytes(flat, flow, len, seq);
	while (off < len) {
		struct facet_pktbuf *seg = facet_pktbuf_alloc(pool);
		uint16_t take = (uint16_t)(len - off < seg_size ? len - off : seg_size);

		if (!seg) {
			facet_pktbuf_free(head);
			free(flat);
			return NULL;
		}
		assert_true(facet_pktbuf_tailroom(seg) >= take);
		memcpy(facet_pktbuf_data(seg), flat + off, take);
		seg->data_len = take;
		if (last) {
			last->next = seg;
			head->nb_segs++;
		} else {
			head = seg;
		}
		head->pkt_len += take;
		last = seg;
		off += take;
	}
	free(flat);
	return head;
}

int64_t teth_check(const struct facet_pktbuf *pkt, const struct teth_flow *flow)
{
	uint32_t len = pkt->pkt_len, seq, segs = 0, sum = 0;
	uint8_t *flat, *want;
	int64_t ret = -1;

	for (const struct facet_pktbuf *s = pkt; s; s = s->next) {
		segs++;
		sum += s->data_len;
	}
	if (segs != pkt->nb_segs || sum != len || len < 60)
		return -1;
	flat = malloc(len);
	want = malloc(len);
	assert_true(flat && want);
	assert_int_equal(facet_pktbuf_read(pkt, 0, flat, len), len);
	seq = (uint32_t)flat[SEQ_OFF] << 24 | (uint32_t)flat[SEQ_OFF + 1] << 16 |
	      (uint32_t)flat[SEQ_OFF + 2] << 8 | flat[SEQ_OFF + 3];
	if (flow) {
		frame_bytes(want, flow, len, seq);
		/* The UDP checksum may have been filled in by the device. */
		want[40] = flat[40];
		want[41] = flat[41];
		if (memcmp(flat, want, len) == 0)
			ret = seq;
	} else {
		ret = seq;
	}
	free(flat);
	free(want);
	return ret;
}

int teth_src_port(const struct facet_pktbuf *pkt)
{
	uint8_t hdr[HDR_LEN];

	if (facet_pktbuf_read(pkt, 0, hdr, HDR_LEN) != HDR_LEN || hdr[23] != 17)
		return -1;
	return hdr[34] << 8 | hdr[35];
}

unsigned int teth_rx_wait(struct facet_eth_port *port, uint16_t nb_rxq, unsigned int want,
			  unsigned int ms,
			  void (*fn)(struct facet_pktbuf *pkt, uint16_t qid, void *arg), void *arg)
{
	uint64_t deadline = teth_now_ms() + ms;
	struct facet_pktbuf *bufs[32];
	unsigned int got = 0;

	while (got < want && teth_now_ms() < deadline) {
		unsigned int round = 0;

		for (uint16_t q = 0; q < nb_rxq; q++) {
			uint16_t n = facet_eth_rx_burst(port, q, bufs, 32);

			for (uint16_t i = 0; i < n; i++)
				fn(bufs[i], q, arg);
			round += n;
		}
		got += round;
		if (!round)
			usleep(50);
	}
	return got;
}

void teth_tx_all(struct facet_eth_port *port, uint16_t qid, struct facet_pktbuf **pkts,
		 unsigned int n)
{
	uint64_t deadline = teth_now_ms() + 5000;
	unsigned int sent = 0;

	while (sent < n) {
		uint16_t chunk = (uint16_t)(n - sent > 64 ? 64 : n - sent);

		sent += facet_eth_tx_burst(port, qid, pkts + sent, chunk);
		if (sent < n) {
			if (teth_now_ms() > deadline)
				fail_msg("TX queue %u stuck: %u of %u sent", qid, sent, n);
			usleep(20);
		}
	}
}
