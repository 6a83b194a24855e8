/* replay: what a client that subscribes late receives. Owns the choice of
 * history (subscribe's "history": curve, latest, none, compact) and the
 * training_history encoding; reads runs through the runs interface and
 * queues through a caller's send function, so it knows neither sessions
 * nor the store's backend.
 *
 * For each run of the scenario ("*": all), oldest first: curve sends its
 * training_started, its curve in episode order (the last point is the exact
 * latest progress) and its terminal event; latest sends training_started,
 * the latest progress and the terminal event; compact sends one
 * training_history event; none sends nothing. Every packet is a stored
 * event's replay shape (meta gains "replay":true), encoded at most once per
 * stored event whatever the number of clients; a run's training_history is
 * encoded once per change of the run. Loop thread only. */
#ifndef TB_REPLAY_H
#define TB_REPLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "runs.h"

enum replay_mode { REPLAY_CURVE, REPLAY_LATEST, REPLAY_NONE, REPLAY_COMPACT };

/* The subscribe payload's "history" value (NULL: absent, the default
 * curve). Returns 0, or -EINVAL if it is not one of the four strings. */
int replay_mode_parse(const json_t *history, enum replay_mode *mode_out);

/* True if the client already receives that scenario's events live (so its
 * runs are not replayed again). */
typedef bool replay_skip_fn(const char *scenario, void *arg);
/* Queues one packet (borrowed) to the client. */
typedef void replay_send_fn(struct packet *p, void *arg);

struct replay_count {
    size_t n_runs;   /* runs whose history was sent */
    size_t n_events; /* packets sent */
};

/* Sends the history of scenario's runs ("*": every scenario's). skip may be
 * NULL. */
struct replay_count replay_send(struct runs *runs, const char *scenario, enum replay_mode mode,
                                replay_skip_fn *skip, replay_send_fn *send, void *arg);

/* The run's training_history packet (is_replay). Caller owns the reference. */
struct packet *replay_history_packet_new(const struct run_view *run);

#endif
