/*
 * stackrig/otlp.h - W3C Trace Context (traceparent, traceresponse) and an OTLP/HTTP JSON
 * span emitter.
 *
 * The traceparent part is plain data with no allocation: generate, parse, format, and
 * hex helpers for trace and span ids. The traffic generator injects these headers.
 *
 * The emitter builds spans in C (resources, scopes, typed attributes, events, status) into
 * a batch and sends the batch as one OTLP/HTTP JSON request, `POST {endpoint}/v1/traces`,
 * retrying what the OTLP spec calls retryable (429, 502, 503, 504) within a deadline.
 *
 *   rig_otlp_batch *batch;  rig_otlp_batch_new(&batch);
 *   rig_otlp_resource *orders;  rig_otlp_batch_add_resource(&orders, batch, "orders");
 *   rig_otlp_span *root;  rig_otlp_span_start(&root, orders, "POST /orders", NULL);
 *   rig_otlp_attrs_set_int(rig_otlp_span_attributes(root), "http.response.status_code", 201);
 *   rig_otlp_span_end(root);
 *   rig_otlp_exporter_send(exporter, batch);
 */
#ifndef STACKRIG_OTLP_H
#define STACKRIG_OTLP_H

#include "common.h"

RIG_BEGIN_DECLS

/* ---- W3C Trace Context ---- */

/** Length of a version-00 traceparent or traceresponse value: "00-<32>-<16>-<2>". */
#define RIG_TRACEPARENT_LEN 55
/** Hex digits of a trace id (16 bytes) and of a span id (8 bytes). */
#define RIG_TRACE_ID_HEX_LEN 32
#define RIG_SPAN_ID_HEX_LEN 16
/** The sampled bit of trace-flags. */
#define RIG_TRACE_FLAG_SAMPLED 0x01

/**
 * One traceparent (or traceresponse) value. For a traceparent, span_id is the caller's
 * span (the spec's parent-id); for a traceresponse it is the callee's span (child-id).
 */
typedef struct rig_traceparent {
  uint8_t version; /**< 0 for what we make; a parsed future version is kept here */
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t flags; /**< RIG_TRACE_FLAG_SAMPLED and any flags a sender set */
} rig_traceparent;

/**
 * Makes a new context with a random span id (never all-zero). Without a parent it also
 * makes a random trace id; with one it continues the parent's trace.
 * @param[out] out the new context (version 0)
 * @param parent the incoming context to continue, or NULL to start a new trace
 * @param sampled 1 sets the sampled flag, 0 clears it, -1 copies it from parent (cleared
 *   when parent is NULL)
 * @return RIG_OK, or RIG_EIO when the system has no source of randomness
 */
RIG_EXTERN int rig_traceparent_new(rig_traceparent *out, const rig_traceparent *parent,
                                   int sampled);

/**
 * Parses a traceparent header value exactly as the W3C Trace Context spec says: four
 * '-'-separated fields of lowercase hex; version "ff" is invalid; version 00 is exactly 55
 * characters; a higher version may be longer when the first 55 characters parse and the
 * next one is '-'; an all-zero trace id or span id is invalid. Surrounding spaces and tabs
 * (HTTP optional whitespace) are ignored.
 * @param[out] out the parsed value, untouched on failure
 * @param text the header value, NUL-terminated
 * @return RIG_OK or RIG_EPARSE with a message saying what is wrong and at which column
 */
RIG_EXTERN int rig_traceparent_parse(rig_traceparent *out, const char *text);

/** As rig_traceparent_parse(), for a value of len bytes that need not be NUL-terminated. */
RIG_EXTERN int rig_traceparent_parse_n(rig_traceparent *out, const char *text, size_t len);

/**
 * Formats a value as version 00 (the only layout this library knows; a context parsed
 * from a future version is propagated as 00, as the spec asks).
 * @param[out] out RIG_TRACEPARENT_LEN characters and a NUL
 */
RIG_EXTERN void rig_traceparent_format(char out[RIG_TRACEPARENT_LEN + 1],
                                       const rig_traceparent *value);

/**
 * Parses a traceresponse header value (version-trace-id-child-id-trace-flags); same rules
 * as rig_traceparent_parse().
 */
RIG_EXTERN int rig_traceresponse_parse(rig_traceparent *out, const char *text);

/** Formats a traceresponse value; the layout is that of traceparent. */
RIG_EXTERN void rig_traceresponse_format(char out[RIG_TRACEPARENT_LEN + 1],
                                         const rig_traceparent *value);

/** @return 1 when the sampled flag is set. */
RIG_EXTERN int rig_traceparent_sampled(const rig_traceparent *value);

