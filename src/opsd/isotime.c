/* ISO-8601 timestamps in UTC: parsing (Z, offsets, fractions, naive = UTC) and formatting. */
#include "isotime.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define USEC 1000000LL

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Exactly n digits at *p; advances. */
static int digits(const char **p, unsigned n, unsigned *ret)
{
	unsigned v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

int isotime_parse(const char *s, int64_t *ret_usec)
{
	const char *p = s;
	unsigned year, mon, day, hh = 0, mm = 0, ss = 0, oh, om = 0;
	int64_t frac = 0, off = 0, t;

	if (s == NULL)
		return -EINVAL;
	if (digits(&p, 4, &year) < 0 || *p++ != '-' || digits(&p, 2, &mon) < 0 || *p++ != '-' ||
	    digits(&p, 2, &day) < 0)
		return -EINVAL;
	if (year < 1 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &hh) < 0 || *p++ != ':' || digits(&p, 2, &mm) < 0)
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &ss) < 0)
				return -EINVAL;
			if (*p == '.' || *p == ',') {
				int64_t scale = USEC / 10;
				unsigned n = 0;

				p++;
				if (!isdigit((unsigned char)*p))
					return -EINVAL;
				while (isdigit((unsigned char)*p)) {
					if (n++ >= 9)
						return -EINVAL;
					frac += (*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
		if (hh > 23 || mm > 59 || ss > 59)
			return -EINVAL;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;

			p++;
			if (digits(&p, 2, &oh) < 0)
				return -EINVAL;
			if (*p == ':') {
				p++;
				if (digits(&p, 2, &om) < 0)
					return -EINVAL;
			} else if (isdigit((unsigned char)*p)) {
				if (digits(&p, 2, &om) < 0)
					return -EINVAL;
			}
			if (oh > 23 || om > 59)
				return -EINVAL;
			off = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
		}
	}
	if (*p != '\0')
		return -EINVAL;
	t = days_from_civil(year, mon, day) * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 + ss;
	t -= off;
	*ret_usec = t * USEC + frac;
	return 0;
}

static void split(int64_t usec, int64_t *y, unsigned *mo, unsigned *d, unsigned *h, unsigned *mi,
		  unsigned *s, unsigned *us)
{
	int64_t secs = usec / USEC, rem = usec % USEC, days, sod;

	if (rem < 0) {
		rem += USEC;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, y, mo, d);
	*h = (unsigned)(sod / 3600);
	*mi = (unsigned)(sod % 3600 / 60);
	*s = (unsigned)(sod % 60);
	*us = (unsigned)rem;
}

void isotime_format(int64_t usec, char out[ISOTIME_MAX])
{
	int64_t y;
	unsigned mo, d, h, mi, s, us;

	split(usec, &y, &mo, &d, &h, &mi, &s, &us);
	if (us != 0)
		snprintf(out, ISOTIME_MAX, "%04lld-%02u-%02uT%02u:%02u:%02u.%06u+00:00",
			 (long long)y, mo, d, h, mi, s, us);
	else
		snprintf(out, ISOTIME_MAX, "%04lld-%02u-%02uT%02u:%02u:%02u+00:00", (long long)y,
			 mo, d, h, mi, s);
}

void isotime_format_db(int64_t usec, char out[ISOTIME_MAX])
{
	int64_t y;
	unsigned mo, d, h, mi, s, us;

	split(usec, &y, &mo, &d, &h, &mi, &s, &us);
	snprintf(out, ISOTIME_MAX, "%04lld-%02u-%02u %02u:%02u:%02u", (long long)y, mo, d, h, mi,
		 s);
}

int64_t isotime_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * USEC + ts.tv_nsec / 1000;
}
