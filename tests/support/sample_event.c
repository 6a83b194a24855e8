#include "sample_event.h"

#include <stdio.h>
#include <string.h>

static void name_scenario(char *dst, size_t cap, const char *scenario)
{
    snprintf(dst, cap, "%s", scenario);
}

static void fill_payload(struct te_event *ev)
{
    switch (ev->type) {
    case TE_TRAINING_STARTED:
        name_scenario(ev->data.started.scenario_name, sizeof ev->data.started.scenario_name,
                      ev->scenario);
        ev->data.started.num_episodes = SAMPLE_EPISODES;
        snprintf(ev->data.started.start_time, sizeof ev->data.started.start_time,
                 "2024-05-01T12:00:00");
        return;
    case TE_TRAINING_PROGRESS:
        ev->data.progress.episode = (int64_t)ev->seq;
        ev->data.progress.total_episodes = SAMPLE_EPISODES;
        ev->data.progress.avg_reward = 0.1 * (double)ev->seq;
        ev->data.progress.stability = 150.5;
        return;
    case TE_TRAINING_COMPLETED:
        name_scenario(ev->data.completed.scenario_name, sizeof ev->data.completed.scenario_name,
                      ev->scenario);
        ev->data.completed.final_metrics.stability = 0.5;
        return;
    case TE_TRAINING_STOPPED:
        name_scenario(ev->data.stopped.scenario_name, sizeof ev->data.stopped.scenario_name,
                      ev->scenario);
        return;
    case TE_HEARTBEAT:
        name_scenario(ev->data.heartbeat.scenario_name, sizeof ev->data.heartbeat.scenario_name,
                      ev->scenario);
        ev->data.heartbeat.episode = 3;
        ev->data.heartbeat.interval_ms = TE_HEARTBEAT_INTERVAL_MS;
        return;
    default:
        snprintf(ev->data.error.message, sizeof ev->data.error.message, "boom");
        return;
    }
}

struct te_event sample_event(enum te_event_type type, const char *scenario, const char *trainer,
                             uint64_t seq)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.version = type < TE_EVENT_TYPE_COUNT ? te_event_min_version(type) : TE_SCHEMA_VERSION;
    name_scenario(ev.scenario, sizeof ev.scenario, scenario);
    snprintf(ev.trainer, sizeof ev.trainer, "%s", trainer);
    ev.seq = seq;
    ev.ts_us = SAMPLE_TS_US;
    fill_payload(&ev);
    return ev;
}

struct te_event sample_progress(const char *scenario, const char *trainer, uint64_t seq,
                                int64_t episode)
{
    struct te_event ev = sample_event(TE_TRAINING_PROGRESS, scenario, trainer, seq);
    ev.data.progress.episode = episode;
    ev.data.progress.avg_reward = 0.1 * (double)episode;
    return ev;
}
