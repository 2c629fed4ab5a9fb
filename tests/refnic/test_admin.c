/* SPDX-License-Identifier: MIT */
/*
 * The refnic model's admin command processing, driven by hand through lib/core
 * exactly as docs/refnic.md specifies: no driver involved.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "rn_harness.h"

static int setup(void **state)
{
	struct rn *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	assert_int_equal(rn_start(h, NULL), 0);
	assert_int_equal(rn_enable(h, 4), 0);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct rn *h = *state;

	rn_stop(h);
	free(h);
	return 0;
}

static struct refnic_sqe sqe_op(uint8_t opcode, uint16_t function)
{
	struct refnic_sqe s;

	memset(&s, 0, sizeof(s));
	s.opcode = opcode;
	s.function = function;
	return s;
}

static struct refnic_sqe sqe_data(uint8_t opcode, uint64_t iova, uint32_t len)
{
	struct refnic_sqe s = sqe_op(opcode, 0);

	s.data_iova = iova;
	s.data_len = len;
	return s;
}

static struct refnic_sqe sqe_create_eq(uint16_t fn, uint64_t ring, uint8_t log, uint16_t vector)
{
	struct refnic_sqe s = sqe_op(REFNIC_OP_CREATE_QUEUE, fn);

	s.create_queue.type = REFNIC_QT_EVENT;
	s.create_queue.log_size = log;
	s.create_queue.ring_iova = ring;
	if (vector) {
		s.create_queue.flags = REFNIC_QF_IRQ_EN;
		s.create_queue.msix_vector = vector;
	}
	return s;
}

static struct refnic_sqe sqe_destroy(uint16_t fn, uint8_t type, uint32_t qid)
{
	struct refnic_sqe s = sqe_op(REFNIC_OP_DESTROY_QUEUE, fn);

	s.destroy_queue.type = type;
	s.destroy_queue.queue_id = qid;
	return s;
}

static bool refnic_is_zero_test(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static int cmd(struct rn *h, struct refnic_sqe s, struct refnic_cqe *cqe)
{
	return rn_cmd(h, &s, cqe);
}

static uint64_t query_mac(struct rn *h, uint16_t fn)
{
	struct refnic_cqe c;

	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_QUERY_MAC, fn), &c), REFNIC_STATUS_OK);
	return c.result;
}

static uint64_t mac_u64(const uint8_t m[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v |= (uint64_t)m[i] << (8 * i);
	return v;
}

static bool eventfd_fired(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v) && v > 0;
}

/* ---- identity: config space, BAR0, registers --------------------------------- */

static uint32_t cfg32(struct rn *h, uint32_t off)
{
	uint32_t v = 0;

	assert_int_equal(facet_core_cfg_read(h->dev, off, &v, 4), 0);
	return v;
}

static void test_identity(void **state)
{
	struct rn *h = *state;
	const struct facet_core_info *info = facet_core_info(h->dev);
	struct facet_core_region_info ri;
	uint32_t ones = 0xffffffff, v;
	uint8_t cap, ids[3] = { 0 };
	unsigned int n, i = 0;

	assert_int_equal(info->vendor_id, REFNIC_PCI_VENDOR_ID);
	assert_int_equal(info->device_id, REFNIC_PCI_DEVICE_PF);
	assert_int_equal(info->class_code, REFNIC_PCI_CLASS);
	assert_int_equal(info->revision, REFNIC_PCI_REVISION);
	assert_int_equal(info->subsystem_vendor_id, REFNIC_PCI_SUBSYS_VENDOR);
	assert_true(info->can_reset);

	/* capability chain: PM -> MSI-X -> PCIe -> end */
	assert_true(cfg32(h, 0x04) & (1u << 20));
	for (cap = (uint8_t)cfg32(h, 0x34); cap && i < 3; i++) {
		v = cfg32(h, cap);
		ids[i] = (uint8_t)v;
		cap = (uint8_t)(v >> 8);
	}
	assert_int_equal(cap, 0);
	assert_int_equal(ids[0], 0x01);
	assert_int_equal(ids[1], 0x11);
	assert_int_equal(ids[2], 0x10);
	v = cfg32(h, REFNIC_PCI_CAP_MSIX);
	assert_int_equal((v >> 16) & 0x7ff, REFNIC_PCI_MSIX_VECS - 1);
	assert_int_equal(cfg32(h, REFNIC_PCI_CAP_MSIX + 4), REFNIC_REG_MSIX_TABLE);
	assert_int_equal(cfg32(h, REFNIC_PCI_CAP_PCIE + 4) & (1u << 28), 1u << 28); /* FLR */
	assert_int_equal(cfg32(h, 0x100), 0);

	/* BAR sizing: 4 functions -> 5 pages -> 32 KiB, 64-bit memory */
	assert_int_equal(facet_core_cfg_write(h->dev, 0x10, &ones, 4), 0);
	assert_int_equal(cfg32(h, 0x10), ~(32768u - 1) | 0x4);
	assert_int_equal(facet_core_region_info(h->dev, 0, &ri), 0);
	assert_int_equal(ri.size, 32768);
	assert_int_equal(ri.n_mmap_areas, 1);
	assert_int_equal(ri.mmap_areas[0].offset, 0x1000);
	assert_int_equal(ri.mmap_areas[0].size, 4 * 0x1000);
	assert_int_equal(facet_core_irq_count(h->dev, FACET_CORE_IRQ_MSIX, &n), 0);
	assert_int_equal(n, REFNIC_PCI_MSIX_VECS);

	assert_int_equal(rn_rd(h, REFNIC_REG_SIGNATURE), REFNIC_SIGNATURE);
	assert_int_equal(rn_rd(h, REFNIC_REG_VERSION), REFNIC_VERSION);
	assert_int_equal(rn_rd(h, REFNIC_REG_NUM_FUNCS), 4);
	assert_int_equal(rn_rd(h, REFNIC_REG_ADMIN_LOG_MAX), REFNIC_ADMIN_LOG_MAX);
	assert_int_equal(rn_rd(h, REFNIC_REG_DB_OFFSET), 0x1000);
	assert_int_equal(rn_rd(h, REFNIC_REG_DB_STRIDE), 0x1000);
	rn_wr(h, REFNIC_REG_SCRATCH, 0x5a5aa5a5);
	assert_int_equal(rn_rd(h, REFNIC_REG_SCRATCH), 0x5a5aa5a5);
	rn_wr(h, REFNIC_REG_SIGNATURE, 0); /* RO */
	assert_int_equal(rn_rd(h, REFNIC_REG_SIGNATURE), REFNIC_SIGNATURE);
	/* unsupported access size: reads all ones */
	uint16_t half = 0;
	assert_int_equal(facet_core_region_read(h->dev, 0, REFNIC_REG_SIGNATURE, &half, 2), 0);
	assert_int_equal(half, 0xffff);
	/* 8-byte register access: lo then hi */
	uint64_t base = 0;
	assert_int_equal(facet_core_region_read(h->dev, 0, REFNIC_REG_ADMIN_SQ_BASE, &base, 8), 0);
	assert_int_equal(base, facet_core_dma_iova(h->sq));
}

