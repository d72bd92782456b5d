/*
 * prom_assert.c - PromQL assertions: comparisons, "eventually" (poll an instant query with
 * a doubling back-off until it holds), every target up, scrape intervals, and metric names
 * with or without the `_total` suffix.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prom_internal.h"
#include "stackrig/error.h"
#include "util.h"

const char *rig_prom_op_symbol(rig_prom_op op)
{
  switch (op) {
  case RIG_PROM_EQ:
    return "==";
  case RIG_PROM_NE:
    return "!=";
  case RIG_PROM_LT:
    return "<";
  case RIG_PROM_LE:
    return "<=";
  case RIG_PROM_GT:
    return ">";
  case RIG_PROM_GE:
    return ">=";
  }
  return "?";
}

int rig_prom_compare(double value, rig_prom_op op, double expected)
{
  switch (op) {
  case RIG_PROM_EQ:
    return value == expected;
  case RIG_PROM_NE:
    return value != expected;
  case RIG_PROM_LT:
    return value < expected;
  case RIG_PROM_LE:
    return value <= expected;
  case RIG_PROM_GT:
    return value > expected;
  case RIG_PROM_GE:
    return value >= expected;
  }
  return 0;
}

/* Failures worth another try before the deadline: the server is not there or not ready yet,
 * or it answered with a server-side error. Everything else (a malformed query) never heals. */
static int is_transient(int code)
{
  if (code == RIG_ECONNECT || code == RIG_ETIMEOUT || code == RIG_ENOTREADY || code == RIG_EIO)
    return 1;
  if (code == RIG_EHTTP) {
    const char *status = rig_error_detail_get(rig_error_last(), "status");
    return !status || atol(status) >= 500;
  }
  return 0;
}

/* 1 when the result satisfies the comparison; -1 for a result that has no numbers. */
static int result_holds(const rig_prom_result *result, rig_prom_op op, double value,
                        rig_prom_match match)
{
  if (result->type == RIG_PROM_STRING)
    return -1;
  if (result->type == RIG_PROM_SCALAR)
    return rig_prom_compare(result->scalar.value, op, value);
  size_t compared = 0, held = 0;
  for (size_t i = 0; i < result->series_count; i++) {
    const rig_prom_series *s = &result->series[i];
    if (s->sample_count == 0)
      continue; /* native histograms only */
    compared++;
    if (rig_prom_compare(s->samples[s->sample_count - 1].value, op, value))
      held++;
  }
  if (match == RIG_PROM_MATCH_ANY)
    return held > 0;
  return compared > 0 && held == compared;
}

static void sleep_until_next(int64_t *backoff_ms, int64_t max_backoff_ms, int64_t deadline_ms)
{
  int64_t left = deadline_ms - rig__now_ms();
  int64_t pause = *backoff_ms < left ? *backoff_ms : left;
  if (pause > 0)
    rig__sleep_ms(pause);
  *backoff_ms = *backoff_ms * 2 < max_backoff_ms ? *backoff_ms * 2 : max_backoff_ms;
}

