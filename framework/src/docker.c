/*
 * docker.c - the connection to the Docker engine: finding it (DOCKER_HOST, default and
 * rootless sockets, Podman), negotiating the API version, the request core that maps
 * engine answers to errors, and the helpers the other docker_*.c files share.
 */
#include "docker_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stackrig/error.h"

#define DEFAULT_SOCKET "/var/run/docker.sock"
#define CONNECT_HINT "is the Docker daemon running? set DOCKER_HOST to point elsewhere"

/* ------------------------------------------------------------------------------------ */
/* Engine address                                                                         */

void rig__docker_endpoint_dispose(rig__docker_endpoint *endpoint)
{
  if (!endpoint)
    return;
  free(endpoint->host);
  free(endpoint->socket_path);
  free(endpoint->base_url);
  memset(endpoint, 0, sizeof *endpoint);
}

int rig__docker_endpoint_parse(rig__docker_endpoint *out, const char *docker_host, int tls_verify)
{
  if (!docker_host || !*docker_host)
    return rig_error_set(RIG_EINVAL,
                         "DOCKER_HOST is empty: expected unix:///path or tcp://host:port");
  const char *sep = strstr(docker_host, "://");
  if (!sep) {
    rig_error_set(RIG_EINVAL, "invalid DOCKER_HOST '%s': expected unix:///path or tcp://host:port",
                  docker_host);
    rig_error_add_detail("hint", "for a socket path write unix://%s", docker_host);
    return RIG_EINVAL;
  }
  size_t scheme_len = (size_t)(sep - docker_host);
  const char *rest = sep + 3;
  if (scheme_len == 4 && strncmp(docker_host, "unix", 4) == 0) {
    if (!*rest)
      return rig_error_set(RIG_EINVAL, "invalid DOCKER_HOST '%s': the socket path is missing",
                           docker_host);
    if (strlen(rest) >= sizeof(((struct sockaddr_un *)0)->sun_path))
      return rig_error_set(RIG_EINVAL, "invalid DOCKER_HOST '%s': the socket path is too long",
                           docker_host);
    out->host = rig__sprintf("unix://%s", rest);
    out->socket_path = rig__strdup(rest);
    out->base_url = rig__strdup("http://localhost");
    return RIG_OK;
  }
  if ((scheme_len == 3 && strncmp(docker_host, "tcp", 3) == 0) ||
      (scheme_len == 4 && strncmp(docker_host, "http", 4) == 0)) {
    if (tls_verify)
      return rig_error_set(
          RIG_EUNSUPPORTED,
          "DOCKER_HOST '%s' with DOCKER_TLS_VERIFY set: TLS connections to the engine are not "
          "supported; use a unix socket or an unencrypted tcp:// endpoint (e.g. an SSH tunnel)",
          docker_host);
    /* host[:port][/prefix]; the port defaults to 2375, the engine's unencrypted port. */
    const char *slash = strchr(rest, '/');
    size_t authority_len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (authority_len == 0)
      return rig_error_set(RIG_EINVAL, "invalid DOCKER_HOST '%s': the host is missing",
                           docker_host);
    if (rest[0] == ':')
      return rig_error_set(RIG_EINVAL, "invalid DOCKER_HOST '%s': the host is missing",
                           docker_host);
    char *authority = rig__strndup(rest, authority_len);
    const char *port = NULL;
    if (authority[0] == '[') {
      char *close = strchr(authority, ']');
      if (!close || (close[1] && close[1] != ':')) {
        free(authority);
        return rig_error_set(RIG_EINVAL, "invalid DOCKER_HOST '%s': malformed IPv6 address",
                             docker_host);
      }
      if (close[1] == ':')
        port = close + 2;
    } else {
      char *colon = strchr(authority, ':');
      if (colon)
        port = colon + 1;
    }
    if (port) {
      char *end = NULL;
      long value = strtol(port, &end, 10);
      if (!*port || *end || value < 1 || value > 65535) {
        free(authority);
        return rig_error_set(RIG_EINVAL, "invalid DOCKER_HOST '%s': bad port", docker_host);
      }
    }
    const char *prefix = slash ? slash : "";
    size_t prefix_len = strlen(prefix);
    while (prefix_len > 0 && prefix[prefix_len - 1] == '/')
      prefix_len--;
    out->host =
        rig__sprintf("tcp://%s%s%.*s", authority, port ? "" : ":2375", (int)prefix_len, prefix);
    out->base_url =
        rig__sprintf("http://%s%s%.*s", authority, port ? "" : ":2375", (int)prefix_len, prefix);
    out->socket_path = NULL;
    free(authority);
    return RIG_OK;
  }
  if (scheme_len == 5 && strncmp(docker_host, "https", 5) == 0)
    return rig_error_set(RIG_EUNSUPPORTED,
                         "DOCKER_HOST '%s': TLS connections to the engine are not supported",
                         docker_host);
  return rig_error_set(RIG_EUNSUPPORTED,
                       "DOCKER_HOST '%s': the %.*s:// transport is not supported; use unix:// or "
                       "tcp://",
                       docker_host, (int)scheme_len, docker_host);
}

