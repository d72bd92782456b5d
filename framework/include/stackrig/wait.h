/*
 * stackrig/wait.h - readiness: when is a service really ready, and waiting until it is.
 *
 * "Ready" means the service answers its real protocol, not that its port is open. A
 * service's readiness is a strategy tree: tcp, http, log, health, sql, exec leaves combined
 * with all / any, each with an optional timeout. It comes from the service's
 * `x-stackrig: { ready: ... }` extension in the compose file (docs/readiness.md), or, when
 * there is none, from a built-in probe chosen by the image name (postgres, jaeger,
 * prometheus, otel-collector), or from the compose healthcheck, or else the container
 * running is enough.
 *
 * Everything is checked from the host through the service's published ports on 127.0.0.1,
 * never a container's own address. Waiting is event-driven where the engine offers events
 * (exits, OOM kills, restarts, health, log lines) and polls the rest with a short back-off
 * (5 ms doubling to 200 ms). It fails fast, naming the service, when its container exits,
 * is OOM-killed or restarts; the error then carries the exit code and the container's last
 * 30 log lines.
 *
 * With the stack engine: a rig_wait plugs into rig_stack_options (rig_wait_install()), and
 * rig_stack_up() then waits for every service in parallel, under its one deadline.
 */
#ifndef STACKRIG_WAIT_H
#define STACKRIG_WAIT_H

#include "common.h"
#include "compose.h"
#include "stack.h"

RIG_BEGIN_DECLS

/* ---- strategies ---- */

/** A service's readiness strategy tree, parsed. */
typedef struct rig_wait_spec rig_wait_spec;

/** The kind of a node of a strategy tree. */
typedef enum rig_wait_kind {
  RIG_WAIT_RUNNING = 0, /**< the container running is enough */
  RIG_WAIT_TCP,         /**< a TCP connection to the published port is accepted */
  RIG_WAIT_HTTP,        /**< an HTTP request gets an expected status (body, header) */
  RIG_WAIT_LOG,         /**< a regex appears N times in the container's log */
  RIG_WAIT_HEALTH,      /**< the engine reports the container's healthcheck healthy */
  RIG_WAIT_SQL,         /**< a Postgres login and a query succeed */
  RIG_WAIT_EXEC,        /**< a command run inside the container exits 0 */
  RIG_WAIT_ALL,         /**< every child is ready */
  RIG_WAIT_ANY          /**< one child is ready */
} rig_wait_kind;

/**
 * Parses a `ready:` value of an `x-stackrig` extension:
 *   a built-in name: postgres | jaeger | prometheus | otel-collector | health | running
 *   { tcp: { port: 5432 } }
 *   { http: { port: 8080, path: /healthz, method: GET, status: [200, 204],
 *             body: "regex", header: "Name: regex", request_body: "...",
 *             content_type: application/json } }
 *   { log: { pattern: "ready to accept", count: 2 } }
 *   { sql: { port: 5432, user: u, password: p, database: d, query: "SELECT 1" } }
 *   { exec: { command: [pg_isready, -q], user: postgres } }   (a string runs under sh -c)
 *   { health: {} }
 *   { all: [ ... ] } / { any: [ ... ] }
 * and in every map form a `timeout: 30s` beside the strategy key.
 * sql's user, password and database default to POSTGRES_USER / POSTGRES_PASSWORD /
 * POSTGRES_DB of the service's environment (see rig_wait_spec_for_service()).
 * @param[out] out free with rig_wait_spec_free()
 * @param service names the service in error messages
 * @return RIG_OK; RIG_EPARSE naming file:line:col, the service and the key, e.g.
 *   "stack.yml:12:9: service web: x-stackrig.ready.http.port: must be a port (1-65535)"
 */
RIG_EXTERN int rig_wait_spec_parse(rig_wait_spec **out, const rig_compose_value *ready,
                                   const char *service);

/**
 * The readiness of a compose service: its `x-stackrig.ready` (with `x-stackrig.timeout`
 * as the service's timeout), else the built-in probe its image calls for, else `health`
 * when it has a healthcheck, else `running`. POSTGRES_* of its environment fill in the
 * postgres probe's and sql's credentials.
 * @param[out] out free with rig_wait_spec_free()
 * @return RIG_OK or RIG_EPARSE (see rig_wait_spec_parse())
 */
RIG_EXTERN int rig_wait_spec_for_service(rig_wait_spec **out, const rig_compose_service *service);

/**
 * Renders a strategy tree in one line, e.g. "postgres", "http(GET :8080/healthz status
 * 200,204) timeout 30s", "all(tcp(:5432), log(/ready/ x2))".
 * @param[out] out free() it
 */
RIG_EXTERN int rig_wait_spec_describe(char **out, const rig_wait_spec *spec);

/** @return the kind of the tree's root (a built-in is an ALL or a leaf underneath). */
RIG_EXTERN rig_wait_kind rig_wait_spec_kind(const rig_wait_spec *spec);

/** @return the built-in probe's name ("postgres", ...) when the spec is one, else NULL. */
RIG_EXTERN const char *rig_wait_spec_builtin(const rig_wait_spec *spec);

