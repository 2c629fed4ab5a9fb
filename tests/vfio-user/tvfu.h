/* SPDX-License-Identifier: MIT */
/*
 * Shared by the vfio-user tests: a small PCI device served by
 * facet_vfu_server, and helpers for raw socket peers and fd counting.
 *
 * Device layout:
 *   config   256 bytes, trapped (ids below)
 *   BAR0     16 KiB: page 0 trapped registers, [4K, 8K) and [8K, 16K) sparse
 *            mmap areas backed by a memfd
 *   BAR2     4 KiB trapped scratch memory
 *   BAR4     2 MiB + 4 KiB trapped memory (transfers larger than one message)
 *   irqs     INTx 1, MSI 1, MSI-X 4, ERR 1, REQ 1
 */
#ifndef TVFU_H
#define TVFU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facet_vfu.h"
#include "facet_vfu_server.h"

#define TDEV_VENDOR    0xfac3
#define TDEV_DEVICE    0x0001
#define TDEV_CLASS     0x020000
#define TDEV_BAR0_SIZE 0x4000u
#define TDEV_BAR2_SIZE 0x1000u
#define TDEV_BAR4_SIZE (0x200000u + 0x1000u)
#define TDEV_MSIX      4u

/* BAR0 page 0 registers */
#define TREG_SCRATCH  0x00
#define TREG_ID	      0x04 /* reads 0xfacefeed */
#define TREG_DMA_LO   0x10
#define TREG_DMA_HI   0x14
#define TREG_DMA_LEN  0x18
#define TREG_DMA_GO   0x1c /* write: add 1 to each byte of [iova, +len) by dma_read/write */
#define TREG_DMA_STAT 0x20 /* result of the last GO (negative errno) */
#define TREG_STALL    0x30 /* read: block while tdev.stall is set */
#define TDEV_ID	      0xfacefeedu

struct tdev {
	struct facet_vfu_server *srv;
	char path[108];
	int memfd;
	uint8_t *bar0; /* memfd mapping: the whole of BAR0 */
	uint8_t cfg[256];
	uint32_t regs[1024];
	uint8_t bar2[TDEV_BAR2_SIZE];
	uint8_t *bar4;
	atomic_int resets, dma_added, dma_removing, irqs_changed, connected, gone;
	atomic_bool stall;
};

/* Create the device and serve it at a fresh socket path. Returns 0 or -errno. */
int tdev_start(struct tdev *t);
int tdev_start_at(struct tdev *t, const char *path);
/* tdev_start_at() in two steps, to configure the device before a client can connect. */
int tdev_prepare_at(struct tdev *t, const char *path);
int tdev_serve(struct tdev *t);
void tdev_stop(struct tdev *t);
/* Wait up to @ms for the server to have (or not have) a client. */
bool tdev_wait_client(struct tdev *t, bool present, unsigned int ms);
/* "vfio-user:<path>" */
const char *tdev_spec(struct tdev *t);

/* A fresh socket path in a private temporary directory. */
void tvfu_sock_path(char *buf, size_t len, const char *tag);
/* Open file descriptors of this process. */
int tvfu_count_fds(void);

/* ---- raw peers ---------------------------------------------------------- */

int tvfu_connect(const char *path);
/* Send a message (header filled here except msg_id/cmd/flags/error). */
int tvfu_send(int fd, uint16_t msg_id, uint16_t cmd, uint32_t flags, const void *payload,
	      size_t len, const int *fds, unsigned int nfds);
/* Send raw bytes. */
int tvfu_send_raw(int fd, const void *buf, size_t len);
/*
 * Receive one message within @ms: returns payload length (payload malloc()ed
 * in *@payload), -ETIMEDOUT, or -ENODEV on EOF. Received fds go to @fds.
 */
int tvfu_recv(int fd, struct facet_vfu_hdr *hdr, void **payload, int *fds, unsigned int *nfds,
	      unsigned int ms);
/* Send a command and return the reply's errno (0 if no error bit), or -errno of transport. */
int tvfu_rpc(int fd, uint16_t cmd, const void *payload, size_t len, const int *fds,
	     unsigned int nfds, void **reply, size_t *reply_len);
/* The VERSION handshake with default capabilities. */
int tvfu_handshake(int fd);
/* True if the peer closed @fd within @ms. */
bool tvfu_wait_eof(int fd, unsigned int ms);

#endif /* TVFU_H */
