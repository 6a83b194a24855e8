/* log: one line per message on stderr, "level module: message key=value",
 * or with LOG_FORMAT_JSON one JSON object per line for log shippers:
 *   {"ts":"2026-12-04T03:04:05.678Z","level":"warn","module":"ingest",
 *    "message":"rejected message: ...","field":"seq"}
 * where every trailing " key=value" of the text becomes its own string field
 * (keys [A-Za-z_][A-Za-z0-9_.-]*, never ts/level/module/message; values up to
 * the next space). Strings are escaped for JSON and bytes that are not UTF-8
 * become U+FFFD, so a peer's bytes in a message never break the line.
 * Owns the process's log level and format. Anything a peer can trigger goes through the
 * _limited variants: at most LOG_LIMIT_PER_SEC lines per second per call
 * site, then one line counting what was suppressed. Loop thread only. */
#ifndef TB_LOG_H
#define TB_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

#define LOG_LIMIT_PER_SEC 5

/* Per-call-site state of a rate-limited log line. */
struct log_limit {
    long long window_start_ms;
    unsigned n_in_window;
    unsigned long n_suppressed;
};

/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *level_out);
const char *log_level_name(enum log_level level);
void log_set_level(enum log_level level);

/* Parses "text" or "json". Returns 0 or -EINVAL. */
int log_format_parse(const char *name, enum log_format *format_out);
void log_set_format(enum log_format format);

/* Renders one line (without the newline) in format, NUL-terminated into
 * buf[0..cap). Text is cut to fit; JSON drops what does not fit (the message
 * cut, later fields left out) and stays one valid object, given at least
 * LOG_JSON_MIN_CAP bytes (below that it writes ""). Returns the length. */
#define LOG_JSON_MIN_CAP 128
size_t log_format_line(enum log_format format, enum log_level level, const char *module,
                       const char *message, char *buf, size_t cap);
enum log_level log_get_level(void);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_msg_limited(struct log_limit *limit, enum log_level level, const char *module,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Routes libwebsockets' own log lines (warn and above) into ours. */
void log_attach_lws(void);

#define log_error(module, ...) log_msg(LOG_LEVEL_ERROR, module, __VA_ARGS__)
#define log_warn(module, ...) log_msg(LOG_LEVEL_WARN, module, __VA_ARGS__)
#define log_info(module, ...) log_msg(LOG_LEVEL_INFO, module, __VA_ARGS__)
#define log_debug(module, ...)                                                                     \
    do {                                                                                           \
        if (log_enabled(LOG_LEVEL_DEBUG))                                                          \
            log_msg(LOG_LEVEL_DEBUG, module, __VA_ARGS__);                                         \
    } while (0)

#define LOG_LIMITED_(level, module, ...)                                                           \
    do {                                                                                           \
        static struct log_limit log_limit_site_;                                                   \
        if (log_enabled(level))                                                                    \
            log_msg_limited(&log_limit_site_, level, module, __VA_ARGS__);                         \
    } while (0)
#define log_warn_limited(module, ...) LOG_LIMITED_(LOG_LEVEL_WARN, module, __VA_ARGS__)
#define log_info_limited(module, ...) LOG_LIMITED_(LOG_LEVEL_INFO, module, __VA_ARGS__)
#define log_error_limited(module, ...) LOG_LIMITED_(LOG_LEVEL_ERROR, module, __VA_ARGS__)

#endif
