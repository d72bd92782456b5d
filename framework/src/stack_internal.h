/*
 * stack_internal.h - what the files of the stack module share: the planner, names and
 * labels, port resolution, the reaper protocol, and the rig_stack structure itself.
 * The pure parts (planner, names, ports, reaper protocol) are reachable from the unit
 * tests through the convenience library.
 */
#ifndef RIG_STACK_INTERNAL_H
#define RIG_STACK_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include "stackrig/compose.h"
#include "stackrig/docker.h"
#include "stackrig/stack.h"
#include "sha256.h"

/* ---- labels docker compose v2 puts on what it creates ---- */
#define RIG__LABEL_PROJECT "com.docker.compose.project"
#define RIG__LABEL_SERVICE "com.docker.compose.service"
#define RIG__LABEL_CONTAINER_NUMBER "com.docker.compose.container-number"
#define RIG__LABEL_ONEOFF "com.docker.compose.oneoff"
#define RIG__LABEL_CONFIG_HASH "com.docker.compose.config-hash"
#define RIG__LABEL_WORKING_DIR "com.docker.compose.project.working_dir"
#define RIG__LABEL_CONFIG_FILES "com.docker.compose.project.config_files"
#define RIG__LABEL_DEPENDS_ON "com.docker.compose.depends_on"
#define RIG__LABEL_VERSION "com.docker.compose.version"
#define RIG__LABEL_NETWORK "com.docker.compose.network"
#define RIG__LABEL_VOLUME "com.docker.compose.volume"
/* Ours: every container, network and volume one rig_stack_up() created. */
#define RIG__LABEL_SESSION "dev.stackrig.session"

/* The compose version the labels claim: the Compose Specification behaviour stackrig
 * follows. compose v2 only reads this label to print it. */
#define RIG__COMPOSE_VERSION "2.24.0"
#define RIG__DEFAULT_HOST_IP "127.0.0.1"

/* ---- planner (stack_plan.c) ---- */

/* One service as the planner sees it: a name and the names it depends on. */
typedef struct rig__plan_node {
  const char *name;
  const char *const *deps;
  const int *dep_required; /* NULL: all required */
  size_t dep_count;
} rig__plan_node;

typedef struct rig__plan {
  size_t node_count;
  size_t wave_count;
  size_t *wave_of;     /* node -> its wave */
  size_t *order;       /* nodes wave by wave (file order inside a wave) */
  size_t *wave_start;  /* wave w is order[wave_start[w] .. wave_start[w+1]) */
  size_t **deps;       /* node -> indexes of the nodes it depends on (defined ones only) */
  size_t **dep_origin; /* node -> for each deps entry, its index in the node's input deps */
  size_t *dep_count;
  char **skipped; /* messages for optional dependencies that are not defined */
  size_t skipped_count;
} rig__plan;

/* @return RIG_OK; RIG_EINVAL naming an undefined required dependency or the cycle
 * ("dependency cycle: a -> b -> a", also as the detail "cycle"). */
int rig__plan_build(rig__plan **out, const rig__plan_node *nodes, size_t count);
int rig__plan_from_project(rig__plan **out, const rig_compose_project *project);
void rig__plan_free(rig__plan *plan);
/* "a b | c | d": the waves, for tests and debug output; free() it. */
char *rig__plan_describe(const rig__plan *plan, const char *const *names);

/* ---- names and labels (stack_names.c) ---- */

typedef struct rig__label {
  char *key;
  char *value;
} rig__label;

typedef struct rig__labels {
  rig__label *items;
  size_t count;
} rig__labels;

typedef struct rig__label_context {
  const char *project;
  const char *working_dir;
  const char *const *config_files;
  size_t config_file_count;
  const char *session; /* NULL: no session label */
} rig__label_context;

void rig__labels_set(rig__labels *labels, const char *key, const char *value);
const char *rig__labels_get(const rig__labels *labels, const char *key);
void rig__labels_dispose(rig__labels *labels);
/* The labels as the docker module takes them (strings borrowed from labels); free() it. */
rig_docker_label *rig__labels_view(const rig__labels *labels);

void rig__stack_container_labels(rig__labels *labels, const rig__label_context *ctx,
                                 const rig_compose_service *service, int number,
                                 const char *config_hash);
void rig__stack_network_labels(rig__labels *labels, const rig__label_context *ctx,
                               const rig_compose_network *network);
void rig__stack_volume_labels(rig__labels *labels, const rig__label_context *ctx,
                              const rig_compose_volume *volume);

/* The compose spelling of a depends_on condition, e.g. "service_healthy". */
const char *rig__stack_condition_name(rig_compose_condition condition);
/* "db:service_healthy:false,cache:service_started:false"; free() it. */
char *rig__stack_depends_label(const rig_compose_service *service);
/* The service names of such a label (also of the older "db,cache" form): a NULL-terminated
 * array; free each and the array. @return their count */
size_t rig__stack_parse_depends_label(char ***out, const char *label);

/* "<project>-<service>-<n>", or container_name; free() it. */
char *rig__stack_container_name(const char *project, const rig_compose_service *service,
                                int number);
/* 32 hex digits from /dev/urandom; free() it. */
char *rig__stack_new_session_id(void);

/* The config-hash label: sha256 of the service's compact JSON. */
int rig__stack_config_hash(char out[65], const rig_compose_project *project,
                           const rig_compose_service *service);

