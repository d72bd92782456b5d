/*
 * jaeger_assert.c - expectations on traces (a selector and an assertion each), failure
 * messages that show what was there instead, and "eventually": polling Jaeger until a
 * trace is complete and the expectations hold.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jaeger_internal.h"
#include "stackrig/error.h"

typedef enum expect_kind {
  EXPECT_COUNT,     /* count OP N */
  EXPECT_CONDITION, /* every picked span satisfies a condition */
  EXPECT_CONNECTED, /* the trace is one tree */
  EXPECT_SPAN_COUNT /* the trace has N spans */
} expect_kind;

typedef struct expectation {
  expect_kind kind;
  rig_selector *selector;
  char *assertion_text;
  rig__condition condition; /* COUNT: property "count", NUMBER literal */
  size_t span_count;
} expectation;

struct rig_trace_expect {
  expectation *items;
  size_t count;
};

static const char *const WHAT = "assertion";

int rig_trace_expect_new(rig_trace_expect **out)
{
  if (out == NULL)
    return rig_error_set(RIG_EINVAL, "rig_trace_expect_new: out is NULL");
  *out = rig__calloc(1, sizeof **out);
  return RIG_OK;
}

void rig_trace_expect_free(rig_trace_expect *expect)
{
  if (expect == NULL)
    return;
  for (size_t i = 0; i < expect->count; i++) {
    rig_selector_free(expect->items[i].selector);
    free(expect->items[i].assertion_text);
    rig__condition_dispose(&expect->items[i].condition);
  }
  free(expect->items);
  free(expect);
}

static expectation *push(rig_trace_expect *expect)
{
  expect->items = rig__realloc(expect->items, (expect->count + 1) * sizeof *expect->items);
  expectation *e = &expect->items[expect->count++];
  memset(e, 0, sizeof *e);
  return e;
}

static int parse_assertion(expectation *e, const char *text)
{
  size_t p = rig__skip_space(text, 0);
  if (strncmp(text + p, "connected", 9) == 0 && rig__skip_space(text, p + 9) == strlen(text)) {
    e->kind = EXPECT_CONNECTED;
    return RIG_OK;
  }
  int rc = rig__parse_condition(&e->condition, WHAT, text, &p);
  if (rc != RIG_OK)
    return rc;
  p = rig__skip_space(text, p);
  if (text[p] != '\0')
    return rig__parse_error(WHAT, text, p, "the end of the assertion");
  e->kind = EXPECT_CONDITION;
  if (strcmp(e->condition.property, "count") == 0 && !e->condition.attribute_only) {
    e->kind = EXPECT_COUNT;
    char *end;
    errno = 0;
    long long n = strtoll(e->condition.text, &end, 10);
    if (e->condition.kind != RIG__LIT_NUMBER || *end != '\0' || n < 0 || errno != 0) {
      size_t at = (size_t)(strstr(text + e->condition.column - 1, e->condition.text) - text);
      return rig__parse_error(WHAT, text, at, "a whole number of spans after count");
    }
    if (e->condition.op == RIG__OP_CONTAINS)
      return rig__parse_error(WHAT, text, (size_t)e->condition.column - 1 + 5,
                              "a comparison (==, !=, <, <=, >, >=) after count");
  }
  return RIG_OK;
}

int rig_trace_expect_add(rig_trace_expect *expect, const char *selector, const char *assertion)
{
  if (expect == NULL || assertion == NULL)
    return rig_error_set(RIG_EINVAL, "rig_trace_expect_add: no list or assertion");
  const char *selector_text = selector && selector[0] ? selector : "span";
  rig_selector *parsed;
  int rc = rig_selector_parse(&parsed, selector_text);
  if (rc != RIG_OK)
    return rc;
  expectation e;
  memset(&e, 0, sizeof e);
  e.selector = parsed;
  e.assertion_text = rig__strdup(assertion);
  rc = parse_assertion(&e, assertion);
  if (rc == RIG_OK && e.kind == EXPECT_CONNECTED && strcmp(selector_text, "span") != 0)
    rc = rig_error_set(RIG_EINVAL,
                       "assertion \"connected\" is about the whole trace: give the "
                       "selector \"span\" or none, not \"%s\"",
                       selector_text);
  if (rc != RIG_OK) {
    rig_selector_free(e.selector);
    free(e.assertion_text);
    rig__condition_dispose(&e.condition);
    return rc;
  }
  *push(expect) = e;
  return RIG_OK;
}

