/* te_msgpack: the msgpack wire form of an event (proto/EVENTS.md).
 *
 * Decoding happens in three steps, each trusting only what the one before
 * has proved:
 *   1. a structural pre-scan of the raw bytes (iterative, allocation-free)
 *      that rejects truncation, trailing bytes, nesting deeper than the
 *      schema and any container that declares more elements than bytes
 *      remain -- msgpack-c allocates a container's declared size up front,
 *      so `dd ff ff ff ff` must never reach it;
 *   2. msgpack-c unpacks into its own zone; the values we need are copied
 *      out of it (types, ranges, lengths, UTF-8 checked on the way) before
 *      the zone is destroyed;
 *   3. te_event_validate checks what holds regardless of the wire form.
 * Encoding validates first, then packs into the caller's fixed buffer.
 * Nothing here keeps state between calls; everything is reentrant. */
#include "trainevents.h"

#include "te_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

/* The envelope's keys, in the order the encoder writes them. Only the
 * names are used; the kinds do not apply. */
enum { ENV_V, ENV_EVENT, ENV_SCENARIO, ENV_TRAINER, ENV_SEQ, ENV_TS, ENV_DATA, ENV_COUNT };

static const struct te_field envelope_fields[ENV_COUNT] = {
    [ENV_V] = {"v", TE_KIND_INT, 0},
    [ENV_EVENT] = {"event", TE_KIND_TEXT, 0},
    [ENV_SCENARIO] = {"scenario", TE_KIND_SCENARIO, 0},
    [ENV_TRAINER] = {"trainer", TE_KIND_SCENARIO, 0},
    [ENV_SEQ] = {"seq", TE_KIND_INT, 0},
    [ENV_TS] = {"ts", TE_KIND_INT, 0},
    [ENV_DATA] = {"data", TE_KIND_METRICS, 0},
};

/* Most fields any one map of the schema has (training_progress). */
#define MAX_MAP_FIELDS 9

/* ------------------------------------------------------------ pre-scan */

enum item_shape { ITEM_BAD, ITEM_FIXED, ITEM_SIZED, ITEM_ARRAY, ITEM_MAP };

/* One msgpack header: its shape, the width of its length/count field (0 if
 * the count is in the type byte), the fixed bytes that follow the header,
 * and the inline count. */
struct item_format {
    enum item_shape shape;
    size_t width;
    size_t extra;
    uint64_t n_inline;
};

/* Describes the header that starts with type byte b (msgpack spec). */
static struct item_format classify(uint8_t b)
{
    static const uint8_t fixed_extra[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 2, 3, 5, 9, 17};
    if (b <= 0x7F || b >= 0xE0 || b == 0xC0 || b == 0xC2 || b == 0xC3)
        return (struct item_format){ITEM_FIXED, 0, 0, 0};
    if (b <= 0x8F)
        return (struct item_format){ITEM_MAP, 0, 0, b & 0x0Fu};
    if (b <= 0x9F)
        return (struct item_format){ITEM_ARRAY, 0, 0, b & 0x0Fu};
    if (b <= 0xBF)
        return (struct item_format){ITEM_SIZED, 0, 0, b & 0x1Fu};
    if (b >= 0xC4 && b <= 0xC6) /* bin 8/16/32 */
        return (struct item_format){ITEM_SIZED, (size_t)1 << (b - 0xC4), 0, 0};
    if (b >= 0xC7 && b <= 0xC9) /* ext 8/16/32: length, then a type byte */
        return (struct item_format){ITEM_SIZED, (size_t)1 << (b - 0xC7), 1, 0};
    if (b >= 0xCA && b <= 0xD8) /* float, uint, int, fixext */
        return (struct item_format){ITEM_FIXED, 0, fixed_extra[b - 0xCA], 0};
    if (b >= 0xD9 && b <= 0xDB) /* str 8/16/32 */
        return (struct item_format){ITEM_SIZED, (size_t)1 << (b - 0xD9), 0, 0};
    if (b == 0xDC || b == 0xDD)
        return (struct item_format){ITEM_ARRAY, b == 0xDC ? 2 : 4, 0, 0};
    if (b == 0xDE || b == 0xDF)
        return (struct item_format){ITEM_MAP, b == 0xDE ? 2 : 4, 0, 0};
    return (struct item_format){ITEM_BAD, 0, 0, 0}; /* 0xC1 */
}

