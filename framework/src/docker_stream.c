/*
 * docker_stream.c - the engine's streamed answers: the stdout/stderr multiplexing of logs
 * and exec (8-byte frame headers, or raw bytes with a TTY), whole-line regrouping, JSON
 * message streams (events, pull progress), and the calls built on them: logs, exec, events.
 */
#include "docker_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"

/* Bytes of an answer kept to explain a failure: error bodies are short JSON. */
#define ERROR_HEAD_MAX 8192

/* ------------------------------------------------------------------------------------ */
/* Demultiplexing                                                                         */

void rig__docker_demux_init(rig__docker_demux *demux, int raw, rig_docker_output_cb on_output,
                            void *userdata)
{
  memset(demux, 0, sizeof *demux);
  demux->raw = raw;
  demux->on_output = on_output;
  demux->userdata = userdata;
}

int rig__docker_demux_feed(rig__docker_demux *demux, const char *data, size_t len)
{
  if (demux->malformed)
    return 0;
  if (demux->raw)
    return len ? demux->on_output(demux->userdata, RIG_DOCKER_STDOUT, data, len) : 0;
  while (len > 0) {
    if (demux->remaining == 0) {
      size_t take = 8 - demux->header_len;
      if (take > len)
        take = len;
      memcpy(demux->header + demux->header_len, data, take);
      demux->header_len += take;
      data += take;
      len -= take;
      if (demux->header_len < 8)
        return 0;
      const unsigned char *h = demux->header;
      demux->header_len = 0;
      if (h[0] > 3 || h[1] || h[2] || h[3]) {
        demux->malformed = 1;
        return 0;
      }
      demux->stream = (rig_docker_stream)h[0];
      demux->remaining =
          (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | (uint32_t)h[7];
      continue; /* a zero-length frame has nothing to deliver */
    }
    size_t take = demux->remaining < len ? demux->remaining : len;
    demux->remaining -= (uint32_t)take;
    int stop = demux->on_output(demux->userdata, demux->stream, data, take);
    data += take;
    len -= take;
    if (stop)
      return stop;
  }
  return 0;
}

int rig__docker_demux_truncated(const rig__docker_demux *demux)
{
  return !demux->raw && (demux->header_len > 0 || demux->remaining > 0);
}

/* ------------------------------------------------------------------------------------ */
/* Whole lines                                                                            */

void rig__docker_lines_init(rig__docker_lines *lines, rig_docker_output_cb on_output,
                            void *userdata)
{
  memset(lines, 0, sizeof *lines);
  lines->on_output = on_output;
  lines->userdata = userdata;
}

int rig__docker_lines_feed(void *userdata, rig_docker_stream stream, const char *data, size_t len)
{
  rig__docker_lines *lines = userdata;
  rig_buf *partial = &lines->partial[(unsigned)stream & 3];
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    if (!nl) {
      rig__buf_append(partial, data, len);
      return 0;
    }
    size_t take = (size_t)(nl - data) + 1;
    int stop;
    if (partial->len > 0) {
      rig__buf_append(partial, data, take);
      stop = lines->on_output(lines->userdata, stream, partial->data, partial->len);
      rig__buf_clear(partial);
    } else {
      stop = lines->on_output(lines->userdata, stream, data, take);
    }
    data += take;
    len -= take;
    if (stop) {
      /* Keep what was not delivered, in case the caller goes on reading. */
      rig__buf_append(partial, data, len);
      return stop;
    }
  }
  return 0;
}

int rig__docker_lines_flush(rig__docker_lines *lines)
{
  for (unsigned s = 0; s < 4; s++) {
    rig_buf *partial = &lines->partial[s];
    if (partial->len == 0)
      continue;
    int stop = lines->on_output(lines->userdata, (rig_docker_stream)s, partial->data, partial->len);
    rig__buf_clear(partial);
    if (stop)
      return stop;
  }
  return 0;
}

void rig__docker_lines_dispose(rig__docker_lines *lines)
{
  for (unsigned s = 0; s < 4; s++)
    rig__buf_dispose(&lines->partial[s]);
}

/* ------------------------------------------------------------------------------------ */
/* JSON message streams                                                                   */

