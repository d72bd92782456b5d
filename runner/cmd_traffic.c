/*
 * cmd_traffic.c - `stackrig traffic URL [options]`: runs the traffic module against one
 * URL, shows a live line on a terminal, prints the result (text or JSON) and judges the
 * thresholds: exit 0 when they pass, 1 when one fails, 2 for usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"

#define MAX_LIST 64

static volatile int interrupted_by; /* the signal that asked to stop, or 0 */

static void on_signal(int sig)
{
  interrupted_by = sig;
}

typedef struct cli {
  rig_traffic_options opts;
  const char *headers[MAX_LIST + 1];
  size_t header_count;
  const char *thresholds[MAX_LIST + 1];
  size_t threshold_count;
  int json;
  int progress;
  const char *trace_file;
  const char *jwt_secret_env;
  rig_jwt_claims jwt;
  char *token;
  char *data;
} cli;

enum {
  OPT_BODY = 256,
  OPT_DATA,
  OPT_TRACEPARENT,
  OPT_PARENT,
  OPT_TRACE_FILE,
  OPT_TRACE_KEEP,
  OPT_THRESHOLD,
  OPT_JSON,
  OPT_WARMUP,
  OPT_TIMEOUT,
  OPT_HTTP2,
  OPT_NO_PROGRESS,
  OPT_JWT_SECRET_ENV,
  OPT_JWT_SUB,
  OPT_JWT_ISS,
  OPT_JWT_AUD,
  OPT_JWT_TTL,
  OPT_JWT_CLAIMS
};

static const struct option long_options[] = {
    {"connections", required_argument, NULL, 'c'},
    {"rate", required_argument, NULL, 'r'},
    {"duration", required_argument, NULL, 'd'},
    {"requests", required_argument, NULL, 'n'},
    {"method", required_argument, NULL, 'X'},
    {"header", required_argument, NULL, 'H'},
    {"body", required_argument, NULL, OPT_BODY},
    {"data", required_argument, NULL, OPT_DATA},
    {"traceparent", no_argument, NULL, OPT_TRACEPARENT},
    {"parent", required_argument, NULL, OPT_PARENT},
    {"trace-file", required_argument, NULL, OPT_TRACE_FILE},
    {"trace-keep", required_argument, NULL, OPT_TRACE_KEEP},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"json", no_argument, NULL, OPT_JSON},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"http2", no_argument, NULL, OPT_HTTP2},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"jwt-secret-env", required_argument, NULL, OPT_JWT_SECRET_ENV},
    {"jwt-sub", required_argument, NULL, OPT_JWT_SUB},
    {"jwt-iss", required_argument, NULL, OPT_JWT_ISS},
    {"jwt-aud", required_argument, NULL, OPT_JWT_AUD},
    {"jwt-ttl", required_argument, NULL, OPT_JWT_TTL},
    {"jwt-claims", required_argument, NULL, OPT_JWT_CLAIMS},
    {NULL, 0, NULL, 0},
};

#define usage(...) runner_usage_error("traffic", __VA_ARGS__)

static int parse_duration_option(int64_t *out_ms, const char *option, const char *text)
{
  if (rig_duration_parse(out_ms, text) != RIG_OK)
    return usage("%s: '%s' is not a duration (examples: 500ms, 10s, 1m30s)", option, text);
  return RIG_EXIT_OK;
}

static int parse_count(int64_t *out, const char *option, const char *text, int64_t max)
{
  int64_t value = 0;
  if (rig_parse_int(&value, text) != RIG_OK || value < 1 || value > max) {
    char range[64];
    snprintf(range, sizeof range, "'%s' is not a whole number from 1 to %lld", text,
             (long long)max);
    return runner_usage_error("traffic", "%s: %s", option, range);
  }
  *out = value;
  return RIG_EXIT_OK;
}

static int parse_rate(double *out, const char *text)
{
  char *end = NULL;
  errno = 0;
  double rate = strtod(text, &end);
  if (end != text && strcmp(end, "/s") == 0)
    end += 2;
  if (end == text || *end != '\0' || errno || !isfinite(rate) || rate <= 0 || rate > 1e8)
    return usage("--rate: '%s' is not a number of requests per second above 0", text);
  *out = rate;
  return RIG_EXIT_OK;
}

