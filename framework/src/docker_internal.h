/*
 * docker_internal.h - what the docker*.c files share: the connection, the request core
 * with its error mapping, JSON helpers, an arena for the structs handed to callers, and
 * the pure parts (DOCKER_HOST parsing, filters, stream demux, create body) that the unit
 * tests reach directly.
 */
#ifndef RIG_DOCKER_INTERNAL_H
#define RIG_DOCKER_INTERNAL_H

#include <json-c/json.h>

#include "stackrig/docker.h"
#include "stackrig/http.h"
#include "util.h"

/* The highest API version this client speaks, and the lowest it accepts. */
#define RIG__DOCKER_API_MAX_MINOR 45
#define RIG__DOCKER_API_MIN_MINOR 24

struct rig_docker {
  rig_http *http;
  char *host;        /* "unix:///var/run/docker.sock", "tcp://h:2375" */
  char *socket_path; /* for unix:// */
  char *base_url;    /* "http://localhost", "http://h:2375" */
  char *api_version; /* "1.41" */
  int api_minor;     /* 41 */
  int is_podman;
  int64_t connect_timeout_ms;
  int64_t timeout_ms;
};

/* ---- engine address ---- */

typedef struct rig__docker_endpoint {
  char *host;        /* normalised: "unix:///path" or "tcp://host:port[/prefix]" */
  char *socket_path; /* NULL for tcp */
  char *base_url;
} rig__docker_endpoint;

/* Parses a DOCKER_HOST value. tls_verify: DOCKER_TLS_VERIFY is set (non-empty).
 * RIG_EINVAL for malformed values, RIG_EUNSUPPORTED for ssh://, npipe://, fd://, TLS. */
int rig__docker_endpoint_parse(rig__docker_endpoint *out, const char *docker_host, int tls_verify);
void rig__docker_endpoint_dispose(rig__docker_endpoint *endpoint);

/* Chooses the engine address: explicit (option) or DOCKER_HOST when set, else the first of
 * the default sockets for which is_socket() says yes, else /var/run/docker.sock.
 * xdg_runtime_dir may be NULL. *out is a DOCKER_HOST-style string; free() it. */
void rig__docker_discover(char **out, const char *docker_host, const char *xdg_runtime_dir,
                          int (*is_socket)(const char *path));

/* "1.41" -> 41; -1 for anything that is not "1.<n>". */
int rig__docker_api_minor(const char *version);

/* ---- requests ---- */

typedef struct rig__docker_call {
  const char *method;
  const char *path; /* without the version prefix */
  const char *body;
  size_t body_len;
  const char *content_type; /* NULL: application/json when there is a body */
  const char *const *headers;
  int64_t timeout_ms; /* 0: the connection's default; -1: none */
  rig_http_data_cb on_data;
  void *userdata;
  const volatile int *cancel;
} rig__docker_call;

#define RIG__DOCKER_CALL_INIT                                                                      \
  {                                                                                                \
    NULL, NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL                                           \
  }

/* Sends a call with the version prefix. RIG_OK whatever the status; RIG_ECONNECT as
 * "cannot reach the Docker engine at <host>: <reason>" with a hint. */
int rig__docker_do(rig_docker *docker, const rig__docker_call *call, rig_http_response *resp);

/* Turns an answer with status >= 400 into the thread's error and returns its code:
 * "<what>: <engine message>", details status and engine_message. not_found_code is the
 * code for 404 (RIG_ENOTFOUND normally). */
int rig__docker_error(long status, const char *body, size_t body_len, int not_found_code,
                      const char *what_fmt, ...) RIG_PRINTF(5, 6);

/* The engine's message from an error body ({"message": ...}; a non-JSON body trimmed);
 * a newly allocated string. */
char *rig__docker_engine_message(const char *body, size_t body_len);

/* GET/POST/DELETE with the error mapping: *out_json (may be NULL) receives the parsed
 * body on 2xx. ok_status: an extra non-2xx status that counts as success (304), or 0. */
int rig__docker_json(json_object **out_json, rig_docker *docker, const char *method,
                     const char *path, json_object *body, long ok_status, int not_found_code,
                     const char *what);

/* ---- JSON helpers ---- */

const char *rig__json_str(json_object *obj, const char *key);  /* NULL when absent */
int64_t rig__json_int(json_object *obj, const char *key);      /* 0 when absent */
int rig__json_bool(json_object *obj, const char *key);         /* 0 when absent */
json_object *rig__json_get(json_object *obj, const char *key); /* NULL when absent */
json_object *rig__json_strv(const char *const *list);          /* array, or NULL */
json_object *rig__json_labels(const rig_docker_label *labels, size_t count);

