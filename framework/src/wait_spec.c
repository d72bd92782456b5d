/*
 * wait_spec.c - readiness strategies: parsing `x-stackrig: { ready: ... }` into a tree,
 * the built-in probes of the default stack's services, choosing a service's strategy, and
 * rendering a tree as one line.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "stackrig/config.h"
#include "stackrig/error.h"
#include "util.h"
#include "wait_internal.h"

/* ---- errors ---- */

/* "stack.yml:12:9: service web: x-stackrig.ready.http.port: must be a port (1-65535)" */
static int spec_error(const rig_compose_value *at, const char *service, const char *key,
                      const char *fmt, ...) RIG_PRINTF(4, 5);

static int spec_error(const rig_compose_value *at, const char *service, const char *key,
                      const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *what = rig__vsprintf(fmt, ap);
  va_end(ap);
  int rc;
  if (at && at->file)
    rc = rig_error_set(RIG_EPARSE, "%s:%d:%d: service %s: %s: %s", at->file, at->line, at->column,
                       service, key, what);
  else
    rc = rig_error_set(RIG_EPARSE, "service %s: %s: %s", service, key, what);
  rig_error_add_detail("service", "%s", service);
  rig_error_add_detail("key", "%s", key);
  free(what);
  return rc;
}

static const char *type_name(rig_compose_value_type type)
{
  switch (type) {
  case RIG_COMPOSE_VALUE_NULL:
    return "null";
  case RIG_COMPOSE_VALUE_BOOL:
    return "a boolean";
  case RIG_COMPOSE_VALUE_INT:
    return "an integer";
  case RIG_COMPOSE_VALUE_FLOAT:
    return "a number";
  case RIG_COMPOSE_VALUE_STRING:
    return "a string";
  case RIG_COMPOSE_VALUE_LIST:
    return "a list";
  default:
    return "a map";
  }
}

/* ---- the tree ---- */

static rig_wait_spec *node_new(rig_wait_kind kind)
{
  rig_wait_spec *node = rig__calloc(1, sizeof *node);
  node->kind = kind;
  node->leaf_index = -1;
  return node;
}

void rig_wait_spec_free(rig_wait_spec *spec)
{
  if (!spec)
    return;
  for (size_t i = 0; i < spec->child_count; i++)
    rig_wait_spec_free(spec->children[i]);
  free(spec->children);
  free(spec->builtin);
  free(spec->method);
  free(spec->path);
  free(spec->statuses);
  if (spec->body_pattern)
    regfree(&spec->body_regex);
  free(spec->body_pattern);
  free(spec->header_name);
  if (spec->header_pattern)
    regfree(&spec->header_regex);
  free(spec->header_pattern);
  free(spec->request_body);
  free(spec->content_type);
  if (spec->pattern)
    regfree(&spec->regex);
  free(spec->pattern);
  free(spec->user);
  free(spec->password);
  free(spec->database);
  free(spec->query);
  if (spec->command)
    for (char **p = spec->command; *p; p++)
      free(*p);
  free(spec->command);
  free(spec->exec_user);
  free(spec);
}

static void add_child(rig_wait_spec *parent, rig_wait_spec *child)
{
  parent->children =
      rig__realloc(parent->children, (parent->child_count + 1) * sizeof *parent->children);
  parent->children[parent->child_count++] = child;
}

static rig_wait_spec *http_node(int port, const char *method, const char *path, int status)
{
  rig_wait_spec *node = node_new(RIG_WAIT_HTTP);
  node->port = port;
  node->method = rig__strdup(method);
  node->path = rig__strdup(path);
  node->statuses = rig__calloc(1, sizeof *node->statuses);
  node->statuses[0].low = node->statuses[0].high = status;
  node->status_count = 1;
  return node;
}

/* ---- built-in probes ---- */

static const char *const builtin_names[] = {"postgres", "jaeger", "prometheus", "otel-collector",
                                            NULL};

static int is_builtin(const char *name)
{
  for (size_t i = 0; builtin_names[i]; i++)
    if (strcmp(builtin_names[i], name) == 0)
      return 1;
  return 0;
}

