/*
 * wait.c - the rig_wait object: how it plugs into the stack engine (ready hook, progress
 * in front of the caller's), stopping every service's wait once up fails, the record of
 * when each service became ready, and the watcher threads that outlive a wait.
 */
#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "util.h"
#include "wait_service.h"

typedef struct result_entry {
  char *service;
  char *strategy;
  int64_t started_ms;
  int64_t ready_ms;
  int64_t ready_at_ms;
  int64_t ready_wall_ns;
  int attempts;
} result_entry;

struct rig_wait {
  rig_wait_options opts;
  pthread_mutex_t lock;
  pthread_cond_t threads_done;
  size_t threads; /* watcher threads still running */
  int aborted;
  int64_t aborted_elapsed_ms;
  rig__svc_wait *active; /* the waits in progress, to wake when up fails */
  rig_stack_progress_cb downstream;
  void *downstream_userdata;
  result_entry *results;
  size_t result_count;
};

int rig_wait_new(rig_wait **out, const rig_wait_options *opts)
{
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_wait_new: out is NULL");
  rig_wait *wait = rig__calloc(1, sizeof *wait);
  rig_wait_options defaults = RIG_WAIT_OPTIONS_INIT;
  wait->opts = opts ? *opts : defaults;
  pthread_mutex_init(&wait->lock, NULL);
  pthread_cond_init(&wait->threads_done, NULL);
  *out = wait;
  return RIG_OK;
}

void rig_wait_drain(rig_wait *wait)
{
  if (!wait)
    return;
  /* Watcher threads stop within a cancel poll (20 ms, see http.c) of their wait's end; they
   * were let go so that waits return at once. */
  pthread_mutex_lock(&wait->lock);
  while (wait->threads > 0)
    pthread_cond_wait(&wait->threads_done, &wait->lock);
  pthread_mutex_unlock(&wait->lock);
}

void rig_wait_free(rig_wait *wait)
{
  if (!wait)
    return;
  rig_wait_drain(wait);
  for (size_t i = 0; i < wait->result_count; i++) {
    free(wait->results[i].service);
    free(wait->results[i].strategy);
  }
  free(wait->results);
  pthread_cond_destroy(&wait->threads_done);
  pthread_mutex_destroy(&wait->lock);
  free(wait);
}

/* ---- watcher threads ---- */

void rig__wait_thread_started(rig_wait *wait)
{
  pthread_mutex_lock(&wait->lock);
  wait->threads++;
  pthread_mutex_unlock(&wait->lock);
}

void rig__wait_thread_ended(rig_wait *wait)
{
  pthread_mutex_lock(&wait->lock);
  if (--wait->threads == 0)
    pthread_cond_broadcast(&wait->threads_done);
  pthread_mutex_unlock(&wait->lock);
}

/* ---- aborting ---- */

int rig__wait_register(rig_wait *wait, rig__svc_wait *svc)
{
  pthread_mutex_lock(&wait->lock);
  svc->next_active = wait->active;
  wait->active = svc;
  int aborted = wait->aborted;
  pthread_mutex_unlock(&wait->lock);
  return aborted;
}

void rig__wait_unregister(rig_wait *wait, rig__svc_wait *svc)
{
  pthread_mutex_lock(&wait->lock);
  for (rig__svc_wait **p = &wait->active; *p; p = &(*p)->next_active) {
    if (*p == svc) {
      *p = svc->next_active;
      break;
    }
  }
  pthread_mutex_unlock(&wait->lock);
}

int rig__wait_aborted(rig_wait *wait)
{
  pthread_mutex_lock(&wait->lock);
  int aborted = wait->aborted;
  pthread_mutex_unlock(&wait->lock);
  return aborted;
}

/* Stops every wait in progress (they return RIG_EINTERRUPTED): once one service failed, up
 * fails and removes everything, so waiting on for the others only delays that. */
void rig__wait_abort(rig_wait *wait, int64_t elapsed_ms)
{
  pthread_mutex_lock(&wait->lock);
  wait->aborted = 1;
  wait->aborted_elapsed_ms = elapsed_ms;
  for (rig__svc_wait *svc = wait->active; svc; svc = svc->next_active)
    rig__svc_wait_wake(svc);
  pthread_mutex_unlock(&wait->lock);
}

/* ---- results ---- */

static result_entry *result_for(rig_wait *wait, const char *service)
{
  for (size_t i = 0; i < wait->result_count; i++)
    if (strcmp(wait->results[i].service, service) == 0)
      return &wait->results[i];
  wait->results = rig__realloc(wait->results, (wait->result_count + 1) * sizeof *wait->results);
  result_entry *entry = &wait->results[wait->result_count++];
  memset(entry, 0, sizeof *entry);
  entry->service = rig__strdup(service);
  entry->started_ms = entry->ready_ms = entry->ready_at_ms = -1;
  return entry;
}

void rig__wait_record(rig_wait *wait, const char *service, const char *strategy,
                      int64_t ready_at_ms, int64_t ready_wall_ns, int attempts)
{
  pthread_mutex_lock(&wait->lock);
  result_entry *entry = result_for(wait, service);
  free(entry->strategy);
  entry->strategy = rig__strdup(strategy);
  entry->ready_at_ms = ready_at_ms;
  entry->ready_wall_ns = ready_wall_ns;
  entry->attempts = attempts;
  pthread_mutex_unlock(&wait->lock);
}

