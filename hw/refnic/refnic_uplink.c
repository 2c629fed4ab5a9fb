/* SPDX-License-Identifier: MIT */
/*
 * refnic_uplink.c: the uplink front end. Parses the spec given to
 * facet-refnic, dispatches to a backend through its ops table, and holds
 * the helpers the backends share (burst compaction, checksum completion).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "refnic_uplink_priv.h"

static const struct refnic_uplink_ops *const uplink_ops[UPLINK_KIND_MAX] = {
	[UPLINK_AF_PACKET] = &refnic_uplink_af_packet_ops,
	[UPLINK_TAP] = &refnic_uplink_tap_ops,
	[UPLINK_UDP] = &refnic_uplink_udp_ops,
};

static int spec_error(const char *spec, const char *what)
{
	uplink_err("uplink spec '%s': %s", spec, what);
	return -EINVAL;
}

/* The kernel's dev_valid_name(), so a bad name fails here and not in an ioctl. */
static int parse_ifname(const char *spec, const char *arg, char *out)
{
	size_t len = strlen(arg);

	if (len == 0)
		return spec_error(spec, "interface name is empty");
	if (len >= IFNAMSIZ)
		return spec_error(spec, "interface name is longer than 15 characters");
	if (!strcmp(arg, ".") || !strcmp(arg, ".."))
		return spec_error(spec, "interface name is not valid");
	for (const char *c = arg; *c; c++) {
		if (*c == '/' || *c == ':' || *c == ' ' || (*c >= '\t' && *c <= '\r'))
			return spec_error(spec, "interface name contains '/', ':' or a space");
	}
	memcpy(out, arg, len + 1);
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* "A.B.C.D:PORT" or "[IPV6]:PORT" into @ss; @which names it in the log. */
static int parse_endpoint(const char *spec, const char *which, const char *s,
			  struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon;
	uint16_t port;
	size_t hlen;
	bool v6 = s[0] == '[';

	if (v6) {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			uplink_err("uplink spec '%s': %s address: '[' without ']:PORT'", spec,
				   which);
			return -EINVAL;
		}
		hlen = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			uplink_err("uplink spec '%s': %s address: no ':PORT'", spec, which);
			return -EINVAL;
		}
		hlen = (size_t)(colon - s);
	}
	if (parse_port(colon + 1, &port) < 0) {
		uplink_err("uplink spec '%s': %s port: '%s' is not 1..65535", spec, which,
			   colon + 1);
		return -EINVAL;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		uplink_err("uplink spec '%s': %s address: missing or too long", spec, which);
		return -EINVAL;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1)
			return 0;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		if (inet_pton(AF_INET, host, &sin->sin_addr) == 1)
			return 0;
	}
	/* Numeric only: a device model has no business resolving names. */
	uplink_err("uplink spec '%s': %s address: '%s' is not a numeric %s address", spec, which,
		   host, v6 ? "IPv6" : "IPv4 (IPv6 goes in brackets)");
	return -EINVAL;
}

