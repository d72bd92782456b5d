/*
 * stackrig/otlp.h - W3C Trace Context (traceparent, traceresponse) and an OTLP/HTTP JSON
 * span emitter.
 *
 * The traceparent part is plain data with no allocation: generate, parse, format, and
 * hex helpers for trace and span ids. The traffic generator injects these headers.
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
  uint8_t version;      /**< 0 for what we make; a parsed future version is kept here */
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t flags;        /**< RIG_TRACE_FLAG_SAMPLED and any flags a sender set */
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

RIG_END_DECLS

#endif