static int add_to_list(const char **list, size_t *count, const char *option, const char *value)
{
  if (*count >= MAX_LIST)
    return usage("%s: at most 64 of them", option);
  list[(*count)++] = value;
  list[*count] = NULL;
  return RIG_EXIT_OK;
}

static int parse_args(cli *c, int argc, char **argv)
{
  int64_t number = 0;
  int rc = RIG_EXIT_OK;
  opterr = 0;
  optind = 0; /* 0 makes glibc's getopt start over, as each command parses its own argv */
  int opt;
  while ((opt = getopt_long(argc, argv, ":c:r:d:n:X:H:", long_options, NULL)) != -1) {
    switch (opt) {
    case 'c':
      rc = parse_count(&number, "--connections", optarg, 100000);
      c->opts.connections = (int)number;
      break;
    case 'r':
      rc = parse_rate(&c->opts.rate, optarg);
      break;
    case 'd':
      rc = parse_duration_option(&c->opts.duration_ms, "--duration", optarg);
      if (rc == RIG_EXIT_OK && c->opts.duration_ms <= 0)
        rc = usage("--duration: '%s' must be above 0", optarg);
      break;
    case 'n':
      rc = parse_count(&number, "--requests", optarg, INT64_MAX);
      c->opts.requests = (uint64_t)number;
      break;
    case 'X':
      c->opts.request.method = optarg;
      break;
    case 'H':
      rc = add_to_list(c->headers, &c->header_count, "--header", optarg);
      break;
    case OPT_BODY:
      c->opts.body_file = optarg;
      break;
    case OPT_DATA:
      c->opts.request.body = optarg;
      c->opts.request.body_len = strlen(optarg);
      break;
    case OPT_TRACEPARENT:
      c->opts.traceparent = 1;
      break;
    case OPT_PARENT:
      c->opts.traceparent = 1;
      c->opts.parent_traceparent = optarg;
      break;
    case OPT_TRACE_FILE:
      c->opts.traceparent = 1;
      c->trace_file = optarg;
      break;
    case OPT_TRACE_KEEP:
      rc = parse_count(&number, "--trace-keep", optarg, 100000000);
      c->opts.trace_keep = number;
      break;
    case OPT_THRESHOLD:
      if (rig_traffic_threshold_validate(optarg) != RIG_OK)
        return usage("--threshold: %s", rig_error_last()->text);
      rc = add_to_list(c->thresholds, &c->threshold_count, "--threshold", optarg);
      break;
    case OPT_JSON:
      c->json = 1;
      break;
    case OPT_WARMUP:
      rc = parse_duration_option(&c->opts.warmup_ms, "--warmup", optarg);
      break;
    case OPT_TIMEOUT:
      rc = parse_duration_option(&c->opts.timeout_ms, "--timeout", optarg);
      if (rc == RIG_EXIT_OK && c->opts.timeout_ms <= 0)
        rc = usage("--timeout: '%s' must be above 0", optarg);
      break;
    case OPT_HTTP2:
      c->opts.http2 = 1;
      break;
    case OPT_NO_PROGRESS:
      c->progress = 0;
      break;
    case OPT_JWT_SECRET_ENV:
      c->jwt_secret_env = optarg;
      break;
    case OPT_JWT_SUB:
      c->jwt.subject = optarg;
      break;
    case OPT_JWT_ISS:
      c->jwt.issuer = optarg;
      break;
    case OPT_JWT_AUD:
      c->jwt.audience = optarg;
      break;
    case OPT_JWT_TTL: {
      int64_t ms = 0;
      rc = parse_duration_option(&ms, "--jwt-ttl", optarg);
      if (rc == RIG_EXIT_OK && ms < 1000)
        rc = usage("--jwt-ttl: '%s' is shorter than a second", optarg);
      c->jwt.expires_in_s = ms / 1000;
      break;
    }
    case OPT_JWT_CLAIMS:
      c->jwt.extra_json = optarg;
      break;
    case ':':
      return usage("option '%s' needs a value", argv[optind - 1]);
    default:
      return usage("unknown option '%s'", argv[optind - 1]);
    }
    if (rc != RIG_EXIT_OK)
      return rc;
  }
  if (optind >= argc)
    return usage("missing URL (example: stackrig traffic http://127.0.0.1:8080/ -d 10s)");
  if (argc - optind > 1)
    return usage("expected one URL, got also '%s'", argv[optind + 1]);
  c->opts.request.url = argv[optind];
  if (c->opts.duration_ms && c->opts.requests)
    return usage("give either --duration or --requests, not both");
  if (c->opts.body_file && c->opts.request.body)
    return usage("give either --body or --data, not both");
  if ((c->jwt.subject || c->jwt.issuer || c->jwt.audience || c->jwt.extra_json ||
       c->jwt.expires_in_s) &&
      !c->jwt_secret_env)
    return usage("--jwt-* options need --jwt-secret-env VAR (the variable holding the HS256 "
                 "secret)");
  c->opts.request.headers = c->header_count ? c->headers : NULL;
  c->opts.thresholds = c->threshold_count ? c->thresholds : NULL;
  return RIG_EXIT_OK;
}

