/*
 * stackrig/traffic.h - an HTTP load generator on one event loop (libcurl multi).
 *
 * Two load models:
 *  - closed: `connections` virtual users, each sending its next request as soon as its
 *    last one finished; latency runs from the moment a request is sent.
 *  - open (rate > 0): requests are scheduled at a constant rate, the i-th at
 *    start + i/rate, and each one's latency runs from that *intended* time. When every
 *    connection is busy the due requests wait for one and their latency keeps counting, so
 *    a stalled server shows up in the percentiles instead of slowing the generator down
 *    ("coordinated omission"). `connections` bounds the requests in flight.
 * Connections are kept alive; HTTP/1.1, or HTTP/2 over cleartext with prior knowledge.
 *
 * Results: counts per status and per error kind, a latency histogram (log-linear, fixed
 * memory, within 0.4% of the true value) overall and per status, optionally each request's
 * trace id, and thresholds in a small k6-like grammar (see rig_traffic_threshold_validate).
 */
#ifndef STACKRIG_TRAFFIC_H
#define STACKRIG_TRAFFIC_H

#include "common.h"

RIG_BEGIN_DECLS

typedef struct rig_traffic_result rig_traffic_result;

/** One request. Every pointer is borrowed: the library copies what it needs. */
typedef struct rig_traffic_request {
  const char *method;         /**< NULL: "GET", or "POST" when there is a body */
  const char *url;            /**< absolute http:// or https:// URL */
  const char *const *headers; /**< NULL-terminated "Name: value" strings, or NULL */
  const char *body;           /**< request body, or NULL */
  size_t body_len;            /**< bytes of body; 0 with a body: strlen(body) */
} rig_traffic_request;

/**
 * Fills the next request, e.g. to vary an id in the URL or body. req arrives holding the
 * options' request; change any field. What req points to must stay valid until the
 * callback returns (the library copies it before the next call), so one buffer reused by
 * every call is fine. Called on the loop's thread, once per request, seq counting from 0
 * (warm-up included).
 * @return 0 to send the request, non-zero to stop sending (the run ends once the requests
 *   in flight are done)
 */
typedef int (*rig_traffic_request_cb)(void *userdata, uint64_t seq, rig_traffic_request *req);

/** A snapshot for a live display, taken on the loop's thread. */
typedef struct rig_traffic_progress {
  int64_t elapsed_ms; /**< since the run began, warm-up included */
  int warming_up;     /**< 1 while the warm-up lasts (nothing is counted yet) */
  uint64_t requests;  /**< measured requests that ended so far */
  uint64_t errors;    /**< of which failed (transport error or HTTP >= 400) */
  double rate;        /**< requests per second since measuring began */
  int64_t p99_ns;     /**< 99th percentile latency so far */
  uint64_t in_flight;
} rig_traffic_progress;

typedef void (*rig_traffic_progress_cb)(void *userdata, const rig_traffic_progress *progress);

typedef struct rig_traffic_options {
  unsigned int version;
  rig_traffic_request request;         /**< what to send; request.url is required */
  const char *body_file;               /**< read the body from this file instead of request.body */
  rig_traffic_request_cb on_request;   /**< fills each request, or NULL to send `request` */
  void *userdata;                      /**< for on_request */
  int connections;                     /**< closed: concurrent users; open: most requests in
                                            flight (= connections with HTTP/1.1); 0: 10 */
  double rate;                         /**< > 0: open model at this many requests per second */
  int64_t duration_ms;                 /**< stop sending after this long (warm-up excluded) */
  uint64_t requests;                   /**< or after this many requests (warm-up excluded);
                                            with neither: 10 seconds */
  int64_t warmup_ms;                   /**< first send for this long, counting nothing */
  int64_t timeout_ms;                  /**< per request; 0: 10000 */
  int64_t connect_timeout_ms;          /**< 0: 3000 */
  int http2;                           /**< 1: HTTP/2 over cleartext with prior knowledge (h2c) */
  int traceparent;                     /**< 1: a fresh sampled traceparent header per request */
  const char *parent_traceparent;      /**< with traceparent: make each request a child of this
                                            context (same trace id, new span id) */
  int64_t trace_keep;                  /**< keep the trace ids of the first this many measured
                                            requests; 0: 100000 (about 5 MB); < 0: none */
  const char *bearer_token;            /**< adds "Authorization: Bearer <token>" */
  const char *const *thresholds;       /**< NULL-terminated expressions checked at the end */
  rig_traffic_progress_cb on_progress; /**< called every progress_interval_ms, or NULL */
  void *progress_userdata;
  int64_t progress_interval_ms; /**< 0: 250 */
  const volatile int *cancel;   /**< when it points to non-zero the run stops at once:
                                     requests in flight are abandoned, the result says
                                     interrupted */
} rig_traffic_options;