/* The built-in probes, as trees of the general strategies. */
static rig_wait_spec *builtin_new(const char *name)
{
  rig_wait_spec *node = NULL;
  if (strcmp(name, "postgres") == 0) {
    /* A real login and a query: Postgres opens its port before it accepts logins (and the
     * image's first start runs initdb behind a temporary server). */
    node = node_new(RIG_WAIT_SQL);
    node->port = 5432;
    node->query = rig__strdup("SELECT 1");
  } else if (strcmp(name, "prometheus") == 0) {
    node = http_node(9090, "GET", "/-/ready", 200);
  } else if (strcmp(name, "jaeger") == 0) {
    /* The health endpoint says ready (v2's healthcheckv2 answers /status, v1's health_check
     * extension /) and the query API answers (v3 API, or the v1 API of older releases). */
    node = node_new(RIG_WAIT_ALL);
    rig_wait_spec *health = node_new(RIG_WAIT_ANY);
    add_child(health, http_node(13133, "GET", "/status", 200));
    add_child(health, http_node(13133, "GET", "/", 200));
    rig_wait_spec *query = node_new(RIG_WAIT_ANY);
    add_child(query, http_node(16686, "GET", "/api/v3/services", 200));
    add_child(query, http_node(16686, "GET", "/api/services", 200));
    add_child(node, health);
    add_child(node, query);
  } else if (strcmp(name, "otel-collector") == 0) {
    /* The health_check extension answers 200, and the OTLP/HTTP receiver accepts a request
     * (an empty export request is valid and changes nothing). */
    node = node_new(RIG_WAIT_ALL);
    add_child(node, http_node(13133, "GET", "/", 200));
    rig_wait_spec *otlp = http_node(4318, "POST", "/v1/traces", 200);
    otlp->request_body = rig__strdup("{}");
    otlp->content_type = rig__strdup("application/json");
    add_child(node, otlp);
  }
  if (node)
    node->builtin = rig__strdup(name);
  return node;
}

/* The last path component of an image reference, without tag or digest:
 * "registry:5000/team/postgres:17@sha256:..." -> "postgres". */
