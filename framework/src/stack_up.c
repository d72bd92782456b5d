/*
 * stack_up.c - bringing a stack up. One worker thread per service (each with its own
 * engine connection) creates its containers, waits until its dependencies meet their
 * depends_on conditions, starts them and waits for its own readiness; so independent
 * services start in parallel and a service starts as soon as its own dependencies allow,
 * not when a whole wave is done. Container state comes from one events stream filtered on
 * the session label (replayed from the start of up, so nothing is missed), never from
 * polling loops. A failure anywhere stops the others and removes everything the session
 * created.
 */
#include "stack_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stackrig/error.h"
#include "util.h"

typedef struct up_ctx up_ctx;

/* One service during up. The replica flags are written by the events thread and by the
 * worker's seeding inspect, under ctx->lock. */
typedef struct svc_run {
  up_ctx *ctx;
  size_t index;
  const rig_compose_service *service;
  int replicas;
  char **ids;
  char **names;
  int *started;
  int *exited;
  int *exit_codes;
  int *healthy;
  int *unhealthy;
  int *oom;
  int created;           /* all replicas created */
  int start_requested;   /* all replicas started (start calls returned) */
  int has_health;        /* known once start_requested */
  int completion_target; /* a dependent waits for service_completed_successfully */
  int done;              /* the worker finished successfully */
  int failed;
  int err_code;
  char *err_text;
  char *err_hint;
  char *err_service; /* the service the error names, when not this one */
  int64_t failed_at_ns;
  pthread_t thread;
  int thread_started;
} svc_run;

struct up_ctx {
  rig_stack *stack;
  const rig_compose_project *project;
  svc_run *runs;
  size_t count;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int abort;
  int wait_ready;
  int64_t deadline_ms;
  size_t roots_pending; /* services without dependencies whose start has not returned */
  volatile int stop_events;
  rig_docker *events_docker;
  pthread_t events_thread;
  int events_started;
  int events_ended;
  int events_rc;
  char *events_error;
  rig__label_context labels;
};

/* ---- waiting ---- */

static void wait_until(up_ctx *ctx, int64_t deadline_ms)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t left = deadline_ms - rig__now_ms();
  if (left <= 0)
    return;
  if (left > 1000)
    left = 1000; /* re-check the deadline (and a stuck event stream) at least once a second */
  struct timespec at = now;
  at.tv_sec += left / 1000;
  at.tv_nsec += (left % 1000) * 1000000L;
  if (at.tv_nsec >= 1000000000L) {
    at.tv_sec++;
    at.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&ctx->cond, &ctx->lock, &at);
}

/* Records a failure of run; call with ctx->lock held. The message is the thread's last
 * error wrapped with the service name (it lives in thread-local storage: the main thread
 * re-raises it from the copy). */
static void fail_locked(svc_run *run, int code, const char *hint)
{
  if (run->failed)
    return;
  const rig_error *err = rig_error_last();
  run->failed = 1;
  run->err_code = code;
  run->err_text = rig__strdup(err && err->text ? err->text : rig_strerror(code));
  const char *detail_hint = err ? rig_error_detail_get(err, "hint") : NULL;
  run->err_hint = hint ? rig__strdup(hint) : detail_hint ? rig__strdup(detail_hint) : NULL;
  const char *named = err ? rig_error_detail_get(err, "service") : NULL;
  run->err_service = named ? rig__strdup(named) : NULL;
  run->failed_at_ns = rig__now_ns();
  run->ctx->abort = 1;
  pthread_cond_broadcast(&run->ctx->cond);
}

static void fail(svc_run *run, int code, const char *hint)
{
  pthread_mutex_lock(&run->ctx->lock);
  fail_locked(run, code, hint);
  pthread_mutex_unlock(&run->ctx->lock);
  rig__stack_progress(run->ctx->stack, run->service->name, run->names ? run->names[0] : NULL,
                      RIG_STACK_PHASE_FAILED, -1, run->err_text);
}

static int all_set(const int *flags, int n)
{
  for (int i = 0; i < n; i++)
    if (!flags[i])
      return 0;
  return n > 0;
}

static int any_set(const int *flags, int n)
{
  for (int i = 0; i < n; i++)
    if (flags[i])
      return 1;
  return 0;
}

static int all_completed(const svc_run *run)
{
  if (!all_set(run->exited, run->replicas))
    return 0;
  for (int i = 0; i < run->replicas; i++)
    if (run->exit_codes[i] != 0)
      return 0;
  return 1;
}

