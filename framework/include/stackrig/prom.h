/*
 * stackrig/prom.h - a Prometheus HTTP API client and PromQL assertions.
 *
 * Queries (instant and range), scrape targets, series and the scrape interval, mapped into
 * plain C structs; "eventually" assertions that poll an instant query with a short back-off;
 * counter deltas between two moments that wait for a scrape newer than each moment; a
 * tolerant name for metrics that may or may not carry the `_total` suffix; and an account of
 * the OpenTelemetry Collector's span pipeline (accepted / refused / sent / send-failed).
 *
 * Times are Unix epoch milliseconds (Prometheus keeps millisecond timestamps). A rig_prom is
 * not thread-safe: use one per thread. Native histogram samples are skipped (counted in
 * rig_prom_series.skipped_histograms), only float samples are mapped.
 */
#ifndef STACKRIG_PROM_H
#define STACKRIG_PROM_H

#include "common.h"

RIG_BEGIN_DECLS

typedef struct rig_prom rig_prom;

typedef struct rig_prom_options {
  unsigned int version;
  int64_t timeout_ms; /**< per HTTP request; 0: 10000 */
} rig_prom_options;

#define RIG_PROM_OPTIONS_VERSION 1
#define RIG_PROM_OPTIONS_INIT                                                                      \
  {                                                                                                \
    RIG_PROM_OPTIONS_VERSION, 0                                                                    \
  }

/**
 * @param[out] out the new client; free with rig_prom_free()
 * @param base_url the server, e.g. "http://127.0.0.1:9090" (STACKRIG_PROMETHEUS_URL)
 * @param opts NULL for defaults
 * @return RIG_OK or RIG_EINVAL for a malformed URL
 */
RIG_EXTERN int rig_prom_new(rig_prom **out, const char *base_url, const rig_prom_options *opts);
/** Frees the client; NULL-safe. */
RIG_EXTERN void rig_prom_free(rig_prom *prom);
/** @return the base URL the client was made with (borrowed). */
RIG_EXTERN const char *rig_prom_url(const rig_prom *prom);

/* ---- the model -------------------------------------------------------------------------- */

/** One label; names and values are borrowed from the result that holds them. */
typedef struct rig_prom_label {
  const char *name;
  const char *value;
} rig_prom_label;

/** A label set, in the order the server sent it (Prometheus sorts by name). */
typedef struct rig_prom_labels {
  size_t count;
  const rig_prom_label *items;
} rig_prom_labels;

/** One float sample. value may be NAN or +/-INFINITY ("NaN", "+Inf", "-Inf" on the wire). */
typedef struct rig_prom_sample {
  int64_t time_ms;
  double value;
} rig_prom_sample;

/** One series: a vector element has exactly one sample, a matrix element one or more. */
typedef struct rig_prom_series {
  rig_prom_labels labels; /**< including __name__ when the result keeps it */
  size_t sample_count;
  const rig_prom_sample *samples;
  size_t skipped_histograms; /**< native histogram samples, which are not mapped */
} rig_prom_series;

typedef enum rig_prom_result_type {
  RIG_PROM_VECTOR = 1, /**< instant vector: series with one sample each */
  RIG_PROM_MATRIX,     /**< range vector: series with samples over time */
  RIG_PROM_SCALAR,     /**< one number: rig_prom_result.scalar */
  RIG_PROM_STRING      /**< one string: rig_prom_result.string */
} rig_prom_result_type;

/** What a query answered. Everything it points to lives until rig_prom_result_free(). */
typedef struct rig_prom_result {
  rig_prom_result_type type;
  const char *expr;    /**< the query, for messages */
  size_t series_count; /**< VECTOR and MATRIX */
  const rig_prom_series *series;
  rig_prom_sample scalar; /**< SCALAR; for STRING its time */
  const char *string;     /**< STRING, else NULL */
  size_t warning_count;   /**< warnings the server attached to a successful answer */
  const char *const *warnings;
  size_t info_count; /**< info-level annotations (newer servers) */
  const char *const *infos;
} rig_prom_result;

