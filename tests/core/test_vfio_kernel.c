/* SPDX-License-Identifier: MIT */
/*
 * Kernel VFIO transport: address parsing and every set-up error path.
 *
 * This machine has no VFIO, so the tests run facet_core_open() against a
 * FAKE sysfs and a FAKE /dev built in a temporary directory and passed in
 * FACET_SYSFS_ROOT / FACET_DEV_ROOT. The fake sysfs mimics the real layout:
 * devices under devices/pci0000:00, with bus/pci/devices links, driver and
 * iommu_group symlinks, and kernel/iommu_groups/N/devices links. No ioctl is
 * faked: where the transport would talk to a VFIO node, the fake node is a
 * regular file, so the ioctl fails (ENOTTY) as it would on a wrong node.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "facet_core.h"
#include "facet_log.h"

#define DEV_ADDR  "0000:03:00.0"
#define GROUP	  7
#define NOBODY_ID 65534

static char fake_root[256]; /* holds sys/ (the fake sysfs) and dev/ */

/* ---- log capture ------------------------------------------------------------ */

static char logbuf[16384];
static size_t loglen;

static void sink(enum facet_log_level level, const char *tag, const char *msg)
{
	int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "[%s] %s\n", tag, msg);

	if (n > 0)
		loglen = loglen + (size_t)n < sizeof(logbuf) ? loglen + (size_t)n
							     : sizeof(logbuf) - 1;
	if (getenv("FACET_TEST_VERBOSE")) /* to read the messages themselves */
		fprintf(stderr, "    log: [%s] %s\n", tag, msg);
}

static bool logged(const char *what)
{
	return strstr(logbuf, what) != NULL;
}

