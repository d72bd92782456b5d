/*
 * stack.c - the rig_stack handle: making one from a compose project or from a project
 * name alone, its engine connections, progress events, keep/free, the published port of a
 * service, and the status of the project's containers.
 */
#include "stack_internal.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "util.h"

int64_t rig_stack_now_ms(void)
{
  return rig__now_ms();
}

static rig_stack *stack_alloc(const rig_stack_options *opts)
{
  rig_stack *stack = rig__calloc(1, sizeof *stack);
  rig_stack_options defaults = RIG_STACK_OPTIONS_INIT;
  stack->opts = opts ? *opts : defaults;
  stack->opts.project = NULL;
  stack->opts.compose = NULL;
  stack->docker_host = opts && opts->docker_host ? rig__strdup(opts->docker_host) : NULL;
  stack->opts.docker_host = stack->docker_host;
  stack->reaper.write_fd = -1;
  stack->reaper.pid = -1;
  pthread_mutex_init(&stack->progress_lock, NULL);
  return stack;
}

int rig_stack_new(rig_stack **out, const rig_stack_options *opts)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_stack_new: out is NULL");
  rig_compose_project *owned = NULL;
  const rig_compose_project *project = opts ? opts->project : NULL;
  int rc;
  if (!project) {
    if ((rc = rig_compose_load(&owned, opts ? opts->compose : NULL)) != RIG_OK)
      return rc;
    project = owned;
  }
  rig__plan *plan = NULL;
  if ((rc = rig__plan_from_project(&plan, project)) != RIG_OK) {
    rig_error_wrap(RIG_OK, "project %s", project->name);
    rig_compose_project_free(owned);
    return rc;
  }
  for (size_t i = 0; i < project->service_count; i++) {
    if (!project->services[i].image) {
      rc = rig_error_set(
          RIG_EUNSUPPORTED, "service %s (%s:%d): no image (stackrig does not build images)",
          project->services[i].name, project->services[i].file, project->services[i].line);
      rig__plan_free(plan);
      rig_compose_project_free(owned);
      return rc;
    }
  }
  rig_stack *stack = stack_alloc(opts);
  stack->owned_project = owned;
  stack->project = project;
  stack->project_name = rig__strdup(project->name);
  stack->plan = plan;
  *out = stack;
  return RIG_OK;
}

int rig_stack_open(rig_stack **out, const char *project_name, const rig_stack_options *opts)
{
  if (!out || !project_name || !*project_name)
    return rig_error_set(RIG_EINVAL, "rig_stack_open: a project name is required");
  rig_stack *stack = stack_alloc(opts);
  stack->project_name = rig__strdup(project_name);
  *out = stack;
  return RIG_OK;
}

void rig_stack_free(rig_stack *stack)
{
  if (!stack)
    return;
  /* Closing without disarming: a stack that was brought up and neither kept nor taken
   * down is removed by its reaper, as if this process had died. */
  rig__reaper_release(&stack->reaper);
  rig_docker_free(stack->docker);
  rig__plan_free(stack->plan);
  rig_compose_project_free(stack->owned_project);
  pthread_mutex_destroy(&stack->progress_lock);
  free(stack->project_name);
  free(stack->docker_host);
  free(stack->session);
  free(stack);
}

int rig_stack_keep(rig_stack *stack)
{
  if (!stack)
    return rig_error_set(RIG_EINVAL, "rig_stack_keep: stack is NULL");
  return rig__reaper_disarm(&stack->reaper);
}

const char *rig_stack_project_name(const rig_stack *stack)
{
  return stack ? stack->project_name : NULL;
}

const rig_compose_project *rig_stack_project(const rig_stack *stack)
{
  return stack ? stack->project : NULL;
}

const char *rig_stack_session(const rig_stack *stack)
{
  return stack ? stack->session : NULL;
}

/* The config-hash label: compose hashes the service's configuration so that a changed
 * service can be told from an unchanged one; the resolved service's compact JSON is that
 * configuration in a stable form. */
int rig__stack_config_hash(char out[65], const rig_compose_project *project,
                           const rig_compose_service *service)
{
  char *json = NULL;
  int rc = rig_compose_service_to_json(&json, project, service);
  if (rc != RIG_OK)
    return rc;
  rig__sha256_hex(out, json, strlen(json));
  free(json);
  return RIG_OK;
}

