#include "fake_transport.h"

#include <criterion/criterion.h>
#include <string.h>

static struct fake_conn *conn_of(struct eio_session *s)
{
    return eio_session_transport(s);
}

static void fake_want_write(struct eio_session *s)
{
    conn_of(s)->n_want_write++;
}

static void fake_abort(struct eio_session *s)
{
    conn_of(s)->is_aborted = true;
}

static void fake_nudge(struct eio_session *s)
{
    conn_of(s)->n_nudges++;
}

static void fake_release(struct eio_session *s)
{
    conn_of(s)->is_released = true;
}

const struct eio_transport_ops fake_ws_ops = {
    .kind = EIO_TRANSPORT_WEBSOCKET, .want_write = fake_want_write, .abort = fake_abort};

const struct eio_transport_ops fake_poll_ops = {.kind = EIO_TRANSPORT_POLLING,
                                                .want_write = fake_want_write,
                                                .abort = fake_abort,
                                                .nudge = fake_nudge,
                                                .release = fake_release};

void fake_open(struct fake_conn *c, struct eio_server *eio, const struct eio_transport_ops *ops)
{
    memset(c, 0, sizeof *c);
    c->s = eio_session_open(eio, ops, c);
    fake_drain(c);
}

void fake_drain(struct fake_conn *c)
{
    struct packet *p;
    while ((p = eio_session_peek(c->s)) != NULL) {
        cr_assert_lt(c->n_out, FAKE_MAX_OUT);
        c->out[c->n_out++] = strndup((const char *)packet_data(p), p->len);
        eio_session_written(c->s);
    }
}

void fake_recv(struct fake_conn *c, const char *text)
{
    eio_session_on_packet(c->s, text, strlen(text), false);
    fake_drain(c);
}

const char *fake_last(const struct fake_conn *c)
{
    return c->n_out ? c->out[c->n_out - 1] : "";
}

void fake_close(struct fake_conn *c)
{
    eio_session_free(&c->s);
    for (int i = 0; i < c->n_out; i++)
        free(c->out[i]);
    c->n_out = 0;
}
