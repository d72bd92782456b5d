/*
 * stack_cli.c - options, project lookup, error reports, progress display and log lines
 * shared by the stack commands (see stack_cli.h).
 */
#include "stack_cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- options ---- */

static const char *short_or_long(const char *shortname, const char *longname, int argc, char **argv,
                                 int *i, int *missing)
{
  const char *arg = argv[*i];
  const char *v = runner_option_value(longname, argc, argv, i, missing);
  if (v || *missing)
    return v;
  size_t len = strlen(shortname);
  if (strncmp(arg, shortname, len) != 0)
    return NULL;
  if (arg[len] != '\0')
    return arg + len; /* -fFILE */
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

int stack_cli_common_option(stack_cli *cli, int argc, char **argv, int *i)
{
  int missing = 0;
  const char *arg = argv[*i];
  const char *v = short_or_long("-f", "--file", argc, argv, i, &missing);
  if (missing) {
    runner_usage_error(cli->command, "%s needs a file name", arg);
    return -1;
  }
  if (v) {
    if (cli->file_count >= STACK_CLI_MAX_FILES) {
      runner_usage_error(cli->command, "at most %d compose files", STACK_CLI_MAX_FILES);
      return -1;
    }
    cli->files[cli->file_count++] = v;
    cli->files[cli->file_count] = NULL;
    return 1;
  }
  v = short_or_long("-p", "--project-name", argc, argv, i, &missing);
  if (missing) {
    runner_usage_error(cli->command, "%s needs a project name", arg);
    return -1;
  }
  if (v) {
    if (!*v) {
      runner_usage_error(cli->command, "the project name is empty");
      return -1;
    }
    cli->project = v;
    return 1;
  }
  return 0;
}

/* ---- reports ---- */

int stack_cli_report(const stack_cli *cli, int code)
{
  const rig_error *err = rig_error_last();
  const char *text = err && err->text ? err->text : rig_strerror(code);
  if (code == RIG_ECONNECT) {
    /* One line: in CI logs the cause must be the line that is read. */
    fprintf(stderr, "stackrig %s: %s\n", cli->command, text);
    return RIG_EXIT_INFRA;
  }
  fprintf(stderr, "stackrig %s: %s\n", cli->command, text);
  const char *hint = err ? rig_error_detail_get(err, "hint") : NULL;
  if (hint)
    fprintf(stderr, "hint: %s\n", hint);
  return runner_exit_code(code);
}

static const char *env_project(void)
{
  const char *names[] = {"STACKRIG_PROJECT", "COMPOSE_PROJECT_NAME", NULL};
  for (const char **n = names; *n; n++) {
    const char *v = getenv(*n);
    if (v && *v)
      return v;
  }
  return NULL;
}

int stack_cli_load(stack_cli *cli, int need_project)
{
  if (cli->model)
    return RIG_EXIT_OK;
  rig_compose_options copts = RIG_COMPOSE_OPTIONS_INIT;
  copts.files = cli->file_count ? cli->files : NULL;
  copts.file_count = cli->file_count;
  copts.project_name = cli->project;
  int rc = rig_compose_load(&cli->model, &copts);
  if (rc != RIG_OK) {
    cli->model = NULL;
    if (rc == RIG_ENOTFOUND && cli->file_count == 0) {
      fprintf(stderr, "stackrig %s: %s\n", cli->command, rig_error_last()->text);
      fprintf(stderr, "hint: pass -f FILE%s\n",
              need_project ? "" : ", or -p NAME for a running stack");
      return RIG_EXIT_USAGE;
    }
    return stack_cli_report(cli, rc);
  }
  for (size_t i = 0; i < cli->model->warnings.count; i++)
    rig_log_write(runner_log(), RIG_LOG_WARN, "%s", cli->model->warnings.items[i]);
  return RIG_EXIT_OK;
}

void stack_cli_dispose(stack_cli *cli)
{
  rig_compose_project_free(cli->model);
  cli->model = NULL;
}

int stack_cli_open(rig_stack **out, stack_cli *cli, int need_project, rig_stack_options *opts)
{
  const char *name = cli->project ? cli->project : env_project();
  int rc;
  if (!need_project && name && cli->file_count == 0 && !cli->model) {
    if ((rc = rig_stack_open(out, name, opts)) != RIG_OK)
      return stack_cli_report(cli, rc);
    return RIG_EXIT_OK;
  }
  int code = stack_cli_load(cli, need_project);
  if (code != RIG_EXIT_OK)
    return code;
  rig_stack_options local = *opts;
  local.project = cli->model;
  if ((rc = rig_stack_new(out, &local)) != RIG_OK)
    return stack_cli_report(cli, rc);
  return RIG_EXIT_OK;
}

/* ---- progress ---- */

typedef struct progress_line {
  char *service;
  char text[160];
} progress_line;

struct stack_progress {
  int tty;
  int color;
  const char *verb;
  progress_line *lines;
  size_t count;
  size_t drawn; /* lines currently on screen */
  size_t width;
};

static int use_color(FILE *stream)
{
  const char *no_color = getenv("NO_COLOR");
  return isatty(fileno(stream)) && !(no_color && *no_color);
}

stack_progress *stack_progress_new(const rig_compose_project *project, const char *verb)
{
  stack_progress *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  const char *term = getenv("TERM");
  p->tty = isatty(2) && !(term && strcmp(term, "dumb") == 0);
  p->color = p->tty && use_color(stderr);
  p->verb = verb;
  if (project && project->service_count) {
    p->lines = calloc(project->service_count, sizeof *p->lines);
    for (size_t i = 0; p->lines && i < project->service_count; i++) {
      p->lines[i].service = strdup(project->services[i].name);
      snprintf(p->lines[i].text, sizeof p->lines[i].text, "pending");
      size_t len = strlen(project->services[i].name);
      if (len > p->width)
        p->width = len;
      p->count++;
    }
  }
  return p;
}

void stack_progress_free(stack_progress *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->count; i++)
    free(p->lines[i].service);
  free(p->lines);
  free(p);
}

