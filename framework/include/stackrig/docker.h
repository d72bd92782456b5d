/*
 * stackrig/docker.h - a client for the Docker Engine API (and Podman's compatible API).
 *
 * A rig_docker is one connection to one engine. rig_docker_open() finds the engine
 * (DOCKER_HOST, then /var/run/docker.sock, the rootless socket, the Podman sockets),
 * negotiates the API version from GET /version and prefixes it to every path. Callers
 * never build JSON: container, network and volume specifications are option structs, and
 * answers come back as plain structs that the caller frees.
 *
 * Errors carry the HTTP status and the engine's own message ("No such image: postgres:17"):
 * RIG_ENOTFOUND for 404, RIG_ECONFLICT for 409, RIG_EIMAGE when an image is missing on
 * create or cannot be pulled, RIG_ECONNECT when the engine cannot be reached, RIG_EENGINE
 * otherwise; rig_error_last() has the details "status" and "engine_message".
 *
 * Threads: a rig_docker may be used by one thread at a time. Streaming calls (logs with
 * follow, events, a long wait) occupy the connection until they return; open a second
 * connection for them with rig_docker_clone().
 *
 * Ownership: strings and arrays inside a returned struct belong to that struct and are
 * freed with it; every struct returned through `**out` has its own _free (NULL-safe).
 * Lists of strings passed in are NULL-terminated arrays, as argv is.
 */
#ifndef STACKRIG_DOCKER_H
#define STACKRIG_DOCKER_H

#include "common.h"

RIG_BEGIN_DECLS

typedef struct rig_docker rig_docker;

/** A key/value pair: a label, an event attribute, a driver option. */
typedef struct rig_docker_label {
  const char *key;
  const char *value;
} rig_docker_label;

/**
 * One filter of a list or events call, as the engine's `filters` parameter takes them:
 * {"label", "com.docker.compose.project=demo"}, {"label", "dev.stackrig.session"},
 * {"type", "container"}, {"event", "die"}, {"name", "demo_default"}, {"status", "exited"}.
 * Filters with the same name combine as the engine defines: several "label" filters must
 * all match; several values of the other names ("type", "event", "status") are alternatives.
 */
typedef struct rig_docker_filter {
  const char *name;
  const char *value;
} rig_docker_filter;

/* ------------------------------------------------------------------------------------ */
/* Connection                                                                             */

typedef struct rig_docker_options {
  unsigned int version;
  /** "unix:///path" or "tcp://host:port"; NULL: $DOCKER_HOST, then the default sockets */
  const char *host;
  /** force an API version ("1.41") instead of negotiating; NULL: $DOCKER_API_VERSION,
   *  else negotiate min(1.45, the server's ApiVersion), never below 1.24 */
  const char *api_version;
  int64_t connect_timeout_ms; /**< 0: 5000 */
  int64_t timeout_ms;         /**< default per request (non-streaming calls); 0: 120000 */
} rig_docker_options;

#define RIG_DOCKER_OPTIONS_VERSION 1
#define RIG_DOCKER_OPTIONS_INIT                                                                    \
  {                                                                                                \
    RIG_DOCKER_OPTIONS_VERSION, NULL, NULL, 0, 0                                                   \
  }

/**
 * Finds the engine, connects and negotiates the API version (one GET /version).
 * tcp:// with DOCKER_TLS_VERIFY set is not supported (RIG_EUNSUPPORTED, said so).
 * @param[out] out the connection; free with rig_docker_free()
 * @param opts NULL for defaults
 * @return RIG_OK; RIG_ECONNECT "cannot reach the Docker engine at unix:///var/run/docker.sock:
 *   <reason>" with a "hint" detail; RIG_EINVAL for a malformed DOCKER_HOST;
 *   RIG_EUNSUPPORTED for an engine older than API 1.24 or TLS.
 */
RIG_EXTERN int rig_docker_open(rig_docker **out, const rig_docker_options *opts);

/**
 * Opens a second connection to the same engine with the same API version, without asking
 * the engine again: for a stream (events, logs --follow) on another thread.
 * @param[out] out the new connection; free with rig_docker_free()
 */
RIG_EXTERN int rig_docker_clone(rig_docker **out, const rig_docker *docker);

/** Closes the connection. NULL-safe. */
RIG_EXTERN void rig_docker_free(rig_docker *docker);

/** @return the engine's address, e.g. "unix:///var/run/docker.sock" (borrowed). */
RIG_EXTERN const char *rig_docker_host(const rig_docker *docker);

/** @return the negotiated API version, e.g. "1.41" (borrowed). */
RIG_EXTERN const char *rig_docker_api_version(const rig_docker *docker);

/** @return 1 when the engine says it is Podman, else 0. */
RIG_EXTERN int rig_docker_is_podman(const rig_docker *docker);

