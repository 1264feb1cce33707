/* JSON helpers with the original's (Python) coercion rules: truthiness, int(), str(), args. */
#ifndef RL_OPSD_JSONX_H
#define RL_OPSD_JSONX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JSONX_ARGS_MAX 64
#define JSONX_ARG_LEN_MAX 4096

/* The request body as an object (new reference). Empty or malformed JSON gives {} (the
 * original's force=True, silent=True); valid JSON that is not an object gives NULL. */
json_t *jsonx_body_object(const char *body, size_t len);
/* Python truthiness: null, false, 0, 0.0, "", [] and {} are false. NULL is false. */
bool jsonx_truthy(const json_t *v);
/* The original's parse_bool: NULL/absent -> def; bool as is; strings by
 * jsonx_parse_bool_str; other types by truthiness. */
bool jsonx_parse_bool(const json_t *v, bool def);
/* parse_bool's rule for a string s[0..n): false only for false/0/no/off (trimmed, any
 * case); anything else, including "", is true. */
bool jsonx_parse_bool_str(const char *s, size_t n);
/* Python int() of a JSON value: integers, integral-or-not reals (truncated), decimal
 * strings (jsonx_str_int), booleans. -EINVAL when not a number, -ERANGE outside
 * [min, max]. */
int jsonx_int(const json_t *v, int64_t min, int64_t max, int64_t *ret);
/* Python int() of a string s[0..n): trimmed, optional sign, decimal digits, within int64.
 * 0 or -EINVAL. */
int jsonx_str_int(const char *s, size_t n, int64_t *ret);
/* Python float(): numbers, decimal strings. -EINVAL / -ERANGE. */
int jsonx_double(const json_t *v, double min, double max, double *ret);
/* Python str() of a scalar (caller frees); -EINVAL for arrays and objects. */
int jsonx_to_str(const json_t *v, char **ret);
/* The first of the keys whose value is a string that is not empty (borrowed), or NULL.
 * *ret_bad is set when such a key holds a value that is neither null, "" nor a string. */
const char *jsonx_first_str(const json_t *obj, const char *const *keys, bool *ret_bad);
/* normalize_args: NULL/null -> copy of def (may be NULL/0); a list -> str() of each item;
 * a scalar -> [str(value)]. -EINVAL for objects or nested containers, -E2BIG over the
 * limits. *ret is a NULL-terminated array (free with jsonx_args_free). */
int jsonx_args(const json_t *v, const char *const *def, size_t ndef, char ***ret, size_t *ret_n);
void jsonx_args_free(char **args);
/* args as a JSON array of strings (new reference). */
json_t *jsonx_args_json(char *const *args, size_t n);
/* Bytes decoded as UTF-8 with invalid sequences dropped (errors="ignore"); optionally
 * stripped of surrounding whitespace like str.strip(). Caller frees. */
char *jsonx_utf8_lossy(const void *p, size_t n, bool strip);

#endif
