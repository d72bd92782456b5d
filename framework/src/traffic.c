/*
 * traffic.c - the load generator's event loop: one thread, one curl multi handle driven
 * through curl_multi_socket_action and our own epoll set, so that each wake-up touches only
 * the sockets that are ready (curl_multi_perform would walk every transfer every time).
 *
 * Each connection slot owns one easy handle that is re-added for every request, so option
 * setup happens once and connections stay alive in the multi handle's cache. The open
 * model computes the i-th request's intended time from i (never by adding periods) and
 * waits with nanosecond timeouts, so the schedule cannot drift.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "stackrig/error.h"
#include "stackrig/otlp.h"
#include "traffic_internal.h"
#include "util.h"

#define DEFAULT_CONNECTIONS 10
#define DEFAULT_DURATION_MS 10000
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_CONNECT_TIMEOUT_MS 3000
#define DEFAULT_PROGRESS_MS 250
#define CANCEL_POLL_NS 50000000 /* how often a cancel flag set from elsewhere is noticed */
#define MAX_EVENTS 256

typedef struct slot {
  CURL *easy;
  struct curl_slist *headers;
  char *traceparent_value; /* inside headers */
  int64_t intended_ns;     /* latency runs from here */
  uint64_t seq;
  uint64_t bytes;
  int measured;
  int busy;
  int priming; /* see h2_reuse_bug */
  rig_traceparent context;
} slot;

typedef struct run {
  const rig_traffic_options *opts;
  rig__traffic_spec spec;
  rig__threshold *thresholds;
  size_t threshold_count;
  rig_traffic_result *result;
  CURLM *multi;
  rig__watch watch; /* the epoll set of curl's sockets (traffic_watch.c) */
  int use_pwait2;
  slot *slots;
  int slot_count;
  int *idle; /* stack of idle slot indexes */
  int idle_count;
  int64_t curl_deadline_ns; /* -1: curl wants no timeout */
  uint64_t timer_calls;
  int64_t begin_ns;     /* the run (and the open model's schedule) starts */
  int64_t measure_ns;   /* warm-up ends */
  int64_t end_ns;       /* no request intended at or after this is sent */
  int64_t last_done_ns; /* the last measured request ended */
  uint64_t limit;       /* measured requests to send; 0: no limit */
  uint64_t measured_started;
  uint64_t next_seq;
  uint64_t open_index; /* the next scheduled request of the open model */
  uint64_t in_flight;
  double rate;
  int stopping;
  int cancelled;
  /* libcurl before 8.0.0 breaks an h2c connection made with prior knowledge when another
   * request asks for prior knowledge again while reusing it (curl issue 10634, fixed in
   * 8.0.0): every later request on it fails at once. So there, only a "priming" request
   * on a fresh connection asks for prior knowledge; the others ask for plain HTTP/2 and
   * reuse that connection, one per host. When the server closes it (a request limit),
   * plain HTTP/2 cannot make a new one (CURLE_UNSUPPORTED_PROTOCOL, nothing sent): the
   * request then primes a new connection, or waits ("parked") for the one being primed. */
  int h2_reuse_bug;
  CURLU *parsed_url;
  int numeric_host; /* the URL's host is an IP address */
  enum { H2_NONE, H2_PRIMING, H2_READY } h2_state;
  int *parked; /* slots whose request waits for the h2c connection being primed */
  int parked_count;
  int traceparent;
  int has_parent;
  rig_traceparent parent;
  int64_t progress_next_ns;
  int64_t progress_interval_ns;
} run;

int64_t rig__traffic_intended_ns(int64_t origin_ns, uint64_t index, double rate)
{
  return origin_ns + (int64_t)floor((double)index * 1e9 / rate + 0.5);
}

/* The first schedule index whose intended time is at or after t. */
static uint64_t first_index_at(const run *r, int64_t t)
{
  if (t <= r->begin_ns)
    return 0;
  double estimate = ceil((double)(t - r->begin_ns) * r->rate / 1e9);
  uint64_t i = estimate > 0 ? (uint64_t)estimate : 0;
  while (i > 0 && rig__traffic_intended_ns(r->begin_ns, i - 1, r->rate) >= t)
    i--;
  while (rig__traffic_intended_ns(r->begin_ns, i, r->rate) < t)
    i++;
  return i;
}

/* Open model, end of a duration with every connection busy: the requests that were due
 * before the end but never went out. */
