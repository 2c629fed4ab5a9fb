/* SPDX-License-Identifier: MIT */
/*
 * Read the match names a plugin declares from its ELF file, without loading
 * it: the id tables sit in FACET_BUS_IDS_SECTION as fixed-size records (see
 * struct facet_bus_device_id), so only the section headers need parsing.
 * The file is untrusted input: every offset and size is checked against the
 * file before it is followed.
 *
 * Before dlopen, the bus also checks that every loadable segment lies inside
 * the file: the dynamic loader maps a truncated file without complaint and
 * the process dies of SIGBUS when it touches the missing pages.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus_private.h"

struct elf_file {
	const uint8_t *data;
	size_t size;
};

/* Is [off, off + len) inside the file? Overflow-safe. */
static bool elf_in_bounds(const struct elf_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

static const Elf64_Shdr *elf_section_headers(const struct elf_file *f, const Elf64_Ehdr **ehdr)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f->data;

	if (f->size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return NULL;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shstrndx >= eh->e_shnum ||
	    !elf_in_bounds(f, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)) ||
	    eh->e_shoff % _Alignof(Elf64_Shdr) != 0)
		return NULL;
	*ehdr = eh;
	return (const Elf64_Shdr *)(f->data + eh->e_shoff);
}

static const Elf64_Shdr *elf_find_section(const struct elf_file *f, const char *wanted)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh = elf_section_headers(f, &eh);
	const Elf64_Shdr *strtab;
	size_t wanted_len = strlen(wanted) + 1;

	if (!sh)
		return NULL;
	strtab = &sh[eh->e_shstrndx];
	if (strtab->sh_type != SHT_STRTAB || !elf_in_bounds(f, strtab->sh_offset, strtab->sh_size))
		return NULL;
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_name >= strtab->sh_size ||
		    strtab->sh_size - sh[i].sh_name < wanted_len)
			continue;
		if (memcmp(f->data + strtab->sh_offset + sh[i].sh_name, wanted, wanted_len) == 0)
			return &sh[i];
	}
	return NULL;
}

static bool seen(char (*names)[FACET_BUS_MATCH_MAX], unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

/* Collect the distinct non-empty names of the records in @sec. */
static int elf_collect_ids(const struct elf_file *f, const Elf64_Shdr *sec,
			   char (**out)[FACET_BUS_MATCH_MAX], unsigned int *n_out)
{
	const size_t rec = sizeof(struct facet_bus_device_id);
	size_t n_recs = sec->sh_size / rec;
	char(*names)[FACET_BUS_MATCH_MAX];
	unsigned int n = 0;

	if (sec->sh_type != SHT_PROGBITS || sec->sh_size % rec != 0 ||
	    !elf_in_bounds(f, sec->sh_offset, sec->sh_size))
		return -ENOEXEC;
	names = calloc(n_recs ? n_recs : 1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < n_recs; i++) {
		const char *name = (const char *)f->data + sec->sh_offset + i * rec;

		if (!memchr(name, '\0', FACET_BUS_MATCH_MAX)) {
			free(names);
			return -ENOEXEC;
		}
		if (name[0] && !seen(names, n, name))
			strcpy(names[n++], name);
	}
	*out = names;
	*n_out = n;
	return 0;
}

static int elf_map(const char *path, struct elf_file *f)
{
	struct stat st;
	void *map;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return -ENOEXEC;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	f->data = map;
	f->size = st.st_size;
	return 0;
}

static void elf_unmap(struct elf_file *f)
{
	munmap((void *)f->data, f->size);
}

int bus_elf_read_ids(const char *path, char (**matches)[FACET_BUS_MATCH_MAX], unsigned int *n)
{
	const Elf64_Shdr *sec;
	struct elf_file f;
	int ret;

	*matches = NULL;
	*n = 0;
	ret = elf_map(path, &f);
	if (ret < 0)
		return ret;
	sec = elf_find_section(&f, FACET_BUS_IDS_SECTION);
	ret = sec ? elf_collect_ids(&f, sec, matches, n) : -ENOEXEC;
	elf_unmap(&f);
	return ret;
}

static bool elf_segments_in_file(const struct elf_file *f)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;

	if (!elf_section_headers(f, &eh) || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !elf_in_bounds(f, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)) ||
	    eh->e_phoff % _Alignof(Elf64_Phdr) != 0)
		return false;
	ph = (const Elf64_Phdr *)(f->data + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if ((ph[i].p_type == PT_LOAD || ph[i].p_type == PT_DYNAMIC) &&
		    !elf_in_bounds(f, ph[i].p_offset, ph[i].p_filesz))
			return false;
	}
	return true;
}

int bus_elf_check_loadable(const char *path)
{
	struct elf_file f;
	bool ok;
	int ret = elf_map(path, &f);

	if (ret < 0)
		return ret;
	ok = elf_segments_in_file(&f);
	elf_unmap(&f);
	return ok ? 0 : -ENOEXEC;
}
