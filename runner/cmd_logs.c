/*
 * cmd_logs.c - `stackrig logs`: the project's container logs, each line prefixed with its
 * service and container number ("postgres-1  | ..."), coloured on a terminal unless
 * NO_COLOR is set.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "stack_cli.h"

static volatile int stop_following;
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
  got_signal = sig;
  stop_following = 1;
}

static int run_logs(int argc, char **argv)
{
  stack_cli cli;
  memset(&cli, 0, sizeof cli);
  cli.command = "logs";
  rig_stack_logs_options lo = RIG_STACK_LOGS_OPTIONS_INIT;
  const char **services = calloc((size_t)argc + 1, sizeof *services);
  size_t service_count = 0;
  int code = RIG_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    int missing = 0;
    const char *v;
    if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0) {
      /* -f follows, as in `docker compose logs -f`; the file is --file here */
      lo.follow = 1;
      continue;
    }
    if ((v = runner_option_value("--tail", argc, argv, &i, &missing)) || missing) {
      int64_t n = 0;
      if (missing || (strcmp(v, "all") != 0 && (rig_parse_int(&n, v) != RIG_OK || n < 0))) {
        free(services);
        return runner_usage_error("logs", "--tail needs a number of lines or 'all'");
      }
      lo.tail = strcmp(v, "all") == 0 ? -1 : (int)n;
      continue;
    }
    if (strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--timestamps") == 0) {
      lo.timestamps = 1;
      continue;
    }
    int took = stack_cli_common_option(&cli, argc, argv, &i);
    if (took < 0) {
      free(services);
      return RIG_EXIT_USAGE;
    }
    if (took)
      continue;
    if (argv[i][0] == '-') {
      free(services);
      return runner_usage_error("logs", "unknown argument '%s'", argv[i]);
    }
    services[service_count++] = argv[i];
  }
  lo.services = service_count ? services : NULL;
  lo.cancel = &stop_following;
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  rig_stack *stack = NULL;
  code = stack_cli_open(&stack, &cli, 0, &opts);
  if (code == RIG_EXIT_OK) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    stack_log_printer printer;
    stack_log_printer_init(&printer, stdout, stack);
    int rc = rig_stack_logs(stack, &lo, stack_log_printer_line, &printer);
    if (rc != RIG_OK)
      code = stack_cli_report(&cli, rc);
    else if (got_signal)
      code = got_signal == SIGTERM ? RIG_EXIT_SIGTERM : RIG_EXIT_SIGINT;
  }
  rig_stack_free(stack);
  stack_cli_dispose(&cli);
  free(services);
  return code;
}

const runner_command runner_cmd_logs = {
    "logs",
    "show the logs of the stack's services",
    "usage: stackrig logs [--file FILE]... [-p NAME] [SERVICE...] [--tail N] [--follow]\n"
    "\n"
    "Prints the logs of the project's containers (all, or those of the SERVICEs named),\n"
    "each line prefixed with its service and container number: 'postgres-1  | ...'.\n"
    "Colour on a terminal, unless NO_COLOR is set.\n"
    "\n"
    "Options:\n"
    "  --file FILE            compose file (repeatable)\n"
    "  -p, --project-name N   the project (then no compose file is read)\n"
    "  --tail N               only the last N lines of each container ('all': everything)\n"
    "  -f, --follow           keep streaming new lines until Ctrl-C\n"
    "  -t, --timestamps       prefix lines with the engine's timestamps\n",
    run_logs,
};
