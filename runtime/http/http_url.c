/* http_url.c - parsing the bench's server URL (see http_url.h). */
#include "http/http_url.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int parse_port(const char *text, const char *s, size_t n, int *port, LlmError *err) {
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > 65535) {
            v = -1;
            break;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (n == 0 || v < 1 || v > 65535)
        return llm_errorf(err, "--url %s: port '%.*s' is not a number in 1..65535", text, (int)n, s);
    *port = (int)v;
    return LLM_OK;
}

/* HOST[:PORT] in s [n]. */
static int parse_authority(const char *text, const char *s, size_t n, HttpUrl *url, LlmError *err) {
    if (memchr(s, '@', n) != NULL)
        return llm_errorf(err, "--url %s: user info ('user@') is not supported; use --api-key", text);
    const char *host = s, *port = NULL;
    size_t host_len = n;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL) return llm_errorf(err, "--url %s: '[' of an IPv6 address without ']'", text);
        host = s + 1;
        host_len = (size_t)(close - s) - 1;
        if (close + 1 < s + n && close[1] != ':')
            return llm_errorf(err, "--url %s: unexpected text after the IPv6 address", text);
        if (close + 1 < s + n) port = close + 2;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon != NULL) {
            host_len = (size_t)(colon - s);
            port = colon + 1;
        }
    }
    if (host_len == 0) return llm_errorf(err, "--url %s: no host", text);
    if (host_len >= HTTP_URL_HOST_MAX)
        return llm_errorf(err, "--url %s: host longer than %d bytes", text, HTTP_URL_HOST_MAX - 1);
    memcpy(url->host, host, host_len);
    url->host[host_len] = '\0';
    url->port = 80;
    return port == NULL ? LLM_OK : parse_port(text, port, (size_t)(s + n - port), &url->port, err);
}

int http_url_parse(const char *text, HttpUrl *url, LlmError *err) {
    memset(url, 0, sizeof *url);
    if (strncasecmp(text, "https://", 8) == 0)
        return llm_errorf(err, "--url %s: https is not supported; give an http:// URL", text);
    if (strncasecmp(text, "http://", 7) != 0)
        return llm_errorf(err, "--url %s: expected http://HOST[:PORT][/PATH]", text);
    const char *s = text + 7;
    size_t auth = strcspn(s, "/?#");
    if (parse_authority(text, s, auth, url, err) != LLM_OK) return LLM_ERR;
    const char *path = s + auth;
    size_t path_len = strcspn(path, "?#");
    if (path[path_len] != '\0')
        return llm_errorf(err, "--url %s: query strings and fragments are not supported", text);
    for (size_t i = 0; i < path_len; i++)
        if ((unsigned char)path[i] <= ' ' || (unsigned char)path[i] >= 0x7f)
            return llm_errorf(err, "--url %s: the path holds a space or a non-ASCII byte", text);
    while (path_len > 0 && path[path_len - 1] == '/') path_len--;
    if (path_len + 32 >= HTTP_URL_PATH_MAX)
        return llm_errorf(err, "--url %s: path longer than %d bytes", text, HTTP_URL_PATH_MAX - 33);
    memcpy(url->path, path, path_len);
    url->path[path_len] = '\0';
    return LLM_OK;
}

void http_url_endpoint(const HttpUrl *url, const char *api, char *out, size_t cap) {
    size_t n = strlen(url->path);
    int has_v1 = n >= 3 && strcmp(url->path + n - 3, "/v1") == 0;
    snprintf(out, cap, "%s%s/%s", url->path, has_v1 ? "" : "/v1", api);
}
