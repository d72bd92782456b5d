/*
 * check_traffic.c - the traffic module without outside servers: the open model's schedule
 * maths, error classification, option checking (every bad input named), the request and
 * header setup, results and JSON, and runs against servers this test makes itself: a port
 * nobody listens on (connect errors), a listener that never answers (timeouts), and a
 * small threaded HTTP server that can stall (latency counted from intended send times).
 * The CLI's usage errors are checked here too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stackrig.h>

#include "testutil.h"
#include "traffic_internal.h"
#include "util.h"

/* ---- a small threaded HTTP/1.1 server (keep-alive, a thread per connection) ---- */

#define MAX_CONNECTIONS 64

typedef struct server {
  int listen_fd;
  int port;
  char url[64];
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_t connection_threads[MAX_CONNECTIONS];
  int connection_fds[MAX_CONNECTIONS];
  int connection_count;
  atomic_int requests;
  atomic_int stalls_left; /* this many requests to /stall wait stall_ms first */
  int stall_ms;
} server;

typedef struct connection {
  server *srv;
  int fd;
} connection;

static void send_all(int fd, const char *data, size_t len)
{
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    data += n;
    len -= (size_t)n;
  }
}

static void *serve_connection(void *arg)
{
  connection *conn = arg;
  server *srv = conn->srv;
  rig_buf req = RIG_BUF_INIT;
  for (;;) {
    char *end = req.data ? strstr(req.data, "\r\n\r\n") : NULL;
    if (!end) {
      char chunk[16384];
      ssize_t n = recv(conn->fd, chunk, sizeof chunk, 0);
      if (n <= 0)
        break;
      rig__buf_append(&req, chunk, (size_t)n);
      continue;
    }
    size_t header_end = (size_t)(end - req.data) + 4;
    const char *cl = strcasestr(req.data, "\r\nContent-Length:");
    size_t body_len = (cl && cl < end) ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
    if (req.len < header_end + body_len) {
      char chunk[16384];
      ssize_t n = recv(conn->fd, chunk, sizeof chunk, 0);
      if (n <= 0)
        break;
      rig__buf_append(&req, chunk, (size_t)n);
      continue;
    }
    char path[256] = "";
    sscanf(req.data, "%*s %255s", path);
    atomic_fetch_add(&srv->requests, 1);
    int status = 200;
    if (strncmp(path, "/status/", 8) == 0)
      status = atoi(path + 8);
    if (strcmp(path, "/stall") == 0 && atomic_fetch_sub(&srv->stalls_left, 1) > 0)
      usleep((useconds_t)srv->stall_ms * 1000);
    char head[128];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok", status);
    send_all(conn->fd, head, (size_t)n);
    size_t used = header_end + body_len;
    memmove(req.data, req.data + used, req.len - used);
    req.len -= used;
    req.data[req.len] = '\0';
  }
  rig__buf_dispose(&req);
  free(conn);
  return NULL;
}

static void *accept_loop(void *arg)
{
  server *srv = arg;
  for (;;) {
    int fd = accept(srv->listen_fd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      return NULL;
    }
    pthread_mutex_lock(&srv->lock);
    if (srv->connection_count == MAX_CONNECTIONS) {
      pthread_mutex_unlock(&srv->lock);
      close(fd);
      continue;
    }
    connection *conn = rig__malloc(sizeof *conn);
    conn->srv = srv;
    conn->fd = fd;
    srv->connection_fds[srv->connection_count] = fd;
    pthread_create(&srv->connection_threads[srv->connection_count], NULL, serve_connection, conn);
    srv->connection_count++;
    pthread_mutex_unlock(&srv->lock);
  }
}

/* A socket bound to a free loopback port; listening or not. */
static int loopback_socket(int *port, int listening)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  *port = ntohs(addr.sin_port);
  if (listening)
    ck_assert_int_eq(listen(fd, 128), 0);
  return fd;
}

static server *server_start(void)
{
  server *srv = rig__calloc(1, sizeof *srv);
  pthread_mutex_init(&srv->lock, NULL);
  srv->listen_fd = loopback_socket(&srv->port, 1);
  snprintf(srv->url, sizeof srv->url, "http://127.0.0.1:%d", srv->port);
  pthread_create(&srv->thread, NULL, accept_loop, srv);
  return srv;
}

static void server_stop(server *srv)
{
  shutdown(srv->listen_fd, SHUT_RDWR);
  close(srv->listen_fd);
  pthread_join(srv->thread, NULL);
  for (int i = 0; i < srv->connection_count; i++) {
    shutdown(srv->connection_fds[i], SHUT_RDWR);
    pthread_join(srv->connection_threads[i], NULL);
    close(srv->connection_fds[i]);
  }
  pthread_mutex_destroy(&srv->lock);
  free(srv);
}

static char *url_of(const server *srv, const char *path)
{
  return rig__sprintf("%s%s", srv->url, path);
}

/* ---- schedule maths ---- */

START_TEST(intended_times_follow_the_rate_exactly)
{
  int64_t origin = 123456789;
  ck_assert_int_eq(rig__traffic_intended_ns(origin, 0, 1000), origin);
  ck_assert_int_eq(rig__traffic_intended_ns(origin, 1, 1000), origin + 1000000);
  ck_assert_int_eq(rig__traffic_intended_ns(origin, 5000, 1000), origin + 5000000000LL);
  /* a rate whose period is not a whole number of nanoseconds */
  ck_assert_int_eq(rig__traffic_intended_ns(0, 1, 3), 333333333);
  ck_assert_int_eq(rig__traffic_intended_ns(0, 2, 3), 666666667);
  ck_assert_int_eq(rig__traffic_intended_ns(0, 3, 3), 1000000000);
  ck_assert_int_eq(rig__traffic_intended_ns(0, 3000000, 3), 1000000000000000LL);
}
END_TEST

