/* origin: the Origin policy for long-polling handshakes and WebSocket
 * upgrades (absent, same origin, listed, refused). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "origin.h"

struct origin_case {
    char origin[64]; /* "" = no header */
    char host[64];   /* "" = no Host header */
    bool is_tls;
    bool use_list; /* the list {https://dash.example.com, http://127.0.0.1:3000} */
    enum origin_verdict want;
};

ParameterizedTestParameters(origin, judges_origins)
{
    static struct origin_case cases[] = {
        {"", "bridge:8080", false, false, ORIGIN_ABSENT},
        {"", "", true, true, ORIGIN_ABSENT},
        {"http://bridge:8080", "bridge:8080", false, false, ORIGIN_SAME},
        {"HTTP://Bridge:8080", "bridge:8080", false, false, ORIGIN_SAME},
        {"http://bridge", "bridge:80", false, false, ORIGIN_SAME},
        {"https://bridge:443", "bridge", true, false, ORIGIN_SAME},
        {"https://bridge:8443", "bridge:8443", true, false, ORIGIN_SAME},
        {"http://bridge:8443", "bridge:8443", true, false, ORIGIN_SAME}, /* websocket-client */
        {"https://bridge:8080", "bridge:8080", false, false, ORIGIN_SAME},
        {"http://bridge", "bridge", true, false, ORIGIN_REFUSED},   /* port 80 vs 443 */
        {"https://bridge", "bridge", false, false, ORIGIN_REFUSED}, /* port 443 vs 80 */
        {"http://[::1]:8080", "[::1]:8080", false, false, ORIGIN_SAME},
        {"http://[::1]", "[::1]:80", false, false, ORIGIN_SAME},
        {"http://[::1]:8081", "[::1]:8080", false, false, ORIGIN_REFUSED},
        {"http://bridge:8081", "bridge:8080", false, false, ORIGIN_REFUSED},
        {"http://evil.example", "bridge:8080", false, false, ORIGIN_REFUSED},
        {"http://bridge:8080", "", false, false, ORIGIN_REFUSED},
        {"null", "bridge:8080", false, false, ORIGIN_REFUSED},
        {"http://bridge:8080.evil", "bridge:8080", false, false, ORIGIN_REFUSED},
        {"https://dash.example.com", "bridge:8080", false, true, ORIGIN_LISTED},
        {"https://DASH.example.com", "bridge:8080", false, true, ORIGIN_LISTED},
        {"http://127.0.0.1:3000", "bridge:8080", false, true, ORIGIN_LISTED},
        {"http://127.0.0.1:3001", "bridge:8080", false, true, ORIGIN_REFUSED},
        {"https://dash.example.com.evil", "bridge:8080", false, true, ORIGIN_REFUSED},
        {"http://dash.example.com", "bridge:8080", false, true, ORIGIN_REFUSED},
    };
    return cr_make_param_array(struct origin_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct origin_case *c, origin, judges_origins)
{
    const char *list[] = {"https://dash.example.com", "http://127.0.0.1:3000"};
    enum origin_verdict v =
        origin_check(list, c->use_list ? 2 : 0, c->origin, c->host[0] ? c->host : NULL, c->is_tls);
    cr_assert_eq(v, c->want, "origin '%s' host '%s' tls %d: %d, want %d", c->origin, c->host,
                 c->is_tls, v, c->want);
    cr_assert_eq(origin_is_allowed(v), c->want != ORIGIN_REFUSED);
}

Test(origin, star_allows_any_origin_and_null_origin_pointer_is_absent)
{
    const char *list[] = {"*"};
    cr_assert_eq(origin_check(list, 1, "https://anything.example", "bridge", false), ORIGIN_LISTED);
    cr_assert_eq(origin_check(list, 1, NULL, NULL, false), ORIGIN_ABSENT);
}
