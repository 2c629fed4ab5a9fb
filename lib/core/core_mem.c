/* SPDX-License-Identifier: MIT */
/*
 * DMA-able memory: fd-backed (a memfd, so a vfio-user server can mmap the
 * same pages), hugepage-backed when the system has hugepages free, and
 * placed on a NUMA node before it is first touched.
 *
 * A hugetlb mmap reserves its pages at mmap time, so a shortage shows up as
 * a failed mmap (and we fall back to 4 KiB pages) rather than as SIGBUS on
 * first touch.
 */
#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core_private.h"

#define PAGE_4K 4096ul

static size_t hugepage_size(void)
{
	static size_t size;
	unsigned long kb;
	char line[128];
	FILE *f;

	if (size)
		return size;
	size = 2ul << 20;
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return size;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Hugepagesize: %lu kB", &kb) == 1) {
			size = kb << 10;
			break;
		}
	}
	fclose(f);
	return size;
}

static void place_on_node(void *va, size_t len, int node)
{
	if (node < 0 || numa_available() < 0 || node > numa_max_node())
		return;
	numa_tonode_memory(va, len, node);
}

static int map_memfd(size_t len, unsigned int flags, struct core_mem *mem)
{
	int fd = memfd_create("facet-dma", MFD_CLOEXEC | flags);
	void *va;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (va == MAP_FAILED) {
		int err = -errno;

		close(fd);
		return err;
	}
	mem->va = va;
	mem->len = len;
	mem->fd = fd;
	return 0;
}

int core_mem_alloc(size_t size, int numa_node, bool hugepages, struct core_mem *mem)
{
	size_t huge = hugepage_size();
	int ret = -ENOMEM;

	if (!size)
		return -EINVAL;
	if (hugepages) {
		ret = map_memfd((size + huge - 1) & ~(huge - 1), MFD_HUGETLB, mem);
		mem->page_size = huge;
	}
	if (ret < 0) {
		ret = map_memfd((size + PAGE_4K - 1) & ~(PAGE_4K - 1), 0, mem);
		mem->page_size = PAGE_4K;
	}
	if (ret < 0) {
		CORE_ERR("DMA memory: cannot allocate %zu bytes: %s", size, strerror(-ret));
		return ret;
	}
	place_on_node(mem->va, mem->len, numa_node);
	memset(mem->va, 0, mem->len); /* fault in now, on the chosen node */
	return 0;
}

void core_mem_free(struct core_mem *mem)
{
	if (!mem->va)
		return;
	munmap(mem->va, mem->len);
	close(mem->fd);
	mem->va = NULL;
}
