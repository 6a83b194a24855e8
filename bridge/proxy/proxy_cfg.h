/* proxy_cfg: trainbridge-proxy's command-line flags and TRAINBRIDGE_PROXY_*
 * environment variables -> struct proxy_cfg, from one option table
 * (defaults, validation, --help). Precedence: flag > environment > default;
 * a repeatable flag given on the command line replaces the environment's
 * list (comma-separated there); an empty variable counts as unset.
 * --help, -h and --version win over every other argument. */
#ifndef TB_PROXY_CFG_H
#define TB_PROXY_CFG_H

#include <stddef.h>
#include <stdio.h>

#include "log.h"

#define PROXY_CFG_MAX_ENDPOINTS 16
#define PROXY_CFG_ENDPOINT_MAX_LEN 255

struct proxy_cfg {
    char *frontend[PROXY_CFG_MAX_ENDPOINTS]; /* --frontend, XSUB side, default all interfaces port
                                                5555 */
    size_t n_frontend;
    char *backend[PROXY_CFG_MAX_ENDPOINTS]; /* --backend, XPUB side, default all interfaces port
                                               5557 */
    size_t n_backend;
    char health_host[256];   /* --health HOST:PORT, default 0.0.0.0:5558; IPv6 without [] */
    int health_port;         /* 0 = pick a free port */
    int hwm;                 /* --hwm MESSAGES, ZeroMQ high-water mark of both sides */
    char *zmq_curve_secret;  /* --zmq-curve-secret FILE: the frontend is a CURVE server */
    char *zmq_curve_clients; /* --zmq-curve-clients DIR: trainers' public certificates */
    enum log_level log_level;
};

enum proxy_cfg_result {
    PROXY_CFG_OK = 0,        /* run with *cfg */
    PROXY_CFG_EXIT_OK = 1,   /* --help or --version was printed: exit 0 */
    PROXY_CFG_EXIT_USAGE = 2 /* bad value: err holds one line naming the flag; exit 2 */
};

/* Fills *cfg from defaults, then envp (NULL-terminated "NAME=value"), then
 * argv. --help/--version print to out. *cfg owns its strings: release them
 * with proxy_cfg_fini whatever the result. */
enum proxy_cfg_result proxy_cfg_parse(struct proxy_cfg *cfg, int argc, char *const argv[],
                                      char *const envp[], FILE *out, char *err, size_t err_len);

void proxy_cfg_fini(struct proxy_cfg *cfg);

/* Prints the usage text: every flag, its environment variable and default. */
void proxy_cfg_print_help(FILE *out);

#endif
