/* SPDX-License-Identifier: MIT */
/*
 * ul_test.h: helpers shared by the uplink tests — test frames, checksum
 * verification, and (for the root-only tests) a private network namespace,
 * iproute2 and guaranteed clean-up.
 */
#ifndef UL_TEST_H
#define UL_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "refnic_uplink.h"

/* Local experimental EtherType: the tests ignore every other frame (IPv6 chatter). */
#define UL_ETHERTYPE 0x88b5

#define UL_SKIP 77

/* A test frame: broadcast, EtherType 0x88b5, then magic, seq, length, a pattern. */
void ul_frame_fill(uint8_t *f, uint32_t len, uint32_t magic, uint32_t seq);

/*
 * If @f is an (untagged) test frame with @magic, check its content against
 * ul_frame_fill() and return its seq; -1 if it is not one of ours. A
 * corrupt frame of ours fails the test.
 */
int ul_frame_seq(const uint8_t *f, uint32_t len, uint32_t magic);

/* True if @f's IPv4/IPv6 TCP/UDP checksum verifies (independent of the model). */
bool ul_l4_csum_ok(const uint8_t *f, uint32_t len, int *proto);

/* poll() @fd for POLLIN up to @ms; true if readable. */
bool ul_wait_readable(int fd, int ms);

/** Milliseconds on the monotonic clock. */
long ul_now_ms(void);

/**
 * Receive on socket @fd, for up to @ms, until @want frames carrying @magic
 * arrived; they are packed into bufs/lens (others are dropped). Returns the count.
 */
unsigned int ul_sock_collect(int fd, uint32_t magic, unsigned int want, int ms, uint8_t **bufs,
			     uint32_t *lens);

/*
 * Receive frames with @magic from @u, sleeping on its poll_fd, until @want
 * arrived or @ms passed; they are packed into @bufs/@lens in arrival order.
 * Other frames are discarded, and those with @other_magic counted in
 * *@other (if not NULL). Returns how many arrived.
 */
unsigned int ul_uplink_collect(struct refnic_uplink *u, uint32_t magic, uint8_t **bufs,
			       uint32_t *lens, unsigned int want, int ms, uint32_t other_magic,
			       unsigned int *other);

/* Allocate @n frame buffers of REFNIC_UPLINK_FRAME_MAX bytes; free with ul_bufs_free. */
uint8_t **ul_bufs_alloc(unsigned int n);
void ul_bufs_free(uint8_t **bufs, unsigned int n);

/* ---- root-only helpers ---- */

/*
 * Exit with 77 (meson's skip) and a clear message unless root; also fails
 * the run if iproute2 is missing.
 */
void ul_require_root(const char *test);

/* Run `ip ARGS...` (printf-style); returns its exit status, logs on failure. */
int ul_ip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Move this process into a private network namespace, so the interfaces it
 * creates never touch the host's and die with it whatever happens.
 */
void ul_private_netns(void);

/*
 * Clean-up commands (`ip ARGS`) run at exit, on a fatal signal and by
 * ul_cleanup_run(); each at most once. Words are split on spaces.
 */
void ul_cleanup_add(const char *args);
void ul_cleanup_run(void);

/* Delete named namespaces "facet-ul-<pid>" left by runs that were killed. */
void ul_sweep_stale_netns(void);

/* Enter the named namespace @ns for the duration of @fn(arg); returns fn's result. */
int ul_in_netns(const char *ns, int (*fn)(void *arg), void *arg);

/* A raw AF_PACKET socket on @ifname (current namespace), ignoring its own output. */
int ul_raw_socket(const char *ifname);

/* Wait until @ifname (current namespace) is up and running, up to @ms. */
bool ul_wait_running(const char *ifname, int ms);

#endif /* UL_TEST_H */
