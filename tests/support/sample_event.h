/* sample_event: valid trainer events for unit tests, the same values every
 * time, so that a test sets only the fields it is about. The envelope has
 * the lowest schema version that defines the event (te_event_min_version),
 * the given scenario, trainer and seq, and a fixed timestamp; the payload
 * passes te_event_validate: training_started announces 1000 episodes,
 * progress is at episode = seq of 1000 (avg_reward 0.1 x episode,
 * stability 150.5), terminal events name the scenario, training_error says
 * "boom", a heartbeat announces the default interval. */
#ifndef TB_SAMPLE_EVENT_H
#define TB_SAMPLE_EVENT_H

#include <stdint.h>

#include "trainevents.h"

#define SAMPLE_TS_US INT64_C(1714564800000000)
#define SAMPLE_EPISODES 1000

struct te_event sample_event(enum te_event_type type, const char *scenario, const char *trainer,
                             uint64_t seq);

/* A training_progress at episode (of SAMPLE_EPISODES). */
struct te_event sample_progress(const char *scenario, const char *trainer, uint64_t seq,
                                int64_t episode);

#endif
