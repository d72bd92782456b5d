/*
 * stackrig/compose.h - the compose file loader: YAML (anchors, aliases, `<<` merge keys),
 * variable interpolation from the environment and .env files, multi-file merge by the
 * Compose Specification's override rules, validation with file:line:col, and the resolved
 * model as a plain tree of C structs.
 *
 * The model is read directly: every field below is public and documented. Every string
 * and array is borrowed from the rig_compose_project that holds it and lives until
 * rig_compose_project_free(). Arrays come as a pointer plus a count; string lists
 * (rig_compose_strings) are additionally NULL-terminated so they can serve as argv.
 * Short syntaxes are resolved to the long ones (ports, volumes, depends_on, networks), so
 * a reader handles one shape only.
 */
#ifndef STACKRIG_COMPOSE_H
#define STACKRIG_COMPOSE_H

#include "common.h"
#include "config.h"

RIG_BEGIN_DECLS

/* ---- small building blocks ---- */

/** A list of strings; items[count] is NULL. An empty list has count 0 (items may be NULL). */
typedef struct rig_compose_strings {
  const char *const *items;
  size_t count;
} rig_compose_strings;

/** One entry of an ordered key/value list (environment, labels, driver_opts...). */
typedef struct rig_compose_kv {
  const char *key;
  const char *value; /**< NULL for an environment variable declared without a value that
                          the environment does not define either */
} rig_compose_kv;

/** The type of a generic value (extensions `x-*`). */
typedef enum rig_compose_value_type {
  RIG_COMPOSE_VALUE_NULL = 0,
  RIG_COMPOSE_VALUE_BOOL,
  RIG_COMPOSE_VALUE_INT,
  RIG_COMPOSE_VALUE_FLOAT,
  RIG_COMPOSE_VALUE_STRING,
  RIG_COMPOSE_VALUE_LIST,
  RIG_COMPOSE_VALUE_MAP
} rig_compose_value_type;

/**
 * A generic YAML value after interpolation, used for `x-*` extensions. Scalars are typed as
 * YAML 1.2's core schema types plain scalars (true/false, null/~, integers, floats); a
 * quoted scalar or one that went through interpolation is always a string.
 * file/line/column locate the value in its compose file (1-based) so that a module reading
 * an extension can name the place of a bad value.
 */
typedef struct rig_compose_value {
  rig_compose_value_type type;
  int boolean;        /**< BOOL */
  int64_t integer;    /**< INT */
  double number;      /**< FLOAT (also set for INT) */
  const char *string; /**< STRING; also the scalar's text for BOOL/INT/FLOAT/NULL */
  size_t count;       /**< LIST and MAP: number of items */
  const struct rig_compose_value *items; /**< LIST and MAP: the values */
  const char *const *keys;               /**< MAP: keys[i] is the key of items[i] (file order) */
  const char *file;
  int line;
  int column;
} rig_compose_value;

/* ---- services ---- */

/** One published or exposed port (long syntax; a short-syntax range becomes one entry per port). */
typedef struct rig_compose_port {
  const char *name;    /**< NULL unless given in long syntax */
  int target;          /**< container port */
  int published_start; /**< host port, or first of a host range; 0: a random free port */
  /** last host port of a range; == published_start for one port; 0 when random */
  int published_end;
  const char *host_ip;      /**< NULL when not given (stackrig then binds 127.0.0.1) */
  const char *protocol;     /**< "tcp" (default), "udp" or "sctp" */
  const char *mode;         /**< "ingress" (default) or "host" */
  const char *app_protocol; /**< NULL unless given */
} rig_compose_port;

typedef enum rig_compose_mount_type {
  RIG_COMPOSE_MOUNT_BIND = 0,
  RIG_COMPOSE_MOUNT_VOLUME,
  RIG_COMPOSE_MOUNT_TMPFS
} rig_compose_mount_type;

