/*
 * prom.c - the Prometheus HTTP API client: requests (queries go as POST forms, so long
 * expressions never hit URL limits) and the text forms of the model for messages. The
 * answers are mapped in prom_model.c, the small text formats parsed in prom_parse.c,
 * assertions live in prom_assert.c and counters in prom_counter.c.
 */
#include "stackrig/prom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_internal.h"
#include "stackrig/error.h"
#include "stackrig/http.h"
#include "util.h"

struct rig_prom {
  rig_http *http;
  char *url;
  int64_t timeout_ms;
};

/* ---- the client ---- */

int rig_prom_new(rig_prom **out, const char *base_url, const rig_prom_options *opts)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_prom_new: out is required");
  rig_http_options http_opts = RIG_HTTP_OPTIONS_INIT;
  int64_t timeout = (opts && opts->timeout_ms > 0) ? opts->timeout_ms : 10000;
  http_opts.timeout_ms = timeout;
  rig_http *http = NULL;
  int rc = rig_http_new(&http, base_url, &http_opts);
  if (rc != RIG_OK)
    return rig_error_wrap(rc, "prometheus");
  rig_prom *prom = rig__calloc(1, sizeof *prom);
  prom->http = http;
  prom->url = rig__strdup(rig_http_base_url(http));
  prom->timeout_ms = timeout;
  *out = prom;
  return RIG_OK;
}

void rig_prom_free(rig_prom *prom)
{
  if (!prom)
    return;
  rig_http_free(prom->http);
  free(prom->url);
  free(prom);
}

const char *rig_prom_url(const rig_prom *prom)
{
  return prom ? prom->url : NULL;
}

int64_t rig__prom_timeout_ms(const rig_prom *prom)
{
  return prom->timeout_ms;
}

int rig__prom_call(rig_prom *prom, const char *path, const char *form, long *out_status,
                   char **out_body, size_t *out_len)
{
  static const char *const form_headers[] = {"Content-Type: application/x-www-form-urlencoded",
                                             "Accept: application/json", NULL};
  static const char *const get_headers[] = {"Accept: application/json", NULL};
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.path = path;
  req.body = form;
  req.headers = form ? form_headers : get_headers;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig_http_do(prom->http, &req, &resp);
  if (rc != RIG_OK)
    return rc;
  *out_status = resp.status;
  *out_len = resp.body_len;
  *out_body = resp.body;
  resp.body = NULL;
  rig_http_response_dispose(&resp);
  return RIG_OK;
}

int rig_prom_targets(rig_prom_target_list **out, rig_prom *prom)
{
  if (!out || !prom)
    return rig_error_set(RIG_EINVAL, "rig_prom_targets: out and prom are required");
  long status = 0;
  char *body = NULL;
  size_t len = 0;
  int rc = rig__prom_call(prom, "/api/v1/targets?state=active", NULL, &status, &body, &len);
  if (rc != RIG_OK)
    return rig_error_wrap(rc, "prometheus: targets");
  rc = rig__prom_parse_targets(out, status, body, len);
  free(body);
  return rc;
}

/* ---- requests ---- */

static void form_add(rig_buf *form, const char *key, const char *value)
{
  char *escaped = NULL;
  rig_http_escape(&escaped, value);
  if (form->len > 0)
    rig__buf_putc(form, '&');
  rig__buf_printf(form, "%s=%s", key, escaped);
  free(escaped);
}

static void form_add_time(rig_buf *form, const char *key, int64_t ms)
{
  char text[48];
  snprintf(text, sizeof text, "%s%lld.%03lld", ms < 0 ? "-" : "", llabs((long long)ms) / 1000,
           llabs((long long)ms) % 1000);
  form_add(form, key, text);
}

