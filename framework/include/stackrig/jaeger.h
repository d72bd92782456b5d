/*
 * stackrig/jaeger.h - a version-aware Jaeger query client, one trace model for every API
 * flavour, a selector language for spans and trace assertions that can wait ("eventually").
 *
 * The client speaks Jaeger's /api/v3 (OTLP JSON answers; it finds out once whether the
 * server wants camelCase or snake_case query parameters) and falls back to the v1 API
 * (/api/traces). Every answer becomes the same rig_trace: spans with ids, parent, service,
 * name, kind, status, start and duration in nanoseconds, typed attributes, resource
 * attributes and events.
 *
 * The model is read directly, as plain structs borrowed from their rig_trace: every pointer
 * lives until rig_trace_free().
 *
 * Selectors (docs/selectors.md) pick spans: `span[service.name="orders" name="POST /orders"]`,
 * `span[kind=server] > span[status=error]`, `span:first`. Assertions are checked on what a
 * selector picked: `count == 1`, `duration < 200ms`, `http.response.status_code = 201`,
 * `connected`.
 */
#ifndef STACKRIG_JAEGER_H
#define STACKRIG_JAEGER_H

#include "common.h"
#include "otlp.h"

RIG_BEGIN_DECLS

/* ---- the trace model ---- */

/** A timestamped event of a span (an exception, a log line). */
typedef struct rig_span_event {
  const char *name;
  int64_t time_unix_ns;
  const rig_attribute *attributes;
  size_t attribute_count;
} rig_span_event;

/** One span. Spans of a trace are ordered by start time (then by span id). */
typedef struct rig_span {
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t parent_span_id[8]; /**< all zeros for a root span */
  char trace_id_hex[RIG_TRACE_ID_HEX_LEN + 1];
  char span_id_hex[RIG_SPAN_ID_HEX_LEN + 1];
  char parent_span_id_hex[RIG_SPAN_ID_HEX_LEN + 1]; /**< "" for a root span */
  const char *service;                              /**< service.name of the resource, or "" */
  const char *name;                                 /**< the span (operation) name */
  rig_span_kind kind;
  rig_status_code status;
  const char *status_message; /**< "" when none */
  int64_t start_unix_ns;
  int64_t duration_ns;
  const char *scope_name;          /**< instrumentation scope, or "" */
  const char *scope_version;       /**< or "" */
  const rig_attribute *attributes; /**< the span's own attributes */
  size_t attribute_count;
  const rig_attribute *resource_attributes; /**< its resource's (service.name included) */
  size_t resource_attribute_count;
  const rig_span_event *events;
  size_t event_count;
  size_t index;                           /**< position in the trace */
  const struct rig_span *parent;          /**< NULL for a root, or when the parent is missing */
  const struct rig_span *const *children; /**< child_count children in start order */
  size_t child_count;
} rig_span;

/** A trace: spans of one trace id. Opaque; its spans are read through rig_trace_span(). */
typedef struct rig_trace rig_trace;
/** Several traces, as a search answers. */
typedef struct rig_trace_list rig_trace_list;

/**
 * Reads a trace from JSON in any of the shapes Jaeger answers with: OTLP JSON
 * (`{"resourceSpans": [...]}`), the v3 gateway's `{"result": {...}}` (one object or a
 * stream of them), or v1's `{"data": [{"traceID": ..., "spans": [...], "processes":
 * {...}}]}`. Spans of other trace ids than the first one met are ignored; use
 * rig_trace_list_parse() for answers with several traces.
 * @param[out] out the trace; free with rig_trace_free()
 * @return RIG_OK, RIG_ENOTFOUND (valid JSON without any span) or RIG_EPARSE (the message
 *   names the JSON path of the bad field)
 */
RIG_EXTERN int rig_trace_parse(rig_trace **out, const char *json, size_t len);
RIG_EXTERN void rig_trace_free(rig_trace *trace);

/** @return the trace id as 32 lowercase hex digits. */
RIG_EXTERN const char *rig_trace_id_hex(const rig_trace *trace);
RIG_EXTERN size_t rig_trace_span_count(const rig_trace *trace);
/** @return the i-th span (start-time order), or NULL past the end. */
RIG_EXTERN const rig_span *rig_trace_span(const rig_trace *trace, size_t i);
/** @return the span with that id (hex, any case), or NULL. */
RIG_EXTERN const rig_span *rig_trace_find_span(const rig_trace *trace, const char *span_id_hex);
/** @return the earliest span without a parent in the trace, or NULL when every span has one. */
RIG_EXTERN const rig_span *rig_trace_root(const rig_trace *trace);
/** @return the number of distinct services, and each by index (first-seen order). */
RIG_EXTERN size_t rig_trace_service_count(const rig_trace *trace);
RIG_EXTERN const char *rig_trace_service(const rig_trace *trace, size_t i);

