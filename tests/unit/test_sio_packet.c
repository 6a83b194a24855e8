/* Socket.IO v5 packet text: parsing a client's packets (valid and hostile)
 * and encoding any packet. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sio_packet.h"

/* Criterion runs each case in a fresh process: parameters hold their text
 * inline, since pointers into the parent's (randomized) image would dangle. */
struct valid_case {
    char text[96];
    enum sio_type type;
    char nsp[16];
    bool has_id;
    uint64_t id;
    unsigned n_attachments;
    char data[80];      /* compact JSON, "" when the packet has no data */
    char canonical[96]; /* what encoding gives back, "" when it is text */
};

ParameterizedTestParameters(sio_packet, parses_valid_packets)
{
    static struct valid_case cases[] = {
        {"0", SIO_CONNECT, "/", false, 0, 0, "", ""},
        {"0{}", SIO_CONNECT, "/", false, 0, 0, "{}", ""},
        {"0{\"token\":\"abc\"}", SIO_CONNECT, "/", false, 0, 0, "{\"token\":\"abc\"}", ""},
        {"0/admin,", SIO_CONNECT, "/admin", false, 0, 0, "", ""},
        {"0/admin,{\"t\":1}", SIO_CONNECT, "/admin", false, 0, 0, "{\"t\":1}", ""},
        {"0{\"a\":{\"b\":[1,2.5,null,true,false]}}", SIO_CONNECT, "/", false, 0, 0,
         "{\"a\":{\"b\":[1,2.5,null,true,false]}}", ""},
        {"1", SIO_DISCONNECT, "/", false, 0, 0, "", ""},
        {"1/admin,", SIO_DISCONNECT, "/admin", false, 0, 0, "", ""},
        {"2[\"subscribe_training\",{\"scenario_name\":\"alpha\"}]", SIO_EVENT, "/", false, 0, 0,
         "[\"subscribe_training\",{\"scenario_name\":\"alpha\"}]", ""},
        {"212[\"subscribe_training\",{\"scenario_name\":\"*\"}]", SIO_EVENT, "/", true, 12, 0,
         "[\"subscribe_training\",{\"scenario_name\":\"*\"}]", ""},
        {"2[\"x\"]", SIO_EVENT, "/", false, 0, 0, "[\"x\"]", ""},
        {"2/admin,3[\"x\"]", SIO_EVENT, "/admin", true, 3, 0, "[\"x\"]", ""},
        {"2 [\"x\"]", SIO_EVENT, "/", false, 0, 0, "[\"x\"]", "2[\"x\"]"},
        {"2[\"x\", 1 ]\n", SIO_EVENT, "/", false, 0, 0, "[\"x\",1]", "2[\"x\",1]"},
        {"2/,[\"x\"]", SIO_EVENT, "/", false, 0, 0, "[\"x\"]", "2[\"x\"]"},
        {"2007[\"x\"]", SIO_EVENT, "/", true, 7, 0, "[\"x\"]", "27[\"x\"]"},
        {"29007199254740991[\"x\"]", SIO_EVENT, "/", true, 9007199254740991ULL, 0, "[\"x\"]", ""},
        {"2[\"x\",\"\\u00e9\"]", SIO_EVENT, "/", false, 0, 0, "[\"x\",\"\xc3\xa9\"]",
         "2[\"x\",\"\xc3\xa9\"]"},
        {"2[\"\xc3\xa9t\xc3\xa9\"]", SIO_EVENT, "/", false, 0, 0, "[\"\xc3\xa9t\xc3\xa9\"]", ""},
        {"2[\"\",{}]", SIO_EVENT, "/", false, 0, 0, "[\"\",{}]", ""},
        {"30[]", SIO_ACK, "/", true, 0, 0, "[]", ""},
        {"3/admin,7[\"ok\",{\"a\":1}]", SIO_ACK, "/admin", true, 7, 0, "[\"ok\",{\"a\":1}]", ""},
        {"51-[\"bin\",{\"_placeholder\":true,\"num\":0}]", SIO_BINARY_EVENT, "/", false, 0, 1,
         "[\"bin\",{\"_placeholder\":true,\"num\":0}]", ""},
        {"564-/admin,9[\"b\"]", SIO_BINARY_EVENT, "/admin", true, 9, 64, "[\"b\"]", ""},
        {"502-[\"b\"]", SIO_BINARY_EVENT, "/", false, 0, 2, "[\"b\"]", "52-[\"b\"]"},
        {"61-5[{\"_placeholder\":true,\"num\":0}]", SIO_BINARY_ACK, "/", true, 5, 1,
         "[{\"_placeholder\":true,\"num\":0}]", ""},
    };
    return cr_make_param_array(struct valid_case, cases, sizeof cases / sizeof cases[0]);
}

