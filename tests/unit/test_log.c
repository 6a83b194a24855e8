/* log: levels and the rate limit on lines a peer can trigger: at most
 * LOG_LIMIT_PER_SEC lines per call site per second, then one line counting
 * what was suppressed when the next window opens (output captured through
 * Criterion's stderr redirection); and the text and JSON line formats
 * (log_format_line): every JSON line is parsed back with jansson and must be
 * one valid object with ts, level, module, message and the trailing
 * key=value fields, whatever bytes the message holds, however long it is. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define CAPTURE_MAX 8192
#define LINE_CAP 8192

static void capture(void)
{
    cr_redirect_stderr();
    log_set_level(LOG_LEVEL_INFO);
}

/* Everything written to stderr so far. */
static void read_captured(char *buf, size_t cap)
{
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

TestSuite(log, .init = capture);

Test(log, lines_below_the_level_are_not_written)
{
    log_set_level(LOG_LEVEL_WARN);
    log_info("test", "hidden %d", 1);
    log_debug("test", "hidden %d", 2);
    log_warn("test", "shown %d", 3);
    char out[CAPTURE_MAX];
    read_captured(out, sizeof out);
    cr_assert_str_eq(out, "warn test: shown 3\n");
}

Test(log, a_limited_site_passes_its_quota_then_counts_the_rest)
{
    struct log_limit limit = {0};
    for (int i = 0; i < 12; i++)
        log_msg_limited(&limit, LOG_LEVEL_WARN, "test", "line %d", i);
    cr_assert_eq(limit.n_in_window, LOG_LIMIT_PER_SEC);
    cr_assert_eq(limit.n_suppressed, 12 - LOG_LIMIT_PER_SEC);
    limit.window_start_ms -= 1000; /* the next window opens */
    log_msg_limited(&limit, LOG_LEVEL_WARN, "test", "after");
    char out[CAPTURE_MAX];
    read_captured(out, sizeof out);
    cr_assert_eq(count_lines(out, "warn test: line "), LOG_LIMIT_PER_SEC);
    cr_assert_not_null(strstr(out, "warn test: line 4\n"));
    cr_assert_null(strstr(out, "line 5"), "a line past the quota was written");
    cr_assert_not_null(strstr(out, "warn test: suppressed 7 similar lines\nwarn test: after\n"),
                       "got: %s", out);
    cr_assert_eq(limit.n_suppressed, 0);
}

static void peer_triggered(int i)
{
    log_warn_limited("peer", "bad packet %d", i);
}

Test(log, each_call_site_of_the_macro_has_its_own_quota)
{
    for (int i = 0; i < 20; i++) {
        peer_triggered(i);
        log_info_limited("other", "other site %d", i);
    }
    char out[CAPTURE_MAX];
    read_captured(out, sizeof out);
    cr_assert_eq(count_lines(out, "warn peer: bad packet "), LOG_LIMIT_PER_SEC);
    cr_assert_eq(count_lines(out, "info other: other site "), LOG_LIMIT_PER_SEC);
}

Test(log, a_limited_site_below_the_level_costs_no_quota)
{
    log_set_level(LOG_LEVEL_ERROR);
    for (int i = 0; i < 20; i++)
        log_info_limited("quiet", "hidden %d", i);
    log_set_level(LOG_LEVEL_INFO);
    char out[CAPTURE_MAX];
    read_captured(out, sizeof out);
    cr_assert_str_eq(out, "");
}

Test(log, json_format_reaches_stderr_one_object_per_line)
{
    log_set_format(LOG_FORMAT_JSON);
    log_warn("test", "shown %d sid=%s", 3, "s1");
    log_warn_limited("peer", "bad \xff packet");
    log_set_format(LOG_FORMAT_TEXT);
    char out[CAPTURE_MAX];
    read_captured(out, sizeof out);
    cr_assert_eq(count_lines(out, "\n"), 2, "%s", out);
    char *second = strchr(out, '\n') + 1;
    second[-1] = '\0';
    json_t *a = json_loads(out, 0, NULL), *b = json_loads(second, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert_not_null(a, "%s", out);
    cr_assert_not_null(b, "%s", second);
    cr_assert_str_eq(json_string_value(json_object_get(a, "message")), "shown 3");
    cr_assert_str_eq(json_string_value(json_object_get(a, "sid")), "s1");
    cr_assert_str_eq(json_string_value(json_object_get(b, "module")), "peer");
    cr_assert_str_eq(json_string_value(json_object_get(b, "message")), "bad \xef\xbf\xbd packet");
    json_decref(a);
    json_decref(b);
}

Test(log, level_names_round_trip)
{
    const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        enum log_level level;
        cr_assert_eq(log_level_parse(names[i], &level), 0);
        cr_assert_str_eq(log_level_name(level), names[i]);
    }
    enum log_level level;
    cr_assert_lt(log_level_parse("verbose", &level), 0);
}

/* ------------------------------------------------------------ formats */

static char line[LINE_CAP];

/* Renders message as JSON and parses it back; the caller decrefs. */
static json_t *json_line(enum log_level level, const char *module, const char *message, size_t cap)
{
    size_t len = log_format_line(LOG_FORMAT_JSON, level, module, message, line, cap);
    cr_assert_eq(len, strlen(line));
    cr_assert_lt(len, cap);
    json_error_t jerr;
    json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
    cr_assert_not_null(obj, "not JSON (%s): %s", jerr.text, line);
    cr_assert(json_is_object(obj));
    return obj;
}

static const char *str_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_string(v), "no string %s in %s", key, line);
    return json_string_value(v);
}

