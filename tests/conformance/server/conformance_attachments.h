/* conformance_attachments: the binary half of one Socket.IO packet, for the
 * conformance fixture. Collects the attachment frames that follow a
 * BINARY_EVENT or BINARY_ACK, in arrival order, within a count bound (the
 * packet's own "<n>-", at most SIO_MAX_ATTACHMENTS) and a byte bound; then
 * renumbers the placeholders of a reply built from that packet's data the
 * way the reference server's encoder does: placeholders are replaced, in
 * depth-first order, by {"_placeholder":true,"num":k} for k = 0, 1, ...,
 * and order[k] says which received attachment goes k-th on the wire.
 *
 * Owns copies of the frames; conformance_attachments_fini frees them.
 * Pure (no I/O). Loop thread only. */
#ifndef TB_CONFORMANCE_ATTACHMENTS_H
#define TB_CONFORMANCE_ATTACHMENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sio_packet.h"

struct conformance_attachments {
    unsigned n_expected; /* the pending packet's "<n>-"; 0 when none is pending */
    unsigned n;          /* frames received so far */
    size_t bytes;        /* their total length */
    size_t max_bytes;    /* bound on bytes (received, and sent back per reply) */
    unsigned char *data[SIO_MAX_ATTACHMENTS];
    size_t len[SIO_MAX_ATTACHMENTS];
};

void conformance_attachments_init(struct conformance_attachments *a, size_t max_bytes);

/* Frees every frame and forgets the pending count (keeps max_bytes). */
void conformance_attachments_fini(struct conformance_attachments *a);

/* A binary packet announced n frames (1 <= n <= SIO_MAX_ATTACHMENTS). */
void conformance_attachments_expect(struct conformance_attachments *a, unsigned n);

/* True while frames announced by a packet have not all arrived. */
bool conformance_attachments_is_waiting(const struct conformance_attachments *a);

/* Keeps a copy of one frame. Returns 0, -EPROTO if no frame is expected,
 * or -EMSGSIZE if the frames would pass max_bytes (nothing is kept then). */
int conformance_attachments_add(struct conformance_attachments *a, const void *data, size_t len);

/* Replaces every placeholder in data (an object whose "_placeholder" is
 * true) by a fresh one numbered depth-first from 0; order[k] gets the index
 * of the received frame that placeholder k stands for. Frames no
 * placeholder names are left out; a frame named twice goes twice.
 * Returns the number of placeholders (0 to SIO_MAX_ATTACHMENTS), -EPROTO
 * if a placeholder's "num" is not the index of a received frame, or -E2BIG
 * if the reply would carry more than SIO_MAX_ATTACHMENTS frames or more
 * than max_bytes. data may be left partly renumbered on error. */
int conformance_attachments_renumber(const struct conformance_attachments *a, json_t *data,
                                     unsigned order[SIO_MAX_ATTACHMENTS]);

#endif