/** GET /_ping. @return RIG_OK when the engine answers "OK", RIG_ECONNECT otherwise. */
RIG_EXTERN int rig_docker_ping(rig_docker *docker);

/** What GET /version says. */
typedef struct rig_docker_version_info {
  const char *version;         /**< "20.10.24" */
  const char *api_version;     /**< the server's maximum, "1.41" */
  const char *min_api_version; /**< "1.12" */
  const char *os;              /**< "linux" */
  const char *arch;            /**< "amd64" */
  const char *kernel_version;
  const char *platform_name; /**< "Docker Engine - Community", may be "" */
  int is_podman;
} rig_docker_version_info;

/** @param[out] out free with rig_docker_version_info_free() */
RIG_EXTERN int rig_docker_version(rig_docker_version_info **out, rig_docker *docker);
RIG_EXTERN void rig_docker_version_info_free(rig_docker_version_info *info);

/** The useful part of GET /info. */
typedef struct rig_docker_info {
  const char *name; /**< the engine host's name */
  const char *server_version;
  const char *operating_system; /**< "Debian GNU/Linux 12 (bookworm)" */
  const char *os_type;          /**< "linux" */
  const char *architecture;     /**< "x86_64" */
  const char *kernel_version;
  const char *storage_driver;
  const char *cgroup_driver;
  const char *cgroup_version; /**< "1", "2" or "" */
  const char *docker_root_dir;
  int ncpu;
  int64_t mem_total; /**< bytes */
  int64_t containers;
  int64_t containers_running;
  int64_t images;
  int rootless; /**< SecurityOptions names "rootless" */
} rig_docker_info;

/** @param[out] out free with rig_docker_info_free() */
RIG_EXTERN int rig_docker_info_get(rig_docker_info **out, rig_docker *docker);
RIG_EXTERN void rig_docker_info_free(rig_docker_info *info);

/**
 * Sends one request with the version prefix and the module's error mapping, for the
 * endpoints this header does not cover.
 * @param[out] out the response body on a 2xx status (free() it), or NULL to discard it
 * @param method "GET", "POST", "DELETE"...
 * @param path without the version, e.g. "/containers/abc/top?ps_args=aux"
 * @param json_body a request body sent as application/json, or NULL
 */
RIG_EXTERN int rig_docker_request(char **out, rig_docker *docker, const char *method,
                                  const char *path, const char *json_body);

/* ------------------------------------------------------------------------------------ */
/* Lists                                                                                  */

typedef struct rig_docker_list_options {
  unsigned int version;
  int all; /**< containers: include stopped ones; images: include intermediate layers */
  const rig_docker_filter *filters;
  size_t filter_count;
} rig_docker_list_options;

#define RIG_DOCKER_LIST_OPTIONS_VERSION 1
#define RIG_DOCKER_LIST_OPTIONS_INIT                                                               \
  {                                                                                                \
    RIG_DOCKER_LIST_OPTIONS_VERSION, 0, NULL, 0                                                    \
  }

/* ------------------------------------------------------------------------------------ */
/* Images                                                                                 */

typedef struct rig_docker_image {
  const char *id;               /**< "sha256:..." */
  const char *const *repo_tags; /**< NULL-terminated, may be empty */
  int64_t size;                 /**< bytes */
  const char *created;          /**< RFC 3339 (inspect) or unix seconds as text (list) */
  const rig_docker_label *labels;
  size_t label_count;
  const char *raw_json; /**< the engine's answer for this image */
} rig_docker_image;

typedef struct rig_docker_images {
  size_t count;
  const rig_docker_image *items;
} rig_docker_images;

/**
 * GET /images/{name}/json.
 * @param[out] out free with rig_docker_image_free()
 * @return RIG_OK, RIG_ENOTFOUND ("No such image: x")...
 */
RIG_EXTERN int rig_docker_image_inspect(rig_docker_image **out, rig_docker *docker,
                                        const char *ref);
RIG_EXTERN void rig_docker_image_free(rig_docker_image *image);

/** @param[out] out 1 when the engine has the image, 0 when not (RIG_OK either way) */
RIG_EXTERN int rig_docker_image_exists(int *out, rig_docker *docker, const char *ref);

/** GET /images/json. @param opts NULL: all tagged images. @param[out] out free with
 *  rig_docker_images_free() */
RIG_EXTERN int rig_docker_image_list(rig_docker_images **out, rig_docker *docker,
                                     const rig_docker_list_options *opts);
RIG_EXTERN void rig_docker_images_free(rig_docker_images *images);

/** One progress message of a pull or an import. */
typedef struct rig_docker_progress {
  const char *status;   /**< "Pulling fs layer", "Downloading", "Pull complete"... */
  const char *id;       /**< the layer, or NULL */
  const char *progress; /**< the engine's progress bar text, or NULL */
  int64_t current;      /**< bytes done, or 0 */
  int64_t total;        /**< bytes in all, or 0 */
  const char *raw_json; /**< the whole message */
} rig_docker_progress;