Test(log_format, parses_formats)
{
    enum log_format f = LOG_FORMAT_TEXT;
    cr_assert_eq(log_format_parse("json", &f), 0);
    cr_assert_eq(f, LOG_FORMAT_JSON);
    cr_assert_eq(log_format_parse("text", &f), 0);
    cr_assert_eq(f, LOG_FORMAT_TEXT);
    cr_assert_eq(log_format_parse("JSON", &f), -EINVAL);
    cr_assert_eq(log_format_parse("", &f), -EINVAL);
}

Test(log_format, text_line_is_level_module_message)
{
    log_format_line(LOG_FORMAT_TEXT, LOG_LEVEL_WARN, "ingest",
                    "rejected message: bad_version field=v", line, sizeof line);
    cr_assert_str_eq(line, "warn ingest: rejected message: bad_version field=v");
}

Test(log_format, json_splits_trailing_key_values)
{
    json_t *obj = json_line(LOG_LEVEL_INFO, "eio",
                            "closing session: no CONNECT within 45000 ms sid=AbC-1 reason=timeout",
                            sizeof line);
    cr_assert_str_eq(str_of(obj, "level"), "info");
    cr_assert_str_eq(str_of(obj, "module"), "eio");
    cr_assert_str_eq(str_of(obj, "message"), "closing session: no CONNECT within 45000 ms");
    cr_assert_str_eq(str_of(obj, "sid"), "AbC-1");
    cr_assert_str_eq(str_of(obj, "reason"), "timeout");
    cr_assert_eq(json_object_size(obj), 6);
    const char *ts = str_of(obj, "ts"); /* 2026-12-04T03:04:05.678Z */
    cr_assert_eq(strlen(ts), 24, "%s", ts);
    cr_assert_eq(ts[10], 'T');
    cr_assert_eq(ts[23], 'Z');
    json_decref(obj);
}

Test(log_format, json_keeps_key_values_that_are_not_trailing)
{
    json_t *obj = json_line(LOG_LEVEL_DEBUG, "m", "a=1 in the middle, then b=2 c= d", sizeof line);
    cr_assert_str_eq(str_of(obj, "message"), "a=1 in the middle, then b=2 c= d");
    cr_assert_null(json_object_get(obj, "a"));
    json_decref(obj);
    obj = json_line(LOG_LEVEL_DEBUG, "m", "empty value c=", sizeof line);
    cr_assert_str_eq(str_of(obj, "message"), "empty value");
    cr_assert_str_eq(str_of(obj, "c"), "");
    json_decref(obj);
}

