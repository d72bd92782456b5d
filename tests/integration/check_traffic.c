/*
 * check_traffic.c - the traffic generator against a real HTTP server: nginx from the
 * system, started by this suite as a child with a generated config in a temp folder, on
 * free 127.0.0.1 ports (HTTP/1.1 and h2c). nginx logs every request it served, with its
 * traceparent, Authorization and body length, and the tests compare that log with the
 * result: exact request and status counts, the open model's achieved rate, and a valid,
 * unique traceparent on every request.
 *
 * It needs no Docker, so it runs with the unit suites; without nginx it is skipped (77).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stackrig.h>

#include "testutil.h"
#include "util.h"

#define NGINX "/usr/sbin/nginx"

static pid_t nginx_pid = -1;
static char *nginx_dir;
static int http_port, h2c_port, h2c_limited_port, idle_close_port;
static char base_url[64], h2c_url[64], h2c_limited_url[64], idle_close_url[64];

static int free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(fd, (struct sockaddr *)&addr, sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  close(fd);
  return ntohs(addr.sin_port);
}

static int port_answers(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
  close(fd);
  return ok;
}

static char *path_in(const char *name)
{
  return rig__sprintf("%s/%s", nginx_dir, name);
}

static void write_config(void)
{
  char *conf = path_in("nginx.conf");
  char *text = rig__sprintf(
      "daemon off;\n"
      "master_process off;\n"
      "worker_processes 1;\n"
      "pid %1$s/nginx.pid;\n"
      "error_log %1$s/error.log warn;\n"
      "events { worker_connections 1024; }\n"
      "http {\n"
      "  client_body_temp_path %1$s/body;\n"
      "  proxy_temp_path %1$s/proxy;\n"
      "  fastcgi_temp_path %1$s/fastcgi;\n"
      "  uwsgi_temp_path %1$s/uwsgi;\n"
      "  scgi_temp_path %1$s/scgi;\n"
      "  keepalive_requests 1000000;\n"
      "  log_format traffic '$request_method $uri $status $server_protocol "
      "\"$http_traceparent\" \"$http_authorization\" \"$http_x_test\" $content_length';\n"
      "  access_log %1$s/access.log traffic;\n"
      "  server {\n"
      "    listen 127.0.0.1:%2$d;\n"
      "    listen 127.0.0.1:%3$d http2;\n"
      "    location = /ok { return 200 \"ok\\n\"; }\n"
      "    location = /s200 { return 200 \"ok\\n\"; }\n"
      "    location = /s404 { return 404; }\n"
      "    location = /s503 { return 503; }\n"
      "    location = /post { client_max_body_size 1m; return 200 \"posted\\n\"; }\n"
      "  }\n"
      "  server {\n" /* closes each connection after 50 requests, as servers do */
      "    listen 127.0.0.1:%4$d http2;\n"
      "    keepalive_requests 50;\n"
      "    location = /ok { return 200 \"ok\\n\"; }\n"
      "  }\n"
      "  server {\n" /* closes a keep-alive connection idle for 30 ms */
      "    listen 127.0.0.1:%5$d;\n"
      "    keepalive_timeout 30ms;\n"
      "    location = /ok { return 200 \"ok\\n\"; }\n"
      "  }\n"
      "}\n",
      nginx_dir, http_port, h2c_port, h2c_limited_port, idle_close_port);
  rig_test_write_file(conf, text);
  free(text);
  free(conf);
}

