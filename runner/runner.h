/*
 * runner.h - what the `stackrig` command's parts share: the command table entry, exit
 * codes, the console logger and error reporting. Only the runner prints.
 */
#ifndef RIG_RUNNER_H
#define RIG_RUNNER_H

#include <stackrig.h>

/* Exit codes (DESIGN.md). */
enum {
  RIG_EXIT_OK = 0,
  RIG_EXIT_FAILED = 1, /* a test or an assertion failed */
  RIG_EXIT_USAGE = 2,  /* bad command line or bad input file */
  RIG_EXIT_INFRA = 3,  /* engine unreachable, image missing, service never ready */
  RIG_EXIT_SIGINT = 130,
  RIG_EXIT_SIGTERM = 143
};

typedef struct runner_command {
  const char *name;
  const char *summary; /* one line for `stackrig --help` */
  const char *usage;   /* the whole text of `stackrig help NAME` / `stackrig NAME --help` */
  int (*run)(int argc, char **argv); /* argv[0] is the command's name; returns an exit code */
} runner_command;

/* The commands (one runner/cmd_<verb>.c each). */
extern const runner_command runner_cmd_help;
extern const runner_command runner_cmd_up;
extern const runner_command runner_cmd_down;
extern const runner_command runner_cmd_status;
extern const runner_command runner_cmd_logs;
extern const runner_command runner_cmd_port;
extern const runner_command runner_cmd_traffic;
extern const runner_command runner_cmd_config;
extern const runner_command runner_cmd_migrate;

/* The console logger the commands write progress through (stderr). */
rig_log *runner_log(void);

/* The exit code for a library error code. */
int runner_exit_code(int rig_code);

/*
 * Prints "stackrig: <what>: <error text>" (and a hint where there is one) for the last
 * library error, and returns the exit code for code.
 */
int runner_report(int code, const char *what);

/* Prints "stackrig NAME: <message>" and "Run 'stackrig NAME --help' for usage."; returns 2. */
int runner_usage_error(const char *command, const char *fmt, ...) RIG_PRINTF(2, 3);

/* 1 when argv holds -h or --help before any "--". */
int runner_wants_help(int argc, char **argv);

/*
 * The value of an option taking one at argv[*i] ("--tail 5", "--tail=5"; *i advances past
 * a separate value), or NULL when argv[*i] is not that option. *missing is set when the
 * value is absent.
 */
const char *runner_option_value(const char *name, int argc, char **argv, int *i, int *missing);

/* Prints a command's usage text on stdout; returns 0. */
int runner_print_usage(const runner_command *cmd);

/* The command table, for `help`. */
const runner_command *runner_find_command(const char *name);
const runner_command *const *runner_commands(void);

#endif