int64_t rig__wait_service_timeout_ms(const rig_wait *wait)
{
  return wait->opts.service_timeout_ms;
}

typedef struct results_holder {
  rig_wait_results results;
  rig_wait_result *items;
  char **strings;
  size_t string_count;
} results_holder;

static int compare_results(const void *a, const void *b)
{
  const rig_wait_result *x = a, *y = b;
  /* ready ones first, in the order they became ready */
  if ((x->ready_at_ms < 0) != (y->ready_at_ms < 0))
    return x->ready_at_ms < 0 ? 1 : -1;
  if (x->ready_at_ms != y->ready_at_ms)
    return x->ready_at_ms < y->ready_at_ms ? -1 : 1;
  return strcmp(x->service, y->service);
}

int rig_wait_get_results(rig_wait_results **out, rig_wait *wait)
{
  if (!out || !wait)
    return rig_error_set(RIG_EINVAL, "rig_wait_get_results: wait is NULL");
  results_holder *holder = rig__calloc(1, sizeof *holder);
  pthread_mutex_lock(&wait->lock);
  size_t n = wait->result_count;
  holder->items = rig__calloc(n ? n : 1, sizeof *holder->items);
  holder->strings = rig__calloc(2 * n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    const result_entry *e = &wait->results[i];
    rig_wait_result *r = &holder->items[i];
    r->service = holder->strings[holder->string_count++] = rig__strdup(e->service);
    r->strategy = holder->strings[holder->string_count++] =
        rig__strdup(e->strategy ? e->strategy : "");
    r->started_ms = e->started_ms;
    r->ready_ms = e->ready_ms;
    r->ready_at_ms = e->ready_at_ms;
    r->ready_wall_ns = e->ready_wall_ns;
    r->attempts = e->attempts;
  }
  pthread_mutex_unlock(&wait->lock);
  qsort(holder->items, n, sizeof *holder->items, compare_results);
  holder->results.count = n;
  holder->results.items = holder->items;
  *out = &holder->results;
  return RIG_OK;
}

void rig_wait_results_free(rig_wait_results *results)
{
  if (!results)
    return;
  results_holder *holder = (results_holder *)results;
  for (size_t i = 0; i < holder->string_count; i++)
    free(holder->strings[i]);
  free(holder->strings);
  free(holder->items);
  free(holder);
}

int rig_wait_format_results(char **out, rig_wait *wait)
{
  if (!out || !wait)
    return rig_error_set(RIG_EINVAL, "rig_wait_format_results: wait is NULL");
  rig_wait_results *results = NULL;
  int rc = rig_wait_get_results(&results, wait);
  if (rc != RIG_OK)
    return rc;
  size_t width = 0;
  for (size_t i = 0; i < results->count; i++)
    if (strlen(results->items[i].service) > width)
      width = strlen(results->items[i].service);
  rig_buf buf = RIG_BUF_INIT;
  for (size_t i = 0; i < results->count; i++) {
    const rig_wait_result *r = &results->items[i];
    if (r->ready_at_ms < 0)
      continue;
    rig__buf_printf(&buf, "  %-*s ready", (int)width, r->service);
    if (r->started_ms >= 0 && r->ready_ms >= r->started_ms)
      rig__buf_printf(&buf, " %.3fs after its container started",
                      (double)(r->ready_ms - r->started_ms) / 1000.0);
    rig__buf_printf(&buf, " (%s, %d probe%s)\n", r->strategy, r->attempts,
                    r->attempts == 1 ? "" : "s");
  }
  rig_wait_results_free(results);
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}

/* ---- the stack engine's hooks ---- */

static void on_progress(const rig_stack_event *event, void *userdata)
{
  rig_wait *wait = userdata;
  pthread_mutex_lock(&wait->lock);
  /* An event earlier in its operation than the failure that aborted: a new operation (up
   * again after a failed one, or down) has begun, so the abort is over. */
  if (wait->aborted && event->elapsed_ms < wait->aborted_elapsed_ms)
    wait->aborted = 0;
  if (event->service) {
    if (event->phase == RIG_STACK_PHASE_STARTING) {
      result_entry *entry = result_for(wait, event->service);
      entry->started_ms = event->elapsed_ms;
      entry->ready_ms = -1;
    } else if (event->phase == RIG_STACK_PHASE_READY) {
      result_for(wait, event->service)->ready_ms = event->elapsed_ms;
    }
  }
  pthread_mutex_unlock(&wait->lock);
  if (event->phase == RIG_STACK_PHASE_FAILED)
    rig__wait_abort(wait, event->elapsed_ms);
  if (wait->downstream)
    wait->downstream(event, wait->downstream_userdata);
}

int rig_wait_install(rig_wait *wait, rig_stack_options *opts)
{
  if (!wait || !opts)
    return rig_error_set(RIG_EINVAL, "rig_wait_install: wait and opts are required");
  if (opts->progress != on_progress) {
    wait->downstream = opts->progress;
    wait->downstream_userdata = opts->progress_userdata;
  }
  opts->progress = on_progress;
  opts->progress_userdata = wait;
  opts->ready = rig_wait_ready_hook;
  opts->ready_userdata = wait;
  opts->ready_replaces_health = 1;
  return RIG_OK;
}

int rig_wait_ready_hook(rig_stack *stack, const char *service, int64_t deadline_ms, void *userdata)
{
  return rig_wait_service(userdata, stack, service, deadline_ms);
}
