/* te_pulse: a publisher's heartbeat timer; see te_pulse.h for the locking
 * contract. The thread sleeps until the earliest run is due (or forever
 * while no run is active), sends the heartbeats that are due, and goes back
 * to sleep; te_pulse_note wakes it when the table changes. */
#include "te_pulse.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

/* The absolute CLOCK_MONOTONIC time, as a timespec, that is zclock_mono()
 * reading due_ms. */
static struct timespec deadline_of(int64_t due_ms)
{
    int64_t left_ms = due_ms - zclock_mono();
    if (left_ms < 0)
        left_ms = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(left_ms / 1000);
    ts.tv_nsec += (long)(left_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Index of scenario's run, or -1. */
static int find_run(const struct te_pulse *pulse, const char *scenario)
{
    for (size_t i = 0; i < pulse->n_runs; i++)
        if (strcmp(pulse->runs[i].scenario, scenario) == 0)
            return (int)i;
    return -1;
}

static void close_run(struct te_pulse *pulse, int i)
{
    pulse->runs[i] = pulse->runs[--pulse->n_runs];
}

/* Sends every heartbeat that is due (mutex held); returns the earliest due
 * time that remains, or -1 if no run is active. */
static int64_t beat_due_runs(struct te_pulse *pulse)
{
    int64_t now_ms = zclock_mono(), next_ms = -1;
    for (size_t i = 0; i < pulse->n_runs; i++) {
        struct te_pulse_run *run = &pulse->runs[i];
        if (run->due_ms <= now_ms) {
            pulse->send(pulse->arg, run->scenario, run->episode, pulse->interval_ms);
            run->due_ms = now_ms + pulse->interval_ms; /* a late round does not catch up */
        }
        if (next_ms < 0 || run->due_ms < next_ms)
            next_ms = run->due_ms;
    }
    return next_ms;
}

static void *run_timer(void *arg)
{
    struct te_pulse *pulse = arg;
    pthread_mutex_lock(pulse->lock);
    while (!pulse->is_stopping) {
        int64_t next_ms = beat_due_runs(pulse);
        if (next_ms < 0) {
            pthread_cond_wait(&pulse->wake, pulse->lock);
        } else {
            struct timespec until = deadline_of(next_ms);
            pthread_cond_timedwait(&pulse->wake, pulse->lock, &until);
        }
    }
    pthread_mutex_unlock(pulse->lock);
    return NULL;
}

/* Creates the thread with every signal blocked (it inherits the mask). */
static int spawn_thread(struct te_pulse *pulse)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&pulse->thread, NULL, run_timer, pulse);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}

int te_pulse_start(struct te_pulse *pulse, pthread_mutex_t *lock, int64_t interval_ms,
                   te_pulse_send_fn *send, void *arg)
{
    memset(pulse, 0, sizeof *pulse);
    pulse->lock = lock;
    pulse->interval_ms = interval_ms;
    pulse->send = send;
    pulse->arg = arg;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -ENOMEM;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = -pthread_cond_init(&pulse->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc < 0)
        return rc;
    rc = spawn_thread(pulse);
    if (rc < 0) {
        pthread_cond_destroy(&pulse->wake);
        return rc;
    }
    pulse->has_thread = true;
    return 0;
}

void te_pulse_stop(struct te_pulse *pulse)
{
    if (!pulse->has_thread)
        return;
    pthread_mutex_lock(pulse->lock);
    pulse->is_stopping = true;
    pthread_cond_signal(&pulse->wake);
    pthread_mutex_unlock(pulse->lock);
    pthread_join(pulse->thread, NULL);
    pthread_cond_destroy(&pulse->wake);
    pulse->has_thread = false;
}

bool te_pulse_note(struct te_pulse *pulse, const struct te_event *ev)
{
    if (!pulse->has_thread)
        return false;
    int i = find_run(pulse, ev->scenario);
    if (ev->type == TE_TRAINING_PROGRESS && i >= 0) {
        pulse->runs[i].episode = ev->data.progress.episode;
    } else if (te_event_is_terminal(ev->type) && i >= 0) {
        close_run(pulse, i);
    } else if (ev->type == TE_TRAINING_STARTED) {
        if (i < 0 && pulse->n_runs == TE_PULSE_MAX_RUNS)
            return false;
        if (i < 0)
            i = (int)pulse->n_runs++;
        struct te_pulse_run *run = &pulse->runs[i];
        memcpy(run->scenario, ev->scenario, sizeof run->scenario);
        run->episode = 0;
        run->due_ms = zclock_mono() + pulse->interval_ms;
        pthread_cond_signal(&pulse->wake);
        return true;
    }
    return false;
}
