/*
 * wait_service.c - waiting for one service: its containers' state from the engine's events
 * stream (exits, OOM kills, restarts, health), their log lines from followed log streams
 * (log strategies count matches; every new line also prompts the polled probes to try
 * again at once, since services tend to log when they become ready), and a loop that
 * evaluates the strategy tree, polls the probes that must be polled with a short back-off,
 * and otherwise sleeps until something happens.
 *
 * The watcher threads share a reference-counted state with the wait and are let go when it
 * returns: a stream notices its cancel flag only at its next cancel poll (up to 20 ms
 * later, see http.c), and the service must not be declared ready that much late.
 * rig_wait_free() waits for them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack_internal.h"
#include "stackrig/docker.h"
#include "stackrig/error.h"
#include "stackrig/http.h"
#include "util.h"
#include "wait_service.h"

#define LOG_TAIL_LINES 30
#define ATTEMPT_CAP_MS 2000
#define EXEC_ATTEMPT_CAP_MS 10000
/* Without an events stream the state is re-read this often. */
#define INSPECT_FALLBACK_MS 200

typedef struct container_watch {
  char *id;
  char *name;
  rig_docker_container *info; /* the seeding inspect: ports, start time */
  int64_t started_ns;
  int exited;
  int exit_code;
  int oom;
  int restarted;
  int healthy;
  int unhealthy;
  int *log_counts; /* matches per leaf */
} container_watch;

typedef struct svc_state {
  rig_wait *wait;
  char *service;
  rig_wait_spec *spec;
  rig_wait_spec **leaves;
  size_t leaf_count;
  container_watch *containers;
  size_t count;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int refs;
  volatile int stop;
  int aborted;
  uint64_t generation;     /* anything happened */
  uint64_t log_generation; /* a log line arrived */
  int events_ended;
} svc_state;

/* ---- the shared state ---- */