void rig__docker_discover(char **out, const char *docker_host, const char *xdg_runtime_dir,
                          int (*is_socket)(const char *path))
{
  if (docker_host && *docker_host) {
    *out = rig__strdup(docker_host);
    return;
  }
  char *candidates[4];
  size_t n = 0;
  candidates[n++] = rig__strdup(DEFAULT_SOCKET);
  if (xdg_runtime_dir && *xdg_runtime_dir)
    candidates[n++] = rig__sprintf("%s/docker.sock", xdg_runtime_dir);
  candidates[n++] = rig__strdup("/run/podman/podman.sock");
  if (xdg_runtime_dir && *xdg_runtime_dir)
    candidates[n++] = rig__sprintf("%s/podman/podman.sock", xdg_runtime_dir);
  const char *chosen = DEFAULT_SOCKET;
  for (size_t i = 0; i < n; i++) {
    if (is_socket && is_socket(candidates[i])) {
      chosen = candidates[i];
      break;
    }
  }
  *out = rig__sprintf("unix://%s", chosen);
  for (size_t i = 0; i < n; i++)
    free(candidates[i]);
}

static int path_is_socket(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

int rig__docker_api_minor(const char *version)
{
  if (!version || strncmp(version, "1.", 2) != 0)
    return -1;
  char *end = NULL;
  long minor = strtol(version + 2, &end, 10);
  if (end == version + 2 || (*end && *end != '.') || minor < 0 || minor > 1000)
    return -1;
  return (int)minor;
}

/* ------------------------------------------------------------------------------------ */
/* Requests and errors                                                                    */

/* Why a unix socket does not answer, in the words of connect(2): curl's own message
 * ("Failed to connect to localhost port 80") would mislead. */
static char *socket_reason(const char *path)
{
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return rig__strdup(strerror(errno));
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  char *reason = NULL;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
    reason = rig__strdup(strerror(errno));
  close(fd);
  return reason;
}

static int connect_error(rig_docker *docker, int code)
{
  const rig_error *last = rig_error_last();
  char *reason = NULL;
  if (docker->socket_path)
    reason = socket_reason(docker->socket_path);
  if (!reason) {
    /* curl's text ends with the reason after the last ": ". */
    const char *text = last && last->message ? last->message : rig_strerror(code);
    const char *colon = strrchr(text, ':');
    reason = rig__strdup(colon && colon[1] ? colon + 2 : text);
  }
  rig_error_set(RIG_ECONNECT, "cannot reach the Docker engine at %s: %s", docker->host, reason);
  rig_error_add_detail("host", "%s", docker->host);
  rig_error_add_detail("hint", CONNECT_HINT);
  free(reason);
  return RIG_ECONNECT;
}

int rig__docker_do(rig_docker *docker, const rig__docker_call *call, rig_http_response *resp)
{
  rig_buf path = RIG_BUF_INIT;
  if (docker->api_version)
    rig__buf_printf(&path, "/v%s", docker->api_version);
  rig__buf_puts(&path, call->path);
  const char *headers[8];
  size_t nh = 0;
  char *content_type = NULL;
  if (call->body || call->content_type) {
    content_type = rig__sprintf("Content-Type: %s",
                                call->content_type ? call->content_type : "application/json");
    headers[nh++] = content_type;
  }
  for (const char *const *h = call->headers; h && *h && nh < 7; h++)
    headers[nh++] = *h;
  headers[nh] = NULL;
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.method = call->method;
  req.path = path.data;
  req.headers = headers;
  req.body = call->body;
  req.body_len = call->body_len;
  req.timeout_ms = call->timeout_ms;
  req.on_data = call->on_data;
  req.userdata = call->userdata;
  req.cancel = call->cancel;
  int rc = rig_http_do(docker->http, &req, resp);
  if (rc == RIG_ECONNECT)
    rc = connect_error(docker, rc);
  else if (rc == RIG_ETIMEOUT)
    rig_error_wrap(RIG_ETIMEOUT, "the Docker engine at %s did not answer %s %s in time",
                   docker->host, call->method ? call->method : "GET", call->path);
  free(content_type);
  rig__buf_dispose(&path);
  return rc;
}

char *rig__docker_engine_message(const char *body, size_t body_len)
{
  if (!body || body_len == 0)
    return rig__strdup("");
  json_tokener *tok = json_tokener_new();
  json_object *obj = json_tokener_parse_ex(tok, body, (int)body_len);
  json_tokener_free(tok);
  char *message = NULL;
  if (obj && json_object_is_type(obj, json_type_object)) {
    const char *text = rig__json_str(obj, "message");
    if (!text)
      text = rig__json_str(obj, "cause"); /* Podman */
    if (text)
      message = rig__strdup(text);
  }
  json_object_put(obj);
  if (message)
    return message;
  size_t start = 0, end = body_len;
  while (start < end && (body[start] == ' ' || body[start] == '\n' || body[start] == '\r'))
    start++;
  while (end > start && (body[end - 1] == ' ' || body[end - 1] == '\n' || body[end - 1] == '\r'))
    end--;
  if (end - start > 500)
    end = start + 500;
  return rig__strndup(body + start, end - start);
}

int rig__docker_error(long status, const char *body, size_t body_len, int not_found_code,
                      const char *what_fmt, ...)
{
  char *message = rig__docker_engine_message(body, body_len);
  va_list ap;
  va_start(ap, what_fmt);
  char *what = rig__vsprintf(what_fmt, ap);
  va_end(ap);
  int code = RIG_EENGINE;
  if (status == 404)
    code = not_found_code ? not_found_code : RIG_ENOTFOUND;
  else if (status == 409)
    code = RIG_ECONFLICT;
  if (*message)
    rig_error_set(code, "%s: %s", what, message);
  else
    rig_error_set(code, "%s: the engine answered HTTP %ld", what, status);
  rig_error_add_detail("status", "%ld", status);
  rig_error_add_detail("engine_message", "%s", message);
  free(message);
  free(what);
  return code;
}

int rig__docker_json(json_object **out_json, rig_docker *docker, const char *method,
                     const char *path, json_object *body, long ok_status, int not_found_code,
                     const char *what)
{
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.method = method;
  call.path = path;
  if (body)
    call.body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
  else if (strcmp(method, "POST") == 0)
    call.content_type = "application/json";
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  if (rc != RIG_OK) {
    if (rc != RIG_ECONNECT)
      rig_error_wrap(RIG_OK, "%s", what);
    return rc;
  }
  if (resp.status >= 300 && resp.status != ok_status) {
    rc = rig__docker_error(resp.status, resp.body, resp.body_len, not_found_code, "%s", what);
    rig_http_response_dispose(&resp);
    return rc;
  }
  if (out_json) {
    json_object *parsed = NULL;
    if (resp.body_len > 0) {
      json_tokener *tok = json_tokener_new();
      parsed = json_tokener_parse_ex(tok, resp.body, (int)resp.body_len);
      json_tokener_free(tok);
      if (!parsed) {
        rc = rig_error_set(RIG_EPARSE, "%s: the engine's answer is not JSON", what);
        rig_http_response_dispose(&resp);
        return rc;
      }
    }
    *out_json = parsed;
  }
  rig_http_response_dispose(&resp);
  return RIG_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Connection                                                                             */

static int connect_http(rig_docker *docker)
{
  rig_http_options http_opts = RIG_HTTP_OPTIONS_INIT;
  http_opts.unix_socket = docker->socket_path;
  http_opts.connect_timeout_ms = docker->connect_timeout_ms;
  http_opts.timeout_ms = docker->timeout_ms;
  return rig_http_new(&docker->http, docker->base_url, &http_opts);
}

void rig_docker_free(rig_docker *docker)
{
  if (!docker)
    return;
  rig_http_free(docker->http);
  free(docker->host);
  free(docker->socket_path);
  free(docker->base_url);
  free(docker->api_version);
  free(docker);
}

static int is_podman_version(json_object *version)
{
  json_object *components = rig__json_get(version, "Components");
  size_t n = components && json_object_is_type(components, json_type_array)
                 ? json_object_array_length(components)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    const char *name = rig__json_str(json_object_array_get_idx(components, i), "Name");
    if (name && strstr(name, "Podman"))
      return 1;
  }
  const char *platform = rig__json_str(rig__json_get(version, "Platform"), "Name");
  return platform && strstr(platform, "Podman") != NULL;
}

static int get_version_json(json_object **out, rig_docker *docker)
{
  /* /version without a prefix: the one call every engine answers before negotiation. */
  char *saved = docker->api_version;
  docker->api_version = NULL;
  int rc = rig__docker_json(out, docker, "GET", "/version", NULL, 0, 0, "GET /version");
  docker->api_version = saved;
  return rc;
}

int rig_docker_open(rig_docker **out, const rig_docker_options *opts)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_docker_open: out is required");
  rig_docker_options defaults = RIG_DOCKER_OPTIONS_INIT;
  if (!opts)
    opts = &defaults;
  char *host = NULL;
  rig__docker_discover(&host, opts->host ? opts->host : getenv("DOCKER_HOST"),
                       getenv("XDG_RUNTIME_DIR"), path_is_socket);
  const char *tls = getenv("DOCKER_TLS_VERIFY");
  rig__docker_endpoint endpoint = {NULL, NULL, NULL};
  int rc = rig__docker_endpoint_parse(&endpoint, host, tls && *tls);
  free(host);
  if (rc != RIG_OK)
    return rc;
  rig_docker *docker = rig__calloc(1, sizeof *docker);
  docker->host = endpoint.host;
  docker->socket_path = endpoint.socket_path;
  docker->base_url = endpoint.base_url;
  docker->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
  docker->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 120000;
  json_object *version = NULL;
  rc = connect_http(docker);
  if (rc == RIG_OK)
    rc = get_version_json(&version, docker);
  if (rc != RIG_OK)
    goto cleanup;
  docker->is_podman = is_podman_version(version);
  const char *forced = opts->api_version;
  if (!forced || !*forced)
    forced = getenv("DOCKER_API_VERSION");
  if (forced && *forced) {
    if (rig__docker_api_minor(forced) < 0) {
      rc = rig_error_set(RIG_EINVAL, "invalid Docker API version '%s': expected 1.<n>", forced);
      goto cleanup;
    }
    docker->api_version = rig__strdup(forced);
  } else {
    const char *server = rig__json_str(version, "ApiVersion");
    int server_minor = rig__docker_api_minor(server);
    if (server_minor < 0) {
      rc = rig_error_set(RIG_EENGINE, "the Docker engine at %s does not report an API version",
                         docker->host);
      goto cleanup;
    }
    if (server_minor < RIG__DOCKER_API_MIN_MINOR) {
      rc = rig_error_set(RIG_EUNSUPPORTED,
                         "the Docker engine at %s speaks API %s; stackrig needs 1.%d or newer",
                         docker->host, server, RIG__DOCKER_API_MIN_MINOR);
      goto cleanup;
    }
    int minor = server_minor < RIG__DOCKER_API_MAX_MINOR ? server_minor : RIG__DOCKER_API_MAX_MINOR;
    docker->api_version = rig__sprintf("1.%d", minor);
  }
  docker->api_minor = rig__docker_api_minor(docker->api_version);
cleanup:
  json_object_put(version);
  if (rc != RIG_OK) {
    rig_docker_free(docker);
    return rc;
  }
  *out = docker;
  return RIG_OK;
}

