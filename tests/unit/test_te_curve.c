/* te_publish with CURVE (curve_server_key / curve_client_cert): a publisher
 * with the right keys reaches a CURVE-server SUB (czmq zauth allowing any
 * client key), with the server key given as Z85 text or as a certificate
 * file; a plaintext publisher does not; bad or incomplete options are
 * refused by te_publisher_new. Certificates are made with czmq's zcert. */
#include "trainevents.h"

#include <criterion/criterion.h>
#include <czmq.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RECV_TIMEOUT_MS 5000

static zcert_t *server_cert;
static zactor_t *auth;
static zactor_t *sub;
static char sub_endpoint[256];
static char dir[64], server_path[128], client_path[128];

/* A CURVE-server SUB in its own thread (see test_te_publish.c for why);
 * forwards what it receives down its pipe. */
static void sub_actor(zsock_t *pipe, void *args)
{
    zsock_t *s = zsock_new(ZMQ_SUB);
    zcert_apply(args, s);
    zsock_set_curve_server(s, 1);
    zsock_set_subscribe(s, "");
    int port = zsock_bind(s, "tcp://127.0.0.1:*");
    char *endpoint = port >= 0 ? zsock_last_endpoint(s) : NULL;
    zsock_signal(pipe, 0);
    zstr_send(pipe, endpoint ? endpoint : "");
    zstr_free(&endpoint);
    zpoller_t *poller = zpoller_new(pipe, s, NULL);
    while (zpoller_wait(poller, -1) == s) {
        zmsg_t *msg = zmsg_recv(s);
        if (msg)
            zmsg_send(&msg, pipe);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&s);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tb-curve-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(server_path, sizeof server_path, "%s/bridge", dir);
    snprintf(client_path, sizeof client_path, "%s/trainer", dir);
    server_cert = zcert_new();
    zcert_t *client = zcert_new();
    cr_assert_eq(zcert_save(server_cert, server_path), 0);
    cr_assert_eq(zcert_save(client, client_path), 0);
    zcert_destroy(&client);
    auth = zactor_new(zauth, NULL);
    zstr_sendx(auth, "CURVE", CURVE_ALLOW_ANY, NULL);
    zsock_wait(auth);
    sub = zactor_new(sub_actor, server_cert);
    char *endpoint = zstr_recv(sub);
    cr_assert(endpoint && endpoint[0]);
    snprintf(sub_endpoint, sizeof sub_endpoint, "%s", endpoint);
    zstr_free(&endpoint);
    zsock_set_rcvtimeo(zactor_sock(sub), RECV_TIMEOUT_MS);
}

static void teardown(void)
{
    zactor_destroy(&sub);
    zactor_destroy(&auth);
    zcert_destroy(&server_cert);
    char path[160];
    const char *names[] = {"bridge", "bridge_secret", "trainer", "trainer_secret"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

TestSuite(te_curve, .init = setup, .fini = teardown);

static struct te_publisher *new_publisher(const char *server_key, const char *client_cert,
                                          int ready_timeout_ms, struct te_error *err)
{
    const char *eps[] = {sub_endpoint};
    struct te_publisher_opts opts = {.endpoints = eps,
                                     .n_endpoints = 1,
                                     .trainer = "curve-test",
                                     .ready_timeout_ms = ready_timeout_ms,
                                     .curve_server_key = server_key,
                                     .curve_client_cert = client_cert};
    return te_publisher_new(&opts, err);
}

static struct te_event started_event(void)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = TE_TRAINING_STARTED;
    snprintf(ev.scenario, sizeof ev.scenario, "alpha");
    snprintf(ev.data.started.scenario_name, sizeof ev.data.started.scenario_name, "alpha");
    ev.data.started.num_episodes = 3;
    snprintf(ev.data.started.start_time, sizeof ev.data.started.start_time,
             "2024-05-01T12:00:00.000000Z");
    return ev;
}

/* Sends one event with p and says whether the SUB got a message. */
static bool delivered(struct te_publisher *p)
{
    struct te_event ev = started_event();
    struct te_error err;
    te_publisher_send(p, &ev, &err);
    zmsg_t *msg = zmsg_recv(sub);
    bool got = msg && zmsg_size(msg) == 2;
    zmsg_destroy(&msg);
    return got;
}

Test(te_curve, reaches_a_curve_server_with_a_z85_server_key)
{
    char secret[160];
    snprintf(secret, sizeof secret, "%s_secret", client_path);
    struct te_error err;
    struct te_publisher *p = new_publisher(zcert_public_txt(server_cert), secret, 0, &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert(delivered(p));
    te_publisher_destroy(&p);
}

Test(te_curve, reaches_a_curve_server_with_a_certificate_file_as_server_key)
{
    char secret[160];
    snprintf(secret, sizeof secret, "%s_secret", client_path);
    struct te_error err;
    struct te_publisher *p = new_publisher(server_path, secret, 0, &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert(delivered(p));
    te_publisher_destroy(&p);
}

Test(te_curve, a_plaintext_publisher_delivers_nothing)
{
    zsock_set_rcvtimeo(zactor_sock(sub), 1000);
    struct te_error err;
    struct te_publisher *p = new_publisher(NULL, NULL, 500, &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_not(delivered(p));
    te_publisher_destroy(&p);
}

Test(te_curve, refuses_incomplete_or_bad_curve_options)
{
    char secret[160];
    snprintf(secret, sizeof secret, "%s_secret", client_path);
    struct te_error err;
    cr_assert_null(new_publisher(server_path, NULL, 0, &err));
    cr_assert_str_eq(err.field, "curve");
    cr_assert_null(new_publisher(NULL, secret, 0, &err));
    cr_assert_null(new_publisher("/nonexistent/bridge", secret, 0, &err));
    cr_assert_str_eq(err.field, "curve_server_key");
    cr_assert_null(new_publisher(server_path, "/nonexistent/trainer_secret", 0, &err));
    cr_assert_str_eq(err.field, "curve_client_cert");
}