int rig_trace_expect_span_count(rig_trace_expect *expect, size_t span_count)
{
  if (expect == NULL)
    return rig_error_set(RIG_EINVAL, "rig_trace_expect_span_count: no list");
  expectation *e = push(expect);
  e->kind = EXPECT_SPAN_COUNT;
  e->span_count = span_count;
  e->assertion_text = rig__sprintf("the trace has %zu spans", span_count);
  return RIG_OK;
}

/* ---- checking ---- */

static void span_label(rig_buf *buf, const rig_span *span)
{
  rig__buf_printf(buf, "%s: %s (%s)", span->service[0] ? span->service : "?", span->name,
                  span->span_id_hex);
}

/*
 * The span that came nearest to the selector's last step: the most conditions met. It
 * answers "what did I get wrong" better than the full list of spans does.
 */
static void explain_closest(rig_buf *buf, const rig_selector *selector, const rig_trace *trace)
{
  size_t span_count = rig_trace_span_count(trace);
  if (span_count == 0) {
    rig__buf_puts(buf, "; the trace has no spans");
    return;
  }
  const rig_span *best = NULL;
  size_t best_alt = 0, best_score = 0, best_total = 0;
  for (size_t a = 0; a < rig__selector_alternatives(selector); a++) {
    size_t n;
    const rig__condition *conditions = rig__selector_last_conditions(selector, a, &n);
    for (size_t i = 0; i < span_count; i++) {
      const rig_span *span = rig_trace_span(trace, i);
      size_t score = 0;
      for (size_t c = 0; c < n; c++)
        score += rig__condition_holds(&conditions[c], span, NULL);
      /* Ratio first, so that one condition of one beats one of three. */
      if (best == NULL || score * (best_total ? best_total : 1) > best_score * (n ? n : 1)) {
        best = span;
        best_alt = a;
        best_score = score;
        best_total = n;
      }
    }
  }
  size_t n;
  const rig__condition *conditions = rig__selector_last_conditions(selector, best_alt, &n);
  rig__buf_puts(buf, "; closest: ");
  span_label(buf, best);
  if (best_score == n) {
    rig__buf_puts(buf, " meets every condition of the last step but not the rest of the "
                       "selector (its ancestors, or a pseudo-class)");
    return;
  }
  int first = 1;
  for (size_t c = 0; c < n; c++) {
    char *actual = NULL;
    if (rig__condition_holds(&conditions[c], best, &actual)) {
      free(actual);
      continue;
    }
    char *text = rig__condition_text(&conditions[c]);
    rig__buf_printf(buf, "%s %s (%s is ", first ? " fails" : ", and", text, conditions[c].property);
    if (strcmp(actual, "<absent>") == 0 || conditions[c].kind != RIG__LIT_STRING)
      rig__buf_puts(buf, actual);
    else
      rig__json_string(buf, actual);
    rig__buf_putc(buf, ')');
    free(text);
    free(actual);
    first = 0;
  }
}

static void list_spans(rig_buf *buf, const rig_selection *selection)
{
  const size_t shown = 10;
  for (size_t i = 0; i < selection->count && i < shown; i++) {
    rig__buf_puts(buf, i ? ", " : ": ");
    span_label(buf, selection->spans[i]);
  }
  if (selection->count > shown)
    rig__buf_printf(buf, " and %zu more", selection->count - shown);
}

static int count_holds(long long actual, const rig__condition *condition)
{
  long long expected = strtoll(condition->text, NULL, 10);
  switch (condition->op) {
  case RIG__OP_EQ:
    return actual == expected;
  case RIG__OP_NE:
    return actual != expected;
  case RIG__OP_LT:
    return actual < expected;
  case RIG__OP_LE:
    return actual <= expected;
  case RIG__OP_GT:
    return actual > expected;
  case RIG__OP_GE:
    return actual >= expected;
  default:
    return 0;
  }
}

