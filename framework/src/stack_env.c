/*
 * stack_env.c - the STACKRIG_* environment a suite gets for a running stack (suite.h).
 * The addresses come from the engine (what inspect says is published), the credentials and
 * the services' roles from the compose model.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "stackrig/suite.h"
#include "stackrig/wait.h"
#include "util.h"

int rig_stack_env_service_name(char **out, const char *service, int port)
{
  if (!out || !service || !*service)
    return rig_error_set(RIG_EINVAL, "rig_stack_env_service_name: service is required");
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_puts(&buf, "STACKRIG_SERVICE_");
  for (const char *p = service; *p; p++)
    rig__buf_putc(&buf, isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_');
  rig__buf_printf(&buf, "_%d", port);
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}

/* One published TCP port of a service. */
typedef struct published {
  const char *service;
  int container_port;
  char *address; /* "127.0.0.1:49153" */
  int ipv4;
} published;

typedef struct port_table {
  published *items;
  size_t count;
} port_table;

/* "127.0.0.1:49153->5432/tcp", "[::]:49153->5432/tcp", ":49153->5432/tcp" */
static int parse_port(const char *text, int *container_port, char **address, int *ipv4)
{
  const char *arrow = strstr(text, "->");
  if (!arrow)
    return 0;
  const char *slash = strchr(arrow, '/');
  if (!slash || strcmp(slash + 1, "tcp") != 0)
    return 0;
  *container_port = atoi(arrow + 2);
  const char *colon = NULL;
  for (const char *p = text; p < arrow; p++)
    if (*p == ':')
      colon = p;
  if (!colon || *container_port <= 0)
    return 0;
  int host_port = atoi(colon + 1);
  if (host_port <= 0)
    return 0;
  char *ip = rig__strndup(text, (size_t)(colon - text));
  size_t len = strlen(ip);
  if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']') {
    memmove(ip, ip + 1, len - 2);
    ip[len - 2] = '\0';
  }
  *ipv4 = strchr(ip, ':') == NULL;
  /* A port published on every address is reached on loopback. */
  if (!*ip || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0)
    *address = rig__sprintf("127.0.0.1:%d", host_port);
  else if (!*ipv4)
    *address = rig__sprintf("[%s]:%d", ip, host_port);
  else
    *address = rig__sprintf("%s:%d", ip, host_port);
  free(ip);
  return 1;
}

static const published *find_port(const port_table *table, const char *service, int port)
{
  for (size_t i = 0; i < table->count; i++)
    if (table->items[i].container_port == port && strcmp(table->items[i].service, service) == 0)
      return &table->items[i];
  return NULL;
}

static void collect_ports(port_table *table, const rig_stack_status *status)
{
  for (size_t s = 0; s < status->service_count; s++) {
    const rig_stack_service_status *svc = &status->services[s];
    for (size_t p = 0; p < svc->port_count; p++) {
      int container_port = 0, ipv4 = 0;
      char *address = NULL;
      if (!parse_port(svc->ports[p], &container_port, &address, &ipv4))
        continue;
      published *seen = (published *)find_port(table, svc->service, container_port);
      if (seen) {
        /* The first replica's first IPv4 binding wins. */
        if (!seen->ipv4 && ipv4) {
          free(seen->address);
          seen->address = address;
          seen->ipv4 = 1;
        } else {
          free(address);
        }
        continue;
      }
      table->items = rig__realloc(table->items, (table->count + 1) * sizeof *table->items);
      published *item = &table->items[table->count++];
      item->service = svc->service;
      item->container_port = container_port;
      item->address = address;
      item->ipv4 = ipv4;
    }
  }
}

/* The service of a stack that plays a role (a built-in probe's name): by its readiness in
 * the compose model, else by its name. */
