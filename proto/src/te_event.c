/* te_event: the event schema as data, names, and value validation.
 *
 * Owns the schema tables (te_internal.h), the stable names of events and
 * error codes, and te_event_validate: the checks on values that hold
 * whatever the wire form (names, lengths, UTF-8, ranges, the scenario match).
 * The decoder runs te_event_validate after it has checked types and
 * structure, and the encoder runs it before it writes anything. Constant
 * data only; every function is reentrant. */
#include "trainevents.h"

#include "te_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ schema */

#define FIELD(name, kind, member)                                                                  \
    {                                                                                              \
        name, kind, offsetof(struct te_event, member)                                              \
    }

static const struct te_field started_fields[] = {
    FIELD("scenario_name", TE_KIND_SCENARIO, data.started.scenario_name),
    FIELD("num_episodes", TE_KIND_INT, data.started.num_episodes),
    FIELD("start_time", TE_KIND_TIME, data.started.start_time),
};

static const struct te_field progress_fields[] = {
    FIELD("episode", TE_KIND_INT, data.progress.episode),
    FIELD("total_episodes", TE_KIND_INT, data.progress.total_episodes),
    FIELD("avg_reward", TE_KIND_FLOAT, data.progress.avg_reward),
    FIELD("avg_duration", TE_KIND_FLOAT, data.progress.avg_duration),
    FIELD("avg_cash", TE_KIND_FLOAT, data.progress.avg_cash),
    FIELD("avg_invested", TE_KIND_FLOAT, data.progress.avg_invested),
    FIELD("stability", TE_KIND_FLOAT, data.progress.stability),
    FIELD("goal_adherence", TE_KIND_FLOAT, data.progress.goal_adherence),
    FIELD("elapsed_time", TE_KIND_FLOAT, data.progress.elapsed_time),
};

static const struct te_field completed_fields[] = {
    FIELD("scenario_name", TE_KIND_SCENARIO, data.completed.scenario_name),
    FIELD("episodes_completed", TE_KIND_INT, data.completed.episodes_completed),
    FIELD("final_metrics", TE_KIND_METRICS, data.completed.final_metrics),
};

static const struct te_field metrics_fields[] = {
    FIELD("avg_reward", TE_KIND_FLOAT, data.completed.final_metrics.avg_reward),
    FIELD("avg_duration", TE_KIND_FLOAT, data.completed.final_metrics.avg_duration),
    FIELD("stability", TE_KIND_FLOAT, data.completed.final_metrics.stability),
};

static const struct te_field stopped_fields[] = {
    FIELD("scenario_name", TE_KIND_SCENARIO, data.stopped.scenario_name),
    FIELD("episodes_completed", TE_KIND_INT, data.stopped.episodes_completed),
};

static const struct te_field error_fields[] = {
    FIELD("message", TE_KIND_TEXT, data.error.message),
    FIELD("details", TE_KIND_TEXT, data.error.details),
};

static const struct te_field heartbeat_fields[] = {
    FIELD("scenario_name", TE_KIND_SCENARIO, data.heartbeat.scenario_name),
    FIELD("episode", TE_KIND_INT, data.heartbeat.episode),
    FIELD("interval_ms", TE_KIND_INTERVAL, data.heartbeat.interval_ms),
};

#define SCHEMA(fields)                                                                             \
    {                                                                                              \
        (fields), sizeof(fields) / sizeof(fields)[0]                                               \
    }

const struct te_schema te_metrics_schema = SCHEMA(metrics_fields);

static const struct te_schema event_schemas[TE_EVENT_TYPE_COUNT] = {
    [TE_TRAINING_STARTED] = SCHEMA(started_fields),
    [TE_TRAINING_PROGRESS] = SCHEMA(progress_fields),
    [TE_TRAINING_COMPLETED] = SCHEMA(completed_fields),
    [TE_TRAINING_STOPPED] = SCHEMA(stopped_fields),
    [TE_TRAINING_ERROR] = SCHEMA(error_fields),
    [TE_HEARTBEAT] = SCHEMA(heartbeat_fields),
};

static const char *const event_names[TE_EVENT_TYPE_COUNT] = {
    [TE_TRAINING_STARTED] = "training_started",     [TE_TRAINING_PROGRESS] = "training_progress",
    [TE_TRAINING_COMPLETED] = "training_completed", [TE_TRAINING_STOPPED] = "training_stopped",
    [TE_TRAINING_ERROR] = "training_error",         [TE_HEARTBEAT] = "heartbeat",
};