/** Writes a trace id as 32 lowercase hex digits and a NUL. */
RIG_EXTERN void rig_trace_id_to_hex(char out[RIG_TRACE_ID_HEX_LEN + 1], const uint8_t id[16]);

/** Writes a span id as 16 lowercase hex digits and a NUL. */
RIG_EXTERN void rig_span_id_to_hex(char out[RIG_SPAN_ID_HEX_LEN + 1], const uint8_t id[8]);

/**
 * Reads a trace id from 1 to 32 hex digits (either case); shorter ids are padded with
 * leading zeros, as some backends print ids without them.
 * @param[out] out 16 bytes, untouched on failure
 * @return RIG_OK or RIG_EPARSE (empty, too long or a non-hex character)
 */
RIG_EXTERN int rig_trace_id_from_hex(uint8_t out[16], const char *hex);

/** Reads a span id from 1 to 16 hex digits, as rig_trace_id_from_hex(). */
RIG_EXTERN int rig_span_id_from_hex(uint8_t out[8], const char *hex);

/** @return 1 when the id is not all zeros (the spec's invalid value). */
RIG_EXTERN int rig_trace_id_is_valid(const uint8_t id[16]);
RIG_EXTERN int rig_span_id_is_valid(const uint8_t id[8]);

/**
 * Fills buf with random bytes from the kernel (getrandom, else /dev/urandom).
 * @return RIG_OK or RIG_EIO
 */
RIG_EXTERN int rig_random_bytes(void *buf, size_t len);

/* ---- typed values (shared with the trace model of stackrig/jaeger.h) ---- */

/** The kind of a span, with OTLP's numbering. */
typedef enum rig_span_kind {
  RIG_SPAN_KIND_UNSPECIFIED = 0,
  RIG_SPAN_KIND_INTERNAL = 1,
  RIG_SPAN_KIND_SERVER = 2,
  RIG_SPAN_KIND_CLIENT = 3,
  RIG_SPAN_KIND_PRODUCER = 4,
  RIG_SPAN_KIND_CONSUMER = 5
} rig_span_kind;

/** The status of a span, with OTLP's numbering. */
typedef enum rig_status_code {
  RIG_STATUS_UNSET = 0,
  RIG_STATUS_OK = 1,
  RIG_STATUS_ERROR = 2
} rig_status_code;

/** @return "server", "client", "internal", "producer", "consumer" or "unspecified". */
RIG_EXTERN const char *rig_span_kind_name(rig_span_kind kind);
/** @return "ok", "error" or "unset". */
RIG_EXTERN const char *rig_status_code_name(rig_status_code code);

/** The type of an attribute value (OTLP's AnyValue). */
typedef enum rig_value_type {
  RIG_VALUE_EMPTY = 0,
  RIG_VALUE_STRING,
  RIG_VALUE_BOOL,
  RIG_VALUE_INT,
  RIG_VALUE_DOUBLE,
  RIG_VALUE_BYTES,
  RIG_VALUE_ARRAY,
  RIG_VALUE_KVLIST
} rig_value_type;

struct rig_attribute;

/** A typed value. Only the member(s) named by type are meaningful. */
typedef struct rig_value {
  rig_value_type type;
  const char *string;                     /**< STRING (UTF-8, NUL-terminated) */
  int boolean;                            /**< BOOL: 0 or 1 */
  int64_t integer;                        /**< INT */
  double number;                          /**< DOUBLE */
  const uint8_t *bytes;                   /**< BYTES: count bytes */
  size_t count;                           /**< BYTES: length; ARRAY, KVLIST: items */
  const struct rig_value *items;          /**< ARRAY: count values */
  const struct rig_attribute *attributes; /**< KVLIST: count key/value pairs */
} rig_value;

/** A key and its value. */
typedef struct rig_attribute {
  const char *key;
  rig_value value;
} rig_attribute;

/* ---- spans: batch > resource > span (> event) ---- */

/** The spans of one export request; owns every resource, span and event added to it. */
typedef struct rig_otlp_batch rig_otlp_batch;
/** A resource (one service); borrowed from its batch. */
typedef struct rig_otlp_resource rig_otlp_resource;
/** A span; borrowed from its batch. */
typedef struct rig_otlp_span rig_otlp_span;
/** An attribute list of a resource, span or event; borrowed from its owner. */
typedef struct rig_otlp_attrs rig_otlp_attrs;

/** @param[out] out an empty batch; free with rig_otlp_batch_free() */
RIG_EXTERN int rig_otlp_batch_new(rig_otlp_batch **out);
/** Frees a batch and everything in it. NULL-safe. */
RIG_EXTERN void rig_otlp_batch_free(rig_otlp_batch *batch);
/** @return the number of spans in the batch. */
RIG_EXTERN size_t rig_otlp_batch_span_count(const rig_otlp_batch *batch);