/* The filters query value: {"label":["a=b"],"type":["container"]}, or NULL for none. */
char *rig__docker_filters_json(const rig_docker_filter *filters, size_t count);

/* Appends "&name=<escaped value>" (or "?" first when path has no query yet). */
void rig__docker_query(rig_buf *path, const char *name, const char *value);
/* "/<collection>/<id, escaped>" followed by the formatted rest ("/json", "?force=%d"), if
 * rest_fmt is not NULL; free() it. */
char *rig__docker_path(const char *collection, const char *id, const char *rest_fmt, ...)
    RIG_PRINTF(3, 4);

/* ---- arena: the structs handed to callers are built in one, freed at once ---- */

typedef struct rig__arena_block rig__arena_block;
typedef struct rig__arena {
  rig__arena_block *head;
} rig__arena;

void *rig__arena_alloc(rig__arena *arena, size_t size);    /* zeroed, aligned */
char *rig__arena_strdup(rig__arena *arena, const char *s); /* NULL stays NULL */
void rig__arena_dispose(rig__arena *arena);
/* Labels of a JSON object of strings, sorted by key. */
void rig__arena_labels(rig__arena *arena, json_object *map, const rig_docker_label **out,
                       size_t *out_count);
/* A NULL-terminated copy of a JSON array of strings (empty for NULL). */
const char *const *rig__arena_strv(rig__arena *arena, json_object *array);
const char *rig__docker_label_get(const rig_docker_label *labels, size_t count, const char *key);

/* ---- streams ---- */

/* Splits the engine's multiplexed stdout/stderr stream (8-byte headers: stream type, three
 * zero bytes, big-endian payload size), or passes a raw (TTY) stream as stdout. */
typedef struct rig__docker_demux {
  int raw;
  unsigned char header[8];
  size_t header_len;
  uint32_t remaining;
  rig_docker_stream stream;
  int malformed; /* a header that is not one: the body is something else (an error) */
  rig_docker_output_cb on_output;
  void *userdata;
} rig__docker_demux;

void rig__docker_demux_init(rig__docker_demux *demux, int raw, rig_docker_output_cb on_output,
                            void *userdata);
/* 0 to go on, non-zero when the callback asked to stop. */
int rig__docker_demux_feed(rig__docker_demux *demux, const char *data, size_t len);
/* 1 when the stream ended inside a frame. */
int rig__docker_demux_truncated(const rig__docker_demux *demux);

/* Regroups output into whole lines, per stream. */
typedef struct rig__docker_lines {
  rig_buf partial[4];
  rig_docker_output_cb on_output;
  void *userdata;
} rig__docker_lines;

void rig__docker_lines_init(rig__docker_lines *lines, rig_docker_output_cb on_output,
                            void *userdata);
/* An rig_docker_output_cb: userdata is the rig__docker_lines. */
int rig__docker_lines_feed(void *lines, rig_docker_stream stream, const char *data, size_t len);
/* Delivers the unterminated rests; 0 or the callback's stop. */
int rig__docker_lines_flush(rig__docker_lines *lines);
void rig__docker_lines_dispose(rig__docker_lines *lines);

/* Cuts a stream of JSON messages (events, pull progress) into lines and parses each. */
typedef struct rig__docker_jsonl {
  rig_buf partial;
  /* 0 to go on, non-zero to stop; obj is borrowed, line is its text */
  int (*on_message)(void *userdata, json_object *obj, const char *line);
  void *userdata;
  int bad_lines;
} rig__docker_jsonl;

/* An rig_http_data_cb: userdata is the rig__docker_jsonl. */
int rig__docker_jsonl_feed(void *jsonl, const char *data, size_t len);
/* Parses a last line without '\n'; 0 or the callback's stop. */
int rig__docker_jsonl_flush(rig__docker_jsonl *jsonl);

/* ---- containers ---- */

/* The POST /containers/create body (only the first endpoint in NetworkingConfig when
 * api_minor < 44). RIG_EINVAL for a spec without an image or with bad extra_json. */
int rig__docker_create_body(char **out, const rig_docker_container_spec *spec, int api_minor);

/* "/containers/json?all=1&filters=..." (and the same for the other lists). */
char *rig__docker_list_path(const char *base, const rig_docker_list_options *opts, int with_all);

/* Splits an image reference into the name and the tag or digest that the pull endpoint
 * takes ("postgres:17" -> "postgres", "17"; "h:5000/x" -> "h:5000/x", "latest"). */
void rig__docker_split_ref(char **out_name, char **out_tag, const char *ref);

#endif