static uint64_t count_not_sent(const run *r)
{
  uint64_t end = first_index_at(r, r->end_ns);
  uint64_t from = first_index_at(r, r->measure_ns);
  if (r->open_index > from)
    from = r->open_index;
  uint64_t missing = end > from ? end - from : 0;
  if (r->limit && r->measured_started + missing > r->limit)
    missing = r->limit > r->measured_started ? r->limit - r->measured_started : 0;
  return missing;
}

/* ---- libcurl callbacks ---- */

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
  (void)easy;
  (void)socketp;
  run *r = userp;
  uint8_t events = 0;
  if (what != CURL_POLL_REMOVE)
    events = (uint8_t)(((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                       ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u));
  rig__watch_want(&r->watch, fd, events);
  return 0;
}

static curl_socket_t on_open(void *userp, curlsocktype purpose, struct curl_sockaddr *address)
{
  (void)purpose;
  run *r = userp;
  int fd = rig__watch_open(&r->watch, address->family, address->socktype, address->protocol);
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/* libcurl closes its sockets through here, so the watch knows the number is free again. */
static int on_close(void *userp, curl_socket_t fd)
{
  run *r = userp;
  return rig__watch_close(&r->watch, fd);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
  (void)multi;
  run *r = userp;
  r->timer_calls++;
  r->curl_deadline_ns = timeout_ms < 0 ? -1 : rig__now_ns() + (int64_t)timeout_ms * 1000000;
  return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
  (void)data;
  slot *s = userdata;
  s->bytes += size * nmemb;
  return size * nmemb;
}

/* ---- requests ---- */

static void record_done(run *r, slot *s, CURLcode code, long status, int64_t now)
{
  if (code != CURLE_OK)
    status = 0; /* a status line followed by a failure is not an answer */
  rig_traffic_error_kind kind = rig__traffic_classify((int)code, status);
  if (s->measured) {
    int64_t latency = now - s->intended_ns;
    rig__traffic_result_record(r->result, (int)status, kind, latency);
    r->result->summary.bytes_received += s->bytes;
    if (now > r->last_done_ns)
      r->last_done_ns = now;
    if (r->traceparent) {
      rig_traffic_trace trace;
      memcpy(trace.trace_id, s->context.trace_id, sizeof trace.trace_id);
      memcpy(trace.span_id, s->context.span_id, sizeof trace.span_id);
      trace.seq = s->seq;
      trace.status = (int)status;
      trace.error = kind;
      trace.latency_ns = latency;
      rig__traffic_result_trace(r->result, &trace);
    }
  }
  s->busy = 0;
  r->in_flight--;
  r->idle[r->idle_count++] = (int)(s - r->slots);
}

/* Applies what on_request filled in to the slot's handle. */
static void apply_callback_request(run *r, slot *s, const rig_traffic_request *req)
{
  int has_body = req->body != NULL;
  size_t len = has_body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
  rig__traffic_easy_request(s->easy, rig__traffic_method(req->method, has_body),
                            req->url ? req->url : r->spec.url, req->body, len, has_body, 1);
  curl_slist_free_all(s->headers);
  s->headers = rig__traffic_header_list(req->headers, r->spec.auth_header, has_body, r->traceparent,
                                        &s->traceparent_value);
  curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
}

/* Whether a request may start now: a slot is idle, and no h2c connection is being primed. */
static int can_send(const run *r)
{
  return r->idle_count > 0 && !(r->h2_reuse_bug && r->h2_state == H2_PRIMING);
}

static void choose_h2_version(run *r, slot *s)
{
  s->priming = r->h2_state == H2_NONE;
  if (s->priming)
    r->h2_state = H2_PRIMING;
  curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION,
                   s->priming ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                              : (long)CURL_HTTP_VERSION_2_0);
  curl_easy_setopt(s->easy, CURLOPT_FRESH_CONNECT, (long)s->priming);
}

static void send_again(run *r, slot *s)
{
  choose_h2_version(r, s);
  s->bytes = 0;
  if (curl_multi_add_handle(r->multi, s->easy) != CURLM_OK)
    abort(); /* the handle was just removed from this multi handle: cannot fail */
}

/* With h2_reuse_bug, after a transfer: returns 1 when the request is sent again (or
 * parked) instead of being counted. */