/**
 * Checks that the spans form one tree: exactly one span has no parent, every other span's
 * parent is in the trace, and there is no cycle.
 * @return RIG_OK or RIG_EASSERT with a message naming the orphans or the extra roots
 */
RIG_EXTERN int rig_trace_check_connected(const rig_trace *trace);

/**
 * Describes the trace for humans: id, span count, services, and the span tree with kind,
 * status and duration of each span.
 * @param[out] out a NUL-terminated string, free() it
 */
RIG_EXTERN int rig_trace_describe(char **out, const rig_trace *trace);

/**
 * Encodes the trace as stackrig's own JSON (documented in docs/traces.md): the same for
 * every API flavour it came from, for artifacts and diffs.
 * @param[out] out a NUL-terminated string, free() it
 */
RIG_EXTERN int rig_trace_to_json(char **out, const rig_trace *trace);

/** @return a span attribute (the span's own first, then its resource's), or NULL. */
RIG_EXTERN const rig_value *rig_span_attribute(const rig_span *span, const char *key);
/** @return a resource attribute of the span, or NULL. */
RIG_EXTERN const rig_value *rig_span_resource_attribute(const rig_span *span, const char *key);

/**
 * Renders a value for messages: strings as they are, numbers in decimal, arrays as
 * ["a", 1], bytes in base64.
 * @param[out] out free() it
 */
RIG_EXTERN int rig_value_to_string(char **out, const rig_value *value);

/** Reads several traces (a search answer), grouped by trace id in first-seen order. */
RIG_EXTERN int rig_trace_list_parse(rig_trace_list **out, const char *json, size_t len);
RIG_EXTERN size_t rig_trace_list_count(const rig_trace_list *list);
/** @return the i-th trace, borrowed from the list, or NULL. */
RIG_EXTERN const rig_trace *rig_trace_list_get(const rig_trace_list *list, size_t i);
/** Moves the i-th trace out of the list (its slot becomes empty). @return it, or NULL. */
RIG_EXTERN rig_trace *rig_trace_list_take(rig_trace_list *list, size_t i);
RIG_EXTERN void rig_trace_list_free(rig_trace_list *list);

/* ---- selectors ---- */

typedef struct rig_selector rig_selector;

/**
 * Parses a selector (grammar in docs/selectors.md).
 * @param[out] out the selector; free with rig_selector_free()
 * @return RIG_OK or RIG_EPARSE; the message names the column and what was expected there,
 *   details "column" and "expected"
 */
RIG_EXTERN int rig_selector_parse(rig_selector **out, const char *text);
RIG_EXTERN void rig_selector_free(rig_selector *selector);
/** @return the text the selector was parsed from. */
RIG_EXTERN const char *rig_selector_text(const rig_selector *selector);

/** The spans a selector picked, in trace order, each once. */
typedef struct rig_selection {
  const rig_span **spans;
  size_t count;
} rig_selection;

/**
 * @param[out] out the selection (borrowing spans of trace); free with rig_selection_free()
 */
RIG_EXTERN int rig_selector_select(rig_selection **out, const rig_selector *selector,
                                   const rig_trace *trace);
RIG_EXTERN void rig_selection_free(rig_selection *selection);

/** @return 1 when the span satisfies every condition of some selector's last step, ignoring
 *  its ancestors and pseudo-classes; 0 otherwise. For "does this span look right" checks. */
RIG_EXTERN int rig_selector_matches_span(const rig_selector *selector, const rig_span *span);

/* ---- assertions ---- */

/**
 * A list of expectations on a trace: each is a selector and an assertion on what it
 * picks. Assertions (docs/selectors.md):
 *   count == N, count >= N, count != N, count < N ...  (count == 0: no such span)
 *   PROPERTY OP VALUE      every picked span (and at least one) satisfies it, e.g.
 *                          duration < 200ms, status = ok, kind = server,
 *                          http.response.status_code >= 200, name contains "orders"
 *   connected              the whole trace forms one tree
 */
