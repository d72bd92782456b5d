/*
 * check_ready.c - readiness against the real engine.
 *
 * The default stack comes up through the shared fixture (defaultstack.c) with the built-in
 * probes; the moment each service is declared ready (its READY progress event, before up
 * goes on) this suite checks, independently, that it really answers its protocol: a
 * Postgres login and a query, Jaeger's health and query API, Prometheus' /-/ready, the
 * collector's health and OTLP/HTTP endpoint. The exported STACKRIG_* environment is
 * checked as well.
 *
 * Small stacks of the busybox test image check the strategies and the failure paths: a
 * service that exits while it is waited for fails fast with its exit code and last log
 * lines; one that never gets ready times out naming itself (its port is published, so the
 * engine's proxy accepts connections that nothing answers); http, log, exec, health and
 * all/any decide only once their condition holds; bad specs and unpublished ports are
 * named.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "defaultstack.h"
#include "testutil.h"
#include "tinyimage.h"

static char *tiny_image;

/* ---- independent checks ---- */

static long http_status(const char *base, const char *method, const char *path, const char *body,
                        char **out_body)
{
  rig_http *http = NULL;
  if (rig_http_new(&http, base, NULL) != RIG_OK)
    return -1;
  const char *headers[] = {"Content-Type: application/json", NULL};
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.method = method;
  req.path = path;
  req.body = body;
  req.headers = body ? headers : NULL;
  req.timeout_ms = 5000;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig_http_do(http, &req, &resp);
  long status = rc == RIG_OK ? resp.status : -1;
  if (out_body)
    *out_body = strdup(resp.body ? resp.body : "");
  rig_http_response_dispose(&resp);
  rig_http_free(http);
  return status;
}

/* The host address of a container's published port, from the engine. */
static char *published(rig_docker *docker, const char *container, int port)
{
  rig_docker_container *info = NULL;
  if (rig_docker_container_inspect(&info, docker, container) != RIG_OK)
    return NULL;
  const rig_docker_port_mapping *m = rig_docker_container_port(info, port, "tcp");
  char *address = NULL;
  if (m && asprintf(&address, "127.0.0.1:%d", m->host_port) < 0)
    address = NULL;
  rig_docker_container_free(info);
  return address;
}

static char *url_of(rig_docker *docker, const char *container, int port)
{
  char *address = published(docker, container, port);
  char *url = NULL;
  if (address && asprintf(&url, "http://%s", address) < 0)
    url = NULL;
  free(address);
  return url;
}

/* What a service really answers right now: NULL when it answers its protocol, else why not. */
static char *really_answers(rig_docker *docker, const char *service, const char *container)
{
  char *why = NULL;
  if (strcmp(service, "postgres") == 0) {
    char *address = published(docker, container, 5432);
    if (!address)
      return strdup("5432 not published");
    char *conninfo = NULL;
    if (asprintf(&conninfo,
                 "host=127.0.0.1 port=%s user=stackrig password=stackrig "
                 "dbname=stackrig connect_timeout=5",
                 strchr(address, ':') + 1) < 0)
      abort();
    PGconn *conn = PQconnectdb(conninfo);
    PGresult *res = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, "SELECT 1") : NULL;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
      why = strdup(PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    free(conninfo);
    free(address);
    return why;
  }
  struct {
    const char *service;
    int port;
    const char *method;
    const char *path;
    const char *body;
  } checks[] = {
      {"jaeger", 13133, "GET", "/status", NULL},
      {"jaeger", 16686, "GET", "/api/v3/services", NULL},
      {"prometheus", 9090, "GET", "/-/ready", NULL},
      {"otel-collector", 13133, "GET", "/", NULL},
      {"otel-collector", 4318, "POST", "/v1/traces", "{}"},
  };
  for (size_t i = 0; i < sizeof checks / sizeof checks[0] && !why; i++) {
    if (strcmp(checks[i].service, service) != 0)
      continue;
    char *base = url_of(docker, container, checks[i].port);
    long status =
        base ? http_status(base, checks[i].method, checks[i].path, checks[i].body, NULL) : -1;
    if (status != 200 && asprintf(&why, "%s %s%s answered %ld", checks[i].method, base ? base : "?",
                                  checks[i].path, status) < 0)
      abort();
    free(base);
  }
  return why;
}

