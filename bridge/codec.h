/* codec: a validated trainer event -> the Socket.IO packet every recipient
 * shares, '42["<event>",<payload>,<meta>]', encoded exactly once per event
 * (the JSON text itself comes from libtrainevents, te_event_to_json). */
#ifndef TB_CODEC_H
#define TB_CODEC_H

#include "fanout.h"
#include "trainevents.h"

/* Builds the packet for a validated event. Returns NULL (and logs) only if
 * the event does not encode, which validation rules out. Caller owns the
 * reference. */
struct packet *codec_event_packet(const struct te_event *ev);

#endif
