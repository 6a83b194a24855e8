/* rooms: membership sets of sessions per scenario room. Sessions are opaque
 * here, so the tests use addresses in a char array as sessions. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rooms.h"

#define N_SESSIONS 10000

static char session_storage[N_SESSIONS];
static struct rooms *r;

static struct eio_session *session(size_t i)
{
    return (struct eio_session *)(void *)&session_storage[i];
}

static size_t session_index(const struct eio_session *s)
{
    return (size_t)((const char *)(const void *)s - session_storage);
}

static void setup(void)
{
    r = rooms_new();
    cr_assert_not_null(r);
}

static void teardown(void)
{
    rooms_destroy(&r);
}

/* Counts visits per session index. */
static unsigned visits[N_SESSIONS];

static void count_visit(struct eio_session *s, void *arg)
{
    size_t *n = arg;
    visits[session_index(s)]++;
    (*n)++;
}

static size_t visit_room(const char *room)
{
    size_t n = 0;
    memset(visits, 0, sizeof visits);
    rooms_each(r, room, count_visit, &n);
    return n;
}

TestSuite(rooms, .init = setup, .fini = teardown);

Test(rooms, destroy_is_null_safe_and_clears_pointer)
{
    struct rooms *none = NULL;
    rooms_destroy(NULL);
    rooms_destroy(&none);
    struct rooms *other = rooms_new();
    cr_assert_eq(rooms_join(other, "alpha", session(1), 8), 0);
    rooms_destroy(&other);
    cr_assert_null(other);
}

Test(rooms, join_adds_member_and_creates_room)
{
    cr_assert_eq(rooms_n_rooms(r), 0);
    cr_assert_eq(rooms_join(r, "alpha", session(1), 8), 0);
    cr_assert_eq(rooms_n_rooms(r), 1);
    cr_assert_eq(rooms_n_members(r, "alpha"), 1);
    cr_assert_eq(rooms_n_of_session(r, session(1)), 1);
    cr_assert_eq(visit_room("alpha"), 1);
    cr_assert_eq(visits[1], 1);
}

Test(rooms, joining_twice_returns_one_and_changes_nothing)
{
    cr_assert_eq(rooms_join(r, "alpha", session(1), 8), 0);
    cr_assert_eq(rooms_join(r, "alpha", session(1), 8), 1);
    cr_assert_eq(rooms_n_members(r, "alpha"), 1);
    cr_assert_eq(rooms_n_of_session(r, session(1)), 1);
}

Test(rooms, leave_removes_member_and_frees_empty_room)
{
    rooms_join(r, "alpha", session(1), 8);
    rooms_join(r, "alpha", session(2), 8);
    cr_assert_eq(rooms_leave(r, "alpha", session(1)), 0);
    cr_assert_eq(rooms_n_rooms(r), 1);
    cr_assert_eq(visit_room("alpha"), 1);
    cr_assert_eq(visits[2], 1);
    cr_assert_eq(rooms_leave(r, "alpha", session(2)), 0);
    cr_assert_eq(rooms_n_rooms(r), 0);
    cr_assert_eq(rooms_n_members(r, "alpha"), 0);
    cr_assert_eq(rooms_n_of_session(r, session(2)), 0);
}

Test(rooms, leave_of_non_member_is_enoent)
{
    cr_assert_eq(rooms_leave(r, "nowhere", session(1)), -ENOENT);
    rooms_join(r, "alpha", session(1), 8);
    cr_assert_eq(rooms_leave(r, "alpha", session(2)), -ENOENT);
    cr_assert_eq(rooms_leave(r, "alpha", session(1)), 0);
    cr_assert_eq(rooms_leave(r, "alpha", session(1)), -ENOENT);
}

Test(rooms, each_on_unknown_room_visits_nobody)
{
    rooms_join(r, "alpha", session(1), 8);
    cr_assert_eq(visit_room("beta"), 0);
    cr_assert_eq(visit_room(""), 0);
}

Test(rooms, star_and_empty_names_are_ordinary_rooms)
{
    cr_assert_eq(rooms_join(r, "*", session(1), 8), 0);
    cr_assert_eq(rooms_join(r, "", session(2), 8), 0);
    cr_assert_eq(rooms_n_rooms(r), 2);
    cr_assert_eq(visit_room("*"), 1);
    cr_assert_eq(visits[1], 1);
    cr_assert_eq(visit_room(""), 1);
    cr_assert_eq(visits[2], 1);
}

Test(rooms, room_name_is_copied)
{
    char name[16] = "alpha";
    rooms_join(r, name, session(1), 8);
    strcpy(name, "omega");
    cr_assert_eq(rooms_n_members(r, "alpha"), 1);
    cr_assert_eq(rooms_n_members(r, "omega"), 0);
}

Test(rooms, each_visits_many_members_once)
{
    for (size_t i = 0; i < N_SESSIONS; i++)
        cr_assert_eq(rooms_join(r, "alpha", session(i), 8), 0);
    cr_assert_eq(rooms_n_members(r, "alpha"), N_SESSIONS);
    cr_assert_eq(visit_room("alpha"), N_SESSIONS);
    for (size_t i = 0; i < N_SESSIONS; i++)
        cr_assert_eq(visits[i], 1, "session %zu visited %u times", i, visits[i]);

    for (size_t i = 0; i < N_SESSIONS; i += 2)
        cr_assert_eq(rooms_leave(r, "alpha", session(i)), 0);
    cr_assert_eq(visit_room("alpha"), N_SESSIONS / 2);
    for (size_t i = 0; i < N_SESSIONS; i++)
        cr_assert_eq(visits[i], i % 2, "session %zu visited %u times", i, visits[i]);
}