/* Checks one expectation; on failure appends "selector: assertion: why" to why. */
static int check_one(const expectation *e, const rig_trace *trace, rig_buf *why)
{
  if (e->kind == EXPECT_SPAN_COUNT) {
    size_t n = rig_trace_span_count(trace);
    if (n == e->span_count)
      return 1;
    rig__buf_printf(why, "%s: it has %zu", e->assertion_text, n);
    return 0;
  }
  if (e->kind == EXPECT_CONNECTED) {
    if (rig_trace_check_connected(trace) == RIG_OK)
      return 1;
    rig__buf_printf(why, "connected: %s", rig_error_last()->message);
    rig_error_clear();
    return 0;
  }
  rig_selection *selection;
  rig_selector_select(&selection, e->selector, trace);
  int ok = 1;
  if (e->kind == EXPECT_COUNT) {
    ok = count_holds((long long)selection->count, &e->condition);
    if (!ok) {
      rig__buf_printf(why, "%s: %s: picked %zu span%s", rig_selector_text(e->selector),
                      e->assertion_text, selection->count, selection->count == 1 ? "" : "s");
      if (selection->count == 0)
        explain_closest(why, e->selector, trace);
      else
        list_spans(why, selection);
    }
  } else if (selection->count == 0) {
    ok = 0;
    rig__buf_printf(why, "%s: %s: the selector picked no span", rig_selector_text(e->selector),
                    e->assertion_text);
    explain_closest(why, e->selector, trace);
  } else {
    size_t failed = 0;
    rig_buf details = RIG_BUF_INIT;
    for (size_t i = 0; i < selection->count; i++) {
      char *actual = NULL;
      if (rig__condition_holds(&e->condition, selection->spans[i], &actual)) {
        free(actual);
        continue;
      }
      if (failed < 10) {
        rig__buf_puts(&details, failed ? "; " : ": ");
        span_label(&details, selection->spans[i]);
        rig__buf_printf(&details, " has %s ", e->condition.property);
        if (e->condition.kind == RIG__LIT_STRING && strcmp(actual, "<absent>") != 0)
          rig__json_string(&details, actual);
        else
          rig__buf_puts(&details, actual);
      }
      failed++;
      free(actual);
    }
    if (failed > 0) {
      ok = 0;
      rig__buf_printf(why, "%s: %s: %zu of %zu picked span%s fail%s",
                      rig_selector_text(e->selector), e->assertion_text, failed, selection->count,
                      selection->count == 1 ? "" : "s", failed == 1 ? "s" : "");
      rig__buf_puts(why, details.data);
      if (failed > 10)
        rig__buf_printf(why, "; and %zu more", failed - 10);
    }
    rig__buf_dispose(&details);
  }
  rig_selection_free(selection);
  return ok;
}

/* The failure text without setting the error: "N of M expectations failed ...". */
static int expect_evaluate(const rig_trace_expect *expect, const rig_trace *trace, char **message)
{
  rig_buf why = RIG_BUF_INIT;
  size_t failed = 0;
  for (size_t i = 0; i < expect->count; i++) {
    rig_buf one = RIG_BUF_INIT;
    if (!check_one(&expect->items[i], trace, &one)) {
      failed++;
      rig__buf_printf(&why, "\n  %zu) %s", i + 1, one.data);
    }
    rig__buf_dispose(&one);
  }
  if (failed == 0) {
    rig__buf_dispose(&why);
    return RIG_OK;
  }
  rig_buf msg = RIG_BUF_INIT;
  rig__buf_printf(&msg, "trace %s: %zu of %zu expectation%s failed%s\n", rig_trace_id_hex(trace),
                  failed, expect->count, expect->count == 1 ? "" : "s", why.data);
  rig__describe_trace(&msg, trace);
  rig__buf_dispose(&why);
  *message = rig__buf_detach(&msg);
  return RIG_EASSERT;
}

