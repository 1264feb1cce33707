/* Reachability checks for wake-and-wait: one ICMP echo (Baseline) or a TCP connect. */
#include "reach.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REACH_COOKIE_LEN 16

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int resolve(const char *target, int socktype, struct addrinfo **ret)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype };
	int r;

	r = getaddrinfo(target, NULL, &hints, ret);
	if (r != 0)
		return -EHOSTUNREACH;
	return 0;
}

/* Prefer an IPv4 address, like ping. */
static const struct addrinfo *pick(const struct addrinfo *ai)
{
	const struct addrinfo *p;

	for (p = ai; p != NULL; p = p->ai_next)
		if (p->ai_family == AF_INET)
			return p;
	for (p = ai; p != NULL; p = p->ai_next)
		if (p->ai_family == AF_INET6)
			return p;
	return NULL;
}

static uint16_t inet_cksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Open an ICMP socket for family: datagram ("ping socket") first, then raw. */
static int icmp_socket(int family, bool *ret_raw)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int fd;

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd >= 0) {
		*ret_raw = false;
		return fd;
	}
	fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd >= 0) {
		*ret_raw = true;
		return fd;
	}
	return errno == EACCES || errno == EPERM ? -EPERM : -errno;
}

int reach_icmp_available(void)
{
	bool raw;
	int fd = icmp_socket(AF_INET, &raw);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)b)->sin_addr,
			      sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

static int reach_icmp(const char *target, int timeout_ms)
{
	struct addrinfo *ai = NULL;
	const struct addrinfo *dst;
	uint8_t pkt[8 + REACH_COOKIE_LEN], cookie[REACH_COOKIE_LEN], buf[1500];
	uint16_t id, seq = 1;
	int64_t deadline = now_ms() + timeout_ms;
	bool raw = false, v4;
	int fd = -1, r;

	r = resolve(target, SOCK_DGRAM, &ai);
	if (r < 0)
		return 0;
	dst = pick(ai);
	if (dst == NULL) {
		r = 0;
		goto out;
	}
	v4 = dst->ai_family == AF_INET;
	fd = icmp_socket(dst->ai_family, &raw);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if (getrandom(&id, sizeof(id), 0) != sizeof(id) ||
	    getrandom(cookie, sizeof(cookie), 0) != sizeof(cookie)) {
		r = -EIO;
		goto out;
	}
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	memcpy(pkt + 4, &id, 2);
	pkt[6] = (uint8_t)(seq >> 8);
	pkt[7] = (uint8_t)seq;
	memcpy(pkt + 8, cookie, sizeof(cookie));
	if (v4) {
		uint16_t ck = inet_cksum(pkt, sizeof(pkt));

		memcpy(pkt + 2, &ck, 2);
	}
	if (sendto(fd, pkt, sizeof(pkt), 0, dst->ai_addr, dst->ai_addrlen) < 0) {
		r = 0; /* network unreachable and friends: the host is down for us */
		goto out;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		int64_t left = deadline - now_ms();
		const uint8_t *icmp;
		ssize_t n;
		size_t off = 0;

		if (left <= 0) {
			r = 0;
			goto out;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			r = 0;
			goto out;
		}
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			r = 0;
			goto out;
		}
		if (raw && v4) {
			if (n < 20)
				continue;
			off = (size_t)(buf[0] & 0x0F) * 4;
		}
		if ((size_t)n < off + sizeof(pkt))
			continue;
		icmp = buf + off;
		if (icmp[0] != (v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY))
			continue;
		/* Ping sockets rewrite the id to their own port; raw sockets see everything. */
		if (raw && memcmp(icmp + 4, &id, 2) != 0)
			continue;
		if (icmp[6] != (uint8_t)(seq >> 8) || icmp[7] != (uint8_t)seq ||
		    memcmp(icmp + 8, cookie, sizeof(cookie)) != 0)
			continue;
		if (!same_addr(&from, dst->ai_addr))
			continue;
		r = 1;
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return r;
}

static int reach_tcp(const char *target, unsigned port, int timeout_ms)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL, *p;
	int64_t deadline = now_ms() + timeout_ms;
	char portstr[8];
	int r = 0;

	snprintf(portstr, sizeof(portstr), "%u", port);
	if (getaddrinfo(target, portstr, &hints, &ai) != 0)
		return 0;
	for (p = ai; p != NULL && r == 0; p = p->ai_next) {
		struct pollfd pfd;
		int fd, err = 0;
		socklen_t elen = sizeof(err);
		int64_t left;

		fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, p->ai_addr, p->ai_addrlen) == 0) {
			r = 1;
		} else if (errno == EINPROGRESS) {
			left = deadline - now_ms();
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (left > 0 && poll(&pfd, 1, (int)left) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
				r = 1;
		}
		close(fd);
		if (now_ms() >= deadline)
			break;
	}
	freeaddrinfo(ai);
	return r;
}

int reach_check(enum reach_method m, unsigned tcp_port, const char *target, double timeout_s)
{
	int timeout_ms;

	if (target == NULL || target[0] == '\0')
		return 0;
	if (timeout_s < 0.01)
		timeout_s = 0.01;
	if (timeout_s > 86400)
		timeout_s = 86400;
	timeout_ms = (int)(timeout_s * 1000.0);
	if (m == REACH_TCP)
		return reach_tcp(target, tcp_port, timeout_ms);
	return reach_icmp(target, timeout_ms);
}
