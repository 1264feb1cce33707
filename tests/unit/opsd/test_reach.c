/* Unit tests: the ICMP and TCP reachability checks on loopback, including a host that never
 * answers (a private network namespace whose loopback ignores echo requests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "reach.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_icmp_loopback(void **state)
{
	/* This test needs CAP_NET_RAW or ping_group_range (CI runs as root). */
	assert_int_equal(reach_icmp_available(), 0);
	assert_int_equal(reach_check(REACH_ICMP, 0, "127.0.0.1", 2), 1);
	assert_int_equal(reach_check(REACH_ICMP, 0, "::1", 2), 1);
	assert_int_equal(reach_check(REACH_ICMP, 0, "", 1), 0);
	assert_int_equal(reach_check(REACH_ICMP, 0, NULL, 1), 0);
}

static void test_tcp(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	assert_int_equal(reach_check(REACH_TCP, port, "127.0.0.1", 1), 1);
	close(fd);
	assert_int_equal(reach_check(REACH_TCP, port, "127.0.0.1", 1), 0); /* refused */
}

/* In a new network namespace: bring lo up, ignore echo requests, ping must time out. */
static int child_never_answers(void)
{
	struct ifreq ifr;
	double t0;
	int fd, r;

	if (unshare(CLONE_NEWNET) < 0)
		return 10;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return 11;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return 12;
	close(fd);
	if (reach_check(REACH_ICMP, 0, "127.0.0.1", 1) != 1)
		return 13; /* answers before the sysctl */
	fd = open("/proc/sys/net/ipv4/icmp_echo_ignore_all", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1\n", 2) != 2)
		return 14;
	close(fd);
	t0 = now_s();
	r = reach_check(REACH_ICMP, 0, "127.0.0.1", 0.4);
	if (r != 0)
		return 15;
	if (now_s() - t0 < 0.35)
		return 16; /* it waited for the timeout */
	return 0;
}

static void test_icmp_never_answers(void **state)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_never_answers());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icmp_loopback),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_icmp_never_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
