/*
 * docker_objects.c - images (inspect, list, pull with progress, import from a tar, remove),
 * networks and volumes.
 */
#include "docker_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stackrig/error.h"

/* Image references keep their '/', ':' and '@': the engine's routes take them as they are. */
static char *escape_ref(const char *ref)
{
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_put_percent_encoded(&buf, ref, "/:@");
  return rig__buf_detach(&buf);
}

void rig__docker_split_ref(char **out_name, char **out_tag, const char *ref)
{
  const char *at = strchr(ref, '@');
  if (at) {
    *out_name = rig__strndup(ref, (size_t)(at - ref));
    *out_tag = rig__strdup(at + 1);
    return;
  }
  const char *slash = strrchr(ref, '/');
  const char *colon = strrchr(slash ? slash : ref, ':');
  if (colon && colon[1]) {
    *out_name = rig__strndup(ref, (size_t)(colon - ref));
    *out_tag = rig__strdup(colon + 1);
  } else {
    *out_name = colon ? rig__strndup(ref, (size_t)(colon - ref)) : rig__strdup(ref);
    *out_tag = rig__strdup("latest");
  }
}

/* ------------------------------------------------------------------------------------ */
/* Images                                                                                 */

typedef struct image_box {
  rig_docker_image pub;
  rig__arena arena;
} image_box;

static void image_fill(rig__arena *a, rig_docker_image *image, json_object *json, int listed)
{
  image->id = rig__arena_strdup(a, rig__json_str(json, "Id") ? rig__json_str(json, "Id") : "");
  image->repo_tags = rig__arena_strv(a, rig__json_get(json, "RepoTags"));
  image->size = rig__json_int(json, "Size");
  json_object *created = rig__json_get(json, "Created");
  image->created = rig__arena_strdup(a, created ? json_object_get_string(created) : "");
  json_object *labels = listed ? rig__json_get(json, "Labels")
                               : rig__json_get(rig__json_get(json, "Config"), "Labels");
  rig__arena_labels(a, labels, &image->labels, &image->label_count);
  image->raw_json =
      rig__arena_strdup(a, json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN));
}

int rig_docker_image_inspect(rig_docker_image **out, rig_docker *docker, const char *ref)
{
  if (!out || !docker || !ref)
    return rig_error_set(RIG_EINVAL, "image inspect: out, docker and an image are required");
  char *eref = escape_ref(ref);
  char *path = rig__sprintf("/images/%s/json", eref);
  char *what = rig__sprintf("cannot inspect image %s", ref);
  json_object *json = NULL;
  int rc = rig__docker_json(&json, docker, "GET", path, NULL, 0, 0, what);
  if (rc == RIG_OK) {
    image_box *box = rig__calloc(1, sizeof *box);
    image_fill(&box->arena, &box->pub, json, 0);
    *out = &box->pub;
  }
  json_object_put(json);
  free(what);
  free(path);
  free(eref);
  return rc;
}

void rig_docker_image_free(rig_docker_image *image)
{
  if (!image)
    return;
  image_box *box = (image_box *)image;
  rig__arena_dispose(&box->arena);
  free(box);
}

int rig_docker_image_exists(int *out, rig_docker *docker, const char *ref)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_docker_image_exists: out is required");
  rig_docker_image *image = NULL;
  int rc = rig_docker_image_inspect(&image, docker, ref);
  if (rc == RIG_ENOTFOUND) {
    rig_error_clear();
    *out = 0;
    return RIG_OK;
  }
  if (rc != RIG_OK)
    return rc;
  rig_docker_image_free(image);
  *out = 1;
  return RIG_OK;
}

typedef struct images_box {
  rig_docker_images pub;
  rig__arena arena;
} images_box;