static int jsonl_line(rig__docker_jsonl *jsonl, const char *line, size_t len)
{
  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
    len--;
  size_t start = 0;
  while (start < len && (line[start] == ' ' || line[start] == '\t'))
    start++;
  if (start == len)
    return 0;
  char *text = rig__strndup(line + start, len - start);
  json_object *obj = json_tokener_parse(text);
  int stop = 0;
  if (obj && json_object_is_type(obj, json_type_object))
    stop = jsonl->on_message(jsonl->userdata, obj, text);
  else
    jsonl->bad_lines++;
  json_object_put(obj);
  free(text);
  return stop;
}

int rig__docker_jsonl_feed(void *userdata, const char *data, size_t len)
{
  rig__docker_jsonl *jsonl = userdata;
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    if (!nl) {
      rig__buf_append(&jsonl->partial, data, len);
      return 0;
    }
    size_t take = (size_t)(nl - data);
    int stop;
    if (jsonl->partial.len > 0) {
      rig__buf_append(&jsonl->partial, data, take);
      stop = jsonl_line(jsonl, jsonl->partial.data, jsonl->partial.len);
      rig__buf_clear(&jsonl->partial);
    } else {
      stop = jsonl_line(jsonl, data, take);
    }
    data += take + 1;
    len -= take + 1;
    if (stop)
      return stop;
  }
  return 0;
}

int rig__docker_jsonl_flush(rig__docker_jsonl *jsonl)
{
  int stop = 0;
  if (jsonl->partial.len > 0)
    stop = jsonl_line(jsonl, jsonl->partial.data, jsonl->partial.len);
  rig__buf_dispose(&jsonl->partial);
  return stop;
}

/* ------------------------------------------------------------------------------------ */
/* Framed output calls (logs, exec start)                                                 */

typedef struct framed {
  rig__docker_demux demux;
  rig__docker_lines lines;
  rig_buf head; /* the first bytes, to explain an error status */
  int stopped;  /* the caller's callback asked to stop */
} framed;

static int framed_on_data(void *userdata, const char *data, size_t len)
{
  framed *f = userdata;
  if (f->head.len < ERROR_HEAD_MAX) {
    size_t keep = ERROR_HEAD_MAX - f->head.len;
    rig__buf_append(&f->head, data, keep < len ? keep : len);
  }
  if (rig__docker_demux_feed(&f->demux, data, len)) {
    f->stopped = 1;
    return 1;
  }
  return 0;
}

static char *ns_timestamp(int64_t ns)
{
  return rig__sprintf("%" PRId64 ".%09" PRId64, ns / 1000000000, ns % 1000000000);
}