START_TEST(intended_times_do_not_drift)
{
  /* ten million requests at 7777.7/s: each step is the period to within a nanosecond of
   * rounding, and the last one is where index/rate says, not where summed periods land */
  double rate = 7777.7;
  double period = 1e9 / rate;
  int64_t previous = rig__traffic_intended_ns(0, 0, rate);
  for (uint64_t i = 1; i <= 10000000; i++) {
    int64_t t = rig__traffic_intended_ns(0, i, rate);
    double step = (double)(t - previous);
    if (fabs(step - period) > 1.0)
      ck_abort_msg("step %llu is %.1f ns, period %.3f ns", (unsigned long long)i, step, period);
    previous = t;
  }
  double exact = 10000000.0 / rate * 1e9;
  ck_assert_double_eq_tol((double)previous, exact, 1.0);
  /* a summed period would be off by far more than that after this many steps */
  double summed = 0;
  for (int i = 0; i < 10000000; i++)
    summed += (double)(int64_t)period; /* what adding a whole-ns period would give */
  ck_assert(fabs(summed - exact) > 1000.0);
}
END_TEST

/* ---- classification and formatting ---- */

static const struct {
  int curl_code;
  long status;
  rig_traffic_error_kind kind;
} classify_cases[] = {
    {CURLE_OK, 200, RIG_TRAFFIC_ERR_NONE},
    {CURLE_OK, 302, RIG_TRAFFIC_ERR_NONE},
    {CURLE_OK, 399, RIG_TRAFFIC_ERR_NONE},
    {CURLE_OK, 400, RIG_TRAFFIC_ERR_HTTP},
    {CURLE_OK, 503, RIG_TRAFFIC_ERR_HTTP},
    {CURLE_COULDNT_CONNECT, 0, RIG_TRAFFIC_ERR_CONNECT},
    {CURLE_COULDNT_RESOLVE_HOST, 0, RIG_TRAFFIC_ERR_CONNECT},
    {CURLE_OPERATION_TIMEDOUT, 0, RIG_TRAFFIC_ERR_TIMEOUT},
    {CURLE_RECV_ERROR, 0, RIG_TRAFFIC_ERR_IO},
    {CURLE_SEND_ERROR, 0, RIG_TRAFFIC_ERR_IO},
    {CURLE_GOT_NOTHING, 0, RIG_TRAFFIC_ERR_IO},
    {CURLE_PARTIAL_FILE, 0, RIG_TRAFFIC_ERR_IO},
    {CURLE_URL_MALFORMAT, 0, RIG_TRAFFIC_ERR_OTHER},
    {CURLE_TOO_MANY_REDIRECTS, 0, RIG_TRAFFIC_ERR_OTHER},
};

START_TEST(errors_are_classified)
{
  ck_assert_int_eq(rig__traffic_classify(classify_cases[_i].curl_code, classify_cases[_i].status),
                   classify_cases[_i].kind);
}
END_TEST

START_TEST(error_kinds_have_names)
{
  ck_assert_str_eq(rig_traffic_error_kind_name(RIG_TRAFFIC_ERR_NONE), "none");
  ck_assert_str_eq(rig_traffic_error_kind_name(RIG_TRAFFIC_ERR_CONNECT), "connect");
  ck_assert_str_eq(rig_traffic_error_kind_name(RIG_TRAFFIC_ERR_TIMEOUT), "timeout");
  ck_assert_str_eq(rig_traffic_error_kind_name(RIG_TRAFFIC_ERR_IO), "io");
  ck_assert_str_eq(rig_traffic_error_kind_name(RIG_TRAFFIC_ERR_HTTP), "http");
  ck_assert_str_eq(rig_traffic_error_kind_name(RIG_TRAFFIC_ERR_OTHER), "other");
  ck_assert_str_eq(rig_traffic_error_kind_name((rig_traffic_error_kind)99), "other");
}
END_TEST

START_TEST(durations_are_formatted_for_humans)
{
  char buf[32];
  rig__traffic_format_ns(buf, sizeof buf, 850);
  ck_assert_str_eq(buf, "850ns");
  rig__traffic_format_ns(buf, sizeof buf, 812345);
  ck_assert_str_eq(buf, "812.3us");
  rig__traffic_format_ns(buf, sizeof buf, 1234567);
  ck_assert_str_eq(buf, "1.23ms");
  rig__traffic_format_ns(buf, sizeof buf, 2.5e9);
  ck_assert_str_eq(buf, "2.500s");
}
END_TEST

/* ---- options ---- */

typedef struct bad_option {
  const char *url;
  const char *method;
  const char *header;
  double rate;
  int connections;
  const char *threshold;
  const char *parent;
  const char *message;
} bad_option;