#define RIG_TRAFFIC_OPTIONS_VERSION 1
#define RIG_TRAFFIC_OPTIONS_INIT                                                                   \
  {                                                                                                \
    RIG_TRAFFIC_OPTIONS_VERSION, {NULL, NULL, NULL, NULL, 0}, NULL, NULL, NULL, 0, 0.0, 0, 0, 0,   \
        0, 0, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, 0, NULL                                       \
  }

/** Why a request failed. HTTP >= 400 counts as a failure of kind RIG_TRAFFIC_ERR_HTTP. */
typedef enum rig_traffic_error_kind {
  RIG_TRAFFIC_ERR_NONE = 0,
  RIG_TRAFFIC_ERR_CONNECT, /**< refused, unreachable, name not resolved */
  RIG_TRAFFIC_ERR_TIMEOUT, /**< connect or request timeout */
  RIG_TRAFFIC_ERR_IO,      /**< read/write failed, connection closed mid-response */
  RIG_TRAFFIC_ERR_HTTP,    /**< an answer with status >= 400 */
  RIG_TRAFFIC_ERR_OTHER,   /**< anything else libcurl reports */
  RIG_TRAFFIC_ERR_COUNT
} rig_traffic_error_kind;

/** @return "none", "connect", "timeout", "io", "http" or "other". */
RIG_EXTERN const char *rig_traffic_error_kind_name(rig_traffic_error_kind kind);

/** Latency statistics of a set of answered requests, in nanoseconds. */
typedef struct rig_traffic_latency {
  uint64_t count;
  int64_t min_ns;
  double mean_ns;
  int64_t p50_ns;
  int64_t p90_ns;
  int64_t p95_ns;
  int64_t p99_ns;
  int64_t p999_ns;
  int64_t max_ns;
} rig_traffic_latency;

/** The totals of a run (warm-up excluded). */
typedef struct rig_traffic_summary {
  uint64_t requests;  /**< measured requests that ended, answered or failed */
  uint64_t responses; /**< of which got an HTTP answer (any status) */
  uint64_t errors;    /**< failed: transport errors plus HTTP >= 400 */
  uint64_t error_kinds[RIG_TRAFFIC_ERR_COUNT]; /**< errors by kind */
  uint64_t not_sent;  /**< open model: scheduled before the end but never sent
                           because every connection stayed busy */
  double duration_s;  /**< from the end of warm-up to the last request's end */
  double rate;        /**< achieved: requests / duration_s */
  double target_rate; /**< the open model's rate; 0 for the closed model */
  int connections;
  int open_model;
  uint64_t bytes_received;     /**< response bodies */
  uint64_t http2_fallbacks;    /**< with http2: answers that came over HTTP/1.1 because a
                                    new connection was made without prior knowledge (only
                                    with libcurl < 8.0.0, see docs/traffic.md) */
  uint64_t traces_seen;        /**< measured requests that carried a traceparent */
  uint64_t traces_kept;        /**< of which kept (see trace_keep) */
  int interrupted;             /**< 1 when cancelled */
  rig_traffic_latency latency; /**< every answered request, whatever its status */
} rig_traffic_summary;

/** One request's trace context and outcome, kept when traceparent is on. */
typedef struct rig_traffic_trace {
  uint8_t trace_id[16];
  uint8_t span_id[8]; /**< the parent-id the request sent */
  uint64_t seq;       /**< the request's number (as passed to on_request) */
  int status;         /**< HTTP status, 0 without an answer */
  rig_traffic_error_kind error;
  int64_t latency_ns;
} rig_traffic_trace;

/** A threshold's outcome. */
typedef struct rig_traffic_verdict {
  const char *expr;     /**< the expression as given */
  int passed;           /**< 1 passed, 0 failed (also when there was no data to judge) */
  int has_value;        /**< 0 when there was no data, e.g. a percentile of no answers */
  double actual;        /**< latency in ms, error_rate as a fraction, rate per second, or
                             a count */
  char actual_text[48]; /**< actual for humans: "212ms", "3.20%", "95.1/s", "no data" */
} rig_traffic_verdict;

/**
 * Runs traffic until the duration or request count is reached (or on_request says stop,
 * or cancel is set), then waits for the requests in flight (up to timeout_ms each).
 * An unreachable or failing server is not an error here: it shows up in the result.
 * @param[out] out the result; free with rig_traffic_result_free()
 * @return RIG_OK, RIG_EINVAL for bad options (the message names the URL, header, rate or
 *   threshold), RIG_ENOTFOUND/RIG_EIO for an unreadable body_file
 */
