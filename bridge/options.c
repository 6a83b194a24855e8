#include "options.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "xalloc.h"

#define NAME_CAP 64 /* "--flag", "TRAINBRIDGE_PROXY_FLAG" */
#define ENDPOINT_MAX_LEN 255
#define HELP_INDENT 6 /* of descriptions in --help */

static const char *const endpoint_schemes[] = {"tcp://",  "ipc://",  "inproc://", "pgm://",
                                               "epgm://", "tipc://", "vmci://"};

/* The parse in progress: the spec, the config, the caller's error buffer,
 * and where each option's current value came from. */
struct options_parse {
    const struct options_spec *spec;
    void *cfg;
    char *err;
    size_t err_len;
    enum options_source source[OPTIONS_MAX];
};

static size_t index_of(const struct options_parse *p, const struct options_opt *o)
{
    return (size_t)(o - p->spec->opts);
}

static void *field(void *cfg, size_t offset)
{
    return (char *)cfg + offset;
}

static bool is_list(const struct options_opt *o)
{
    return o->kind == OPTIONS_ENDPOINTS || o->kind == OPTIONS_ORIGINS;
}

static void env_name(const struct options_spec *spec, const struct options_opt *o, char *buf,
                     size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "%s", spec->env_prefix);
    for (const char *p = o->flag; *p && n + 1 < cap; p++)
        buf[n++] = (char)(*p == '-' ? '_' : toupper((unsigned char)*p));
    buf[n < cap ? n : cap - 1] = '\0';
}

static const struct options_opt *find_option(const struct options_spec *spec, const char *name,
                                             size_t len)
{
    for (size_t i = 0; i < spec->n_opts; i++) {
        const struct options_opt *o = &spec->opts[i];
        if (strlen(o->flag) == len && memcmp(o->flag, name, len) == 0)
            return o;
    }
    return NULL;
}

/* ---- values */

/* Decimal integer within the option's bounds; nothing else, no sign but '-'. */
static int set_number(struct options_parse *p, const struct options_opt *o, const char *text,
                      const char *where)
{
    long long v = 0;
    char *end = NULL;
    bool ok =
        isdigit((unsigned char)text[0]) || (text[0] == '-' && isdigit((unsigned char)text[1]));
    if (ok) {
        errno = 0;
        v = strtoll(text, &end, 10);
        ok = errno == 0 && *end == '\0' && v >= o->min && v <= o->max;
    }
    if (!ok && o->unit)
        return options_fail(p, "%s: expected an integer from %lld to %lld (%s), got '%s'", where,
                            o->min, o->max, o->unit, text);
    if (!ok)
        return options_fail(p, "%s: expected an integer from %lld to %lld, got '%s'", where, o->min,
                            o->max, text);
    if (o->kind == OPTIONS_INT)
        *(int *)field(p->cfg, o->offset) = (int)v;
    else
        *(size_t *)field(p->cfg, o->offset) = (size_t)v;
    return 0;
}

/* Host characters: a name or IPv4 address, or inside brackets an IPv6
 * address with an optional %zone. */
static bool host_valid(const char *host, size_t len, bool is_bracketed)
{
    if (len == 0 || len >= OPTIONS_HOST_CAP)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        bool ok = isalnum(c) || c == '.' || c == '-' || (!is_bracketed && c == '_') ||
                  (is_bracketed && (c == ':' || c == '%'));
        if (!ok)
            return false;
    }
    return true;
}

/* Splits "host:port" or "[v6]:port". Returns the port text, or NULL. */
static const char *split_listen(const char *text, const char **host, size_t *host_len,
                                bool *is_bracketed)
{
    const char *colon;
    *is_bracketed = text[0] == '[';
    if (*is_bracketed) {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return NULL;
        *host = text + 1;
        *host_len = (size_t)(close - text - 1);
        return close + 2;
    }
    colon = strrchr(text, ':');
    if (!colon)
        return NULL;
    *host = text;
    *host_len = (size_t)(colon - text);
    return colon + 1;
}