static int after_h2_transfer(run *r, slot *s, CURLcode code)
{
  long version = 0;
  curl_easy_getinfo(s->easy, CURLINFO_HTTP_VERSION, &version);
  int spoke_h2 = code == CURLE_OK && version == CURL_HTTP_VERSION_2_0;
  if (s->priming) {
    s->priming = 0;
    r->h2_state = spoke_h2 ? H2_READY : H2_NONE;
    if (spoke_h2) {
      while (r->parked_count > 0)
        send_again(r, &r->slots[r->parked[--r->parked_count]]);
    } else if (r->parked_count > 0) {
      send_again(r, &r->slots[r->parked[--r->parked_count]]); /* the next one primes */
    }
    return 0;
  }
  if (code == CURLE_UNSUPPORTED_PROTOCOL) {
    if (r->h2_state == H2_READY)
      r->h2_state = H2_NONE;
    if (r->h2_state == H2_NONE)
      send_again(r, s);
    else
      r->parked[r->parked_count++] = (int)(s - r->slots);
    return 1;
  }
  if (code == CURLE_OK && !spoke_h2 && s->measured)
    r->result->summary.http2_fallbacks++;
  return 0;
}

/* Starts a request on an idle slot; returns 0, or 1 when on_request said stop. */
static int start_request(run *r, int64_t intended_ns)
{
  slot *s = &r->slots[r->idle[r->idle_count - 1]];
  if (r->opts->on_request) {
    rig_traffic_request req = r->opts->request;
    req.url = r->spec.url;
    req.body = r->spec.has_body ? r->spec.body : NULL;
    req.body_len = r->spec.body_len;
    if (r->opts->on_request(r->opts->userdata, r->next_seq, &req) != 0) {
      r->stopping = 1;
      return 1;
    }
    apply_callback_request(r, s, &req);
  }
  if (r->traceparent) {
    /* randomness was checked before the run; should it fail now, the last ids are reused */
    rig_traceparent_new(&s->context, r->has_parent ? &r->parent : NULL, 1);
    char value[RIG_TRACEPARENT_LEN + 1];
    rig_traceparent_format(value, &s->context);
    memcpy(s->traceparent_value, value, RIG_TRACEPARENT_LEN);
  }
  if (r->h2_reuse_bug)
    choose_h2_version(r, s);
  r->idle_count--;
  s->seq = r->next_seq++;
  s->intended_ns = intended_ns;
  s->measured = intended_ns >= r->measure_ns;
  s->bytes = 0;
  s->busy = 1;
  if (s->measured)
    r->measured_started++;
  r->in_flight++;
  if (curl_multi_add_handle(r->multi, s->easy) != CURLM_OK)
    record_done(r, s, CURLE_FAILED_INIT, 0, rig__now_ns());
  return 0;
}

static int limit_reached(const run *r, int64_t t)
{
  return t >= r->end_ns || (t >= r->measure_ns && r->limit && r->measured_started >= r->limit);
}

static void send_due(run *r, int64_t now)
{
  if (r->rate > 0) {
    while (!r->stopping && can_send(r)) {
      int64_t t = rig__traffic_intended_ns(r->begin_ns, r->open_index, r->rate);
      if (limit_reached(r, t)) {
        r->stopping = 1;
        break;
      }
      if (t > now || start_request(r, t) != 0)
        break;
      r->open_index++;
    }
    /* Due requests wait for a free connection, but not past the end of the run. */
    if (!r->stopping && !can_send(r) && now >= r->end_ns) {
      r->result->summary.not_sent = count_not_sent(r);
      r->stopping = 1;
    }
    return;
  }
  while (!r->stopping && can_send(r)) {
    if (limit_reached(r, now)) {
      r->stopping = 1;
      break;
    }
    if (start_request(r, now) != 0)
      break;
    now = rig__now_ns();
  }
}

static void collect_done(run *r)
{
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(r->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *easy = msg->easy_handle;
    CURLcode code = msg->data.result;
    int64_t now = rig__now_ns();
    char *private = NULL;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(r->multi, easy);
    slot *s = (slot *)(void *)private;
    if (r->h2_reuse_bug && after_h2_transfer(r, s, code))
      continue;
    record_done(r, s, code, status, now);
  }
}

/* ---- the loop ---- */

