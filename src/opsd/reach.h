/* Reachability checks for wake-and-wait: one ICMP echo (Baseline) or a TCP connect. */
#ifndef RL_OPSD_REACH_H
#define RL_OPSD_REACH_H

enum reach_method {
	REACH_ICMP, /* one echo request, like `ping -c 1 -W <timeout> target` */
	REACH_TCP,  /* a TCP connect to one port (the original's later TCP/5986 probe) */
};

/* Blocking check with a deadline of timeout_s seconds (at least 0.01). Returns 1 when the
 * target answered, 0 when it did not (also for an empty or unresolvable target), or a
 * negative errno when the check itself cannot run (-EPERM: no ICMP socket allowed, the
 * process needs CAP_NET_RAW or net.ipv4.ping_group_range). Thread-safe; never logs. */
int reach_check(enum reach_method m, unsigned tcp_port, const char *target, double timeout_s);
/* Whether this process may open an ICMP socket (datagram or raw): 0 or -EPERM. */
int reach_icmp_available(void);

#endif
