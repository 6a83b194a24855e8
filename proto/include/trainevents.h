/* trainevents: the trainer -> bridge event contract (see proto/EVENTS.md).
 *
 * Owns the typed events, their msgpack wire form (encode, decode + validate),
 * their JSON form (the exact text the bridge puts on the Socket.IO wire) and
 * the trainer-side publisher. Events are plain values with fixed-size inline
 * strings: nothing in a struct te_event needs freeing.
 *
 * Errors: functions that can fail return 0 or a negative errno and, where
 * they validate outside input, fill a caller's struct te_error that names the
 * field and the reason. Thread-safety: everything but te_publisher is
 * reentrant; one te_publisher belongs to one thread at a time. */
#ifndef TRAINEVENTS_H
#define TRAINEVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TE_SCHEMA_VERSION 1

/* Limits (proto/EVENTS.md, "Limits"). Lengths are in bytes, without the NUL. */
#define TE_MAX_FRAME_BYTES 65536       /* one msgpack payload frame */
#define TE_MAX_NAME_LEN 64             /* scenario names and trainer ids */
#define TE_MAX_TIME_LEN 64             /* start_time (ISO 8601 text) */
#define TE_MAX_TEXT_LEN 4096           /* training_error message and details */
#define TE_MAX_SEQ 9007199254740991ULL /* 2^53 - 1: exact in every JSON client */
#define TE_MAX_JSON_BYTES                                                                          \
    53248 /* te_event_to_json never needs more (52 KiB: text                                       \
           * fields of control characters escape 6x) */

enum te_event_type {
    TE_TRAINING_STARTED,
    TE_TRAINING_PROGRESS,
    TE_TRAINING_COMPLETED,
    TE_TRAINING_STOPPED,
    TE_TRAINING_ERROR,
    TE_EVENT_TYPE_COUNT
};

struct te_started {
    char scenario_name[TE_MAX_NAME_LEN + 1];
    int64_t num_episodes;
    char start_time[TE_MAX_TIME_LEN + 1];
};

struct te_progress {
    int64_t episode;
    int64_t total_episodes;
    double avg_reward;
    double avg_duration;
    double avg_cash;
    double avg_invested;
    double stability;
    double goal_adherence;
    double elapsed_time;
};

struct te_final_metrics {
    double avg_reward;
    double avg_duration;
    double stability;
};

struct te_completed {
    char scenario_name[TE_MAX_NAME_LEN + 1];
    int64_t episodes_completed;
    struct te_final_metrics final_metrics;
};

struct te_stopped {
    char scenario_name[TE_MAX_NAME_LEN + 1];
    int64_t episodes_completed;
};

struct te_training_error {
    char message[TE_MAX_TEXT_LEN + 1];
    char details[TE_MAX_TEXT_LEN + 1];
};

/* One event: the envelope's metadata and the event's payload ("data"). */
struct te_event {
    uint32_t version;                   /* TE_SCHEMA_VERSION */
    enum te_event_type type;            /* envelope "event" */
    char scenario[TE_MAX_NAME_LEN + 1]; /* envelope "scenario" == ZeroMQ topic */
    char trainer[TE_MAX_NAME_LEN + 1];  /* envelope "trainer" */
    uint64_t seq;                       /* envelope "seq", 1..TE_MAX_SEQ */
    int64_t ts_us;                      /* envelope "ts": µs since the Unix epoch */
    union {
        struct te_started started;
        struct te_progress progress;
        struct te_completed completed;
        struct te_stopped stopped;
        struct te_training_error error;
    } data;
};

/* Why a message was rejected. Each code has a stable short name
 * (te_errc_name) used in logs and as a metrics label. */
enum te_errc {
    TE_OK = 0,
    TE_E_MALFORMED,     /* not msgpack, or truncated */
    TE_E_TRAILING,      /* bytes after the envelope */
    TE_E_OVERSIZE,      /* frame larger than TE_MAX_FRAME_BYTES */
    TE_E_NOT_MAP,       /* envelope or payload is not a map */
    TE_E_NESTING,       /* deeper than the schema allows */
    TE_E_MISSING,       /* a required field is absent */
    TE_E_EXTRA,         /* a field the schema does not have */
    TE_E_DUPLICATE,     /* the same key twice in one map */
    TE_E_TYPE,          /* wrong msgpack type for the field */
    TE_E_RANGE,         /* number out of range, NaN or infinite */
    TE_E_TOO_LONG,      /* string longer than its limit */
    TE_E_UTF8,          /* string is not valid UTF-8 */
    TE_E_CHARSET,       /* scenario or trainer name outside its charset */
    TE_E_VERSION,       /* unsupported schema version */
    TE_E_UNKNOWN_EVENT, /* "event" is not one of the five */
    TE_E_MISMATCH,      /* data.scenario_name != envelope scenario */
    TE_E_TOPIC,         /* ZeroMQ topic frame missing or != envelope scenario */
    TE_E_FRAMES,        /* not exactly two frames */
    TE_ERRC_COUNT
};

struct te_error {
    enum te_errc code;
    char field[48]; /* dotted path, e.g. "data.final_metrics.stability"; "" if none */
    char msg[160];  /* one human-readable sentence */
};

