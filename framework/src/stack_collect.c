/*
 * stack_collect.c - reading what the stack's containers wrote: streaming logs (per service
 * or all, tail, follow; every container followed in parallel) and collecting, after a
 * failure, every container's whole log and inspect JSON plus a summary that names what
 * went wrong with the last lines each broken service wrote.
 */
#include "stack_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stackrig/error.h"
#include "util.h"

/* ---- logs ---- */

typedef struct log_stream {
  rig_stack *stack;
  const char *id;
  const char *service;
  int number;
  const rig_stack_logs_options *opts;
  rig_stack_log_cb cb;
  void *userdata;
  pthread_mutex_t *lock;
  volatile int *stop;
  int rc;
  char *error;
  pthread_t thread;
  int thread_started;
} log_stream;

static int on_log_output(void *userdata, rig_docker_stream stream, const char *data, size_t len)
{
  log_stream *ls = userdata;
  if (stream != RIG_DOCKER_STDOUT && stream != RIG_DOCKER_STDERR)
    return 0;
  while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    len--;
  pthread_mutex_lock(ls->lock);
  int stop = *ls->stop;
  if (!stop && ls->cb(ls->service, ls->number, (int)stream, data, len, ls->userdata) != 0)
    *ls->stop = stop = 1;
  pthread_mutex_unlock(ls->lock);
  return stop;
}

static void run_log_stream(log_stream *ls, rig_docker *docker)
{
  rig_docker_logs_options opts = RIG_DOCKER_LOGS_OPTIONS_INIT;
  opts.follow = ls->opts->follow;
  opts.timestamps = ls->opts->timestamps;
  if (ls->opts->tail == 0)
    opts.tail_zero = 1;
  else
    opts.tail = ls->opts->tail;
  opts.whole_lines = 1;
  opts.on_output = on_log_output;
  opts.userdata = ls;
  opts.cancel = ls->opts->cancel;
  ls->rc = rig_docker_container_logs(docker, ls->id, &opts);
  if (ls->rc == RIG_EINTERRUPTED)
    ls->rc = RIG_OK;
  if (ls->rc != RIG_OK) {
    const rig_error *err = rig_error_last();
    ls->error = rig__strdup(err && err->text ? err->text : rig_strerror(ls->rc));
  }
}

static void *log_thread(void *arg)
{
  log_stream *ls = arg;
  rig_docker *docker = NULL;
  ls->rc = rig__stack_docker_clone(&docker, ls->stack);
  if (ls->rc == RIG_OK)
    run_log_stream(ls, docker);
  rig_docker_free(docker);
  return NULL;
}

static int wanted(const char *service, const char *const *services)
{
  if (!services)
    return 1;
  for (const char *const *s = services; *s; s++)
    if (strcmp(*s, service) == 0)
      return 1;
  return 0;
}