/** @return 0 to go on, non-zero to stop (the call then returns RIG_EINTERRUPTED). */
typedef int (*rig_docker_progress_cb)(void *userdata, const rig_docker_progress *progress);

typedef struct rig_docker_pull_options {
  unsigned int version;
  const char *platform;      /**< "linux/amd64", or NULL */
  const char *registry_auth; /**< the X-Registry-Auth header value (base64 JSON), or NULL */
  rig_docker_progress_cb on_progress;
  void *userdata;
  int64_t timeout_ms; /**< whole pull; 0: 600000 (layers can be large) */
  const volatile int *cancel;
  /** the pull fails when the engine sends nothing (no answer, no progress) for this long;
   *  0: 60000. An engine that cannot reach the registry says so within milliseconds to
   *  seconds (DNS failure, refused connection); this bounds the cases where it hangs. */
  int64_t stall_timeout_ms;
} rig_docker_pull_options;

#define RIG_DOCKER_PULL_OPTIONS_VERSION 1
#define RIG_DOCKER_PULL_OPTIONS_INIT                                                               \
  {                                                                                                \
    RIG_DOCKER_PULL_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, NULL, 0                            \
  }

/**
 * POST /images/create?fromImage=: pulls ref ("postgres:17", "ghcr.io/x/y@sha256:...";
 * no tag means "latest"), delivering the engine's progress messages to the callback.
 * @param opts NULL for defaults
 * @return RIG_OK; RIG_EIMAGE naming the image with the engine's reason when it cannot be
 *   pulled (no such image, access denied, registry unreachable: then the detail "reason" is
 *   "registry unreachable"); RIG_ETIMEOUT (timeout or stall); RIG_EINTERRUPTED (cancel or
 *   the callback stopped it).
 */
RIG_EXTERN int rig_docker_image_pull(rig_docker *docker, const char *ref,
                                     const rig_docker_pull_options *opts);

/**
 * POST /images/create?fromSrc=-: makes an image from a tar archive of a root filesystem
 * held in memory.
 * @param[out] out the new image's ID (free() it), or NULL
 * @param ref "repo:tag" to give the image, or NULL for an untagged one
 * @param changes Dockerfile instructions to apply ("CMD [\"/bin/sh\"]", "ENV A=b"), or NULL
 */
RIG_EXTERN int rig_docker_image_import(char **out, rig_docker *docker, const char *ref,
                                       const void *tar, size_t tar_len, const char *const *changes);

/** DELETE /images/{name}. @param force remove even when containers use it */
RIG_EXTERN int rig_docker_image_remove(rig_docker *docker, const char *ref, int force);

/* ------------------------------------------------------------------------------------ */
/* Containers: creation                                                                   */

/** A published port: container_port/protocol on host_ip:host_port. */
typedef struct rig_docker_port_binding {
  int container_port;
  const char *protocol; /**< "tcp" (NULL), "udp", "sctp" */
  const char *host_ip;  /**< "127.0.0.1"; NULL or "": every address of the host */
  int host_port;        /**< 0: a free port chosen by the engine */
  int host_port_end;    /**< a range host_port..host_port_end; 0: no range */
} rig_docker_port_binding;

typedef enum rig_docker_mount_type {
  RIG_DOCKER_MOUNT_BIND = 0,
  RIG_DOCKER_MOUNT_VOLUME = 1,
  RIG_DOCKER_MOUNT_TMPFS = 2
} rig_docker_mount_type;

/** One entry of HostConfig.Mounts. */
typedef struct rig_docker_mount {
  rig_docker_mount_type type;
  const char *source; /**< host path (bind), volume name (volume; NULL: anonymous) */
  const char *target; /**< path inside the container */
  int read_only;
  int volume_nocopy;            /**< volume: do not copy the image's files into a new volume */
  const char *bind_propagation; /**< bind: "rprivate"...; NULL: engine default */
  int64_t tmpfs_size;           /**< tmpfs: bytes; 0: unlimited */
  int tmpfs_mode;               /**< tmpfs: permission bits, e.g. 01777; 0: engine default */
} rig_docker_mount;

/** One entry of HostConfig.Ulimits. */
typedef struct rig_docker_ulimit {
  const char *name; /**< "nofile", "nproc"... */
  int64_t soft;
  int64_t hard;
} rig_docker_ulimit;

/** A network to attach the container to, with its aliases on that network. */
typedef struct rig_docker_endpoint {
  const char *network;        /**< name or ID */
  const char *const *aliases; /**< NULL-terminated, or NULL */
  const char *ipv4_address;   /**< a fixed address, or NULL */
} rig_docker_endpoint;

/**
 * Healthcheck: emitted when any member is set. Durations are in nanoseconds (as the
 * engine takes them); 0 means the image's or engine's default.
 */
