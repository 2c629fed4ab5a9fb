/* SPDX-License-Identifier: MIT */
/*
 * lib/rdma on its own: a fake RDMA slice driver in the test binds the
 * refnic.rdma slices of a real model process and registers facet_rdma
 * devices whose ops only count objects and whose datapath answers from
 * software. What is checked is the library's half: the registry, argument
 * checks, the parent/child rules, MR memory made reachable in the real DMA
 * space of the PCI device (malloc memory moved into the shadow file in
 * place, overlapping and neighbouring MRs, pages back to private memory),
 * and the tear-down of everything the application left when the slice is
 * unbound, with detached handles.
 *
 *   test_rdma_lib FACET_REFNIC_EXE PLUGIN_DIR
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "facet_bus_driver.h"
#include "facet_core_bus.h"
#include "facet_rdma_driver.h"
#include "teth.h"

static struct teth_env env;
static struct facet_rdma_dev *dev;
static char name[32];

/* ---- the fake driver ----------------------------------------------------------------- */

struct fake {
	struct facet_rdma_dev *fdev;
	struct facet_core_dev *pci;
	int objects; /* live on the "device" */
	uint32_t next;
	struct facet_rdma_mr_hw last_mr;
};

struct fake_q {
	struct fake *f;
	int posted;
};

static int f_query_device(void *priv, struct facet_rdma_dev_attr *a)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->driver, "fake");
	a->max_qp = a->max_cq = a->max_pd = a->max_mr = a->max_ah = 16;
	a->max_send_wr = a->max_recv_wr = a->max_qp_wr = 255;
	a->max_send_sge = a->max_recv_sge = 2;
	a->max_cqe = 1024;
	a->max_mr_size = 1ull << 32;
	a->phys_port_cnt = 1;
	return 0;
}

static int f_query_port(void *priv, struct facet_rdma_port_attr *a)
{
	a->state = FACET_RDMA_PORT_ACTIVE;
	a->gid_tbl_len = 4;
	return 0;
}

static int f_query_gid(void *priv, unsigned int index, union facet_rdma_gid *gid,
		       enum facet_rdma_gid_type *type)
{
	memset(gid, 0, sizeof(*gid));
	*type = FACET_RDMA_GID_TYPE_NONE;
	return 0;
}

static int f_set_gid(void *priv, unsigned int index, const union facet_rdma_gid *gid,
		     enum facet_rdma_gid_type type)
{
	return 0;
}

static int f_new(void *priv, uint32_t *id)
{
	struct fake *f = priv;

	f->objects++;
	*id = ++f->next;
	return 0;
}

static int f_del(void *priv, uint32_t id)
{
	((struct fake *)priv)->objects--;
	return 0;
}

static int f_mr_reg(void *priv, const struct facet_rdma_mr_hw *mr, uint32_t *lkey, uint32_t *rkey)
{
	struct fake *f = priv;

	f->last_mr = *mr;
	f_new(priv, lkey);
	*rkey = *lkey | 0x1000;
	return 0;
}

static int f_cq_create(void *priv, const struct facet_rdma_cq_hw *in,
		       struct facet_rdma_cq_hw_out *out)
{
	struct fake_q *q = calloc(1, sizeof(*q));

	q->f = priv;
	q->f->objects++;
	out->ctx = q;
	out->cqe = in->cqe;
	out->event_fd = -1;
	return 0;
}

static int f_q_destroy(void *priv, void *ctx)
{
	((struct fake *)priv)->objects--;
	free(ctx);
	return 0;
}

static int f_qp_create(void *priv, const struct facet_rdma_qp_hw *in,
		       struct facet_rdma_qp_hw_out *out)
{
	struct fake_q *q = calloc(1, sizeof(*q));

	q->f = priv;
	q->f->objects++;
	out->ctx = q;
	out->qpn = 2 + q->f->next++;
	out->cap = in->cap;
	return 0;
}

static int f_qp_modify(void *priv, void *qp, const struct facet_rdma_qp_attr *attr, uint32_t mask)
{
	return attr->qp_state == FACET_RDMA_QPS_SQD ? -EINVAL : 0;
}

static int f_qp_query(void *priv, void *qp, struct facet_rdma_qp_attr *attr)
{
	return 0;
}

static int f_ah_create(void *priv, uint32_t pdn, const struct facet_rdma_ah_attr *attr,
		       uint32_t *handle)
{
	/* The library resolved the MAC of a link-local GID. */
	if (attr->dmac[0] != 0x02 || attr->dmac[5] != 0x66 || attr->hop_limit != 64)
		return -EINVAL;
	return f_new(priv, handle);
}

