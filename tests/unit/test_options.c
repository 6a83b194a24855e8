/* options: the generic table parser, with a small table of its own. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"

#define MAX_ARGS 8
#define MAX_PEERS 3

struct demo {
    char *peers[MAX_PEERS];
    size_t n_peers;
    int retries;
    size_t limit;
    enum log_level log_level;
    int custom;
    char *name;
    bool is_quiet;
};

#define FIELD(f) offsetof(struct demo, f)

/* A program-specific kind: "on" or "off" stored as 1 or 0. */
static int set_on_off(struct options_parse *p, const struct options_opt *o, const char *text,
                      const char *where, enum options_source src)
{
    (void)src;
    if (strcmp(text, "on") != 0 && strcmp(text, "off") != 0)
        return options_fail(p, "%s: expected on or off, got '%s'", where, text);
    *(int *)((char *)options_cfg(p) + o->offset) = strcmp(text, "on") == 0;
    return 0;
}

static const struct options_opt demo_options[] = {
    {"peer", NULL, "ENDPOINT", OPTIONS_ENDPOINTS, "tcp://*:1", 0, MAX_PEERS, NULL, FIELD(peers),
     FIELD(n_peers), "A peer. Repeatable.", NULL},
    {"retries", NULL, "N", OPTIONS_INT, "3", 0, 10, "tries", FIELD(retries), 0,
     "How often to retry.\nSecond line.", NULL},
    {"limit", NULL, "BYTES", OPTIONS_SIZE, "100", 1, 1000, NULL, FIELD(limit), 0, "A limit.", NULL},
    {"log-level", NULL, "LEVEL", OPTIONS_LOG_LEVEL, "info", 0, 0, NULL, FIELD(log_level), 0,
     "Log level.", NULL},
    {"custom", NULL, "ON", OPTIONS_INT, "off", 0, 1, NULL, FIELD(custom), 0, "Custom.", set_on_off},
    {"name", NULL, "TEXT", OPTIONS_STRING, "anon", 0, 0, NULL, FIELD(name), 0, "A name.", NULL},
    {"quiet", NULL, NULL, OPTIONS_SWITCH, NULL, 0, 0, NULL, FIELD(is_quiet), 0, "Say less.", NULL},
    {"help", "-h", NULL, OPTIONS_HELP, NULL, 0, 0, NULL, 0, 0, "Print this help and exit.", NULL},
    {"version", NULL, NULL, OPTIONS_VERSION, NULL, 0, 0, NULL, 0, 0, "Print the version.", NULL},
};

/* Rejects retries above limit, to show a check runs after every source. */
static int check_demo(struct options_parse *p)
{
    const struct demo *d = options_cfg(p);
    if ((size_t)d->retries > d->limit)
        return options_fail(p, "--retries: more than --limit");
    return 0;
}

static struct options_spec spec = {
    .opts = demo_options,
    .n_opts = sizeof demo_options / sizeof demo_options[0],
    .env_prefix = "DEMO_",
    .program = "demo",
    .version = "1.2",
    .usage = "Usage: demo\n",
    .footer = "The end.\n",
    .argv_rules = OPTIONS_ARGV_STRICT,
    .check = check_demo,
};

static struct demo demo;
static char err[256];
static char *output;

static void setup(void)
{
    spec.argv_rules = OPTIONS_ARGV_STRICT;
}

static void teardown(void)
{
    options_fini(&spec, &demo);
    free(output);
    output = NULL;
}

TestSuite(options, .init = setup, .fini = teardown);

/* Runs options_parse on NULL-terminated args (after argv[0]) and env;
 * what it prints lands in output. */
