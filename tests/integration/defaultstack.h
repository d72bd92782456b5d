/*
 * defaultstack.h - the default stack (compose/stack.yml) for integration suites: one stack
 * per suite, brought up in main() before Check forks the tests, with the crash reaper armed
 * (a suite that crashes, even by SIGKILL, leaves nothing behind) and stackrig's readiness
 * probes (every service really answers before the first test runs).
 *
 *   int main(void)
 *   {
 *     rig_test_require_docker();
 *     rig_stack *stack = NULL;
 *     if (rig_test_default_stack_up(&stack) != RIG_OK)
 *       return 1;                        (the reason is already on stderr)
 *     int rc = rig_test_main(my_suite());
 *     rig_test_default_stack_down(stack);
 *     return rc;
 *   }
 *
 * Link tests/integration/defaultstack.c into the suite:
 *   tests_integration_check_x_SOURCES = tests/integration/check_x.c \
 *       tests/integration/defaultstack.c tests/integration/defaultstack.h
 *
 * Images: when STACKRIG_IMAGE_* are not set, STACKRIG_IMAGES says where they come from:
 *   auto (default)  run compose/images/build from the source tree (fast when the images
 *                   exist: it only checks them) and use the local images it names
 *   local           the same, and fail when the build fails
 *   upstream        the upstream images named in stack.yml (needs a registry)
 */
#ifndef RIG_TEST_DEFAULTSTACK_H
#define RIG_TEST_DEFAULTSTACK_H

#include <stackrig.h>

/*
 * Brings the default stack up under a unique project name and waits until every service is
 * ready; then exports, for the tests (setenv, inherited by the forked tests):
 * STACKRIG_PROJECT, STACKRIG_PG_DSN, STACKRIG_JAEGER_URL, STACKRIG_PROMETHEUS_URL,
 * STACKRIG_OTLP_HTTP_ENDPOINT and STACKRIG_SERVICE_<SERVICE>_<PORT> (see stackrig/suite.h).
 * On failure it prints the reason (with the failing service's last log lines) on stderr and
 * nothing is left running.
 * @param[out] out the stack; give it to rig_test_default_stack_down()
 * @return RIG_OK or the failure's code
 */
int rig_test_default_stack_up(rig_stack **out);

/*
 * Receives the stack's progress events during the next rig_test_default_stack_up() (after
 * the readiness module saw them): e.g. to check a service the moment it is declared ready.
 * Calls come from worker threads, one at a time.
 */
void rig_test_default_stack_set_progress(rig_stack_progress_cb cb, void *userdata);

/* Takes the stack down with its volumes and frees it. NULL-safe. */
void rig_test_default_stack_down(rig_stack *stack);

/* How long rig_test_default_stack_up() took to bring the stack up and ready (ms). */
int64_t rig_test_default_stack_up_ms(void);

#endif
