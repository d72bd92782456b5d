/*
 * stack_down.c - taking a stack down from its labels alone: the project's containers are
 * found by com.docker.compose.project, ordered by their depends_on labels, stopped in
 * reverse dependency order (a wave's containers in parallel, each with the stop signal and
 * grace period it was created with), removed; then the project's networks and, on request,
 * its volumes. Needing no compose file, it also works after the file is gone.
 *
 * A wave may stop once the previous one's processes are gone: the engine's die event says
 * so about 50 ms before the stop call returns (the engine releases the container's network
 * endpoint in between, holding the container's lock, which the stop call waits for). An
 * events stream therefore runs alongside the stops; the stop call's return still counts
 * when no event comes (a container that was not running, an engine whose clock differs).
 */
#include "stack_internal.h"

#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "util.h"

typedef struct down_job {
  rig_stack *stack;
  const rig_docker_container_summary *container;
  const char *service;
  int kill;
  int rc;
  char *error;
  int stopped;            /* set (under *lock) once the container no longer runs */
  int64_t stop_issued_ns; /* wall clock just before the stop call (under *lock); 0: not yet */
  size_t wave;
  int watched; /* running, in a wave that a later one waits for: a die is due */
  pthread_mutex_t *lock;
  pthread_cond_t *cond;
  pthread_t thread;
  int thread_started;
} down_job;

/* The die events of the project's containers while down stops them. */
typedef struct die_watch {
  down_job *jobs;
  size_t count;
  pthread_mutex_t *lock;
  pthread_cond_t *cond;
  rig_docker *docker;
  char *label;
  int64_t since_ns;
  volatile int stop;
  pthread_t thread;
} die_watch;

/* Marks the job of the dying container stopped, if its stop was issued before the event
 * (an earlier death, say before a restart, does not count). Ends the stream once every
 * running container that something else waits for is stopped (the first wave, stopped
 * last, has no one waiting; a container that was not running sends no die event), so that
 * joining it at the end costs nothing (a cancelled stream takes up to one cancel poll,
 * 20 ms, see http.c). */
static int on_die(void *userdata, const rig_docker_event *event)
{
  die_watch *watch = userdata;
  pthread_mutex_lock(watch->lock);
  int all = 1;
  for (size_t i = 0; i < watch->count; i++) {
    down_job *job = &watch->jobs[i];
    if (!job->stopped && job->stop_issued_ns && event->actor_id &&
        event->time_ns >= job->stop_issued_ns && strcmp(job->container->id, event->actor_id) == 0) {
      job->stopped = 1;
      pthread_cond_broadcast(watch->cond);
    }
    if (job->watched && !job->stopped)
      all = 0;
  }
  pthread_mutex_unlock(watch->lock);
  return all || watch->stop;
}

static void *die_watch_main(void *arg)
{
  die_watch *watch = arg;
  rig_docker_filter filters[3] = {{"type", "container"}, {"event", "die"}, {"label", watch->label}};
  rig_docker_events_options opts = RIG_DOCKER_EVENTS_OPTIONS_INIT;
  opts.filters = filters;
  opts.filter_count = 3;
  /* Replayed from before the first stop: a death is seen even if the stream is slow to
   * open. */
  opts.since_ns = watch->since_ns;
  opts.on_event = on_die;
  opts.userdata = watch;
  opts.cancel = &watch->stop;
  rig_docker_events(watch->docker, &opts);
  return NULL;
}

static void *down_main(void *arg)
{
  down_job *job = arg;
  rig_docker *docker = NULL;
  int rc = rig__stack_docker_clone(&docker, job->stack);
  if (rc == RIG_OK) {
    rig__stack_progress(job->stack, job->service, job->container->name, RIG_STACK_PHASE_STOPPING,
                        -1, NULL);
    /* -1: the container's own StopTimeout and StopSignal, set at create from
     * stop_grace_period and stop_signal. */
    if (!job->kill) {
      pthread_mutex_lock(job->lock);
      job->stop_issued_ns = rig__wall_ns();
      pthread_mutex_unlock(job->lock);
      rc = rig_docker_container_stop(docker, job->container->id, -1);
    }
    /* Stopped is what the next wave waits for; the removal overlaps with its stops. */
    pthread_mutex_lock(job->lock);
    job->stopped = 1;
    pthread_cond_broadcast(job->cond);
    pthread_mutex_unlock(job->lock);
    if (rc == RIG_OK || rc == RIG_ENOTFOUND)
      rc = rig_docker_container_remove(docker, job->container->id,
                                       RIG_DOCKER_REMOVE_FORCE | RIG_DOCKER_REMOVE_VOLUMES);
    if (rc == RIG_ENOTFOUND)
      rc = RIG_OK;
    if (rc == RIG_OK)
      rig__stack_progress(job->stack, job->service, job->container->name, RIG_STACK_PHASE_REMOVED,
                          -1, NULL);
  }
  pthread_mutex_lock(job->lock);
  job->stopped = 1;
  pthread_cond_broadcast(job->cond);
  pthread_mutex_unlock(job->lock);
  if (rc != RIG_OK) {
    const rig_error *err = rig_error_last();
    job->error = rig__sprintf("container %s: %s", job->container->name,
                              err && err->text ? err->text : rig_strerror(rc));
  }
  job->rc = rc;
  rig_docker_free(docker);
  return NULL;
}