/** One entry of a service's `volumes:` (long syntax). */
typedef struct rig_compose_mount {
  rig_compose_mount_type type;
  const char *source; /**< BIND: absolute host path; VOLUME: the key of a top-level
                           volume (see rig_compose_find_volume for its engine name),
                           or NULL for an anonymous volume; TMPFS: NULL */
  const char *target; /**< path in the container */
  int read_only;
  const char *consistency; /**< NULL unless given */
  /** BIND: create the host folder when missing (1 for the short syntax) */
  int bind_create_host_path;
  const char *bind_propagation; /**< BIND: NULL unless given */
  const char *bind_selinux;     /**< BIND: "z", "Z" or NULL */
  int volume_nocopy;            /**< VOLUME */
  const char *volume_subpath;   /**< VOLUME: NULL unless given */
  int64_t tmpfs_size;           /**< TMPFS: bytes, 0 when not given */
  int tmpfs_mode;               /**< TMPFS: file mode, 0 when not given */
} rig_compose_mount;

typedef enum rig_compose_condition {
  RIG_COMPOSE_CONDITION_STARTED = 0,           /**< service_started */
  RIG_COMPOSE_CONDITION_HEALTHY,               /**< service_healthy */
  RIG_COMPOSE_CONDITION_COMPLETED_SUCCESSFULLY /**< service_completed_successfully */
} rig_compose_condition;

/** One entry of depends_on (the list form becomes condition STARTED, required 1). */
typedef struct rig_compose_dependency {
  const char *service;
  rig_compose_condition condition;
  int required; /**< default 1; 0: a missing or failing dependency only warns */
  int restart;  /**< restart this service when the dependency is updated */
} rig_compose_dependency;

typedef enum rig_compose_health_kind {
  RIG_COMPOSE_HEALTH_INHERIT = 0, /**< no test given: keep the image's test (timings may change) */
  RIG_COMPOSE_HEALTH_NONE,        /**< ["NONE"] or disable: true: no health check at all */
  RIG_COMPOSE_HEALTH_CMD,         /**< ["CMD", argv...]: test.items holds argv */
  RIG_COMPOSE_HEALTH_CMD_SHELL /**< ["CMD-SHELL", cmd] or a string: test.items[0] is the command */
} rig_compose_health_kind;

typedef struct rig_compose_healthcheck {
  int set; /**< 0 when the service has no healthcheck key */
  rig_compose_health_kind kind;
  rig_compose_strings test; /**< the test WITHOUT its leading CMD/CMD-SHELL/NONE word */
  int64_t interval_ns;      /**< 0 when not given (the engine's default applies) */
  int64_t timeout_ns;
  int64_t start_period_ns;
  int64_t start_interval_ns;
  int retries; /**< 0 when not given */
  int disable; /**< `disable: true` was given (kind is then NONE) */
} rig_compose_healthcheck;

/** One network a service joins. */
typedef struct rig_compose_service_network {
  const char *network; /**< the key of a top-level network ("default", "front") */
  rig_compose_strings aliases;
  const char *ipv4_address; /**< NULL unless given */
  const char *ipv6_address; /**< NULL unless given */
  int priority;             /**< 0 unless given */
} rig_compose_service_network;

typedef struct rig_compose_ulimit {
  const char *name; /**< "nofile", "nproc"... */
  int64_t soft;
  int64_t hard; /**< a single number sets soft and hard alike */
} rig_compose_ulimit;

/** Tri-state booleans for keys whose absence means "the engine's default". */
typedef enum rig_compose_tristate {
  RIG_COMPOSE_UNSET = -1,
  RIG_COMPOSE_FALSE = 0,
  RIG_COMPOSE_TRUE = 1
} rig_compose_tristate;

