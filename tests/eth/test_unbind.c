/* SPDX-License-Identifier: MIT */
/*
 * Unbind and rebind the Ethernet slice of one device 100 times while the
 * other device's port floods it with traffic (so the device writes into the
 * RX rings while they are torn down), with frames of our own in flight on
 * TX at each unbind. After each round: every buffer is back in the pool, no
 * DMA mapping is left behind (the PCI device's count is the core driver's
 * baseline), and the application's old port handle is detached, not
 * dangling. The sibling RDMA slice, bound to a dummy driver, is never
 * touched.
 *
 *   test_eth_unbind FACET_REFNIC_EXE PLUGIN_DIR
 */
#include <pthread.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "facet_bus_driver.h"
#include "facet_core_bus.h"
#include "teth.h"

#define ROUNDS	  100
#define NB_DESC	  128
#define POOL_SIZE 1024
#define WAIT_MS	  5000

static struct teth_env env;

/* ---- a dummy RDMA slice driver: it must see nothing of all this ---------------------- */

static atomic_uint rdma_probes, rdma_removes;

static int rdma_probe(struct facet_bus_device *dev, const struct facet_bus_device_id *id)
{
	atomic_fetch_add(&rdma_probes, 1);
	return 0;
}

static void rdma_remove(struct facet_bus_device *dev)
{
	atomic_fetch_add(&rdma_removes, 1);
}

static const struct facet_bus_device_id rdma_ids[] = { { .name = "refnic.rdma" }, { .name = "" } };

static const struct facet_bus_driver rdma_driver = {
	.name = "test_rdma",
	.id_table = rdma_ids,
	.probe = rdma_probe,
	.remove = rdma_remove,
};

/* ---- the flood from port 1 ------------------------------------------------------------- */

struct flood {
	pthread_t thread;
	atomic_bool stop;
	struct facet_pktbuf_pool *pool;
	uint64_t sent;
};

static void *flood_thread(void *arg)
{
	struct flood *fl = arg;
	struct teth_flow flow = {
		.src_mac = env.mac[1],
		.dst_mac = env.mac[0],
		.src_ip = 0x0a000002,
		.dst_ip = 0x0a000001,
		.src_port = 7,
		.dst_port = 9,
	};
	struct facet_pktbuf *pkts[32];
	uint32_t seq = 0;

	while (!atomic_load(&fl->stop)) {
		unsigned int n = 0;
		uint16_t sent, got;

		for (; n < 32; n++) {
			/* Now and then a jumbo chain, so RX frames straddle the teardown. */
			uint32_t len = (seq % 16) ? 64 + seq % 1400 : 8000;

			pkts[n] = teth_frame(fl->pool, &flow, len, seq++, 1920);
			if (!pkts[n])
				break;
		}
		sent = facet_eth_tx_burst(env.port[1], 0, pkts, (uint16_t)n);
		facet_pktbuf_free_bulk(pkts + sent, n - sent);
		fl->sent += sent;
		do {
			got = facet_eth_rx_burst(env.port[1], 0, pkts, 32);
			facet_pktbuf_free_bulk(pkts, got);
		} while (got);
		usleep(100);
	}
	return NULL;
}

/* ---- one round on port 0 --------------------------------------------------------------- */

static void count_rx(struct facet_pktbuf *pkt, uint16_t qid, void *arg)
{
	(*(unsigned int *)arg)++;
	facet_pktbuf_free(pkt);
}

static void send_some(struct facet_eth_port *port, struct facet_pktbuf_pool *pool, uint32_t round)
{
	struct teth_flow flow = {
		.src_mac = env.mac[0],
		.dst_mac = env.mac[1],
		.src_ip = 0x0a000001,
		.dst_ip = 0x0a000002,
		.src_port = 9,
		.dst_port = 7,
	};
	struct facet_pktbuf *pkts[32];
	uint16_t sent;

	for (unsigned int i = 0; i < 32; i++) {
		pkts[i] = teth_frame(pool, &flow, i % 4 ? 128 : 5000, round * 32 + i, 1024);
		assert_non_null(pkts[i]);
	}
	sent = facet_eth_tx_burst(port, 0, pkts, 32);
	facet_pktbuf_free_bulk(pkts + sent, 32u - sent);
}