enum scan_result { SCAN_OK, SCAN_BAD_BYTE, SCAN_TRUNCATED, SCAN_TOO_MANY };

/* Steps over the item at *pos (< len). Containers are not entered: their
 * element count (keys and values for maps) goes to *n_children and
 * *is_container is set. */
static enum scan_result scan_item(const uint8_t *p, size_t len, size_t *pos, uint64_t *n_children,
                                  bool *is_container)
{
    struct item_format f = classify(p[*pos]);
    if (f.shape == ITEM_BAD)
        return SCAN_BAD_BYTE;
    if (len - *pos < 1 + f.width)
        return SCAN_TRUNCATED;
    uint64_t n = f.n_inline;
    for (size_t i = 0; i < f.width; i++)
        n = (n << 8) | p[*pos + 1 + i];
    size_t left = len - *pos - 1 - f.width;
    *is_container = f.shape == ITEM_ARRAY || f.shape == ITEM_MAP;
    *n_children = f.shape == ITEM_MAP ? 2 * n : n;
    if (*is_container) /* each child takes at least one byte */
        return *n_children <= left ? (*pos += 1 + f.width, SCAN_OK) : SCAN_TOO_MANY;
    uint64_t body = f.extra + (f.shape == ITEM_SIZED ? n : 0);
    if (body > left)
        return SCAN_TRUNCATED;
    *pos += 1 + f.width + (size_t)body;
    return SCAN_OK;
}

/* Steps over one item at *pos, or fills *err with why it cannot. */
static int scan_one(const uint8_t *p, size_t len, size_t *pos, uint64_t *n_children,
                    bool *is_container, struct te_error *err)
{
    enum scan_result r =
        *pos < len ? scan_item(p, len, pos, n_children, is_container) : SCAN_TRUNCATED;
    if (r == SCAN_BAD_BYTE)
        te_err_set(err, TE_E_MALFORMED, "", "byte 0x%02x at offset %zu is not msgpack", p[*pos],
                   *pos);
    else if (r == SCAN_TRUNCATED)
        te_err_set(err, TE_E_MALFORMED, "", "truncated: item at offset %zu ends past %zu bytes",
                   *pos, len);
    else if (r == SCAN_TOO_MANY)
        te_err_set(err, TE_E_MALFORMED, "",
                   "container at offset %zu declares %" PRIu64 " items, more than the bytes left",
                   *pos, *n_children);
    return r == SCAN_OK ? 0 : -EPROTO;
}

/* Proves that buf[0..len) is exactly one msgpack object, complete, no
 * deeper than TE_MAX_DEPTH, with no container claiming more elements than
 * bytes remain. Iterative: pending[d] counts the items still to read in the
 * container open at depth d (pending[0] is the top-level object). */
static int prescan(const uint8_t *p, size_t len, struct te_error *err)
{
    uint64_t pending[TE_MAX_DEPTH + 1] = {1};
    size_t depth = 0, pos = 0;
    for (;;) {
        while (depth > 0 && pending[depth] == 0)
            depth--;
        if (pending[depth] == 0)
            break;
        pending[depth]--;
        uint64_t n_children = 0;
        bool is_container = false;
        if (scan_one(p, len, &pos, &n_children, &is_container, err) < 0)
            return -EPROTO;
        if (!is_container)
            continue;
        if (depth == TE_MAX_DEPTH) {
            te_err_set(err, TE_E_NESTING, "",
                       "nested deeper than %d levels (envelope > data > final_metrics)",
                       TE_MAX_DEPTH);
            return -EPROTO;
        }
        pending[++depth] = n_children;
    }
    if (pos < len) {
        te_err_set(err, TE_E_TRAILING, "", "%zu trailing bytes after the envelope", len - pos);
        return -EPROTO;
    }
    return 0;
}

