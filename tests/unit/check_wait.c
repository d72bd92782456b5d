/*
 * check_wait.c - the wait module without an engine: readiness specs parsed from compose
 * files (valid ones rendered back, invalid ones named by file:line:col, service and key),
 * built-in probes chosen by image name, a service's fallbacks (health, running), the
 * back-off schedule, timestamps, the suite environment's names, the rig_wait plumbing
 * (hooks installed, progress passed on, abort), and the tcp and http probes against local
 * servers, among them one that accepts and closes at once as the engine's port proxy does
 * when nothing listens behind it.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stackrig.h>

#include "testutil.h"
#include "util.h"
#include "wait_internal.h"

/* ---- specs from compose files ---- */

/* Writes a one-service compose file and loads it. */
static rig_compose_project *load_service(const char *dir, const char *image, const char *env,
                                         const char *xstackrig)
{
  char *path = rig__sprintf("%s/compose.yaml", dir);
  /* x-stackrig comes on line 4 (when env is NULL), as the error cases expect */
  char *text = xstackrig
                   ? rig__sprintf("services:\n  web:\n    image: %s\n%s    x-stackrig: %s\n", image,
                                  env ? env : "", xstackrig)
                   : rig__sprintf("services:\n  web:\n    image: %s\n%s", image, env ? env : "");
  rig_test_write_file(path, text);
  const char *files[] = {path, NULL};
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  opts.files = files;
  opts.file_count = 1;
  opts.project_name = "waitunit";
  rig_compose_project *project = NULL;
  int rc = rig_compose_load(&project, &opts);
  ck_assert_msg(rc == RIG_OK, "compose file did not load: %s\n%s",
                rig_error_last() ? rig_error_last()->text : "?", text);
  free(text);
  free(path);
  return project;
}

typedef struct spec_case {
  const char *xstackrig; /* the value of x-stackrig, YAML flow style */
  const char *expected;  /* rig_wait_spec_describe() */
  const char *expanded;  /* rig__wait_spec_describe_expanded(), or NULL to skip */
} spec_case;

static const spec_case valid_cases[] = {
    {"{ ready: postgres }", "postgres", "sql(:5432 user postgres db postgres SELECT 1)"},
    {"{ ready: prometheus }", "prometheus", "http(GET :9090/-/ready status 200)"},
    {"{ ready: jaeger }", "jaeger",
     "all(any(http(GET :13133/status status 200), http(GET :13133/ status 200)), "
     "any(http(GET :16686/api/v3/services status 200), http(GET :16686/api/services status "
     "200)))"},
    {"{ ready: otel-collector }", "otel-collector",
     "all(http(GET :13133/ status 200), http(POST :4318/v1/traces status 200))"},
    {"{ ready: health }", "health", "health"},
    {"{ ready: running }", "running", "running"},
    {"{ ready: { http: { port: 8080, path: /healthz, status: [200, 204] } } }",
     "http(GET :8080/healthz status 200,204)", NULL},
    {"{ ready: { http: { port: \"8080\" } } }", "http(GET :8080/ status 200-299)", NULL},
    {"{ ready: { http: { port: 80, method: post, request_body: '{}', content_type: "
     "application/json, status: \"2xx\", body: ok, header: \"X-Ready: ^yes$$\" } } }",
     "http(POST :80/ status 200-299 body /ok/ header X-Ready /^yes$/)", NULL},
    {"{ ready: { http: { port: 80, request_body: x, status: \"200-202\" } } }",
     "http(POST :80/ status 200-202)", NULL},
    {"{ ready: { http: { port: 80, header: X-Ready } } }",
     "http(GET :80/ status 200-299 header X-Ready)", NULL},
    {"{ ready: { tcp: { port: 5432 } } }", "tcp(:5432)", NULL},
    {"{ ready: { tcp: 9000 } }", "tcp(:9000)", NULL},
    {"{ ready: { log: { pattern: \"ready to accept\", count: 2 } } }", "log(/ready to accept/ x2)",
     NULL},
    {"{ ready: { log: started } }", "log(/started/)", NULL},
    {"{ ready: { sql: { port: 5433, user: app, password: pw, database: appdb, query: \"SELECT "
     "count(*) FROM t\" } } }",
     "sql(:5433 user app db appdb SELECT count(*) FROM t)", NULL},
    {"{ ready: { sql: {} } }", "sql(:5432 user postgres db postgres SELECT 1)", NULL},
    {"{ ready: { exec: { command: [pg_isready, -q], user: postgres } } }", "exec(pg_isready -q)",
     NULL},
    {"{ ready: { exec: \"test -f /tmp/ok\" } }", "exec(/bin/sh -c test -f /tmp/ok)", NULL},
    {"{ ready: { health: {} } }", "health", NULL},
    {"{ ready: { health: null } }", "health", NULL},
    {"{ ready: { all: [ { tcp: { port: 1 } }, { log: { pattern: up } } ] } }",
     "all(tcp(:1), log(/up/))", NULL},
    {"{ ready: { any: [ prometheus, { tcp: 2 } ], timeout: 30s } }",
     "any(prometheus, tcp(:2)) timeout 30s", NULL},
    {"{ ready: { all: [ { any: [ { tcp: 1, timeout: 500ms }, health ] }, running ] } }",
     "all(any(tcp(:1) timeout 500ms, health), running)", NULL},
    {"{ ready: jaeger, timeout: 45s }", "jaeger timeout 45s", NULL},
    {"{ ready: { tcp: 1, timeout: 1m }, timeout: 20s }", "tcp(:1) timeout 20s", NULL},
    {"{ ready: { tcp: 1, timeout: 10s }, timeout: 20s }", "tcp(:1) timeout 10s", NULL},
    {"{ ready: { postgres: { port: 6543, user: app } } }", "postgres",
     "sql(:6543 user app db app SELECT 1)"},
    {"{ ready: { prometheus: {} } }", "prometheus", NULL},
    {"{ other-module: 1 }", "running", NULL},
};

