/* options: an option table -> a config struct: defaults, environment, argv,
 * help. Owns neither the table nor the struct: a program describes both in a
 * struct options_spec, and options_parse fills the struct from the table's
 * default texts, then PREFIX_FLAG_NAME environment variables (an empty one
 * counts as unset; lists comma-separated), then argv (--flag VALUE or
 * --flag=VALUE; a repeatable flag's first use replaces the environment's
 * list). --help, -h and --version win over every other argument. Strings
 * the parse stores in the struct are owned by it: release with options_fini. */
#ifndef TB_OPTIONS_H
#define TB_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define OPTIONS_MAX 48       /* options in one table */
#define OPTIONS_HOST_CAP 256 /* OPTIONS_LISTEN's host buffer */

enum options_kind {
    OPTIONS_LISTEN,     /* HOST:PORT or [V6]:PORT -> char[OPTIONS_HOST_CAP], int port at aux */
    OPTIONS_ENDPOINTS,  /* ZeroMQ endpoints -> char *[max] at offset, size_t count at aux */
    OPTIONS_ORIGINS,    /* http(s) origins or "*", stored like OPTIONS_ENDPOINTS */
    OPTIONS_TRANSPORTS, /* polling,websocket -> bool at offset, bool at aux */
    OPTIONS_INT,        /* int from min to max */
    OPTIONS_SIZE,       /* size_t from min to max */
    OPTIONS_LOG_LEVEL,  /* enum log_level */
    OPTIONS_STRING,     /* char * at offset (a path, a name), NULL when empty; owned */
    OPTIONS_SWITCH,     /* no value: sets a bool at offset; env 1/0, true/false, yes/no, on/off */
    OPTIONS_HELP,       /* switch: print the help and exit */
    OPTIONS_VERSION     /* switch: print "program version" and exit */
};

/* Where a value came from; a flag replaces the environment's list. */
enum options_source { OPTIONS_SRC_DEFAULT, OPTIONS_SRC_ENV, OPTIONS_SRC_FLAG };

/* How argv is read. STRICT: "--" ends the flags (nothing may follow it),
 * "-x" is an unknown option, "--switch=x" and a value starting with "--" are
 * errors. LENIENT (trainbridge-proxy's): every argument must start with
 * "--", "--switch=x" is ignored, any next argument is a value, and a missing
 * one is reported with its metavar. */
enum options_argv_rules { OPTIONS_ARGV_STRICT, OPTIONS_ARGV_LENIENT };

enum options_result {
    OPTIONS_OK = 0,        /* run with the config */
    OPTIONS_EXIT_OK = 1,   /* --help or --version was printed: exit 0 */
    OPTIONS_EXIT_USAGE = 2 /* bad value: err holds one line naming the flag; exit 2 */
};

struct options_parse; /* the parse in progress, passed to callbacks */
struct options_opt;

/* Sets o's field from text. where names the source in messages ("--flag",
 * the variable, "default"). For list kinds the list has already been
 * cleared when text replaces it (src is not OPTIONS_SRC_FLAG: text is a
 * comma-separated list) or when this is the flag's first use. */
typedef int options_set_fn(struct options_parse *p, const struct options_opt *o, const char *text,
                           const char *where, enum options_source src);

/* Rules across options, run once every source has been applied. */
typedef int options_check_fn(struct options_parse *p);

/* One option. Its environment variable is the spec's prefix + the flag
 * upper-cased with '-' as '_'. Defaults are text, parsed like any value. */
struct options_opt {
    const char *flag;    /* long name without "--" */
    const char *alias;   /* short form, or NULL */
    const char *metavar; /* NULL for switches, which take no value */
    enum options_kind kind;
    const char *default_text; /* "" for an empty list */
    long long min, max;       /* INT / SIZE bounds; lists: max = capacity */
    const char *unit;         /* INT / SIZE, in error messages; NULL: none */
    size_t offset;            /* the field in the config struct */
    size_t aux_offset;        /* listen: the port; lists: the count; transports: websocket */
    const char *help;         /* lines separated by '\n' */
    options_set_fn *set;      /* replaces the kind's own setter, or NULL */
};

/* The --help paragraph on how the sources combine, for a spec's usage. */
#define OPTIONS_HELP_SOURCES                                                                       \
    "Each option can also be set by the environment variable shown (lists\n"                       \
    "comma-separated there). A flag wins over the environment, the environment\n"                  \
    "over the default. Values go as --flag VALUE or --flag=VALUE.\n"

struct options_spec {
    const struct options_opt *opts; /* borrowed, at most OPTIONS_MAX */
    size_t n_opts;
    const char *env_prefix; /* "TRAINBRIDGE_" */
    const char *program;    /* "trainbridge", for --version */
    const char *version;
    const char *usage;  /* --help text before the options, ending "Options:\n" */
    const char *footer; /* --help text after them */
    enum options_argv_rules argv_rules;
    options_check_fn *check; /* or NULL */
};

/* Fills *cfg, which the caller has zeroed, from defaults, then envp
 * (NULL-terminated "NAME=value" strings), then argv, then runs spec->check. --help/--version
 * print to out (stdout if NULL). On OPTIONS_EXIT_USAGE err holds one line.
 * Release *cfg's strings with options_fini, whatever the result. */
enum options_result options_parse(const struct options_spec *spec, void *cfg, int argc,
                                  char *const argv[], char *const envp[], FILE *out, char *err,
                                  size_t err_len);

/* Frees every list's strings in *cfg and empties the lists. NULL-safe. */
void options_fini(const struct options_spec *spec, void *cfg);

/* Prints spec->usage, every option with its variable and default, the footer. */
void options_print_help(const struct options_spec *spec, FILE *out);

/* ---- for setters and checks */

/* The config being filled (borrowed). */
void *options_cfg(const struct options_parse *p);

/* The option named flag in the table, or NULL. */
const struct options_opt *options_find(const struct options_parse *p, const char *flag);

/* Where o's current value came from. */
enum options_source options_source_of(const struct options_parse *p, const struct options_opt *o);

/* Frees the strings of list option o in cfg and sets its count to 0. */
void options_clear_list(void *cfg, const struct options_opt *o);

/* Formats the error line into the caller's buffer; returns -EINVAL. */
__attribute__((format(printf, 2, 3))) int options_fail(struct options_parse *p, const char *fmt,
                                                       ...);

#endif