static int run_query(rig_prom_result **out, rig_prom *prom, const char *path, const char *expr,
                     rig_buf *form)
{
  char *what = rig__sprintf("query '%s'", expr);
  long status = 0;
  char *body = NULL;
  size_t len = 0;
  int rc = rig__prom_call(prom, path, form->data, &status, &body, &len);
  if (rc != RIG_OK)
    rc = rig_error_wrap(rc, "prometheus: %s", what);
  else
    rc = rig__prom_parse_result(out, status, body, len, expr, what);
  if (rc != RIG_OK)
    rig_error_add_detail("query", "%s", expr);
  free(body);
  free(what);
  rig__buf_dispose(form);
  return rc;
}

int rig_prom_query(rig_prom_result **out, rig_prom *prom, const char *expr, int64_t time_ms)
{
  if (!out || !prom || !expr)
    return rig_error_set(RIG_EINVAL, "rig_prom_query: out, prom and expr are required");
  rig_buf form = RIG_BUF_INIT;
  form_add(&form, "query", expr);
  if (time_ms != 0)
    form_add_time(&form, "time", time_ms);
  return run_query(out, prom, "/api/v1/query", expr, &form);
}

int rig_prom_query_range(rig_prom_result **out, rig_prom *prom, const char *expr, int64_t start_ms,
                         int64_t end_ms, int64_t step_ms)
{
  if (!out || !prom || !expr)
    return rig_error_set(RIG_EINVAL, "rig_prom_query_range: out, prom and expr are required");
  if (step_ms <= 0 || end_ms < start_ms)
    return rig_error_set(RIG_EINVAL,
                         "prometheus: query '%s': range needs start <= end and a step > 0 "
                         "(start %lld, end %lld, step %lld ms)",
                         expr, (long long)start_ms, (long long)end_ms, (long long)step_ms);
  rig_buf form = RIG_BUF_INIT;
  form_add(&form, "query", expr);
  form_add_time(&form, "start", start_ms);
  form_add_time(&form, "end", end_ms);
  form_add_time(&form, "step", step_ms);
  return run_query(out, prom, "/api/v1/query_range", expr, &form);
}

int rig_prom_series_match(rig_prom_label_sets **out, rig_prom *prom, const char *const *matchers,
                          int64_t start_ms, int64_t end_ms)
{
  if (!out || !prom || !matchers || !matchers[0])
    return rig_error_set(RIG_EINVAL, "rig_prom_series_match: out, prom and a matcher are required");
  rig_buf form = RIG_BUF_INIT;
  rig_buf what = RIG_BUF_INIT;
  rig__buf_puts(&what, "series");
  for (const char *const *m = matchers; *m; m++) {
    form_add(&form, "match[]", *m);
    rig__buf_printf(&what, " '%s'", *m);
  }
  if (start_ms != 0)
    form_add_time(&form, "start", start_ms);
  if (end_ms != 0)
    form_add_time(&form, "end", end_ms);
  long status = 0;
  char *body = NULL;
  size_t len = 0;
  int rc = rig__prom_call(prom, "/api/v1/series", form.data, &status, &body, &len);
  if (rc != RIG_OK)
    rc = rig_error_wrap(rc, "prometheus: %s", what.data);
  else
    rc = rig__prom_parse_series(out, status, body, len, what.data);
  free(body);
  rig__buf_dispose(&form);
  rig__buf_dispose(&what);
  return rc;
}

/* ---- formatting ---- */

const char *rig_prom_result_type_name(rig_prom_result_type type)
{
  switch (type) {
  case RIG_PROM_VECTOR:
    return "vector";
  case RIG_PROM_MATRIX:
    return "matrix";
  case RIG_PROM_SCALAR:
    return "scalar";
  case RIG_PROM_STRING:
    return "string";
  }
  return "?";
}

const char *rig_prom_labels_get(const rig_prom_labels *labels, const char *name)
{
  if (!labels || !name)
    return NULL;
  for (size_t i = 0; i < labels->count; i++)
    if (strcmp(labels->items[i].name, name) == 0)
      return labels->items[i].value;
  return NULL;
}

