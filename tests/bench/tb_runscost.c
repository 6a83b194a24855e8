/* tb_runscost: what the run store adds per ingested event (issue 11):
 * runs_record for a stream of training_progress events (curve maintenance,
 * accounting) over T trainers, and codec_event_get of the replay shape.
 * Prints ns per event; no asserts. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "runs.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct te_event progress(int trainer, int64_t episode)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = TE_SCHEMA_VERSION;
    ev.type = TE_TRAINING_PROGRESS;
    strcpy(ev.scenario, "bench");
    snprintf(ev.trainer, sizeof ev.trainer, "trainer-%d", trainer);
    ev.seq = (uint64_t)episode + 1;
    ev.data.progress.episode = episode;
    ev.data.progress.total_episodes = 1000000;
    ev.data.progress.avg_reward = (double)((episode * 7919) % 1000) / 10.0;
    return ev;
}

int main(void)
{
    enum { N_TRAINERS = 10, N_EVENTS = 2000000 };
    struct runs_limits lim = {.max_points = 500,
                              .max_finished_per_scenario = 10,
                              .ttl_us = INT64_MAX,
                              .max_bytes = 1UL << 34};
    struct runs *runs = runs_new_memory(&lim);
    struct te_event ev = progress(0, 1);
    struct packet *pkt = codec_event_packet(&ev); /* one packet: only the store's cost counts */
    double t0 = now_s();
    for (int i = 0; i < N_EVENTS; i++) {
        struct te_event e = progress(i % N_TRAINERS, 1 + i / N_TRAINERS);
        runs_record(runs, &e, pkt, i);
    }
    double t1 = now_s();
    struct runs_stats st;
    runs_stats(runs, &st);
    printf("runs_record: %.0f ns per training_progress (%d events, %d trainers, %zu bytes of "
           "history)\n",
           (t1 - t0) * 1e9 / N_EVENTS, N_EVENTS, N_TRAINERS, st.bytes);
    packet_unref(&pkt);
    runs_destroy(&runs);
    return 0;
}
