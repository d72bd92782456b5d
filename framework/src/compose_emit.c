/*
 * compose_emit.c - the model -> JSON and YAML in the shape of `docker compose config`:
 * the project name, services by name with long-syntax fields, networks and volumes with
 * their engine names, and the x-* extensions. One json-c tree feeds both renderings, so
 * JSON and YAML cannot disagree.
 */
#include "compose_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- model -> json_object ---- */

static void put_string(json_object *obj, const char *key, const char *value)
{
  if (value)
    json_object_object_add(obj, key, json_object_new_string(value));
}

static void put_true(json_object *obj, const char *key, int value)
{
  if (value)
    json_object_object_add(obj, key, json_object_new_boolean(1));
}

static void put_tristate(json_object *obj, const char *key, rig_compose_tristate value)
{
  if (value != RIG_COMPOSE_UNSET)
    json_object_object_add(obj, key, json_object_new_boolean(value == RIG_COMPOSE_TRUE));
}

static json_object *strings_array(const rig_compose_strings *list)
{
  json_object *array = json_object_new_array();
  for (size_t i = 0; i < list->count; i++)
    json_object_array_add(array, json_object_new_string(list->items[i]));
  return array;
}

static void put_strings(json_object *obj, const char *key, const rig_compose_strings *list)
{
  if (list->count)
    json_object_object_add(obj, key, strings_array(list));
}

static void put_kv(json_object *obj, const char *key, const rig_compose_kv *kv, size_t count)
{
  if (!count)
    return;
  json_object *map = json_object_new_object();
  for (size_t i = 0; i < count; i++)
    json_object_object_add(map, kv[i].key,
                           kv[i].value ? json_object_new_string(kv[i].value) : NULL);
  json_object_object_add(obj, key, map);
}

static void put_duration(json_object *obj, const char *key, int64_t ns)
{
  char *text = NULL;
  if (rig_duration_format(&text, ns) == RIG_OK) {
    json_object_object_add(obj, key, json_object_new_string(text));
    free(text);
  }
}

static void put_bytes(json_object *obj, const char *key, int64_t bytes)
{
  /* compose prints byte sizes as strings of digits */
  char text[32];
  snprintf(text, sizeof text, "%lld", (long long)bytes);
  json_object_object_add(obj, key, json_object_new_string(text));
}

static json_object *value_json(const rig_compose_value *v)
{
  switch (v->type) {
  case RIG_COMPOSE_VALUE_NULL:
    return NULL;
  case RIG_COMPOSE_VALUE_BOOL:
    return json_object_new_boolean(v->boolean);
  case RIG_COMPOSE_VALUE_INT:
    return json_object_new_int64(v->integer);
  case RIG_COMPOSE_VALUE_FLOAT:
    return json_object_new_double(v->number);
  case RIG_COMPOSE_VALUE_STRING:
    return json_object_new_string(v->string ? v->string : "");
  case RIG_COMPOSE_VALUE_LIST: {
    json_object *array = json_object_new_array();
    for (size_t i = 0; i < v->count; i++)
      json_object_array_add(array, value_json(&v->items[i]));
    return array;
  }
  case RIG_COMPOSE_VALUE_MAP: {
    json_object *map = json_object_new_object();
    for (size_t i = 0; i < v->count; i++)
      json_object_object_add(map, v->keys[i], value_json(&v->items[i]));
    return map;
  }
  }
  return NULL;
}

static void put_extensions(json_object *obj, const rig_compose_value *ext)
{
  for (size_t i = 0; ext && i < ext->count; i++)
    json_object_object_add(obj, ext->keys[i], value_json(&ext->items[i]));
}

static const char *condition_name(rig_compose_condition c)
{
  switch (c) {
  case RIG_COMPOSE_CONDITION_HEALTHY:
    return "service_healthy";
  case RIG_COMPOSE_CONDITION_COMPLETED_SUCCESSFULLY:
    return "service_completed_successfully";
  default:
    return "service_started";
  }
}

static json_object *command_json(int set, const rig_compose_strings *list)
{
  return set ? strings_array(list) : NULL;
}