static void state_release(svc_state *st)
{
  pthread_mutex_lock(&st->lock);
  int last = --st->refs == 0;
  pthread_mutex_unlock(&st->lock);
  if (!last)
    return;
  for (size_t i = 0; i < st->count; i++) {
    free(st->containers[i].id);
    free(st->containers[i].name);
    rig_docker_container_free(st->containers[i].info);
    free(st->containers[i].log_counts);
  }
  free(st->containers);
  free(st->leaves);
  rig_wait_spec_free(st->spec);
  free(st->service);
  pthread_cond_destroy(&st->cond);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

/* Call with st->lock held. */
static void changed_locked(svc_state *st, int log_line)
{
  st->generation++;
  if (log_line)
    st->log_generation++;
  pthread_cond_broadcast(&st->cond);
}

void rig__svc_wait_wake(rig__svc_wait *svc)
{
  svc_state *st = svc->state;
  pthread_mutex_lock(&st->lock);
  st->aborted = 1;
  changed_locked(st, 0);
  pthread_mutex_unlock(&st->lock);
}

static void number_leaves(svc_state *st, rig_wait_spec *node)
{
  if (node->kind == RIG_WAIT_ALL || node->kind == RIG_WAIT_ANY) {
    for (size_t i = 0; i < node->child_count; i++)
      number_leaves(st, node->children[i]);
    return;
  }
  node->leaf_index = (int)st->leaf_count;
  st->leaves = rig__realloc(st->leaves, (st->leaf_count + 1) * sizeof *st->leaves);
  st->leaves[st->leaf_count++] = node;
}

static int has_kind(const svc_state *st, int polled)
{
  for (size_t i = 0; i < st->leaf_count; i++) {
    rig_wait_kind k = st->leaves[i]->kind;
    int is_polled =
        k == RIG_WAIT_TCP || k == RIG_WAIT_HTTP || k == RIG_WAIT_SQL || k == RIG_WAIT_EXEC;
    if (polled ? is_polled : k == RIG_WAIT_LOG)
      return 1;
  }
  return 0;
}

static int needs_watch(const svc_state *st)
{
  return !(st->leaf_count == 1 && st->leaves[0]->kind == RIG_WAIT_RUNNING);
}

/* ---- container state ---- */

static container_watch *container_of(svc_state *st, const char *id)
{
  if (!id)
    return NULL;
  for (size_t i = 0; i < st->count; i++)
    if (strcmp(st->containers[i].id, id) == 0)
      return &st->containers[i];
  return NULL;
}

/* Call with st->lock held. */
static void apply_inspect_locked(container_watch *c, const rig_docker_container *info)
{
  if (info->oom_killed)
    c->oom = 1;
  if (info->restarting || info->restart_count > c->info->restart_count)
    c->restarted = 1;
  if (!info->running && !info->restarting && strcmp(info->status, "created") != 0) {
    c->exited = 1;
    c->exit_code = info->exit_code;
  }
  if (info->health_status) {
    c->healthy = strcmp(info->health_status, "healthy") == 0;
    c->unhealthy = strcmp(info->health_status, "unhealthy") == 0;
  }
}

static int refresh_by_inspect(svc_state *st, rig_docker *docker)
{
  for (size_t i = 0; i < st->count; i++) {
    rig_docker_container *info = NULL;
    if (rig_docker_container_inspect(&info, docker, st->containers[i].id) != RIG_OK) {
      rig_error_clear();
      continue;
    }
    pthread_mutex_lock(&st->lock);
    apply_inspect_locked(&st->containers[i], info);
    pthread_mutex_unlock(&st->lock);
    rig_docker_container_free(info);
  }
  return RIG_OK;
}

/* ---- the events watcher ---- */

typedef struct watcher_arg {
  svc_state *st;
  rig_docker *docker;
  size_t container; /* log followers */
  int64_t since_ns;
  char *label_project;
  char *label_service;
} watcher_arg;

static int on_event(void *userdata, const rig_docker_event *event)
{
  watcher_arg *arg = userdata;
  svc_state *st = arg->st;
  pthread_mutex_lock(&st->lock);
  container_watch *c = container_of(st, event->actor_id);
  const char *action = event->action ? event->action : "";
  if (c) {
    if (strcmp(action, "die") == 0) {
      const char *code = rig_docker_event_attribute(event, "exitCode");
      c->exited = 1;
      c->exit_code = code ? atoi(code) : -1;
    } else if (strcmp(action, "oom") == 0) {
      c->oom = 1;
    } else if (strcmp(action, "restart") == 0 || (strcmp(action, "start") == 0 && c->exited)) {
      c->restarted = 1;
    } else if (strncmp(action, "health_status", 13) == 0) {
      c->healthy = strstr(action, ": healthy") != NULL;
      c->unhealthy = strstr(action, ": unhealthy") != NULL;
    }
    changed_locked(st, 0);
  }
  int stop = st->stop;
  pthread_mutex_unlock(&st->lock);
  return stop;
}

static void *events_main(void *p)
{
  watcher_arg *arg = p;
  svc_state *st = arg->st;
  rig_docker_filter filters[3] = {
      {"type", "container"}, {"label", arg->label_project}, {"label", arg->label_service}};
  rig_docker_events_options opts = RIG_DOCKER_EVENTS_OPTIONS_INIT;
  opts.filters = filters;
  opts.filter_count = 3;
  opts.since_ns = arg->since_ns;
  opts.on_event = on_event;
  opts.userdata = arg;
  opts.cancel = &st->stop;
  rig_docker_events(arg->docker, &opts);
  rig_error_clear();
  pthread_mutex_lock(&st->lock);
  st->events_ended = 1;
  changed_locked(st, 0);
  pthread_mutex_unlock(&st->lock);
  rig_wait *wait = st->wait;
  rig_docker_free(arg->docker);
  free(arg->label_project);
  free(arg->label_service);
  free(arg);
  state_release(st);
  rig__wait_thread_ended(wait);
  return NULL;
}

/* ---- log followers ---- */

static int on_log(void *userdata, rig_docker_stream stream, const char *data, size_t len)
{
  watcher_arg *arg = userdata;
  svc_state *st = arg->st;
  if (stream != RIG_DOCKER_STDOUT && stream != RIG_DOCKER_STDERR)
    return 0;
  while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    len--;
  char *line = rig__strndup(data, len);
  pthread_mutex_lock(&st->lock);
  container_watch *c = &st->containers[arg->container];
  for (size_t i = 0; i < st->leaf_count; i++) {
    const rig_wait_spec *leaf = st->leaves[i];
    if (leaf->kind == RIG_WAIT_LOG && regexec(&leaf->regex, line, 0, NULL, 0) == 0)
      c->log_counts[i]++;
  }
  changed_locked(st, 1);
  int stop = st->stop;
  pthread_mutex_unlock(&st->lock);
  free(line);
  return stop;
}

static void *logs_main(void *p)
{
  watcher_arg *arg = p;
  svc_state *st = arg->st;
  rig_docker_logs_options opts = RIG_DOCKER_LOGS_OPTIONS_INIT;
  opts.follow = 1;
  opts.whole_lines = 1;
  opts.since_ns = arg->since_ns;
  opts.on_output = on_log;
  opts.userdata = arg;
  opts.cancel = &st->stop;
  rig_docker_container_logs(arg->docker, st->containers[arg->container].id, &opts);
  rig_error_clear();
  rig_wait *wait = st->wait;
  rig_docker_free(arg->docker);
  free(arg);
  state_release(st);
  rig__wait_thread_ended(wait);
  return NULL;
}

static int start_thread(svc_state *st, rig_docker *docker, void *(*fn)(void *), watcher_arg *arg)
{
  if (rig_docker_clone(&arg->docker, docker) != RIG_OK) {
    free(arg);
    return rig_error_wrap(RIG_OK, "service %s: a connection for its watcher", st->service);
  }
  arg->st = st;
  pthread_mutex_lock(&st->lock);
  st->refs++;
  pthread_mutex_unlock(&st->lock);
  rig__wait_thread_started(st->wait);
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&thread, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    rig_docker_free(arg->docker);
    free(arg->label_project);
    free(arg->label_service);
    free(arg);
    state_release(st);
    rig__wait_thread_ended(st->wait);
    return rig_error_set(RIG_EIO, "service %s: cannot start a watcher thread", st->service);
  }
  return RIG_OK;
}