static int set_failure(char *message, const rig_trace *trace)
{
  rig_error_set(RIG_EASSERT, "%s", message);
  rig_error_add_detail("trace_id", "%s", rig_trace_id_hex(trace));
  free(message);
  return RIG_EASSERT;
}

int rig_trace_expect_check(const rig_trace_expect *expect, const rig_trace *trace)
{
  if (expect == NULL || trace == NULL)
    return rig_error_set(RIG_EINVAL, "rig_trace_expect_check: no expectations or trace");
  char *message = NULL;
  if (expect_evaluate(expect, trace, &message) == RIG_OK)
    return RIG_OK;
  return set_failure(message, trace);
}

int rig_trace_assert(const rig_trace *trace, const char *selector, const char *assertion)
{
  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  int rc = rig_trace_expect_add(expect, selector, assertion);
  if (rc == RIG_OK)
    rc = rig_trace_expect_check(expect, trace);
  rig_trace_expect_free(expect);
  return rc;
}

/* ---- eventually ---- */

typedef struct waiter {
  int64_t deadline_ms;
  int64_t start_ms;
  int64_t backoff_ms;
  int64_t initial_backoff_ms;
  int64_t max_backoff_ms;
  int stable_polls;
  int polls;
  const char *artifacts_dir;
} waiter;

static int waiter_init(waiter *w, const rig_jaeger_wait_options *opts)
{
  rig_jaeger_wait_options defaults = RIG_JAEGER_WAIT_OPTIONS_INIT;
  if (opts == NULL)
    opts = &defaults;
  if (opts->version != RIG_JAEGER_WAIT_OPTIONS_VERSION)
    return rig_error_set(RIG_EINVAL, "jaeger wait options: version %u, expected %u", opts->version,
                         RIG_JAEGER_WAIT_OPTIONS_VERSION);
  w->start_ms = rig__now_ms();
  w->deadline_ms = w->start_ms + (opts->timeout_ms > 0 ? opts->timeout_ms : 10000);
  w->backoff_ms = opts->initial_backoff_ms > 0 ? opts->initial_backoff_ms : 5;
  w->max_backoff_ms = opts->max_backoff_ms > 0 ? opts->max_backoff_ms : 100;
  w->initial_backoff_ms = w->backoff_ms;
  w->stable_polls = opts->stable_polls > 0 ? opts->stable_polls : 2;
  w->polls = 0;
  w->artifacts_dir = opts->artifacts_dir ? opts->artifacts_dir : getenv("STACKRIG_ARTIFACTS_DIR");
  if (w->artifacts_dir && w->artifacts_dir[0] == '\0')
    w->artifacts_dir = NULL;
  return RIG_OK;
}

/* Waits before the next poll; returns 0 when the deadline has passed instead. */
static int waiter_pause(waiter *w)
{
  int64_t left = w->deadline_ms - rig__now_ms();
  if (left <= 0)
    return 0;
  rig__sleep_ms(w->backoff_ms < left ? w->backoff_ms : left);
  w->backoff_ms = w->backoff_ms * 2 > w->max_backoff_ms ? w->max_backoff_ms : w->backoff_ms * 2;
  return 1;
}

static int mkdir_p(const char *path)
{
  char *copy = rig__strdup(path);
  for (char *p = copy + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(copy, 0777);
      *p = '/';
    }
  }
  int rc = mkdir(copy, 0777) == 0 || errno == EEXIST ? 0 : -1;
  free(copy);
  return rc;
}

/* Writes the trace for a post-mortem; returns the path or NULL (never fails the caller). */
static char *write_artifact(const char *dir, const rig_trace *trace)
{
  if (dir == NULL || trace == NULL || mkdir_p(dir) != 0)
    return NULL;
  char *path = rig__sprintf("%s/trace-%s.json", dir, rig_trace_id_hex(trace));
  char *json = NULL;
  rig_trace_to_json(&json, trace);
  FILE *f = fopen(path, "w");
  int ok = f != NULL && fputs(json, f) >= 0;
  if (f != NULL && fclose(f) != 0)
    ok = 0;
  free(json);
  if (!ok) {
    free(path);
    return NULL;
  }
  return path;
}

