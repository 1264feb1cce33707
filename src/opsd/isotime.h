/* ISO-8601 timestamps in UTC: parsing (Z, offsets, fractions, naive = UTC) and formatting. */
#ifndef RL_OPSD_ISOTIME_H
#define RL_OPSD_ISOTIME_H

#include <stdint.h>

#define ISOTIME_MAX 40

/* Parse "YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|±HH[:MM]]" into microseconds since
 * the epoch (UTC). A value without an offset is taken as UTC. 0 or -EINVAL. */
int isotime_parse(const char *s, int64_t *ret_usec);
/* "YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00" (microseconds only when not zero), like Python's
 * datetime.isoformat() of an aware UTC value. */
void isotime_format(int64_t usec, char out[ISOTIME_MAX]);
/* "YYYY-MM-DD HH:MM:SS" (UTC wall clock, seconds truncated): the form stored in DATETIME. */
void isotime_format_db(int64_t usec, char out[ISOTIME_MAX]);
/* Wall clock now, microseconds since the epoch. */
int64_t isotime_now_usec(void);

#endif