/* ---- evaluation ---- */

typedef struct leaf_state {
  int ready;
  int failed;
  int attempts;
  int64_t next_due;
  int64_t last_attempt;
  uint64_t seen_log_generation;
  char *detail;
  rig_http *http;
} leaf_state;

/* What one pass sees: a snapshot taken under the lock. */
typedef struct snapshot {
  uint64_t generation;
  uint64_t log_generation;
  container_watch container; /* flags only */
  int *log_counts;
} snapshot;

typedef struct eval_ctx {
  svc_state *st;
  rig_docker *docker;
  size_t index; /* the container */
  const snapshot *snap;
  leaf_state *leaves;
  int64_t start_ms;
  int64_t deadline_ms;
  int64_t next_wake_ms;
  int attempts;
  char *why; /* a failed node's reason */
} eval_ctx;

static void wake_at(eval_ctx *ctx, int64_t at)
{
  if (at < ctx->next_wake_ms)
    ctx->next_wake_ms = at;
}

static int host_port_of(const container_watch *c, int port, const char **host)
{
  const rig_docker_port_mapping *m = rig_docker_container_port(c->info, port, "tcp");
  if (!m || m->host_port <= 0)
    return 0;
  const char *ip = m->host_ip;
  /* Published on every address: reach it on loopback (DESIGN.md: never a container IP). */
  *host = !ip || !*ip || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0 ? "127.0.0.1" : ip;
  return m->host_port;
}