int rig_docker_container_logs(rig_docker *docker, const char *id,
                              const rig_docker_logs_options *opts)
{
  if (!docker || !id || !opts || !opts->on_output)
    return rig_error_set(RIG_EINVAL, "logs: docker, a container and opts->on_output are required");
  /* The logs endpoint does not say whether the stream is framed (no Content-Type before
   * API 1.42): the container's TTY setting decides. */
  rig_docker_container *container = NULL;
  int rc = rig_docker_container_inspect(&container, docker, id);
  if (rc != RIG_OK)
    return rig_error_wrap(RIG_OK, "cannot read the logs of container %s", id);
  int tty = container->tty;
  rig_docker_container_free(container);

  char *eid = NULL;
  rig_http_escape(&eid, id);
  rig_buf path = RIG_BUF_INIT;
  rig__buf_printf(&path, "/containers/%s/logs?stdout=%d&stderr=%d", eid, opts->no_stdout ? 0 : 1,
                  opts->no_stderr ? 0 : 1);
  free(eid);
  if (opts->follow)
    rig__buf_puts(&path, "&follow=1");
  if (opts->timestamps)
    rig__buf_puts(&path, "&timestamps=1");
  if (opts->tail_zero)
    rig__buf_puts(&path, "&tail=0");
  else if (opts->tail > 0)
    rig__buf_printf(&path, "&tail=%" PRId64, opts->tail);
  else
    rig__buf_puts(&path, "&tail=all");
  if (opts->since_ns > 0) {
    char *since = ns_timestamp(opts->since_ns);
    rig__buf_printf(&path, "&since=%s", since);
    free(since);
  }
  if (opts->until_ns > 0) {
    char *until = ns_timestamp(opts->until_ns);
    rig__buf_printf(&path, "&until=%s", until);
    free(until);
  }

  framed f;
  memset(&f, 0, sizeof f);
  rig__docker_lines_init(&f.lines, opts->on_output, opts->userdata);
  if (opts->whole_lines)
    rig__docker_demux_init(&f.demux, tty, rig__docker_lines_feed, &f.lines);
  else
    rig__docker_demux_init(&f.demux, tty, opts->on_output, opts->userdata);

  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.path = path.data;
  call.timeout_ms = opts->timeout_ms ? opts->timeout_ms : (opts->follow ? -1 : 0);
  call.on_data = framed_on_data;
  call.userdata = &f;
  call.cancel = opts->cancel;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  rc = rig__docker_do(docker, &call, &resp);
  if (rc == RIG_OK && resp.status >= 300) {
    rc = rig__docker_error(resp.status, f.head.data, f.head.len, 0,
                           "cannot read the logs of container %s", id);
  } else if (rc == RIG_OK && f.demux.malformed) {
    rc =
        rig_error_set(RIG_EPARSE, "logs of container %s: the stream is not framed as expected", id);
  } else if (rc == RIG_OK && !f.stopped && opts->whole_lines) {
    rig__docker_lines_flush(&f.lines);
  } else if (rc != RIG_OK && rc != RIG_ECONNECT) {
    rig_error_wrap(RIG_OK, "reading the logs of container %s", id);
  }
  rig_http_response_dispose(&resp);
  rig__docker_lines_dispose(&f.lines);
  rig__buf_dispose(&f.head);
  rig__buf_dispose(&path);
  return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Exec                                                                                   */

int rig_docker_exec_create(char **out, rig_docker *docker, const char *container,
                           const rig_docker_exec_options *opts)
{
  if (!out || !docker || !container || !opts || !opts->cmd || !opts->cmd[0])
    return rig_error_set(RIG_EINVAL, "exec: out, docker, a container and a command are required");
  json_object *body = json_object_new_object();
  json_object_object_add(body, "AttachStdin", json_object_new_boolean(0));
  json_object_object_add(body, "AttachStdout", json_object_new_boolean(1));
  json_object_object_add(body, "AttachStderr", json_object_new_boolean(1));
  json_object_object_add(body, "Tty", json_object_new_boolean(opts->tty != 0));
  json_object_object_add(body, "Cmd", rig__json_strv(opts->cmd));
  if (opts->env)
    json_object_object_add(body, "Env", rig__json_strv(opts->env));
  if (opts->user)
    json_object_object_add(body, "User", json_object_new_string(opts->user));
  if (opts->working_dir)
    json_object_object_add(body, "WorkingDir", json_object_new_string(opts->working_dir));
  if (opts->privileged)
    json_object_object_add(body, "Privileged", json_object_new_boolean(1));
  char *path = rig__docker_path("containers", container, "/exec");
  char *what = rig__sprintf("cannot run '%s' in container %s", opts->cmd[0], container);
  json_object *answer = NULL;
  int rc = rig__docker_json(&answer, docker, "POST", path, body, 0, 0, what);
  if (rc == RIG_OK) {
    const char *exec_id = rig__json_str(answer, "Id");
    if (exec_id)
      *out = rig__strdup(exec_id);
    else
      rc = rig_error_set(RIG_EPARSE, "%s: the engine's answer has no Id", what);
  }
  json_object_put(answer);
  json_object_put(body);
  free(what);
  free(path);
  return rc;
}

int rig_docker_exec_start(rig_docker *docker, const char *exec_id, int tty,
                          const rig_docker_exec_options *opts)
{
  if (!docker || !exec_id || !opts || !opts->on_output)
    return rig_error_set(RIG_EINVAL,
                         "exec start: docker, an exec ID and opts->on_output are required");
  framed f;
  memset(&f, 0, sizeof f);
  rig__docker_demux_init(&f.demux, tty, opts->on_output, opts->userdata);
  char *path = rig__sprintf("/exec/%s/start", exec_id);
  const char *body = tty ? "{\"Detach\":false,\"Tty\":true}" : "{\"Detach\":false,\"Tty\":false}";
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.method = "POST";
  call.path = path;
  call.body = body;
  call.timeout_ms = opts->timeout_ms;
  call.on_data = framed_on_data;
  call.userdata = &f;
  call.cancel = opts->cancel;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  if (rc == RIG_OK && resp.status >= 300)
    rc = rig__docker_error(resp.status, f.head.data, f.head.len, 0, "cannot start exec %.12s",
                           exec_id);
  else if (rc == RIG_OK && f.demux.malformed)
    rc = rig_error_set(RIG_EPARSE, "exec %.12s: the output stream is not framed as expected",
                       exec_id);
  else if (rc != RIG_OK && rc != RIG_ECONNECT)
    rig_error_wrap(RIG_OK, "running exec %.12s", exec_id);
  rig_http_response_dispose(&resp);
  rig__buf_dispose(&f.head);
  free(path);
  return rc;
}

int rig_docker_exec_inspect(int64_t *out_exit_code, int *out_running, rig_docker *docker,
                            const char *exec_id)
{
  if (!docker || !exec_id)
    return rig_error_set(RIG_EINVAL, "exec inspect: docker and an exec ID are required");
  char *path = rig__sprintf("/exec/%s/json", exec_id);
  char *what = rig__sprintf("cannot inspect exec %.12s", exec_id);
  json_object *json = NULL;
  int rc = rig__docker_json(&json, docker, "GET", path, NULL, 0, 0, what);
  if (rc == RIG_OK) {
    int running = rig__json_bool(json, "Running");
    json_object *code = rig__json_get(json, "ExitCode");
    if (out_exit_code)
      *out_exit_code = (running || !code) ? -1 : json_object_get_int64(code);
    if (out_running)
      *out_running = running;
  }
  json_object_put(json);
  free(what);
  free(path);
  return rc;
}

typedef struct capture {
  rig_buf out;
  rig_buf err;
  const rig_docker_exec_options *opts;
  int stopped; /* the caller's callback asked to stop */
} capture;

static int capture_output(void *userdata, rig_docker_stream stream, const char *data, size_t len)
{
  capture *c = userdata;
  rig__buf_append(stream == RIG_DOCKER_STDOUT ? &c->out : &c->err, data, len);
  if (c->opts->on_output && c->opts->on_output(c->opts->userdata, stream, data, len) != 0) {
    c->stopped = 1;
    return 1;
  }
  return 0;
}

int rig_docker_exec(rig_docker_exec_result **out, rig_docker *docker, const char *container,
                    const rig_docker_exec_options *opts)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_docker_exec: out is required");
  char *exec_id = NULL;
  int rc = rig_docker_exec_create(&exec_id, docker, container, opts);
  if (rc != RIG_OK)
    return rc;
  capture c;
  memset(&c, 0, sizeof c);
  c.opts = opts;
  rig_docker_exec_options start_opts = *opts;
  start_opts.on_output = capture_output;
  start_opts.userdata = &c;
  rc = rig_docker_exec_start(docker, exec_id, opts->tty, &start_opts);
  int64_t exit_code = -1;
  if (rc == RIG_OK && c.stopped) {
    /* The caller stopped reading: the command may go on; report what is known now. */
    rc = rig_docker_exec_inspect(&exit_code, NULL, docker, exec_id);
  } else if (rc == RIG_OK) {
    /* The stream closes when the process's output does; the engine records the exit code
     * a moment later, and offers no way to wait for it: ask again, briefly. */
    int running = 1;
    int64_t delay_ms = 1;
    int64_t deadline = rig__now_ms() + 5000;
    while (rc == RIG_OK) {
      rc = rig_docker_exec_inspect(&exit_code, &running, docker, exec_id);
      if (rc != RIG_OK || !running)
        break;
      if (rig__now_ms() > deadline) {
        rc =
            rig_error_set(RIG_ETIMEOUT, "'%s' in container %s closed its output but has not exited",
                          opts->cmd[0], container);
        break;
      }
      rig__sleep_ms(delay_ms);
      delay_ms = delay_ms < 100 ? delay_ms * 2 : 100;
    }
  }
  if (rc != RIG_OK) {
    rig__buf_dispose(&c.out);
    rig__buf_dispose(&c.err);
    free(exec_id);
    return rc;
  }
  rig_docker_exec_result *result = rig__calloc(1, sizeof *result);
  result->exit_code = exit_code;
  result->stdout_len = c.out.len;
  result->stdout_data = rig__buf_detach(&c.out);
  result->stderr_len = c.err.len;
  result->stderr_data = rig__buf_detach(&c.err);
  free(exec_id);
  *out = result;
  return RIG_OK;
}

