/*
 * traffic_threshold.c - pass/fail criteria over a traffic result, in a small grammar that
 * k6 users recognise ("p(95)<200ms", "error_rate<1%", "rate>100"). The grammar is in
 * stackrig/traffic.h and docs/traffic.md.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "traffic_internal.h"
#include "util.h"

#define METRIC_LIST "p(N), avg, min, med, max, error_rate, rate, requests or errors"

static const char *skip_space(const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

static int is_latency(rig__metric metric)
{
  return metric == RIG__METRIC_PERCENTILE || metric == RIG__METRIC_AVG ||
         metric == RIG__METRIC_MIN || metric == RIG__METRIC_MAX;
}

static int invalid(const char *expr, const char *fmt, ...) RIG_PRINTF(2, 3);

static int invalid(const char *expr, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *what = rig__vsprintf(fmt, ap);
  va_end(ap);
  rig_error_set(RIG_EINVAL, "threshold '%s': %s", expr, what);
  free(what);
  return RIG_EINVAL;
}

/* The metric name and, for p(N), the percentile. */
static int parse_metric(rig__threshold *t, const char **pos, const char *expr)
{
  const char *p = *pos;
  const char *start = p;
  while (isalnum((unsigned char)*p) || *p == '_')
    p++;
  size_t len = (size_t)(p - start);
  static const struct {
    const char *name;
    rig__metric metric;
    double percentile;
  } names[] = {
      {"avg", RIG__METRIC_AVG, 0},
      {"mean", RIG__METRIC_AVG, 0},
      {"min", RIG__METRIC_MIN, 0},
      {"max", RIG__METRIC_MAX, 0},
      {"med", RIG__METRIC_PERCENTILE, 50},
      {"error_rate", RIG__METRIC_ERROR_RATE, 0},
      {"http_req_failed", RIG__METRIC_ERROR_RATE, 0},
      {"rate", RIG__METRIC_RATE, 0},
      {"requests", RIG__METRIC_REQUESTS, 0},
      {"errors", RIG__METRIC_ERRORS, 0},
  };
  if (len == 1 && *start == 'p' && *p == '(') {
    const char *number = p + 1;
    const char *close = strchr(number, ')');
    char *end = NULL;
    double value = close ? strtod(number, &end) : NAN;
    if (!close)
      return invalid(expr, "'p(' without a closing ')'");
    if (end != close || close == number || !(value > 0 && value <= 100))
      return invalid(expr, "percentile '%.*s' is not a number above 0 and up to 100",
                     (int)(close - number), number);
    t->metric = RIG__METRIC_PERCENTILE;
    t->percentile = value;
    *pos = close + 1;
    return RIG_OK;
  }
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strlen(names[i].name) == len && strncmp(names[i].name, start, len) == 0) {
      t->metric = names[i].metric;
      t->percentile = names[i].percentile;
      *pos = p;
      return RIG_OK;
    }
  }
  if (len == 0)
    return invalid(expr, "expected a metric (" METRIC_LIST ")");
  return invalid(expr, "unknown metric '%.*s' (expected " METRIC_LIST ")", (int)len, start);
}

/* The optional "{status:NNN}" (or "{status=NNN}") after a latency metric. */
static int parse_filter(rig__threshold *t, const char **pos, const char *expr)
{
  const char *p = skip_space(*pos);
  if (*p != '{')
    return RIG_OK;
  const char *close = strchr(p, '}');
  if (!close)
    return invalid(expr, "'{' without a closing '}'");
  if (!is_latency(t->metric))
    return invalid(expr, "{status:...} applies to latency metrics only");
  const char *q = skip_space(p + 1);
  const char *separator = strncmp(q, "status", 6) == 0 ? skip_space(q + 6) : q;
  if (separator == q || (*separator != ':' && *separator != '='))
    return invalid(expr, "expected {status:NNN}, got '%.*s'", (int)(close - p + 1), p);
  q = skip_space(separator + 1);
  char *end = NULL;
  long status = strtol(q, &end, 10);
  if (end == q || *skip_space(end) != '}' || status < 100 || status > 599)
    return invalid(expr, "status '%.*s' is not an HTTP status (100..599)", (int)(close - q), q);
  t->status = (int)status;
  *pos = close + 1;
  return RIG_OK;
}

