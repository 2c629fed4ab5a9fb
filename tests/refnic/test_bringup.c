/* SPDX-License-Identifier: MIT */
/*
 * Bring-up of a refnic with real parts only: the facet-refnic model as a
 * process of its own, the real refnic core driver autoloaded by a bus,
 * facet_core_bus_open() over vfio-user, and a slice driver in this process
 * that uses the refnic core API as a slice driver would.
 *
 *   test_refnic_bringup FACET_REFNIC_EXE FACET_PCI_REFNIC_SO
 *
 * The bus's plugin path is a directory made here that holds only the core
 * driver's plugin: a slice driver plugin of the build tree (drivers/net/refnic
 * matches "refnic.eth") would otherwise autoload and take the slice that the
 * test's driver is meant to bind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "facet_bus.h"
#include "facet_bus_driver.h"
#include "facet_core.h"
#include "facet_core_bus.h"
#include "refnic_core.h"
#include "refnic_model.h"

extern char **environ;

#define MODEL_START_MS 10000 /* generous: the model may run under ASan */
#define EVENT_WAIT_MS  2000
#define DEAD_LIMIT_MS  2000
#define DEL_LIMIT_MS   5000

#define DEFAULT_MAC "02:fa:ce:00:00:00" /* the model's mac_base; function 0 */
#define NEW_MAC	    0x554433221102ull	/* 02:11:22:33:44:55, little-endian bytes */
#define TSLICE_NAME "test_refnic_eth"

static const char *model_exe;
static const char *core_plugin;
static char plugin_dir[64];
static char plugin_link[128];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void nap_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- the model process ------------------------------------------------- */

struct model {
	pid_t pid;
	char dir[64];
	char sock[128];
	char spec[160];
};

/* Read the child's stdout until its first line is complete (bounded). */
static void model_read_line(int fd, char *line, size_t size)
{
	uint64_t deadline = now_ms() + MODEL_START_MS;
	size_t len = 0;

	while (len < size - 1 && !memchr(line, '\n', len)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (now_ms() > deadline)
			fail_msg("facet-refnic did not report serving in %d ms", MODEL_START_MS);
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, line + len, size - 1 - len);
		if (n == 0)
			fail_msg("facet-refnic exited before serving");
		if (n > 0)
			len += (size_t)n;
		line[len] = '\0';
	}
}

/* Spawn facet-refnic on a fresh socket and wait for "refnic: serving on PATH". */
static void model_start(struct model *m)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)model_exe, "--socket", m->sock, NULL };
	char line[256] = "", want[160];
	int out[2];

	strcpy(m->dir, "/tmp/facet-bringup-XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	snprintf(m->sock, sizeof(m->sock), "%s/refnic.sock", m->dir);
	snprintf(m->spec, sizeof(m->spec), "vfio-user:%s", m->sock);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	assert_int_equal(posix_spawn(&m->pid, model_exe, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	model_read_line(out[0], line, sizeof(line));
	close(out[0]);
	snprintf(want, sizeof(want), "refnic: serving on %s\n", m->sock);
	assert_string_equal(line, want);
}

/* Reap the model within @ms; returns its wait status, or -1. */
static int model_reap(struct model *m, unsigned int ms)
{
	uint64_t deadline = now_ms() + ms;
	int status;

	do {
		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			m->pid = 0;
			return status;
		}
		nap_ms(1);
	} while (now_ms() < deadline);
	return -1;
}

static void model_rmdir(struct model *m)
{
	if (m->dir[0]) {
		unlink(m->sock); /* a killed model leaves it behind */
		rmdir(m->dir);
		m->dir[0] = '\0';
	}
}

/* Stop a live model with SIGTERM: it must shut down cleanly (under ASan: leak-free). */
static void model_stop(struct model *m)
{
	int status = 0;

	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		status = model_reap(m, MODEL_START_MS);
		if (status == -1) {
			kill(m->pid, SIGKILL);
			model_reap(m, MODEL_START_MS);
		}
	}
	model_rmdir(m);
	if (status == -1)
		fail_msg("facet-refnic ignored SIGTERM");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Kill a model a failed setup left running. */
static void model_kill_leftover(struct model *m)
{
	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		model_reap(m, MODEL_START_MS);
	}
	model_rmdir(m);
}