static bool addr_unspecified(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int parse_udp(const char *spec, const char *arg, struct refnic_uplink_spec *out)
{
	const char *comma = strchr(arg, ',');
	char local[128];
	socklen_t rlen;
	int ret;

	if (!comma || strchr(comma + 1, ','))
		return spec_error(spec, "udp wants LADDR:LPORT,RADDR:RPORT (one comma)");
	if ((size_t)(comma - arg) >= sizeof(local))
		return spec_error(spec, "udp local address is too long");
	memcpy(local, arg, (size_t)(comma - arg));
	local[comma - arg] = '\0';

	ret = parse_endpoint(spec, "local", local, &out->local, &out->addrlen);
	if (ret < 0)
		return ret;
	ret = parse_endpoint(spec, "remote", comma + 1, &out->remote, &rlen);
	if (ret < 0)
		return ret;
	if (out->local.ss_family != out->remote.ss_family)
		return spec_error(spec, "udp local and remote addresses are of different families");
	if (addr_unspecified(&out->remote))
		return spec_error(spec, "udp remote address is unspecified (0.0.0.0 or ::)");
	return 0;
}

int refnic_uplink_parse(const char *spec, struct refnic_uplink_spec *out)
{
	const char *colon;
	size_t nlen;

	memset(out, 0, sizeof(*out));
	if (!spec || !strcmp(spec, "none"))
		return 0;
	colon = strchr(spec, ':');
	nlen = colon ? (size_t)(colon - spec) : strlen(spec);
	for (int k = UPLINK_NONE + 1; k < UPLINK_KIND_MAX; k++) {
		const char *name = uplink_ops[k]->name;

		if (strlen(name) != nlen || strncmp(spec, name, nlen))
			continue;
		if (!colon) {
			uplink_err("uplink spec '%s': backend '%s' needs an argument after ':'",
				   spec, name);
			return -EINVAL;
		}
		out->kind = k;
		if (k == UPLINK_UDP)
			return parse_udp(spec, colon + 1, out);
		return parse_ifname(spec, colon + 1, out->ifname);
	}
	uplink_err("uplink spec '%s': unknown backend '%.*s' (none, af_packet, tap, udp)", spec,
		   (int)nlen, spec);
	return -EINVAL;
}

int refnic_uplink_open(const char *spec, struct refnic_uplink **out)
{
	struct refnic_uplink_spec ps;
	struct refnic_uplink *u = NULL;
	int ret;

	*out = NULL;
	ret = refnic_uplink_parse(spec, &ps);
	if (ret < 0 || ps.kind == UPLINK_NONE)
		return ret;
	ret = uplink_ops[ps.kind]->open(&ps, &u);
	if (ret < 0)
		return ret;
	u->ops = uplink_ops[ps.kind];
	snprintf(u->desc, sizeof(u->desc), "%s", spec);
	uplink_info("%s uplink open (fd %d)", spec, u->fd);
	*out = u;
	return 0;
}

void refnic_uplink_close(struct refnic_uplink *u)
{
	if (u)
		u->ops->close(u);
}

int refnic_uplink_rx_burst(struct refnic_uplink *u, uint8_t *const *bufs, uint32_t *lens,
			   unsigned int n)
{
	return u->ops->rx_burst(u, bufs, lens, n);
}

int refnic_uplink_tx_burst(struct refnic_uplink *u, const uint8_t *const *frames,
			   const uint32_t *lens, unsigned int n)
{
	return u->ops->tx_burst(u, frames, lens, n);
}

int refnic_uplink_poll_fd(const struct refnic_uplink *u)
{
	return u ? u->fd : -1;
}

const char *refnic_uplink_name(const struct refnic_uplink *u)
{
	return u ? u->ops->name : "none";
}

void refnic_uplink_get_stats(const struct refnic_uplink *u, struct refnic_uplink_stats *st)
{
	if (u)
		*st = u->stats;
	else
		memset(st, 0, sizeof(*st));
}

int uplink_open_error(const char *backend, const char *name, const char *what, int err,
		      const char *caps)
{
	if (err == EPERM || err == EACCES) {
		uplink_err("%s:%s: %s: permission denied (needs root or %s)", backend, name, what,
			   caps);
		return -EPERM;
	}
	uplink_err("%s:%s: %s: %s", backend, name, what, strerror(err));
	return -err;
}

/* True if a log line is due; error paths only, so the clock read costs nothing. */
static bool log_due(uint64_t *next_ns)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (now < *next_ns)
		return false;
	*next_ns = now + UPLINK_LOG_INTERVAL_NS;
	return true;
}

void uplink_tx_error(struct refnic_uplink *u, int err, unsigned int frames)
{
	u->stats.tx_errors += frames;
	if (log_due(&u->tx_log_next_ns))
		uplink_warn("%s: transmit failed: %s (%llu tx errors so far)", u->desc,
			    strerror(err), (unsigned long long)u->stats.tx_errors);
}

int uplink_rx_error(struct refnic_uplink *u, int err, unsigned int done)
{
	if (log_due(&u->rx_log_next_ns))
		uplink_err("%s: receive failed: %s", u->desc, strerror(err));
	return done ? (int)done : -err;
}

/* Receive errors: none waiting is not one; a link going down is news, not failure. */
static int mmsg_rx_error(struct refnic_uplink *u, int err, unsigned int done)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		return (int)done;
	if (err == ENETDOWN) {
		/* the kernel reports it once per down event: no flood */
		uplink_warn("%s: link went down", u->desc);
		return (int)done;
	}
	return uplink_rx_error(u, err, done);
}

/*
 * Frames are received straight into the caller's buffers. A dropped frame
 * leaves a hole, closed by copying the next kept frame down: a copy only
 * after a drop, which is rare, instead of a bounce buffer for every frame.
 */