/* What the progress hook saw when each default-stack service was declared ready. */
typedef struct ready_check {
  rig_docker *docker;
  int seen;
  char *failures;
} ready_check;

static ready_check at_ready;

static void on_default_progress(const rig_stack_event *event, void *userdata)
{
  ready_check *check = userdata;
  if (event->phase != RIG_STACK_PHASE_READY || !event->service)
    return;
  check->seen++;
  char *why = really_answers(check->docker, event->service, event->object);
  if (why) {
    char *all = NULL;
    if (asprintf(&all, "%s%s: %s\n", check->failures ? check->failures : "", event->service, why) <
        0)
      abort();
    free(check->failures);
    check->failures = all;
    free(why);
  }
}

/* ---- the default stack ---- */

START_TEST(default_ready_means_answering)
{
  ck_assert_msg(at_ready.failures == NULL, "declared ready but not answering:\n%s",
                at_ready.failures);
  ck_assert_int_eq(at_ready.seen, 4);
}
END_TEST

static char *service_url(const char *service, int port)
{
  char *name = NULL;
  ck_assert_int_eq(rig_stack_env_service_name(&name, service, port), RIG_OK);
  const char *address = getenv(name);
  ck_assert_msg(address != NULL, "%s is not set", name);
  char *url = NULL;
  ck_assert_int_ge(asprintf(&url, "http://%s", address), 0);
  free(name);
  return url;
}

START_TEST(default_env_exported)
{
  const char *names[] = {"STACKRIG_PROJECT",
                         "STACKRIG_PG_DSN",
                         "STACKRIG_JAEGER_URL",
                         "STACKRIG_PROMETHEUS_URL",
                         "STACKRIG_OTLP_HTTP_ENDPOINT",
                         "STACKRIG_SERVICE_POSTGRES_5432",
                         "STACKRIG_SERVICE_JAEGER_16686",
                         "STACKRIG_SERVICE_JAEGER_13133",
                         "STACKRIG_SERVICE_PROMETHEUS_9090",
                         "STACKRIG_SERVICE_OTEL_COLLECTOR_4317",
                         "STACKRIG_SERVICE_OTEL_COLLECTOR_4318",
                         "STACKRIG_SERVICE_OTEL_COLLECTOR_8888",
                         "STACKRIG_SERVICE_OTEL_COLLECTOR_8889",
                         "STACKRIG_SERVICE_OTEL_COLLECTOR_13133"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *value = getenv(names[i]);
    ck_assert_msg(value && *value, "%s is not exported", names[i]);
    if (strncmp(names[i], "STACKRIG_SERVICE_", 17) == 0)
      ck_assert_msg(strncmp(value, "127.0.0.1:", 10) == 0, "%s=%s is not on loopback", names[i],
                    value);
  }
  char *expected = NULL;
  ck_assert_int_ge(asprintf(&expected, "postgres://stackrig:stackrig@%s/stackrig",
                            getenv("STACKRIG_SERVICE_POSTGRES_5432")),
                   0);
  ck_assert_str_eq(getenv("STACKRIG_PG_DSN"), expected);
  free(expected);
  char *jaeger = service_url("jaeger", 16686);
  ck_assert_str_eq(getenv("STACKRIG_JAEGER_URL"), jaeger);
  free(jaeger);
  char *prometheus = service_url("prometheus", 9090);
  ck_assert_str_eq(getenv("STACKRIG_PROMETHEUS_URL"), prometheus);
  free(prometheus);
  char *otlp = service_url("otel-collector", 4318);
  ck_assert_str_eq(getenv("STACKRIG_OTLP_HTTP_ENDPOINT"), otlp);
  free(otlp);
  /* what a suite's fixture reads back */
  rig_attach *attach = NULL;
  ck_assert_int_eq(rig_attach_env(&attach, NULL), RIG_OK);
  ck_assert_str_eq(rig_attach_project(attach), getenv("STACKRIG_PROJECT"));
  char *address = NULL;
  ck_assert_int_eq(rig_attach_service_address(&address, attach, "otel-collector", 4318), RIG_OK);
  ck_assert_str_eq(address, getenv("STACKRIG_SERVICE_OTEL_COLLECTOR_4318"));
  free(address);
  rig_attach_free(attach);
}
END_TEST