static void model_kill9(struct model *m)
{
	int status;

	assert_int_equal(kill(m->pid, SIGKILL), 0);
	status = model_reap(m, MODEL_START_MS);
	assert_true(status != -1 && WIFSIGNALED(status));
}

/* ---- the test slice driver ---------------------------------------------- */

/*
 * Probe runs under the bus's device lock, so it must not longjmp out through
 * cmocka: it records the first check that failed, fails the probe, and the
 * test asserts on the record.
 */
struct tslice {
	const struct refnic_core_ops *ops;
	struct refnic_slice *s;
	struct facet_bus_device *dev;
	int sub;
	unsigned int probes, removes;
	char fail[160];
	pthread_mutex_t lock; /* the event fields below */
	unsigned int link_events;
	uint64_t link_data;
};

static struct tslice ts = { .lock = PTHREAD_MUTEX_INITIALIZER };

#define PCHECK(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			snprintf(ts.fail, sizeof(ts.fail), "%s:%d: %s", __func__, __LINE__,        \
				 #cond);                                                           \
			return -EIO;                                                               \
		}                                                                                  \
	} while (0)

/* One admin command through the API: the CQE status (>= 0) or the API's error. */
static int admin(struct refnic_sqe *sqe, uint64_t *result)
{
	struct refnic_cqe cqe;
	int ret = ts.ops->admin_cmd(ts.s, sqe, &cqe);

	if (ret < 0)
		return ret;
	if (cqe.opcode != sqe->opcode || cqe.cid != sqe->cid)
		return -EPROTO;
	if (result)
		*result = cqe.result;
	return cqe.status;
}

static int admin_op(uint8_t opcode, uint64_t *result)
{
	struct refnic_sqe sqe = { .opcode = opcode };

	return admin(&sqe, result);
}

static int set_mac(uint64_t mac)
{
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_SET_MAC };

	for (int i = 0; i < 6; i++)
		sqe.set_mac.mac[i] = REFNIC_MAC_RESULT_BYTE(mac, i);
	return admin(&sqe, NULL);
}

static void mac_str(uint64_t mac, char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", REFNIC_MAC_RESULT_BYTE(mac, 0),
		 REFNIC_MAC_RESULT_BYTE(mac, 1), REFNIC_MAC_RESULT_BYTE(mac, 2),
		 REFNIC_MAC_RESULT_BYTE(mac, 3), REFNIC_MAC_RESULT_BYTE(mac, 4),
		 REFNIC_MAC_RESULT_BYTE(mac, 5));
}

/* QUERY_STATS into [iova, iova + len): the CQE status, *result = the block size. */
static int query_stats(uint64_t iova, uint32_t len, uint64_t *result)
{
	struct refnic_sqe sqe = { .opcode = REFNIC_OP_QUERY_STATS,
				  .data_iova = iova,
				  .data_len = len };

	return admin(&sqe, result);
}

static struct facet_core_dma *dma_alloc(size_t size)
{
	const struct facet_core_dma_opts opts = { .numa_node = -1, .no_hugepages = true };
	struct facet_core_dma *dma = NULL;

	if (facet_core_dma_alloc(ts.ops->pci(ts.s), size, &opts, &dma) < 0)
		return NULL;
	return dma;
}

static int probe_caps(void)
{
	const uint64_t want = REFNIC_FEAT_ETH | REFNIC_FEAT_RDMA | REFNIC_FEAT_EVENT_QUEUE;
	const struct refnic_caps *caps = ts.ops->caps(ts.s);

	PCHECK(caps != NULL);
	PCHECK(caps->version == REFNIC_VERSION);
	PCHECK(caps->num_funcs == REFNIC_MODEL_DEFAULT_FUNCS);
	PCHECK((caps->features & want) == want);
	PCHECK(ts.ops->function(ts.s) == 0);
	PCHECK(ts.ops->pci(ts.s) == facet_core_bus_device(facet_bus_device_parent(ts.dev)));
	return 0;
}