#define assert_logged(what)                                                                        \
	do {                                                                                       \
		if (!logged(what)) {                                                               \
			fprintf(stderr, "expected \"%s\" in the log:\n%s", what, logbuf);          \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

#define assert_not_logged(what)                                                                    \
	do {                                                                                       \
		if (logged(what)) {                                                                \
			fprintf(stderr, "did not expect \"%s\" in the log:\n%s", what, logbuf);    \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* ---- the fake sysfs and /dev ------------------------------------------------ */

static void fpath(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fpath(char *buf, const char *fmt, ...)
{
	char rel[PATH_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(buf, PATH_MAX, "%s/%s", fake_root, rel);
}

static void mkdirs(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", tmp, strerror(errno));
}

static void link_to(const char *target, const char *linkpath)
{
	if (symlink(target, linkpath) < 0)
		fail_msg("symlink %s -> %s: %s", linkpath, target, strerror(errno));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0)
		fail_msg("create %s: %s", path, strerror(errno));
	if (write(fd, text, strlen(text)) < 0)
		fail_msg("write %s: %s", path, strerror(errno));
	close(fd);
	chmod(path, mode); /* umask must not weaken the test */
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A PCI function in the fake sysfs: @driver NULL for none, @group < 0 for no
 * IOMMU group.
 */
static void fake_pci_dev(const char *addr, const char *driver, int group)
{
	char dir[PATH_MAX], p[PATH_MAX], t[PATH_MAX];

	fpath(dir, "sys/devices/pci0000:00/%s", addr);
	mkdirs(dir);
	fpath(p, "sys/devices/pci0000:00/%s/numa_node", addr);
	write_file(p, "0\n", 0644);
	fpath(p, "sys/bus/pci/devices/%s", addr);
	snprintf(t, sizeof(t), "../../../devices/pci0000:00/%s", addr);
	link_to(t, p);
	if (driver) {
		fpath(p, "sys/bus/pci/drivers/%s", driver);
		mkdirs(p);
		fpath(p, "sys/devices/pci0000:00/%s/driver", addr);
		snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s", driver);
		link_to(t, p);
	}
	if (group >= 0) {
		fpath(p, "sys/kernel/iommu_groups/%d/devices", group);
		mkdirs(p);
		fpath(p, "sys/devices/pci0000:00/%s/iommu_group", addr);
		snprintf(t, sizeof(t), "../../../kernel/iommu_groups/%d", group);
		link_to(t, p);
		fpath(p, "sys/kernel/iommu_groups/%d/devices/%s", group, addr);
		snprintf(t, sizeof(t), "../../../../devices/pci0000:00/%s", addr);
		link_to(t, p);
	}
}

/* A file where a /dev node would be: opens fine, answers no VFIO ioctl. */
static void fake_dev_node(const char *rel, mode_t mode)
{
	char p[PATH_MAX];

	fpath(p, "dev/%s", rel);
	write_file(p, "", mode);
}

/*
 * The vfio cdev of a device: sysfs vfio-dev/<name> with its "dev" attribute
 * (6.6+), and /dev/vfio/devices/<name>.
 */
static void fake_cdev(const char *addr, const char *name)
{
	char p[PATH_MAX];

	fpath(p, "sys/devices/pci0000:00/%s/vfio-dev/%s", addr, name);
	mkdirs(p);
	fpath(p, "sys/devices/pci0000:00/%s/vfio-dev/%s/dev", addr, name);
	write_file(p, "511:3\n", 0444);
	fpath(p, "dev/vfio/devices");
	mkdirs(p);
	fpath(p, "dev/vfio/devices/%s", name);
	write_file(p, "", 0666);
}

/* The usual good start: our device on vfio-pci, alone in group 7. */
static void fake_bound_device(void)
{
	fake_pci_dev(DEV_ADDR, "vfio-pci", GROUP);
}

static int setup(void **state)
{
	static const char *const dirs[] = { "sys/bus/pci/devices", "sys/bus/pci/drivers",
					    "sys/devices/pci0000:00", "sys/kernel/iommu_groups",
					    "dev/vfio" };
	char p[PATH_MAX];

	fpath(p, "sys");
	rm_tree(p);
	fpath(p, "dev");
	rm_tree(p);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		fpath(p, "%s", dirs[i]);
		mkdirs(p);
	}
	unsetenv("FACET_VFIO_BACKEND");
	loglen = 0;
	logbuf[0] = '\0';
	facet_log_set_sink(sink);
	return 0;
}

static int teardown(void **state)
{
	facet_log_set_sink(NULL);
	unsetenv("FACET_VFIO_BACKEND");
	return 0;
}

static int try_open(const char *name)
{
	struct facet_core_dev *dev = NULL;
	int ret = facet_core_open(name, NULL, &dev);

	if (ret == 0) {
		facet_core_close(dev);
		fail_msg("%s opened on a fake tree?", name);
	}
	assert_null(dev);
	return ret;
}

/* ---- addresses -------------------------------------------------------------- */

static void test_malformed_addresses(void **state)
{
	/* Made of hex digits, ':' and '.': the transport claims them and says why not. */
	static const char *const claimed[] = {
		"0000:03:00",	     "0000:03:00.8",  "0000:03:20.0",  "0000:003:00.0",
		"000:03:00.0",	     "0000:03.00.0",  "3:00.0",	       "03:0.0",
		"0000:03:00.",	     "0000:03:00.00", "0000:03:00.0:", "::.",
		"123456789:03:00.0", "0000:03:00:0",  "abc",
	};
	/* Not even shaped like an address: no transport takes them. */
	static const char *const foreign[] = { "",
					       "0000:03:00.0 ",
					       "0000:g3:00.0",
					       "+0000:03:00.0",
					       "0000:03:00.-1",
					       "pci:0000:03:00.0" };

	for (size_t i = 0; i < sizeof(claimed) / sizeof(claimed[0]); i++) {
		char want[96];

		loglen = 0;
		logbuf[0] = '\0';
		assert_int_equal(try_open(claimed[i]), -EINVAL);
		snprintf(want, sizeof(want), "%s: malformed PCI address", claimed[i]);
		assert_logged(want);
	}
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		assert_int_equal(try_open(foreign[i]), -EINVAL);
}

/* Valid forms reach sysfs under their canonical name (and fail: nothing is there). */
static void test_valid_addresses(void **state)
{
	static const char *const forms[][2] = {
		{ "0000:03:00.0", "0000:03:00.0" },   { "03:00.0", "0000:03:00.0" },
		{ "0000:0A:1F.7", "0000:0a:1f.7" },   { "0001:ff:1f.7", "0001:ff:1f.7" },
		{ "10000:00:01.0", "10000:00:01.0" },
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char want[96];

		loglen = 0;
		logbuf[0] = '\0';
		assert_int_equal(try_open(forms[i][0]), -ENODEV);
		snprintf(want, sizeof(want), "%s: no such PCI device", forms[i][1]);
		assert_logged(want);
		assert_logged("/bus/pci/devices/");
	}
}

/* An upper-case, domain-less name finds the device sysfs spells in lower case. */
static void test_short_form_finds_device(void **state)
{
	fake_pci_dev("0000:0a:1f.7", "vfio-pci", -1);
	assert_int_equal(try_open("0A:1F.7"), -ENXIO);
	assert_logged("0000:0a:1f.7: no IOMMU group");
}

/* ---- sysfs checks ------------------------------------------------------------ */

static void test_not_bound(void **state)
{
	fake_pci_dev(DEV_ADDR, NULL, GROUP);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged(DEV_ADDR ": not bound to any driver");
	assert_logged("vfio-pci > ");
	assert_logged("/bus/pci/devices/" DEV_ADDR "/driver_override");
	assert_logged("echo " DEV_ADDR " > ");
	assert_logged("/bus/pci/drivers_probe");
}

static void test_bound_to_other_driver(void **state)
{
	fake_pci_dev(DEV_ADDR, "e1000e", GROUP);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged(DEV_ADDR ": bound to driver e1000e, not vfio-pci");
	assert_logged("/bus/pci/devices/" DEV_ADDR "/driver_override");
	assert_logged("/bus/pci/devices/" DEV_ADDR "/driver/unbind");
	assert_logged("/bus/pci/drivers_probe");
}

static void test_no_iommu_group(void **state)
{
	fake_pci_dev(DEV_ADDR, "vfio-pci", -1);
	assert_int_equal(try_open(DEV_ADDR), -ENXIO);
	assert_logged(DEV_ADDR ": no IOMMU group");
	assert_logged("iommu_group is missing");
}

static void test_group_not_viable(void **state)
{
	fake_bound_device();
	fake_pci_dev("0000:00:1f.3", "snd_hda_intel", GROUP);
	fake_pci_dev("0000:00:1f.0", NULL, GROUP);
	fake_pci_dev("0000:00:1c.0", "pcieport", GROUP);
	fake_dev_node("vfio/vfio", 0666);
	assert_int_equal(try_open(DEV_ADDR), -EINVAL);
	assert_logged(DEV_ADDR ": IOMMU group 7 is not viable");
	assert_logged("0000:00:1f.3 (bound to snd_hda_intel)");
	assert_logged("0000:00:1f.0 (no driver)");
	assert_logged("0000:00:1c.0 (bound to pcieport)");
	/* The device itself is not one of "the others". */
	assert_not_logged(DEV_ADDR " (bound to vfio-pci)");
}

/* Drivers that leave a group viable let open go on to /dev. */
static void test_group_viable_with_harmless_members(void **state)
{
	fake_bound_device();
	fake_pci_dev("0000:00:1f.0", NULL, GROUP);
	fake_pci_dev("0000:00:1c.0", "pcieport", GROUP);
	fake_pci_dev("0000:03:00.1", "vfio-pci", GROUP);
	fake_pci_dev("0000:03:00.2", "pci-stub", GROUP);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_not_logged("not viable");
	assert_logged("vfio module not loaded");
}

/* ---- type1 container/group nodes -------------------------------------------- */

static void test_vfio_module_missing(void **state)
{
	fake_bound_device();
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged(DEV_ADDR ": ");
	assert_logged("/dev/vfio/vfio does not exist: vfio module not loaded");
}

static void test_group_node_missing(void **state)
{
	fake_bound_device();
	fake_dev_node("vfio/vfio", 0666);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged("/dev/vfio/7 does not exist");
	assert_logged("bound to vfio-pci");
}

static void test_container_not_vfio(void **state)
{
	fake_bound_device();
	fake_dev_node("vfio/vfio", 0666);
	fake_dev_node("vfio/7", 0666);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged("/dev/vfio/vfio is not a VFIO container");
}

/*
 * Open @DEV_ADDR as an unprivileged user (root ignores file modes): in a
 * child that drops to nobody when we are root. Returns what open returned,
 * with the child's log copied into ours.
 */
static int open_unprivileged(void)
{
	int pipefd[2], ret = 0, status;
	pid_t pid;

	if (geteuid() != 0)
		return try_open(DEV_ADDR);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		if (setgroups(0, NULL) || setgid(NOBODY_ID) || setuid(NOBODY_ID))
			_exit(2);
		ret = try_open(DEV_ADDR);
		if (write(pipefd[1], &ret, sizeof(ret)) < 0 ||
		    write(pipefd[1], logbuf, strlen(logbuf)) < 0)
			_exit(3);
		_exit(0); /* no atexit: the parent owns the fake tree */
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &ret, sizeof(ret)), (ssize_t)sizeof(ret));
	loglen = (size_t)read(pipefd[0], logbuf, sizeof(logbuf) - 1);
	logbuf[loglen] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return ret;
}

static void test_container_permission_denied(void **state)
{
	fake_bound_device();
	fake_dev_node("vfio/vfio", 0);
	assert_int_equal(open_unprivileged(), -EACCES);
	assert_logged("permission denied opening ");
	assert_logged("/dev/vfio/vfio");
	assert_logged("chown");
}

static void test_group_permission_denied(void **state)
{
	fake_bound_device();
	fake_dev_node("vfio/vfio", 0666);
	fake_dev_node("vfio/7", 0600);
	assert_int_equal(open_unprivileged(), -EACCES);
	assert_logged("permission denied opening ");
	assert_logged("/dev/vfio/7");
}

/* ---- back-end choice and iommufd nodes -------------------------------------- */

static void test_backend_env_invalid(void **state)
{
	fake_bound_device();
	setenv("FACET_VFIO_BACKEND", "vfio-noiommu", 1);
	assert_int_equal(try_open(DEV_ADDR), -EINVAL);
	assert_logged("FACET_VFIO_BACKEND=vfio-noiommu");
}

static void test_iommufd_forced_without_cdev(void **state)
{
	fake_bound_device();
	fake_dev_node("iommu", 0666);
	setenv("FACET_VFIO_BACKEND", "iommufd", 1);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged(DEV_ADDR ": FACET_VFIO_BACKEND=iommufd, but the device has no vfio cdev");
}

/*
 * Linux 6.1-6.5 list the vfio device under vfio-dev/ with no character
 * device (no "dev" attribute): that is not a cdev (seen in the VM test).
 */
static void test_iommufd_forced_vfio_dev_without_cdev(void **state)
{
	char p[PATH_MAX];

	fake_bound_device();
	fpath(p, "sys/devices/pci0000:00/%s/vfio-dev/vfio0", DEV_ADDR);
	mkdirs(p);
	fake_dev_node("iommu", 0666);
	setenv("FACET_VFIO_BACKEND", "iommufd", 1);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged(DEV_ADDR ": FACET_VFIO_BACKEND=iommufd, but the device has no vfio cdev");
	unsetenv("FACET_VFIO_BACKEND");
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_not_logged("falling back");
	assert_logged("vfio module not loaded");
}

static void test_iommufd_forced_no_dev_iommu(void **state)
{
	fake_bound_device();
	fake_cdev(DEV_ADDR, "vfio3");
	setenv("FACET_VFIO_BACKEND", "iommufd", 1);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged("/dev/iommu does not exist: iommufd is not available");
}

static void test_iommufd_forced_not_a_cdev(void **state)
{
	fake_bound_device();
	fake_cdev(DEV_ADDR, "vfio3");
	fake_dev_node("iommu", 0666);
	setenv("FACET_VFIO_BACKEND", "iommufd", 1);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged("/dev/vfio/devices/vfio3 is not a vfio device cdev");
	/* Forced: no fall-back to type1. */
	assert_not_logged("falling back");
	assert_not_logged("/dev/vfio/vfio");
}

static void test_iommufd_permission_denied(void **state)
{
	fake_bound_device();
	fake_cdev(DEV_ADDR, "vfio3");
	fake_dev_node("iommu", 0600);
	setenv("FACET_VFIO_BACKEND", "iommufd", 1);
	assert_int_equal(open_unprivileged(), -EACCES);
	assert_logged("permission denied opening ");
	assert_logged("/dev/iommu");
}

/* By default a failing iommufd set-up falls back to the type1 container. */
static void test_auto_falls_back_to_type1(void **state)
{
	fake_bound_device();
	fake_cdev(DEV_ADDR, "vfio3");
	fake_dev_node("iommu", 0666);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_logged("is not a vfio device cdev");
	assert_logged(DEV_ADDR ": iommufd set-up failed");
	assert_logged("falling back to the type1 container");
	assert_logged("vfio module not loaded");
}

/* Without /dev/iommu the default goes straight to type1. */
static void test_auto_without_iommufd_uses_type1(void **state)
{
	fake_bound_device();
	fake_cdev(DEV_ADDR, "vfio3");
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_not_logged("iommufd");
	assert_logged("vfio module not loaded");
}

static void test_type1_forced_ignores_cdev(void **state)
{
	fake_bound_device();
	fake_cdev(DEV_ADDR, "vfio3");
	fake_dev_node("iommu", 0666);
	setenv("FACET_VFIO_BACKEND", "type1", 1);
	assert_int_equal(try_open(DEV_ADDR), -ENODEV);
	assert_not_logged("vfio3");
	assert_logged("vfio module not loaded");
}

static void remove_fake_root(void)
{
	rm_tree(fake_root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_malformed_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_valid_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_form_finds_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_to_other_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_iommu_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_not_viable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_viable_with_harmless_members, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vfio_module_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_node_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_not_vfio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_permission_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_permission_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_env_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_forced_without_cdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_forced_no_dev_iommu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_forced_not_a_cdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_forced_vfio_dev_without_cdev, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_permission_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_falls_back_to_type1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_without_iommufd_uses_type1, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_type1_forced_ignores_cdev, setup, teardown),
	};
	char sys[300], dev[300];
	int ret;

	/* The transport reads both roots once, so they are set before any open. */
	snprintf(fake_root, sizeof(fake_root), "/tmp/facet-fake-sysfs-XXXXXX");
	if (!mkdtemp(fake_root)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(fake_root, 0755); /* the unprivileged child must get through */
	snprintf(sys, sizeof(sys), "%s/sys", fake_root);
	snprintf(dev, sizeof(dev), "%s/dev", fake_root);
	setenv("FACET_SYSFS_ROOT", sys, 1);
	setenv("FACET_DEV_ROOT", dev, 1);
	facet_log_configure("warn");
	ret = cmocka_run_group_tests_name("core_vfio_kernel", tests, NULL, NULL);
	remove_fake_root();
	return ret;
}
