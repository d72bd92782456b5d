/*
 * prom_counter.c - counters between two moments, and the collector's span pipeline account.
 *
 * A delta read from stale samples is the classic flaky metric test: the second value comes
 * from a scrape that happened before the traffic. So each moment is pinned to a scrape that
 * began after it: the server's clock is read with time(), then timestamp(up) is polled until
 * every target of the job has a sample newer than that instant. Both the clock and the
 * sample times are the server's, so the host's clock does not matter.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prom_internal.h"
#include "stackrig/error.h"
#include "util.h"

struct rig_prom_mark {
  char *job;           /* NULL: every target */
  int64_t time_ms;     /* the newest sample time of the scrapes the mark waited for */
  int64_t interval_ms; /* the job's scrape interval */
};

static int server_now(int64_t *out_ms, rig_prom *prom)
{
  rig_prom_result *result = NULL;
  int rc = rig_prom_query(&result, prom, "time()", 0);
  if (rc != RIG_OK)
    return rc;
  if (result->type != RIG_PROM_SCALAR) {
    rig_prom_result_free(result);
    return rig_error_set(RIG_EPARSE, "prometheus: query 'time()' did not give a scalar");
  }
  *out_ms = result->scalar.time_ms;
  rig_prom_result_free(result);
  return RIG_OK;
}

static char *up_timestamps_expr(const char *job)
{
  if (!job)
    return rig__strdup("timestamp(up)");
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_puts(&buf, "timestamp(up{job=");
  rig__prom_quote(&buf, job);
  rig__buf_puts(&buf, "})");
  return rig__buf_detach(&buf);
}

/* Waits until every target of job has a sample newer than after_ms; *out_ms is the newest. */
static int wait_scraped_after(int64_t *out_ms, rig_prom *prom, const char *job, int64_t interval_ms,
                              int64_t after_ms, int64_t timeout_ms)
{
  char *expr = up_timestamps_expr(job);
  int64_t started = rig__now_ms();
  int64_t deadline = started + timeout_ms;
  int64_t backoff = 5;
  int64_t max_backoff = interval_ms / 4 > 250 ? 250 : (interval_ms / 4 < 5 ? 5 : interval_ms / 4);
  int64_t oldest = -1;
  int rc = RIG_OK;
  for (;;) {
    rig_prom_result *result = NULL;
    rc = rig_prom_query(&result, prom, expr, 0);
    if (rc != RIG_OK)
      break;
    int64_t newest = -1;
    oldest = -1;
    for (size_t i = 0; i < result->series_count; i++) {
      const rig_prom_series *s = &result->series[i];
      if (s->sample_count == 0 || !isfinite(s->samples[0].value))
        continue;
      int64_t ts = (int64_t)llround(s->samples[0].value * 1000.0);
      if (oldest < 0 || ts < oldest)
        oldest = ts;
      if (ts > newest)
        newest = ts;
    }
    rig_prom_result_free(result);
    if (oldest > after_ms) {
      *out_ms = newest;
      break;
    }
    if (rig__now_ms() >= deadline) {
      if (oldest < 0)
        rc = rig_error_set(RIG_ENOTFOUND,
                           "prometheus: no target %s%s%s has been scraped (%s is empty)",
                           job ? "of job '" : "at all", job ? job : "", job ? "'" : "", expr);
      else
        rc = rig_error_set(RIG_ETIMEOUT,
                           "prometheus: no scrape of %s%s%s after %lld.%03lld within %lld ms "
                           "(the oldest last scrape began at %lld.%03lld; scrape interval %lld ms)",
                           job ? "job '" : "every target", job ? job : "", job ? "'" : "",
                           (long long)(after_ms / 1000), (long long)(after_ms % 1000),
                           (long long)timeout_ms, (long long)(oldest / 1000),
                           (long long)(oldest % 1000), (long long)interval_ms);
      rig_error_add_detail("hint", "is the target up? rig_prom_targets() shows its last error");
      break;
    }
    int64_t left = deadline - rig__now_ms();
    rig__sleep_ms(backoff < left ? backoff : (left > 0 ? left : 0));
    backoff = backoff * 2 < max_backoff ? backoff * 2 : max_backoff;
  }
  free(expr);
  return rc;
}

static int64_t default_wait_ms(int64_t interval_ms)
{
  return 3 * interval_ms + 5000;
}

