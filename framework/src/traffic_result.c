/*
 * traffic_result.c - what a traffic run leaves behind: counts, histograms, trace records,
 * threshold verdicts, and their JSON form.
 */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "stackrig/otlp.h"
#include "traffic_internal.h"
#include "util.h"

#ifndef JSON_C_TO_STRING_NOSLASHESCAPE
#define JSON_C_TO_STRING_NOSLASHESCAPE 0
#endif

const char *rig_traffic_error_kind_name(rig_traffic_error_kind kind)
{
  static const char *const names[RIG_TRAFFIC_ERR_COUNT] = {"none", "connect", "timeout",
                                                           "io",   "http",    "other"};
  return (unsigned)kind < RIG_TRAFFIC_ERR_COUNT ? names[kind] : "other";
}

rig_traffic_error_kind rig__traffic_classify(int curl_code, long status)
{
  switch ((CURLcode)curl_code) {
  case CURLE_OK:
    return status >= 400 ? RIG_TRAFFIC_ERR_HTTP : RIG_TRAFFIC_ERR_NONE;
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_SSL_CONNECT_ERROR:
    return RIG_TRAFFIC_ERR_CONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return RIG_TRAFFIC_ERR_TIMEOUT;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_READ_ERROR:
  case CURLE_WRITE_ERROR:
    return RIG_TRAFFIC_ERR_IO;
  default:
    return RIG_TRAFFIC_ERR_OTHER;
  }
}

void rig__traffic_format_ns(char *buf, size_t size, double ns)
{
  if (ns < 1e3)
    snprintf(buf, size, "%.0fns", ns);
  else if (ns < 1e6)
    snprintf(buf, size, "%.1fus", ns / 1e3);
  else if (ns < 1e9)
    snprintf(buf, size, "%.2fms", ns / 1e6);
  else
    snprintf(buf, size, "%.3fs", ns / 1e9);
}

rig_traffic_result *rig__traffic_result_new(const char *method, const char *url, size_t trace_limit)
{
  rig_traffic_result *result = rig__calloc(1, sizeof *result);
  result->method = rig__strdup(method ? method : "GET");
  result->url = rig__strdup(url ? url : "");
  rig__hist_init(&result->all);
  result->trace_limit = trace_limit;
  result->passed = 1;
  return result;
}

void rig_traffic_result_free(rig_traffic_result *result)
{
  if (!result)
    return;
  for (size_t i = 0; i < RIG__STATUS_SLOTS; i++)
    free(result->by_status[i]);
  for (size_t i = 0; i < result->verdict_count; i++)
    free(result->verdict_exprs[i]);
  free(result->verdict_exprs);
  free(result->verdicts);
  free(result->traces);
  free(result->method);
  free(result->url);
  free(result);
}

void rig__traffic_result_record(rig_traffic_result *result, int status, rig_traffic_error_kind kind,
                                int64_t latency_ns)
{
  rig_traffic_summary *sum = &result->summary;
  sum->requests++;
  if (kind != RIG_TRAFFIC_ERR_NONE) {
    sum->errors++;
    sum->error_kinds[kind]++;
  }
  if (status <= 0)
    return;
  int slot = status % RIG__STATUS_SLOTS;
  sum->responses++;
  result->status_counts[slot]++;
  rig__hist_record(&result->all, latency_ns);
  rig__hist *hist = result->by_status[slot];
  if (!hist) {
    hist = rig__malloc(sizeof *hist);
    rig__hist_init(hist);
    result->by_status[slot] = hist;
  }
  rig__hist_record(hist, latency_ns);
}

void rig__traffic_result_trace(rig_traffic_result *result, const rig_traffic_trace *trace)
{
  rig_traffic_summary *sum = &result->summary;
  sum->traces_seen++;
  if (sum->traces_kept >= result->trace_limit)
    return;
  if (sum->traces_kept == result->trace_cap) {
    /* grow geometrically, so that a short run does not pay for the whole limit */
    size_t cap = result->trace_cap ? result->trace_cap * 2 : 1024;
    if (cap > result->trace_limit)
      cap = result->trace_limit;
    result->traces = rig__realloc(result->traces, cap * sizeof *result->traces);
    result->trace_cap = cap;
  }
  result->traces[sum->traces_kept++] = *trace;
}

void rig__traffic_latency_fill(rig_traffic_latency *out, const rig__hist *hist)
{
  memset(out, 0, sizeof *out);
  if (!hist || hist->count == 0)
    return;
  out->count = hist->count;
  out->min_ns = hist->min;
  out->mean_ns = rig__hist_mean(hist);
  out->p50_ns = rig__hist_percentile(hist, 50);
  out->p90_ns = rig__hist_percentile(hist, 90);
  out->p95_ns = rig__hist_percentile(hist, 95);
  out->p99_ns = rig__hist_percentile(hist, 99);
  out->p999_ns = rig__hist_percentile(hist, 99.9);
  out->max_ns = hist->max;
}