START_TEST(default_postgres_accepts_login)
{
  PGconn *conn = PQconnectdb(getenv("STACKRIG_PG_DSN"));
  ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "login failed: %s", PQerrorMessage(conn));
  PGresult *res = PQexec(conn, "SELECT current_user, current_database(), 41 + 1");
  ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
  ck_assert_str_eq(PQgetvalue(res, 0, 0), "stackrig");
  ck_assert_str_eq(PQgetvalue(res, 0, 1), "stackrig");
  ck_assert_str_eq(PQgetvalue(res, 0, 2), "42");
  PQclear(res);
  PQfinish(conn);
}
END_TEST

START_TEST(default_http_services_answer)
{
  ck_assert_int_eq(
      http_status(getenv("STACKRIG_JAEGER_URL"), "GET", "/api/v3/services", NULL, NULL), 200);
  ck_assert_int_eq(http_status(getenv("STACKRIG_PROMETHEUS_URL"), "GET", "/-/ready", NULL, NULL),
                   200);
  ck_assert_int_eq(
      http_status(getenv("STACKRIG_OTLP_HTTP_ENDPOINT"), "POST", "/v1/traces", "{}", NULL), 200);
}
END_TEST

/* ---- small stacks of the busybox image ---- */

typedef struct tiny {
  char *dir;
  char *name;
  rig_wait *wait;
  rig_stack *stack;
  int64_t up_ms;
} tiny;

static tiny current;

/* Brings up "services:\n" + services (image: ${TINY} names the busybox image). */
static int tiny_up(const char *services, int64_t timeout_ms)
{
  memset(&current, 0, sizeof current);
  current.dir = rig_test_tempdir();
  current.name = rig_test_unique_name("srready");
  char *path = NULL;
  ck_assert_int_ge(asprintf(&path, "%s/compose.yaml", current.dir), 0);
  char *text = NULL;
  ck_assert_int_ge(asprintf(&text, "services:\n%s", services), 0);
  rig_test_write_file(path, text);
  const char *files[] = {path, NULL};
  rig_compose_options copts = RIG_COMPOSE_OPTIONS_INIT;
  copts.files = files;
  copts.file_count = 1;
  copts.project_name = current.name;
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  opts.compose = &copts;
  rig_wait_new(&current.wait, NULL);
  rig_wait_install(current.wait, &opts);
  int rc = rig_stack_new(&current.stack, &opts);
  int64_t began = rig_stack_now_ms();
  if (rc == RIG_OK)
    rc = rig_stack_up(current.stack, timeout_ms);
  current.up_ms = rig_stack_now_ms() - began;
  /* the watchers stop on their own; a test that forks (rig_test_stackrig) must not copy them */
  rig_wait_drain(current.wait);
  free(text);
  free(path);
  return rc;
}

/* Checked teardown, in the test's process. When an assertion ends that process first, the
 * crash reaper armed by rig_stack_up() removes the stack. */
static void tiny_down(void)
{
  if (current.stack) {
    rig_stack_down_options down = RIG_STACK_DOWN_OPTIONS_INIT;
    down.remove_volumes = 1;
    down.kill = 1;
    rig_stack_down(current.stack, &down);
    rig_stack_free(current.stack);
  }
  rig_wait_free(current.wait);
  if (current.dir)
    rig_test_rmtree(current.dir);
  free(current.dir);
  free(current.name);
  memset(&current, 0, sizeof current);
}

static const char *error_text(void)
{
  const rig_error *err = rig_error_last();
  return err && err->text ? err->text : "(no error)";
}

/* The log of the service's first container. */
static char *container_log(const char *service)
{
  char *name = NULL;
  ck_assert_int_ge(asprintf(&name, "%s-%s-1", current.name, service), 0);
  const char *argv[] = {"docker", "logs", name, NULL};
  char *out = NULL, *err = NULL;
  rig_test_run(argv, NULL, &out, &err);
  char *all = NULL;
  ck_assert_int_ge(asprintf(&all, "%s%s", out ? out : "", err ? err : ""), 0);
  free(out);
  free(err);
  free(name);
  return all;
}