static json_object *healthcheck_json(const rig_compose_healthcheck *hc)
{
  json_object *obj = json_object_new_object();
  if (hc->kind != RIG_COMPOSE_HEALTH_INHERIT && !hc->disable) {
    json_object *test = json_object_new_array();
    const char *word = hc->kind == RIG_COMPOSE_HEALTH_NONE  ? "NONE"
                       : hc->kind == RIG_COMPOSE_HEALTH_CMD ? "CMD"
                                                            : "CMD-SHELL";
    json_object_array_add(test, json_object_new_string(word));
    for (size_t i = 0; i < hc->test.count; i++)
      json_object_array_add(test, json_object_new_string(hc->test.items[i]));
    json_object_object_add(obj, "test", test);
  }
  if (hc->timeout_ns)
    put_duration(obj, "timeout", hc->timeout_ns);
  if (hc->interval_ns)
    put_duration(obj, "interval", hc->interval_ns);
  if (hc->retries)
    json_object_object_add(obj, "retries", json_object_new_int(hc->retries));
  if (hc->start_period_ns)
    put_duration(obj, "start_period", hc->start_period_ns);
  if (hc->start_interval_ns)
    put_duration(obj, "start_interval", hc->start_interval_ns);
  put_true(obj, "disable", hc->disable);
  return obj;
}

static json_object *port_json(const rig_compose_port *p)
{
  json_object *obj = json_object_new_object();
  put_string(obj, "name", p->name);
  put_string(obj, "mode", p->mode);
  put_string(obj, "host_ip", p->host_ip);
  json_object_object_add(obj, "target", json_object_new_int(p->target));
  if (p->published_start) {
    char text[32];
    if (p->published_end && p->published_end != p->published_start)
      snprintf(text, sizeof text, "%d-%d", p->published_start, p->published_end);
    else
      snprintf(text, sizeof text, "%d", p->published_start);
    json_object_object_add(obj, "published", json_object_new_string(text));
  }
  put_string(obj, "protocol", p->protocol);
  put_string(obj, "app_protocol", p->app_protocol);
  return obj;
}

static json_object *mount_json(const rig_compose_mount *m)
{
  static const char *const types[] = {"bind", "volume", "tmpfs"};
  json_object *obj = json_object_new_object();
  put_string(obj, "type", types[m->type]);
  put_string(obj, "source", m->source);
  put_string(obj, "target", m->target);
  put_true(obj, "read_only", m->read_only);
  put_string(obj, "consistency", m->consistency);
  if (m->type == RIG_COMPOSE_MOUNT_BIND &&
      (m->bind_create_host_path || m->bind_propagation || m->bind_selinux)) {
    json_object *bind = json_object_new_object();
    put_string(bind, "propagation", m->bind_propagation);
    /* explicit both ways: a bind: section without it means true */
    json_object_object_add(bind, "create_host_path",
                           json_object_new_boolean(m->bind_create_host_path));
    put_string(bind, "selinux", m->bind_selinux);
    json_object_object_add(obj, "bind", bind);
  }
  if (m->type == RIG_COMPOSE_MOUNT_VOLUME) {
    json_object *volume = json_object_new_object();
    put_true(volume, "nocopy", m->volume_nocopy);
    put_string(volume, "subpath", m->volume_subpath);
    json_object_object_add(obj, "volume", volume);
  }
  if (m->type == RIG_COMPOSE_MOUNT_TMPFS && (m->tmpfs_size || m->tmpfs_mode)) {
    json_object *tmpfs = json_object_new_object();
    if (m->tmpfs_size)
      put_bytes(tmpfs, "size", m->tmpfs_size);
    if (m->tmpfs_mode)
      json_object_object_add(tmpfs, "mode", json_object_new_int(m->tmpfs_mode));
    json_object_object_add(obj, "tmpfs", tmpfs);
  }
  return obj;
}