static char *known_services(rig_jaeger *client)
{
  char **names = NULL;
  if (rig_jaeger_services(&names, client) != RIG_OK)
    return rig__strdup("(could not list services)");
  rig_buf buf = RIG_BUF_INIT;
  for (size_t i = 0; names[i]; i++)
    rig__buf_printf(&buf, "%s%s", i ? ", " : "", names[i]);
  if (buf.len == 0)
    rig__buf_puts(&buf, "(none)");
  rig_jaeger_names_free(names);
  return rig__buf_detach(&buf);
}

/* Transient answers count as "not yet"; the rest end the wait at once. */
static int transient(int rc)
{
  return rc == RIG_ENOTFOUND || rc == RIG_EHTTP || rc == RIG_ETIMEOUT;
}

static int finish_assert_failure(waiter *w, char *message, const rig_trace *trace)
{
  rig_error_set(RIG_EASSERT, "after %lld ms and %d polls: %s",
                (long long)(rig__now_ms() - w->start_ms), w->polls, message);
  free(message);
  rig_error_add_detail("trace_id", "%s", rig_trace_id_hex(trace));
  char *artifact = write_artifact(w->artifacts_dir, trace);
  if (artifact) {
    rig_error_add_detail("artifact", "%s", artifact);
    free(artifact);
  }
  return RIG_EASSERT;
}

int rig_jaeger_expect_trace(rig_trace **out, rig_jaeger *client, const char *trace_id_hex,
                            const rig_trace_expect *expect, const rig_jaeger_wait_options *opts)
{
  if (client == NULL || trace_id_hex == NULL)
    return rig_error_set(RIG_EINVAL, "rig_jaeger_expect_trace: no client or trace id");
  waiter w;
  int rc = waiter_init(&w, opts);
  if (rc != RIG_OK)
    return rc;
  rig_trace *last = NULL;
  char *last_failure = NULL;
  char *last_error = NULL;
  size_t previous_count = (size_t)-1;
  int stable = 0;
  for (;;) {
    rig_trace *trace = NULL;
    w.polls++;
    rc = rig_jaeger_get_trace(&trace, client, trace_id_hex);
    if (rc == RIG_OK) {
      size_t n = rig_trace_span_count(trace);
      stable = n == previous_count ? stable + 1 : 1;
      /* Something arrived: look again soon rather than after the longest pause. */
      if (n != previous_count)
        w.backoff_ms = w.initial_backoff_ms;
      previous_count = n;
      rig_trace_free(last);
      last = trace;
      free(last_failure);
      last_failure = NULL;
      int holds = expect == NULL || expect_evaluate(expect, trace, &last_failure) == RIG_OK;
      if (holds && stable >= w.stable_polls)
        break;
    } else if (transient(rc)) {
      free(last_error);
      last_error = rig__strdup(rig_error_last() ? rig_error_last()->text : rig_strerror(rc));
    } else {
      break;
    }
    if (!waiter_pause(&w)) {
      /* Out of time: a trace that meets the expectations but kept growing still passes. */
      rc = last != NULL && last_failure == NULL ? RIG_OK : RIG_ETIMEOUT;
      break;
    }
  }
  if (rc == RIG_OK) {
    free(last_failure);
    last_failure = NULL;
  } else if (rc == RIG_ETIMEOUT && last != NULL && last_failure != NULL) {
    rc = finish_assert_failure(&w, last_failure, last);
    last_failure = NULL;
  } else if (rc == RIG_ETIMEOUT) {
    char *services = known_services(client);
    rig_error_set(RIG_ETIMEOUT,
                  "trace %s did not show up in Jaeger (%s) within %lld ms (%d polls; last "
                  "answer: %s); services Jaeger knows: %s",
                  trace_id_hex, rig__jaeger_base_url(client),
                  (long long)(rig__now_ms() - w.start_ms), w.polls,
                  last_error ? last_error : "none", services);
    rig_error_add_detail("trace_id", "%s", trace_id_hex);
    free(services);
  }
  free(last_failure);
  free(last_error);
  if (out != NULL)
    *out = last;
  else
    rig_trace_free(last);
  return rc;
}