void rig__traffic_result_finish(rig_traffic_result *result, double duration_s)
{
  rig_traffic_summary *sum = &result->summary;
  sum->duration_s = duration_s;
  sum->rate = duration_s > 0 ? (double)sum->requests / duration_s : 0;
  rig__traffic_latency_fill(&sum->latency, &result->all);
}

const rig_traffic_summary *rig_traffic_result_summary(const rig_traffic_result *result)
{
  return result ? &result->summary : NULL;
}

uint64_t rig_traffic_result_status_count(const rig_traffic_result *result, int status)
{
  if (!result || status <= 0)
    return 0;
  return result->status_counts[status % RIG__STATUS_SLOTS];
}

size_t rig_traffic_result_statuses(int *out, size_t max, const rig_traffic_result *result)
{
  if (!result)
    return 0;
  size_t n = 0;
  for (int status = 1; status < RIG__STATUS_SLOTS; status++) {
    if (result->status_counts[status] == 0)
      continue;
    if (out && n < max)
      out[n] = status;
    n++;
  }
  return n;
}

static const rig__hist *histogram_for(const rig_traffic_result *result, int status)
{
  if (status == 0)
    return &result->all;
  if (status < 0)
    return NULL;
  return result->by_status[status % RIG__STATUS_SLOTS];
}

int rig_traffic_result_latency(rig_traffic_latency *out, const rig_traffic_result *result,
                               int status)
{
  if (!out || !result)
    return rig_error_set(RIG_EINVAL, "traffic latency: no output or result");
  const rig__hist *hist = histogram_for(result, status);
  if (!hist || hist->count == 0) {
    if (status)
      return rig_error_set(RIG_ENOTFOUND, "traffic latency: no answer had status %d", status);
    return rig_error_set(RIG_ENOTFOUND, "traffic latency: no request was answered");
  }
  rig__traffic_latency_fill(out, hist);
  return RIG_OK;
}

int64_t rig_traffic_result_percentile_ns(const rig_traffic_result *result, double p, int status)
{
  const rig__hist *hist = result ? histogram_for(result, status) : NULL;
  return hist ? rig__hist_percentile(hist, p) : 0;
}

size_t rig_traffic_result_trace_count(const rig_traffic_result *result)
{
  return result ? (size_t)result->summary.traces_kept : 0;
}

const rig_traffic_trace *rig_traffic_result_trace(const rig_traffic_result *result, size_t i)
{
  if (!result || i >= result->summary.traces_kept)
    return NULL;
  return &result->traces[i];
}

size_t rig_traffic_result_verdict_count(const rig_traffic_result *result)
{
  return result ? result->verdict_count : 0;
}

const rig_traffic_verdict *rig_traffic_result_verdict(const rig_traffic_result *result, size_t i)
{
  if (!result || i >= result->verdict_count)
    return NULL;
  return &result->verdicts[i];
}

int rig_traffic_result_passed(const rig_traffic_result *result)
{
  return result ? result->passed : 0;
}

/* ---- JSON ---- */

static json_object *milliseconds(double ns)
{
  char text[48];
  snprintf(text, sizeof text, "%.3f", ns / 1e6);
  return json_object_new_double_s(ns / 1e6, text);
}

static json_object *fixed(double value, const char *format)
{
  char text[48];
  snprintf(text, sizeof text, format, value);
  return json_object_new_double_s(value, text);
}

static json_object *latency_json(const rig__hist *hist)
{
  rig_traffic_latency lat;
  rig__traffic_latency_fill(&lat, hist);
  json_object *obj = json_object_new_object();
  json_object_object_add(obj, "count", json_object_new_int64((int64_t)lat.count));
  json_object_object_add(obj, "min", milliseconds((double)lat.min_ns));
  json_object_object_add(obj, "mean", milliseconds(lat.mean_ns));
  json_object_object_add(obj, "p50", milliseconds((double)lat.p50_ns));
  json_object_object_add(obj, "p90", milliseconds((double)lat.p90_ns));
  json_object_object_add(obj, "p95", milliseconds((double)lat.p95_ns));
  json_object_object_add(obj, "p99", milliseconds((double)lat.p99_ns));
  json_object_object_add(obj, "p99.9", milliseconds((double)lat.p999_ns));
  json_object_object_add(obj, "max", milliseconds((double)lat.max_ns));
  return obj;
}

static json_object *traces_json(const rig_traffic_result *result)
{
  json_object *items = json_object_new_array();
  for (size_t i = 0; i < result->summary.traces_kept; i++) {
    const rig_traffic_trace *t = &result->traces[i];
    char trace_id[RIG_TRACE_ID_HEX_LEN + 1], span_id[RIG_SPAN_ID_HEX_LEN + 1];
    rig_trace_id_to_hex(trace_id, t->trace_id);
    rig_span_id_to_hex(span_id, t->span_id);
    json_object *item = json_object_new_object();
    json_object_object_add(item, "trace_id", json_object_new_string(trace_id));
    json_object_object_add(item, "span_id", json_object_new_string(span_id));
    json_object_object_add(item, "seq", json_object_new_int64((int64_t)t->seq));
    json_object_object_add(item, "status", json_object_new_int(t->status));
    json_object_object_add(item, "error",
                           t->error == RIG_TRAFFIC_ERR_NONE
                               ? NULL
                               : json_object_new_string(rig_traffic_error_kind_name(t->error)));
    json_object_object_add(item, "latency_ms", milliseconds((double)t->latency_ns));
    json_object_array_add(items, item);
  }
  return items;
}

