/*
 * stackrig/check.h - glue between libstackrig and the Check unit test framework: assertion
 * macros that fail the running Check test with stackrig's full diagnostic, and a fixture
 * that attaches to a running stack.
 *
 * The macros expand to Check's ck_assert_msg() in your test, so include <check.h> in the
 * file that uses them (before or after this header):
 *
 *   #include <check.h>
 *   #include <stackrig.h>
 *   #include <stackrig/check.h>
 *
 * libstackrig itself does not link against Check, which is why <stackrig.h> does not
 * include this header. See docs/check.md.
 */
#ifndef STACKRIG_CHECK_H
#define STACKRIG_CHECK_H

#include "attach.h"
#include "common.h"
#include "error.h"
#include "jaeger.h"
#include "prom.h"

RIG_BEGIN_DECLS

/**
 * The diagnostic of a failed call, as the macros print it: the last error's whole text
 * (rig_error_last()->text), its hint and artifact details on their own lines, and the
 * code's name, e.g. "prometheus: 'up' == 1 did not hold within 2000 ms ...  [RIG_EASSERT]".
 * Without a last error on this thread: rig_strerror(code). Check drops a message longer
 * than its limit (4 KiB, or CK_MAX_MSG_SIZE), so a longer text is cut to fit and marked
 * with "..." before the hints and the code; rig_error_last() still has all of it.
 * @return a string owned by the calling thread, valid until its next call
 */
RIG_EXTERN const char *rig_check_message(int code);

/** As rig_check_message(), the text starting with "call: " (rig_ck_assert_ok() passes the
 *  text of the call it checked). */
RIG_EXTERN const char *rig_check_message_call(int code, const char *call);

/**
 * Polls a trace in Jaeger until every (selector, assertion) pair holds, or timeout_ms
 * passes (rig_jaeger_expect_trace() with a rig_trace_expect built from the pairs).
 * @param pairs selector, assertion, selector, assertion, ..., NULL
 * @return RIG_OK, RIG_EPARSE for a pair that does not parse (naming it), or the errors of
 *   rig_jaeger_expect_trace(): RIG_EASSERT, RIG_ETIMEOUT, ...
 */
RIG_EXTERN int rig_check_trace(rig_jaeger *jaeger, const char *trace_id_hex, int64_t timeout_ms,
                               const char *const *pairs);

RIG_END_DECLS

/* Fails the test with the diagnostic unless call returns RIG_OK. The variable's name cannot
 * clash with the caller's: rig__ names are reserved for the library. */
#define RIG_CK__ASSERT_RC(call, format)                                                            \
  do {                                                                                             \
    int rig__ck_rc = (call);                                                                       \
    ck_assert_msg(rig__ck_rc == RIG_OK, format, rig_check_message(rig__ck_rc));                    \
  } while (0)