int rig_prom_mark_now(rig_prom_mark **out, rig_prom *prom, const char *job, int64_t timeout_ms)
{
  if (!out || !prom)
    return rig_error_set(RIG_EINVAL, "rig_prom_mark_now: out and prom are required");
  int64_t now = 0, interval = 0, pinned = 0;
  int rc = server_now(&now, prom);
  if (rc == RIG_OK)
    rc = rig_prom_scrape_interval(&interval, prom, job);
  if (rc == RIG_OK)
    rc = wait_scraped_after(&pinned, prom, job, interval, now,
                            timeout_ms > 0 ? timeout_ms : default_wait_ms(interval));
  if (rc != RIG_OK)
    return rc;
  rig_prom_mark *mark = rig__calloc(1, sizeof *mark);
  mark->job = job ? rig__strdup(job) : NULL;
  mark->time_ms = pinned;
  mark->interval_ms = interval;
  *out = mark;
  return RIG_OK;
}

int64_t rig_prom_mark_time(const rig_prom_mark *mark)
{
  return mark ? mark->time_ms : 0;
}

void rig_prom_mark_free(rig_prom_mark *mark)
{
  if (!mark)
    return;
  free(mark->job);
  free(mark);
}

/* Pins "now" to a newer scrape of job: the end of a window that starts at a mark. */
static int pin_now(int64_t *out_ms, rig_prom *prom, const char *job, int64_t interval_ms,
                   int64_t timeout_ms)
{
  int64_t now = 0;
  int rc = server_now(&now, prom);
  if (rc != RIG_OK)
    return rc;
  return wait_scraped_after(out_ms, prom, job, interval_ms, now,
                            timeout_ms > 0 ? timeout_ms : default_wait_ms(interval_ms));
}

/* The increase of expr over [start, end], walked at about the scrape interval. */
static int increase_between(double *out, rig_prom *prom, const char *expr, int64_t start_ms,
                            int64_t end_ms, int64_t interval_ms)
{
  int64_t span = end_ms > start_ms ? end_ms - start_ms : 0;
  int64_t step_ms = interval_ms > 0 ? interval_ms : 1000;
  int64_t points = span > 0 ? (span + step_ms - 1) / step_ms : 1;
  if (points > 10000)
    points = 10000; /* the API refuses more than 11000 points per series */
  step_ms = span > 0 ? (span + points - 1) / points : 1;
  rig_prom_result *result = NULL;
  int rc =
      rig_prom_query_range(&result, prom, expr, start_ms, start_ms + points * step_ms, step_ms);
  if (rc != RIG_OK)
    return rc;
  double total = 0;
  for (size_t i = 0; i < result->series_count; i++) {
    const rig_prom_series *s = &result->series[i];
    size_t j = 0;
    double previous = 0; /* a series born inside the window counts from zero */
    if (s->sample_count > 0 && s->samples[0].time_ms <= start_ms) {
      previous = s->samples[0].value;
      j = 1;
    }
    for (; j < s->sample_count; j++) {
      double value = s->samples[j].value;
      if (isnan(value))
        continue;
      if (isnan(previous))
        previous = 0;
      /* A drop is a reset: the counter restarted from zero and reached value since. */
      total += value >= previous ? value - previous : value;
      previous = value;
    }
  }
  rig_prom_result_free(result);
  *out = total;
  return RIG_OK;
}

int rig_prom_delta(double *out, rig_prom *prom, const char *expr, const rig_prom_mark *since,
                   int64_t timeout_ms)
{
  if (!out || !prom || !expr || !since)
    return rig_error_set(RIG_EINVAL, "rig_prom_delta: out, prom, expr and since are required");
  int64_t end = 0;
  int rc = pin_now(&end, prom, since->job, since->interval_ms, timeout_ms);
  if (rc == RIG_OK)
    rc = increase_between(out, prom, expr, since->time_ms, end, since->interval_ms);
  return rc;
}

int rig_prom_delta_eventually(rig_prom *prom, const char *expr, const rig_prom_mark *since,
                              rig_prom_op op, double value, int64_t timeout_ms)
{
  if (!prom || !expr || !since)
    return rig_error_set(RIG_EINVAL,
                         "rig_prom_delta_eventually: prom, expr and since are required");
  int64_t started = rig__now_ms();
  int64_t deadline = started + (timeout_ms > 0 ? timeout_ms : 0);
  int rounds = 0;
  double delta = 0;
  for (;;) {
    int64_t left = deadline - rig__now_ms();
    int64_t end = 0;
    int rc = pin_now(&end, prom, since->job, since->interval_ms,
                     left > default_wait_ms(since->interval_ms) ? left : 0);
    if (rc == RIG_OK)
      rc = increase_between(&delta, prom, expr, since->time_ms, end, since->interval_ms);
    if (rc != RIG_OK)
      return rc;
    rounds++;
    /* Each round waits for the next scrape, so no pause is needed between rounds. */
    if (rig_prom_compare(delta, op, value))
      return RIG_OK;
    if (rig__now_ms() >= deadline)
      break;
  }
  rig_buf text = RIG_BUF_INIT;
  rig__buf_puts(&text, "prometheus: the increase of '");
  rig__buf_puts(&text, expr);
  rig__buf_puts(&text, "' since the mark is ");
  rig__prom_format_value(&text, delta);
  rig__buf_printf(&text, ", expected %s ", rig_prom_op_symbol(op));
  rig__prom_format_value(&text, value);
  int rc = rig_error_set(RIG_EASSERT, "%s (%d reads in %lld ms)", text.data, rounds,
                         (long long)(rig__now_ms() - started));
  rig_error_add_detail("query", "%s", expr);
  rig__buf_dispose(&text);
  return rc;
}