static unsigned int mmsg_rx_keep(struct refnic_uplink *u, struct uplink_rxq *q,
				 uplink_rx_fixup_fn fixup, uint8_t *const *bufs, uint32_t *lens,
				 unsigned int got)
{
	unsigned int kept = 0;

	for (unsigned int i = 0; i < got; i++) {
		const struct msghdr *mh = &q->msg[i].msg_hdr;
		uint32_t len = q->msg[i].msg_len;

		if ((mh->msg_flags & MSG_TRUNC) || len > REFNIC_UPLINK_FRAME_MAX ||
		    (fixup && !fixup(u, mh, bufs[i], &len)) || !uplink_len_ok(len)) {
			u->stats.rx_dropped++;
			continue;
		}
		if (kept != i)
			memcpy(bufs[kept], bufs[i], len);
		lens[kept++] = len;
		u->stats.rx_bytes += len;
	}
	u->stats.rx_frames += kept;
	return kept;
}

static void mmsg_rx_prepare(struct uplink_rxq *q, bool want_ctl, uint8_t *const *bufs,
			    unsigned int want)
{
	for (unsigned int i = 0; i < want; i++) {
		struct msghdr *mh = &q->msg[i].msg_hdr;

		q->iov[i].iov_base = bufs[i];
		q->iov[i].iov_len = REFNIC_UPLINK_FRAME_MAX;
		*mh = (struct msghdr){ .msg_iov = &q->iov[i], .msg_iovlen = 1 };
		if (want_ctl) {
			mh->msg_control = q->ctl[i].buf;
			mh->msg_controllen = sizeof(q->ctl[i].buf);
		}
	}
}

int uplink_mmsg_rx(struct refnic_uplink *u, struct uplink_rxq *q, bool want_ctl,
		   uplink_rx_fixup_fn fixup, uint8_t *const *bufs, uint32_t *lens, unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		unsigned int want = n - done < UPLINK_BATCH ? n - done : UPLINK_BATCH;
		int got;

		mmsg_rx_prepare(q, want_ctl, bufs + done, want);
		got = recvmmsg(u->fd, q->msg, want, MSG_DONTWAIT, NULL);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return mmsg_rx_error(u, errno, done);
		}
		done += mmsg_rx_keep(u, q, fixup, bufs + done, lens + done, (unsigned int)got);
		if ((unsigned int)got < want)
			break; /* the socket is empty */
	}
	return (int)done;
}

/* Build one sendmmsg batch from frames[0..want), skipping bad lengths; returns messages. */
static unsigned int mmsg_tx_prepare(struct refnic_uplink *u, struct uplink_txq *q, void *name,
				    socklen_t namelen, const uint8_t *const *frames,
				    const uint32_t *lens, unsigned int want)
{
	unsigned int m = 0;

	for (unsigned int i = 0; i < want; i++) {
		if (!uplink_len_ok(lens[i])) {
			u->stats.tx_errors++;
			continue;
		}
		q->iov[m].iov_base = (void *)frames[i];
		q->iov[m].iov_len = lens[i];
		q->msg[m].msg_hdr = (struct msghdr){ .msg_name = name,
						     .msg_namelen = namelen,
						     .msg_iov = &q->iov[m],
						     .msg_iovlen = 1 };
		q->frame[m++] = i;
	}
	return m;
}

/*
 * Send one batch. sendmmsg() stops at the first failing message and, when
 * some went out, loses its error; so resend from there to learn it. A full
 * socket or device queue ends the burst (the caller drops the rest). A
 * frame the kernel finds bad (longer than the MTU) is counted and skipped;
 * any other error (link down, no route) would fail the whole batch alike,
 * so the batch is counted as errors in one go rather than frame by frame.
 * Returns how many of the batch's frames were consumed.
 */
static unsigned int mmsg_tx_batch(struct refnic_uplink *u, struct uplink_txq *q, unsigned int m,
				  const uint32_t *lens, unsigned int want)
{
	unsigned int j = 0;

	while (j < m) {
		int r = sendmmsg(u->fd, q->msg + j, m - j, MSG_DONTWAIT);

		if (r > 0) {
			for (int k = 0; k < r; k++)
				u->stats.tx_bytes += lens[q->frame[j + k]];
			u->stats.tx_frames += (unsigned int)r;
			j += (unsigned int)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			/* bad lengths past the stop were counted, but are the caller's drops */
			u->stats.tx_errors -= (want - q->frame[j]) - (m - j);
			return q->frame[j];
		}
		if (errno != EMSGSIZE && errno != EINVAL) {
			uplink_tx_error(u, errno, m - j);
			break;
		}
		uplink_tx_error(u, errno, 1);
		j++;
	}
	return want;
}

