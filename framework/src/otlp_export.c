/*
 * otlp_export.c - sends a batch as one OTLP/HTTP JSON request and retries what the OTLP
 * spec calls retryable (429, 502, 503, 504), honouring Retry-After, within one deadline.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "otlp_internal.h"
#include "stackrig/error.h"
#include "stackrig/http.h"

struct rig_otlp_exporter {
  rig_http *http;
  char *url;      /* for messages */
  char *path;     /* "/v1/traces" or "" when the endpoint already names it */
  char **headers; /* Content-Type first, then the user's; NULL-terminated */
  int64_t request_timeout_ms;
  int64_t deadline_ms;
  int64_t initial_backoff_ms;
  int64_t max_backoff_ms;
  int last_attempts;
};

/* ---- Retry-After ---- */

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};

static int parse_month(const char **p)
{
  for (int m = 0; m < 12; m++) {
    if (strncasecmp(*p, month_names[m], 3) == 0) {
      *p += 3;
      return m;
    }
  }
  return -1;
}

static int parse_number(const char **p, int min_digits, int max_digits, int *out)
{
  int value = 0, digits = 0;
  while (isdigit((unsigned char)**p) && digits < max_digits) {
    value = value * 10 + (**p - '0');
    (*p)++;
    digits++;
  }
  if (digits < min_digits)
    return -1;
  *out = value;
  return 0;
}

static int parse_clock(const char **p, struct tm *tm)
{
  if (parse_number(p, 2, 2, &tm->tm_hour) || *(*p)++ != ':' || parse_number(p, 2, 2, &tm->tm_min) ||
      *(*p)++ != ':' || parse_number(p, 2, 2, &tm->tm_sec))
    return -1;
  return tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec <= 60 ? 0 : -1;
}

static void skip_spaces(const char **p)
{
  while (**p == ' ')
    (*p)++;
}

/* HTTP-date in its three forms (RFC 9110 section 5.6.7), parsed without the C locale's help. */
static int parse_http_date(const char *text, int64_t *out_unix_s)
{
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *p = text;
  while (isalpha((unsigned char)*p))
    p++; /* the day name */
  if (*p == ',') {
    /* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 ..." */
    p++;
    skip_spaces(&p);
    if (parse_number(&p, 1, 2, &tm.tm_mday))
      return -1;
    char sep = *p;
    if (sep != ' ' && sep != '-')
      return -1;
    p++;
    if ((tm.tm_mon = parse_month(&p)) < 0 || *p++ != sep)
      return -1;
    int year;
    const char *year_start = p;
    if (parse_number(&p, 2, 4, &year))
      return -1;
    if (p - year_start == 2)
      year += year < 70 ? 2000 : 1900;
    tm.tm_year = year - 1900;
    skip_spaces(&p);
    if (parse_clock(&p, &tm))
      return -1;
    skip_spaces(&p);
    if (strncmp(p, "GMT", 3) != 0)
      return -1;
    p += 3;
  } else if (*p == ' ') {
    /* asctime "Sun Nov  6 08:49:37 1994" */
    skip_spaces(&p);
    if ((tm.tm_mon = parse_month(&p)) < 0)
      return -1;
    skip_spaces(&p);
    if (parse_number(&p, 1, 2, &tm.tm_mday))
      return -1;
    skip_spaces(&p);
    if (parse_clock(&p, &tm))
      return -1;
    skip_spaces(&p);
    int year;
    if (parse_number(&p, 4, 4, &year))
      return -1;
    tm.tm_year = year - 1900;
  } else {
    return -1;
  }
  skip_spaces(&p);
  if (*p != '\0' || tm.tm_mday < 1 || tm.tm_mday > 31)
    return -1;
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return -1;
  *out_unix_s = (int64_t)t;
  return 0;
}

int rig__retry_after_ms(int64_t *out_ms, const char *value, int64_t now_unix_ms)
{
  if (value == NULL)
    return rig_error_set(RIG_EPARSE, "Retry-After: no value");
  const char *p = value;
  while (*p == ' ' || *p == '\t')
    p++;
  size_t len = strlen(p);
  while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
    len--;
  char *trimmed = rig__strndup(p, len);
  int rc = RIG_OK;
  if (len > 0 && strspn(trimmed, "0123456789") == len) {
    /* delay-seconds; absurd values saturate instead of overflowing. */
    int64_t seconds = len > 9 ? 999999999 : strtoll(trimmed, NULL, 10);
    *out_ms = seconds * 1000;
  } else {
    int64_t when;
    if (parse_http_date(trimmed, &when) == 0) {
      int64_t delay = when * 1000 - now_unix_ms;
      *out_ms = delay > 0 ? delay : 0;
    } else {
      rc = rig_error_set(RIG_EPARSE, "Retry-After \"%.60s\": neither seconds nor an HTTP-date",
                         trimmed);
    }
  }
  free(trimmed);
  return rc;
}