/* ---- enable / fatal ------------------------------------------------------------ */

static void test_enable_and_bad_config(void **state)
{
	struct rn *h = *state;

	assert_int_equal(rn_rd(h, REFNIC_REG_DEV_STATUS), REFNIC_DEVSTS_READY);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
	assert_int_equal(rn_rd(h, REFNIC_REG_ADMIN_SQ_CI), 1);
	assert_int_equal(rn_rd(h, REFNIC_REG_ADMIN_CQ_PI), 1);

	/* ring bases are ignored while enabled */
	rn_wr(h, REFNIC_REG_ADMIN_Q_LOG_SIZE, 7);
	assert_int_equal(rn_rd(h, REFNIC_REG_ADMIN_Q_LOG_SIZE), 4);

	/* misaligned SQ base -> FATAL BAD_CONFIG; reset recovers */
	rn_reset(h);
	assert_int_equal(rn_rd(h, REFNIC_REG_DEV_STATUS), 0);
	rn_wr(h, REFNIC_REG_ADMIN_SQ_BASE, (uint32_t)facet_core_dma_iova(h->sq) + 8);
	rn_wr(h, REFNIC_REG_ADMIN_CQ_BASE, (uint32_t)facet_core_dma_iova(h->cq));
	rn_wr(h, REFNIC_REG_ADMIN_Q_LOG_SIZE, 4);
	rn_wr(h, REFNIC_REG_DEV_CTRL, REFNIC_CTRL_ENABLE);
	assert_int_equal(rn_rd(h, REFNIC_REG_DEV_STATUS), REFNIC_DEVSTS_FATAL);
	assert_int_equal(rn_rd(h, REFNIC_REG_FATAL_CODE), REFNIC_FATAL_BAD_CONFIG);

	/* log size 13 -> BAD_CONFIG as well */
	rn_reset(h);
	assert_int_equal(rn_rd(h, REFNIC_REG_FATAL_CODE), 0);
	rn_wr(h, REFNIC_REG_ADMIN_SQ_BASE, (uint32_t)facet_core_dma_iova(h->sq));
	rn_wr(h, REFNIC_REG_ADMIN_CQ_BASE, (uint32_t)facet_core_dma_iova(h->cq));
	rn_wr(h, REFNIC_REG_ADMIN_Q_LOG_SIZE, 13);
	rn_wr(h, REFNIC_REG_DEV_CTRL, REFNIC_CTRL_ENABLE);
	assert_int_equal(rn_rd(h, REFNIC_REG_FATAL_CODE), REFNIC_FATAL_BAD_CONFIG);

	assert_int_equal(rn_enable(h, 1), 0);
	for (int i = 0; i < 5; i++) /* wraps a 2-entry ring: phase flips */
		assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
}

