/* SPDX-License-Identifier: MIT */
/*
 * Making application memory reachable by the device, for MRs.
 *
 * With vfio-user the device is another process: it can map our memory only
 * if the memory has a file behind it (the DMA map carries the fd); without
 * one every access is a DMA_READ/WRITE message. malloc() memory is private
 * anonymous memory, so we move it, in place, into a file:
 *
 * The shadow file is one memfd for the whole process in which page VA lives
 * at file offset VA. Converting a range copies its pages into the file at
 * their own offsets (pwrite) and maps the file over them with MAP_FIXED |
 * MAP_SHARED: addresses and contents stay. Because offsets are addresses,
 * any set of converted ranges is linear in the file, so overlapping and
 * adjacent MRs (two malloc blocks sharing a page) need no bookkeeping of
 * which conversion a page came from.
 *
 * Each registration then maps the range a second time (an alias, from the
 * same file) and registers the alias with facet_core: facet_core allows a
 * VA range to be registered once, and the device only cares about the
 * pages, so every MR gets its own alias and its own IOVA range.
 *
 * When the last MR over a page goes, the page is moved back into private
 * anonymous memory (mremap of a copy over it), so fork() and madvise()
 * behave as before, and its place in the file is punched out.
 *
 * Memory that is shared and file-backed already (facet DMA memory, a
 * hugetlbfs file, shared anonymous memory) is aliased with its own file:
 * through /proc/self/map_files when we may open it, else with
 * mremap(old_size = 0) and registered without an fd (slow DMA messages).
 *
 * One process-wide lock serializes all of this.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "facet_core.h"
#include "rdma_private.h"

#define PAGE	 4096ul
#define MAX_VMAS 64

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static int shadow_fd = -1;
static dev_t shadow_dev;
static ino_t shadow_ino;
static uint64_t shadow_size;
static LIST_HEAD(, rdma_mem) shadow_ranges = LIST_HEAD_INITIALIZER(shadow_ranges);

struct vma {
	uintptr_t start, end;
	uint64_t offset;
	char perms[5];
	bool shadow; /* a mapping of the shadow file */
	char path[96];
};

/* Mappings of the process that intersect [start, end), in order. */
static int read_vmas(uintptr_t start, uintptr_t end, struct vma *v, unsigned int max,
		     unsigned int *n)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	*n = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e, ino;
		unsigned long long off;
		unsigned int maj, min;
		char perms[5], path[256] = "";
		struct vma *x;
		size_t len;

		if (sscanf(line, "%lx-%lx %4s %llx %x:%x %lu %255s", &s, &e, perms, &off, &maj,
			   &min, &ino, path) < 7)
			continue;
		if (e <= start || s >= end)
			continue;
		if (*n == max) {
			fclose(f);
			return -E2BIG;
		}
		x = &v[(*n)++];
		x->start = s;
		x->end = e;
		x->offset = off;
		memcpy(x->perms, perms, sizeof(x->perms));
		/* Only the kind of mapping matters ("[stack]", "...huge..."): cut long paths. */
		len = strnlen(path, sizeof(x->path) - 1);
		memcpy(x->path, path, len);
		x->path[len] = '\0';
		x->shadow = shadow_fd >= 0 && ino == shadow_ino && makedev(maj, min) == shadow_dev;
	}
	fclose(f);
	return 0;
}

static int shadow_open(void)
{
	struct stat st;

	if (shadow_fd >= 0)
		return 0;
	shadow_fd = memfd_create("facet-rdma-mr", MFD_CLOEXEC);
	if (shadow_fd < 0) {
		int err = -errno;

		RDMA_ERR("MR memory: memfd_create: %s", strerror(-err));
		return err;
	}
	if (fstat(shadow_fd, &st) < 0) {
		int err = -errno;

		close(shadow_fd);
		shadow_fd = -1;
		return err;
	}
	shadow_dev = st.st_dev;
	shadow_ino = st.st_ino;
	return 0;
}

/* The file must reach @end: offsets are addresses. It never shrinks (mappings would SIGBUS). */
static int shadow_grow(uint64_t end)
{
	if (end <= shadow_size)
		return 0;
	if (ftruncate(shadow_fd, (off_t)end) < 0) {
		int err = -errno;

		RDMA_ERR("MR memory: cannot grow the shadow file to %#" PRIx64 ": %s", end,
			 strerror(-err));
		return err;
	}
	shadow_size = end;
	return 0;
}

/* Private memory we may move into the shadow file. */
static bool convertible(const struct vma *v)
{
	if (v->perms[0] != 'r' || v->perms[1] != 'w' || v->perms[3] != 'p')
		return false;
	/* The kernel's own mappings, and hugetlb pages (MAP_FIXED would split them). */
	return strcmp(v->path, "[stack]") && strcmp(v->path, "[vvar]") &&
	       strcmp(v->path, "[vdso]") && strcmp(v->path, "[vsyscall]") &&
	       !strstr(v->path, "huge");
}

/*
 * Move @len bytes between memory and the shadow file at @off, whole pages
 * that hold other objects too. Through the raw system calls: a sanitizer's
 * pread/pwrite (and memcpy) interceptors would report the neighbours'
 * redzones, which the kernel legitimately copies with them.
 */