static int set_listen(struct options_parse *p, const struct options_opt *o, const char *text,
                      const char *where)
{
    const char *host = NULL, *port = NULL;
    size_t host_len = 0;
    bool is_bracketed = false;
    port = split_listen(text, &host, &host_len, &is_bracketed);
    if (!port || !host_valid(host, host_len, is_bracketed))
        return options_fail(
            p, "%s: expected HOST:PORT such as 0.0.0.0:8080 or [::1]:8080, got '%s'", where, text);
    size_t n_digits = strspn(port, "0123456789");
    long v = n_digits > 0 && n_digits <= 5 && port[n_digits] == '\0' ? strtol(port, NULL, 10) : -1;
    if (v < o->min || v > o->max)
        return options_fail(p, "%s: port must be from 0 to 65535, got '%s'", where, port);
    char *dst = field(p->cfg, o->offset);
    memcpy(dst, host, host_len);
    dst[host_len] = '\0';
    *(int *)field(p->cfg, o->aux_offset) = (int)v;
    return 0;
}

static int set_log_level(struct options_parse *p, const struct options_opt *o, const char *text,
                         const char *where)
{
    if (log_level_parse(text, field(p->cfg, o->offset)) < 0)
        return options_fail(p, "%s: expected error, warn, info or debug, got '%s'", where, text);
    return 0;
}

/* A switch's environment variable: 1/0, true/false, yes/no, on/off. */
static int set_switch(struct options_parse *p, const struct options_opt *o, const char *text,
                      const char *where)
{
    static const char *const on[] = {"1", "true", "yes", "on"};
    static const char *const off[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
        bool is_on = strcasecmp(text, on[i]) == 0;
        if (is_on || strcasecmp(text, off[i]) == 0) {
            *(bool *)field(p->cfg, o->offset) = is_on;
            return 0;
        }
    }
    return options_fail(p, "%s: expected 1 or 0 (true/false, yes/no, on/off), got '%s'", where,
                        text);
}

/* ---- lists */

static bool endpoint_valid(const char *s)
{
    size_t len = strlen(s);
    if (len > ENDPOINT_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    }
    for (size_t i = 0; i < sizeof endpoint_schemes / sizeof endpoint_schemes[0]; i++) {
        size_t n = strlen(endpoint_schemes[i]);
        if (len > n && strncmp(s, endpoint_schemes[i], n) == 0)
            return true;
    }
    return false;
}

/* scheme://host[:port] with scheme http or https and no path, or "*". */
static bool origin_valid(const char *s)
{
    if (strcmp(s, "*") == 0)
        return true;
    const char *rest = strncmp(s, "http://", 7) == 0    ? s + 7
                       : strncmp(s, "https://", 8) == 0 ? s + 8
                                                        : NULL;
    if (!rest || !rest[0] || strlen(s) > ENDPOINT_MAX_LEN)
        return false;
    for (const char *c = rest; *c; c++) {
        if (!isalnum((unsigned char)*c) && !strchr(".-:[]_", *c))
            return false;
    }
    return true;
}

static bool list_item_valid(const struct options_opt *o, const char *text)
{
    return o->kind == OPTIONS_ORIGINS ? origin_valid(text) : endpoint_valid(text);
}

static const char *list_item_expected(const struct options_opt *o)
{
    return o->kind == OPTIONS_ORIGINS
               ? "an origin such as https://dash.example.com:8443 (http:// or https://, no "
                 "path) or *"
               : "a ZeroMQ endpoint such as tcp://*:5556 (tcp://, ipc://, inproc://, pgm://, "
                 "epgm://, tipc://, vmci://)";
}

static int add_item(struct options_parse *p, const struct options_opt *o, const char *text,
                    const char *where)
{
    char **items = field(p->cfg, o->offset);
    size_t *n = field(p->cfg, o->aux_offset);
    if (!list_item_valid(o, text))
        return options_fail(p, "%s: expected %s, got '%s'", where, list_item_expected(o), text);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(items[i], text) == 0)
            return options_fail(p, "%s: '%s' given twice", where, text);
    }
    if (*n >= (size_t)o->max)
        return options_fail(p, "%s: at most %lld values", where, o->max);
    items[(*n)++] = xstrdup(text);
    return 0;
}

