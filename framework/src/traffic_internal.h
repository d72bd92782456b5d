/*
 * traffic_internal.h - what the traffic module's files share (the loop in traffic.c, the
 * request setup in traffic_request.c, results and JSON in traffic_result.c, thresholds in
 * traffic_threshold.c), and what its unit tests reach into.
 */
#ifndef RIG_TRAFFIC_INTERNAL_H
#define RIG_TRAFFIC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "hist.h"
#include "stackrig/traffic.h"

/* HTTP statuses are three digits; anything else libcurl reports is kept at its value mod
 * 1000, which never happens with a real server. */
#define RIG__STATUS_SLOTS 1000
#define RIG__TRACE_KEEP_DEFAULT 100000

struct rig_traffic_result {
  rig_traffic_summary summary;
  char *method;
  char *url;
  uint64_t status_counts[RIG__STATUS_SLOTS];
  rig__hist all;
  rig__hist *by_status[RIG__STATUS_SLOTS]; /* allocated on the first answer with a status */
  rig_traffic_trace *traces;
  size_t trace_cap;
  size_t trace_limit;
  rig_traffic_verdict *verdicts;
  char **verdict_exprs; /* owned copies the verdicts point to */
  size_t verdict_count;
  int passed;
};

/* ---- the epoll set of curl's sockets (traffic_watch.c) ---- */

/* Per socket number: the epoll events curl wants, those epoll has, whether the socket is
 * a connection we opened, and whether a change waits for rig__watch_flush. */
typedef struct rig__watch {
  int epoll_fd;
  uint8_t *wanted;
  uint8_t *registered;
  uint8_t *owned;
  uint8_t *is_dirty;
  int *dirty;
  int dirty_count;
  int size;
} rig__watch;

/* 0, or -1 with errno when epoll_create1 failed. */
int rig__watch_init(rig__watch *w);
void rig__watch_dispose(rig__watch *w);
/* What curl wants for fd (EPOLLIN/EPOLLOUT bits, 0: nothing); applied at the next flush
 * for our own connections, at once for any other socket. */
void rig__watch_want(rig__watch *w, int fd, uint8_t events);
/* socket() for curl, as a connection of ours; -1 on failure. */
int rig__watch_open(rig__watch *w, int family, int socktype, int protocol);
/* close() for curl: the number is free again and in no epoll set. */
int rig__watch_close(rig__watch *w, int fd);
/* Applies the changes curl asked for since the last flush; call before each wait. */
void rig__watch_flush(rig__watch *w);
/* An event on a connection curl has let go of (kept registered by the flush): drops the
 * registration and returns 1, the event is not curl's; 0 otherwise. */
int rig__watch_stale_event(rig__watch *w, int fd);

/* ---- results (traffic_result.c) ---- */

rig_traffic_result *rig__traffic_result_new(const char *method, const char *url,
                                            size_t trace_limit);
/* Counts one measured request. status is 0 when no answer came. */
void rig__traffic_result_record(rig_traffic_result *result, int status, rig_traffic_error_kind kind,
                                int64_t latency_ns);
/* Keeps a trace record when there is room; counts it as seen either way. */
void rig__traffic_result_trace(rig_traffic_result *result, const rig_traffic_trace *trace);
/* Fills the summary's derived fields (rate, latency) once the run is over. */
void rig__traffic_result_finish(rig_traffic_result *result, double duration_s);
void rig__traffic_latency_fill(rig_traffic_latency *out, const rig__hist *hist);
/* "850ns", "812.3us", "1.23ms", "2.500s" */
void rig__traffic_format_ns(char *buf, size_t size, double ns);
/* Maps a libcurl result code (CURLcode) and HTTP status to an error kind. */
rig_traffic_error_kind rig__traffic_classify(int curl_code, long status);

/* ---- thresholds (traffic_threshold.c) ---- */

typedef enum rig__metric {
  RIG__METRIC_PERCENTILE,
  RIG__METRIC_AVG,
  RIG__METRIC_MIN,
  RIG__METRIC_MAX,
  RIG__METRIC_ERROR_RATE,
  RIG__METRIC_RATE,
  RIG__METRIC_REQUESTS,
  RIG__METRIC_ERRORS
} rig__metric;

typedef enum rig__op {
  RIG__OP_LT,
  RIG__OP_LE,
  RIG__OP_GT,
  RIG__OP_GE,
  RIG__OP_EQ,
  RIG__OP_NE
} rig__op;

typedef struct rig__threshold {
  rig__metric metric;
  double percentile; /* for RIG__METRIC_PERCENTILE */
  int status;        /* latency metrics: only answers with this status; 0: all */
  rig__op op;
  double limit; /* ns for latency, a fraction for error_rate, per second, or a count */
} rig__threshold;

/* Parses an expression; RIG_EINVAL with a message quoting it and saying what is wrong. */
int rig__threshold_parse(rig__threshold *out, const char *expr);
/* Judges a parsed threshold; fills everything of out but expr. */
void rig__threshold_judge(rig_traffic_verdict *out, const rig__threshold *threshold,
                          const rig_traffic_result *result);

/* ---- the request (traffic_request.c) ---- */

/* The request every connection sends unless on_request changes it: validated options. */
typedef struct rig__traffic_spec {
  char *method;
  char *url;
  char **headers;    /* NULL-terminated copies */
  char *auth_header; /* "Authorization: Bearer ..." or NULL */
  char *body;
  size_t body_len;
  int has_body;
} rig__traffic_spec;

/* Checks every option and copies the request (reading body_file); RIG_EINVAL names the
 * bad URL, method, header, rate or count. */
int rig__traffic_spec_init(rig__traffic_spec *out, const rig_traffic_options *opts);
void rig__traffic_spec_dispose(rig__traffic_spec *spec);
int rig__traffic_validate_url(const char *url);
int rig__traffic_validate_method(const char *method);
int rig__traffic_validate_header(const char *header);
/* The method to send: the given one, else POST with a body and GET without. */
const char *rig__traffic_method(const char *method, int has_body);
/* Points an easy handle at a request; with copy_body libcurl keeps its own copy. */
void rig__traffic_easy_request(CURL *easy, const char *method, const char *url, const char *body,
                               size_t body_len, int has_body, int copy_body);
/* The header list of a request: headers, "User-Agent: stackrig/VERSION" unless they name
 * one, the auth header, "Expect:" (no 100-continue
 * round trip) with a body, and with traceparent a placeholder whose 55-character value
 * *traceparent_value points to, to be overwritten before each send. */
struct curl_slist *rig__traffic_header_list(const char *const *headers, const char *auth_header,
                                            int has_body, int traceparent,
                                            char **traceparent_value);

/* ---- scheduling (traffic.c) ---- */

/* The intended send time of the index-th request of an open-model run that began at
 * origin_ns: computed from the index, never accumulated, so it cannot drift. */
int64_t rig__traffic_intended_ns(int64_t origin_ns, uint64_t index, double rate);

#endif
