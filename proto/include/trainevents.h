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
 * reentrant; one te_publisher is called by one thread at a time (see
 * "publisher" below for its own heartbeat thread). */
#ifndef TRAINEVENTS_H
#define TRAINEVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The newest schema version this library reads and writes (proto/EVENTS.md,
 * "Versioning"). Each message carries the lowest version that defines it
 * (te_event_min_version): the five training events are v1 messages, a
 * heartbeat is a v2 message, so bridges that only know v1 keep reading the
 * five events of a newer trainer. */
#define TE_SCHEMA_VERSION 2

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
    TE_HEARTBEAT, /* v2: "the trainer is alive"; never forwarded to clients */
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

/* Heartbeat intervals a publisher may announce, in milliseconds. */
#define TE_HEARTBEAT_MIN_MS 100
#define TE_HEARTBEAT_MAX_MS 3600000
#define TE_HEARTBEAT_INTERVAL_MS 5000 /* the publishers' default */

struct te_heartbeat {
    char scenario_name[TE_MAX_NAME_LEN + 1];
    int64_t episode;     /* the latest episode reported (0 before the first) */
    int64_t interval_ms; /* the next heartbeat is due within this; TE_HEARTBEAT_MIN/MAX_MS */
};

/* One event: the envelope's metadata and the event's payload ("data"). */
struct te_event {
    uint32_t version;        /* envelope "v": te_event_min_version(type)..TE_SCHEMA_VERSION */
    enum te_event_type type; /* envelope "event" */
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
        struct te_heartbeat heartbeat;
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
    TE_E_UNKNOWN_EVENT, /* "event" is not one of the six, or newer than "v" */
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

/* Looks a wire name up. Returns 0, or -ENOENT if it is not one of the six. */
int te_event_type_from_name(const char *name, size_t len, enum te_event_type *type_out);

/* The lowest schema version that defines the event: 1 for the five training
 * events, 2 for TE_HEARTBEAT; 0 for an out-of-range type. Encoders stamp it. */
uint32_t te_event_min_version(enum te_event_type type);

/* True for the events that end a run: completed, stopped, error. */
bool te_event_is_terminal(enum te_event_type type);

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

/* ----------------------------------------------------------- publisher
 *
 * Threading contract. The application calls a publisher from one thread at
 * a time (any thread, but not two at once). Unless heartbeats are turned off,
 * te_publisher_new also starts one background thread of its own, the
 * heartbeat timer: from training_started to the run's terminal event
 * (completed, stopped, error) it sends a heartbeat on the run's topic every
 * heartbeat interval, however long the application blocks between sends
 * (a long episode, a debugger stop excepted: that stops the whole process).
 * The run's first heartbeat is sent by te_publisher_send itself, right
 * after training_started. The ZeroMQ socket is never used by two threads at
 * once: a mutex inside the publisher guards it and the sequence counter,
 * te_publisher_send and te_publisher_wait_ready hold it for their whole
 * call (so a heartbeat may be delayed by a long first-send wait), the timer
 * holds it while it sends. The timer thread blocks every signal, so signal
 * handlers keep running in the application's threads. te_publisher_destroy
 * joins it first: no heartbeat is sent after destroy begins. Do not fork()
 * a process with a live publisher and use it in the child. Up to 64
 * scenarios can be active at once per publisher; more get no heartbeats. */

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
    /* Heartbeat interval of active runs, TE_HEARTBEAT_MIN_MS..MAX_MS; 0 picks
     * TE_HEARTBEAT_INTERVAL_MS (5 s); negative turns heartbeats off (no
     * background thread). */
    int heartbeat_interval_ms;
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

/* Stamps ev's version (te_event_min_version), trainer, seq (1, 2, ...) and
 * ts_us, validates and sends [scenario, envelope]; after training_started
 * also the run's first heartbeat. TE_HEARTBEAT itself is refused (-EINVAL):
 * the publisher sends its own. Returns 0; -EINVAL (err filled); -ETIMEDOUT if
 * the first send found no subscriber in time (the event is still sent, and
 * later sends do not wait again); -EAGAIN if ZeroMQ refused it. */
int te_publisher_send(struct te_publisher *p, struct te_event *ev, struct te_error *err);

/* The trainer id this publisher stamps. Borrowed. */
const char *te_publisher_trainer(const struct te_publisher *p);

/* Number of events sent so far (== the last seq stamped; heartbeats repeat
 * the latest event's seq and are not counted here). Any thread. */
uint64_t te_publisher_sent(const struct te_publisher *p);

/* Number of heartbeats sent so far. Any thread. */
uint64_t te_publisher_heartbeats(const struct te_publisher *p);

#ifdef __cplusplus
}
#endif

#endif