START_TEST(exit_during_wait_fails_fast_with_logs)
{
  /* stdout and stderr are copied by the engine separately: the stderr line comes a moment
   * after the others so that the order in the log is known */
  int rc = tiny_up("  crashy:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sh\", \"-c\", \"echo starting; sleep 2; for i in $$(seq 1 40); "
                   "do echo line $$i; done; sleep 1; echo 'config error: FOO is missing' >&2; exit "
                   "3\"]\n"
                   "    ports: [\"127.0.0.1::8080\"]\n"
                   "    x-stackrig:\n"
                   "      ready: { http: { port: 8080, path: /healthz } }\n",
                   120000);
  ck_assert_msg(rc == RIG_EEXITED, "expected RIG_EEXITED, got %s: %s", rig_error_name(rc),
                error_text());
  const char *text = error_text();
  ck_assert_msg(strstr(text, "service crashy exited with code 3 while waiting to be ready"), "%s",
                text);
  /* the last 30 lines: line 12 .. line 40 and the error line */
  ck_assert_msg(strstr(text, "last 30 log lines of "), "%s", text);
  size_t lines = 0;
  for (const char *p = strstr(text, "\n  | "); p; p = strstr(p + 1, "\n  | "))
    lines++;
  ck_assert_uint_eq(lines, 30);
  ck_assert_msg(strstr(text, "| line 40\n  | config error: FOO is missing"), "%s", text);
  ck_assert_msg(strstr(text, "| line 12\n"), "%s", text);
  ck_assert_msg(!strstr(text, "| line 11\n"), "%s", text);
  ck_assert_msg(!strstr(text, "| starting"), "%s", text);
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "service"), "crashy");
  /* nothing is left: up removed what it created */
  rig_stack_status *status = NULL;
  ck_assert_int_eq(rig_stack_get_status(&status, current.stack), RIG_OK);
  for (size_t i = 0; i < status->service_count; i++)
    ck_assert_str_eq(status->services[i].state, "missing");
  rig_stack_status_free(status);
}
END_TEST

START_TEST(never_ready_times_out_naming_itself)
{
  /* The port is published: the engine's proxy accepts every connection and closes it, since
   * nothing listens inside. A tcp probe must not take that for ready. */
  int rc = tiny_up("  sleepy:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sh\", \"-c\", \"echo waiting forever; exec sleep 1000\"]\n"
                   "    ports: [\"127.0.0.1::5000\"]\n"
                   "    x-stackrig:\n"
                   "      ready: { tcp: { port: 5000 } }\n"
                   "      timeout: 2s\n"
                   "  fine:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sleep\", \"1000\"]\n",
                   120000);
  ck_assert_msg(rc == RIG_ETIMEOUT, "expected RIG_ETIMEOUT, got %s: %s", rig_error_name(rc),
                error_text());
  const char *text = error_text();
  ck_assert_msg(strstr(text, "service sleepy is not ready (tcp(:5000) timeout 2s): not ready "
                             "within its timeout"),
                "%s", text);
  ck_assert_msg(strstr(text, "closed it at once"), "%s", text);
  ck_assert_msg(strstr(text, "| waiting forever"), "%s", text);
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "service"), "sleepy");
}
END_TEST

START_TEST(global_deadline_names_the_service)
{
  int rc = tiny_up("  slow:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sleep\", \"1000\"]\n"
                   "    x-stackrig:\n"
                   "      ready: { log: { pattern: never-printed } }\n",
                   3000);
  ck_assert_msg(rc == RIG_ETIMEOUT, "got %s: %s", rig_error_name(rc), error_text());
  ck_assert_msg(strstr(error_text(), "service slow is not ready (log(/never-printed/)): not "
                                     "ready before the deadline"),
                "%s", error_text());
}
END_TEST

START_TEST(http_ready_only_once_it_answers)
{
  /* httpd answers at once, but /healthz exists only after two seconds: 404 until then. */
  int rc =
      tiny_up("  web:\n"
              "    image: ${TINY}\n"
              "    command: [\"sh\", \"-c\", \"mkdir -p /www; httpd -p 8080 -h /www; sleep 2; "
              "echo ok > /www/healthz; echo healthz created; exec sleep 1000\"]\n"
              "    ports: [\"127.0.0.1::8080\"]\n"
              "    x-stackrig:\n"
              "      ready: { http: { port: 8080, path: /healthz, status: [200], body: ok } }\n",
              120000);
  ck_assert_msg(rc == RIG_OK, "%s", error_text());
  char *log = container_log("web");
  ck_assert_msg(strstr(log, "healthz created"), "ready before the file existed: %s", log);
  free(log);
  char *address = NULL;
  ck_assert_int_eq(rig_stack_port(&address, current.stack, "web", 8080), RIG_OK);
  char *base = NULL;
  ck_assert_int_ge(asprintf(&base, "http://%s", address), 0);
  ck_assert_int_eq(http_status(base, "GET", "/healthz", NULL, NULL), 200);
  free(base);
  free(address);
  rig_wait_results *results = NULL;
  ck_assert_int_eq(rig_wait_get_results(&results, current.wait), RIG_OK);
  ck_assert_uint_eq(results->count, 1);
  ck_assert_str_eq(results->items[0].service, "web");
  ck_assert_str_eq(results->items[0].strategy, "http(GET :8080/healthz status 200 body /ok/)");
  ck_assert_int_gt(results->items[0].attempts, 1); /* it saw the 404s */
  ck_assert_int_ge(results->items[0].ready_ms, results->items[0].started_ms);
  rig_wait_results_free(results);
}
END_TEST