static const bad_option bad_options[] = {
    {"htp//127.0.0.1/", NULL, NULL, 0, 0, NULL, NULL, "malformed URL 'htp//127.0.0.1/'"},
    {"ftp://127.0.0.1/", NULL, NULL, 0, 0, NULL, NULL, "expected http:// or https://"},
    {"http://", NULL, NULL, 0, 0, NULL, NULL, "malformed URL 'http://'"},
    {"http://127.0.0.1:99999/", NULL, NULL, 0, 0, NULL, NULL, "malformed URL"},
    {"", NULL, NULL, 0, 0, NULL, NULL, "no URL"},
    {"http://127.0.0.1:1/", "GE T", NULL, 0, 0, NULL, NULL, "malformed HTTP method 'GE T'"},
    {"http://127.0.0.1:1/", NULL, "NoColon", 0, 0, NULL, NULL,
     "malformed header 'NoColon': expected 'Name: value'"},
    {"http://127.0.0.1:1/", NULL, ": value", 0, 0, NULL, NULL, "malformed header ': value'"},
    {"http://127.0.0.1:1/", NULL, "Bad Name: v", 0, 0, NULL, NULL,
     "the name 'Bad Name' has a character that is not allowed"},
    {"http://127.0.0.1:1/", NULL, "X-A: 1\r\nX-B: 2", 0, 0, NULL, NULL,
     "line breaks are not allowed"},
    {"http://127.0.0.1:1/", NULL, NULL, -5, 0, NULL, NULL, "rate -5 is not a number"},
    {"http://127.0.0.1:1/", NULL, NULL, NAN, 0, NULL, NULL, "rate nan is not a number"},
    {"http://127.0.0.1:1/", NULL, NULL, 0, -1, NULL, NULL, "connections -1 out of range"},
    {"http://127.0.0.1:1/", NULL, NULL, 0, 0, "p95<1s", NULL, "threshold 'p95<1s'"},
    {"http://127.0.0.1:1/", NULL, NULL, 0, 0, NULL, "00-xyz", "parent traceparent '00-xyz'"},
};

START_TEST(bad_options_are_named)
{
  const bad_option *c = &bad_options[_i];
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  const char *headers[] = {c->header, NULL};
  const char *thresholds[] = {c->threshold, NULL};
  opts.request.url = c->url;
  opts.request.method = c->method;
  opts.request.headers = c->header ? headers : NULL;
  opts.rate = c->rate;
  opts.connections = c->connections;
  opts.thresholds = c->threshold ? thresholds : NULL;
  opts.parent_traceparent = c->parent;
  opts.traceparent = c->parent != NULL;
  opts.requests = 1;
  rig_traffic_result *result = (rig_traffic_result *)&opts; /* must stay untouched */
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_EINVAL);
  ck_assert_ptr_eq(result, (rig_traffic_result *)&opts);
  const char *text = rig_error_last()->text;
  ck_assert_msg(strstr(text, c->message) != NULL, "message \"%s\" lacks \"%s\"", text, c->message);
}
END_TEST

START_TEST(options_need_the_version_and_a_readable_body_file)
{
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  rig_traffic_result *result = NULL;
  opts.request.url = "http://127.0.0.1:1/";
  opts.body_file = "/nonexistent/stackrig-body.json";
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "/nonexistent/stackrig-body.json"));
  opts.body_file = NULL;
  opts.version = 99;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "RIG_TRAFFIC_OPTIONS_INIT"));
  ck_assert_int_eq(rig_traffic_run(NULL, &opts), RIG_EINVAL);
  ck_assert_int_eq(rig_traffic_run(&result, NULL), RIG_EINVAL);
  ck_assert_ptr_null(result);
}
END_TEST