int rig_docker_clone(rig_docker **out, const rig_docker *docker)
{
  if (!out || !docker)
    return rig_error_set(RIG_EINVAL, "rig_docker_clone: out and docker are required");
  rig_docker *copy = rig__calloc(1, sizeof *copy);
  copy->host = rig__strdup(docker->host);
  copy->socket_path = docker->socket_path ? rig__strdup(docker->socket_path) : NULL;
  copy->base_url = rig__strdup(docker->base_url);
  copy->api_version = docker->api_version ? rig__strdup(docker->api_version) : NULL;
  copy->api_minor = docker->api_minor;
  copy->is_podman = docker->is_podman;
  copy->connect_timeout_ms = docker->connect_timeout_ms;
  copy->timeout_ms = docker->timeout_ms;
  int rc = connect_http(copy);
  if (rc != RIG_OK) {
    rig_docker_free(copy);
    return rc;
  }
  *out = copy;
  return RIG_OK;
}

const char *rig_docker_host(const rig_docker *docker)
{
  return docker ? docker->host : NULL;
}

const char *rig_docker_api_version(const rig_docker *docker)
{
  return docker ? docker->api_version : NULL;
}

int rig_docker_is_podman(const rig_docker *docker)
{
  return docker ? docker->is_podman : 0;
}

