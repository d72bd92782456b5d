/*
 * check_orders.c - an example Check suite: how to test a service with stackrig, end to end.
 *
 * The service under test is examples/orders-service (an HTTP service in C that stores orders
 * in Postgres and sends traces and a request counter to the OpenTelemetry Collector). The
 * suite checks what the service did where it really lands:
 *
 *   a_request_is_traced         one request, as a traced client: Jaeger holds the whole
 *                               trace (client > server > INSERT), fast and ok
 *   traffic_is_traced           N requests from the traffic generator all succeed, each with
 *                               its own traceparent, and sampled traces are in Jaeger
 *   requests_are_counted        Prometheus' orders_requests_total rose by exactly N
 *   each_test_has_its_own_db    every test gets a fresh database cloned from the migrated
 *                               template, and sees only its own rows
 *
 * The stack (Postgres, Jaeger, Prometheus, the collector) is found through the STACKRIG_*
 * environment, as `stackrig run` hands it to a suite; in stackrig's source tree, without
 * those variables, main() brings the default stack up itself (and down at the end).
 *
 * Fixtures: each test is its own test case with an *unchecked* fixture, which runs in this
 * process, not in the child Check forks for the test, so its teardown runs even when the
 * test fails: it makes the test's database and starts the service, then stops and drops
 * them. A *checked* fixture attaches the test to the stack (clients for Jaeger, Prometheus
 * and the collector).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stackrig.h>
#include <stackrig/check.h>

#ifdef STACKRIG_SOURCE_TREE
#include "integration/defaultstack.h"
#include "testutil.h"
#endif

/* Where the service's program and the migrations are; the environment variables of the same
 * names override these (`make check` builds them in). */
#ifndef ORDERS_BIN
#define ORDERS_BIN "./orders"
#endif
#ifndef ORDERS_MIGRATIONS
#define ORDERS_MIGRATIONS "./migrations"
#endif

#define WAIT_MS 30000 /* how long telemetry may take to arrive: generous, it is not a timing */
#define TRAFFIC_REQUESTS 50
#define TRACE_SAMPLES 5

static const char *base_dsn; /* STACKRIG_PG_DSN: the server's default database */
static char *template_name;  /* the database that holds the migrated schema */

/* The service of the running test case (set by the unchecked fixture, in this process). */
static struct {
  pid_t pid;
  int stdout_fd;
  char *dsn;         /* its own database */
  char instance[64]; /* its service.instance.id: Prometheus' instance label */
  char url[64];      /* http://127.0.0.1:PORT */
} orders = {.pid = -1, .stdout_fd = -1};

static rig_attach *stack; /* the test's clients (checked fixture, in the test's process) */

static const char *setting(const char *name, const char *fallback)
{
  const char *value = getenv(name);
  return value && *value ? value : fallback;
}

/* ---- the service as a child process ---- */

/* Reads the first line the service prints, "orders: listening on 127.0.0.1:PORT", which it
 * prints once it is connected to its database and listening. */
static int read_port(int fd, int64_t timeout_ms, char *line, size_t size)
{
  size_t used = 0;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (used + 1 < size) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left =
        timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
      return -1;
    ssize_t n = read(fd, line + used, 1);
    if (n <= 0)
      return -1; /* it exited: its stderr (in the test log) says why */
    if (line[used] == '\n')
      break;
    used++;
  }
  line[used] = '\0';
  const char *colon = strrchr(line, ':');
  return colon ? atoi(colon + 1) : -1;
}

/* Starts the service on a free port, with its own database and the collector of the stack.
 * Its stderr stays the suite's, so its log lines appear in the test log. */
