/*
 * stackrig/stack.h - the stack engine: brings a compose project up on a Docker engine
 * (dependency waves, depends_on conditions, healthchecks watched through the events
 * stream), and down again; status, published ports, logs and log collection.
 *
 * Everything it creates carries docker compose's own names and labels, so that
 * `docker compose -p NAME ps/logs/down` see a stack stackrig started, plus a
 * `dev.stackrig.session` label that the crash reaper uses: rig_stack_up() forks a small
 * reaper process that removes everything of the session when the calling process dies
 * (even by SIGKILL) without having called rig_stack_keep() or rig_stack_down().
 */
#ifndef STACKRIG_STACK_H
#define STACKRIG_STACK_H

#include "common.h"
#include "compose.h"

RIG_BEGIN_DECLS

typedef struct rig_stack rig_stack;

/** When rig_stack_up() pulls an image. */
typedef enum rig_stack_pull_policy {
  RIG_STACK_PULL_MISSING = 0, /**< pull images that are not present locally (default) */
  RIG_STACK_PULL_ALWAYS,      /**< pull every image */
  RIG_STACK_PULL_NEVER        /**< never pull; a missing image is an error */
} rig_stack_pull_policy;

/** What a progress event reports about a service (or, with service NULL, the stack). */
typedef enum rig_stack_phase {
  RIG_STACK_PHASE_WAITING = 0, /**< waiting for its dependencies */
  RIG_STACK_PHASE_PULLING,     /**< pulling its image */
  RIG_STACK_PHASE_CREATING,    /**< creating its container (or a network/volume: object) */
  RIG_STACK_PHASE_STARTING,    /**< starting its container */
  RIG_STACK_PHASE_RUNNING,     /**< running; waiting for health or readiness */
  RIG_STACK_PHASE_HEALTHY,     /**< the engine reports it healthy */
  RIG_STACK_PHASE_READY,       /**< ready: rig_stack_up() need not wait for it any longer */
  RIG_STACK_PHASE_COMPLETED, /**< exited with code 0 as a service_completed_successfully dependency
                              */
  RIG_STACK_PHASE_FAILED,    /**< failed; message says why */
  RIG_STACK_PHASE_STOPPING,  /**< stopping its container */
  RIG_STACK_PHASE_REMOVED    /**< container (or network/volume: object) removed */
} rig_stack_phase;

/** One progress event (borrowed: valid during the callback only). */
typedef struct rig_stack_event {
  const char *service; /**< the service, or NULL for a network or volume */
  const char *object;  /**< the engine's name of the container, network or volume */
  rig_stack_phase phase;
  int64_t elapsed_ms;  /**< since the operation (up or down) began */
  int exit_code;       /**< COMPLETED and FAILED after an exit: the exit code, else -1 */
  const char *message; /**< FAILED: the reason; otherwise NULL */
} rig_stack_event;

/**
 * Receives progress. Calls come from worker threads, one at a time (never concurrently).
 */
typedef void (*rig_stack_progress_cb)(const rig_stack_event *event, void *userdata);

/**
 * A readiness hook, called from a worker thread once a service's container is running and,
 * when it has a healthcheck, healthy. It may probe the service's real protocol (through
 * rig_stack_port()) until deadline_ms (rig__now_ms-style monotonic milliseconds, see
 * rig_stack_now_ms()). Calls for different services may run concurrently.
 * @return RIG_OK when the service is ready, or a negative code with the thread's last error
 *   set (rig_error_set) saying why; rig_stack_up() then fails naming the service.
 */
typedef int (*rig_stack_ready_cb)(rig_stack *stack, const char *service, int64_t deadline_ms,
                                  void *userdata);

typedef struct rig_stack_options {
  unsigned int version;
  /** the compose project to run, borrowed: it must outlive the stack. NULL: load it with
      rig_compose_load() from compose (below) */
  const rig_compose_project *project;
  /** how to load the project when project is NULL; NULL: the defaults (compose.yaml... in
      the current folder) */
  const rig_compose_options *compose;
  /** the engine: "unix:///path" or "tcp://host:port"; NULL: DOCKER_HOST, then the default
      sockets */
  const char *docker_host;
  rig_stack_pull_policy pull;
  /** 1: never start the crash reaper (the stack then survives a crash of this process) */
  int no_reaper;
  rig_stack_progress_cb progress;
  void *progress_userdata;
  rig_stack_ready_cb ready;
  void *ready_userdata;
  /** 1: the ready hook alone decides when a service is ready, so up does not first wait
      for the service's compose healthcheck (whose interval would delay it); dependents
      with condition service_healthy still wait for the engine's health. rig_wait_install()
      sets it, since its probes wait for health themselves where that is the strategy. */
  int ready_replaces_health;
} rig_stack_options;

