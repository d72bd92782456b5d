/*
 * docker_containers.c - containers: the create body built from rig_docker_container_spec,
 * the life cycle calls, inspect and list.
 */
#include "docker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"

/* ------------------------------------------------------------------------------------ */
/* Create body                                                                            */

static void add_str(json_object *obj, const char *key, const char *value)
{
  if (value)
    json_object_object_add(obj, key, json_object_new_string(value));
}

static void add_strv(json_object *obj, const char *key, const char *const *list)
{
  if (list)
    json_object_object_add(obj, key, rig__json_strv(list));
}

static json_object *child(json_object *obj, const char *key)
{
  json_object *value = rig__json_get(obj, key);
  if (!value) {
    value = json_object_new_object();
    json_object_object_add(obj, key, value);
  }
  return value;
}

static char *port_key(int port, const char *protocol)
{
  return rig__sprintf("%d/%s", port, protocol && *protocol ? protocol : "tcp");
}

static json_object *healthcheck_json(const rig_docker_healthcheck *hc)
{
  if (!hc->test && !hc->interval_ns && !hc->timeout_ns && !hc->retries && !hc->start_period_ns)
    return NULL;
  json_object *obj = json_object_new_object();
  add_strv(obj, "Test", hc->test);
  if (hc->interval_ns)
    json_object_object_add(obj, "Interval", json_object_new_int64(hc->interval_ns));
  if (hc->timeout_ns)
    json_object_object_add(obj, "Timeout", json_object_new_int64(hc->timeout_ns));
  if (hc->retries)
    json_object_object_add(obj, "Retries", json_object_new_int(hc->retries));
  if (hc->start_period_ns)
    json_object_object_add(obj, "StartPeriod", json_object_new_int64(hc->start_period_ns));
  return obj;
}

static json_object *mount_json(const rig_docker_mount *m)
{
  static const char *const types[] = {"bind", "volume", "tmpfs"};
  json_object *obj = json_object_new_object();
  unsigned type = (unsigned)m->type <= RIG_DOCKER_MOUNT_TMPFS ? (unsigned)m->type : 0;
  json_object_object_add(obj, "Type", json_object_new_string(types[type]));
  add_str(obj, "Source", m->source);
  add_str(obj, "Target", m->target);
  if (m->read_only)
    json_object_object_add(obj, "ReadOnly", json_object_new_boolean(1));
  if (m->type == RIG_DOCKER_MOUNT_BIND && m->bind_propagation) {
    json_object *opts = json_object_new_object();
    add_str(opts, "Propagation", m->bind_propagation);
    json_object_object_add(obj, "BindOptions", opts);
  }
  if (m->type == RIG_DOCKER_MOUNT_VOLUME && m->volume_nocopy) {
    json_object *opts = json_object_new_object();
    json_object_object_add(opts, "NoCopy", json_object_new_boolean(1));
    json_object_object_add(obj, "VolumeOptions", opts);
  }
  if (m->type == RIG_DOCKER_MOUNT_TMPFS && (m->tmpfs_size || m->tmpfs_mode)) {
    json_object *opts = json_object_new_object();
    if (m->tmpfs_size)
      json_object_object_add(opts, "SizeBytes", json_object_new_int64(m->tmpfs_size));
    if (m->tmpfs_mode)
      json_object_object_add(opts, "Mode", json_object_new_int(m->tmpfs_mode));
    json_object_object_add(obj, "TmpfsOptions", opts);
  }
  return obj;
}

static json_object *endpoint_json(const rig_docker_endpoint *e)
{
  json_object *obj = json_object_new_object();
  add_strv(obj, "Aliases", e->aliases);
  if (e->ipv4_address) {
    json_object *ipam = json_object_new_object();
    add_str(ipam, "IPv4Address", e->ipv4_address);
    json_object_object_add(obj, "IPAMConfig", ipam);
  }
  return obj;
}