/* ---- connections and progress ---- */

static rig_docker_options docker_options(const rig_stack *stack)
{
  rig_docker_options opts = RIG_DOCKER_OPTIONS_INIT;
  opts.host = stack->docker_host;
  return opts;
}

int rig__stack_docker(rig_docker **out, rig_stack *stack)
{
  if (!stack->docker) {
    rig_docker_options opts = docker_options(stack);
    int rc = rig_docker_open(&stack->docker, &opts);
    if (rc != RIG_OK)
      return rc;
  }
  *out = stack->docker;
  return RIG_OK;
}

int rig__stack_docker_clone(rig_docker **out, rig_stack *stack)
{
  rig_docker *main = NULL;
  int rc = rig__stack_docker(&main, stack);
  if (rc != RIG_OK)
    return rc;
  return rig_docker_clone(out, main);
}

void rig__stack_progress(rig_stack *stack, const char *service, const char *object,
                         rig_stack_phase phase, int exit_code, const char *message)
{
  if (!stack->opts.progress)
    return;
  rig_stack_event event;
  event.service = service;
  event.object = object;
  event.phase = phase;
  event.elapsed_ms = rig__now_ms() - stack->operation_start_ms;
  event.exit_code = exit_code;
  event.message = message;
  pthread_mutex_lock(&stack->progress_lock);
  stack->opts.progress(&event, stack->opts.progress_userdata);
  pthread_mutex_unlock(&stack->progress_lock);
}

/* ---- the project's containers ---- */

static int compare_summaries(const void *a, const void *b)
{
  const rig_docker_container_summary *x = a, *y = b;
  const char *sx = rig_docker_summary_label(x, RIG__LABEL_SERVICE);
  const char *sy = rig_docker_summary_label(y, RIG__LABEL_SERVICE);
  int c = strcmp(sx ? sx : "", sy ? sy : "");
  if (c)
    return c;
  const char *nx = rig_docker_summary_label(x, RIG__LABEL_CONTAINER_NUMBER);
  const char *ny = rig_docker_summary_label(y, RIG__LABEL_CONTAINER_NUMBER);
  long d = (nx ? atol(nx) : 0) - (ny ? atol(ny) : 0);
  return d < 0 ? -1 : d > 0;
}

int rig__stack_list_containers(rig_docker_containers **out, rig_docker *docker, const char *project)
{
  char *label = rig__sprintf("%s=%s", RIG__LABEL_PROJECT, project);
  /* One-off containers (compose run) are not part of the stack's services. */
  char *oneoff = rig__sprintf("%s=False", RIG__LABEL_ONEOFF);
  rig_docker_filter filters[2] = {{"label", label}, {"label", oneoff}};
  rig_docker_list_options list = RIG_DOCKER_LIST_OPTIONS_INIT;
  list.all = 1;
  list.filters = filters;
  list.filter_count = 2;
  rig_docker_containers *containers = NULL;
  int rc = rig_docker_container_list(&containers, docker, &list);
  free(label);
  free(oneoff);
  if (rc != RIG_OK)
    return rc;
  /* The items are const for callers; sorting them in place is the list's own business. */
  if (containers->count > 1)
    qsort((void *)containers->items, containers->count, sizeof *containers->items,
          compare_summaries);
  *out = containers;
  return RIG_OK;
}

int rig__stack_containers(rig_docker_containers **out, rig_docker **out_docker, rig_stack *stack)
{
  rig_docker *docker = NULL;
  int rc = rig__stack_docker(&docker, stack);
  if (rc == RIG_OK)
    rc = rig__stack_list_containers(out, docker, stack->project_name);
  if (rc == RIG_OK)
    *out_docker = docker;
  return rc;
}

/* ---- port ---- */

