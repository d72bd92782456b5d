/*
 * stack_names.c - the names and labels docker compose gives what it creates, so that
 * compose's own commands (v2 `docker compose -p NAME ps/logs/down`, and v1's, which find
 * containers by label) see a stack stackrig started; the config hash; session ids; and the
 * translation of a service's ports into the engine's ExposedPorts/PortBindings.
 */
#include "stack_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stackrig/error.h"
#include "util.h"

/* ---- names ---- */

char *rig__stack_new_session_id(void)
{
  unsigned char bytes[16];
  size_t got = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    while (got < sizeof bytes) {
      ssize_t n = read(fd, bytes + got, sizeof bytes - got);
      if (n <= 0)
        break;
      got += (size_t)n;
    }
    close(fd);
  }
  if (got < sizeof bytes) {
    /* No /dev/urandom (a very locked-down sandbox): time, pid and address bits still make
     * collisions between concurrent sessions practically impossible. */
    uint64_t seed = (uint64_t)rig__wall_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)&got;
    for (size_t i = 0; i < sizeof bytes; i++) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      bytes[i] = (unsigned char)(seed >> 56);
    }
  }
  char *id = rig__malloc(sizeof bytes * 2 + 1);
  for (size_t i = 0; i < sizeof bytes; i++)
    snprintf(id + i * 2, 3, "%02x", bytes[i]);
  return id;
}

char *rig__stack_container_name(const char *project, const rig_compose_service *service, int number)
{
  if (service->container_name && *service->container_name)
    return rig__strdup(service->container_name);
  return rig__sprintf("%s-%s-%d", project, service->name, number);
}

/* ---- labels ---- */

void rig__labels_set(rig__labels *labels, const char *key, const char *value)
{
  for (size_t i = 0; i < labels->count; i++) {
    if (strcmp(labels->items[i].key, key) == 0) {
      free(labels->items[i].value);
      labels->items[i].value = rig__strdup(value ? value : "");
      return;
    }
  }
  labels->items = rig__realloc(labels->items, (labels->count + 1) * sizeof *labels->items);
  labels->items[labels->count].key = rig__strdup(key);
  labels->items[labels->count].value = rig__strdup(value ? value : "");
  labels->count++;
}

const char *rig__labels_get(const rig__labels *labels, const char *key)
{
  for (size_t i = 0; i < labels->count; i++)
    if (strcmp(labels->items[i].key, key) == 0)
      return labels->items[i].value;
  return NULL;
}

void rig__labels_dispose(rig__labels *labels)
{
  for (size_t i = 0; i < labels->count; i++) {
    free(labels->items[i].key);
    free(labels->items[i].value);
  }
  free(labels->items);
  labels->items = NULL;
  labels->count = 0;
}

const char *rig__stack_condition_name(rig_compose_condition condition)
{
  switch (condition) {
  case RIG_COMPOSE_CONDITION_HEALTHY:
    return "service_healthy";
  case RIG_COMPOSE_CONDITION_COMPLETED_SUCCESSFULLY:
    return "service_completed_successfully";
  default:
    return "service_started";
  }
}

char *rig__stack_depends_label(const rig_compose_service *service)
{
  rig_buf text = RIG_BUF_INIT;
  for (size_t i = 0; i < service->depends_on_count; i++) {
    const rig_compose_dependency *dep = &service->depends_on[i];
    rig__buf_printf(&text, "%s%s:%s:%s", i ? "," : "", dep->service,
                    rig__stack_condition_name(dep->condition), dep->restart ? "true" : "false");
  }
  return rig__buf_detach(&text);
}

size_t rig__stack_parse_depends_label(char ***out, const char *label)
{
  size_t count = 0;
  char **names = rig__calloc(1, sizeof *names);
  const char *p = label ? label : "";
  while (*p) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *colon = memchr(p, ':', len);
    size_t name_len = colon ? (size_t)(colon - p) : len;
    if (name_len > 0) {
      names = rig__realloc(names, (count + 2) * sizeof *names);
      names[count++] = rig__strndup(p, name_len);
      names[count] = NULL;
    }
    if (!end)
      break;
    p = end + 1;
  }
  *out = names;
  return count;
}