/** @return the root's own timeout in milliseconds, or 0 when it has none. */
RIG_EXTERN int64_t rig_wait_spec_timeout_ms(const rig_wait_spec *spec);

RIG_EXTERN void rig_wait_spec_free(rig_wait_spec *spec);

/**
 * @return the built-in probe for an image reference ("pgvector/pgvector:0.8.0-pg17" ->
 *   "postgres", "stackrig/otelcol:local" -> "otel-collector"), or NULL when none fits.
 */
RIG_EXTERN const char *rig_wait_builtin_for_image(const char *image);

/**
 * @return the built-in probe a service uses: its `x-stackrig.ready` when that is a built-in
 *   name, else the one of its image; NULL when none.
 */
RIG_EXTERN const char *rig_wait_builtin_for_service(const rig_compose_service *service);

/* ---- waiting for a stack's services ---- */

/** Waits for the services of stacks; shared by the services' parallel waits. */
typedef struct rig_wait rig_wait;

typedef struct rig_wait_options {
  unsigned int version;
  /** a service whose readiness has no timeout of its own gets this one; 0: none (only the
      stack's deadline applies) */
  int64_t service_timeout_ms;
} rig_wait_options;

#define RIG_WAIT_OPTIONS_VERSION 1
#define RIG_WAIT_OPTIONS_INIT                                                                      \
  {                                                                                                \
    RIG_WAIT_OPTIONS_VERSION, 0                                                                    \
  }

/** @param[out] out free with rig_wait_free() once the stacks using it are up or freed */
RIG_EXTERN int rig_wait_new(rig_wait **out, const rig_wait_options *opts);

/**
 * Frees the rig_wait, after waiting for the watcher threads of finished waits to end (a
 * wait returns at once and lets its event and log streams stop on their own, within about a
 * second). NULL-safe.
 */
RIG_EXTERN void rig_wait_free(rig_wait *wait);

/**
 * Waits until no watcher thread of a finished wait is running any more (about a second at
 * most). Call it before fork() when the child must not inherit the state of running threads,
 * e.g. before a Check runner forks its tests.
 */
RIG_EXTERN void rig_wait_drain(rig_wait *wait);

/**
 * Makes a stack's up use this readiness: sets opts->ready (rig_wait_ready_hook) and puts
 * its own progress callback in front of opts->progress (which still receives every event),
 * to learn when each service's container started and to stop every service's wait as soon
 * as up fails. Call it before rig_stack_new(opts). The stack keeps calling the progress
 * callback (down too): free the rig_wait only after the stack. One rig_wait per stack.
 */
RIG_EXTERN int rig_wait_install(rig_wait *wait, rig_stack_options *opts);

/** The rig_stack_ready_cb that rig_wait_install() sets; userdata is the rig_wait. */
RIG_EXTERN int rig_wait_ready_hook(rig_stack *stack, const char *service, int64_t deadline_ms,
                                   void *userdata);

/**
 * Waits until a service of a running stack is ready by its strategy
 * (rig_wait_spec_for_service()), e.g. after rig_stack_up_nowait(). Every container of the
 * service (every replica) must be ready.
 * @param deadline_ms rig_stack_now_ms() milliseconds
 * @return RIG_OK; RIG_EEXITED (the container exited, was OOM-killed or restarted: the
 *   message names the service, the exit code and quotes the last 30 log lines; details
 *   "service", "exit_code"); RIG_ETIMEOUT naming the service and what it was waiting for,
 *   with the last attempt's answer; RIG_EPARSE for a bad x-stackrig spec; RIG_EINTERRUPTED
 *   when another service's failure stopped the wait
 */
RIG_EXTERN int rig_wait_service(rig_wait *wait, rig_stack *stack, const char *service,
                                int64_t deadline_ms);

/** How one service became ready. */
typedef struct rig_wait_result {
  const char *service;
  const char *strategy;  /**< rig_wait_spec_describe() of its readiness */
  int64_t started_ms;    /**< when its container started (the stack's operation clock,
                              rig_stack_event.elapsed_ms), -1 when unknown */
  int64_t ready_ms;      /**< when it was found ready (same clock), -1 when it was not */
  int64_t ready_at_ms;   /**< the same moment on rig_stack_now_ms()'s clock, -1 when not */
  int64_t ready_wall_ns; /**< the same moment on the wall clock (ns since the epoch) */
  int attempts;          /**< probe attempts (polls) it took */
} rig_wait_result;

typedef struct rig_wait_results {
  size_t count;
  const rig_wait_result *items; /**< in the order the services became ready */
} rig_wait_results;

/** @param[out] out what the waits found so far; free with rig_wait_results_free() */
RIG_EXTERN int rig_wait_get_results(rig_wait_results **out, rig_wait *wait);
RIG_EXTERN void rig_wait_results_free(rig_wait_results *results);

/**
 * Renders the results as lines for people, one per service that became ready:
 * "  postgres        ready 2.314s after its container started (postgres, 14 probes)\n".
 * @param[out] out free() it ("" when nothing became ready)
 */
RIG_EXTERN int rig_wait_format_results(char **out, rig_wait *wait);

RIG_END_DECLS

#endif
