/* SPDX-License-Identifier: MIT */
/*
 * Private to the vfio-user server: the server object, shared by vfu_server.c
 * (socket, clients, device commands) and vfu_server_dma.c (DMA maps and
 * interrupts).
 *
 * Locks: srv->lock guards the current connection and what VERSION told us;
 * dma_lock (rwlock, readers preferred) guards the map table, taken for
 * writing only by the server thread; irq_lock guards the eventfds. None is
 * held while calling the device, except dma_lock held for reading by the
 * device itself.
 */
#ifndef VFU_SERVER_PRIVATE_H
#define VFU_SERVER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "facet_log.h"
#include "facet_vfu.h"
#include "facet_vfu_conn.h"
#include "facet_vfu_server.h"

#define VFU_ERR(...)   FACET_ERR(FACET_VFU_TAG, __VA_ARGS__)
#define VFU_WARN(...)  FACET_WARN(FACET_VFU_TAG, __VA_ARGS__)
#define VFU_INFO(...)  FACET_INFO(FACET_VFU_TAG, __VA_ARGS__)
#define VFU_DEBUG(...) FACET_DEBUG(FACET_VFU_TAG, __VA_ARGS__)

#define VFU_PAGE_SIZE		4096u
/** DMA maps one client may hold (advertised as max_dma_maps). */
#define VFU_SERVER_MAX_DMA_MAPS 1024u
/** Vectors per interrupt index (PCI MSI-X allows 2048). */
#define VFU_SERVER_MAX_IRQS	2048u

struct vfu_dma {
	uint64_t iova;
	uint64_t len;
	uint32_t prot; /* FACET_VFU_DMA_* */
	void *va;      /* our mmap of the client's fd; NULL: reached by messages */
};

struct vfu_ioeventfd {
	unsigned int index;
	uint64_t offset, size;
	uint32_t flags; /* FACET_VFU_IOEVENTFD_F_* */
	uint64_t datamatch;
	int fd; /* borrowed from the device */
};

struct facet_vfu_server {
	char *path;
	char *name;
	char conn_name[80];
	int listen_fd;
	int wake_fd; /* eventfd: destroy wakes the server thread */
	pthread_t thread;
	struct facet_vfu_device_desc desc;
	atomic_bool stop;

	pthread_mutex_t lock;
	struct facet_vfu_conn *conn; /* current client, NULL if none */
	bool client_present;	     /* until its state is dropped and socket closed */
	bool versioned;
	struct facet_vfu_caps client_caps;
	struct vfu_ioeventfd ioeventfds[FACET_VFU_MAX_IOEVENTFDS]; /* under lock */
	unsigned int n_ioeventfds;
	int io_reply_fds[FACET_VFU_MAX_IOEVENTFDS]; /* the reply in flight (server thread) */

	pthread_rwlock_t dma_lock;
	struct vfu_dma *dmas; /* sorted by iova, no overlaps */
	unsigned int n_dmas;
	uint64_t dma_gen; /* bumped with dma_lock held for writing by every table change */

	pthread_mutex_t irq_lock;
	int *irq_fds[FACET_VFU_PCI_NUM_IRQS]; /* desc.irq_counts[i] each, -1: none */
};

/* vfu_server_iofd.c */
int vfu_cmd_region_io_fds(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
			  struct facet_vfu_reply *rep);

/* vfu_server_dma.c */
int vfu_cmd_dma_map(struct facet_vfu_server *srv, struct facet_vfu_msg *msg);
int vfu_cmd_dma_unmap(struct facet_vfu_server *srv, struct facet_vfu_msg *msg,
		      struct facet_vfu_reply *rep);
int vfu_cmd_set_irqs(struct facet_vfu_server *srv, struct facet_vfu_msg *msg);
/** The client left: drop its DMA maps (after dma_removing) and its eventfds. */
void vfu_drop_client_state(struct facet_vfu_server *srv);

#endif /* VFU_SERVER_PRIVATE_H */