static void add_common(rig__labels *labels, const rig__label_context *ctx)
{
  rig__labels_set(labels, RIG__LABEL_PROJECT, ctx->project);
  rig__labels_set(labels, RIG__LABEL_VERSION, RIG__COMPOSE_VERSION);
  if (ctx->session)
    rig__labels_set(labels, RIG__LABEL_SESSION, ctx->session);
}

static void add_user(rig__labels *labels, const rig_compose_kv *kv, size_t count)
{
  for (size_t i = 0; i < count; i++)
    rig__labels_set(labels, kv[i].key, kv[i].value);
}

void rig__stack_container_labels(rig__labels *labels, const rig__label_context *ctx,
                                 const rig_compose_service *service, int number,
                                 const char *config_hash)
{
  /* The user's labels first, so that compose's own ones (set after) win, as compose does;
   * oneoff is the one the user may preset. */
  add_user(labels, service->labels, service->label_count);
  add_common(labels, ctx);
  rig__labels_set(labels, RIG__LABEL_SERVICE, service->name);
  if (!rig__labels_get(labels, RIG__LABEL_ONEOFF))
    rig__labels_set(labels, RIG__LABEL_ONEOFF, "False");
  rig__labels_set(labels, RIG__LABEL_CONFIG_HASH, config_hash ? config_hash : "");
  char number_text[16];
  snprintf(number_text, sizeof number_text, "%d", number);
  rig__labels_set(labels, RIG__LABEL_CONTAINER_NUMBER, number_text);
  rig__labels_set(labels, RIG__LABEL_WORKING_DIR, ctx->working_dir ? ctx->working_dir : "");
  rig_buf files = RIG_BUF_INIT;
  for (size_t i = 0; i < ctx->config_file_count; i++)
    rig__buf_printf(&files, "%s%s", i ? "," : "", ctx->config_files[i]);
  rig__labels_set(labels, RIG__LABEL_CONFIG_FILES, files.data ? files.data : "");
  rig__buf_dispose(&files);
  char *depends = rig__stack_depends_label(service);
  rig__labels_set(labels, RIG__LABEL_DEPENDS_ON, depends);
  free(depends);
}

void rig__stack_network_labels(rig__labels *labels, const rig__label_context *ctx,
                               const rig_compose_network *network)
{
  add_user(labels, network->labels, network->label_count);
  add_common(labels, ctx);
  rig__labels_set(labels, RIG__LABEL_NETWORK, network->key);
}

void rig__stack_volume_labels(rig__labels *labels, const rig__label_context *ctx,
                              const rig_compose_volume *volume)
{
  add_user(labels, volume->labels, volume->label_count);
  add_common(labels, ctx);
  rig__labels_set(labels, RIG__LABEL_VOLUME, volume->key);
}

rig_docker_label *rig__labels_view(const rig__labels *labels)
{
  rig_docker_label *view = rig__calloc(labels->count + 1, sizeof *view);
  for (size_t i = 0; i < labels->count; i++) {
    view[i].key = labels->items[i].key;
    view[i].value = labels->items[i].value;
  }
  return view;
}

/* ---- ports ---- */

void rig__port_list_dispose(rig__port_list *list)
{
  free(list->bindings);
  for (size_t i = 0; i < list->expose_count; i++)
    free(list->expose[i]);
  free(list->expose);
  memset(list, 0, sizeof *list);
}

static int valid_protocol(const char *protocol)
{
  return strcmp(protocol, "tcp") == 0 || strcmp(protocol, "udp") == 0 ||
         strcmp(protocol, "sctp") == 0;
}

