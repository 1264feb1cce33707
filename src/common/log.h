/* One logger for the daemons: levels, text or JSON lines on stderr, journald priority prefixes. */
#ifndef RL_LOG_H
#define RL_LOG_H

#include <stdbool.h>

/* Python logging's numeric levels, so names and order match the original servers. */
enum log_level {
	LOG_LEVEL_DEBUG = 10,
	LOG_LEVEL_INFO = 20,
	LOG_LEVEL_WARNING = 30,
	LOG_LEVEL_ERROR = 40,
	LOG_LEVEL_CRITICAL = 50,
};

enum log_format {
	LOG_FORMAT_TEXT,    /* "12:00:01.234 [INFO] logger: message" */
	LOG_FORMAT_JSON,    /* {"time":...,"level":...,"logger":...,"message":...} */
	LOG_FORMAT_JOURNAL, /* "<6>logger: message" for systemd-journald stream capture */
};

#define LOG_LINE_MAX 8192

/* Set the default logger name (e.g. "remote-lab-server"); picks the journal format when
 * stderr is connected to journald ($JOURNAL_STREAM). */
void log_init(const char *default_logger);
void log_set_level(int level);
int log_get_level(void);
void log_set_format(enum log_format format);
/* "debug", "INFO", "warn", "warning", "error", "critical" (any case) -> level. */
int log_parse_level(const char *s, int *ret_level);
const char *log_level_name(int level);
/* Parse "text" / "json" / "journal". */
int log_parse_format(const char *s, enum log_format *ret);
bool log_enabled(int level);

/* Write one line. CR and LF in the message are escaped so one call is one line. */
void log_write(int level, const char *logger, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A file may define LOG_COMPONENT before including this header to name its logger. */
#ifndef LOG_COMPONENT
#define LOG_COMPONENT NULL
#endif

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, LOG_COMPONENT, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, LOG_COMPONENT, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARNING, LOG_COMPONENT, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, LOG_COMPONENT, __VA_ARGS__)
#define log_crit(...) log_write(LOG_LEVEL_CRITICAL, LOG_COMPONENT, __VA_ARGS__)

#endif