static json_object *host_config_json(const rig_docker_container_spec *spec)
{
  json_object *hc = json_object_new_object();
  if (spec->port_count) {
    json_object *bindings = json_object_new_object();
    for (size_t i = 0; i < spec->port_count; i++) {
      const rig_docker_port_binding *p = &spec->ports[i];
      char *key = port_key(p->container_port, p->protocol);
      json_object *list = rig__json_get(bindings, key);
      if (!list) {
        list = json_object_new_array();
        json_object_object_add(bindings, key, list);
      }
      json_object *binding = json_object_new_object();
      json_object_object_add(binding, "HostIp",
                             json_object_new_string(p->host_ip ? p->host_ip : ""));
      char *host_port;
      if (p->host_port && p->host_port_end > p->host_port)
        host_port = rig__sprintf("%d-%d", p->host_port, p->host_port_end);
      else if (p->host_port)
        host_port = rig__sprintf("%d", p->host_port);
      else
        host_port = rig__strdup("");
      json_object_object_add(binding, "HostPort", json_object_new_string(host_port));
      free(host_port);
      json_object_array_add(list, binding);
      free(key);
    }
    json_object_object_add(hc, "PortBindings", bindings);
  }
  add_strv(hc, "Binds", spec->binds);
  if (spec->mount_count) {
    json_object *mounts = json_object_new_array();
    for (size_t i = 0; i < spec->mount_count; i++)
      json_object_array_add(mounts, mount_json(&spec->mounts[i]));
    json_object_object_add(hc, "Mounts", mounts);
  }
  add_str(hc, "NetworkMode", spec->network_mode);
  if (spec->restart_policy) {
    json_object *policy = json_object_new_object();
    add_str(policy, "Name", spec->restart_policy);
    if (spec->restart_max_retries)
      json_object_object_add(policy, "MaximumRetryCount",
                             json_object_new_int(spec->restart_max_retries));
    json_object_object_add(hc, "RestartPolicy", policy);
  }
  if (spec->init)
    json_object_object_add(hc, "Init", json_object_new_boolean(spec->init > 0));
  if (spec->privileged)
    json_object_object_add(hc, "Privileged", json_object_new_boolean(1));
  if (spec->read_only_rootfs)
    json_object_object_add(hc, "ReadonlyRootfs", json_object_new_boolean(1));
  add_strv(hc, "CapAdd", spec->cap_add);
  add_strv(hc, "CapDrop", spec->cap_drop);
  add_strv(hc, "SecurityOpt", spec->security_opt);
  if (spec->ulimit_count) {
    json_object *ulimits = json_object_new_array();
    for (size_t i = 0; i < spec->ulimit_count; i++) {
      json_object *u = json_object_new_object();
      add_str(u, "Name", spec->ulimits[i].name);
      json_object_object_add(u, "Soft", json_object_new_int64(spec->ulimits[i].soft));
      json_object_object_add(u, "Hard", json_object_new_int64(spec->ulimits[i].hard));
      json_object_array_add(ulimits, u);
    }
    json_object_object_add(hc, "Ulimits", ulimits);
  }
  if (spec->shm_size)
    json_object_object_add(hc, "ShmSize", json_object_new_int64(spec->shm_size));
  if (spec->memory)
    json_object_object_add(hc, "Memory", json_object_new_int64(spec->memory));
  if (spec->nano_cpus)
    json_object_object_add(hc, "NanoCpus", json_object_new_int64(spec->nano_cpus));
  if (spec->tmpfs) {
    json_object *tmpfs = json_object_new_object();
    for (const char *const *t = spec->tmpfs; *t; t++) {
      const char *colon = strchr(*t, ':');
      char *path = colon ? rig__strndup(*t, (size_t)(colon - *t)) : rig__strdup(*t);
      json_object_object_add(tmpfs, path, json_object_new_string(colon ? colon + 1 : ""));
      free(path);
    }
    json_object_object_add(hc, "Tmpfs", tmpfs);
  }
  add_strv(hc, "ExtraHosts", spec->extra_hosts);
  if (spec->auto_remove)
    json_object_object_add(hc, "AutoRemove", json_object_new_boolean(1));
  return hc;
}

/* Members of extra replace the body's; HostConfig's are merged one level down. */
static void merge_extra(json_object *body, json_object *extra)
{
  json_object_object_foreach(extra, key, value)
  {
    if (strcmp(key, "HostConfig") == 0 && json_object_is_type(value, json_type_object)) {
      json_object *hc = child(body, "HostConfig");
      json_object_object_foreach(value, hkey, hvalue)
          json_object_object_add(hc, hkey, json_object_get(hvalue));
    } else {
      json_object_object_add(body, key, json_object_get(value));
    }
  }
}