static int f_post_send(void *ctx, struct facet_rdma_send_wr *wr, struct facet_rdma_send_wr **bad_wr)
{
	for (; wr; wr = wr->next)
		((struct fake_q *)ctx)->posted++;
	return 0;
}

static int f_post_recv(void *ctx, struct facet_rdma_recv_wr *wr, struct facet_rdma_recv_wr **bad_wr)
{
	return 0;
}

static int f_poll(void *ctx, int n, struct facet_rdma_wc *wc)
{
	return 0;
}

static int f_arm(void *ctx, bool solicited_only)
{
	return -EINVAL;
}

static const struct facet_rdma_ops fake_ops = {
	.query_device = f_query_device,
	.query_port = f_query_port,
	.query_gid = f_query_gid,
	.set_gid = f_set_gid,
	.pd_alloc = f_new,
	.pd_free = f_del,
	.mr_reg = f_mr_reg,
	.mr_dereg = f_del,
	.cq_create = f_cq_create,
	.cq_destroy = f_q_destroy,
	.qp_create = f_qp_create,
	.qp_modify = f_qp_modify,
	.qp_query = f_qp_query,
	.qp_destroy = f_q_destroy,
	.ah_create = f_ah_create,
	.ah_destroy = f_del,
	.post_send = f_post_send,
	.post_recv = f_post_recv,
	.cq_poll = f_poll,
	.cq_arm = f_arm,
};

static struct fake *the_fake;
static int fake_objects_at_remove = -1;

static int fake_probe(struct facet_bus_device *bdev, const struct facet_bus_device_id *id)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct facet_rdma_dev_info info = {
		.ops = &fake_ops,
		.priv = f,
		.dma_dev = facet_core_bus_device(facet_bus_device_parent(bdev)),
		.no_events_reason = "fake",
	};
	int ret;

	f->pci = info.dma_dev;
	ret = facet_rdma_dev_register(bdev, &info, &f->fdev);
	if (ret < 0) {
		free(f);
		return ret;
	}
	facet_bus_device_set_drvdata(bdev, f);
	if (!the_fake)
		the_fake = f;
	return 0;
}

static void fake_remove(struct facet_bus_device *bdev)
{
	struct fake *f = facet_bus_device_get_drvdata(bdev);

	facet_rdma_dev_unregister(f->fdev);
	if (f == the_fake) {
		fake_objects_at_remove = f->objects;
		the_fake = NULL;
	}
	free(f);
}

static const struct facet_bus_device_id fake_ids[] = { { .name = "refnic.rdma" }, { .name = "" } };

static const struct facet_bus_driver fake_driver = {
	.name = "fake_rdma",
	.id_table = fake_ids,
	.probe = fake_probe,
	.remove = fake_remove,
};

/* ---- set-up ----------------------------------------------------------------------------- */

static int group_setup(void **state)
{
	char spec[160];

	teth_env_start_open(&env, 0);
	assert_int_equal(facet_bus_driver_register(env.bus, &fake_driver), 0);
	snprintf(spec, sizeof(spec), "vfio-user:%s", env.sock[0]);
	assert_int_equal(facet_core_bus_open(env.bus, spec, NULL, &env.pci[0]), 0);
	snprintf(name, sizeof(name), "refnic.rdma.%u", facet_bus_device_id(env.pci[0]));
	dev = facet_rdma_dev_get(env.bus, name);
	assert_non_null(dev);
	assert_non_null(the_fake);
	return 0;
}