static int first_nonzero_exit(const svc_run *run, int *code)
{
  for (int i = 0; i < run->replicas; i++)
    if (run->exited[i] && run->exit_codes[i] != 0) {
      *code = run->exit_codes[i];
      return 1;
    }
  return 0;
}

/* 1: satisfied, 0: not yet, -1: failed (error set). Call with ctx->lock held. */
static int dependency_state(svc_run *run, const rig_compose_dependency *dep, svc_run *dep_run)
{
  if (dep_run->failed) {
    if (!dep->required)
      return 1;
    rig_error_set(RIG_ENOTREADY, "service %s: dependency %s failed", run->service->name,
                  dep->service);
    return -1;
  }
  int code = 0;
  switch (dep->condition) {
  case RIG_COMPOSE_CONDITION_COMPLETED_SUCCESSFULLY:
    if (first_nonzero_exit(dep_run, &code)) {
      rig_error_set(RIG_EEXITED,
                    "service %s exited with code %d (service %s waits for it "
                    "to complete successfully)",
                    dep->service, code, run->service->name);
      rig_error_add_detail("service", "%s", dep->service);
      rig_error_add_detail("exit_code", "%d", code);
      return dep->required ? -1 : 1;
    }
    return all_completed(dep_run);
  case RIG_COMPOSE_CONDITION_HEALTHY:
    if (!dep_run->start_requested)
      return 0;
    if (!dep_run->has_health) {
      rig_error_set(RIG_EINVAL,
                    "service %s waits for %s to be healthy, but %s has no "
                    "healthcheck",
                    run->service->name, dep->service, dep->service);
      return dep->required ? -1 : 1;
    }
    if (any_set(dep_run->unhealthy, dep_run->replicas)) {
      rig_error_set(RIG_ENOTREADY, "service %s is unhealthy (service %s waits for it)",
                    dep->service, run->service->name);
      return dep->required ? -1 : 1;
    }
    if (first_nonzero_exit(dep_run, &code) || (any_set(dep_run->exited, dep_run->replicas) &&
                                               !all_set(dep_run->healthy, dep_run->replicas))) {
      rig_error_set(RIG_EEXITED, "service %s exited with code %d before it was healthy",
                    dep->service, code);
      return dep->required ? -1 : 1;
    }
    return all_set(dep_run->healthy, dep_run->replicas);
  default:
    return dep_run->start_requested && (all_set(dep_run->started, dep_run->replicas) ||
                                        all_set(dep_run->exited, dep_run->replicas));
  }
}

/* ---- events ---- */

static svc_run *run_of_event(up_ctx *ctx, const rig_docker_event *event, int *replica)
{
  const char *service = rig_docker_event_attribute(event, RIG__LABEL_SERVICE);
  const char *number = rig_docker_event_attribute(event, RIG__LABEL_CONTAINER_NUMBER);
  if (!service || !number)
    return NULL;
  for (size_t i = 0; i < ctx->count; i++) {
    if (strcmp(ctx->runs[i].service->name, service) == 0) {
      int n = atoi(number);
      if (n < 1 || n > ctx->runs[i].replicas)
        return NULL;
      *replica = n - 1;
      return &ctx->runs[i];
    }
  }
  return NULL;
}

static int on_event(void *userdata, const rig_docker_event *event)
{
  up_ctx *ctx = userdata;
  int r = 0;
  pthread_mutex_lock(&ctx->lock);
  svc_run *run = run_of_event(ctx, event, &r);
  if (run && event->action) {
    const char *action = event->action;
    if (strcmp(action, "start") == 0) {
      run->started[r] = 1;
      run->exited[r] = 0;
    } else if (strcmp(action, "die") == 0) {
      const char *code = rig_docker_event_attribute(event, "exitCode");
      run->exited[r] = 1;
      run->exit_codes[r] = code ? atoi(code) : -1;
    } else if (strcmp(action, "oom") == 0) {
      run->oom[r] = 1;
    } else if (strcmp(action, "health_status: healthy") == 0) {
      run->healthy[r] = 1;
      run->unhealthy[r] = 0;
    } else if (strcmp(action, "health_status: unhealthy") == 0) {
      run->unhealthy[r] = 1;
      run->healthy[r] = 0;
    }
    pthread_cond_broadcast(&ctx->cond);
  }
  pthread_mutex_unlock(&ctx->lock);
  return ctx->stop_events;
}