START_TEST(header_list_has_placeholder_expect_and_auth)
{
  const char *headers[] = {"X-One: 1", "X-Two: 2", NULL};
  char *value = NULL;
  struct curl_slist *list =
      rig__traffic_header_list(headers, "Authorization: Bearer t0k", 1, 1, &value);
  const char *expected[] = {"X-One: 1",
                            "X-Two: 2",
                            "User-Agent: stackrig/" RIG_VERSION_STRING,
                            "Authorization: Bearer t0k",
                            "Expect:",
                            "traceparent: 00-00000000000000000000000000000000-0000000000000000-00"};
  struct curl_slist *node = list;
  for (size_t i = 0; i < 6; i++, node = node->next) {
    ck_assert_ptr_nonnull(node);
    ck_assert_str_eq(node->data, expected[i]);
  }
  ck_assert_ptr_null(node);
  ck_assert_uint_eq(strlen(value), RIG_TRACEPARENT_LEN);
  ck_assert_ptr_eq(value, strstr(expected[5], "00-") ? value : NULL);
  memcpy(value, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", RIG_TRACEPARENT_LEN);
  for (node = list; node->next; node = node->next)
    ;
  ck_assert_str_eq(node->data,
                   "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  curl_slist_free_all(list);

  list = rig__traffic_header_list(NULL, NULL, 0, 0, &value);
  ck_assert_str_eq(list->data, "User-Agent: stackrig/" RIG_VERSION_STRING);
  ck_assert_ptr_null(list->next);
  curl_slist_free_all(list);
  /* a request's own User-Agent (any case) is the only one */
  const char *own[] = {"user-agent: probe/1", NULL};
  list = rig__traffic_header_list(own, NULL, 0, 0, &value);
  ck_assert_str_eq(list->data, "user-agent: probe/1");
  ck_assert_ptr_null(list->next);
  curl_slist_free_all(list);
  ck_assert_str_eq(rig__traffic_method(NULL, 0), "GET");
  ck_assert_str_eq(rig__traffic_method(NULL, 1), "POST");
  ck_assert_str_eq(rig__traffic_method("PUT", 1), "PUT");
}
END_TEST

/* ---- results ---- */

static rig_traffic_result *synthetic_result(void)
{
  rig_traffic_result *r = rig__traffic_result_new("POST", "http://127.0.0.1:9/x", 2);
  for (int i = 0; i < 8; i++)
    rig__traffic_result_record(r, 200, RIG_TRAFFIC_ERR_NONE, 1000000 + i * 1000);
  rig__traffic_result_record(r, 404, RIG_TRAFFIC_ERR_HTTP, 3000000);
  rig__traffic_result_record(r, 0, RIG_TRAFFIC_ERR_TIMEOUT, 5000000);
  rig_traffic_trace trace = {{0}, {0}, 0, 200, RIG_TRAFFIC_ERR_NONE, 1500000};
  trace.trace_id[15] = 0xab;
  trace.span_id[7] = 0xcd;
  for (int i = 0; i < 3; i++) {
    trace.seq = (uint64_t)i;
    rig__traffic_result_trace(r, &trace);
  }
  rig__traffic_result_finish(r, 2.0);
  return r;
}

START_TEST(result_accessors)
{
  rig_traffic_result *r = synthetic_result();
  const rig_traffic_summary *sum = rig_traffic_result_summary(r);
  ck_assert_uint_eq(sum->requests, 10);
  ck_assert_uint_eq(sum->responses, 9);
  ck_assert_uint_eq(sum->errors, 2);
  ck_assert_uint_eq(sum->error_kinds[RIG_TRAFFIC_ERR_HTTP], 1);
  ck_assert_uint_eq(sum->error_kinds[RIG_TRAFFIC_ERR_TIMEOUT], 1);
  ck_assert_double_eq(sum->rate, 5.0);
  ck_assert_uint_eq(sum->latency.count, 9);
  ck_assert_int_eq(sum->latency.max_ns, 3000000);
  ck_assert_uint_eq(rig_traffic_result_status_count(r, 200), 8);
  ck_assert_uint_eq(rig_traffic_result_status_count(r, 404), 1);
  ck_assert_uint_eq(rig_traffic_result_status_count(r, 500), 0);
  int statuses[1];
  ck_assert_uint_eq(rig_traffic_result_statuses(statuses, 1, r), 2);
  ck_assert_int_eq(statuses[0], 200);
  ck_assert_uint_eq(rig_traffic_result_statuses(NULL, 0, r), 2);

  rig_traffic_latency lat;
  ck_assert_int_eq(rig_traffic_result_latency(&lat, r, 404), RIG_OK);
  ck_assert_uint_eq(lat.count, 1);
  ck_assert_int_eq(lat.p50_ns, 3000000);
  ck_assert_int_eq(rig_traffic_result_latency(&lat, r, 200), RIG_OK);
  ck_assert_int_eq(lat.min_ns, 1000000);
  ck_assert_int_eq(lat.max_ns, 1007000);
  memset(&lat, 0x11, sizeof lat);
  rig_traffic_latency before = lat;
  ck_assert_int_eq(rig_traffic_result_latency(&lat, r, 500), RIG_ENOTFOUND);
  ck_assert_str_eq(rig_error_last()->message, "traffic latency: no answer had status 500");
  ck_assert_int_eq(memcmp(&lat, &before, sizeof lat), 0);
  ck_assert_int_eq(rig_traffic_result_percentile_ns(r, 100, 0), 3000000);
  ck_assert_int_eq(rig_traffic_result_percentile_ns(r, 50, 999), 0);

  ck_assert_uint_eq(sum->traces_seen, 3);
  ck_assert_uint_eq(sum->traces_kept, 2); /* the limit */
  ck_assert_uint_eq(rig_traffic_result_trace_count(r), 2);
  ck_assert_uint_eq(rig_traffic_result_trace(r, 1)->seq, 1);
  ck_assert_ptr_null(rig_traffic_result_trace(r, 2));
  ck_assert_uint_eq(rig_traffic_result_verdict_count(r), 0);
  ck_assert_ptr_null(rig_traffic_result_verdict(r, 0));
  ck_assert_int_eq(rig_traffic_result_passed(r), 1);
  rig_traffic_result_free(r);
  rig_traffic_result_free(NULL);
}
END_TEST

static json_object *get_path(json_object *obj, const char *a, const char *b)
{
  json_object *value = NULL;
  ck_assert_msg(json_object_object_get_ex(obj, a, &value), "no '%s'", a);
  if (b)
    ck_assert_msg(json_object_object_get_ex(value, b, &value), "no '%s.%s'", a, b);
  return value;
}

START_TEST(result_json)
{
  rig_traffic_result *r = synthetic_result();
  char *text = NULL;
  ck_assert_int_eq(rig_traffic_result_json(&text, r, RIG_TRAFFIC_JSON_TRACES), RIG_OK);
  json_object *root = json_tokener_parse(text);
  ck_assert_msg(root != NULL, "not JSON: %s", text);
  ck_assert_str_eq(json_object_get_string(get_path(root, "method", NULL)), "POST");
  ck_assert_str_eq(json_object_get_string(get_path(root, "url", NULL)), "http://127.0.0.1:9/x");
  ck_assert_str_eq(json_object_get_string(get_path(root, "model", NULL)), "closed");
  ck_assert_int_eq(json_object_get_int(get_path(root, "requests", NULL)), 10);
  ck_assert_double_eq(json_object_get_double(get_path(root, "rate", NULL)), 5.0);
  ck_assert_int_eq(json_object_get_int(get_path(root, "status", "200")), 8);
  ck_assert_int_eq(json_object_get_int(get_path(root, "status", "404")), 1);
  ck_assert_int_eq(json_object_get_int(get_path(root, "errors", "total")), 2);
  ck_assert_int_eq(json_object_get_int(get_path(root, "errors", "timeout")), 1);
  ck_assert_int_eq(json_object_get_int(get_path(root, "errors", "connect")), 0);
  ck_assert_double_eq(json_object_get_double(get_path(root, "error_rate", NULL)), 0.2);
  ck_assert_double_eq(json_object_get_double(get_path(root, "latency_ms", "max")), 3.0);
  ck_assert_double_eq(json_object_get_double(get_path(root, "latency_ms", "min")), 1.0);
  json_object *by_status = get_path(root, "latency_by_status_ms", "404");
  ck_assert_double_eq(json_object_get_double(get_path(by_status, "p99.9", NULL)), 3.0);
  json_object *items = get_path(root, "traces", "items");
  ck_assert_int_eq((int)json_object_array_length(items), 2);
  json_object *first = json_object_array_get_idx(items, 0);
  ck_assert_str_eq(json_object_get_string(get_path(first, "trace_id", NULL)),
                   "000000000000000000000000000000ab");
  ck_assert_str_eq(json_object_get_string(get_path(first, "span_id", NULL)), "00000000000000cd");
  ck_assert(json_object_get_type(get_path(first, "error", NULL)) == json_type_null);
  ck_assert(!json_object_object_get_ex(root, "thresholds", NULL));
  json_object_put(root);
  free(text);

  /* without the flag, only the trace counts */
  ck_assert_int_eq(rig_traffic_result_json(&text, r, RIG_TRAFFIC_JSON_PRETTY), RIG_OK);
  root = json_tokener_parse(text);
  ck_assert_int_eq(json_object_get_int(get_path(root, "traces", "kept")), 2);
  ck_assert(!json_object_object_get_ex(get_path(root, "traces", NULL), "items", NULL));
  ck_assert_ptr_nonnull(strchr(text, '\n'));
  json_object_put(root);
  free(text);
  rig_traffic_result_free(r);
}
END_TEST

/* ---- runs against local sockets ---- */

START_TEST(unreachable_target_gives_connect_errors)
{
  int port = 0;
  int fd = loopback_socket(&port, 0);
  close(fd); /* nobody listens there now */
  char *url = rig__sprintf("http://127.0.0.1:%d/", port);
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 25;
  opts.connections = 3;
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests, 25);
  ck_assert_uint_eq(sum->responses, 0);
  ck_assert_uint_eq(sum->errors, 25);
  ck_assert_uint_eq(sum->error_kinds[RIG_TRAFFIC_ERR_CONNECT], 25);
  const char *thresholds[] = {"errors==0", NULL};
  ck_assert_int_eq(rig_traffic_check(result, thresholds), RIG_EASSERT);
  rig_traffic_result_free(result);
  free(url);
}
END_TEST

START_TEST(silent_server_gives_timeouts)
{
  int port = 0;
  int fd = loopback_socket(&port, 1); /* the kernel accepts, nobody answers */
  char *url = rig__sprintf("http://127.0.0.1:%d/", port);
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 4;
  opts.connections = 4;
  opts.timeout_ms = 200;
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests, 4);
  ck_assert_uint_eq(sum->error_kinds[RIG_TRAFFIC_ERR_TIMEOUT], 4);
  rig_traffic_result_free(result);
  free(url);
  close(fd);
}
END_TEST