#define RIG_STACK_OPTIONS_VERSION 1
#define RIG_STACK_OPTIONS_INIT                                                                     \
  {                                                                                                \
    RIG_STACK_OPTIONS_VERSION, NULL, NULL, NULL, RIG_STACK_PULL_MISSING, 0, NULL, NULL, NULL,      \
        NULL, 0                                                                                    \
  }

/**
 * Makes a stack for a compose project (it does not touch the engine yet).
 * @param[out] out the stack; free with rig_stack_free()
 * @return RIG_OK, or what rig_compose_load() returns, or RIG_EINVAL for a project whose
 *   dependencies are undefined or cyclic (the message names the cycle)
 */
RIG_EXTERN int rig_stack_new(rig_stack **out, const rig_stack_options *opts);

/**
 * Makes a handle on a stack that is already running, found by its project label alone (no
 * compose file needed), for rig_stack_down(), rig_stack_status(), rig_stack_port(),
 * rig_stack_logs() and rig_stack_collect(). rig_stack_up() is not possible on it.
 * @param project_name the compose project name
 * @param opts only docker_host and progress are used; may be NULL
 * @param[out] out free with rig_stack_free()
 */
RIG_EXTERN int rig_stack_open(rig_stack **out, const char *project_name,
                              const rig_stack_options *opts);

/**
 * Brings the stack up: creates its networks and volumes, pulls missing images, creates
 * and starts containers wave by wave (services whose dependencies are satisfied start in
 * parallel), and returns once every service is ready: running, healthy where it has a
 * healthcheck, accepted by the ready hook; a service that other services wait for with
 * service_completed_successfully is ready once it exited 0.
 *
 * Before creating anything it starts the crash reaper (unless no_reaper): if this process
 * dies before rig_stack_keep() or rig_stack_down(), everything the stack created is removed.
 * On failure everything this call created is removed before it returns.
 *
 * @param timeout_ms the deadline for the whole operation; 0: 120000
 * @return RIG_OK; RIG_ECONNECT (engine unreachable), RIG_EIMAGE (missing image: the
 *   message names it, a hint says how to build it), RIG_EEXITED (a service exited: the
 *   message names it and its exit code), RIG_ENOTREADY (unhealthy, or the ready hook
 *   failed), RIG_ETIMEOUT, RIG_ECONFLICT (a container of that name exists), RIG_EENGINE
 */
RIG_EXTERN int rig_stack_up(rig_stack *stack, int64_t timeout_ms);

/**
 * As rig_stack_up(), but returns once every container is started and its dependencies'
 * conditions were met, without waiting for its own health or readiness.
 */
RIG_EXTERN int rig_stack_up_nowait(rig_stack *stack, int64_t timeout_ms);

/**
 * Lets the stack outlive this process: disarms the crash reaper. The stack is then
 * removed only by rig_stack_down() (here or from another process, e.g. `stackrig down`).
 * @return RIG_OK (also when there is no reaper)
 */
RIG_EXTERN int rig_stack_keep(rig_stack *stack);

typedef struct rig_stack_down_options {
  unsigned int version;
  int remove_volumes; /**< also remove the project's named volumes (not external ones) */
  int kill;           /**< kill containers instead of stopping them gracefully */
} rig_stack_down_options;

#define RIG_STACK_DOWN_OPTIONS_VERSION 1
#define RIG_STACK_DOWN_OPTIONS_INIT                                                                \
  {                                                                                                \
    RIG_STACK_DOWN_OPTIONS_VERSION, 0, 0                                                           \
  }

/**
 * Stops and removes the project's containers (found by the project label: also those of
 * an earlier run) in reverse dependency order, each with its stop_signal and
 * stop_grace_period, then its networks and, with remove_volumes, its named volumes; then
 * disarms the crash reaper.
 * @param opts NULL: the defaults
 * @return RIG_OK (also when nothing was there), RIG_ECONNECT, RIG_EENGINE
 */
RIG_EXTERN int rig_stack_down(rig_stack *stack, const rig_stack_down_options *opts);