/* ------------------------------------------------------------ decoding */

static const char *type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "string";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "binary";
    case MSGPACK_OBJECT_EXT:
        return "extension";
    }
    return "unknown";
}

/* out = prefix.name (or name when prefix is ""), with a key from the wire
 * shown printable: bytes outside '!'..'~' become '?', long keys are cut. */
static void join_path(char out[48], const char *prefix, const char *name, size_t name_len)
{
    char shown[33];
    size_t n = name_len < sizeof shown - 1 ? name_len : sizeof shown - 1;
    for (size_t i = 0; i < n; i++)
        shown[i] = (char)(name[i] > ' ' && name[i] <= '~' ? name[i] : '?');
    shown[n] = '\0';
    snprintf(out, 48, "%s%s%s", prefix, prefix[0] ? "." : "", shown);
}

static int find_field(const struct te_field *fields, size_t n, const msgpack_object_str *key)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(fields[i].name) == key->size && memcmp(fields[i].name, key->ptr, key->size) == 0)
            return (int)i;
    return -1;
}

/* Matches map m's keys against fields[0..n): slots[i] gets the value of
 * fields[i]. Rejects non-string, unknown, repeated and missing keys. */
static int collect(const msgpack_object_map *m, const struct te_field *fields, size_t n,
                   const char *prefix, const msgpack_object **slots, struct te_error *err)
{
    char path[48];
    for (size_t i = 0; i < n; i++)
        slots[i] = NULL;
    for (uint32_t k = 0; k < m->size; k++) {
        const msgpack_object *key = &m->ptr[k].key;
        if (key->type != MSGPACK_OBJECT_STR) {
            te_err_set(err, TE_E_TYPE, prefix, "keys must be strings, got %s",
                       type_name(key->type));
            return -EPROTO;
        }
        join_path(path, prefix, key->via.str.ptr, key->via.str.size);
        int i = find_field(fields, n, &key->via.str);
        if (i < 0) {
            te_err_set(err, TE_E_EXTRA, path, "not a field of the schema");
            return -EPROTO;
        }
        if (slots[i]) {
            te_err_set(err, TE_E_DUPLICATE, path, "appears more than once");
            return -EPROTO;
        }
        slots[i] = &m->ptr[k].val;
    }
    for (size_t i = 0; i < n; i++) {
        if (!slots[i]) {
            join_path(path, prefix, fields[i].name, strlen(fields[i].name));
            te_err_set(err, TE_E_MISSING, path, "required field is missing");
            return -EPROTO;
        }
    }
    return 0;
}

/* Reads an integer that fits int64 (floats are not integers). */
static int read_int(const msgpack_object *o, const char *path, int64_t *out, struct te_error *err)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        te_err_set(err, TE_E_TYPE, path, "expected an integer, got %s", type_name(o->type));
        return -EPROTO;
    }
    if (o->via.u64 > INT64_MAX) {
        te_err_set(err, TE_E_RANGE, path, "%" PRIu64 " does not fit a signed 64-bit integer",
                   o->via.u64);
        return -EPROTO;
    }
    *out = (int64_t)o->via.u64;
    return 0;
}

/* Reads a finite float, or an integer small enough to be exact as one. */
static int read_float(const msgpack_object *o, const char *path, double *out, struct te_error *err)
{
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = o->via.f64;
        if (isfinite(*out))
            return 0;
        te_err_set(err, TE_E_RANGE, path, "must be a finite number");
        return -EPROTO;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)o->via.u64;
        if (o->via.u64 <= (uint64_t)TE_MAX_EXACT_INT)
            return 0;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)o->via.i64;
        if (o->via.i64 >= -TE_MAX_EXACT_INT)
            return 0;
        break;
    default:
        te_err_set(err, TE_E_TYPE, path, "expected a number, got %s", type_name(o->type));
        return -EPROTO;
    }
    te_err_set(err, TE_E_RANGE, path, "integer beyond 2^53 is not exact as a float");
    return -EPROTO;
}

