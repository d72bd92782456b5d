/*
 * stack_crash_helper.c - a small program that uses the library as any C test program
 * would: rig_stack_new + rig_stack_up on a compose file, then waits to be killed.
 * tests/integration/check_stack.c SIGKILLs it at random moments and checks that the crash
 * reaper removed everything.
 *
 * usage: stack_crash_helper COMPOSE_FILE PROJECT
 * Prints "up" on stdout once rig_stack_up() returned successfully.
 */
#include <stdio.h>
#include <unistd.h>

#include <stackrig.h>

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s COMPOSE_FILE PROJECT\n", argv[0]);
    return 2;
  }
  const char *files[] = {argv[1], NULL};
  rig_compose_options compose = RIG_COMPOSE_OPTIONS_INIT;
  compose.files = files;
  compose.file_count = 1;
  compose.project_name = argv[2];
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  opts.compose = &compose;
  rig_stack *stack = NULL;
  int rc = rig_stack_new(&stack, &opts);
  if (rc == RIG_OK)
    rc = rig_stack_up(stack, 60000);
  if (rc != RIG_OK) {
    fprintf(stderr, "stack_crash_helper: %s\n", rig_error_last()->text);
    rig_stack_free(stack);
    return 3;
  }
  printf("up\n");
  fflush(stdout);
  for (;;)
    pause();
}
