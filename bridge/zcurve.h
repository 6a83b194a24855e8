/* zcurve: ZeroMQ CURVE security for the socket trainers connect to (the
 * bridge's SUB socket; the proxy's frontend uses the same key files). Owns
 * the server's certificate (czmq zcert format: the <name>_secret file that
 * zcert_save writes, holding both keys), the czmq zauth actor that lets in
 * only clients whose public certificate is in a directory, and a socket
 * monitor that counts refused handshakes (plaintext peers, unknown keys,
 * wrong server keys), as far as ZeroMQ reports them. One zcurve per
 * process: zauth serves the whole ZeroMQ context. Loop thread only. */
#ifndef TB_ZCURVE_H
#define TB_ZCURVE_H

#include <czmq.h>
#include <stddef.h>

struct zcurve;

/* Loads the server certificate and starts zauth over clients_dir. Returns
 * NULL with err filled (naming the flag) when a file or directory is
 * unusable. Caller frees with zcurve_destroy. */
struct zcurve *zcurve_new(const char *secret_path, const char *clients_dir, char *err,
                          size_t err_len);
void zcurve_destroy(struct zcurve **z_p); /* NULL-safe; sets *z_p = NULL */

/* Makes sock a CURVE server with the certificate and starts monitoring its
 * handshakes. Call before it binds or connects. Returns 0 or -EIO. */
int zcurve_apply(struct zcurve *z, zsock_t *sock);

/* Handshakes refused since the last call (reads the monitor without
 * blocking). */
size_t zcurve_take_failures(struct zcurve *z);

/* The server's public and secret keys, 40 Z85 characters each (borrowed),
 * for sockets zcurve_apply cannot reach (czmq's zproxy takes them as text). */
const char *zcurve_public_key(const struct zcurve *z);
const char *zcurve_secret_key(const struct zcurve *z);

#endif