/* Copies a msgpack str of at most max_len bytes of UTF-8 into dst[max_len + 1]. */
static int read_string(const msgpack_object *o, const char *path, char *dst, size_t max_len,
                       struct te_error *err)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        te_err_set(err, TE_E_TYPE, path, "expected a string, got %s", type_name(o->type));
        return -EPROTO;
    }
    if (o->via.str.size > max_len) {
        te_err_set(err, TE_E_TOO_LONG, path, "longer than %zu bytes", max_len);
        return -EPROTO;
    }
    if (!te_utf8_valid(o->via.str.ptr, o->via.str.size)) {
        te_err_set(err, TE_E_UTF8, path, "not valid UTF-8 (or contains NUL)");
        return -EPROTO;
    }
    memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = '\0';
    return 0;
}

static int decode_map(const msgpack_object *o, const struct te_schema *schema, const char *path,
                      struct te_event *ev, struct te_error *err);

/* Decodes one payload value into its place in ev. */
static int decode_value(const msgpack_object *o, const struct te_field *f, const char *path,
                        struct te_event *ev, struct te_error *err)
{
    void *dst = te_field_ptr(ev, f);
    switch (f->kind) {
    case TE_KIND_INT:
    case TE_KIND_INTERVAL:
        return read_int(o, path, dst, err);
    case TE_KIND_FLOAT:
        return read_float(o, path, dst, err);
    case TE_KIND_SCENARIO:
    case TE_KIND_TIME:
    case TE_KIND_TEXT:
        return read_string(o, path, dst, te_kind_max_len(f->kind), err);
    case TE_KIND_METRICS:
        return decode_map(o, &te_metrics_schema, path, ev, err);
    }
    return -EPROTO;
}

/* Decodes map o, whose fields are schema's, found at dotted path. */
static int decode_map(const msgpack_object *o, const struct te_schema *schema, const char *path,
                      struct te_event *ev, struct te_error *err)
{
    const msgpack_object *slots[MAX_MAP_FIELDS];
    if (o->type != MSGPACK_OBJECT_MAP) {
        te_err_set(err, TE_E_NOT_MAP, path, "expected a map, got %s", type_name(o->type));
        return -EPROTO;
    }
    int rc = collect(&o->via.map, schema->fields, schema->n_fields, path, slots, err);
    for (size_t i = 0; rc == 0 && i < schema->n_fields; i++) {
        char field_path[48];
        join_path(field_path, path, schema->fields[i].name, strlen(schema->fields[i].name));
        rc = decode_value(slots[i], &schema->fields[i], field_path, ev, err);
    }
    return rc;
}

/* Looks for "v" before anything else, so that a message of another schema
 * version is reported as such rather than by whatever differs in it. */
