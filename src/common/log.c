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
	{ "DEBUG", LOG_LEVEL_DEBUG, 7 },
	{ "INFO", LOG_LEVEL_INFO, 6 },
	{ "WARNING", LOG_LEVEL_WARNING, 4 },
	{ "ERROR", LOG_LEVEL_ERROR, 3 },
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

/* Copy msg into out, escaping CR, LF and other control bytes. */
static void log_escape(char *out, size_t outlen, const char *msg)
{
	size_t o = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)msg; *p != '\0' && o + 5 < outlen; p++) {
		if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (*p == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else if (*p < 0x20 && *p != '\t') {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
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
	log_escape(esc, sizeof(esc), msg);

	gettimeofday(&tv, NULL);
	switch (log_format) {
	case LOG_FORMAT_JOURNAL:
		n = snprintf(line, sizeof(line), "<%d>%s: %s\n", log_syslog_prio(level), logger, esc);
		break;
	case LOG_FORMAT_JSON: {
		char ts[40];
		json_t *o;
		char *s;

		gmtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03dZ", (int)(tv.tv_usec / 1000));
		o = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level", log_level_name(level),
			      "logger", logger, "message", msg);
		s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		n = snprintf(line, sizeof(line), "%s\n", s ? s : "{}");
		free(s);
		json_decref(o);
		break;
	}
	case LOG_FORMAT_TEXT:
	default:
		localtime_r(&tv.tv_sec, &tm);
		n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03d [%s] %s: %s\n", tm.tm_hour,
			     tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000), log_level_name(level),
			     logger, esc);
		break;
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