/* ---- the collector's span pipeline ---- */

const char *rig_prom_pipeline_verdict_name(rig_prom_pipeline_verdict verdict)
{
  switch (verdict) {
  case RIG_PROM_PIPELINE_ALL_SENT:
    return "all sent";
  case RIG_PROM_PIPELINE_NOT_RECEIVED:
    return "not received";
  case RIG_PROM_PIPELINE_PARTLY_RECEIVED:
    return "partly received";
  case RIG_PROM_PIPELINE_REFUSED:
    return "refused";
  case RIG_PROM_PIPELINE_SEND_FAILED:
    return "send failed";
  case RIG_PROM_PIPELINE_NOT_SENT:
    return "not sent";
  }
  return "?";
}

typedef struct pipeline_holder {
  rig_prom_pipeline_report pub;
  char *message;
} pipeline_holder;

void rig__prom_pipeline_judge(rig_prom_pipeline_report *r, rig_buf *msg)
{
  double failed = r->send_failed + r->enqueue_failed;
  rig__buf_puts(msg, "pipeline: ");
  if (failed > 0) {
    r->verdict = RIG_PROM_PIPELINE_SEND_FAILED;
    rig__buf_printf(msg,
                    "the pipeline dropped spans: exporters failed to send %g and to enqueue %g "
                    "(accepted %g, sent %g); the collector's log says why",
                    r->send_failed, r->enqueue_failed, r->accepted, r->sent);
  } else if (r->refused > 0 || r->failed > 0) {
    r->verdict = RIG_PROM_PIPELINE_REFUSED;
    rig__buf_printf(msg,
                    "the pipeline dropped spans: receivers refused %g and failed %g "
                    "(accepted %g, sent %g)",
                    r->refused, r->failed, r->accepted, r->sent);
  } else if (r->accepted == 0) {
    r->verdict = RIG_PROM_PIPELINE_NOT_RECEIVED;
    rig__buf_puts(msg, "the service never sent them: the collector accepted 0 spans");
    if (r->expected >= 0)
      rig__buf_printf(msg, " of %g expected", r->expected);
    rig__buf_puts(msg, " and refused none; check the service's OTLP endpoint and exporter");
  } else if (r->expected >= 0 && r->accepted < r->expected) {
    r->verdict = RIG_PROM_PIPELINE_PARTLY_RECEIVED;
    rig__buf_printf(msg,
                    "the service sent too few: the collector accepted %g of %g expected spans "
                    "and refused none (sent %g)",
                    r->accepted, r->expected, r->sent);
  } else if (r->sent < r->accepted) {
    r->verdict = RIG_PROM_PIPELINE_NOT_SENT;
    rig__buf_printf(msg,
                    "spans not exported: the collector accepted %g but its exporters sent %g "
                    "and reported no failure: %g are still queued or a processor dropped them",
                    r->accepted, r->sent, r->accepted - r->sent);
  } else {
    r->verdict = RIG_PROM_PIPELINE_ALL_SENT;
    rig__buf_printf(msg,
                    "all sent: the collector accepted %g spans and its exporters sent %g "
                    "(refused 0, send failed 0)",
                    r->accepted, r->sent);
  }
}

static char *counter_selector(const char *name, const char *job, const char *label,
                              const char *label_value)
{
  rig_buf matchers = RIG_BUF_INIT;
  if (job && *job) {
    rig__buf_puts(&matchers, "job=");
    rig__prom_quote(&matchers, job);
  }
  if (label_value) {
    if (matchers.len)
      rig__buf_putc(&matchers, ',');
    rig__buf_printf(&matchers, "%s=", label);
    rig__prom_quote(&matchers, label_value);
  }
  char *selector = NULL;
  rig_prom_selector_total(&selector, name, matchers.data);
  rig__buf_dispose(&matchers);
  return selector;
}