int uplink_mmsg_tx(struct refnic_uplink *u, struct uplink_txq *q, void *name, socklen_t namelen,
		   const uint8_t *const *frames, const uint32_t *lens, unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		unsigned int want = n - done < UPLINK_BATCH ? n - done : UPLINK_BATCH;
		unsigned int m, sent;

		m = mmsg_tx_prepare(u, q, name, namelen, frames + done, lens + done, want);
		sent = mmsg_tx_batch(u, q, m, lens + done, want);
		done += sent;
		if (sent < want)
			break;
	}
	return (int)done;
}

/* ---- checksum completion (af_packet, CHECKSUM_PARTIAL frames) ---- */

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Ones' complement sum of big-endian words; a 64 KiB span cannot overflow 32 bits. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get_be16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Where a packet's L4 header lies, and its pseudo-header sum without length/proto. */
struct l4_loc {
	uint32_t off;
	uint32_t len;
	uint8_t proto;
	uint32_t sum;
};

static bool l4_ipv4(const uint8_t *f, uint32_t len, uint32_t off, struct l4_loc *l4)
{
	uint32_t ihl, tot;

	if (off + 20 > len || f[off] >> 4 != 4)
		return false;
	ihl = (f[off] & 0xfu) * 4;
	tot = get_be16(f + off + 2);
	/* A fragment never carries a partial checksum; refuse rather than guess. */
	if (ihl < 20 || tot < ihl || off + tot > len || (get_be16(f + off + 6) & 0x3fff))
		return false;
	l4->proto = f[off + 9];
	l4->off = off + ihl;
	l4->len = tot - ihl;
	l4->sum = csum_add(0, f + off + 12, 8);
	return true;
}

static bool l4_ipv6(const uint8_t *f, uint32_t len, uint32_t off, struct l4_loc *l4)
{
	uint32_t end;
	uint8_t nh;

	if (off + 40 > len || f[off] >> 4 != 6)
		return false;
	end = off + 40 + get_be16(f + off + 4);
	if (end > len)
		return false;
	nh = f[off + 6];
	l4->off = off + 40;
	/*
	 * Skip hop-by-hop and destination options. A routing header changes
	 * the pseudo-header's destination; such a frame is left alone.
	 */
	while (nh == 0 || nh == 60) {
		if (l4->off + 8 > end)
			return false;
		nh = f[l4->off];
		l4->off += (f[l4->off + 1] + 1u) * 8;
	}
	if (l4->off > end)
		return false;
	l4->proto = nh;
	l4->len = end - l4->off;
	l4->sum = csum_add(0, f + off + 8, 32);
	return true;
}

/*
 * The kernel hands AF_PACKET a CHECKSUM_PARTIAL frame (veth with tx
 * checksumming on, the default) with only the pseudo-header sum in the
 * checksum field, and without csum_start/offset unless PACKET_VNET_HDR is
 * on. So find the TCP/UDP header ourselves and compute the checksum in
 * full. Anything else (SCTP's CRC32c, IPv6 routing headers) is left as is.
 */
int uplink_csum_complete(uint8_t *f, uint32_t len)
{
	struct l4_loc l4;
	uint32_t off = 12, csoff, hmin;
	uint16_t type;
	uint16_t c;
	bool ok;

	type = get_be16(f + off);
	for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; tags++) {
		off += 4;
		if (off + 2 > len)
			return 0;
		type = get_be16(f + off);
	}
	off += 2;
	if (type == 0x0800)
		ok = l4_ipv4(f, len, off, &l4);
	else if (type == 0x86dd)
		ok = l4_ipv6(f, len, off, &l4);
	else
		ok = false;
	if (!ok)
		return 0;
	if (l4.proto == IPPROTO_TCP) {
		csoff = 16;
		hmin = 20;
	} else if (l4.proto == IPPROTO_UDP) {
		csoff = 6;
		hmin = 8;
	} else {
		return 0;
	}
	if (l4.len < hmin)
		return 0;
	f[l4.off + csoff] = 0;
	f[l4.off + csoff + 1] = 0;
	c = (uint16_t)~csum_fold(csum_add(l4.sum + l4.proto + l4.len, f + l4.off, l4.len));
	if (l4.proto == IPPROTO_UDP && c == 0)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	f[l4.off + csoff] = (uint8_t)(c >> 8);
	f[l4.off + csoff + 1] = (uint8_t)c;
	return 1;
}