static void *events_main(void *arg)
{
  up_ctx *ctx = arg;
  char *label = rig__sprintf("%s=%s", RIG__LABEL_SESSION, ctx->stack->session);
  rig_docker_filter filters[2] = {{"type", "container"}, {"label", label}};
  rig_docker_events_options opts = RIG_DOCKER_EVENTS_OPTIONS_INIT;
  opts.filters = filters;
  opts.filter_count = 2;
  /* Replay from just before up began: events that happen before the stream is
   * established are delivered all the same. */
  opts.since_ns = rig__wall_ns() - 2000000000LL;
  opts.on_event = on_event;
  opts.userdata = ctx;
  opts.cancel = &ctx->stop_events;
  int rc = rig_docker_events(ctx->events_docker, &opts);
  pthread_mutex_lock(&ctx->lock);
  ctx->events_ended = 1;
  ctx->events_rc = rc;
  if (!ctx->stop_events) {
    const rig_error *err = rig_error_last();
    ctx->events_error = rig__strdup(err && err->text ? err->text : "the events stream ended");
  }
  pthread_cond_broadcast(&ctx->cond);
  pthread_mutex_unlock(&ctx->lock);
  free(label);
  return NULL;
}

/* ---- one service ---- */

static int wait_for_dependencies(svc_run *run)
{
  up_ctx *ctx = run->ctx;
  rig__plan *plan = ctx->stack->plan;
  const rig_compose_service *svc = run->service;
  if (plan->dep_count[run->index] == 0)
    return RIG_OK;
  rig__stack_progress(ctx->stack, svc->name, run->names[0], RIG_STACK_PHASE_WAITING, -1, NULL);
  pthread_mutex_lock(&ctx->lock);
  int rc = RIG_OK;
  for (;;) {
    if (ctx->abort) {
      rc = RIG_EINTERRUPTED;
      break;
    }
    int all = 1;
    const rig_compose_dependency *waiting_for = NULL;
    for (size_t d = 0; d < plan->dep_count[run->index] && rc == RIG_OK; d++) {
      const rig_compose_dependency *dep = &svc->depends_on[plan->dep_origin[run->index][d]];
      int state = dependency_state(run, dep, &ctx->runs[plan->deps[run->index][d]]);
      if (state < 0) {
        rc = rig_error_last() ? rig_error_last()->code : RIG_ENOTREADY;
        fail_locked(run, rc, NULL);
      } else if (state == 0) {
        all = 0;
        waiting_for = dep;
      }
    }
    if (rc != RIG_OK || all)
      break;
    if (ctx->events_ended) {
      rc = rig_error_set(RIG_EENGINE, "service %s: lost the engine's events stream: %s", svc->name,
                         ctx->events_error ? ctx->events_error : "ended");
      fail_locked(run, rc, NULL);
      break;
    }
    if (rig__now_ms() >= ctx->deadline_ms) {
      rc = rig_error_set(RIG_ETIMEOUT, "service %s: timed out waiting for %s (%s)", svc->name,
                         waiting_for->service, rig__stack_condition_name(waiting_for->condition));
      fail_locked(run, rc, NULL);
      break;
    }
    wait_until(ctx, ctx->deadline_ms);
  }
  pthread_mutex_unlock(&ctx->lock);
  if (rc != RIG_OK && rc != RIG_EINTERRUPTED)
    rig__stack_progress(ctx->stack, svc->name, run->names[0], RIG_STACK_PHASE_FAILED, -1,
                        run->err_text);
  return rc;
}

static int create_containers(svc_run *run, rig_docker *docker)
{
  up_ctx *ctx = run->ctx;
  const rig_compose_service *svc = run->service;
  int rc = RIG_OK;
  rig__stack_progress(ctx->stack, svc->name, run->names[0], RIG_STACK_PHASE_CREATING, -1, NULL);
  for (int r = 0; r < run->replicas; r++) {
    rig__spec holder;
    rc = rig__stack_build_spec(&holder, ctx->project, svc, &ctx->labels, run->names[r], r + 1);
    char *id = NULL;
    if (rc == RIG_OK)
      rc = rig_docker_container_create(&id, docker, &holder.spec);
    rig__spec_dispose(&holder);
    if (rc == RIG_ECONFLICT) {
      rig_error_set(RIG_ECONFLICT, "service %s: a container named %s already exists", svc->name,
                    run->names[r]);
      rig_error_add_detail("hint", "remove the old stack first: stackrig down -p %s",
                           ctx->project->name);
    } else if (rc != RIG_OK) {
      rig_error_wrap(RIG_OK, "service %s: creating container %s", svc->name, run->names[r]);
    }
    if (rc != RIG_OK) {
      fail(run, rc, NULL);
      return rc;
    }
    pthread_mutex_lock(&ctx->lock);
    run->ids[r] = id;
    pthread_mutex_unlock(&ctx->lock);
  }
  run->created = 1;
  return RIG_OK;
}