START_TEST(log_ready_after_count_matches)
{
  int rc = tiny_up("  logger:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sh\", \"-c\", \"echo booting; sleep 1; echo 'ready to accept "
                   "connections'; sleep 1; echo 'ready to accept connections'; echo second; exec "
                   "sleep 1000\"]\n"
                   "    x-stackrig:\n"
                   "      ready: { log: { pattern: \"ready to accept\", count: 2 } }\n",
                   120000);
  ck_assert_msg(rc == RIG_OK, "%s", error_text());
  char *log = container_log("logger");
  const char *first = strstr(log, "ready to accept");
  ck_assert_ptr_nonnull(first);
  ck_assert_msg(strstr(first + 1, "ready to accept"), "ready after one match: %s", log);
  free(log);
}
END_TEST

START_TEST(exec_and_composition)
{
  /* exec: /tmp/ok appears after a second; any: a port nothing listens on, or the exec;
   * all: that and a log line. */
  int rc = tiny_up("  worker:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sh\", \"-c\", \"echo up; sleep 1; touch /tmp/ok; exec sleep "
                   "1000\"]\n"
                   "    ports: [\"127.0.0.1::7000\"]\n"
                   "    x-stackrig:\n"
                   "      ready:\n"
                   "        all:\n"
                   "          - log: up\n"
                   "          - any:\n"
                   "              - tcp: { port: 7000 }\n"
                   "              - exec: { command: [test, -f, /tmp/ok] }\n",
                   120000);
  ck_assert_msg(rc == RIG_OK, "%s", error_text());
  char *name = NULL;
  ck_assert_int_ge(asprintf(&name, "%s-worker-1", current.name), 0);
  const char *argv[] = {"docker", "exec", name, "test", "-f", "/tmp/ok", NULL};
  ck_assert_int_eq(rig_test_run(argv, NULL, NULL, NULL), 0);
  free(name);
  rig_wait_results *results = NULL;
  ck_assert_int_eq(rig_wait_get_results(&results, current.wait), RIG_OK);
  ck_assert_str_eq(results->items[0].strategy,
                   "all(log(/up/), any(tcp(:7000), exec(test -f /tmp/ok)))");
  rig_wait_results_free(results);
}
END_TEST

START_TEST(health_strategy)
{
  int rc =
      tiny_up("  checked:\n"
              "    image: ${TINY}\n"
              "    command: [\"sh\", \"-c\", \"sleep 1; touch /tmp/healthy; exec sleep 1000\"]\n"
              "    healthcheck:\n"
              "      test: [\"CMD\", \"test\", \"-f\", \"/tmp/healthy\"]\n"
              "      interval: 500ms\n"
              "      retries: 20\n"
              "    x-stackrig:\n"
              "      ready: health\n",
              120000);
  ck_assert_msg(rc == RIG_OK, "%s", error_text());
  rig_stack_status *status = NULL;
  ck_assert_int_eq(rig_stack_get_status(&status, current.stack), RIG_OK);
  ck_assert_str_eq(status->services[0].health, "healthy");
  rig_stack_status_free(status);
}
END_TEST

/* A declared readiness decides on its own: up does not also wait for the compose
 * healthcheck, whose first run here is an hour away (with the interval of a real stack, that
 * wait is what made postgres and prometheus look ready up to a second late). */
