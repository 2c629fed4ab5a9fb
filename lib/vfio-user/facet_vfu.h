/* SPDX-License-Identifier: MIT */
/*
 * facet_vfu: the vfio-user wire protocol, shared by Facet's client (lib/core)
 * and server (facet_vfu_server.h).
 *
 * Layouts follow the vfio-user specification (QEMU docs/interop/vfio-user.rst).
 * All fields are in host byte order; every structure is packed by
 * construction (natural alignment, no holes) and its size is checked below.
 */
#ifndef FACET_VFU_H
#define FACET_VFU_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FACET_VFU_TAG "vfu"

/** Protocol version we speak. */
#define FACET_VFU_VERSION_MAJOR 0
#define FACET_VFU_VERSION_MINOR 1

/** Command ids. */
enum facet_vfu_cmd {
	FACET_VFU_CMD_VERSION = 1,
	FACET_VFU_CMD_DMA_MAP = 2,
	FACET_VFU_CMD_DMA_UNMAP = 3,
	FACET_VFU_CMD_DEVICE_GET_INFO = 4,
	FACET_VFU_CMD_DEVICE_GET_REGION_INFO = 5,
	FACET_VFU_CMD_DEVICE_GET_REGION_IO_FDS = 6,
	FACET_VFU_CMD_DEVICE_GET_IRQ_INFO = 7,
	FACET_VFU_CMD_DEVICE_SET_IRQS = 8,
	FACET_VFU_CMD_REGION_READ = 9,
	FACET_VFU_CMD_REGION_WRITE = 10,
	FACET_VFU_CMD_DMA_READ = 11,
	FACET_VFU_CMD_DMA_WRITE = 12,
	FACET_VFU_CMD_DEVICE_RESET = 13,
	FACET_VFU_CMD_REGION_WRITE_MULTI = 15,
	FACET_VFU_CMD_DEVICE_FEATURE = 16,
	FACET_VFU_CMD_MIG_DATA_READ = 17,
	FACET_VFU_CMD_MIG_DATA_WRITE = 18,
	FACET_VFU_CMD_MAX,
};

/** Header flags. */
#define FACET_VFU_F_TYPE_MASK	 0xfu
#define FACET_VFU_F_TYPE_COMMAND 0x0u
#define FACET_VFU_F_TYPE_REPLY	 0x1u
#define FACET_VFU_F_NO_REPLY	 (1u << 4)
#define FACET_VFU_F_ERROR	 (1u << 5)

struct facet_vfu_hdr {
	uint16_t msg_id;
	uint16_t cmd;
	uint32_t size; /* whole message, header included */
	uint32_t flags;
	uint32_t error; /* errno, in an error reply */
};

/* VERSION: followed by optional NUL-terminated JSON. */
struct facet_vfu_version {
	uint16_t major;
	uint16_t minor;
};

/* DMA_MAP */
#define FACET_VFU_DMA_F_READ  (1u << 0)
#define FACET_VFU_DMA_F_WRITE (1u << 1)
struct facet_vfu_dma_map {
	uint32_t argsz;
	uint32_t flags;
	uint64_t offset; /* in the fd */
	uint64_t addr;	 /* IOVA */
	uint64_t size;
};

/* DMA_UNMAP (the reply repeats the request). F_ALL: addr = size = 0, drop every map (QEMU). */
#define FACET_VFU_DMA_UNMAP_F_ALL (1u << 1)
struct facet_vfu_dma_unmap {
	uint32_t argsz;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
};

/* DEVICE_GET_INFO */
#define FACET_VFU_DEV_F_RESET (1u << 0)
#define FACET_VFU_DEV_F_PCI   (1u << 1)
struct facet_vfu_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
};