static int start_containers(svc_run *run, rig_docker *docker)
{
  up_ctx *ctx = run->ctx;
  const rig_compose_service *svc = run->service;
  int rc = RIG_OK;
  rig__stack_progress(ctx->stack, svc->name, run->names[0], RIG_STACK_PHASE_STARTING, -1, NULL);
  for (int r = 0; r < run->replicas; r++) {
    if ((rc = rig_docker_container_start(docker, run->ids[r])) != RIG_OK) {
      rig_error_wrap(RIG_OK, "service %s: starting container %s", svc->name, run->names[r]);
      fail(run, rc, NULL);
      return rc;
    }
  }
  /* Seed the state from inspect: the flags only ever go up here, so an event that was
   * handled meanwhile is never undone. */
  int has_health = 0;
  for (int r = 0; r < run->replicas; r++) {
    rig_docker_container *info = NULL;
    if ((rc = rig_docker_container_inspect(&info, docker, run->ids[r])) != RIG_OK) {
      rig_error_wrap(RIG_OK, "service %s: inspecting container %s", svc->name, run->names[r]);
      fail(run, rc, NULL);
      return rc;
    }
    pthread_mutex_lock(&ctx->lock);
    if (info->running || info->restarting || strcmp(info->status, "exited") == 0)
      run->started[r] = 1;
    if (!info->running && strcmp(info->status, "exited") == 0) {
      run->exited[r] = 1;
      run->exit_codes[r] = info->exit_code;
    }
    if (info->health_status) {
      has_health = 1;
      if (strcmp(info->health_status, "healthy") == 0)
        run->healthy[r] = 1;
    }
    pthread_mutex_unlock(&ctx->lock);
    rig_docker_container_free(info);
  }
  pthread_mutex_lock(&ctx->lock);
  run->has_health = has_health;
  run->start_requested = 1;
  pthread_cond_broadcast(&ctx->cond);
  pthread_mutex_unlock(&ctx->lock);
  rig__stack_progress(ctx->stack, svc->name, run->names[0], RIG_STACK_PHASE_RUNNING, -1, NULL);
  return RIG_OK;
}

static char *last_health_output(rig_docker *docker, svc_run *run)
{
  for (int r = 0; r < run->replicas; r++) {
    rig_docker_container *info = NULL;
    if (run->ids[r] && rig_docker_container_inspect(&info, docker, run->ids[r]) == RIG_OK) {
      char *out = info->health_last_output ? rig__strdup(info->health_last_output) : NULL;
      rig_docker_container_free(info);
      if (out) {
        size_t len = strlen(out);
        while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
          out[--len] = '\0';
        return out;
      }
    }
  }
  return NULL;
}