START_TEST(spec_valid)
{
  const spec_case *c = &valid_cases[_i];
  char *dir = rig_test_tempdir();
  rig_compose_project *project = load_service(dir, "example/web:1", NULL, c->xstackrig);
  rig_wait_spec *spec = NULL;
  int rc = rig_wait_spec_for_service(&spec, rig_compose_find_service(project, "web"));
  ck_assert_msg(rc == RIG_OK, "%s: %s", c->xstackrig, rig_error_last()->text);
  char *text = NULL;
  ck_assert_int_eq(rig_wait_spec_describe(&text, spec), RIG_OK);
  ck_assert_str_eq(text, c->expected);
  if (c->expanded) {
    char *expanded = rig__wait_spec_describe_expanded(spec);
    ck_assert_str_eq(expanded, c->expanded);
    free(expanded);
  }
  free(text);
  rig_wait_spec_free(spec);
  rig_compose_project_free(project);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

typedef struct error_case {
  const char *xstackrig;
  const char *error; /* expected substring (after "compose.yaml:4:") */
} error_case;

static const error_case invalid_cases[] = {
    {"{ ready: bogus }", "service web: x-stackrig.ready: unknown readiness 'bogus'"},
    {"{ ready: [tcp] }", "x-stackrig.ready: must be a strategy name or a map, not a list"},
    {"{ ready: 5 }", "x-stackrig.ready: must be a strategy name or a map, not an integer"},
    {"oops", "x-stackrig: must be a map, not a string"},
    {"{ ready: { http: { path: /x } } }", "x-stackrig.ready.http.port: is required"},
    {"{ ready: { http: 8080 } }", "x-stackrig.ready.http: must be a map with at least a port"},
    {"{ ready: { http: { port: 70000 } } }",
     "x-stackrig.ready.http.port: must be a port (1-65535), not 70000"},
    {"{ ready: { http: { port: 0 } } }", "x-stackrig.ready.http.port: must be a port"},
    {"{ ready: { http: { port: eighty } } }",
     "x-stackrig.ready.http.port: must be a port (1-65535), not eighty"},
    {"{ ready: { http: { port: 80, prot: 1 } } }",
     "x-stackrig.ready.http.prot: unknown key (expected port, path, method, status, body, "
     "header, request_body, content_type)"},
    {"{ ready: { http: { port: 80, path: healthz } } }",
     "x-stackrig.ready.http.path: must start with '/'"},
    {"{ ready: { http: { port: 80, method: \"GE T\" } } }",
     "x-stackrig.ready.http.method: 'GE T' is not an HTTP method"},
    {"{ ready: { http: { port: 80, status: [99] } } }",
     "x-stackrig.ready.http.status: 99 is not an HTTP status (100-599)"},
    {"{ ready: { http: { port: 80, status: [] } } }",
     "x-stackrig.ready.http.status: must name at least one status"},
    {"{ ready: { http: { port: 80, status: \"300-200\" } } }",
     "x-stackrig.ready.http.status: '300-200' is not a status range"},
    {"{ ready: { http: { port: 80, status: \"2yy\" } } }",
     "x-stackrig.ready.http.status: '2yy' is not an HTTP status"},
    {"{ ready: { http: { port: 80, status: [true] } } }",
     "x-stackrig.ready.http.status: must be an HTTP status (200, \"2xx\", \"200-299\"), not a "
     "boolean"},
    {"{ ready: { http: { port: 80, body: \"(\" } } }",
     "x-stackrig.ready.http.body: not a valid regular expression"},
    {"{ ready: { http: { port: 80, header: \": x\" } } }",
     "x-stackrig.ready.http.header: must be \"Name\" or \"Name: regex\""},
    {"{ ready: { http: { port: 80, header: \"X: [\" } } }",
     "x-stackrig.ready.http.header: not a valid regular expression"},
    {"{ ready: { tcp: {} } }", "x-stackrig.ready.tcp.port: is required"},
    {"{ ready: { tcp: [1] } }", "x-stackrig.ready.tcp: must be a map with a port, not a list"},
    {"{ ready: { tcp: { port: 1, host: x } } }",
     "x-stackrig.ready.tcp.host: unknown key (expected port)"},
    {"{ ready: { log: { count: 2 } } }", "x-stackrig.ready.log.pattern: is required"},
    {"{ ready: { log: { pattern: x, count: 0 } } }",
     "x-stackrig.ready.log.count: must be a whole number from 1, not 0"},
    {"{ ready: { log: { pattern: x, count: two } } }",
     "x-stackrig.ready.log.count: must be a whole number from 1, not two"},
    {"{ ready: { log: \"\" } }", "x-stackrig.ready.log: must not be empty"},
    {"{ ready: { log: \"a(\" } }", "x-stackrig.ready.log: not a valid regular expression"},
    {"{ ready: { sql: { port: 5432, db: x } } }",
     "x-stackrig.ready.sql.db: unknown key (expected port, user, password, database, query)"},
    {"{ ready: { sql: 5432 } }", "x-stackrig.ready.sql: must be a map of options, not an integer"},
    {"{ ready: { exec: { command: [] } } }",
     "x-stackrig.ready.exec.command: must be a list of arguments or a shell command line"},
    {"{ ready: { exec: { user: root } } }", "x-stackrig.ready.exec.command: is required"},
    {"{ ready: { exec: [a, [b]] } }", "x-stackrig.ready.exec: item 2 must be a string, not a list"},
    {"{ ready: { all: [] } }", "x-stackrig.ready.all: must be a non-empty list of strategies"},
    {"{ ready: { any: { tcp: 1 } } }", "x-stackrig.ready.any: must be a non-empty list"},
    {"{ ready: { all: [ { tcp: 1 }, { http: {} } ] } }",
     "x-stackrig.ready.all[1].http.port: is required"},
    {"{ ready: { any: [ tcp ] } }", "x-stackrig.ready.any[0]: unknown readiness 'tcp'"},
    {"{ ready: { tcp: { port: 1 }, http: { port: 2 } } }",
     "x-stackrig.ready.http: a second strategy beside 'tcp' (combine them with all: or any:)"},
    {"{ ready: { timeout: 5s } }", "x-stackrig.ready: names no strategy"},
    {"{ ready: { tpc: 1 } }", "x-stackrig.ready.tpc: unknown key (expected one of tcp, http"},
    {"{ ready: { tcp: 1, timeout: soon } }",
     "x-stackrig.ready.timeout: must be a duration such as 30s or 500ms, not soon"},
    {"{ ready: { tcp: 1, timeout: 0s } }", "x-stackrig.ready.timeout: must be longer than 0"},
    {"{ ready: tcp, timeout: 10 }", "x-stackrig.ready: unknown readiness 'tcp'"},
    {"{ ready: running, timeout: 10 }",
     "x-stackrig.timeout: must be a duration such as 30s or 500ms, not an integer"},
    {"{ ready: { health: { x: 1 } } }", "x-stackrig.ready.health.x: unknown key (expected none)"},
    {"{ ready: { jaeger: 1 } }", "x-stackrig.ready.jaeger: must be a map of options"},
};

START_TEST(spec_invalid)
{
  const error_case *c = &invalid_cases[_i];
  char *dir = rig_test_tempdir();
  rig_compose_project *project = load_service(dir, "example/web:1", NULL, c->xstackrig);
  rig_wait_spec *spec = (rig_wait_spec *)0x1;
  int rc = rig_wait_spec_for_service(&spec, rig_compose_find_service(project, "web"));
  ck_assert_msg(rc == RIG_EPARSE, "%s: expected RIG_EPARSE, got %d", c->xstackrig, rc);
  ck_assert_ptr_eq(spec, (rig_wait_spec *)0x1); /* untouched on failure */
  const rig_error *err = rig_error_last();
  ck_assert_msg(strstr(err->text, c->error) != NULL, "%s:\n  got      %s\n  expected %s",
                c->xstackrig, err->text, c->error);
  /* every error starts with the place of the value and names the service */
  ck_assert_msg(strstr(err->text, "compose.yaml:4:") != NULL, "no file:line:col in %s", err->text);
  ck_assert_str_eq(rig_error_detail_get(err, "service"), "web");
  ck_assert_ptr_nonnull(rig_error_detail_get(err, "key"));
  rig_compose_project_free(project);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(spec_error_column)
{
  /* In block style the value's own line and column are named. */
  char *dir = rig_test_tempdir();
  char *path = rig__sprintf("%s/compose.yaml", dir);
  rig_test_write_file(path, "services:\n"
                            "  web:\n"
                            "    image: example/web:1\n"
                            "    x-stackrig:\n"
                            "      ready:\n"
                            "        http:\n"
                            "          port: 8080\n"
                            "          status: [200, 700]\n");
  const char *files[] = {path, NULL};
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  opts.files = files;
  opts.file_count = 1;
  opts.project_name = "waitunit";
  rig_compose_project *project = NULL;
  ck_assert_int_eq(rig_compose_load(&project, &opts), RIG_OK);
  rig_wait_spec *spec = NULL;
  ck_assert_int_eq(rig_wait_spec_for_service(&spec, &project->services[0]), RIG_EPARSE);
  char *expected = rig__sprintf("%s:8:25: service web: x-stackrig.ready.http.status: 700 is not "
                                "an HTTP status (100-599)",
                                project->services[0].file);
  ck_assert_str_eq(rig_error_last()->text, expected);
  free(expected);
  rig_compose_project_free(project);
  free(path);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(spec_fallbacks)
{
  char *dir = rig_test_tempdir();
  struct {
    const char *image;
    const char *env;
    const char *expected;
    const char *expanded;
  } cases[] = {
      {"pgvector/pgvector:0.8.0-pg17", NULL, "postgres",
       "sql(:5432 user postgres db postgres SELECT 1)"},
      {"postgres:17", "    environment:\n      POSTGRES_USER: app\n      POSTGRES_DB: appdb\n",
       "postgres", "sql(:5432 user app db appdb SELECT 1)"},
      {"postgres:17", "    environment:\n      POSTGRES_USER: app\n", "postgres",
       "sql(:5432 user app db app SELECT 1)"},
      {"stackrig/prometheus:local", NULL, "prometheus", NULL},
      {"example/web:1", "    healthcheck:\n      test: [\"CMD\", \"true\"]\n", "health", NULL},
      {"example/web:1", "    healthcheck:\n      disable: true\n", "running", NULL},
      {"example/web:1", NULL, "running", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rig_compose_project *project = load_service(dir, cases[i].image, cases[i].env, NULL);
    rig_wait_spec *spec = NULL;
    ck_assert_int_eq(rig_wait_spec_for_service(&spec, &project->services[0]), RIG_OK);
    char *text = NULL;
    rig_wait_spec_describe(&text, spec);
    ck_assert_msg(strcmp(text, cases[i].expected) == 0, "%s: %s", cases[i].image, text);
    if (cases[i].expanded) {
      char *expanded = rig__wait_spec_describe_expanded(spec);
      ck_assert_str_eq(expanded, cases[i].expanded);
      free(expanded);
    }
    free(text);
    rig_wait_spec_free(spec);
    rig_compose_project_free(project);
  }
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(spec_accessors)
{
  char *dir = rig_test_tempdir();
  rig_compose_project *project = load_service(
      dir, "example/web:1", NULL, "{ ready: { any: [ jaeger, health ] }, timeout: 2s }");
  rig_wait_spec *spec = NULL;
  ck_assert_int_eq(rig_wait_spec_for_service(&spec, &project->services[0]), RIG_OK);
  ck_assert_int_eq(rig_wait_spec_kind(spec), RIG_WAIT_ANY);
  ck_assert_int_eq(rig_wait_spec_timeout_ms(spec), 2000);
  ck_assert_ptr_null(rig_wait_spec_builtin(spec));
  ck_assert_str_eq(rig_wait_spec_builtin(spec->children[0]), "jaeger");
  ck_assert_int_eq(rig_wait_spec_kind(spec->children[1]), RIG_WAIT_HEALTH);
  ck_assert_int_eq(rig_wait_spec_kind(NULL), RIG_WAIT_RUNNING);
  ck_assert_int_eq(rig_wait_spec_timeout_ms(NULL), 0);
  rig_wait_spec_free(spec);
  rig_wait_spec_free(NULL);
  ck_assert_int_eq(rig_wait_spec_parse(&spec, NULL, "web"), RIG_EINVAL);
  ck_assert_int_eq(rig_wait_spec_for_service(&spec, NULL), RIG_EINVAL);
  rig_compose_project_free(project);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

/* ---- built-ins by image ---- */

START_TEST(builtin_by_image)
{
  struct {
    const char *image;
    const char *builtin;
  } cases[] = {
      {"pgvector/pgvector:0.8.0-pg17", "postgres"},
      {"postgres", "postgres"},
      {"postgres:17-alpine", "postgres"},
      {"docker.io/library/postgres:17@sha256:0123abcd", "postgres"},
      {"localhost:5000/team/postgres:17", "postgres"},
      {"stackrig/postgres:17-pgvector", "postgres"},
      {"postgis/postgis:16-3.4", "postgres"},
      {"timescale/timescaledb:latest-pg16", "postgres"},
      {"jaegertracing/jaeger:2.13.0", "jaeger"},
      {"stackrig/jaeger:1.76.0", "jaeger"},
      {"prom/prometheus:v2.53.3", "prometheus"},
      {"quay.io/prometheus/prometheus", "prometheus"},
      {"otel/opentelemetry-collector-contrib:0.165.0", "otel-collector"},
      {"otel/opentelemetry-collector:0.165.0", "otel-collector"},
      {"stackrig/otelcol:local", "otel-collector"},
      {"ghcr.io/open-telemetry/opentelemetry-collector-releases/otelcol-contrib", "otel-collector"},
      {"POSTGRES:17", "postgres"},
      {"nginx:1.25", NULL},
      {"my-postgres-app:1", NULL},
      {"postgres-exporter", NULL},
      {"jaegertracing/all-in-one:1.57", NULL},
      {"prom/alertmanager", NULL},
      {"", NULL},
      {NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got = rig_wait_builtin_for_image(cases[i].image);
    ck_assert_msg(rig__streq(got, cases[i].builtin), "%s: got %s, expected %s",
                  cases[i].image ? cases[i].image : "(null)", got ? got : "(none)",
                  cases[i].builtin ? cases[i].builtin : "(none)");
  }
}
END_TEST

START_TEST(builtin_by_service)
{
  char *dir = rig_test_tempdir();
  struct {
    const char *image;
    const char *xstackrig;
    const char *builtin;
  } cases[] = {
      {"nginx:1", "{ ready: jaeger }", "jaeger"},
      {"nginx:1", "{ ready: { otel-collector: {}, timeout: 5s } }", "otel-collector"},
      {"postgres:17", "{ ready: { tcp: 5432 } }", NULL},
      {"postgres:17", "{ ready: health }", NULL},
      {"postgres:17", "{ other: 1 }", "postgres"},
      {"nginx:1", "{ other: 1 }", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rig_compose_project *project = load_service(dir, cases[i].image, NULL, cases[i].xstackrig);
    const char *got = rig_wait_builtin_for_service(&project->services[0]);
    ck_assert_msg(rig__streq(got, cases[i].builtin), "%s: got %s", cases[i].xstackrig,
                  got ? got : "(none)");
    rig_compose_project_free(project);
  }
  ck_assert_ptr_null(rig_wait_builtin_for_service(NULL));
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

/* ---- back-off, time, names ---- */

START_TEST(backoff_schedule)
{
  const int64_t expected[] = {5, 10, 20, 40, 80, 100, 100, 100, 100, 100, 100, 100};
  for (int i = 0; i < (int)(sizeof expected / sizeof expected[0]); i++)
    ck_assert_int_eq(rig__wait_backoff_ms(i), expected[i]);
  ck_assert_int_eq(rig__wait_backoff_ms(-3), 5);
  ck_assert_int_eq(rig__wait_backoff_ms(1000000), RIG__BACKOFF_MAX_MS);
  /* never shrinks, never above the cap, starts at a few ms */
  int64_t previous = 0, total = 0;
  for (int i = 0; i < 100; i++) {
    int64_t d = rig__wait_backoff_ms(i);
    ck_assert_int_ge(d, previous);
    ck_assert_int_le(d, RIG__BACKOFF_MAX_MS);
    previous = d;
    total += d;
  }
  ck_assert_int_le(rig__wait_backoff_ms(0), 10);
  /* the first second holds at least 12 attempts */
  int attempts = 0;
  for (int64_t t = 0; t < 1000; attempts++)
    t += rig__wait_backoff_ms(attempts);
  ck_assert_int_ge(attempts, 12);
  ck_assert_int_gt(total, 0);
}
END_TEST

START_TEST(parse_time)
{
  ck_assert_int_eq(rig__wait_parse_time("1970-01-01T00:00:00Z"), 0);
  ck_assert_int_eq(rig__wait_parse_time("1970-01-01T00:00:01.5Z"), 1500000000LL);
  ck_assert_int_eq(rig__wait_parse_time("2026-11-27T22:30:49.421427154Z"),
                   1795818649LL * 1000000000LL + 421427154LL);
  ck_assert_int_eq(rig__wait_parse_time("2026-11-27T23:30:49.421427154+01:00"),
                   1795818649LL * 1000000000LL + 421427154LL);
  ck_assert_int_eq(rig__wait_parse_time("2026-11-27T21:30:49-01:00"), 1795818649LL * 1000000000LL);
  ck_assert_int_eq(rig__wait_parse_time("0001-01-01T00:00:00Z"), 0);
  ck_assert_int_eq(rig__wait_parse_time("yesterday"), 0);
  ck_assert_int_eq(rig__wait_parse_time("2026-11-27T22:30:49"), 0);
  ck_assert_int_eq(rig__wait_parse_time(NULL), 0);
}
END_TEST

START_TEST(env_service_names)
{
  struct {
    const char *service;
    int port;
    const char *name;
  } cases[] = {
      {"otel-collector", 4318, "STACKRIG_SERVICE_OTEL_COLLECTOR_4318"},
      {"postgres", 5432, "STACKRIG_SERVICE_POSTGRES_5432"},
      {"my.svc_2", 80, "STACKRIG_SERVICE_MY_SVC_2_80"},
      {"Web", 8080, "STACKRIG_SERVICE_WEB_8080"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *name = NULL;
    ck_assert_int_eq(rig_stack_env_service_name(&name, cases[i].service, cases[i].port), RIG_OK);
    ck_assert_str_eq(name, cases[i].name);
    free(name);
  }
  char *name = NULL;
  ck_assert_int_eq(rig_stack_env_service_name(&name, "", 1), RIG_EINVAL);
  ck_assert_ptr_null(name);
}
END_TEST

/* ---- the rig_wait plumbing ---- */

static int downstream_calls;
static rig_stack_phase downstream_last;

static void downstream(const rig_stack_event *event, void *userdata)
{
  downstream_calls++;
  downstream_last = event->phase;
  ck_assert_ptr_eq(userdata, &downstream_calls);
}

START_TEST(install_and_progress)
{
  rig_wait *wait = NULL;
  ck_assert_int_eq(rig_wait_new(&wait, NULL), RIG_OK);
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  opts.progress = downstream;
  opts.progress_userdata = &downstream_calls;
  ck_assert_int_eq(rig_wait_install(wait, &opts), RIG_OK);
  ck_assert_ptr_eq(opts.ready, rig_wait_ready_hook);
  ck_assert_ptr_eq(opts.ready_userdata, wait);
  ck_assert_ptr_ne(opts.progress, downstream);
  /* installing twice keeps the caller's callback, not our own */
  ck_assert_int_eq(rig_wait_install(wait, &opts), RIG_OK);

  downstream_calls = 0;
  rig_stack_event event = {"web", "p-web-1", RIG_STACK_PHASE_STARTING, 100, -1, NULL};
  opts.progress(&event, opts.progress_userdata);
  event.phase = RIG_STACK_PHASE_READY;
  event.elapsed_ms = 1350;
  opts.progress(&event, opts.progress_userdata);
  ck_assert_int_eq(downstream_calls, 2);
  ck_assert_int_eq(downstream_last, RIG_STACK_PHASE_READY);

  rig_wait_results *results = NULL;
  ck_assert_int_eq(rig_wait_get_results(&results, wait), RIG_OK);
  ck_assert_uint_eq(results->count, 1);
  ck_assert_str_eq(results->items[0].service, "web");
  ck_assert_int_eq(results->items[0].started_ms, 100);
  ck_assert_int_eq(results->items[0].ready_ms, 1350);
  ck_assert_int_eq(results->items[0].ready_at_ms, -1);
  rig_wait_results_free(results);
  char *text = NULL;
  ck_assert_int_eq(rig_wait_format_results(&text, wait), RIG_OK);
  ck_assert_str_eq(text, ""); /* no probe said ready yet */
  free(text);

  /* a failure aborts the waits; an event of a new operation (earlier elapsed) ends that */
  event.phase = RIG_STACK_PHASE_FAILED;
  event.elapsed_ms = 2000;
  event.message = "boom";
  opts.progress(&event, opts.progress_userdata);
  ck_assert_int_eq(downstream_last, RIG_STACK_PHASE_FAILED);
  event.phase = RIG_STACK_PHASE_STOPPING;
  event.elapsed_ms = 5;
  event.message = NULL;
  opts.progress(&event, opts.progress_userdata);
  ck_assert_int_eq(downstream_calls, 4);
  rig_wait_free(wait);
  rig_wait_free(NULL);
  rig_wait_results_free(NULL);
}
END_TEST

START_TEST(service_needs_project)
{
  rig_wait *wait = NULL;
  rig_wait_new(&wait, NULL);
  rig_stack *stack = NULL;
  ck_assert_int_eq(rig_stack_open(&stack, "nothing-here", NULL), RIG_OK);
  ck_assert_int_eq(rig_wait_service(wait, stack, "web", rig_stack_now_ms() + 1000), RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "service web"));
  ck_assert_int_eq(rig_wait_service(NULL, stack, "web", 0), RIG_EINVAL);
  rig_stack_free(stack);
  rig_wait_free(wait);
}
END_TEST

/* ---- probes against local servers ---- */

typedef enum server_mode {
  SERVE_HTTP,     /* answer every request with the configured response */
  SERVE_CLOSE,    /* accept and close at once, as a proxy with nothing behind it */
  SERVE_GREETING, /* send a greeting, keep the connection */
  SERVE_SILENT    /* accept and keep the connection, say nothing */
} server_mode;

typedef struct server {
  int fd;
  int port;
  server_mode mode;
  const char *response;
  char last_request[4096];
  pthread_t thread;
  volatile int stop;
} server;

static void *serve(void *arg)
{
  server *s = arg;
  while (!s->stop) {
    int client = accept(s->fd, NULL, NULL);
    if (client < 0)
      break;
    if (s->mode == SERVE_CLOSE) {
      close(client);
      continue;
    }
    if (s->mode == SERVE_GREETING) {
      (void)!write(client, "220 hello\r\n", 11);
      usleep(200000);
      close(client);
      continue;
    }
    if (s->mode == SERVE_SILENT) {
      usleep(200000);
      close(client);
      continue;
    }
    char buf[4096];
    ssize_t n = read(client, buf, sizeof buf - 1);
    if (n > 0) {
      buf[n] = '\0';
      /* a body announced but not yet read arrives in a second piece */
      char *cl = strstr(buf, "Content-Length: ");
      char *end = strstr(buf, "\r\n\r\n");
      if (cl && end && (size_t)(buf + n - (end + 4)) < (size_t)atoi(cl + 16)) {
        ssize_t more = read(client, buf + n, sizeof buf - 1 - (size_t)n);
        if (more > 0)
          n += more;
        buf[n] = '\0';
      }
      memcpy(s->last_request, buf, (size_t)n + 1);
      (void)!write(client, s->response, strlen(s->response));
    }
    close(client);
  }
  return NULL;
}

static void server_start(server *s, server_mode mode, const char *response)
{
  memset(s, 0, sizeof *s);
  s->mode = mode;
  s->response = response;
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&addr, sizeof addr), 0);
  ck_assert_int_eq(listen(s->fd, 16), 0);
  socklen_t len = sizeof addr;
  getsockname(s->fd, (struct sockaddr *)&addr, &len);
  s->port = ntohs(addr.sin_port);
  pthread_create(&s->thread, NULL, serve, s);
}

static void server_stop(server *s)
{
  s->stop = 1;
  shutdown(s->fd, SHUT_RDWR);
  close(s->fd);
  pthread_join(s->thread, NULL);
}

START_TEST(probe_tcp)
{
  rig__probe_target target = {"127.0.0.1", 0, NULL, "web"};
  char *detail = NULL;

  target.host_port = rig_test_free_port();
  ck_assert_int_eq(rig__probe_tcp(&detail, &target, 1000), 0);
  ck_assert_ptr_nonnull(strstr(detail, "Connection refused"));
  free(detail);
  detail = NULL;

  server s;
  server_start(&s, SERVE_CLOSE, NULL);
  target.host_port = s.port;
  ck_assert_int_eq(rig__probe_tcp(&detail, &target, 1000), 0);
  ck_assert_ptr_nonnull(strstr(detail, "closed it at once"));
  free(detail);
  detail = NULL;
  server_stop(&s);

  server_start(&s, SERVE_SILENT, NULL);
  target.host_port = s.port;
  ck_assert_int_eq(rig__probe_tcp(&detail, &target, 1000), 1);
  ck_assert_ptr_null(detail);
  server_stop(&s);

  server_start(&s, SERVE_GREETING, NULL);
  target.host_port = s.port;
  ck_assert_int_eq(rig__probe_tcp(&detail, &target, 1000), 1);
  server_stop(&s);

  target.host = "not-an-ip";
  ck_assert_int_eq(rig__probe_tcp(&detail, &target, 100), 0);
  ck_assert_ptr_nonnull(strstr(detail, "not an IP address"));
  free(detail);
}
END_TEST

static rig_wait_spec *http_spec(const char *xstackrig, rig_compose_project **project, char *dir)
{
  *project = load_service(dir, "example/web:1", NULL, xstackrig);
  rig_wait_spec *spec = NULL;
  ck_assert_int_eq(rig_wait_spec_for_service(&spec, &(*project)->services[0]), RIG_OK);
  return spec;
}

typedef struct http_case {
  const char *xstackrig;
  const char *response;
  int ready;
  const char *detail;  /* expected substring when not ready */
  const char *request; /* expected substring of the request */
} http_case;

#define OK_HEALTH                                                                                  \
  "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nX-Ready: yes\r\nConnection: "                          \
  "close\r\n\r\n{\"healthy\":true}"
#define UNAVAILABLE                                                                                \
  "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 8\r\nConnection: close\r\n\r\nstarting"

static const http_case http_cases[] = {
    {"{ ready: { http: { port: 1, path: /status } } }", OK_HEALTH, 1, NULL, "GET /status HTTP/1.1"},
    {"{ ready: { http: { port: 1 } } }", UNAVAILABLE, 0, "answered 503: starting", NULL},
    {"{ ready: { http: { port: 1, status: [503] } } }", UNAVAILABLE, 1, NULL, NULL},
    {"{ ready: { http: { port: 1, status: \"5xx\" } } }", UNAVAILABLE, 1, NULL, NULL},
    {"{ ready: { http: { port: 1, status: [204] } } }", OK_HEALTH, 0, "answered 200", NULL},
    {"{ ready: { http: { port: 1, body: '\"healthy\":true' } } }", OK_HEALTH, 1, NULL, NULL},
    {"{ ready: { http: { port: 1, body: '\"healthy\":false' } } }", OK_HEALTH, 0,
     "does not match /\"healthy\":false/", NULL},
    {"{ ready: { http: { port: 1, header: \"x-ready: ^yes$$\" } } }", OK_HEALTH, 1, NULL, NULL},
    {"{ ready: { http: { port: 1, header: \"X-Ready: ^no$$\" } } }", OK_HEALTH, 0,
     "with X-Ready: yes, which does not match /^no$/", NULL},
    {"{ ready: { http: { port: 1, header: X-Missing } } }", OK_HEALTH, 0,
     "without a X-Missing header", NULL},
    {"{ ready: otel-collector }", OK_HEALTH, 1, NULL, "GET / HTTP/1.1"},
    {"{ ready: { http: { port: 1, method: POST, path: /v1/traces, request_body: '{}', "
     "content_type: application/json } } }",
     OK_HEALTH, 1, NULL, "Content-Type: application/json"},
};

START_TEST(probe_http)
{
  const http_case *c = &http_cases[_i];
  char *dir = rig_test_tempdir();
  rig_compose_project *project = NULL;
  rig_wait_spec *spec = http_spec(c->xstackrig, &project, dir);
  /* the built-in's first child, when it is a built-in */
  const rig_wait_spec *leaf = spec->kind == RIG_WAIT_ALL ? spec->children[0] : spec;
  server s;
  server_start(&s, SERVE_HTTP, c->response);
  rig__probe_target target = {"127.0.0.1", s.port, NULL, "web"};
  rig_http *client = NULL;
  char *detail = NULL;
  int ready = rig__probe_http(&detail, &client, leaf, &target, 2000);
  ck_assert_msg(ready == c->ready, "%s: ready %d, detail %s", c->xstackrig, ready,
                detail ? detail : "-");
  if (c->detail)
    ck_assert_msg(detail && strstr(detail, c->detail), "%s: detail %s", c->xstackrig,
                  detail ? detail : "(none)");
  if (c->request)
    ck_assert_msg(strstr(s.last_request, c->request) != NULL, "request was:\n%s", s.last_request);
  if (strstr(c->xstackrig, "request_body"))
    ck_assert_ptr_nonnull(strstr(s.last_request, "\r\n\r\n{}"));
  free(detail);
  rig_http_free(client);
  server_stop(&s);
  rig_wait_spec_free(spec);
  rig_compose_project_free(project);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(probe_http_refused)
{
  char *dir = rig_test_tempdir();
  rig_compose_project *project = NULL;
  rig_wait_spec *spec = http_spec("{ ready: prometheus }", &project, dir);
  rig__probe_target target = {"127.0.0.1", rig_test_free_port(), NULL, "web"};
  rig_http *client = NULL;
  char *detail = NULL;
  ck_assert_int_eq(rig__probe_http(&detail, &client, spec, &target, 1000), 0);
  ck_assert_ptr_nonnull(detail);
  ck_assert_ptr_null(rig_error_last()); /* consumed into the detail */
  free(detail);
  /* a proxy that closes at once: not ready either */
  server s;
  server_start(&s, SERVE_CLOSE, NULL);
  target.host_port = s.port;
  rig_http_free(client);
  client = NULL;
  ck_assert_int_eq(rig__probe_http(&detail, &client, spec, &target, 1000), 0);
  free(detail);
  server_stop(&s);
  rig_http_free(client);
  rig_wait_spec_free(spec);
  rig_compose_project_free(project);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(probe_sql_refused)
{
  char *dir = rig_test_tempdir();
  rig_compose_project *project = NULL;
  rig_wait_spec *spec = http_spec("{ ready: postgres }", &project, dir);
  rig__probe_target target = {"127.0.0.1", rig_test_free_port(), NULL, "web"};
  char *detail = NULL;
  ck_assert_int_eq(rig__probe_sql(&detail, spec, &target, 1000), 0);
  ck_assert_msg(strstr(detail, "login: ") == detail, "%s", detail);
  free(detail);
  /* accepted and closed at once: a server that is not there yet */
  server s;
  server_start(&s, SERVE_CLOSE, NULL);
  target.host_port = s.port;
  ck_assert_int_eq(rig__probe_sql(&detail, spec, &target, 1000), 0);
  ck_assert_ptr_nonnull(strstr(detail, "login: "));
  free(detail);
  server_stop(&s);
  /* a silent server: the attempt ends at its timeout */
  server_start(&s, SERVE_SILENT, NULL);
  target.host_port = s.port;
  int64_t began = rig__now_ms();
  ck_assert_int_eq(rig__probe_sql(&detail, spec, &target, 50), 0);
  ck_assert_int_lt(rig__now_ms() - began, 1000);
  ck_assert_str_eq(detail, "login: timed out");
  free(detail);
  server_stop(&s);
  rig_wait_spec_free(spec);
  rig_compose_project_free(project);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

static Suite *wait_suite(void)
{
  Suite *s = suite_create("wait");
  TCase *specs = tcase_create("specs");
  tcase_add_loop_test(specs, spec_valid, 0, (int)(sizeof valid_cases / sizeof valid_cases[0]));
  tcase_add_loop_test(specs, spec_invalid, 0,
                      (int)(sizeof invalid_cases / sizeof invalid_cases[0]));
  tcase_add_test(specs, spec_error_column);
  tcase_add_test(specs, spec_fallbacks);
  tcase_add_test(specs, spec_accessors);
  tcase_add_test(specs, builtin_by_image);
  tcase_add_test(specs, builtin_by_service);
  suite_add_tcase(s, specs);
  TCase *parts = tcase_create("parts");
  tcase_add_test(parts, backoff_schedule);
  tcase_add_test(parts, parse_time);
  tcase_add_test(parts, env_service_names);
  tcase_add_test(parts, install_and_progress);
  tcase_add_test(parts, service_needs_project);
  suite_add_tcase(s, parts);
  TCase *probes = tcase_create("probes");
  tcase_add_test(probes, probe_tcp);
  tcase_add_loop_test(probes, probe_http, 0, (int)(sizeof http_cases / sizeof http_cases[0]));
  tcase_add_test(probes, probe_http_refused);
  tcase_add_test(probes, probe_sql_refused);
  suite_add_tcase(s, probes);
  return s;
}

int main(void)
{
  return rig_test_main(wait_suite());
}
