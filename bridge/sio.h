/* sio: the bridge's Socket.IO v5 layer on top of Engine.IO sessions.
 *
 * Owns each client's Socket.IO state (connected to "/", its socket id,
 * pending binary attachments) and the bridge's client protocol:
 * subscribe_training / unsubscribe_training with acknowledgements (a new
 * subscription first queues the room's history, replay.c, in the same loop
 * step as the join: no gap, no duplicate), and
 * sio_broadcast, which queues one shared event packet to every client in a
 * scenario's room and in "*" (each client at most once). Room membership
 * itself lives in rooms.c. A client whose queue would pass its bound is
 * dropped (counted, logged); nobody else waits for it. Loop thread only. */
#ifndef TB_SIO_H
#define TB_SIO_H

#include <stddef.h>

#include "eio.h"

struct auth;
struct lws_context;
struct metrics;
struct rooms;
struct runs;
struct sio;

#define SIO_ALL_SCENARIOS "*"

/* Caller frees with sio_destroy, after every session is gone. */
struct sio *sio_new(struct rooms *rooms, struct metrics *m, size_t max_rooms_per_client);
void sio_destroy(struct sio **sio_p); /* NULL-safe; sets *sio_p = NULL */

/* Late joiners get the history in runs (borrowed; outlives sio). Without
 * it subscribe replays nothing. */
void sio_set_runs(struct sio *sio, struct runs *runs);

/* Requires a valid token on CONNECT from now on (README "Security"): a
 * CONNECT without one is answered CONNECT_ERROR {"message":"unauthorized",
 * "data":{"reason":...}}, subscribe_training outside the token's scenarios
 * is acknowledged {"ok":false,"error":"forbidden"}, and a client's
 * transport is closed when its token expires (timers on ctx). auth and ctx
 * are borrowed and outlive sio. */
void sio_set_auth(struct sio *sio, const struct auth *auth, struct lws_context *ctx);

/* Closes a client that sends more than max_per_s messages in each of
 * QUOTA_RATE_SECONDS seconds in a row (0: no limit, the default). */
void sio_set_packet_rate(struct sio *sio, unsigned max_per_s);

/* The Engine.IO handler that routes sessions' messages into this layer. */
struct eio_handler sio_eio_handler(struct sio *sio);

/* Queues pkt (a full "42[...]" packet, borrowed) to the members of the
 * scenario's room and of "*". Returns the number of clients it was queued to. */
size_t sio_broadcast(struct sio *sio, const char *scenario, struct packet *pkt);

#endif
