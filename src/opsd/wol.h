/* Wake-on-LAN: MAC address parsing, the 102-byte magic packet and sending it over UDP. */
#ifndef RL_OPSD_WOL_H
#define RL_OPSD_WOL_H

#include <stddef.h>
#include <stdint.h>

#define WOL_PACKET_LEN 102
#define WOL_MAC_STR 18

/* Parse a MAC like the Python wakeonlan package: 12 hex digits, 17 characters with the
 * separator found at index 2 ("00:11:22:33:44:55", "00-11-..."), or 14 characters with
 * the separator at index 4 ("0011.2233.4455").
 * 0 or -EINVAL ("Incorrect MAC address format"). */
int wol_parse_mac(const char *s, uint8_t mac[6]);
/* "00:11:22:33:44:55" */
void wol_format_mac(const uint8_t mac[6], char out[WOL_MAC_STR]);
/* 6 x 0xFF followed by the MAC 16 times. */
void wol_build_packet(const uint8_t mac[6], uint8_t out[WOL_PACKET_LEN]);
/* Send one magic packet to broadcast:port (IPv4, SO_BROADCAST). broadcast NULL means
 * 255.255.255.255. Blocking only for name resolution. 0 or negative errno. */
int wol_send(const uint8_t mac[6], const char *broadcast, unsigned port);

#endif