static void nginx_start(void)
{
  nginx_dir = rig_test_tempdir();
  ck_assert_ptr_nonnull(nginx_dir);
  http_port = free_port();
  do
    h2c_port = free_port();
  while (h2c_port == http_port);
  do
    h2c_limited_port = free_port();
  while (h2c_limited_port == http_port || h2c_limited_port == h2c_port);
  do
    idle_close_port = free_port();
  while (idle_close_port == http_port || idle_close_port == h2c_port ||
         idle_close_port == h2c_limited_port);
  snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", http_port);
  snprintf(h2c_url, sizeof h2c_url, "http://127.0.0.1:%d", h2c_port);
  snprintf(h2c_limited_url, sizeof h2c_limited_url, "http://127.0.0.1:%d", h2c_limited_port);
  snprintf(idle_close_url, sizeof idle_close_url, "http://127.0.0.1:%d", idle_close_port);
  write_config();
  char *conf = path_in("nginx.conf");
  char *error_log = path_in("error.log");
  nginx_pid = fork();
  ck_assert_int_ge(nginx_pid, 0);
  if (nginx_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the suite, even if it is killed */
    execl(NGINX, "nginx", "-p", nginx_dir, "-c", conf, "-e", error_log, (char *)NULL);
    _exit(127);
  }
  free(conf);
  /* ready when both ports accept; fail at once if nginx exits */
  int64_t deadline = rig__now_ms() + 10000;
  while (!(port_answers(http_port) && port_answers(h2c_port) && port_answers(h2c_limited_port) &&
           port_answers(idle_close_port))) {
    int status = 0;
    if (waitpid(nginx_pid, &status, WNOHANG) == nginx_pid) {
      nginx_pid = -1;
      char *log = NULL;
      size_t len = 0;
      rig__read_file(&log, &len, error_log);
      ck_abort_msg("nginx exited (status %d): %s", status, log ? log : "(no error log)");
    }
    ck_assert_msg(rig__now_ms() < deadline, "nginx did not listen within 10 s");
    rig__sleep_ms(10);
  }
  free(error_log);
}

static void nginx_stop(void)
{
  if (nginx_pid > 0) {
    kill(nginx_pid, SIGTERM);
    waitpid(nginx_pid, NULL, 0);
    nginx_pid = -1;
  }
  rig_test_rmtree(nginx_dir);
  free(nginx_dir);
  nginx_dir = NULL;
}

/* ---- the access log ---- */

typedef struct log_line {
  char method[16];
  char uri[64];
  int status;
  char protocol[16];
  char traceparent[128];
  char authorization[512];
  char x_test[64];
  char content_length[16];
} log_line;

static size_t log_size(void)
{
  char *path = path_in("access.log");
  struct stat st;
  size_t size = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
  free(path);
  return size;
}

static size_t count_lines(const char *text)
{
  size_t n = 0;
  for (const char *p = text; *p; p++)
    n += *p == '\n';
  return n;
}

/* The log lines written after offset; waits (up to 10 s) until there are expected of them,
 * since nginx logs a request just after it sent the answer. */
static log_line *read_log(size_t offset, size_t expected, size_t *out_count)
{
  char *path = path_in("access.log");
  char *text = NULL;
  size_t len = 0;
  int64_t deadline = rig__now_ms() + 10000;
  for (;;) {
    free(text);
    text = NULL;
    ck_assert_int_eq(rig__read_file(&text, &len, path), RIG_OK);
    if (len >= offset && count_lines(text + offset) >= expected)
      break;
    ck_assert_msg(rig__now_ms() < deadline, "nginx logged %zu of %zu requests",
                  len >= offset ? count_lines(text + offset) : 0, expected);
    rig__sleep_ms(10);
  }
  size_t n = count_lines(text + offset);
  log_line *lines = rig__calloc(n ? n : 1, sizeof *lines);
  size_t i = 0;
  for (char *line = strtok(text + offset, "\n"); line && i < n; line = strtok(NULL, "\n"), i++) {
    log_line *l = &lines[i];
    int fields = sscanf(line, "%15s %63s %d %15s \"%127[^\"]\" \"%511[^\"]\" \"%63[^\"]\" %15s",
                        l->method, l->uri, &l->status, l->protocol, l->traceparent,
                        l->authorization, l->x_test, l->content_length);
    ck_assert_msg(fields == 8, "unexpected access log line: %s", line);
  }
  *out_count = n;
  free(text);
  free(path);
  return lines;
}