int rig_docker_image_list(rig_docker_images **out, rig_docker *docker,
                          const rig_docker_list_options *opts)
{
  if (!out || !docker)
    return rig_error_set(RIG_EINVAL, "rig_docker_image_list: out and docker are required");
  char *path = rig__docker_list_path("/images/json", opts, 1);
  json_object *json = NULL;
  int rc = rig__docker_json(&json, docker, "GET", path, NULL, 0, 0, "cannot list images");
  free(path);
  if (rc != RIG_OK)
    return rc;
  images_box *box = rig__calloc(1, sizeof *box);
  size_t n =
      json && json_object_is_type(json, json_type_array) ? json_object_array_length(json) : 0;
  rig_docker_image *items = n ? rig__arena_alloc(&box->arena, n * sizeof *items) : NULL;
  for (size_t i = 0; i < n; i++)
    image_fill(&box->arena, &items[i], json_object_array_get_idx(json, i), 1);
  box->pub.count = n;
  box->pub.items = items;
  json_object_put(json);
  *out = &box->pub;
  return RIG_OK;
}

void rig_docker_images_free(rig_docker_images *images)
{
  if (!images)
    return;
  images_box *box = (images_box *)images;
  rig__arena_dispose(&box->arena);
  free(box);
}

int rig_docker_image_remove(rig_docker *docker, const char *ref, int force)
{
  if (!docker || !ref)
    return rig_error_set(RIG_EINVAL, "image remove: docker and an image are required");
  char *eref = escape_ref(ref);
  char *path = rig__sprintf("/images/%s?force=%d", eref, force ? 1 : 0);
  char *what = rig__sprintf("cannot remove image %s", ref);
  int rc = rig__docker_json(NULL, docker, "DELETE", path, NULL, 0, 0, what);
  free(what);
  free(path);
  free(eref);
  return rc;
}

/* ---- pull ---- */

/* Ends a pull that the engine leaves silent: it sets the transfer's cancel flag when
 * nothing arrived for stall_ms, or when the caller's own flag is set. */
typedef struct watchdog {
  pthread_t thread;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int64_t last_activity_ms;
  int64_t stall_ms;
  const volatile int *user_cancel;
  volatile int cancel;
  int stalled;
  int done;
} watchdog;

static void *watchdog_main(void *arg)
{
  watchdog *w = arg;
  pthread_mutex_lock(&w->mutex);
  while (!w->done) {
    int64_t now = rig__now_ms();
    if (w->user_cancel && *w->user_cancel)
      w->cancel = 1;
    if (now - w->last_activity_ms >= w->stall_ms) {
      w->stalled = 1;
      w->cancel = 1;
    }
    if (w->cancel)
      break;
    /* The caller's flag can only be polled; 200 ms keeps a cancel prompt. */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 200 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->cond, &w->mutex, &until);
  }
  pthread_mutex_unlock(&w->mutex);
  return NULL;
}

static int watchdog_start(watchdog *w, int64_t stall_ms, const volatile int *user_cancel)
{
  memset(w, 0, sizeof *w);
  pthread_mutex_init(&w->mutex, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cond, &attr);
  pthread_condattr_destroy(&attr);
  w->stall_ms = stall_ms;
  w->user_cancel = user_cancel;
  w->last_activity_ms = rig__now_ms();
  if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mutex);
    return rig_error_set(RIG_EGENERIC, "cannot start a thread to watch the pull");
  }
  return RIG_OK;
}

static void watchdog_touch(watchdog *w)
{
  pthread_mutex_lock(&w->mutex);
  w->last_activity_ms = rig__now_ms();
  pthread_mutex_unlock(&w->mutex);
}

static void watchdog_stop(watchdog *w)
{
  pthread_mutex_lock(&w->mutex);
  w->done = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mutex);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mutex);
}

typedef struct progress_state {
  rig_docker_progress_cb on_progress;
  void *userdata;
  char *error;       /* the first error message inside the stream */
  char *last_status; /* import: the last status, the new image's ID */
  int stopped;
  rig_buf head;
  rig__docker_jsonl jsonl;
  watchdog *watch;
} progress_state;