START_TEST(open_model_counts_latency_from_intended_time)
{
  /* The first answer takes 400 ms; with one connection, the requests scheduled meanwhile
   * wait. Request i is intended at i * 5 ms and cannot end before the stall does, so its
   * latency is at least 400 - 5i ms whatever the machine's speed: requests 0..39 must
   * show 200 ms or more. A generator that timed from the actual send would show ~0. */
  server *srv = server_start();
  srv->stall_ms = 400;
  atomic_store(&srv->stalls_left, 1);
  char *url = url_of(srv, "/stall");
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.rate = 200;
  opts.requests = 100;
  opts.connections = 1;
  opts.traceparent = 1; /* to read each request's latency */
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests, 100);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 100);
  ck_assert_uint_eq(sum->not_sent, 0);
  ck_assert(sum->open_model);
  ck_assert_uint_eq(rig_traffic_result_trace_count(result), 100);
  size_t slow = 0;
  for (size_t i = 0; i < rig_traffic_result_trace_count(result); i++) {
    const rig_traffic_trace *t = rig_traffic_result_trace(result, i);
    if (t->seq < 40)
      ck_assert_msg(t->latency_ns >= 200000000, "request %llu: %lld ns", (unsigned long long)t->seq,
                    (long long)t->latency_ns);
    if (t->latency_ns >= 200000000)
      slow++;
  }
  ck_assert_uint_ge(slow, 40);
  ck_assert_int_ge(sum->latency.max_ns, 400000000); /* the stalled request itself */
  rig_traffic_result_free(result);
  free(url);
  server_stop(srv);
}
END_TEST

START_TEST(closed_model_sends_exactly_the_count)
{
  server *srv = server_start();
  char *url = url_of(srv, "/");
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 333;
  opts.connections = 7;
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests, 333);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 333);
  ck_assert_uint_eq(sum->errors, 0);
  ck_assert_uint_eq(sum->bytes_received, 333 * 2);
  ck_assert_int_eq(atomic_load(&srv->requests), 333);
  ck_assert_int_le(srv->connection_count, 7); /* kept alive, never more than -c */
  ck_assert(!sum->open_model);
  ck_assert_int_eq(sum->connections, 7);
  ck_assert(sum->rate > 0);
  rig_traffic_result_free(result);
  free(url);
  server_stop(srv);
}
END_TEST

