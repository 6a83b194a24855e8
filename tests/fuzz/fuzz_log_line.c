/* fuzz_log_line: any bytes as the text of a log message (a peer's bytes end
 * up in messages: session ids, rejected names, error text). The JSON form
 * must always be one valid JSON object (jansson parses it) with a string
 * level, module and message, whatever the bytes and however small the
 * buffer; the text form must stay within its buffer. Aborts otherwise. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json(const char *message, size_t cap)
{
    static char line[8192];
    size_t len = log_format_line(LOG_FORMAT_JSON, LOG_LEVEL_WARN, "fuzz", message, line, cap);
    if (len >= cap || len != strlen(line))
        abort();
    json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    if (!obj || !json_is_object(obj) || !json_is_string(json_object_get(obj, "message")) ||
        strcmp(json_string_value(json_object_get(obj, "level")), "warn") != 0 ||
        strcmp(json_string_value(json_object_get(obj, "module")), "fuzz") != 0)
        abort();
    json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char message[4097];
    memcpy(message, data, size);
    message[size] = '\0'; /* messages are C strings: what follows a NUL is not seen */
    check_json(message, 8192);
    check_json(message, LOG_JSON_MIN_CAP + size % 200);
    char text[256];
    size_t n = log_format_line(LOG_FORMAT_TEXT, LOG_LEVEL_INFO, "fuzz", message, text, sizeof text);
    if (n >= sizeof text || n != strlen(text))
        abort();
    return 0;
}