static int parse_op(rig__threshold *t, const char **pos, const char *expr)
{
  const char *p = skip_space(*pos);
  static const struct {
    const char *text;
    rig__op op;
  } ops[] = {{"<=", RIG__OP_LE}, {">=", RIG__OP_GE}, {"==", RIG__OP_EQ},
             {"!=", RIG__OP_NE}, {"<", RIG__OP_LT},  {">", RIG__OP_GT}};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    size_t len = strlen(ops[i].text);
    if (strncmp(p, ops[i].text, len) == 0) {
      t->op = ops[i].op;
      *pos = p + len;
      return RIG_OK;
    }
  }
  if (*p == '\0')
    return invalid(expr, "missing comparison (<, <=, >, >=, == or !=) and value");
  return invalid(expr, "expected a comparison (<, <=, >, >=, == or !=) at '%s'", p);
}

static int latency_unit_ns(double *out, const char *unit, size_t len)
{
  static const struct {
    const char *name;
    double ns;
  } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
               {"s", 1e9}, {"m", 60e9}, {"", 1e6}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strlen(units[i].name) == len && strncmp(units[i].name, unit, len) == 0) {
      *out = units[i].ns;
      return 1;
    }
  }
  return 0;
}

static int parse_value(rig__threshold *t, const char **pos, const char *expr, const char *op)
{
  const char *p = skip_space(*pos);
  if (*p == '\0')
    return invalid(expr, "missing value after '%s'", op);
  if (!isdigit((unsigned char)*p) && *p != '.')
    return invalid(expr, "value '%s' is not a non-negative number", p);
  char *end = NULL;
  double number = strtod(p, &end);
  if (end == p || !isfinite(number))
    return invalid(expr, "value '%s' is not a non-negative number", p);
  const char *unit = end;
  const char *unit_end = unit;
  while (*unit_end && *unit_end != ' ' && *unit_end != '\t')
    unit_end++;
  size_t unit_len = (size_t)(unit_end - unit);
  switch (t->metric) {
  case RIG__METRIC_PERCENTILE:
  case RIG__METRIC_AVG:
  case RIG__METRIC_MIN:
  case RIG__METRIC_MAX: {
    double scale = 0;
    if (!latency_unit_ns(&scale, unit, unit_len))
      return invalid(expr,
                     "unknown unit '%.*s' for a latency (use ns, us, ms, s or m; a bare "
                     "number is milliseconds)",
                     (int)unit_len, unit);
    t->limit = number * scale;
    break;
  }
  case RIG__METRIC_ERROR_RATE:
    if (unit_len == 1 && *unit == '%') {
      if (number > 100)
        return invalid(expr, "error_rate %g%% is above 100%%", number);
      t->limit = number / 100.0;
    } else if (unit_len == 0) {
      if (number > 1)
        return invalid(expr,
                       "error_rate %g is not a fraction between 0 and 1 (write %g%% for "
                       "percent)",
                       number, number);
      t->limit = number;
    } else {
      return invalid(expr, "unknown unit '%.*s' for error_rate (use %% or a fraction)",
                     (int)unit_len, unit);
    }
    break;
  case RIG__METRIC_RATE:
    if (unit_len != 0 && !(unit_len == 2 && strncmp(unit, "/s", 2) == 0))
      return invalid(expr,
                     "unknown unit '%.*s' for rate (requests per second: a number or "
                     "N/s)",
                     (int)unit_len, unit);
    t->limit = number;
    break;
  case RIG__METRIC_REQUESTS:
  case RIG__METRIC_ERRORS:
    if (unit_len != 0)
      return invalid(expr, "unexpected unit '%.*s' for a count", (int)unit_len, unit);
    t->limit = number;
    break;
  }
  *pos = unit_end;
  return RIG_OK;
}

int rig__threshold_parse(rig__threshold *out, const char *expr)
{
  if (!expr)
    return rig_error_set(RIG_EINVAL, "threshold: no expression");
  rig__threshold t = {RIG__METRIC_PERCENTILE, 0, 0, RIG__OP_LT, 0};
  const char *p = skip_space(expr);
  if (*p == '\0')
    return invalid(expr, "empty expression (example: p(95)<200ms)");
  int rc;
  if ((rc = parse_metric(&t, &p, expr)) != RIG_OK || (rc = parse_filter(&t, &p, expr)) != RIG_OK)
    return rc;
  const char *op_start = skip_space(p);
  if ((rc = parse_op(&t, &p, expr)) != RIG_OK)
    return rc;
  char op[3] = {0};
  memcpy(op, op_start, (size_t)(p - op_start));
  if ((rc = parse_value(&t, &p, expr, op)) != RIG_OK)
    return rc;
  p = skip_space(p);
  if (*p != '\0')
    return invalid(expr, "unexpected '%s' after the value", p);
  *out = t;
  return RIG_OK;
}