/* The LINK_CHANGE that CREATE_QUEUE posts is in before any slice exists. */
static int probe_link(void)
{
	uint64_t link = ts.ops->link_state(ts.s);

	PCHECK(link & REFNIC_LINK_UP);
	PCHECK(REFNIC_LINK_SPEED(link) == ts.ops->caps(ts.s)->link_speed);
	return 0;
}

/* The device's MAC is the slice's attribute (the default), and SET_MAC sticks. */
static int probe_mac(void)
{
	const char *attr = facet_bus_device_attr(ts.dev, "mac");
	uint64_t mac = 0;
	char str[18];

	PCHECK(attr && strcmp(attr, DEFAULT_MAC) == 0);
	PCHECK(admin_op(REFNIC_OP_QUERY_MAC, &mac) == REFNIC_STATUS_OK);
	mac_str(mac, str);
	PCHECK(strcmp(str, attr) == 0);
	PCHECK(set_mac(NEW_MAC) == REFNIC_STATUS_OK);
	PCHECK(admin_op(REFNIC_OP_QUERY_MAC, &mac) == REFNIC_STATUS_OK);
	PCHECK(mac == NEW_MAC);
	return 0;
}

/* QUERY_STATS, NOP, QUERY_STATS into DMA memory: the counter grows by exactly two. */
static int probe_stats(void)
{
	uint32_t nf = ts.ops->caps(ts.s)->num_funcs, len = REFNIC_STATS_SIZE(nf);
	struct facet_core_dma *buf = dma_alloc(len);
	struct refnic_stats a, b;
	uint64_t size = 0;
	int st[3];

	PCHECK(buf != NULL);
	st[0] = query_stats(facet_core_dma_iova(buf), len, &size);
	memcpy(&a, facet_core_dma_va(buf), sizeof(a));
	st[1] = admin_op(REFNIC_OP_NOP, NULL);
	st[2] = query_stats(facet_core_dma_iova(buf), len, NULL);
	memcpy(&b, facet_core_dma_va(buf), sizeof(b));
	facet_core_dma_free(buf);
	PCHECK(st[0] == REFNIC_STATUS_OK && st[1] == REFNIC_STATUS_OK && st[2] == REFNIC_STATUS_OK);
	PCHECK(size == len);
	PCHECK(a.version == REFNIC_VERSION && a.num_funcs == nf);
	PCHECK(a.func_stats_size == sizeof(struct refnic_func_stats));
	PCHECK(a.admin_cmds > 0); /* bring-up's and this probe's commands */
	PCHECK(b.admin_cmds == a.admin_cmds + 2);
	return 0;
}

static void tslice_event(const struct refnic_eqe *eqe, void *arg)
{
	struct tslice *t = arg;

	if (eqe->type != REFNIC_EVENT_LINK_CHANGE || eqe->function != 0)
		return;
	pthread_mutex_lock(&t->lock);
	t->link_events++;
	t->link_data = eqe->data;
	pthread_mutex_unlock(&t->lock);
}

static int tslice_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	int ret = refnic_core_get(dev, &ts.ops, &ts.s);

	ts.probes++;
	ts.dev = dev;
	if (ret < 0) {
		snprintf(ts.fail, sizeof(ts.fail), "refnic_core_get: %d", ret);
		return ret;
	}
	ret = probe_caps();
	if (ret == 0)
		ret = probe_link();
	if (ret == 0)
		ret = probe_mac();
	if (ret == 0)
		ret = probe_stats();
	if (ret == 0) {
		ts.sub = ts.ops->event_subscribe(ts.s, tslice_event, &ts);
		PCHECK(ts.sub >= 0);
	}
	return ret;
}

static void tslice_remove(struct facet_bus_device *dev)
{
	ts.removes++;
	ts.ops->event_unsubscribe(ts.s, ts.sub);
	ts.sub = -1;
	ts.ops = NULL;
	ts.s = NULL;
}

static const struct facet_bus_device_id tslice_ids[] = {
	{ .name = "refnic.eth" },
	{ .name = "" },
};