typedef struct rig_compose_service {
  const char *name; /**< the key under services: */
  const char *file; /**< the compose file that first defined it */
  int line;         /**< where (1-based) */

  const char *image;          /**< NULL when not given (an error: stackrig does not build) */
  const char *container_name; /**< NULL: the engine name is <project>-<service>-<n> */
  const char *hostname;
  const char *domainname;
  const char *working_dir;
  const char *user;
  const char *platform;
  const char *pull_policy;  /**< NULL unless given */
  const char *stop_signal;  /**< NULL unless given */
  const char *network_mode; /**< NULL unless given ("host", "none", "service:x"...) */
  const char *restart;      /**< "no" (default), "always", "on-failure[:N]", "unless-stopped" */

  int command_set; /**< 0: keep the image's CMD */
  rig_compose_strings command;
  int entrypoint_set; /**< 0: keep the image's ENTRYPOINT */
  rig_compose_strings entrypoint;

  /** environment: and env_file: resolved, in order (env_file entries first, environment:
      overriding them); values are after interpolation */
  const rig_compose_kv *environment;
  size_t environment_count;
  rig_compose_strings env_files; /**< absolute paths of the env_file entries that were read */

  const rig_compose_kv *labels;
  size_t label_count;

  const rig_compose_port *ports;
  size_t port_count;
  rig_compose_strings expose; /**< "80", "8000-8010", "53/udp" as written */

  const rig_compose_mount *volumes;
  size_t volume_count;
  rig_compose_strings tmpfs; /**< "/run" or "/run:size=64m" as written */

  const rig_compose_dependency *depends_on;
  size_t depends_on_count;

  rig_compose_healthcheck healthcheck;

  /** networks joined; empty when network_mode is set. A service that names neither joins
      "default". */
  const rig_compose_service_network *networks;
  size_t network_count;

  int stop_grace_period_set;
  int64_t stop_grace_period_ns;
  rig_compose_tristate init;
  rig_compose_tristate tty;
  rig_compose_tristate stdin_open;
  rig_compose_tristate privileged;
  rig_compose_tristate read_only;

  rig_compose_strings
      extra_hosts; /**< "host:ip" (the engine's form; `host=ip` and the map form are converted) */
  rig_compose_strings dns;
  rig_compose_strings dns_search;
  rig_compose_strings cap_add;
  rig_compose_strings cap_drop;
  rig_compose_strings security_opt;
  const rig_compose_ulimit *ulimits;
  size_t ulimit_count;
  int64_t shm_size; /**< bytes; 0 when not given */
  rig_compose_strings profiles;
  int replicas; /**< scale / deploy.replicas; 1 when not given */

  /** the service's `x-*` keys, a MAP (count 0 when none) */
  const rig_compose_value *extensions;
} rig_compose_service;

/* ---- top-level networks and volumes ---- */

typedef struct rig_compose_ipam_pool {
  const char *subnet;
  const char *ip_range;
  const char *gateway;
} rig_compose_ipam_pool;

typedef struct rig_compose_network {
  const char *key;  /**< the name in the file ("default", "front") */
  const char *name; /**< the engine's name: `name:` if given, the key itself when
                         external, else "<project>_<key>" */
  int external;
  const char *driver; /**< NULL: the engine's default (bridge) */
  const rig_compose_kv *driver_opts;
  size_t driver_opt_count;
  const rig_compose_kv *labels;
  size_t label_count;
  int internal;
  int attachable;
  rig_compose_tristate enable_ipv6;
  const char *ipam_driver; /**< NULL unless given */
  const rig_compose_ipam_pool *ipam_config;
  size_t ipam_config_count;
  const rig_compose_value *extensions; /**< MAP */
} rig_compose_network;

typedef struct rig_compose_volume {
  const char *key;  /**< the name in the file */
  const char *name; /**< the engine's name, as for networks */
  int external;
  const char *driver;
  const rig_compose_kv *driver_opts;
  size_t driver_opt_count;
  const rig_compose_kv *labels;
  size_t label_count;
  const rig_compose_value *extensions; /**< MAP */
} rig_compose_volume;

/* ---- the project ---- */

typedef struct rig_compose_project {
  const char *name;                 /**< the normalized project name */
  const char *working_dir;          /**< absolute project directory */
  rig_compose_strings config_files; /**< absolute paths, in merge order */
  rig_compose_strings profiles;     /**< the active profiles */

  /** the enabled services (those whose profiles are active), sorted by name */
  const rig_compose_service *services;
  size_t service_count;
  const rig_compose_network *networks; /**< sorted by key; includes "default" when used */
  size_t network_count;
  const rig_compose_volume *volumes; /**< sorted by key */
  size_t volume_count;
  const rig_compose_value *extensions; /**< the top-level `x-*` keys, a MAP */

  /** what the loader noticed but accepted, e.g. "compose.yaml:1:1: `version` is obsolete";
      the library never prints, the runner does */
  rig_compose_strings warnings;
} rig_compose_project;