int rig__docker_create_body(char **out, const rig_docker_container_spec *spec, int api_minor)
{
  if (!spec || !spec->image || !*spec->image)
    return rig_error_set(RIG_EINVAL, "container %s: no image given",
                         spec && spec->name ? spec->name : "(unnamed)");
  json_object *extra = NULL;
  if (spec->extra_json) {
    enum json_tokener_error jerr = json_tokener_success;
    extra = json_tokener_parse_verbose(spec->extra_json, &jerr);
    if (!extra || !json_object_is_type(extra, json_type_object)) {
      json_object_put(extra);
      return rig_error_set(RIG_EINVAL, "container %s: extra_json is not a JSON object%s%s",
                           spec->name ? spec->name : "(unnamed)",
                           jerr != json_tokener_success ? ": " : "",
                           jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "");
    }
  }
  json_object *body = json_object_new_object();
  add_str(body, "Image", spec->image);
  add_strv(body, "Cmd", spec->cmd);
  add_strv(body, "Entrypoint", spec->entrypoint);
  add_strv(body, "Env", spec->env);
  if (spec->label_count)
    json_object_object_add(body, "Labels", rig__json_labels(spec->labels, spec->label_count));
  if (spec->port_count || spec->expose) {
    json_object *exposed = json_object_new_object();
    for (size_t i = 0; i < spec->port_count; i++) {
      char *key = port_key(spec->ports[i].container_port, spec->ports[i].protocol);
      json_object_object_add(exposed, key, json_object_new_object());
      free(key);
    }
    for (const char *const *e = spec->expose; e && *e; e++) {
      char *key = strchr(*e, '/') ? rig__strdup(*e) : rig__sprintf("%s/tcp", *e);
      json_object_object_add(exposed, key, json_object_new_object());
      free(key);
    }
    json_object_object_add(body, "ExposedPorts", exposed);
  }
  add_str(body, "Hostname", spec->hostname);
  add_str(body, "Domainname", spec->domainname);
  add_str(body, "WorkingDir", spec->working_dir);
  add_str(body, "User", spec->user);
  if (spec->tty)
    json_object_object_add(body, "Tty", json_object_new_boolean(1));
  if (spec->open_stdin)
    json_object_object_add(body, "OpenStdin", json_object_new_boolean(1));
  add_str(body, "StopSignal", spec->stop_signal);
  if (spec->stop_timeout_set)
    json_object_object_add(body, "StopTimeout", json_object_new_int(spec->stop_timeout_s));
  json_object *hc = healthcheck_json(&spec->healthcheck);
  if (hc)
    json_object_object_add(body, "Healthcheck", hc);
  json_object_object_add(body, "HostConfig", host_config_json(spec));
  if (spec->endpoint_count) {
    json_object *endpoints = json_object_new_object();
    size_t n = api_minor >= 44 ? spec->endpoint_count : 1;
    for (size_t i = 0; i < n; i++)
      if (spec->endpoints[i].network)
        json_object_object_add(endpoints, spec->endpoints[i].network,
                               endpoint_json(&spec->endpoints[i]));
    json_object *networking = json_object_new_object();
    json_object_object_add(networking, "EndpointsConfig", endpoints);
    json_object_object_add(body, "NetworkingConfig", networking);
  }
  if (extra)
    merge_extra(body, extra);
  *out = rig__strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
  json_object_put(extra);
  json_object_put(body);
  return RIG_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Life cycle                                                                             */

/* Whether a 404 on create is about the image (rather than a network or a volume). */
static int is_missing_image(const char *message)
{
  return message && (strstr(message, "No such image") || strstr(message, "image not known") ||
                     strstr(message, "manifest unknown"));
}

int rig_docker_container_create(char **out, rig_docker *docker,
                                const rig_docker_container_spec *spec)
{
  if (!out || !docker || !spec)
    return rig_error_set(RIG_EINVAL,
                         "rig_docker_container_create: out, docker and spec are required");
  const char *label = spec->name ? spec->name : spec->image ? spec->image : "(unnamed)";
  char *body = NULL;
  int rc = rig__docker_create_body(&body, spec, docker->api_minor);
  if (rc != RIG_OK)
    return rc;
  rig_buf path = RIG_BUF_INIT;
  rig__buf_puts(&path, "/containers/create");
  if (spec->name)
    rig__docker_query(&path, "name", spec->name);
  if (spec->platform)
    rig__docker_query(&path, "platform", spec->platform);
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.method = "POST";
  call.path = path.data;
  call.body = body;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  rc = rig__docker_do(docker, &call, &resp);
  char *id = NULL;
  if (rc == RIG_OK && resp.status >= 300) {
    char *message = rig__docker_engine_message(resp.body, resp.body_len);
    int not_found = is_missing_image(message) ? RIG_EIMAGE : RIG_ENOTFOUND;
    free(message);
    rc = rig__docker_error(resp.status, resp.body, resp.body_len, not_found,
                           "cannot create container %s", label);
    if (rc == RIG_EIMAGE)
      rig_error_add_detail("image", "%s", spec->image);
  } else if (rc == RIG_OK) {
    json_object *json = json_tokener_parse(resp.body);
    const char *value = rig__json_str(json, "Id");
    if (value)
      id = rig__strdup(value);
    else
      rc = rig_error_set(RIG_EPARSE, "cannot create container %s: the engine's answer has no Id",
                         label);
    json_object_put(json);
  }
  rig_http_response_dispose(&resp);
  rig__buf_dispose(&path);
  free(body);
  /* Engines before API 1.44 attach one network at create; the rest are connected now. */
  size_t first_extra = docker->api_minor >= 44 ? spec->endpoint_count : 1;
  for (size_t i = first_extra; rc == RIG_OK && i < spec->endpoint_count; i++) {
    rc = rig_docker_network_connect(docker, spec->endpoints[i].network, id,
                                    spec->endpoints[i].aliases);
    if (rc != RIG_OK) {
      rig_error_wrap(RIG_OK, "cannot create container %s", label);
      rig_docker_container_remove(docker, id, RIG_DOCKER_REMOVE_FORCE | RIG_DOCKER_REMOVE_VOLUMES);
    }
  }
  if (rc != RIG_OK) {
    free(id);
    return rc;
  }
  *out = id;
  return RIG_OK;
}

static int simple_post(rig_docker *docker, const char *id, const char *action, const char *query,
                       int64_t timeout_ms, const char *what)
{
  if (!docker || !id)
    return rig_error_set(RIG_EINVAL, "%s: docker and a container are required", what);
  char *path = rig__docker_path("containers", id, "/%s%s", action, query ? query : "");
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.method = "POST";
  call.path = path;
  call.content_type = "application/json";
  call.timeout_ms = timeout_ms;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  /* 304: already started / already stopped, which is what the caller wanted. */
  if (rc == RIG_OK && resp.status >= 300 && resp.status != 304)
    rc = rig__docker_error(resp.status, resp.body, resp.body_len, 0, "cannot %s container %s", what,
                           id);
  else if (rc != RIG_OK && rc != RIG_ECONNECT)
    rig_error_wrap(RIG_OK, "cannot %s container %s", what, id);
  rig_http_response_dispose(&resp);
  free(path);
  return rc;
}

int rig_docker_container_start(rig_docker *docker, const char *id)
{
  return simple_post(docker, id, "start", NULL, 0, "start");
}

/* The HTTP timeout of a stop or restart: the grace period plus time for the kill. */
static int64_t stop_http_timeout(const rig_docker *docker, int timeout_s)
{
  if (timeout_s < 0)
    return -1;
  int64_t ms = (int64_t)timeout_s * 1000 + 60000;
  return ms > docker->timeout_ms ? ms : 0;
}

int rig_docker_container_stop(rig_docker *docker, const char *id, int timeout_s)
{
  if (!docker)
    return rig_error_set(RIG_EINVAL, "stop: docker is required");
  char query[32] = "";
  if (timeout_s >= 0)
    snprintf(query, sizeof query, "?t=%d", timeout_s);
  return simple_post(docker, id, "stop", query, stop_http_timeout(docker, timeout_s), "stop");
}

int rig_docker_container_restart(rig_docker *docker, const char *id, int timeout_s)
{
  if (!docker)
    return rig_error_set(RIG_EINVAL, "restart: docker is required");
  char query[32] = "";
  if (timeout_s >= 0)
    snprintf(query, sizeof query, "?t=%d", timeout_s);
  return simple_post(docker, id, "restart", query, stop_http_timeout(docker, timeout_s), "restart");
}

int rig_docker_container_kill(rig_docker *docker, const char *id, const char *signal)
{
  rig_buf query = RIG_BUF_INIT;
  rig__docker_query(&query, "signal", signal ? signal : "SIGKILL");
  int rc = simple_post(docker, id, "kill", query.data, 0, "kill");
  rig__buf_dispose(&query);
  return rc;
}

int rig_docker_container_remove(rig_docker *docker, const char *id, unsigned flags)
{
  if (!docker || !id)
    return rig_error_set(RIG_EINVAL, "remove: docker and a container are required");
  char *path = rig__docker_path("containers", id, "?force=%d&v=%d",
                                (flags & RIG_DOCKER_REMOVE_FORCE) ? 1 : 0,
                                (flags & RIG_DOCKER_REMOVE_VOLUMES) ? 1 : 0);
  char *what = rig__sprintf("cannot remove container %s", id);
  int rc = rig__docker_json(NULL, docker, "DELETE", path, NULL, 0, 0, what);
  free(what);
  free(path);
  return rc;
}

int rig_docker_container_wait(int64_t *out, rig_docker *docker, const char *id,
                              rig_docker_wait_condition condition, int64_t timeout_ms)
{
  if (!docker || !id)
    return rig_error_set(RIG_EINVAL, "wait: docker and a container are required");
  static const char *const names[] = {"not-running", "next-exit", "removed"};
  unsigned c = (unsigned)condition <= RIG_DOCKER_WAIT_REMOVED ? (unsigned)condition : 0;
  char *path = rig__docker_path("containers", id, "/wait?condition=%s", names[c]);
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.method = "POST";
  call.path = path;
  call.content_type = "application/json";
  call.timeout_ms = timeout_ms ? timeout_ms : -1;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  if (rc == RIG_OK && resp.status >= 300) {
    rc = rig__docker_error(resp.status, resp.body, resp.body_len, 0, "cannot wait for container %s",
                           id);
  } else if (rc == RIG_OK) {
    json_object *json = json_tokener_parse(resp.body);
    const char *error = rig__json_str(rig__json_get(json, "Error"), "Message");
    if (error && *error)
      rc = rig_error_set(RIG_EENGINE, "waiting for container %s: %s", id, error);
    else if (out)
      *out = rig__json_int(json, "StatusCode");
    json_object_put(json);
  } else if (rc != RIG_ECONNECT) {
    rig_error_wrap(RIG_OK, "waiting for container %s (%s)", id, names[c]);
  }
  rig_http_response_dispose(&resp);
  free(path);
  return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Inspect and list                                                                       */

typedef struct container_box {
  rig_docker_container pub;
  rig__arena arena;
} container_box;

static const char *dup_or_empty(rig__arena *a, const char *s)
{
  return rig__arena_strdup(a, s ? s : "");
}

static void parse_ports(rig__arena *a, rig_docker_container *c, json_object *ports)
{
  if (!ports || !json_object_is_type(ports, json_type_object))
    return;
  size_t total = 0;
  json_object_object_foreach(ports, key, bindings)
  {
    (void)key;
    if (bindings && json_object_is_type(bindings, json_type_array))
      total += json_object_array_length(bindings);
  }
  if (total == 0)
    return;
  rig_docker_port_mapping *list = rig__arena_alloc(a, total * sizeof *list);
  size_t n = 0;
  json_object_object_foreach(ports, pkey, pbindings)
  {
    if (!pbindings || !json_object_is_type(pbindings, json_type_array))
      continue;
    int container_port = atoi(pkey);
    const char *slash = strchr(pkey, '/');
    const char *protocol = slash ? slash + 1 : "tcp";
    for (size_t i = 0; i < json_object_array_length(pbindings); i++) {
      json_object *b = json_object_array_get_idx(pbindings, i);
      const char *host_port = rig__json_str(b, "HostPort");
      list[n].container_port = container_port;
      list[n].protocol = rig__arena_strdup(a, protocol);
      list[n].host_ip = dup_or_empty(a, rig__json_str(b, "HostIp"));
      list[n].host_port = host_port ? atoi(host_port) : 0;
      n++;
    }
  }
  c->ports = list;
  c->port_count = n;
}

static void parse_networks(rig__arena *a, rig_docker_container *c, json_object *networks)
{
  if (!networks || !json_object_is_type(networks, json_type_object))
    return;
  size_t total = (size_t)json_object_object_length(networks);
  if (total == 0)
    return;
  rig_docker_attachment *list = rig__arena_alloc(a, total * sizeof *list);
  size_t n = 0;
  json_object_object_foreach(networks, name, settings)
  {
    list[n].network = rig__arena_strdup(a, name);
    list[n].network_id = dup_or_empty(a, rig__json_str(settings, "NetworkID"));
    list[n].ip_address = dup_or_empty(a, rig__json_str(settings, "IPAddress"));
    list[n].aliases = rig__arena_strv(a, rig__json_get(settings, "Aliases"));
    n++;
  }
  c->networks = list;
  c->network_count = n;
}

static rig_docker_container *container_from_json(json_object *json, const char *raw)
{
  container_box *box = rig__calloc(1, sizeof *box);
  rig__arena *a = &box->arena;
  rig_docker_container *c = &box->pub;
  json_object *config = rig__json_get(json, "Config");
  json_object *state = rig__json_get(json, "State");
  const char *name = rig__json_str(json, "Name");
  c->id = dup_or_empty(a, rig__json_str(json, "Id"));
  c->name = dup_or_empty(a, name && *name == '/' ? name + 1 : name);
  c->image = dup_or_empty(a, rig__json_str(config, "Image"));
  c->image_id = dup_or_empty(a, rig__json_str(json, "Image"));
  c->created = dup_or_empty(a, rig__json_str(json, "Created"));
  c->status = dup_or_empty(a, rig__json_str(state, "Status"));
  c->running = rig__json_bool(state, "Running");
  c->paused = rig__json_bool(state, "Paused");
  c->restarting = rig__json_bool(state, "Restarting");
  c->oom_killed = rig__json_bool(state, "OOMKilled");
  c->dead = rig__json_bool(state, "Dead");
  c->pid = (int)rig__json_int(state, "Pid");
  c->exit_code = (int)rig__json_int(state, "ExitCode");
  c->error = dup_or_empty(a, rig__json_str(state, "Error"));
  c->restart_count = (int)rig__json_int(json, "RestartCount");
  c->started_at = dup_or_empty(a, rig__json_str(state, "StartedAt"));
  c->finished_at = dup_or_empty(a, rig__json_str(state, "FinishedAt"));
  /* Podman calls it Healthcheck; Docker Health. */
  json_object *health = rig__json_get(state, "Health");
  if (!health)
    health = rig__json_get(state, "Healthcheck");
  const char *health_status = rig__json_str(health, "Status");
  if (health_status && *health_status && strcmp(health_status, "none") != 0) {
    c->health_status = rig__arena_strdup(a, health_status);
    c->health_failing_streak = (int)rig__json_int(health, "FailingStreak");
    json_object *log = rig__json_get(health, "Log");
    size_t n = log && json_object_is_type(log, json_type_array) ? json_object_array_length(log) : 0;
    if (n > 0)
      c->health_last_output =
          rig__arena_strdup(a, rig__json_str(json_object_array_get_idx(log, n - 1), "Output"));
  }
  c->tty = rig__json_bool(config, "Tty");
  parse_ports(a, c, rig__json_get(rig__json_get(json, "NetworkSettings"), "Ports"));
  parse_networks(a, c, rig__json_get(rig__json_get(json, "NetworkSettings"), "Networks"));
  rig__arena_labels(a, rig__json_get(config, "Labels"), &c->labels, &c->label_count);
  c->raw_json = rig__arena_strdup(a, raw);
  return c;
}

int rig_docker_container_inspect(rig_docker_container **out, rig_docker *docker, const char *id)
{
  if (!out || !docker || !id)
    return rig_error_set(RIG_EINVAL, "inspect: out, docker and a container are required");
  char *path = rig__docker_path("containers", id, "/json");
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.path = path;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  if (rc == RIG_OK && resp.status >= 300) {
    rc = rig__docker_error(resp.status, resp.body, resp.body_len, 0, "cannot inspect container %s",
                           id);
  } else if (rc == RIG_OK) {
    json_object *json = json_tokener_parse(resp.body);
    if (!json || !json_object_is_type(json, json_type_object))
      rc = rig_error_set(RIG_EPARSE, "inspect container %s: the engine's answer is not JSON", id);
    else
      *out = container_from_json(json, resp.body);
    json_object_put(json);
  } else if (rc != RIG_ECONNECT) {
    rig_error_wrap(RIG_OK, "cannot inspect container %s", id);
  }
  rig_http_response_dispose(&resp);
  free(path);
  return rc;
}

void rig_docker_container_free(rig_docker_container *container)
{
  if (!container)
    return;
  container_box *box = (container_box *)container;
  rig__arena_dispose(&box->arena);
  free(box);
}

const char *rig_docker_container_label(const rig_docker_container *container, const char *key)
{
  return container ? rig__docker_label_get(container->labels, container->label_count, key) : NULL;
}

const rig_docker_port_mapping *rig_docker_container_port(const rig_docker_container *container,
                                                         int container_port, const char *protocol)
{
  if (!container)
    return NULL;
  const char *proto = protocol ? protocol : "tcp";
  const rig_docker_port_mapping *fallback = NULL;
  for (size_t i = 0; i < container->port_count; i++) {
    const rig_docker_port_mapping *p = &container->ports[i];
    if (p->container_port != container_port || strcmp(p->protocol, proto) != 0 || !p->host_port)
      continue;
    if (!strchr(p->host_ip, ':'))
      return p;
    if (!fallback)
      fallback = p;
  }
  return fallback;
}

typedef struct containers_box {
  rig_docker_containers pub;
  rig__arena arena;
} containers_box;

int rig_docker_container_list(rig_docker_containers **out, rig_docker *docker,
                              const rig_docker_list_options *opts)
{
  if (!out || !docker)
    return rig_error_set(RIG_EINVAL, "rig_docker_container_list: out and docker are required");
  char *path = rig__docker_list_path("/containers/json", opts, 1);
  json_object *json = NULL;
  int rc = rig__docker_json(&json, docker, "GET", path, NULL, 0, 0, "cannot list containers");
  free(path);
  if (rc != RIG_OK)
    return rc;
  containers_box *box = rig__calloc(1, sizeof *box);
  rig__arena *a = &box->arena;
  size_t n =
      json && json_object_is_type(json, json_type_array) ? json_object_array_length(json) : 0;
  rig_docker_container_summary *items = n ? rig__arena_alloc(a, n * sizeof *items) : NULL;
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(json, i);
    rig_docker_container_summary *s = &items[i];
    s->id = dup_or_empty(a, rig__json_str(item, "Id"));
    json_object *names = rig__json_get(item, "Names");
    const char *name = names && json_object_array_length(names) > 0
                           ? json_object_get_string(json_object_array_get_idx(names, 0))
                           : "";
    s->name = dup_or_empty(a, name && *name == '/' ? name + 1 : name);
    s->image = dup_or_empty(a, rig__json_str(item, "Image"));
    s->state = dup_or_empty(a, rig__json_str(item, "State"));
    s->status = dup_or_empty(a, rig__json_str(item, "Status"));
    s->created = rig__json_int(item, "Created");
    rig__arena_labels(a, rig__json_get(item, "Labels"), &s->labels, &s->label_count);
  }
  box->pub.count = n;
  box->pub.items = items;
  json_object_put(json);
  *out = &box->pub;
  return RIG_OK;
}

void rig_docker_containers_free(rig_docker_containers *containers)
{
  if (!containers)
    return;
  containers_box *box = (containers_box *)containers;
  rig__arena_dispose(&box->arena);
  free(box);
}

const char *rig_docker_summary_label(const rig_docker_container_summary *summary, const char *key)
{
  return summary ? rig__docker_label_get(summary->labels, summary->label_count, key) : NULL;
}