static int compare(rig__op op, double actual, double limit)
{
  switch (op) {
  case RIG__OP_LT:
    return actual < limit;
  case RIG__OP_LE:
    return actual <= limit;
  case RIG__OP_GT:
    return actual > limit;
  case RIG__OP_GE:
    return actual >= limit;
  case RIG__OP_EQ:
    return actual == limit;
  case RIG__OP_NE:
    return actual != limit;
  }
  return 0;
}

void rig__threshold_judge(rig_traffic_verdict *out, const rig__threshold *t,
                          const rig_traffic_result *result)
{
  const rig_traffic_summary *sum = &result->summary;
  double actual = 0; /* in the limit's unit */
  int has_value = 1;
  if (is_latency(t->metric)) {
    const rig__hist *hist = t->status ? result->by_status[t->status] : &result->all;
    if (!hist || hist->count == 0) {
      has_value = 0;
    } else if (t->metric == RIG__METRIC_PERCENTILE) {
      actual = (double)rig__hist_percentile(hist, t->percentile);
    } else if (t->metric == RIG__METRIC_AVG) {
      actual = rig__hist_mean(hist);
    } else if (t->metric == RIG__METRIC_MIN) {
      actual = (double)hist->min;
    } else {
      actual = (double)hist->max;
    }
  } else if (t->metric == RIG__METRIC_ERROR_RATE) {
    has_value = sum->requests > 0;
    actual = has_value ? (double)sum->errors / (double)sum->requests : 0;
  } else if (t->metric == RIG__METRIC_RATE) {
    actual = sum->rate;
  } else if (t->metric == RIG__METRIC_REQUESTS) {
    actual = (double)sum->requests;
  } else {
    actual = (double)sum->errors;
  }

  out->has_value = has_value;
  out->passed = has_value && compare(t->op, actual, t->limit);
  if (!has_value) {
    out->actual = 0;
    snprintf(out->actual_text, sizeof out->actual_text, "no data");
  } else if (is_latency(t->metric)) {
    out->actual = actual / 1e6;
    rig__traffic_format_ns(out->actual_text, sizeof out->actual_text, actual);
  } else if (t->metric == RIG__METRIC_ERROR_RATE) {
    out->actual = actual;
    snprintf(out->actual_text, sizeof out->actual_text, "%.2f%%", actual * 100);
  } else if (t->metric == RIG__METRIC_RATE) {
    out->actual = actual;
    snprintf(out->actual_text, sizeof out->actual_text, "%.1f/s", actual);
  } else {
    out->actual = actual;
    snprintf(out->actual_text, sizeof out->actual_text, "%.0f", actual);
  }
}

int rig_traffic_threshold_validate(const char *expr)
{
  rig__threshold t;
  return rig__threshold_parse(&t, expr);
}

int rig_traffic_threshold_eval(rig_traffic_verdict *out, const rig_traffic_result *result,
                               const char *expr)
{
  if (!out || !result)
    return rig_error_set(RIG_EINVAL, "threshold: no verdict or result");
  rig__threshold t;
  int rc = rig__threshold_parse(&t, expr);
  if (rc != RIG_OK)
    return rc;
  rig_traffic_verdict verdict;
  memset(&verdict, 0, sizeof verdict);
  rig__threshold_judge(&verdict, &t, result);
  verdict.expr = expr;
  *out = verdict;
  return RIG_OK;
}

int rig_traffic_check(const rig_traffic_result *result, const char *const *thresholds)
{
  if (!result)
    return rig_error_set(RIG_EINVAL, "thresholds: no result");
  if (!thresholds)
    return RIG_OK;
  for (size_t i = 0; thresholds[i]; i++) {
    int rc = rig_traffic_threshold_validate(thresholds[i]);
    if (rc != RIG_OK)
      return rc;
  }
  rig_buf failures = RIG_BUF_INIT;
  size_t failed = 0;
  for (size_t i = 0; thresholds[i]; i++) {
    rig_traffic_verdict verdict;
    rig_traffic_threshold_eval(&verdict, result, thresholds[i]);
    if (verdict.passed)
      continue;
    rig__buf_printf(&failures, "%s%s (actual %s)", failed ? "; " : "", thresholds[i],
                    verdict.actual_text);
    failed++;
  }
  int rc = RIG_OK;
  if (failed)
    rc = rig_error_set(RIG_EASSERT, "threshold%s failed: %s", failed > 1 ? "s" : "", failures.data);
  rig__buf_dispose(&failures);
  return rc;
}
