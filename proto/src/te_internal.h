/* te_internal: what the libtrainevents sources share and the public header
 * does not export: the payload schema as data, error filling, UTF-8 checks.
 *
 * The schema tables (te_event.c) are the one place that says which fields
 * each event's "data" map has, in wire order, and where each lives in a
 * struct te_event. The decoder, the encoder, te_event_validate and the JSON
 * writer all walk these tables, so a field is added in one place.
 * Everything here is constant data or reentrant. */
#ifndef TE_INTERNAL_H
#define TE_INTERNAL_H

#include "trainevents.h"

#include <stdbool.h>
#include <stddef.h>

/* 2^53: the largest magnitude up to which every integer is an exact double. */
#define TE_MAX_EXACT_INT 9007199254740992LL

/* Greatest nesting the schema has: envelope map > data map > final_metrics. */
#define TE_MAX_DEPTH 3

enum te_kind {
    TE_KIND_INT,      /* int64_t, a count: >= 0 */
    TE_KIND_FLOAT,    /* double, finite */
    TE_KIND_SCENARIO, /* char[TE_MAX_NAME_LEN + 1], equals the envelope scenario */
    TE_KIND_TIME,     /* char[TE_MAX_TIME_LEN + 1], ISO 8601 date-time */
    TE_KIND_TEXT,     /* char[TE_MAX_TEXT_LEN + 1], any UTF-8 without NUL */
    TE_KIND_METRICS,  /* struct te_final_metrics, a nested map (te_metrics_schema) */
    TE_KIND_INTERVAL  /* int64_t, milliseconds: TE_HEARTBEAT_MIN_MS..TE_HEARTBEAT_MAX_MS */
};

struct te_field {
    const char *name; /* key on the wire and in JSON */
    enum te_kind kind;
    size_t offset; /* of the value inside struct te_event */
};

struct te_schema {
    const struct te_field *fields; /* wire order */
    size_t n_fields;
};

/* The fields of final_metrics (offsets are inside struct te_event too). */
extern const struct te_schema te_metrics_schema;

/* The fields of one event's data map; NULL for an out-of-range type. */
const struct te_schema *te_event_schema(enum te_event_type type);

/* True for the kinds held as an int64_t (TE_KIND_INT, TE_KIND_INTERVAL). */
static inline bool te_kind_is_int(enum te_kind kind)
{
    return kind == TE_KIND_INT || kind == TE_KIND_INTERVAL;
}

/* Longest string a string kind may hold, in bytes without the NUL; 0 for
 * the other kinds. */
size_t te_kind_max_len(enum te_kind kind);

/* The value of field f inside ev (borrowed). */
static inline void *te_field_ptr(struct te_event *ev, const struct te_field *f)
{
    return (char *)ev + f->offset;
}

static inline const void *te_field_cptr(const struct te_event *ev, const struct te_field *f)
{
    return (const char *)ev + f->offset;
}

/* Fills *err (NULL-safe): code, field (truncated to fit) and a message that
 * reads "<field>: <formatted text>" (or just the text when field is ""). */
void te_err_set(struct te_error *err, enum te_errc code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets *err (NULL-safe) to TE_OK with an empty field and message. */
void te_err_clear(struct te_error *err);

/* True if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF) and contains no NUL byte. */
bool te_utf8_valid(const char *s, size_t len);

/* True if s[0..len) is YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM]. */
bool te_time_valid(const char *s, size_t len);

/* Field-for-field equality of two events (floats compared bit for bit).
 * For tests and the fuzzer. */
bool te_event_equal(const struct te_event *a, const struct te_event *b);

#endif