Test(rooms, limits_rooms_per_session)
{
    char name[16];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "room%d", i);
        cr_assert_eq(rooms_join(r, name, session(1), 4), 0);
    }
    cr_assert_eq(rooms_join(r, "room4", session(1), 4), -E2BIG);
    cr_assert_eq(rooms_n_of_session(r, session(1)), 4);
    cr_assert_eq(rooms_n_rooms(r), 4, "a refused join must not leave an empty room");
    cr_assert_eq(rooms_join(r, "room0", session(1), 4), 1, "rejoining is not a new room");
    cr_assert_eq(rooms_join(r, "room4", session(2), 4), 0, "the limit is per session");
    cr_assert_eq(rooms_leave(r, "room0", session(1)), 0);
    cr_assert_eq(rooms_join(r, "room4", session(1), 4), 0);
}

Test(rooms, zero_limit_refuses_every_join)
{
    cr_assert_eq(rooms_join(r, "alpha", session(1), 0), -E2BIG);
    cr_assert_eq(rooms_n_rooms(r), 0);
}

Test(rooms, leave_all_removes_session_everywhere)
{
    char name[16];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "room%d", i);
        cr_assert_eq(rooms_join(r, name, session(1), 64), 0);
        if (i % 10 == 0)
            cr_assert_eq(rooms_join(r, name, session(2), 64), 0);
    }
    cr_assert_eq(rooms_n_of_session(r, session(1)), 50);
    cr_assert_eq(rooms_n_rooms(r), 50);
    rooms_leave_all(r, session(1));
    cr_assert_eq(rooms_n_of_session(r, session(1)), 0);
    cr_assert_eq(rooms_n_rooms(r), 5, "rooms with another member survive");
    cr_assert_eq(visit_room("room10"), 1);
    cr_assert_eq(visits[2], 1);
    cr_assert_eq(rooms_leave(r, "room1", session(1)), -ENOENT);
}

Test(rooms, leave_all_of_unknown_session_is_harmless)
{
    rooms_join(r, "alpha", session(1), 8);
    rooms_leave_all(r, session(2));
    rooms_leave_all(r, session(1));
    rooms_leave_all(r, session(1));
    cr_assert_eq(rooms_n_rooms(r), 0);
}

Test(rooms, session_in_many_rooms_with_many_members)
{
    char name[16];
    for (size_t i = 0; i < 1000; i++) {
        for (int k = 0; k < 8; k++) {
            snprintf(name, sizeof name, "room%d", k);
            cr_assert_eq(rooms_join(r, name, session(i), 8), 0);
        }
    }
    for (size_t i = 0; i < 1000; i += 3)
        rooms_leave_all(r, session(i));
    for (int k = 0; k < 8; k++) {
        snprintf(name, sizeof name, "room%d", k);
        cr_assert_eq(visit_room(name), 1000 - 334);
        for (size_t i = 0; i < 1000; i++)
            cr_assert_eq(visits[i], i % 3 != 0);
    }
}

/* ---- random operations checked against a plain matrix */

#define MODEL_SESSIONS 64
#define MODEL_ROOMS 8
#define MODEL_LIMIT 5

static bool model[MODEL_SESSIONS][MODEL_ROOMS];

static size_t model_n_of_session(size_t s)
{
    size_t n = 0;
    for (size_t k = 0; k < MODEL_ROOMS; k++)
        n += model[s][k];
    return n;
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void model_step(uint64_t rnd)
{
    size_t s = rnd % MODEL_SESSIONS, k = (rnd >> 8) % MODEL_ROOMS, op = (rnd >> 16) % 8;
    char name[8];
    snprintf(name, sizeof name, "r%zu", k);
    if (op == 0) {
        rooms_leave_all(r, session(s));
        memset(model[s], 0, sizeof model[s]);
    } else if (op < 4) {
        cr_assert_eq(rooms_leave(r, name, session(s)), model[s][k] ? 0 : -ENOENT);
        model[s][k] = false;
    } else {
        int want = model[s][k] ? 1 : model_n_of_session(s) >= MODEL_LIMIT ? -E2BIG : 0;
        cr_assert_eq(rooms_join(r, name, session(s), MODEL_LIMIT), want);
        model[s][k] = model[s][k] || want == 0;
    }
}

static void model_check(void)
{
    size_t n_rooms = 0;
    for (size_t k = 0; k < MODEL_ROOMS; k++) {
        char name[8];
        size_t n = 0;
        snprintf(name, sizeof name, "r%zu", k);
        visit_room(name);
        for (size_t s = 0; s < MODEL_SESSIONS; s++) {
            cr_assert_eq(visits[s], model[s][k], "session %zu room %zu", s, k);
            n += model[s][k];
        }
        cr_assert_eq(rooms_n_members(r, name), n);
        n_rooms += n > 0;
    }
    cr_assert_eq(rooms_n_rooms(r), n_rooms);
    for (size_t s = 0; s < MODEL_SESSIONS; s++)
        cr_assert_eq(rooms_n_of_session(r, session(s)), model_n_of_session(s));
}

Test(rooms, random_operations_match_a_simple_model)
{
    uint64_t state = 0x2545F4914F6CDD1DULL;
    for (int i = 0; i < 20000; i++) {
        model_step(next_random(&state));
        if (i % 97 == 0)
            model_check();
    }
    model_check();
}

Test(rooms, is_member_follows_join_and_leave)
{
    cr_assert_not(rooms_is_member(r, "a", session(1)));
    cr_assert_eq(rooms_join(r, "a", session(1), 8), 0);
    cr_assert(rooms_is_member(r, "a", session(1)));
    cr_assert_not(rooms_is_member(r, "a", session(2)));
    cr_assert_not(rooms_is_member(r, "b", session(1)));
    rooms_leave(r, "a", session(1));
    cr_assert_not(rooms_is_member(r, "a", session(1)));
}
