/* SPDX-License-Identifier: MIT */
/*
 * lib/core over kernel VFIO, against QEMU's edu device behind an emulated
 * intel-iommu, run inside the guest by tests/vm/init.sh. Public API only
 * (facet_core.h); the little sysfs writing done here is test set-up, the
 * same an administrator would do.
 *
 *   vfio_edu_test EDU PAIR_VFIO PAIR_OTHER PCIEPORT NODRIVER TRANSPORT
 *
 * EDU         an edu bound to vfio-pci, alone in its IOMMU group
 * PAIR_VFIO   an edu bound to vfio-pci, sharing its group (same multifunction
 *             slot, no ACS) with PAIR_OTHER, an edu bound to uio_pci_generic
 * PCIEPORT    a PCIe root port (bound to the built-in pcieport driver)
 * NODRIVER    a device bound to no driver
 * TRANSPORT   what facet_core_info() must report ("vfio-type1")
 *
 * Prints one line per check and "vfio_edu_test: PASS" or "...: FAIL (n)";
 * the exit status is 0 only on PASS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "edu.h"
#include "facet_core.h"
#include "facet_log.h"

static int failures;
static char last_err[1024];

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			printf("  ok    ");                                                        \
		} else {                                                                           \
			printf("  FAIL  %s:%d: (%s) ", __FILE__, __LINE__, #cond);                 \
			failures++;                                                                \
		}                                                                                  \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
	} while (0)

/* Every lib/core message goes to the console; the last error is kept for checks. */
static void sink(enum facet_log_level level, const char *tag, const char *msg)
{
	printf("        log[%s] %s: %s\n", tag, facet_log_level_name(level), msg);
	if (level == FACET_LOG_ERR)
		snprintf(last_err, sizeof(last_err), "%s", msg);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != v)
			return false;
	}
	return true;
}

static void fill_pattern(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

/* /dev/kmsg positioned at its end, to see what the kernel logs from now on. */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Wait up to @ms for a kernel message containing both @a and @b; print it. */
static bool kmsg_wait_for(int fd, const char *a, const char *b, unsigned int ms)
{
	uint64_t deadline = now_ms() + ms;
	char rec[2048];

	if (fd < 0)
		return false;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);

		if (n > 0) {
			char *msg = strchr(rec, ';');

			rec[n] = '\0';
			msg = msg ? msg + 1 : rec;
			if (strstr(msg, a) && strstr(msg, b)) {
				printf("        kernel: %s", msg);
				return true;
			}
			continue;
		}
		if (n < 0 && errno == EPIPE) /* overwritten records: go on reading */
			continue;
		if (now_ms() > deadline)
			return false;
		usleep(10000);
	}
}

/* Open expecting failure @want; the message lib/core logged must contain @needle. */
static void expect_open_fails(const char *addr, int want, const char *needle, const char *what)
{
	struct facet_core_dev *dev = NULL;
	int ret;

	last_err[0] = '\0';
	ret = facet_core_open(addr, NULL, &dev);
	printf("        facet_core_open(%s) = %d (%s)\n", addr, ret, ret ? strerror(-ret) : "ok");
	CHECK(ret == want, "%s: %s -> %s (errno %d), expected %s", what, addr,
	      ret ? strerror(-ret) : "success", -ret, strerror(want < 0 ? -want : want));
	CHECK(!needle || strstr(last_err, needle), "%s: the error message names \"%s\"", what,
	      needle ? needle : "");
	if (ret == 0)
		facet_core_close(dev);
}

static void test_identity(struct facet_core_dev *dev, const char *transport)
{
	const struct facet_core_info *info = facet_core_info(dev);
	uint16_t ids[2] = { 0, 0 };
	unsigned int n = 0;

	printf("identity: %s %04x:%04x class %06x rev %u over %s, %u regions, %u irq types\n",
	       info->name, info->vendor_id, info->device_id, info->class_code, info->revision,
	       info->transport, info->num_regions, info->num_irq_types);
	CHECK(info->vendor_id == EDU_VENDOR_ID && info->device_id == EDU_DEVICE_ID,
	      "facet_core_info: ids %04x:%04x", info->vendor_id, info->device_id);
	CHECK(facet_core_cfg_read(dev, 0, ids, sizeof(ids)) == 0 && ids[0] == EDU_VENDOR_ID &&
		      ids[1] == EDU_DEVICE_ID,
	      "config space read: %04x:%04x", ids[0], ids[1]);
	CHECK(!strcmp(info->transport, transport), "transport is %s (expected %s)", info->transport,
	      transport);
	CHECK(info->class_code == 0x00ff00, "class code 0x%06x (edu: 0x00ff00)", info->class_code);
	CHECK(facet_core_irq_count(dev, FACET_CORE_IRQ_MSI, &n) == 0 && n >= 1, "MSI vectors: %u",
	      n);
}