void rig_docker_exec_result_free(rig_docker_exec_result *result)
{
  if (!result)
    return;
  free(result->stdout_data);
  free(result->stderr_data);
  free(result);
}

/* ------------------------------------------------------------------------------------ */
/* Events                                                                                 */

typedef struct events_state {
  const rig_docker_events_options *opts;
  rig_buf head;
  int stopped;
} events_state;

const char *rig_docker_event_attribute(const rig_docker_event *event, const char *key)
{
  return event ? rig__docker_label_get(event->attributes, event->attribute_count, key) : NULL;
}

static int on_event_message(void *userdata, json_object *obj, const char *line)
{
  events_state *st = userdata;
  const char *type = rig__json_str(obj, "Type");
  const char *action = rig__json_str(obj, "Action");
  if (!action)
    action = rig__json_str(obj, "status");
  if (!type && !action)
    return 0; /* not an event: an error body, read from head afterwards */
  json_object *actor = rig__json_get(obj, "Actor");
  const char *actor_id = rig__json_str(actor, "ID");
  if (!actor_id)
    actor_id = rig__json_str(obj, "id");
  rig__arena arena = {NULL};
  rig_docker_event event;
  memset(&event, 0, sizeof event);
  event.type = type ? type : "container";
  event.action = action ? action : "";
  event.actor_id = actor_id ? actor_id : "";
  rig__arena_labels(&arena, rig__json_get(actor, "Attributes"), &event.attributes,
                    &event.attribute_count);
  int64_t nanos = rig__json_int(obj, "timeNano");
  event.time_ns = nanos ? nanos : rig__json_int(obj, "time") * 1000000000;
  event.raw_json = line;
  int stop = st->opts->on_event(st->opts->userdata, &event);
  rig__arena_dispose(&arena);
  if (stop)
    st->stopped = 1;
  return stop;
}