/* ---- the exporter ---- */

int rig_otlp_exporter_new(rig_otlp_exporter **out, const char *endpoint,
                          const rig_otlp_exporter_options *opts)
{
  if (out == NULL || endpoint == NULL || endpoint[0] == '\0')
    return rig_error_set(RIG_EINVAL, "otlp exporter: no endpoint");
  rig_otlp_exporter_options defaults = RIG_OTLP_EXPORTER_OPTIONS_INIT;
  if (opts == NULL)
    opts = &defaults;
  if (opts->version != RIG_OTLP_EXPORTER_OPTIONS_VERSION)
    return rig_error_set(RIG_EINVAL, "otlp exporter: options version %u, expected %u",
                         opts->version, RIG_OTLP_EXPORTER_OPTIONS_VERSION);
  char *base = rig__strdup(endpoint);
  size_t len = strlen(base);
  while (len > 0 && base[len - 1] == '/')
    base[--len] = '\0';
  const char *suffix = "/v1/traces";
  int named = len >= strlen(suffix) && strcmp(base + len - strlen(suffix), suffix) == 0;
  rig_http *http;
  int rc = rig_http_new(&http, base, NULL);
  if (rc != RIG_OK) {
    free(base);
    return rig_error_wrap(rc, "otlp exporter %s", endpoint);
  }
  rig_otlp_exporter *exporter = rig__calloc(1, sizeof *exporter);
  exporter->http = http;
  exporter->path = rig__strdup(named ? "" : suffix);
  exporter->url = rig__sprintf("%s%s", base, exporter->path);
  free(base);
  size_t user = 0;
  while (opts->headers && opts->headers[user])
    user++;
  exporter->headers = rig__calloc(user + 2, sizeof *exporter->headers);
  exporter->headers[0] = rig__strdup("Content-Type: application/json");
  for (size_t i = 0; i < user; i++)
    exporter->headers[i + 1] = rig__strdup(opts->headers[i]);
  exporter->request_timeout_ms = opts->request_timeout_ms > 0 ? opts->request_timeout_ms : 10000;
  exporter->deadline_ms = opts->deadline_ms > 0 ? opts->deadline_ms : 30000;
  exporter->initial_backoff_ms = opts->initial_backoff_ms > 0 ? opts->initial_backoff_ms : 100;
  exporter->max_backoff_ms = opts->max_backoff_ms > 0 ? opts->max_backoff_ms : 2000;
  *out = exporter;
  return RIG_OK;
}

void rig_otlp_exporter_free(rig_otlp_exporter *exporter)
{
  if (exporter == NULL)
    return;
  rig_http_free(exporter->http);
  for (size_t i = 0; exporter->headers && exporter->headers[i]; i++)
    free(exporter->headers[i]);
  free(exporter->headers);
  free(exporter->url);
  free(exporter->path);
  free(exporter);
}

int rig_otlp_exporter_last_attempts(const rig_otlp_exporter *exporter)
{
  return exporter ? exporter->last_attempts : 0;
}

/* The least time worth giving one more request. */
#define MIN_ATTEMPT_MS 50

static int retryable(long status)
{
  return status == 429 || status == 502 || status == 503 || status == 504;
}

/*
 * The server's own words: OTLP/HTTP answers errors with a google.rpc.Status ({"code":3,
 * "message":"..."}); proxies answer with plain text. Either is cut to a readable length.
 */
static char *server_message(const rig_http_response *resp)
{
  if (resp->body == NULL || resp->body_len == 0)
    return rig__strdup("(empty body)");
  json_object *root = json_tokener_parse(resp->body);
  json_object *message = NULL;
  char *text = NULL;
  if (root && json_object_is_type(root, json_type_object) &&
      json_object_object_get_ex(root, "message", &message) &&
      json_object_is_type(message, json_type_string))
    text = rig__strdup(json_object_get_string(message));
  json_object_put(root);
  if (text)
    return text;
  size_t len = resp->body_len;
  while (len > 0 && isspace((unsigned char)resp->body[len - 1]))
    len--;
  if (len > 300)
    return rig__sprintf("%.300s...", resp->body);
  return rig__strndup(resp->body, len);
}

