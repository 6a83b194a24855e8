/* trainsim_config: trainsim's options, from the command line and the
 * TRAINSIM_<FLAG> environment variables (flags win), checked as a whole.
 * Owns the copies of comma-separated values; sim_config_fini frees them. */
#ifndef TRAINSIM_CONFIG_H
#define TRAINSIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_SCENARIOS 64
#define MAX_ENDPOINTS 16
#define MAX_OWNED 32
#define EXIT_USAGE 2

struct sim_config {
    const char *endpoints[MAX_ENDPOINTS];
    size_t n_endpoints;
    const char *scenarios[MAX_SCENARIOS];
    size_t n_scenarios;
    const char *trainer;
    int64_t episodes;
    double rate_hz;
    int64_t stop_at; /* -1: not set */
    int64_t fail_at; /* -1: not set */
    bool is_loop;
    int64_t pause_ms;
    int64_t ready_timeout_ms;
    int64_t seed;
    bool has_seed;
    bool is_quiet;
    int64_t heartbeat_interval_ms; /* 0: no heartbeats */
    const char *server_key;        /* --server-key: CURVE, the bridge's public key */
    const char *client_cert;       /* --client-cert: CURVE, this trainer's secret certificate */
    char *owned[MAX_OWNED];        /* copies of comma-separated values, freed at exit */
    size_t n_owned;
};

/* Fills cfg from the defaults, the environment, then argv. Returns -1 to go
 * on, or the exit status (0 after --help, 2 on bad usage, with a message on
 * stderr). */
int sim_config_load(struct sim_config *cfg, int argc, char **argv);

/* Frees what cfg owns. */
void sim_config_fini(struct sim_config *cfg);

#endif
