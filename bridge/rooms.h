/* rooms: which sessions receive which scenario's events. Owns the membership
 * sets (room name -> sessions) and, per session, the list of its rooms; does
 * not own the sessions. A room exists while it has members. "*" is an
 * ordinary room here; fan-out gives it every scenario's events.
 * Loop thread only. */
#ifndef TB_ROOMS_H
#define TB_ROOMS_H

#include <stdbool.h>
#include <stddef.h>

struct eio_session;
struct rooms;

typedef void rooms_visit_fn(struct eio_session *s, void *arg);

/* Caller frees with rooms_destroy. */
struct rooms *rooms_new(void);
void rooms_destroy(struct rooms **rooms_p); /* NULL-safe; sets *rooms_p = NULL */

/* Adds s to room. Returns 0, 1 if s was already a member, or -E2BIG if s is
 * already in max_per_session rooms. The name is copied. */
int rooms_join(struct rooms *r, const char *room, struct eio_session *s, size_t max_per_session);

/* Removes s from room. Returns 0, or -ENOENT if s was not a member. */
int rooms_leave(struct rooms *r, const char *room, struct eio_session *s);

/* Removes s from every room it is in (on disconnect). */
void rooms_leave_all(struct rooms *r, struct eio_session *s);

/* Calls fn for every member of room, in no particular order. fn must not
 * join or leave. Cost: the number of members. */
void rooms_each(const struct rooms *r, const char *room, rooms_visit_fn *fn, void *arg);

/* True if s is a member of room. */
bool rooms_is_member(const struct rooms *r, const char *room, const struct eio_session *s);

size_t rooms_n_rooms(const struct rooms *r);
size_t rooms_n_members(const struct rooms *r, const char *room);
size_t rooms_n_of_session(const struct rooms *r, const struct eio_session *s);

#endif