START_TEST(host_names_and_many_connections)
{
  /* a name instead of an address, and more connections than the server thread pool has
   * ever seen at once: sockets are opened, reused and closed through our callbacks */
  server *srv = server_start();
  char *url = rig__sprintf("http://localhost:%d/", srv->port);
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 2000;
  opts.connections = 40;
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 2000);
  ck_assert_int_eq(atomic_load(&srv->requests), 2000);
  rig_traffic_result_free(result);
  free(url);
  server_stop(srv);
}
END_TEST

typedef struct mix {
  char url[128];
  const char *base;
  uint64_t calls;
  uint64_t stop_after;
} mix;

/* 10% 503, 20% 404, the rest 200, by sequence number */
static int fill_mixed_request(void *userdata, uint64_t seq, rig_traffic_request *req)
{
  mix *m = userdata;
  if (m->stop_after && seq >= m->stop_after)
    return 1;
  m->calls++;
  int status = seq % 10 == 0 ? 503 : seq % 10 <= 2 ? 404 : 200;
  snprintf(m->url, sizeof m->url, "%s/status/%d", m->base, status);
  req->url = m->url;
  return 0;
}

START_TEST(request_callback_varies_requests_and_can_stop)
{
  server *srv = server_start();
  mix m = {"", srv->url, 0, 0};
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = srv->url;
  opts.on_request = fill_mixed_request;
  opts.userdata = &m;
  opts.requests = 500;
  opts.connections = 4;
  const char *thresholds[] = {"error_rate<=30%", "requests==500", "error_rate<1%", NULL};
  opts.thresholds = thresholds;
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests, 500);
  ck_assert_uint_eq(m.calls, 500);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 350);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 404), 100);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 503), 50);
  ck_assert_uint_eq(sum->error_kinds[RIG_TRAFFIC_ERR_HTTP], 150);
  ck_assert_uint_eq(rig_traffic_result_verdict_count(result), 3);
  ck_assert(rig_traffic_result_verdict(result, 0)->passed);
  ck_assert(rig_traffic_result_verdict(result, 1)->passed);
  ck_assert(!rig_traffic_result_verdict(result, 2)->passed);
  ck_assert_str_eq(rig_traffic_result_verdict(result, 2)->expr, "error_rate<1%");
  ck_assert_str_eq(rig_traffic_result_verdict(result, 2)->actual_text, "30.00%");
  ck_assert(!rig_traffic_result_passed(result));
  rig_traffic_result_free(result);

  /* the callback ends the run */
  m.calls = 0;
  m.stop_after = 7;
  opts.requests = 0;
  opts.duration_ms = 60000;
  opts.thresholds = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  ck_assert_uint_eq(rig_traffic_result_summary(result)->requests, 7);
  ck_assert_uint_eq(m.calls, 7);
  rig_traffic_result_free(result);
  server_stop(srv);
}
END_TEST

static void cancel_after_some(void *userdata, const rig_traffic_progress *p)
{
  int *cancel = userdata;
  if (p->requests >= 50)
    *cancel = 1;
}

START_TEST(cancel_stops_the_run_and_keeps_the_partial_result)
{
  server *srv = server_start();
  char *url = url_of(srv, "/");
  volatile int cancel = 0;
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.duration_ms = 60000;
  opts.connections = 2;
  opts.on_progress = cancel_after_some;
  opts.progress_userdata = (void *)&cancel;
  opts.progress_interval_ms = 5;
  opts.cancel = &cancel;
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert(sum->interrupted);
  ck_assert_uint_ge(sum->requests, 50);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), sum->requests);
  rig_traffic_result_free(result);
  free(url);
  server_stop(srv);
}
END_TEST

START_TEST(warmup_is_not_counted)
{
  server *srv = server_start();
  char *url = url_of(srv, "/");
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 40;
  opts.warmup_ms = 150;
  opts.rate = 200; /* 30 warm-up requests at 0..145 ms, then 40 measured ones */
  opts.connections = 2;
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  ck_assert_uint_eq(rig_traffic_result_summary(result)->requests, 40);
  ck_assert_int_eq(atomic_load(&srv->requests), 70);
  rig_traffic_result_free(result);
  free(url);
  server_stop(srv);
}
END_TEST

