#include "rooms.h"

#include <czmq.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "ptrmap.h"
#include "xalloc.h"

#define MIN_ARRAY_CAP 4

/* One room: its members in a dense array (what fan-out walks) and, for O(1)
 * removal by swapping in the last member, each member's position. */
struct room {
    char *name;
    struct eio_session **members;
    size_t n_members, cap_members;
    struct ptrmap position; /* member -> index in members */
};

/* The rooms one session is in. Few (at most max_per_session): a plain array. */
struct membership {
    struct room **rooms;
    size_t n_rooms, cap_rooms;
};

struct rooms {
    zhashx_t *by_name;      /* name -> struct room *, owned */
    struct ptrmap sessions; /* session -> struct membership *, owned */
};

/* Makes room for one more element in an array of elem_size-byte elements. */
static void *reserve_one(void *array, size_t n, size_t *cap, size_t elem_size)
{
    if (n < *cap)
        return array;
    *cap = *cap ? *cap * 2 : MIN_ARRAY_CAP;
    return xrealloc(array, *cap * elem_size);
}

/* Halves an array that has become mostly empty, so memory follows load. */
static void *shrink_if_sparse(void *array, size_t n, size_t *cap, size_t elem_size)
{
    if (*cap <= MIN_ARRAY_CAP || n * 4 > *cap)
        return array;
    *cap /= 2;
    return xrealloc(array, *cap * elem_size);
}

static struct room *room_new(const char *name)
{
    struct room *room = xcalloc(1, sizeof *room);
    room->name = xstrdup(name);
    ptrmap_init(&room->position);
    return room;
}

static void room_free(struct room *room)
{
    ptrmap_fini(&room->position);
    free(room->members);
    free(room->name);
    free(room);
}

static bool room_has(const struct room *room, const struct eio_session *s)
{
    return room && ptrmap_get(&room->position, s, NULL);
}

static void room_add(struct room *room, struct eio_session *s)
{
    room->members = reserve_one(room->members, room->n_members, &room->cap_members,
                                sizeof(struct eio_session *));
    ptrmap_put(&room->position, s, room->n_members);
    room->members[room->n_members++] = s;
}

/* Removes a member (which must be present) by moving the last one into its place. */
static void room_remove(struct room *room, const struct eio_session *s)
{
    uintptr_t i = 0;
    ptrmap_get(&room->position, s, &i);
    struct eio_session *last = room->members[--room->n_members];
    room->members[i] = last;
    if (last != s)
        ptrmap_put(&room->position, last, i);
    ptrmap_remove(&room->position, s);
    room->members = shrink_if_sparse(room->members, room->n_members, &room->cap_members,
                                     sizeof(struct eio_session *));
}

/* Removes s from room and frees the room if that was its last member. */
static void leave_room(struct rooms *r, struct room *room, const struct eio_session *s)
{
    room_remove(room, s);
    if (room->n_members > 0)
        return;
    zhashx_delete(r->by_name, room->name);
    room_free(room);
}

static struct membership *membership_of(const struct rooms *r, const struct eio_session *s)
{
    uintptr_t value = 0;
    if (!ptrmap_get(&r->sessions, s, &value))
        return NULL;
    return (struct membership *)value;
}

static void membership_free(struct membership *m)
{
    free(m->rooms);
    free(m);
}

static void membership_add(struct rooms *r, struct eio_session *s, struct room *room)
{
    struct membership *m = membership_of(r, s);
    if (!m) {
        m = xcalloc(1, sizeof *m);
        ptrmap_put(&r->sessions, s, (uintptr_t)m);
    }
    m->rooms = reserve_one(m->rooms, m->n_rooms, &m->cap_rooms, sizeof(struct room *));
    m->rooms[m->n_rooms++] = room;
}

/* Forgets that s is in room; drops the session's record with its last room. */
static void membership_remove(struct rooms *r, struct eio_session *s, const struct room *room)
{
    struct membership *m = membership_of(r, s);
    for (size_t i = 0; m && i < m->n_rooms; i++) {
        if (m->rooms[i] != room)
            continue;
        m->rooms[i] = m->rooms[--m->n_rooms];
        break;
    }
    if (m && m->n_rooms == 0) {
        ptrmap_remove(&r->sessions, s);
        membership_free(m);
    }
}

static void free_membership_entry(const void *key, uintptr_t value, void *arg)
{
    (void)key;
    (void)arg;
    membership_free((struct membership *)value);
}

struct rooms *rooms_new(void)
{
    struct rooms *r = xcalloc(1, sizeof *r);
    r->by_name = zhashx_new();
    if (!r->by_name) {
        free(r);
        return NULL;
    }
    ptrmap_init(&r->sessions);
    return r;
}

void rooms_destroy(struct rooms **rooms_p)
{
    if (!rooms_p || !*rooms_p)
        return;
    struct rooms *r = *rooms_p;
    for (struct room *room = zhashx_first(r->by_name); room; room = zhashx_next(r->by_name))
        room_free(room);
    zhashx_destroy(&r->by_name);
    ptrmap_each(&r->sessions, free_membership_entry, NULL);
    ptrmap_fini(&r->sessions);
    free(r);
    *rooms_p = NULL;
}

int rooms_join(struct rooms *r, const char *room_name, struct eio_session *s,
               size_t max_per_session)
{
    struct room *room = zhashx_lookup(r->by_name, room_name);
    if (room_has(room, s))
        return 1;
    if (rooms_n_of_session(r, s) >= max_per_session)
        return -E2BIG;
    if (!room) {
        room = room_new(room_name);
        zhashx_insert(r->by_name, room_name, room);
    }
    room_add(room, s);
    membership_add(r, s, room);
    return 0;
}

int rooms_leave(struct rooms *r, const char *room_name, struct eio_session *s)
{
    struct room *room = zhashx_lookup(r->by_name, room_name);
    if (!room_has(room, s))
        return -ENOENT;
    membership_remove(r, s, room);
    leave_room(r, room, s);
    return 0;
}

void rooms_leave_all(struct rooms *r, struct eio_session *s)
{
    struct membership *m = membership_of(r, s);
    if (!m)
        return;
    ptrmap_remove(&r->sessions, s);
    for (size_t i = 0; i < m->n_rooms; i++)
        leave_room(r, m->rooms[i], s);
    membership_free(m);
}

void rooms_each(const struct rooms *r, const char *room_name, rooms_visit_fn *fn, void *arg)
{
    const struct room *room = zhashx_lookup(r->by_name, room_name);
    if (!room)
        return;
    for (size_t i = 0; i < room->n_members; i++)
        fn(room->members[i], arg);
}

bool rooms_is_member(const struct rooms *r, const char *room_name, const struct eio_session *s)
{
    return room_has(zhashx_lookup(r->by_name, room_name), s);
}

size_t rooms_n_rooms(const struct rooms *r)
{
    return zhashx_size(r->by_name);
}

size_t rooms_n_members(const struct rooms *r, const char *room_name)
{
    const struct room *room = zhashx_lookup(r->by_name, room_name);
    return room ? room->n_members : 0;
}

size_t rooms_n_of_session(const struct rooms *r, const struct eio_session *s)
{
    const struct membership *m = membership_of(r, s);
    return m ? m->n_rooms : 0;
}
