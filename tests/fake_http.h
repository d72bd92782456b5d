/*
 * fake_http.h - a tiny HTTP/1.1 server in a thread for the unit suites: it answers every
 * request with whatever a test's handler returns (canned answers, a script of answers,
 * answers that depend on the query), so the clients of the Prometheus, Jaeger and OTLP
 * modes can be tested without Docker; the integration suites use the real services.
 */
#ifndef RIG_FAKE_HTTP_H
#define RIG_FAKE_HTTP_H

#include <stddef.h>

typedef struct fake_http fake_http;

/* One request as the server read it. */
typedef struct fake_http_request {
  const char *method;
  const char *target; /* as sent: path and query */
  const char *path;   /* without the query string */
  const char *form;   /* the POST body, or the GET query string ("" when neither) */
  const char *body;   /* body_len bytes, NUL-terminated */
  size_t body_len;
} fake_http_request;

/* The status and headers of the answer; the server frees headers. */
typedef struct fake_http_reply {
  int status;    /* 200 unless the handler sets it */
  char *headers; /* extra header lines, each ending in \r\n, or NULL */
} fake_http_reply;

/* Sets what it needs in *reply and returns the body (malloc'ed, the server frees it; NULL
 * for an empty one). */
typedef char *(*fake_http_handler)(void *userdata, const fake_http_request *req,
                                   fake_http_reply *reply);

/* Starts the server on 127.0.0.1 and a free port. ck_abort on failure. */
fake_http *fake_http_start(fake_http_handler handler, void *userdata);
/* "http://127.0.0.1:PORT" */
const char *fake_http_url(const fake_http *fake);
/* Number of requests answered so far. */
int fake_http_requests(const fake_http *fake);
/* The targets of the requests so far, one a line; free() it. */
char *fake_http_log(const fake_http *fake);
/* The last request as it arrived (request line, headers, body), or NULL; free() it. */
char *fake_http_last_request(const fake_http *fake);
/* Stops the thread (closing any open connection) and frees the server; NULL-safe. */
void fake_http_stop(fake_http *fake);

/* The decoded value of key in an x-www-form-urlencoded text, or NULL; free() it. */
char *fake_http_form_get(const char *form, const char *key);

/* A URL where nothing listens (a port that was just bound and closed). */
char *fake_http_closed_url(void);

#endif