int rig_prom_eventually(rig_prom *prom, const char *expr, rig_prom_op op, double value,
                        int64_t timeout_ms, const rig_prom_eventually_options *opts)
{
  if (!prom || !expr)
    return rig_error_set(RIG_EINVAL, "rig_prom_eventually: prom and expr are required");
  if (op < RIG_PROM_EQ || op > RIG_PROM_GE)
    return rig_error_set(RIG_EINVAL, "rig_prom_eventually: unknown comparison %d", (int)op);
  rig_prom_match match = opts ? opts->match : RIG_PROM_MATCH_ALL;
  int64_t backoff = (opts && opts->initial_backoff_ms > 0) ? opts->initial_backoff_ms : 5;
  int64_t max_backoff = (opts && opts->max_backoff_ms > 0) ? opts->max_backoff_ms : 200;
  int64_t started = rig__now_ms();
  int64_t deadline = started + (timeout_ms > 0 ? timeout_ms : 0);
  rig_buf last = RIG_BUF_INIT;
  int queries = 0;
  for (;;) {
    rig_prom_result *result = NULL;
    int rc = rig_prom_query(&result, prom, expr, 0);
    queries++;
    if (rc == RIG_OK) {
      int holds = result_holds(result, op, value, match);
      if (holds == 1) {
        rig_prom_result_free(result);
        rig__buf_dispose(&last);
        return RIG_OK;
      }
      if (holds < 0) {
        rig_prom_result_free(result);
        rig__buf_dispose(&last);
        rc = rig_error_set(RIG_EINVAL, "prometheus: '%s' gives a string, not a number", expr);
        rig_error_add_detail("query", "%s", expr);
        return rc;
      }
      char *text = NULL;
      rig_prom_result_format(&text, result, 5);
      rig__buf_clear(&last);
      rig__buf_printf(&last, "last result: %s", text);
      free(text);
      rig_prom_result_free(result);
    } else if (is_transient(rc)) {
      rig__buf_clear(&last);
      rig__buf_printf(&last, "last error: %s", rig_error_last()->text);
    } else {
      rig__buf_dispose(&last);
      return rc;
    }
    if (rig__now_ms() >= deadline)
      break;
    sleep_until_next(&backoff, max_backoff, deadline);
  }
  rig_buf expected = RIG_BUF_INIT;
  rig__prom_format_value(&expected, value);
  int rc = rig_error_set(
      RIG_EASSERT, "prometheus: '%s' %s %s did not hold%s within %lld ms (%d queries); %s", expr,
      rig_prom_op_symbol(op), expected.data, match == RIG_PROM_MATCH_ANY ? " for any sample" : "",
      (long long)(rig__now_ms() - started), queries, last.data);
  rig_error_add_detail("query", "%s", expr);
  rig__buf_dispose(&expected);
  rig__buf_dispose(&last);
  return rc;
}

/* ---- targets ---- */

int rig_prom_targets_wait_up(rig_prom *prom, int64_t timeout_ms)
{
  if (!prom)
    return rig_error_set(RIG_EINVAL, "rig_prom_targets_wait_up: prom is required");
  int64_t started = rig__now_ms();
  int64_t deadline = started + (timeout_ms > 0 ? timeout_ms : 0);
  int64_t backoff = 5;
  rig_buf last = RIG_BUF_INIT;
  for (;;) {
    rig_prom_target_list *list = NULL;
    int rc = rig_prom_targets(&list, prom);
    if (rc == RIG_OK) {
      size_t down = 0;
      rig__buf_clear(&last);
      for (size_t i = 0; i < list->count; i++) {
        const rig_prom_target *t = &list->items[i];
        if (t->health == RIG_PROM_HEALTH_UP)
          continue;
        rig__buf_printf(&last, "%s%s %s (%s): %s%s%s", down ? "; " : "", t->job, t->instance,
                        t->scrape_url, rig_prom_health_name(t->health), *t->last_error ? ": " : "",
                        t->last_error);
        down++;
      }
      size_t total = list->count;
      rig_prom_target_list_free(list);
      if (total > 0 && down == 0) {
        rig__buf_dispose(&last);
        return RIG_OK;
      }
      if (total == 0) {
        rig__buf_puts(&last, "Prometheus has no active target");
      } else {
        char *detail = rig__buf_detach(&last);
        rig__buf_printf(&last, "%zu of %zu targets not up: %s", down, total, detail);
        free(detail);
      }
    } else if (is_transient(rc)) {
      rig__buf_clear(&last);
      rig__buf_puts(&last, rig_error_last()->text);
    } else {
      rig__buf_dispose(&last);
      return rc;
    }
    if (rig__now_ms() >= deadline)
      break;
    sleep_until_next(&backoff, 250, deadline);
  }
  int rc = rig_error_set(RIG_EASSERT, "prometheus: targets not all up within %lld ms: %s",
                         (long long)(rig__now_ms() - started), last.data);
  rig__buf_dispose(&last);
  return rc;
}