/**
 * Adds a resource whose `service.name` attribute is service_name.
 * @param[out] out the resource, owned by the batch
 * @return RIG_OK or RIG_EINVAL (no batch, empty service name)
 */
RIG_EXTERN int rig_otlp_batch_add_resource(rig_otlp_resource **out, rig_otlp_batch *batch,
                                           const char *service_name);
/** @return the resource's attribute list (service.name is its first entry). */
RIG_EXTERN rig_otlp_attrs *rig_otlp_resource_attributes(rig_otlp_resource *resource);

/**
 * Starts a span in a resource: its start time is now, its kind INTERNAL, its scope
 * "stackrig" at the library's version. With a parent (a span of any resource of the
 * same batch) it joins the parent's trace as its child; without one it starts a new trace
 * with random ids.
 * @param[out] out the span, owned by the batch
 * @return RIG_OK, RIG_EINVAL (no resource or name, a parent from another batch) or RIG_EIO
 *   (no randomness)
 */
RIG_EXTERN int rig_otlp_span_start(rig_otlp_span **out, rig_otlp_resource *resource,
                                   const char *name, const rig_otlp_span *parent);

/**
 * Starts a span whose parent lives elsewhere: it joins remote's trace, with remote's span
 * id as its parent span id (remote typically comes from an incoming traceparent header).
 */
RIG_EXTERN int rig_otlp_span_start_remote(rig_otlp_span **out, rig_otlp_resource *resource,
                                          const char *name, const rig_traceparent *remote);

/** Ends a span now. Calling it again moves the end. */
RIG_EXTERN void rig_otlp_span_end(rig_otlp_span *span);

/**
 * Sets both times explicitly, in nanoseconds since the Unix epoch.
 * @return RIG_OK or RIG_EINVAL when end_unix_ns < start_unix_ns
 */
RIG_EXTERN int rig_otlp_span_set_times(rig_otlp_span *span, int64_t start_unix_ns,
                                       int64_t end_unix_ns);

RIG_EXTERN void rig_otlp_span_set_kind(rig_otlp_span *span, rig_span_kind kind);

/** Sets the status; message (may be NULL) is kept only for RIG_STATUS_ERROR, as OTLP says. */
RIG_EXTERN void rig_otlp_span_set_status(rig_otlp_span *span, rig_status_code code,
                                         const char *message);

/** Sets the instrumentation scope the span is reported under (version may be NULL). */
RIG_EXTERN int rig_otlp_span_set_scope(rig_otlp_span *span, const char *name, const char *version);

/**
 * Replaces the span's ids, e.g. to report a span whose id already went out in a
 * traceparent header. parent_span_id NULL makes it a root span.
 * @return RIG_OK or RIG_EINVAL for an all-zero trace or span id
 */
RIG_EXTERN int rig_otlp_span_set_ids(rig_otlp_span *span, const uint8_t trace_id[16],
                                     const uint8_t span_id[8], const uint8_t parent_span_id[8]);

/**
 * The span's context, as the traceparent a request made within this span carries.
 * @param[out] out version 00, this span's trace and span id, sampled
 */
RIG_EXTERN void rig_otlp_span_context(rig_traceparent *out, const rig_otlp_span *span);

/** Writes the span's trace id as 32 lowercase hex digits and a NUL. */
RIG_EXTERN void rig_otlp_span_trace_id_hex(char out[RIG_TRACE_ID_HEX_LEN + 1],
                                           const rig_otlp_span *span);

/** @return the span's attribute list. */
RIG_EXTERN rig_otlp_attrs *rig_otlp_span_attributes(rig_otlp_span *span);

/**
 * Adds an event to a span.
 * @param[out] out the event's attribute list (may be NULL when not needed)
 * @param time_unix_ns the event's time; 0: now
 */
RIG_EXTERN int rig_otlp_span_add_event(rig_otlp_attrs **out, rig_otlp_span *span, const char *name,
                                       int64_t time_unix_ns);

/*
 * Attribute setters. A key set twice keeps its first position and takes the new value
 * (OTLP forbids duplicate keys). Strings are copied. Each returns RIG_OK, or RIG_EINVAL
 * for a NULL list, an empty key or a NULL string.
 */