static void report_progress(run *r, int64_t now)
{
  const rig_traffic_summary *sum = &r->result->summary;
  rig_traffic_progress p;
  memset(&p, 0, sizeof p);
  p.elapsed_ms = (now - r->begin_ns) / 1000000;
  p.warming_up = now < r->measure_ns;
  p.requests = sum->requests;
  p.errors = sum->errors;
  p.rate = now > r->measure_ns ? (double)sum->requests * 1e9 / (double)(now - r->measure_ns) : 0;
  p.p99_ns = rig__hist_percentile(&r->result->all, 99);
  p.in_flight = r->in_flight;
  r->opts->on_progress(r->opts->progress_userdata, &p);
}

static int64_t next_wake(const run *r, int64_t now)
{
  /* closed model: a slot freed by a request that ended during the last timeout run */
  if (!r->stopping && r->rate <= 0 && can_send(r))
    return now;
  int64_t wake = INT64_MAX;
  if (r->curl_deadline_ns >= 0)
    wake = r->curl_deadline_ns;
  if (!r->stopping && r->rate > 0 && can_send(r)) {
    int64_t t = rig__traffic_intended_ns(r->begin_ns, r->open_index, r->rate);
    if (t < wake)
      wake = t;
  }
  if (!r->stopping && r->end_ns < wake)
    wake = r->end_ns;
  if (r->opts->on_progress && r->progress_next_ns < wake)
    wake = r->progress_next_ns;
  if (r->opts->cancel && now + CANCEL_POLL_NS < wake)
    wake = now + CANCEL_POLL_NS;
  return wake;
}

static int wait_events(run *r, struct epoll_event *events, int64_t timeout_ns)
{
  if (timeout_ns < 0)
    timeout_ns = 0;
#if defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 35)
  if (r->use_pwait2) {
    struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
    int n = epoll_pwait2(r->watch.epoll_fd, events, MAX_EVENTS, &ts, NULL);
    if (n >= 0 || errno != ENOSYS)
      return n;
    r->use_pwait2 = 0; /* kernel older than 5.11: millisecond timeouts it is */
  }
#endif
#endif
  int64_t ms = (timeout_ns + 999999) / 1000000;
  return epoll_wait(r->watch.epoll_fd, events, MAX_EVENTS, ms > INT_MAX ? INT_MAX : (int)ms);
}

static void run_curl_timeout(run *r)
{
  int running = 0;
  uint64_t calls = r->timer_calls;
  curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  /* curl reports a changed timer through on_timer. When it did not, nothing was due yet:
   * it reports whole milliseconds rounded down, so its timer lies within the next one */
  if (r->timer_calls == calls && r->curl_deadline_ns >= 0)
    r->curl_deadline_ns += 1000000;
}

static void loop(run *r)
{
  struct epoll_event events[MAX_EVENTS];
  int running = 0;
  for (;;) {
    int64_t now = rig__now_ns();
    if (r->opts->cancel && *r->opts->cancel) {
      r->cancelled = 1;
      return;
    }
    send_due(r, now);
    /* new requests make curl ask for an immediate timeout: serve it before waiting, so
     * that they go out (and take their sockets up again) without an extra wake-up */
    if (r->curl_deadline_ns >= 0 && rig__now_ns() >= r->curl_deadline_ns) {
      run_curl_timeout(r);
      collect_done(r);
    }
    if (r->stopping && r->in_flight == 0)
      return;
    if (r->opts->on_progress && now >= r->progress_next_ns) {
      report_progress(r, now);
      r->progress_next_ns = now + r->progress_interval_ns;
    }
    rig__watch_flush(&r->watch);
    now = rig__now_ns();
    int n = wait_events(r, events, next_wake(r, now) - now);
    for (int i = 0; i < n; i++) {
      if (rig__watch_stale_event(&r->watch, events[i].data.fd))
        continue;
      int mask = 0;
      if (events[i].events & EPOLLIN)
        mask |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT)
        mask |= CURL_CSELECT_OUT;
      if (events[i].events & (EPOLLERR | EPOLLHUP))
        mask |= CURL_CSELECT_ERR;
      curl_multi_socket_action(r->multi, events[i].data.fd, mask, &running);
    }
    if (r->curl_deadline_ns >= 0 && rig__now_ns() >= r->curl_deadline_ns)
      run_curl_timeout(r);
    collect_done(r);
  }
}

