/* codec: a validated trainer event -> the Socket.IO packet every recipient
 * shares, '42["<event>",<payload>,<meta>]', encoded exactly once per event
 * (the JSON text itself comes from libtrainevents, te_event_to_json), and
 * the other wire shapes of that same event, each built at most once, lazily,
 * from the live packet (struct codec_event). Today's shapes: live, and
 * replay (meta gains "replay":true). Shapes a later change may add (meta
 * off, an offset argument) go into enum codec_shape; callers keep asking
 * codec_event_get for the shape a client needs and never encode per client. */
#ifndef TB_CODEC_H
#define TB_CODEC_H

#include "fanout.h"
#include "trainevents.h"

/* Builds the packet for a validated event. Returns NULL (and logs) only if
 * the event does not encode, which validation rules out. Caller owns the
 * reference. */
struct packet *codec_event_packet(const struct te_event *ev);

enum codec_shape {
    CODEC_SHAPE_LIVE,   /* as broadcast: 42["<event>",<payload>,<meta>] */
    CODEC_SHAPE_REPLAY, /* history: the same with "replay":true last in meta */
    CODEC_SHAPE_COUNT
};

/* One stored event and its encodings, one slot per shape (NULL until first
 * needed). Embedded in its owner (the run store). */
struct codec_event {
    struct packet *shape[CODEC_SHAPE_COUNT];
};

/* Keeps a new reference to live (a codec_event_packet result). */
void codec_event_init(struct codec_event *e, struct packet *live);
/* Drops every shape's reference. */
void codec_event_fini(struct codec_event *e);

/* The packet for shape, encoding it on first use (never again for this
 * event). Borrowed; NULL only if e holds no event. */
struct packet *codec_event_get(struct codec_event *e, enum codec_shape shape);

/* Bytes this event may hold once every shape is built (its live packet's
 * length times the shapes): a stable figure for history accounting. */
size_t codec_event_bytes(const struct codec_event *e);

/* A live packet's replay shape: "replay":true appended to its meta, marked
 * is_replay. Caller owns the reference; NULL if live is not a 42[...] event. */
struct packet *codec_replay_packet_new(const struct packet *live);

/* Finds the payload (second element) inside a live event packet's text:
 * *off_out and *len_out delimit it in packet_data(p). Returns 0 or -EINVAL. */
int codec_payload_span(const struct packet *p, size_t *off_out, size_t *len_out);

#endif
