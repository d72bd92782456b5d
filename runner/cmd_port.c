/*
 * cmd_port.c - `stackrig port SERVICE PORT`: prints the host address a service's
 * container port is published on, e.g. 127.0.0.1:49153.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "stack_cli.h"

static int run_port(int argc, char **argv)
{
  stack_cli cli;
  memset(&cli, 0, sizeof cli);
  cli.command = "port";
  const char *positional[2] = {NULL, NULL};
  int count = 0;
  for (int i = 1; i < argc; i++) {
    int took = stack_cli_common_option(&cli, argc, argv, &i);
    if (took < 0)
      return RIG_EXIT_USAGE;
    if (took)
      continue;
    if (argv[i][0] == '-' || count == 2)
      return runner_usage_error("port", "unknown argument '%s'", argv[i]);
    positional[count++] = argv[i];
  }
  if (count != 2)
    return runner_usage_error("port", "expected SERVICE and PORT");
  char *spec = strdup(positional[1]);
  char *slash = strchr(spec, '/');
  const char *protocol = "tcp";
  if (slash) {
    *slash = '\0';
    protocol = slash + 1;
  }
  int port = 0;
  if (rig_parse_port(&port, spec) != RIG_OK ||
      (strcmp(protocol, "tcp") && strcmp(protocol, "udp") && strcmp(protocol, "sctp"))) {
    free(spec);
    return runner_usage_error("port", "'%s' is not a port (such as 5432 or 53/udp)", positional[1]);
  }
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  rig_stack *stack = NULL;
  int code = stack_cli_open(&stack, &cli, 0, &opts);
  if (code == RIG_EXIT_OK) {
    char *address = NULL;
    int rc = rig_stack_port_proto(&address, stack, positional[0], port, protocol);
    if (rc == RIG_OK)
      printf("%s\n", address);
    else
      code = stack_cli_report(&cli, rc);
    free(address);
  }
  free(spec);
  rig_stack_free(stack);
  stack_cli_dispose(&cli);
  return code;
}

const runner_command runner_cmd_port = {
    "port",
    "print the host address of a service's published port",
    "usage: stackrig port [-f FILE]... [-p NAME] SERVICE PORT[/PROTOCOL]\n"
    "\n"
    "Prints the host address and port (from the engine's inspect) on which SERVICE's\n"
    "container port PORT is published, e.g. 127.0.0.1:49153. Exit code 3 when the service\n"
    "has no running container or does not publish that port.\n",
    run_port,
};
