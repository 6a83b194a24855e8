/* config: defaults, environment, flags, validation and --help. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define MAX_ARGS 32

static struct cfg cfg;
static char err[256];

static void teardown(void)
{
    cfg_fini(&cfg);
}

TestSuite(config, .fini = teardown);

/* Runs cfg_parse on a NULL-terminated argument list (after argv[0]) and a
 * NULL-terminated environment. */
static enum cfg_result parse(const char *const *args, const char *const *env)
{
    char *argv[MAX_ARGS + 2] = {"trainbridge"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    FILE *out = fopen("/dev/null", "w");
    enum cfg_result rc = cfg_parse(&cfg, argc, argv, (char *const *)env, out, err, sizeof err);
    fclose(out);
    return rc;
}

/* cfg_parse's output for args, in a malloc'd string. */
static char *output_of(const char *const *args, enum cfg_result *rc)
{
    char *argv[MAX_ARGS + 2] = {"trainbridge"};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    *rc = cfg_parse(&cfg, argc, argv, NULL, out, err, sizeof err);
    fclose(out);
    return text;
}

Test(config, defaults_run_without_arguments)
{
    cr_assert_eq(parse(NULL, NULL), CFG_OK, "%s", err);
    cr_assert_str_eq(cfg.listen_host, "0.0.0.0");
    cr_assert_eq(cfg.listen_port, 8080);
    cr_assert_eq(cfg.n_zmq_bind, 1);
    cr_assert_str_eq(cfg.zmq_bind[0], "tcp://*:5556");
    cr_assert_eq(cfg.n_zmq_connect, 0);
    cr_assert_eq(cfg.ping_interval_ms, 25000);
    cr_assert_eq(cfg.ping_timeout_ms, 20000);
    cr_assert_eq(cfg.max_payload, 1000000);
    cr_assert_eq(cfg.client_queue_bytes, 1048576);
    cr_assert_eq(cfg.max_rooms_per_client, 64);
    cr_assert_eq(cfg.log_level, LOG_LEVEL_INFO);
    cr_assert_eq(cfg.log_format, LOG_FORMAT_TEXT);
    cr_assert_eq(cfg.n_cors_origins, 0);
    cr_assert(cfg.allow_polling);
    cr_assert(cfg.allow_websocket);
    cr_assert_eq(cfg.connect_timeout_ms, 45000);
    cr_assert_str_empty(err);
}

Test(config, flags_set_every_option)
{
    const char *args[] = {"--listen", "127.0.0.1:0", "--ping-interval", "100", "--ping-timeout",
                          "200",      "--log-level", "debug",           NULL};
    cr_assert_eq(parse(args, NULL), CFG_OK, "%s", err);
    cr_assert_str_eq(cfg.listen_host, "127.0.0.1");
    cr_assert_eq(cfg.listen_port, 0);
    cr_assert_eq(cfg.ping_interval_ms, 100);
    cr_assert_eq(cfg.ping_timeout_ms, 200);
    cr_assert_eq(cfg.log_level, LOG_LEVEL_DEBUG);
}

Test(config, accepts_flag_equals_value_form)
{
    const char *args[] = {"--max-payload=2048",
                          "--client-queue-bytes=65536",
                          "--max-rooms-per-client=3",
                          "--zmq-connect=ipc:///tmp/tb.sock",
                          "--listen=[::1]:9000",
                          "--log-level=warn",
                          NULL};
    cr_assert_eq(parse(args, NULL), CFG_OK, "%s", err);
    cr_assert_eq(cfg.max_payload, 2048);
    cr_assert_eq(cfg.client_queue_bytes, 65536);
    cr_assert_eq(cfg.max_rooms_per_client, 3);
    cr_assert_eq(cfg.n_zmq_connect, 1);
    cr_assert_str_eq(cfg.zmq_connect[0], "ipc:///tmp/tb.sock");
    cr_assert_str_eq(cfg.listen_host, "::1");
    cr_assert_eq(cfg.listen_port, 9000);
    cr_assert_eq(cfg.log_level, LOG_LEVEL_WARN);
}

Test(config, environment_sets_options)
{
    const char *env[] = {"PATH=/bin",
                         "TRAINBRIDGE_PING_INTERVAL=1000",
                         "TRAINBRIDGE_LISTEN=localhost:8081",
                         "TRAINBRIDGE_LOG_LEVEL=error",
                         "TRAINBRIDGE_LOG_FORMAT=json",
                         "TRAINBRIDGE_MAX_ROOMS_PER_CLIENT=2",
                         NULL};
    cr_assert_eq(parse(NULL, env), CFG_OK, "%s", err);
    cr_assert_eq(cfg.ping_interval_ms, 1000);
    cr_assert_str_eq(cfg.listen_host, "localhost");
    cr_assert_eq(cfg.listen_port, 8081);
    cr_assert_eq(cfg.log_level, LOG_LEVEL_ERROR);
    cr_assert_eq(cfg.log_format, LOG_FORMAT_JSON);
    cr_assert_eq(cfg.max_rooms_per_client, 2);
}

Test(config, flag_beats_environment)
{
    const char *env[] = {"TRAINBRIDGE_PING_INTERVAL=1000", "TRAINBRIDGE_PING_TIMEOUT=3000", NULL};
    const char *args[] = {"--ping-interval", "2000", NULL};
    cr_assert_eq(parse(args, env), CFG_OK, "%s", err);
    cr_assert_eq(cfg.ping_interval_ms, 2000);
    cr_assert_eq(cfg.ping_timeout_ms, 3000);
}

Test(config, empty_environment_variable_counts_as_unset)
{
    const char *env[] = {"TRAINBRIDGE_PING_INTERVAL=", "TRAINBRIDGE_ZMQ_BIND=", NULL};
    cr_assert_eq(parse(NULL, env), CFG_OK, "%s", err);
    cr_assert_eq(cfg.ping_interval_ms, 25000);
    cr_assert_eq(cfg.n_zmq_bind, 1);
}

Test(config, environment_lists_are_comma_separated)
{
    const char *env[] = {"TRAINBRIDGE_ZMQ_BIND=tcp://*:6000, ipc:///tmp/a ,inproc://x", NULL};
    cr_assert_eq(parse(NULL, env), CFG_OK, "%s", err);
    cr_assert_eq(cfg.n_zmq_bind, 3);
    cr_assert_str_eq(cfg.zmq_bind[0], "tcp://*:6000");
    cr_assert_str_eq(cfg.zmq_bind[1], "ipc:///tmp/a");
    cr_assert_str_eq(cfg.zmq_bind[2], "inproc://x");
}

Test(config, repeated_flags_replace_environment_list)
{
    const char *env[] = {"TRAINBRIDGE_ZMQ_BIND=tcp://*:1,tcp://*:2", NULL};
    const char *args[] = {"--zmq-bind", "tcp://*:3", "--zmq-bind=tcp://*:4", NULL};
    cr_assert_eq(parse(args, env), CFG_OK, "%s", err);
    cr_assert_eq(cfg.n_zmq_bind, 2);
    cr_assert_str_eq(cfg.zmq_bind[0], "tcp://*:3");
    cr_assert_str_eq(cfg.zmq_bind[1], "tcp://*:4");
}

Test(config, connect_alone_drops_default_bind)
{
    const char *args[] = {"--zmq-connect", "tcp://proxy:5557", "--zmq-connect",
                          "pgm://eth0;239.1.1.1:5555", NULL};
    cr_assert_eq(parse(args, NULL), CFG_OK, "%s", err);
    cr_assert_eq(cfg.n_zmq_bind, 0);
    cr_assert_eq(cfg.n_zmq_connect, 2);
    cr_assert_str_eq(cfg.zmq_connect[1], "pgm://eth0;239.1.1.1:5555");
}

Test(config, explicit_bind_and_connect_are_both_kept)
{
    const char *env[] = {"TRAINBRIDGE_ZMQ_BIND=tcp://*:5556", NULL};
    const char *args[] = {"--zmq-connect", "tcp://proxy:5557", NULL};
    cr_assert_eq(parse(args, env), CFG_OK, "%s", err);
    cr_assert_eq(cfg.n_zmq_bind, 1);
    cr_assert_eq(cfg.n_zmq_connect, 1);
}

Test(config, double_dash_ends_options)
{
    const char *args[] = {"--ping-interval", "100", "--", NULL};
    cr_assert_eq(parse(args, NULL), CFG_OK, "%s", err);
    cr_assert_eq(cfg.ping_interval_ms, 100);
}

Test(config, accepts_bounds_of_ranges)
{
    const char *args[] = {"--ping-interval", "10", "--ping-timeout", "3600000", "--listen",
                          "h:65535",         NULL};
    cr_assert_eq(parse(args, NULL), CFG_OK, "%s", err);
    cr_assert_eq(cfg.ping_interval_ms, 10);
    cr_assert_eq(cfg.ping_timeout_ms, 3600000);
    cr_assert_eq(cfg.listen_port, 65535);
}

/* ---- bad values: one line naming the flag or variable, exit code 2 */

struct bad_case {
    char args[4][40]; /* up to 4 arguments; "" ends them */
    char env[64];     /* one NAME=value, or "" */
    char err[160];
};

ParameterizedTestParameters(config, rejects_bad_values)
{
    static struct bad_case cases[] = {
        {{"--ping-interval", "abc"},
         "",
         "--ping-interval: expected an integer from 10 to 3600000 (ms), got 'abc'"},
        {{"--ping-interval", "-5"},
         "",
         "--ping-interval: expected an integer from 10 to 3600000 (ms), got '-5'"},
        {{"--ping-interval", "0"},
         "",
         "--ping-interval: expected an integer from 10 to 3600000 (ms), got '0'"},
        {{"--ping-interval=5ms"},
         "",
         "--ping-interval: expected an integer from 10 to 3600000 (ms), got '5ms'"},
        {{"--ping-interval="},
         "",
         "--ping-interval: expected an integer from 10 to 3600000 (ms), got ''"},
        {{"--ping-timeout", "99999999999999999999"},
         "",
         "--ping-timeout: expected an integer from 10 to 3600000 (ms), got "
         "'99999999999999999999'"},
        {{"--ping-timeout", " 100"},
         "",
         "--ping-timeout: expected an integer from 10 to 3600000 (ms), got ' 100'"},
        {{"--ping-timeout", "+100"},
         "",
         "--ping-timeout: expected an integer from 10 to 3600000 (ms), got '+100'"},
        {{"--max-payload", "100"},
         "",
         "--max-payload: expected an integer from 1024 to 67108864 (bytes), got '100'"},
        {{"--client-queue-bytes", "1.5"},
         "",
         "--client-queue-bytes: expected an integer from 4096 to 1073741824 (bytes), got '1.5'"},
        {{"--max-rooms-per-client", "0"},
         "",
         "--max-rooms-per-client: expected an integer from 1 to 4096 (rooms), got '0'"},
        {{"--log-level", "loud"},
         "",
         "--log-level: expected error, warn, info or debug, got 'loud'"},
        {{"--log-level", "INFO"},
         "",
         "--log-level: expected error, warn, info or debug, got 'INFO'"},
        {{"--log-format", "yaml"}, "", "--log-format: expected text or json, got 'yaml'"},
        {{"--log-format", "JSON"}, "", "--log-format: expected text or json, got 'JSON'"},
        {{"--foo"}, "", "unknown option '--foo' (see --help)"},
        {{"--foo=1"}, "", "unknown option '--foo' (see --help)"},
        {{"--listen-now"}, "", "unknown option '--listen-now' (see --help)"},
        {{"-x"}, "", "unknown option '-x' (see --help)"},
        {{"-"}, "", "unexpected argument '-' (see --help)"},
        {{"serve"}, "", "unexpected argument 'serve' (see --help)"},
        {{"--", "serve"}, "", "unexpected argument 'serve' (see --help)"},
        {{"--ping-interval"}, "", "--ping-interval: missing value"},
        {{"--zmq-bind", "--listen", "h:1"}, "", "--zmq-bind: missing value"},
        {{"--version=1"}, "", "--version takes no value"},
        {{"--zmq-bind", "foo://x"},
         "",
         "--zmq-bind: expected a ZeroMQ endpoint such as tcp://*:5556 (tcp://, ipc://, inproc://, "
         "pgm://, epgm://, tipc://, vmci://), got 'foo://x'"},
        {{"--zmq-connect", "tcp://"},
         "",
         "--zmq-connect: expected a ZeroMQ endpoint such as tcp://*:5556 (tcp://, ipc://, "
         "inproc://, pgm://, epgm://, tipc://, vmci://), got 'tcp://'"},
        {{"--zmq-connect", "tcp://a b:1"},
         "",
         "--zmq-connect: expected a ZeroMQ endpoint such as tcp://*:5556 (tcp://, ipc://, "
         "inproc://, pgm://, epgm://, tipc://, vmci://), got 'tcp://a b:1'"},
        {{"--zmq-bind", "tcp://*:1", "--zmq-bind", "tcp://*:1"},
         "",
         "--zmq-bind: 'tcp://*:1' given twice"},
        {{"--listen", "8080"},
         "",
         "--listen: expected HOST:PORT such as 0.0.0.0:8080 or [::1]:8080, got '8080'"},
        {{"--listen", "::1:8080"},
         "",
         "--listen: expected HOST:PORT such as 0.0.0.0:8080 or [::1]:8080, got '::1:8080'"},
        {{"--listen", "[::1]8080"},
         "",
         "--listen: expected HOST:PORT such as 0.0.0.0:8080 or [::1]:8080, got '[::1]8080'"},
        {{"--listen", ":8080"},
         "",
         "--listen: expected HOST:PORT such as 0.0.0.0:8080 or [::1]:8080, got ':8080'"},
        {{"--listen", "h/x:80"},
         "",
         "--listen: expected HOST:PORT such as 0.0.0.0:8080 or [::1]:8080, got 'h/x:80'"},
        {{"--listen", "host:99999"}, "", "--listen: port must be from 0 to 65535, got '99999'"},
        {{"--listen", "host:"}, "", "--listen: port must be from 0 to 65535, got ''"},
        {{"--listen", "host:-1"}, "", "--listen: port must be from 0 to 65535, got '-1'"},
        {{"--listen", "host:http"}, "", "--listen: port must be from 0 to 65535, got 'http'"},
        {{""},
         "TRAINBRIDGE_PING_INTERVAL=abc",
         "TRAINBRIDGE_PING_INTERVAL: expected an integer from 10 to 3600000 (ms), got 'abc'"},
        {{""},
         "TRAINBRIDGE_ZMQ_BIND=tcp://*:1,,tcp://*:2",
         "TRAINBRIDGE_ZMQ_BIND: empty item in list 'tcp://*:1,,tcp://*:2'"},
        {{""},
         "TRAINBRIDGE_ZMQ_BIND=tcp://*:1,",
         "TRAINBRIDGE_ZMQ_BIND: empty item in list 'tcp://*:1,'"},
        {{""},
         "TRAINBRIDGE_LOG_LEVEL=verbose",
         "TRAINBRIDGE_LOG_LEVEL: expected error, warn, info or debug, got 'verbose'"},
        {{""},
         "TRAINBRIDGE_LISTEN=nope",
         "TRAINBRIDGE_LISTEN: expected HOST:PORT such as 0.0.0.0:8080 or [::1]:8080, got 'nope'"},
        {{"--ping-interval", "100"},
         "TRAINBRIDGE_MAX_PAYLOAD=1k",
         "TRAINBRIDGE_MAX_PAYLOAD: expected an integer from 1024 to 67108864 (bytes), got '1k'"},
    };
    return cr_make_param_array(struct bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, config, rejects_bad_values)
{
    const char *args[5] = {NULL};
    for (int i = 0; i < 4 && c->args[i][0]; i++)
        args[i] = c->args[i];
    const char *env[2] = {c->env[0] ? c->env : NULL, NULL};
    cr_assert_eq(parse(args, env), CFG_EXIT_USAGE, "accepted; expected: %s", c->err);
    cr_assert_str_eq(err, c->err);
    cr_assert_null(strchr(err, '\n'), "one line");
}

Test(config, rejects_too_many_endpoints_from_flags)
{
    char *argv[2 * CFG_MAX_ENDPOINTS + 3] = {"trainbridge"};
    char endpoints[CFG_MAX_ENDPOINTS + 1][32];
    int argc = 1;
    for (int i = 0; i <= CFG_MAX_ENDPOINTS; i++) {
        snprintf(endpoints[i], sizeof endpoints[i], "tcp://*:%d", 6000 + i);
        argv[argc++] = "--zmq-bind";
        argv[argc++] = endpoints[i];
    }
    cr_assert_eq(cfg_parse(&cfg, argc - 2, argv, NULL, NULL, err, sizeof err), CFG_OK, "%s", err);
    cr_assert_eq(cfg.n_zmq_bind, CFG_MAX_ENDPOINTS);
    cfg_fini(&cfg);
    cr_assert_eq(cfg_parse(&cfg, argc, argv, NULL, NULL, err, sizeof err), CFG_EXIT_USAGE);
    cr_assert_str_eq(err, "--zmq-bind: at most 16 values");
}

Test(config, rejects_too_many_endpoints_from_environment)
{
    char var[1024] = "TRAINBRIDGE_ZMQ_CONNECT=";
    for (int i = 0; i <= CFG_MAX_ENDPOINTS; i++) {
        char one[32];
        snprintf(one, sizeof one, "%stcp://h:%d", i ? "," : "", 6000 + i);
        strcat(var, one);
    }
    const char *env[] = {var, NULL};
    cr_assert_eq(parse(NULL, env), CFG_EXIT_USAGE);
    cr_assert_str_eq(err, "TRAINBRIDGE_ZMQ_CONNECT: at most 16 values");
}

Test(config, truncates_error_to_buffer)
{
    char small[16];
    char *argv[] = {"trainbridge", "--ping-interval", "abc"};
    cr_assert_eq(cfg_parse(&cfg, 3, argv, NULL, NULL, small, sizeof small), CFG_EXIT_USAGE);
    cr_assert_str_eq(small, "--ping-interval");
    cfg_fini(&cfg);
    cr_assert_eq(cfg_parse(&cfg, 3, argv, NULL, NULL, NULL, 0), CFG_EXIT_USAGE);
}

/* ---- --help and --version */

Test(config, help_lists_every_flag_with_env_and_default)
{
    enum cfg_result rc;
    const char *args[] = {"--help", NULL};
    char *text = output_of(args, &rc);
    cr_assert_eq(rc, CFG_EXIT_OK);
    static const char *const expected[] = {
        "--listen HOST:PORT",
        "TRAINBRIDGE_LISTEN",
        "default 0.0.0.0:8080",
        "--zmq-bind ENDPOINT",
        "TRAINBRIDGE_ZMQ_BIND",
        "default tcp://*:5556",
        "--zmq-connect ENDPOINT",
        "TRAINBRIDGE_ZMQ_CONNECT",
        "default none",
        "--ping-interval MS",
        "TRAINBRIDGE_PING_INTERVAL",
        "default 25000",
        "--ping-timeout MS",
        "TRAINBRIDGE_PING_TIMEOUT",
        "default 20000",
        "--max-payload BYTES",
        "TRAINBRIDGE_MAX_PAYLOAD",
        "default 1000000",
        "--client-queue-bytes BYTES",
        "TRAINBRIDGE_CLIENT_QUEUE_BYTES",
        "default 1048576",
        "--max-rooms-per-client N",
        "TRAINBRIDGE_MAX_ROOMS_PER_CLIENT",
        "default 64",
        "--cors-origin ORIGIN",
        "TRAINBRIDGE_CORS_ORIGIN",
        "--transports LIST",
        "default polling,websocket",
        "--connect-timeout MS",
        "default 45000",
        "--log-level LEVEL",
        "TRAINBRIDGE_LOG_LEVEL",
        "default info",
        "--web-root DIR",
        "TRAINBRIDGE_WEB_ROOT",
        "--no-dashboard\n",
        "TRAINBRIDGE_NO_DASHBOARD (1 or 0), default off",
        "-h, --help",
        "--version",
        "Usage: trainbridge",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        cr_assert_not_null(strstr(text, expected[i]), "help lacks '%s':\n%s", expected[i], text);
    free(text);
}

Test(config, help_lines_fit_in_80_columns)
{
    enum cfg_result rc;
    const char *args[] = {"-h", NULL};
    char *text = output_of(args, &rc);
    cr_assert_eq(rc, CFG_EXIT_OK);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        cr_assert_leq(strlen(line), 80, "too long: %s", line);
    free(text);
}

Test(config, help_wins_over_bad_arguments)
{
    enum cfg_result rc;
    const char *args[] = {"--bogus", "--ping-interval", "x", "--help", NULL};
    char *text = output_of(args, &rc);
    cr_assert_eq(rc, CFG_EXIT_OK);
    cr_assert_not_null(strstr(text, "Usage:"));
    free(text);
}

Test(config, help_after_double_dash_is_an_argument)
{
    const char *args[] = {"--", "--help", NULL};
    cr_assert_eq(parse(args, NULL), CFG_EXIT_USAGE);
    cr_assert_str_eq(err, "unexpected argument '--help' (see --help)");
}

Test(config, version_prints_name_and_version)
{
    enum cfg_result rc;
    const char *args[] = {"--version", NULL};
    char *text = output_of(args, &rc);
    cr_assert_eq(rc, CFG_EXIT_OK);
    cr_assert_str_eq(text, "trainbridge " TB_VERSION "\n");
    free(text);
}

Test(config, fini_is_safe_twice_and_after_errors)
{
    const char *args[] = {"--zmq-connect", "tcp://a:1", "--ping-interval", "x", NULL};
    cr_assert_eq(parse(args, NULL), CFG_EXIT_USAGE);
    cfg_fini(&cfg);
    cfg_fini(&cfg);
    cfg_fini(NULL);
    cr_assert_eq(cfg.n_zmq_bind + cfg.n_zmq_connect, 0);
}

Test(config, cors_origins_transports_and_connect_timeout)
{
    const char *args[] = {"--cors-origin",
                          "https://dash.example.com:8443",
                          "--cors-origin",
                          "http://127.0.0.1:3000",
                          "--transports",
                          "websocket",
                          "--connect-timeout",
                          "0",
                          NULL};
    cr_assert_eq(parse(args, NULL), CFG_OK, "%s", err);
    cr_assert_eq(cfg.n_cors_origins, 2);
    cr_assert_str_eq(cfg.cors_origins[0], "https://dash.example.com:8443");
    cr_assert_str_eq(cfg.cors_origins[1], "http://127.0.0.1:3000");
    cr_assert_not(cfg.allow_polling);
    cr_assert(cfg.allow_websocket);
    cr_assert_eq(cfg.connect_timeout_ms, 0);
}

Test(config, cors_origins_from_environment)
{
    const char *env[] = {"TRAINBRIDGE_CORS_ORIGIN=*,http://a.example",
                         "TRAINBRIDGE_TRANSPORTS=polling", NULL};
    cr_assert_eq(parse(NULL, env), CFG_OK, "%s", err);
    cr_assert_eq(cfg.n_cors_origins, 2);
    cr_assert_str_eq(cfg.cors_origins[0], "*");
    cr_assert(cfg.allow_polling);
    cr_assert_not(cfg.allow_websocket);
}

Test(config, history_and_conflation_options)
{
    parse(NULL, NULL);
    cr_assert_eq(cfg.history_points, 500);
    cr_assert_eq(cfg.history_runs, 10);
    cr_assert_eq(cfg.history_ttl_s, 86400);
    cr_assert_eq(cfg.history_bytes, (size_t)256 << 20);
    cr_assert_eq(cfg.conflate_after, 65536);
    cfg_fini(&cfg);
    const char *args[] = {"--history-points",
                          "64",
                          "--history-runs",
                          "0",
                          "--history-ttl",
                          "60",
                          "--conflate-after",
                          "0",
                          NULL};
    const char *env[] = {"TRAINBRIDGE_HISTORY_BYTES=1048576", "TRAINBRIDGE_HISTORY_POINTS=9", NULL};
    cr_assert_eq(parse(args, env), CFG_OK, "%s", err);
    cr_assert_eq(cfg.history_points, 64);
    cr_assert_eq(cfg.history_runs, 0);
    cr_assert_eq(cfg.history_ttl_s, 60);
    cr_assert_eq(cfg.history_bytes, 1048576);
    cr_assert_eq(cfg.conflate_after, 0);
}

struct bad_new_option {
    char flag[32];
    char value[64];
    char err_part[64];
};

ParameterizedTestParameters(config, rejects_bad_new_options)
{
    static struct bad_new_option cases[] = {
        {"--cors-origin", "dash.example.com", "expected an origin"},
        {"--cors-origin", "ftp://x", "expected an origin"},
        {"--cors-origin", "http://x/path", "expected an origin"},
        {"--cors-origin", "http://", "expected an origin"},
        {"--transports", "", "at least one of"},
        {"--transports", "tcp", "expected polling, websocket"},
        {"--transports", "polling,polling", "expected polling, websocket"},
        {"--transports", "websocket,", "expected polling, websocket"},
        {"--connect-timeout", "-1", "expected an integer"},
        {"--connect-timeout", "soon", "expected an integer"},
        {"--allowed-origin", "dash.example.com", "expected an origin"},
        {"--auth-previous-valid-until", "tomorrow", "expected unix seconds"},
        {"--auth-previous-valid-until", "2027-01-15", "expected unix seconds"},
        {"--auth-leeway", "-1", "expected an integer"},
        {"--max-connections", "0", "expected an integer"},
        {"--max-connections-per-ip", "many", "expected an integer"},
        {"--max-client-packets-per-s", "0", "expected an integer"},
        {"--tls-min-version", "1.1", "expected 1.2 or 1.3"},
        {"--tls-cert", "/tmp/cert.pem", "--tls-key go together"},
        {"--tls-key", "/tmp/key.pem", "--tls-key go together"},
        {"--zmq-curve-secret", "/tmp/s", "--zmq-curve-clients go together"},
        {"--zmq-curve-clients", "/tmp/d", "--zmq-curve-clients go together"},
        {"--auth-jwt-previous-secret", "/tmp/p", "--auth-previous-valid-until"},
        {"--auth-audience", "dash", "need --auth-jwt-secret"},
        {"--auth-issuer", "me", "need --auth-jwt-secret"},
        {"--history-points", "7", "8"},
        {"--history-ttl", "0", "1"},
        {"--history-bytes", "1000", "65536"},
        {"--conflate-after", "-5", "expected"},
    };
    return cr_make_param_array(struct bad_new_option, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_new_option *c, config, rejects_bad_new_options)
{
    const char *args[] = {c->flag, c->value, NULL};
    cr_assert_eq(parse(args, NULL), CFG_EXIT_USAGE, "%s %s accepted", c->flag, c->value);
    cr_assert_not_null(strstr(err, c->flag), "error '%s' does not name %s", err, c->flag);
    cr_assert_not_null(strstr(err, c->err_part), "error '%s'", err);
}

Test(config, security_defaults_are_off_with_sane_limits)
{
    cr_assert_eq(parse(NULL, NULL), CFG_OK, "%s", err);
    cr_assert_null(cfg.auth_jwt_secret);
    cr_assert_null(cfg.auth_jwt_public_key);
    cr_assert_null(cfg.auth_jwt_previous_secret);
    cr_assert_eq(cfg.auth_previous_valid_until, 0);
    cr_assert_eq(cfg.auth_leeway_s, 5);
    cr_assert_null(cfg.auth_audience);
    cr_assert_null(cfg.auth_issuer);
    cr_assert_eq(cfg.max_connections, 100000);
    cr_assert_eq(cfg.max_connections_per_ip, 1000);
    cr_assert_eq(cfg.max_client_packets_per_s, 100);
    cr_assert_null(cfg.tls_cert);
    cr_assert_null(cfg.tls_key);
    cr_assert_eq(cfg.tls_min_version, 12);
    cr_assert_null(cfg.zmq_curve_secret);
    cr_assert_null(cfg.zmq_curve_clients);
}

Test(config, security_flags_set_every_field)
{
    const char *args[] = {"--auth-jwt-secret",
                          "/etc/tb/secret",
                          "--auth-jwt-public-key",
                          "/etc/tb/pub.pem",
                          "--auth-jwt-previous-secret",
                          "/etc/tb/old",
                          "--auth-previous-valid-until",
                          "2027-01-15T08:00:00Z",
                          "--auth-leeway=0",
                          "--auth-audience",
                          "dashboards",
                          "--auth-issuer",
                          "https://id.example",
                          "--max-connections",
                          "10",
                          "--max-connections-per-ip",
                          "3",
                          "--max-client-packets-per-s",
                          "7",
                          "--tls-cert",
                          "/etc/tb/cert.pem",
                          "--tls-key",
                          "/etc/tb/key.pem",
                          "--tls-min-version",
                          "1.3",
                          "--zmq-curve-secret",
                          "/etc/tb/bridge.key_secret",
                          "--zmq-curve-clients",
                          "/etc/tb/trainers",
                          NULL};
    cr_assert_eq(parse(args, NULL), CFG_OK, "%s", err);
    cr_assert_str_eq(cfg.auth_jwt_secret, "/etc/tb/secret");
    cr_assert_str_eq(cfg.auth_jwt_public_key, "/etc/tb/pub.pem");
    cr_assert_str_eq(cfg.auth_jwt_previous_secret, "/etc/tb/old");
    cr_assert_eq(cfg.auth_previous_valid_until, 1800000000LL);
    cr_assert_eq(cfg.auth_leeway_s, 0);
    cr_assert_str_eq(cfg.auth_audience, "dashboards");
    cr_assert_str_eq(cfg.auth_issuer, "https://id.example");
    cr_assert_eq(cfg.max_connections, 10);
    cr_assert_eq(cfg.max_connections_per_ip, 3);
    cr_assert_eq(cfg.max_client_packets_per_s, 7);
    cr_assert_str_eq(cfg.tls_cert, "/etc/tb/cert.pem");
    cr_assert_str_eq(cfg.tls_key, "/etc/tb/key.pem");
    cr_assert_eq(cfg.tls_min_version, 13);
    cr_assert_str_eq(cfg.zmq_curve_secret, "/etc/tb/bridge.key_secret");
    cr_assert_str_eq(cfg.zmq_curve_clients, "/etc/tb/trainers");
}

Test(config, security_flags_have_environment_twins)
{
    const char *env[] = {"TRAINBRIDGE_AUTH_JWT_SECRET=/s",
                         "TRAINBRIDGE_AUTH_PREVIOUS_VALID_UNTIL=1800000000",
                         "TRAINBRIDGE_AUTH_JWT_PREVIOUS_SECRET=/p",
                         "TRAINBRIDGE_MAX_CONNECTIONS_PER_IP=2",
                         "TRAINBRIDGE_TLS_CERT=/c",
                         "TRAINBRIDGE_TLS_KEY=/k",
                         "TRAINBRIDGE_ALLOWED_ORIGIN=https://a.example,https://b.example",
                         NULL};
    const char *args[] = {"--auth-jwt-secret", "/flag-wins", NULL};
    cr_assert_eq(parse(args, env), CFG_OK, "%s", err);
    cr_assert_str_eq(cfg.auth_jwt_secret, "/flag-wins");
    cr_assert_str_eq(cfg.auth_jwt_previous_secret, "/p");
    cr_assert_eq(cfg.auth_previous_valid_until, 1800000000LL);
    cr_assert_eq(cfg.max_connections_per_ip, 2);
    cr_assert_str_eq(cfg.tls_cert, "/c");
    cr_assert_str_eq(cfg.tls_key, "/k");
    cr_assert_eq(cfg.n_cors_origins, 2);
    cr_assert_str_eq(cfg.cors_origins[1], "https://b.example");
}

Test(config, cors_origin_is_an_alias_of_allowed_origin)
{
    const char *args[] = {"--allowed-origin",
                          "https://a.example",
                          "--cors-origin",
                          "https://b.example",
                          "--cors-origin",
                          "https://a.example",
                          NULL};
    cr_assert_eq(parse(args, NULL), CFG_OK, "%s", err);
    cr_assert_eq(cfg.n_cors_origins, 2);
    cr_assert_str_eq(cfg.cors_origins[0], "https://a.example");
    cr_assert_str_eq(cfg.cors_origins[1], "https://b.example");
}

Test(config, help_lists_security_flags)
{
    const char *args[] = {"--help", NULL};
    enum cfg_result rc;
    char *text = output_of(args, &rc);
    cr_assert_eq(rc, CFG_EXIT_OK);
    const char *want[] = {"--auth-jwt-secret FILE",
                          "--auth-jwt-public-key FILE",
                          "--auth-leeway SECONDS",
                          "--auth-audience AUD",
                          "--auth-issuer ISS",
                          "--auth-jwt-previous-secret FILE",
                          "--auth-previous-valid-until",
                          "--allowed-origin ORIGIN",
                          "--max-connections N",
                          "--max-connections-per-ip N",
                          "--max-client-packets-per-s N",
                          "--tls-cert FILE",
                          "--tls-key FILE",
                          "--tls-min-version VERSION",
                          "--zmq-curve-secret FILE",
                          "--zmq-curve-clients DIR",
                          "TRAINBRIDGE_AUTH_JWT_SECRET",
                          "TRAINBRIDGE_ALLOWED_ORIGIN"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_not_null(strstr(text, want[i]), "--help lacks %s", want[i]);
    free(text);
}

Test(config, log_format_flag_beats_its_variable)
{
    const char *env[] = {"TRAINBRIDGE_LOG_FORMAT=text", NULL};
    const char *args[] = {"--log-format=json", NULL};
    cr_assert_eq(parse(args, env), CFG_OK, "%s", err);
    cr_assert_eq(cfg.log_format, LOG_FORMAT_JSON);
}

Test(config, dashboard_flags_default_to_embedded_and_on)
{
    cr_assert_eq(parse(NULL, NULL), CFG_OK, "%s", err);
    cr_assert_null(cfg.web_root);
    cr_assert_not(cfg.no_dashboard);
}

Test(config, web_root_and_no_dashboard_from_flags)
{
    const char *args[] = {"--web-root", "/srv/page", "--no-dashboard", NULL};
    cr_assert_eq(parse(args, NULL), CFG_OK, "%s", err);
    cr_assert_str_eq(cfg.web_root, "/srv/page");
    cr_assert(cfg.no_dashboard);
}

Test(config, no_dashboard_from_environment_and_flag_wins)
{
    const char *on[] = {"TRAINBRIDGE_NO_DASHBOARD=yes", "TRAINBRIDGE_WEB_ROOT=/w", NULL};
    cr_assert_eq(parse(NULL, on), CFG_OK, "%s", err);
    cr_assert(cfg.no_dashboard);
    cr_assert_str_eq(cfg.web_root, "/w");
    cfg_fini(&cfg);
    const char *off[] = {"TRAINBRIDGE_NO_DASHBOARD=0", NULL};
    cr_assert_eq(parse(NULL, off), CFG_OK, "%s", err);
    cr_assert_not(cfg.no_dashboard);
    cfg_fini(&cfg);
    const char *args[] = {"--no-dashboard", NULL};
    cr_assert_eq(parse(args, off), CFG_OK, "%s", err);
    cr_assert(cfg.no_dashboard);
}

Test(config, rejects_bad_dashboard_values)
{
    const char *env[] = {"TRAINBRIDGE_NO_DASHBOARD=maybe", NULL};
    cr_assert_eq(parse(NULL, env), CFG_EXIT_USAGE);
    cr_assert(strstr(err, "TRAINBRIDGE_NO_DASHBOARD"), "%s", err);
    cfg_fini(&cfg);
    const char *valued[] = {"--no-dashboard=1", NULL};
    cr_assert_eq(parse(valued, NULL), CFG_EXIT_USAGE);
    cr_assert(strstr(err, "--no-dashboard"), "%s", err);
}