START_TEST(declared_readiness_does_not_wait_for_healthcheck)
{
  int rc = tiny_up("  slowcheck:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sh\", \"-c\", \"echo serving; exec sleep 1000\"]\n"
                   "    healthcheck:\n"
                   "      test: [\"CMD\", \"true\"]\n"
                   "      interval: 1h\n"
                   "    x-stackrig:\n"
                   "      ready: { log: { pattern: \"serving\" } }\n",
                   120000);
  ck_assert_msg(rc == RIG_OK, "%s", error_text());
  rig_stack_status *status = NULL;
  ck_assert_int_eq(rig_stack_get_status(&status, current.stack), RIG_OK);
  ck_assert_str_eq(status->services[0].state, "running");
  ck_assert_str_eq(status->services[0].health, "starting");
  rig_stack_status_free(status);
}
END_TEST

START_TEST(health_without_healthcheck_is_named)
{
  int rc = tiny_up("  nohealth:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sleep\", \"1000\"]\n"
                   "    x-stackrig: { ready: health }\n",
                   60000);
  ck_assert_int_eq(rc, RIG_ENOTREADY);
  ck_assert_msg(
      strstr(error_text(), "service nohealth is not ready (health): it has no healthcheck"), "%s",
      error_text());
}
END_TEST

START_TEST(restart_fails_fast)
{
  int rc = tiny_up("  flappy:\n"
                   "    image: ${TINY}\n"
                   "    restart: on-failure\n"
                   "    command: [\"sh\", \"-c\", \"echo attempt; sleep 1; exit 2\"]\n"
                   "    x-stackrig:\n"
                   "      ready: { log: { pattern: never } }\n",
                   120000);
  ck_assert_msg(rc == RIG_EEXITED, "got %s: %s", rig_error_name(rc), error_text());
  const char *text = error_text();
  ck_assert_msg(strstr(text, "service flappy exited with code 2") ||
                    strstr(text, "service flappy restarted with code 2"),
                "%s", text);
  ck_assert_msg(strstr(text, "| attempt"), "%s", text);
}
END_TEST

START_TEST(unpublished_port_is_named)
{
  int rc = tiny_up("  hidden:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sleep\", \"1000\"]\n"
                   "    x-stackrig: { ready: { http: { port: 9999 } } }\n",
                   60000);
  ck_assert_int_eq(rc, RIG_ENOTREADY);
  ck_assert_msg(strstr(error_text(), "container port 9999 is not published"), "%s", error_text());
}
END_TEST

START_TEST(bad_spec_is_named)
{
  int rc = tiny_up("  typo:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sleep\", \"1000\"]\n"
                   "    x-stackrig: { ready: { htpt: { port: 80 } } }\n",
                   60000);
  ck_assert_int_eq(rc, RIG_EPARSE);
  ck_assert_msg(strstr(error_text(), "service typo: x-stackrig.ready.htpt: unknown key"), "%s",
                error_text());
}
END_TEST

START_TEST(parallel_waits_report_each_service)
{
  /* Three services, each ready a second after it starts, waited for in parallel. */
  int rc = tiny_up("  a:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sh\", \"-c\", \"sleep 1; echo go; exec sleep 1000\"]\n"
                   "    x-stackrig: { ready: { log: go } }\n"
                   "  b:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sh\", \"-c\", \"sleep 1; echo go; exec sleep 1000\"]\n"
                   "    x-stackrig: { ready: { log: go } }\n"
                   "  c:\n"
                   "    image: ${TINY}\n"
                   "    command: [\"sh\", \"-c\", \"sleep 1; echo go; exec sleep 1000\"]\n"
                   "    x-stackrig: { ready: { log: go } }\n",
                   120000);
  ck_assert_msg(rc == RIG_OK, "%s", error_text());
  rig_wait_results *results = NULL;
  ck_assert_int_eq(rig_wait_get_results(&results, current.wait), RIG_OK);
  ck_assert_uint_eq(results->count, 3);
  /* each service's wait began before any other one ended: they overlapped */
  int64_t latest_start = 0, earliest_ready = INT64_MAX;
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_ge(results->items[i].started_ms, 0);
    ck_assert_int_ge(results->items[i].ready_ms, results->items[i].started_ms);
    if (results->items[i].started_ms > latest_start)
      latest_start = results->items[i].started_ms;
    if (results->items[i].ready_ms < earliest_ready)
      earliest_ready = results->items[i].ready_ms;
  }
  ck_assert_int_lt(latest_start, earliest_ready);
  char *text = NULL;
  ck_assert_int_eq(rig_wait_format_results(&text, current.wait), RIG_OK);
  ck_assert_ptr_nonnull(strstr(text, "  a ready "));
  ck_assert_ptr_nonnull(strstr(text, "after its container started (log(/go/)"));
  free(text);
  rig_wait_results_free(results);
}
END_TEST