typedef struct rig_compose_options {
  unsigned int version;
  /** compose files in merge order; NULL: COMPOSE_FILE from the environment, else the first
      of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml found in
      project_directory (or the current folder), plus its .override file when present */
  const char *const *files;
  size_t file_count;
  const char *project_name;      /**< -p; NULL: see rig_compose_load() */
  const char *project_directory; /**< NULL: the folder of the first file */
  /** --env-file, in order (a later one wins); NULL: "<project dir>/.env" when it exists */
  const char *const *env_files;
  size_t env_file_count;
  /** the environment to interpolate from; NULL: the process environment */
  const rig_env *environment;
  /** active profiles; NULL: COMPOSE_PROFILES (comma-separated) from the environment */
  const char *const *profiles;
  size_t profile_count;
} rig_compose_options;

#define RIG_COMPOSE_OPTIONS_VERSION 1
#define RIG_COMPOSE_OPTIONS_INIT                                                                   \
  {                                                                                                \
    RIG_COMPOSE_OPTIONS_VERSION, NULL, 0, NULL, NULL, NULL, 0, NULL, NULL, 0                       \
  }

/**
 * Loads, interpolates, merges and validates compose files into a project.
 *
 * The project name is the first of: opts->project_name, STACKRIG_PROJECT,
 * COMPOSE_PROJECT_NAME (both looked up in the environment, then in the .env files), the
 * top-level `name:`, the project folder's base name. A name given explicitly must be valid
 * (lowercase letters, digits, '-' and '_', starting with a letter or a digit); the folder's
 * name is normalized to that form.
 *
 * Errors name the place, e.g. "compose.yaml:12:5: services.web.ports must be a list" or
 * "compose.yaml:3:10: required variable DB_PASSWORD is missing a value: set it". A key the
 * Compose Specification allows but stackrig does not support (build, extends, secrets...)
 * is an error saying so.
 *
 * @param[out] out the project; free with rig_compose_project_free()
 * @return RIG_OK; RIG_ENOTFOUND (no compose file), RIG_EIO (unreadable file), RIG_EPARSE
 *   (bad YAML or a bad value), RIG_EINVAL (bad options or model), RIG_EUNSUPPORTED
 */
RIG_EXTERN int rig_compose_load(rig_compose_project **out, const rig_compose_options *opts);

/** Frees a project and everything borrowed from it. NULL-safe. */
RIG_EXTERN void rig_compose_project_free(rig_compose_project *project);

/** @return the service named name, or NULL. */
RIG_EXTERN const rig_compose_service *rig_compose_find_service(const rig_compose_project *project,
                                                               const char *name);
/** @return the top-level network whose key is key, or NULL. */
RIG_EXTERN const rig_compose_network *rig_compose_find_network(const rig_compose_project *project,
                                                               const char *key);
/** @return the top-level volume whose key is key, or NULL. */
RIG_EXTERN const rig_compose_volume *rig_compose_find_volume(const rig_compose_project *project,
                                                             const char *key);

/**
 * @return the value of the service's extension name (e.g. "x-stackrig"), borrowed from
 *   the project, or NULL when the service has none.
 */
RIG_EXTERN const rig_compose_value *
rig_compose_service_extension(const rig_compose_service *service, const char *name);

/** @return the item of a MAP value whose key is key, or NULL (also for non-maps). */
RIG_EXTERN const rig_compose_value *rig_compose_value_get(const rig_compose_value *map,
                                                          const char *key);

/** Renders a generic value as JSON text. @param[out] out free() it */
RIG_EXTERN int rig_compose_value_to_json(char **out, const rig_compose_value *value);

/**
 * Renders the resolved project as JSON in the shape of `docker compose config --format
 * json` (name, services by name with long-syntax fields, networks, volumes).
 * @param[out] out NUL-terminated text ending with a newline; free() it
 */
RIG_EXTERN int rig_compose_to_json(char **out, const rig_compose_project *project);

/** As rig_compose_to_json(), as YAML. @param[out] out free() it */
RIG_EXTERN int rig_compose_to_yaml(char **out, const rig_compose_project *project);

/**
 * Renders one service as compact JSON (the same fields as in rig_compose_to_json()), e.g.
 * to hash it for the com.docker.compose.config-hash label. @param[out] out free() it
 */
RIG_EXTERN int rig_compose_service_to_json(char **out, const rig_compose_project *project,
                                           const rig_compose_service *service);

RIG_END_DECLS

#endif
