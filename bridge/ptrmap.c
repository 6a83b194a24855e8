#include "ptrmap.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* 2^64 / golden ratio: Fibonacci hashing spreads aligned pointers well. */
#define FIB_MULTIPLIER 0x9E3779B97F4A7C15ULL
#define MIN_BITS 3 /* 8 slots */

static size_t home_slot(const struct ptrmap *m, const void *key)
{
    uint64_t h = (uint64_t)(uintptr_t)key * FIB_MULTIPLIER;
    return (size_t)(h >> (64 - m->bits));
}

/* The slot holding key, or the free slot where it would go. Needs cap > 0. */
static size_t find_slot(const struct ptrmap *m, const void *key)
{
    size_t mask = m->cap - 1;
    size_t i = home_slot(m, key);
    while (m->slots[i].key && m->slots[i].key != key)
        i = (i + 1) & mask;
    return i;
}

/* Moves every entry into a fresh table of 1 << bits slots. */
static void rehash(struct ptrmap *m, unsigned bits)
{
    struct ptrmap_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->bits = bits;
    m->cap = (size_t)1 << bits;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key)
            m->slots[find_slot(m, old[i].key)] = old[i];
    }
    free(old);
}

/* True if slot k lies cyclically in (i, j]: an entry whose home is k and
 * that sits at j must not move back to i. */
static bool stays_put(size_t i, size_t j, size_t k)
{
    if (i <= j)
        return i < k && k <= j;
    return i < k || k <= j;
}

/* Empties slot i and shifts back the entries of its probe run. */
static void delete_slot(struct ptrmap *m, size_t i)
{
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        if (stays_put(i, j, home_slot(m, m->slots[j].key)))
            continue;
        m->slots[i] = m->slots[j];
        i = j;
    }
    m->slots[i].key = NULL;
    m->slots[i].value = 0;
}

void ptrmap_init(struct ptrmap *m)
{
    memset(m, 0, sizeof *m);
}

void ptrmap_fini(struct ptrmap *m)
{
    free(m->slots);
    ptrmap_init(m);
}

bool ptrmap_get(const struct ptrmap *m, const void *key, uintptr_t *value_out)
{
    if (m->cap == 0 || !key)
        return false;
    size_t i = find_slot(m, key);
    if (!m->slots[i].key)
        return false;
    if (value_out)
        *value_out = m->slots[i].value;
    return true;
}

void ptrmap_put(struct ptrmap *m, const void *key, uintptr_t value)
{
    if (m->cap == 0)
        rehash(m, MIN_BITS);
    else if ((m->n + 1) * 2 > m->cap)
        rehash(m, m->bits + 1);
    size_t i = find_slot(m, key);
    if (!m->slots[i].key) {
        m->slots[i].key = key;
        m->n++;
    }
    m->slots[i].value = value;
}

bool ptrmap_remove(struct ptrmap *m, const void *key)
{
    if (m->cap == 0 || !key)
        return false;
    size_t i = find_slot(m, key);
    if (!m->slots[i].key)
        return false;
    delete_slot(m, i);
    m->n--;
    if (m->n == 0)
        ptrmap_fini(m);
    else if (m->bits > MIN_BITS && m->n * 8 < m->cap)
        rehash(m, m->bits - 1);
    return true;
}

void ptrmap_each(const struct ptrmap *m, ptrmap_visit_fn *fn, void *arg)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key)
            fn(m->slots[i].key, m->slots[i].value, arg);
    }
}

size_t ptrmap_count(const struct ptrmap *m)
{
    return m->n;
}
