#include "log.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_line(enum log_level level, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void write_line(enum log_level level, const char *module, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s %s: ", level_names[level], module);
    if (n < 0)
        return;
    if ((size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

int log_level_parse(const char *name, enum log_level *level_out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level_out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
    return level <= LOG_LEVEL_DEBUG ? level_names[level] : "?";
}

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

int log_enabled(enum log_level level)
{
    return level <= current_level;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    write_line(level, module, fmt, ap);
    va_end(ap);
}

/* Opens a new one-second window when the old one has passed, reporting what
 * the old one suppressed; then lets the line through if the window has room. */
void log_msg_limited(struct log_limit *limit, enum log_level level, const char *module,
                     const char *fmt, ...)
{
    long long now = monotonic_ms();
    if (now - limit->window_start_ms >= 1000) {
        if (limit->n_suppressed)
            log_msg(level, module, "suppressed %lu similar lines", limit->n_suppressed);
        limit->window_start_ms = now;
        limit->n_in_window = 0;
        limit->n_suppressed = 0;
    }
    if (limit->n_in_window >= LOG_LIMIT_PER_SEC) {
        limit->n_suppressed++;
        return;
    }
    limit->n_in_window++;
    va_list ap;
    va_start(ap, fmt);
    write_line(level, module, fmt, ap);
    va_end(ap);
}

static void emit_lws_line(int lws_level, const char *line)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    enum log_level level = lws_level == LLL_ERR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN;
    log_msg(level, "lws", "%.*s", (int)len, line);
}

void log_attach_lws(void)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, emit_lws_line);
}
