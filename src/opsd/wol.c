/* Wake-on-LAN: MAC address parsing, the 102-byte magic packet and sending it over UDP. */
#include "wol.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/strutil.h"

int wol_parse_mac(const char *s, uint8_t mac[6])
{
	char hex[13];
	size_t len, i, n = 0;

	if (s == NULL)
		return -EINVAL;
	len = strlen(s);
	if (len == 17 || len == 14) {
		/* xx:xx:xx:xx:xx:xx (any separator) or xxxx.xxxx.xxxx: drop every separator */
		char sep = s[len == 17 ? 2 : 4];

		for (i = 0; i < len; i++) {
			if (s[i] == sep)
				continue;
			if (n >= 12)
				return -EINVAL;
			hex[n++] = s[i];
		}
	} else if (len == 12) {
		memcpy(hex, s, 12);
		n = 12;
	} else {
		return -EINVAL;
	}
	if (n != 12)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		int hi = str_hex_digit(hex[2 * i]), lo = str_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void wol_format_mac(const uint8_t mac[6], char out[WOL_MAC_STR])
{
	snprintf(out, WOL_MAC_STR, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

void wol_build_packet(const uint8_t mac[6], uint8_t out[WOL_PACKET_LEN])
{
	size_t i;

	memset(out, 0xFF, 6);
	for (i = 0; i < 16; i++)
		memcpy(out + 6 + 6 * i, mac, 6);
}

int wol_send(const uint8_t mac[6], const char *broadcast, unsigned port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *ai = NULL;
	uint8_t pkt[WOL_PACKET_LEN];
	char portstr[8];
	int fd = -1, one = 1, r;

	if (port == 0 || port > 65535)
		return -EINVAL;
	snprintf(portstr, sizeof(portstr), "%u", port);
	r = getaddrinfo(broadcast ? broadcast : "255.255.255.255", portstr, &hints, &ai);
	if (r != 0)
		return r == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0) {
		r = -errno;
		goto out;
	}
	wol_build_packet(mac, pkt);
	if (sendto(fd, pkt, sizeof(pkt), 0, ai->ai_addr, ai->ai_addrlen) != (ssize_t)sizeof(pkt)) {
		r = -errno;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return r;
}
