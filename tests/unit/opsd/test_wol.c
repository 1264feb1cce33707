/* Unit tests for wol.c: MAC formats (wakeonlan's) and the magic packet. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wol.h"

static void test_mac_and_packet(void **state)
{
	static const uint8_t want[6] = { 0x00, 0x11, 0x22, 0xaa, 0xBB, 0xcc };
	static const char *const good[] = { "00:11:22:aa:bb:cc", "00-11-22-AA-BB-CC",
					    "001122aabbcc", "0011.22aa.bbcc", "00 11 22 aa bb cc" };
	static const char *const bad[] = { "",
					   "00:11:22:aa:bb",
					   "00:11:22:aa:bb:cg",
					   "00:11-22:aa:bb:cc",
					   "001122aabbc",
					   "001122aabbccddee",
					   "0011.22aa.bbc.",
					   "00:11:22:aa:bb:c:" };
	uint8_t mac[6], pkt[WOL_PACKET_LEN];
	char s[WOL_MAC_STR];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(mac, 0, sizeof(mac));
		assert_int_equal(wol_parse_mac(good[i], mac), 0);
		assert_memory_equal(mac, want, 6);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(wol_parse_mac(bad[i], mac), -EINVAL);
	assert_int_equal(wol_parse_mac(NULL, mac), -EINVAL);
	wol_format_mac(want, s);
	assert_string_equal(s, "00:11:22:aa:bb:cc");
	wol_build_packet(want, pkt);
	for (i = 0; i < 6; i++)
		assert_int_equal(pkt[i], 0xFF);
	for (i = 0; i < 16; i++)
		assert_memory_equal(pkt + 6 + 6 * i, want, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_and_packet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