static int start_orders(char *why, size_t why_size)
{
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    snprintf(why, why_size, "pipe: %s", strerror(errno));
    return -1;
  }
  const char *bin = setting("ORDERS_BIN", ORDERS_BIN);
  const char *otlp = setting("STACKRIG_OTLP_HTTP_ENDPOINT", "");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    /* The service goes when the suite goes, even when the suite is killed. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(127);
    dup2(pipe_fds[1], STDOUT_FILENO);
    execl(bin, bin, "--dsn", orders.dsn, "--otlp", otlp, "--instance", orders.instance, "0",
          (char *)NULL);
    fprintf(stderr, "check_orders: cannot run %s: %s (set ORDERS_BIN)\n", bin, strerror(errno));
    _exit(127);
  }
  close(pipe_fds[1]);
  orders.pid = pid;
  orders.stdout_fd = pipe_fds[0];
  if (pid < 0) {
    snprintf(why, why_size, "fork: %s", strerror(errno));
    return -1;
  }
  char line[128];
  int port = read_port(orders.stdout_fd, 10000, line, sizeof line);
  if (port <= 0) {
    snprintf(why, why_size, "%s did not say where it listens within 10 s", bin);
    return -1;
  }
  snprintf(orders.url, sizeof orders.url, "http://127.0.0.1:%d", port);
  return 0;
}

/* SIGTERM, then up to 5 s for it to exit (it pushes its last metrics first), else SIGKILL.
 * Its end of the stdout pipe closes when it exits, which poll() sees. */
static void stop_orders(void)
{
  if (orders.pid > 0) {
    kill(orders.pid, SIGTERM);
    struct pollfd pfd = {.fd = orders.stdout_fd, .events = POLLIN};
    char buf[256];
    int exited = 0;
    while (!exited && poll(&pfd, 1, 5000) > 0)
      exited = read(orders.stdout_fd, buf, sizeof buf) <= 0;
    if (!exited)
      kill(orders.pid, SIGKILL);
    waitpid(orders.pid, NULL, 0);
  }
  if (orders.stdout_fd >= 0)
    close(orders.stdout_fd);
  orders.pid = -1;
  orders.stdout_fd = -1;
}

/* ---- fixtures ---- */

/* Unchecked setup: a fresh database from the template, and the service on it. A failure
 * here is reported as the test's failure; this function undoes its own work first, since
 * the teardown does not run after a failed setup. */
static void orders_up(void)
{
  static int serial;
  char why[512] = "";
  snprintf(orders.instance, sizeof orders.instance, "check-orders-%ld-%d", (long)getpid(),
           ++serial);
  int rc = rig_pg_fresh_db(&orders.dsn, base_dsn, template_name);
  if (rc != RIG_OK)
    snprintf(why, sizeof why, "fresh database: %s", rig_check_message(rc));
  else if (start_orders(why, sizeof why) != 0)
    stop_orders();
  if (why[0]) {
    if (orders.dsn)
      rig_pg_drop_db(orders.dsn);
    free(orders.dsn);
    orders.dsn = NULL;
    ck_abort_msg("orders service: %s", why);
  }
}

static void orders_down(void)
{
  stop_orders();
  int rc = orders.dsn ? rig_pg_drop_db(orders.dsn) : RIG_OK;
  if (rc != RIG_OK)
    fprintf(stderr, "check_orders: %s\n", rig_check_message(rc));
  free(orders.dsn);
  orders.dsn = NULL;
}

static void attach_setup(void)
{
  rig_ck_attach(&stack, RIG_ATTACH_JAEGER | RIG_ATTACH_PROMETHEUS | RIG_ATTACH_OTLP);
}

static void attach_teardown(void)
{
  rig_attach_free(stack);
  stack = NULL;
}

/* ---- helpers for the tests ---- */

/* One request to the service; the answer's status is returned, its body copied to body. */
static long call(const char *method, const char *path, const char *json, const char *traceparent,
                 char *body, size_t body_size)
{
  rig_http *http = NULL;
  rig_ck_assert_ok(rig_http_new(&http, orders.url, NULL));
  char traceparent_header[100];
  snprintf(traceparent_header, sizeof traceparent_header, "traceparent: %s",
           traceparent ? traceparent : "");
  const char *headers[] = {"Content-Type: application/json",
                           traceparent ? traceparent_header : NULL, NULL};
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.method = method;
  req.path = path;
  req.headers = headers;
  req.body = json;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  rig_ck_assert_ok(rig_http_do(http, &req, &resp));
  snprintf(body, body_size, "%s", resp.body ? resp.body : "");
  long status = resp.status;
  rig_http_response_dispose(&resp);
  rig_http_free(http);
  return status;
}

