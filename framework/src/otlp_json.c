/*
 * otlp_json.c - the JSON writer and value helpers shared by the otlp and jaeger modules.
 * Whatever goes in, what comes out is valid JSON: OTLP receivers reject a whole request
 * for one bad byte, and a test framework's diagnostics must never fail to print.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "otlp_internal.h"
#include "stackrig/error.h"

void rig__json_string(rig_buf *buf, const char *s)
{
  if (s == NULL)
    s = "";
  rig__buf_put_json_string(buf, s);
}

void rig__json_double(rig_buf *buf, double value)
{
  if (isnan(value)) {
    rig__buf_puts(buf, "\"NaN\"");
    return;
  }
  if (isinf(value)) {
    rig__buf_puts(buf, value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char text[40];
  for (int precision = 15; precision <= 17; precision++) {
    snprintf(text, sizeof text, "%.*g", precision, value);
    if (strtod(text, NULL) == value)
      break;
  }
  rig__buf_puts(buf, text);
}

void rig__json_attributes(rig_buf *buf, const rig_attribute *attributes, size_t count)
{
  rig__buf_putc(buf, '[');
  for (size_t i = 0; i < count; i++) {
    if (i > 0)
      rig__buf_putc(buf, ',');
    rig__buf_puts(buf, "{\"key\":");
    rig__json_string(buf, attributes[i].key);
    rig__buf_puts(buf, ",\"value\":");
    rig__json_any_value(buf, &attributes[i].value);
    rig__buf_putc(buf, '}');
  }
  rig__buf_putc(buf, ']');
}

void rig__json_any_value(rig_buf *buf, const rig_value *value)
{
  switch (value->type) {
  case RIG_VALUE_STRING:
    rig__buf_puts(buf, "{\"stringValue\":");
    rig__json_string(buf, value->string);
    rig__buf_putc(buf, '}');
    break;
  case RIG_VALUE_BOOL:
    rig__buf_puts(buf, value->boolean ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
    break;
  case RIG_VALUE_INT:
    /* proto3 JSON writes 64-bit integers as decimal strings. */
    rig__buf_printf(buf, "{\"intValue\":\"%" PRId64 "\"}", value->integer);
    break;
  case RIG_VALUE_DOUBLE:
    rig__buf_puts(buf, "{\"doubleValue\":");
    rig__json_double(buf, value->number);
    rig__buf_putc(buf, '}');
    break;
  case RIG_VALUE_BYTES:
    rig__buf_puts(buf, "{\"bytesValue\":\"");
    rig__base64_encode(buf, value->bytes, value->count, RIG_BASE64_STANDARD);
    rig__buf_puts(buf, "\"}");
    break;
  case RIG_VALUE_ARRAY:
    rig__buf_puts(buf, "{\"arrayValue\":{\"values\":[");
    for (size_t i = 0; i < value->count; i++) {
      if (i > 0)
        rig__buf_putc(buf, ',');
      rig__json_any_value(buf, &value->items[i]);
    }
    rig__buf_puts(buf, "]}}");
    break;
  case RIG_VALUE_KVLIST:
    rig__buf_puts(buf, "{\"kvlistValue\":{\"values\":");
    rig__json_attributes(buf, value->attributes, value->count);
    rig__buf_puts(buf, "}}");
    break;
  case RIG_VALUE_EMPTY:
  default:
    rig__buf_puts(buf, "{}");
    break;
  }
}

void rig__value_copy(rig_value *out, const rig_value *value)
{
  rig_value copy = *value;
  switch (value->type) {
  case RIG_VALUE_STRING:
    copy.string = rig__strdup(value->string ? value->string : "");
    break;
  case RIG_VALUE_BYTES: {
    uint8_t *bytes = rig__malloc(value->count ? value->count : 1);
    if (value->count)
      memcpy(bytes, value->bytes, value->count);
    copy.bytes = bytes;
    break;
  }
  case RIG_VALUE_ARRAY: {
    rig_value *items = rig__calloc(value->count ? value->count : 1, sizeof *items);
    for (size_t i = 0; i < value->count; i++)
      rig__value_copy(&items[i], &value->items[i]);
    copy.items = items;
    break;
  }
  case RIG_VALUE_KVLIST: {
    rig_attribute *attrs = rig__calloc(value->count ? value->count : 1, sizeof *attrs);
    for (size_t i = 0; i < value->count; i++) {
      attrs[i].key = rig__strdup(value->attributes[i].key ? value->attributes[i].key : "");
      rig__value_copy(&attrs[i].value, &value->attributes[i].value);
    }
    copy.attributes = attrs;
    break;
  }
  default:
    break;
  }
  *out = copy;
}

void rig__value_dispose(rig_value *value)
{
  if (value == NULL)
    return;
  switch (value->type) {
  case RIG_VALUE_STRING:
    free((char *)value->string);
    break;
  case RIG_VALUE_BYTES:
    free((uint8_t *)value->bytes);
    break;
  case RIG_VALUE_ARRAY:
    for (size_t i = 0; i < value->count; i++)
      rig__value_dispose((rig_value *)&value->items[i]);
    free((rig_value *)value->items);
    break;
  case RIG_VALUE_KVLIST:
    for (size_t i = 0; i < value->count; i++) {
      free((char *)value->attributes[i].key);
      rig__value_dispose((rig_value *)&value->attributes[i].value);
    }
    free((rig_attribute *)value->attributes);
    break;
  default:
    break;
  }
  memset(value, 0, sizeof *value);
}

static void value_text(rig_buf *buf, const rig_value *value, int nested)
{
  switch (value->type) {
  case RIG_VALUE_STRING:
    if (nested)
      rig__json_string(buf, value->string);
    else
      rig__buf_puts(buf, value->string ? value->string : "");
    break;
  case RIG_VALUE_BOOL:
    rig__buf_puts(buf, value->boolean ? "true" : "false");
    break;
  case RIG_VALUE_INT:
    rig__buf_printf(buf, "%" PRId64, value->integer);
    break;
  case RIG_VALUE_DOUBLE:
    if (isfinite(value->number))
      rig__json_double(buf, value->number);
    else
      rig__buf_puts(buf, isnan(value->number) ? "NaN"
                         : value->number > 0  ? "Infinity"
                                              : "-Infinity");
    break;
  case RIG_VALUE_BYTES:
    rig__base64_encode(buf, value->bytes, value->count, RIG_BASE64_STANDARD);
    break;
  case RIG_VALUE_ARRAY:
    rig__buf_putc(buf, '[');
    for (size_t i = 0; i < value->count; i++) {
      if (i > 0)
        rig__buf_puts(buf, ", ");
      value_text(buf, &value->items[i], 1);
    }
    rig__buf_putc(buf, ']');
    break;
  case RIG_VALUE_KVLIST:
    rig__buf_putc(buf, '{');
    for (size_t i = 0; i < value->count; i++) {
      if (i > 0)
        rig__buf_puts(buf, ", ");
      rig__json_string(buf, value->attributes[i].key);
      rig__buf_puts(buf, ": ");
      value_text(buf, &value->attributes[i].value, 1);
    }
    rig__buf_putc(buf, '}');
    break;
  default:
    break;
  }
}

char *rig__value_to_text(const rig_value *value)
{
  rig_buf buf = RIG_BUF_INIT;
  value_text(&buf, value, 0);
  return rig__buf_detach(&buf);
}