static enum options_result parse(const char *const *args, const char *const *env)
{
    char *argv[MAX_ARGS + 2] = {"demo"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    size_t len = 0;
    free(output); /* a test may parse more than once */
    options_fini(&spec, &demo);
    FILE *out = open_memstream(&output, &len);
    memset(&demo, 0, sizeof demo);
    enum options_result rc =
        options_parse(&spec, &demo, argc, argv, (char *const *)env, out, err, sizeof err);
    fclose(out);
    return rc;
}

Test(options, defaults_fill_every_field)
{
    cr_assert_eq(parse(NULL, NULL), OPTIONS_OK, "%s", err);
    cr_assert_eq(demo.n_peers, 1);
    cr_assert_str_eq(demo.peers[0], "tcp://*:1");
    cr_assert_eq(demo.retries, 3);
    cr_assert_eq(demo.limit, 100);
    cr_assert_eq(demo.log_level, LOG_LEVEL_INFO);
    cr_assert_eq(demo.custom, 0);
    cr_assert_str_empty(err);
}

Test(options, flag_beats_environment_beats_default)
{
    const char *env[] = {"DEMO_RETRIES=5", "DEMO_LIMIT=7", "DEMO_LOG_LEVEL=", NULL};
    const char *args[] = {"--retries", "6", NULL};
    cr_assert_eq(parse(args, env), OPTIONS_OK, "%s", err);
    cr_assert_eq(demo.retries, 6);
    cr_assert_eq(demo.limit, 7);
    cr_assert_eq(demo.log_level, LOG_LEVEL_INFO, "an empty variable counts as unset");
}

Test(options, environment_list_is_comma_separated_and_replaced_by_flags)
{
    const char *env[] = {"DEMO_PEER=tcp://a:1, ipc://b", NULL};
    cr_assert_eq(parse(NULL, env), OPTIONS_OK, "%s", err);
    cr_assert_eq(demo.n_peers, 2);
    cr_assert_str_eq(demo.peers[1], "ipc://b");
    const char *args[] = {"--peer", "tcp://c:1", "--peer=tcp://d:1", NULL};
    cr_assert_eq(parse(args, env), OPTIONS_OK, "%s", err);
    cr_assert_eq(demo.n_peers, 2);
    cr_assert_str_eq(demo.peers[0], "tcp://c:1");
    cr_assert_str_eq(demo.peers[1], "tcp://d:1");
}

Test(options, list_capacity_and_duplicates_are_errors)
{
    const char *env[] = {"DEMO_PEER=tcp://a:1,tcp://b:1,tcp://c:1,tcp://d:1", NULL};
    cr_assert_eq(parse(NULL, env), OPTIONS_EXIT_USAGE);
    cr_assert_str_eq(err, "DEMO_PEER: at most 3 values");
    const char *args[] = {"--peer", "tcp://a:1", "--peer", "tcp://a:1", NULL};
    cr_assert_eq(parse(args, NULL), OPTIONS_EXIT_USAGE);
    cr_assert_str_eq(err, "--peer: 'tcp://a:1' given twice");
}

Test(options, program_setter_and_check_run)
{
    const char *args[] = {"--custom=on", "--retries", "9", "--limit", "8", NULL};
    cr_assert_eq(parse(args, NULL), OPTIONS_EXIT_USAGE);
    cr_assert_str_eq(err, "--retries: more than --limit");
    cr_assert_eq(demo.custom, 1);
}

struct bad_case {
    char args[3][16]; /* up to 3 arguments; "" ends them (Criterion copies the table) */
    char err[160];
};

ParameterizedTestParameters(options, rejects_bad_arguments)
{
    static struct bad_case cases[] = {
        {{"--retries", "11"}, "--retries: expected an integer from 0 to 10 (tries), got '11'"},
        {{"--retries", "+1"}, "--retries: expected an integer from 0 to 10 (tries), got '+1'"},
        {{"--limit=0"}, "--limit: expected an integer from 1 to 1000, got '0'"},
        {{"--log-level", "loud"}, "--log-level: expected error, warn, info or debug, got 'loud'"},
        {{"--custom", "maybe"}, "--custom: expected on or off, got 'maybe'"},
        {{"--nope"}, "unknown option '--nope' (see --help)"},
        {{"--nope=1"}, "unknown option '--nope' (see --help)"},
        {{"-x"}, "unknown option '-x' (see --help)"},
        {{"stray"}, "unexpected argument 'stray' (see --help)"},
        {{"--retries"}, "--retries: missing value"},
        {{"--retries", "--limit", "5"}, "--retries: missing value"},
        {{"--version=2"}, "--version takes no value"},
        {{"--", "x"}, "unexpected argument 'x' (see --help)"},
        {{"--peer", "http://b"},
         "--peer: expected a ZeroMQ endpoint such as tcp://*:5556 (tcp://, ipc://, inproc://, "
         "pgm://, epgm://, tipc://, vmci://), got 'http://b'"},
    };
    return cr_make_param_array(struct bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, options, rejects_bad_arguments, .init = setup,
                  .fini = teardown)
{
    const char *args[4] = {NULL};
    for (int i = 0; i < 3 && c->args[i][0]; i++)
        args[i] = c->args[i];
    cr_assert_eq(parse(args, NULL), OPTIONS_EXIT_USAGE);
    cr_assert_str_eq(err, c->err);
}

Test(options, lenient_rules_read_argv_the_proxy_way)
{
    spec.argv_rules = OPTIONS_ARGV_LENIENT;
    const char *args[] = {"--help=x", "--retries", "--limit", NULL};
    cr_assert_eq(parse(args, NULL), OPTIONS_EXIT_USAGE);
    cr_assert_str_eq(err, "--retries: expected an integer from 0 to 10 (tries), got '--limit'");
    const char *missing[] = {"--retries", NULL};
    cr_assert_eq(parse(missing, NULL), OPTIONS_EXIT_USAGE);
    cr_assert_str_eq(err, "--retries: missing value (N)");
    const char *dash[] = {"-x", NULL};
    cr_assert_eq(parse(dash, NULL), OPTIONS_EXIT_USAGE);
    cr_assert_str_eq(err, "unexpected argument '-x' (see --help)");
}

Test(options, help_wins_and_lists_every_option)
{
    const char *args[] = {"--nope", "-h", NULL};
    cr_assert_eq(parse(args, NULL), OPTIONS_EXIT_OK);
    cr_assert_str_eq(output, "Usage: demo\n"
                             "  --peer ENDPOINT\n"
                             "      A peer. Repeatable.\n"
                             "      env DEMO_PEER, default tcp://*:1\n"
                             "  --retries N\n"
                             "      How often to retry.\n"
                             "      Second line.\n"
                             "      env DEMO_RETRIES, default 3 (0..10)\n"
                             "  --limit BYTES\n"
                             "      A limit.\n"
                             "      env DEMO_LIMIT, default 100 (1..1000)\n"
                             "  --log-level LEVEL\n"
                             "      Log level.\n"
                             "      env DEMO_LOG_LEVEL, default info\n"
                             "  --custom ON\n"
                             "      Custom.\n"
                             "      env DEMO_CUSTOM, default off (0..1)\n"
                             "  --name TEXT\n"
                             "      A name.\n"
                             "      env DEMO_NAME, default anon\n"
                             "  --quiet\n"
                             "      Say less.\n"
                             "      env DEMO_QUIET (1 or 0), default off\n"
                             "  -h, --help\n"
                             "      Print this help and exit.\n"
                             "  --version\n"
                             "      Print the version.\n"
                             "The end.\n");
}

Test(options, version_prints_program_and_version)
{
    const char *args[] = {"--version", NULL};
    cr_assert_eq(parse(args, NULL), OPTIONS_EXIT_OK);
    cr_assert_str_eq(output, "demo 1.2\n");
}

Test(options, help_after_double_dash_is_an_argument)
{
    const char *args[] = {"--", "--help", NULL};
    cr_assert_eq(parse(args, NULL), OPTIONS_EXIT_USAGE);
    cr_assert_str_eq(err, "unexpected argument '--help' (see --help)");
}

Test(options, string_kind_is_owned_text_or_null)
{
    cr_assert_eq(parse(NULL, NULL), OPTIONS_OK, "%s", err);
    cr_assert_str_eq(demo.name, "anon");
    const char *args[] = {"--name", "a longer name than any buffer", NULL};
    cr_assert_eq(parse(args, NULL), OPTIONS_OK, "%s", err);
    cr_assert_str_eq(demo.name, "a longer name than any buffer");
    const char *env[] = {"DEMO_NAME=envy", NULL};
    cr_assert_eq(parse(NULL, env), OPTIONS_OK, "%s", err);
    cr_assert_str_eq(demo.name, "envy");
    const char *empty[] = {"--name", "", NULL};
    cr_assert_eq(parse(empty, env), OPTIONS_OK, "%s", err);
    cr_assert_null(demo.name);
}

Test(options, switch_kind_from_flag_and_environment)
{
    cr_assert_eq(parse(NULL, NULL), OPTIONS_OK, "%s", err);
    cr_assert_not(demo.is_quiet);
    const char *args[] = {"--quiet", "--retries", "2", NULL};
    cr_assert_eq(parse(args, NULL), OPTIONS_OK, "%s", err);
    cr_assert(demo.is_quiet);
    cr_assert_eq(demo.retries, 2, "the switch took the next argument");
    const char *on[] = {"DEMO_QUIET=TRUE", NULL}, *off[] = {"DEMO_QUIET=off", NULL};
    cr_assert_eq(parse(NULL, on), OPTIONS_OK, "%s", err);
    cr_assert(demo.is_quiet);
    cr_assert_eq(parse(args, off), OPTIONS_OK, "%s", err);
    cr_assert(demo.is_quiet, "the flag wins over the environment");
    const char *bad[] = {"DEMO_QUIET=2", NULL};
    cr_assert_eq(parse(NULL, bad), OPTIONS_EXIT_USAGE);
    cr_assert(strstr(err, "DEMO_QUIET"), "%s", err);
    const char *valued[] = {"--quiet=1", NULL};
    cr_assert_eq(parse(valued, NULL), OPTIONS_EXIT_USAGE);
    cr_assert_str_eq(err, "--quiet takes no value");
}

Test(options, a_switch_is_not_taken_for_help)
{
    const char *args[] = {"--quiet", NULL};
    cr_assert_eq(parse(args, NULL), OPTIONS_OK, "%s", err);
    cr_assert_eq(output ? strlen(output) : 0, 0, "printed: %s", output);
    const char *help[] = {"--help", NULL};
    cr_assert_eq(parse(help, NULL), OPTIONS_EXIT_OK);
    cr_assert(strstr(output, "--quiet\n") && strstr(output, "DEMO_QUIET (1 or 0), default off"),
              "%s", output);
}
