/* trainbridge-keygen: makes a CURVE certificate pair with czmq's zcert, for
 * the bridge (--zmq-curve-secret) or a trainer (--client-cert):
 *
 *     trainbridge-keygen PATH [NAME]
 *
 * writes PATH (the public certificate: give it to the other side, or put a
 * trainer's into the bridge's --zmq-curve-clients directory) and
 * PATH_secret (both keys: keep it private, mode 0600), and prints the
 * public key in Z85 (what --server-key also accepts). Refuses to overwrite. */
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(FILE *out, int status)
{
    fprintf(out, "usage: trainbridge-keygen PATH [NAME]\n"
                 "Writes a CURVE certificate: PATH (public) and PATH_secret (secret, mode 0600),\n"
                 "and prints the public key (40 Z85 characters).\n");
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return usage(stdout, 0);
    if (argc < 2 || argc > 3 || argv[1][0] == '-')
        return usage(stderr, 2);
    char secret[4096];
    snprintf(secret, sizeof secret, "%s_secret", argv[1]);
    if (access(argv[1], F_OK) == 0 || access(secret, F_OK) == 0) {
        fprintf(stderr, "trainbridge-keygen: %s or %s exists; not overwriting\n", argv[1], secret);
        return 1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        fprintf(stderr, "trainbridge-keygen: cannot make keys: %s\n", zmq_strerror(errno));
        return 1;
    }
    zcert_set_meta(cert, "name", "%s", argc == 3 ? argv[2] : "trainbridge");
    mode_t old = umask(077);
    int rc = zcert_save(cert, argv[1]);
    umask(old);
    if (rc == 0)
        chmod(argv[1], 0644);
    if (rc != 0) {
        fprintf(stderr, "trainbridge-keygen: cannot write %s: %s\n", argv[1], strerror(errno));
        zcert_destroy(&cert);
        return 1;
    }
    printf("%s\n", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}