static void test_bar(struct edu *edu, struct facet_core_dev *dev)
{
	uint16_t cmd = 0;
	uint32_t v = 0;
	int ret = edu_attach(edu, dev);

	CHECK(ret == 0, "facet_core_bar_map(BAR0) and id register 0x%08x",
	      ret ? 0 : edu_read32(edu, 0));
	if (ret)
		return;
	edu_write32(edu, EDU_REG_LIVE, 0x12345678);
	CHECK(edu_read32(edu, EDU_REG_LIVE) == ~0x12345678u,
	      "liveness: wrote 0x12345678, read 0x%08x", edu_read32(edu, EDU_REG_LIVE));
	/* The same register through the transport path (facet_core_read32). */
	edu_write32(edu, EDU_REG_LIVE, 0xa5a50f0f);
	CHECK(facet_core_read32(dev, FACET_CORE_BAR0, EDU_REG_LIVE, &v) == 0 && v == ~0xa5a50f0fu,
	      "liveness via facet_core_read32: 0x%08x", v);
	CHECK(facet_core_set_bus_master(dev, true) == 0 &&
		      facet_core_cfg_read(dev, 4, &cmd, sizeof(cmd)) == 0 && (cmd & 0x4),
	      "bus master enabled (command register 0x%04x)", cmd);
}

#define XFER 4000u /* <= 4095 and away from the buffer's last byte (QEMU 7.2) */

static void test_dma(struct edu *edu, struct facet_core_dev *dev)
{
	struct facet_core_dma *src = NULL, *dst = NULL;
	uint8_t *s, *d;
	int ret;

	ret = facet_core_dma_alloc(dev, 8192, NULL, &src);
	CHECK(ret == 0, "facet_core_dma_alloc(8 KiB) for the source: %d", ret);
	ret = facet_core_dma_alloc(dev, 8192, NULL, &dst);
	CHECK(ret == 0, "facet_core_dma_alloc(8 KiB) for the destination: %d", ret);
	if (!src || !dst)
		goto out;
	printf("        source IOVA 0x%llx, destination IOVA 0x%llx\n",
	       (unsigned long long)facet_core_dma_iova(src),
	       (unsigned long long)facet_core_dma_iova(dst));
	CHECK(facet_core_dma_iova(src) + facet_core_dma_size(src) - 1 <= EDU_DMA_MASK &&
		      facet_core_dma_iova(dst) + facet_core_dma_size(dst) - 1 <= EDU_DMA_MASK,
	      "both IOVAs lie below 256 MiB (edu's 28-bit DMA mask)");
	CHECK(facet_core_dma_iova(src) >= (1u << 20), "IOVAs start at 1 MiB or above");
	s = facet_core_dma_va(src);
	d = facet_core_dma_va(dst);
	fill_pattern(s, 8192, 3);
	memset(d, 0xee, 8192);

	ret = edu_dma(edu, facet_core_dma_iova(src) + 100, 0, XFER, false, false, 2000);
	CHECK(ret == 0, "DMA RAM -> edu buffer, %u bytes from IOVA+100: %d", XFER, ret);
	ret = edu_dma(edu, facet_core_dma_iova(dst) + 50, 0, XFER, true, false, 2000);
	CHECK(ret == 0, "DMA edu buffer -> RAM, %u bytes to IOVA+50: %d", XFER, ret);
	CHECK(!memcmp(d + 50, s + 100, XFER), "the %u bytes arrived intact (RAM -> device -> RAM)",
	      XFER);
	CHECK(all_bytes(d, 50, 0xee) && all_bytes(d + 50 + XFER, 8192 - 50 - XFER, 0xee),
	      "nothing written around them");
out:
	facet_core_dma_free(src);
	facet_core_dma_free(dst);
	CHECK(facet_core_dma_count(dev) == 0, "no DMA mappings left after facet_core_dma_free");
}