static const struct facet_bus_driver tslice_driver = {
	.name = TSLICE_NAME,
	.id_table = tslice_ids,
	.probe = tslice_probe,
	.remove = tslice_remove,
};

static void tslice_reset(void)
{
	ts.ops = NULL;
	ts.s = NULL;
	ts.dev = NULL;
	ts.sub = -1;
	ts.probes = ts.removes = 0;
	ts.fail[0] = '\0';
	ts.link_events = 0;
	ts.link_data = 0;
}

/* Wait for a LINK_CHANGE after the @after'th with the link @up; false on timeout. */
static bool wait_link(bool up, unsigned int after)
{
	uint64_t deadline = now_ms() + EVENT_WAIT_MS;
	bool done;

	do {
		pthread_mutex_lock(&ts.lock);
		done = ts.link_events > after && !!(ts.link_data & REFNIC_LINK_UP) == up;
		pthread_mutex_unlock(&ts.lock);
		if (done)
			return true;
		nap_ms(1);
	} while (now_ms() < deadline);
	return false;
}

static unsigned int link_events(void)
{
	unsigned int n;

	pthread_mutex_lock(&ts.lock);
	n = ts.link_events;
	pthread_mutex_unlock(&ts.lock);
	return n;
}

/* ---- fixture ------------------------------------------------------------- */

struct fx {
	struct model m;
	struct facet_bus *bus;
	struct facet_bus_device *pci; /* publisher's reference */
	struct facet_core_dev *dev;
	char pci_name[FACET_BUS_NAME_MAX];
	char eth_name[FACET_BUS_NAME_MAX];
	char rdma_name[FACET_BUS_NAME_MAX];
};

static struct fx fx;

static void fx_open(void)
{
	const struct facet_bus_config cfg = { .plugin_path = plugin_dir };
	uint32_t id;

	assert_int_equal(facet_bus_create(&cfg, &fx.bus), 0);
	assert_int_equal(facet_core_bus_open(fx.bus, fx.m.spec, NULL, &fx.pci), 0);
	fx.dev = facet_core_bus_device(fx.pci);
	assert_non_null(fx.dev);
	id = facet_bus_device_id(fx.pci);
	snprintf(fx.pci_name, sizeof(fx.pci_name), "%s", facet_bus_device_name(fx.pci));
	snprintf(fx.eth_name, sizeof(fx.eth_name), "refnic.eth.%u", id);
	snprintf(fx.rdma_name, sizeof(fx.rdma_name), "refnic.rdma.%u", id);
}

static void fx_close(void)
{
	if (fx.pci) {
		facet_bus_device_del(fx.pci);
		facet_bus_device_put(fx.pci);
		fx.pci = NULL;
	}
	if (fx.bus)
		facet_bus_destroy(fx.bus);
	fx.bus = NULL;
}

/* Also what a failed setup left behind: cmocka runs no teardown after one. */
static int setup_bare(void **state)
{
	fx_close();
	model_kill_leftover(&fx.m);
	memset(&fx, 0, sizeof(fx));
	tslice_reset();
	return 0;
}

static int setup(void **state)
{
	setup_bare(state);
	model_start(&fx.m);
	fx_open();
	return 0;
}

static int teardown(void **state)
{
	fx_close();
	model_stop(&fx.m);
	return 0;
}

static void assert_driver(const char *dev_name, const char *want)
{
	struct facet_bus_device *d = facet_bus_find_device(fx.bus, dev_name);
	char drv[FACET_BUS_DRIVER_NAME_MAX];
	int ret;

	assert_non_null(d);
	ret = facet_bus_device_driver_name(d, drv, sizeof(drv));
	facet_bus_device_put(d);
	if (!want) {
		assert_int_equal(ret, -ENOENT);
		return;
	}
	assert_int_equal(ret, 0);
	assert_string_equal(drv, want);
}

static void assert_attr(struct facet_bus_device *d, const char *key, const char *want)
{
	const char *v = facet_bus_device_attr(d, key);

	assert_non_null(v);
	assert_string_equal(v, want);
}