int rig_traffic_result_json(char **out, const rig_traffic_result *result, unsigned int flags)
{
  if (!out || !result)
    return rig_error_set(RIG_EINVAL, "traffic JSON: no output or result");
  const rig_traffic_summary *sum = &result->summary;
  json_object *root = json_object_new_object();
  json_object_object_add(root, "method", json_object_new_string(result->method));
  json_object_object_add(root, "url", json_object_new_string(result->url));
  json_object_object_add(root, "model",
                         json_object_new_string(sum->open_model ? "open" : "closed"));
  json_object_object_add(root, "connections", json_object_new_int(sum->connections));
  if (sum->open_model)
    json_object_object_add(root, "target_rate", fixed(sum->target_rate, "%.3f"));
  json_object_object_add(root, "duration_s", fixed(sum->duration_s, "%.3f"));
  json_object_object_add(root, "requests", json_object_new_int64((int64_t)sum->requests));
  json_object_object_add(root, "responses", json_object_new_int64((int64_t)sum->responses));
  json_object_object_add(root, "rate", fixed(sum->rate, "%.2f"));
  json_object_object_add(root, "not_sent", json_object_new_int64((int64_t)sum->not_sent));
  json_object_object_add(root, "bytes_received",
                         json_object_new_int64((int64_t)sum->bytes_received));
  json_object_object_add(root, "interrupted", json_object_new_boolean(sum->interrupted));
  if (sum->http2_fallbacks)
    json_object_object_add(root, "http2_fallbacks",
                           json_object_new_int64((int64_t)sum->http2_fallbacks));

  json_object *status = json_object_new_object();
  for (int code = 1; code < RIG__STATUS_SLOTS; code++) {
    if (result->status_counts[code] == 0)
      continue;
    char key[8];
    snprintf(key, sizeof key, "%d", code);
    json_object_object_add(status, key,
                           json_object_new_int64((int64_t)result->status_counts[code]));
  }
  json_object_object_add(root, "status", status);

  json_object *errors = json_object_new_object();
  json_object_object_add(errors, "total", json_object_new_int64((int64_t)sum->errors));
  for (int kind = RIG_TRAFFIC_ERR_CONNECT; kind < RIG_TRAFFIC_ERR_COUNT; kind++)
    json_object_object_add(errors, rig_traffic_error_kind_name((rig_traffic_error_kind)kind),
                           json_object_new_int64((int64_t)sum->error_kinds[kind]));
  json_object_object_add(root, "errors", errors);
  double error_rate = sum->requests ? (double)sum->errors / (double)sum->requests : 0;
  json_object_object_add(root, "error_rate", fixed(error_rate, "%.6f"));

  json_object_object_add(root, "latency_ms", latency_json(&result->all));
  json_object *by_status = json_object_new_object();
  for (int code = 1; code < RIG__STATUS_SLOTS; code++) {
    if (!result->by_status[code] || result->by_status[code]->count == 0)
      continue;
    char key[8];
    snprintf(key, sizeof key, "%d", code);
    json_object_object_add(by_status, key, latency_json(result->by_status[code]));
  }
  json_object_object_add(root, "latency_by_status_ms", by_status);

  if (result->verdict_count) {
    json_object *verdicts = json_object_new_array();
    for (size_t i = 0; i < result->verdict_count; i++) {
      const rig_traffic_verdict *v = &result->verdicts[i];
      json_object *item = json_object_new_object();
      json_object_object_add(item, "expr", json_object_new_string(v->expr));
      json_object_object_add(item, "passed", json_object_new_boolean(v->passed));
      json_object_object_add(item, "actual", v->has_value ? fixed(v->actual, "%.6g") : NULL);
      json_object_object_add(item, "actual_text", json_object_new_string(v->actual_text));
      json_object_array_add(verdicts, item);
    }
    json_object_object_add(root, "thresholds", verdicts);
    json_object_object_add(root, "passed", json_object_new_boolean(result->passed));
  }

  if (sum->traces_seen) {
    json_object *traces = json_object_new_object();
    json_object_object_add(traces, "seen", json_object_new_int64((int64_t)sum->traces_seen));
    json_object_object_add(traces, "kept", json_object_new_int64((int64_t)sum->traces_kept));
    if (flags & RIG_TRAFFIC_JSON_TRACES)
      json_object_object_add(traces, "items", traces_json(result));
    json_object_object_add(root, "traces", traces);
  }

  int json_flags =
      JSON_C_TO_STRING_NOSLASHESCAPE |
      ((flags & RIG_TRAFFIC_JSON_PRETTY) ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                         : JSON_C_TO_STRING_PLAIN);
  *out = rig__strdup(json_object_to_json_string_ext(root, json_flags));
  json_object_put(root);
  return RIG_OK;
}