/* Sends count POST /orders with the traffic generator, each with a fresh traceparent, and
 * checks that every one of them was answered 201. */
static rig_traffic_result *post_orders(uint64_t count)
{
  char url[96];
  snprintf(url, sizeof url, "%s/orders", orders.url);
  const char *headers[] = {"Content-Type: application/json", NULL};
  rig_traffic_options opts = RIG_TRAFFIC_OPTIONS_INIT;
  opts.request.method = "POST";
  opts.request.url = url;
  opts.request.headers = headers;
  opts.request.body = "{\"item\": \"widget\", \"qty\": 1}";
  opts.requests = count;
  opts.connections = 4;
  opts.traceparent = 1;
  rig_traffic_result *result = NULL;
  rig_ck_assert_ok(rig_traffic_run(&result, &opts));
  const rig_traffic_summary *summary = rig_traffic_result_summary(result);
  ck_assert_uint_eq(summary->requests, count);
  ck_assert_uint_eq(summary->errors, 0);
  ck_assert_uint_eq(rig_traffic_result_status_count(result, 201), count);
  ck_assert_uint_eq(rig_traffic_result_trace_count(result), count);
  return result;
}

/* The first value of a one-row query on the test's database; free() it. */
static char *query_value(const char *sql)
{
  PGconn *db = PQconnectdb(orders.dsn);
  ck_assert_msg(PQstatus(db) == CONNECTION_OK, "%s", PQerrorMessage(db));
  PGresult *res = PQexec(db, sql);
  ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "%s: %s", sql,
                PQerrorMessage(db));
  char *value = strdup(PQgetvalue(res, 0, 0));
  PQclear(res);
  PQfinish(db);
  return value;
}

/* ---- the tests ---- */

/* The test plays a traced client: its own CLIENT span goes out in the traceparent header, so
 * Jaeger must show one connected tree: check_orders > orders (server) > INSERT (client). */
START_TEST(a_request_is_traced)
{
  rig_otlp_batch *batch = NULL;
  rig_otlp_resource *client = NULL;
  rig_otlp_span *span = NULL;
  rig_ck_assert_ok(rig_otlp_batch_new(&batch));
  rig_ck_assert_ok(rig_otlp_batch_add_resource(&client, batch, "check_orders"));
  rig_ck_assert_ok(rig_otlp_span_start(&span, client, "POST /orders", NULL));
  rig_otlp_span_set_kind(span, RIG_SPAN_KIND_CLIENT);
  rig_traceparent context;
  char traceparent[RIG_TRACEPARENT_LEN + 1], trace_id[RIG_TRACE_ID_HEX_LEN + 1], body[256];
  rig_otlp_span_context(&context, span);
  rig_traceparent_format(traceparent, &context);
  rig_otlp_span_trace_id_hex(trace_id, span);

  long status =
      call("POST", "/orders", "{\"item\": \"widget\", \"qty\": 2}", traceparent, body, sizeof body);
  rig_otlp_span_end(span);
  rig_ck_assert_ok(rig_otlp_exporter_send(rig_attach_otlp(stack), batch));
  rig_otlp_batch_free(batch);
  ck_assert_int_eq(status, 201);
  /* The first order of a fresh database. */
  ck_assert_str_eq(body, "{\"id\":1,\"item\":\"widget\",\"qty\":2}");

  /* Assertions on what Jaeger recorded, polled until they hold (or WAIT_MS passes). */
  const char *server = "span[service.name=\"orders\" name=\"POST /orders\"]";
  const char *insert = "span[service.name=\"orders\" name=\"POST /orders\"] "
                       "> span[name=\"INSERT orders\"]";
  rig_trace_expect *expect = NULL;
  rig_ck_assert_ok(rig_trace_expect_new(&expect));
  rig_ck_assert_ok(rig_trace_expect_span_count(expect, 3));
  rig_ck_assert_ok(rig_trace_expect_add(expect, NULL, "connected"));
  rig_ck_assert_ok(rig_trace_expect_add(expect, server, "count == 1"));
  rig_ck_assert_ok(rig_trace_expect_add(expect, server, "kind = server"));
  rig_ck_assert_ok(rig_trace_expect_add(expect, server, "http.response.status_code = 201"));
  rig_ck_assert_ok(rig_trace_expect_add(expect, server, "duration < 5s"));
  rig_ck_assert_ok(rig_trace_expect_add(expect, insert, "count == 1"));
  rig_ck_assert_ok(rig_trace_expect_add(expect, insert, "kind = client"));
  rig_ck_assert_ok(rig_trace_expect_add(expect, insert, "db.system = postgresql"));
  rig_ck_assert_ok(rig_trace_expect_add(expect, insert, "db.statement contains \"INSERT INTO\""));
  rig_ck_assert_ok(rig_trace_expect_add(expect, "span[service.name=\"orders\"]", "status = ok"));
  rig_ck_assert_trace_expect(rig_attach_jaeger(stack), trace_id, expect, WAIT_MS);
  rig_trace_expect_free(expect);
}
END_TEST