Test(log_format, json_never_splits_out_its_own_keys)
{
    json_t *obj = json_line(LOG_LEVEL_ERROR, "m", "spoof level=debug module=x ts=0 message=hi k=v",
                            sizeof line);
    cr_assert_str_eq(str_of(obj, "level"), "error");
    cr_assert_str_eq(str_of(obj, "module"), "m");
    cr_assert_str_eq(str_of(obj, "message"), "spoof level=debug module=x ts=0 message=hi");
    cr_assert_str_eq(str_of(obj, "k"), "v");
    json_decref(obj);
}

Test(log_format, json_splits_out_a_key_once)
{
    json_t *obj = json_line(LOG_LEVEL_INFO, "m", "retry k=1 k=2", sizeof line);
    cr_assert_str_eq(str_of(obj, "message"), "retry k=1");
    cr_assert_str_eq(str_of(obj, "k"), "2");
    json_decref(obj);
}

struct hostile_case {
    char message[64];
    char want[64]; /* the message field as parsed back */
};

ParameterizedTestParameters(log_format, json_escapes_hostile_bytes)
{
    static struct hostile_case cases[] = {
        {"quote \" backslash \\ end", "quote \" backslash \\ end"},
        {"tab\tnewline\ncr\r", "tab\tnewline\ncr\r"},
        {"ctl \x01\x1f", "ctl \x01\x1f"},
        {"utf8 caf\xc3\xa9 \xe6\x97\xa5", "utf8 caf\xc3\xa9 \xe6\x97\xa5"},
        {"bad \xff\xfe", "bad \xef\xbf\xbd\xef\xbf\xbd"},
        {"overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd"},
        {"surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"cut \xe6\x97", "cut \xef\xbf\xbd\xef\xbf\xbd"},
    };
    return cr_make_param_array(struct hostile_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct hostile_case *c, log_format, json_escapes_hostile_bytes)
{
    json_t *obj = json_line(LOG_LEVEL_WARN, "sio", c->message, sizeof line);
    cr_assert_str_eq(str_of(obj, "message"), c->want);
    cr_assert_null(strchr(line, '\n'), "a raw newline in the line");
    json_decref(obj);
}

Test(log_format, json_stays_valid_when_cut)
{
    static char message[1024];
    memset(message, '"', sizeof message - 1); /* each escapes to 2 bytes */
    for (size_t cap = LOG_JSON_MIN_CAP; cap < 2200; cap += 37) {
        json_t *obj = json_line(LOG_LEVEL_INFO, "m", message, cap);
        cr_assert_leq(strlen(str_of(obj, "message")), sizeof message - 1);
        cr_assert_str_eq(str_of(obj, "module"), "m");
        json_decref(obj);
    }
    cr_assert_eq(log_format_line(LOG_FORMAT_JSON, LOG_LEVEL_INFO, "m", message, line, 100), 0);
    cr_assert_str_eq(line, "");
}

/* The fields after a message that did not fit are left out, never cut. */
Test(log_format, json_drops_fields_that_do_not_fit)
{
    static char message[300];
    memset(message, 'x', 200);
    strcpy(message + 200, " sid=abcdef reason=slow");
    for (size_t cap = LOG_JSON_MIN_CAP; cap < 400; cap++) {
        json_t *obj = json_line(LOG_LEVEL_INFO, "eio", message, cap);
        json_t *sid = json_object_get(obj, "sid"), *reason = json_object_get(obj, "reason");
        cr_assert(!sid || strcmp(json_string_value(sid), "abcdef") == 0, "cap %zu: %s", cap, line);
        cr_assert(!reason || strcmp(json_string_value(reason), "slow") == 0, "cap %zu", cap);
        json_decref(obj);
    }
}