static void test_fatal_doorbell_and_sq_fault(void **state)
{
	struct rn *h = *state;

	/* producer index beyond the ring */
	rn_doorbell(h, 0, REFNIC_DB_ADMIN_SQ_PI, 16);
	for (int i = 0; i < 300 && !(rn_rd(h, REFNIC_REG_DEV_STATUS) & REFNIC_DEVSTS_FATAL); i++)
		usleep(1000);
	assert_int_equal(rn_rd(h, REFNIC_REG_DEV_STATUS), REFNIC_DEVSTS_FATAL);
	assert_int_equal(rn_rd(h, REFNIC_REG_FATAL_CODE), REFNIC_FATAL_DOORBELL);

	/* SQ unmapped under the device: fetching faults */
	assert_int_equal(rn_enable(h, 4), 0);
	facet_core_dma_free(h->sq);
	h->sq = NULL;
	rn_doorbell(h, 0, REFNIC_DB_ADMIN_SQ_PI, 1);
	for (int i = 0; i < 300 && !(rn_rd(h, REFNIC_REG_DEV_STATUS) & REFNIC_DEVSTS_FATAL); i++)
		usleep(1000);
	assert_int_equal(rn_rd(h, REFNIC_REG_FATAL_CODE), REFNIC_FATAL_SQ_DMA);

	/* and it comes back */
	assert_int_equal(rn_enable(h, 4), 0);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
}

/* ---- commands -------------------------------------------------------------------- */

static void test_query_caps(void **state)
{
	struct rn *h = *state;
	uint8_t *buf = facet_core_dma_va(h->buf);
	uint64_t iova = facet_core_dma_iova(h->buf);
	struct refnic_caps caps;
	struct refnic_cqe c;

	memset(buf, 0xa5, RN_BUF_SIZE);
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, iova, 4096), &c), REFNIC_STATUS_OK);
	assert_int_equal(c.result, sizeof(caps));
	memcpy(&caps, buf, sizeof(caps));
	assert_int_equal(buf[sizeof(caps)], 0xa5); /* nothing past the structure */
	assert_int_equal(caps.version, REFNIC_VERSION);
	assert_int_equal(caps.num_funcs, 4);
	assert_int_equal(caps.msix_vectors, 64);
	assert_int_equal(caps.admin_log_min, 1);
	assert_int_equal(caps.admin_log_max, 12);
	assert_int_equal(caps.max_queues_per_func, 64);
	assert_int_equal(caps.db_offset, 0x1000);
	assert_int_equal(caps.db_stride, 0x1000);
	assert_int_equal(caps.features,
			 REFNIC_FEAT_EVENT_QUEUE | REFNIC_FEAT_ETH | REFNIC_FEAT_RDMA);
	assert_int_equal(caps.link_speed, 100000);
	assert_int_equal(mac_u64(caps.mac_base), 0x0000cefa02ull);
	assert_int_equal(caps.queues[REFNIC_QT_EVENT].max_per_func, 1);
	assert_int_equal(caps.queues[REFNIC_QT_EVENT].log_min, 1);
	assert_int_equal(caps.queues[REFNIC_QT_EVENT].log_max, 12);
	assert_int_equal(caps.queues[REFNIC_QT_EVENT].entry_size, 16);
	/* rev 1.1: the Ethernet datapath */
	assert_int_equal(caps.max_mtu, 9000);
	for (int t = REFNIC_QT_TX; t <= REFNIC_QT_RX; t++) {
		assert_int_equal(caps.queues[t].max_per_func, 16);
		assert_int_equal(caps.queues[t].log_min, 6);
		assert_int_equal(caps.queues[t].log_max, 12);
		assert_int_equal(caps.queues[t].entry_size, 16);
	}
	/* revision 1.2: RDMA completion queues (docs/refnic.md §16.6) */
	assert_int_equal(caps.queues[REFNIC_QT_CQ].max_per_func, 32);
	assert_int_equal(caps.queues[REFNIC_QT_CQ].log_min, 1);
	assert_int_equal(caps.queues[REFNIC_QT_CQ].log_max, 16);
	assert_int_equal(caps.queues[REFNIC_QT_CQ].entry_size, 32);
	assert_true(refnic_is_zero_test(caps.rsvd, sizeof(caps.rsvd)));

	/* short buffer: exactly data_len bytes written, result still the full size */
	memset(buf, 0xa5, RN_BUF_SIZE);
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, iova, 6), &c), REFNIC_STATUS_OK);
	assert_int_equal(c.result, 256);
	assert_memory_equal(buf, &caps, 6);
	assert_int_equal(buf[6], 0xa5);

	/* header checks */
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, iova, 0), NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, iova, 65537), NULL),
			 REFNIC_STATUS_INVALID_FIELD);
	struct refnic_sqe s = sqe_data(REFNIC_OP_QUERY_CAPS, iova, 256);
	s.function = 1;
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_BAD_FUNCTION);
	s = sqe_data(REFNIC_OP_QUERY_CAPS, iova, 256);
	s.raw[39] = 1;
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	s = sqe_data(REFNIC_OP_NOP, iova, 256);
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	s = sqe_op(REFNIC_OP_NOP, 0);
	s.flags = 1;
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	/* opcodes */
	assert_int_equal(cmd(h, sqe_op(0x00, 0), NULL), REFNIC_STATUS_BAD_OPCODE);
	assert_int_equal(cmd(h, sqe_op(0x30, 0), NULL), REFNIC_STATUS_BAD_OPCODE);
	assert_int_equal(cmd(h, sqe_op(0xff, 0), NULL), REFNIC_STATUS_BAD_OPCODE);
}