/* 1 for images of the default stack, whose error hints at compose/images/build. */
int rig__stack_is_default_stack_image(const char *image);

/* A service's ports: bindings (host_ip defaults to 127.0.0.1, host_port 0 lets the engine
 * choose) and the extra exposed ports of expose: ("8080/tcp", NULL-terminated). */
typedef struct rig__port_list {
  rig_docker_port_binding *bindings;
  size_t binding_count;
  char **expose;
  size_t expose_count;
} rig__port_list;

int rig__stack_resolve_ports(rig__port_list *out, const rig_compose_service *service);
void rig__port_list_dispose(rig__port_list *list);

/* ---- the container spec (stack_spec.c) ---- */

/* A container spec and everything it points to (the compose model aside). */
typedef struct rig__spec {
  rig_docker_container_spec spec;
  rig__labels labels;
  rig_docker_label *label_view;
  rig__port_list ports;
  char **env;
  char **binds;
  rig_docker_mount *mounts;
  rig_docker_endpoint *endpoints;
  char ***aliases;
  size_t endpoint_count;
  const char *health_test[4];
  const char **health_argv;
  rig_docker_ulimit *ulimits;
  char *network_mode;
  char *restart;
  const char *empty_entrypoint[2];
} rig__spec;

/* @param number the container number (1-based) @return RIG_OK or RIG_EINVAL naming the
 * service; on failure call rig__spec_dispose() all the same */
int rig__stack_build_spec(rig__spec *out, const rig_compose_project *project,
                          const rig_compose_service *service, const rig__label_context *labels,
                          const char *container_name, int number);
void rig__spec_dispose(rig__spec *spec);

/* ---- the crash reaper (stack_reaper.c) ---- */

/* What the parent writes to the reaper's pipe before closing it on purpose. */
#define RIG__REAPER_DISARM 'D'

/* Runs in the reaper process once the parent is gone (disarmed 0) or stood it down
 * (disarmed 1). Must not touch the parent's connections. */
typedef void (*rig__reaper_action)(void *arg, int disarmed);

typedef struct rig__reaper {
  int write_fd; /* -1 when there is no reaper */
  pid_t pid;    /* the reaper's pid (a grandchild: not ours to wait for) */
} rig__reaper;

#define RIG__REAPER_INIT                                                                           \
  {                                                                                                \
    -1, -1                                                                                         \
  }

/* Forks the reaper (double fork + setsid: it survives us and our process group's signals;
 * all its descriptors but the pipe are closed, so it holds no terminal and no test
 * harness pipe). @return RIG_OK or RIG_EIO */
int rig__reaper_spawn(rig__reaper *reaper, rig__reaper_action action, void *arg);
/* Tells the reaper to stand down and closes the pipe. */
int rig__reaper_disarm(rig__reaper *reaper);
/* Closes the pipe without disarming: the reaper then runs its action as on a crash. */
void rig__reaper_release(rig__reaper *reaper);
/* The protocol's reading side: blocks until the pipe closes.
 * @return 1 when the parent disarmed it, 0 when the parent went away without doing so */
int rig__reaper_wait(int read_fd);

/* Removes every container (killed, with anonymous volumes), network and volume carrying
 * dev.stackrig.session=session; repeats until several consecutive passes find nothing, so
 * that a create still in flight when the parent died is caught as well.
 * @param settle_passes how many empty passes in a row end it (1: one pass after the first
 *   empty one is enough) */
int rig__stack_sweep_session(rig_docker *docker, const char *session, int settle_passes);

/* ---- the stack (stack.c, stack_up.c, stack_down.c, stack_collect.c) ---- */

struct rig_stack {
  rig_compose_project *owned_project;
  const rig_compose_project *project; /* NULL for rig_stack_open() */
  char *project_name;
  char *docker_host; /* NULL: discovery */
  rig_stack_options opts;
  rig__plan *plan;
  char *session; /* the current up's session, or NULL */
  rig__reaper reaper;
  rig_docker *docker; /* the calling thread's connection, opened lazily */
  pthread_mutex_t progress_lock;
  int64_t operation_start_ms;
};

/* The stack's own connection, opened on first use. */
int rig__stack_docker(rig_docker **out, rig_stack *stack);
/* A new connection to the same engine, for a worker thread. */
int rig__stack_docker_clone(rig_docker **out, rig_stack *stack);
void rig__stack_progress(rig_stack *stack, const char *service, const char *object,
                         rig_stack_phase phase, int exit_code, const char *message);

/* stack_prepare.c: the service's image present (pulled by policy), the project's networks
 * and volumes created (labelled for the session) or reused. */
int rig__stack_ensure_image(rig_stack *stack, rig_docker *docker, const rig_compose_service *svc,
                            rig_stack_pull_policy policy);
int rig__stack_ensure_networks(rig_stack *stack, rig_docker *docker,
                               const rig__label_context *labels);
int rig__stack_ensure_volumes(rig_stack *stack, rig_docker *docker,
                              const rig__label_context *labels);

/* The project's containers (all states), sorted by service and number. */
int rig__stack_list_containers(rig_docker_containers **out, rig_docker *docker,
                               const char *project);
/* The stack's own connection (through *out_docker) and its project's containers. */
int rig__stack_containers(rig_docker_containers **out, rig_docker **out_docker, rig_stack *stack);

#endif
