/*
 * cmd_up.c - `stackrig up`: brings the stack up and returns once every service is ready,
 * leaving it running; with --attach it stays in the foreground streaming the logs and
 * takes the stack down on Ctrl-C or SIGTERM (a second one exits at once and leaves the
 * removal to the crash reaper, which kills instead of stopping).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "stack_cli.h"

static volatile sig_atomic_t interrupted;
static volatile int stop_logs;

static void on_signal(int sig)
{
  if (interrupted) {
    /* The second one: the reaper is still armed and removes everything, by force. */
    _exit(sig == SIGTERM ? RIG_EXIT_SIGTERM : RIG_EXIT_SIGINT);
  }
  interrupted = sig;
  stop_logs = 1;
}

static int run_up(int argc, char **argv)
{
  stack_cli cli;
  memset(&cli, 0, sizeof cli);
  cli.command = "up";
  int64_t timeout_ms = 120000;
  int no_wait = 0, attach = 0;
  rig_stack_pull_policy pull = RIG_STACK_PULL_MISSING;
  for (int i = 1; i < argc; i++) {
    int took = stack_cli_common_option(&cli, argc, argv, &i);
    if (took < 0)
      return RIG_EXIT_USAGE;
    if (took)
      continue;
    int missing = 0;
    const char *arg = argv[i];
    const char *v;
    if ((v = runner_option_value("--timeout", argc, argv, &i, &missing)) || missing) {
      if (missing || rig_duration_parse(&timeout_ms, v) != RIG_OK || timeout_ms <= 0)
        return runner_usage_error("up", "--timeout needs a duration such as 90s or 2m");
    } else if ((v = runner_option_value("--pull", argc, argv, &i, &missing)) || missing) {
      if (missing)
        return runner_usage_error("up", "--pull needs missing, always or never");
      if (strcmp(v, "missing") == 0)
        pull = RIG_STACK_PULL_MISSING;
      else if (strcmp(v, "always") == 0)
        pull = RIG_STACK_PULL_ALWAYS;
      else if (strcmp(v, "never") == 0)
        pull = RIG_STACK_PULL_NEVER;
      else
        return runner_usage_error("up", "--pull: '%s' is not missing, always or never", v);
    } else if (strcmp(arg, "--no-wait") == 0) {
      no_wait = 1;
    } else if (strcmp(arg, "--attach") == 0) {
      attach = 1;
    } else if (strcmp(arg, "-d") == 0 || strcmp(arg, "--detach") == 0 ||
               strcmp(arg, "--wait") == 0) {
      /* compose's spellings of what up does anyway */
    } else {
      return runner_usage_error("up", "unknown argument '%s'", arg);
    }
  }
  const char *env_pull = getenv("STACKRIG_PULL");
  if (env_pull && strcmp(env_pull, "never") == 0)
    pull = RIG_STACK_PULL_NEVER;

  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  opts.pull = pull;
  rig_stack *stack = NULL;
  int code = stack_cli_load(&cli, 1);
  if (code != RIG_EXIT_OK)
    return code;
  stack_progress *progress = stack_progress_new(cli.model, "up");
  opts.progress = stack_progress_event;
  opts.progress_userdata = progress;
  /* readiness (wait module): built-in probes and x-stackrig ready specs; outlives the stack */
  rig_wait *wait = NULL;
  rig_wait_new(&wait, NULL);
  rig_wait_install(wait, &opts);
  if ((code = stack_cli_open(&stack, &cli, 1, &opts)) != RIG_EXIT_OK) {
    rig_wait_free(wait);
    stack_progress_free(progress);
    stack_cli_dispose(&cli);
    return code;
  }

  int64_t started = rig_stack_now_ms();
  int rc = no_wait ? rig_stack_up_nowait(stack, timeout_ms) : rig_stack_up(stack, timeout_ms);
  if (rc != RIG_OK) {
    code = stack_cli_report(&cli, rc);
    rig_stack_free(stack);
    rig_wait_free(wait);
    stack_progress_free(progress);
    stack_cli_dispose(&cli);
    return code;
  }
  if (attach) {
    /* From here on a signal means "take it down"; before, the default action (death) left
     * the removal to the reaper, which is what an interrupted up should do. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
  }
  fprintf(stderr, "stackrig up: project %s is %s (%.1fs)\n", rig_stack_project_name(stack),
          no_wait ? "started" : "ready", (double)(rig_stack_now_ms() - started) / 1000.0);
  char *ready_times = NULL;
  if (!no_wait && rig_wait_format_results(&ready_times, wait) == RIG_OK)
    fputs(ready_times, stderr);
  free(ready_times);

  if (!attach) {
    rig_stack_keep(stack);
    rig_stack_free(stack);
    rig_wait_free(wait);
    stack_progress_free(progress);
    stack_cli_dispose(&cli);
    return RIG_EXIT_OK;
  }

  stack_log_printer printer;
  stack_log_printer_init(&printer, stdout, stack);
  rig_stack_logs_options lo = RIG_STACK_LOGS_OPTIONS_INIT;
  lo.follow = 1;
  lo.tail = 0;
  lo.cancel = &stop_logs;
  rc = rig_stack_logs(stack, &lo, stack_log_printer_line, &printer);
  if (rc != RIG_OK && !interrupted)
    stack_cli_report(&cli, rc);
  fprintf(stderr, "stackrig up: %s: taking project %s down\n",
          interrupted ? "interrupted" : "every container stopped", rig_stack_project_name(stack));
  rig_stack_down_options down = RIG_STACK_DOWN_OPTIONS_INIT;
  down.remove_volumes = 1;
  int down_rc = rig_stack_down(stack, &down);
  if (down_rc != RIG_OK)
    stack_cli_report(&cli, down_rc);
  rig_stack_free(stack);
  rig_wait_free(wait);
  stack_progress_free(progress);
  stack_cli_dispose(&cli);
  if (interrupted)
    return interrupted == SIGTERM ? RIG_EXIT_SIGTERM : RIG_EXIT_SIGINT;
  return down_rc == RIG_OK ? RIG_EXIT_OK : runner_exit_code(down_rc);
}

const runner_command runner_cmd_up = {
    "up",
    "bring the stack up and wait until every service is ready",
    "usage: stackrig up [-f FILE]... [-p NAME] [--timeout DUR] [--no-wait] [--attach]\n"
    "                   [--pull missing|always|never]\n"
    "\n"
    "Creates the project's networks and volumes, then its containers wave by wave\n"
    "(independent services in parallel, depends_on conditions honoured), and returns once\n"
    "every service is running, healthy where it has a healthcheck, and ready. The stack is\n"
    "left running: take it down with 'stackrig down'. If up fails, or is killed before it\n"
    "returns (even with SIGKILL), everything it created is removed.\n"
    "\n"
    "Options:\n"
    "  -f, --file FILE        compose file (repeatable; default: compose.yaml, compose.yml,\n"
    "                         docker-compose.yaml, docker-compose.yml in this folder)\n"
    "  -p, --project-name N   project name (default: STACKRIG_PROJECT, COMPOSE_PROJECT_NAME,\n"
    "                         the file's name:, the folder's name)\n"
    "  --timeout DUR          deadline for the whole of up (default 2m)\n"
    "  --no-wait              return once every container started\n"
    "  --attach               stay in the foreground streaming logs; Ctrl-C or SIGTERM takes\n"
    "                         the stack down (volumes too); a second Ctrl-C exits at once and\n"
    "                         leaves the removal to the crash reaper\n"
    "  --pull POLICY          missing (default), always or never\n"
    "\n"
    "Published ports bind to 127.0.0.1 unless the file names a host address; ports without\n"
    "a host port get a free one: see 'stackrig port'.\n"
    "\n"
    "Exit codes: 0 ready, 2 usage error or bad compose file, 3 engine unreachable, image\n"
    "missing, or a service failed or was not ready in time; 130/143 interrupted (--attach).\n",
    run_up,
};