static char *image_base_name(const char *image)
{
  const char *start = strrchr(image, '/');
  start = start ? start + 1 : image;
  size_t len = strcspn(start, ":@");
  char *name = rig__strndup(start, len);
  for (char *p = name; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  return name;
}

const char *rig_wait_builtin_for_image(const char *image)
{
  if (!image || !*image)
    return NULL;
  static const struct {
    const char *base;
    const char *builtin;
  } table[] = {
      {"postgres", "postgres"},
      {"pgvector", "postgres"},
      {"postgis", "postgres"},
      {"timescaledb", "postgres"},
      {"timescaledb-ha", "postgres"},
      {"jaeger", "jaeger"},
      {"prometheus", "prometheus"},
      {"otelcol", "otel-collector"},
      {"otelcol-contrib", "otel-collector"},
      {"otelcol-k8s", "otel-collector"},
      {"opentelemetry-collector", "otel-collector"},
      {"opentelemetry-collector-contrib", "otel-collector"},
      {"opentelemetry-collector-k8s", "otel-collector"},
  };
  char *base = image_base_name(image);
  const char *found = NULL;
  for (size_t i = 0; i < sizeof table / sizeof table[0] && !found; i++)
    if (strcmp(base, table[i].base) == 0)
      found = table[i].builtin;
  free(base);
  return found;
}

/* ---- scalar readers ---- */

/* A scalar as text (strings, numbers and booleans as written). */
static const char *scalar_text(const rig_compose_value *v)
{
  if (!v || v->type == RIG_COMPOSE_VALUE_LIST || v->type == RIG_COMPOSE_VALUE_MAP ||
      v->type == RIG_COMPOSE_VALUE_NULL)
    return NULL;
  return v->string;
}

static int read_string(char **out, const rig_compose_value *v, const char *service, const char *key,
                       int allow_empty)
{
  const char *text = scalar_text(v);
  if (!text)
    return spec_error(v, service, key, "must be a string, not %s", type_name(v->type));
  if (!allow_empty && !*text)
    return spec_error(v, service, key, "must not be empty");
  free(*out);
  *out = rig__strdup(text);
  return RIG_OK;
}

static int read_port(int *out, const rig_compose_value *v, const char *service, const char *key)
{
  int64_t n = 0;
  if (v->type == RIG_COMPOSE_VALUE_INT)
    n = v->integer;
  else if (v->type != RIG_COMPOSE_VALUE_STRING || rig_parse_int(&n, v->string) != RIG_OK)
    return spec_error(v, service, key, "must be a port (1-65535), not %s",
                      v->type == RIG_COMPOSE_VALUE_STRING ? v->string : type_name(v->type));
  if (n < 1 || n > 65535)
    return spec_error(v, service, key, "must be a port (1-65535), not %lld", (long long)n);
  *out = (int)n;
  return RIG_OK;
}

int rig__wait_parse_duration(int64_t *out_ms, const rig_compose_value *value, const char *service,
                             const char *key)
{
  const char *text = value->type == RIG_COMPOSE_VALUE_STRING ? value->string : NULL;
  int64_t ms = 0;
  if (!text || rig_duration_parse(&ms, text) != RIG_OK) {
    rig_error_clear();
    return spec_error(value, service, key, "must be a duration such as 30s or 500ms, not %s",
                      text ? text : type_name(value->type));
  }
  if (ms <= 0)
    return spec_error(value, service, key, "must be longer than 0");
  *out_ms = ms;
  return RIG_OK;
}

static int compile_regex(regex_t *regex, const char *pattern, const rig_compose_value *at,
                         const char *service, const char *key)
{
  int rc = regcomp(regex, pattern, REG_EXTENDED | REG_NOSUB);
  if (rc != 0) {
    char why[256];
    regerror(rc, regex, why, sizeof why);
    regfree(regex);
    return spec_error(at, service, key, "not a valid regular expression (POSIX extended): %s", why);
  }
  return RIG_OK;
}

/* 200, "204", "2xx", "200-299" */
static int read_status_item(rig__status_range *out, const rig_compose_value *v, const char *service,
                            const char *key)
{
  int64_t n = 0;
  if (v->type == RIG_COMPOSE_VALUE_INT) {
    n = v->integer;
  } else if (v->type == RIG_COMPOSE_VALUE_STRING) {
    const char *s = v->string;
    size_t len = strlen(s);
    if (len == 3 && s[0] >= '1' && s[0] <= '5' && (s[1] == 'x' || s[1] == 'X') &&
        (s[2] == 'x' || s[2] == 'X')) {
      out->low = (s[0] - '0') * 100;
      out->high = out->low + 99;
      return RIG_OK;
    }
    const char *dash = strchr(s, '-');
    if (dash) {
      char *low_text = rig__strndup(s, (size_t)(dash - s));
      int64_t low = 0, high = 0;
      int ok = rig_parse_int(&low, low_text) == RIG_OK && rig_parse_int(&high, dash + 1) == RIG_OK;
      free(low_text);
      rig_error_clear();
      if (!ok || low < 100 || high > 599 || low > high)
        return spec_error(v, service, key, "'%s' is not a status range such as 200-299", s);
      out->low = (int)low;
      out->high = (int)high;
      return RIG_OK;
    }
    if (rig_parse_int(&n, s) != RIG_OK) {
      rig_error_clear();
      return spec_error(v, service, key, "'%s' is not an HTTP status (200, \"2xx\", \"200-299\")",
                        s);
    }
  } else {
    return spec_error(v, service, key, "must be an HTTP status (200, \"2xx\", \"200-299\"), not %s",
                      type_name(v->type));
  }
  if (n < 100 || n > 599)
    return spec_error(v, service, key, "%lld is not an HTTP status (100-599)", (long long)n);
  out->low = out->high = (int)n;
  return RIG_OK;
}

static int read_statuses(rig_wait_spec *node, const rig_compose_value *v, const char *service,
                         const char *key)
{
  free(node->statuses);
  node->statuses = NULL;
  node->status_count = 0;
  if (v->type == RIG_COMPOSE_VALUE_LIST) {
    if (v->count == 0)
      return spec_error(v, service, key, "must name at least one status");
    node->statuses = rig__calloc(v->count, sizeof *node->statuses);
    for (size_t i = 0; i < v->count; i++) {
      int rc = read_status_item(&node->statuses[i], &v->items[i], service, key);
      if (rc != RIG_OK)
        return rc;
      node->status_count++;
    }
    return RIG_OK;
  }
  node->statuses = rig__calloc(1, sizeof *node->statuses);
  int rc = read_status_item(&node->statuses[0], v, service, key);
  if (rc == RIG_OK)
    node->status_count = 1;
  return rc;
}

/* ---- strategies ---- */

static int parse_node(rig_wait_spec **out, const rig_compose_value *v, const char *service,
                      const char *key);

/* Checks that every key of map is one of allowed (a NULL-terminated list). */
static int check_keys(const rig_compose_value *map, const char *service, const char *key,
                      const char *const *allowed)
{
  for (size_t i = 0; i < map->count; i++) {
    int known = 0;
    for (size_t a = 0; allowed[a] && !known; a++)
      known = strcmp(map->keys[i], allowed[a]) == 0;
    if (!known) {
      rig_buf list = RIG_BUF_INIT;
      for (size_t a = 0; allowed[a]; a++)
        rig__buf_printf(&list, "%s%s", a ? ", " : "", allowed[a]);
      char *sub = rig__sprintf("%s.%s", key, map->keys[i]);
      int rc = spec_error(&map->items[i], service, sub, "unknown key (expected %s)",
                          list.data ? list.data : "none");
      free(sub);
      rig__buf_dispose(&list);
      return rc;
    }
  }
  return RIG_OK;
}

/* The options of a leaf: a map, or null / nothing for "all defaults". */
static int leaf_options(const rig_compose_value *v, const char *service, const char *key,
                        const char *const *allowed)
{
  if (v->type == RIG_COMPOSE_VALUE_NULL)
    return RIG_OK;
  if (v->type != RIG_COMPOSE_VALUE_MAP)
    return spec_error(v, service, key, "must be a map of options, not %s", type_name(v->type));
  return check_keys(v, service, key, allowed);
}

static int parse_sql_options(rig_wait_spec *node, const rig_compose_value *v, const char *service,
                             const char *key)
{
  static const char *const allowed[] = {"port", "user", "password", "database", "query", NULL};
  int rc = leaf_options(v, service, key, allowed);
  for (size_t i = 0; rc == RIG_OK && v->type == RIG_COMPOSE_VALUE_MAP && i < v->count; i++) {
    const char *name = v->keys[i];
    const rig_compose_value *item = &v->items[i];
    char *sub = rig__sprintf("%s.%s", key, name);
    if (strcmp(name, "port") == 0)
      rc = read_port(&node->port, item, service, sub);
    else if (strcmp(name, "user") == 0)
      rc = read_string(&node->user, item, service, sub, 0);
    else if (strcmp(name, "password") == 0)
      rc = read_string(&node->password, item, service, sub, 1);
    else if (strcmp(name, "database") == 0)
      rc = read_string(&node->database, item, service, sub, 0);
    else
      rc = read_string(&node->query, item, service, sub, 0);
    free(sub);
  }
  return rc;
}

static int parse_http(rig_wait_spec *node, const rig_compose_value *v, const char *service,
                      const char *key)
{
  static const char *const allowed[] = {"port",   "path",         "method",       "status", "body",
                                        "header", "request_body", "content_type", NULL};
  if (v->type != RIG_COMPOSE_VALUE_MAP)
    return spec_error(v, service, key, "must be a map with at least a port, not %s",
                      type_name(v->type));
  int rc = check_keys(v, service, key, allowed);
  for (size_t i = 0; rc == RIG_OK && i < v->count; i++) {
    const char *name = v->keys[i];
    const rig_compose_value *item = &v->items[i];
    char *sub = rig__sprintf("%s.%s", key, name);
    if (strcmp(name, "port") == 0) {
      rc = read_port(&node->port, item, service, sub);
    } else if (strcmp(name, "path") == 0) {
      rc = read_string(&node->path, item, service, sub, 0);
      if (rc == RIG_OK && node->path[0] != '/')
        rc = spec_error(item, service, sub, "must start with '/'");
    } else if (strcmp(name, "method") == 0) {
      rc = read_string(&node->method, item, service, sub, 0);
      for (char *p = node->method; rc == RIG_OK && *p; p++) {
        if (!isalpha((unsigned char)*p))
          rc = spec_error(item, service, sub, "'%s' is not an HTTP method", node->method);
        *p = (char)toupper((unsigned char)*p);
      }
    } else if (strcmp(name, "status") == 0) {
      rc = read_statuses(node, item, service, sub);
    } else if (strcmp(name, "body") == 0) {
      rc = read_string(&node->body_pattern, item, service, sub, 0);
      if (rc == RIG_OK && (rc = compile_regex(&node->body_regex, node->body_pattern, item, service,
                                              sub)) != RIG_OK) {
        free(node->body_pattern);
        node->body_pattern = NULL;
      }
    } else if (strcmp(name, "header") == 0) {
      char *text = NULL;
      rc = read_string(&text, item, service, sub, 0);
      if (rc == RIG_OK) {
        const char *colon = strchr(text, ':');
        size_t name_len = colon ? (size_t)(colon - text) : strlen(text);
        while (name_len && text[name_len - 1] == ' ')
          name_len--;
        if (name_len == 0) {
          rc = spec_error(item, service, sub, "must be \"Name\" or \"Name: regex\"");
        } else {
          node->header_name = rig__strndup(text, name_len);
          const char *value = colon ? colon + 1 : "";
          while (*value == ' ')
            value++;
          if (*value) {
            node->header_pattern = rig__strdup(value);
            if ((rc = compile_regex(&node->header_regex, value, item, service, sub)) != RIG_OK) {
              free(node->header_pattern);
              node->header_pattern = NULL;
            }
          }
        }
      }
      free(text);
    } else if (strcmp(name, "request_body") == 0) {
      rc = read_string(&node->request_body, item, service, sub, 1);
    } else {
      rc = read_string(&node->content_type, item, service, sub, 0);
    }
    free(sub);
  }
  if (rc == RIG_OK && !node->port) {
    char *sub = rig__sprintf("%s.port", key);
    rc = spec_error(v, service, sub, "is required");
    free(sub);
  }
  if (rc != RIG_OK)
    return rc;
  if (!node->method)
    node->method = rig__strdup(node->request_body ? "POST" : "GET");
  if (!node->path)
    node->path = rig__strdup("/");
  if (!node->status_count) {
    /* Any success status, as a health endpoint's callers usually accept. */
    node->statuses = rig__calloc(1, sizeof *node->statuses);
    node->statuses[0].low = 200;
    node->statuses[0].high = 299;
    node->status_count = 1;
  }
  return RIG_OK;
}

static int parse_tcp(rig_wait_spec *node, const rig_compose_value *v, const char *service,
                     const char *key)
{
  static const char *const allowed[] = {"port", NULL};
  if (v->type == RIG_COMPOSE_VALUE_INT || v->type == RIG_COMPOSE_VALUE_STRING)
    return read_port(&node->port, v, service, key);
  if (v->type != RIG_COMPOSE_VALUE_MAP)
    return spec_error(v, service, key, "must be a map with a port, not %s", type_name(v->type));
  int rc = check_keys(v, service, key, allowed);
  const rig_compose_value *port = rig_compose_value_get(v, "port");
  char *sub = rig__sprintf("%s.port", key);
  if (rc == RIG_OK)
    rc = port ? read_port(&node->port, port, service, sub)
              : spec_error(v, service, sub, "is required");
  free(sub);
  return rc;
}

static int parse_log(rig_wait_spec *node, const rig_compose_value *v, const char *service,
                     const char *key)
{
  static const char *const allowed[] = {"pattern", "count", NULL};
  const rig_compose_value *pattern = v;
  int rc = RIG_OK;
  node->count = 1;
  if (v->type == RIG_COMPOSE_VALUE_MAP) {
    if ((rc = check_keys(v, service, key, allowed)) != RIG_OK)
      return rc;
    pattern = rig_compose_value_get(v, "pattern");
    const rig_compose_value *count = rig_compose_value_get(v, "count");
    if (count) {
      char *sub = rig__sprintf("%s.count", key);
      if (count->type != RIG_COMPOSE_VALUE_INT || count->integer < 1 || count->integer > 1000000)
        rc = spec_error(count, service, sub, "must be a whole number from 1, not %s",
                        count->string ? count->string : type_name(count->type));
      else
        node->count = (int)count->integer;
      free(sub);
      if (rc != RIG_OK)
        return rc;
    }
    if (!pattern) {
      char *sub = rig__sprintf("%s.pattern", key);
      rc = spec_error(v, service, sub, "is required");
      free(sub);
      return rc;
    }
  }
  char *sub = v == pattern ? rig__strdup(key) : rig__sprintf("%s.pattern", key);
  rc = read_string(&node->pattern, pattern, service, sub, 0);
  if (rc == RIG_OK &&
      (rc = compile_regex(&node->regex, node->pattern, pattern, service, sub)) != RIG_OK) {
    free(node->pattern);
    node->pattern = NULL;
  }
  free(sub);
  return rc;
}

static int parse_exec(rig_wait_spec *node, const rig_compose_value *v, const char *service,
                      const char *key)
{
  static const char *const allowed[] = {"command", "user", NULL};
  const rig_compose_value *command = v;
  int rc = RIG_OK;
  if (v->type == RIG_COMPOSE_VALUE_MAP) {
    if ((rc = check_keys(v, service, key, allowed)) != RIG_OK)
      return rc;
    command = rig_compose_value_get(v, "command");
    const rig_compose_value *user = rig_compose_value_get(v, "user");
    if (user) {
      char *sub = rig__sprintf("%s.user", key);
      rc = read_string(&node->exec_user, user, service, sub, 0);
      free(sub);
      if (rc != RIG_OK)
        return rc;
    }
  }
  char *sub = v == command ? rig__strdup(key) : rig__sprintf("%s.command", key);
  if (!command) {
    rc = spec_error(v, service, sub, "is required");
  } else if (command->type == RIG_COMPOSE_VALUE_STRING) {
    if (!*command->string) {
      rc = spec_error(command, service, sub, "must not be empty");
    } else {
      /* A string is a shell command line, as compose's CMD-SHELL. */
      node->command = rig__calloc(4, sizeof(char *));
      node->command[0] = rig__strdup("/bin/sh");
      node->command[1] = rig__strdup("-c");
      node->command[2] = rig__strdup(command->string);
    }
  } else if (command->type == RIG_COMPOSE_VALUE_LIST && command->count > 0) {
    node->command = rig__calloc(command->count + 1, sizeof(char *));
    for (size_t i = 0; i < command->count && rc == RIG_OK; i++) {
      const char *arg = scalar_text(&command->items[i]);
      if (!arg)
        rc = spec_error(&command->items[i], service, sub, "item %zu must be a string, not %s",
                        i + 1, type_name(command->items[i].type));
      else
        node->command[i] = rig__strdup(arg);
    }
  } else {
    rc = spec_error(command, service, sub, "must be a list of arguments or a shell command line");
  }
  free(sub);
  return rc;
}

static int parse_composition(rig_wait_spec *node, const rig_compose_value *v, const char *service,
                             const char *key)
{
  if (v->type != RIG_COMPOSE_VALUE_LIST || v->count == 0)
    return spec_error(v, service, key, "must be a non-empty list of strategies");
  for (size_t i = 0; i < v->count; i++) {
    char *sub = rig__sprintf("%s[%zu]", key, i);
    rig_wait_spec *child = NULL;
    int rc = parse_node(&child, &v->items[i], service, sub);
    free(sub);
    if (rc != RIG_OK)
      return rc;
    add_child(node, child);
  }
  return RIG_OK;
}

static const char *const strategy_keys[] = {
    "tcp",      "http",   "log",        "health",         "sql",     "exec", "all", "any",
    "postgres", "jaeger", "prometheus", "otel-collector", "running", NULL};

/* One strategy: a name, or a map of one strategy key (and timeout). */
static int parse_node(rig_wait_spec **out, const rig_compose_value *v, const char *service,
                      const char *key)
{
  int rc = RIG_OK;
  rig_wait_spec *node = NULL;
  if (v->type == RIG_COMPOSE_VALUE_STRING) {
    const char *name = v->string;
    if (is_builtin(name))
      node = builtin_new(name);
    else if (strcmp(name, "health") == 0)
      node = node_new(RIG_WAIT_HEALTH);
    else if (strcmp(name, "running") == 0)
      node = node_new(RIG_WAIT_RUNNING);
    else
      return spec_error(v, service, key,
                        "unknown readiness '%s' (built-ins: postgres, jaeger, prometheus, "
                        "otel-collector, health, running; or a map such as { http: { port: "
                        "8080 } })",
                        name);
    *out = node;
    return RIG_OK;
  }
  if (v->type != RIG_COMPOSE_VALUE_MAP)
    return spec_error(v, service, key, "must be a strategy name or a map, not %s",
                      type_name(v->type));
  const char *strategy = NULL;
  const rig_compose_value *options = NULL;
  const rig_compose_value *timeout = NULL;
  for (size_t i = 0; i < v->count; i++) {
    const char *name = v->keys[i];
    if (strcmp(name, "timeout") == 0) {
      timeout = &v->items[i];
      continue;
    }
    int known = 0;
    for (size_t k = 0; strategy_keys[k] && !known; k++)
      known = strcmp(strategy_keys[k], name) == 0;
    char *sub = rig__sprintf("%s.%s", key, name);
    if (!known)
      rc = spec_error(&v->items[i], service, sub,
                      "unknown key (expected one of tcp, http, log, health, sql, exec, all, any, "
                      "postgres, jaeger, prometheus, otel-collector, running, and timeout)");
    else if (strategy)
      rc = spec_error(&v->items[i], service, sub,
                      "a second strategy beside '%s' (combine them with all: or any:)", strategy);
    free(sub);
    if (rc != RIG_OK)
      return rc;
    strategy = name;
    options = &v->items[i];
  }
  if (!strategy)
    return spec_error(v, service, key,
                      "names no strategy (tcp, http, log, health, sql, exec, "
                      "all, any or a built-in)");
  char *sub = rig__sprintf("%s.%s", key, strategy);
  if (strcmp(strategy, "http") == 0) {
    node = node_new(RIG_WAIT_HTTP);
    rc = parse_http(node, options, service, sub);
  } else if (strcmp(strategy, "tcp") == 0) {
    node = node_new(RIG_WAIT_TCP);
    rc = parse_tcp(node, options, service, sub);
  } else if (strcmp(strategy, "log") == 0) {
    node = node_new(RIG_WAIT_LOG);
    rc = parse_log(node, options, service, sub);
  } else if (strcmp(strategy, "exec") == 0) {
    node = node_new(RIG_WAIT_EXEC);
    rc = parse_exec(node, options, service, sub);
  } else if (strcmp(strategy, "sql") == 0 || strcmp(strategy, "postgres") == 0) {
    node = strcmp(strategy, "sql") == 0 ? node_new(RIG_WAIT_SQL) : builtin_new("postgres");
    if (!node->port)
      node->port = 5432;
    rc = parse_sql_options(node, options, service, sub);
    if (rc == RIG_OK && !node->query)
      node->query = rig__strdup("SELECT 1");
  } else if (strcmp(strategy, "all") == 0 || strcmp(strategy, "any") == 0) {
    node = node_new(strategy[1] == 'l' ? RIG_WAIT_ALL : RIG_WAIT_ANY);
    rc = parse_composition(node, options, service, sub);
  } else {
    static const char *const none[] = {NULL};
    rc = leaf_options(options, service, sub, none);
    if (rc == RIG_OK) {
      if (strcmp(strategy, "health") == 0)
        node = node_new(RIG_WAIT_HEALTH);
      else if (strcmp(strategy, "running") == 0)
        node = node_new(RIG_WAIT_RUNNING);
      else
        node = builtin_new(strategy);
    }
  }
  free(sub);
  if (rc == RIG_OK && timeout) {
    char *tkey = rig__sprintf("%s.timeout", key);
    rc = rig__wait_parse_duration(&node->timeout_ms, timeout, service, tkey);
    free(tkey);
  }
  if (rc != RIG_OK) {
    rig_wait_spec_free(node);
    return rc;
  }
  *out = node;
  return RIG_OK;
}

int rig_wait_spec_parse(rig_wait_spec **out, const rig_compose_value *ready, const char *service)
{
  if (!out || !ready)
    return rig_error_set(RIG_EINVAL, "rig_wait_spec_parse: ready is NULL");
  return parse_node(out, ready, service ? service : "?", "x-stackrig.ready");
}

/* ---- a service's readiness ---- */

static const char *service_env(const rig_compose_service *service, const char *key)
{
  for (size_t i = 0; i < service->environment_count; i++)
    if (strcmp(service->environment[i].key, key) == 0)
      return service->environment[i].value;
  return NULL;
}

/* sql nodes without credentials of their own log in as the postgres image is told to set up:
 * POSTGRES_USER (default postgres), POSTGRES_PASSWORD, POSTGRES_DB (default the user). */
static void fill_credentials(rig_wait_spec *node, const rig_compose_service *service)
{
  if (node->kind == RIG_WAIT_SQL) {
    const char *user = service_env(service, "POSTGRES_USER");
    const char *password = service_env(service, "POSTGRES_PASSWORD");
    const char *database = service_env(service, "POSTGRES_DB");
    if (!node->user)
      node->user = rig__strdup(user && *user ? user : "postgres");
    if (!node->password && password)
      node->password = rig__strdup(password);
    if (!node->database)
      node->database = rig__strdup(database && *database ? database : node->user);
  }
  for (size_t i = 0; i < node->child_count; i++)
    fill_credentials(node->children[i], service);
}

const char *rig_wait_builtin_for_service(const rig_compose_service *service)
{
  if (!service)
    return NULL;
  const rig_compose_value *ext = rig_compose_service_extension(service, "x-stackrig");
  const rig_compose_value *ready = ext ? rig_compose_value_get(ext, "ready") : NULL;
  if (ready) {
    if (ready->type == RIG_COMPOSE_VALUE_STRING) {
      for (size_t i = 0; builtin_names[i]; i++)
        if (strcmp(builtin_names[i], ready->string) == 0)
          return builtin_names[i];
      return NULL;
    }
    if (ready->type == RIG_COMPOSE_VALUE_MAP) {
      for (size_t i = 0; builtin_names[i]; i++)
        if (rig_compose_value_get(ready, builtin_names[i]))
          return builtin_names[i];
    }
    return NULL;
  }
  return rig_wait_builtin_for_image(service->image);
}

int rig_wait_spec_for_service(rig_wait_spec **out, const rig_compose_service *service)
{
  if (!out || !service)
    return rig_error_set(RIG_EINVAL, "rig_wait_spec_for_service: service is NULL");
  const rig_compose_value *ext = rig_compose_service_extension(service, "x-stackrig");
  if (ext && ext->type != RIG_COMPOSE_VALUE_MAP)
    return spec_error(ext, service->name, "x-stackrig", "must be a map, not %s",
                      type_name(ext->type));
  const rig_compose_value *ready = ext ? rig_compose_value_get(ext, "ready") : NULL;
  const rig_compose_value *timeout = ext ? rig_compose_value_get(ext, "timeout") : NULL;
  rig_wait_spec *spec = NULL;
  int rc = RIG_OK;
  if (ready) {
    rc = rig_wait_spec_parse(&spec, ready, service->name);
  } else {
    const char *builtin = rig_wait_builtin_for_image(service->image);
    if (builtin)
      spec = builtin_new(builtin);
    else if (service->healthcheck.set && service->healthcheck.kind != RIG_COMPOSE_HEALTH_NONE)
      spec = node_new(RIG_WAIT_HEALTH);
    else
      spec = node_new(RIG_WAIT_RUNNING);
  }
  if (rc == RIG_OK && timeout) {
    int64_t ms = 0;
    rc = rig__wait_parse_duration(&ms, timeout, service->name, "x-stackrig.timeout");
    /* The service's timeout bounds the whole wait; a tighter one of the root stays. */
    if (rc == RIG_OK && (!spec->timeout_ms || ms < spec->timeout_ms))
      spec->timeout_ms = ms;
  }
  if (rc != RIG_OK) {
    rig_wait_spec_free(spec);
    return rc;
  }
  fill_credentials(spec, service);
  *out = spec;
  return RIG_OK;
}

/* ---- accessors and rendering ---- */

rig_wait_kind rig_wait_spec_kind(const rig_wait_spec *spec)
{
  return spec ? spec->kind : RIG_WAIT_RUNNING;
}

const char *rig_wait_spec_builtin(const rig_wait_spec *spec)
{
  return spec ? spec->builtin : NULL;
}

int64_t rig_wait_spec_timeout_ms(const rig_wait_spec *spec)
{
  return spec ? spec->timeout_ms : 0;
}

static void describe_duration(rig_buf *buf, int64_t ms)
{
  char *text = NULL;
  if (rig_duration_format(&text, ms * 1000000) == RIG_OK) {
    rig__buf_puts(buf, text);
    free(text);
  } else {
    rig__buf_printf(buf, "%lldms", (long long)ms);
  }
}

static void describe(rig_buf *buf, const rig_wait_spec *node, int expand)
{
  if (node->builtin && !expand) {
    rig__buf_puts(buf, node->builtin);
  } else {
    switch (node->kind) {
    case RIG_WAIT_RUNNING:
      rig__buf_puts(buf, "running");
      break;
    case RIG_WAIT_HEALTH:
      rig__buf_puts(buf, "health");
      break;
    case RIG_WAIT_TCP:
      rig__buf_printf(buf, "tcp(:%d)", node->port);
      break;
    case RIG_WAIT_HTTP:
      rig__buf_printf(buf, "http(%s :%d%s status ", node->method, node->port, node->path);
      for (size_t i = 0; i < node->status_count; i++) {
        if (i)
          rig__buf_putc(buf, ',');
        if (node->statuses[i].low == node->statuses[i].high)
          rig__buf_printf(buf, "%d", node->statuses[i].low);
        else
          rig__buf_printf(buf, "%d-%d", node->statuses[i].low, node->statuses[i].high);
      }
      if (node->body_pattern)
        rig__buf_printf(buf, " body /%s/", node->body_pattern);
      if (node->header_name)
        rig__buf_printf(
            buf, " header %s%s%s%s", node->header_name, node->header_pattern ? " /" : "",
            node->header_pattern ? node->header_pattern : "", node->header_pattern ? "/" : "");
      rig__buf_putc(buf, ')');
      break;
    case RIG_WAIT_LOG:
      rig__buf_printf(buf, "log(/%s/", node->pattern);
      if (node->count > 1)
        rig__buf_printf(buf, " x%d", node->count);
      rig__buf_putc(buf, ')');
      break;
    case RIG_WAIT_SQL:
      rig__buf_printf(buf, "sql(:%d", node->port);
      if (node->user)
        rig__buf_printf(buf, " user %s", node->user);
      if (node->database)
        rig__buf_printf(buf, " db %s", node->database);
      rig__buf_printf(buf, " %s)", node->query ? node->query : "SELECT 1");
      break;
    case RIG_WAIT_EXEC:
      rig__buf_puts(buf, "exec(");
      for (char **p = node->command; p && *p; p++)
        rig__buf_printf(buf, "%s%s", p == node->command ? "" : " ", *p);
      rig__buf_putc(buf, ')');
      break;
    case RIG_WAIT_ALL:
    case RIG_WAIT_ANY:
      rig__buf_puts(buf, node->kind == RIG_WAIT_ALL ? "all(" : "any(");
      for (size_t i = 0; i < node->child_count; i++) {
        if (i)
          rig__buf_puts(buf, ", ");
        describe(buf, node->children[i], expand);
      }
      rig__buf_putc(buf, ')');
      break;
    }
  }
  if (node->timeout_ms) {
    rig__buf_puts(buf, " timeout ");
    describe_duration(buf, node->timeout_ms);
  }
}

int rig_wait_spec_describe(char **out, const rig_wait_spec *spec)
{
  if (!out || !spec)
    return rig_error_set(RIG_EINVAL, "rig_wait_spec_describe: spec is NULL");
  rig_buf buf = RIG_BUF_INIT;
  describe(&buf, spec, 0);
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}

char *rig__wait_spec_describe_expanded(const rig_wait_spec *spec)
{
  rig_buf buf = RIG_BUF_INIT;
  describe(&buf, spec, 1);
  return rig__buf_detach(&buf);
}

int64_t rig__wait_backoff_ms(int attempt)
{
  if (attempt < 0)
    attempt = 0;
  int64_t delay = RIG__BACKOFF_FIRST_MS;
  for (int i = 0; i < attempt && delay < RIG__BACKOFF_MAX_MS; i++)
    delay *= 2;
  return delay < RIG__BACKOFF_MAX_MS ? delay : RIG__BACKOFF_MAX_MS;
}
