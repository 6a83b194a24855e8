/* quota: how many Engine.IO sessions the bridge holds, in all and per
 * client address, and how fast one client may send packets. Owns the
 * per-address counts (a czmq hash of address -> count); the per-session
 * rate state is a small struct the session's owner embeds. Time is passed
 * in, so the policy is testable without clocks. Loop thread only. */
#ifndef TB_QUOTA_H
#define TB_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUOTA_RATE_SECONDS 5 /* seconds in a row over the rate before a close */

enum quota_verdict {
    QUOTA_OK = 0,   /* admitted and counted: release it later */
    QUOTA_TOTAL,    /* --max-connections reached */
    QUOTA_PER_ADDR, /* --max-connections-per-ip reached for this address */
};

struct quota;

/* Caller frees with quota_destroy. */
struct quota *quota_new(size_t max_total, size_t max_per_addr);
void quota_destroy(struct quota **q_p); /* NULL-safe; sets *q_p = NULL */

/* Counts a new session from addr (a numeric address, borrowed) if both
 * bounds allow it. Only QUOTA_OK counts anything. */
enum quota_verdict quota_admit(struct quota *l, const char *addr);

/* What quota_admit would say, counting nothing. */
enum quota_verdict quota_check(const struct quota *q, const char *addr);

/* Forgets one session admitted from addr. */
void quota_release(struct quota *l, const char *addr);

size_t quota_n_total(const struct quota *l);
size_t quota_n_from(const struct quota *l, const char *addr);

/* The packet rate of one client: packets counted per wall-clock second. */
struct quota_rate {
    int64_t second;       /* the second being counted */
    uint32_t n_in_second; /* packets in it so far */
    int64_t first_ms;     /* its first packet */
    bool is_hot_run;      /* the seconds before it, back to hot_since_ms, were all over */
    int64_t hot_since_ms; /* first packet of the first over-the-rate second of the run */
};

/* Counts one packet at now_ms. Returns true when the client has sent more
 * than max_per_s packets in every second for QUOTA_RATE_SECONDS seconds
 * (from the first packet of the first such second to this one): the caller
 * closes it. A second at or under the rate, or a silent one, ends a run. */
bool quota_rate_note(struct quota_rate *r, int64_t now_ms, uint32_t max_per_s);

#endif
