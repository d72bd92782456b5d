/*
 * cmd_status.c - `stackrig status`: the project's services with their state, health,
 * exit code and published ports, as a table or as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "stack_cli.h"

static void print_table(const rig_stack_status *status)
{
  size_t sw = strlen("SERVICE"), cw = strlen("CONTAINER");
  for (size_t i = 0; i < status->service_count; i++) {
    const rig_stack_service_status *s = &status->services[i];
    if (strlen(s->service) > sw)
      sw = strlen(s->service);
    if (s->container && strlen(s->container) > cw)
      cw = strlen(s->container);
  }
  printf("%-*s  %-*s  %-10s  %-9s  %-4s  %s\n", (int)sw, "SERVICE", (int)cw, "CONTAINER", "STATE",
         "HEALTH", "EXIT", "PORTS");
  for (size_t i = 0; i < status->service_count; i++) {
    const rig_stack_service_status *s = &status->services[i];
    char exit_text[16] = "";
    if (strcmp(s->state, "exited") == 0)
      snprintf(exit_text, sizeof exit_text, "%d", s->exit_code);
    printf("%-*s  %-*s  %-10s  %-9s  %-4s  ", (int)sw, s->service, (int)cw,
           s->container ? s->container : "-", s->state, s->health ? s->health : "-",
           exit_text[0] ? exit_text : "-");
    for (size_t p = 0; p < s->port_count; p++)
      printf("%s%s", p ? ", " : "", s->ports[p]);
    printf("\n");
  }
}

static int run_status(int argc, char **argv)
{
  stack_cli cli;
  memset(&cli, 0, sizeof cli);
  cli.command = "status";
  int json = 0;
  for (int i = 1; i < argc; i++) {
    int took = stack_cli_common_option(&cli, argc, argv, &i);
    if (took < 0)
      return RIG_EXIT_USAGE;
    if (took)
      continue;
    if (strcmp(argv[i], "--json") == 0)
      json = 1;
    else
      return runner_usage_error("status", "unknown argument '%s'", argv[i]);
  }
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  rig_stack *stack = NULL;
  int code = stack_cli_open(&stack, &cli, 0, &opts);
  if (code == RIG_EXIT_OK) {
    rig_stack_status *status = NULL;
    int rc = rig_stack_get_status(&status, stack);
    if (rc != RIG_OK) {
      code = stack_cli_report(&cli, rc);
    } else if (json) {
      char *text = NULL;
      rig_stack_status_to_json(&text, status);
      fputs(text, stdout);
      free(text);
    } else {
      print_table(status);
    }
    rig_stack_status_free(status);
  }
  rig_stack_free(stack);
  stack_cli_dispose(&cli);
  return code;
}

const runner_command runner_cmd_status = {
    "status",
    "show the stack's services: state, health, exit code, ports",
    "usage: stackrig status [-f FILE]... [-p NAME] [--json]\n"
    "\n"
    "Lists the project's containers with their state, health, exit code and published\n"
    "ports (and, with a compose file, its services that have no container as 'missing').\n"
    "\n"
    "Options:\n"
    "  -f, --file FILE        compose file (repeatable)\n"
    "  -p, --project-name N   the project (then no compose file is read)\n"
    "  --json                 an object {\"project\", \"services\": [{\"service\", \"container\",\n"
    "                         \"state\", \"health\", \"exit_code\", \"restart_count\",\n"
    "                         \"oom_killed\", \"ports\"}]}\n",
    run_status,
};