/* ---- setup ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int parse_thresholds(run *r)
{
  const char *const *exprs = r->opts->thresholds;
  size_t count = 0;
  while (exprs && exprs[count])
    count++;
  r->thresholds = rig__calloc(count ? count : 1, sizeof *r->thresholds);
  for (size_t i = 0; i < count; i++) {
    int rc = rig__threshold_parse(&r->thresholds[i], exprs[i]);
    if (rc != RIG_OK)
      return rc;
  }
  r->threshold_count = count;
  return RIG_OK;
}

static void judge_thresholds(run *r)
{
  rig_traffic_result *result = r->result;
  result->verdicts =
      rig__calloc(r->threshold_count ? r->threshold_count : 1, sizeof *result->verdicts);
  result->verdict_exprs =
      rig__calloc(r->threshold_count ? r->threshold_count : 1, sizeof *result->verdict_exprs);
  for (size_t i = 0; i < r->threshold_count; i++) {
    result->verdict_exprs[i] = rig__strdup(r->opts->thresholds[i]);
    rig__threshold_judge(&result->verdicts[i], &r->thresholds[i], result);
    result->verdicts[i].expr = result->verdict_exprs[i];
    if (!result->verdicts[i].passed)
      result->passed = 0;
  }
  result->verdict_count = r->threshold_count;
}

static void setup_slot(run *r, slot *s)
{
  const rig_traffic_options *opts = r->opts;
  CURL *easy = s->easy;
  curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)(void *)s);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, r);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, r);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  /* no proxy: load goes straight to the target. Both options are needed for libcurl to
   * skip reading the proxy environment variables on every request: with only PROXY set it
   * still reads no_proxy and NO_PROXY each time */
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
  /* A numeric host never resolves differently, so its cache entry may live for the run:
   * otherwise libcurl scans its DNS cache for stale entries at the end of every request.
   * A host name keeps the default, so that a service whose address changes mid-run (a
   * restarted container) is found again. */
  if (!r->opts->on_request && r->numeric_host)
    curl_easy_setopt(easy, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   (long)(opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS));
  curl_easy_setopt(
      easy, CURLOPT_CONNECTTIMEOUT_MS,
      (long)(opts->connect_timeout_ms ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS));
  if (opts->http2) {
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L); /* share one connection as streams */
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  }
  rig__traffic_easy_request(easy, r->spec.method, r->spec.url, r->spec.body, r->spec.body_len,
                            r->spec.has_body, 0);
  s->headers = rig__traffic_header_list((const char *const *)r->spec.headers, r->spec.auth_header,
                                        r->spec.has_body, r->traceparent, &s->traceparent_value);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, s->headers);
  if (!r->opts->on_request && r->parsed_url)
    curl_easy_setopt(easy, CURLOPT_CURLU, r->parsed_url);
}

/* Whether the URL's host is an IPv4 or IPv6 address rather than a name. */
static int is_numeric_host(CURLU *url)
{
  char *host = NULL;
  if (!url || curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host)
    return 0;
  struct in_addr v4;
  int numeric = host[0] == '[' || inet_pton(AF_INET, host, &v4) == 1;
  curl_free(host);
  return numeric;
}