void rig__prom_quote(rig_buf *buf, const char *text)
{
  rig__buf_putc(buf, '"');
  for (const char *p = text ? text : ""; *p; p++) {
    switch (*p) {
    case '"':
      rig__buf_puts(buf, "\\\"");
      break;
    case '\\':
      rig__buf_puts(buf, "\\\\");
      break;
    case '\n':
      rig__buf_puts(buf, "\\n");
      break;
    default:
      rig__buf_putc(buf, *p);
    }
  }
  rig__buf_putc(buf, '"');
}

static void format_labels(rig_buf *buf, const rig_prom_labels *labels)
{
  const char *name = rig_prom_labels_get(labels, "__name__");
  if (name)
    rig__buf_puts(buf, name);
  rig__buf_putc(buf, '{');
  int first = 1;
  for (size_t i = 0; i < labels->count; i++) {
    if (strcmp(labels->items[i].name, "__name__") == 0)
      continue;
    if (!first)
      rig__buf_puts(buf, ", ");
    first = 0;
    rig__buf_printf(buf, "%s=", labels->items[i].name);
    rig__prom_quote(buf, labels->items[i].value);
  }
  rig__buf_putc(buf, '}');
}

int rig_prom_labels_format(char **out, const rig_prom_labels *labels)
{
  if (!out || !labels)
    return rig_error_set(RIG_EINVAL, "rig_prom_labels_format: out and labels are required");
  rig_buf buf = RIG_BUF_INIT;
  format_labels(&buf, labels);
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}

void rig__prom_format_value(rig_buf *buf, double value)
{
  if (isnan(value)) {
    rig__buf_puts(buf, "NaN");
  } else if (isinf(value)) {
    rig__buf_puts(buf, value > 0 ? "+Inf" : "-Inf");
  } else {
    char text[40];
    snprintf(text, sizeof text, "%.15g", value);
    if (strtod(text, NULL) != value)
      snprintf(text, sizeof text, "%.17g", value);
    rig__buf_puts(buf, text);
  }
}

static void format_time(rig_buf *buf, int64_t ms)
{
  rig__buf_printf(buf, "%lld.%03lld", (long long)(ms / 1000), (long long)llabs(ms % 1000));
}

int rig_prom_result_format(char **out, const rig_prom_result *result, size_t max_series)
{
  if (!out || !result)
    return rig_error_set(RIG_EINVAL, "rig_prom_result_format: out and result are required");
  rig_buf buf = RIG_BUF_INIT;
  switch (result->type) {
  case RIG_PROM_SCALAR:
    rig__buf_puts(&buf, "scalar ");
    rig__prom_format_value(&buf, result->scalar.value);
    rig__buf_puts(&buf, " @ ");
    format_time(&buf, result->scalar.time_ms);
    break;
  case RIG_PROM_STRING:
    rig__buf_puts(&buf, "string ");
    rig__prom_quote(&buf, result->string);
    break;
  case RIG_PROM_VECTOR:
  case RIG_PROM_MATRIX:
    if (result->series_count == 0) {
      rig__buf_printf(&buf, "empty %s", rig_prom_result_type_name(result->type));
      break;
    }
    for (size_t i = 0; i < result->series_count; i++) {
      if (max_series > 0 && i == max_series) {
        rig__buf_printf(&buf, "\n... and %zu more", result->series_count - i);
        break;
      }
      const rig_prom_series *s = &result->series[i];
      if (i > 0)
        rig__buf_putc(&buf, '\n');
      format_labels(&buf, &s->labels);
      if (s->sample_count == 0) {
        rig__buf_printf(&buf, " = (%zu native histogram samples)", s->skipped_histograms);
        continue;
      }
      size_t first =
          result->type == RIG_PROM_MATRIX && s->sample_count > 3 ? s->sample_count - 3 : 0;
      if (first > 0)
        rig__buf_printf(&buf, " = ... (%zu earlier)", first);
      for (size_t j = first; j < s->sample_count; j++) {
        rig__buf_puts(&buf, j == first && first == 0 ? " = " : ", ");
        rig__prom_format_value(&buf, s->samples[j].value);
        rig__buf_puts(&buf, " @ ");
        format_time(&buf, s->samples[j].time_ms);
      }
    }
    break;
  }
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}