int rig_jaeger_expect_search(rig_trace **out, rig_jaeger *client, const rig_trace_query *query,
                             const rig_trace_expect *expect, const rig_jaeger_wait_options *opts)
{
  if (client == NULL || query == NULL)
    return rig_error_set(RIG_EINVAL, "rig_jaeger_expect_search: no client or query");
  waiter w;
  int rc = waiter_init(&w, opts);
  if (rc != RIG_OK)
    return rc;
  rig_trace *candidate = NULL; /* the trace that passed the last poll */
  rig_trace *closest = NULL;   /* a trace that failed, for the message */
  char *closest_failure = NULL;
  char *last_error = NULL;
  int stable = 0;
  size_t found_total = 0;
  for (;;) {
    rig_trace_list *list = NULL;
    w.polls++;
    rc = rig_jaeger_find_traces(&list, client, query);
    if (rc == RIG_OK) {
      found_total = rig_trace_list_count(list);
      rig_trace *passing = NULL;
      for (size_t i = 0; i < rig_trace_list_count(list) && passing == NULL; i++) {
        const rig_trace *trace = rig_trace_list_get(list, i);
        char *failure = NULL;
        if (expect == NULL || expect_evaluate(expect, trace, &failure) == RIG_OK) {
          passing = rig_trace_list_take(list, i);
        } else if (closest == NULL || i == 0) {
          rig_trace_free(closest);
          free(closest_failure);
          closest = rig_trace_list_take(list, i);
          closest_failure = failure;
          failure = NULL;
        }
        free(failure);
      }
      if (passing != NULL) {
        int same = candidate &&
                   strcmp(rig_trace_id_hex(candidate), rig_trace_id_hex(passing)) == 0 &&
                   rig_trace_span_count(candidate) == rig_trace_span_count(passing);
        stable = same ? stable + 1 : 1;
        if (!same)
          w.backoff_ms = w.initial_backoff_ms;
        rig_trace_free(candidate);
        candidate = passing;
      } else {
        stable = 0;
        rig_trace_free(candidate);
        candidate = NULL;
      }
      rig_trace_list_free(list);
      if (candidate && stable >= w.stable_polls)
        break;
    } else if (transient(rc)) {
      free(last_error);
      last_error = rig__strdup(rig_error_last() ? rig_error_last()->text : rig_strerror(rc));
    } else {
      break;
    }
    if (!waiter_pause(&w)) {
      rc = candidate ? RIG_OK : RIG_ETIMEOUT;
      break;
    }
  }
  if (rc == RIG_OK) {
    rig_trace_free(closest);
    free(closest_failure);
    if (out)
      *out = candidate;
    else
      rig_trace_free(candidate);
    free(last_error);
    return RIG_OK;
  }
  rig_trace_free(candidate);
  if (rc == RIG_ETIMEOUT && closest != NULL) {
    char *message = rig__sprintf("search for service %s found %zu trace%s, none meets the "
                                 "expectations; the first one: %s",
                                 query->service ? query->service : "?", found_total,
                                 found_total == 1 ? "" : "s", closest_failure);
    free(closest_failure);
    rc = finish_assert_failure(&w, message, closest);
  } else if (rc == RIG_ETIMEOUT) {
    char *services = known_services(client);
    rig_error_set(RIG_ETIMEOUT,
                  "no trace of service %s showed up in Jaeger within %lld ms (%d polls; last "
                  "error: %s); services Jaeger knows: %s",
                  query->service ? query->service : "?", (long long)(rig__now_ms() - w.start_ms),
                  w.polls, last_error ? last_error : "none", services);
    free(services);
    free(closest_failure);
  } else {
    free(closest_failure);
  }
  free(last_error);
  if (out)
    *out = closest;
  else
    rig_trace_free(closest);
  return rc;
}