static json_object *service_json(const rig_compose_service *s)
{
  json_object *obj = json_object_new_object();
  put_strings(obj, "profiles", &s->profiles);
  put_strings(obj, "cap_add", &s->cap_add);
  put_strings(obj, "cap_drop", &s->cap_drop);
  /* compose always prints command and entrypoint, null when the image's are kept */
  json_object_object_add(obj, "command", command_json(s->command_set, &s->command));
  put_string(obj, "container_name", s->container_name);
  if (s->depends_on_count) {
    json_object *deps = json_object_new_object();
    for (size_t i = 0; i < s->depends_on_count; i++) {
      const rig_compose_dependency *d = &s->depends_on[i];
      json_object *dep = json_object_new_object();
      put_string(dep, "condition", condition_name(d->condition));
      put_true(dep, "restart", d->restart);
      json_object_object_add(dep, "required", json_object_new_boolean(d->required));
      json_object_object_add(deps, d->service, dep);
    }
    json_object_object_add(obj, "depends_on", deps);
  }
  put_strings(obj, "dns", &s->dns);
  put_strings(obj, "dns_search", &s->dns_search);
  put_string(obj, "domainname", s->domainname);
  json_object_object_add(obj, "entrypoint", command_json(s->entrypoint_set, &s->entrypoint));
  put_kv(obj, "environment", s->environment, s->environment_count);
  if (s->env_files.count) {
    json_object *files = json_object_new_array();
    for (size_t i = 0; i < s->env_files.count; i++) {
      json_object *file = json_object_new_object();
      put_string(file, "path", s->env_files.items[i]);
      json_object_array_add(files, file);
    }
    json_object_object_add(obj, "env_file", files);
  }
  put_strings(obj, "expose", &s->expose);
  put_strings(obj, "extra_hosts", &s->extra_hosts);
  put_string(obj, "hostname", s->hostname);
  if (s->healthcheck.set)
    json_object_object_add(obj, "healthcheck", healthcheck_json(&s->healthcheck));
  put_string(obj, "image", s->image);
  put_tristate(obj, "init", s->init);
  put_kv(obj, "labels", s->labels, s->label_count);
  put_string(obj, "network_mode", s->network_mode);
  if (s->network_count) {
    json_object *nets = json_object_new_object();
    for (size_t i = 0; i < s->network_count; i++) {
      const rig_compose_service_network *n = &s->networks[i];
      json_object *net = NULL;
      if (n->aliases.count || n->ipv4_address || n->ipv6_address || n->priority) {
        net = json_object_new_object();
        put_strings(net, "aliases", &n->aliases);
        put_string(net, "ipv4_address", n->ipv4_address);
        put_string(net, "ipv6_address", n->ipv6_address);
        if (n->priority)
          json_object_object_add(net, "priority", json_object_new_int(n->priority));
      }
      json_object_object_add(nets, n->network, net);
    }
    json_object_object_add(obj, "networks", nets);
  }
  put_string(obj, "platform", s->platform);
  if (s->port_count) {
    json_object *ports = json_object_new_array();
    for (size_t i = 0; i < s->port_count; i++)
      json_object_array_add(ports, port_json(&s->ports[i]));
    json_object_object_add(obj, "ports", ports);
  }
  put_tristate(obj, "privileged", s->privileged);
  put_string(obj, "pull_policy", s->pull_policy);
  put_tristate(obj, "read_only", s->read_only);
  if (s->restart && strcmp(s->restart, "no") != 0)
    put_string(obj, "restart", s->restart);
  if (s->replicas != 1)
    json_object_object_add(obj, "scale", json_object_new_int(s->replicas));
  put_strings(obj, "security_opt", &s->security_opt);
  if (s->shm_size)
    put_bytes(obj, "shm_size", s->shm_size);
  put_tristate(obj, "stdin_open", s->stdin_open);
  if (s->stop_grace_period_set)
    put_duration(obj, "stop_grace_period", s->stop_grace_period_ns);
  put_string(obj, "stop_signal", s->stop_signal);
  put_strings(obj, "tmpfs", &s->tmpfs);
  put_tristate(obj, "tty", s->tty);
  if (s->ulimit_count) {
    json_object *limits = json_object_new_object();
    for (size_t i = 0; i < s->ulimit_count; i++) {
      const rig_compose_ulimit *l = &s->ulimits[i];
      json_object *limit;
      if (l->soft == l->hard) {
        limit = json_object_new_int64(l->soft);
      } else {
        limit = json_object_new_object();
        json_object_object_add(limit, "soft", json_object_new_int64(l->soft));
        json_object_object_add(limit, "hard", json_object_new_int64(l->hard));
      }
      json_object_object_add(limits, l->name, limit);
    }
    json_object_object_add(obj, "ulimits", limits);
  }
  put_string(obj, "user", s->user);
  if (s->volume_count) {
    json_object *mounts = json_object_new_array();
    for (size_t i = 0; i < s->volume_count; i++)
      json_object_array_add(mounts, mount_json(&s->volumes[i]));
    json_object_object_add(obj, "volumes", mounts);
  }
  put_string(obj, "working_dir", s->working_dir);
  put_extensions(obj, s->extensions);
  return obj;
}

