#include "sio_packet.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define JSON_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL)
#define JSON_DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

static const char *const type_names[SIO_TYPE_COUNT] = {
    [SIO_CONNECT] = "CONNECT",
    [SIO_DISCONNECT] = "DISCONNECT",
    [SIO_EVENT] = "EVENT",
    [SIO_ACK] = "ACK",
    [SIO_CONNECT_ERROR] = "CONNECT_ERROR",
    [SIO_BINARY_EVENT] = "BINARY_EVENT",
    [SIO_BINARY_ACK] = "BINARY_ACK",
};

/* Reading position in the packet text. */
struct cursor {
    const char *s;
    size_t len;
    size_t i;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_binary(enum sio_type type)
{
    return type == SIO_BINARY_EVENT || type == SIO_BINARY_ACK;
}

/* Namespaces are printable ASCII without spaces; ',' ends one. */
static bool is_nsp_char(char c)
{
    return c > ' ' && c < 0x7f && c != ',';
}

static void reset(struct sio_packet *p)
{
    memset(p, 0, sizeof *p);
    p->nsp[0] = '/';
}

/* The number of digits at the cursor. */
static size_t count_digits(const struct cursor *c)
{
    size_t n = 0;
    while (c->i + n < c->len && is_digit(c->s[c->i + n]))
        n++;
    return n;
}

/* Reads "<n>-" if present. Only binary packets may have it, and they must. */
static int read_attachments(struct cursor *c, struct sio_packet *p, const char **why)
{
    size_t n_digits = count_digits(c);
    bool present = n_digits > 0 && c->i + n_digits < c->len && c->s[c->i + n_digits] == '-';
    if (!is_binary(p->type)) {
        *why = present ? "attachment count on a non-binary packet" : NULL;
        return present ? -EPROTO : 0;
    }
    if (!present) {
        *why = "binary packet without an attachment count";
        return -EPROTO;
    }
    unsigned long n = 0;
    for (size_t k = 0; k < n_digits && n <= SIO_MAX_ATTACHMENTS; k++)
        n = n * 10 + (unsigned long)(c->s[c->i + k] - '0');
    if (n == 0 || n > SIO_MAX_ATTACHMENTS) {
        *why = "attachment count out of range";
        return -EPROTO;
    }
    p->n_attachments = (unsigned)n;
    c->i += n_digits + 1;
    return 0;
}

/* Reads "<nsp>," if the text names a namespace (starts with '/'). */
static int read_namespace(struct cursor *c, struct sio_packet *p, const char **why)
{
    if (c->i >= c->len || c->s[c->i] != '/')
        return 0;
    size_t n = 0;
    while (c->i + n < c->len && is_nsp_char(c->s[c->i + n]) && n <= SIO_MAX_NSP_LEN)
        n++;
    if (n > SIO_MAX_NSP_LEN) {
        *why = "namespace too long";
        return -EPROTO;
    }
    if (c->i + n < c->len && c->s[c->i + n] != ',') {
        *why = "invalid character in namespace";
        return -EPROTO;
    }
    memcpy(p->nsp, c->s + c->i, n);
    p->nsp[n] = '\0';
    c->i += n + (c->i + n < c->len); /* the ',' (a packet may end with the namespace) */
    return 0;
}

/* Reads the ack id's digits, if any. */
static int read_ack_id(struct cursor *c, struct sio_packet *p, const char **why)
{
    size_t n_digits = count_digits(c);
    if (n_digits == 0)
        return 0;
    uint64_t id = 0;
    for (size_t k = 0; k < n_digits; k++) {
        id = id * 10 + (uint64_t)(c->s[c->i + k] - '0');
        if (id > SIO_MAX_ACK_ID) {
            *why = "ack id too large";
            return -EPROTO;
        }
    }
    p->has_id = true;
    p->id = id;
    c->i += n_digits;
    return 0;
}

/* Parses the rest of the text, if any, as one JSON value. */
static int read_data(struct cursor *c, struct sio_packet *p, const char **why)
{
    if (c->i >= c->len)
        return 0;
    json_error_t jerr;
    p->data = json_loadb(c->s + c->i, c->len - c->i, JSON_LOAD_FLAGS, &jerr);
    if (!p->data) {
        *why = "invalid JSON data";
        return -EPROTO;
    }
    c->i = c->len;
    return 0;
}

/* EVENT and BINARY_EVENT data: ["name", args...]. */
static const char *check_event(const struct sio_packet *p)
{
    if (!json_is_array(p->data))
        return "event data must be an array";
    if (json_array_size(p->data) == 0)
        return "event without a name";
    if (!json_is_string(json_array_get(p->data, 0)))
        return "event name must be a string";
    return NULL;
}

/* The shape each type requires from a client; NULL when p has it. */
static const char *check_shape(const struct sio_packet *p)
{
    if (p->has_id && (p->type == SIO_CONNECT || p->type == SIO_DISCONNECT))
        return "ack id on a CONNECT or DISCONNECT packet";
    switch (p->type) {
    case SIO_CONNECT:
        return !p->data || json_is_object(p->data) ? NULL : "CONNECT data must be an object";
    case SIO_DISCONNECT:
        return p->data ? "DISCONNECT carries no data" : NULL;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        return check_event(p);
    case SIO_ACK:
    case SIO_BINARY_ACK:
        if (!p->has_id)
            return "ack without an id";
        return json_is_array(p->data) ? NULL : "ack data must be an array";
    default:
        return "CONNECT_ERROR is sent by servers only";
    }
}

/* Reads every part in order; stops at the first that fails. */
static int read_packet(struct cursor *c, struct sio_packet *p, const char **why)
{
    if (c->len == 0) {
        *why = "empty packet";
        return -EPROTO;
    }
    if (!is_digit(c->s[0]) || c->s[0] - '0' >= SIO_TYPE_COUNT) {
        *why = "unknown packet type";
        return -EPROTO;
    }
    p->type = (enum sio_type)(c->s[0] - '0');
    if (p->type == SIO_CONNECT_ERROR) {
        *why = "CONNECT_ERROR is sent by servers only";
        return -EPROTO;
    }
    c->i = 1;
    if (read_attachments(c, p, why) < 0 || read_namespace(c, p, why) < 0 ||
        read_ack_id(c, p, why) < 0 || read_data(c, p, why) < 0)
        return -EPROTO;
    *why = check_shape(p);
    return *why ? -EPROTO : 0;
}

int sio_packet_parse(const char *text, size_t len, struct sio_packet *p, const char **why)
{
    struct cursor c = {.s = text, .len = text ? len : 0, .i = 0};
    const char *reason = NULL;
    reset(p);
    if (read_packet(&c, p, &reason) < 0) {
        sio_packet_fini(p);
        *why = reason ? reason : "malformed packet";
        return -EPROTO;
    }
    *why = NULL;
    return 0;
}

void sio_packet_fini(struct sio_packet *p)
{
    if (!p)
        return;
    json_decref(p->data);
    reset(p);
}

/* Writes "<type>[<n>-][<nsp>,][<id>]". Returns its length or -EMSGSIZE. */
static int encode_header(const struct sio_packet *p, char *buf, size_t cap)
{
    bool named = p->nsp[0] != '\0' && strcmp(p->nsp, "/") != 0;
    char attachments[16] = "", id[24] = "";
    if (is_binary(p->type))
        snprintf(attachments, sizeof attachments, "%u-", p->n_attachments);
    if (p->has_id)
        snprintf(id, sizeof id, "%" PRIu64, p->id);
    int n = snprintf(buf, cap, "%d%s%s%s%s", (int)p->type, attachments, named ? p->nsp : "",
                     named ? "," : "", id);
    if (n < 0 || (size_t)n >= cap)
        return -EMSGSIZE;
    return n;
}

int sio_packet_encode(const struct sio_packet *p, char *buf, size_t cap)
{
    int n = encode_header(p, buf, cap);
    if (n < 0 || !p->data)
        return n;
    size_t room = cap - (size_t)n - 1; /* keeps a byte for the NUL */
    size_t json_len = json_dumpb(p->data, buf + n, room, JSON_DUMP_FLAGS);
    if (json_len == 0)
        return -EINVAL;
    if (json_len > room || json_len > (size_t)INT32_MAX - (size_t)n)
        return -EMSGSIZE;
    buf[(size_t)n + json_len] = '\0';
    return n + (int)json_len;
}

const char *sio_type_name(enum sio_type type)
{
    if ((unsigned)type >= SIO_TYPE_COUNT)
        return "UNKNOWN";
    return type_names[type];
}
