/*
 * otlp_internal.h - helpers the otlp and jaeger modules share: a JSON writer that always
 * produces valid JSON (UTF-8 repaired, control characters escaped, doubles that round-trip),
 * base64, typed value copies, and the Retry-After parser.
 */
#ifndef RIG_OTLP_INTERNAL_H
#define RIG_OTLP_INTERNAL_H

#include "stackrig/otlp.h"
#include "util.h"

/* Appends s as a JSON string literal; invalid UTF-8 bytes become U+FFFD. */
void rig__json_string(rig_buf *buf, const char *s);
/* Appends a double as the shortest JSON number that reads back the same; NaN and the
 * infinities become the strings "NaN", "Infinity", "-Infinity" (proto3 JSON). */
void rig__json_double(rig_buf *buf, double value);
/* Appends an OTLP AnyValue object ({"stringValue": ...}, {"intValue": "42"}, ...). */
void rig__json_any_value(rig_buf *buf, const rig_value *value);
/* Appends an OTLP attribute array: [{"key": ..., "value": AnyValue}, ...]. */
void rig__json_attributes(rig_buf *buf, const rig_attribute *attributes, size_t count);

/* Deep copy of a value into freshly allocated memory, and its release. */
void rig__value_copy(rig_value *out, const rig_value *value);
void rig__value_dispose(rig_value *value);
/* A readable rendering for messages and comparisons: strings as they are, arrays as
 * ["a", 1], bytes as base64. free() the result. */
char *rig__value_to_text(const rig_value *value);

/*
 * Parses a Retry-After header value: delay-seconds or an HTTP-date (IMF-fixdate, RFC 850,
 * asctime). A date in the past gives 0.
 * @param now_unix_ms the current wall-clock time
 * @return RIG_OK or RIG_EPARSE
 */
int rig__retry_after_ms(int64_t *out_ms, const char *value, int64_t now_unix_ms);

#endif