static void attempt(eval_ctx *ctx, const rig_wait_spec *leaf, leaf_state *ls, int64_t now)
{
  const container_watch *c = &ctx->st->containers[ctx->index];
  rig__probe_target target;
  memset(&target, 0, sizeof target);
  target.service = ctx->st->service;
  target.container = c->id;
  if (leaf->kind != RIG_WAIT_EXEC) {
    target.host_port = host_port_of(c, leaf->port, &target.host);
    if (!target.host_port) {
      ls->failed = 1;
      free(ls->detail);
      ls->detail = rig__sprintf("container port %d is not published: add \"127.0.0.1::%d\" to "
                                "the service's ports (readiness is checked from the host)",
                                leaf->port, leaf->port);
      return;
    }
  }
  int64_t cap = leaf->kind == RIG_WAIT_EXEC ? EXEC_ATTEMPT_CAP_MS : ATTEMPT_CAP_MS;
  int64_t left = ctx->deadline_ms - now;
  int64_t timeout = left < cap ? left : cap;
  if (timeout < 1)
    timeout = 1;
  char *detail = NULL;
  int ready = 0;
  switch (leaf->kind) {
  case RIG_WAIT_TCP:
    ready = rig__probe_tcp(&detail, &target, timeout);
    break;
  case RIG_WAIT_HTTP:
    ready = rig__probe_http(&detail, &ls->http, leaf, &target, timeout);
    break;
  case RIG_WAIT_SQL:
    ready = rig__probe_sql(&detail, leaf, &target, timeout);
    break;
  default:
    ready = rig__probe_exec(&detail, ctx->docker, leaf, &target, timeout);
    break;
  }
  ls->last_attempt = rig__now_ms();
  ls->seen_log_generation = ctx->snap->log_generation;
  ctx->attempts++;
  if (ready) {
    ls->ready = 1;
    free(detail);
    return;
  }
  free(ls->detail);
  ls->detail = detail;
  ls->next_due = ls->last_attempt + rig__wait_backoff_ms(ls->attempts);
  ls->attempts++;
}

static char *describe_node(const rig_wait_spec *node)
{
  char *text = NULL;
  rig_wait_spec_describe(&text, node);
  return text;
}

/* 1 ready, 0 not yet, -1 failed (ctx->why says why). */
static int eval(eval_ctx *ctx, const rig_wait_spec *node)
{
  int64_t now = rig__now_ms();
  int state = 0;
  switch (node->kind) {
  case RIG_WAIT_RUNNING:
    state = 1;
    break;
  case RIG_WAIT_HEALTH:
    if (!ctx->st->containers[ctx->index].info->health_status) {
      free(ctx->why);
      ctx->why = rig__strdup("it has no healthcheck (add one to the service, or choose another "
                             "readiness in x-stackrig.ready)");
      return -1;
    }
    state = ctx->snap->container.healthy ? 1 : ctx->snap->container.unhealthy ? -1 : 0;
    if (state < 0) {
      free(ctx->why);
      ctx->why = rig__strdup("its healthcheck reports it unhealthy");
    }
    break;
  case RIG_WAIT_LOG:
    state = ctx->snap->log_counts[node->leaf_index] >= node->count;
    break;
  case RIG_WAIT_TCP:
  case RIG_WAIT_HTTP:
  case RIG_WAIT_SQL:
  case RIG_WAIT_EXEC: {
    leaf_state *ls = &ctx->leaves[node->leaf_index];
    if (!ls->ready && !ls->failed) {
      /* A new log line: the service is doing something, and it often gets ready right
       * after: try again now, and back off from the start again. */
      int64_t due = ls->next_due;
      int woken = ctx->snap->log_generation != ls->seen_log_generation &&
                  ls->last_attempt + RIG__BACKOFF_FIRST_MS < due;
      if (woken)
        due = ls->last_attempt + RIG__BACKOFF_FIRST_MS;
      if (now >= due) {
        if (woken)
          ls->attempts = 0;
        attempt(ctx, node, ls, now);
      } else
        wake_at(ctx, due);
      if (!ls->ready && !ls->failed)
        wake_at(ctx, ls->next_due);
    }
    if (ls->failed) {
      free(ctx->why);
      ctx->why = rig__strdup(ls->detail);
      return -1;
    }
    state = ls->ready;
    break;
  }
  case RIG_WAIT_ALL:
    state = 1;
    for (size_t i = 0; i < node->child_count && state >= 0; i++) {
      int child = eval(ctx, node->children[i]);
      if (child < 0)
        state = -1;
      else if (child == 0)
        state = 0;
    }
    break;
  case RIG_WAIT_ANY: {
    size_t failed = 0;
    for (size_t i = 0; i < node->child_count && state == 0; i++) {
      int child = eval(ctx, node->children[i]);
      if (child > 0)
        state = 1;
      else if (child < 0)
        failed++;
    }
    if (state == 0 && failed == node->child_count)
      state = -1;
    break;
  }
  }
  /* The root's own timeout is the service's deadline (rig_wait_service() set it), which the
   * loop enforces with its own message. */
  if (state == 0 && node->timeout_ms && node != ctx->st->spec) {
    int64_t end = ctx->start_ms + node->timeout_ms;
    if (rig__now_ms() >= end) {
      char *what = describe_node(node);
      char *took = NULL;
      rig_duration_format(&took, node->timeout_ms * 1000000);
      free(ctx->why);
      ctx->why = rig__sprintf("%s did not succeed within its timeout of %s", what, took);
      free(took);
      free(what);
      return -1;
    }
    wake_at(ctx, end);
  }
  return state;
}