typedef struct rig_trace_expect rig_trace_expect;

/** @param[out] out an empty list; free with rig_trace_expect_free() */
RIG_EXTERN int rig_trace_expect_new(rig_trace_expect **out);
RIG_EXTERN void rig_trace_expect_free(rig_trace_expect *expect);

/**
 * Adds an expectation. Both texts are parsed at once, so a typo is reported here with its
 * column, not when the trace is checked.
 * @param selector NULL or "" means every span ("span")
 * @return RIG_OK or RIG_EPARSE
 */
RIG_EXTERN int rig_trace_expect_add(rig_trace_expect *expect, const char *selector,
                                    const char *assertion);

/** Adds "the trace has exactly span_count spans". */
RIG_EXTERN int rig_trace_expect_span_count(rig_trace_expect *expect, size_t span_count);

/**
 * Checks every expectation once.
 * @return RIG_OK or RIG_EASSERT; the message names each failed expectation, what the
 *   selector picked, the closest candidate span and which condition it missed, and
 *   describes the trace (services, span tree)
 */
RIG_EXTERN int rig_trace_expect_check(const rig_trace_expect *expect, const rig_trace *trace);

/**
 * Checks one selector and assertion at once: rig_trace_expect_add + rig_trace_expect_check.
 * @return RIG_OK, RIG_EPARSE or RIG_EASSERT
 */
RIG_EXTERN int rig_trace_assert(const rig_trace *trace, const char *selector,
                                const char *assertion);

/* ---- the query client ---- */

/** Which query API the client speaks. */
typedef enum rig_jaeger_api {
  RIG_JAEGER_API_AUTO = 0, /**< find out on first use */
  RIG_JAEGER_API_V3,       /**< /api/v3 with camelCase parameters (query.serviceName) */
  RIG_JAEGER_API_V3_SNAKE, /**< /api/v3 with snake_case parameters (query.service_name) */
  RIG_JAEGER_API_V1        /**< /api/traces */
} rig_jaeger_api;

/** @return "v3", "v3-snake_case", "v1" or "auto". */
RIG_EXTERN const char *rig_jaeger_api_name(rig_jaeger_api api);

typedef struct rig_jaeger rig_jaeger;

typedef struct rig_jaeger_options {
  unsigned int version;
  rig_jaeger_api api; /**< RIG_JAEGER_API_AUTO to detect */
  int64_t timeout_ms; /**< per request; 0: 10000 */
} rig_jaeger_options;

#define RIG_JAEGER_OPTIONS_VERSION 1
#define RIG_JAEGER_OPTIONS_INIT                                                                    \
  {                                                                                                \
    RIG_JAEGER_OPTIONS_VERSION, RIG_JAEGER_API_AUTO, 0                                             \
  }

/**
 * @param[out] out the client (no request is made yet); free with rig_jaeger_free()
 * @param base_url the query service, e.g. "http://127.0.0.1:16686"
 * @param opts NULL for the defaults
 */
RIG_EXTERN int rig_jaeger_new(rig_jaeger **out, const char *base_url,
                              const rig_jaeger_options *opts);
RIG_EXTERN void rig_jaeger_free(rig_jaeger *client);

/**
 * Finds out (once, then remembers) which API the server speaks.
 * @param[out] out the API in use
 * @return RIG_OK, RIG_ECONNECT, or RIG_EUNSUPPORTED when the URL answers but is no Jaeger
 *   query service
 */
RIG_EXTERN int rig_jaeger_api_in_use(rig_jaeger_api *out, rig_jaeger *client);

/**
 * @param[out] out the trace; free with rig_trace_free()
 * @param trace_id_hex 1 to 32 hex digits
 * @return RIG_OK, RIG_ENOTFOUND (not stored, or not yet), RIG_EINVAL for a malformed id,
 *   RIG_EHTTP (with the server's message), RIG_EPARSE, RIG_ECONNECT, RIG_ETIMEOUT
 */
RIG_EXTERN int rig_jaeger_get_trace(rig_trace **out, rig_jaeger *client, const char *trace_id_hex);

/** A key and value a trace must carry (on any span or resource) to be found. */
typedef struct rig_jaeger_tag {
  const char *key;
  const char *value;
} rig_jaeger_tag;