/** @return "vector", "matrix", "scalar", "string" or "?". */
RIG_EXTERN const char *rig_prom_result_type_name(rig_prom_result_type type);

/** @return the value of the label called name, or NULL. */
RIG_EXTERN const char *rig_prom_labels_get(const rig_prom_labels *labels, const char *name);

/**
 * Formats a label set as PromQL writes it: `up{instance="a:9090", job="x"}`; `{}` when empty.
 * @param[out] out free() it
 */
RIG_EXTERN int rig_prom_labels_format(char **out, const rig_prom_labels *labels);

/**
 * Formats a result for people, one series per line (`name{...} = value @ time`), at most
 * max_series series (0: all) and then "... and N more".
 * @param[out] out free() it
 */
RIG_EXTERN int rig_prom_result_format(char **out, const rig_prom_result *result, size_t max_series);

/** Frees a result; NULL-safe. */
RIG_EXTERN void rig_prom_result_free(rig_prom_result *result);

/* ---- queries ---------------------------------------------------------------------------- */

/**
 * Evaluates an instant query (POST /api/v1/query).
 * @param[out] out the answer; free with rig_prom_result_free()
 * @param time_ms evaluation time, or 0 for the server's "now"
 * @return RIG_OK, or an error naming the query with the server's errorType and message:
 *   "prometheus: query 'rate(x[1m)': bad_data: ..." (bad_data and execution: RIG_EINVAL,
 *   timeout: RIG_ETIMEOUT, canceled: RIG_EINTERRUPTED, unavailable: RIG_ENOTREADY,
 *   not_found: RIG_ENOTFOUND, internal and others: RIG_EHTTP); RIG_EPARSE for an answer that
 *   is not the API's JSON; RIG_ECONNECT / RIG_ETIMEOUT from the transport. The error's
 *   details carry "query", "errorType" and "status".
 */
RIG_EXTERN int rig_prom_query(rig_prom_result **out, rig_prom *prom, const char *expr,
                              int64_t time_ms);

/**
 * Evaluates a range query (POST /api/v1/query_range); the answer is a MATRIX.
 * @param step_ms resolution, > 0
 * @return as rig_prom_query()
 */
RIG_EXTERN int rig_prom_query_range(rig_prom_result **out, rig_prom *prom, const char *expr,
                                    int64_t start_ms, int64_t end_ms, int64_t step_ms);

/** Label sets of series, as /api/v1/series answers. */
typedef struct rig_prom_label_sets {
  size_t count;
  const rig_prom_labels *items;
} rig_prom_label_sets;

/**
 * Finds the series that match any of the selectors (POST /api/v1/series).
 * @param matchers NULL-terminated series selectors, e.g. {"up", "{job=\"x\"}", NULL}
 * @param start_ms, end_ms the time range, 0 for the server's default
 * @param[out] out free with rig_prom_label_sets_free()
 */
RIG_EXTERN int rig_prom_series_match(rig_prom_label_sets **out, rig_prom *prom,
                                     const char *const *matchers, int64_t start_ms, int64_t end_ms);
/** NULL-safe. */
RIG_EXTERN void rig_prom_label_sets_free(rig_prom_label_sets *sets);

/* ---- targets and scrape intervals ------------------------------------------------------- */

typedef enum rig_prom_health {
  RIG_PROM_HEALTH_UNKNOWN = 0, /**< not scraped yet */
  RIG_PROM_HEALTH_UP,
  RIG_PROM_HEALTH_DOWN
} rig_prom_health;

/** An active scrape target (GET /api/v1/targets?state=active). */
typedef struct rig_prom_target {
  const char *job;      /**< labels' job, "" when missing */
  const char *instance; /**< labels' instance, "" when missing */
  const char *scrape_pool;
  const char *scrape_url;
  const char *global_url;
  rig_prom_health health;
  const char *last_error; /**< "" when the last scrape worked */
  int64_t last_scrape_ms; /**< start of the last scrape; 0 when never scraped */
  double last_scrape_duration_s;
  int64_t scrape_interval_ms; /**< -1 when the server does not report it (before 2.30) */
  int64_t scrape_timeout_ms;  /**< -1 when the server does not report it */
  rig_prom_labels labels;
  rig_prom_labels discovered_labels;
} rig_prom_target;