START_TEST(traceparent_per_request_and_under_a_parent)
{
  server *srv = server_start();
  char *url = url_of(srv, "/");
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 60;
  opts.connections = 3;
  opts.traceparent = 1;
  opts.trace_keep = 50;
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->traces_seen, 60);
  ck_assert_uint_eq(sum->traces_kept, 50);
  for (size_t i = 0; i < 50; i++) {
    const rig_traffic_trace *a = rig_traffic_result_trace(result, i);
    ck_assert(rig_trace_id_is_valid(a->trace_id));
    ck_assert_int_eq(a->status, 200);
    for (size_t j = 0; j < i; j++)
      ck_assert(memcmp(a->trace_id, rig_traffic_result_trace(result, j)->trace_id, 16) != 0);
  }
  rig_traffic_result_free(result);

  const char *parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  opts.parent_traceparent = parent;
  opts.trace_keep = 0;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  ck_assert_uint_eq(rig_traffic_result_trace_count(result), 60);
  rig_traceparent expected;
  ck_assert_int_eq(rig_traceparent_parse(&expected, parent), RIG_OK);
  for (size_t i = 0; i < 60; i++) {
    const rig_traffic_trace *a = rig_traffic_result_trace(result, i);
    ck_assert_mem_eq(a->trace_id, expected.trace_id, 16);
    ck_assert(memcmp(a->span_id, expected.span_id, 8) != 0);
    for (size_t j = 0; j < i; j++)
      ck_assert(memcmp(a->span_id, rig_traffic_result_trace(result, j)->span_id, 8) != 0);
  }
  rig_traffic_result_free(result);

  opts.trace_keep = -1; /* ids are sent but none kept */
  opts.parent_traceparent = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  ck_assert_uint_eq(rig_traffic_result_summary(result)->traces_seen, 60);
  ck_assert_uint_eq(rig_traffic_result_trace_count(result), 0);
  rig_traffic_result_free(result);
  free(url);
  server_stop(srv);
}
END_TEST

START_TEST(open_model_duration_sends_the_scheduled_count)
{
  /* 300/s for 500 ms: the intended times 0, 3.33 ms, ... below 500 ms are 150 requests */
  server *srv = server_start();
  char *url = url_of(srv, "/");
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.rate = 300;
  opts.duration_ms = 500;
  opts.connections = 8;
  rig_traffic_result *result = NULL;
  ck_assert_int_eq(rig_traffic_run(&result, &opts), RIG_OK);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests + sum->not_sent, 150);
  ck_assert_double_eq(sum->target_rate, 300);
  rig_traffic_result_free(result);
  free(url);
  server_stop(srv);
}
END_TEST

/* ---- the command line ---- */

START_TEST(cli_help)
{
  char *out = NULL, *err = NULL;
  ck_assert_int_eq(rig_test_stackrig(&out, &err, "traffic", "--help", NULL), 0);
  ck_assert_msg(strncmp(out, "usage: stackrig traffic", 23) == 0, "help: %s", out);
  ck_assert_ptr_nonnull(strstr(out, "--threshold"));
  free(out);
  free(err);
  ck_assert_int_eq(rig_test_stackrig(&out, &err, "help", "traffic", NULL), 0);
  ck_assert_msg(strncmp(out, "usage: stackrig traffic", 23) == 0, "help: %s", out);
  free(out);
  free(err);
}
END_TEST

static const struct {
  const char *args[6];
  const char *message;
} cli_usage_cases[] = {
    {{"traffic", NULL}, "missing URL"},
    {{"traffic", "not a url", "-n", "1", NULL}, "malformed URL 'not a url'"},
    {{"traffic", "http://127.0.0.1:1/", "-H", "NoColon", "-n", "1"}, "malformed header 'NoColon'"},
    {{"traffic", "http://127.0.0.1:1/", "-r", "fast", NULL}, "--rate: 'fast'"},
    {{"traffic", "http://127.0.0.1:1/", "-r", "0", NULL}, "--rate: '0'"},
    {{"traffic", "http://127.0.0.1:1/", "-c", "0", NULL}, "--connections: '0'"},
    {{"traffic", "http://127.0.0.1:1/", "-d", "10 parsecs", NULL}, "--duration: '10 parsecs'"},
    {{"traffic", "http://127.0.0.1:1/", "-n", "-3", NULL}, "--requests: '-3'"},
    {{"traffic", "http://127.0.0.1:1/", "--threshold", "p95<1s", NULL},
     "--threshold: threshold 'p95<1s': unknown metric 'p95'"},
    {{"traffic", "http://127.0.0.1:1/", "-d", "1s", "-n", "5"}, "either --duration or --requests"},
    {{"traffic", "http://127.0.0.1:1/", "--bogus", NULL}, "unknown option '--bogus'"},
    {{"traffic", "http://127.0.0.1:1/", "-c", NULL}, "option '-c' needs a value"},
    {{"traffic", "http://127.0.0.1:1/", "http://127.0.0.1:2/", NULL}, "expected one URL"},
    {{"traffic", "http://127.0.0.1:1/", "-X", "GE T", "-n", "1"}, "malformed HTTP method"},
    {{"traffic", "http://127.0.0.1:1/", "--body", "/nonexistent/b.json", "-n", "1"},
     "/nonexistent/b.json"},
    {{"traffic", "http://127.0.0.1:1/", "--jwt-sub", "alice", NULL}, "need --jwt-secret-env"},
};

START_TEST(cli_usage_errors_name_the_input)
{
  const char *argv[8] = {NULL};
  const char *bin = getenv("STACKRIG_BIN");
  argv[0] = bin ? bin : RIG_BUILDDIR "/stackrig";
  for (int i = 0; i < 6 && cli_usage_cases[_i].args[i]; i++)
    argv[i + 1] = cli_usage_cases[_i].args[i];
  char *out = NULL, *err = NULL;
  int status = rig_test_run(argv, NULL, &out, &err);
  ck_assert_msg(status == 2, "exit %d, stderr: %s", status, err);
  ck_assert_msg(strstr(err, cli_usage_cases[_i].message) != NULL, "stderr \"%s\" lacks \"%s\"", err,
                cli_usage_cases[_i].message);
  ck_assert_ptr_nonnull(strstr(err, "stackrig traffic --help"));
  free(out);
  free(err);
}
END_TEST

