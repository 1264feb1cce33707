/* Access control: LAB_MANAGER_TOKEN (header or cookie) and a client-network allow-list. */
#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strutil.h"
#include "common/xmalloc.h"

int auth_parse_cidr(const char *s, struct auth_cidr *ret)
{
	char addr[64];
	const char *slash;
	struct auth_cidr c = { 0 };
	uint64_t prefix;
	size_t n, i;

	if (s == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, c.addr) == 1) {
		c.family = AF_INET;
		c.prefix = 32;
	} else if (inet_pton(AF_INET6, addr, c.addr) == 1) {
		c.family = AF_INET6;
		c.prefix = 128;
	} else {
		return -EINVAL;
	}
	if (slash) {
		if (parse_u64(slash + 1, 0, c.prefix, &prefix) < 0)
			return -EINVAL;
		c.prefix = (unsigned)prefix;
	}
	/* Clear host bits. */
	for (i = 0; i < 16; i++) {
		unsigned bit = (unsigned)i * 8;

		if (bit >= c.prefix)
			c.addr[i] = 0;
		else if (bit + 8 > c.prefix)
			c.addr[i] &= (uint8_t)(0xFF << (8 - (c.prefix - bit)));
	}
	*ret = c;
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xFF << (8 - rest))) == 0;
}

bool auth_cidr_match(const struct auth_cidr *c, const struct sockaddr *peer)
{
	const uint8_t *a;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };

	if (peer == NULL)
		return false;
	if (peer->sa_family == AF_INET) {
		if (c->family != AF_INET)
			return false;
		a = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
		return prefix_equal(a, c->addr, c->prefix);
	}
	if (peer->sa_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
		if (c->family == AF_INET6)
			return prefix_equal(a, c->addr, c->prefix);
		if (memcmp(a, mapped, 12) == 0)
			return prefix_equal(a + 12, c->addr, c->prefix);
	}
	return false;
}

int auth_init(struct auth *a, const char *token, const char *networks, char *err, size_t errlen)
{
	const char *p;
	char item[80];
	size_t n;

	memset(a, 0, sizeof(*a));
	if (token != NULL && token[0] != '\0')
		a->token = xstrdup(token);
	if (networks == NULL || strcasecmp(networks, "any") == 0 || strcmp(networks, "*") == 0) {
		a->any_network = true;
		return 0;
	}
	while (str_next_item(&networks, ',', &p, &n)) {
		if (n == 0)
			continue;
		if (n >= sizeof(item) || a->n_nets >= AUTH_MAX_NETWORKS) {
			snprintf(err, errlen, "OPS_ALLOWED_NETWORKS: too many or too long entries");
			goto fail;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (auth_parse_cidr(item, &a->nets[a->n_nets]) < 0) {
			snprintf(err, errlen, "OPS_ALLOWED_NETWORKS: invalid network '%s'", item);
			goto fail;
		}
		a->n_nets++;
	}
	if (a->n_nets == 0) {
		snprintf(err, errlen,
			 "OPS_ALLOWED_NETWORKS is empty (use \"any\" for no restriction)");
		goto fail;
	}
	return 0;
fail:
	auth_clear(a);
	return -EINVAL;
}

void auth_clear(struct auth *a)
{
	if (a == NULL)
		return;
	str_free_secret(a->token);
	memset(a, 0, sizeof(*a));
}

unsigned auth_check(const struct auth *a, const char *path, const char *header_token,
		    const char *cookie_token, const struct sockaddr *peer)
{
	unsigned i;

	/* Same effective order as the OpenResty front: token (401) before network (403).
	 * Health checks and Prometheus scrapers need no token (neither carries secrets). */
	if (a->token != NULL && strcmp(path, "/health") != 0 && strcmp(path, "/metrics") != 0) {
		const char *given = (header_token && header_token[0]) ? header_token : cookie_token;

		if (given == NULL || !str_equal_ct(given, a->token))
			return 401;
	}
	if (a->any_network)
		return 0;
	for (i = 0; i < a->n_nets; i++)
		if (auth_cidr_match(&a->nets[i], peer))
			return 0;
	return 403;
}