static void test_dma_fault(void **state)
{
	struct rn *h = *state;
	uint8_t *buf = facet_core_dma_va(h->buf);
	uint64_t iova = facet_core_dma_iova(h->buf);
	struct facet_core_dma_opts ro = { .numa_node = -1, .access = FACET_CORE_DMA_READ };
	struct facet_core_dma *rodma;
	struct refnic_cqe c;

	memset(buf, 0xa5, RN_BUF_SIZE);
	/* crosses the end of the mapping: nothing written, not even the mapped part */
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, iova + RN_BUF_SIZE - 8, 256), &c),
			 REFNIC_STATUS_DMA_FAULT);
	assert_int_equal(c.result, 0);
	for (int i = 0; i < RN_BUF_SIZE; i++)
		assert_int_equal(buf[i], 0xa5);
	/* nowhere near a mapping; wrapping around 2^64 */
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, 0x10, 256), NULL),
			 REFNIC_STATUS_DMA_FAULT);
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_STATS, ~0ull - 16, 4096), NULL),
			 REFNIC_STATUS_DMA_FAULT);
	/* read-only for the device */
	assert_int_equal(facet_core_dma_alloc(h->dev, 4096, &ro, &rodma), 0);
	memset(facet_core_dma_va(rodma), 0x5a, 4096);
	assert_int_equal(
		cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, facet_core_dma_iova(rodma), 256), NULL),
		REFNIC_STATUS_DMA_FAULT);
	assert_int_equal(((uint8_t *)facet_core_dma_va(rodma))[0], 0x5a);
	/* an event queue ring outside the maps, or not writable */
	assert_int_equal(cmd(h, sqe_create_eq(0, iova + RN_BUF_SIZE - 64, 4, 0), NULL),
			 REFNIC_STATUS_DMA_FAULT);
	assert_int_equal(cmd(h, sqe_create_eq(0, facet_core_dma_iova(rodma), 4, 0), NULL),
			 REFNIC_STATUS_DMA_FAULT);
	facet_core_dma_free(rodma);

	struct refnic_stats st;
	refnic_model_get_stats(h->m, &st, NULL, 0);
	assert_int_equal(st.admin_dma_faults, 6);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
}

/* Memory without an fd: the device reaches it by DMA_READ/WRITE messages. */
static void test_dma_no_fd(void **state)
{
	struct rn *h = *state;
	uint8_t *mem = aligned_alloc(4096, 3 * 4096);
	struct refnic_caps *caps = (struct refnic_caps *)mem;
	uint32_t ci = 0, db;
	struct refnic_cqe c;
	struct refnic_eqe e;
	uint64_t iova;
	uint8_t ph = 1;

	assert_non_null(mem);
	memset(mem, 0xa5, 3 * 4096);
	memset(mem + 4096, 0, 4096);
	assert_int_equal(
		facet_core_dma_register(h->dev, mem, 2 * 4096, -1, 0, FACET_CORE_DMA_RW, &iova), 0);
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, iova, 256), &c), REFNIC_STATUS_OK);
	assert_int_equal(caps->version, REFNIC_VERSION);
	assert_int_equal(caps->num_funcs, 4);
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, iova + 8192 - 8, 256), NULL),
			 REFNIC_STATUS_DMA_FAULT);
	for (int i = 8192 - 8; i < 8192; i++) /* the mapped part of the range: untouched */
		assert_int_equal(mem[i], 0);
	for (int i = 8192; i < 3 * 4096; i++)
		assert_int_equal(mem[i], 0xa5);

	assert_int_equal(cmd(h, sqe_create_eq(0, iova + 4096, 3, 0), &c), REFNIC_STATUS_OK);
	db = REFNIC_CREATE_RESULT_DB_OFF(c.result);
	assert_int_equal(rn_eq_wait(mem + 4096, 3, &ci, &ph, &e, 0), 0);
	assert_int_equal(e.type, REFNIC_EVENT_LINK_CHANGE);
	*rn_db(h, 0, db) = ci;
	for (int i = 0; i < 20; i++) { /* wraps the 8-entry ring twice */
		assert_int_equal(refnic_model_set_link(h->m, 0, i & 1), 0);
		assert_int_equal(rn_eq_wait(mem + 4096, 3, &ci, &ph, &e, RN_TIMEOUT_MS), 0);
		assert_int_equal(e.data & REFNIC_LINK_UP, (uint64_t)(i & 1));
		assert_int_equal(e.flags, 0);
		*rn_db(h, 0, db) = ci;
	}
	assert_int_equal(
		cmd(h, sqe_destroy(0, REFNIC_QT_EVENT, REFNIC_CREATE_RESULT_QID(c.result)), NULL),
		REFNIC_STATUS_OK);
	assert_int_equal(facet_core_dma_unregister(h->dev, iova), 0);
	free(mem);
}

