/*
 * defaultstack.c - the default stack for integration suites (see defaultstack.h).
 */
#include "defaultstack.h"

#include <stackrig/suite.h>
#include <stackrig/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define UP_TIMEOUT_MS 180000

static int64_t up_ms = -1;
/* The readiness hooks stay installed in the stack (its progress callback): the rig_wait lives
 * as long as the stack. One default stack per suite. */
static rig_wait *stack_wait;
static rig_stack_progress_cb progress_cb;
static void *progress_userdata;

void rig_test_default_stack_set_progress(rig_stack_progress_cb cb, void *userdata)
{
  progress_cb = cb;
  progress_userdata = userdata;
}

int64_t rig_test_default_stack_up_ms(void)
{
  return up_ms;
}

static int images_set(void)
{
  static const char *const names[] = {"STACKRIG_IMAGE_POSTGRES", "STACKRIG_IMAGE_JAEGER",
                                      "STACKRIG_IMAGE_PROMETHEUS", "STACKRIG_IMAGE_OTELCOL", NULL};
  for (size_t i = 0; names[i]; i++)
    if (!getenv(names[i]) || !*getenv(names[i]))
      return 0;
  return 1;
}

/* Runs compose/images/build and applies its `export NAME=VALUE` lines to this process. */
static int build_images(void)
{
  char *script = rig_test_path("compose/images/build");
  const char *argv[] = {script, NULL};
  char *out = NULL, *err = NULL;
  int status = rig_test_run(argv, NULL, &out, &err);
  int rc = RIG_OK;
  if (status != 0) {
    fprintf(stderr, "defaultstack: compose/images/build failed (exit %d):\n%s\n", status,
            err ? err : "");
    rc = RIG_EIMAGE;
  } else {
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
      if (strncmp(line, "export ", 7) != 0)
        continue;
      char *eq = strchr(line + 7, '=');
      if (!eq)
        continue;
      *eq = '\0';
      setenv(line + 7, eq + 1, 1);
    }
  }
  free(out);
  free(err);
  free(script);
  return rc;
}

static int ensure_images(void)
{
  if (images_set())
    return RIG_OK;
  const char *mode = getenv("STACKRIG_IMAGES");
  if (!mode || !*mode)
    mode = "auto";
  if (strcmp(mode, "upstream") == 0)
    return RIG_OK; /* stack.yml's defaults */
  if (strcmp(mode, "auto") != 0 && strcmp(mode, "local") != 0) {
    fprintf(stderr, "defaultstack: STACKRIG_IMAGES=%s: expected auto, local or upstream\n", mode);
    return RIG_EINVAL;
  }
  return build_images();
}

static void export_env(rig_stack *stack)
{
  rig_env *env = NULL;
  if (rig_stack_env(&env, stack) != RIG_OK) {
    fprintf(stderr, "defaultstack: %s\n", rig_error_last() ? rig_error_last()->text : "?");
    return;
  }
  for (size_t i = 0; i < rig_env_count(env); i++)
    setenv(rig_env_key(env, i), rig_env_value(env, i), 1);
  rig_env_free(env);
}

int rig_test_default_stack_up(rig_stack **out)
{
  int64_t began = rig_stack_now_ms();
  int rc = ensure_images();
  if (rc != RIG_OK)
    return rc;
  char *file = rig_test_path("compose/stack.yml");
  char *name = rig_test_unique_name("srstack");
  const char *files[] = {file, NULL};
  rig_compose_options copts = RIG_COMPOSE_OPTIONS_INIT;
  copts.files = files;
  copts.file_count = 1;
  copts.project_name = name;
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  opts.compose = &copts;
  opts.progress = progress_cb;
  opts.progress_userdata = progress_userdata;
  rig_wait *wait = NULL;
  rig_wait_new(&wait, NULL);
  rig_wait_install(wait, &opts);
  rig_wait_free(stack_wait);
  stack_wait = wait;
  rig_stack *stack = NULL;
  if ((rc = rig_stack_new(&stack, &opts)) == RIG_OK)
    rc = rig_stack_up(stack, UP_TIMEOUT_MS);
  if (rc != RIG_OK) {
    const rig_error *err = rig_error_last();
    fprintf(stderr, "defaultstack: project %s: %s\n", name, err ? err->text : rig_strerror(rc));
    const char *hint = err ? rig_error_detail_get(err, "hint") : NULL;
    if (hint)
      fprintf(stderr, "defaultstack: hint: %s\n", hint);
    rig_stack_free(stack);
    stack = NULL;
  } else {
    up_ms = rig_stack_now_ms() - began;
    /* Check forks the tests: let the readiness watchers' threads end first */
    rig_wait_drain(wait);
    export_env(stack);
    *out = stack;
  }
  if (rc != RIG_OK) {
    rig_wait_free(wait);
    stack_wait = NULL;
  }
  free(name);
  free(file);
  return rc;
}

void rig_test_default_stack_down(rig_stack *stack)
{
  if (!stack)
    return;
  rig_stack_down_options down = RIG_STACK_DOWN_OPTIONS_INIT;
  down.remove_volumes = 1;
  down.kill = 1;
  if (rig_stack_down(stack, &down) != RIG_OK)
    fprintf(stderr, "defaultstack: down: %s\n", rig_error_last() ? rig_error_last()->text : "?");
  rig_stack_free(stack);
  rig_wait_free(stack_wait);
  stack_wait = NULL;
}
