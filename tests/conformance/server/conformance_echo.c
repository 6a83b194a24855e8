#include "conformance_echo.h"

#include "log.h"
#include "metrics.h"

static void on_open(struct eio_session *s, void *arg)
{
    (void)arg;
    eio_session_mark_connected(s);
}

static void on_message(struct eio_session *s, const char *data, size_t len, bool is_binary,
                       void *arg)
{
    struct metrics *m = arg;
    int rc =
        is_binary ? eio_session_send_binary(s, data, len) : eio_session_send_message(s, data, len);
    if (rc == 0)
        return;
    metrics_inc(m, METRIC_CLIENTS_DROPPED_SLOW);
    log_warn_limited("echo", "dropping client: outbound queue passed %zu bytes sid=%s",
                     eio_session_queued_bytes(s), eio_session_sid(s));
    eio_session_drop(s, "outbound queue full");
}

struct eio_handler conformance_echo_handler(struct metrics *m)
{
    return (struct eio_handler){.on_open = on_open, .on_message = on_message, .arg = m};
}
