#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MESSAGE_MAX 1024    /* one formatted message */
#define LINE_MAX_BYTES 8192 /* one rendered line: JSON escapes may grow it 6x */
#define MAX_FIELDS 16       /* trailing key=value pairs split out in JSON */
#define JSON_RESERVE 8      /* room always kept for the closing "} */

static enum log_level current_level = LOG_LEVEL_INFO;
static enum log_format current_format = LOG_FORMAT_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const format_names[] = {"text", "json"};

/* A line being rendered into a fixed buffer; it never overflows, and in JSON
 * the closing characters always fit (JSON_RESERVE). */
struct line_out {
    char *buf;
    size_t cap, len;
    bool is_full; /* a piece did not fit: JSON skips everything after it */
};

struct kv_span {
    const char *key, *value;
    size_t key_len, value_len;
};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_raw(struct line_out *o, const char *s, size_t n, size_t reserve)
{
    if (o->len + n + reserve >= o->cap)
        n = o->len + reserve < o->cap ? o->cap - reserve - o->len - 1 : 0;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* Appends s[0..n) only if all of it fits with reserve bytes to spare. */
static bool put_whole(struct line_out *o, const char *s, size_t n, size_t reserve)
{
    if (o->is_full || o->len + n + reserve >= o->cap) {
        o->is_full = true;
        return false;
    }
    put_raw(o, s, n, reserve);
    return true;
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (1..4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80                    ? 1
                 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, surrogate, above U+10FFFF */
    return len;
}

/* Appends s[0..n) as the inside of a JSON string. */
static void put_json_text(struct line_out *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    bool is_room = true;
    for (size_t i = 0; i < n && is_room;) {
        char esc[8];
        size_t len = utf8_len(p + i, n - i);
        if (len == 0) {
            is_room = put_whole(o, "\\ufffd", 6, JSON_RESERVE);
            i++;
            continue;
        }
        if (p[i] < 0x20 || p[i] == '"' || p[i] == '\\') {
            int k = p[i] == '"' || p[i] == '\\' ? snprintf(esc, sizeof esc, "\\%c", p[i])
                                                : snprintf(esc, sizeof esc, "\\u%04x", p[i]);
            is_room = put_whole(o, esc, (size_t)k, JSON_RESERVE);
        } else {
            is_room = put_whole(o, s + i, len, JSON_RESERVE);
        }
        i += len;
    }
}

/* Appends ,"key":"value" whole, or nothing (may_cut: a cut value) once the
 * line is full; nothing is appended after a piece that did not fit. Keys
 * need no escapes. */
static void put_json_field(struct line_out *o, const char *key, size_t key_len, const char *value,
                           size_t value_len, bool may_cut)
{
    size_t start = o->len;
    if (o->is_full || o->len + key_len + 6 + JSON_RESERVE >= o->cap) {
        o->is_full = true;
        return;
    }
    put_raw(o, ",\"", 2, JSON_RESERVE);
    put_raw(o, key, key_len, JSON_RESERVE);
    put_raw(o, "\":\"", 3, JSON_RESERVE);
    put_json_text(o, value, value_len);
    if (o->is_full && !may_cut) {
        o->len = start;
        o->buf[start] = '\0';
        return;
    }
    put_raw(o, "\"", 1, 0); /* always fits: JSON_RESERVE was kept for it */
}

static bool is_reserved_key(const char *key, size_t len)
{
    static const char *const reserved[] = {"ts", "level", "module", "message"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strlen(reserved[i]) == len && memcmp(reserved[i], key, len) == 0)
            return true;
    return false;
}

/* True if token[0..len) is key=value with a key the JSON form splits out. */
static bool split_kv(const char *token, size_t len, struct kv_span *kv)
{
    const char *eq = memchr(token, '=', len);
    if (!eq || eq == token || !(isalpha((unsigned char)token[0]) || token[0] == '_'))
        return false;
    for (const char *c = token; c < eq; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.' && *c != '-')
            return false;
    *kv = (struct kv_span){token, eq + 1, (size_t)(eq - token), len - (size_t)(eq - token) - 1};
    return !is_reserved_key(kv->key, kv->key_len);
}

/* True if kv's key is among kvs[0..n): one key appears once per object. */
static bool is_key_taken(const struct kv_span *kvs, size_t n, const struct kv_span *kv)
{
    for (size_t i = 0; i < n; i++)
        if (kvs[i].key_len == kv->key_len && memcmp(kvs[i].key, kv->key, kv->key_len) == 0)
            return true;
    return false;
}

/* Peels trailing " key=value" tokens off message[0..*len); returns how many
 * (stored last first in kvs) and shortens *len to what is left. */
static size_t peel_fields(const char *message, size_t *len, struct kv_span kvs[MAX_FIELDS])
{
    size_t n = 0;
    while (n<MAX_FIELDS && * len> 0) {
        const char *space = NULL;
        for (size_t i = *len; i > 0; i--)
            if (message[i - 1] == ' ') {
                space = message + i - 1;
                break;
            }
        if (!space)
            break;
        size_t token_len = *len - (size_t)(space + 1 - message);
        if (!split_kv(space + 1, token_len, &kvs[n]) || is_key_taken(kvs, n, &kvs[n]))
            break;
        n++;
        *len = (size_t)(space - message);
    }
    return n;
}

static void put_timestamp(struct line_out *o)
{
    struct timespec ts;
    struct tm tm;
    char text[48];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(text + n, sizeof text - n, ".%03ldZ", ts.tv_nsec / 1000000);
    put_raw(o, text, strlen(text), JSON_RESERVE);
}

static void render_json(struct line_out *o, enum log_level level, const char *module,
                        const char *message)
{
    struct kv_span kvs[MAX_FIELDS];
    size_t message_len = strlen(message);
    size_t n_fields = peel_fields(message, &message_len, kvs);
    put_raw(o, "{\"ts\":\"", 7, JSON_RESERVE);
    put_timestamp(o);
    put_raw(o, "\"", 1, JSON_RESERVE);
    put_json_field(o, "level", 5, level_names[level], strlen(level_names[level]), false);
    put_json_field(o, "module", 6, module, strlen(module), false);
    put_json_field(o, "message", 7, message, message_len, true);
    for (size_t i = n_fields; i > 0; i--)
        put_json_field(o, kvs[i - 1].key, kvs[i - 1].key_len, kvs[i - 1].value,
                       kvs[i - 1].value_len, false);
    put_raw(o, "}", 1, 0);
}

static void write_line(enum log_level level, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void write_line(enum log_level level, const char *module, const char *fmt, va_list ap)
{
    char message[MESSAGE_MAX];
    vsnprintf(message, sizeof message, fmt, ap);
    static char line[LINE_MAX_BYTES]; /* loop thread only */
    log_format_line(current_format, level, module, message, line, sizeof line);
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

int log_format_parse(const char *name, enum log_format *format_out)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *format_out = (enum log_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_set_format(enum log_format format)
{
    current_format = format;
}

size_t log_format_line(enum log_format format, enum log_level level, const char *module,
                       const char *message, char *buf, size_t cap)
{
    struct line_out o = {buf, cap, 0, false};
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    if (level > LOG_LEVEL_DEBUG)
        level = LOG_LEVEL_DEBUG;
    if (format == LOG_FORMAT_JSON) {
        if (cap >= LOG_JSON_MIN_CAP)
            render_json(&o, level, module, message);
        return o.len;
    }
    put_raw(&o, level_names[level], strlen(level_names[level]), 0);
    put_raw(&o, " ", 1, 0);
    put_raw(&o, module, strlen(module), 0);
    put_raw(&o, ": ", 2, 0);
    put_raw(&o, message, strlen(message), 0);
    return o.len;
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
    /* peers can make lws complain (a connection past the descriptor limit
     * logs one error each): limited like any peer-triggered line */
    static struct log_limit limit;
    enum log_level level = lws_level == LLL_ERR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN;
    if (log_enabled(level))
        log_msg_limited(&limit, level, "lws", "%.*s", (int)len, line);
}

void log_attach_lws(void)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, emit_lws_line);
}