static int make_token(cli *c)
{
  if (!c->jwt_secret_env)
    return RIG_EXIT_OK;
  const char *secret = getenv(c->jwt_secret_env);
  if (!secret || !*secret)
    return usage("--jwt-secret-env: the variable %s is not set or empty", c->jwt_secret_env);
  int rc = rig_jwt_sign_hs256(&c->token, &c->jwt, secret, strlen(secret));
  if (rc != RIG_OK)
    return usage("--jwt-claims: %s", rig_error_last()->text);
  c->opts.bearer_token = c->token;
  return RIG_EXIT_OK;
}

/* ---- output ---- */

static void format_ns(char *buf, size_t size, double ns)
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

static void on_progress(void *userdata, const rig_traffic_progress *p)
{
  (void)userdata;
  char p99[32];
  format_ns(p99, sizeof p99, (double)p->p99_ns);
  if (p->warming_up)
    fprintf(stderr, "\r\033[K  warming up %.1fs  in flight %llu", (double)p->elapsed_ms / 1e3,
            (unsigned long long)p->in_flight);
  else
    fprintf(stderr, "\r\033[K  %.1fs  %llu requests  %.1f/s  %llu errors  p99 %s",
            (double)p->elapsed_ms / 1e3, (unsigned long long)p->requests, p->rate,
            (unsigned long long)p->errors, p->requests ? p99 : "-");
  fflush(stderr);
}

