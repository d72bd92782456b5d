/*
 * check_trace.c - the trace assertion behind rig_ck_assert_trace(): (selector, assertion)
 * pairs turned into a rig_trace_expect and polled in Jaeger.
 */
#include "stackrig/check.h"

#include "util.h"

int rig_check_trace(rig_jaeger *jaeger, const char *trace_id_hex, int64_t timeout_ms,
                    const char *const *pairs)
{
  if (!jaeger || !trace_id_hex || !pairs)
    return rig_error_set(RIG_EINVAL, "rig_check_trace: jaeger, a trace id and pairs are required");
  rig_trace_expect *expect = NULL;
  int rc = rig_trace_expect_new(&expect);
  for (size_t i = 0; rc == RIG_OK && pairs[i]; i += 2) {
    if (!pairs[i + 1]) {
      rc = rig_error_set(RIG_EINVAL, "trace assertion: selector '%s' has no assertion", pairs[i]);
      break;
    }
    rc = rig_trace_expect_add(expect, pairs[i], pairs[i + 1]);
  }
  if (rc == RIG_OK) {
    rig_jaeger_wait_options opts = RIG_JAEGER_WAIT_OPTIONS_INIT;
    opts.timeout_ms = timeout_ms;
    rc = rig_jaeger_expect_trace(NULL, jaeger, trace_id_hex, expect, &opts);
  }
  rig_trace_expect_free(expect);
  return rc;
}
