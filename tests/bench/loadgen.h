/* loadgen: the load generator's shared state (tb_loadgen.c runs the loop,
 * the phases and the options; loadgen_conn.c one client's connection). Not a
 * library: one program, one thread. */
#ifndef TB_LOADGEN_H
#define TB_LOADGEN_H

#include "bench_hist.h"
#include "bench_ws.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#define READ_CHUNK ((size_t)256 * 1024)
#define MAX_MESSAGE ((size_t)1024 * 1024)
#define SEQ_SLOTS 4
#define MAX_TRAINERS 4096 /* power of two */
#define MAX_NAME 64
#define SIGNAL_TAG UINT32_MAX

enum client_state {
    CS_WAITING,     /* not started yet */
    CS_CONNECTING,  /* TCP connect in progress */
    CS_UPGRADING,   /* HTTP upgrade sent, waiting for 101 */
    CS_EIO_OPEN,    /* waiting for the Engine.IO open packet */
    CS_SIO_CONNECT, /* CONNECT sent, waiting for "40" */
    CS_SUBSCRIBING, /* subscribe sent, waiting for its ack */
    CS_READY,       /* subscribed: counting events */
    CS_STALLED,     /* subscribed and no longer read */
    CS_CLOSED,
};

struct seq_slot {
    uint32_t trainer; /* index into the trainer table */
    uint64_t last_seq;
};

struct client {
    int fd;
    uint32_t idx;
    uint16_t scenario;
    uint8_t state;
    bool is_stalled;
    bool was_ready;
    uint8_t n_seq;
    uint8_t msg_opcode; /* of a fragmented message being put together */
    struct seq_slot seq[SEQ_SLOTS];
    uint64_t n_events; /* this phase */
    uint8_t *rx;       /* bytes of an incomplete frame from the last read */
    size_t rx_len;
    uint8_t *tx; /* bytes the socket did not take yet */
    size_t tx_len;
    uint8_t *msg; /* a fragmented message so far */
    size_t msg_len;
};

struct lg_opts {
    const char *host;
    int port;
    uint32_t n_clients;
    uint32_t n_scenarios;
    const char *prefix;
    uint32_t concurrency;
    uint32_t n_stalled;
    int stalled_rcvbuf;
    int idle_ms;
    int drain_ms;
    int setup_timeout_s;
    uint32_t n_source_addrs; /* client i binds 127.0.0.(2 + i mod n); 0 = the kernel picks */
    bool is_timeline;
};

struct phase {
    int index;
    struct bench_hist hist;        /* publish -> read() by this program */
    struct bench_hist hist_socket; /* publish -> arrival at the client's socket (kernel time) */
    uint64_t n_events, n_lost_gaps, n_dups, n_wrong_room, n_unparsed, n_untracked, n_closed;
    uint64_t *per_scenario;
    int64_t first_recv_us, last_recv_us, min_ts_us; /* CLOCK_REALTIME */
    int64_t mono_first_us, mono_last_us, cpu_first_us, cpu_last_us;
    uint64_t n_events_at_tick;
    double peak_cpu_pct;
    bool is_ending;
    int64_t end_requested_us; /* CLOCK_MONOTONIC */
};

struct lg {
    struct lg_opts o;
    int ep;
    int sigfd;
    struct client *clients;
    char (*scenario_names)[MAX_NAME + 1];
    uint32_t n_started, n_in_flight, n_ready, n_failed, n_closed;
    bool is_ready_reported;
    bool is_exiting;
    int64_t setup_start_us;
    uint8_t *rbuf;
    int64_t rx_kernel_us; /* SO_TIMESTAMPNS of the data last read; 0 if none */
    uint64_t rng;
    char trainers[MAX_TRAINERS][MAX_NAME + 1];
    uint32_t n_trainers;
    struct phase ph;
    int64_t next_tick_us, win_start_us, win_start_cpu_us;
    uint64_t win_start_events;
    int64_t tick_max_lat_us; /* --timeline: worst latency since the last tick */
    uint64_t tick_events;
};

/* ------------------------------------------------------------ clocks */

static inline int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

static inline int64_t cpu_used_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

/* ------------------------------------------------------------ loadgen_conn.c */

/* Opens client c's socket and starts connecting (non-blocking). */
void loadgen_conn_start(struct lg *lg, struct client *c);

/* Handles epoll events on c's socket: connect done, pending output, input. */
void loadgen_conn_on_events(struct lg *lg, struct client *c, uint32_t events);

/* Closes c (counted as failed during setup, closed once subscribed). */
void loadgen_conn_close(struct lg *lg, struct client *c, const char *why);

#endif