static void assert_absent(const char *dev_name)
{
	struct facet_bus_device *d = facet_bus_find_device(fx.bus, dev_name);

	if (d)
		facet_bus_device_put(d);
	assert_null(d);
}

/* The test driver bound the eth slice and every check of its probe passed. */
static void assert_tslice_bound(unsigned int probes)
{
	if (ts.fail[0])
		fail_msg("slice probe: %s", ts.fail);
	assert_int_equal(ts.probes, probes);
	assert_non_null(ts.ops);
	assert_true(ts.sub >= 0);
	assert_driver(fx.eth_name, TSLICE_NAME);
}

/* ---- 1: bring-up --------------------------------------------------------- */

static void assert_slice(const char *name, const char *mac)
{
	struct facet_bus_device *d = facet_bus_find_device(fx.bus, name);

	assert_non_null(d);
	assert_ptr_equal(facet_bus_device_parent(d), fx.pci);
	assert_attr(d, "function", "0");
	if (mac)
		assert_attr(d, "mac", mac);
	assert_non_null(facet_bus_device_attr(d, "numa_node"));
	facet_bus_device_put(d);
	assert_driver(name, NULL); /* no slice drivers exist yet */
}

static void test_bringup(void **state)
{
	char bar0[32];

	assert_int_equal(strncmp(fx.pci_name, "pci.1fac_0001.", 14), 0);
	assert_driver(fx.pci_name, "refnic_core");
	assert_attr(fx.pci, "ids", "1fac:0001");
	assert_attr(fx.pci, "transport", "vfio-user");
	assert_attr(fx.pci, "class", "020000");
	assert_attr(fx.pci, "device", fx.m.spec);
	/* 4 functions: (1 + 4) pages round up to 32 KiB; the doorbell pages map */
	snprintf(bar0, sizeof(bar0), "%u mmap", 32 * 1024);
	assert_attr(fx.pci, "bar0", bar0);
	assert_true(facet_core_info(fx.dev)->can_reset);
	assert_false(facet_core_is_dead(fx.dev));
	assert_true(facet_core_dma_count(fx.dev) > 0); /* the admin and event rings */

	assert_slice(fx.eth_name, DEFAULT_MAC);
	assert_slice(fx.rdma_name, NULL);
}

/*
 * The core driver wakes a sleeping model through KICK's ioeventfd (§7): each
 * command after a sleep completes, the model counts the wake-ups, and no
 * trapped KICK write reaches it.
 */
static void test_kick_ioeventfd(void **state)
{
	uint32_t len = REFNIC_STATS_SIZE(REFNIC_MODEL_DEFAULT_FUNCS);
	struct facet_core_dma *buf;
	struct refnic_stats a, b;

	assert_int_equal(facet_bus_driver_register(fx.bus, &tslice_driver), 0);
	assert_tslice_bound(1);
	buf = dma_alloc(len);
	assert_non_null(buf);
	assert_int_equal(query_stats(facet_core_dma_iova(buf), len, NULL), REFNIC_STATUS_OK);
	memcpy(&a, facet_core_dma_va(buf), sizeof(a));
	for (int i = 0; i < 3; i++) {
		nap_ms(50); /* well past the model's idle time: it sleeps */
		assert_int_equal(admin_op(REFNIC_OP_NOP, NULL), REFNIC_STATUS_OK);
	}
	assert_int_equal(query_stats(facet_core_dma_iova(buf), len, NULL), REFNIC_STATUS_OK);
	memcpy(&b, facet_core_dma_va(buf), sizeof(b));
	facet_core_dma_free(buf);
	assert_true(b.wakeups >= a.wakeups + 3);
	assert_int_equal(b.kicks, a.kicks);
	assert_int_equal(facet_bus_driver_unregister(fx.bus, &tslice_driver), 0);
}

/* ---- 2: the core API, for a slice driver -------------------------------- */