static void test_mac(void **state)
{
	struct rn *h = *state;
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	struct refnic_sqe s;

	assert_int_equal(query_mac(h, 0), 0x0000cefa02ull);
	s = sqe_op(REFNIC_OP_SET_MAC, 0);
	memcpy(s.set_mac.mac, mac, 6);
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_OK);
	assert_int_equal(query_mac(h, 0), mac_u64(mac));

	s.set_mac.mac[0] = 0x03; /* multicast */
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	memset(s.set_mac.mac, 0, 6);
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	memcpy(s.set_mac.mac, mac, 6);
	s.set_mac.rsvd[33] = 1;
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(query_mac(h, 0), mac_u64(mac));

	/* SF slots exist but are inactive in 1.0; beyond NUM_FUNCS does not exist */
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_QUERY_MAC, 1), NULL), REFNIC_STATUS_BAD_FUNCTION);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_QUERY_MAC, 4), NULL), REFNIC_STATUS_BAD_FUNCTION);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_QUERY_MAC, 0xffff), NULL),
			 REFNIC_STATUS_BAD_FUNCTION);

	/* RESET_FUNCTION restores the default */
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_RESET_FUNCTION, 0), NULL), REFNIC_STATUS_OK);
	assert_int_equal(query_mac(h, 0), 0x0000cefa02ull);
}