static int on_progress_message(void *userdata, json_object *obj, const char *line)
{
  progress_state *st = userdata;
  const char *error = rig__json_str(obj, "error");
  if (!error)
    error = rig__json_str(rig__json_get(obj, "errorDetail"), "message");
  const char *status = rig__json_str(obj, "status");
  if (!error && !status && rig__json_str(obj, "message"))
    return 0; /* an error body: read from head afterwards */
  if (error) {
    if (!st->error)
      st->error = rig__strdup(error);
    return 0;
  }
  free(st->last_status);
  st->last_status = rig__strdup(status);
  if (!st->on_progress)
    return 0;
  json_object *detail = rig__json_get(obj, "progressDetail");
  rig_docker_progress progress;
  progress.status = status;
  progress.id = rig__json_str(obj, "id");
  progress.progress = rig__json_str(obj, "progress");
  progress.current = rig__json_int(detail, "current");
  progress.total = rig__json_int(detail, "total");
  progress.raw_json = line;
  if (st->on_progress(st->userdata, &progress) != 0) {
    st->stopped = 1;
    return 1;
  }
  return 0;
}

static int progress_on_data(void *userdata, const char *data, size_t len)
{
  progress_state *st = userdata;
  if (st->watch)
    watchdog_touch(st->watch);
  if (st->head.len < 8192) {
    size_t keep = 8192 - st->head.len;
    rig__buf_append(&st->head, data, keep < len ? keep : len);
  }
  return rig__docker_jsonl_feed(&st->jsonl, data, len);
}

static void progress_init(progress_state *st, rig_docker_progress_cb cb, void *userdata)
{
  memset(st, 0, sizeof *st);
  st->on_progress = cb;
  st->userdata = userdata;
  st->jsonl.on_message = on_progress_message;
  st->jsonl.userdata = st;
}

static void progress_dispose(progress_state *st)
{
  free(st->error);
  free(st->last_status);
  rig__buf_dispose(&st->head);
  rig__buf_dispose(&st->jsonl.partial);
}

/* Words in the engine's message that mean the registry was never reached. */
static int registry_unreachable(const char *message)
{
  static const char *const signs[] = {
      "dial tcp",       "no such host",          "connection refused",
      "i/o timeout",    "TLS handshake timeout", "network is unreachable",
      "Client.Timeout", "server misbehaving",    "no route to host"};
  for (size_t i = 0; i < sizeof signs / sizeof signs[0]; i++)
    if (message && strstr(message, signs[i]))
      return 1;
  return 0;
}

static int pull_failed(const char *ref, long status, const char *message)
{
  rig_error_set(RIG_EIMAGE, "cannot pull image %s: %s", ref, message);
  rig_error_add_detail("image", "%s", ref);
  if (status)
    rig_error_add_detail("status", "%ld", status);
  rig_error_add_detail("engine_message", "%s", message);
  if (registry_unreachable(message)) {
    rig_error_add_detail("reason", "registry unreachable");
    rig_error_add_detail("hint", "the engine cannot reach the registry: build or load the image "
                                 "locally (compose/images/build), or check the network");
  }
  return RIG_EIMAGE;
}

