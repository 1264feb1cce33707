/* Bounded string and number parsing helpers, trimming, wiping secrets. */
#include "strutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	long long v;
	char *end;

	if (s == NULL || s[0] == '\0' || isspace((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0' || end == s)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *ret)
{
	double v;
	char *end;

	if (s == NULL || s[0] == '\0' || isspace((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno == ERANGE || *end != '\0' || end == s || !isfinite(v))
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_size(const char *s, uint64_t max, uint64_t *ret)
{
	char num[32];
	size_t n;
	uint64_t v, mul = 1;
	int r;

	if (s == NULL)
		return -EINVAL;
	n = strlen(s);
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k':
	case 'K':
		mul = 1024ULL;
		break;
	case 'm':
	case 'M':
		mul = 1024ULL * 1024;
		break;
	case 'g':
	case 'G':
		mul = 1024ULL * 1024 * 1024;
		break;
	default:
		break;
	}
	if (mul != 1)
		num[n - 1] = '\0';
	r = parse_u64(num, 0, UINT64_MAX / mul, &v);
	if (r < 0)
		return r;
	if (v * mul > max)
		return -ERANGE;
	*ret = v * mul;
	return 0;
}

int parse_bool_strict(const char *s, bool *ret)
{
	static const char *const yes[] = { "true", "1", "yes", "on", "t", "y" };
	static const char *const no[] = { "false", "0", "no", "off", "f", "n" };
	size_t i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

size_t strlcpy_rl(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

bool str_has_suffix_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_equal_ct(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b), i;
	unsigned char d = n != m;

	for (i = 0; i < m; i++)
		d |= (unsigned char)a[i % (n ? n : 1)] ^ (unsigned char)b[i];
	return d == 0 && n == m;
}

void str_trim(const char **s, size_t *n)
{
	while (*n > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

char *str_trim_dup(const char *s, size_t n)
{
	str_trim(&s, &n);
	return xstrndup(s, n);
}

bool str_next_item(const char **s, char sep, const char **ret, size_t *ret_n)
{
	const char *p = *s, *end;
	size_t n;

	if (*p == '\0')
		return false;
	end = strchr(p, sep);
	n = end ? (size_t)(end - p) : strlen(p);
	*s = end ? end + 1 : p + n;
	str_trim(&p, &n);
	*ret = p;
	*ret_n = n;
	return true;
}

int str_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void str_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t str_utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

size_t str_utf8_repair(char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = str_utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0 || s[i] == '\0') {
			s[i] = '?';
			k = 1;
		}
		i += k;
	}
	return n;
}