static const char *service_for(const rig_compose_project *project, const rig_stack_status *status,
                               const char *role)
{
  if (project) {
    for (size_t i = 0; i < project->service_count; i++) {
      const char *builtin = rig_wait_builtin_for_service(&project->services[i]);
      if (builtin && strcmp(builtin, role) == 0)
        return project->services[i].name;
    }
    return NULL;
  }
  for (size_t i = 0; i < status->service_count; i++)
    if (strcmp(status->services[i].service, role) == 0)
      return status->services[i].service;
  return NULL;
}

static const char *environment_of(const rig_compose_project *project, const char *service,
                                  const char *key)
{
  const rig_compose_service *svc = project ? rig_compose_find_service(project, service) : NULL;
  if (!svc)
    return NULL;
  for (size_t i = 0; i < svc->environment_count; i++)
    if (strcmp(svc->environment[i].key, key) == 0)
      return svc->environment[i].value;
  return NULL;
}

/* RFC 3986 userinfo and path segments: unreserved characters stay, the rest is %XX. */
static void put_escaped(rig_buf *buf, const char *text)
{
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      rig__buf_putc(buf, (char)*p);
    } else {
      rig__buf_putc(buf, '%');
      rig__buf_putc(buf, hex[*p >> 4]);
      rig__buf_putc(buf, hex[*p & 15]);
    }
  }
}

static char *postgres_dsn(const rig_compose_project *project, const char *service,
                          const char *address)
{
  const char *user = environment_of(project, service, "POSTGRES_USER");
  const char *password = environment_of(project, service, "POSTGRES_PASSWORD");
  const char *database = environment_of(project, service, "POSTGRES_DB");
  if (!user || !*user)
    user = "postgres";
  if (!database || !*database)
    database = user;
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_puts(&buf, "postgres://");
  put_escaped(&buf, user);
  if (password && *password) {
    rig__buf_putc(&buf, ':');
    put_escaped(&buf, password);
  }
  rig__buf_printf(&buf, "@%s/", address);
  put_escaped(&buf, database);
  return rig__buf_detach(&buf);
}

static void set_url(rig_env *env, const char *name, const port_table *table, const char *service,
                    int port)
{
  const published *p = service ? find_port(table, service, port) : NULL;
  if (!p)
    return;
  char *url = rig__sprintf("http://%s", p->address);
  rig_env_set(env, name, url);
  free(url);
}

int rig_stack_env(rig_env **out, rig_stack *stack)
{
  if (!out || !stack)
    return rig_error_set(RIG_EINVAL, "rig_stack_env: stack is NULL");
  rig_stack_status *status = NULL;
  int rc = rig_stack_get_status(&status, stack);
  if (rc != RIG_OK)
    return rig_error_wrap(RIG_OK, "project %s: reading the published ports",
                          rig_stack_project_name(stack));
  const rig_compose_project *project = rig_stack_project(stack);
  port_table table = {NULL, 0};
  collect_ports(&table, status);

  rig_env *env = NULL;
  rig_env_new(&env);
  rig_env_set(env, "STACKRIG_PROJECT", rig_stack_project_name(stack));

  const char *pg = service_for(project, status, "postgres");
  const published *pg_port = pg ? find_port(&table, pg, 5432) : NULL;
  if (pg_port) {
    char *dsn = postgres_dsn(project, pg, pg_port->address);
    rig_env_set(env, "STACKRIG_PG_DSN", dsn);
    free(dsn);
  }
  set_url(env, "STACKRIG_JAEGER_URL", &table, service_for(project, status, "jaeger"), 16686);
  set_url(env, "STACKRIG_PROMETHEUS_URL", &table, service_for(project, status, "prometheus"), 9090);
  set_url(env, "STACKRIG_OTLP_HTTP_ENDPOINT", &table,
          service_for(project, status, "otel-collector"), 4318);

  for (size_t i = 0; i < table.count; i++) {
    char *name = NULL;
    rig_stack_env_service_name(&name, table.items[i].service, table.items[i].container_port);
    rig_env_set(env, name, table.items[i].address);
    free(name);
  }
  for (size_t i = 0; i < table.count; i++)
    free(table.items[i].address);
  free(table.items);
  rig_stack_status_free(status);
  *out = env;
  return RIG_OK;
}