int rig_stack_logs(rig_stack *stack, const rig_stack_logs_options *opts, rig_stack_log_cb cb,
                   void *userdata)
{
  if (!stack || !cb)
    return rig_error_set(RIG_EINVAL, "rig_stack_logs: stack and callback are required");
  rig_stack_logs_options defaults = RIG_STACK_LOGS_OPTIONS_INIT;
  if (!opts)
    opts = &defaults;
  rig_docker *docker = NULL;
  rig_docker_containers *containers = NULL;
  int rc = rig__stack_containers(&containers, &docker, stack);
  if (rc != RIG_OK)
    return rc;
  for (const char *const *s = opts->services; s && *s; s++) {
    int found = 0;
    for (size_t i = 0; i < containers->count && !found; i++)
      found = rig__streq(rig_docker_summary_label(&containers->items[i], RIG__LABEL_SERVICE), *s);
    if (!found) {
      rig_docker_containers_free(containers);
      rc = rig_error_set(RIG_ENOTFOUND, "project %s: service %s has no container",
                         stack->project_name, *s);
      rig_error_add_detail("service", "%s", *s);
      return rc;
    }
  }
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  volatile int stop = 0;
  log_stream *streams = rig__calloc(containers->count + 1, sizeof *streams);
  size_t n = 0;
  for (size_t i = 0; i < containers->count; i++) {
    const char *service = rig_docker_summary_label(&containers->items[i], RIG__LABEL_SERVICE);
    if (!service || !wanted(service, opts->services))
      continue;
    const char *number =
        rig_docker_summary_label(&containers->items[i], RIG__LABEL_CONTAINER_NUMBER);
    log_stream *ls = &streams[n++];
    ls->stack = stack;
    ls->id = containers->items[i].id;
    ls->service = service;
    ls->number = number ? atoi(number) : 1;
    ls->opts = opts;
    ls->cb = cb;
    ls->userdata = userdata;
    ls->lock = &lock;
    ls->stop = &stop;
  }
  if (opts->follow) {
    for (size_t i = 0; i < n; i++)
      streams[i].thread_started =
          pthread_create(&streams[i].thread, NULL, log_thread, &streams[i]) == 0;
    for (size_t i = 0; i < n; i++)
      if (streams[i].thread_started)
        pthread_join(streams[i].thread, NULL);
  } else {
    for (size_t i = 0; i < n && !stop; i++)
      run_log_stream(&streams[i], docker);
  }
  rc = RIG_OK;
  for (size_t i = 0; i < n; i++) {
    if (streams[i].rc != RIG_OK && streams[i].rc != RIG_ENOTFOUND && rc == RIG_OK)
      rc = rig_error_set(streams[i].rc, "service %s: logs: %s", streams[i].service,
                         streams[i].error ? streams[i].error : rig_strerror(streams[i].rc));
    free(streams[i].error);
  }
  free(streams);
  rig_docker_containers_free(containers);
  return rc;
}

/* ---- collect ---- */

typedef struct file_sink {
  FILE *file;
  rig_buf tail; /* for summary: the last lines */
} file_sink;

static int write_log_line(void *userdata, rig_docker_stream stream, const char *data, size_t len)
{
  file_sink *sink = userdata;
  if (stream != RIG_DOCKER_STDOUT && stream != RIG_DOCKER_STDERR)
    return 0;
  /* "<timestamp> <line>" from the engine becomes "<timestamp> stdout|stderr <line>". */
  const char *space = memchr(data, ' ', len);
  size_t ts_len = space ? (size_t)(space - data) : 0;
  const char *label = stream == RIG_DOCKER_STDERR ? "stderr" : "stdout";
  if (space) {
    fprintf(sink->file, "%.*s %s ", (int)ts_len, data, label);
    fwrite(space + 1, 1, len - ts_len - 1, sink->file);
  } else {
    fprintf(sink->file, "%s ", label);
    fwrite(data, 1, len, sink->file);
  }
  if (len == 0 || data[len - 1] != '\n')
    fputc('\n', sink->file);
  return 0;
}

static int append_tail(void *userdata, rig_docker_stream stream, const char *data, size_t len)
{
  rig_buf *buf = userdata;
  if (stream != RIG_DOCKER_STDOUT && stream != RIG_DOCKER_STDERR)
    return 0;
  rig__buf_puts(buf, "    ");
  rig__buf_append(buf, data, len);
  if (len == 0 || data[len - 1] != '\n')
    rig__buf_putc(buf, '\n');
  return 0;
}

static int make_dir(const char *dir)
{
  char *path = rig__strdup(dir);
  for (char *p = path + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  }
  int ok = mkdir(path, 0755) == 0 || errno == EEXIST;
  int saved = errno;
  free(path);
  if (!ok)
    return rig_error_set(RIG_EIO, "cannot create %s: %s", dir, strerror(saved));
  return RIG_OK;
}

static int write_text(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  if (!f)
    return rig_error_set(RIG_EIO, "cannot write %s: %s", path, strerror(errno));
  fputs(text, f);
  if (fclose(f) != 0)
    return rig_error_set(RIG_EIO, "cannot write %s: %s", path, strerror(errno));
  return RIG_OK;
}