static int group_teardown(void **state)
{
	facet_rdma_dev_put(dev);
	assert_int_equal(facet_bus_driver_unregister(env.bus, &fake_driver), 0);
	teth_env_stop(&env);
	return 0;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_args(void **state)
{
	struct facet_rdma_dev_attr da;
	struct facet_rdma_pd *pd;
	struct facet_rdma_cq *cq;
	struct facet_rdma_qp *qp;
	struct facet_rdma_ah *ah;
	struct facet_rdma_comp_channel *ch;
	struct facet_rdma_qp_init_attr init = { .qp_type = FACET_RDMA_QPT_RC };
	struct facet_rdma_ah_attr aa = { 0 };
	struct facet_rdma_send_wr wr = { 0 }, *bad;
	struct facet_rdma_qp_attr qa = { .qp_state = FACET_RDMA_QPS_SQD };

	assert_int_equal(facet_rdma_query_device(dev, &da), 0);
	assert_string_equal(da.driver, "fake");
	assert_int_equal(facet_rdma_query_gid(dev, 1, 4, &aa.dgid, NULL), -EINVAL);
	assert_int_equal(facet_rdma_comp_channel_create(dev, &ch), -EOPNOTSUPP);
	assert_int_equal(facet_rdma_pd_alloc(dev, &pd), 0);
	assert_int_equal(
		facet_rdma_cq_create(dev, &(struct facet_rdma_cq_init){ .cqe = 2000 }, &cq),
		-EINVAL);
	assert_int_equal(facet_rdma_cq_create(dev, &(struct facet_rdma_cq_init){ .cqe = 8 }, &cq),
			 0);
	assert_int_equal(facet_rdma_req_notify_cq(cq, false), -EINVAL);
	assert_int_equal(facet_rdma_qp_create(pd, &init, &qp), -EINVAL); /* no CQs */
	init.send_cq = init.recv_cq = cq;
	init.cap.max_recv_wr = 256;
	assert_int_equal(facet_rdma_qp_create(pd, &init, &qp), -EINVAL); /* beyond 255 */
	init.cap.max_recv_wr = 255;
	assert_int_equal(facet_rdma_qp_create(pd, &init, &qp), 0);
	assert_int_equal(init.cap.max_send_sge, 1); /* 0 means 1 */
	wr.next = &(struct facet_rdma_send_wr){ 0 };
	assert_int_equal(facet_rdma_post_send(qp, &wr, &bad), 0);
	assert_int_equal(facet_rdma_qp_modify(qp, &qa, FACET_RDMA_QP_STATE), -EINVAL);
	assert_int_equal(facet_rdma_qp_state(qp), FACET_RDMA_QPS_RESET);
	qa.qp_state = FACET_RDMA_QPS_INIT;
	assert_int_equal(facet_rdma_qp_modify(qp, &qa, FACET_RDMA_QP_STATE), 0);
	assert_int_equal(facet_rdma_qp_state(qp), FACET_RDMA_QPS_INIT);

	/* AV resolution: no MAC for an unknown IPv4 GID; a link-local GID carries one */
	facet_rdma_gid_from_ipv4(&aa.dgid, 0x0a0000fe);
	assert_int_equal(facet_rdma_ah_create(pd, &aa, &ah), -EHOSTUNREACH);
	memset(&aa.dgid, 0, sizeof(aa.dgid));
	aa.dgid.raw[0] = 0xfe;
	aa.dgid.raw[1] = 0x80;
	memcpy(aa.dgid.raw + 8, (uint8_t[]){ 0x00, 0x11, 0x22, 0xff, 0xfe, 0x44, 0x55, 0x66 }, 8);
	assert_int_equal(facet_rdma_ah_create(pd, &aa, &ah), 0);

	assert_int_equal(facet_rdma_pd_free(pd), -EBUSY);
	assert_int_equal(facet_rdma_cq_destroy(cq), -EBUSY);
	assert_int_equal(facet_rdma_ah_destroy(ah), 0);
	assert_int_equal(facet_rdma_qp_destroy(qp), 0);
	assert_int_equal(facet_rdma_cq_destroy(cq), 0);
	assert_int_equal(facet_rdma_pd_free(pd), 0);
	assert_int_equal(the_fake->objects, 0);
}

static char kind_of(const void *p)
{
	unsigned long a = (unsigned long)p, s, e;
	char line[512], perms[5], kind = '?';
	FILE *f = fopen("/proc/self/maps", "re");

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && a >= s && a < e) {
			kind = perms[3];
			break;
		}
	}
	fclose(f);
	return kind;
}