START_TEST(wait_service_after_nowait)
{
  /* rig_wait_service() on its own, after an up that did not wait */
  current.dir = rig_test_tempdir();
  current.name = rig_test_unique_name("srready");
  char *path = NULL;
  ck_assert_int_ge(asprintf(&path, "%s/compose.yaml", current.dir), 0);
  rig_test_write_file(path,
                      "services:\n"
                      "  later:\n"
                      "    image: ${TINY}\n"
                      "    command: [\"sh\", \"-c\", \"sleep 1; echo now; exec sleep 1000\"]\n"
                      "    x-stackrig: { ready: { log: now } }\n");
  const char *files[] = {path, NULL};
  rig_compose_options copts = RIG_COMPOSE_OPTIONS_INIT;
  copts.files = files;
  copts.file_count = 1;
  copts.project_name = current.name;
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  opts.compose = &copts;
  ck_assert_int_eq(rig_stack_new(&current.stack, &opts), RIG_OK);
  ck_assert_int_eq(rig_stack_up_nowait(current.stack, 60000), RIG_OK);
  rig_wait_new(&current.wait, NULL);
  ck_assert_msg(
      rig_wait_service(current.wait, current.stack, "later", rig_stack_now_ms() + 30000) == RIG_OK,
      "%s", error_text());
  char *log = container_log("later");
  ck_assert_ptr_nonnull(strstr(log, "now"));
  free(log);
  ck_assert_int_eq(
      rig_wait_service(current.wait, current.stack, "ghost", rig_stack_now_ms() + 1000),
      RIG_ENOTFOUND);
  free(path);
}
END_TEST

static Suite *ready_suite(void)
{
  Suite *s = suite_create("ready");
  TCase *def = tcase_create("default-stack");
  tcase_add_test(def, default_ready_means_answering);
  tcase_add_test(def, default_env_exported);
  tcase_add_test(def, default_postgres_accepts_login);
  tcase_add_test(def, default_http_services_answer);
  suite_add_tcase(s, def);
  TCase *small = tcase_create("strategies");
  tcase_add_checked_fixture(small, NULL, tiny_down);
  tcase_set_timeout(small, 180);
  tcase_add_test(small, exit_during_wait_fails_fast_with_logs);
  tcase_add_test(small, never_ready_times_out_naming_itself);
  tcase_add_test(small, global_deadline_names_the_service);
  tcase_add_test(small, http_ready_only_once_it_answers);
  tcase_add_test(small, log_ready_after_count_matches);
  tcase_add_test(small, exec_and_composition);
  tcase_add_test(small, health_strategy);
  tcase_add_test(small, health_without_healthcheck_is_named);
  tcase_add_test(small, declared_readiness_does_not_wait_for_healthcheck);
  tcase_add_test(small, restart_fails_fast);
  tcase_add_test(small, unpublished_port_is_named);
  tcase_add_test(small, bad_spec_is_named);
  tcase_add_test(small, parallel_waits_report_each_service);
  tcase_add_test(small, wait_service_after_nowait);
  suite_add_tcase(s, small);
  return s;
}

int main(void)
{
  rig_test_require_docker();
  if (rig_test_tiny_image(&tiny_image) != RIG_OK) {
    fprintf(stderr, "check_ready: %s\n", rig_error_last() ? rig_error_last()->text : "no image");
    return 1;
  }
  setenv("TINY", tiny_image, 1);
  rig_docker_open(&at_ready.docker, NULL);
  rig_test_default_stack_set_progress(on_default_progress, &at_ready);
  rig_stack *stack = NULL;
  if (rig_test_default_stack_up(&stack) != RIG_OK)
    return 1;
  fprintf(stderr, "check_ready: default stack %s up and ready in %lld ms\n",
          rig_stack_project_name(stack), (long long)rig_test_default_stack_up_ms());
  int rc = rig_test_main(ready_suite());
  rig_test_default_stack_down(stack);
  rig_docker_free(at_ready.docker);
  free(at_ready.failures);
  free(tiny_image);
  return rc;
}