/* Adds the comma-separated items of text to the (cleared) list: blanks
 * around items are ignored, an empty item is an error, "" adds none. */
static int add_items(struct options_parse *p, const struct options_opt *o, const char *text,
                     const char *where)
{
    if (text[0] == '\0')
        return 0;
    char *copy = xstrdup(text);
    int rc = 0;
    for (char *item = copy, *next; item && rc == 0; item = next) {
        next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        item += strspn(item, " \t");
        item[strcspn(item, " \t")] = '\0';
        if (item[0] == '\0')
            rc = options_fail(p, "%s: empty item in list '%s'", where, text);
        else
            rc = add_item(p, o, item, where);
    }
    free(copy);
    return rc;
}

/* "polling", "websocket" or both, comma-separated, each at most once. */
static int set_transports(struct options_parse *p, const struct options_opt *o, const char *text,
                          const char *where)
{
    bool *polling = field(p->cfg, o->offset), *websocket = field(p->cfg, o->aux_offset);
    *polling = *websocket = false;
    for (const char *c = text; *c;) {
        size_t n = strcspn(c, ",");
        bool *flag = n == 7 && strncmp(c, "polling", 7) == 0     ? polling
                     : n == 9 && strncmp(c, "websocket", 9) == 0 ? websocket
                                                                 : NULL;
        bool is_trailing_comma = c[n] == ',' && c[n + 1] == '\0';
        if (!flag || *flag || is_trailing_comma)
            return options_fail(p, "%s: expected polling, websocket or polling,websocket, got '%s'",
                                where, text);
        *flag = true;
        c += n + (c[n] == ',');
    }
    if (!*polling && !*websocket)
        return options_fail(p, "%s: at least one of polling, websocket", where);
    return 0;
}

/* Any text; "" means unset (NULL). Replaces the previous value. */
static int set_string(struct options_parse *p, const struct options_opt *o, const char *text)
{
    char **value = field(p->cfg, o->offset);
    free(*value);
    *value = text[0] ? xstrdup(text) : NULL;
    return 0;
}

/* ---- sources */

/* Applies one value. A flag adds to a list (its first use replacing what
 * the environment or default gave); the environment and defaults set it. */
static int apply(struct options_parse *p, const struct options_opt *o, const char *text,
                 const char *where, enum options_source src)
{
    enum options_source previous = p->source[index_of(p, o)];
    p->source[index_of(p, o)] = src;
    if (is_list(o) && (src != OPTIONS_SRC_FLAG || previous != OPTIONS_SRC_FLAG))
        options_clear_list(p->cfg, o);
    if (o->set)
        return o->set(p, o, text, where, src);
    switch (o->kind) {
    case OPTIONS_LISTEN:
        return set_listen(p, o, text, where);
    case OPTIONS_ENDPOINTS:
    case OPTIONS_ORIGINS:
        return src != OPTIONS_SRC_FLAG ? add_items(p, o, text, where) : add_item(p, o, text, where);
    case OPTIONS_INT:
    case OPTIONS_SIZE:
        return set_number(p, o, text, where);
    case OPTIONS_LOG_LEVEL:
        return set_log_level(p, o, text, where);
    case OPTIONS_TRANSPORTS:
        return set_transports(p, o, text, where);
    case OPTIONS_STRING:
        return set_string(p, o, text);
    case OPTIONS_SWITCH:
        return set_switch(p, o, text, where);
    default:
        return options_fail(p, "%s takes no value", where);
    }
}

static int apply_defaults(struct options_parse *p)
{
    for (size_t i = 0; i < p->spec->n_opts; i++) {
        const struct options_opt *o = &p->spec->opts[i];
        if (o->metavar && apply(p, o, o->default_text, "default", OPTIONS_SRC_DEFAULT) < 0)
            return -EINVAL;
    }
    return 0;
}

static const char *find_env(char *const envp[], const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++) {
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
            return envp[i] + len + 1;
    }
    return NULL;
}