/* A 2xx may still carry a partial success that names rejected spans. */
static int check_partial_success(rig_otlp_exporter *exporter, const rig_http_response *resp,
                                 size_t span_count)
{
  if (resp->body == NULL || resp->body_len == 0)
    return RIG_OK;
  json_object *root = json_tokener_parse(resp->body);
  json_object *partial = NULL, *rejected = NULL, *message = NULL;
  int rc = RIG_OK;
  if (root && json_object_object_get_ex(root, "partialSuccess", &partial) &&
      json_object_object_get_ex(partial, "rejectedSpans", &rejected)) {
    /* int64 arrives as a decimal string, but be lenient about a bare number. */
    int64_t count = json_object_get_int64(rejected);
    if (count > 0) {
      json_object_object_get_ex(partial, "errorMessage", &message);
      rc = rig_error_set(RIG_EHTTP, "POST %s: the collector rejected %lld of %zu spans: %s",
                         exporter->url, (long long)count, span_count,
                         message ? json_object_get_string(message) : "(no message)");
      rig_error_add_detail("url", "%s", exporter->url);
      rig_error_add_detail("rejected_spans", "%lld", (long long)count);
    }
  }
  json_object_put(root);
  return rc;
}

/* Full-jitter is too eager for a collector that is restarting: keep at least half. */
static int64_t jittered(int64_t backoff_ms)
{
  uint32_t r = 0;
  rig_random_bytes(&r, sizeof r);
  return backoff_ms / 2 + (int64_t)(r % (uint32_t)(backoff_ms / 2 + 1));
}

int rig_otlp_exporter_send(rig_otlp_exporter *exporter, const rig_otlp_batch *batch)
{
  if (exporter == NULL || batch == NULL)
    return rig_error_set(RIG_EINVAL, "rig_otlp_exporter_send: no exporter or batch");
  exporter->last_attempts = 0;
  size_t span_count = rig_otlp_batch_span_count(batch);
  if (span_count == 0)
    return rig_error_set(RIG_EINVAL, "POST %s: the batch holds no spans", exporter->url);
  char *body = NULL;
  int rc = rig_otlp_batch_to_json(&body, batch);
  if (rc != RIG_OK)
    return rc;

  int64_t deadline = rig__now_ms() + exporter->deadline_ms;
  int64_t backoff = exporter->initial_backoff_ms;
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.method = "POST";
  req.path = exporter->path;
  req.headers = (const char *const *)exporter->headers;
  req.body = body;
  req.body_len = strlen(body);
  char last_problem[512] = "";
  for (;;) {
    int64_t left = deadline - rig__now_ms();
    req.timeout_ms =
        left < exporter->request_timeout_ms ? (left > 0 ? left : 1) : exporter->request_timeout_ms;
    rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
    exporter->last_attempts++;
    rc = rig_http_do(exporter->http, &req, &resp);
    int64_t delay = -1;
    if (rc == RIG_OK && resp.status >= 200 && resp.status < 300) {
      rc = check_partial_success(exporter, &resp, span_count);
      rig_http_response_dispose(&resp);
      break;
    }
    if (rc == RIG_OK && retryable(resp.status)) {
      char *message = server_message(&resp);
      snprintf(last_problem, sizeof last_problem, "HTTP %ld: %s", resp.status, message);
      free(message);
      const char *retry_after = rig_http_response_header(&resp, "Retry-After");
      int64_t server_delay;
      if (retry_after &&
          rig__retry_after_ms(&server_delay, retry_after, rig__wall_ns() / 1000000) == RIG_OK)
        delay = server_delay;
      else
        delay = jittered(backoff);
    } else if (rc == RIG_ETIMEOUT) {
      /* A request that timed out is worth another try while the deadline allows. */
      snprintf(last_problem, sizeof last_problem, "%s",
               rig_error_last() ? rig_error_last()->text : "timed out");
      delay = jittered(backoff);
    } else if (rc == RIG_OK) {
      char *message = server_message(&resp);
      rc = rig_error_set(RIG_EHTTP, "POST %s: HTTP %ld: %s", exporter->url, resp.status, message);
      rig_error_add_detail("url", "%s", exporter->url);
      rig_error_add_detail("status", "%ld", resp.status);
      free(message);
      rig_http_response_dispose(&resp);
      break;
    } else {
      rig_http_response_dispose(&resp);
      rc = rig_error_wrap(rc, "otlp export to %s", exporter->url);
      break;
    }
    rig_http_response_dispose(&resp);
    /* An attempt squeezed into the last milliseconds would fail for want of time (a connect
     * cut short reads as "cannot connect"), so it is not made. */
    if (rig__now_ms() + delay + MIN_ATTEMPT_MS >= deadline) {
      rc = rig_error_set(RIG_ETIMEOUT,
                         "POST %s: gave up after %d attempts within %lld ms (next retry in "
                         "%lld ms would pass the deadline); last answer: %s",
                         exporter->url, exporter->last_attempts, (long long)exporter->deadline_ms,
                         (long long)delay, last_problem);
      rig_error_add_detail("url", "%s", exporter->url);
      break;
    }
    rig__sleep_ms(delay);
    backoff = backoff * 2 > exporter->max_backoff_ms ? exporter->max_backoff_ms : backoff * 2;
  }
  if (rc != RIG_OK)
    rig_error_add_detail("attempts", "%d", exporter->last_attempts);
  free(body);
  return rc;
}