int rig_docker_ping(rig_docker *docker)
{
  if (!docker)
    return rig_error_set(RIG_EINVAL, "rig_docker_ping: docker is required");
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.path = "/_ping";
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  if (rc != RIG_OK)
    return rc;
  if (resp.status != 200)
    rc = rig__docker_error(resp.status, resp.body, resp.body_len, 0,
                           "the Docker engine at %s does not answer /_ping", docker->host);
  rig_http_response_dispose(&resp);
  return rc;
}

typedef struct version_box {
  rig_docker_version_info pub;
  rig__arena arena;
} version_box;

int rig_docker_version(rig_docker_version_info **out, rig_docker *docker)
{
  if (!out || !docker)
    return rig_error_set(RIG_EINVAL, "rig_docker_version: out and docker are required");
  json_object *json = NULL;
  int rc = get_version_json(&json, docker);
  if (rc != RIG_OK)
    return rc;
  version_box *box = rig__calloc(1, sizeof *box);
  rig__arena *a = &box->arena;
  rig_docker_version_info *v = &box->pub;
  v->version = rig__arena_strdup(a, rig__json_str(json, "Version"));
  v->api_version = rig__arena_strdup(a, rig__json_str(json, "ApiVersion"));
  v->min_api_version = rig__arena_strdup(a, rig__json_str(json, "MinAPIVersion"));
  v->os = rig__arena_strdup(a, rig__json_str(json, "Os"));
  v->arch = rig__arena_strdup(a, rig__json_str(json, "Arch"));
  v->kernel_version = rig__arena_strdup(a, rig__json_str(json, "KernelVersion"));
  const char *platform = rig__json_str(rig__json_get(json, "Platform"), "Name");
  v->platform_name = rig__arena_strdup(a, platform ? platform : "");
  v->is_podman = is_podman_version(json);
  json_object_put(json);
  *out = v;
  return RIG_OK;
}