static void test_event_queue(void **state)
{
	struct rn *h = *state;
	uint64_t ring = facet_core_dma_iova(h->buf);
	void *va = facet_core_dma_va(h->buf);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint32_t ci = 0, qid, db;
	struct refnic_cqe c;
	struct refnic_eqe e;
	uint8_t ph = 1;

	assert_true(efd >= 0);
	assert_int_equal(facet_core_irq_enable(h->dev, FACET_CORE_IRQ_MSIX, 1, 1, &efd), 0);
	memset(va, 0, 16 << 4);

	/* field checks first */
	struct refnic_sqe s = sqe_create_eq(0, ring, 4, 0);
	s.create_queue.log_size = 13;
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	s = sqe_create_eq(0, ring, 4, 0);
	s.create_queue.msix_vector = 3; /* without IRQ_EN */
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	s = sqe_create_eq(0, ring, 4, 0);
	s.create_queue.flags = REFNIC_QF_IRQ_EN; /* vector 0 is the admin's */
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	s = sqe_create_eq(0, ring, 4, 1);
	s.create_queue.flags |= 2; /* reserved flag */
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	s = sqe_create_eq(0, ring, 4, 64);
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	s = sqe_create_eq(0, ring + 8, 4, 1);
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	s = sqe_create_eq(0, ring, 4, 1);
	s.create_queue.type = 5; /* reserved */
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	s = sqe_create_eq(0, ring, 4, 1);
	s.create_queue.cq_id = 1;
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(cmd(h, sqe_create_eq(2, ring, 4, 1), NULL), REFNIC_STATUS_BAD_FUNCTION);

	/* create: queue id and doorbell offset, then the initial LINK_CHANGE + MSI-X */
	while (eventfd_fired(efd, 0))
		;
	assert_int_equal(cmd(h, sqe_create_eq(0, ring, 4, REFNIC_MSIX_EVENT), &c),
			 REFNIC_STATUS_OK);
	qid = REFNIC_CREATE_RESULT_QID(c.result);
	db = REFNIC_CREATE_RESULT_DB_OFF(c.result);
	assert_int_equal(db, REFNIC_DB_QUEUE(qid));
	assert_int_equal(rn_eq_wait(va, 4, &ci, &ph, &e, 0), 0); /* before the CQE */
	assert_int_equal(e.type, REFNIC_EVENT_LINK_CHANGE);
	assert_int_equal(e.function, 0);
	assert_int_equal(e.flags, 0);
	assert_int_equal(e.data, REFNIC_LINK_UP | (100000ull << 32));
	assert_true(eventfd_fired(efd, 1000));

	/* one EQ per function */
	assert_int_equal(cmd(h, sqe_create_eq(0, ring + 4096, 4, 0), NULL),
			 REFNIC_STATUS_NO_RESOURCES);

	/* link down, then up */
	assert_int_equal(refnic_model_set_link(h->m, 0, false), 0);
	assert_int_equal(rn_eq_wait(va, 4, &ci, &ph, &e, RN_TIMEOUT_MS), 0);
	assert_int_equal(e.type, REFNIC_EVENT_LINK_CHANGE);
	assert_int_equal(e.data, 0);
	assert_true(eventfd_fired(efd, 1000));
	*rn_db(h, 0, db) = ci;
	assert_int_equal(refnic_model_set_link(h->m, 0, true), 0);
	assert_int_equal(rn_eq_wait(va, 4, &ci, &ph, &e, RN_TIMEOUT_MS), 0);
	assert_int_equal(e.data & REFNIC_LINK_UP, REFNIC_LINK_UP);

	/* destroy: wrong type, wrong id, right one, again */
	assert_int_equal(cmd(h, sqe_destroy(0, 5, qid), NULL), REFNIC_STATUS_INVALID_FIELD);
	assert_int_equal(cmd(h, sqe_destroy(0, REFNIC_QT_CQ, qid), NULL), REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(cmd(h, sqe_destroy(0, REFNIC_QT_TX, qid), NULL), REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(cmd(h, sqe_destroy(0, REFNIC_QT_EVENT, qid + 1), NULL),
			 REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(cmd(h, sqe_destroy(0, REFNIC_QT_EVENT, 1000), NULL),
			 REFNIC_STATUS_BAD_QUEUE);
	assert_int_equal(cmd(h, sqe_destroy(0, REFNIC_QT_EVENT, qid), NULL), REFNIC_STATUS_OK);
	assert_int_equal(cmd(h, sqe_destroy(0, REFNIC_QT_EVENT, qid), NULL),
			 REFNIC_STATUS_BAD_QUEUE);
	/* no queue: no write */
	memset(va, 0, 4096);
	assert_int_equal(refnic_model_set_link(h->m, 0, false), 0);
	usleep(20000);
	assert_true(refnic_is_zero_test(va, 4096));
	close(efd);
}

static void test_event_overflow(void **state)
{
	struct rn *h = *state;
	uint64_t ring = facet_core_dma_iova(h->buf);
	void *va = facet_core_dma_va(h->buf);
	struct refnic_func_stats fs;
	uint32_t ci = 0, db;
	struct refnic_cqe c;
	struct refnic_eqe e;
	uint8_t ph = 1;

	/* 2 entries: room for one event (one slot stays free) */
	memset(va, 0, 4096);
	assert_int_equal(cmd(h, sqe_create_eq(0, ring, 1, 0), &c), REFNIC_STATUS_OK);
	db = REFNIC_CREATE_RESULT_DB_OFF(c.result);
	assert_int_equal(rn_eq_wait(va, 1, &ci, &ph, &e, 0), 0); /* initial, link up */
	assert_int_equal(refnic_model_set_link(h->m, 0, false), 0);
	usleep(20000);
	refnic_model_get_stats(h->m, NULL, &fs, 1);
	assert_int_equal(fs.events_posted, 1);
	assert_int_equal(fs.events_dropped, 1);
	assert_int_equal(rn_eq_wait(va, 1, &ci, &ph, &e, 0), -ETIMEDOUT);

	/* consume: the next event carries OVERFLOW and the full state */
	*rn_db(h, 0, db) = ci;
	assert_int_equal(refnic_model_set_link(h->m, 0, true), 0);
	assert_int_equal(rn_eq_wait(va, 1, &ci, &ph, &e, RN_TIMEOUT_MS), 0);
	assert_int_equal(e.flags, REFNIC_EQE_F_OVERFLOW);
	assert_int_equal(e.data & REFNIC_LINK_UP, REFNIC_LINK_UP);
	*rn_db(h, 0, db) = ci;
	assert_int_equal(refnic_model_set_link(h->m, 0, false), 0);
	assert_int_equal(rn_eq_wait(va, 1, &ci, &ph, &e, RN_TIMEOUT_MS), 0); /* phase wrapped */
	assert_int_equal(e.flags, 0);
	assert_int_equal(e.data, 0);
}

static void test_stats(void **state)
{
	struct rn *h = *state;
	uint8_t *buf = facet_core_dma_va(h->buf);
	uint64_t iova = facet_core_dma_iova(h->buf);
	const size_t size = REFNIC_STATS_SIZE(4);
	struct refnic_func_stats *fs =
		(struct refnic_func_stats *)(buf + sizeof(struct refnic_stats));
	struct refnic_stats *st = (struct refnic_stats *)buf;
	struct refnic_sqe s;
	struct refnic_cqe c;

	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_QUERY_MAC, 0), NULL), REFNIC_STATUS_OK);
	assert_int_equal(cmd(h, sqe_op(0x77, 0), NULL), REFNIC_STATUS_BAD_OPCODE);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_QUERY_MAC, 3), NULL), REFNIC_STATUS_BAD_FUNCTION);
	assert_int_equal(cmd(h, sqe_data(REFNIC_OP_QUERY_CAPS, 0x10, 8), NULL),
			 REFNIC_STATUS_DMA_FAULT);

	memset(buf, 0xa5, RN_BUF_SIZE);
	s = sqe_data(REFNIC_OP_QUERY_STATS, iova, RN_BUF_SIZE);
	s.query_stats.flags = REFNIC_STATS_F_CLEAR;
	assert_int_equal(cmd(h, s, &c), REFNIC_STATUS_OK);
	assert_int_equal(c.result, size);
	assert_int_equal(buf[size], 0xa5);
	assert_int_equal(st->version, REFNIC_VERSION);
	assert_int_equal(st->num_funcs, 4);
	assert_int_equal(st->func_stats_size, 128);
	assert_int_equal(st->admin_cmds, 5); /* this one not yet counted */
	assert_int_equal(st->admin_errors, 3);
	assert_int_equal(st->admin_dma_faults, 1);
	assert_int_equal(fs[0].admin_cmds, 3); /* NOP, QUERY_MAC, QUERY_CAPS */
	assert_int_equal(fs[0].admin_errors, 1);
	assert_int_equal(fs[3].admin_cmds, 0); /* BAD_FUNCTION is not counted there */
	assert_int_equal(fs[1].rx_packets, 0);

	/* after CLEAR only the clearing command itself */
	s = sqe_data(REFNIC_OP_QUERY_STATS, iova, RN_BUF_SIZE);
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_OK);
	assert_int_equal(st->admin_cmds, 1);
	assert_int_equal(st->admin_errors, 0);
	assert_int_equal(fs[0].admin_cmds, 1);
	s.query_stats.flags = 2;
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_INVALID_FIELD);

	/* port hook: frames for a function without RX queues are drops */
	assert_int_equal(refnic_model_port_rx(h->m, 0, buf, 64), -ENOBUFS);
	assert_int_equal(refnic_model_port_rx(h->m, 2, buf, 64), -EINVAL);
	refnic_model_get_stats(h->m, NULL, fs, 1);
	assert_int_equal(fs[0].rx_drops, 1);
}