typedef struct rig_trace_query {
  unsigned int version;
  const char *service;        /**< required */
  const char *operation;      /**< span name, or NULL */
  const rig_jaeger_tag *tags; /**< tag_count tags, or NULL */
  size_t tag_count;
  int64_t start_min_unix_ns; /**< 0: an hour ago */
  int64_t start_max_unix_ns; /**< 0: now (plus a minute for clock skew) */
  int64_t duration_min_ns;   /**< 0: no bound */
  int64_t duration_max_ns;   /**< 0: no bound */
  int limit;                 /**< at most this many traces; 0: 20 */
} rig_trace_query;

#define RIG_TRACE_QUERY_VERSION 1
#define RIG_TRACE_QUERY_INIT                                                                       \
  {                                                                                                \
    RIG_TRACE_QUERY_VERSION, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0                                    \
  }

/**
 * Searches traces. Tags go to the server where the API supports them (v1) and are also
 * checked here, so every flavour answers the same; /api/v3 has no tag filter, so there the
 * limit applies before the tag check.
 * @param[out] out the traces found (maybe none); free with rig_trace_list_free()
 * @return RIG_OK, RIG_EINVAL (no service), RIG_EHTTP, RIG_EPARSE, RIG_ECONNECT, RIG_ETIMEOUT
 */
RIG_EXTERN int rig_jaeger_find_traces(rig_trace_list **out, rig_jaeger *client,
                                      const rig_trace_query *query);

/**
 * @param[out] out a NULL-terminated, sorted array of service names; free with
 *   rig_jaeger_names_free()
 */
RIG_EXTERN int rig_jaeger_services(char ***out, rig_jaeger *client);
/** @param[out] out the operation (span) names of a service, as rig_jaeger_services(). */
RIG_EXTERN int rig_jaeger_operations(char ***out, rig_jaeger *client, const char *service);
RIG_EXTERN void rig_jaeger_names_free(char **names);

/* ---- eventually ---- */

typedef struct rig_jaeger_wait_options {
  unsigned int version;
  int64_t timeout_ms;         /**< give up after this long; 0: 10000 */
  int64_t initial_backoff_ms; /**< first pause between polls; 0: 5 */
  int64_t max_backoff_ms;     /**< the pause doubles up to this; 0: 100 */
  int stable_polls;           /**< the trace counts as complete when its span count is the
                                   same this many polls in a row; 0: 2; 1: no waiting. The
                                   pause starts over whenever the count changes, so this
                                   guards against a trace caught while being written; spans
                                   sent in several exports call for an expected span count
                                   (rig_trace_expect_span_count) */
  const char *artifacts_dir;  /**< on failure write trace-<id>.json here; NULL: the
                                   STACKRIG_ARTIFACTS_DIR environment variable, if set */
} rig_jaeger_wait_options;

#define RIG_JAEGER_WAIT_OPTIONS_VERSION 1
#define RIG_JAEGER_WAIT_OPTIONS_INIT                                                               \
  {                                                                                                \
    RIG_JAEGER_WAIT_OPTIONS_VERSION, 0, 0, 0, 0, NULL                                              \
  }

/**
 * Polls a trace until it is complete and every expectation holds, or the timeout passes.
 * "Not found yet" (and a transient HTTP error or request timeout) counts as not yet. The
 * pause between polls starts at a few milliseconds and doubles up to max_backoff_ms.
 * @param[out] out the last trace fetched (also on failure, when there was one); may be
 *   NULL; free with rig_trace_free()
 * @param expect the expectations, or NULL to wait for the trace alone
 * @return RIG_OK; RIG_EASSERT (the trace came but an expectation failed until the end: the
 *   message is that of rig_trace_expect_check()); RIG_ETIMEOUT (the trace never came: the
 *   message lists the services Jaeger knows); RIG_ECONNECT and other errors of the client
 *   at once. Detail "artifact" names the file written, if any.
 */
RIG_EXTERN int rig_jaeger_expect_trace(rig_trace **out, rig_jaeger *client,
                                       const char *trace_id_hex, const rig_trace_expect *expect,
                                       const rig_jaeger_wait_options *opts);

/**
 * As rig_jaeger_expect_trace() for the traces a search finds: succeeds when some found
 * trace satisfies every expectation.
 * @param[out] out that trace (may be NULL)
 */
RIG_EXTERN int rig_jaeger_expect_search(rig_trace **out, rig_jaeger *client,
                                        const rig_trace_query *query,
                                        const rig_trace_expect *expect,
                                        const rig_jaeger_wait_options *opts);

RIG_END_DECLS

#endif