static void print_latency(const char *label, const rig_traffic_latency *lat)
{
  char v[8][32];
  format_ns(v[0], sizeof v[0], (double)lat->min_ns);
  format_ns(v[1], sizeof v[1], lat->mean_ns);
  format_ns(v[2], sizeof v[2], (double)lat->p50_ns);
  format_ns(v[3], sizeof v[3], (double)lat->p90_ns);
  format_ns(v[4], sizeof v[4], (double)lat->p95_ns);
  format_ns(v[5], sizeof v[5], (double)lat->p99_ns);
  format_ns(v[6], sizeof v[6], (double)lat->p999_ns);
  format_ns(v[7], sizeof v[7], (double)lat->max_ns);
  printf("  %-12s min %s  mean %s  p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s\n", label, v[0],
         v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
}

static void print_text(const rig_traffic_result *result, const cli *c)
{
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  printf("%s %s: ",
         c->opts.request.method                        ? c->opts.request.method
         : (c->opts.body_file || c->opts.request.body) ? "POST"
                                                       : "GET",
         c->opts.request.url);
  if (sum->open_model)
    printf("open model, %.1f/s target, at most %d in flight%s\n", sum->target_rate,
           sum->connections, sum->interrupted ? " (interrupted)" : "");
  else
    printf("closed model, %d connections%s\n", sum->connections,
           sum->interrupted ? " (interrupted)" : "");
  printf("  requests     %llu in %.2fs, %.1f/s\n", (unsigned long long)sum->requests,
         sum->duration_s, sum->rate);
  if (sum->not_sent)
    printf("  not sent     %llu (every connection was busy until the end; raise -c)\n",
           (unsigned long long)sum->not_sent);
  if (sum->http2_fallbacks)
    printf("  http/1.1     %llu answers came over HTTP/1.1 (a new connection without prior "
           "knowledge; see docs/traffic.md)\n",
           (unsigned long long)sum->http2_fallbacks);
  int statuses[64];
  size_t count = rig_traffic_result_statuses(statuses, 64, result);
  if (count) {
    printf("  status      ");
    for (size_t i = 0; i < count && i < 64; i++)
      printf(" %d: %llu", statuses[i],
             (unsigned long long)rig_traffic_result_status_count(result, statuses[i]));
    printf("\n");
  }
  if (sum->errors) {
    printf("  errors       %llu (%.2f%%):", (unsigned long long)sum->errors,
           100.0 * (double)sum->errors / (double)sum->requests);
    for (int kind = RIG_TRAFFIC_ERR_CONNECT; kind < RIG_TRAFFIC_ERR_COUNT; kind++)
      if (sum->error_kinds[kind])
        printf(" %s %llu", rig_traffic_error_kind_name((rig_traffic_error_kind)kind),
               (unsigned long long)sum->error_kinds[kind]);
    printf("\n");
  } else {
    printf("  errors       0\n");
  }
  if (sum->responses) {
    print_latency("latency", &sum->latency);
    for (size_t i = 0; count > 1 && i < count && i < 64; i++) {
      rig_traffic_latency lat;
      char label[16];
      snprintf(label, sizeof label, "  %d", statuses[i]);
      if (rig_traffic_result_latency(&lat, result, statuses[i]) == RIG_OK)
        print_latency(label, &lat);
    }
  }
  if (sum->traces_seen)
    printf("  traces       %llu sent, %llu kept\n", (unsigned long long)sum->traces_seen,
           (unsigned long long)sum->traces_kept);
  size_t verdicts = rig_traffic_result_verdict_count(result);
  if (verdicts) {
    printf("  thresholds\n");
    for (size_t i = 0; i < verdicts; i++) {
      const rig_traffic_verdict *v = rig_traffic_result_verdict(result, i);
      printf("    %-4s %-24s actual %s\n", v->passed ? "ok" : "FAIL", v->expr, v->actual_text);
    }
  }
}

static int write_traces(const rig_traffic_result *result, const char *path)
{
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "stackrig traffic: --trace-file %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(f, "# trace_id span_id seq status latency_ms error\n");
  size_t n = rig_traffic_result_trace_count(result);
  for (size_t i = 0; i < n; i++) {
    const rig_traffic_trace *t = rig_traffic_result_trace(result, i);
    char trace_id[RIG_TRACE_ID_HEX_LEN + 1], span_id[RIG_SPAN_ID_HEX_LEN + 1];
    rig_trace_id_to_hex(trace_id, t->trace_id);
    rig_span_id_to_hex(span_id, t->span_id);
    fprintf(f, "%s %s %llu %d %.3f %s\n", trace_id, span_id, (unsigned long long)t->seq, t->status,
            (double)t->latency_ns / 1e6, rig_traffic_error_kind_name(t->error));
  }
  if (fclose(f) != 0) {
    fprintf(stderr, "stackrig traffic: --trace-file %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

static int run_traffic(int argc, char **argv)
{
  cli c;
  memset(&c, 0, sizeof c);
  rig_traffic_options defaults = RIG_TRAFFIC_OPTIONS_INIT;
  rig_jwt_claims claims = RIG_JWT_CLAIMS_INIT;
  c.opts = defaults;
  c.jwt = claims;
  c.progress = 1;
  int code = parse_args(&c, argc, argv);
  if (code == RIG_EXIT_OK)
    code = make_token(&c);
  if (code != RIG_EXIT_OK) {
    free(c.token);
    return code;
  }

  if (c.progress && isatty(STDERR_FILENO)) {
    c.opts.on_progress = on_progress;
    c.opts.progress_interval_ms = 250;
  }
  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  c.opts.cancel = &interrupted_by;

  rig_traffic_result *result = NULL;
  int rc = rig_traffic_run(&result, &c.opts);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  if (c.opts.on_progress)
    fprintf(stderr, "\r\033[K");
  free(c.token);
  if (rc == RIG_EINVAL || rc == RIG_ENOTFOUND)
    return usage("%s", rig_error_last() ? rig_error_last()->text : rig_strerror(rc));
  if (rc != RIG_OK)
    return runner_report(rc, "traffic");

  if (c.json) {
    char *json = NULL;
    if (rig_traffic_result_json(&json, result, RIG_TRAFFIC_JSON_PRETTY) == RIG_OK)
      printf("%s\n", json);
    free(json);
  } else {
    print_text(result, &c);
  }
  fflush(stdout);
  code = rig_traffic_result_passed(result) ? RIG_EXIT_OK : RIG_EXIT_FAILED;
  if (c.trace_file && write_traces(result, c.trace_file) != 0)
    code = RIG_EXIT_INFRA;
  if (interrupted_by)
    code = interrupted_by == SIGTERM ? RIG_EXIT_SIGTERM : RIG_EXIT_SIGINT;
  rig_traffic_result_free(result);
  return code;
}

const runner_command runner_cmd_traffic = {
    "traffic",
    "send HTTP load to a URL and check latency and error thresholds",
    "usage: stackrig traffic URL [-c N] [-r RATE] [-d DUR | -n COUNT] [-X METHOD]\n"
    "                        [-H 'K: V']... [--body FILE] [--traceparent]\n"
    "                        [--threshold EXPR]... [--json] [--warmup DUR] [--timeout DUR]\n"
    "\n"
    "Sends HTTP requests to URL from one event loop and reports requests, achieved rate,\n"
    "status codes, errors by kind and latency percentiles (overall and per status).\n"
    "\n"
    "Load:\n"
    "  -c, --connections N  closed model: N concurrent users, each sending its next request\n"
    "                       when the last one ended (default 10); with -r: the most\n"
    "                       requests in flight\n"
    "  -r, --rate RATE      open model: RATE requests per second at fixed intervals; latency\n"
    "                       counts from each request's intended send time, so a stalled\n"
    "                       server shows up in the percentiles\n"
    "  -d, --duration DUR   how long to send, e.g. 30s, 2m (default 10s)\n"
    "  -n, --requests COUNT stop after COUNT requests instead\n"
    "      --warmup DUR     send for DUR first, counting nothing\n"
    "      --timeout DUR    per-request timeout (default 10s)\n"
    "      --http2          HTTP/2 over cleartext with prior knowledge (h2c)\n"
    "\n"
    "Request:\n"
    "  -X, --method METHOD  default GET, or POST with a body\n"
    "  -H, --header 'K: V'  add a header (repeatable)\n"
    "      --body FILE      request body from FILE\n"
    "      --data TEXT      request body TEXT\n"
    "      --jwt-secret-env VAR  send 'Authorization: Bearer' with an HS256 JWT signed with\n"
    "                       the secret in $VAR; claims from --jwt-sub, --jwt-iss, --jwt-aud,\n"
    "                       --jwt-ttl DUR (default 1h), --jwt-claims JSON-OBJECT\n"
    "\n"
    "Tracing:\n"
    "      --traceparent    a fresh sampled W3C traceparent per request\n"
    "      --parent VALUE   make every request a child of this traceparent (same trace id)\n"
    "      --trace-file FILE  write each kept request's trace id, span id, seq, status,\n"
    "                       latency and error to FILE (implies --traceparent)\n"
    "      --trace-keep N   keep the first N requests' trace ids (default 100000)\n"
    "\n"
    "Output:\n"
    "      --threshold EXPR pass/fail criterion, repeatable: 'p(95)<200ms', 'p(99.9)<=2s',\n"
    "                       'avg<100ms', 'max<1s', 'med<50ms', 'p(99){status:200}<300ms',\n"
    "                       'error_rate<1%', 'rate>100', 'requests>=1000', 'errors==0'\n"
    "                       (a bare latency number is milliseconds; see docs/traffic.md)\n"
    "      --json           print the result as JSON\n"
    "      --no-progress    no live line (it only appears on a terminal anyway)\n"
    "\n"
    "Errors are counted by kind: connect, timeout, io (read/write), http (status >= 400),\n"
    "other. An unreachable URL is a result full of connect errors, not a failure to run.\n"
    "\n"
    "Exit codes: 0 every threshold passed, 1 a threshold failed, 2 usage error,\n"
    "130/143 interrupted (the partial result is printed).\n",
    run_traffic,
};