typedef struct rig_docker_healthcheck {
  const char *const *test; /**< {"CMD", "pg_isready", NULL}, {"CMD-SHELL", "...", NULL},
                                {"NONE", NULL} to disable the image's; NULL: inherit */
  int64_t interval_ns;
  int64_t timeout_ns;
  int retries;
  int64_t start_period_ns;
} rig_docker_healthcheck;

/**
 * Everything POST /containers/create takes that a compose service needs. Zero means
 * "not set" (the image's or engine's default) for every member except where said, so
 * RIG_DOCKER_CONTAINER_SPEC_INIT plus the members you need is a valid spec.
 */
typedef struct rig_docker_container_spec {
  unsigned int version;
  const char *name;              /**< container name, or NULL for a generated one */
  const char *image;             /**< required */
  const char *platform;          /**< "linux/amd64", or NULL */
  const char *const *cmd;        /**< NULL: the image's CMD */
  const char *const *entrypoint; /**< NULL: the image's; {"", NULL} clears it */
  const char *const *env;        /**< "KEY=value" strings */
  const rig_docker_label *labels;
  size_t label_count;
  const char *const *expose; /**< extra ExposedPorts, "8080" or "8080/udp" (bound ports
                                  are exposed without being listed here) */
  const char *hostname;
  const char *domainname;
  const char *working_dir;
  const char *user; /**< "1000:1000", "postgres" */
  int tty;
  int open_stdin;
  const char *stop_signal; /**< "SIGINT" */
  int stop_timeout_set;    /**< 1: use stop_timeout_s (0 is a valid timeout) */
  int stop_timeout_s;
  rig_docker_healthcheck healthcheck;

  /* HostConfig */
  const rig_docker_port_binding *ports;
  size_t port_count;
  const char *const *binds; /**< "host-path-or-volume:/target[:ro,z...]" */
  const rig_docker_mount *mounts;
  size_t mount_count;
  const char *network_mode;   /**< "bridge", "host", "none", "container:x", a network */
  const char *restart_policy; /**< "no", "always", "on-failure", "unless-stopped" */
  int restart_max_retries;    /**< with "on-failure" */
  int init;                   /**< 1: run an init as PID 1; -1: explicitly not; 0: default */
  int privileged;
  int read_only_rootfs;
  const char *const *cap_add;
  const char *const *cap_drop;
  const char *const *security_opt;
  const rig_docker_ulimit *ulimits;
  size_t ulimit_count;
  int64_t shm_size;               /**< bytes */
  int64_t memory;                 /**< bytes */
  int64_t nano_cpus;              /**< 1e9 = one CPU */
  const char *const *tmpfs;       /**< "/path" or "/path:size=64m,mode=1777" */
  const char *const *extra_hosts; /**< "host:ip" (also "host:host-gateway") */
  int auto_remove;

  /* NetworkingConfig: the first endpoint goes into create; engines before API 1.44 take
   * one only, so the others are connected by rig_docker_container_create() itself
   * before it returns. */
  const rig_docker_endpoint *endpoints;
  size_t endpoint_count;

  /**
   * A JSON object merged into the create body for what this struct does not model:
   * its members replace the body's, except "HostConfig", whose members are merged one
   * level down. NULL for none. Malformed JSON is RIG_EINVAL.
   */
  const char *extra_json;
} rig_docker_container_spec;

#define RIG_DOCKER_CONTAINER_SPEC_VERSION 1
/* Designated, so that -Wextra does not warn about the members left zero. */
#define RIG_DOCKER_CONTAINER_SPEC_INIT                                                             \
  {                                                                                                \
    .version = RIG_DOCKER_CONTAINER_SPEC_VERSION                                                   \
  }

/**
 * POST /containers/create (?name=), then connects the extra endpoints.
 * @param[out] out the new container's ID (free() it)
 * @return RIG_OK; RIG_EIMAGE when the image is missing ("No such image: x", the image is
 *   never pulled implicitly); RIG_ECONFLICT when the name is taken; RIG_ENOTFOUND for a
 *   missing network; RIG_EINVAL for a spec without image or with malformed extra_json;
 *   RIG_EENGINE for a spec the engine refuses (its message says why). A container created
 *   before an extra network failed to connect is removed again.
 */
RIG_EXTERN int rig_docker_container_create(char **out, rig_docker *docker,
                                           const rig_docker_container_spec *spec);

/* ------------------------------------------------------------------------------------ */
/* Containers: life cycle                                                                 */

/** POST /containers/{id}/start. Starting a running container is RIG_OK. */
RIG_EXTERN int rig_docker_container_start(rig_docker *docker, const char *id);