static const char *const errc_names[TE_ERRC_COUNT] = {
    [TE_OK] = "ok",
    [TE_E_MALFORMED] = "malformed",
    [TE_E_TRAILING] = "trailing_bytes",
    [TE_E_OVERSIZE] = "oversize",
    [TE_E_NOT_MAP] = "not_a_map",
    [TE_E_NESTING] = "too_deep",
    [TE_E_MISSING] = "missing_field",
    [TE_E_EXTRA] = "extra_field",
    [TE_E_DUPLICATE] = "duplicate_field",
    [TE_E_TYPE] = "wrong_type",
    [TE_E_RANGE] = "out_of_range",
    [TE_E_TOO_LONG] = "too_long",
    [TE_E_UTF8] = "bad_utf8",
    [TE_E_CHARSET] = "bad_charset",
    [TE_E_VERSION] = "bad_version",
    [TE_E_UNKNOWN_EVENT] = "unknown_event",
    [TE_E_MISMATCH] = "scenario_mismatch",
    [TE_E_TOPIC] = "topic_mismatch",
    [TE_E_FRAMES] = "bad_frames",
};

/* ------------------------------------------------------------ helpers */

/* Length of the well-formed UTF-8 sequence starting at s[0..n), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    if (c >= 0x01 && c <= 0x7F)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0; /* NUL, continuation byte, overlong lead C0/C1, F5..FF */
    if (c == 0xE0)
        lo = 0xA0; /* overlong */
    else if (c == 0xED)
        hi = 0x9F; /* surrogates U+D800..DFFF */
    else if (c == 0xF0)
        lo = 0x90; /* overlong */
    else if (c == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Reads n decimal digits at s as a number in [min, max]; -1 if not. */
static int read_digits(const char *s, int n, int min, int max)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= min && v <= max ? v : -1;
}

/* True if s[0..len) is "" or Z or +HH:MM / -HH:MM. */
static bool time_zone_valid(const char *s, size_t len)
{
    if (len == 0 || (len == 1 && s[0] == 'Z'))
        return true;
    if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
        return false;
    return read_digits(s + 1, 2, 0, 23) >= 0 && read_digits(s + 4, 2, 0, 59) >= 0;
}

/* Checks a NUL-terminated string held in a char[cap]: terminated, at most
 * max_len bytes, UTF-8. Fills *err for field path on failure. */
static int check_text(const char *s, size_t cap, size_t max_len, const char *path,
                      struct te_error *err)
{
    size_t len = strnlen(s, cap);
    if (len == cap || len > max_len) {
        te_err_set(err, TE_E_TOO_LONG, path, "longer than %zu bytes", max_len);
        return -EINVAL;
    }
    if (!te_utf8_valid(s, len)) {
        te_err_set(err, TE_E_UTF8, path, "not valid UTF-8 (or contains NUL)");
        return -EINVAL;
    }
    return 0;
}

/* Checks a scenario name or trainer id held in a char[TE_MAX_NAME_LEN + 1]. */
static int check_name(const char *s, const char *path, struct te_error *err)
{
    int rc = check_text(s, TE_MAX_NAME_LEN + 1, TE_MAX_NAME_LEN, path, err);
    if (rc < 0)
        return rc;
    if (!te_name_valid(s, strlen(s))) {
        te_err_set(err, TE_E_CHARSET, path,
                   "must be 1..%d bytes of [A-Za-z0-9._:-], not starting with '.'",
                   TE_MAX_NAME_LEN);
        return -EINVAL;
    }
    return 0;
}

static int validate_fields(const struct te_event *ev, const struct te_schema *schema,
                           const char *prefix, struct te_error *err);