static void one_round(unsigned int round, unsigned int dma_baseline)
{
	struct facet_core_dev *pci = facet_core_bus_device(env.pci[0]);
	struct facet_eth_port *port;
	struct facet_pktbuf_pool *pool;
	struct facet_pktbuf *bufs[4];
	struct facet_eth_stats st;
	unsigned int got = 0;
	uint16_t nq = (uint16_t)(1 + round % 2);

	assert_int_equal(facet_bus_bind(env.bus, env.name[0], NULL), 0);
	port = facet_eth_port_get(env.bus, env.name[0]);
	assert_non_null(port);
	teth_port_up(port, nq, nq, NB_DESC, POOL_SIZE, &pool);
	/* Traffic is flowing into the rings. */
	assert_true(teth_rx_wait(port, nq, 1, WAIT_MS, count_rx, &got) >= 1);
	send_some(port, pool, round);

	/* Unbind with the rings full of posted buffers and TX in flight. */
	assert_int_equal(facet_bus_unbind(env.bus, env.name[0]), 0);
	assert_false(facet_eth_port_is_attached(port));
	assert_int_equal(facet_eth_stats_get(port, &st), -ENODEV);
	assert_int_equal(facet_eth_rx_burst(port, 0, bufs, 4), 0);
	assert_null(facet_eth_port_get(env.bus, env.name[0]));
	facet_eth_port_put(port);

	assert_int_equal(facet_pktbuf_pool_avail(pool), POOL_SIZE);
	facet_pktbuf_pool_free(pool);
	assert_int_equal(facet_core_dma_count(pci), dma_baseline);
}

static void test_unbind_under_traffic(void **state)
{
	struct facet_core_dev *pci = facet_core_bus_device(env.pci[0]);
	struct facet_pktbuf_pool *pool1;
	struct facet_eth_stats st;
	struct flood fl = { 0 };
	unsigned int baseline;
	uint64_t t0 = teth_now_ms();

	assert_int_equal(facet_bus_driver_register(env.bus, &rdma_driver), 0);
	assert_int_equal(atomic_load(&rdma_probes), TETH_DEVS);

	/* The core driver's own mappings, without the eth slice driver. */
	facet_eth_port_put(env.port[0]);
	env.port[0] = NULL;
	assert_int_equal(facet_bus_unbind(env.bus, env.name[0]), 0);
	baseline = facet_core_dma_count(pci);

	teth_port_up(env.port[1], 1, 1, NB_DESC, POOL_SIZE, &pool1);
	fl.pool = pool1;
	assert_int_equal(pthread_create(&fl.thread, NULL, flood_thread, &fl), 0);
	for (unsigned int round = 0; round < ROUNDS; round++)
		one_round(round, baseline);
	atomic_store(&fl.stop, true);
	pthread_join(fl.thread, NULL);

	assert_true(fl.sent > 0);
	assert_true(facet_eth_port_is_attached(env.port[1]));
	assert_int_equal(facet_eth_stats_get(env.port[1], &st), 0);
	assert_int_equal(st.queue_errors, 0);
	teth_port_down(env.port[1], pool1);
	assert_int_equal(atomic_load(&rdma_probes), TETH_DEVS);
	assert_int_equal(atomic_load(&rdma_removes), 0);
	print_message("%u unbind/rebind rounds in %llu ms\n", ROUNDS,
		      (unsigned long long)(teth_now_ms() - t0));

	/* Leave port 0 bound again for the teardown. */
	assert_int_equal(facet_bus_bind(env.bus, env.name[0], NULL), 0);
	env.port[0] = facet_eth_port_get(env.bus, env.name[0]);
	assert_non_null(env.port[0]);
	assert_int_equal(facet_bus_driver_unregister(env.bus, &rdma_driver), 0);
	assert_int_equal(atomic_load(&rdma_removes), TETH_DEVS);
}

/* A dead device: remove() must not hang, and must free everything. */
static void test_dead_device(void **state)
{
	struct facet_pktbuf_pool *pool;
	struct facet_pktbuf *bufs[4];
	uint64_t t0;

	teth_port_up(env.port[0], 2, 2, NB_DESC, POOL_SIZE, &pool);
	send_some(env.port[0], pool, 0);
	teth_model_kill(&env);
	assert_int_equal(facet_eth_rx_burst(env.port[0], 0, bufs, 4) <= 4, 1);
	t0 = teth_now_ms();
	assert_int_equal(facet_bus_unbind(env.bus, env.name[0]), 0);
	assert_true(teth_now_ms() - t0 < 2000);
	assert_int_equal(facet_pktbuf_pool_avail(pool), POOL_SIZE);
	facet_pktbuf_pool_free(pool);
}

static int setup(void **state)
{
	teth_env_start(&env);
	return 0;
}

static int teardown(void **state)
{
	teth_env_stop(&env);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unbind_under_traffic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_device, setup, teardown),
	};

	teth_args(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