int rig_stack_port_proto(char **out, rig_stack *stack, const char *service, int container_port,
                         const char *protocol)
{
  if (!out || !stack || !service)
    return rig_error_set(RIG_EINVAL, "rig_stack_port: stack and service are required");
  if (!protocol)
    protocol = "tcp";
  rig_docker *docker = NULL;
  rig_docker_containers *containers = NULL;
  int rc = rig__stack_containers(&containers, &docker, stack);
  if (rc != RIG_OK)
    return rc;
  rc = RIG_ENOTFOUND;
  int saw_service = 0;
  for (size_t i = 0; i < containers->count && rc == RIG_ENOTFOUND; i++) {
    const rig_docker_container_summary *c = &containers->items[i];
    if (!rig__streq(rig_docker_summary_label(c, RIG__LABEL_SERVICE), service))
      continue;
    saw_service = 1;
    rig_docker_container *info = NULL;
    if (rig_docker_container_inspect(&info, docker, c->id) != RIG_OK)
      continue;
    const rig_docker_port_mapping *mapping =
        rig_docker_container_port(info, container_port, protocol);
    if (mapping && mapping->host_port > 0) {
      const char *ip = mapping->host_ip && *mapping->host_ip ? mapping->host_ip : "0.0.0.0";
      *out = strchr(ip, ':') ? rig__sprintf("[%s]:%d", ip, mapping->host_port)
                             : rig__sprintf("%s:%d", ip, mapping->host_port);
      rc = RIG_OK;
    }
    rig_docker_container_free(info);
  }
  rig_docker_containers_free(containers);
  if (rc == RIG_OK)
    return RIG_OK;
  if (!saw_service)
    rc = rig_error_set(RIG_ENOTFOUND, "project %s: service %s has no container",
                       stack->project_name, service);
  else
    rc = rig_error_set(RIG_ENOTFOUND, "project %s: service %s does not publish port %d/%s",
                       stack->project_name, service, container_port, protocol);
  rig_error_add_detail("service", "%s", service);
  return rc;
}

int rig_stack_port(char **out, rig_stack *stack, const char *service, int container_port)
{
  return rig_stack_port_proto(out, stack, service, container_port, "tcp");
}

/* ---- status ---- */

typedef struct status_holder {
  rig_stack_status status;
  rig_stack_service_status *items;
  size_t count;
  char **strings; /* everything the items point to */
  size_t string_count;
  char ***port_lists;
  size_t port_list_count;
} status_holder;

static const char *keep_string(status_holder *holder, const char *s)
{
  if (!s)
    return NULL;
  holder->strings = rig__realloc(holder->strings, (holder->string_count + 1) * sizeof(char *));
  holder->strings[holder->string_count] = rig__strdup(s);
  return holder->strings[holder->string_count++];
}

static rig_stack_service_status *status_add(status_holder *holder)
{
  holder->items = rig__realloc(holder->items, (holder->count + 1) * sizeof *holder->items);
  rig_stack_service_status *item = &holder->items[holder->count++];
  memset(item, 0, sizeof *item);
  item->exit_code = -1;
  return item;
}

static int compare_status(const void *a, const void *b)
{
  const rig_stack_service_status *x = a, *y = b;
  int c = strcmp(x->service, y->service);
  return c ? c : strcmp(x->container ? x->container : "", y->container ? y->container : "");
}