static int check_version(const msgpack_object_map *m, uint32_t *version_out, struct te_error *err)
{
    for (uint32_t k = 0; k < m->size; k++) {
        const msgpack_object *key = &m->ptr[k].key, *val = &m->ptr[k].val;
        if (key->type != MSGPACK_OBJECT_STR || key->via.str.size != 1 || key->via.str.ptr[0] != 'v')
            continue;
        if (val->type == MSGPACK_OBJECT_POSITIVE_INTEGER && val->via.u64 >= 1 &&
            val->via.u64 <= TE_SCHEMA_VERSION) {
            *version_out = (uint32_t)val->via.u64;
            return 0;
        }
        if (val->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            te_err_set(err, TE_E_VERSION, "v",
                       "unsupported schema version %" PRIu64 " (want 1..%d)", val->via.u64,
                       TE_SCHEMA_VERSION);
        else if (val->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            te_err_set(err, TE_E_VERSION, "v",
                       "unsupported schema version %" PRId64 " (want 1..%d)", val->via.i64,
                       TE_SCHEMA_VERSION);
        else
            te_err_set(err, TE_E_TYPE, "v", "expected an integer, got %s", type_name(val->type));
        return -EPROTO;
    }
    return 0; /* absent: collect() reports it */
}

/* Reads the envelope's "event" into ev->type. An event that ev->version
 * does not define yet (a heartbeat marked v1) is unknown to that version. */
static int read_event_type(const msgpack_object *o, struct te_event *ev, struct te_error *err)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        te_err_set(err, TE_E_TYPE, "event", "expected a string, got %s", type_name(o->type));
        return -EPROTO;
    }
    if (te_event_type_from_name(o->via.str.ptr, o->via.str.size, &ev->type) == 0) {
        if (ev->version >= te_event_min_version(ev->type))
            return 0;
        te_err_set(err, TE_E_UNKNOWN_EVENT, "event",
                   "\"%s\" needs schema version %" PRIu32 ", the message says %" PRIu32,
                   te_event_name(ev->type), te_event_min_version(ev->type), ev->version);
        return -EPROTO;
    }
    char shown[48];
    join_path(shown, "", o->via.str.ptr, o->via.str.size);
    te_err_set(err, TE_E_UNKNOWN_EVENT, "event", "unknown event \"%s\"", shown);
    return -EPROTO;
}

/* Reads the envelope's "seq" and "ts". */
static int read_counters(const msgpack_object **slots, struct te_event *ev, struct te_error *err)
{
    int64_t seq = 0;
    if (read_int(slots[ENV_SEQ], "seq", &seq, err) < 0 ||
        read_int(slots[ENV_TS], "ts", &ev->ts_us, err) < 0)
        return -EPROTO;
    if (seq < 1 || (uint64_t)seq > TE_MAX_SEQ) {
        te_err_set(err, TE_E_RANGE, "seq", "must be 1..2^53-1, got %" PRId64, seq);
        return -EPROTO;
    }
    ev->seq = (uint64_t)seq;
    return 0;
}

/* Decodes the envelope o into ev (types and structure; values are checked
 * by te_event_validate afterwards). */
static int decode_envelope(const msgpack_object *o, struct te_event *ev, struct te_error *err)
{
    const msgpack_object *slots[ENV_COUNT];
    if (o->type != MSGPACK_OBJECT_MAP) {
        te_err_set(err, TE_E_NOT_MAP, "", "envelope: expected a map, got %s", type_name(o->type));
        return -EPROTO;
    }
    ev->version = 0;
    if (check_version(&o->via.map, &ev->version, err) < 0 ||
        collect(&o->via.map, envelope_fields, ENV_COUNT, "", slots, err) < 0 ||
        read_event_type(slots[ENV_EVENT], ev, err) < 0 ||
        read_string(slots[ENV_SCENARIO], "scenario", ev->scenario, TE_MAX_NAME_LEN, err) < 0 ||
        read_string(slots[ENV_TRAINER], "trainer", ev->trainer, TE_MAX_NAME_LEN, err) < 0 ||
        read_counters(slots, ev, err) < 0)
        return -EPROTO;
    return decode_map(slots[ENV_DATA], te_event_schema(ev->type), "data", ev, err);
}

/* ------------------------------------------------------------ encoding */

/* msgpack_packer's sink: the caller's fixed buffer. Overflow is sticky. */
struct fixed_writer {
    char *buf;
    size_t cap;
    size_t len;
    bool is_overflow;
};

static int write_fixed(void *data, const char *src, size_t n)
{
    struct fixed_writer *w = data;
    if (w->is_overflow || n > w->cap - w->len) {
        w->is_overflow = true;
        return -1;
    }
    memcpy(w->buf + w->len, src, n);
    w->len += n;
    return 0;
}

static int pack_string(msgpack_packer *pk, const char *s)
{
    size_t len = strlen(s);
    return msgpack_pack_str(pk, len) | msgpack_pack_str_body(pk, s, len);
}

