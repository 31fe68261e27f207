/* http_url.h - the server URL of `bench --url`: http://HOST[:PORT][/PATH].
 *
 * Only plain http (no TLS in the runtime); HOST is a name, an IPv4 address
 * or a bracketed IPv6 address; PORT defaults to 80; PATH is the server's
 * root (API paths are appended: see http_url_endpoint). User info, query
 * strings and fragments are refused, each with a message that names the
 * part at fault.
 */
#ifndef LLMCC_HTTP_HTTP_URL_H
#define LLMCC_HTTP_HTTP_URL_H

#include "base/error.h"

#define HTTP_URL_HOST_MAX 256
#define HTTP_URL_PATH_MAX 1024

typedef struct HttpUrl {
    char host[HTTP_URL_HOST_MAX]; /* without brackets for IPv6 */
    int port;                     /* 1..65535 */
    char path[HTTP_URL_PATH_MAX]; /* base path without a trailing '/': "" or "/x/v1" */
} HttpUrl;

/* Parses text; messages start with "--url TEXT: ". */
int http_url_parse(const char *text, HttpUrl *url, LlmError *err);

/* Writes the request path of an API call (api: "completions" or
 * "chat/completions") under the base path: BASE/v1/API, or BASE/API when
 * BASE already ends with "/v1" (the OpenAI clients' base_url style). */
void http_url_endpoint(const HttpUrl *url, const char *api, char *out, size_t cap);

#endif