/* Everything §6.3 lists, for DEV_CTRL.RESET, ENABLE 1->0 and FLR. */
static void check_reset_clears(struct rn *h, int how)
{
	uint64_t ring = facet_core_dma_iova(h->buf);
	struct refnic_sqe s = sqe_op(REFNIC_OP_SET_MAC, 0);
	struct refnic_stats st;
	struct refnic_cqe c;

	memcpy(s.set_mac.mac, "\x02\x01\x02\x03\x04\x05", 6);
	assert_int_equal(cmd(h, s, NULL), REFNIC_STATUS_OK);
	assert_int_equal(cmd(h, sqe_create_eq(0, ring, 4, 0), &c), REFNIC_STATUS_OK);
	rn_wr(h, REFNIC_REG_SCRATCH, 42);

	if (how == 0) {
		rn_reset(h);
	} else if (how == 1) {
		rn_wr(h, REFNIC_REG_DEV_CTRL, 0);
	} else {
		assert_int_equal(facet_core_reset(h->dev), 0);
		/* config space survives a VFIO reset (§6.4) */
		assert_int_equal(cfg32(h, 0x04) & 4, 4);
	}
	assert_int_equal(rn_rd(h, REFNIC_REG_DEV_CTRL), 0);
	assert_int_equal(rn_rd(h, REFNIC_REG_DEV_STATUS), 0);
	assert_int_equal(rn_rd(h, REFNIC_REG_SCRATCH), 0);
	assert_int_equal(rn_rd(h, REFNIC_REG_ADMIN_SQ_BASE), 0);
	assert_int_equal(rn_rd(h, REFNIC_REG_ADMIN_SQ_CI), 0);
	assert_int_equal(*rn_db(h, 0, REFNIC_DB_ADMIN_SQ_PI), 0);
	refnic_model_get_stats(h->m, &st, NULL, 0);
	assert_int_equal(st.admin_cmds, 0);

	assert_int_equal(rn_enable(h, 4), 0);
	assert_int_equal(query_mac(h, 0), 0x0000cefa02ull);
	assert_int_equal(
		cmd(h, sqe_destroy(0, REFNIC_QT_EVENT, REFNIC_CREATE_RESULT_QID(c.result)), NULL),
		REFNIC_STATUS_BAD_QUEUE);
	/* the queue limit is free again */
	assert_int_equal(cmd(h, sqe_create_eq(0, ring, 4, 0), &c), REFNIC_STATUS_OK);
	assert_int_equal(
		cmd(h, sqe_destroy(0, REFNIC_QT_EVENT, REFNIC_CREATE_RESULT_QID(c.result)), NULL),
		REFNIC_STATUS_OK);
}

static void test_reset_clears(void **state)
{
	struct rn *h = *state;

	check_reset_clears(h, 0);
	check_reset_clears(h, 1);
	check_reset_clears(h, 2);
}

static void test_admin_irq_and_bus_master(void **state)
{
	struct rn *h = *state;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct refnic_sqe s = sqe_op(REFNIC_OP_NOP, 0);
	struct refnic_cqe c;

	assert_true(efd >= 0);
	assert_int_equal(facet_core_irq_enable(h->dev, FACET_CORE_IRQ_MSIX, 0, 1, &efd), 0);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
	assert_false(eventfd_fired(efd, 20)); /* not enabled yet */
	rn_wr(h, REFNIC_REG_DEV_CTRL, REFNIC_CTRL_ENABLE | REFNIC_CTRL_ADMIN_IRQ_EN);
	assert_int_equal(rn_rd(h, REFNIC_REG_DEV_STATUS), REFNIC_DEVSTS_READY);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
	assert_true(eventfd_fired(efd, 1000));

	/* no DMA without Bus Master Enable: the command waits */
	assert_int_equal(facet_core_set_bus_master(h->dev, false), 0);
	rn_post(h, &s, true);
	assert_int_equal(rn_wait(h, &c, 50), -ETIMEDOUT);
	assert_int_equal(facet_core_set_bus_master(h->dev, true), 0);
	assert_int_equal(rn_wait(h, &c, RN_TIMEOUT_MS), 0);
	assert_int_equal(c.status, REFNIC_STATUS_OK);
	assert_int_equal(c.cid, s.cid);
	close(efd);
}

