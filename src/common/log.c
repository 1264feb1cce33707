/* One logger for the daemons: levels, text or JSON lines on stderr, journald priorities. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static const char *log_default_logger = "main";
static int log_level = LOG_LEVEL_INFO;
static enum log_format log_format = LOG_FORMAT_TEXT;

static const struct {
	const char *name;
	int level;
	int syslog_prio;
} log_levels[] = {
	{ "DEBUG", LOG_LEVEL_DEBUG, 7 },       { "INFO", LOG_LEVEL_INFO, 6 },
	{ "WARNING", LOG_LEVEL_WARNING, 4 },   { "ERROR", LOG_LEVEL_ERROR, 3 },
	{ "CRITICAL", LOG_LEVEL_CRITICAL, 2 },
};

/* True when stderr is the stream journald gave us ($JOURNAL_STREAM=dev:ino). */
static int log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *default_logger)
{
	log_default_logger = default_logger;
	if (log_stderr_is_journal())
		log_format = LOG_FORMAT_JOURNAL;
}

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_set_format(enum log_format format)
{
	log_format = format;
}

int log_parse_level(const char *s, int *ret_level)
{
	size_t i;

	if (s == NULL)
		return -EINVAL;
	if (strcasecmp(s, "warn") == 0) {
		*ret_level = LOG_LEVEL_WARNING;
		return 0;
	}
	if (strcasecmp(s, "fatal") == 0) {
		*ret_level = LOG_LEVEL_CRITICAL;
		return 0;
	}
	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcasecmp(s, log_levels[i].name) == 0) {
			*ret_level = log_levels[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

int log_parse_format(const char *s, enum log_format *ret)
{
	if (strcasecmp(s, "text") == 0)
		*ret = LOG_FORMAT_TEXT;
	else if (strcasecmp(s, "json") == 0)
		*ret = LOG_FORMAT_JSON;
	else if (strcasecmp(s, "journal") == 0)
		*ret = LOG_FORMAT_JOURNAL;
	else
		return -EINVAL;
	return 0;
}

const char *log_level_name(int level)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (level <= log_levels[i].level)
			return log_levels[i].name;
	return "CRITICAL";
}

static int log_syslog_prio(int level)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (level <= log_levels[i].level)
			return log_levels[i].syslog_prio;
	return 2;
}

bool log_enabled(int level)
{
	return level >= log_level;
}

/* Length of the well-formed UTF-8 sequence at p (1 to 4 bytes), 0 when the bytes there are
 * not one (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). p is
 * NUL-terminated, so a sequence cut short stops at the NUL without reading past it. */
static size_t log_utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* Copy msg into out as valid UTF-8: every byte that is not part of a well-formed sequence
 * becomes the text \xNN, so a line is never lost or rejected for its bytes. With
 * `controls`, CR and LF become \r and \n and other control bytes (but TAB) \xNN, so one
 * call is one line; the JSON encoder escapes those itself. Stops before a sequence or an
 * escape that does not fit whole. */
static void log_escape(char *out, size_t outlen, const char *msg, bool controls)
{
	const unsigned char *p = (const unsigned char *)msg;
	size_t o = 0, n;

	while (*p != '\0') {
		n = log_utf8_len(p);
		if (n == 0 || (controls && n == 1 && (*p < 0x20 || *p == 0x7f) && *p != '\t')) {
			if (o + 5 > outlen)
				break;
			if (*p == '\n' && n == 1)
				o += (size_t)snprintf(out + o, outlen - o, "\\n");
			else if (*p == '\r' && n == 1)
				o += (size_t)snprintf(out + o, outlen - o, "\\r");
			else
				o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", *p);
			p++;
			continue;
		}
		if (o + n + 1 > outlen)
			break;
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
}

/* The JSON line, written with one writev; NULL when it cannot be encoded (out of memory). */
static char *log_json(int level, const char *logger, const char *msg, const struct timeval *tv)
{
	char ts[40], lg[256];
	struct tm tm;
	json_t *o;
	char *s;

	gmtime_r(&tv->tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03dZ", (int)(tv->tv_usec / 1000));
	log_escape(lg, sizeof(lg), logger, false);
	o = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level", log_level_name(level), "logger",
		      lg, "message", msg);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

void log_write(int level, const char *logger, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], esc[LOG_LINE_MAX], line[LOG_LINE_MAX + 256];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n = 0;
	int saved_errno = errno;

	if (level < log_level)
		return;
	if (logger == NULL)
		logger = log_default_logger;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gettimeofday(&tv, NULL);

	if (log_format == LOG_FORMAT_JSON) {
		char *s;

		log_escape(esc, sizeof(esc), msg, false);
		s = log_json(level, logger, esc, &tv);
		if (s != NULL) {
			/* Not through `line`: JSON escaping may make it several times longer, and
			 * a cut JSON line is no JSON at all. The size stays bounded by msg's. */
			struct iovec iov[2] = { { s, strlen(s) }, { (void *)"\n", 1 } };

			(void)!writev(STDERR_FILENO, iov, 2);
			free(s);
			goto out;
		}
		/* Out of memory: the text line below rather than nothing. */
	}
	log_escape(esc, sizeof(esc), msg, true);
	if (log_format == LOG_FORMAT_JOURNAL) {
		n = snprintf(line, sizeof(line), "<%d>%s: %s\n", log_syslog_prio(level), logger,
			     esc);
	} else {
		localtime_r(&tv.tv_sec, &tm);
		n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03d [%s] %s: %s\n", tm.tm_hour,
			     tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000), log_level_name(level),
			     logger, esc);
	}
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line keeps lines whole when several threads log. */
	(void)!write(STDERR_FILENO, line, (size_t)n);
out:
	errno = saved_errno;
}