static void assert_data(const struct sio_packet *p, const char *want)
{
    if (!want[0]) {
        cr_assert_null(p->data);
        return;
    }
    cr_assert_not_null(p->data);
    char *got = json_dumps(p->data, JSON_COMPACT | JSON_ENCODE_ANY);
    cr_assert_str_eq(got, want);
    free(got);
}

ParameterizedTest(struct valid_case *c, sio_packet, parses_valid_packets)
{
    struct sio_packet p;
    const char *why = "unset";
    int rc = sio_packet_parse(c->text, strlen(c->text), &p, &why);
    cr_assert_eq(rc, 0, "'%s' rejected: %s", c->text, why);
    cr_assert_null(why);
    cr_assert_eq(p.type, c->type);
    cr_assert_str_eq(p.nsp, c->nsp);
    cr_assert_eq(p.has_id, c->has_id);
    cr_assert_eq(p.id, c->id);
    cr_assert_eq(p.n_attachments, c->n_attachments);
    assert_data(&p, c->data);

    char buf[128];
    const char *want = c->canonical[0] ? c->canonical : c->text;
    cr_assert_eq(sio_packet_encode(&p, buf, sizeof buf), (int)strlen(want));
    cr_assert_str_eq(buf, want);
    sio_packet_fini(&p);
}

struct hostile_case {
    char text[48];
    size_t len; /* 0: strlen(text) */
    char why[48];
};