int rig_prom_scrape_interval(int64_t *out_ms, rig_prom *prom, const char *job)
{
  if (!out_ms || !prom)
    return rig_error_set(RIG_EINVAL, "rig_prom_scrape_interval: out and prom are required");
  rig_prom_target_list *list = NULL;
  int rc = rig_prom_targets(&list, prom);
  if (rc != RIG_OK)
    return rc;
  int64_t best = -1;
  int active = 0;
  for (size_t i = 0; i < list->count; i++) {
    const rig_prom_target *t = &list->items[i];
    if (job && strcmp(t->job, job) != 0)
      continue;
    active = 1;
    if (t->scrape_interval_ms > 0 && (best < 0 || t->scrape_interval_ms < best))
      best = t->scrape_interval_ms;
  }
  rig_prom_target_list_free(list);
  if (best > 0) {
    *out_ms = best;
    return RIG_OK;
  }
  /* Servers before 2.30 do not report intervals in the targets API: read the configuration. */
  long status = 0;
  char *body = NULL;
  size_t len = 0;
  rc = rig__prom_call(prom, "/api/v1/status/config", NULL, &status, &body, &len);
  if (rc != RIG_OK)
    return rig_error_wrap(rc, "prometheus: status/config");
  int64_t interval = 0;
  rc = rig__prom_parse_config_interval(&interval, status, body, len, job);
  /* A job label set by relabelling has no scrape config of that name: use the global one. */
  if (rc == RIG_ENOTFOUND && active)
    rc = rig__prom_parse_config_interval(&interval, status, body, len, NULL);
  free(body);
  if (rc != RIG_OK)
    return rc;
  *out_ms = interval;
  return RIG_OK;
}

/* ---- names with or without _total ---- */

static int is_metric_name(const char *name)
{
  if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_' || name[0] == ':'))
    return 0;
  for (const char *p = name; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == ':'))
      return 0;
  return 1;
}

static char *base_name(const char *name)
{
  size_t len = strlen(name);
  if (len > 6 && strcmp(name + len - 6, "_total") == 0)
    len -= 6;
  return rig__strndup(name, len);
}

int rig_prom_selector_total(char **out, const char *name, const char *matchers)
{
  if (!out || !is_metric_name(name))
    return rig_error_set(RIG_EINVAL, "prometheus: '%s' is not a metric name", name ? name : "");
  char *base = base_name(name);
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_printf(&buf, "{__name__=~\"%s(_total)?\"", base);
  if (matchers && *matchers)
    rig__buf_printf(&buf, ",%s", matchers);
  rig__buf_putc(&buf, '}');
  free(base);
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}

int rig_prom_metric_resolve(char **out, rig_prom *prom, const char *name, const char *matchers)
{
  if (!out || !prom || !is_metric_name(name))
    return rig_error_set(RIG_EINVAL, "prometheus: '%s' is not a metric name", name ? name : "");
  char *selector = NULL;
  rig_prom_selector_total(&selector, name, matchers);
  const char *selectors[] = {selector, NULL};
  rig_prom_label_sets *sets = NULL;
  int rc = rig_prom_series_match(&sets, prom, selectors, 0, 0);
  free(selector);
  if (rc != RIG_OK)
    return rc;
  char *base = base_name(name);
  char *with_total = rig__sprintf("%s_total", base);
  int has_base = 0, has_total = 0;
  for (size_t i = 0; i < sets->count; i++) {
    const char *found = rig_prom_labels_get(&sets->items[i], "__name__");
    has_base |= rig__streq(found, base);
    has_total |= rig__streq(found, with_total);
  }
  rig_prom_label_sets_free(sets);
  if (has_total) {
    *out = with_total;
    free(base);
    return RIG_OK;
  }
  if (has_base) {
    *out = base;
    free(with_total);
    return RIG_OK;
  }
  rc = rig_error_set(RIG_ENOTFOUND, "prometheus: no series named %s or %s%s%s%s", base, with_total,
                     matchers && *matchers ? " with {" : "", matchers && *matchers ? matchers : "",
                     matchers && *matchers ? "}" : "");
  free(base);
  free(with_total);
  return rc;
}
