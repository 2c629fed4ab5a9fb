/* SPDX-License-Identifier: MIT */
/*
 * tap:NAME — the uplink as a TAP device: frames the model transmits enter
 * the host stack on NAME, frames the host sends out of NAME reach the model.
 *
 * The device is created if missing (and then vanishes when the uplink
 * closes) or attached if it exists as a persistent TAP; either way it is
 * brought up. IFF_NO_PI: no packet-information header, just frames. No
 * IFF_VNET_HDR, so the tap offers no checksum or segmentation offload and
 * the kernel hands over complete, MTU-sized frames.
 *
 * The tun driver has no batched read or write, so a burst is one read() or
 * write() per frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "refnic_uplink_priv.h"

#define TAP_CAPS "CAP_NET_ADMIN"

struct uplink_tap {
	struct refnic_uplink up;
	char ifname[IFNAMSIZ];
	uint8_t overflow; /* one byte past FRAME_MAX: a longer frame shows, is dropped */
};

/* One frame into @buf: its length, 0 if none waits, or a negative errno. */
static ssize_t tap_read_one(struct uplink_tap *t, uint8_t *buf)
{
	struct iovec iov[2] = {
		{ .iov_base = buf, .iov_len = REFNIC_UPLINK_FRAME_MAX },
		{ .iov_base = &t->overflow, .iov_len = 1 },
	};
	ssize_t r;

	do {
		r = readv(t->up.fd, iov, 2);
	} while (r < 0 && errno == EINTR);
	if (r >= 0)
		return r ? r : -EIO;
	return errno == EAGAIN ? 0 : -errno;
}

static int tap_rx_burst(struct refnic_uplink *u, uint8_t *const *bufs, uint32_t *lens,
			unsigned int n)
{
	struct uplink_tap *t = uplink_container_of(u, struct uplink_tap, up);
	unsigned int done = 0;

	while (done < n) {
		ssize_t r = tap_read_one(t, bufs[done]);

		if (r == 0)
			break;
		if (r < 0)
			return uplink_rx_error(u, (int)-r, done);
		if (!uplink_len_ok((uint32_t)r) || r > REFNIC_UPLINK_FRAME_MAX) {
			u->stats.rx_dropped++;
			continue;
		}
		lens[done++] = (uint32_t)r;
		u->stats.rx_bytes += (uint64_t)r;
	}
	u->stats.rx_frames += done;
	return (int)done;
}

/* One frame out: 1 sent, 0 back-pressure (stop the burst), -1 refused (skip it). */
static int tap_write_one(struct refnic_uplink *u, const uint8_t *frame, uint32_t len)
{
	ssize_t r;

	if (!uplink_len_ok(len)) {
		u->stats.tx_errors++;
		return -1;
	}
	do {
		r = write(u->fd, frame, len);
	} while (r < 0 && errno == EINTR);
	if (r >= 0) {
		u->stats.tx_frames++;
		u->stats.tx_bytes += len;
		return 1;
	}
	if (errno == EAGAIN || errno == ENOBUFS)
		return 0;
	uplink_tx_error(u, errno, 1);
	return -1;
}

static int tap_tx_burst(struct refnic_uplink *u, const uint8_t *const *frames, const uint32_t *lens,
			unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (tap_write_one(u, frames[i], lens[i]) == 0)
			break;
	}
	return (int)i;
}

/* The errors TUNSETIFF gives for a valid name, told apart for the log. */
static int tap_setiff_error(const char *name, int err)
{
	if (err == EINVAL) {
		uplink_err("tap:%s: interface exists and is not a TAP device", name);
		return -EEXIST;
	}
	if (err == EBUSY) {
		uplink_err("tap:%s: TAP device is already attached (a TAP has one reader)", name);
		return -EBUSY;
	}
	return uplink_open_error("tap", name, "TUNSETIFF", err, TAP_CAPS);
}

static int tap_bring_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return uplink_open_error("tap", name, "control socket", errno, TAP_CAPS);
	memcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		ret = uplink_open_error("tap", name, "get flags", errno, TAP_CAPS);
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			ret = uplink_open_error("tap", name, "bring up", errno, TAP_CAPS);
	}
	close(s);
	return ret;
}

static int tap_attach(struct uplink_tap *t)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		uplink_err("tap:%s: no /dev/net/tun (is the tun module loaded?)", t->ifname);
		return -ENODEV;
	}
	if (fd < 0)
		return uplink_open_error("tap", t->ifname, "open /dev/net/tun", errno, TAP_CAPS);
	memcpy(ifr.ifr_name, t->ifname, sizeof(ifr.ifr_name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int ret = tap_setiff_error(t->ifname, errno);

		close(fd);
		return ret;
	}
	/* A name with %d is a template: the kernel picked the number. */
	memcpy(t->ifname, ifr.ifr_name, sizeof(t->ifname));
	t->ifname[IFNAMSIZ - 1] = '\0';
	t->up.fd = fd;
	return 0;
}

static int tap_open(const struct refnic_uplink_spec *spec, struct refnic_uplink **out)
{
	struct uplink_tap *t;
	int ret;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t->ifname, spec->ifname, sizeof(t->ifname));
	ret = tap_attach(t);
	if (ret == 0) {
		ret = tap_bring_up(t->ifname);
		if (ret < 0)
			close(t->up.fd);
	}
	if (ret < 0) {
		free(t);
		return ret;
	}
	*out = &t->up;
	return 0;
}

static void tap_close(struct refnic_uplink *u)
{
	close(u->fd);
	free(uplink_container_of(u, struct uplink_tap, up));
}

const struct refnic_uplink_ops refnic_uplink_tap_ops = {
	.name = "tap",
	.open = tap_open,
	.close = tap_close,
	.rx_burst = tap_rx_burst,
	.tx_burst = tap_tx_burst,
};