typedef struct rig_prom_target_list {
  size_t count;
  const rig_prom_target *items;
} rig_prom_target_list;

/** @return "up", "down" or "unknown". */
RIG_EXTERN const char *rig_prom_health_name(rig_prom_health health);

/** @param[out] out the active targets; free with rig_prom_target_list_free() */
RIG_EXTERN int rig_prom_targets(rig_prom_target_list **out, rig_prom *prom);
/** NULL-safe. */
RIG_EXTERN void rig_prom_target_list_free(rig_prom_target_list *list);

/**
 * Waits until every active target is up (and there is at least one).
 * @return RIG_OK, or RIG_EASSERT when the deadline passed, naming each target that is not up
 *   with its scrape URL and last error
 */
RIG_EXTERN int rig_prom_targets_wait_up(rig_prom *prom, int64_t timeout_ms);

/**
 * The scrape interval of a job: the targets API's scrapeInterval where the server reports it,
 * else the job's scrape_interval in /api/v1/status/config, else the global one, else 1m
 * (Prometheus' default).
 * @param job the job name, or NULL for the shortest interval of any active target (or the
 *   global interval)
 * @return RIG_OK, RIG_ENOTFOUND for a job that is neither active nor configured
 */
RIG_EXTERN int rig_prom_scrape_interval(int64_t *out_ms, rig_prom *prom, const char *job);

/**
 * Parses a Prometheus duration: "15s", "1m30s", "500ms", "1h", "2d", "1w", "1y".
 * @return RIG_OK or RIG_EINVAL quoting the text
 */
RIG_EXTERN int rig_prom_duration_parse(int64_t *out_ms, const char *text);

/* ---- eventually ------------------------------------------------------------------------- */

typedef enum rig_prom_op {
  RIG_PROM_EQ = 1,
  RIG_PROM_NE,
  RIG_PROM_LT,
  RIG_PROM_LE,
  RIG_PROM_GT,
  RIG_PROM_GE
} rig_prom_op;

/** @return "==", "!=", "<", "<=", ">", ">=" or "?". */
RIG_EXTERN const char *rig_prom_op_symbol(rig_prom_op op);

/** @return 1 when `value op expected` holds (IEEE semantics: NaN only satisfies !=). */
RIG_EXTERN int rig_prom_compare(double value, rig_prom_op op, double expected);

typedef enum rig_prom_match {
  RIG_PROM_MATCH_ALL = 0, /**< every sample satisfies it, and there is at least one */
  RIG_PROM_MATCH_ANY      /**< at least one sample satisfies it */
} rig_prom_match;

typedef struct rig_prom_eventually_options {
  unsigned int version;
  rig_prom_match match;
  int64_t initial_backoff_ms; /**< first pause between queries; 0: 5 */
  int64_t max_backoff_ms;     /**< the pause doubles up to this; 0: 200 */
} rig_prom_eventually_options;

#define RIG_PROM_EVENTUALLY_OPTIONS_VERSION 1
#define RIG_PROM_EVENTUALLY_OPTIONS_INIT                                                           \
  {                                                                                                \
    RIG_PROM_EVENTUALLY_OPTIONS_VERSION, RIG_PROM_MATCH_ALL, 0, 0                                  \
  }

/**
 * Polls the instant query expr until `sample op value` holds, or timeout_ms passed. The
 * samples compared are a vector's samples, a matrix's last sample of each series, or a
 * scalar; an empty vector never holds (write `absent(x)` or `x or vector(0)` to assert on
 * missing data). Queries are repeated after a pause of a few milliseconds that doubles up
 * to max_backoff_ms; there is no fixed sleep.
 * A query the server rejects (bad_data, execution, string results) fails at once; an
 * unreachable or not-ready server is retried until the deadline.
 * @param opts NULL for defaults (RIG_PROM_MATCH_ALL)
 * @return RIG_OK; RIG_EASSERT when it never held, the message showing the query, the
 *   comparison and the last value(s) seen, e.g. "prometheus: 'sum(up)' >= 5 did not hold
 *   within 2000 ms (14 queries); last result: {} = 4"; or the query's error
 */
