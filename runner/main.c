/*
 * main.c - the `stackrig` command: global options and dispatch to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "runner.h"

/* Every command the runner has, in the order `stackrig --help` lists them (one a line). */
/* clang-format off */
static const runner_command *const commands[] = {
    &runner_cmd_help,
    &runner_cmd_up,
    &runner_cmd_down,
    &runner_cmd_status,
    &runner_cmd_logs,
    &runner_cmd_port,
    &runner_cmd_traffic,
    &runner_cmd_config,
    &runner_cmd_migrate,
    NULL,
};
/* clang-format on */

const runner_command *const *runner_commands(void)
{
  return commands;
}

const runner_command *runner_find_command(const char *name)
{
  for (const runner_command *const *c = commands; *c; c++)
    if (strcmp((*c)->name, name) == 0)
      return *c;
  return NULL;
}

static void print_main_help(FILE *out)
{
  fprintf(out, "usage: stackrig [--version] [--help] COMMAND [ARGS...]\n"
               "\n"
               "stackrig brings up a compose-defined stack, waits until its services are really\n"
               "ready, and gives C test suites helpers for traffic, traces and metrics.\n"
               "\n"
               "Commands:\n");
  for (const runner_command *const *c = commands; *c; c++)
    fprintf(out, "  %-10s %s\n", (*c)->name, (*c)->summary);
  fprintf(out, "\n"
               "Run 'stackrig help COMMAND' or 'stackrig COMMAND --help' for a command's options.\n"
               "\n"
               "Environment:\n"
               "  STACKRIG_LOG_LEVEL   trace, debug, info (default), warn, error\n"
               "  STACKRIG_LOG_FORMAT  console (default) or json\n"
               "  NO_COLOR             set to turn colour off\n"
               "\n"
               "Exit codes: 0 success, 1 a test or assertion failed, 2 usage error,\n"
               "            3 infrastructure failure, 130/143 interrupted.\n");
}

static int run_help(int argc, char **argv)
{
  if (argc < 2) {
    print_main_help(stdout);
    return RIG_EXIT_OK;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
    return runner_print_usage(&runner_cmd_help);
  if (argc > 2)
    return runner_usage_error("help", "expected one command name, got %d", argc - 1);
  const runner_command *cmd = runner_find_command(argv[1]);
  if (!cmd)
    return runner_usage_error(NULL, "unknown command '%s'", argv[1]);
  return runner_print_usage(cmd);
}

const runner_command runner_cmd_help = {
    "help",
    "show the help of stackrig or of one command",
    "usage: stackrig help [COMMAND]\n"
    "\n"
    "Shows the list of commands, or the options of COMMAND.\n",
    run_help,
};

int main(int argc, char **argv)
{
  if (argc < 2) {
    print_main_help(stderr);
    return RIG_EXIT_USAGE;
  }
  const char *first = argv[1];
  if (strcmp(first, "-h") == 0 || strcmp(first, "--help") == 0) {
    print_main_help(stdout);
    return RIG_EXIT_OK;
  }
  if (strcmp(first, "-V") == 0 || strcmp(first, "--version") == 0) {
    printf("stackrig %s (libstackrig %s)\n", RIG_VERSION_STRING, rig_version());
    return RIG_EXIT_OK;
  }
  if (first[0] == '-')
    return runner_usage_error(NULL, "unknown option '%s'", first);
  const runner_command *cmd = runner_find_command(first);
  if (!cmd)
    return runner_usage_error(NULL, "unknown command '%s'", first);
  if (cmd != &runner_cmd_help && runner_wants_help(argc - 1, argv + 1))
    return runner_print_usage(cmd);
  return cmd->run(argc - 1, argv + 1);
}