static int under_valgrind(void)
{
  const char *preload = getenv("LD_PRELOAD");
  return preload && strstr(preload, "vgpreload") != NULL;
}

static rig_traffic_result *run_ok(rig_traffic_options *opts)
{
  rig_traffic_result *result = NULL;
  int rc = rig_traffic_run(&result, opts);
  ck_assert_msg(rc == RIG_OK, "traffic: %s", rig_error_last() ? rig_error_last()->text : "?");
  return result;
}

/* ---- tests ---- */

START_TEST(closed_model_request_count_is_exact)
{
  char url[96];
  snprintf(url, sizeof url, "%s/ok", base_url);
  size_t offset = log_size();
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 1000;
  opts.connections = 8;
  rig_traffic_result *result = run_ok(&opts);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests, 1000);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 1000);
  ck_assert_uint_eq(sum->errors, 0);
  ck_assert_uint_eq(sum->bytes_received, 3000);
  size_t n = 0;
  log_line *lines = read_log(offset, 1000, &n);
  ck_assert_uint_eq(n, 1000);
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_eq(lines[i].uri, "/ok");
    ck_assert_int_eq(lines[i].status, 200);
    ck_assert_str_eq(lines[i].protocol, "HTTP/1.1");
    ck_assert_str_eq(lines[i].traceparent, "-"); /* not asked for */
  }
  free(lines);
  rig_traffic_result_free(result);
}
END_TEST

typedef struct mix {
  char url[128];
} mix;

/* by sequence number: 10% /s503, 20% /s404, 70% /s200 */
static int mixed_request(void *userdata, uint64_t seq, rig_traffic_request *req)
{
  mix *m = userdata;
  const char *path = seq % 10 == 0 ? "/s503" : seq % 10 <= 2 ? "/s404" : "/s200";
  snprintf(m->url, sizeof m->url, "%s%s", base_url, path);
  req->url = m->url;
  return 0;
}

START_TEST(status_mix_counts_are_exact)
{
  mix m;
  size_t offset = log_size();
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = base_url;
  opts.on_request = mixed_request;
  opts.userdata = &m;
  opts.requests = 1000;
  opts.connections = 5;
  const char *thresholds[] = {"error_rate<=30%", "p(99){status:200}<5s", "error_rate<1%", NULL};
  opts.thresholds = thresholds;
  rig_traffic_result *result = run_ok(&opts);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests, 1000);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 700);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 404), 200);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 503), 100);
  ck_assert_uint_eq(sum->errors, 300);
  ck_assert_uint_eq(sum->error_kinds[RIG_TRAFFIC_ERR_HTTP], 300);
  rig_traffic_latency lat;
  ck_assert_int_eq(rig_traffic_result_latency(&lat, result, 503), RIG_OK);
  ck_assert_uint_eq(lat.count, 100);
  ck_assert(!rig_traffic_result_passed(result));
  ck_assert(rig_traffic_result_verdict(result, 0)->passed);
  ck_assert(rig_traffic_result_verdict(result, 1)->passed);
  ck_assert(!rig_traffic_result_verdict(result, 2)->passed);
  ck_assert_str_eq(rig_traffic_result_verdict(result, 2)->actual_text, "30.00%");

  size_t n = 0, seen[3] = {0};
  log_line *lines = read_log(offset, 1000, &n);
  ck_assert_uint_eq(n, 1000);
  for (size_t i = 0; i < n; i++) {
    if (lines[i].status == 200)
      seen[0]++;
    else if (lines[i].status == 404)
      seen[1]++;
    else if (lines[i].status == 503)
      seen[2]++;
  }
  ck_assert_uint_eq(seen[0], 700);
  ck_assert_uint_eq(seen[1], 200);
  ck_assert_uint_eq(seen[2], 100);
  free(lines);
  rig_traffic_result_free(result);
}
END_TEST