static const char *phase_name(rig_stack_phase phase)
{
  switch (phase) {
  case RIG_STACK_PHASE_WAITING:
    return "waiting for dependencies";
  case RIG_STACK_PHASE_PULLING:
    return "pulling image";
  case RIG_STACK_PHASE_CREATING:
    return "creating";
  case RIG_STACK_PHASE_STARTING:
    return "starting";
  case RIG_STACK_PHASE_RUNNING:
    return "running";
  case RIG_STACK_PHASE_HEALTHY:
    return "healthy";
  case RIG_STACK_PHASE_READY:
    return "ready";
  case RIG_STACK_PHASE_COMPLETED:
    return "completed";
  case RIG_STACK_PHASE_FAILED:
    return "failed";
  case RIG_STACK_PHASE_STOPPING:
    return "stopping";
  case RIG_STACK_PHASE_REMOVED:
    return "removed";
  }
  return "?";
}

static const char *phase_color(rig_stack_phase phase)
{
  switch (phase) {
  case RIG_STACK_PHASE_READY:
  case RIG_STACK_PHASE_HEALTHY:
  case RIG_STACK_PHASE_COMPLETED:
  case RIG_STACK_PHASE_REMOVED:
    return "\033[32m";
  case RIG_STACK_PHASE_FAILED:
    return "\033[31m";
  default:
    return "\033[33m";
  }
}

static void redraw(stack_progress *p)
{
  if (p->drawn)
    fprintf(stderr, "\033[%zuA", p->drawn);
  for (size_t i = 0; i < p->count; i++)
    fprintf(stderr, "\r\033[2K %-*s  %s\n", (int)p->width, p->lines[i].service, p->lines[i].text);
  p->drawn = p->count;
  fflush(stderr);
}

void stack_progress_event(const rig_stack_event *event, void *userdata)
{
  stack_progress *p = userdata;
  const char *what = phase_name(event->phase);
  char timing[32];
  snprintf(timing, sizeof timing, "%.1fs", (double)event->elapsed_ms / 1000.0);
  size_t index = p->count;
  if (event->service)
    for (size_t i = 0; i < p->count; i++)
      if (strcmp(p->lines[i].service, event->service) == 0)
        index = i;
  if (!p->tty || index == p->count) {
    /* Plain lines: services without a line of their own (down by name), networks, volumes,
     * and everything when stderr is not a terminal. */
    if (p->tty && p->drawn) {
      /* keep the block below: print above it by redrawing after */
      fprintf(stderr, "\033[%zuA\r\033[2K", p->drawn);
      p->drawn = 0;
    }
    const char *kind = event->service ? event->service : event->object ? event->object : "stack";
    fprintf(stderr, "%s: %s%s%s (%s)\n", kind, what, event->message ? ": " : "",
            event->message ? event->message : "", timing);
    if (p->tty && p->count)
      redraw(p);
    else
      fflush(stderr);
    return;
  }
  progress_line *line = &p->lines[index];
  if (p->color)
    snprintf(line->text, sizeof line->text, "%s%s\033[0m %s%s%s", phase_color(event->phase), what,
             timing, event->message ? "  " : "", event->message ? event->message : "");
  else
    snprintf(line->text, sizeof line->text, "%s %s%s%s", what, timing, event->message ? "  " : "",
             event->message ? event->message : "");
  redraw(p);
}

/* ---- log lines ---- */

static const char *const palette[] = {"\033[36m", "\033[33m", "\033[32m", "\033[35m",
                                      "\033[34m", "\033[96m", "\033[93m", "\033[92m"};

void stack_log_printer_init(stack_log_printer *printer, FILE *out, rig_stack *stack)
{
  printer->out = out;
  printer->color = use_color(out);
  printer->width = 0;
  rig_stack_status *status = NULL;
  if (rig_stack_get_status(&status, stack) == RIG_OK) {
    for (size_t i = 0; i < status->service_count; i++) {
      size_t len = strlen(status->services[i].service) + 3;
      if (len > printer->width)
        printer->width = len;
    }
    rig_stack_status_free(status);
  }
}

int stack_log_printer_line(const char *service, int number, int stream, const char *line,
                           size_t len, void *userdata)
{
  stack_log_printer *printer = userdata;
  char prefix[128];
  snprintf(prefix, sizeof prefix, "%s-%d", service, number);
  if (printer->color) {
    unsigned hash = 0;
    for (const char *c = service; *c; c++)
      hash = hash * 31u + (unsigned char)*c;
    fprintf(printer->out, "%s%-*s |\033[0m ", palette[hash % 8], (int)printer->width, prefix);
  } else {
    fprintf(printer->out, "%-*s | ", (int)printer->width, prefix);
  }
  fwrite(line, 1, len, printer->out);
  fputc('\n', printer->out);
  fflush(printer->out);
  (void)stream;
  return 0;
}