int rig_docker_image_pull(rig_docker *docker, const char *ref, const rig_docker_pull_options *opts)
{
  if (!docker || !ref || !*ref)
    return rig_error_set(RIG_EINVAL, "image pull: docker and an image are required");
  rig_docker_pull_options defaults = RIG_DOCKER_PULL_OPTIONS_INIT;
  if (!opts)
    opts = &defaults;
  char *name = NULL, *tag = NULL;
  rig__docker_split_ref(&name, &tag, ref);
  rig_buf path = RIG_BUF_INIT;
  rig__buf_puts(&path, "/images/create");
  rig__docker_query(&path, "fromImage", name);
  rig__docker_query(&path, "tag", tag);
  if (opts->platform)
    rig__docker_query(&path, "platform", opts->platform);
  free(name);
  free(tag);
  char *auth =
      opts->registry_auth ? rig__sprintf("X-Registry-Auth: %s", opts->registry_auth) : NULL;
  const char *headers[2] = {auth, NULL};

  progress_state st;
  progress_init(&st, opts->on_progress, opts->userdata);
  watchdog watch;
  int64_t stall_ms = opts->stall_timeout_ms > 0 ? opts->stall_timeout_ms : 60000;
  int rc = watchdog_start(&watch, stall_ms, opts->cancel);
  if (rc != RIG_OK)
    goto cleanup;
  st.watch = &watch;
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.method = "POST";
  call.path = path.data;
  call.content_type = "application/json";
  call.headers = auth ? headers : NULL;
  call.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 600000;
  call.on_data = progress_on_data;
  call.userdata = &st;
  call.cancel = &watch.cancel;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  rc = rig__docker_do(docker, &call, &resp);
  watchdog_stop(&watch);
  if (rc == RIG_OK && !st.stopped)
    rig__docker_jsonl_flush(&st.jsonl);
  if (rc == RIG_EINTERRUPTED && watch.stalled) {
    rc = rig_error_set(RIG_ETIMEOUT,
                       "cannot pull image %s: the engine sent nothing for %lld ms (is the "
                       "registry reachable?)",
                       ref, (long long)stall_ms);
    rig_error_add_detail("image", "%s", ref);
  } else if (rc == RIG_EINTERRUPTED) {
    rig_error_wrap(RIG_OK, "pull of image %s cancelled", ref);
  } else if (rc == RIG_ETIMEOUT) {
    rig_error_wrap(RIG_OK, "cannot pull image %s", ref);
  } else if (rc == RIG_OK && resp.status >= 300) {
    char *message = rig__docker_engine_message(st.head.data, st.head.len);
    rc = pull_failed(ref, resp.status, message);
    free(message);
  } else if (rc == RIG_OK && st.error) {
    rc = pull_failed(ref, 0, st.error);
  } else if (rc == RIG_OK && st.stopped) {
    rc = rig_error_set(RIG_EINTERRUPTED, "pull of image %s stopped by its progress callback", ref);
  } else if (rc != RIG_OK && rc != RIG_ECONNECT) {
    rig_error_wrap(RIG_OK, "cannot pull image %s", ref);
  }
  rig_http_response_dispose(&resp);
cleanup:
  progress_dispose(&st);
  free(auth);
  rig__buf_dispose(&path);
  return rc;
}