/* Stable short name of an error code ("missing_field", "wrong_type", ...). */
const char *te_errc_name(enum te_errc code);

/* "training_started" etc.; NULL for an out-of-range type. */
const char *te_event_name(enum te_event_type type);

/* Looks a wire name up. Returns 0, or -ENOENT if it is not one of the five. */
int te_event_type_from_name(const char *name, size_t len, enum te_event_type *type_out);

/* True if s[0..len) is a valid scenario name or trainer id:
 * 1..TE_MAX_NAME_LEN bytes of [A-Za-z0-9._:-], not starting with '.'. */
bool te_name_valid(const char *s, size_t len);

/* Checks an event's values against the schema (names, string lengths and
 * UTF-8, finite floats, non-negative counts, seq range). Returns 0 or -EINVAL
 * and fills *err. */
int te_event_validate(const struct te_event *ev, struct te_error *err);

/* Encodes a valid event as one msgpack envelope into buf[0..cap).
 * Returns the length (> 0), -EINVAL if the event does not validate (err
 * filled, may be NULL), or -EMSGSIZE if cap is too small. */
int te_event_encode(const struct te_event *ev, void *buf, size_t cap, struct te_error *err);

/* Decodes and validates one msgpack envelope. Returns 0, or -EPROTO (any
 * reason; err says which) or -EMSGSIZE (oversize). *ev is undefined on error. */
int te_event_decode(const void *buf, size_t len, struct te_event *ev, struct te_error *err);

/* Decodes a two-frame ZeroMQ message [topic, payload]: te_event_decode plus
 * the check that the topic equals the envelope's scenario. */
int te_frames_decode(const void *topic, size_t topic_len, const void *payload, size_t payload_len,
                     struct te_event *ev, struct te_error *err);

/* Writes the event as the JSON array the bridge sends after "42":
 *   ["<event>",<payload>,{"scenario_name":..,"trainer":..,"seq":..,"ts":..}]
 * NUL-terminated into buf[0..cap). Returns the length without the NUL, or
 * -EMSGSIZE if cap is too small (TE_MAX_JSON_BYTES always suffices). The
 * event must validate; floats are printed shortest round-trip. */
int te_event_to_json(const struct te_event *ev, char *buf, size_t cap);

/* Shortest text that reads back as exactly v ("150.5", "0.1", "1e+300",
 * "-0.0"). v must be finite. Returns the length; buf needs 32 bytes. */
int te_json_double(double v, char buf[32]);

/* µs since the Unix epoch, from CLOCK_REALTIME. */
int64_t te_now_us(void);

/* ----------------------------------------------------------- publisher */

struct te_publisher;

struct te_publisher_opts {
    /* Endpoints in czmq's notation: "tcp://host:5556" or ">tcp://..."
     * connects, "@tcp://0.0.0.0:5556" binds. At least one. */
    const char *const *endpoints;
    size_t n_endpoints;
    /* Trainer id (te_name_valid); NULL picks "<hostname>-<pid>". */
    const char *trainer;
    /* How long the first send waits for a subscriber (slow-joiner guard).
     * 0 picks TE_PUBLISHER_READY_TIMEOUT_MS; negative never waits. */
    int ready_timeout_ms;
    /* Send high-water mark in messages; 0 picks the library default. */
    int sndhwm;
    /* CURVE, for a bridge run with --zmq-curve-secret (both or neither):
     * the bridge's public key (40 Z85 characters, or the path of its public
     * certificate file) and this trainer's secret certificate file (czmq's
     * <name>_secret). NULL: plaintext. */
    const char *curve_server_key;
    const char *curve_client_cert;
};

#define TE_PUBLISHER_READY_TIMEOUT_MS 5000

/* Creates a publisher (an XPUB socket) attached to opts' endpoints.
 * Returns NULL and fills *err (may be NULL) if an option or endpoint is bad.
 * Caller frees with te_publisher_destroy. */
struct te_publisher *te_publisher_new(const struct te_publisher_opts *opts, struct te_error *err);

/* Lingers up to 2 s for queued events, closes, frees. NULL-safe; sets *p = NULL. */
void te_publisher_destroy(struct te_publisher **p);

/* Waits until every endpoint has a subscriber or timeout_ms passes.
 * Returns 0, or -ETIMEDOUT. Called by the first te_publisher_send. */
int te_publisher_wait_ready(struct te_publisher *p, int timeout_ms);

/* Stamps ev's version, trainer, seq (1, 2, ...) and ts_us, validates and
 * sends [scenario, envelope]. Returns 0; -EINVAL (err filled); -ETIMEDOUT if
 * the first send found no subscriber in time (the event is still sent, and
 * later sends do not wait again); -EAGAIN if ZeroMQ refused it. */
int te_publisher_send(struct te_publisher *p, struct te_event *ev, struct te_error *err);

/* The trainer id this publisher stamps. Borrowed. */
const char *te_publisher_trainer(const struct te_publisher *p);

/* Number of events sent so far (== the last seq stamped). */
uint64_t te_publisher_sent(const struct te_publisher *p);

#ifdef __cplusplus
}
#endif

#endif
