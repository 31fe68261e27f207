/* http_socket.h - socket options the server and the load generator set on
 * their evhttp connections. */
#ifndef LLMCC_HTTP_HTTP_SOCKET_H
#define LLMCC_HTTP_HTTP_SOCKET_H

#include <event2/http.h>

/* Turns Nagle's algorithm off on the connection's socket (TCP_NODELAY), if
 * it has one yet: SSE chunks and request bodies are small writes, and with
 * Nagle on each waits for the ACK of the segment before it, which the peer
 * may delay by up to 40 ms. Idempotent; best effort (a socket that refuses
 * only keeps Nagle). */
void http_conn_nodelay(struct evhttp_connection *c);

#endif
