#include "replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "xalloc.h"

static const char *const MODE_NAMES[] = {[REPLAY_CURVE] = "curve",
                                         [REPLAY_LATEST] = "latest",
                                         [REPLAY_NONE] = "none",
                                         [REPLAY_COMPACT] = "compact"};

static const char COLUMNS[] = "[\"episode\",\"total_episodes\",\"avg_reward\",\"avg_duration\","
                              "\"avg_cash\",\"avg_invested\",\"stability\",\"goal_adherence\","
                              "\"elapsed_time\"]";

/* ------------------------------------------------------------ text */

struct text {
    char *buf;
    size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = xrealloc(t->buf, t->cap);
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void put_str(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_double(struct text *t, double v)
{
    char num[32];
    put(t, num, (size_t)te_json_double(v, num));
}

static void put_int(struct text *t, int64_t v)
{
    char num[32];
    put(t, num, (size_t)snprintf(num, sizeof num, "%" PRId64, v));
}

/* The stored event's payload text, or null. */
static void put_payload(struct text *t, struct codec_event *e)
{
    struct packet *p = e ? codec_event_get(e, CODEC_SHAPE_LIVE) : NULL;
    size_t off, len;
    if (!p || codec_payload_span(p, &off, &len) < 0) {
        put_str(t, "null");
        return;
    }
    put(t, (const char *)packet_data(p) + off, len);
}

static void put_point(struct curve_point *pt, void *arg)
{
    struct text *t = arg;
    const struct te_progress *p = &pt->p;
    put_str(t, t->buf[t->len - 1] == '[' ? "[" : ",[");
    put_int(t, p->episode);
    put_str(t, ",");
    put_int(t, p->total_episodes);
    const double values[] = {p->avg_reward, p->avg_duration,   p->avg_cash,    p->avg_invested,
                             p->stability,  p->goal_adherence, p->elapsed_time};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        put_str(t, ",");
        put_double(t, values[i]);
    }
    put_str(t, "]");
}

/* ------------------------------------------------------------ public */

int replay_mode_parse(const json_t *history, enum replay_mode *mode_out)
{
    if (!history) {
        *mode_out = REPLAY_CURVE;
        return 0;
    }
    if (!json_is_string(history))
        return -EINVAL;
    for (size_t i = 0; i < sizeof MODE_NAMES / sizeof MODE_NAMES[0]; i++)
        if (json_string_length(history) == strlen(MODE_NAMES[i]) &&
            strcmp(json_string_value(history), MODE_NAMES[i]) == 0) {
            *mode_out = (enum replay_mode)i;
            return 0;
        }
    return -EINVAL;
}

struct packet *replay_history_packet_new(const struct run_view *run)
{
    struct text t = {0};
    put_str(&t, "42[\"training_history\",{\"scenario_name\":\"");
    put_str(&t, run->scenario); /* names are [A-Za-z0-9._:-]: nothing to escape */
    put_str(&t, "\",\"trainer\":\"");
    put_str(&t, run->trainer);
    put_str(&t, "\",\"state\":\"");
    put_str(&t, run_state_name(run->state));
    put_str(&t, "\",\"started\":");
    put_payload(&t, run->started);
    put_str(&t, ",\"columns\":");
    put_str(&t, COLUMNS);
    put_str(&t, ",\"points\":[");
    curve_each(run->curve, put_point, &t);
    put_str(&t, "],\"latest\":");
    struct curve_point *latest = curve_latest(run->curve);
    put_payload(&t, latest ? &latest->ev : NULL);
    put_str(&t, ",\"terminal\":");
    put_payload(&t, run->terminal);
    put_str(&t, "},{\"scenario_name\":\"");
    put_str(&t, run->scenario);
    put_str(&t, "\",\"trainer\":\"");
    put_str(&t, run->trainer);
    put_str(&t, "\",\"replay\":true}]");
    struct packet *p = packet_from_text(t.buf, t.len);
    p->is_replay = true;
    free(t.buf);
    return p;
}

struct replay {
    enum replay_mode mode;
    replay_skip_fn *skip;
    replay_send_fn *send;
    void *arg;
    struct replay_count count;
};

static void send_event(struct replay *r, struct codec_event *e)
{
    struct packet *p = e ? codec_event_get(e, CODEC_SHAPE_REPLAY) : NULL;
    if (!p)
        return;
    r->send(p, r->arg);
    r->count.n_events++;
}

static void send_point(struct curve_point *pt, void *arg)
{
    send_event(arg, &pt->ev);
}

static void send_compact(struct replay *r, const struct run_view *run)
{
    if (!*run->summary)
        *run->summary = replay_history_packet_new(run);
    r->send(*run->summary, r->arg);
    r->count.n_events++;
}

static void send_run(const struct run_view *run, void *arg)
{
    struct replay *r = arg;
    if (r->skip && r->skip(run->scenario, r->arg))
        return;
    r->count.n_runs++;
    if (r->mode == REPLAY_COMPACT) {
        send_compact(r, run);
        return;
    }
    send_event(r, run->started);
    if (r->mode == REPLAY_CURVE) {
        curve_each(run->curve, send_point, r);
    } else {
        struct curve_point *latest = curve_latest(run->curve);
        send_event(r, latest ? &latest->ev : NULL);
    }
    send_event(r, run->terminal);
}

struct replay_count replay_send(struct runs *runs, const char *scenario, enum replay_mode mode,
                                replay_skip_fn *skip, replay_send_fn *send, void *arg)
{
    struct replay r = {.mode = mode, .skip = skip, .send = send, .arg = arg};
    if (mode != REPLAY_NONE)
        runs_each(runs, scenario, send_run, &r);
    return r.count;
}
