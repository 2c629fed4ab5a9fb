/* SPDX-License-Identifier: MIT */
/*
 * af_packet:IFNAME — the uplink as a raw socket on a Linux interface (one
 * end of a veth pair, a bridge port, a physical NIC).
 *
 * Frames move in batches with recvmmsg/sendmmsg. The socket sees every
 * frame on the interface (promiscuous membership) except its own
 * transmissions (PACKET_IGNORE_OUTGOING).
 *
 * What the kernel does to a frame before AF_PACKET sees it, and how this
 * backend gives the switch the frame that was on the wire:
 *
 * - VLAN: receive strips the 802.1Q/802.1ad tag into skb metadata before
 *   packet taps run, so the tag is re-inserted from PACKET_AUXDATA (as
 *   libpcap does). Transmit sends tagged frames as they are.
 *
 * - Checksum offload: on veth (tx checksumming on by default) a frame sent
 *   by the peer's stack arrives CHECKSUM_PARTIAL: the TCP/UDP checksum field
 *   holds only the pseudo-header sum. PACKET_VNET_HDR stays off, because its
 *   virtio-net header would make every frame pay for the rare offloaded
 *   one; PACKET_AUXDATA flags such frames (TP_STATUS_CSUMNOTREADY), and the
 *   checksum is completed here in software, so the switch and the driver
 *   never see a bad checksum. No ethtool -K is needed.
 *
 * - GSO: a TSO/GSO super-frame from the peer's stack is delivered unsplit.
 *   One longer than REFNIC_UPLINK_FRAME_MAX is truncated and dropped
 *   (rx_dropped); a shorter one passes as one large, valid frame (with its
 *   checksum completed). Where frames must respect the peer's MTU, turn
 *   segmentation offload off on the peer: ethtool -K PEER tso off gso off.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "refnic_uplink_priv.h"

/* Socket buffers: room for bursts that arrive while the worker sleeps. */
#define AFP_SOCKBUF (4 << 20)

#define AFP_CAPS "CAP_NET_RAW"

struct uplink_afp {
	struct refnic_uplink up;
	char ifname[IFNAMSIZ];
	struct uplink_rxq rxq;
	struct uplink_txq txq;
};

static const struct tpacket_auxdata *afp_auxdata(const struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata)))
			return (const struct tpacket_auxdata *)CMSG_DATA(c);
	}
	return NULL;
}

/* Put back the VLAN tag receive took off, after the MAC addresses. */
static bool afp_vlan_insert(const struct tpacket_auxdata *aux, uint8_t *f, uint32_t *len)
{
	uint16_t tpid = ETH_P_8021Q;

	if (*len < 2 * ETH_ALEN || *len + 4 > REFNIC_UPLINK_FRAME_MAX)
		return false;
	if (aux->tp_status & TP_STATUS_VLAN_TPID_VALID)
		tpid = aux->tp_vlan_tpid;
	memmove(f + 2 * ETH_ALEN + 4, f + 2 * ETH_ALEN, *len - 2 * ETH_ALEN);
	f[12] = (uint8_t)(tpid >> 8);
	f[13] = (uint8_t)tpid;
	f[14] = (uint8_t)(aux->tp_vlan_tci >> 8);
	f[15] = (uint8_t)aux->tp_vlan_tci;
	*len += 4;
	return true;
}

static bool afp_rx_fixup(struct refnic_uplink *u, const struct msghdr *mh, uint8_t *f,
			 uint32_t *len)
{
	const struct tpacket_auxdata *aux = afp_auxdata(mh);

	if (!aux)
		return true;
	if ((aux->tp_status & TP_STATUS_VLAN_VALID) && !afp_vlan_insert(aux, f, len))
		return false;
	if ((aux->tp_status & TP_STATUS_CSUMNOTREADY) && *len >= UPLINK_FRAME_MIN)
		u->stats.rx_csum_completed += (uint64_t)uplink_csum_complete(f, *len);
	return true;
}

