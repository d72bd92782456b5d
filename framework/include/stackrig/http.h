/*
 * stackrig/http.h - a small HTTP client over libcurl, for TCP and unix sockets.
 *
 * A rig_http is bound to one base URL (and optionally a unix socket, as the Docker engine
 * listens on) and keeps its connection alive between requests. It is not thread-safe: use
 * one per thread. HTTP statuses >= 400 are not errors at this level; callers decide.
 */
#ifndef STACKRIG_HTTP_H
#define STACKRIG_HTTP_H

#include "common.h"

RIG_BEGIN_DECLS

typedef struct rig_http rig_http;

typedef struct rig_http_options {
  unsigned int version;
  const char *unix_socket;    /**< path of a unix socket to connect to, or NULL for TCP */
  int64_t connect_timeout_ms; /**< 0: 5000 */
  int64_t timeout_ms;         /**< default total timeout per request; 0: 30000; -1: none */
  const char *user_agent;     /**< NULL: "stackrig/<version>" */
} rig_http_options;

#define RIG_HTTP_OPTIONS_VERSION 1
#define RIG_HTTP_OPTIONS_INIT                                                                      \
  {                                                                                                \
    RIG_HTTP_OPTIONS_VERSION, NULL, 0, 0, NULL                                                     \
  }

/**
 * Called with each piece of a streamed response body as it arrives.
 * @return 0 to go on, non-zero to stop the transfer (rig_http_do then returns RIG_OK).
 */
typedef int (*rig_http_data_cb)(void *userdata, const char *data, size_t len);

typedef struct rig_http_request {
  const char *method;         /**< NULL: "GET", or "POST" when body is set */
  const char *path;           /**< appended to the base URL, e.g. "/v1.41/containers/json" */
  const char *const *headers; /**< NULL-terminated "Name: value" strings, or NULL */
  const char *body;           /**< request body, or NULL */
  size_t body_len;            /**< bytes of body; 0 with a body: strlen(body) */
  int64_t timeout_ms;         /**< 0: the client's default; -1: none (streams) */
  rig_http_data_cb on_data;   /**< stream the body here instead of buffering it */
  void *userdata;
  const volatile int *cancel; /**< when it points to non-zero, the transfer stops */
} rig_http_request;

#define RIG_HTTP_REQUEST_INIT                                                                      \
  {                                                                                                \
    NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL                                                 \
  }

typedef struct rig_http_response {
  long status; /**< HTTP status code */
  char *body;  /**< NUL-terminated body (empty when streamed) */
  size_t body_len;
  char **headers;       /**< NULL-terminated "Name: value" lines of the response */
  double total_seconds; /**< time the transfer took */
} rig_http_response;

#define RIG_HTTP_RESPONSE_INIT                                                                     \
  {                                                                                                \
    0, NULL, 0, NULL, 0.0                                                                          \
  }

/**
 * @param[out] out the new client; free with rig_http_free()
 * @param base_url e.g. "http://127.0.0.1:16686" ("http://localhost" for a unix socket)
 * @return RIG_OK or RIG_EINVAL for a malformed base URL
 */
RIG_EXTERN int rig_http_new(rig_http **out, const char *base_url, const rig_http_options *opts);
RIG_EXTERN void rig_http_free(rig_http *client);

/** @return the base URL the client was made with. */
RIG_EXTERN const char *rig_http_base_url(const rig_http *client);

/**
 * Performs one request and fills resp (which the caller disposes of).
 * @return RIG_OK when an HTTP answer arrived (whatever its status), RIG_ECONNECT when
 *   no connection could be made, RIG_ETIMEOUT, RIG_EINTERRUPTED when cancelled, RIG_EIO
 *   for other transfer failures; the message names the method and URL.
 */
RIG_EXTERN int rig_http_do(rig_http *client, const rig_http_request *req, rig_http_response *resp);

/**
 * Performs n requests concurrently (curl multi), requests[i] on clients[i]; each result
 * goes to results[i] (RIG_OK or a code as rig_http_do returns) and responses[i].
 * @return RIG_OK once every transfer ended (look at results), or RIG_EINVAL.
 */
RIG_EXTERN int rig_http_do_many(rig_http *const *clients, const rig_http_request *requests,
                                rig_http_response *responses, int *results, size_t n);

/** @return the value of a response header (case-insensitive name), or NULL. */
RIG_EXTERN const char *rig_http_response_header(const rig_http_response *resp, const char *name);

/** Frees what a response holds and resets it; NULL-safe. */
RIG_EXTERN void rig_http_response_dispose(rig_http_response *resp);

/**
 * Percent-encodes a string for use in a URL path segment or query value.
 * @param[out] out a newly allocated string, free() it
 */
RIG_EXTERN int rig_http_escape(char **out, const char *text);

RIG_END_DECLS

#endif