RIG_EXTERN int rig_otlp_attrs_set_string(rig_otlp_attrs *attrs, const char *key, const char *value);
RIG_EXTERN int rig_otlp_attrs_set_bool(rig_otlp_attrs *attrs, const char *key, int value);
RIG_EXTERN int rig_otlp_attrs_set_int(rig_otlp_attrs *attrs, const char *key, int64_t value);
RIG_EXTERN int rig_otlp_attrs_set_double(rig_otlp_attrs *attrs, const char *key, double value);
/** Bytes are sent base64-encoded, as OTLP JSON says. */
RIG_EXTERN int rig_otlp_attrs_set_bytes(rig_otlp_attrs *attrs, const char *key, const void *data,
                                        size_t len);
RIG_EXTERN int rig_otlp_attrs_set_string_array(rig_otlp_attrs *attrs, const char *key,
                                               const char *const *values, size_t count);
RIG_EXTERN int rig_otlp_attrs_set_int_array(rig_otlp_attrs *attrs, const char *key,
                                            const int64_t *values, size_t count);
RIG_EXTERN int rig_otlp_attrs_set_double_array(rig_otlp_attrs *attrs, const char *key,
                                               const double *values, size_t count);
RIG_EXTERN int rig_otlp_attrs_set_bool_array(rig_otlp_attrs *attrs, const char *key,
                                             const int *values, size_t count);
/** Sets any value, arrays and key/value lists included, deep-copied. */
RIG_EXTERN int rig_otlp_attrs_set_value(rig_otlp_attrs *attrs, const char *key,
                                        const rig_value *value);
/** @return the number of attributes in the list. */
RIG_EXTERN size_t rig_otlp_attrs_count(const rig_otlp_attrs *attrs);
/** @return the value of key, borrowed from the list, or NULL. */
RIG_EXTERN const rig_value *rig_otlp_attrs_get(const rig_otlp_attrs *attrs, const char *key);

/**
 * Encodes the batch as an OTLP ExportTraceServiceRequest in JSON: lowerCamelCase field
 * names, trace and span ids as hex, 64-bit integers as decimal strings, enums as integers,
 * bytes as base64; spans grouped by resource, then by scope.
 * @param[out] out a NUL-terminated string, free() it
 */
RIG_EXTERN int rig_otlp_batch_to_json(char **out, const rig_otlp_batch *batch);

/* ---- sending ---- */

typedef struct rig_otlp_exporter rig_otlp_exporter;

typedef struct rig_otlp_exporter_options {
  unsigned int version;
  int64_t request_timeout_ms; /**< one HTTP request; 0: 10000 */
  int64_t deadline_ms;        /**< one export including its retries; 0: 30000 */
  int64_t initial_backoff_ms; /**< first retry delay without Retry-After; 0: 100 */
  int64_t max_backoff_ms;     /**< cap of the doubling delay; 0: 2000 */
  const char *const *headers; /**< extra "Name: value" headers, NULL-terminated, or NULL */
} rig_otlp_exporter_options;

#define RIG_OTLP_EXPORTER_OPTIONS_VERSION 1
#define RIG_OTLP_EXPORTER_OPTIONS_INIT                                                             \
  {                                                                                                \
    RIG_OTLP_EXPORTER_OPTIONS_VERSION, 0, 0, 0, 0, NULL                                            \
  }

/**
 * @param[out] out the exporter; free with rig_otlp_exporter_free()
 * @param endpoint the collector's OTLP/HTTP base URL, e.g. "http://127.0.0.1:4318";
 *   "/v1/traces" is appended unless the URL already ends with it
 * @param opts NULL for the defaults
 * @return RIG_OK or RIG_EINVAL
 */
RIG_EXTERN int rig_otlp_exporter_new(rig_otlp_exporter **out, const char *endpoint,
                                     const rig_otlp_exporter_options *opts);
RIG_EXTERN void rig_otlp_exporter_free(rig_otlp_exporter *exporter);

/**
 * Sends every span of the batch in one request. 429, 502, 503 and 504 are retried after
 * the server's Retry-After (seconds or an HTTP-date) or else a doubling, jittered delay,
 * until the deadline; other statuses are not retried.
 * @return RIG_OK; RIG_EHTTP for a refused request, with the server's message (and a
 *   partial success that rejected spans); RIG_ETIMEOUT when the deadline passed while
 *   retrying (or a Retry-After pointed past it); RIG_ECONNECT when nothing listens (not
 *   retried: readiness is the wait module's job); RIG_EINVAL for an empty batch.
 *   Details: "url", "status", "attempts".
 */
RIG_EXTERN int rig_otlp_exporter_send(rig_otlp_exporter *exporter, const rig_otlp_batch *batch);

/** @return the number of HTTP requests the last rig_otlp_exporter_send() made. */
RIG_EXTERN int rig_otlp_exporter_last_attempts(const rig_otlp_exporter *exporter);

RIG_END_DECLS

#endif