/*
 * After an unmap, DMA to the IOVA must not reach memory. Two ways:
 * 1. facet_core_dma_register() memory this test owns, DMA into it (lands),
 *    facet_core_dma_unregister(), DMA again with other data: the memory,
 *    which the test still holds, keeps the first data, and the kernel logs
 *    a DMAR fault for the device.
 * 2. facet_core_dma_alloc() two buffers, free one, DMA into the freed IOVA:
 *    edu reports completion, the other buffer (mapped right next to it) is
 *    untouched.
 */
static void test_unmapped_dma(struct edu *edu, struct facet_core_dev *dev)
{
	struct facet_core_dma *keep = NULL, *gone = NULL, *src = NULL;
	uint64_t iova = 0, gone_iova;
	char fault[64];
	uint8_t *mem, *k;
	int kmsg, ret;

	ret = facet_core_dma_alloc(dev, 4096, NULL, &src);
	CHECK(ret == 0, "facet_core_dma_alloc (source): %d", ret);
	if (ret)
		return;
	/* Fill edu's buffer with pattern A (seed 11). */
	fill_pattern(facet_core_dma_va(src), 4096, 11);
	CHECK(edu_dma(edu, facet_core_dma_iova(src), 0, XFER, false, false, 2000) == 0,
	      "edu buffer loaded with pattern A");

	mem = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED, "mmap 8 KiB of the test's own memory");
	if (mem == MAP_FAILED)
		goto out;
	memset(mem, 0x5a, 8192);
	ret = facet_core_dma_register(dev, mem, 8192, -1, 0, FACET_CORE_DMA_RW, &iova);
	CHECK(ret == 0, "facet_core_dma_register: IOVA 0x%llx", (unsigned long long)iova);
	if (ret)
		goto out_mem;
	CHECK(edu_dma(edu, iova + 64, 0, XFER, true, false, 2000) == 0 &&
		      !memcmp(mem + 64, facet_core_dma_va(src), XFER),
	      "DMA into the registered memory lands");
	CHECK(facet_core_dma_unregister(dev, iova) == 0, "facet_core_dma_unregister");
	CHECK(facet_core_dma_unregister(dev, iova) == -ENOENT, "a second unregister: -ENOENT");

	/* Pattern B into edu's buffer, then aim it at the unmapped IOVA. */
	fill_pattern(facet_core_dma_va(src), 4096, 99);
	CHECK(edu_dma(edu, facet_core_dma_iova(src), 0, XFER, false, false, 2000) == 0,
	      "edu buffer loaded with pattern B");
	kmsg = kmsg_open_at_end();
	ret = edu_dma(edu, iova + 64, 0, XFER, true, false, 2000);
	CHECK(ret == 0, "DMA to the unregistered IOVA 0x%llx completes on the device side: %d",
	      (unsigned long long)iova + 64, ret);
	fill_pattern(facet_core_dma_va(src), 4096, 11);
	CHECK(!memcmp(mem + 64, facet_core_dma_va(src), XFER) && all_bytes(mem, 64, 0x5a) &&
		      all_bytes(mem + 64 + XFER, 8192 - 64 - XFER, 0x5a),
	      "...but the memory still holds pattern A: the IOMMU dropped the write");
	/* "DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x101000 ..." */
	snprintf(fault, sizeof(fault), "fault addr 0x%llx", (unsigned long long)iova);
	CHECK(kmsg_wait_for(kmsg, "DMA Write", fault, 2000),
	      "the kernel logged a DMAR fault (%s) for the blocked write", fault);
	if (kmsg >= 0)
		close(kmsg);

	/* 2: allocations. */
	ret = facet_core_dma_alloc(dev, 4096, NULL, &gone);
	if (ret == 0)
		ret = facet_core_dma_alloc(dev, 4096, NULL, &keep);
	CHECK(ret == 0, "two more facet_core_dma_alloc");
	if (ret)
		goto out_mem;
	k = facet_core_dma_va(keep);
	memset(k, 0x77, 4096);
	gone_iova = facet_core_dma_iova(gone);
	printf("        freed buffer IOVA 0x%llx, kept buffer IOVA 0x%llx\n",
	       (unsigned long long)gone_iova, (unsigned long long)facet_core_dma_iova(keep));
	facet_core_dma_free(gone);
	gone = NULL;
	ret = edu_dma(edu, gone_iova, 0, XFER, true, false, 2000);
	CHECK(ret == 0, "DMA to the freed IOVA completes on the device side: %d", ret);
	CHECK(all_bytes(k, 4096, 0x77), "the kept buffer next to it is untouched");
	/* And a mapped one still works after all that (edu's buffer holds pattern B). */
	fill_pattern(facet_core_dma_va(src), 4096, 99);
	ret = edu_dma(edu, facet_core_dma_iova(keep) + 8, 0, XFER, true, false, 2000);
	CHECK(ret == 0 && !memcmp(k + 8, facet_core_dma_va(src), XFER) && all_bytes(k, 8, 0x77),
	      "DMA into the kept buffer still lands");
	facet_core_dma_free(keep);