/* The most telling reason a tree is not ready: the latest answer of a pending probe. */
static const char *last_detail(const eval_ctx *ctx, const rig_wait_spec **leaf_out)
{
  const char *detail = NULL;
  int64_t latest = -1;
  for (size_t i = 0; i < ctx->st->leaf_count; i++) {
    const leaf_state *ls = &ctx->leaves[i];
    if (!ls->ready && ls->detail && ls->last_attempt > latest) {
      latest = ls->last_attempt;
      detail = ls->detail;
      *leaf_out = ctx->st->leaves[i];
    }
  }
  return detail;
}

/* ---- errors ---- */

typedef struct tail_buf {
  rig_buf text;
  size_t lines;
} tail_buf;

static int on_tail_line(void *userdata, rig_docker_stream stream, const char *data, size_t len)
{
  tail_buf *tail = userdata;
  if (stream != RIG_DOCKER_STDOUT && stream != RIG_DOCKER_STDERR)
    return 0;
  while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    len--;
  rig__buf_puts(&tail->text, "\n  | ");
  rig__buf_append(&tail->text, data, len);
  tail->lines++;
  return 0;
}

/* "; last 30 log lines of demo-web-1:\n  | ..." or "" */
static char *log_tail(rig_docker *docker, const container_watch *c)
{
  tail_buf tail = {RIG_BUF_INIT, 0};
  rig_docker_logs_options opts = RIG_DOCKER_LOGS_OPTIONS_INIT;
  opts.tail = LOG_TAIL_LINES;
  opts.whole_lines = 1;
  opts.on_output = on_tail_line;
  opts.userdata = &tail;
  opts.timeout_ms = 5000;
  int rc = rig_docker_container_logs(docker, c->id, &opts);
  char *result;
  if (rc != RIG_OK) {
    const rig_error *err = rig_error_last();
    result = rig__sprintf("; its log could not be read: %s", err && err->text ? err->text : "?");
  } else if (tail.lines == 0) {
    result = rig__sprintf("; %s wrote nothing to its log", c->name);
  } else {
    result = rig__sprintf("; last %zu log lines of %s:%s", tail.lines, c->name, tail.text.data);
  }
  rig__buf_dispose(&tail.text);
  return result;
}

static int fail_container(svc_state *st, rig_docker *docker, size_t index, const snapshot *snap,
                          const char *strategy)
{
  container_watch *c = &st->containers[index];
  int exit_code = snap->container.exit_code;
  int exited = snap->container.exited;
  if (!exited || exit_code < 0) {
    /* OOM-killed or restarting: the engine knows the exit code once it died. */
    rig_docker_container *info = NULL;
    if (rig_docker_container_inspect(&info, docker, c->id) == RIG_OK) {
      if (!info->running) {
        exited = 1;
        exit_code = info->exit_code;
      } else if (info->restart_count > c->info->restart_count) {
        exit_code = info->exit_code;
      }
      rig_docker_container_free(info);
    }
    rig_error_clear();
  }
  const char *what = snap->container.oom         ? "was OOM-killed"
                     : snap->container.restarted ? "restarted"
                                                 : "exited";
  char *code_text = exit_code >= 0 && (exited || snap->container.restarted)
                        ? rig__sprintf(" with code %d", exit_code)
                        : rig__strdup("");
  char *tail = log_tail(docker, c);
  int rc = rig_error_set(RIG_EEXITED, "service %s %s%s while waiting to be ready (%s)%s",
                         st->service, what, code_text, strategy, tail);
  rig_error_add_detail("service", "%s", st->service);
  rig_error_add_detail("container", "%s", c->name);
  rig_error_add_detail("exit_code", "%d", exit_code);
  free(code_text);
  free(tail);
  return rc;
}