/* Waits for the service's own readiness. */
static int wait_for_self(svc_run *run, rig_docker *docker)
{
  up_ctx *ctx = run->ctx;
  const rig_compose_service *svc = run->service;
  int rc = RIG_OK;
  pthread_mutex_lock(&ctx->lock);
  for (;;) {
    if (ctx->abort) {
      rc = RIG_EINTERRUPTED;
      break;
    }
    int code = 0;
    if (first_nonzero_exit(run, &code) ||
        (!run->completion_target && any_set(run->exited, run->replicas))) {
      for (int r = 0; r < run->replicas; r++)
        if (run->exited[r]) {
          code = run->exit_codes[r];
          break;
        }
      int oom = any_set(run->oom, run->replicas);
      rc = rig_error_set(RIG_EEXITED, "service %s exited with code %d%s", svc->name, code,
                         oom ? " (OOM-killed)" : "");
      rig_error_add_detail("service", "%s", svc->name);
      rig_error_add_detail("exit_code", "%d", code);
      fail_locked(run, rc, NULL);
      break;
    }
    if (run->completion_target) {
      if (all_completed(run)) {
        pthread_mutex_unlock(&ctx->lock);
        rig__stack_progress(ctx->stack, svc->name, run->names[0], RIG_STACK_PHASE_COMPLETED, 0,
                            NULL);
        pthread_mutex_lock(&ctx->lock);
        break;
      }
    } else if (any_set(run->unhealthy, run->replicas)) {
      pthread_mutex_unlock(&ctx->lock);
      char *output = last_health_output(docker, run);
      rc = rig_error_set(RIG_ENOTREADY, "service %s is unhealthy%s%s", svc->name,
                         output ? ": last check said: " : "", output ? output : "");
      free(output);
      pthread_mutex_lock(&ctx->lock);
      fail_locked(run, rc, NULL);
      break;
    } else if (!ctx->wait_ready) {
      break;
    } else if (!run->has_health || all_set(run->healthy, run->replicas) ||
               (ctx->stack->opts.ready && ctx->stack->opts.ready_replaces_health)) {
      break;
    }
    if (ctx->events_ended) {
      rc = rig_error_set(RIG_EENGINE, "service %s: lost the engine's events stream: %s", svc->name,
                         ctx->events_error ? ctx->events_error : "ended");
      fail_locked(run, rc, NULL);
      break;
    }
    if (rig__now_ms() >= ctx->deadline_ms) {
      rc = rig_error_set(RIG_ETIMEOUT, "service %s: not %s before the deadline", svc->name,
                         run->completion_target ? "completed" : "healthy");
      fail_locked(run, rc, NULL);
      break;
    }
    wait_until(ctx, ctx->deadline_ms);
  }
  int healthy = run->has_health && all_set(run->healthy, run->replicas);
  pthread_mutex_unlock(&ctx->lock);
  if (rc != RIG_OK) {
    if (rc != RIG_EINTERRUPTED)
      rig__stack_progress(ctx->stack, svc->name, run->names[0], RIG_STACK_PHASE_FAILED, -1,
                          run->err_text);
    return rc;
  }
  if (run->completion_target || !ctx->wait_ready)
    return RIG_OK;
  if (healthy)
    rig__stack_progress(ctx->stack, svc->name, run->names[0], RIG_STACK_PHASE_HEALTHY, -1, NULL);
  if (ctx->stack->opts.ready) {
    rig_error_clear();
    rc = ctx->stack->opts.ready(ctx->stack, svc->name, ctx->deadline_ms,
                                ctx->stack->opts.ready_userdata);
    if (rc != RIG_OK) {
      if (!rig_error_last())
        rig_error_set(rc, "not ready");
      rig_error_wrap(RIG_ENOTREADY, "service %s is not ready", svc->name);
      fail(run, rc, NULL);
      return rc;
    }
  }
  rig__stack_progress(ctx->stack, svc->name, run->names[0], RIG_STACK_PHASE_READY, -1, NULL);
  return RIG_OK;
}

/* A service with dependencies creates its containers once the services without any have
 * started theirs: the engine serves creates and starts made side by side about as slowly in
 * total as one after the other, and the first start is on every path through the graph.
 * Measured on a 5-service chain: the first container ran 90 ms sooner (median 270 ms after
 * the network's creation instead of 360 ms), while a dependent still has its dependencies'
 * conditions (a healthcheck interval at least, or the start's own 200 ms) to create in. */
static int wait_for_roots(svc_run *run)
{
  up_ctx *ctx = run->ctx;
  pthread_mutex_lock(&ctx->lock);
  while (ctx->roots_pending > 0 && !ctx->abort && rig__now_ms() < ctx->deadline_ms)
    wait_until(ctx, ctx->deadline_ms);
  int rc = ctx->abort ? RIG_EINTERRUPTED : RIG_OK;
  pthread_mutex_unlock(&ctx->lock);
  return rc;
}

/* network_mode: service:X, whose container can be created only once X's exists. */
static int joins_namespace(const rig_compose_service *svc)
{
  return svc->network_mode && strncmp(svc->network_mode, "service:", 8) == 0;
}

/* A service in another's network namespace (network_mode: service:X) can be created only
 * once X's container exists and started only once it runs: like compose, take X as a
 * dependency started, whether or not depends_on names it. */