ParameterizedTestParameters(sio_packet, rejects_hostile_packets)
{
    static struct hostile_case cases[] = {
        {"", 0, "empty packet"},
        {"7[\"x\"]", 0, "unknown packet type"},
        {"9", 0, "unknown packet type"},
        {"a", 0, "unknown packet type"},
        {"-1", 0, "unknown packet type"},
        {" 2[\"x\"]", 0, "unknown packet type"},
        {"\0"
         "2[\"x\"]",
         7, "unknown packet type"},
        {"4{\"message\":\"x\"}", 0, "CONNECT_ERROR is sent by servers only"},
        {"2/admin[\"x\"]", 0, "event data must be an array"},
        {"2/ad min,[\"x\"]", 0, "invalid character in namespace"},
        {"2/ad\0min,[\"x\"]", 14, "invalid character in namespace"},
        {"2/\xc3\xa9,[\"x\"]", 0, "invalid character in namespace"},
        {"29007199254740992[\"x\"]", 0, "ack id too large"},
        {"2999999999999999999999999[\"x\"]", 0, "ack id too large"},
        {"2x[\"x\"]", 0, "invalid JSON data"},
        {"21-[\"x\"]", 0, "attachment count on a non-binary packet"},
        {"31-5[]", 0, "attachment count on a non-binary packet"},
        {"5[\"x\"]", 0, "binary packet without an attachment count"},
        {"5-[\"x\"]", 0, "binary packet without an attachment count"},
        {"51[\"x\"]", 0, "binary packet without an attachment count"},
        {"50-[\"x\"]", 0, "attachment count out of range"},
        {"565-[\"x\"]", 0, "attachment count out of range"},
        {"599999999999999999999-[\"x\"]", 0, "attachment count out of range"},
        {"2[\"x\"", 0, "invalid JSON data"},
        {"2[\"x", 0, "invalid JSON data"},
        {"2[\"x\"]garbage", 0, "invalid JSON data"},
        {"2[\"x\"]]", 0, "invalid JSON data"},
        {"2[\"x\"][\"y\"]", 0, "invalid JSON data"},
        {"2[\"x\0\"]", 6, "invalid JSON data"},
        {"2[\"x\"]\0", 7, "invalid JSON data"},
        {"2[\"\xff\"]", 0, "invalid JSON data"},
        {"2[\"\xc3\"]", 0, "invalid JSON data"},
        {"2[\"\xc0\xaf\"]", 0, "invalid JSON data"},
        {"2[\"x\",NaN]", 0, "invalid JSON data"},
        {"2[\"x\",1e999]", 0, "invalid JSON data"},
        {"2 ", 0, "invalid JSON data"},
        {"0{\"a\":1,\"a\":2}", 0, "invalid JSON data"},
        {"0[]", 0, "CONNECT data must be an object"},
        {"0\"token\"", 0, "CONNECT data must be an object"},
        {"0null", 0, "CONNECT data must be an object"},
        {"01", 0, "ack id on a CONNECT or DISCONNECT packet"},
        {"1{}", 0, "DISCONNECT carries no data"},
        {"2", 0, "event data must be an array"},
        {"2{\"x\":1}", 0, "event data must be an array"},
        {"2[]", 0, "event without a name"},
        {"2[1]", 0, "event name must be a string"},
        {"2[null,\"x\"]", 0, "event name must be a string"},
        {"51-[]", 0, "event without a name"},
        {"3[]", 0, "ack without an id"},
        {"35", 0, "ack data must be an array"},
        {"35{}", 0, "ack data must be an array"},
        {"61-[]", 0, "ack without an id"},
    };
    return cr_make_param_array(struct hostile_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct hostile_case *c, sio_packet, rejects_hostile_packets)
{
    struct sio_packet p;
    const char *why = NULL;
    size_t len = c->len ? c->len : strlen(c->text);
    cr_assert_eq(sio_packet_parse(c->text, len, &p, &why), -EPROTO, "'%s' was accepted", c->text);
    cr_assert_str_eq(why, c->why, "'%s'", c->text);
    cr_assert_null(p.data);
    cr_assert_str_eq(p.nsp, "/");
    cr_assert_not(p.has_id);
    sio_packet_fini(&p);
}

Test(sio_packet, rejects_namespace_longer_than_limit)
{
    char text[SIO_MAX_NSP_LEN + 16];
    struct sio_packet p;
    const char *why;
    text[0] = '2';
    text[1] = '/';
    memset(text + 2, 'n', SIO_MAX_NSP_LEN);
    strcpy(text + 1 + SIO_MAX_NSP_LEN, ",[\"x\"]");
    cr_assert_eq(sio_packet_parse(text, strlen(text), &p, &why), 0, "%s", why);
    cr_assert_eq(strlen(p.nsp), SIO_MAX_NSP_LEN);
    sio_packet_fini(&p);

    text[1 + SIO_MAX_NSP_LEN] = 'n';
    strcpy(text + 2 + SIO_MAX_NSP_LEN, ",[\"x\"]");
    cr_assert_eq(sio_packet_parse(text, strlen(text), &p, &why), -EPROTO);
    cr_assert_str_eq(why, "namespace too long");
}

/* "2[\"e\"," + depth '[' + "1" + depth ']' + "]": an event whose argument
 * nests depth arrays deep. */
static char *nested_event(size_t depth, size_t *len_out)
{
    static const char head[] = "2[\"e\",";
    size_t head_len = sizeof head - 1;
    size_t len = head_len + depth + 1 + depth + 1;
    char *text = malloc(len + 1);
    memcpy(text, head, head_len);
    memset(text + head_len, '[', depth);
    text[head_len + depth] = '1';
    memset(text + head_len + depth + 1, ']', depth + 1);
    text[len] = '\0';
    *len_out = len;
    return text;
}

Test(sio_packet, rejects_deep_nesting_without_crashing)
{
    size_t len;
    char *text = nested_event(100000, &len);
    struct sio_packet p;
    const char *why;
    cr_assert_eq(sio_packet_parse(text, len, &p, &why), -EPROTO);
    cr_assert_str_eq(why, "invalid JSON data");
    free(text);
}

Test(sio_packet, accepts_moderate_nesting)
{
    size_t len;
    char *text = nested_event(500, &len);
    struct sio_packet p;
    const char *why;
    cr_assert_eq(sio_packet_parse(text, len, &p, &why), 0, "%s", why);
    char *buf = malloc(len + 1);
    cr_assert_eq(sio_packet_encode(&p, buf, len + 1), (int)len);
    cr_assert_str_eq(buf, text);
    sio_packet_fini(&p);
    free(buf);
    free(text);
}

Test(sio_packet, parse_reads_only_len_bytes)
{
    struct sio_packet p;
    const char *why;
    const char *text = "2[\"x\"]garbage";
    cr_assert_eq(sio_packet_parse(text, 6, &p, &why), 0, "%s", why);
    cr_assert_eq(p.type, SIO_EVENT);
    sio_packet_fini(&p);
}

/* ---- encoding */

static struct sio_packet packet(enum sio_type type, const char *nsp, json_t *data)
{
    struct sio_packet p = {.type = type, .data = data};
    snprintf(p.nsp, sizeof p.nsp, "%s", nsp);
    return p;
}

Test(sio_packet, encodes_connect_reply)
{
    struct sio_packet p = packet(SIO_CONNECT, "/", json_pack("{s:s}", "sid", "abc"));
    char buf[64];
    cr_assert_eq(sio_packet_encode(&p, buf, sizeof buf), 14);
    cr_assert_str_eq(buf, "0{\"sid\":\"abc\"}");
    sio_packet_fini(&p);
}

Test(sio_packet, encodes_connect_error_with_namespace)
{
    struct sio_packet p =
        packet(SIO_CONNECT_ERROR, "/admin", json_pack("{s:s}", "message", "Invalid namespace"));
    char buf[64];
    const char *want = "4/admin,{\"message\":\"Invalid namespace\"}";
    cr_assert_eq(sio_packet_encode(&p, buf, sizeof buf), (int)strlen(want));
    cr_assert_str_eq(buf, want);
    sio_packet_fini(&p);
}

Test(sio_packet, encodes_ack_with_id_and_no_space)
{
    struct sio_packet p = packet(SIO_ACK, "/", json_pack("[s]", "x"));
    p.has_id = true;
    p.id = 12;
    char buf[64];
    cr_assert_eq(sio_packet_encode(&p, buf, sizeof buf), 8);
    cr_assert_str_eq(buf, "312[\"x\"]");
    sio_packet_fini(&p);
}

Test(sio_packet, encodes_binary_event_with_attachment_count)
{
    struct sio_packet p = packet(SIO_BINARY_EVENT, "/",
                                 json_pack("[s,{s:b,s:i}]", "bin", "_placeholder", 1, "num", 0));
    p.n_attachments = 1;
    char buf[64];
    const char *want = "51-[\"bin\",{\"_placeholder\":true,\"num\":0}]";
    cr_assert_eq(sio_packet_encode(&p, buf, sizeof buf), (int)strlen(want));
    cr_assert_str_eq(buf, want);
    sio_packet_fini(&p);
}

Test(sio_packet, encodes_packet_without_data)
{
    struct sio_packet p = packet(SIO_DISCONNECT, "", NULL);
    char buf[8];
    cr_assert_eq(sio_packet_encode(&p, buf, sizeof buf), 1);
    cr_assert_str_eq(buf, "1");
    p = packet(SIO_DISCONNECT, "/a", NULL);
    cr_assert_eq(sio_packet_encode(&p, buf, sizeof buf), 4);
    cr_assert_str_eq(buf, "1/a,");
}

Test(sio_packet, encode_reports_emsgsize_at_exact_boundary)
{
    struct sio_packet p = packet(SIO_EVENT, "/ns", json_pack("[s,i]", "event", 42));
    const char *want = "2/ns,[\"event\",42]";
    size_t need = strlen(want);
    char buf[64];
    for (size_t cap = 0; cap <= need; cap++)
        cr_assert_eq(sio_packet_encode(&p, buf, cap), -EMSGSIZE, "cap %zu", cap);
    cr_assert_eq(sio_packet_encode(&p, buf, need + 1), (int)need);
    cr_assert_str_eq(buf, want);
    sio_packet_fini(&p);
}

Test(sio_packet, encode_refuses_cyclic_data)
{
    json_t *a = json_array(), *b = json_array();
    json_array_append(a, b);
    json_array_append(b, a);
    struct sio_packet p = packet(SIO_EVENT, "/", a);
    char buf[64];
    cr_assert_eq(sio_packet_encode(&p, buf, sizeof buf), -EINVAL);
    json_array_clear(b);
    json_decref(b);
    sio_packet_fini(&p);
}

Test(sio_packet, fini_is_null_safe_and_idempotent)
{
    struct sio_packet p;
    const char *why;
    sio_packet_fini(NULL);
    cr_assert_eq(sio_packet_parse("2[\"x\"]", 6, &p, &why), 0);
    sio_packet_fini(&p);
    cr_assert_null(p.data);
    cr_assert_str_eq(p.nsp, "/");
    sio_packet_fini(&p);
}

Test(sio_packet, names_types)
{
    cr_assert_str_eq(sio_type_name(SIO_CONNECT), "CONNECT");
    cr_assert_str_eq(sio_type_name(SIO_EVENT), "EVENT");
    cr_assert_str_eq(sio_type_name(SIO_BINARY_ACK), "BINARY_ACK");
    cr_assert_str_eq(sio_type_name(SIO_TYPE_COUNT), "UNKNOWN");
}

Test(sio_packet, accepts_escaped_nul_in_strings)
{
    /* "\u0000" is valid JSON; callers compare strings with their length */
    struct sio_packet p;
    const char *why = NULL;
    const char *text = "2[\"x\",\"a\\u0000b\"]";
    cr_assert_eq(sio_packet_parse(text, strlen(text), &p, &why), 0, "%s", why);
    cr_assert_eq(json_string_length(json_array_get(p.data, 1)), 3);
    sio_packet_fini(&p);
}

Test(sio_packet, namespace_may_end_the_packet)
{
    /* the reference parser ends a namespace at ',' or at the end of the text */
    struct sio_packet p;
    const char *why = NULL;
    cr_assert_eq(sio_packet_parse("0/custom", 8, &p, &why), 0, "%s", why);
    cr_assert_str_eq(p.nsp, "/custom");
    cr_assert_null(p.data);
    sio_packet_fini(&p);
    cr_assert_eq(sio_packet_parse("1/custom", 8, &p, &why), 0, "%s", why);
    cr_assert_eq(p.type, SIO_DISCONNECT);
    sio_packet_fini(&p);
}
