/* te_pulse: a publisher's heartbeat timer (proto/EVENTS.md, "Heartbeats").
 *
 * Owns the table of the publisher's active runs (one per scenario, from
 * training_started to its terminal event, with the latest episode) and one
 * background thread that sends each run's heartbeat every interval. It does
 * not own the socket: the publisher hands in a mutex that guards the socket
 * and everything else the publisher owns, and a send function that the
 * thread calls with that mutex held.
 *
 * Locking: the caller holds the mutex around te_pulse_note; the thread takes
 * it for each round of heartbeats and while it reads the table; it sleeps on
 * a condition variable (CLOCK_MONOTONIC) tied to the same mutex. The thread
 * blocks every signal, so the application's handlers run in its own threads.
 * te_pulse_stop is called without the mutex held and returns once the thread
 * has ended: no heartbeat leaves after it. */
#ifndef TE_PULSE_H
#define TE_PULSE_H

#include "trainevents.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Runs one publisher can keep alive at once; further scenarios started
 * while this many are active get no heartbeats. */
#define TE_PULSE_MAX_RUNS 64

/* Sends one heartbeat for scenario; called by the timer thread with the
 * publisher's mutex held. Returns 0 or a negative errno. */
typedef int te_pulse_send_fn(void *arg, const char *scenario, int64_t episode, int64_t interval_ms);

struct te_pulse_run {
    char scenario[TE_MAX_NAME_LEN + 1];
    int64_t episode;
    int64_t due_ms; /* zclock_mono() time of the next heartbeat */
};

struct te_pulse {
    pthread_mutex_t *lock; /* borrowed: the publisher's */
    pthread_cond_t wake;
    pthread_t thread;
    bool has_thread;
    bool is_stopping;
    int64_t interval_ms;
    te_pulse_send_fn *send;
    void *arg;
    struct te_pulse_run runs[TE_PULSE_MAX_RUNS];
    size_t n_runs;
};

/* Starts the timer thread. lock must outlive the pulse. Returns 0 or a
 * negative errno (the pulse is then unusable and needs no stop). */
int te_pulse_start(struct te_pulse *pulse, pthread_mutex_t *lock, int64_t interval_ms,
                   te_pulse_send_fn *send, void *arg);

/* Stops and joins the thread. Without the mutex held. Safe on a pulse that
 * never started (zeroed). */
void te_pulse_stop(struct te_pulse *pulse);

/* Tells the timer about an event the publisher has just sent (mutex held):
 * training_started opens the run (again, if it was open) and returns true:
 * the caller sends the run's first heartbeat at once, and the thread sends
 * the next one interval later; training_progress updates the run's episode;
 * a terminal event closes it. Returns false otherwise (also when the table
 * is full). */
bool te_pulse_note(struct te_pulse *pulse, const struct te_event *ev);

#endif
