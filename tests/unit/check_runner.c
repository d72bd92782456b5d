/*
 * check_runner.c - the stackrig command line: help, version, dispatch and the exit codes
 * of usage errors (the stack commands' options among them). Runs the real binary of the
 * build tree.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

START_TEST(help_lists_commands)
{
  char *out = NULL, *err = NULL;
  ck_assert_int_eq(rig_test_stackrig(&out, &err, "--help", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "usage: stackrig"));
  ck_assert_ptr_nonnull(strstr(out, "  help "));
  ck_assert_ptr_nonnull(strstr(out, "Exit codes"));
  ck_assert_str_eq(err, "");
  free(out);
  free(err);
  ck_assert_int_eq(rig_test_stackrig(&out, NULL, "-h", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "usage: stackrig"));
  free(out);
  ck_assert_int_eq(rig_test_stackrig(&out, NULL, "help", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "usage: stackrig"));
  free(out);
}
END_TEST

START_TEST(version)
{
  char *out = NULL;
  ck_assert_int_eq(rig_test_stackrig(&out, NULL, "--version", NULL), 0);
  ck_assert_str_eq(out, "stackrig " PACKAGE_VERSION " (libstackrig " PACKAGE_VERSION ")\n");
  free(out);
  ck_assert_int_eq(rig_test_stackrig(&out, NULL, "-V", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, PACKAGE_VERSION));
  free(out);
}
END_TEST

START_TEST(no_arguments_is_usage_error)
{
  char *out = NULL, *err = NULL;
  ck_assert_int_eq(rig_test_stackrig(&out, &err, NULL), 2);
  ck_assert_str_eq(out, "");
  ck_assert_ptr_nonnull(strstr(err, "usage: stackrig"));
  free(out);
  free(err);
}
END_TEST

START_TEST(unknown_command_is_usage_error_with_hint)
{
  char *err = NULL;
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "frobnicate", NULL), 2);
  ck_assert_str_eq(err, "stackrig: unknown command 'frobnicate'\n"
                        "Run 'stackrig --help' for usage.\n");
  free(err);
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "--bogus", NULL), 2);
  ck_assert_ptr_nonnull(strstr(err, "unknown option '--bogus'"));
  free(err);
}
END_TEST

START_TEST(help_of_each_command)
{
  char *out = NULL, *err = NULL;
  ck_assert_int_eq(rig_test_stackrig(&out, NULL, "help", "help", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "usage: stackrig help"));
  free(out);
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "help", "nope", NULL), 2);
  ck_assert_ptr_nonnull(strstr(err, "unknown command 'nope'"));
  free(err);
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "help", "a", "b", NULL), 2);
  free(err);
  /* Every listed command answers --help with its usage on stdout and exit 0. */
  ck_assert_int_eq(rig_test_stackrig(&out, NULL, "--help", NULL), 0);
  char *line = strstr(out, "Commands:\n");
  ck_assert_ptr_nonnull(line);
  line = strchr(line, '\n') + 1;
  int listed = 0;
  while (strncmp(line, "  ", 2) == 0) {
    char name[32];
    ck_assert_int_eq(sscanf(line, " %31s", name), 1);
    char *usage = NULL;
    ck_assert_int_eq(rig_test_stackrig(&usage, NULL, name, "--help", NULL), 0);
    char expect[64];
    snprintf(expect, sizeof expect, "usage: stackrig %s", name);
    ck_assert_msg(strstr(usage, expect) != NULL, "'%s --help' printed: %s", name, usage);
    free(usage);
    listed++;
    line = strchr(line, '\n') + 1;
  }
  ck_assert_int_ge(listed, 1);
  free(out);
}
END_TEST

/* The options the stack commands share (runner_option_value, stack_cli_common_option) and
 * their own: each mistake is a usage error (2) that names it, before any engine is asked. */
static const struct {
  const char *args[5]; /* NULL-terminated */
  const char *error;   /* expected in stderr */
} stack_usage_cases[] = {
    {{"logs", "--tail", NULL}, "--tail needs a number of lines or 'all'"},
    {{"logs", "--tail=many", NULL}, "--tail needs a number of lines or 'all'"},
    {{"logs", "--bogus", NULL}, "unknown argument '--bogus'"},
    {{"up", "--timeout", NULL}, "--timeout needs a duration such as 90s or 2m"},
    {{"up", "--timeout=0", NULL}, "--timeout needs a duration such as 90s or 2m"},
    {{"up", "--pull", NULL}, "--pull needs missing, always or never"},
    {{"up", "--pull=sometimes", NULL}, "--pull: 'sometimes' is not missing, always or never"},
    {{"up", "-f", NULL}, "-f needs a file name"},
    {{"down", "--bogus", NULL}, "unknown argument '--bogus'"},
    {{"down", "--file", NULL}, "--file needs a file name"},
    {{"status", "-p", NULL}, "-p needs a project name"},
    {{"status", "--project-name=", NULL}, "the project name is empty"},
    {{"port", "db", NULL}, "expected SERVICE and PORT"},
    {{"port", "db", "5432", "extra", NULL}, "unknown argument 'extra'"},
    {{"port", "db", "http", NULL}, "'http' is not a port (such as 5432 or 53/udp)"},
};

START_TEST(stack_command_usage_errors)
{
  const char *const *a = stack_usage_cases[_i].args;
  /* Should a case get past its options, it fails on an engine that cannot be there. */
  setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1);
  char *err = NULL;
  int rc = rig_test_stackrig(NULL, &err, a[0], a[1], a[2], a[3], NULL);
  unsetenv("DOCKER_HOST");
  ck_assert_msg(rc == 2, "%s %s: exit %d, stderr: %s", a[0], a[1], rc, err);
  ck_assert_msg(strstr(err, stack_usage_cases[_i].error) != NULL, "%s %s: stderr: %s", a[0], a[1],
                err);
  free(err);
}
END_TEST

static Suite *runner_suite(void)
{
  Suite *s = suite_create("runner");
  TCase *tc = tcase_create("cli");
  tcase_add_test(tc, help_lists_commands);
  tcase_add_test(tc, version);
  tcase_add_test(tc, no_arguments_is_usage_error);
  tcase_add_test(tc, unknown_command_is_usage_error_with_hint);
  tcase_add_test(tc, help_of_each_command);
  tcase_add_loop_test(tc, stack_command_usage_errors, 0,
                      (int)(sizeof stack_usage_cases / sizeof stack_usage_cases[0]));
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(runner_suite());
}