/**
 * POST /containers/{id}/stop: SIGTERM (or the StopSignal), then SIGKILL after the timeout.
 * Stopping a stopped container is RIG_OK.
 * @param timeout_s seconds before SIGKILL; -1: the container's StopTimeout (default 10)
 */
RIG_EXTERN int rig_docker_container_stop(rig_docker *docker, const char *id, int timeout_s);

/** POST /containers/{id}/restart. @param timeout_s as for stop */
RIG_EXTERN int rig_docker_container_restart(rig_docker *docker, const char *id, int timeout_s);

/**
 * POST /containers/{id}/kill.
 * @param signal "SIGKILL" (NULL), "SIGTERM", "HUP", "9"...
 * @return RIG_OK; RIG_ECONFLICT when the container is not running
 */
RIG_EXTERN int rig_docker_container_kill(rig_docker *docker, const char *id, const char *signal);

#define RIG_DOCKER_REMOVE_FORCE 1u   /**< kill it first when running */
#define RIG_DOCKER_REMOVE_VOLUMES 2u /**< also remove its anonymous volumes */

/**
 * DELETE /containers/{id}.
 * @param flags RIG_DOCKER_REMOVE_FORCE | RIG_DOCKER_REMOVE_VOLUMES
 * @return RIG_OK; RIG_ENOTFOUND when there is no such container (callers cleaning up may
 *   treat it as done); RIG_ECONFLICT when it runs and force is not set
 */
RIG_EXTERN int rig_docker_container_remove(rig_docker *docker, const char *id, unsigned flags);

typedef enum rig_docker_wait_condition {
  RIG_DOCKER_WAIT_NOT_RUNNING = 0, /**< returns at once when it is not running */
  RIG_DOCKER_WAIT_NEXT_EXIT = 1,   /**< waits for the next exit */
  RIG_DOCKER_WAIT_REMOVED = 2      /**< waits until it is removed */
} rig_docker_wait_condition;

/**
 * POST /containers/{id}/wait?condition=. Occupies the connection until the condition holds.
 * @param[out] out the exit code (StatusCode), or NULL
 * @param timeout_ms 0 or -1: wait forever
 * @return RIG_OK, RIG_ETIMEOUT, RIG_ENOTFOUND
 */
RIG_EXTERN int rig_docker_container_wait(int64_t *out, rig_docker *docker, const char *id,
                                         rig_docker_wait_condition condition, int64_t timeout_ms);

/* ------------------------------------------------------------------------------------ */
/* Containers: inspection                                                                 */

/** A published port as inspect reports it. */
typedef struct rig_docker_port_mapping {
  int container_port;
  const char *protocol; /**< "tcp", "udp", "sctp" */
  const char *host_ip;  /**< "127.0.0.1", "0.0.0.0", "::" */
  int host_port;
} rig_docker_port_mapping;

/** A network the container is attached to. */
typedef struct rig_docker_attachment {
  const char *network; /**< name */
  const char *network_id;
  const char *ip_address;     /**< may be "" */
  const char *const *aliases; /**< NULL-terminated */
} rig_docker_attachment;

/** What GET /containers/{id}/json says, in the parts the stack and the waits need. */
typedef struct rig_docker_container {
  const char *id;
  const char *name;  /**< without the leading '/' */
  const char *image; /**< as asked for at create (Config.Image) */
  const char *image_id;
  const char *created; /**< RFC 3339 */
  /* State */
  const char *status; /**< "created", "running", "paused", "restarting", "removing",
                           "exited", "dead" */
  int running;
  int paused;
  int restarting;
  int oom_killed;
  int dead;
  int pid;
  int exit_code;
  const char *error; /**< the engine's error for this container, "" when none */
  int restart_count;
  const char *started_at; /**< RFC 3339; "0001-01-01T00:00:00Z" when never */
  const char *finished_at;
  const char *health_status; /**< "starting", "healthy", "unhealthy"; NULL: no healthcheck */
  int health_failing_streak;
  const char *health_last_output; /**< output of the last probe, or NULL */
  int tty;
  /* NetworkSettings.Ports, one entry per host binding (unpublished ports are left out) */
  const rig_docker_port_mapping *ports;
  size_t port_count;
  const rig_docker_attachment *networks;
  size_t network_count;
  const rig_docker_label *labels;
  size_t label_count;
  const char *raw_json; /**< the engine's whole answer, for logs and diagnostics */
} rig_docker_container;

/**
 * @param[out] out free with rig_docker_container_free()
 * @param id ID, ID prefix or name
 * @return RIG_OK, RIG_ENOTFOUND ("No such container: x")
 */
RIG_EXTERN int rig_docker_container_inspect(rig_docker_container **out, rig_docker *docker,
                                            const char *id);
RIG_EXTERN void rig_docker_container_free(rig_docker_container *container);

/** @return the value of a label, or NULL (borrowed from container). */
RIG_EXTERN const char *rig_docker_container_label(const rig_docker_container *container,
                                                  const char *key);

