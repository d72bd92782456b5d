/*
 * attach.c - clients for a running stack, made from the STACKRIG_* environment that
 * `stackrig run` hands to a suite.
 */
#include "stackrig/attach.h"

#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "stackrig/suite.h"
#include "util.h"

struct rig_attach {
  char *project;
  char *pg_dsn;
  char *jaeger_url;
  char *prometheus_url;
  char *otlp_endpoint;
  rig_prom *prom;
  rig_jaeger *jaeger;
  rig_otlp_exporter *otlp;
};

static const struct {
  unsigned int bit;
  const char *variable;
  const char *example;
} variables[] = {
    {RIG_ATTACH_PROJECT, "STACKRIG_PROJECT", "myproject"},
    {RIG_ATTACH_POSTGRES, "STACKRIG_PG_DSN", "postgres://user:password@127.0.0.1:5432/db"},
    {RIG_ATTACH_JAEGER, "STACKRIG_JAEGER_URL", "http://127.0.0.1:16686"},
    {RIG_ATTACH_PROMETHEUS, "STACKRIG_PROMETHEUS_URL", "http://127.0.0.1:9090"},
    {RIG_ATTACH_OTLP, "STACKRIG_OTLP_HTTP_ENDPOINT", "http://127.0.0.1:4318"},
};

static char *env_copy(const char *name)
{
  const char *value = getenv(name);
  return value && *value ? rig__strdup(value) : NULL;
}

static int make_clients(rig_attach *a, const rig_attach_options *opts)
{
  int64_t timeout = opts ? opts->timeout_ms : 0;
  if (a->prometheus_url) {
    rig_prom_options po = RIG_PROM_OPTIONS_INIT;
    po.timeout_ms = timeout;
    if (rig_prom_new(&a->prom, a->prometheus_url, &po) != RIG_OK)
      return rig_error_wrap(RIG_EINVAL, "attach: STACKRIG_PROMETHEUS_URL=%s", a->prometheus_url);
  }
  if (a->jaeger_url) {
    rig_jaeger_options jo = RIG_JAEGER_OPTIONS_INIT;
    jo.timeout_ms = timeout;
    if (rig_jaeger_new(&a->jaeger, a->jaeger_url, &jo) != RIG_OK)
      return rig_error_wrap(RIG_EINVAL, "attach: STACKRIG_JAEGER_URL=%s", a->jaeger_url);
  }
  if (a->otlp_endpoint) {
    rig_otlp_exporter_options oo = RIG_OTLP_EXPORTER_OPTIONS_INIT;
    oo.request_timeout_ms = timeout;
    if (rig_otlp_exporter_new(&a->otlp, a->otlp_endpoint, &oo) != RIG_OK)
      return rig_error_wrap(RIG_EINVAL, "attach: STACKRIG_OTLP_HTTP_ENDPOINT=%s", a->otlp_endpoint);
  }
  return RIG_OK;
}

int rig_attach_env(rig_attach **out, const rig_attach_options *opts)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_attach_env: out is required");
  unsigned int require = (opts && opts->require) ? opts->require : RIG_ATTACH_ALL;
  rig_buf missing = RIG_BUF_INIT;
  rig_buf examples = RIG_BUF_INIT;
  size_t missing_count = 0;
  for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++) {
    const char *value = getenv(variables[i].variable);
    if ((require & variables[i].bit) && (!value || !*value)) {
      rig__buf_printf(&missing, "%s%s", missing_count ? ", " : "", variables[i].variable);
      rig__buf_printf(&examples, "%s%s=%s", missing_count ? " " : "", variables[i].variable,
                      variables[i].example);
      missing_count++;
    }
  }
  if (missing_count > 0) {
    int rc = rig_error_set(RIG_ENOTFOUND, "attach: %s %s not set: this suite needs a running stack",
                           missing.data, missing_count == 1 ? "is" : "are");
    rig_error_add_detail("hint",
                         "run the suite under `stackrig run -- COMMAND`, which brings the stack up "
                         "and sets STACKRIG_*; or start a stack and export them yourself, e.g. %s",
                         examples.data);
    rig__buf_dispose(&missing);
    rig__buf_dispose(&examples);
    return rc;
  }
  rig__buf_dispose(&missing);
  rig__buf_dispose(&examples);
  rig_attach *a = rig__calloc(1, sizeof *a);
  a->project = env_copy("STACKRIG_PROJECT");
  a->pg_dsn = env_copy("STACKRIG_PG_DSN");
  a->jaeger_url = env_copy("STACKRIG_JAEGER_URL");
  a->prometheus_url = env_copy("STACKRIG_PROMETHEUS_URL");
  a->otlp_endpoint = env_copy("STACKRIG_OTLP_HTTP_ENDPOINT");
  int rc = make_clients(a, opts);
  if (rc != RIG_OK) {
    rig_attach_free(a);
    return rc;
  }
  *out = a;
  return RIG_OK;
}

void rig_attach_free(rig_attach *a)
{
  if (!a)
    return;
  rig_prom_free(a->prom);
  rig_jaeger_free(a->jaeger);
  rig_otlp_exporter_free(a->otlp);
  free(a->project);
  free(a->pg_dsn);
  free(a->jaeger_url);
  free(a->prometheus_url);
  free(a->otlp_endpoint);
  free(a);
}

const char *rig_attach_project(const rig_attach *a)
{
  return a ? a->project : NULL;
}

const char *rig_attach_pg_dsn(const rig_attach *a)
{
  return a ? a->pg_dsn : NULL;
}

const char *rig_attach_jaeger_url(const rig_attach *a)
{
  return a ? a->jaeger_url : NULL;
}

const char *rig_attach_prometheus_url(const rig_attach *a)
{
  return a ? a->prometheus_url : NULL;
}

const char *rig_attach_otlp_endpoint(const rig_attach *a)
{
  return a ? a->otlp_endpoint : NULL;
}

rig_prom *rig_attach_prom(const rig_attach *a)
{
  return a ? a->prom : NULL;
}

rig_jaeger *rig_attach_jaeger(const rig_attach *a)
{
  return a ? a->jaeger : NULL;
}

rig_otlp_exporter *rig_attach_otlp(const rig_attach *a)
{
  return a ? a->otlp : NULL;
}

int rig_attach_service_address(char **out, const rig_attach *a, const char *service, int port)
{
  if (!out || !service || !*service || port <= 0 || port > 65535)
    return rig_error_set(RIG_EINVAL,
                         "rig_attach_service_address: out, a service and a port are required");
  /* The same spelling as the runner's side (rig_stack_env), so the two never disagree. */
  char *name = NULL;
  int rc = rig_stack_env_service_name(&name, service, port);
  if (rc != RIG_OK)
    return rc;
  const char *value = getenv(name);
  if (!value || !*value) {
    rc = rig_error_set(RIG_ENOTFOUND, "attach: %s is not set (service %s, port %d)", name, service,
                       port);
    rig_error_add_detail("hint", "run the suite under `stackrig run -- COMMAND`, which publishes "
                                 "every service's ports as STACKRIG_SERVICE_<SERVICE>_<PORT>");
    free(name);
    return rc;
  }
  free(name);
  *out = rig__strdup(value);
  return RIG_OK;
}