out_mem:
	munmap(mem, 8192);
out:
	facet_core_dma_free(src);
}

static void test_msi(struct edu *edu, struct facet_core_dev *dev)
{
	struct facet_core_dma *buf = NULL;
	struct pollfd pfd;
	uint64_t count = 0;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint32_t st;
	int ret;

	CHECK(efd >= 0, "eventfd");
	ret = facet_core_irq_enable(dev, FACET_CORE_IRQ_MSI, 0, 1, &efd);
	CHECK(ret == 0, "facet_core_irq_enable(MSI, 0, 1): %d", ret);
	if (ret)
		goto out;
	ret = facet_core_dma_alloc(dev, 4096, NULL, &buf);
	CHECK(ret == 0, "facet_core_dma_alloc");
	if (ret)
		goto out;
	ret = edu_dma(edu, facet_core_dma_iova(buf), 0, 1000, true, true, 2000);
	CHECK(ret == 0, "DMA with the raise-irq bit: %d", ret);
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	ret = poll(&pfd, 1, 2000);
	CHECK(ret == 1 && read(efd, &count, sizeof(count)) == sizeof(count) && count >= 1,
	      "MSI arrived on the eventfd (poll %d, count %llu)", ret, (unsigned long long)count);
	st = edu_read32(edu, EDU_REG_IRQ_STAT);
	CHECK(st & EDU_IRQ_DMA, "edu irq status 0x%x has the DMA-done bit 0x100", st);
	edu_write32(edu, EDU_REG_IRQ_ACK, st);
	st = edu_read32(edu, EDU_REG_IRQ_STAT);
	CHECK(st == 0, "acked: irq status now 0x%x", st);
	/* A second interrupt, raised by hand through 0x60. */
	edu_write32(edu, EDU_REG_IRQ_RAISE, 0x1);
	ret = poll(&pfd, 1, 2000);
	CHECK(ret == 1 && read(efd, &count, sizeof(count)) == sizeof(count),
	      "a second MSI (irq raise register) arrived (poll %d)", ret);
	edu_write32(edu, EDU_REG_IRQ_ACK, edu_read32(edu, EDU_REG_IRQ_STAT));
	CHECK(facet_core_irq_disable(dev, FACET_CORE_IRQ_MSI) == 0, "facet_core_irq_disable(MSI)");
	edu_write32(edu, EDU_REG_IRQ_RAISE, 0x1);
	CHECK(poll(&pfd, 1, 300) == 0, "no event after disabling MSI");
	edu_write32(edu, EDU_REG_IRQ_ACK, edu_read32(edu, EDU_REG_IRQ_STAT));
out:
	facet_core_dma_free(buf);
	if (efd >= 0)
		close(efd);
}

static void test_group(const char *pair_vfio, const char *pair_other)
{
	char path[256];
	struct facet_core_dev *a = NULL, *b = NULL;
	int ret;

	printf("IOMMU group with two devices: %s (vfio-pci) and %s (uio_pci_generic)\n", pair_vfio,
	       pair_other);
	expect_open_fails(pair_vfio, -EINVAL, "uio_pci_generic", "group not viable");
	CHECK(strstr(last_err, pair_other) != NULL, "the message names the other device %s",
	      pair_other);

	/* Hand the other device to vfio-pci too: the group becomes viable. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", pair_other);
	ret = sysfs_write(path, pair_other);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", pair_other);
	if (ret == 0)
		ret = sysfs_write(path, "vfio-pci");
	if (ret == 0)
		ret = sysfs_write("/sys/bus/pci/drivers_probe", pair_other);
	CHECK(ret == 0, "set-up: %s rebound to vfio-pci (%d)", pair_other, ret);
	ret = facet_core_open(pair_vfio, NULL, &a);
	CHECK(ret == 0, "now the group is viable: facet_core_open(%s) = %d", pair_vfio, ret);
	if (ret == 0) {
		/* Each device gets its own container: the second of a group is refused. */
		last_err[0] = '\0';
		ret = facet_core_open(pair_other, NULL, &b);
		printf("        facet_core_open(%s) = %d (%s)\n", pair_other, ret, strerror(-ret));
		CHECK(ret == -EBUSY, "second device of the same group in one process: -EBUSY");
		if (ret == 0)
			facet_core_close(b);
		facet_core_close(a);
		ret = facet_core_open(pair_other, NULL, &b);
		CHECK(ret == 0, "after closing the first, the second opens: %d", ret);
		if (ret == 0)
			facet_core_close(b);
	}
}