START_TEST(open_model_reaches_its_rate)
{
  /* 1000/s for 5 s: exactly 5000 scheduled requests, achieved rate within 2% */
  char url[96];
  snprintf(url, sizeof url, "%s/ok", base_url);
  size_t offset = log_size();
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.rate = 1000;
  opts.duration_ms = 5000;
  opts.connections = 50;
  rig_traffic_result *result = run_ok(&opts);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests + sum->not_sent, 5000);
  ck_assert(sum->open_model);
  if (!under_valgrind()) { /* where everything runs ~50 times slower */
    ck_assert_uint_eq(sum->not_sent, 0);
    ck_assert_msg(fabs(sum->rate - 1000) <= 20, "achieved %.1f/s, target 1000/s", sum->rate);
  }
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), sum->requests);
  size_t n = 0;
  free(read_log(offset, sum->requests, &n));
  ck_assert_uint_eq(n, sum->requests);
  rig_traffic_result_free(result);
}
END_TEST

static int compare_ids(const void *a, const void *b)
{
  return memcmp(a, b, 16);
}

START_TEST(every_request_carries_a_unique_valid_traceparent)
{
  char url[96];
  snprintf(url, sizeof url, "%s/ok", base_url);
  size_t offset = log_size();
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 500;
  opts.connections = 4;
  opts.traceparent = 1;
  rig_traffic_result *result = run_ok(&opts);
  ck_assert_uint_eq(rig_traffic_result_trace_count(result), 500);
  size_t n = 0;
  log_line *lines = read_log(offset, 500, &n);
  ck_assert_uint_eq(n, 500);

  uint8_t(*seen)[16] = rig__calloc(n, 16);
  uint8_t(*kept)[16] = rig__calloc(n, 16);
  for (size_t i = 0; i < n; i++) {
    rig_traceparent tp;
    int rc = rig_traceparent_parse(&tp, lines[i].traceparent);
    ck_assert_msg(rc == RIG_OK, "line %zu: traceparent '%s' does not parse", i,
                  lines[i].traceparent);
    ck_assert_int_eq(tp.version, 0);
    ck_assert(rig_traceparent_sampled(&tp));
    memcpy(seen[i], tp.trace_id, 16);
    const rig_traffic_trace *t = rig_traffic_result_trace(result, i);
    ck_assert_int_eq(t->status, 200);
    memcpy(kept[i], t->trace_id, 16);
  }
  qsort(seen, n, 16, compare_ids);
  qsort(kept, n, 16, compare_ids);
  for (size_t i = 1; i < n; i++)
    ck_assert_msg(memcmp(seen[i - 1], seen[i], 16) != 0, "a trace id was sent twice");
  /* the result's trace ids are exactly those the server saw */
  ck_assert_int_eq(memcmp(seen, kept, n * 16), 0);
  free(seen);
  free(kept);
  free(lines);
  rig_traffic_result_free(result);
}
END_TEST

START_TEST(requests_hang_under_a_given_parent)
{
  const char *parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  char url[96];
  snprintf(url, sizeof url, "%s/ok", base_url);
  size_t offset = log_size();
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 100;
  opts.connections = 3;
  opts.traceparent = 1;
  opts.parent_traceparent = parent;
  rig_traffic_result *result = run_ok(&opts);
  size_t n = 0;
  log_line *lines = read_log(offset, 100, &n);
  ck_assert_uint_eq(n, 100);
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(strncmp(lines[i].traceparent, parent, 36) == 0, "'%s' is not under %s",
                  lines[i].traceparent, parent);
    ck_assert_msg(strcmp(lines[i].traceparent, parent) != 0, "the parent's own span was sent");
    for (size_t j = 0; j < i; j++)
      ck_assert_str_ne(lines[i].traceparent, lines[j].traceparent);
  }
  free(lines);
  rig_traffic_result_free(result);
}
END_TEST