/* Every option's variable; an empty one counts as unset. */
static int apply_env(struct options_parse *p, char *const envp[])
{
    for (size_t i = 0; i < p->spec->n_opts; i++) {
        const struct options_opt *o = &p->spec->opts[i];
        char name[NAME_CAP];
        if (!o->metavar && o->kind != OPTIONS_SWITCH)
            continue;
        env_name(p->spec, o, name, sizeof name);
        const char *value = find_env(envp, name);
        if (value && value[0] && apply(p, o, value, name, OPTIONS_SRC_ENV) < 0)
            return -EINVAL;
    }
    return 0;
}

/* Checks args[0]'s form and finds its option; *eq is its "=value" or NULL. */
static int lookup_flag(struct options_parse *p, const char *arg, const struct options_opt **o,
                       const char **eq)
{
    bool is_strict = p->spec->argv_rules == OPTIONS_ARGV_STRICT;
    if (arg[0] != '-' || arg[1] == '\0' || (!is_strict && arg[1] != '-'))
        return options_fail(p, "unexpected argument '%s' (see --help)", arg);
    if (arg[1] != '-')
        return options_fail(p, "unknown option '%s' (see --help)", arg);
    const char *name = arg + 2;
    *eq = strchr(name, '=');
    size_t name_len = *eq ? (size_t)(*eq - name) : strlen(name);
    *o = find_option(p->spec, name, name_len);
    if (!*o)
        return options_fail(p, "unknown option '--%.*s' (see --help)", (int)name_len, name);
    return 0;
}

/* Parses args[0] (and its value, args[1], if it takes one from there).
 * Returns the number of arguments used, or -EINVAL. */
static int apply_flag(struct options_parse *p, int n_left, char *const args[])
{
    bool is_strict = p->spec->argv_rules == OPTIONS_ARGV_STRICT;
    const struct options_opt *o = NULL;
    const char *eq = NULL;
    if (lookup_flag(p, args[0], &o, &eq) < 0 || !o)
        return -EINVAL;
    char where[NAME_CAP];
    snprintf(where, sizeof where, "--%s", o->flag);
    if (o->kind == OPTIONS_SWITCH && !eq) {
        p->source[index_of(p, o)] = OPTIONS_SRC_FLAG;
        *(bool *)field(p->cfg, o->offset) = true;
        return 1;
    }
    if (!o->metavar)
        return is_strict ? options_fail(p, "%s takes no value", where) : 1;
    if (eq)
        return apply(p, o, eq + 1, where, OPTIONS_SRC_FLAG) < 0 ? -EINVAL : 1;
    if (!is_strict && n_left < 2)
        return options_fail(p, "%s: missing value (%s)", where, o->metavar);
    if (n_left < 2 || (is_strict && strncmp(args[1], "--", 2) == 0))
        return options_fail(p, "%s: missing value", where);
    return apply(p, o, args[1], where, OPTIONS_SRC_FLAG) < 0 ? -EINVAL : 2;
}

/* Every argument is a flag; under STRICT rules "--" ends them, and nothing
 * may follow it. */
static int apply_argv(struct options_parse *p, int argc, char *const argv[])
{
    bool is_strict = p->spec->argv_rules == OPTIONS_ARGV_STRICT;
    for (int i = 1; i < argc;) {
        if (is_strict && strcmp(argv[i], "--") == 0)
            return i + 1 < argc
                       ? options_fail(p, "unexpected argument '%s' (see --help)", argv[i + 1])
                       : 0;
        int used = apply_flag(p, argc - i, argv + i);
        if (used < 0)
            return used;
        i += used;
    }
    return 0;
}

/* The first --help, -h or --version (before "--" under STRICT rules), if any. */
static const struct options_opt *find_switch(const struct options_spec *spec, int argc,
                                             char *const argv[])
{
    bool is_strict = spec->argv_rules == OPTIONS_ARGV_STRICT;
    for (int i = 1; i < argc && !(is_strict && strcmp(argv[i], "--") == 0); i++) {
        for (size_t k = 0; k < spec->n_opts; k++) {
            const struct options_opt *o = &spec->opts[k];
            bool hit = strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, o->flag) == 0;
            bool is_exit = o->kind == OPTIONS_HELP || o->kind == OPTIONS_VERSION;
            if (is_exit && (hit || (o->alias && strcmp(argv[i], o->alias) == 0)))
                return o;
        }
    }
    return NULL;
}