static void test_slice_api(void **state)
{
	unsigned int n;

	assert_int_equal(facet_bus_driver_register(fx.bus, &tslice_driver), 0);
	assert_tslice_bound(1);
	assert_driver(fx.rdma_name, NULL);

	/* facet-refnic toggles function 0's link on SIGUSR1 */
	n = link_events();
	assert_int_equal(kill(fx.m.pid, SIGUSR1), 0);
	assert_true(wait_link(false, n));
	assert_false(ts.ops->link_state(ts.s) & REFNIC_LINK_UP);
	assert_int_equal(REFNIC_LINK_SPEED(ts.ops->link_state(ts.s)), 0);
	n = link_events();
	assert_int_equal(kill(fx.m.pid, SIGUSR1), 0);
	assert_true(wait_link(true, n));
	assert_true(ts.ops->link_state(ts.s) & REFNIC_LINK_UP);

	assert_int_equal(facet_bus_driver_unregister(fx.bus, &tslice_driver), 0);
	assert_int_equal(ts.removes, 1);
	assert_int_equal(ts.sub, -1);
	assert_driver(fx.eth_name, NULL);
}

/* Bad commands fail with the spec's status and leave the queue working. */
static void test_bad_commands(void **state)
{
	uint32_t len = REFNIC_STATS_SIZE(REFNIC_MODEL_DEFAULT_FUNCS);
	struct facet_core_dma *buf;
	struct refnic_stats st;
	uint8_t *tail;

	assert_int_equal(facet_bus_driver_register(fx.bus, &tslice_driver), 0);
	assert_tslice_bound(1);
	assert_int_equal(admin_op(0x00, NULL), REFNIC_STATUS_BAD_OPCODE);
	assert_int_equal(admin_op(0x05, NULL), REFNIC_STATUS_BAD_OPCODE);
	assert_int_equal(admin_op(0xff, NULL), REFNIC_STATUS_BAD_OPCODE);
	assert_int_equal(admin_op(REFNIC_OP_NOP, NULL), REFNIC_STATUS_OK);

	buf = dma_alloc(len);
	assert_non_null(buf);
	/* far outside any map */
	assert_int_equal(query_stats(1ull << 60, len, NULL), REFNIC_STATUS_DMA_FAULT);
	/* starting inside the buffer, running past its end: nothing written */
	tail = (uint8_t *)facet_core_dma_va(buf) + facet_core_dma_size(buf) - 64;
	memset(tail, 0xa5, 64);
	assert_int_equal(
		query_stats(facet_core_dma_iova(buf) + facet_core_dma_size(buf) - 64, 128, NULL),
		REFNIC_STATUS_DMA_FAULT);
	for (int i = 0; i < 64; i++)
		assert_int_equal(tail[i], 0xa5);

	assert_int_equal(query_stats(facet_core_dma_iova(buf), len, NULL), REFNIC_STATUS_OK);
	memcpy(&st, facet_core_dma_va(buf), sizeof(st));
	facet_core_dma_free(buf);
	assert_int_equal(st.admin_dma_faults, 2);
	assert_int_equal(st.admin_errors, 5); /* three bad opcodes, two faults */
}

/* ---- 3: unbind and rebind ------------------------------------------------ */

#define MAX_EVENTS 32

struct ev_log {
	pthread_mutex_t lock;
	unsigned int n;
	struct {
		enum facet_bus_event_type type;
		char dev[FACET_BUS_NAME_MAX];
	} ev[MAX_EVENTS];
};

static void log_event(const struct facet_bus_event *e, void *arg)
{
	struct ev_log *log = arg;

	pthread_mutex_lock(&log->lock);
	if (log->n < MAX_EVENTS) {
		log->ev[log->n].type = e->type;
		snprintf(log->ev[log->n].dev, FACET_BUS_NAME_MAX, "%s", e->dev_name);
		log->n++;
	}
	pthread_mutex_unlock(&log->lock);
}

/* Position of the event in the log, or -1. */
static int ev_index(struct ev_log *log, enum facet_bus_event_type type, const char *dev)
{
	for (unsigned int i = 0; i < log->n; i++) {
		if (log->ev[i].type == type && strcmp(log->ev[i].dev, dev) == 0)
			return (int)i;
	}
	return -1;
}