START_TEST(h2c_with_prior_knowledge)
{
  char url[96];
  snprintf(url, sizeof url, "%s/ok", h2c_url);
  size_t offset = log_size();
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 300;
  opts.connections = 10;
  opts.http2 = 1;
  rig_traffic_result *result = run_ok(&opts);
  ck_assert_uint_eq(rig_traffic_result_summary(result)->requests, 300);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 300);
  size_t n = 0;
  log_line *lines = read_log(offset, 300, &n);
  ck_assert_uint_eq(n, 300);
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(lines[i].protocol, "HTTP/2.0");
  free(lines);
  rig_traffic_result_free(result);
}
END_TEST

START_TEST(h2c_survives_the_server_closing_connections)
{
  /* the server ends each connection after 50 requests (GOAWAY): every request must still
   * be answered over HTTP/2, on new connections made with prior knowledge */
  char url[96];
  snprintf(url, sizeof url, "%s/ok", h2c_limited_url);
  size_t offset = log_size();
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.requests = 400;
  opts.connections = 1; /* one stream at a time: none is in flight when a GOAWAY comes */
  opts.http2 = 1;
  rig_traffic_result *result = run_ok(&opts);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests, 400);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 400);
  ck_assert_uint_eq(sum->http2_fallbacks, 0);
  size_t n = 0;
  log_line *lines = read_log(offset, 400, &n);
  ck_assert_uint_eq(n, 400);
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(lines[i].protocol, "HTTP/2.0");
  free(lines);
  rig_traffic_result_free(result);
}
END_TEST

START_TEST(open_model_survives_the_server_closing_idle_connections)
{
  /* 10/s: each connection sits idle for about 100 ms between requests, and the server
   * closes it after 30 ms. The generator keeps a connection's socket in its epoll set
   * after a request ends, so the close arrives there as an event nobody asked for: it must
   * drop the socket, and the next request must go out on a new connection */
  char url[96];
  snprintf(url, sizeof url, "%s/ok", idle_close_url);
  size_t offset = log_size();
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.rate = 10;
  opts.requests = 12;
  opts.connections = 4;
  rig_traffic_result *result = run_ok(&opts);
  const rig_traffic_summary *sum = rig_traffic_result_summary(result);
  ck_assert_uint_eq(sum->requests, 12);
  ck_assert_uint_eq(sum->errors, 0);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 12);
  size_t n = 0;
  free(read_log(offset, 12, &n));
  ck_assert_uint_eq(n, 12);
  rig_traffic_result_free(result);
}
END_TEST

START_TEST(post_with_body_file_headers_and_bearer_token)
{
  char *body_path = path_in("body.json");
  char *body = rig__malloc(3001);
  memset(body, 'x', 3000);
  body[3000] = '\0';
  rig_test_write_file(body_path, body);
  rig_jwt_claims claims = RIG_JWT_CLAIMS_INIT;
  claims.subject = "load-tester";
  claims.audience = "orders";
  char *token = NULL;
  ck_assert_int_eq(rig_jwt_sign_hs256(&token, &claims, "shared-secret", 13), RIG_OK);

  char url[96];
  snprintf(url, sizeof url, "%s/post", base_url);
  size_t offset = log_size();
  const char *headers[] = {"X-Test: abc", "Content-Type: application/json", NULL};
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.url = url;
  opts.request.headers = headers;
  opts.body_file = body_path;
  opts.bearer_token = token;
  opts.requests = 50;
  opts.connections = 2;
  rig_traffic_result *result = run_ok(&opts);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 200), 50);
  size_t n = 0;
  log_line *lines = read_log(offset, 50, &n);
  ck_assert_uint_eq(n, 50);
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_eq(lines[i].method, "POST");
    ck_assert_str_eq(lines[i].x_test, "abc");
    ck_assert_str_eq(lines[i].content_length, "3000");
    ck_assert_msg(strncmp(lines[i].authorization, "Bearer ", 7) == 0, "authorization: %s",
                  lines[i].authorization);
    char *payload = NULL;
    ck_assert_int_eq(
        rig_jwt_verify_hs256(&payload, lines[i].authorization + 7, "shared-secret", 13), RIG_OK);
    ck_assert_ptr_nonnull(strstr(payload, "\"sub\":\"load-tester\""));
    free(payload);
  }
  free(lines);
  rig_traffic_result_free(result);

  /* the same with an explicit method and inline body */
  offset = log_size();
  opts.body_file = NULL;
  opts.request.method = "PUT";
  opts.request.body = "{\"id\":1}";
  opts.requests = 5;
  result = run_ok(&opts);
  lines = read_log(offset, 5, &n);
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_eq(lines[i].method, "PUT");
    ck_assert_str_eq(lines[i].content_length, "8");
  }
  free(lines);
  rig_traffic_result_free(result);
  free(token);
  free(body);
  free(body_path);
}
END_TEST