RIG_EXTERN int rig_traffic_run(rig_traffic_result **out, const rig_traffic_options *opts);

RIG_EXTERN void rig_traffic_result_free(rig_traffic_result *result);

/** @return the totals; borrowed from result. */
RIG_EXTERN const rig_traffic_summary *rig_traffic_result_summary(const rig_traffic_result *result);

/** @return how many measured answers had this status. */
RIG_EXTERN uint64_t rig_traffic_result_status_count(const rig_traffic_result *result, int status);

/**
 * Lists the statuses that were seen, in ascending order.
 * @param[out] out room for max codes (may be NULL when max is 0)
 * @return how many distinct statuses there are (may exceed max)
 */
RIG_EXTERN size_t rig_traffic_result_statuses(int *out, size_t max,
                                              const rig_traffic_result *result);

/**
 * Latency statistics of the answers with one status, or of every answer with status 0.
 * @param[out] out the statistics, untouched on failure
 * @return RIG_OK or RIG_ENOTFOUND when there were no such answers
 */
RIG_EXTERN int rig_traffic_result_latency(rig_traffic_latency *out,
                                          const rig_traffic_result *result, int status);

/** @return the latency at percentile p (0..100) of answers with status (0: all), 0 if none. */
RIG_EXTERN int64_t rig_traffic_result_percentile_ns(const rig_traffic_result *result, double p,
                                                    int status);

/** @return how many trace records were kept. */
RIG_EXTERN size_t rig_traffic_result_trace_count(const rig_traffic_result *result);

/** @return the i-th kept trace record (in the order requests ended); borrowed; NULL past the end.
 */
RIG_EXTERN const rig_traffic_trace *rig_traffic_result_trace(const rig_traffic_result *result,
                                                             size_t i);

/** @return how many thresholds the options named (0 when none). */
RIG_EXTERN size_t rig_traffic_result_verdict_count(const rig_traffic_result *result);

/** @return the i-th threshold's verdict, in the order given; borrowed; NULL past the end. */
RIG_EXTERN const rig_traffic_verdict *rig_traffic_result_verdict(const rig_traffic_result *result,
                                                                 size_t i);

/** @return 1 when every threshold of the options passed (or there were none). */
RIG_EXTERN int rig_traffic_result_passed(const rig_traffic_result *result);

#define RIG_TRAFFIC_JSON_PRETTY 0x1u /**< indent the JSON */
#define RIG_TRAFFIC_JSON_TRACES 0x2u /**< include the kept trace records */

/**
 * The result as JSON: totals, rate, status counts, error kinds, latency (ms) overall and
 * per status, thresholds, and with RIG_TRAFFIC_JSON_TRACES the trace records. The layout
 * is in docs/traffic.md.
 * @param[out] out a new string, free() it
 */
RIG_EXTERN int rig_traffic_result_json(char **out, const rig_traffic_result *result,
                                       unsigned int flags);

/**
 * Checks a threshold expression without running anything. The grammar (docs/traffic.md):
 *   METRIC OP VALUE, with OP one of < <= > >= == !=
 *   latency:   p(N) avg min med max, optionally {status:NNN}; VALUE a duration with unit
 *              ns us ms s m, or a bare number of milliseconds (as k6): "p(95)<200ms"
 *   error_rate (or http_req_failed): failed / requests; VALUE "1%" or a fraction "0.01"
 *   rate:      achieved requests per second; VALUE a number, "/s" allowed
 *   requests, errors: counts
 * @return RIG_OK or RIG_EINVAL with a message quoting the expression and what is wrong
 */
RIG_EXTERN int rig_traffic_threshold_validate(const char *expr);

/**
 * Evaluates one threshold against a result.
 * @param[out] out the verdict (out->expr is expr), untouched on failure
 * @return RIG_OK (whether it passed or not), RIG_EINVAL for a malformed expression
 */
RIG_EXTERN int rig_traffic_threshold_eval(rig_traffic_verdict *out,
                                          const rig_traffic_result *result, const char *expr);

/**
 * Evaluates thresholds, for tests: RIG_OK when all pass, else RIG_EASSERT whose message
 * names every failing expression with its actual value, e.g.
 * "thresholds failed: p(95)<200ms (actual 312ms); error_rate<1% (actual 3.20%)".
 * @param thresholds NULL-terminated
 * @return RIG_OK, RIG_EASSERT, or RIG_EINVAL for a malformed expression
 */
RIG_EXTERN int rig_traffic_check(const rig_traffic_result *result, const char *const *thresholds);

RIG_END_DECLS

#endif