static int wait_for_namespace_owner(svc_run *run)
{
  up_ctx *ctx = run->ctx;
  const char *owner = run->service->network_mode + 8;
  svc_run *target = NULL;
  for (size_t i = 0; i < ctx->count && !target; i++)
    if (strcmp(ctx->runs[i].service->name, owner) == 0)
      target = &ctx->runs[i];
  if (!target)
    return RIG_OK; /* the loader rejects this; the create then names the problem */
  pthread_mutex_lock(&ctx->lock);
  int rc = RIG_OK;
  while (!target->start_requested && !ctx->abort) {
    if (rig__now_ms() >= ctx->deadline_ms) {
      rc = rig_error_set(RIG_ETIMEOUT,
                         "service %s: timed out waiting for %s to start (its "
                         "network namespace)",
                         run->service->name, owner);
      fail_locked(run, rc, NULL);
      break;
    }
    wait_until(ctx, ctx->deadline_ms);
  }
  if (rc == RIG_OK && ctx->abort)
    rc = RIG_EINTERRUPTED;
  pthread_mutex_unlock(&ctx->lock);
  return rc;
}

static void *service_main(void *arg)
{
  svc_run *run = arg;
  up_ctx *ctx = run->ctx;
  rig_docker *docker = NULL;
  /* Creating does not run anything, so it need not wait for the dependencies: only the
   * start does. A container that joins another's network namespace needs it to exist. */
  int early = !joins_namespace(run->service);
  int root = early && ctx->stack->plan->dep_count[run->index] == 0;
  int rc = rig__stack_docker_clone(&docker, ctx->stack);
  if (rc != RIG_OK)
    fail(run, rc, NULL);
  if (rc == RIG_OK && early && !root)
    rc = wait_for_roots(run);
  if (rc == RIG_OK && early)
    rc = create_containers(run, docker);
  if (rc == RIG_OK)
    rc = wait_for_dependencies(run);
  if (rc == RIG_OK && !early)
    rc = wait_for_namespace_owner(run);
  if (rc == RIG_OK && !early)
    rc = create_containers(run, docker);
  if (rc == RIG_OK)
    rc = start_containers(run, docker);
  if (root) {
    pthread_mutex_lock(&ctx->lock);
    ctx->roots_pending--;
    pthread_cond_broadcast(&ctx->cond);
    pthread_mutex_unlock(&ctx->lock);
  }
  if (rc == RIG_OK)
    rc = wait_for_self(run, docker);
  if (rc == RIG_OK) {
    pthread_mutex_lock(&run->ctx->lock);
    run->done = 1;
    pthread_cond_broadcast(&run->ctx->cond);
    pthread_mutex_unlock(&run->ctx->lock);
  }
  rig_docker_free(docker);
  return NULL;
}

/* ---- the reaper's work ---- */

typedef struct reap_arg {
  char *host;
  char *session;
} reap_arg;

static void reap(void *arg, int disarmed)
{
  if (disarmed)
    return;
  reap_arg *a = arg;
  rig_docker_options opts = RIG_DOCKER_OPTIONS_INIT;
  opts.host = a->host;
  /* The engine may be restarting; try for a while before giving up. */
  for (int attempt = 0; attempt < 30; attempt++) {
    rig_docker *docker = NULL;
    if (rig_docker_open(&docker, &opts) == RIG_OK) {
      /* Several empty passes in a row: a create the parent had in flight when it died is
       * completed by the engine after our first pass. */
      int rc = rig__stack_sweep_session(docker, a->session, 4);
      rig_docker_free(docker);
      if (rc == RIG_OK)
        return;
    }
    rig__sleep_ms(1000);
  }
}

static int arm_reaper(rig_stack *stack, rig_docker *docker)
{
  if (stack->opts.no_reaper)
    return RIG_OK;
  reap_arg arg;
  arg.host = rig__strdup(rig_docker_host(docker));
  arg.session = rig__strdup(stack->session);
  int rc = rig__reaper_spawn(&stack->reaper, reap, &arg);
  free(arg.host);
  free(arg.session);
  return rc;
}

/* ---- up ---- */

static void free_runs(up_ctx *ctx)
{
  for (size_t i = 0; i < ctx->count; i++) {
    svc_run *run = &ctx->runs[i];
    for (int r = 0; r < run->replicas; r++) {
      free(run->ids[r]);
      free(run->names[r]);
    }
    free(run->ids);
    free(run->names);
    free(run->started);
    free(run->exited);
    free(run->exit_codes);
    free(run->healthy);
    free(run->unhealthy);
    free(run->oom);
    free(run->err_text);
    free(run->err_hint);
    free(run->err_service);
  }
  free(ctx->runs);
}

