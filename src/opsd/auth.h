/* Access control: LAB_MANAGER_TOKEN (header or cookie) and a client-network allow-list. */
#ifndef RL_OPSD_AUTH_H
#define RL_OPSD_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define AUTH_MAX_NETWORKS 64

struct auth_cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network bytes, host bits cleared */
	unsigned prefix;
};

struct auth {
	char *token;      /* NULL: no token required */
	bool any_network; /* no allow-list */
	struct auth_cidr nets[AUTH_MAX_NETWORKS];
	unsigned n_nets;
};

/* "10.0.0.0/8", "192.168.1.7" (= /32), "::1/128", "fe80::/10". 0 or -EINVAL. */
int auth_parse_cidr(const char *s, struct auth_cidr *ret);
/* Whether peer falls in c (IPv4-mapped IPv6 peers match IPv4 networks). */
bool auth_cidr_match(const struct auth_cidr *c, const struct sockaddr *peer);

/* token: NULL or "" disables the token check. networks: comma-separated CIDRs, or "any"
 * / "*" for no restriction. -EINVAL with a message in err on a bad entry. */
int auth_init(struct auth *a, const char *token, const char *networks, char *err, size_t errlen);
void auth_clear(struct auth *a);

/* 0 when the request may go on, 401 (token) or 403 (network). The token is required on
 * every path except /health and /metrics; the network list applies to every path. The token comes
 * from the X-Lab-Manager-Token header, or the lab_manager_token cookie when the header is
 * absent or empty. Compared in constant time. */
unsigned auth_check(const struct auth *a, const char *path, const char *header_token,
		    const char *cookie_token, const struct sockaddr *peer);

#endif
