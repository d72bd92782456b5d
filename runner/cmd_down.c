/*
 * cmd_down.c - `stackrig down`: stops and removes the project's containers (reverse
 * dependency order, each with its stop signal and grace period), its networks and, with
 * -v, its named volumes. Works from the labels alone: `stackrig down -p NAME` needs no
 * compose file.
 */
#include <string.h>

#include "runner.h"
#include "stack_cli.h"

static int run_down(int argc, char **argv)
{
  stack_cli cli;
  memset(&cli, 0, sizeof cli);
  cli.command = "down";
  rig_stack_down_options down = RIG_STACK_DOWN_OPTIONS_INIT;
  for (int i = 1; i < argc; i++) {
    int took = stack_cli_common_option(&cli, argc, argv, &i);
    if (took < 0)
      return RIG_EXIT_USAGE;
    if (took)
      continue;
    if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--volumes") == 0)
      down.remove_volumes = 1;
    else if (strcmp(argv[i], "--kill") == 0)
      down.kill = 1;
    else
      return runner_usage_error("down", "unknown argument '%s'", argv[i]);
  }
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  stack_progress *progress = stack_progress_new(NULL, "down");
  opts.progress = stack_progress_event;
  opts.progress_userdata = progress;
  rig_stack *stack = NULL;
  int code = stack_cli_open(&stack, &cli, 0, &opts);
  if (code == RIG_EXIT_OK) {
    int rc = rig_stack_down(stack, &down);
    code = rc == RIG_OK ? RIG_EXIT_OK : stack_cli_report(&cli, rc);
  }
  rig_stack_free(stack);
  stack_cli_dispose(&cli);
  stack_progress_free(progress);
  return code;
}

const runner_command runner_cmd_down = {
    "down",
    "stop and remove the stack's containers and networks",
    "usage: stackrig down [-f FILE]... [-p NAME] [-v] [--kill]\n"
    "\n"
    "Stops the project's containers in reverse dependency order (each with its\n"
    "stop_signal and stop_grace_period; independent ones in parallel), removes them and\n"
    "the project's networks. It finds everything by the compose project label, so it\n"
    "also takes down a stack whose compose file is gone (-p NAME), or one that\n"
    "'docker compose' started.\n"
    "\n"
    "Options:\n"
    "  -f, --file FILE        compose file, to find the project name (repeatable)\n"
    "  -p, --project-name N   the project (then no compose file is read)\n"
    "  -v, --volumes          also remove the project's named volumes (never external ones)\n"
    "  --kill                 kill the containers instead of stopping them\n",
    run_down,
};