/**
 * @param protocol "tcp" when NULL
 * @return the first host binding of container_port/protocol (IPv4 first), or NULL.
 */
RIG_EXTERN const rig_docker_port_mapping *
rig_docker_container_port(const rig_docker_container *container, int container_port,
                          const char *protocol);

/** One container as GET /containers/json lists it. */
typedef struct rig_docker_container_summary {
  const char *id;
  const char *name; /**< the first name, without '/' */
  const char *image;
  const char *state;  /**< "running", "exited"... */
  const char *status; /**< "Up 3 minutes (healthy)" */
  int64_t created;    /**< unix seconds */
  const rig_docker_label *labels;
  size_t label_count;
} rig_docker_container_summary;

typedef struct rig_docker_containers {
  size_t count;
  const rig_docker_container_summary *items;
} rig_docker_containers;

/**
 * GET /containers/json.
 * @param opts NULL: running containers only, no filter
 * @param[out] out free with rig_docker_containers_free()
 */
RIG_EXTERN int rig_docker_container_list(rig_docker_containers **out, rig_docker *docker,
                                         const rig_docker_list_options *opts);
RIG_EXTERN void rig_docker_containers_free(rig_docker_containers *containers);

/** @return the value of a label of a summary, or NULL. */
RIG_EXTERN const char *rig_docker_summary_label(const rig_docker_container_summary *summary,
                                                const char *key);

/* ------------------------------------------------------------------------------------ */
/* Output streams: logs and exec                                                          */

typedef enum rig_docker_stream {
  RIG_DOCKER_STDIN = 0,
  RIG_DOCKER_STDOUT = 1,
  RIG_DOCKER_STDERR = 2,
  RIG_DOCKER_SYSTEM = 3 /**< an error the engine reports inside the stream */
} rig_docker_stream;

/**
 * Receives output. The concatenation of the pieces of one stream is exactly what the
 * process wrote (any bytes, any line length); a piece may end in the middle of a line
 * unless whole lines were asked for. With a TTY everything arrives as RIG_DOCKER_STDOUT.
 * @return 0 to go on, non-zero to stop (the call then returns RIG_OK)
 */
typedef int (*rig_docker_output_cb)(void *userdata, rig_docker_stream stream, const char *data,
                                    size_t len);

typedef struct rig_docker_logs_options {
  unsigned int version;
  int no_stdout;    /**< 1: leave stdout out */
  int no_stderr;    /**< 1: leave stderr out */
  int follow;       /**< keep streaming until the container stops or cb/cancel stops it */
  int timestamps;   /**< prefix each line with an RFC 3339 nano timestamp and a space */
  int64_t tail;     /**< only the last N lines; 0 or -1: all (use tail_zero for none) */
  int tail_zero;    /**< 1: no past lines at all (with follow: only new output) */
  int64_t since_ns; /**< only lines at or after this wall-clock time; 0: from the start */
  int64_t until_ns; /**< only lines before this time; 0: no limit */
  int whole_lines;  /**< 1: one callback per complete line, '\n' included (a last
                         unterminated line comes at the end) */
  rig_docker_output_cb on_output; /**< required */
  void *userdata;
  const volatile int *cancel; /**< stops a follow when it points to non-zero */
  int64_t timeout_ms;         /**< 0: none with follow, the connection's default without */
} rig_docker_logs_options;

#define RIG_DOCKER_LOGS_OPTIONS_VERSION 1
#define RIG_DOCKER_LOGS_OPTIONS_INIT                                                               \
  {                                                                                                \
    RIG_DOCKER_LOGS_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, 0                \
  }

/**
 * GET /containers/{id}/logs, demultiplexed (no TTY) or raw (TTY: everything is stdout).
 * The bytes are those the engine's log driver kept: the default json-file driver replaces
 * bytes that are not UTF-8, and the "local" driver of Docker 20.10 drops the newline that
 * ends a line longer than 16 KiB. stdout and stderr are copied by the engine separately,
 * so their relative order (and what tail counts across both) is not exact.
 * @return RIG_OK when the log ended or the callback stopped it; RIG_EINTERRUPTED when
 *   cancel stopped it; RIG_ENOTFOUND
 */
RIG_EXTERN int rig_docker_container_logs(rig_docker *docker, const char *id,
                                         const rig_docker_logs_options *opts);

typedef struct rig_docker_exec_options {
  unsigned int version;
  const char *const *cmd; /**< required, e.g. {"pg_isready", "-U", "postgres", NULL} */
  const char *const *env; /**< "KEY=value", or NULL */
  const char *user;
  const char *working_dir;
  int tty;
  int privileged;
  /** also stream the output here while it is captured; NULL: capture only */
  rig_docker_output_cb on_output;
  void *userdata;
  int64_t timeout_ms; /**< 0: the connection's default; -1: none */
  const volatile int *cancel;
} rig_docker_exec_options;

