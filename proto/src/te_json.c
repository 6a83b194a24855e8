/* te_json: an event as the JSON text the bridge sends after "42":
 *
 *   ["<event>",<payload>,{"scenario_name":..,"trainer":..,"seq":..,"ts":..}]
 *
 * Owns the exact text: no spaces, payload keys in schema order, strings
 * escaped as JSON requires (valid UTF-8 passes through untouched), integers
 * in decimal, floats shortest round-trip and always written as floats.
 * Writes into the caller's buffer; no allocation, no state, reentrant. */
#include "trainevents.h"

#include "te_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Worst case: training_error whose message and details are all control
 * characters (6 bytes each as \u00XX), plus names, numbers and punctuation. */
_Static_assert(2 * 6 * TE_MAX_TEXT_LEN + 2 * TE_MAX_NAME_LEN + 512 <= TE_MAX_JSON_BYTES,
               "TE_MAX_JSON_BYTES too small for the worst-case event");

/* Decimal exponents written in fixed notation (as Python's repr does). */
#define FIXED_MIN_EXP (-4)
#define FIXED_MAX_EXP 15

/* ------------------------------------------------------------ doubles */

static bool same_double(double a, double b)
{
    return a == b && signbit(a) == signbit(b);
}

/* Copies text (< 32 bytes) into buf and returns its length. */
static int copy_text(char buf[32], const char *text)
{
    size_t len = strnlen(text, 31);
    memcpy(buf, text, len);
    buf[len] = '\0';
    return (int)len;
}

/* The shortest-round-trip formatting, in whatever locale is current (the
 * caller makes it "C"). First find the fewest significant digits that read
 * back exactly, in exponent form; then write those digits in fixed form
 * when the exponent is moderate, and make sure the text reads as a float. */
static int format_shortest(double v, char buf[32])
{
    char sci[32];
    int digits_after = 0; /* significant digits - 1 */
    for (; digits_after < 17; digits_after++) {
        snprintf(sci, sizeof sci, "%.*e", digits_after, v);
        if (same_double(strtod(sci, NULL), v))
            break;
    }
    const char *e = strchr(sci, 'e');
    long exp10 = e ? strtol(e + 1, NULL, 10) : 0;
    if (exp10 < FIXED_MIN_EXP || exp10 > FIXED_MAX_EXP)
        return copy_text(buf, sci);
    int decimals = digits_after > exp10 ? digits_after - (int)exp10 : 0;
    char fixed[40];
    snprintf(fixed, sizeof fixed, "%.*f", decimals, v);
    size_t len = strlen(fixed);
    if (len > 29 || !same_double(strtod(fixed, NULL), v))
        return copy_text(buf, sci);
    if (!strchr(fixed, '.'))
        memcpy(fixed + len, ".0", 3);
    return copy_text(buf, fixed);
}

/* ------------------------------------------------------------ output */

/* The caller's buffer; always leaves room for the NUL. Overflow is sticky. */
struct json_out {
    char *buf;
    size_t cap;
    size_t len;
    bool is_overflow;
};

