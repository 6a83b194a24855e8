#include "zcurve.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "xalloc.h"

#define ZAP_DOMAIN "trainbridge"
#define MAX_EVENTS_PER_TAKE 1024

struct zcurve {
    zcert_t *cert;
    zactor_t *auth;
    zactor_t *monitor; /* on the socket zcurve_apply secured, or NULL */
};

static bool is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A certificate with a secret key: zcert_load leaves it all zeros when the
 * file is a public certificate only. */
static bool has_secret(zcert_t *cert)
{
    static const byte zeros[32];
    return memcmp(zcert_secret_key(cert), zeros, sizeof zeros) != 0;
}

static int load_cert(struct zcurve *z, const char *secret_path, char *err, size_t err_len)
{
    /* zcert_load(name) reads name and name_secret; accept either path. */
    size_t len = strlen(secret_path);
    char *base = xstrdup(secret_path);
    if (len > 7 && strcmp(base + len - 7, "_secret") == 0)
        base[len - 7] = '\0';
    z->cert = zcert_load(base);
    free(base);
    if (!z->cert || !has_secret(z->cert)) {
        snprintf(err, err_len,
                 "--zmq-curve-secret: %s is not a czmq secret certificate (the <name>_secret "
                 "file zcert_save writes)",
                 secret_path);
        return -EINVAL;
    }
    return 0;
}

struct zcurve *zcurve_new(const char *secret_path, const char *clients_dir, char *err,
                          size_t err_len)
{
    struct zcurve *z = xcalloc(1, sizeof *z);
    if (load_cert(z, secret_path, err, err_len) < 0) {
        zcurve_destroy(&z);
        return NULL;
    }
    if (!is_directory(clients_dir)) {
        snprintf(err, err_len, "--zmq-curve-clients: %s is not a directory", clients_dir);
        zcurve_destroy(&z);
        return NULL;
    }
    z->auth = zactor_new(zauth, NULL);
    if (!z->auth || zstr_sendx(z->auth, "CURVE", clients_dir, NULL) < 0 ||
        zsock_wait(z->auth) < 0) {
        snprintf(err, err_len, "--zmq-curve-clients: cannot start ZeroMQ authentication");
        zcurve_destroy(&z);
        return NULL;
    }
    return z;
}

void zcurve_destroy(struct zcurve **z_p)
{
    if (!z_p || !*z_p)
        return;
    struct zcurve *z = *z_p;
    zactor_destroy(&z->monitor);
    zactor_destroy(&z->auth);
    zcert_destroy(&z->cert);
    free(z);
    *z_p = NULL;
}

static int start_monitor(struct zcurve *z, zsock_t *sock)
{
    z->monitor = zactor_new(zmonitor, sock);
    if (!z->monitor)
        return -EIO;
    zstr_sendx(z->monitor, "LISTEN", "HANDSHAKE_FAILED_NO_DETAIL", "HANDSHAKE_FAILED_PROTOCOL",
               "HANDSHAKE_FAILED_AUTH", NULL);
    zstr_sendx(z->monitor, "START", NULL);
    return zsock_wait(z->monitor) < 0 ? -EIO : 0;
}

int zcurve_apply(struct zcurve *z, zsock_t *sock)
{
    zcert_apply(z->cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, ZAP_DOMAIN);
    if (zsock_curve_server(sock) != 1) {
        log_error("zcurve", "this libzmq has no CURVE support");
        return -EIO;
    }
    if (!z->monitor && start_monitor(z, sock) < 0) {
        log_error("zcurve", "cannot monitor the socket's handshakes");
        return -EIO;
    }
    return 0;
}

size_t zcurve_take_failures(struct zcurve *z)
{
    size_t n = 0;
    if (!z || !z->monitor)
        return 0;
    zsock_t *pipe = zactor_sock(z->monitor);
    for (int i = 0; i < MAX_EVENTS_PER_TAKE && (zsock_events(pipe) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            break;
        char *event = zmsg_popstr(msg);
        char *value = zmsg_popstr(msg);
        char *endpoint = zmsg_popstr(msg);
        if (event && strncmp(event, "HANDSHAKE_FAILED", 16) == 0) {
            n++;
            log_warn_limited("zcurve", "trainer refused: %s (error %s) on %s", event,
                             value ? value : "?", endpoint ? endpoint : "?");
        }
        zstr_free(&event);
        zstr_free(&value);
        zstr_free(&endpoint);
        zmsg_destroy(&msg);
    }
    return n;
}

const char *zcurve_public_key(const struct zcurve *z)
{
    return zcert_public_txt(z->cert);
}

const char *zcurve_secret_key(const struct zcurve *z)
{
    return zcert_secret_txt(z->cert);
}