/* Packs the fields of schema from ev as one map, in schema order. */
static int pack_map(msgpack_packer *pk, const struct te_event *ev, const struct te_schema *schema)
{
    int rc = msgpack_pack_map(pk, schema->n_fields);
    for (size_t i = 0; i < schema->n_fields; i++) {
        const struct te_field *f = &schema->fields[i];
        const void *p = te_field_cptr(ev, f);
        rc |= pack_string(pk, f->name);
        if (te_kind_is_int(f->kind))
            rc |= msgpack_pack_int64(pk, *(const int64_t *)p);
        else if (f->kind == TE_KIND_FLOAT)
            rc |= msgpack_pack_double(pk, *(const double *)p);
        else if (f->kind == TE_KIND_METRICS)
            rc |= pack_map(pk, ev, &te_metrics_schema);
        else
            rc |= pack_string(pk, p);
    }
    return rc;
}

/* Packs the envelope in its canonical key order. */
static int pack_envelope(msgpack_packer *pk, const struct te_event *ev)
{
    int rc = msgpack_pack_map(pk, ENV_COUNT);
    rc |= pack_string(pk, "v") | msgpack_pack_uint32(pk, ev->version);
    rc |= pack_string(pk, "event") | pack_string(pk, te_event_name(ev->type));
    rc |= pack_string(pk, "scenario") | pack_string(pk, ev->scenario);
    rc |= pack_string(pk, "trainer") | pack_string(pk, ev->trainer);
    rc |= pack_string(pk, "seq") | msgpack_pack_uint64(pk, ev->seq);
    rc |= pack_string(pk, "ts") | msgpack_pack_int64(pk, ev->ts_us);
    rc |= pack_string(pk, "data") | pack_map(pk, ev, te_event_schema(ev->type));
    return rc;
}

/* ------------------------------------------------------------ public API */

int te_event_encode(const struct te_event *ev, void *buf, size_t cap, struct te_error *err)
{
    if (te_event_validate(ev, err) < 0)
        return -EINVAL;
    struct fixed_writer w = {buf, cap, 0, false};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &w, write_fixed);
    if (pack_envelope(&pk, ev) != 0 || w.is_overflow || w.len > INT32_MAX) {
        te_err_set(err, TE_E_OVERSIZE, "", "event does not fit in %zu bytes", cap);
        return -EMSGSIZE;
    }
    return (int)w.len;
}

int te_event_decode(const void *buf, size_t len, struct te_event *ev, struct te_error *err)
{
    struct te_error local;
    err = err ? err : &local;
    te_err_clear(err);
    memset(ev, 0, sizeof *ev);
    if (len > TE_MAX_FRAME_BYTES) {
        te_err_set(err, TE_E_OVERSIZE, "", "frame of %zu bytes exceeds %d", len,
                   TE_MAX_FRAME_BYTES);
        return -EMSGSIZE;
    }
    if (prescan(buf, len, err) < 0)
        return -EPROTO;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack_next(&u, buf, len, &off);
    int rc = -EPROTO;
    if (ret == MSGPACK_UNPACK_SUCCESS && off == len)
        rc = decode_envelope(&u.data, ev, err);
    else
        te_err_set(err, TE_E_MALFORMED, "", "msgpack-c could not unpack it (%d)", (int)ret);
    msgpack_unpacked_destroy(&u);
    if (rc == 0 && te_event_validate(ev, err) < 0)
        rc = -EPROTO;
    return rc;
}

int te_frames_decode(const void *topic, size_t topic_len, const void *payload, size_t payload_len,
                     struct te_event *ev, struct te_error *err)
{
    int rc = te_event_decode(payload, payload_len, ev, err);
    if (rc < 0)
        return rc;
    if (topic && topic_len == strlen(ev->scenario) && memcmp(topic, ev->scenario, topic_len) == 0)
        return 0;
    te_err_set(err, TE_E_TOPIC, "topic",
               "the topic frame (%zu bytes) is not the envelope's scenario \"%s\"", topic_len,
               ev->scenario);
    return -EPROTO;
}
