/* Bounded string and number parsing helpers (no atoi/strtol without end checks). */
#ifndef RL_STRUTIL_H
#define RL_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal integer in [min, max], whole string, no sign for u64. 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* Finite decimal number in [min, max] (e.g. seconds "1.5"). */
int parse_double(const char *s, double min, double max, double *ret);
/* Byte size with optional K/M/G suffix (binary multiples), e.g. "16M". */
int parse_size(const char *s, uint64_t max, uint64_t *ret);
/* Boolean as pydantic v2 parses it: true/1/yes/on/t/y, false/0/no/off/f/n, any case. */
int parse_bool_strict(const char *s, bool *ret);

/* Copy with truncation, always NUL-terminates when size > 0; returns strlen(src). */
size_t strlcpy_rl(char *dst, const char *src, size_t size);
bool str_has_suffix_ci(const char *s, const char *suffix);
bool str_has_prefix(const char *s, const char *prefix);
/* Constant-time comparison of two byte strings (length leaks, contents do not). */
bool str_equal_ct(const char *a, const char *b);
/* Narrow the span (*s, *n) to exclude leading and trailing whitespace (isspace). */
void str_trim(const char **s, size_t *n);
/* NUL-terminated copy of s[0..n) without leading and trailing whitespace; aborts on OOM
 * (xmalloc). */
char *str_trim_dup(const char *s, size_t n);
/* The next item of the sep-separated list at *s, trimmed, as a span (empty items too);
 * *s moves past it. false when the list is used up. */
bool str_next_item(const char **s, char sep, const char **ret, size_t *ret_n);
/* The value of a hexadecimal digit (either case), or -1. */
int str_hex_digit(char c);
/* Replace every byte of s[0..n) that is not part of valid UTF-8 (and every NUL) with '?', so
 * that text from outside (a child's output) can go into JSON; returns n. */
size_t str_utf8_repair(char *s, size_t n);
/* Wipe a NUL-terminated secret (explicit_bzero) and free it; NULL is a no-op. */
void str_free_secret(char *s);

#endif