/* The waves of the containers' services, from their depends_on labels. Dependencies are
 * all optional here: a service may be gone from the project since. */
static rig__plan *plan_from_labels(const rig_docker_containers *containers, char ***out_names,
                                   size_t *out_count)
{
  char **names = rig__calloc(containers->count + 1, sizeof *names);
  rig__plan_node *nodes = rig__calloc(containers->count + 1, sizeof *nodes);
  char ***deps = rig__calloc(containers->count + 1, sizeof *deps);
  size_t count = 0;
  for (size_t i = 0; i < containers->count; i++) {
    const char *service = rig_docker_summary_label(&containers->items[i], RIG__LABEL_SERVICE);
    if (!service)
      service = containers->items[i].name;
    size_t k = 0;
    while (k < count && strcmp(names[k], service) != 0)
      k++;
    if (k < count)
      continue;
    names[count] = rig__strdup(service);
    nodes[count].name = names[count];
    nodes[count].dep_count = rig__stack_parse_depends_label(
        &deps[count], rig_docker_summary_label(&containers->items[i], RIG__LABEL_DEPENDS_ON));
    nodes[count].deps = (const char *const *)deps[count];
    nodes[count].dep_required = rig__calloc(nodes[count].dep_count + 1, sizeof(int));
    count++;
  }
  rig__plan *plan = NULL;
  if (rig__plan_build(&plan, nodes, count) != RIG_OK) {
    /* A cycle cannot come from a file compose accepted; stop everything at once then. */
    rig__plan_node *flat = rig__calloc(count + 1, sizeof *flat);
    for (size_t i = 0; i < count; i++)
      flat[i].name = names[i];
    rig__plan_build(&plan, flat, count);
    free(flat);
  }
  for (size_t i = 0; i < count; i++) {
    for (char **d = deps[i]; d && *d; d++)
      free(*d);
    free(deps[i]);
    free((void *)nodes[i].dep_required);
  }
  free(deps);
  free(nodes);
  *out_names = names;
  *out_count = count;
  return plan;
}

static int remove_by_label(rig_stack *stack, rig_docker *docker, int volumes, rig_buf *errors)
{
  char *label = rig__sprintf("%s=%s", RIG__LABEL_PROJECT, stack->project_name);
  rig_docker_filter filter = {"label", label};
  rig_docker_list_options list = RIG_DOCKER_LIST_OPTIONS_INIT;
  list.filters = &filter;
  list.filter_count = 1;
  int rc = RIG_OK;
  if (!volumes) {
    rig_docker_networks *networks = NULL;
    if ((rc = rig_docker_network_list(&networks, docker, &list)) == RIG_OK) {
      for (size_t i = 0; i < networks->count; i++) {
        int r = rig_docker_network_remove(docker, networks->items[i].id);
        if (r == RIG_OK)
          rig__stack_progress(stack, NULL, networks->items[i].name, RIG_STACK_PHASE_REMOVED, -1,
                              NULL);
        else if (r != RIG_ENOTFOUND) {
          rig__buf_printf(errors, "%snetwork %s: %s", errors->len ? "; " : "",
                          networks->items[i].name, rig_error_last()->text);
          rc = r;
        }
      }
      rig_docker_networks_free(networks);
    }
  } else {
    rig_docker_volumes *vols = NULL;
    if ((rc = rig_docker_volume_list(&vols, docker, &list)) == RIG_OK) {
      for (size_t i = 0; i < vols->count; i++) {
        int r = rig_docker_volume_remove(docker, vols->items[i].name, 0);
        if (r == RIG_OK)
          rig__stack_progress(stack, NULL, vols->items[i].name, RIG_STACK_PHASE_REMOVED, -1, NULL);
        else if (r != RIG_ENOTFOUND) {
          rig__buf_printf(errors, "%svolume %s: %s", errors->len ? "; " : "", vols->items[i].name,
                          rig_error_last()->text);
          rc = r;
        }
      }
      rig_docker_volumes_free(vols);
    }
  }
  free(label);
  return rc;
}