int main(int argc, char **argv)
{
	struct facet_core_dev *dev = NULL;
	struct edu edu;
	uint64_t t0 = now_ms();
	int ret;

	if (argc != 7) {
		fprintf(stderr, "usage: %s EDU PAIR_VFIO PAIR_OTHER PCIEPORT NODRIVER TRANSPORT\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	facet_log_set_sink(sink);
	if (!getenv("FACET_LOG"))
		facet_log_configure("info");
	printf("vfio_edu_test: edu %s, group pair %s/%s, root port %s, unbound %s, backend %s\n",
	       argv[1], argv[2], argv[3], argv[4], argv[5],
	       getenv("FACET_VFIO_BACKEND") ? getenv("FACET_VFIO_BACKEND") : "auto");

	printf("negative paths\n");
	expect_open_fails("0000:00:1e.7", -ENODEV, "no such PCI device", "nonexistent device");
	expect_open_fails(argv[4], -ENODEV, "pcieport", "device bound to another driver");
	expect_open_fails(argv[5], -ENODEV, "not bound to any driver", "device bound to no driver");
	expect_open_fails("0000:00:3.0.1", -EINVAL, "malformed", "malformed address");

	printf("open %s\n", argv[1]);
	ret = facet_core_open(argv[1], NULL, &dev);
	CHECK(ret == 0, "facet_core_open(%s): %d", argv[1], ret);
	if (ret)
		goto done;
	test_identity(dev, argv[6]);
	printf("BAR0\n");
	test_bar(&edu, dev);
	if (!edu.bar0)
		goto close;
	printf("DMA\n");
	test_dma(&edu, dev);
	printf("DMA after unmap\n");
	test_unmapped_dma(&edu, dev);
	printf("MSI\n");
	test_msi(&edu, dev);
close:
	printf("close and reopen\n");
	facet_core_close(dev);
	dev = NULL;
	ret = facet_core_open(argv[1], NULL, &dev);
	CHECK(ret == 0, "reopen: %d", ret);
	if (ret == 0) {
		struct facet_core_dma *buf = NULL;

		CHECK(edu_attach(&edu, dev) == 0, "BAR0 mapped again, id register right");
		CHECK(facet_core_set_bus_master(dev, true) == 0, "bus master");
		ret = facet_core_dma_alloc(dev, 4096, NULL, &buf);
		if (ret == 0) {
			uint8_t want[1000];

			/* edu's buffer still holds pattern B (seed 99) from before the close. */
			fill_pattern(want, sizeof(want), 99);
			ret = edu_dma(&edu, facet_core_dma_iova(buf), 0, 1000, true, false, 2000);
			CHECK(ret == 0 && !memcmp(facet_core_dma_va(buf), want, sizeof(want)),
			      "DMA works after reopen");
			/* Left allocated on purpose: close must unmap and free it. */
			CHECK(facet_core_dma_count(dev) == 1, "one mapping held at close");
		}
		facet_core_close(dev);
	}
	printf("IOMMU groups\n");
	test_group(argv[2], argv[3]);
	if (!strcmp(argv[6], "vfio-type1") && access("/dev/iommu", F_OK) != 0) {
		printf("iommufd forced on a kernel without it\n");
		setenv("FACET_VFIO_BACKEND", "iommufd", 1);
		expect_open_fails(argv[1], -ENODEV, "no vfio cdev", "FACET_VFIO_BACKEND=iommufd");
		unsetenv("FACET_VFIO_BACKEND");
	}
done:
	printf("vfio_edu_test: %s", failures ? "FAIL" : "PASS");
	if (failures)
		printf(" (%d checks failed)", failures);
	printf(" in %llu ms\n", (unsigned long long)(now_ms() - t0));
	return failures ? 1 : 0;
}