static int fail_not_ready(svc_state *st, rig_docker *docker, const eval_ctx *ctx, int code,
                          const char *strategy, const char *reason)
{
  const container_watch *c = &st->containers[ctx->index];
  const rig_wait_spec *leaf = NULL;
  const char *detail = last_detail(ctx, &leaf);
  char *leaf_text = leaf ? describe_node(leaf) : NULL;
  char *tail = log_tail(docker, c);
  rig_error_clear();
  int rc = rig_error_set(code, "service %s is not ready (%s): %s%s%s%s%s%s", st->service, strategy,
                         reason, detail ? "; last answer of " : "", leaf_text ? leaf_text : "",
                         detail ? ": " : "", detail ? detail : "", tail);
  rig_error_add_detail("service", "%s", st->service);
  rig_error_add_detail("container", "%s", c->name);
  if (code == RIG_ETIMEOUT)
    rig_error_add_detail("hint", "see the service's log lines above; a slow machine may need a "
                                 "longer timeout (x-stackrig: { timeout: 2m }, or up --timeout)");
  free(leaf_text);
  free(tail);
  return rc;
}

/* ---- the loop ---- */

static void take_snapshot(svc_state *st, size_t index, snapshot *snap)
{
  pthread_mutex_lock(&st->lock);
  snap->generation = st->generation;
  snap->log_generation = st->log_generation;
  snap->container = st->containers[index];
  memcpy(snap->log_counts, st->containers[index].log_counts,
         (st->leaf_count ? st->leaf_count : 1) * sizeof(int));
  pthread_mutex_unlock(&st->lock);
}

/* The first container of the service that exited, was OOM-killed or restarted, or -1. */
static int failed_container(svc_state *st)
{
  int found = -1;
  pthread_mutex_lock(&st->lock);
  for (size_t i = 0; i < st->count && found < 0; i++) {
    const container_watch *c = &st->containers[i];
    if (c->exited || c->oom || c->restarted)
      found = (int)i;
  }
  pthread_mutex_unlock(&st->lock);
  return found;
}

static void sleep_until_change(svc_state *st, uint64_t generation, int64_t until_ms)
{
  pthread_mutex_lock(&st->lock);
  while (st->generation == generation && !st->aborted) {
    int64_t left = until_ms - rig__now_ms();
    if (left <= 0)
      break;
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_sec += left / 1000;
    at.tv_nsec += (left % 1000) * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
      at.tv_sec++;
      at.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&st->cond, &st->lock, &at);
  }
  pthread_mutex_unlock(&st->lock);
}