static int read_pipeline(rig_prom_pipeline_report *r, rig_prom *prom, const char *job,
                         const rig_prom_pipeline_options *opts, int64_t start_ms, int64_t end_ms,
                         int64_t interval_ms)
{
  const struct {
    const char *name;
    const char *label;
    const char *value;
    double *out;
  } counters[] = {
      {"otelcol_receiver_accepted_spans", "receiver", opts->receiver, &r->accepted},
      {"otelcol_receiver_refused_spans", "receiver", opts->receiver, &r->refused},
      {"otelcol_receiver_failed_spans", "receiver", opts->receiver, &r->failed},
      {"otelcol_exporter_sent_spans", "exporter", opts->exporter, &r->sent},
      {"otelcol_exporter_send_failed_spans", "exporter", opts->exporter, &r->send_failed},
      {"otelcol_exporter_enqueue_failed_spans", "exporter", opts->exporter, &r->enqueue_failed},
  };
  for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
    char *selector = counter_selector(counters[i].name, job, counters[i].label, counters[i].value);
    int rc = increase_between(counters[i].out, prom, selector, start_ms, end_ms, interval_ms);
    free(selector);
    if (rc != RIG_OK)
      return rc;
  }
  return RIG_OK;
}

int rig_prom_pipeline_check(rig_prom_pipeline_report **out, rig_prom *prom,
                            const rig_prom_mark *since, const rig_prom_pipeline_options *opts,
                            int64_t timeout_ms)
{
  if (!out || !prom || !since)
    return rig_error_set(RIG_EINVAL, "rig_prom_pipeline_check: out, prom and since are required");
  rig_prom_pipeline_options defaults = RIG_PROM_PIPELINE_OPTIONS_INIT;
  if (!opts)
    opts = &defaults;
  const char *job = opts->job ? opts->job : "otel-collector";
  const char *wait_job = *job ? job : NULL;
  int64_t deadline = rig__now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  rig_prom_pipeline_report report;
  rig_buf message = RIG_BUF_INIT;
  for (;;) {
    memset(&report, 0, sizeof report);
    report.expected = opts->expected_spans;
    int64_t left = deadline - rig__now_ms();
    int64_t end = 0;
    int rc = pin_now(&end, prom, wait_job, since->interval_ms,
                     left > default_wait_ms(since->interval_ms) ? left : 0);
    if (rc == RIG_OK)
      rc = read_pipeline(&report, prom, job, opts, since->time_ms, end, since->interval_ms);
    if (rc != RIG_OK) {
      rig__buf_dispose(&message);
      return rc;
    }
    rig__buf_clear(&message);
    rig__prom_pipeline_judge(&report, &message);
    /* Each round waits for the next scrape, so no pause is needed between rounds. */
    if (report.verdict == RIG_PROM_PIPELINE_ALL_SENT || rig__now_ms() >= deadline)
      break;
  }
  pipeline_holder *holder = rig__calloc(1, sizeof *holder);
  holder->pub = report;
  holder->message = rig__buf_detach(&message);
  holder->pub.message = holder->message;
  *out = &holder->pub;
  return RIG_OK;
}

void rig_prom_pipeline_report_free(rig_prom_pipeline_report *report)
{
  if (!report)
    return;
  pipeline_holder *holder = (pipeline_holder *)report;
  free(holder->message);
  free(holder);
}

int rig_prom_pipeline_all_sent(rig_prom *prom, const rig_prom_mark *since,
                               const rig_prom_pipeline_options *opts, int64_t timeout_ms)
{
  rig_prom_pipeline_report *report = NULL;
  int rc = rig_prom_pipeline_check(&report, prom, since, opts, timeout_ms);
  if (rc != RIG_OK)
    return rc;
  if (report->verdict == RIG_PROM_PIPELINE_ALL_SENT) {
    rig_prom_pipeline_report_free(report);
    return RIG_OK;
  }
  rc = rig_error_set(RIG_EASSERT, "%s", report->message);
  rig_error_add_detail("verdict", "%s", rig_prom_pipeline_verdict_name(report->verdict));
  rig_error_add_detail("accepted", "%g", report->accepted);
  rig_error_add_detail("refused", "%g", report->refused);
  rig_error_add_detail("failed", "%g", report->failed);
  rig_error_add_detail("sent", "%g", report->sent);
  rig_error_add_detail("send_failed", "%g", report->send_failed);
  rig_error_add_detail("enqueue_failed", "%g", report->enqueue_failed);
  rig_prom_pipeline_report_free(report);
  return rc;
}