static json_object *network_json(const rig_compose_network *n)
{
  json_object *obj = json_object_new_object();
  put_string(obj, "name", n->name);
  put_string(obj, "driver", n->driver);
  put_kv(obj, "driver_opts", n->driver_opts, n->driver_opt_count);
  if (!n->external) {
    json_object *ipam = json_object_new_object();
    put_string(ipam, "driver", n->ipam_driver);
    if (n->ipam_config_count) {
      json_object *config = json_object_new_array();
      for (size_t i = 0; i < n->ipam_config_count; i++) {
        json_object *pool = json_object_new_object();
        put_string(pool, "subnet", n->ipam_config[i].subnet);
        put_string(pool, "gateway", n->ipam_config[i].gateway);
        put_string(pool, "ip_range", n->ipam_config[i].ip_range);
        json_object_array_add(config, pool);
      }
      json_object_object_add(ipam, "config", config);
    }
    json_object_object_add(obj, "ipam", ipam);
  }
  put_true(obj, "external", n->external);
  put_true(obj, "internal", n->internal);
  put_true(obj, "attachable", n->attachable);
  put_kv(obj, "labels", n->labels, n->label_count);
  put_tristate(obj, "enable_ipv6", n->enable_ipv6);
  put_extensions(obj, n->extensions);
  return obj;
}

static json_object *volume_json(const rig_compose_volume *v)
{
  json_object *obj = json_object_new_object();
  put_string(obj, "name", v->name);
  put_string(obj, "driver", v->driver);
  put_kv(obj, "driver_opts", v->driver_opts, v->driver_opt_count);
  put_true(obj, "external", v->external);
  put_kv(obj, "labels", v->labels, v->label_count);
  put_extensions(obj, v->extensions);
  return obj;
}

static json_object *project_json(const rig_compose_project *p)
{
  json_object *obj = json_object_new_object();
  put_string(obj, "name", p->name);
  json_object *services = json_object_new_object();
  for (size_t i = 0; i < p->service_count; i++)
    json_object_object_add(services, p->services[i].name, service_json(&p->services[i]));
  json_object_object_add(obj, "services", services);
  if (p->network_count) {
    json_object *nets = json_object_new_object();
    for (size_t i = 0; i < p->network_count; i++)
      json_object_object_add(nets, p->networks[i].key, network_json(&p->networks[i]));
    json_object_object_add(obj, "networks", nets);
  }
  if (p->volume_count) {
    json_object *vols = json_object_new_object();
    for (size_t i = 0; i < p->volume_count; i++)
      json_object_object_add(vols, p->volumes[i].key, volume_json(&p->volumes[i]));
    json_object_object_add(obj, "volumes", vols);
  }
  put_extensions(obj, p->extensions);
  return obj;
}

static char *json_text(json_object *obj, int flags, int newline)
{
  const char *text = json_object_to_json_string_ext(obj, flags);
  char *copy = rig__sprintf("%s%s", text ? text : "null", newline ? "\n" : "");
  json_object_put(obj);
  return copy;
}

int rig_compose_to_json(char **out, const rig_compose_project *project)
{
  if (!out || !project)
    return rig_error_set(RIG_EINVAL, "rig_compose_to_json: %s is NULL", !out ? "out" : "project");
  *out = json_text(
      project_json(project),
      JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, 1);
  return RIG_OK;
}

int rig_compose_service_to_json(char **out, const rig_compose_project *project,
                                const rig_compose_service *service)
{
  if (!out || !project || !service)
    return rig_error_set(RIG_EINVAL, "rig_compose_service_to_json: an argument is NULL");
  *out =
      json_text(service_json(service), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, 0);
  return RIG_OK;
}

int rig_compose_value_to_json(char **out, const rig_compose_value *value)
{
  if (!out || !value)
    return rig_error_set(RIG_EINVAL, "rig_compose_value_to_json: %s is NULL",
                         !out ? "out" : "value");
  *out = json_text(value_json(value), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, 0);
  return RIG_OK;
}

/* ---- json_object -> YAML ---- */

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
  rig__buf_append(data, buffer, size);
  return 1;
}

