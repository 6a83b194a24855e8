/* ingest: the trainers' side. Owns the ZeroMQ SUB socket (bound and/or
 * connected as configured), decodes and validates every message with
 * libtrainevents, counts rejects by reason and sequence gaps per trainer,
 * and hands each good event, already encoded once as a packet, to a
 * callback.
 *
 * How ZeroMQ meets the lws loop: the SUB socket's ZMQ_FD is dup()ed and
 * adopted into lws as a raw file descriptor, so ingest runs on the loop
 * thread with no locks and no hand-off queue. ZMQ_FD is edge-triggered, as
 * ZeroMQ's documentation says: it signals only a change, so each wake-up
 * receives until the socket has nothing and then reads ZMQ_EVENTS (which
 * processes ZeroMQ's pending commands and re-arms the descriptor); if
 * ZMQ_EVENTS still says POLLIN, or INGEST_BUDGET messages were taken, a
 * zero-delay lws_sul carries on so clients get written in between. No
 * periodic tick is needed, so an idle bridge does not wake.
 * The lws protocol that serves the adopted descriptor is ingest's own
 * (ingest_protocol): the program puts it in its lws context's table. */
#ifndef TB_INGEST_H
#define TB_INGEST_H

#include <stddef.h>

#include "fanout.h"
#include "metrics.h"
#include "trainevents.h"

struct cfg;
struct ingest;
struct lws_context;
struct lws_protocols;
struct lws_vhost;
struct metrics;

#define INGEST_BUDGET 64             /* messages per wake-up, then clients get written */
#define INGEST_MAX_MSG_BYTES 1048576 /* ZMQ_MAXMSGSIZE: larger drops the peer's connection */
#define INGEST_MAX_TRAINERS 100000   /* trainers whose sequence numbers are tracked */

/* Called for each accepted event; pkt is borrowed (take a ref to keep it).
 * Heartbeats never come here. */
typedef void ingest_event_fn(const struct te_event *ev, struct packet *pkt, void *arg);

/* Called for each valid heartbeat (a heartbeat repeats its trainer's latest
 * seq, so repeats come here too); hb is borrowed. Returns HEARTBEAT_TAKEN, or why it
 * changed nothing (counted in trainbridge_heartbeats_ignored_total). This is
 * the run store's liveness input: the bridge's main wires it. */
typedef enum heartbeat_reason ingest_heartbeat_fn(const struct te_event *hb, void *arg);

/* Creates the SUB socket and binds/connects cfg's endpoints. Returns NULL
 * and logs why (e.g. an endpoint that does not bind). Caller frees. */
struct ingest *ingest_new(const struct cfg *cfg, struct metrics *m, ingest_event_fn *fn, void *arg);
/* Sets (or with fn NULL, clears) the heartbeat callback. Without one,
 * heartbeats are only counted (trainbridge_heartbeats_total). */
void ingest_set_heartbeat_fn(struct ingest *in, ingest_heartbeat_fn *fn, void *arg);

/* NULL-safe; sets *in_p = NULL. Call while the lws context still exists. */
void ingest_destroy(struct ingest **in_p);

/* The lws protocol entry (name, callback) that serves the adopted
 * descriptor; the lws context's protocol table must hold a copy. */
const struct lws_protocols *ingest_protocol(void);

/* Adopts the socket's descriptor into lws under ingest_protocol(), on vh.
 * Returns 0 or -EIO. */
int ingest_attach(struct ingest *in, struct lws_context *ctx, struct lws_vhost *vh);

/* Receives what is waiting (the descriptor is readable, or the loop asks
 * to carry on). */
void ingest_on_readable(struct ingest *in);

/* The endpoints as listened on (real ports), comma-separated; connect
 * endpoints with a leading '>'. Returns the length or -EMSGSIZE. */
int ingest_endpoints(const struct ingest *in, char *buf, size_t cap);

size_t ingest_n_trainers(const struct ingest *in);

#endif
