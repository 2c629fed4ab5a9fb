/* SPDX-License-Identifier: MIT */
/*
 * Admin command fuzzing: thousands of random and corrupted SQEs, with data
 * and ring IOVAs inside, across the edges of, and far outside the mapped
 * memory, and bad sizes. Afterwards the device must be alive and answer
 * valid commands correctly, and memory around the mapped arena (the same
 * memfd, just not mapped for DMA) must be untouched.
 *
 * REFNIC_FUZZ_SEED and REFNIC_FUZZ_COUNT override the seed and command count.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "rn_harness.h"

#define ARENA	 (64 * 1024)
#define GUARD	 (64 * 1024)
#define GUARD_B	 0xa5
#define LOG_SIZE 6

struct fuzz {
	struct rn h;
	uint64_t rng;
	int memfd;
	uint8_t *mem; /* guard | arena | guard */
	uint64_t arena;
	uint64_t sq_lo, sq_hi, cq_lo, cq_hi;
	unsigned int status_seen[REFNIC_STATUS_BAD_STATE + 1];
};

static uint64_t rnd(struct fuzz *f)
{
	/* xorshift64*: reproducible from the seed */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dull;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

/* An arena whose IOVA neighbours are holes: allocate around it, then free. */
static void arena_setup(struct fuzz *f)
{
	struct facet_core_dma_opts o = { .numa_node = -1, .no_hugepages = true };
	struct facet_core_dma *g1, *g2;

	f->memfd = memfd_create("fuzz-arena", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, GUARD + ARENA + GUARD), 0);
	f->mem = mmap(NULL, GUARD + ARENA + GUARD, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	assert_true(f->mem != MAP_FAILED);
	memset(f->mem, GUARD_B, GUARD + ARENA + GUARD);
	assert_int_equal(facet_core_dma_alloc(f->h.dev, 65536, &o, &g1), 0);
	assert_int_equal(facet_core_dma_register(f->h.dev, f->mem + GUARD, ARENA, f->memfd, GUARD,
						 FACET_CORE_DMA_RW, &f->arena),
			 0);
	assert_int_equal(facet_core_dma_alloc(f->h.dev, 65536, &o, &g2), 0);
	facet_core_dma_free(g1);
	facet_core_dma_free(g2);
}

static int setup(void **state)
{
	struct fuzz *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(rn_start(&f->h, NULL), 0);
	assert_int_equal(rn_enable(&f->h, LOG_SIZE), 0);
	f->sq_lo = facet_core_dma_iova(f->h.sq);
	f->sq_hi = f->sq_lo + facet_core_dma_size(f->h.sq);
	f->cq_lo = facet_core_dma_iova(f->h.cq);
	f->cq_hi = f->cq_lo + facet_core_dma_size(f->h.cq);
	arena_setup(f);
	f->rng = env_u64("REFNIC_FUZZ_SEED", 0x5eed0f4e1c0ffeeull);
	printf("# fuzz seed 0x%llx\n", (unsigned long long)f->rng);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fuzz *f = *state;

	facet_core_dma_unregister(f->h.dev, f->arena);
	rn_stop(&f->h);
	munmap(f->mem, GUARD + ARENA + GUARD);
	close(f->memfd);
	free(f);
	return 0;
}

static uint64_t pick_iova(struct fuzz *f)
{
	uint64_t r = rnd(f);

	switch (r % 8) {
	case 0:
		return rnd(f);
	case 1:
		return f->arena + rnd(f) % ARENA;
	case 2: /* straddles the end */
		return f->arena + ARENA - 1 - rnd(f) % 512;
	case 3: /* starts in the hole before, may reach into the arena */
		return f->arena - 1 - rnd(f) % 4096;
	case 4:
		return rnd(f) % 4096;
	case 5: /* wraps around 2^64 */
		return ~0ull - rnd(f) % 4096;
	case 6:
		return (f->arena + (rnd(f) % ARENA)) & ~63ull;
	default:
		return rnd(f) & 0xfffff000ull;
	}
}

static uint32_t pick_len(struct fuzz *f)
{
	static const uint32_t lens[] = { 0,	1,     6,     63,	   128,
					 255,	256,   257,   640,	   4096,
					 65535, 65536, 65537, 0x80000000u, 0xffffffffu };
	uint64_t r = rnd(f);

	return r & 1 ? (uint32_t)rnd(f) : lens[(r >> 1) % (sizeof(lens) / sizeof(lens[0]))];
}

static void fill_template(struct fuzz *f, struct refnic_sqe *s)
{
	memset(s, 0, sizeof(*s));
	switch (rnd(f) % 13) {
	case 0:
		s->opcode = REFNIC_OP_NOP;
		break;
	case 1:
		s->opcode = REFNIC_OP_QUERY_CAPS;
		s->data_iova = f->arena + (rnd(f) % 16) * 4096;
		s->data_len = 256;
		break;
	case 2:
		s->opcode = REFNIC_OP_QUERY_STATS;
		s->data_iova = f->arena + (rnd(f) % 8) * 4096;
		s->data_len = 4096;
		s->query_stats.flags = rnd(f) & 1;
		break;
	case 3:
		s->opcode = REFNIC_OP_RESET_FUNCTION;
		s->function = rnd(f) % 2;
		break;
	case 4:
		s->opcode = REFNIC_OP_CREATE_QUEUE;
		s->create_queue.type = REFNIC_QT_EVENT;
		s->create_queue.log_size = 1 + rnd(f) % 8;
		s->create_queue.ring_iova = f->arena + (rnd(f) % 12) * 4096;
		if (rnd(f) & 1) {
			s->create_queue.flags = REFNIC_QF_IRQ_EN;
			s->create_queue.msix_vector = 1 + rnd(f) % 63;
		}
		break;
	case 5:
		s->opcode = REFNIC_OP_DESTROY_QUEUE;
		s->destroy_queue.type = REFNIC_QT_EVENT;
		s->destroy_queue.queue_id = rnd(f) % 3;
		break;
	case 6:
		s->opcode = REFNIC_OP_SET_MAC;
		for (int i = 0; i < 6; i++)
			s->set_mac.mac[i] = (uint8_t)rnd(f);
		s->set_mac.mac[0] = (s->set_mac.mac[0] & ~1) | 2;
		break;
	case 7: /* rev 1.1: a TX or RX queue with its status line */
		s->opcode = REFNIC_OP_CREATE_QUEUE;
		s->create_queue.type = rnd(f) & 1 ? REFNIC_QT_TX : REFNIC_QT_RX;
		s->create_queue.log_size = 6 + rnd(f) % 3;
		s->create_queue.ring_iova = f->arena + (rnd(f) % 12) * 4096;
		s->create_queue.status_iova = f->arena + (rnd(f) % 64) * 64;
		break;
	case 8:
		s->opcode = REFNIC_OP_SET_MTU;
		s->set_mtu.mtu = (uint16_t)(60 + rnd(f) % 9000);
		break;
	case 9:
		s->opcode = REFNIC_OP_SET_RX_MODE;
		s->set_rx_mode.flags = rnd(f) % 4;
		break;
	case 10:
		s->opcode = REFNIC_OP_SET_RSS;
		s->data_iova = f->arena + (rnd(f) % 16) * 4096;
		s->data_len = sizeof(struct refnic_rss_config);
		break;
	case 11:
		s->opcode = REFNIC_OP_QUERY_QUEUE_STATS;
		s->queue_stats.type = rnd(f) & 1 ? REFNIC_QT_TX : REFNIC_QT_RX;
		s->queue_stats.queue_id = rnd(f) % 4;
		s->data_iova = f->arena + (rnd(f) % 16) * 4096;
		s->data_len = 64;
		break;
	default:
		s->opcode = REFNIC_OP_QUERY_MAC;
		s->function = rnd(f) % 5;
		break;
	}
}

static void gen_sqe(struct fuzz *f, struct refnic_sqe *s)
{
	uint8_t *b = (uint8_t *)s;

	switch (rnd(f) % 6) {
	case 0: /* noise */
		for (size_t i = 0; i < sizeof(*s); i++)
			b[i] = (uint8_t)rnd(f);
		break;
	case 1: /* a valid command with a few flipped bits */
		fill_template(f, s);
		for (uint64_t n = 1 + rnd(f) % 3; n; n--) {
			uint64_t bit = rnd(f) % (8 * sizeof(*s));

			b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		break;
	case 2: /* a valid command with hostile buffer fields */
		fill_template(f, s);
		s->data_iova = pick_iova(f);
		s->data_len = pick_len(f);
		break;
	case 3: /* a valid command */
		fill_template(f, s);
		break;
	case 4: /* a known opcode, random rest */
		for (size_t i = 0; i < sizeof(*s); i++)
			b[i] = (uint8_t)rnd(f);
		fill_template(f, s);
		b[rnd(f) % sizeof(*s)] = (uint8_t)rnd(f);
		break;
	default: /* CREATE_QUEUE with arbitrary fields and rings */
		fill_template(f, s);
		s->opcode = REFNIC_OP_CREATE_QUEUE;
		s->function = rnd(f) % 8 ? 0 : (uint16_t)rnd(f);
		s->create_queue.type = (uint8_t)(rnd(f) % 9);
		s->create_queue.log_size = (uint8_t)(rnd(f) % 16);
		s->create_queue.flags = (uint16_t)(rnd(f) % 4);
		s->create_queue.msix_vector = (uint16_t)(rnd(f) % 70);
		s->create_queue.ring_iova = pick_iova(f);
		break;
	}
}

static bool overlaps(uint64_t a, uint64_t len, uint64_t lo, uint64_t hi)
{
	uint64_t end = a + len < a ? ~0ull : a + len;

	return a < hi && end > lo;
}

/*
 * The harness's own rings are mapped and writable: a command aimed at them
 * would legitimately scribble on them. Aim such commands at the arena.
 */
static void keep_off_rings(struct fuzz *f, struct refnic_sqe *s)
{
	uint64_t ring_len = (uint64_t)16 << (s->create_queue.log_size & 31);

	if (overlaps(s->data_iova, s->data_len, f->sq_lo, f->sq_hi) ||
	    overlaps(s->data_iova, s->data_len, f->cq_lo, f->cq_hi))
		s->data_iova = f->arena;
	if (overlaps(s->create_queue.ring_iova, ring_len, f->sq_lo, f->sq_hi) ||
	    overlaps(s->create_queue.ring_iova, ring_len, f->cq_lo, f->cq_hi))
		s->create_queue.ring_iova = f->arena;
	/* TX/RX status lines are written at create too. */
	if (overlaps(s->create_queue.status_iova, 64, f->sq_lo, f->sq_hi) ||
	    overlaps(s->create_queue.status_iova, 64, f->cq_lo, f->cq_hi))
		s->create_queue.status_iova = f->arena;
}

static bool known_opcode(uint8_t op)
{
	return (op >= REFNIC_OP_NOP && op <= REFNIC_OP_RESET_FUNCTION) ||
	       (op >= REFNIC_OP_CREATE_QUEUE && op <= REFNIC_OP_QUERY_QUEUE_STATS) ||
	       (op >= REFNIC_OP_SET_MAC && op <= REFNIC_OP_SET_RSS) ||
	       (op >= REFNIC_OP_QUERY_RDMA_CAPS && op <= REFNIC_OP_QUERY_GID);
}

static void run_batch(struct fuzz *f, unsigned int n)
{
	struct refnic_sqe sqes[1u << LOG_SIZE];
	struct refnic_cqe c;

	for (unsigned int i = 0; i < n; i++) {
		gen_sqe(f, &sqes[i]);
		keep_off_rings(f, &sqes[i]);
		rn_post(&f->h, &sqes[i], false);
	}
	rn_ring(&f->h);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(rn_wait(&f->h, &c, RN_TIMEOUT_MS), 0);
		assert_int_equal(c.cid, sqes[i].cid);
		assert_int_equal(c.opcode, sqes[i].opcode);
		assert_int_equal(c.rsvd, 0);
		assert_true(c.status <= REFNIC_STATUS_BAD_STATE);
		if (!known_opcode(sqes[i].opcode))
			assert_int_equal(c.status, REFNIC_STATUS_BAD_OPCODE);
		if (c.status != REFNIC_STATUS_OK && !(sqes[i].opcode == REFNIC_OP_QUERY_CAPS ||
						      sqes[i].opcode == REFNIC_OP_QUERY_STATS ||
						      sqes[i].opcode == REFNIC_OP_QUERY_RDMA_CAPS ||
						      sqes[i].opcode == REFNIC_OP_QUERY_QP ||
						      sqes[i].opcode == REFNIC_OP_QUERY_GID))
			assert_int_equal(c.result, 0);
		f->status_seen[c.status]++;
	}
}

static void check_alive(struct fuzz *f)
{
	struct rn *h = &f->h;
	uint8_t *buf = facet_core_dma_va(h->buf);
	struct refnic_caps *caps = (struct refnic_caps *)buf;
	struct refnic_sqe s;
	struct refnic_cqe c;

	assert_int_equal(rn_rd(h, REFNIC_REG_DEV_STATUS), REFNIC_DEVSTS_READY);
	memset(&s, 0, sizeof(s));
	s.opcode = REFNIC_OP_NOP;
	assert_int_equal(rn_cmd(h, &s, NULL), REFNIC_STATUS_OK);

	memset(buf, 0, 512);
	memset(&s, 0, sizeof(s));
	s.opcode = REFNIC_OP_QUERY_CAPS;
	s.data_iova = facet_core_dma_iova(h->buf);
	s.data_len = 512;
	assert_int_equal(rn_cmd(h, &s, &c), REFNIC_STATUS_OK);
	assert_int_equal(c.result, sizeof(*caps));
	assert_int_equal(caps->version, REFNIC_VERSION);
	assert_int_equal(caps->num_funcs, 4);
	assert_int_equal(caps->queues[REFNIC_QT_EVENT].max_per_func, 1);

	memset(&s, 0, sizeof(s));
	s.opcode = REFNIC_OP_SET_MAC;
	memcpy(s.set_mac.mac, "\x02\x00\x00\x00\x00\x07", 6);
	assert_int_equal(rn_cmd(h, &s, NULL), REFNIC_STATUS_OK);
	memset(&s, 0, sizeof(s));
	s.opcode = REFNIC_OP_QUERY_MAC;
	assert_int_equal(rn_cmd(h, &s, &c), REFNIC_STATUS_OK);
	assert_int_equal(c.result, 0x070000000002ull);

	/* the function can be reset to a clean slate and used again */
	memset(&s, 0, sizeof(s));
	s.opcode = REFNIC_OP_RESET_FUNCTION;
	assert_int_equal(rn_cmd(h, &s, NULL), REFNIC_STATUS_OK);
	memset(&s, 0, sizeof(s));
	s.opcode = REFNIC_OP_CREATE_QUEUE;
	s.create_queue.type = REFNIC_QT_EVENT;
	s.create_queue.log_size = 4;
	s.create_queue.ring_iova = facet_core_dma_iova(h->buf) + 4096;
	assert_int_equal(rn_cmd(h, &s, &c), REFNIC_STATUS_OK);
}

static void check_guards(struct fuzz *f)
{
	for (size_t i = 0; i < GUARD; i++) {
		if (f->mem[i] != GUARD_B || f->mem[GUARD + ARENA + i] != GUARD_B)
			fail_msg("guard byte %zu written", i);
	}
}

static void test_fuzz(void **state)
{
	struct fuzz *f = *state;
	uint64_t count = env_u64("REFNIC_FUZZ_COUNT", 6000);
	uint64_t done = 0;
	struct refnic_stats st;

	while (done < count) {
		unsigned int n = 1 + (unsigned int)(rnd(f) % ((1u << LOG_SIZE) - 1));

		if (n > count - done)
			n = (unsigned int)(count - done);
		run_batch(f, n);
		done += n;
	}
	printf("# %llu commands: ok %u, bad opcode %u, invalid field %u, bad function %u, "
	       "bad queue %u, dma fault %u, no resources %u, internal %u, bad state %u\n",
	       (unsigned long long)done, f->status_seen[0], f->status_seen[1], f->status_seen[2],
	       f->status_seen[3], f->status_seen[4], f->status_seen[5], f->status_seen[6],
	       f->status_seen[7], f->status_seen[8]);
	/* every outcome the spec defines for bad input showed up */
	for (int s = REFNIC_STATUS_OK; s <= REFNIC_STATUS_NO_RESOURCES; s++)
		assert_true(f->status_seen[s] > 0);
	assert_int_equal(f->status_seen[REFNIC_STATUS_INTERNAL], 0);

	check_guards(f);
	check_alive(f);
	refnic_model_get_stats(f->h.m, &st, NULL, 0);
	assert_true(st.admin_cmds > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