/** Asserts that a libstackrig call returns RIG_OK; the message names the call. */
#define rig_ck_assert_ok(call)                                                                     \
  do {                                                                                             \
    int rig__ck_rc = (call);                                                                       \
    ck_assert_msg(rig__ck_rc == RIG_OK, "%s", rig_check_message_call(rig__ck_rc, #call));          \
  } while (0)

/**
 * Asserts that the instant query expr eventually satisfies `op value` for every sample (and
 * there is at least one) within timeout_ms: rig_prom_eventually().
 *   rig_ck_assert_promql(prom, "sum(up)", RIG_PROM_GE, 4, 5000);
 */
#define rig_ck_assert_promql(prom, expr, op, value, timeout_ms)                                    \
  RIG_CK__ASSERT_RC(rig_prom_eventually((prom), (expr), (op), (value), (timeout_ms), NULL), "%s")

/** As rig_ck_assert_promql(), satisfied when any one sample holds. */
#define rig_ck_assert_promql_any(prom, expr, op, value, timeout_ms)                                \
  do {                                                                                             \
    rig_prom_eventually_options rig__ck_opts = RIG_PROM_EVENTUALLY_OPTIONS_INIT;                   \
    rig__ck_opts.match = RIG_PROM_MATCH_ANY;                                                       \
    RIG_CK__ASSERT_RC(                                                                             \
        rig_prom_eventually((prom), (expr), (op), (value), (timeout_ms), &rig__ck_opts), "%s");    \
  } while (0)

/** Asserts that every active target of Prometheus is up within timeout_ms. */
#define rig_ck_assert_targets_up(prom, timeout_ms)                                                 \
  RIG_CK__ASSERT_RC(rig_prom_targets_wait_up((prom), (timeout_ms)), "%s")

/**
 * Asserts that a counter expression's increase since a mark (rig_prom_mark_now())
 * eventually satisfies `op value`, each read after a fresh scrape: rig_prom_delta_eventually().
 */
#define rig_ck_assert_delta(prom, expr, since, op, value, timeout_ms)                              \
  RIG_CK__ASSERT_RC(                                                                               \
      rig_prom_delta_eventually((prom), (expr), (since), (op), (value), (timeout_ms)), "%s")

/**
 * Asserts that the collector accepted at least expected_spans spans since the mark and
 * exported all it accepted (rig_prom_pipeline_all_sent() on the default stack's
 * "otel-collector" job); otherwise the message tells "the service never sent them" from
 * "the pipeline dropped spans". expected < 0: any number. (Macro parameters are never
 * named like the option members they set: the preprocessor would replace those too.)
 */
#define rig_ck_assert_pipeline_all_sent(prom, since, expected, timeout_ms)                         \
  do {                                                                                             \
    rig_prom_pipeline_options rig__ck_popts = RIG_PROM_PIPELINE_OPTIONS_INIT;                      \
    rig__ck_popts.expected_spans = (expected);                                                     \
    RIG_CK__ASSERT_RC(rig_prom_pipeline_all_sent((prom), (since), &rig__ck_popts, (timeout_ms)),   \
                      "%s");                                                                       \
  } while (0)

/**
 * Asserts that the trace eventually exists in Jaeger and the spans the selector picks
 * satisfy the assertion (docs/selectors.md):
 *   rig_ck_assert_trace(jaeger, trace_id, "span[kind=server]", "duration < 200ms", 10000);
 */
#define rig_ck_assert_trace(jaeger, trace_id_hex, selector, assertion, timeout_ms)                 \
  RIG_CK__ASSERT_RC(rig_check_trace((jaeger), (trace_id_hex), (timeout_ms),                        \
                                    (const char *const[]){(selector), (assertion), NULL}),         \
                    "%s")

/**
 * As rig_ck_assert_trace() with several (selector, assertion) pairs that must all hold:
 *   rig_ck_assert_trace_all(jaeger, id, 10000, "span", "connected", "span:root", "status = ok");
 */
#define rig_ck_assert_trace_all(jaeger, trace_id_hex, timeout_ms, ...)                             \
  RIG_CK__ASSERT_RC(rig_check_trace((jaeger), (trace_id_hex), (timeout_ms),                        \
                                    (const char *const[]){__VA_ARGS__, NULL}),                     \
                    "%s")

/** Asserts a rig_trace_expect list on a trace, polling until timeout (ms). */
#define rig_ck_assert_trace_expect(jaeger, trace_id_hex, expect, timeout)                          \
  do {                                                                                             \
    rig_jaeger_wait_options rig__ck_wopts = RIG_JAEGER_WAIT_OPTIONS_INIT;                          \
    rig__ck_wopts.timeout_ms = (timeout);                                                          \
    RIG_CK__ASSERT_RC(                                                                             \
        rig_jaeger_expect_trace(NULL, (jaeger), (trace_id_hex), (expect), &rig__ck_wopts), "%s");  \
  } while (0)

/**
 * For a checked fixture's setup: attaches to the running stack (rig_attach_env()) or
 * fails the test naming the missing STACKRIG_* variables.
 * @param out a rig_attach ** that receives the attachment
 * @param required RIG_ATTACH_* bits, 0 for everything
 */
#define rig_ck_attach(out, required)                                                               \
  do {                                                                                             \
    rig_attach_options rig__ck_aopts = RIG_ATTACH_OPTIONS_INIT;                                    \
    rig__ck_aopts.require = (required);                                                            \
    RIG_CK__ASSERT_RC(rig_attach_env((out), &rig__ck_aopts), "%s");                                \
  } while (0)

#endif