START_TEST(traffic_is_traced)
{
  rig_traffic_result *result = post_orders(TRAFFIC_REQUESTS);
  /* Every request came with its own trace; look a sample of them up in Jaeger. The server
   * span must continue the generator's context: its parent is the span id that was sent. */
  for (size_t i = 0; i < TRAFFIC_REQUESTS; i += TRAFFIC_REQUESTS / TRACE_SAMPLES) {
    const rig_traffic_trace *sent = rig_traffic_result_trace(result, i);
    ck_assert_int_eq(sent->status, 201);
    char trace_id[RIG_TRACE_ID_HEX_LEN + 1], parent_id[RIG_SPAN_ID_HEX_LEN + 1];
    rig_trace_id_to_hex(trace_id, sent->trace_id);
    rig_span_id_to_hex(parent_id, sent->span_id);
    char selector[200];
    snprintf(selector, sizeof selector,
             "span[service.name=\"orders\" name=\"POST /orders\" parent_id=\"%s\"]"
             " > span[name=\"INSERT orders\"]",
             parent_id);
    rig_ck_assert_trace(rig_attach_jaeger(stack), trace_id, selector, "count == 1", WAIT_MS);
  }
  rig_traffic_result_free(result);
  /* And every order was stored, in this test's own database. */
  char *stored = query_value("SELECT count(*) FROM orders");
  ck_assert_int_eq(atoi(stored), TRAFFIC_REQUESTS);
  free(stored);
}
END_TEST

START_TEST(requests_are_counted)
{
  rig_prom *prom = rig_attach_prom(stack);
  /* A mark pinned to a scrape after this moment: the deltas below count only what this test
   * does. "otel-collector-exporter" is the job that scrapes the collector's prometheus
   * exporter (compose/prometheus.yml), where the service's counter shows up. */
  rig_prom_mark *mark = NULL;
  rig_ck_assert_ok(rig_prom_mark_now(&mark, prom, "otel-collector-exporter", WAIT_MS));
  rig_traffic_result_free(post_orders(TRAFFIC_REQUESTS));
  char body[256];
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(call("GET", "/orders/999999", NULL, NULL, body, sizeof body), 404);

  /* The collector's prometheus exporter names the monotonic sum orders_requests
   * "orders_requests_total"; job and instance are the service's name and instance id. */
  char selector[256];
  snprintf(selector, sizeof selector,
           "orders_requests_total{job=\"orders\", instance=\"%s\", http_status_code=\"201\"}",
           orders.instance);
  rig_ck_assert_delta(prom, selector, mark, RIG_PROM_EQ, TRAFFIC_REQUESTS, WAIT_MS);
  snprintf(selector, sizeof selector,
           "orders_requests_total{job=\"orders\", instance=\"%s\", http_status_code=\"404\"}",
           orders.instance);
  rig_ck_assert_delta(prom, selector, mark, RIG_PROM_EQ, 2, WAIT_MS);
  rig_prom_mark_free(mark);
}
END_TEST