int rig_docker_image_import(char **out, rig_docker *docker, const char *ref, const void *tar,
                            size_t tar_len, const char *const *changes)
{
  if (!docker || !tar || tar_len == 0)
    return rig_error_set(RIG_EINVAL, "image import: docker and a tar archive are required");
  rig_buf path = RIG_BUF_INIT;
  rig__buf_puts(&path, "/images/create");
  rig__docker_query(&path, "fromSrc", "-");
  if (ref) {
    char *name = NULL, *tag = NULL;
    rig__docker_split_ref(&name, &tag, ref);
    rig__docker_query(&path, "repo", name);
    rig__docker_query(&path, "tag", tag);
    free(name);
    free(tag);
  }
  for (const char *const *c = changes; c && *c; c++)
    rig__docker_query(&path, "changes", *c);
  const char *label = ref ? ref : "(untagged)";
  progress_state st;
  progress_init(&st, NULL, NULL);
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.method = "POST";
  call.path = path.data;
  call.body = tar;
  call.body_len = tar_len;
  call.content_type = "application/x-tar";
  call.on_data = progress_on_data;
  call.userdata = &st;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  if (rc == RIG_OK)
    rig__docker_jsonl_flush(&st.jsonl);
  if (rc == RIG_OK && resp.status >= 300) {
    rc = rig__docker_error(resp.status, st.head.data, st.head.len, 0, "cannot import image %s",
                           label);
  } else if (rc == RIG_OK && st.error) {
    rc = rig_error_set(RIG_EENGINE, "cannot import image %s: %s", label, st.error);
    rig_error_add_detail("engine_message", "%s", st.error);
  } else if (rc == RIG_OK && (!st.last_status || strncmp(st.last_status, "sha256:", 7) != 0)) {
    rc = rig_error_set(RIG_EPARSE, "import of image %s: the engine did not report an image ID",
                       label);
  } else if (rc == RIG_OK && out) {
    *out = st.last_status;
    st.last_status = NULL;
  } else if (rc != RIG_OK && rc != RIG_ECONNECT) {
    rig_error_wrap(RIG_OK, "cannot import image %s", label);
  }
  rig_http_response_dispose(&resp);
  progress_dispose(&st);
  rig__buf_dispose(&path);
  return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Networks                                                                               */

int rig_docker_network_create(char **out, rig_docker *docker, const rig_docker_network_spec *spec)
{
  if (!docker || !spec || !spec->name || !*spec->name)
    return rig_error_set(RIG_EINVAL, "network create: docker and a network name are required");
  json_object *body = json_object_new_object();
  json_object_object_add(body, "Name", json_object_new_string(spec->name));
  json_object_object_add(body, "Driver",
                         json_object_new_string(spec->driver ? spec->driver : "bridge"));
  /* Engines before API 1.44 allow duplicate names unless asked not to. */
  if (docker->api_minor < 44)
    json_object_object_add(body, "CheckDuplicate", json_object_new_boolean(1));
  if (spec->internal)
    json_object_object_add(body, "Internal", json_object_new_boolean(1));
  if (spec->attachable)
    json_object_object_add(body, "Attachable", json_object_new_boolean(1));
  if (spec->enable_ipv6)
    json_object_object_add(body, "EnableIPv6", json_object_new_boolean(1));
  if (spec->driver_option_count)
    json_object_object_add(body, "Options",
                           rig__json_labels(spec->driver_options, spec->driver_option_count));
  json_object_object_add(body, "Labels", rig__json_labels(spec->labels, spec->label_count));
  char *what = rig__sprintf("cannot create network %s", spec->name);
  json_object *answer = NULL;
  int rc = rig__docker_json(&answer, docker, "POST", "/networks/create", body, 0, 0, what);
  if (rc == RIG_OK && out) {
    const char *id = rig__json_str(answer, "Id");
    *out = rig__strdup(id ? id : "");
  }
  json_object_put(answer);
  json_object_put(body);
  free(what);
  return rc;
}

int rig_docker_network_remove(rig_docker *docker, const char *name_or_id)
{
  if (!docker || !name_or_id)
    return rig_error_set(RIG_EINVAL, "network remove: docker and a network are required");
  char *path = rig__docker_path("networks", name_or_id, NULL);
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.method = "DELETE";
  call.path = path;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  if (rc == RIG_OK && resp.status >= 300) {
    rc = rig__docker_error(resp.status, resp.body, resp.body_len, 0, "cannot remove network %s",
                           name_or_id);
    /* The engine answers 403 for a network that still has containers attached. */
    if (resp.status == 403) {
      rig_error_wrap(RIG_ECONFLICT, "network %s is in use", name_or_id);
      rc = RIG_ECONFLICT;
    }
  } else if (rc != RIG_OK && rc != RIG_ECONNECT) {
    rig_error_wrap(RIG_OK, "cannot remove network %s", name_or_id);
  }
  rig_http_response_dispose(&resp);
  free(path);
  return rc;
}

typedef struct network_box {
  rig_docker_network pub;
  rig__arena arena;
} network_box;

static void network_fill(rig__arena *a, rig_docker_network *n, json_object *json)
{
  const char *v;
  n->id = rig__arena_strdup(a, (v = rig__json_str(json, "Id")) ? v : "");
  n->name = rig__arena_strdup(a, (v = rig__json_str(json, "Name")) ? v : "");
  n->driver = rig__arena_strdup(a, (v = rig__json_str(json, "Driver")) ? v : "");
  n->scope = rig__arena_strdup(a, (v = rig__json_str(json, "Scope")) ? v : "");
  n->internal = rig__json_bool(json, "Internal");
  rig__arena_labels(a, rig__json_get(json, "Labels"), &n->labels, &n->label_count);
}

int rig_docker_network_inspect(rig_docker_network **out, rig_docker *docker, const char *name_or_id)
{
  if (!out || !docker || !name_or_id)
    return rig_error_set(RIG_EINVAL, "network inspect: out, docker and a network are required");
  char *path = rig__docker_path("networks", name_or_id, NULL);
  char *what = rig__sprintf("cannot inspect network %s", name_or_id);
  json_object *json = NULL;
  int rc = rig__docker_json(&json, docker, "GET", path, NULL, 0, 0, what);
  if (rc == RIG_OK) {
    network_box *box = rig__calloc(1, sizeof *box);
    network_fill(&box->arena, &box->pub, json);
    *out = &box->pub;
  }
  json_object_put(json);
  free(what);
  free(path);
  return rc;
}

void rig_docker_network_free(rig_docker_network *network)
{
  if (!network)
    return;
  network_box *box = (network_box *)network;
  rig__arena_dispose(&box->arena);
  free(box);
}

typedef struct networks_box {
  rig_docker_networks pub;
  rig__arena arena;
} networks_box;

int rig_docker_network_list(rig_docker_networks **out, rig_docker *docker,
                            const rig_docker_list_options *opts)
{
  if (!out || !docker)
    return rig_error_set(RIG_EINVAL, "rig_docker_network_list: out and docker are required");
  char *path = rig__docker_list_path("/networks", opts, 0);
  json_object *json = NULL;
  int rc = rig__docker_json(&json, docker, "GET", path, NULL, 0, 0, "cannot list networks");
  free(path);
  if (rc != RIG_OK)
    return rc;
  networks_box *box = rig__calloc(1, sizeof *box);
  size_t n =
      json && json_object_is_type(json, json_type_array) ? json_object_array_length(json) : 0;
  rig_docker_network *items = n ? rig__arena_alloc(&box->arena, n * sizeof *items) : NULL;
  for (size_t i = 0; i < n; i++)
    network_fill(&box->arena, &items[i], json_object_array_get_idx(json, i));
  box->pub.count = n;
  box->pub.items = items;
  json_object_put(json);
  *out = &box->pub;
  return RIG_OK;
}

void rig_docker_networks_free(rig_docker_networks *networks)
{
  if (!networks)
    return;
  networks_box *box = (networks_box *)networks;
  rig__arena_dispose(&box->arena);
  free(box);
}

int rig_docker_network_connect(rig_docker *docker, const char *network, const char *container,
                               const char *const *aliases)
{
  if (!docker || !network || !container)
    return rig_error_set(RIG_EINVAL,
                         "network connect: docker, a network and a container are required");
  json_object *body = json_object_new_object();
  json_object_object_add(body, "Container", json_object_new_string(container));
  json_object *endpoint = json_object_new_object();
  if (aliases)
    json_object_object_add(endpoint, "Aliases", rig__json_strv(aliases));
  json_object_object_add(body, "EndpointConfig", endpoint);
  char *path = rig__docker_path("networks", network, "/connect");
  char *what = rig__sprintf("cannot connect container %s to network %s", container, network);
  int rc = rig__docker_json(NULL, docker, "POST", path, body, 0, 0, what);
  json_object_put(body);
  free(what);
  free(path);
  return rc;
}

int rig_docker_network_disconnect(rig_docker *docker, const char *network, const char *container,
                                  int force)
{
  if (!docker || !network || !container)
    return rig_error_set(RIG_EINVAL,
                         "network disconnect: docker, a network and a container are required");
  json_object *body = json_object_new_object();
  json_object_object_add(body, "Container", json_object_new_string(container));
  json_object_object_add(body, "Force", json_object_new_boolean(force != 0));
  char *path = rig__docker_path("networks", network, "/disconnect");
  char *what = rig__sprintf("cannot disconnect container %s from network %s", container, network);
  int rc = rig__docker_json(NULL, docker, "POST", path, body, 0, 0, what);
  json_object_put(body);
  free(what);
  free(path);
  return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Volumes                                                                                */

typedef struct volume_box {
  rig_docker_volume pub;
  rig__arena arena;
} volume_box;

static void volume_fill(rig__arena *a, rig_docker_volume *v, json_object *json)
{
  const char *s;
  v->name = rig__arena_strdup(a, (s = rig__json_str(json, "Name")) ? s : "");
  v->driver = rig__arena_strdup(a, (s = rig__json_str(json, "Driver")) ? s : "");
  v->mountpoint = rig__arena_strdup(a, (s = rig__json_str(json, "Mountpoint")) ? s : "");
  v->created_at = rig__arena_strdup(a, (s = rig__json_str(json, "CreatedAt")) ? s : "");
  rig__arena_labels(a, rig__json_get(json, "Labels"), &v->labels, &v->label_count);
}

int rig_docker_volume_create(char **out, rig_docker *docker, const rig_docker_volume_spec *spec)
{
  if (!docker || !spec)
    return rig_error_set(RIG_EINVAL, "volume create: docker and a spec are required");
  json_object *body = json_object_new_object();
  if (spec->name)
    json_object_object_add(body, "Name", json_object_new_string(spec->name));
  json_object_object_add(body, "Driver",
                         json_object_new_string(spec->driver ? spec->driver : "local"));
  if (spec->driver_option_count)
    json_object_object_add(body, "DriverOpts",
                           rig__json_labels(spec->driver_options, spec->driver_option_count));
  json_object_object_add(body, "Labels", rig__json_labels(spec->labels, spec->label_count));
  char *what = rig__sprintf("cannot create volume %s", spec->name ? spec->name : "(anonymous)");
  json_object *answer = NULL;
  int rc = rig__docker_json(&answer, docker, "POST", "/volumes/create", body, 0, 0, what);
  if (rc == RIG_OK && out) {
    const char *name = rig__json_str(answer, "Name");
    *out = rig__strdup(name ? name : "");
  }
  json_object_put(answer);
  json_object_put(body);
  free(what);
  return rc;
}

int rig_docker_volume_remove(rig_docker *docker, const char *name, int force)
{
  if (!docker || !name)
    return rig_error_set(RIG_EINVAL, "volume remove: docker and a volume are required");
  char *path = rig__docker_path("volumes", name, "?force=%d", force ? 1 : 0);
  char *what = rig__sprintf("cannot remove volume %s", name);
  int rc = rig__docker_json(NULL, docker, "DELETE", path, NULL, 0, 0, what);
  free(what);
  free(path);
  return rc;
}

int rig_docker_volume_inspect(rig_docker_volume **out, rig_docker *docker, const char *name)
{
  if (!out || !docker || !name)
    return rig_error_set(RIG_EINVAL, "volume inspect: out, docker and a volume are required");
  char *path = rig__docker_path("volumes", name, NULL);
  char *what = rig__sprintf("cannot inspect volume %s", name);
  json_object *json = NULL;
  int rc = rig__docker_json(&json, docker, "GET", path, NULL, 0, 0, what);
  if (rc == RIG_OK) {
    volume_box *box = rig__calloc(1, sizeof *box);
    volume_fill(&box->arena, &box->pub, json);
    *out = &box->pub;
  }
  json_object_put(json);
  free(what);
  free(path);
  return rc;
}

void rig_docker_volume_free(rig_docker_volume *volume)
{
  if (!volume)
    return;
  volume_box *box = (volume_box *)volume;
  rig__arena_dispose(&box->arena);
  free(box);
}

typedef struct volumes_box {
  rig_docker_volumes pub;
  rig__arena arena;
} volumes_box;

int rig_docker_volume_list(rig_docker_volumes **out, rig_docker *docker,
                           const rig_docker_list_options *opts)
{
  if (!out || !docker)
    return rig_error_set(RIG_EINVAL, "rig_docker_volume_list: out and docker are required");
  char *path = rig__docker_list_path("/volumes", opts, 0);
  json_object *json = NULL;
  int rc = rig__docker_json(&json, docker, "GET", path, NULL, 0, 0, "cannot list volumes");
  free(path);
  if (rc != RIG_OK)
    return rc;
  volumes_box *box = rig__calloc(1, sizeof *box);
  json_object *list = rig__json_get(json, "Volumes");
  size_t n =
      list && json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
  rig_docker_volume *items = n ? rig__arena_alloc(&box->arena, n * sizeof *items) : NULL;
  for (size_t i = 0; i < n; i++)
    volume_fill(&box->arena, &items[i], json_object_array_get_idx(list, i));
  box->pub.count = n;
  box->pub.items = items;
  json_object_put(json);
  *out = &box->pub;
  return RIG_OK;
}

void rig_docker_volumes_free(rig_docker_volumes *volumes)
{
  if (!volumes)
    return;
  volumes_box *box = (volumes_box *)volumes;
  rig__arena_dispose(&box->arena);
  free(box);
}