START_TEST(cli_reports_connect_errors_and_threshold_failures)
{
  int port = 0;
  int fd = loopback_socket(&port, 0);
  close(fd);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
  char *out = NULL, *err = NULL;
  int status = rig_test_stackrig(&out, &err, "traffic", url, "-n", "10", "-c", "2", "--json", NULL);
  ck_assert_msg(status == 0, "exit %d: %s", status, err);
  json_object *root = json_tokener_parse(out);
  ck_assert_msg(root != NULL, "not JSON: %s", out);
  ck_assert_int_eq(json_object_get_int(get_path(root, "requests", NULL)), 10);
  ck_assert_int_eq(json_object_get_int(get_path(root, "errors", "connect")), 10);
  ck_assert_str_eq(err, ""); /* no progress line on a pipe */
  json_object_put(root);
  free(out);
  free(err);

  status = rig_test_stackrig(&out, &err, "traffic", url, "-n", "10", "--threshold", "errors==0",
                             "--threshold", "requests==10", NULL);
  ck_assert_msg(status == 1, "exit %d: %s", status, err);
  ck_assert_ptr_nonnull(strstr(out, "FAIL errors==0"));
  ck_assert_ptr_nonnull(strstr(out, "actual 10"));
  ck_assert_ptr_nonnull(strstr(out, "ok   requests==10"));
  ck_assert_ptr_nonnull(strstr(out, "connect 10"));
  free(out);
  free(err);
}
END_TEST

START_TEST(cli_against_a_server)
{
  server *srv = server_start();
  char *url = url_of(srv, "/status/201");
  char *dir = rig_test_tempdir();
  char *trace_file = rig__sprintf("%s/traces.txt", dir);
  char *out = NULL, *err = NULL;
  int status =
      rig_test_stackrig(&out, &err, "traffic", url, "-n", "20", "-c", "2", "--trace-file",
                        trace_file, "--threshold", "p(99)<10s", "--threshold", "rate>0", NULL);
  ck_assert_msg(status == 0, "exit %d: %s %s", status, out, err);
  ck_assert_ptr_nonnull(strstr(out, "requests     20 in"));
  ck_assert_ptr_nonnull(strstr(out, "201: 20"));
  ck_assert_ptr_nonnull(strstr(out, "ok   p(99)<10s"));
  char *traces = NULL;
  size_t len = 0;
  ck_assert_int_eq(rig__read_file(&traces, &len, trace_file), RIG_OK);
  int lines = 0;
  for (char *line = strtok(traces, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '#')
      continue;
    char trace_id[64], span_id[32], error[16];
    unsigned long long seq;
    int code;
    double ms;
    ck_assert_int_eq(
        sscanf(line, "%63s %31s %llu %d %lf %15s", trace_id, span_id, &seq, &code, &ms, error), 6);
    ck_assert_uint_eq(strlen(trace_id), 32);
    ck_assert_int_eq(code, 201);
    ck_assert_str_eq(error, "none");
    lines++;
  }
  ck_assert_int_eq(lines, 20);
  ck_assert_int_eq(atomic_load(&srv->requests), 20);
  free(traces);
  free(out);
  free(err);
  rig_test_rmtree(dir);
  free(trace_file);
  free(dir);
  free(url);
  server_stop(srv);
}
END_TEST

static Suite *traffic_suite(void)
{
  Suite *s = suite_create("traffic");
  TCase *tc = tcase_create("maths");
  tcase_add_test(tc, intended_times_follow_the_rate_exactly);
  tcase_add_test(tc, intended_times_do_not_drift);
  tcase_add_loop_test(tc, errors_are_classified, 0,
                      (int)(sizeof classify_cases / sizeof classify_cases[0]));
  tcase_add_test(tc, error_kinds_have_names);
  tcase_add_test(tc, durations_are_formatted_for_humans);
  suite_add_tcase(s, tc);

  tc = tcase_create("options");
  tcase_add_loop_test(tc, bad_options_are_named, 0,
                      (int)(sizeof bad_options / sizeof bad_options[0]));
  tcase_add_test(tc, options_need_the_version_and_a_readable_body_file);
  tcase_add_test(tc, header_list_has_placeholder_expect_and_auth);
  suite_add_tcase(s, tc);

  tc = tcase_create("results");
  tcase_add_test(tc, result_accessors);
  tcase_add_test(tc, result_json);
  suite_add_tcase(s, tc);

  tc = tcase_create("runs");
  tcase_add_test(tc, unreachable_target_gives_connect_errors);
  tcase_add_test(tc, silent_server_gives_timeouts);
  tcase_add_test(tc, open_model_counts_latency_from_intended_time);
  tcase_add_test(tc, closed_model_sends_exactly_the_count);
  tcase_add_test(tc, host_names_and_many_connections);
  tcase_add_test(tc, request_callback_varies_requests_and_can_stop);
  tcase_add_test(tc, cancel_stops_the_run_and_keeps_the_partial_result);
  tcase_add_test(tc, warmup_is_not_counted);
  tcase_add_test(tc, traceparent_per_request_and_under_a_parent);
  tcase_add_test(tc, open_model_duration_sends_the_scheduled_count);
  suite_add_tcase(s, tc);

  tc = tcase_create("cli");
  tcase_add_test(tc, cli_help);
  tcase_add_loop_test(tc, cli_usage_errors_name_the_input, 0,
                      (int)(sizeof cli_usage_cases / sizeof cli_usage_cases[0]));
  tcase_add_test(tc, cli_reports_connect_errors_and_threshold_failures);
  tcase_add_test(tc, cli_against_a_server);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(traffic_suite());
}