static int shadow_copy(bool to_file, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		long n = syscall(to_file ? SYS_pwrite64 : SYS_pread64, shadow_fd,
				 (uint8_t *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Copy [s, e) into the file at its own offsets, then map the file over it. */
static int convert(uintptr_t s, uintptr_t e)
{
	size_t len = e - s;
	int err = shadow_copy(true, (void *)s, len, (off_t)s);
	void *va;

	if (err) {
		RDMA_ERR("MR memory: copying %#lx-%#lx into the shadow file: %s", (unsigned long)s,
			 (unsigned long)e, strerror(-err));
		return err;
	}
	va = mmap((void *)s, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, shadow_fd,
		  (off_t)s);
	if (va == MAP_FAILED) {
		err = -errno;
		/* The old mapping is still there when mmap fails before unmapping it. */
		RDMA_ERR("MR memory: mapping the shadow file over %#lx-%#lx: %s", (unsigned long)s,
			 (unsigned long)e, strerror(-err));
		return err;
	}
	return 0;
}

/* Move [s, e) back into private anonymous memory (its contents kept). */
static bool unconvert(uintptr_t s, uintptr_t e)
{
	size_t len = e - s;
	void *tmp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (tmp == MAP_FAILED) {
		RDMA_WARN("MR memory: %#lx-%#lx stays file-backed: %s", (unsigned long)s,
			  (unsigned long)e, strerror(errno));
		return false;
	}
	if (shadow_copy(false, tmp, len, (off_t)s)) {
		RDMA_WARN("MR memory: %#lx-%#lx stays file-backed: cannot read it back",
			  (unsigned long)s, (unsigned long)e);
		munmap(tmp, len);
		return false;
	}
	/* Replaces the shared pages atomically: the range is never unmapped. */
	if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)s) == MAP_FAILED) {
		RDMA_WARN("MR memory: %#lx-%#lx stays file-backed: %s", (unsigned long)s,
			  (unsigned long)e, strerror(errno));
		munmap(tmp, len);
		return false;
	}
	return true;
}

static int shadow_map(uintptr_t start, uintptr_t end, const struct vma *v, unsigned int n,
		      struct rdma_mem *mem)
{
	int ret = shadow_open();

	if (ret == 0)
		ret = shadow_grow(end);
	if (ret < 0)
		return ret;
	/* From here a failure has the caller move back what was converted (shadow_release). */
	mem->shadow = true;
	for (unsigned int i = 0; ret == 0 && i < n; i++) {
		uintptr_t s = v[i].start > start ? v[i].start : start;
		uintptr_t e = v[i].end < end ? v[i].end : end;

		if (v[i].shadow && v[i].offset == v[i].start)
			continue; /* converted for another MR */
		ret = convert(s, e);
	}
	if (ret < 0)
		return ret;
	mem->alias = mmap(NULL, end - start, PROT_READ | PROT_WRITE, MAP_SHARED, shadow_fd,
			  (off_t)start);
	if (mem->alias == MAP_FAILED) {
		ret = -errno;
		mem->alias = NULL;
		RDMA_ERR("MR memory: alias mapping of %zu bytes: %s", (size_t)(end - start),
			 strerror(-ret));
		return ret;
	}
	return 0;
}

/* Shared file-backed memory: a second mapping of the same pages. *@fd: its file, or -1. */
static int shared_alias(uintptr_t start, uintptr_t end, const struct vma *v, int *fd,
			uint64_t *offset, struct rdma_mem *mem)
{
	char path[64];
	void *va;

	*offset = v->offset + (start - v->start);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)v->start,
		 (unsigned long)v->end);
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd >= 0) {
		va = mmap(NULL, end - start, PROT_READ | PROT_WRITE, MAP_SHARED, *fd,
			  (off_t)*offset);
	} else {
		/* No fd for us (map_files needs privileges): same pages, registered without one. */
		RDMA_DEBUG("MR memory: %s: %s; registering without an fd", path, strerror(errno));
		va = mremap((void *)start, 0, end - start, MREMAP_MAYMOVE);
	}
	if (va == MAP_FAILED) {
		int err = -errno;

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		RDMA_ERR("MR memory: alias of shared memory %#lx-%#lx: %s", (unsigned long)start,
			 (unsigned long)end, strerror(-err));
		return err;
	}
	mem->alias = va;
	return 0;
}

static void shadow_release(struct rdma_mem *mem);

static int classify_and_alias(uintptr_t start, uintptr_t end, int *fd, uint64_t *offset,
			      struct rdma_mem *mem)
{
	struct vma v[MAX_VMAS];
	uintptr_t at = start;
	bool all_private = true;
	unsigned int n;
	int ret = read_vmas(start, end, v, MAX_VMAS, &n);