typedef struct events_feed {
  events_state *state;
  rig__docker_jsonl *jsonl;
} events_feed;

static int events_on_data(void *userdata, const char *data, size_t len)
{
  events_feed *feed = userdata;
  rig_buf *head = &feed->state->head;
  if (head->len < ERROR_HEAD_MAX) {
    size_t keep = ERROR_HEAD_MAX - head->len;
    rig__buf_append(head, data, keep < len ? keep : len);
  }
  return rig__docker_jsonl_feed(feed->jsonl, data, len);
}

int rig_docker_events(rig_docker *docker, const rig_docker_events_options *opts)
{
  if (!docker || !opts || !opts->on_event)
    return rig_error_set(RIG_EINVAL, "events: docker and opts->on_event are required");
  rig_buf path = RIG_BUF_INIT;
  rig__buf_puts(&path, "/events");
  char *filters = rig__docker_filters_json(opts->filters, opts->filter_count);
  if (filters)
    rig__docker_query(&path, "filters", filters);
  free(filters);
  if (opts->since_ns > 0) {
    char *since = ns_timestamp(opts->since_ns);
    rig__docker_query(&path, "since", since);
    free(since);
  }
  if (opts->until_ns > 0) {
    char *until = ns_timestamp(opts->until_ns);
    rig__docker_query(&path, "until", until);
    free(until);
  }
  events_state st;
  memset(&st, 0, sizeof st);
  st.opts = opts;
  rig__docker_jsonl jsonl;
  memset(&jsonl, 0, sizeof jsonl);
  jsonl.on_message = on_event_message;
  jsonl.userdata = &st;
  events_feed feed = {&st, &jsonl};
  rig__docker_call call = RIG__DOCKER_CALL_INIT;
  call.path = path.data;
  call.timeout_ms = opts->timeout_ms ? opts->timeout_ms : -1;
  call.on_data = events_on_data;
  call.userdata = &feed;
  call.cancel = opts->cancel;
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = rig__docker_do(docker, &call, &resp);
  if (rc == RIG_OK && resp.status >= 300)
    rc = rig__docker_error(resp.status, st.head.data, st.head.len, 0,
                           "cannot read the engine's events");
  else if (rc == RIG_OK && !st.stopped)
    rig__docker_jsonl_flush(&jsonl);
  else if (rc != RIG_OK && rc != RIG_ECONNECT)
    rig_error_wrap(RIG_OK, "reading the engine's events");
  rig__buf_dispose(&jsonl.partial);
  rig_http_response_dispose(&resp);
  rig__buf_dispose(&st.head);
  rig__buf_dispose(&path);
  return rc;
}