static int wait_container(svc_state *st, rig_docker *docker, size_t index, int64_t deadline_ms,
                          int deadline_is_service_timeout, const char *strategy, int *attempts)
{
  leaf_state *leaves = rig__calloc(st->leaf_count ? st->leaf_count : 1, sizeof *leaves);
  snapshot snap;
  memset(&snap, 0, sizeof snap);
  snap.log_counts = rig__calloc(st->leaf_count ? st->leaf_count : 1, sizeof(int));
  eval_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.st = st;
  ctx.docker = docker;
  ctx.index = index;
  ctx.snap = &snap;
  ctx.leaves = leaves;
  ctx.start_ms = rig__now_ms();
  ctx.deadline_ms = deadline_ms;
  int rc = RIG_OK;
  for (;;) {
    take_snapshot(st, index, &snap);
    pthread_mutex_lock(&st->lock);
    int aborted = st->aborted;
    int events_ended = st->events_ended;
    pthread_mutex_unlock(&st->lock);
    if (aborted || rig__wait_aborted(st->wait)) {
      rc = rig_error_set(RIG_EINTERRUPTED, "service %s: wait stopped: up failed elsewhere",
                         st->service);
      break;
    }
    if (events_ended) {
      refresh_by_inspect(st, docker);
      take_snapshot(st, index, &snap);
    }
    int bad = failed_container(st);
    if (bad >= 0) {
      snapshot bad_snap = snap;
      if ((size_t)bad != index) {
        bad_snap.log_counts = rig__calloc(st->leaf_count ? st->leaf_count : 1, sizeof(int));
        take_snapshot(st, (size_t)bad, &bad_snap);
      }
      rc = fail_container(st, docker, (size_t)bad, &bad_snap, strategy);
      if (bad_snap.log_counts != snap.log_counts)
        free(bad_snap.log_counts);
      break;
    }
    ctx.next_wake_ms = deadline_ms;
    if (events_ended && ctx.next_wake_ms > rig__now_ms() + INSPECT_FALLBACK_MS)
      ctx.next_wake_ms = rig__now_ms() + INSPECT_FALLBACK_MS;
    int state = eval(&ctx, st->spec);
    if (state > 0)
      break;
    /* A probe may have taken a while: the container may have died meanwhile. */
    if (failed_container(st) >= 0)
      continue;
    if (state < 0) {
      int code = strstr(ctx.why, "within its timeout") ? RIG_ETIMEOUT : RIG_ENOTREADY;
      rc = fail_not_ready(st, docker, &ctx, code, strategy, ctx.why);
      break;
    }
    if (rig__now_ms() >= deadline_ms) {
      int64_t waited = rig__now_ms() - ctx.start_ms;
      char *reason =
          deadline_is_service_timeout
              ? rig__sprintf("not ready within its timeout (waited %.1fs)", (double)waited / 1000.0)
              : rig__sprintf("not ready before the deadline (waited %.1fs)",
                             (double)waited / 1000.0);
      rc = fail_not_ready(st, docker, &ctx, RIG_ETIMEOUT, strategy, reason);
      free(reason);
      break;
    }
    sleep_until_change(st, snap.generation, ctx.next_wake_ms);
  }
  *attempts += ctx.attempts;
  for (size_t i = 0; i < st->leaf_count; i++) {
    free(leaves[i].detail);
    rig_http_free(leaves[i].http);
  }
  free(leaves);
  free(snap.log_counts);
  free(ctx.why);
  return rc;
}

/* ---- setting up ---- */

static int find_containers(svc_state *st, rig_docker *docker, const char *project)
{
  rig_docker_containers *list = NULL;
  int rc = rig__stack_list_containers(&list, docker, project);
  if (rc != RIG_OK)
    return rig_error_wrap(RIG_OK, "service %s: listing its containers", st->service);
  for (size_t i = 0; i < list->count; i++) {
    const rig_docker_container_summary *s = &list->items[i];
    if (!rig__streq(rig_docker_summary_label(s, RIG__LABEL_SERVICE), st->service) ||
        rig__streq(rig_docker_summary_label(s, RIG__LABEL_ONEOFF), "True"))
      continue;
    rig_docker_container *info = NULL;
    if (rig_docker_container_inspect(&info, docker, s->id) != RIG_OK) {
      rig_error_clear();
      continue; /* removed meanwhile */
    }
    st->containers = rig__realloc(st->containers, (st->count + 1) * sizeof *st->containers);
    container_watch *c = &st->containers[st->count++];
    memset(c, 0, sizeof *c);
    c->id = rig__strdup(info->id);
    c->name = rig__strdup(info->name);
    c->info = info;
    c->exit_code = -1;
    c->started_ns = rig__wait_parse_time(info->started_at);
    c->log_counts = rig__calloc(st->leaf_count ? st->leaf_count : 1, sizeof(int));
    apply_inspect_locked(c, info);
  }
  rig_docker_containers_free(list);
  if (st->count == 0)
    return rig_error_set(RIG_ENOTFOUND, "service %s has no container in project %s", st->service,
                         project);
  return RIG_OK;
}