static void add_expose(rig__port_list *list, int port, const char *protocol)
{
  char *key = rig__sprintf("%d/%s", port, protocol);
  for (size_t i = 0; i < list->expose_count; i++) {
    if (strcmp(list->expose[i], key) == 0) {
      free(key);
      return;
    }
  }
  list->expose = rig__realloc(list->expose, (list->expose_count + 2) * sizeof *list->expose);
  list->expose[list->expose_count++] = key;
  list->expose[list->expose_count] = NULL;
}

/* "80", "8000-8010", "53/udp", "8000-8001/tcp" as written under expose:. */
static int expose_entry(rig__port_list *list, const char *service, const char *text)
{
  const char *slash = strchr(text, '/');
  const char *protocol = slash ? slash + 1 : "tcp";
  char *number_part = slash ? rig__strndup(text, (size_t)(slash - text)) : rig__strdup(text);
  int first = 0, last = 0, rc = RIG_OK;
  char *dash = strchr(number_part, '-');
  if (dash)
    *dash = '\0';
  if (rig_parse_port(&first, number_part) != RIG_OK ||
      (dash && rig_parse_port(&last, dash + 1) != RIG_OK) || (dash && last < first) ||
      !valid_protocol(protocol)) {
    rc = rig_error_set(RIG_EINVAL, "service %s: expose: bad port '%s'", service, text);
    goto cleanup;
  }
  if (!dash)
    last = first;
  for (int port = first; port <= last; port++)
    add_expose(list, port, protocol);
cleanup:
  free(number_part);
  return rc;
}

int rig__stack_resolve_ports(rig__port_list *out, const rig_compose_service *service)
{
  rig__port_list list = {0};
  int rc = RIG_OK;
  list.bindings = rig__calloc(service->port_count + 1, sizeof *list.bindings);
  list.expose = rig__calloc(1, sizeof *list.expose);
  for (size_t i = 0; i < service->port_count; i++) {
    const rig_compose_port *port = &service->ports[i];
    const char *protocol = port->protocol && *port->protocol ? port->protocol : "tcp";
    if (port->target < 1 || port->target > 65535) {
      rc = rig_error_set(RIG_EINVAL, "service %s: ports: bad container port %d", service->name,
                         port->target);
      goto cleanup;
    }
    if (!valid_protocol(protocol)) {
      rc = rig_error_set(RIG_EINVAL, "service %s: ports: bad protocol '%s' for port %d",
                         service->name, protocol, port->target);
      goto cleanup;
    }
    if (port->published_start < 0 || port->published_start > 65535 ||
        (port->published_start && port->published_end &&
         (port->published_end < port->published_start || port->published_end > 65535))) {
      rc = rig_error_set(RIG_EINVAL, "service %s: ports: bad host port range %d-%d", service->name,
                         port->published_start, port->published_end);
      goto cleanup;
    }
    rig_docker_port_binding *binding = &list.bindings[list.binding_count++];
    binding->container_port = port->target;
    binding->protocol = protocol;
    /* Loopback unless the file names an address: a test stack must not be reachable from
     * the network, and parallel CI jobs then only compete for loopback ports. */
    binding->host_ip = port->host_ip && *port->host_ip ? port->host_ip : RIG__DEFAULT_HOST_IP;
    binding->host_port = port->published_start;
    binding->host_port_end =
        port->published_start > 0 && port->published_end > port->published_start
            ? port->published_end
            : 0;
  }
  for (size_t i = 0; i < service->expose.count; i++)
    if ((rc = expose_entry(&list, service->name, service->expose.items[i])) != RIG_OK)
      goto cleanup;
cleanup:
  if (rc != RIG_OK) {
    rig__port_list_dispose(&list);
    return rc;
  }
  *out = list;
  return RIG_OK;
}

/* ---- image hints ---- */

int rig__stack_is_default_stack_image(const char *image)
{
  static const char *const known[] = {
      "postgres", "pgvector", "jaeger", "prometheus", "opentelemetry-collector", NULL};
  if (!image)
    return 0;
  for (const char *const *k = known; *k; k++)
    if (strstr(image, *k))
      return 1;
  return 0;
}