/* DEVICE_GET_REGION_INFO */
#define FACET_VFU_REG_F_READ  (1u << 0)
#define FACET_VFU_REG_F_WRITE (1u << 1)
#define FACET_VFU_REG_F_MMAP  (1u << 2)
#define FACET_VFU_REG_F_CAPS  (1u << 3)
struct facet_vfu_region_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t cap_offset; /* from the start of this structure */
	uint64_t size;
	uint64_t offset; /* mmap offset in the fd */
};

struct facet_vfu_cap_hdr {
	uint16_t id;
	uint16_t version;
	uint32_t next; /* from the start of the region info; 0 ends the list */
};

#define FACET_VFU_CAP_SPARSE_MMAP 1
struct facet_vfu_sparse_area {
	uint64_t offset; /* within the region */
	uint64_t size;
};
struct facet_vfu_cap_sparse_mmap {
	struct facet_vfu_cap_hdr hdr;
	uint32_t nr_areas;
	uint32_t reserved;
	struct facet_vfu_sparse_area areas[];
};

/*
 * DEVICE_GET_REGION_IO_FDS. Request: argsz (largest reply accepted), flags 0,
 * index, count 0. Reply: argsz (size needed), flags 0, index, count, then
 * count sub-regions; their fds travel as SCM_RIGHTS, fd_index into them.
 * A reply whose argsz exceeds the request's carries no sub-regions and no fds.
 */
struct facet_vfu_region_io_fds {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
};

#define FACET_VFU_IO_FD_TYPE_IOEVENTFD	0
#define FACET_VFU_IO_FD_TYPE_IOREGIONFD 1
#define FACET_VFU_IOEVENTFD_F_DATAMATCH (1u << 0) /* as KVM_IOEVENTFD_FLAG_DATAMATCH */
struct facet_vfu_sub_region_ioeventfd {
	uint64_t offset; /* within the region */
	uint64_t size;	 /* access width; 0: any */
	uint32_t fd_index;
	uint32_t type; /* FACET_VFU_IO_FD_TYPE_* */
	uint32_t flags;
	uint32_t padding;
	uint64_t datamatch;
};

/* DEVICE_GET_IRQ_INFO */
#define FACET_VFU_IRQ_INFO_EVENTFD    (1u << 0)
#define FACET_VFU_IRQ_INFO_MASKABLE   (1u << 1)
#define FACET_VFU_IRQ_INFO_AUTOMASKED (1u << 2)
#define FACET_VFU_IRQ_INFO_NORESIZE   (1u << 3)
struct facet_vfu_irq_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
};

/* DEVICE_SET_IRQS: followed by count bytes with DATA_BOOL. */
#define FACET_VFU_IRQ_SET_DATA_NONE	  (1u << 0)
#define FACET_VFU_IRQ_SET_DATA_BOOL	  (1u << 1)
#define FACET_VFU_IRQ_SET_DATA_EVENTFD	  (1u << 2)
#define FACET_VFU_IRQ_SET_ACTION_MASK	  (1u << 3)
#define FACET_VFU_IRQ_SET_ACTION_UNMASK	  (1u << 4)
#define FACET_VFU_IRQ_SET_ACTION_TRIGGER  (1u << 5)
#define FACET_VFU_IRQ_SET_DATA_MASK	  0x7u
#define FACET_VFU_IRQ_SET_ACTION_MASK_ALL 0x38u
struct facet_vfu_irq_set {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t start;
	uint32_t count;
};

/* REGION_READ / REGION_WRITE: followed by count bytes of data. */
struct facet_vfu_region_access {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
};

/*
 * DMA_READ / DMA_WRITE: followed by count bytes of data. The DMA_WRITE reply
 * is specified with a 32-bit count (12 bytes); readers accept 12 or more.
 */
struct facet_vfu_dma_access {
	uint64_t addr;
	uint64_t count;
};
#define FACET_VFU_DMA_WRITE_REPLY_MIN 12