/* Checks one payload field of ev; path is its dotted name. */
static int validate_field(const struct te_event *ev, const struct te_field *f, const char *path,
                          struct te_error *err)
{
    const void *p = te_field_cptr(ev, f);
    switch (f->kind) {
    case TE_KIND_INT:
        if (*(const int64_t *)p >= 0)
            return 0;
        te_err_set(err, TE_E_RANGE, path, "must be >= 0, got %" PRId64, *(const int64_t *)p);
        return -EINVAL;
    case TE_KIND_INTERVAL: {
        int64_t ms = *(const int64_t *)p;
        if (ms >= TE_HEARTBEAT_MIN_MS && ms <= TE_HEARTBEAT_MAX_MS)
            return 0;
        te_err_set(err, TE_E_RANGE, path, "must be %d..%d ms, got %" PRId64, TE_HEARTBEAT_MIN_MS,
                   TE_HEARTBEAT_MAX_MS, ms);
        return -EINVAL;
    }
    case TE_KIND_FLOAT:
        if (isfinite(*(const double *)p))
            return 0;
        te_err_set(err, TE_E_RANGE, path, "must be a finite number");
        return -EINVAL;
    case TE_KIND_SCENARIO:
        if (check_name(p, path, err) < 0)
            return -EINVAL;
        if (strcmp(p, ev->scenario) == 0)
            return 0;
        te_err_set(err, TE_E_MISMATCH, path, "differs from the envelope's scenario");
        return -EINVAL;
    case TE_KIND_TIME:
        if (check_text(p, TE_MAX_TIME_LEN + 1, TE_MAX_TIME_LEN, path, err) < 0)
            return -EINVAL;
        if (te_time_valid(p, strlen(p)))
            return 0;
        te_err_set(err, TE_E_CHARSET, path,
                   "expected an ISO 8601 date-time like 2024-05-01T12:00:00Z");
        return -EINVAL;
    case TE_KIND_TEXT:
        return check_text(p, TE_MAX_TEXT_LEN + 1, TE_MAX_TEXT_LEN, path, err);
    case TE_KIND_METRICS:
        return validate_fields(ev, &te_metrics_schema, path, err);
    }
    return 0;
}