RIG_EXTERN int rig_prom_eventually(rig_prom *prom, const char *expr, rig_prom_op op, double value,
                                   int64_t timeout_ms, const rig_prom_eventually_options *opts);

/* ---- counters between two moments ------------------------------------------------------- */

/**
 * A moment, pinned to a scrape that began after it: counters read "since the mark" count
 * only what happened after the call that made it.
 */
typedef struct rig_prom_mark rig_prom_mark;

/**
 * Marks now: reads the server's clock, then waits until every target of job (all active
 * targets when job is NULL) has been scraped after that instant (it polls timestamp(up)), so
 * the values at the mark are not stale samples from before the call.
 * @param[out] out free with rig_prom_mark_free()
 * @return RIG_OK, RIG_ETIMEOUT when no such scrape happened within timeout_ms (naming the
 *   job and its scrape interval), RIG_ENOTFOUND when no target has the job
 */
RIG_EXTERN int rig_prom_mark_now(rig_prom_mark **out, rig_prom *prom, const char *job,
                                 int64_t timeout_ms);
/** @return the time of the scrape the mark is pinned to (Unix ms). */
RIG_EXTERN int64_t rig_prom_mark_time(const rig_prom_mark *mark);
/** NULL-safe. */
RIG_EXTERN void rig_prom_mark_free(rig_prom_mark *mark);

/**
 * The increase of a counter expression since a mark. It waits (as rig_prom_mark_now(), with
 * the mark's job) for a scrape newer than this call, then walks the expression over the
 * window at the scrape interval, series by series: a drop is a counter reset (the value
 * after it counts from zero), and a series that appears during the window counts from zero
 * (as the collector creates its counters on the first span). Series are summed: select
 * one series (or aggregate with sum by) when that is what you mean.
 * @param[out] out the increase
 * @return RIG_OK, or the errors of rig_prom_mark_now() and rig_prom_query_range()
 */
RIG_EXTERN int rig_prom_delta(double *out, rig_prom *prom, const char *expr,
                              const rig_prom_mark *since, int64_t timeout_ms);

/**
 * Polls rig_prom_delta() (each round after a fresh scrape) until `delta op value` holds:
 * for counters that lag behind the action, such as exported spans.
 * @return RIG_OK; RIG_EASSERT when it never held, naming the expression, the last delta
 *   and the number of rounds; or the errors of rig_prom_delta()
 */
RIG_EXTERN int rig_prom_delta_eventually(rig_prom *prom, const char *expr,
                                         const rig_prom_mark *since, rig_prom_op op, double value,
                                         int64_t timeout_ms);

/* ---- metric names with or without _total ------------------------------------------------- */

/**
 * Builds a selector that matches a counter whether or not the exporter added `_total`:
 * ("otelcol_receiver_accepted_spans", "receiver=\"otlp\"") gives
 * `{__name__=~"otelcol_receiver_accepted_spans(_total)?",receiver="otlp"}`. The name may be
 * given with or without the suffix.
 * @param matchers extra label matchers, or NULL
 * @param[out] out free() it
 * @return RIG_OK, RIG_EINVAL for a name that is not a metric name
 */
RIG_EXTERN int rig_prom_selector_total(char **out, const char *name, const char *matchers);

/**
 * Asks the server which of name and name_total (or name without _total) has series.
 * Scope it: on the default stack the collector writes otelcol_receiver_accepted_spans and
 * Jaeger v2 writes otelcol_receiver_accepted_spans_total.
 * @param matchers label matchers that scope the lookup, e.g. "job=\"otel-collector\"", or NULL
 * @param[out] out the name that exists (the `_total` one when both do); free() it
 * @return RIG_OK, RIG_ENOTFOUND naming both spellings
 */
RIG_EXTERN int rig_prom_metric_resolve(char **out, rig_prom *prom, const char *name,
                                       const char *matchers);

/* ---- the collector's span pipeline ------------------------------------------------------ */