/* §7: the device sleeps, publishes SLEEPING, and only a KICK wakes it. */
static void test_sleep_and_kick(void **state)
{
	struct rn *h = *state;
	struct refnic_sqe s = sqe_op(REFNIC_OP_NOP, 0);
	struct refnic_stats st;
	struct refnic_cqe c;

	assert_true(rn_wait_sleeping(h, 2000));
	assert_int_equal(*rn_db(h, 0, REFNIC_DB_DEV_STATE), REFNIC_DEV_STATE_SLEEPING);
	/* SLEEPING goes up before the device's last look at the doorbells (§7): give
	 * it time to get past that look and into its sleep proper. */
	usleep(50 * 1000);

	/* a doorbell without KICK stays unseen while the device sleeps */
	rn_post(h, &s, false);
	*rn_db(h, 0, REFNIC_DB_ADMIN_SQ_PI) = h->sq_pi;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	assert_int_equal(rn_wait(h, &c, 100), -ETIMEDOUT);
	rn_wr(h, REFNIC_REG_KICK, 1);
	assert_int_equal(rn_wait(h, &c, RN_TIMEOUT_MS), 0);
	assert_int_equal(c.status, REFNIC_STATUS_OK);

	/* the protocol: many rounds across sleep, none lost */
	for (int i = 0; i < 20; i++) {
		if (i % 5 == 0)
			assert_true(rn_wait_sleeping(h, 2000));
		assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
	}
	refnic_model_get_stats(h->m, &st, NULL, 0);
	assert_true(st.kicks >= 5);
	assert_true(st.wakeups >= 5);
	assert_true(h->kicks >= 4);
}

/* §7 with KICK by its ioeventfd: an eventfd write wakes the sleeping device. */
static void test_sleep_and_ioeventfd_kick(void **state)
{
	struct rn *h = *state;
	struct refnic_sqe s = sqe_op(REFNIC_OP_NOP, 0);
	struct refnic_stats st0, st;
	struct refnic_cqe c;
	uint64_t one = 1;
	int kfd = -1;

	assert_int_equal(facet_core_region_ioeventfd(h->dev, 0, REFNIC_REG_KICK, 4, &kfd), 0);
	assert_true(rn_wait_sleeping(h, 2000));
	usleep(50 * 1000); /* past the device's last look at the doorbells */
	refnic_model_get_stats(h->m, &st0, NULL, 0);

	rn_post(h, &s, false);
	*rn_db(h, 0, REFNIC_DB_ADMIN_SQ_PI) = h->sq_pi;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	assert_int_equal(rn_wait(h, &c, 100), -ETIMEDOUT);
	assert_int_equal(write(kfd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(rn_wait(h, &c, RN_TIMEOUT_MS), 0);
	assert_int_equal(c.status, REFNIC_STATUS_OK);

	/* the driver's protocol with the eventfd: rounds across sleep, none lost */
	for (int i = 0; i < 10; i++) {
		if (i % 2 == 0)
			assert_true(rn_wait_sleeping(h, 2000));
		s = sqe_op(REFNIC_OP_NOP, 0);
		rn_post(h, &s, false);
		*rn_db(h, 0, REFNIC_DB_ADMIN_SQ_PI) = h->sq_pi;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (*rn_db(h, 0, REFNIC_DB_DEV_STATE) & REFNIC_DEV_STATE_SLEEPING)
			assert_int_equal(write(kfd, &one, sizeof(one)), sizeof(one));
		assert_int_equal(rn_wait(h, &c, RN_TIMEOUT_MS), 0);
		assert_int_equal(c.status, REFNIC_STATUS_OK);
	}
	/* such a KICK is no trapped write: it counts as a wake-up only (§7) */
	refnic_model_get_stats(h->m, &st, NULL, 0);
	assert_int_equal(st.kicks, st0.kicks);
	assert_true(st.wakeups >= st0.wakeups + 6);
	close(kfd);
}

/* The client leaving is a VFIO release: FLR and config space to power-on values. */
static void test_reconnect(void **state)
{
	struct rn *h = *state;

	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
	rn_close(h);
	assert_int_equal(rn_open(h), 0); /* served after the old client is cleaned up */
	assert_int_equal(rn_rd(h, REFNIC_REG_DEV_STATUS), 0);
	assert_int_equal(rn_rd(h, REFNIC_REG_ADMIN_SQ_BASE), 0);
	assert_int_equal(rn_enable(h, 4), 0);
	assert_int_equal(cmd(h, sqe_op(REFNIC_OP_NOP, 0), NULL), REFNIC_STATUS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_and_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fatal_doorbell_and_sq_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_no_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_clears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_irq_and_bus_master, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleep_and_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleep_and_ioeventfd_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