/* Checks every field of a schema; prefix is the map's dotted path. */
static int validate_fields(const struct te_event *ev, const struct te_schema *schema,
                           const char *prefix, struct te_error *err)
{
    for (size_t i = 0; i < schema->n_fields; i++) {
        char path[sizeof err->field];
        snprintf(path, sizeof path, "%s.%s", prefix, schema->fields[i].name);
        int rc = validate_field(ev, &schema->fields[i], path, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Checks the envelope's metadata: version, event, names, seq and ts. */
static int validate_envelope(const struct te_event *ev, struct te_error *err)
{
    if (ev->version < 1 || ev->version > TE_SCHEMA_VERSION) {
        te_err_set(err, TE_E_VERSION, "v", "unsupported schema version %" PRIu32 " (want 1..%d)",
                   ev->version, TE_SCHEMA_VERSION);
        return -EINVAL;
    }
    if ((unsigned)ev->type >= TE_EVENT_TYPE_COUNT) {
        te_err_set(err, TE_E_UNKNOWN_EVENT, "event", "unknown event type %d", (int)ev->type);
        return -EINVAL;
    }
    if (ev->version < te_event_min_version(ev->type)) {
        te_err_set(err, TE_E_UNKNOWN_EVENT, "event",
                   "%s needs schema version %" PRIu32 ", got %" PRIu32, te_event_name(ev->type),
                   te_event_min_version(ev->type), ev->version);
        return -EINVAL;
    }
    if (check_name(ev->scenario, "scenario", err) < 0 ||
        check_name(ev->trainer, "trainer", err) < 0)
        return -EINVAL;
    if (ev->seq < 1 || ev->seq > TE_MAX_SEQ) {
        te_err_set(err, TE_E_RANGE, "seq", "must be 1..2^53-1, got %" PRIu64, ev->seq);
        return -EINVAL;
    }
    if (ev->ts_us < 0 || (uint64_t)ev->ts_us > TE_MAX_SEQ) {
        te_err_set(err, TE_E_RANGE, "ts", "must be 0..2^53-1, got %" PRId64, ev->ts_us);
        return -EINVAL;
    }
    return 0;
}

/* True if a and b hold the same values in every field of schema (nested
 * maps are compared by their own schema). */
static bool fields_equal(const struct te_event *a, const struct te_event *b,
                         const struct te_schema *schema)
{
    _Static_assert(sizeof(int64_t) == sizeof(double), "8-byte numbers");
    for (size_t i = 0; i < schema->n_fields; i++) {
        const struct te_field *f = &schema->fields[i];
        const void *pa = te_field_cptr(a, f), *pb = te_field_cptr(b, f);
        size_t max_len = te_kind_max_len(f->kind);
        if (max_len > 0 && strncmp(pa, pb, max_len + 1) != 0)
            return false;
        if ((te_kind_is_int(f->kind) || f->kind == TE_KIND_FLOAT) &&
            memcmp(pa, pb, sizeof(double)) != 0)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ internal API */

const struct te_schema *te_event_schema(enum te_event_type type)
{
    if ((unsigned)type >= TE_EVENT_TYPE_COUNT)
        return NULL;
    return &event_schemas[type];
}

size_t te_kind_max_len(enum te_kind kind)
{
    static const size_t max_lens[] = {
        [TE_KIND_SCENARIO] = TE_MAX_NAME_LEN,
        [TE_KIND_TIME] = TE_MAX_TIME_LEN,
        [TE_KIND_TEXT] = TE_MAX_TEXT_LEN,
        [TE_KIND_METRICS] = 0,
        [TE_KIND_INTERVAL] = 0,
    };
    return (unsigned)kind < sizeof max_lens / sizeof max_lens[0] ? max_lens[kind] : 0;
}

void te_err_set(struct te_error *err, enum te_errc code, const char *field, const char *fmt, ...)
{
    if (!err)
        return;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field);
    int n = field[0] != '\0' ? snprintf(err->msg, sizeof err->msg, "%s: ", err->field) : 0;
    if (n < 0)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
}

void te_err_clear(struct te_error *err)
{
    if (!err)
        return;
    err->code = TE_OK;
    err->field[0] = '\0';
    err->msg[0] = '\0';
}

bool te_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

bool te_time_valid(const char *s, size_t len)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    const size_t n_shape = sizeof shape - 1;
    if (len < n_shape)
        return false;
    for (size_t i = 0; i < n_shape; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    if (read_digits(s + 5, 2, 1, 12) < 0 || read_digits(s + 8, 2, 1, 31) < 0 ||
        read_digits(s + 11, 2, 0, 23) < 0 || read_digits(s + 14, 2, 0, 59) < 0 ||
        read_digits(s + 17, 2, 0, 60) < 0)
        return false;
    size_t i = n_shape;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start || i - start > 9)
            return false;
    }
    return time_zone_valid(s + i, len - i);
}

bool te_event_equal(const struct te_event *a, const struct te_event *b)
{
    if (a->version != b->version || a->type != b->type || a->seq != b->seq ||
        a->ts_us != b->ts_us || strcmp(a->scenario, b->scenario) != 0 ||
        strcmp(a->trainer, b->trainer) != 0)
        return false;
    const struct te_schema *schema = te_event_schema(a->type);
    if (!schema || !fields_equal(a, b, schema))
        return false;
    return a->type != TE_TRAINING_COMPLETED || fields_equal(a, b, &te_metrics_schema);
}

/* ------------------------------------------------------------ public API */

const char *te_errc_name(enum te_errc code)
{
    if ((unsigned)code >= TE_ERRC_COUNT)
        return "unknown";
    return errc_names[code];
}

const char *te_event_name(enum te_event_type type)
{
    if ((unsigned)type >= TE_EVENT_TYPE_COUNT)
        return NULL;
    return event_names[type];
}

uint32_t te_event_min_version(enum te_event_type type)
{
    if ((unsigned)type >= TE_EVENT_TYPE_COUNT)
        return 0;
    return type == TE_HEARTBEAT ? 2 : 1;
}

bool te_event_is_terminal(enum te_event_type type)
{
    return type == TE_TRAINING_COMPLETED || type == TE_TRAINING_STOPPED ||
           type == TE_TRAINING_ERROR;
}

int te_event_type_from_name(const char *name, size_t len, enum te_event_type *type_out)
{
    for (int t = 0; t < TE_EVENT_TYPE_COUNT; t++) {
        if (strlen(event_names[t]) == len && memcmp(event_names[t], name, len) == 0) {
            *type_out = (enum te_event_type)t;
            return 0;
        }
    }
    return -ENOENT;
}

bool te_name_valid(const char *s, size_t len)
{
    if (len < 1 || len > TE_MAX_NAME_LEN || s[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

int te_event_validate(const struct te_event *ev, struct te_error *err)
{
    te_err_clear(err);
    int rc = validate_envelope(ev, err);
    if (rc < 0)
        return rc;
    return validate_fields(ev, te_event_schema(ev->type), "data", err);
}

int64_t te_now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