#define RIG_DOCKER_EXEC_OPTIONS_VERSION 1
#define RIG_DOCKER_EXEC_OPTIONS_INIT                                                               \
  {                                                                                                \
    RIG_DOCKER_EXEC_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL             \
  }

typedef struct rig_docker_exec_result {
  int64_t exit_code;
  char *stdout_data; /**< NUL-terminated (may also hold NULs: use the length) */
  size_t stdout_len;
  char *stderr_data; /**< empty with a TTY */
  size_t stderr_len;
} rig_docker_exec_result;

/**
 * Runs a command in a running container (exec create, start, inspect) and captures its
 * stdout and stderr separately and its exit code. A non-zero exit code is RIG_OK: look
 * at the result. When opts->on_output stops the output early, the result holds what came
 * so far and exit_code is -1 if the command still runs (it is not killed).
 * @param[out] out free with rig_docker_exec_result_free()
 * @return RIG_OK; RIG_ECONFLICT when the container is not running; RIG_ENOTFOUND;
 *   RIG_ETIMEOUT (the command may still run in the container)
 */
RIG_EXTERN int rig_docker_exec(rig_docker_exec_result **out, rig_docker *docker,
                               const char *container, const rig_docker_exec_options *opts);
RIG_EXTERN void rig_docker_exec_result_free(rig_docker_exec_result *result);

/** POST /containers/{id}/exec. Only cmd, env, user, working_dir, tty, privileged of opts
 *  are used. @param[out] out the exec ID (free() it) */
RIG_EXTERN int rig_docker_exec_create(char **out, rig_docker *docker, const char *container,
                                      const rig_docker_exec_options *opts);

/** POST /exec/{id}/start, attached: delivers the output to opts->on_output until the
 *  command ends. @param tty as given to rig_docker_exec_create() */
RIG_EXTERN int rig_docker_exec_start(rig_docker *docker, const char *exec_id, int tty,
                                     const rig_docker_exec_options *opts);

/**
 * GET /exec/{id}/json.
 * @param[out] out_exit_code the exit code (-1 while running), or NULL
 * @param[out] out_running 1 while it runs, or NULL
 */
RIG_EXTERN int rig_docker_exec_inspect(int64_t *out_exit_code, int *out_running, rig_docker *docker,
                                       const char *exec_id);

/* ------------------------------------------------------------------------------------ */
/* Networks                                                                               */

typedef struct rig_docker_network_spec {
  unsigned int version;
  const char *name;   /**< required */
  const char *driver; /**< NULL: "bridge" */
  const rig_docker_label *labels;
  size_t label_count;
  const rig_docker_label *driver_options;
  size_t driver_option_count;
  int internal; /**< no route to the outside */
  int attachable;
  int enable_ipv6;
} rig_docker_network_spec;

#define RIG_DOCKER_NETWORK_SPEC_VERSION 1
#define RIG_DOCKER_NETWORK_SPEC_INIT                                                               \
  {                                                                                                \
    .version = RIG_DOCKER_NETWORK_SPEC_VERSION                                                     \
  }

typedef struct rig_docker_network {
  const char *id;
  const char *name;
  const char *driver;
  const char *scope;
  int internal;
  const rig_docker_label *labels;
  size_t label_count;
} rig_docker_network;

typedef struct rig_docker_networks {
  size_t count;
  const rig_docker_network *items;
} rig_docker_networks;

/**
 * POST /networks/create (CheckDuplicate set).
 * @param[out] out the network's ID (free() it), or NULL
 * @return RIG_OK; RIG_ECONFLICT when a network of that name exists
 */
RIG_EXTERN int rig_docker_network_create(char **out, rig_docker *docker,
                                         const rig_docker_network_spec *spec);

/** DELETE /networks/{id}. @return RIG_OK, RIG_ENOTFOUND, RIG_ECONFLICT (still in use) */
RIG_EXTERN int rig_docker_network_remove(rig_docker *docker, const char *name_or_id);

/** GET /networks/{id}. @param[out] out free with rig_docker_network_free() */
RIG_EXTERN int rig_docker_network_inspect(rig_docker_network **out, rig_docker *docker,
                                          const char *name_or_id);
RIG_EXTERN void rig_docker_network_free(rig_docker_network *network);

/** GET /networks (the "all" member of opts is ignored). @param[out] out free with
 *  rig_docker_networks_free() */
RIG_EXTERN int rig_docker_network_list(rig_docker_networks **out, rig_docker *docker,
                                       const rig_docker_list_options *opts);
RIG_EXTERN void rig_docker_networks_free(rig_docker_networks *networks);

/**
 * POST /networks/{id}/connect.
 * @param aliases NULL-terminated names the container answers to on that network, or NULL
 */
