/*
 * stack_cli.h - what the stack commands (up, down, status, logs, port) share: the -f/-p
 * options, finding the project (from its compose file, or by name alone), error reports,
 * the progress display and service-prefixed log lines.
 */
#ifndef RIG_STACK_CLI_H
#define RIG_STACK_CLI_H

#include <stdio.h>

#include "runner.h"

#define STACK_CLI_MAX_FILES 32

typedef struct stack_cli {
  const char *command;
  const char *files[STACK_CLI_MAX_FILES + 1];
  size_t file_count;
  const char *project;
  rig_compose_project *model; /* loaded by stack_cli_load(); freed by stack_cli_dispose() */
} stack_cli;

/*
 * Takes -f/--file FILE and -p/--project-name NAME (also --file=FILE, -fFILE...) at argv[*i].
 * @return 1 when it took the option (advancing *i past its value), 0 when argv[*i] is
 *   something else, or -1 after printing a usage error (missing value, too many files)
 */
int stack_cli_common_option(stack_cli *cli, int argc, char **argv, int *i);

/*
 * Loads the compose project into cli->model (logging its warnings), once.
 * @return an exit code: 0, 2 for a missing or bad compose file, 3...
 */
int stack_cli_load(stack_cli *cli, int need_project);

/* Frees what stack_cli_load() loaded; after the stack that borrows it is freed. */
void stack_cli_dispose(stack_cli *cli);

/*
 * Makes the stack handle. With need_project (up), or when no project name is given, the
 * compose file is loaded (its warnings are logged); otherwise the project is found by
 * name alone (down/status/logs/port work without the file). The name comes from -p,
 * STACKRIG_PROJECT, COMPOSE_PROJECT_NAME, or the compose file.
 * @return an exit code: 0, or what stack_cli_report() returned
 */
int stack_cli_open(rig_stack **out, stack_cli *cli, int need_project, rig_stack_options *opts);

/*
 * Reports a library failure on stderr. An unreachable engine is one line (no hint); a
 * missing compose file is a usage error (2).
 * @return the exit code
 */
int stack_cli_report(const stack_cli *cli, int code);

/* ---- progress ---- */

typedef struct stack_progress stack_progress;

/* Progress on stderr: on a terminal one line per service, rewritten in place; otherwise
 * one plain line per change. The service list fixes the order of the lines. */
stack_progress *stack_progress_new(const rig_compose_project *project, const char *verb);
void stack_progress_free(stack_progress *progress);
/* A rig_stack_progress_cb; userdata is the stack_progress. */
void stack_progress_event(const rig_stack_event *event, void *userdata);

/* ---- log lines ---- */

typedef struct stack_log_printer {
  FILE *out;
  int color;
  size_t width; /* of the "service-n" prefix */
} stack_log_printer;

/* Sets colour (a terminal and no NO_COLOR) and the prefix width from the service names. */
void stack_log_printer_init(stack_log_printer *printer, FILE *out, rig_stack *stack);
/* A rig_stack_log_cb printing "postgres-1  | line"; userdata is the printer. */
int stack_log_printer_line(const char *service, int number, int stream, const char *line,
                           size_t len, void *userdata);

#endif
