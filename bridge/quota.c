#include "quota.h"

#include <czmq.h>

#include "log.h"
#include "xalloc.h"

struct quota {
    size_t max_total;
    size_t max_per_addr;
    size_t n_total;
    zhashx_t *per_addr; /* address -> count, stored in the item pointer */
};

static size_t count_of(const struct quota *l, const char *addr)
{
    return (size_t)(uintptr_t)zhashx_lookup(l->per_addr, addr);
}

static void set_count(struct quota *l, const char *addr, size_t n)
{
    if (n == 0)
        zhashx_delete(l->per_addr, addr);
    else
        zhashx_update(l->per_addr, addr, (void *)(uintptr_t)n);
}

struct quota *quota_new(size_t max_total, size_t max_per_addr)
{
    struct quota *l = xcalloc(1, sizeof *l);
    l->max_total = max_total;
    l->max_per_addr = max_per_addr;
    l->per_addr = zhashx_new();
    if (!l->per_addr) {
        log_error("quota", "out of memory creating the address table");
        abort();
    }
    return l;
}

void quota_destroy(struct quota **q_p)
{
    if (!q_p || !*q_p)
        return;
    zhashx_destroy(&(*q_p)->per_addr);
    free(*q_p);
    *q_p = NULL;
}

enum quota_verdict quota_check(const struct quota *l, const char *addr)
{
    if (l->n_total >= l->max_total)
        return QUOTA_TOTAL;
    if (count_of(l, addr) >= l->max_per_addr)
        return QUOTA_PER_ADDR;
    return QUOTA_OK;
}

enum quota_verdict quota_admit(struct quota *l, const char *addr)
{
    enum quota_verdict v = quota_check(l, addr);
    if (v != QUOTA_OK)
        return v;
    set_count(l, addr, count_of(l, addr) + 1);
    l->n_total++;
    return QUOTA_OK;
}

void quota_release(struct quota *l, const char *addr)
{
    size_t n = count_of(l, addr);
    if (n == 0)
        return; /* never admitted: nothing to forget */
    set_count(l, addr, n - 1);
    l->n_total--;
}

size_t quota_n_total(const struct quota *l)
{
    return l->n_total;
}

size_t quota_n_from(const struct quota *l, const char *addr)
{
    return count_of(l, addr);
}

bool quota_rate_note(struct quota_rate *r, int64_t now_ms, uint32_t max_per_s)
{
    int64_t second = now_ms / 1000;
    if (second != r->second || r->n_in_second == 0) {
        bool was_hot = r->n_in_second > max_per_s && second == r->second + 1;
        if (was_hot && !r->is_hot_run)
            r->hot_since_ms = r->first_ms;
        r->is_hot_run = was_hot;
        r->second = second;
        r->n_in_second = 0;
        r->first_ms = now_ms;
    }
    if (r->n_in_second < UINT32_MAX)
        r->n_in_second++;
    if (r->n_in_second <= max_per_s)
        return false;
    int64_t since = r->is_hot_run ? r->hot_since_ms : r->first_ms;
    return now_ms - since >= (int64_t)QUOTA_RATE_SECONDS * 1000;
}