int rig_stack_down(rig_stack *stack, const rig_stack_down_options *opts)
{
  if (!stack)
    return rig_error_set(RIG_EINVAL, "rig_stack_down: stack is NULL");
  rig_stack_down_options defaults = RIG_STACK_DOWN_OPTIONS_INIT;
  if (!opts)
    opts = &defaults;
  stack->operation_start_ms = rig__now_ms();
  rig_docker *docker = NULL;
  int rc = rig__stack_docker(&docker, stack);
  if (rc != RIG_OK)
    return rc;
  rig_docker_containers *containers = NULL;
  if ((rc = rig__stack_list_containers(&containers, docker, stack->project_name)) != RIG_OK)
    return rig_error_wrap(RIG_OK, "project %s", stack->project_name);

  char **names = NULL;
  size_t name_count = 0;
  rig__plan *plan = plan_from_labels(containers, &names, &name_count);
  down_job *jobs = rig__calloc(containers->count + 1, sizeof *jobs);
  rig_buf errors = RIG_BUF_INIT;
  int first_error = RIG_OK;
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
  int watched = 0;
  for (size_t i = 0; i < containers->count; i++) {
    const char *service = rig_docker_summary_label(&containers->items[i], RIG__LABEL_SERVICE);
    if (!service)
      service = containers->items[i].name;
    size_t k = 0;
    while (k < name_count && strcmp(names[k], service) != 0)
      k++;
    down_job *job = &jobs[i];
    job->stack = stack;
    job->container = &containers->items[i];
    job->service = service;
    job->wave = plan && k < name_count ? plan->wave_of[k] : 0;
    job->kill = opts->kill;
    job->lock = &lock;
    job->cond = &cond;
    job->watched = job->wave > 0 && rig__streq(job->container->state, "running");
    watched += job->watched;
  }
  die_watch watch;
  memset(&watch, 0, sizeof watch);
  int watching = 0;
  if (watched && !opts->kill) {
    watch.jobs = jobs;
    watch.count = containers->count;
    watch.lock = &lock;
    watch.cond = &cond;
    watch.label = rig__sprintf("%s=%s", RIG__LABEL_PROJECT, stack->project_name);
    watch.since_ns = rig__wall_ns();
    if (rig__stack_docker_clone(&watch.docker, stack) == RIG_OK &&
        pthread_create(&watch.thread, NULL, die_watch_main, &watch) == 0)
      watching = 1;
  }
  for (size_t w = plan ? plan->wave_count : 0; w-- > 0;) {
    /* The last wave first: those that depend on others stop before what they depend on. */
    for (size_t i = 0; i < containers->count; i++) {
      down_job *job = &jobs[i];
      if (job->wave != w)
        continue;
      if (pthread_create(&job->thread, NULL, down_main, job) == 0)
        job->thread_started = 1;
      else
        down_main(job);
    }
    /* The next wave starts once this one's containers stopped (not yet removed). */
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < containers->count; i++)
      while (jobs[i].thread_started && !jobs[i].stopped)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
  }
  for (size_t i = 0; i < containers->count; i++)
    if (jobs[i].thread_started)
      pthread_join(jobs[i].thread, NULL);
  if (watching) {
    watch.stop = 1;
    pthread_join(watch.thread, NULL);
  }
  rig_docker_free(watch.docker);
  free(watch.label);
  for (size_t i = 0; i < containers->count; i++) {
    if (jobs[i].rc != RIG_OK) {
      rig__buf_printf(&errors, "%s%s", errors.len ? "; " : "", jobs[i].error);
      if (first_error == RIG_OK)
        first_error = jobs[i].rc;
    }
    free(jobs[i].error);
  }
  free(jobs);
  rig__plan_free(plan);
  for (size_t i = 0; i < name_count; i++)
    free(names[i]);
  free(names);
  rig_docker_containers_free(containers);

  int r = remove_by_label(stack, docker, 0, &errors);
  if (r != RIG_OK && first_error == RIG_OK)
    first_error = r;
  if (opts->remove_volumes) {
    r = remove_by_label(stack, docker, 1, &errors);
    if (r != RIG_OK && first_error == RIG_OK)
      first_error = r;
  }
  /* Only now: had this process died during the removal, the reaper would have finished it. */
  rig__reaper_disarm(&stack->reaper);
  free(stack->session);
  stack->session = NULL;
  if (first_error != RIG_OK) {
    rc = rig_error_set(first_error, "project %s: down left resources behind: %s",
                       stack->project_name, errors.data ? errors.data : "");
    rig__buf_dispose(&errors);
    return rc;
  }
  rig__buf_dispose(&errors);
  return RIG_OK;
}