/* ---- public */

enum options_result options_parse(const struct options_spec *spec, void *cfg, int argc,
                                  char *const argv[], char *const envp[], FILE *out, char *err,
                                  size_t err_len)
{
    struct options_parse p = {.spec = spec, .cfg = cfg, .err = err, .err_len = err_len};
    assert(spec->n_opts <= OPTIONS_MAX);
    if (err && err_len > 0)
        err[0] = '\0';
    const struct options_opt *sw = find_switch(spec, argc, argv);
    if (sw && sw->kind == OPTIONS_HELP) {
        options_print_help(spec, out ? out : stdout);
        return OPTIONS_EXIT_OK;
    }
    if (sw) {
        fprintf(out ? out : stdout, "%s %s\n", spec->program, spec->version);
        return OPTIONS_EXIT_OK;
    }
    if (apply_defaults(&p) < 0 || apply_env(&p, envp) < 0 || apply_argv(&p, argc, argv) < 0 ||
        (spec->check && spec->check(&p) < 0))
        return OPTIONS_EXIT_USAGE;
    return OPTIONS_OK;
}

void options_fini(const struct options_spec *spec, void *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < spec->n_opts; i++) {
        const struct options_opt *o = &spec->opts[i];
        if (is_list(o))
            options_clear_list(cfg, o);
        if (o->kind == OPTIONS_STRING && !o->set) {
            char **value = field(cfg, o->offset);
            free(*value);
            *value = NULL;
        }
    }
}

/* Prints each of text's lines after indent spaces. */
static void print_lines(FILE *out, const char *text, int indent)
{
    while (*text) {
        size_t n = strcspn(text, "\n");
        fprintf(out, "%*s%.*s\n", indent, "", (int)n, text);
        text += n + (text[n] == '\n');
    }
}

static void print_option(const struct options_spec *spec, FILE *out, const struct options_opt *o)
{
    char env[NAME_CAP];
    fprintf(out, "  %s%s--%s%s%s\n", o->alias ? o->alias : "", o->alias ? ", " : "", o->flag,
            o->metavar ? " " : "", o->metavar ? o->metavar : "");
    print_lines(out, o->help, HELP_INDENT);
    if (o->kind == OPTIONS_SWITCH) {
        env_name(spec, o, env, sizeof env);
        fprintf(out, "%*senv %s (1 or 0), default off\n", HELP_INDENT, "", env);
        return;
    }
    if (!o->metavar)
        return;
    env_name(spec, o, env, sizeof env);
    fprintf(out, "%*senv %s, default %s", HELP_INDENT, "", env,
            o->default_text[0] ? o->default_text : "none");
    if (o->kind == OPTIONS_INT || o->kind == OPTIONS_SIZE)
        fprintf(out, " (%lld..%lld)", o->min, o->max);
    fputc('\n', out);
}

void options_print_help(const struct options_spec *spec, FILE *out)
{
    fputs(spec->usage, out);
    for (size_t i = 0; i < spec->n_opts; i++)
        print_option(spec, out, &spec->opts[i]);
    fputs(spec->footer, out);
}

void *options_cfg(const struct options_parse *p)
{
    return p->cfg;
}

const struct options_opt *options_find(const struct options_parse *p, const char *flag)
{
    return find_option(p->spec, flag, strlen(flag));
}

enum options_source options_source_of(const struct options_parse *p, const struct options_opt *o)
{
    return p->source[index_of(p, o)];
}

void options_clear_list(void *cfg, const struct options_opt *o)
{
    char **items = field(cfg, o->offset);
    size_t *n = field(cfg, o->aux_offset);
    for (size_t i = 0; i < *n; i++) {
        free(items[i]);
        items[i] = NULL;
    }
    *n = 0;
}

int options_fail(struct options_parse *p, const char *fmt, ...)
{
    if (p->err && p->err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->err_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}
