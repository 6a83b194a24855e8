/* ptrmap: the pointer-keyed hash map under rooms. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "ptrmap.h"

#define N_KEYS 5000

static char key_storage[N_KEYS];
static struct ptrmap m;

static const void *key(size_t i)
{
    return &key_storage[i];
}

static void setup(void)
{
    ptrmap_init(&m);
}

static void teardown(void)
{
    ptrmap_fini(&m);
}

TestSuite(ptrmap, .init = setup, .fini = teardown);

Test(ptrmap, empty_map_finds_nothing)
{
    uintptr_t v = 7;
    cr_assert_not(ptrmap_get(&m, key(1), &v));
    cr_assert_not(ptrmap_get(&m, NULL, &v));
    cr_assert_not(ptrmap_remove(&m, key(1)));
    cr_assert_eq(v, 7);
    cr_assert_eq(ptrmap_count(&m), 0);
}

Test(ptrmap, put_get_replace_remove)
{
    uintptr_t v = 0;
    ptrmap_put(&m, key(1), 10);
    cr_assert(ptrmap_get(&m, key(1), &v));
    cr_assert_eq(v, 10);
    cr_assert(ptrmap_get(&m, key(1), NULL));
    ptrmap_put(&m, key(1), 11);
    cr_assert_eq(ptrmap_count(&m), 1);
    cr_assert(ptrmap_get(&m, key(1), &v));
    cr_assert_eq(v, 11);
    cr_assert(ptrmap_remove(&m, key(1)));
    cr_assert_not(ptrmap_remove(&m, key(1)));
    cr_assert_not(ptrmap_get(&m, key(1), &v));
    cr_assert_eq(ptrmap_count(&m), 0);
}

Test(ptrmap, grows_and_shrinks_with_its_entries)
{
    for (size_t i = 0; i < N_KEYS; i++)
        ptrmap_put(&m, key(i), i * 3);
    cr_assert_eq(ptrmap_count(&m), N_KEYS);
    cr_assert_geq(m.cap, 2 * N_KEYS);
    for (size_t i = 0; i < N_KEYS; i++) {
        uintptr_t v = 0;
        cr_assert(ptrmap_get(&m, key(i), &v), "key %zu lost", i);
        cr_assert_eq(v, i * 3);
    }
    for (size_t i = 0; i < N_KEYS - 10; i++)
        cr_assert(ptrmap_remove(&m, key(i)));
    cr_assert_eq(ptrmap_count(&m), 10);
    cr_assert_leq(m.cap, 128, "cap %zu after removals", m.cap);
    for (size_t i = N_KEYS - 10; i < N_KEYS; i++)
        cr_assert(ptrmap_get(&m, key(i), NULL));
}

static void sum_values(const void *k, uintptr_t value, void *arg)
{
    (void)k;
    *(uintptr_t *)arg += value;
}

Test(ptrmap, each_visits_every_entry)
{
    uintptr_t want = 0, got = 0;
    for (size_t i = 0; i < 100; i++) {
        ptrmap_put(&m, key(i), i);
        want += i;
    }
    ptrmap_each(&m, sum_values, &got);
    cr_assert_eq(got, want);
}

/* Removal shifts entries back; a random mix checks that no probe run breaks. */
Test(ptrmap, random_operations_match_an_array)
{
    static uintptr_t model[N_KEYS];
    static bool present[N_KEYS];
    uint64_t state = 88172645463325252ULL;
    size_t n = 0;
    for (int step = 0; step < 200000; step++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        size_t i = state % 600; /* a small key range keeps runs long */
        if ((state >> 32) % 3 == 0) {
            cr_assert_eq(ptrmap_remove(&m, key(i)), present[i]);
            n -= present[i];
            present[i] = false;
        } else {
            n += !present[i];
            ptrmap_put(&m, key(i), (uintptr_t)step);
            present[i] = true;
            model[i] = (uintptr_t)step;
        }
        cr_assert_eq(ptrmap_count(&m), n);
    }
    for (size_t i = 0; i < 600; i++) {
        uintptr_t v = 0;
        cr_assert_eq(ptrmap_get(&m, key(i), &v), present[i], "key %zu", i);
        if (present[i])
            cr_assert_eq(v, model[i]);
    }
}
