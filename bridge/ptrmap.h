/* ptrmap: a hash map from non-NULL pointers to uintptr_t values (an index,
 * or a pointer cast to uintptr_t). Open addressing with linear probing and
 * backward-shift deletion, so no tombstones; grows above 1/2 full and shrinks
 * below 1/8. Embedded in its owner (ptrmap_init / ptrmap_fini). Owns its slot
 * array, never the keys or what the values point to. Not thread-safe. */
#ifndef TB_PTRMAP_H
#define TB_PTRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ptrmap_slot {
    const void *key; /* NULL = free slot */
    uintptr_t value;
};

struct ptrmap {
    struct ptrmap_slot *slots; /* NULL until the first put */
    size_t cap;                /* 0, or a power of two >= 8 */
    size_t n;
    unsigned bits; /* cap == 1 << bits */
};

typedef void ptrmap_visit_fn(const void *key, uintptr_t value, void *arg);

void ptrmap_init(struct ptrmap *m);
void ptrmap_fini(struct ptrmap *m); /* frees the slots; the map is empty again */

/* True if key is present; stores its value in *value_out unless it is NULL. */
bool ptrmap_get(const struct ptrmap *m, const void *key, uintptr_t *value_out);

/* Inserts key (non-NULL) or replaces its value. */
void ptrmap_put(struct ptrmap *m, const void *key, uintptr_t value);

/* Removes key. Returns false if it was absent. */
bool ptrmap_remove(struct ptrmap *m, const void *key);

/* Calls fn for every entry, in no particular order; fn must not modify m. */
void ptrmap_each(const struct ptrmap *m, ptrmap_visit_fn *fn, void *arg);

size_t ptrmap_count(const struct ptrmap *m);

#endif
