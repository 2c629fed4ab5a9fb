/* SPDX-License-Identifier: MIT */
/*
 * udp:LADDR:LPORT,RADDR:RPORT — the uplink as a point-to-point wire over
 * UDP: one Ethernet frame per datagram, no header, the framing of QEMU's
 * -netdev dgram (and -netdev socket,udp=). Two models, or a model and a
 * QEMU guest, pointed at each other's ports share one Ethernet segment.
 * IPv4, or IPv6 with the address in brackets.
 *
 * The socket is bound to the local end and not connected: a connected UDP
 * socket would report the peer's ICMP port-unreachable as ECONNREFUSED on
 * the next call while the peer is not up yet, and a wire does not care.
 * Like QEMU's, it takes datagrams from any sender: use it on hosts and
 * networks you trust.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "refnic_uplink_priv.h"

/* Socket buffers: room for bursts that arrive while the worker sleeps. */
#define UDP_SOCKBUF (4 << 20)

struct uplink_udp {
	struct refnic_uplink up;
	struct sockaddr_storage remote;
	socklen_t addrlen;
	struct uplink_rxq rxq;
	struct uplink_txq txq;
};

static int udp_rx_burst(struct refnic_uplink *u, uint8_t *const *bufs, uint32_t *lens,
			unsigned int n)
{
	struct uplink_udp *d = uplink_container_of(u, struct uplink_udp, up);

	/* A datagram is a frame; the common path drops truncated and runt ones. */
	return uplink_mmsg_rx(u, &d->rxq, false, NULL, bufs, lens, n);
}

static int udp_tx_burst(struct refnic_uplink *u, const uint8_t *const *frames, const uint32_t *lens,
			unsigned int n)
{
	struct uplink_udp *d = uplink_container_of(u, struct uplink_udp, up);

	return uplink_mmsg_tx(u, &d->txq, &d->remote, d->addrlen, frames, lens, n);
}

/* The local end as text, for log lines. */
static void udp_local_name(const struct refnic_uplink_spec *spec, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&spec->local;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&spec->local;
	char host[INET6_ADDRSTRLEN];

	if (spec->local.ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
}

static void udp_sockbufs(int fd)
{
	int sz = UDP_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static int udp_open(const struct refnic_uplink_spec *spec, struct refnic_uplink **out)
{
	char local[INET6_ADDRSTRLEN + 8];
	struct uplink_udp *d;
	int ret;

	udp_local_name(spec, local, sizeof(local));
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->remote = spec->remote;
	d->addrlen = spec->addrlen;
	d->up.fd = socket(spec->local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->up.fd < 0) {
		ret = uplink_open_error("udp", local, "socket", errno,
					"a seccomp/LSM policy allowing UDP sockets");
		free(d);
		return ret;
	}
	udp_sockbufs(d->up.fd);
	if (bind(d->up.fd, (const struct sockaddr *)&spec->local, spec->addrlen) < 0) {
		ret = uplink_open_error("udp", local, "bind", errno,
					"CAP_NET_BIND_SERVICE for a port below 1024");
		close(d->up.fd);
		free(d);
		return ret;
	}
	*out = &d->up;
	return 0;
}

static void udp_close(struct refnic_uplink *u)
{
	close(u->fd);
	free(uplink_container_of(u, struct uplink_udp, up));
}

const struct refnic_uplink_ops refnic_uplink_udp_ops = {
	.name = "udp",
	.open = udp_open,
	.close = udp_close,
	.rx_burst = udp_rx_burst,
	.tx_burst = udp_tx_burst,
};