static void init_runs(up_ctx *ctx)
{
  const rig_compose_project *project = ctx->project;
  ctx->count = project->service_count;
  ctx->runs = rig__calloc(ctx->count ? ctx->count : 1, sizeof *ctx->runs);
  for (size_t i = 0; i < ctx->count; i++) {
    svc_run *run = &ctx->runs[i];
    const rig_compose_service *svc = &project->services[i];
    run->ctx = ctx;
    run->index = i;
    run->service = svc;
    run->replicas = svc->replicas > 0 ? svc->replicas : 1;
    if (svc->container_name)
      run->replicas = 1;
    run->ids = rig__calloc((size_t)run->replicas, sizeof *run->ids);
    run->names = rig__calloc((size_t)run->replicas, sizeof *run->names);
    run->started = rig__calloc((size_t)run->replicas, sizeof(int));
    run->exited = rig__calloc((size_t)run->replicas, sizeof(int));
    run->exit_codes = rig__calloc((size_t)run->replicas, sizeof(int));
    run->healthy = rig__calloc((size_t)run->replicas, sizeof(int));
    run->unhealthy = rig__calloc((size_t)run->replicas, sizeof(int));
    run->oom = rig__calloc((size_t)run->replicas, sizeof(int));
    for (int r = 0; r < run->replicas; r++)
      run->names[r] = rig__stack_container_name(project->name, svc, r + 1);
  }
  rig__plan *plan = ctx->stack->plan;
  for (size_t i = 0; i < ctx->count; i++)
    ctx->roots_pending += !joins_namespace(ctx->runs[i].service) && plan->dep_count[i] == 0;
  for (size_t i = 0; i < ctx->count; i++) {
    const rig_compose_service *svc = ctx->runs[i].service;
    for (size_t d = 0; d < plan->dep_count[i]; d++)
      if (svc->depends_on[plan->dep_origin[i][d]].condition ==
          RIG_COMPOSE_CONDITION_COMPLETED_SUCCESSFULLY)
        ctx->runs[plan->deps[i][d]].completion_target = 1;
  }
}

/* Re-raises the first failure (by time) on the calling thread. */
static int raise_failure(up_ctx *ctx)
{
  svc_run *first = NULL;
  for (size_t i = 0; i < ctx->count; i++) {
    svc_run *run = &ctx->runs[i];
    if (run->failed && run->err_code != RIG_EINTERRUPTED &&
        (!first || run->failed_at_ns < first->failed_at_ns))
      first = run;
  }
  if (!first)
    return rig_error_set(RIG_EINTERRUPTED, "project %s: up was interrupted", ctx->project->name);
  int rc = rig_error_set(first->err_code, "%s", first->err_text);
  rig_error_add_detail("service", "%s",
                       first->err_service ? first->err_service : first->service->name);
  if (first->err_hint)
    rig_error_add_detail("hint", "%s", first->err_hint);
  return rc;
}

/* After every worker returned: a service that was ready but died meanwhile fails up too. */
static int check_still_running(up_ctx *ctx)
{
  for (size_t i = 0; i < ctx->count; i++) {
    svc_run *run = &ctx->runs[i];
    if (run->completion_target)
      continue;
    for (int r = 0; r < run->replicas; r++) {
      if (run->exited[r]) {
        run->failed = 1;
        run->err_code = RIG_EEXITED;
        run->err_text =
            rig__sprintf("service %s exited with code %d", run->service->name, run->exit_codes[r]);
        run->failed_at_ns = rig__now_ns();
        return RIG_EEXITED;
      }
    }
  }
  return RIG_OK;
}