RIG_EXTERN int rig_docker_network_connect(rig_docker *docker, const char *network,
                                          const char *container, const char *const *aliases);

/** POST /networks/{id}/disconnect. */
RIG_EXTERN int rig_docker_network_disconnect(rig_docker *docker, const char *network,
                                             const char *container, int force);

/* ------------------------------------------------------------------------------------ */
/* Volumes                                                                                */

typedef struct rig_docker_volume_spec {
  unsigned int version;
  const char *name;   /**< NULL: a generated name */
  const char *driver; /**< NULL: "local" */
  const rig_docker_label *labels;
  size_t label_count;
  const rig_docker_label *driver_options;
  size_t driver_option_count;
} rig_docker_volume_spec;

#define RIG_DOCKER_VOLUME_SPEC_VERSION 1
#define RIG_DOCKER_VOLUME_SPEC_INIT                                                                \
  {                                                                                                \
    .version = RIG_DOCKER_VOLUME_SPEC_VERSION                                                      \
  }

typedef struct rig_docker_volume {
  const char *name;
  const char *driver;
  const char *mountpoint;
  const char *created_at;
  const rig_docker_label *labels;
  size_t label_count;
} rig_docker_volume;

typedef struct rig_docker_volumes {
  size_t count;
  const rig_docker_volume *items;
} rig_docker_volumes;

/**
 * POST /volumes/create. Creating a volume that exists returns it unchanged (the engine's
 * behaviour).
 * @param[out] out the volume's name (free() it), or NULL
 */
RIG_EXTERN int rig_docker_volume_create(char **out, rig_docker *docker,
                                        const rig_docker_volume_spec *spec);

/** DELETE /volumes/{name}. @return RIG_OK, RIG_ENOTFOUND, RIG_ECONFLICT (in use) */
RIG_EXTERN int rig_docker_volume_remove(rig_docker *docker, const char *name, int force);

/** GET /volumes/{name}. @param[out] out free with rig_docker_volume_free() */
RIG_EXTERN int rig_docker_volume_inspect(rig_docker_volume **out, rig_docker *docker,
                                         const char *name);
RIG_EXTERN void rig_docker_volume_free(rig_docker_volume *volume);

/** GET /volumes. @param[out] out free with rig_docker_volumes_free() */
RIG_EXTERN int rig_docker_volume_list(rig_docker_volumes **out, rig_docker *docker,
                                      const rig_docker_list_options *opts);
RIG_EXTERN void rig_docker_volumes_free(rig_docker_volumes *volumes);

/* ------------------------------------------------------------------------------------ */
/* Events                                                                                 */

/** One message of GET /events. */
typedef struct rig_docker_event {
  const char *type;                   /**< "container", "network", "volume", "image"... */
  const char *action;                 /**< "start", "die", "oom", "health_status: healthy"... */
  const char *actor_id;               /**< the container's (network's...) ID */
  const rig_docker_label *attributes; /**< name, image, exitCode and the labels */
  size_t attribute_count;
  int64_t time_ns; /**< wall clock, nanoseconds since the epoch */
  const char *raw_json;
} rig_docker_event;

/** @return 0 to go on, non-zero to stop the stream (the call then returns RIG_OK). */
typedef int (*rig_docker_event_cb)(void *userdata, const rig_docker_event *event);

/** @return the value of an attribute ("name", "exitCode", a label), or NULL. */
RIG_EXTERN const char *rig_docker_event_attribute(const rig_docker_event *event, const char *key);

typedef struct rig_docker_events_options {
  unsigned int version;
  /** e.g. {"type", "container"}, {"label", "dev.stackrig.session=abc"}, {"event", "die"} */
  const rig_docker_filter *filters;
  size_t filter_count;
  int64_t since_ns;             /**< replay events from this wall-clock time; 0: only new ones */
  int64_t until_ns;             /**< end the stream at this time; 0: never */
  rig_docker_event_cb on_event; /**< required */
  void *userdata;
  const volatile int *cancel;
  int64_t timeout_ms; /**< 0: none */
} rig_docker_events_options;

#define RIG_DOCKER_EVENTS_OPTIONS_VERSION 1
#define RIG_DOCKER_EVENTS_OPTIONS_INIT                                                             \
  {                                                                                                \
    RIG_DOCKER_EVENTS_OPTIONS_VERSION, NULL, 0, 0, 0, NULL, NULL, NULL, 0                          \
  }

/**
 * Streams GET /events to the callback until it returns non-zero, cancel is set, until_ns
 * passes or the timeout ends it. Occupies the connection: use rig_docker_clone().
 * @return RIG_OK when the callback or until_ns ended it; RIG_EINTERRUPTED (cancel);
 *   RIG_ETIMEOUT
 */
RIG_EXTERN int rig_docker_events(rig_docker *docker, const rig_docker_events_options *opts);

RIG_END_DECLS

#endif