static_assert(sizeof(struct facet_vfu_hdr) == 16, "vfio-user header");
static_assert(sizeof(struct facet_vfu_version) == 4, "VERSION");
static_assert(sizeof(struct facet_vfu_dma_map) == 32, "DMA_MAP");
static_assert(sizeof(struct facet_vfu_dma_unmap) == 24, "DMA_UNMAP");
static_assert(sizeof(struct facet_vfu_device_info) == 16, "DEVICE_GET_INFO");
static_assert(sizeof(struct facet_vfu_region_info) == 32, "GET_REGION_INFO");
static_assert(sizeof(struct facet_vfu_cap_hdr) == 8, "cap header");
static_assert(sizeof(struct facet_vfu_cap_sparse_mmap) == 16, "sparse mmap cap");
static_assert(sizeof(struct facet_vfu_sparse_area) == 16, "sparse area");
static_assert(sizeof(struct facet_vfu_region_io_fds) == 16, "GET_REGION_IO_FDS");
static_assert(sizeof(struct facet_vfu_sub_region_ioeventfd) == 40, "ioeventfd sub-region");
static_assert(sizeof(struct facet_vfu_irq_info) == 16, "GET_IRQ_INFO");
static_assert(sizeof(struct facet_vfu_irq_set) == 20, "SET_IRQS");
static_assert(sizeof(struct facet_vfu_region_access) == 16, "REGION_READ/WRITE");
static_assert(sizeof(struct facet_vfu_dma_access) == 16, "DMA_READ/WRITE");

/* ---- limits and capabilities -------------------------------------------- */

/** Defaults the spec gives for capabilities a peer leaves out. */
#define FACET_VFU_DEFAULT_MAX_MSG_FDS	     1u
#define FACET_VFU_DEFAULT_MAX_DATA_XFER_SIZE (1u << 20)
#define FACET_VFU_DEFAULT_MAX_DMA_MAPS	     65535u
#define FACET_VFU_DEFAULT_PGSIZES	     4096u

/** What we accept from a peer. */
#define FACET_VFU_MAX_MSG_FDS		16u
#define FACET_VFU_MAX_DATA_XFER_SIZE	(1u << 20)
/** Largest message we accept: a full data transfer plus headers and slack. */
#define FACET_VFU_MAX_MSG_SIZE		(FACET_VFU_MAX_DATA_XFER_SIZE + 4096u)
/** Bounds on what a peer may claim (beyond them the VERSION is rejected). */
#define FACET_VFU_CAP_MAX_MSG_FDS_LIMIT 253u /* SCM_MAX_FD */
#define FACET_VFU_CAP_MAX_XFER_LIMIT	(64u << 20)

/** Capabilities of one side (what it can receive / supports). */
struct facet_vfu_caps {
	uint32_t max_msg_fds;
	uint32_t max_data_xfer_size;
	uint32_t max_dma_maps;
	uint64_t pgsizes;
};

/** The spec's defaults for a peer that sent no capabilities. */
void facet_vfu_caps_default(struct facet_vfu_caps *caps);

/**
 * Build a VERSION payload (major, minor, JSON capabilities, NUL) in a
 * malloc()ed buffer. @with_dma_maps: include max_dma_maps and pgsizes (the
 * server's side). Returns 0 or -ENOMEM.
 */
int facet_vfu_version_encode(uint16_t major, uint16_t minor, const struct facet_vfu_caps *caps,
			     bool with_dma_maps, void **buf, size_t *len);

/**
 * Parse a VERSION payload. Missing capabilities take the spec's defaults.
 * Returns 0, or -EINVAL (logged) for a truncated payload, JSON that is not
 * NUL-terminated, malformed, not an object, or with a capability of the
 * wrong type or out of range.
 */
int facet_vfu_version_decode(const void *buf, size_t len, uint16_t *major, uint16_t *minor,
			     struct facet_vfu_caps *caps);

/** Name of a command, for logs ("REGION_READ"; "unknown" for others). */
const char *facet_vfu_cmd_name(unsigned int cmd);

#ifdef __cplusplus
}
#endif

#endif /* FACET_VFU_H */