/* Event @a (which must be there) came before event @b (which must be there). */
static void assert_before(struct ev_log *log, enum facet_bus_event_type ta, const char *a,
			  enum facet_bus_event_type tb, const char *b)
{
	int ia = ev_index(log, ta, a), ib = ev_index(log, tb, b);

	if (ia < 0 || ib < 0 || ia >= ib)
		fail_msg("want %s %s (#%d) before %s %s (#%d)", facet_bus_event_name(ta), a, ia,
			 facet_bus_event_name(tb), b, ib);
}

static void test_unbind_rebind(void **state)
{
	struct ev_log log = { .lock = PTHREAD_MUTEX_INITIALIZER };
	int sub;

	assert_int_equal(facet_bus_driver_register(fx.bus, &tslice_driver), 0);
	assert_tslice_bound(1); /* its probe set NEW_MAC */
	sub = facet_bus_subscribe(fx.bus, FACET_BUS_EVENT_REMOVE | FACET_BUS_EVENT_UNBIND,
				  log_event, &log);
	assert_true(sub > 0);

	assert_int_equal(facet_bus_unbind(fx.bus, fx.pci_name), 0);
	assert_int_equal(facet_bus_unsubscribe(fx.bus, sub), 0);
	/* the slices go first (their driver unbound before), then the core */
	assert_before(&log, FACET_BUS_EVENT_UNBIND, fx.eth_name, FACET_BUS_EVENT_REMOVE,
		      fx.eth_name);
	assert_before(&log, FACET_BUS_EVENT_REMOVE, fx.eth_name, FACET_BUS_EVENT_UNBIND,
		      fx.pci_name);
	assert_before(&log, FACET_BUS_EVENT_REMOVE, fx.rdma_name, FACET_BUS_EVENT_UNBIND,
		      fx.pci_name);
	assert_int_equal(ev_index(&log, FACET_BUS_EVENT_REMOVE, fx.pci_name), -1); /* unbind only */
	assert_int_equal(ts.removes, 1);
	assert_absent(fx.eth_name);
	assert_absent(fx.rdma_name);
	assert_driver(fx.pci_name, NULL);
	assert_int_equal(facet_core_dma_count(fx.dev), 0); /* teardown released every map */

	/* Bring-up resets the device: the new probe finds the default MAC again. */
	assert_int_equal(facet_bus_bind(fx.bus, fx.pci_name, NULL), 0);
	assert_driver(fx.pci_name, "refnic_core");
	assert_tslice_bound(2);
	assert_driver(fx.rdma_name, NULL);
	assert_int_equal(admin_op(REFNIC_OP_NOP, NULL), REFNIC_STATUS_OK);
}

/* ---- 4: function-level reset --------------------------------------------- */

static uint32_t rd32(uint32_t off)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(facet_core_read32(fx.dev, FACET_CORE_BAR0, off, &v), 0);
	return v;
}

static void test_reset(void **state)
{
	assert_int_equal(facet_bus_unbind(fx.bus, fx.pci_name), 0);
	/* the core driver's teardown left the device reset and disabled */
	assert_int_equal(rd32(REFNIC_REG_DEV_CTRL), 0);
	assert_int_equal(rd32(REFNIC_REG_DEV_STATUS), 0);
	assert_int_equal(
		facet_core_write32(fx.dev, FACET_CORE_BAR0, REFNIC_REG_SCRATCH, 0x5a5a1234), 0);
	assert_int_equal(rd32(REFNIC_REG_SCRATCH), 0x5a5a1234);

	assert_true(facet_core_info(fx.dev)->can_reset);
	assert_int_equal(facet_core_reset(fx.dev), 0);
	assert_int_equal(rd32(REFNIC_REG_SCRATCH), 0); /* FLR = device reset (§6.4) */
	assert_int_equal(rd32(REFNIC_REG_SIGNATURE), REFNIC_SIGNATURE);

	assert_int_equal(facet_bus_driver_register(fx.bus, &tslice_driver), 0);
	assert_int_equal(ts.probes, 0); /* nothing to bind while the core is unbound */
	assert_int_equal(facet_bus_bind(fx.bus, fx.pci_name, NULL), 0);
	assert_driver(fx.pci_name, "refnic_core");
	assert_tslice_bound(1);
	assert_int_equal(admin_op(REFNIC_OP_NOP, NULL), REFNIC_STATUS_OK);
}