START_TEST(each_test_has_its_own_db)
{
  /* The ids start at 1: no other test's orders are in this database. */
  char body[256];
  for (int i = 1; i <= 3; i++) {
    ck_assert_int_eq(
        call("POST", "/orders", "{\"item\": \"gear\", \"qty\": 3}", NULL, body, sizeof body), 201);
    char expected[64];
    snprintf(expected, sizeof expected, "{\"id\":%d,\"item\":\"gear\",\"qty\":3}", i);
    ck_assert_str_eq(body, expected);
  }
  ck_assert_int_eq(call("GET", "/orders/2", NULL, NULL, body, sizeof body), 200);
  ck_assert_str_eq(body, "{\"id\":2,\"item\":\"gear\",\"qty\":3}");
  ck_assert_int_eq(call("GET", "/orders/4", NULL, NULL, body, sizeof body), 404);
  ck_assert_int_eq(call("POST", "/orders", "{\"item\": \"\"}", NULL, body, sizeof body), 400);

  char *count = query_value("SELECT count(*) FROM orders");
  ck_assert_str_eq(count, "3");
  free(count);
  /* A clone of the template: the migration runner's record came along with the schema. */
  char *migration = query_value("SELECT name FROM " RIG_PG_MIGRATIONS_TABLE);
  ck_assert_str_eq(migration, "001_orders.sql");
  free(migration);
  char *database = query_value("SELECT current_database()");
  ck_assert_str_ne(database, template_name);
  free(database);
}
END_TEST

static Suite *orders_suite(void)
{
  Suite *suite = suite_create("orders");
  const struct {
    const char *name;
    const TTest *test;
  } tests[] = {{"trace", a_request_is_traced},
               {"traffic", traffic_is_traced},
               {"metrics", requests_are_counted},
               {"database", each_test_has_its_own_db}};
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    TCase *tc = tcase_create(tests[i].name);
    tcase_add_unchecked_fixture(tc, orders_up, orders_down);
    tcase_add_checked_fixture(tc, attach_setup, attach_teardown);
    tcase_set_timeout(tc, 120); /* Check's default (4 s) is for unit tests */
    tcase_add_test(tc, tests[i].test);
    suite_add_tcase(suite, tc);
  }
  return suite;
}

int main(void)
{
#ifdef STACKRIG_SOURCE_TREE
  rig_stack *own_stack = NULL; /* the stack this suite brought up, if it did */
  rig_test_require_docker();
  if (!getenv("STACKRIG_PG_DSN")) {
    if (rig_test_default_stack_up(&own_stack) != RIG_OK)
      return 1; /* the reason, with the failing service's last log lines, is on stderr */
    fprintf(stderr, "check_orders: default stack %s up and ready in %lld ms\n",
            rig_stack_project_name(own_stack), (long long)rig_test_default_stack_up_ms());
  }
#endif
  base_dsn = getenv("STACKRIG_PG_DSN");
  if (!base_dsn) {
    fputs("check_orders: STACKRIG_PG_DSN, STACKRIG_JAEGER_URL, STACKRIG_PROMETHEUS_URL and\n"
          "STACKRIG_OTLP_HTTP_ENDPOINT are not set: run this suite against a stack (see\n"
          "examples/README.md); skipping\n",
          stderr);
    return 77;
  }
  /* The migrations go into a template database once; every test clones it. */
  const char *migrations = setting("ORDERS_MIGRATIONS", ORDERS_MIGRATIONS);
  int rc = rig_pg_template_prepare(&template_name, base_dsn, migrations);
  if (rc != RIG_OK) {
    fprintf(stderr, "check_orders: %s: %s\n", migrations, rig_check_message(rc));
  } else {
    fprintf(stderr, "check_orders: %s migrated into template database %s\n", migrations,
            template_name);
    SRunner *runner = srunner_create(orders_suite());
    srunner_run_all(runner, CK_NORMAL);
    rc = srunner_ntests_failed(runner) == 0 ? RIG_OK : RIG_EASSERT;
    srunner_free(runner);
  }
  free(template_name);
#ifdef STACKRIG_SOURCE_TREE
  rig_test_default_stack_down(own_stack);
#endif
  return rc == RIG_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