typedef enum rig_prom_pipeline_verdict {
  RIG_PROM_PIPELINE_ALL_SENT = 0,    /**< what was accepted was exported (and >= expected) */
  RIG_PROM_PIPELINE_NOT_RECEIVED,    /**< the collector saw nothing: the service never sent it */
  RIG_PROM_PIPELINE_PARTLY_RECEIVED, /**< fewer accepted than expected, none refused */
  RIG_PROM_PIPELINE_REFUSED, /**< receivers refused (or failed) spans: the pipeline dropped them */
  RIG_PROM_PIPELINE_SEND_FAILED, /**< exporters failed to send (or enqueue) spans */
  RIG_PROM_PIPELINE_NOT_SENT     /**< accepted but not (yet) exported: queued or dropped */
} rig_prom_pipeline_verdict;

/** @return a short name: "all sent", "not received", ... */
RIG_EXTERN const char *rig_prom_pipeline_verdict_name(rig_prom_pipeline_verdict verdict);

typedef struct rig_prom_pipeline_options {
  unsigned int version;
  const char *job;       /**< the collector's scrape job; NULL: "otel-collector" (the default
                              stack's), "": any job (beware: Jaeger v2 has the same metrics) */
  const char *receiver;  /**< receiver label to count, e.g. "otlp"; NULL: all */
  const char *exporter;  /**< exporter label to count, e.g. "otlp_grpc/jaeger"; NULL: all */
  double expected_spans; /**< spans the test sent; < 0: unknown */
} rig_prom_pipeline_options;

#define RIG_PROM_PIPELINE_OPTIONS_VERSION 1
#define RIG_PROM_PIPELINE_OPTIONS_INIT                                                             \
  {                                                                                                \
    RIG_PROM_PIPELINE_OPTIONS_VERSION, NULL, NULL, NULL, -1.0                                      \
  }

/** The collector's span counters since a mark, and what they mean. */
typedef struct rig_prom_pipeline_report {
  rig_prom_pipeline_verdict verdict;
  double accepted;       /**< otelcol_receiver_accepted_spans */
  double refused;        /**< otelcol_receiver_refused_spans */
  double failed;         /**< otelcol_receiver_failed_spans (newer collectors: accepted by the
                              receiver, then failed in the pipeline behind it) */
  double sent;           /**< otelcol_exporter_sent_spans (summed over exporters) */
  double send_failed;    /**< otelcol_exporter_send_failed_spans */
  double enqueue_failed; /**< otelcol_exporter_enqueue_failed_spans */
  double expected;       /**< the expected_spans option */
  const char *message;   /**< one sentence for people, e.g. "pipeline: all sent: ..." */
} rig_prom_pipeline_report;

/**
 * Accounts for the collector's span pipeline since a mark: polls the counters (each read
 * after a fresh scrape) until the verdict is RIG_PROM_PIPELINE_ALL_SENT or timeout_ms passed,
 * and reports the last reading. Exporter counters are summed, so with several trace
 * exporters name one in opts->exporter.
 * @param[out] out the report (whatever the verdict); free with rig_prom_pipeline_report_free()
 * @return RIG_OK when the counters could be read, or a query / scrape error
 */
RIG_EXTERN int rig_prom_pipeline_check(rig_prom_pipeline_report **out, rig_prom *prom,
                                       const rig_prom_mark *since,
                                       const rig_prom_pipeline_options *opts, int64_t timeout_ms);
/** NULL-safe. */
RIG_EXTERN void rig_prom_pipeline_report_free(rig_prom_pipeline_report *report);

/**
 * rig_prom_pipeline_check() as an assertion.
 * @return RIG_OK when the verdict is "all sent", else RIG_EASSERT whose message is the
 *   report's (e.g. "pipeline: the service never sent them: the collector accepted 0 spans
 *   of 3 expected ..."), with the counters as details; or the errors of the check
 */
RIG_EXTERN int rig_prom_pipeline_all_sent(rig_prom *prom, const rig_prom_mark *since,
                                          const rig_prom_pipeline_options *opts,
                                          int64_t timeout_ms);

RIG_END_DECLS

#endif
