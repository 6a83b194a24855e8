/* web: path -> dashboard response: types, ETag/304, gzip, --web-root,
 * refused paths, unknown paths. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "web.h"
#include "web_assets.h"

static struct web *web;
static struct web_response res;
static char root[64]; /* mkdtemp templates */
static char outside[64];

static void setup(void)
{
    web = web_new(NULL);
    cr_assert_not_null(web);
}

static void teardown(void)
{
    web_response_fini(&res);
    web_destroy(&web);
}

TestSuite(web, .init = setup, .fini = teardown);

/* web_lookup into res, releasing what the previous lookup left there. */
static int lookup(const char *path, const char *accept_encoding, const char *if_none_match)
{
    web_response_fini(&res);
    return web_lookup(web, path, accept_encoding, if_none_match, &res);
}

static const struct web_asset *embedded(const char *name)
{
    for (size_t i = 0; i < web_n_assets; i++) {
        if (strcmp(web_assets[i].name, name) == 0)
            return &web_assets[i];
    }
    return NULL;
}

/* Inflates a gzip body; returns a malloc'd buffer, *out_len its length. */
static unsigned char *gunzip(const unsigned char *in, size_t len, size_t *out_len)
{
    size_t cap = 4 << 20;
    unsigned char *out = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    inflateEnd(&z);
    return out;
}

struct type_case {
    char path[64];
    char type[48];
};

