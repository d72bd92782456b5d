/*
 * runner.c - exit codes, error reporting and the logger shared by the runner's commands.
 */
#include "runner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rig_log *console_log;

static void free_console_log(void)
{
  rig_log_free(console_log);
  console_log = NULL;
}

rig_log *runner_log(void)
{
  if (!console_log) {
    rig_log_options opts = RIG_LOG_OPTIONS_INIT;
    const char *level = getenv("STACKRIG_LOG_LEVEL");
    if (level && rig_log_level_parse(&opts.level, level) != RIG_OK)
      opts.level = RIG_LOG_INFO;
    const char *format = getenv("STACKRIG_LOG_FORMAT");
    if (format && strcmp(format, "json") == 0)
      opts.format = RIG_LOG_JSON;
    if (rig_log_new(&console_log, &opts) == RIG_OK)
      atexit(free_console_log);
  }
  return console_log;
}

int runner_exit_code(int rig_code)
{
  switch (rig_code) {
  case RIG_OK:
    return RIG_EXIT_OK;
  case RIG_EASSERT:
  case RIG_ESQL:
  case RIG_EDRIFT:
    return RIG_EXIT_FAILED;
  case RIG_EINVAL:
  case RIG_EPARSE:
  case RIG_EUNSUPPORTED:
    return RIG_EXIT_USAGE;
  case RIG_EINTERRUPTED:
    return RIG_EXIT_SIGINT;
  default:
    return RIG_EXIT_INFRA;
  }
}

int runner_report(int code, const char *what)
{
  const rig_error *err = rig_error_last();
  const char *text = err ? err->text : rig_strerror(code);
  if (what && *what)
    fprintf(stderr, "stackrig: %s: %s\n", what, text);
  else
    fprintf(stderr, "stackrig: %s\n", text);
  const char *hint = err ? rig_error_detail_get(err, "hint") : NULL;
  if (hint)
    fprintf(stderr, "hint: %s\n", hint);
  return runner_exit_code(code);
}

int runner_usage_error(const char *command, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "stackrig%s%s: ", command ? " " : "", command ? command : "");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (command)
    fprintf(stderr, "\nRun 'stackrig %s --help' for usage.\n", command);
  else
    fprintf(stderr, "\nRun 'stackrig --help' for usage.\n");
  return RIG_EXIT_USAGE;
}

int runner_wants_help(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return 0;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
      return 1;
  }
  return 0;
}

const char *runner_option_value(const char *name, int argc, char **argv, int *i, int *missing)
{
  const char *arg = argv[*i];
  size_t len = strlen(name);
  *missing = 0;
  if (strncmp(arg, name, len) != 0)
    return NULL;
  if (arg[len] == '=')
    return arg + len + 1;
  if (arg[len] != '\0')
    return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

int runner_print_usage(const runner_command *cmd)
{
  fputs(cmd->usage, stdout);
  return RIG_EXIT_OK;
}
