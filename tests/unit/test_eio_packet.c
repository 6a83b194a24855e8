/* Engine.IO v4 wire helpers: queries, error bodies, the open packet,
 * packet types and session ids. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "eio_packet.h"

#define SID_A "AAAAAAAAAAAAAAAAAAAA"
#define SID_B "abcdefghij0123456789"

/* ---- eio_query_parse */

/* Criterion runs each case in a fresh process: parameters hold their text
 * inline, since pointers into the parent's (randomized) image would dangle. */
struct query_case {
    char query[96];
    int rc;
    enum eio_errc errc; /* when rc < 0 */
    enum eio_transport transport;
    char sid[EIO_SID_LEN + 1]; /* "": no sid expected */
};

ParameterizedTestParameters(eio_packet, parses_queries)
{
    static struct query_case cases[] = {
        /* valid */
        {"EIO=4&transport=polling", 0, 0, EIO_TRANSPORT_POLLING, ""},
        {"EIO=4&transport=websocket", 0, 0, EIO_TRANSPORT_WEBSOCKET, ""},
        {"EIO=4&transport=websocket&sid=" SID_A, 0, 0, EIO_TRANSPORT_WEBSOCKET, SID_A},
        {"transport=polling&t=NxYz1&EIO=4&sid=" SID_B, 0, 0, EIO_TRANSPORT_POLLING, SID_B},
        {"EIO=4&transport=polling&t=1&t=2", 0, 0, EIO_TRANSPORT_POLLING, ""},
        {"&&EIO=4&&transport=polling&", 0, 0, EIO_TRANSPORT_POLLING, ""},
        {"EIO=04&transport=polling", 0, 0, EIO_TRANSPORT_POLLING, ""},
        {"foo&EIO=4&transport=polling", 0, 0, EIO_TRANSPORT_POLLING, ""},
        /* percent-encoding */
        {"EIO=%34&transport=web%73ocket", 0, 0, EIO_TRANSPORT_WEBSOCKET, ""},
        {"%45IO=4&transport=polling", 0, 0, EIO_TRANSPORT_POLLING, ""},
        {"EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAA%2d", 0, 0, EIO_TRANSPORT_POLLING,
         "AAAAAAAAAAAAAAAAAAA-"},
        {"EIO=4&transport=polling&x=%C3%A9+%20", 0, 0, EIO_TRANSPORT_POLLING, ""},
        /* wrong or missing EIO */
        {"", -EPROTO, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION, EIO_TRANSPORT_NONE, ""},
        {"transport=polling", -EPROTO, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION, EIO_TRANSPORT_POLLING,
         ""},
        {"EIO=3&transport=polling", -EPROTO, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION,
         EIO_TRANSPORT_POLLING, ""},
        {"EIO=four&transport=polling", -EPROTO, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION,
         EIO_TRANSPORT_POLLING, ""},
        {"EIO=&transport=polling", -EPROTO, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION,
         EIO_TRANSPORT_POLLING, ""},
        {"EIO&transport=polling", -EPROTO, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION,
         EIO_TRANSPORT_POLLING, ""},
        {"EIO=4x&transport=polling", -EPROTO, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION,
         EIO_TRANSPORT_POLLING, ""},
        {"EIO=-4&transport=polling", -EPROTO, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION,
         EIO_TRANSPORT_POLLING, ""},
        {"EIO=4000000000000000000004&transport=polling", -EPROTO,
         EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION, EIO_TRANSPORT_POLLING, ""},
        {"eio=4&transport=polling", -EPROTO, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION,
         EIO_TRANSPORT_POLLING, ""},
        /* unknown transport */
        {"EIO=4", -EPROTO, EIO_ERR_UNKNOWN_TRANSPORT, EIO_TRANSPORT_NONE, ""},
        {"EIO=4&transport=", -EPROTO, EIO_ERR_UNKNOWN_TRANSPORT, EIO_TRANSPORT_NONE, ""},
        {"EIO=4&transport=flashsocket", -EPROTO, EIO_ERR_UNKNOWN_TRANSPORT, EIO_TRANSPORT_NONE, ""},
        {"EIO=4&transport=Polling", -EPROTO, EIO_ERR_UNKNOWN_TRANSPORT, EIO_TRANSPORT_NONE, ""},
        {"EIO=4&transport=polling%00", -EPROTO, EIO_ERR_UNKNOWN_TRANSPORT, EIO_TRANSPORT_NONE, ""},
        {"EIO=4&transport=poll+ing", -EPROTO, EIO_ERR_UNKNOWN_TRANSPORT, EIO_TRANSPORT_NONE, ""},
        {"EIO=4&transport=pollingpollingpollingpollingpollingpolling", -EPROTO,
         EIO_ERR_UNKNOWN_TRANSPORT, EIO_TRANSPORT_NONE, ""},
        {"EIO=4&transport=webtransport", -EPROTO, EIO_ERR_UNKNOWN_TRANSPORT, EIO_TRANSPORT_NONE,
         ""},
        /* bad sid */
        {"EIO=4&transport=polling&sid=short", -EPROTO, EIO_ERR_UNKNOWN_SID, EIO_TRANSPORT_POLLING,
         ""},
        {"EIO=4&transport=polling&sid=", -EPROTO, EIO_ERR_UNKNOWN_SID, EIO_TRANSPORT_POLLING, ""},
        {"EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAA!", -EPROTO, EIO_ERR_UNKNOWN_SID,
         EIO_TRANSPORT_POLLING, ""},
        {"EIO=4&transport=polling&sid=" SID_A "A", -EPROTO, EIO_ERR_UNKNOWN_SID,
         EIO_TRANSPORT_POLLING, ""},
        {"EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAA%00", -EPROTO, EIO_ERR_UNKNOWN_SID,
         EIO_TRANSPORT_POLLING, ""},
        {"EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAA=", -EPROTO, EIO_ERR_UNKNOWN_SID,
         EIO_TRANSPORT_POLLING, ""},
        /* malformed: bad escapes, duplicated parameters */
        {"EIO=4&transport=polling&x=%zz", -EPROTO, EIO_ERR_BAD_REQUEST, EIO_TRANSPORT_POLLING, ""},
        {"EIO=4&transport=polling%2", -EPROTO, EIO_ERR_BAD_REQUEST, EIO_TRANSPORT_NONE, ""},
        {"EIO=4&transport=polling&%", -EPROTO, EIO_ERR_BAD_REQUEST, EIO_TRANSPORT_POLLING, ""},
        {"EIO=4&EIO=4&transport=polling", -EPROTO, EIO_ERR_BAD_REQUEST, EIO_TRANSPORT_NONE, ""},
        {"EIO=4&transport=polling&transport=websocket", -EPROTO, EIO_ERR_BAD_REQUEST,
         EIO_TRANSPORT_WEBSOCKET, ""},
        {"EIO=4&transport=polling&sid=" SID_A "&sid=" SID_B, -EPROTO, EIO_ERR_BAD_REQUEST,
         EIO_TRANSPORT_POLLING, SID_B},
        {"EIO=4&transport=polling&E%49O=4", -EPROTO, EIO_ERR_BAD_REQUEST, EIO_TRANSPORT_POLLING,
         ""},
    };
    return cr_make_param_array(struct query_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct query_case *c, eio_packet, parses_queries)
{
    struct eio_query q;
    enum eio_errc errc = -1;
    int rc = eio_query_parse(c->query, strlen(c->query), &q, &errc);
    cr_assert_eq(rc, c->rc, "query '%s': rc %d, expected %d", c->query, rc, c->rc);
    if (rc < 0) {
        cr_assert_eq(errc, c->errc, "query '%s': errc %d, expected %d", c->query, errc, c->errc);
        return;
    }
    cr_assert_eq(q.eio_version, 4);
    cr_assert_eq(q.transport, c->transport, "query '%s'", c->query);
    cr_assert_eq(q.has_sid, c->sid[0] != '\0', "query '%s'", c->query);
    if (c->sid[0])
        cr_assert_str_eq(q.sid, c->sid);
}

Test(eio_packet, query_reports_version_and_transport_it_found)
{
    struct eio_query q;
    enum eio_errc errc;
    const char *query = "EIO=3&transport=websocket";
    cr_assert_eq(eio_query_parse(query, strlen(query), &q, &errc), -EPROTO);
    cr_assert_eq(q.eio_version, 3);
    cr_assert_eq(q.transport, EIO_TRANSPORT_WEBSOCKET);
    cr_assert_not(q.has_sid);
}

Test(eio_packet, query_stops_at_given_length)
{
    struct eio_query q;
    enum eio_errc errc;
    const char *query = "EIO=4&transport=pollingXYZ";
    cr_assert_eq(eio_query_parse(query, strlen(query) - 3, &q, &errc), 0);
    cr_assert_eq(q.transport, EIO_TRANSPORT_POLLING);
}

Test(eio_packet, query_with_embedded_nul_is_not_a_match)
{
    struct eio_query q;
    enum eio_errc errc;
    const char query[] = "EIO=4&transport=poll\0ing";
    cr_assert_eq(eio_query_parse(query, sizeof query - 1, &q, &errc), -EPROTO);
    cr_assert_eq(errc, EIO_ERR_UNKNOWN_TRANSPORT);
}

Test(eio_packet, null_query_is_an_empty_query)
{
    struct eio_query q;
    enum eio_errc errc;
    cr_assert_eq(eio_query_parse(NULL, 0, &q, &errc), -EPROTO);
    cr_assert_eq(errc, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION);
}

/* ---- error bodies */

struct errc_case {
    enum eio_errc errc;
    char body[64];
};

ParameterizedTestParameters(eio_packet, writes_error_bodies)
{
    static struct errc_case cases[] = {
        {EIO_ERR_UNKNOWN_TRANSPORT, "{\"code\":0,\"message\":\"Transport unknown\"}"},
        {EIO_ERR_UNKNOWN_SID, "{\"code\":1,\"message\":\"Session ID unknown\"}"},
        {EIO_ERR_BAD_HANDSHAKE_METHOD, "{\"code\":2,\"message\":\"Bad handshake method\"}"},
        {EIO_ERR_BAD_REQUEST, "{\"code\":3,\"message\":\"Bad request\"}"},
        {EIO_ERR_FORBIDDEN, "{\"code\":4,\"message\":\"Forbidden\"}"},
        {EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION,
         "{\"code\":5,\"message\":\"Unsupported protocol version\"}"},
    };
    return cr_make_param_array(struct errc_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct errc_case *c, eio_packet, writes_error_bodies)
{
    char buf[128];
    int n = eio_error_body(c->errc, buf, sizeof buf);
    cr_assert_eq(n, (int)strlen(c->body));
    cr_assert_str_eq(buf, c->body);
}

Test(eio_packet, error_body_needs_room_for_nul)
{
    char buf[64];
    size_t need = strlen("{\"code\":3,\"message\":\"Bad request\"}");
    cr_assert_eq(eio_error_body(EIO_ERR_BAD_REQUEST, buf, need), -EMSGSIZE);
    cr_assert_eq(eio_error_body(EIO_ERR_BAD_REQUEST, buf, need + 1), (int)need);
}

Test(eio_packet, unknown_error_code_reads_as_bad_request)
{
    cr_assert_str_eq(eio_errc_message((enum eio_errc)42), "Bad request");
    cr_assert_str_eq(eio_errc_message(EIO_ERR_FORBIDDEN), "Forbidden");
}

/* ---- open packet */

Test(eio_packet, open_packet_offers_websocket_upgrade)
{
    char buf[256];
    const char *want =
        "0{\"sid\":\"" SID_A "\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,"
        "\"pingTimeout\":20000,\"maxPayload\":1000000}";
    int n = eio_open_packet(SID_A, true, 25000, 20000, 1000000, buf, sizeof buf);
    cr_assert_eq(n, (int)strlen(want));
    cr_assert_str_eq(buf, want);
}

Test(eio_packet, open_packet_without_upgrade_has_empty_upgrades)
{
    char buf[256];
    const char *want = "0{\"sid\":\"" SID_B "\",\"upgrades\":[],\"pingInterval\":300,"
                       "\"pingTimeout\":200,\"maxPayload\":4096}";
    int n = eio_open_packet(SID_B, false, 300, 200, 4096, buf, sizeof buf);
    cr_assert_eq(n, (int)strlen(want));
    cr_assert_str_eq(buf, want);
}

Test(eio_packet, open_packet_too_big_for_buffer_is_emsgsize)
{
    char buf[32];
    cr_assert_eq(eio_open_packet(SID_A, true, 25000, 20000, 1000000, buf, sizeof buf), -EMSGSIZE);
}

/* ---- packet types */

Test(eio_packet, parses_every_packet_type)
{
    for (int t = 0; t < EIO_PACKET_TYPE_COUNT; t++) {
        char text[] = {(char)('0' + t), 'h', 'i'};
        enum eio_packet_type type;
        const char *payload = NULL;
        size_t payload_len = 99;
        cr_assert_eq(eio_packet_parse(text, sizeof text, &type, &payload, &payload_len), 0);
        cr_assert_eq((int)type, t);
        cr_assert_eq(payload, text + 1);
        cr_assert_eq(payload_len, 2);
        cr_assert_eq(eio_packet_char(type), text[0]);
    }
}

Test(eio_packet, packet_without_payload_has_empty_payload)
{
    enum eio_packet_type type;
    const char *payload;
    size_t payload_len = 99;
    cr_assert_eq(eio_packet_parse("2", 1, &type, &payload, &payload_len), 0);
    cr_assert_eq(type, EIO_PING);
    cr_assert_eq(payload_len, 0);
}

struct bad_packet {
    char text[8];
    size_t len;
};

ParameterizedTestParameters(eio_packet, rejects_bad_packets)
{
    static struct bad_packet cases[] = {
        {"", 0},  {"7", 1}, {"9probe", 6},  {"b4AAA", 5},
        {"x", 1}, {"/", 1}, {" 4hello", 7}, {"\0004", 2},
    };
    return cr_make_param_array(struct bad_packet, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_packet *c, eio_packet, rejects_bad_packets)
{
    enum eio_packet_type type;
    const char *payload;
    size_t payload_len;
    cr_assert_eq(eio_packet_parse(c->text, c->len, &type, &payload, &payload_len), -EPROTO,
                 "'%s' was accepted", c->text);
}

/* ---- session ids */

Test(eio_packet, generated_sids_are_valid_and_distinct)
{
    char prev[EIO_SID_LEN + 1] = "";
    for (int i = 0; i < 1000; i++) {
        char sid[EIO_SID_LEN + 1];
        eio_sid_generate(sid);
        cr_assert_eq(strlen(sid), EIO_SID_LEN);
        cr_assert(eio_sid_valid(sid, strlen(sid)), "invalid sid '%s'", sid);
        cr_assert_str_neq(sid, prev);
        memcpy(prev, sid, sizeof sid);
    }
}

Test(eio_packet, sid_validity)
{
    cr_assert(eio_sid_valid(SID_A, EIO_SID_LEN));
    cr_assert(eio_sid_valid("-_azAZ09-_azAZ09-_az", EIO_SID_LEN));
    cr_assert_not(eio_sid_valid(SID_A, EIO_SID_LEN - 1));
    cr_assert_not(eio_sid_valid(SID_A "A", EIO_SID_LEN + 1));
    cr_assert_not(eio_sid_valid("AAAAAAAAAAAAAAAAAAA+", EIO_SID_LEN));
    cr_assert_not(eio_sid_valid("AAAAAAAAAAAAAAAAAAA/", EIO_SID_LEN));
    cr_assert_not(eio_sid_valid("AAAAAAAAAAAAAAAAAAA=", EIO_SID_LEN));
    cr_assert_not(eio_sid_valid("AAAAAAAAAA\0AAAAAAAAA", EIO_SID_LEN));
    cr_assert_not(eio_sid_valid("", 0));
}