START_TEST(cli_against_nginx)
{
  char url[96];
  snprintf(url, sizeof url, "%s/s404", base_url);
  char *out = NULL, *err = NULL;
  int status = rig_test_stackrig(&out, &err, "traffic", url, "-n", "50", "-c", "3", "--json",
                                 "--traceparent", "--threshold", "error_rate<1%", NULL);
  ck_assert_msg(status == 1, "exit %d: %s", status, err);
  json_object *root = json_tokener_parse(out);
  ck_assert_msg(root != NULL, "not JSON: %s", out);
  json_object *value = NULL;
  ck_assert(json_object_object_get_ex(root, "status", &value));
  ck_assert(json_object_object_get_ex(value, "404", &value));
  ck_assert_int_eq(json_object_get_int(value), 50);
  ck_assert(json_object_object_get_ex(root, "passed", &value));
  ck_assert(!json_object_get_boolean(value));
  ck_assert(json_object_object_get_ex(root, "traces", &value));
  ck_assert(json_object_object_get_ex(value, "seen", &value));
  ck_assert_int_eq(json_object_get_int(value), 50);
  json_object_put(root);
  free(out);
  free(err);

  snprintf(url, sizeof url, "%s/ok", base_url);
  status = rig_test_stackrig(&out, &err, "traffic", url, "-r", "200", "-d", "1s", "--warmup",
                             "200ms", "--threshold", "p(99)<5s", "--threshold", "rate>150", NULL);
  ck_assert_msg(status == 0, "exit %d: %s %s", status, out, err);
  ck_assert_ptr_nonnull(strstr(out, "open model, 200.0/s target"));
  ck_assert_ptr_nonnull(strstr(out, "requests     200 in"));
  free(out);
  free(err);
}
END_TEST

static Suite *traffic_nginx_suite(void)
{
  Suite *s = suite_create("traffic-nginx");
  TCase *tc = tcase_create("nginx");
  tcase_add_unchecked_fixture(tc, nginx_start, nginx_stop);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, closed_model_request_count_is_exact);
  tcase_add_test(tc, status_mix_counts_are_exact);
  tcase_add_test(tc, open_model_reaches_its_rate);
  tcase_add_test(tc, every_request_carries_a_unique_valid_traceparent);
  tcase_add_test(tc, requests_hang_under_a_given_parent);
  tcase_add_test(tc, h2c_with_prior_knowledge);
  tcase_add_test(tc, h2c_survives_the_server_closing_connections);
  tcase_add_test(tc, open_model_survives_the_server_closing_idle_connections);
  tcase_add_test(tc, post_with_body_file_headers_and_bearer_token);
  tcase_add_test(tc, cli_against_nginx);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  if (access(NGINX, X_OK) != 0) {
    fprintf(stderr, "%s is not installed: skipping (apt-get install nginx-light)\n", NGINX);
    return 77;
  }
  return rig_test_main(traffic_nginx_suite());
}