int rig_stack_collect(rig_stack *stack, const char *dir)
{
  if (!stack || !dir)
    return rig_error_set(RIG_EINVAL, "rig_stack_collect: stack and dir are required");
  int rc = make_dir(dir);
  if (rc != RIG_OK)
    return rc;
  rig_docker *docker = NULL;
  rig_docker_containers *containers = NULL;
  if ((rc = rig__stack_containers(&containers, &docker, stack)) != RIG_OK)
    return rc;
  rig_buf summary = RIG_BUF_INIT, problems = RIG_BUF_INIT;
  rig__buf_printf(&summary, "project %s: %zu container(s)\n\n", stack->project_name,
                  containers->count);
  for (size_t i = 0; i < containers->count && rc == RIG_OK; i++) {
    const rig_docker_container_summary *c = &containers->items[i];
    const char *service = rig_docker_summary_label(c, RIG__LABEL_SERVICE);
    const char *number = rig_docker_summary_label(c, RIG__LABEL_CONTAINER_NUMBER);
    char *base = rig__sprintf("%s-%s", service ? service : c->name, number ? number : "1");

    rig_docker_container *info = NULL;
    if (rig_docker_container_inspect(&info, docker, c->id) != RIG_OK) {
      free(base);
      continue;
    }
    char *path = rig__sprintf("%s/%s.inspect.json", dir, base);
    rc = write_text(path, info->raw_json ? info->raw_json : "{}");
    free(path);

    path = rig__sprintf("%s/%s.log", dir, base);
    file_sink sink = {fopen(path, "w"), RIG_BUF_INIT};
    if (!sink.file) {
      rc = rig_error_set(RIG_EIO, "cannot write %s: %s", path, strerror(errno));
    } else {
      rig_docker_logs_options lo = RIG_DOCKER_LOGS_OPTIONS_INIT;
      lo.timestamps = 1;
      lo.whole_lines = 1;
      lo.on_output = write_log_line;
      lo.userdata = &sink;
      rig_docker_container_logs(docker, c->id, &lo);
      if (fclose(sink.file) != 0 && rc == RIG_OK)
        rc = rig_error_set(RIG_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    free(path);

    int exited = strcmp(info->status, "exited") == 0 || info->dead;
    int unhealthy = rig__streq(info->health_status, "unhealthy");
    rig__buf_printf(&summary, "%-24s %-10s%s%s exit=%d restarts=%d%s\n", base, info->status,
                    info->health_status ? " health=" : "",
                    info->health_status ? info->health_status : "", info->exit_code,
                    info->restart_count, info->oom_killed ? " OOM-killed" : "");
    if (exited || unhealthy || info->restart_count > 0 || info->oom_killed) {
      rig__buf_printf(&problems, "\n%s (%s):", base, info->name);
      if (exited)
        rig__buf_printf(&problems, " exited with code %d;", info->exit_code);
      if (info->restart_count > 0)
        rig__buf_printf(&problems, " restarted %d time(s);", info->restart_count);
      if (info->oom_killed)
        rig__buf_puts(&problems, " OOM-killed;");
      if (unhealthy)
        rig__buf_printf(&problems, " unhealthy (last check: %s);",
                        info->health_last_output ? info->health_last_output : "?");
      rig__buf_puts(&problems, "\n  last 30 log lines:\n");
      rig_docker_logs_options lo = RIG_DOCKER_LOGS_OPTIONS_INIT;
      lo.tail = 30;
      lo.whole_lines = 1;
      lo.on_output = append_tail;
      lo.userdata = &problems;
      rig_docker_container_logs(docker, c->id, &lo);
    }
    rig_docker_container_free(info);
    free(base);
  }
  if (rc == RIG_OK) {
    if (problems.len)
      rig__buf_printf(&summary, "\nProblems:\n%s", problems.data);
    else
      rig__buf_puts(&summary,
                    "\nNo container exited, restarted, was OOM-killed or is unhealthy.\n");
    char *path = rig__sprintf("%s/summary.txt", dir);
    rc = write_text(path, summary.data);
    free(path);
  }
  rig__buf_dispose(&summary);
  rig__buf_dispose(&problems);
  rig_docker_containers_free(containers);
  return rc;
}