static int up_impl(rig_stack *stack, int64_t timeout_ms, int wait_ready)
{
  if (!stack)
    return rig_error_set(RIG_EINVAL, "rig_stack_up: stack is NULL");
  if (!stack->project)
    return rig_error_set(RIG_EINVAL,
                         "project %s: opened by name only; up needs its compose "
                         "file",
                         stack->project_name);
  if (stack->session)
    return rig_error_set(RIG_EINVAL, "project %s: this stack is already up", stack->project_name);
  if (timeout_ms <= 0)
    timeout_ms = 120000;
  stack->operation_start_ms = rig__now_ms();
  rig_docker *docker = NULL;
  int rc = rig__stack_docker(&docker, stack);
  if (rc != RIG_OK)
    return rc;

  up_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.stack = stack;
  ctx.project = stack->project;
  ctx.wait_ready = wait_ready;
  ctx.deadline_ms = stack->operation_start_ms + timeout_ms;

  /* Images first: a missing one fails before anything exists. */
  for (size_t i = 0; i < ctx.project->service_count; i++) {
    const rig_compose_service *svc = &ctx.project->services[i];
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++)
      seen = strcmp(ctx.project->services[j].image, svc->image) == 0;
    if (!seen && (rc = rig__stack_ensure_image(stack, docker, svc, stack->opts.pull)) != RIG_OK)
      return rc;
  }

  stack->session = rig__stack_new_session_id();
  if ((rc = arm_reaper(stack, docker)) != RIG_OK) {
    free(stack->session);
    stack->session = NULL;
    return rc;
  }
  ctx.labels.project = ctx.project->name;
  ctx.labels.working_dir = ctx.project->working_dir;
  ctx.labels.config_files = ctx.project->config_files.items;
  ctx.labels.config_file_count = ctx.project->config_files.count;
  ctx.labels.session = stack->session;

  pthread_mutex_init(&ctx.lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&ctx.cond, &attr);
  pthread_condattr_destroy(&attr);
  init_runs(&ctx);

  if ((rc = rig__stack_ensure_networks(stack, docker, &ctx.labels)) != RIG_OK ||
      (rc = rig__stack_ensure_volumes(stack, docker, &ctx.labels)) != RIG_OK)
    goto rollback;

  if ((rc = rig__stack_docker_clone(&ctx.events_docker, stack)) != RIG_OK)
    goto rollback;
  if (pthread_create(&ctx.events_thread, NULL, events_main, &ctx) != 0) {
    rc = rig_error_set(RIG_EIO, "project %s: cannot start a thread", ctx.project->name);
    goto rollback;
  }
  ctx.events_started = 1;

  for (size_t i = 0; i < ctx.count; i++) {
    if (pthread_create(&ctx.runs[i].thread, NULL, service_main, &ctx.runs[i]) != 0) {
      pthread_mutex_lock(&ctx.lock);
      rig_error_set(RIG_EIO, "service %s: cannot start a thread", ctx.runs[i].service->name);
      fail_locked(&ctx.runs[i], RIG_EIO, NULL);
      pthread_mutex_unlock(&ctx.lock);
      break;
    }
    ctx.runs[i].thread_started = 1;
  }
  for (size_t i = 0; i < ctx.count; i++)
    if (ctx.runs[i].thread_started)
      pthread_join(ctx.runs[i].thread, NULL);

  pthread_mutex_lock(&ctx.lock);
  rc = ctx.abort ? raise_failure(&ctx) : RIG_OK;
  if (rc == RIG_OK && wait_ready && check_still_running(&ctx) != RIG_OK)
    rc = raise_failure(&ctx);
  pthread_mutex_unlock(&ctx.lock);

rollback:
  if (ctx.events_started) {
    ctx.stop_events = 1;
    pthread_join(ctx.events_thread, NULL);
  }
  rig_docker_free(ctx.events_docker);
  if (rc != RIG_OK) {
    /* Everything this up created carries its session label, and nothing it did not create
     * does: removing by label removes exactly what it made. The saved error survives. */
    const rig_error *err = rig_error_last();
    char *text = rig__strdup(err && err->text ? err->text : rig_strerror(rc));
    const char *hint_detail = err ? rig_error_detail_get(err, "hint") : NULL;
    char *hint = hint_detail ? rig__strdup(hint_detail) : NULL;
    const char *svc_detail = err ? rig_error_detail_get(err, "service") : NULL;
    char *svc = svc_detail ? rig__strdup(svc_detail) : NULL;
    rig__stack_sweep_session(docker, stack->session, 1);
    rig__reaper_disarm(&stack->reaper);
    free(stack->session);
    stack->session = NULL;
    rig_error_set(rc, "%s", text);
    if (svc)
      rig_error_add_detail("service", "%s", svc);
    if (hint)
      rig_error_add_detail("hint", "%s", hint);
    free(text);
    free(hint);
    free(svc);
  }
  free(ctx.events_error);
  free_runs(&ctx);
  pthread_cond_destroy(&ctx.cond);
  pthread_mutex_destroy(&ctx.lock);
  return rc;
}

int rig_stack_up(rig_stack *stack, int64_t timeout_ms)
{
  return up_impl(stack, timeout_ms, 1);
}

int rig_stack_up_nowait(rig_stack *stack, int64_t timeout_ms)
{
  return up_impl(stack, timeout_ms, 0);
}
