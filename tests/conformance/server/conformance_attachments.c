#include "conformance_attachments.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* State of one renumbering walk. */
struct renumber {
    const struct conformance_attachments *a;
    unsigned *order;
    unsigned n;   /* placeholders written so far */
    size_t bytes; /* bytes of the frames they stand for */
};

/* Reads j as a placeholder: *is_placeholder tells whether it is one, and
 * *index which frame it names. Returns 0, or -EPROTO for a placeholder whose
 * "num" is not a received frame's index (the reference's "illegal
 * attachments"). */
static int read_placeholder(const json_t *j, unsigned n_frames, bool *is_placeholder,
                            unsigned *index)
{
    *is_placeholder = json_is_object(j) && json_is_true(json_object_get(j, "_placeholder"));
    if (!*is_placeholder)
        return 0;
    const json_t *num = json_object_get(j, "num");
    if (!json_is_number(num))
        return -EPROTO;
    double v = json_number_value(num);
    if (!(v >= 0) || v >= (double)n_frames || v != floor(v))
        return -EPROTO;
    *index = (unsigned)v;
    return 0;
}

/* A fresh placeholder standing for frame index, numbered next in order. */
static int next_placeholder(struct renumber *r, unsigned index, json_t **out)
{
    if (r->n >= SIO_MAX_ATTACHMENTS || r->a->len[index] > r->a->max_bytes - r->bytes)
        return -E2BIG;
    r->order[r->n] = index;
    r->bytes += r->a->len[index];
    *out = json_pack("{s:b, s:I}", "_placeholder", 1, "num", (json_int_t)r->n);
    r->n++;
    return 0;
}

static int visit(struct renumber *r, json_t *j);

/* Looks at one child: *replacement gets a new placeholder if the child is
 * one (the caller puts it in the child's place), else NULL after the child's
 * own children were visited. */
static int visit_child(struct renumber *r, json_t *child, json_t **replacement)
{
    bool is_placeholder;
    unsigned index = 0;
    *replacement = NULL;
    int rc = read_placeholder(child, r->a->n, &is_placeholder, &index);
    if (rc < 0)
        return rc;
    return is_placeholder ? next_placeholder(r, index, replacement) : visit(r, child);
}

static int visit_array(struct renumber *r, json_t *array)
{
    for (size_t i = 0; i < json_array_size(array); i++) {
        json_t *replacement;
        int rc = visit_child(r, json_array_get(array, i), &replacement);
        if (rc < 0)
            return rc;
        if (replacement && json_array_set_new(array, i, replacement) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Object members in their order (jansson keeps insertion order). */
static int visit_object(struct renumber *r, json_t *object)
{
    for (void *it = json_object_iter(object); it; it = json_object_iter_next(object, it)) {
        json_t *replacement;
        int rc = visit_child(r, json_object_iter_value(it), &replacement);
        if (rc < 0)
            return rc;
        if (replacement && json_object_iter_set_new(object, it, replacement) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Depth is bounded by jansson's parser (JSON_PARSER_MAX_DEPTH). */
static int visit(struct renumber *r, json_t *j)
{
    if (json_is_array(j))
        return visit_array(r, j);
    if (json_is_object(j))
        return visit_object(r, j);
    return 0;
}

void conformance_attachments_init(struct conformance_attachments *a, size_t max_bytes)
{
    memset(a, 0, sizeof *a);
    a->max_bytes = max_bytes;
}

void conformance_attachments_fini(struct conformance_attachments *a)
{
    for (unsigned i = 0; i < a->n; i++)
        free(a->data[i]);
    conformance_attachments_init(a, a->max_bytes);
}

void conformance_attachments_expect(struct conformance_attachments *a, unsigned n)
{
    a->n_expected = n < SIO_MAX_ATTACHMENTS ? n : SIO_MAX_ATTACHMENTS;
}

bool conformance_attachments_is_waiting(const struct conformance_attachments *a)
{
    return a->n < a->n_expected;
}

int conformance_attachments_add(struct conformance_attachments *a, const void *data, size_t len)
{
    if (!conformance_attachments_is_waiting(a))
        return -EPROTO;
    if (len > a->max_bytes - a->bytes)
        return -EMSGSIZE;
    a->data[a->n] = xmalloc(len ? len : 1);
    if (len)
        memcpy(a->data[a->n], data, len);
    a->len[a->n] = len;
    a->bytes += len;
    a->n++;
    return 0;
}

int conformance_attachments_renumber(const struct conformance_attachments *a, json_t *data,
                                     unsigned order[SIO_MAX_ATTACHMENTS])
{
    struct renumber r = {.a = a, .order = order};
    json_t *replacement;
    int rc = visit_child(&r, data, &replacement);
    if (replacement) { /* data itself is a placeholder: the caller's root must stay */
        json_decref(replacement);
        rc = -EPROTO;
    }
    return rc < 0 ? rc : (int)r.n;
}