/* A string that a YAML reader would take for another type must be quoted. */
static int needs_quotes(const char *s)
{
  if (!*s)
    return 1;
  static const char *const words[] = {
      "null", "Null", "NULL", "~",  "true", "True", "TRUE", "false", "False", "FALSE",
      "yes",  "Yes",  "YES",  "no", "No",   "NO",   "on",   "On",    "ON",    "off",
      "Off",  "OFF",  "y",    "Y",  "n",    "N",    ".inf", ".nan",  "<<",    NULL};
  for (const char *const *w = words; *w; w++)
    if (strcmp(s, *w) == 0)
      return 1;
  /* numbers in every notation YAML 1.1 or 1.2 readers know (0x1f, 1_000, 1:30, 1e3, .5)
     and things that merely look like them (127.0.0.1) */
  const char *p = s;
  if (*p == '-' || *p == '+')
    p++;
  if (!(*p == '.' || (*p >= '0' && *p <= '9')))
    return 0;
  for (; *p; p++)
    if (!strchr("0123456789abcdefABCDEFxXoO._:+-", *p))
      return 0;
  return 1;
}

static int emit(yaml_emitter_t *em, yaml_event_t *ev)
{
  return yaml_emitter_emit(em, ev) ? RIG_OK : RIG_EIO;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, int quote)
{
  yaml_event_t ev;
  yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1,
                               quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
  return emit(em, &ev);
}

static int emit_json(yaml_emitter_t *em, json_object *obj, int depth)
{
  yaml_event_t ev;
  if (depth > 1024)
    return RIG_EINVAL;
  switch (json_object_get_type(obj)) {
  case json_type_null:
    return emit_scalar(em, "null", 0);
  case json_type_boolean:
    return emit_scalar(em, json_object_get_boolean(obj) ? "true" : "false", 0);
  case json_type_int:
  case json_type_double:
    return emit_scalar(em, json_object_to_json_string(obj), 0);
  case json_type_string: {
    const char *s = json_object_get_string(obj);
    return emit_scalar(em, s, needs_quotes(s));
  }
  case json_type_array: {
    yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    if (emit(em, &ev) != RIG_OK)
      return RIG_EIO;
    size_t n = json_object_array_length(obj);
    for (size_t i = 0; i < n; i++)
      if (emit_json(em, json_object_array_get_idx(obj, i), depth + 1) != RIG_OK)
        return RIG_EIO;
    yaml_sequence_end_event_initialize(&ev);
    return emit(em, &ev);
  }
  case json_type_object: {
    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    if (emit(em, &ev) != RIG_OK)
      return RIG_EIO;
    json_object_object_foreach(obj, key, value)
    {
      if (emit_scalar(em, key, needs_quotes(key)) != RIG_OK ||
          emit_json(em, value, depth + 1) != RIG_OK)
        return RIG_EIO;
    }
    yaml_mapping_end_event_initialize(&ev);
    return emit(em, &ev);
  }
  }
  return RIG_EINVAL;
}

int rig_compose_to_yaml(char **out, const rig_compose_project *project)
{
  if (!out || !project)
    return rig_error_set(RIG_EINVAL, "rig_compose_to_yaml: %s is NULL", !out ? "out" : "project");
  json_object *root = project_json(project);
  rig_buf buf = RIG_BUF_INIT;
  yaml_emitter_t em;
  yaml_event_t ev;
  int rc = RIG_OK;
  if (!yaml_emitter_initialize(&em)) {
    json_object_put(root);
    return rig_error_set(RIG_ENOMEM, "cannot initialize the YAML emitter");
  }
  yaml_emitter_set_output(&em, write_handler, &buf);
  yaml_emitter_set_unicode(&em, 1);
  yaml_emitter_set_width(&em, -1);
  yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
  rc = emit(&em, &ev);
  if (rc == RIG_OK) {
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    rc = emit(&em, &ev);
  }
  if (rc == RIG_OK)
    rc = emit_json(&em, root, 0);
  if (rc == RIG_OK) {
    yaml_document_end_event_initialize(&ev, 1);
    rc = emit(&em, &ev);
  }
  if (rc == RIG_OK) {
    yaml_stream_end_event_initialize(&ev);
    rc = emit(&em, &ev);
  }
  if (rc == RIG_OK && !yaml_emitter_flush(&em))
    rc = RIG_EIO;
  const char *problem = em.problem;
  yaml_emitter_delete(&em);
  json_object_put(root);
  if (rc != RIG_OK) {
    rig__buf_dispose(&buf);
    return rig_error_set(RIG_EIO, "cannot render the project as YAML: %s",
                         problem ? problem : "emitter error");
  }
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}