static int afp_rx_burst(struct refnic_uplink *u, uint8_t *const *bufs, uint32_t *lens,
			unsigned int n)
{
	struct uplink_afp *a = uplink_container_of(u, struct uplink_afp, up);

	return uplink_mmsg_rx(u, &a->rxq, true, afp_rx_fixup, bufs, lens, n);
}

/* The socket is bound to the interface: no address per message. */
static int afp_tx_burst(struct refnic_uplink *u, const uint8_t *const *frames, const uint32_t *lens,
			unsigned int n)
{
	struct uplink_afp *a = uplink_container_of(u, struct uplink_afp, up);

	return uplink_mmsg_tx(u, &a->txq, NULL, 0, frames, lens, n);
}

static int afp_setopt(struct uplink_afp *a, int level, int opt, const void *val, socklen_t len,
		      const char *what)
{
	if (setsockopt(a->up.fd, level, opt, val, len) == 0)
		return 0;
	return uplink_open_error("af_packet", a->ifname, what, errno, AFP_CAPS);
}

/* Bigger buffers if allowed (FORCE passes rmem_max with CAP_NET_ADMIN); best effort. */
static void afp_sockbufs(int fd)
{
	int sz = AFP_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

/*
 * Options before bind: the socket was made with protocol 0, so nothing is
 * queued until bind() names the interface, and no frame arrives without
 * its auxdata or from before IGNORE_OUTGOING.
 */
static int afp_setup(struct uplink_afp *a, int ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = ifindex };
	struct packet_mreq mr = { .mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC };
	int one = 1;
	int ret;

	ret = afp_setopt(a, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one),
			 "PACKET_IGNORE_OUTGOING (Linux >= 4.20)");
	if (!ret)
		ret = afp_setopt(a, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one),
				 "PACKET_AUXDATA");
	if (ret)
		return ret;
	afp_sockbufs(a->up.fd);
	if (bind(a->up.fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return uplink_open_error("af_packet", a->ifname, "bind", errno, AFP_CAPS);
	/* Promiscuous by membership: dropped by the kernel when the socket closes. */
	return afp_setopt(a, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr),
			  "promiscuous membership");
}

/* Not ours to bring up (unlike a tap): say why no frames flow. */
static void afp_warn_down(struct uplink_afp *a)
{
	struct ifreq ifr = { 0 };

	memcpy(ifr.ifr_name, a->ifname, sizeof(ifr.ifr_name));
	if (ioctl(a->up.fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP))
		uplink_warn("af_packet:%s: interface is down; no frames until it is up", a->ifname);
}

static int afp_open(const struct refnic_uplink_spec *spec, struct refnic_uplink **out)
{
	struct uplink_afp *a;
	unsigned int ifindex;
	int ret;

	/* Before the socket, which needs privilege: a typo reads as a typo. */
	ifindex = if_nametoindex(spec->ifname);
	if (!ifindex) {
		uplink_err("af_packet:%s: no such interface", spec->ifname);
		return -ENODEV;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(a->ifname, spec->ifname, sizeof(a->ifname));
	a->up.fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->up.fd < 0) {
		ret = uplink_open_error("af_packet", a->ifname, "raw socket", errno, AFP_CAPS);
		free(a);
		return ret;
	}
	ret = afp_setup(a, (int)ifindex);
	if (ret < 0) {
		close(a->up.fd);
		free(a);
		return ret;
	}
	afp_warn_down(a);
	*out = &a->up;
	return 0;
}

static void afp_close(struct refnic_uplink *u)
{
	struct uplink_afp *a = uplink_container_of(u, struct uplink_afp, up);

	close(u->fd);
	free(a);
}

const struct refnic_uplink_ops refnic_uplink_af_packet_ops = {
	.name = "af_packet",
	.open = afp_open,
	.close = afp_close,
	.rx_burst = afp_rx_burst,
	.tx_burst = afp_tx_burst,
};