static void test_mr_memory(void **state)
{
	struct facet_core_dev *pci = the_fake->pci;
	unsigned int maps = facet_core_dma_count(pci);
	struct facet_rdma_mr *m1, *m2, *m3, *m4;
	struct facet_rdma_pd *pd;
	uint8_t *a = malloc(10000), *b = malloc(100);
	struct facet_core_dma *dma;
	void *va;

	for (int i = 0; i < 10000; i++)
		a[i] = (uint8_t)i;
	memset(b, 7, 100);
	assert_int_equal(facet_rdma_pd_alloc(dev, &pd), 0);
	assert_int_equal(facet_rdma_mr_reg(pd, a, 10000, FACET_RDMA_ACCESS_LOCAL_WRITE, &m1), 0);
	/* The device got va and an IOVA at the same offset in the page */
	assert_int_equal(the_fake->last_mr.va, (uintptr_t)a);
	assert_int_equal(the_fake->last_mr.length, 10000);
	assert_int_equal(the_fake->last_mr.iova & 4095, (uintptr_t)a & 4095);
	assert_int_equal(kind_of(a + 5000), 's');
	assert_int_equal(facet_rdma_mr_reg(pd, a + 100, 50, 0, &m2), 0); /* inside m1 */
	assert_int_equal(facet_rdma_mr_reg(pd, b, 100, 0, &m3), 0);	 /* a neighbour */
	assert_int_equal(facet_core_dma_count(pci), maps + 3);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(a[i], (uint8_t)i);
	assert_int_equal(b[99], 7);
	assert_int_equal(facet_rdma_mr_dereg(m1), 0);
	/* m2 still covers the first page of a: shared; the rest went back */
	assert_int_equal(kind_of(a + 120), 's');
	a[120] = 99;
	assert_int_equal(facet_rdma_mr_dereg(m2), 0);
	assert_int_equal(facet_rdma_mr_dereg(m3), 0);
	assert_int_equal(kind_of(a + 5000), 'p');
	assert_int_equal(kind_of(a + 120), 'p');
	assert_int_equal(a[120], 99);
	for (int i = 0; i < 10000; i++) {
		if (i != 120)
			assert_int_equal(a[i], (uint8_t)i);
	}
	assert_int_equal(facet_core_dma_count(pci), maps);
	free(a);
	free(b);

	/* Facet DMA memory: shared and file-backed already, registered a second time */
	assert_int_equal(facet_core_dma_alloc(pci, 8192, NULL, &dma), 0);
	va = facet_core_dma_va(dma);
	memset(va, 3, 8192);
	assert_int_equal(facet_rdma_mr_reg(pd, va, 8192, FACET_RDMA_ACCESS_LOCAL_WRITE, &m4), 0);
	assert_int_equal(((uint8_t *)va)[8191], 3);
	assert_int_equal(facet_rdma_mr_dereg(m4), 0);
	facet_core_dma_free(dma);
	assert_int_equal(facet_rdma_pd_free(pd), 0);
}

static void test_unbind_detaches(void **state)
{
	struct facet_rdma_qp_init_attr init = { .qp_type = FACET_RDMA_QPT_UD };
	struct facet_rdma_send_wr wr = { 0 }, *bad = NULL;
	struct facet_core_dev *pci = the_fake->pci;
	unsigned int maps = facet_core_dma_count(pci);
	struct facet_rdma_pd *pd;
	struct facet_rdma_cq *cq;
	struct facet_rdma_qp *qp;
	struct facet_rdma_mr *mr;
	struct facet_rdma_wc wc;
	uint8_t *buf = malloc(5000);

	memset(buf, 0x42, 5000);
	assert_int_equal(facet_rdma_pd_alloc(dev, &pd), 0);
	assert_int_equal(facet_rdma_cq_create(dev, &(struct facet_rdma_cq_init){ .cqe = 8 }, &cq),
			 0);
	init.send_cq = init.recv_cq = cq;
	assert_int_equal(facet_rdma_qp_create(pd, &init, &qp), 0);
	assert_int_equal(facet_rdma_mr_reg(pd, buf, 5000, FACET_RDMA_ACCESS_LOCAL_WRITE, &mr), 0);
	assert_int_equal(facet_core_dma_count(pci), maps + 1);

	assert_int_equal(facet_bus_unbind(env.bus, name), 0);
	assert_int_equal(fake_objects_at_remove, 0); /* the library destroyed all four */
	assert_false(facet_rdma_dev_is_attached(dev));
	assert_int_equal(facet_core_dma_count(pci), maps);
	assert_int_equal(facet_rdma_post_send(qp, &wr, &bad), -ENODEV);
	assert_ptr_equal(bad, &wr);
	assert_int_equal(facet_rdma_poll_cq(cq, 1, &wc), -ENODEV);
	assert_int_equal(facet_rdma_pd_alloc(dev, &pd), -ENODEV);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf[i], 0x42);
	assert_int_equal(facet_rdma_mr_dereg(mr), 0);
	assert_int_equal(kind_of(buf + 4096), 'p');
	assert_int_equal(facet_rdma_qp_destroy(qp), 0);
	assert_int_equal(facet_rdma_cq_destroy(cq), 0);
	assert_int_equal(facet_rdma_pd_free(pd), 0);
	free(buf);

	/* Rebind: a new device of the same name */
	assert_int_equal(facet_bus_bind(env.bus, name, "fake_rdma"), 0);
	facet_rdma_dev_put(dev);
	dev = facet_rdma_dev_get(env.bus, name);
	assert_non_null(dev);
	assert_true(facet_rdma_dev_is_attached(dev));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_mr_memory),
		cmocka_unit_test(test_unbind_detaches),
	};

	teth_args(argc, argv);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