static int start_watchers(svc_state *st, rig_docker *docker, const char *project, int64_t since_ns)
{
  watcher_arg *arg = rig__calloc(1, sizeof *arg);
  arg->since_ns = since_ns;
  arg->label_project = rig__sprintf("%s=%s", RIG__LABEL_PROJECT, project);
  arg->label_service = rig__sprintf("%s=%s", RIG__LABEL_SERVICE, st->service);
  int rc = start_thread(st, docker, events_main, arg);
  if (rc != RIG_OK || !(has_kind(st, 0) || has_kind(st, 1)))
    return rc;
  for (size_t i = 0; i < st->count && rc == RIG_OK; i++) {
    arg = rig__calloc(1, sizeof *arg);
    arg->container = i;
    /* "since the container started": a container restarted in place keeps the log of its
     * earlier runs. */
    arg->since_ns = st->containers[i].info->restart_count > 0 ? st->containers[i].started_ns : 0;
    rc = start_thread(st, docker, logs_main, arg);
  }
  return rc;
}

int rig_wait_service(rig_wait *wait, rig_stack *stack, const char *service, int64_t deadline_ms)
{
  if (!wait || !stack || !service)
    return rig_error_set(RIG_EINVAL, "rig_wait_service: wait, stack and service are required");
  const rig_compose_project *project = rig_stack_project(stack);
  if (!project)
    return rig_error_set(RIG_EINVAL,
                         "service %s: waiting needs the stack's compose project "
                         "(a stack opened by name has none)",
                         service);
  const rig_compose_service *svc = rig_compose_find_service(project, service);
  if (!svc)
    return rig_error_set(RIG_ENOTFOUND, "project %s has no service %s", project->name, service);
  rig_wait_spec *spec = NULL;
  int rc = rig_wait_spec_for_service(&spec, svc);
  if (rc != RIG_OK)
    return rc;
  int64_t timeout = spec->timeout_ms ? spec->timeout_ms : rig__wait_service_timeout_ms(wait);
  int by_service_timeout = 0;
  if (timeout > 0 && rig__now_ms() + timeout < deadline_ms) {
    deadline_ms = rig__now_ms() + timeout;
    by_service_timeout = 1;
  }
  char *strategy = NULL;
  rig_wait_spec_describe(&strategy, spec);

  svc_state *st = rig__calloc(1, sizeof *st);
  st->wait = wait;
  st->service = rig__strdup(service);
  st->spec = spec;
  st->refs = 1;
  pthread_mutex_init(&st->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&st->cond, &attr);
  pthread_condattr_destroy(&attr);
  number_leaves(st, spec);
  rig__svc_wait handle = {NULL, st};
  int registered = 0;

  rig_docker *docker = NULL;
  int64_t since_ns = rig__wall_ns();
  if ((rc = rig__stack_docker_clone(&docker, stack)) != RIG_OK ||
      (rc = find_containers(st, docker, project->name)) != RIG_OK)
    goto done;
  if (needs_watch(st) && (rc = start_watchers(st, docker, project->name, since_ns)) != RIG_OK)
    goto done;
  registered = 1;
  if (rig__wait_register(wait, &handle)) {
    rc = rig_error_set(RIG_EINTERRUPTED, "service %s: wait stopped: up failed elsewhere", service);
    goto done;
  }
  int attempts = 0;
  for (size_t i = 0; i < st->count && rc == RIG_OK; i++)
    rc = wait_container(st, docker, i, deadline_ms, by_service_timeout, strategy, &attempts);
  if (rc == RIG_OK)
    rig__wait_record(wait, service, strategy, rig__now_ms(), rig__wall_ns(), attempts);

done:
  if (registered)
    rig__wait_unregister(wait, &handle);
  pthread_mutex_lock(&st->lock);
  st->stop = 1;
  pthread_mutex_unlock(&st->lock);
  /* The error text lives in thread-local storage; the watchers clear only their own. */
  state_release(st);
  rig_docker_free(docker);
  free(strategy);
  return rc;
}