/** One service's state, as rig_stack_status() reports it. */
typedef struct rig_stack_service_status {
  const char *service;
  const char *container; /**< the container's name, or NULL when it has none */
  const char *state;     /**< "running", "exited", "created", "restarting"..., "missing" */
  const char *health;    /**< "healthy", "unhealthy", "starting", or NULL without healthcheck */
  int exit_code;         /**< meaningful when state is "exited" */
  int restart_count;
  int oom_killed;
  /** published ports as "127.0.0.1:49153->80/tcp", NULL-terminated */
  const char *const *ports;
  size_t port_count;
} rig_stack_service_status;

typedef struct rig_stack_status {
  const char *project;
  size_t service_count;
  const rig_stack_service_status *services; /**< sorted by service name */
} rig_stack_status;

/**
 * @param[out] out the state of every container of the project (and, with a compose
 *   project, of its services that have none: state "missing"); free with
 *   rig_stack_status_free()
 */
RIG_EXTERN int rig_stack_get_status(rig_stack_status **out, rig_stack *stack);
RIG_EXTERN void rig_stack_status_free(rig_stack_status *status);

/** Renders a status as JSON (an object with "project" and a "services" array). */
RIG_EXTERN int rig_stack_status_to_json(char **out, const rig_stack_status *status);

/**
 * The host address of a service's published container port, from inspect.
 * @param[out] out e.g. "127.0.0.1:49153"; free() it
 * @param container_port e.g. 5432 (tcp)
 * @return RIG_OK; RIG_ENOTFOUND when the service has no running container or does not
 *   publish that port (the message names both)
 */
RIG_EXTERN int rig_stack_port(char **out, rig_stack *stack, const char *service,
                              int container_port);

/** As rig_stack_port() for a protocol other than tcp ("udp", "sctp"). */
RIG_EXTERN int rig_stack_port_proto(char **out, rig_stack *stack, const char *service,
                                    int container_port, const char *protocol);

/**
 * Receives one log line of a service (without its newline).
 * @param stream 1 stdout, 2 stderr
 * @return 0 to go on, non-zero to stop
 */
typedef int (*rig_stack_log_cb)(const char *service, int container_number, int stream,
                                const char *line, size_t len, void *userdata);

typedef struct rig_stack_logs_options {
  unsigned int version;
  const char *const *services; /**< NULL-terminated list, or NULL for all */
  int tail;                    /**< the last N lines only; -1: all */
  int follow;                  /**< go on streaming until cancel or the containers stop */
  int timestamps;              /**< prefix each line with the engine's RFC 3339 timestamp */
  const volatile int *cancel;  /**< when it points to non-zero, following stops */
} rig_stack_logs_options;

#define RIG_STACK_LOGS_OPTIONS_VERSION 1
#define RIG_STACK_LOGS_OPTIONS_INIT                                                                \
  {                                                                                                \
    RIG_STACK_LOGS_OPTIONS_VERSION, NULL, -1, 0, 0, NULL                                           \
  }

/**
 * Streams the logs of the project's containers to cb, one line at a time (calls are
 * serialized). With follow, every container is followed in parallel.
 * @return RIG_OK; RIG_ENOTFOUND for a named service without a container
 */
RIG_EXTERN int rig_stack_logs(rig_stack *stack, const rig_stack_logs_options *opts,
                              rig_stack_log_cb cb, void *userdata);

/**
 * Writes what one needs to understand a failure into dir (created when missing): for every
 * container `<service>-<n>.log` (the whole log with timestamps, stdout and stderr) and
 * `<service>-<n>.inspect.json`, and summary.txt naming the services that exited,
 * restarted, were OOM-killed or are unhealthy, each with its last 30 log lines.
 * @return RIG_OK, RIG_EIO (dir not writable), RIG_ECONNECT
 */
RIG_EXTERN int rig_stack_collect(rig_stack *stack, const char *dir);

/** @return the project name (borrowed). */
RIG_EXTERN const char *rig_stack_project_name(const rig_stack *stack);

/** @return the compose project the stack runs, or NULL for one from rig_stack_open(). */
RIG_EXTERN const rig_compose_project *rig_stack_project(const rig_stack *stack);

/** @return this stack's session id (the dev.stackrig.session label), or NULL before up. */
RIG_EXTERN const char *rig_stack_session(const rig_stack *stack);

/** @return milliseconds of the monotonic clock that ready hooks' deadlines refer to. */
RIG_EXTERN int64_t rig_stack_now_ms(void);

/**
 * Frees the handle. It does not stop the stack, but when the crash reaper is still armed
 * (up without keep or down), closing it makes the reaper remove the stack in the
 * background. NULL-safe.
 */
RIG_EXTERN void rig_stack_free(rig_stack *stack);

RIG_END_DECLS

#endif