/* ---- 5: the model dies --------------------------------------------------- */

static void *del_thread(void *arg)
{
	facet_bus_device_del(arg);
	return NULL;
}

/* Delete the PCI device in a thread, so that a hang fails the test instead of hanging it. */
static void del_bounded(struct facet_bus_device *pci)
{
	struct timespec limit;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, del_thread, pci), 0);
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += DEL_LIMIT_MS / 1000;
	if (pthread_timedjoin_np(th, NULL, &limit) != 0)
		fail_msg("facet_bus_device_del of a dead refnic hangs");
}

static void test_dead_model(void **state)
{
	uint64_t t0;

	assert_int_equal(facet_bus_driver_register(fx.bus, &tslice_driver), 0);
	assert_tslice_bound(1);

	model_kill9(&fx.m);
	t0 = now_ms();
	assert_int_equal(admin_op(REFNIC_OP_NOP, NULL), -ENODEV);
	assert_true(now_ms() - t0 < DEAD_LIMIT_MS);
	assert_true(facet_core_is_dead(fx.dev));
	t0 = now_ms();
	assert_int_equal(admin_op(REFNIC_OP_QUERY_MAC, NULL), -ENODEV);
	assert_true(now_ms() - t0 < 100); /* once dead, at once */

	t0 = now_ms();
	del_bounded(fx.pci);
	assert_true(now_ms() - t0 < DEAD_LIMIT_MS);
	assert_int_equal(ts.removes, 1);
	assert_int_equal(facet_core_dma_count(fx.dev), 0); /* maps freed on a dead device too */
	facet_bus_device_put(fx.pci);
	fx.pci = NULL;
}

/* ---- 6: no fd leaks ---------------------------------------------------------- */

static unsigned int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Open, bind a slice driver, unbind, rebind, close, with a live model. */
static void full_cycle(void)
{
	fx_open();
	assert_int_equal(facet_bus_driver_register(fx.bus, &tslice_driver), 0);
	assert_tslice_bound(1);
	assert_int_equal(facet_bus_unbind(fx.bus, fx.pci_name), 0);
	assert_int_equal(facet_bus_bind(fx.bus, fx.pci_name, NULL), 0);
	assert_tslice_bound(2);
	fx_close();
	assert_int_equal(ts.removes, 2);
}

static void test_no_fd_leaks(void **state)
{
	unsigned int before = count_fds(), with_model;

	model_start(&fx.m);
	with_model = count_fds();
	assert_int_equal(with_model, before); /* the model's stdout pipe is closed */

	full_cycle();
	assert_int_equal(count_fds(), with_model);
	tslice_reset();
	full_cycle();
	assert_int_equal(count_fds(), with_model);

	model_stop(&fx.m);
	assert_int_equal(count_fds(), before);
}

/* The plugin directory: a link to the core driver's plugin, nothing else. */
static int plugins_setup(void **state)
{
	char *target = realpath(core_plugin, NULL);

	strcpy(plugin_dir, "/tmp/facet-bringup-plugins-XXXXXX");
	assert_non_null(target);
	assert_non_null(mkdtemp(plugin_dir));
	snprintf(plugin_link, sizeof(plugin_link), "%s/facet_pci_refnic.so", plugin_dir);
	assert_int_equal(symlink(target, plugin_link), 0);
	free(target);
	return 0;
}

static int plugins_teardown(void **state)
{
	model_kill_leftover(&fx.m);
	unlink(plugin_link);
	rmdir(plugin_dir);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bringup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_ioeventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slice_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbind_rebind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fd_leaks, setup_bare, teardown),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s FACET_REFNIC_EXE FACET_PCI_REFNIC_SO\n", argv[0]);
		return 2;
	}
	model_exe = argv[1];
	core_plugin = argv[2];
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, plugins_setup, plugins_teardown);
}