int rig_stack_get_status(rig_stack_status **out, rig_stack *stack)
{
  if (!out || !stack)
    return rig_error_set(RIG_EINVAL, "rig_stack_get_status: stack is NULL");
  rig_docker *docker = NULL;
  rig_docker_containers *containers = NULL;
  int rc = rig__stack_containers(&containers, &docker, stack);
  if (rc != RIG_OK)
    return rc;
  status_holder *holder = rig__calloc(1, sizeof *holder);
  for (size_t i = 0; i < containers->count; i++) {
    const rig_docker_container_summary *c = &containers->items[i];
    rig_docker_container *info = NULL;
    if (rig_docker_container_inspect(&info, docker, c->id) != RIG_OK)
      continue; /* removed between list and inspect */
    rig_stack_service_status *item = status_add(holder);
    const char *service = rig_docker_summary_label(c, RIG__LABEL_SERVICE);
    item->service = keep_string(holder, service ? service : "?");
    item->container = keep_string(holder, info->name);
    item->state = keep_string(holder, info->status);
    item->health = keep_string(holder, info->health_status);
    item->exit_code = info->exit_code;
    item->restart_count = info->restart_count;
    item->oom_killed = info->oom_killed;
    char **ports = rig__calloc(info->port_count + 1, sizeof *ports);
    for (size_t p = 0; p < info->port_count; p++) {
      const rig_docker_port_mapping *m = &info->ports[p];
      ports[p] = strchr(m->host_ip ? m->host_ip : "", ':')
                     ? rig__sprintf("[%s]:%d->%d/%s", m->host_ip, m->host_port, m->container_port,
                                    m->protocol)
                     : rig__sprintf("%s:%d->%d/%s", m->host_ip ? m->host_ip : "", m->host_port,
                                    m->container_port, m->protocol);
    }
    holder->port_lists =
        rig__realloc(holder->port_lists, (holder->port_list_count + 1) * sizeof(char **));
    holder->port_lists[holder->port_list_count++] = ports;
    item->ports = (const char *const *)ports;
    item->port_count = info->port_count;
    rig_docker_container_free(info);
  }
  rig_docker_containers_free(containers);
  if (stack->project) {
    for (size_t s = 0; s < stack->project->service_count; s++) {
      const char *name = stack->project->services[s].name;
      int seen = 0;
      for (size_t i = 0; i < holder->count && !seen; i++)
        seen = strcmp(holder->items[i].service, name) == 0;
      if (!seen) {
        rig_stack_service_status *item = status_add(holder);
        item->service = keep_string(holder, name);
        item->state = "missing";
        char **ports = rig__calloc(1, sizeof *ports);
        holder->port_lists =
            rig__realloc(holder->port_lists, (holder->port_list_count + 1) * sizeof(char **));
        holder->port_lists[holder->port_list_count++] = ports;
        item->ports = (const char *const *)ports;
      }
    }
  }
  if (holder->count > 1)
    qsort(holder->items, holder->count, sizeof *holder->items, compare_status);
  holder->status.project = keep_string(holder, stack->project_name);
  holder->status.service_count = holder->count;
  holder->status.services = holder->items;
  /* status is the first member: the caller's pointer is the holder's. */
  *out = &holder->status;
  return RIG_OK;
}

void rig_stack_status_free(rig_stack_status *status)
{
  if (!status)
    return;
  status_holder *holder = (status_holder *)status;
  for (size_t i = 0; i < holder->string_count; i++)
    free(holder->strings[i]);
  for (size_t i = 0; i < holder->port_list_count; i++) {
    for (char **p = holder->port_lists[i]; *p; p++)
      free(*p);
    free(holder->port_lists[i]);
  }
  free(holder->strings);
  free(holder->port_lists);
  free(holder->items);
  free(holder);
}

int rig_stack_status_to_json(char **out, const rig_stack_status *status)
{
  if (!out || !status)
    return rig_error_set(RIG_EINVAL, "rig_stack_status_to_json: status is NULL");
  json_object *root = json_object_new_object();
  json_object_object_add(root, "project", json_object_new_string(status->project));
  json_object *services = json_object_new_array();
  for (size_t i = 0; i < status->service_count; i++) {
    const rig_stack_service_status *s = &status->services[i];
    json_object *item = json_object_new_object();
    json_object_object_add(item, "service", json_object_new_string(s->service));
    json_object_object_add(item, "container",
                           s->container ? json_object_new_string(s->container) : NULL);
    json_object_object_add(item, "state", json_object_new_string(s->state));
    json_object_object_add(item, "health", s->health ? json_object_new_string(s->health) : NULL);
    json_object_object_add(item, "exit_code",
                           strcmp(s->state, "exited") == 0 ? json_object_new_int(s->exit_code)
                                                           : NULL);
    json_object_object_add(item, "restart_count", json_object_new_int(s->restart_count));
    json_object_object_add(item, "oom_killed", json_object_new_boolean(s->oom_killed));
    json_object *ports = json_object_new_array();
    for (size_t p = 0; p < s->port_count; p++)
      json_object_array_add(ports, json_object_new_string(s->ports[p]));
    json_object_object_add(item, "ports", ports);
    json_object_array_add(services, item);
  }
  json_object_object_add(root, "services", services);
  *out = rig__sprintf("%s\n", json_object_to_json_string_ext(
                                  root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(root);
  return RIG_OK;
}