static int prepare(run *r)
{
  const rig_traffic_options *opts = r->opts;
  int rc;
  if ((rc = parse_thresholds(r)) != RIG_OK)
    return rc;
  r->traceparent = opts->traceparent != 0;
  if (opts->parent_traceparent) {
    if (rig_traceparent_parse(&r->parent, opts->parent_traceparent) != RIG_OK)
      return rig_error_wrap(RIG_EINVAL, "traffic: parent traceparent '%s'",
                            opts->parent_traceparent);
    r->has_parent = 1;
  }
  if (r->traceparent) {
    rig_traceparent probe;
    if ((rc = rig_traceparent_new(&probe, NULL, 1)) != RIG_OK)
      return rig_error_wrap(rc, "traffic: cannot make trace ids");
  }
  pthread_once(&curl_once, curl_init_once);
  if (rig__watch_init(&r->watch) != 0)
    return rig_error_set(RIG_EIO, "traffic: epoll_create1: %s", strerror(errno));
  r->use_pwait2 = 1;
  r->multi = curl_multi_init();
  if (!r->multi)
    return rig_error_set(RIG_ENOMEM, "traffic: cannot create a curl multi handle");
  r->slot_count = opts->connections ? opts->connections : DEFAULT_CONNECTIONS;
  r->h2_reuse_bug = opts->http2 && curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
  curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
  curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
  /* keep every connection in the cache between requests */
  curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)r->slot_count);
  if (opts->http2)
    curl_multi_setopt(r->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  if (r->h2_reuse_bug) {
    curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, 1L);
  } else if (!opts->http2) {
    curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r->slot_count);
  }

  r->parsed_url = curl_url();
  if (r->parsed_url && curl_url_set(r->parsed_url, CURLUPART_URL, r->spec.url, 0) != CURLUE_OK) {
    curl_url_cleanup(r->parsed_url);
    r->parsed_url = NULL;
  }
  r->numeric_host = is_numeric_host(r->parsed_url);
  r->slots = rig__calloc((size_t)r->slot_count, sizeof *r->slots);
  r->idle = rig__calloc((size_t)r->slot_count, sizeof *r->idle);
  r->parked = rig__calloc((size_t)r->slot_count, sizeof *r->parked);
  for (int i = 0; i < r->slot_count; i++) {
    r->slots[i].easy = curl_easy_init();
    if (!r->slots[i].easy)
      return rig_error_set(RIG_ENOMEM, "traffic: cannot create a curl handle");
    setup_slot(r, &r->slots[i]);
  }
  /* idle is a stack: push in reverse so that slot 0 goes first */
  for (int i = 0; i < r->slot_count; i++)
    r->idle[i] = r->slot_count - 1 - i;
  r->idle_count = r->slot_count;

  int64_t keep = opts->trace_keep == 0 ? RIG__TRACE_KEEP_DEFAULT : opts->trace_keep;
  r->result = rig__traffic_result_new(r->spec.method, r->spec.url,
                                      keep > 0 && r->traceparent ? (size_t)keep : 0);
  r->rate = opts->rate;
  r->limit = opts->requests;
  r->curl_deadline_ns = -1;
  r->progress_interval_ns =
      (opts->progress_interval_ms ? opts->progress_interval_ms : DEFAULT_PROGRESS_MS) * 1000000;
  return RIG_OK;
}

static void teardown(run *r)
{
  for (int i = 0; r->slots && i < r->slot_count; i++) {
    slot *s = &r->slots[i];
    if (s->busy)
      curl_multi_remove_handle(r->multi, s->easy);
    if (s->easy)
      curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->headers);
  }
  if (r->multi)
    curl_multi_cleanup(r->multi);
  curl_url_cleanup(r->parsed_url);
  rig__watch_dispose(&r->watch); /* after curl_multi_cleanup: closing connections calls on_close */
  free(r->slots);
  free(r->idle);
  free(r->parked);
  free(r->thresholds);
  rig__traffic_spec_dispose(&r->spec);
  rig_traffic_result_free(r->result);
}

int rig_traffic_run(rig_traffic_result **out, const rig_traffic_options *opts)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "traffic: no output pointer");
  run r;
  memset(&r, 0, sizeof r);
  r.watch.epoll_fd = -1;
  r.opts = opts;
  int rc = rig__traffic_spec_init(&r.spec, opts);
  if (rc == RIG_OK)
    rc = prepare(&r);
  if (rc != RIG_OK) {
    teardown(&r);
    return rc;
  }

  /* A coarse timer slack would add its 50 us to every latency measured from an intended
   * time; tighten it for the open model's run only and put it back after. */
  int old_slack = r.rate > 0 ? prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) : -1;
  if (old_slack > 0)
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

  int64_t duration_ms = opts->duration_ms;
  if (duration_ms == 0 && opts->requests == 0)
    duration_ms = DEFAULT_DURATION_MS;
  r.begin_ns = rig__now_ns();
  r.measure_ns = r.begin_ns + opts->warmup_ms * 1000000;
  r.end_ns = duration_ms ? r.measure_ns + duration_ms * 1000000 : INT64_MAX;
  r.progress_next_ns = r.begin_ns;
  loop(&r);

  if (old_slack > 0)
    prctl(PR_SET_TIMERSLACK, (unsigned long)old_slack, 0, 0, 0);

  rig_traffic_summary *sum = &r.result->summary;
  sum->connections = r.slot_count;
  sum->open_model = r.rate > 0;
  sum->target_rate = r.rate;
  sum->interrupted = r.cancelled;
  double duration_s =
      r.last_done_ns > r.measure_ns ? (double)(r.last_done_ns - r.measure_ns) / 1e9 : 0;
  rig__traffic_result_finish(r.result, duration_s);
  judge_thresholds(&r);
  if (opts->on_progress)
    report_progress(&r, rig__now_ns());

  *out = r.result;
  r.result = NULL;
  teardown(&r);
  return RIG_OK;
}