void rig_docker_version_info_free(rig_docker_version_info *info)
{
  if (!info)
    return;
  version_box *box = (version_box *)info;
  rig__arena_dispose(&box->arena);
  free(box);
}

typedef struct info_box {
  rig_docker_info pub;
  rig__arena arena;
} info_box;

int rig_docker_info_get(rig_docker_info **out, rig_docker *docker)
{
  if (!out || !docker)
    return rig_error_set(RIG_EINVAL, "rig_docker_info_get: out and docker are required");
  json_object *json = NULL;
  int rc = rig__docker_json(&json, docker, "GET", "/info", NULL, 0, 0, "GET /info");
  if (rc != RIG_OK)
    return rc;
  info_box *box = rig__calloc(1, sizeof *box);
  rig__arena *a = &box->arena;
  rig_docker_info *info = &box->pub;
#define STR(field, key)                                                                            \
  do {                                                                                             \
    const char *value__ = rig__json_str(json, key);                                                \
    info->field = rig__arena_strdup(a, value__ ? value__ : "");                                    \
  } while (0)
  STR(name, "Name");
  STR(server_version, "ServerVersion");
  STR(operating_system, "OperatingSystem");
  STR(os_type, "OSType");
  STR(architecture, "Architecture");
  STR(kernel_version, "KernelVersion");
  STR(storage_driver, "Driver");
  STR(cgroup_driver, "CgroupDriver");
  STR(cgroup_version, "CgroupVersion");
  STR(docker_root_dir, "DockerRootDir");
#undef STR
  info->ncpu = (int)rig__json_int(json, "NCPU");
  info->mem_total = rig__json_int(json, "MemTotal");
  info->containers = rig__json_int(json, "Containers");
  info->containers_running = rig__json_int(json, "ContainersRunning");
  info->images = rig__json_int(json, "Images");
  json_object *security = rig__json_get(json, "SecurityOptions");
  size_t n = security && json_object_is_type(security, json_type_array)
                 ? json_object_array_length(security)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    const char *opt = json_object_get_string(json_object_array_get_idx(security, i));
    if (opt && strstr(opt, "rootless"))
      info->rootless = 1;
  }
  json_object_put(json);
  *out = info;
  return RIG_OK;
}

void rig_docker_info_free(rig_docker_info *info)
{
  if (!info)
    return;
  info_box *box = (info_box *)info;
  rig__arena_dispose(&box->arena);
  free(box);
}

int rig_docker_request(char **out, rig_docker *docker, const char *method, const char *path,
                       const char *json_body)
{
  if (!docker || !path)
    return rig_error_set(RIG_EINVAL, "rig_docker_request: docker and path are required");
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.method = method ? method : (json_body ? "POST" : "GET");
  call.path = path;
  call.body = json_body;
  if (!json_body && strcmp(call.method, "POST") == 0)
    call.content_type = "application/json";
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  if (rc != RIG_OK)
    return rc;
  if (resp.status >= 300)
    rc = rig__docker_error(resp.status, resp.body, resp.body_len, 0, "%s %s", call.method, path);
  else if (out) {
    *out = resp.body;
    resp.body = NULL;
  }
  rig_http_response_dispose(&resp);
  return rc;
}