static void put(struct json_out *o, const char *s, size_t n)
{
    if (o->is_overflow || n >= o->cap - o->len) {
        o->is_overflow = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_cstr(struct json_out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* The JSON escape for byte c into esc[8]; its length, or 0 if c goes raw. */
static size_t escape_byte(unsigned char c, char esc[8])
{
    static const char short_esc[] = "btn?fr"; /* 0x08..0x0D, '?' = none */
    if (c == '"' || c == '\\') {
        esc[0] = '\\';
        esc[1] = (char)c;
        return 2;
    }
    if (c >= 0x20)
        return 0;
    if (c >= 0x08 && c <= 0x0D && short_esc[c - 0x08] != '?') {
        esc[0] = '\\';
        esc[1] = short_esc[c - 0x08];
        return 2;
    }
    snprintf(esc, 8, "\\u%04x", (unsigned)c);
    return 6;
}

/* Writes s[0..max_len] (NUL-terminated) as a quoted JSON string; runs of
 * bytes that need no escape are copied at once. */
static void put_string(struct json_out *o, const char *s, size_t max_len)
{
    size_t len = strnlen(s, max_len), run = 0;
    put(o, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        char esc[8];
        size_t n = escape_byte((unsigned char)s[i], esc);
        if (n == 0)
            continue;
        put(o, s + run, i - run);
        put(o, esc, n);
        run = i + 1;
    }
    put(o, s + run, len - run);
    put(o, "\"", 1);
}

static void put_i64(struct json_out *o, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    put(o, tmp, (size_t)n);
}

static void put_double(struct json_out *o, double v)
{
    char tmp[32];
    int n = te_json_double(v, tmp);
    put(o, tmp, (size_t)n);
}

/* Writes the fields of schema from ev as one JSON object, in schema order. */
static void put_object(struct json_out *o, const struct te_event *ev,
                       const struct te_schema *schema)
{
    put(o, "{", 1);
    for (size_t i = 0; i < schema->n_fields; i++) {
        const struct te_field *f = &schema->fields[i];
        const void *p = te_field_cptr(ev, f);
        put_cstr(o, i == 0 ? "\"" : ",\"");
        put_cstr(o, f->name);
        put(o, "\":", 2);
        if (te_kind_is_int(f->kind))
            put_i64(o, *(const int64_t *)p);
        else if (f->kind == TE_KIND_FLOAT)
            put_double(o, *(const double *)p);
        else if (f->kind == TE_KIND_METRICS)
            put_object(o, ev, &te_metrics_schema);
        else
            put_string(o, p, te_kind_max_len(f->kind));
    }
    put(o, "}", 1);
}

/* Writes the metadata object: {"scenario_name":..,"trainer":..,"seq":..,"ts":..}. */
static void put_meta(struct json_out *o, const struct te_event *ev)
{
    char tmp[24];
    put_cstr(o, "{\"scenario_name\":");
    put_string(o, ev->scenario, TE_MAX_NAME_LEN);
    put_cstr(o, ",\"trainer\":");
    put_string(o, ev->trainer, TE_MAX_NAME_LEN);
    int n = snprintf(tmp, sizeof tmp, ",\"seq\":%" PRIu64, ev->seq);
    put(o, tmp, (size_t)n);
    put_cstr(o, ",\"ts\":");
    put_i64(o, ev->ts_us);
    put(o, "}", 1);
}

/* ------------------------------------------------------------ public API */

int te_event_to_json(const struct te_event *ev, char *buf, size_t cap)
{
    const char *name = te_event_name(ev->type);
    if (!name)
        return -EINVAL; /* not a validated event */
    if (cap == 0)
        return -EMSGSIZE;
    struct json_out o = {buf, cap, 0, false};
    put(&o, "[\"", 2);
    put_cstr(&o, name);
    put(&o, "\",", 2);
    put_object(&o, ev, te_event_schema(ev->type));
    put(&o, ",", 1);
    put_meta(&o, ev);
    put(&o, "]", 1);
    if (o.is_overflow || o.len > INT32_MAX) {
        buf[0] = '\0';
        return -EMSGSIZE;
    }
    buf[o.len] = '\0';
    return (int)o.len;
}

int te_json_double(double v, char buf[32])
{
    if (!isfinite(v))
        return copy_text(buf, "null"); /* outside the contract; stay valid JSON */
    /* snprintf and strtod follow LC_NUMERIC; switch this thread to "C" so a
     * program that called setlocale() still gets '.' as decimal point. */
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t previous = c_locale ? uselocale(c_locale) : (locale_t)0;
    int len = format_shortest(v, buf);
    if (c_locale) {
        uselocale(previous);
        freelocale(c_locale);
    }
    return len;
}