ParameterizedTestParameters(web, serves_every_file_with_its_type)
{
    static struct type_case cases[] = {
        {"/", "text/html; charset=utf-8"},
        {"/dashboard/", "text/html; charset=utf-8"},
        {"/dashboard", "text/html; charset=utf-8"},
        {"/dashboard/index.html", "text/html; charset=utf-8"},
        {"/dashboard/app.js", "text/javascript; charset=utf-8"},
        {"/dashboard/store.js", "text/javascript; charset=utf-8"},
        {"/dashboard/chart.js", "text/javascript; charset=utf-8"},
        {"/dashboard/app.css", "text/css; charset=utf-8"},
        {"/dashboard/vendor/socket.io.esm.min.js", "text/javascript; charset=utf-8"},
        {"/dashboard/vendor/uPlot.esm.js", "text/javascript; charset=utf-8"},
        {"/dashboard/vendor/uPlot.min.css", "text/css; charset=utf-8"},
    };
    return cr_make_param_array(struct type_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct type_case *c, web, serves_every_file_with_its_type)
{
    cr_assert_eq(lookup(c->path, NULL, NULL), 200, "%s", c->path);
    cr_assert_str_eq(res.content_type, c->type, "%s", c->path);
    cr_assert_null(res.content_encoding);
    cr_assert_gt(res.len, 0);
    cr_assert_eq(res.etag[0], '"');
    cr_assert_eq(res.etag[strlen(res.etag) - 1], '"');
}

Test(web, index_is_the_page_and_vendor_files_are_the_npm_builds)
{
    cr_assert_eq(lookup("/", NULL, NULL), 200);
    cr_assert(memmem(res.body, res.len, "<script type=\"module\" src=\"/dashboard/app.js\">", 46));
    cr_assert_eq(lookup("/dashboard/vendor/uPlot.esm.js", NULL, NULL), 200);
    cr_assert(memmem(res.body, res.len, "export { uPlot as default }", 27));
    cr_assert_eq(lookup("/dashboard/vendor/socket.io.esm.min.js", NULL, NULL), 200);
    cr_assert(memmem(res.body, res.len, "xt as io", 8));
    cr_assert_null(memmem(res.body, res.len, "sourceMappingURL", 16), "map reference kept");
}

Test(web, gzip_when_accepted_and_it_inflates_to_the_file)
{
    const struct web_asset *a = embedded("vendor/uPlot.esm.js");
    cr_assert_not_null(a);
    cr_assert_eq(lookup("/dashboard/vendor/uPlot.esm.js", "gzip, deflate, br", NULL), 200);
    cr_assert_str_eq(res.content_encoding, "gzip");
    cr_assert_lt(res.len, a->len / 2);
    size_t n;
    unsigned char *plain = gunzip(res.body, res.len, &n);
    cr_assert_eq(n, a->len);
    cr_assert_eq(memcmp(plain, a->data, n), 0);
    free(plain);
    char gz_etag[32];
    strcpy(gz_etag, res.etag);
    cr_assert_eq(lookup("/dashboard/vendor/uPlot.esm.js", "identity", NULL), 200);
    cr_assert_null(res.content_encoding);
    cr_assert_str_neq(res.etag, gz_etag, "both representations share an ETag");
}

struct accept_case {
    char value[64];
    bool gzip;
};

ParameterizedTestParameters(web, accept_encoding_is_parsed)
{
    static struct accept_case cases[] = {
        {"gzip", true},
        {"GZip", true},
        {"deflate, gzip;q=0.5", true},
        {"gzip;q=0", false},
        {"gzip; q=0.000", false},
        {"gzip;q=0.001", true},
        {"*", true},
        {"*;q=0", false},
        {"gzip;q=0, *", false},
        {"br, *;q=0.1", true},
        {"x-gzip", true},
        {"identity", false},
        {"gzipx", false},
        {"", false},
        {",,,;;;", false},
        {"deflate;q=1;gzip", false},
    };
    return cr_make_param_array(struct accept_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct accept_case *c, web, accept_encoding_is_parsed)
{
    cr_assert_eq(web_accepts_gzip(c->value), c->gzip, "'%s'", c->value);
}

Test(web, no_accept_encoding_means_identity)
{
    cr_assert_not(web_accepts_gzip(NULL));
}

Test(web, if_none_match_with_the_etag_answers_304)
{
    cr_assert_eq(lookup("/dashboard/app.js", "gzip", NULL), 200);
    char etag[32];
    strcpy(etag, res.etag);
    cr_assert_eq(lookup("/dashboard/app.js", "gzip", etag), 304);
    cr_assert_eq(res.len, 0);
    cr_assert_str_eq(res.etag, etag);
    cr_assert_str_eq(res.content_type, "text/javascript; charset=utf-8");
    char list[96];
    snprintf(list, sizeof list, "\"nope\", W/%s", etag);
    cr_assert_eq(lookup("/dashboard/app.js", "gzip", list), 304);
    cr_assert_eq(lookup("/dashboard/app.js", "gzip", "*"), 304);
    cr_assert_eq(lookup("/dashboard/app.js", "gzip", "\"other\""), 200);
    /* the gzip ETag does not validate the identity representation */
    cr_assert_eq(lookup("/dashboard/app.js", NULL, etag), 200);
}

struct etag_case {
    char header[64];
    bool match;
};

ParameterizedTestParameters(web, if_none_match_is_parsed)
{
    static struct etag_case cases[] = {
        {"\"abc\"", true},     {"W/\"abc\"", true}, {" \"x\" , \"abc\"", true}, {"\"abcd\"", false},
        {"\"ab\"", false},     {"abc", false},      {"\"abc", false},           {"", false},
        {",,, \"abc\"", true}, {"W/", false},       {"\"x\" junk", false},      {"*", true},
    };
    return cr_make_param_array(struct etag_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct etag_case *c, web, if_none_match_is_parsed)
{
    cr_assert_eq(web_etag_matches(c->header, "\"abc\""), c->match, "'%s'", c->header);
}

ParameterizedTestParameters(web, refuses_paths_that_are_not_plain_names)
{
    static char paths[][64] = {
        "/dashboard/../etc/passwd",  "/dashboard/..",          "/dashboard/vendor/../../x",
        "/dashboard//app.js",        "/dashboard/.git/config", "/dashboard/app.js/",
        "/dashboard/a\\b",           "/dashboard/%2e%2e/x",    "/dashboard/app.js?x=1",
        "/dashboard/vendor/.hidden", "/dashboard/a b",         "/dashboard/./app.js",
    };
    return cr_make_param_array(char[64], paths, sizeof paths / sizeof paths[0]);
}

ParameterizedTest(char (*path)[64], web, refuses_paths_that_are_not_plain_names)
{
    cr_assert_eq(lookup(*path, NULL, NULL), 400, "%s", *path);
    cr_assert_null(res.body);
}

Test(web, unknown_paths_are_404)
{
    cr_assert_eq(lookup("/dashboard/nothing.js", NULL, NULL), 404);
    cr_assert_eq(lookup("/dashboard/vendor/socket.io.esm.min.js.map", NULL, NULL), 404);
    cr_assert_eq(lookup("/favicon.ico", NULL, NULL), 404);
    cr_assert_eq(lookup("/dashboardx", NULL, NULL), 404);
}

Test(web, owns_only_its_paths)
{
    cr_assert(web_owns_path("/"));
    cr_assert(web_owns_path("/dashboard"));
    cr_assert(web_owns_path("/dashboard/x"));
    cr_assert_not(web_owns_path("/dashboardx"));
    cr_assert_not(web_owns_path("/socket.io/"));
    cr_assert_not(web_owns_path("/healthz"));
    cr_assert_not(web_owns_path(""));
}

/* ---- --web-root */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* Runs after the suite's setup: replaces its web with one on a directory. */
static void setup_root(void)
{
    web_destroy(&web);
    strcpy(root, "/tmp/tb-web-root-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    strcpy(outside, "/tmp/tb-web-outside-XXXXXX");
    cr_assert_not_null(mkdtemp(outside));
    write_file(root, "index.html", "<p>dev page</p>");
    write_file(root, "app.js", "console.log(1);");
    write_file(outside, "secret.txt", "secret");
    char link[PATH_MAX], target[PATH_MAX];
    snprintf(link, sizeof link, "%s/escape.txt", root);
    snprintf(target, sizeof target, "%s/secret.txt", outside);
    cr_assert_eq(symlink(target, link), 0);
    web = web_new(root);
    cr_assert_not_null(web);
}

static void teardown_root(void)
{
    teardown();
    char cmd[2 * PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, outside);
    cr_assert_eq(system(cmd), 0);
}

Test(web, web_root_serves_files_from_disk, .init = setup_root, .fini = teardown_root)
{
    cr_assert_eq(lookup("/", "gzip", NULL), 200);
    cr_assert_eq(res.len, strlen("<p>dev page</p>"));
    cr_assert_eq(memcmp(res.body, "<p>dev page</p>", res.len), 0);
    cr_assert_null(res.content_encoding);
    char etag[32];
    strcpy(etag, res.etag);
    cr_assert_eq(lookup("/", "gzip", etag), 304);
    write_file(root, "index.html", "<p>changed</p>");
    cr_assert_eq(lookup("/", "gzip", etag), 200, "edit not seen");
    cr_assert_eq(lookup("/dashboard/app.js", NULL, NULL), 200);
    cr_assert_eq(memcmp(res.body, "console.log(1);", res.len), 0);
}

Test(web, web_root_falls_back_to_builtin_vendor_files, .init = setup_root, .fini = teardown_root)
{
    cr_assert_eq(lookup("/dashboard/vendor/uPlot.esm.js", NULL, NULL), 200);
    cr_assert_eq(res.len, embedded("vendor/uPlot.esm.js")->len);
    cr_assert_eq(lookup("/dashboard/store.js", NULL, NULL), 404,
                 "non-vendor files come from the directory only");
}

Test(web, web_root_refuses_to_leave_the_directory, .init = setup_root, .fini = teardown_root)
{
    cr_assert_eq(lookup("/dashboard/escape.txt", NULL, NULL), 404,
                 "a symlink out of the root was followed");
    cr_assert_eq(lookup("/dashboard/../secret.txt", NULL, NULL), 400);
}

Test(web, web_root_must_be_a_directory)
{
    cr_assert_null(web_new("/nonexistent/tb-web"));
    cr_assert_null(web_new("/etc/hostname"));
}

Test(web, asset_names)
{
    char buf[32];
    cr_assert_eq(web_asset_name("/", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "index.html");
    cr_assert_eq(web_asset_name("/dashboard/vendor/x.js", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "vendor/x.js");
    cr_assert_eq(web_asset_name("/metrics", buf, sizeof buf), -ENOENT);
    cr_assert_eq(
        web_asset_name("/dashboard/abcdefghijklmnopqrstuvwxyz0123456789.js", buf, sizeof buf),
        -EINVAL);
}

Test(web, fini_is_idempotent)
{
    web_response_fini(&res);
    web_response_fini(&res);
    web_response_fini(NULL);
    web_destroy(NULL);
}