	if (ret < 0) {
		RDMA_ERR("MR memory: cannot read the process's mappings: %s", strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (v[i].start > at)
			break;
		at = v[i].end;
		if (!(v[i].shadow && v[i].offset == v[i].start) && !convertible(&v[i]))
			all_private = false;
	}
	if (at < end) {
		RDMA_ERR("MR memory: %#lx-%#lx is not all mapped", (unsigned long)start,
			 (unsigned long)end);
		return -EFAULT;
	}
	if (all_private) {
		*offset = start;
		ret = shadow_map(start, end, v, n, mem);
		*fd = shadow_fd;
		return ret;
	}
	if (n == 1 && v[0].perms[0] == 'r' && v[0].perms[3] == 's')
		return shared_alias(start, end, &v[0], fd, offset, mem);
	RDMA_ERR("MR memory: %#lx-%#lx spans mappings the device cannot share (%s %s%s): "
		 "register private memory (malloc, anonymous mmap) or one shared mapping",
		 (unsigned long)start, (unsigned long)end, v[0].perms, v[0].path,
		 n > 1 ? " and more" : "");
	return -EINVAL;
}

int rdma_mem_map(struct facet_core_dev *dma, void *addr, size_t len, uint32_t access,
		 struct rdma_mem *mem, uint64_t *iova)
{
	uintptr_t start = (uintptr_t)addr & ~(PAGE - 1);
	uintptr_t end = ((uintptr_t)addr + len + PAGE - 1) & ~(PAGE - 1);
	uint64_t offset = 0;
	int fd = -1, ret;

	memset(mem, 0, sizeof(*mem));
	if (end < start || !len)
		return -EINVAL;
	mem->start = start;
	mem->len = end - start;
	pthread_mutex_lock(&mem_lock);
	ret = classify_and_alias(start, end, &fd, &offset, mem);
	if (ret == 0) {
		ret = facet_core_dma_register(dma, mem->alias, mem->len, fd, offset, access,
					      &mem->iova);
		if (fd >= 0 && fd != shadow_fd)
			close(fd); /* the alias keeps the file; the transport took its own */
	}
	if (ret == 0) {
		mem->registered = true;
		if (mem->shadow)
			LIST_INSERT_HEAD(&shadow_ranges, mem, next);
	} else {
		if (mem->alias)
			munmap(mem->alias, mem->len);
		mem->alias = NULL;
		if (mem->shadow)
			shadow_release(mem); /* pages converted for this MR go back */
		mem->shadow = false;
	}
	pthread_mutex_unlock(&mem_lock);
	if (ret < 0)
		return ret;
	*iova = mem->iova + ((uintptr_t)addr - start);
	return 0;
}

void rdma_mem_unregister(struct facet_core_dev *dma, struct rdma_mem *mem)
{
	int ret;

	if (!mem->registered)
		return;
	ret = facet_core_dma_unregister(dma, mem->iova);
	if (ret < 0)
		RDMA_WARN("MR memory: unregistering IOVA %#" PRIx64 ": %s", mem->iova,
			  strerror(-ret));
	mem->registered = false;
}

/* Is [s, e) covered by another live shadow range? Lock held. */
static bool still_used(uintptr_t page, const struct rdma_mem *self)
{
	const struct rdma_mem *m;

	LIST_FOREACH(m, &shadow_ranges, next)
	{
		if (m != self && page >= m->start && page < m->start + m->len)
			return true;
	}
	return false;
}

/*
 * Pages of @mem no other MR covers: back into anonymous memory if the
 * application still maps them from the file, and out of the file.
 */
static void shadow_release(struct rdma_mem *mem)
{
	uintptr_t end = mem->start + mem->len;
	struct vma v[MAX_VMAS];
	unsigned int n = 0;

	if (read_vmas(mem->start, end, v, MAX_VMAS, &n) < 0)
		n = 0;
	for (uintptr_t s = mem->start; s < end;) {
		uintptr_t e = s;
		bool ok = true;

		while (e < end && still_used(e, mem))
			e += PAGE;
		s = e; /* [.., s) is used by others */
		while (e < end && !still_used(e, mem))
			e += PAGE;
		if (s == e)
			continue;
		for (unsigned int i = 0; i < n; i++) {
			uintptr_t a = v[i].start > s ? v[i].start : s;
			uintptr_t b = v[i].end < e ? v[i].end : e;

			if (a < b && v[i].shadow && v[i].offset == v[i].start)
				ok = unconvert(a, b) && ok;
		}
		/* Punch only what nobody maps any more: a failed move keeps its pages. */
		if (ok && fallocate(shadow_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)s,
				    (off_t)(e - s)) < 0)
			RDMA_DEBUG("MR memory: punching %#lx-%#lx: %s", (unsigned long)s,
				   (unsigned long)e, strerror(errno));
		s = e;
	}
}

void rdma_mem_unmap(struct facet_core_dev *dma, struct rdma_mem *mem)
{
	pthread_mutex_lock(&mem_lock);
	if (dma)
		rdma_mem_unregister(dma, mem);
	if (mem->alias) {
		munmap(mem->alias, mem->len);
		mem->alias = NULL;
	}
	if (mem->shadow) {
		LIST_REMOVE(mem, next);
		shadow_release(mem);
		mem->shadow = false;
	}
	pthread_mutex_unlock(&mem_lock);
}
