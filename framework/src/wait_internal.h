/*
 * wait_internal.h - what the files of the wait module share: the strategy tree
 * (wait_spec.c parses and describes it), the back-off schedule and the probes that make one
 * attempt each (wait_probe.c), used by the waiting loop (wait.c).
 */
#ifndef RIG_WAIT_INTERNAL_H
#define RIG_WAIT_INTERNAL_H

#include <regex.h>
#include <stdint.h>

#include "stackrig/wait.h"

/* An accepted HTTP status range (200-200, 200-299 for "2xx"). */
typedef struct rig__status_range {
  int low;
  int high;
} rig__status_range;

struct rig_wait_spec {
  rig_wait_kind kind;
  char *builtin;      /* the built-in probe this node expands, or NULL */
  int64_t timeout_ms; /* this node's own timeout; 0: none */
  int leaf_index;     /* leaves: position among the tree's leaves (wait.c numbers them) */

  int port; /* tcp, http, sql: the container port */

  /* http */
  char *method;
  char *path;
  rig__status_range *statuses;
  size_t status_count;
  char *body_pattern; /* regex the body must match, or NULL */
  regex_t body_regex;
  char *header_name;    /* a header that must be present, or NULL */
  char *header_pattern; /* regex its value must match, or NULL */
  regex_t header_regex;
  char *request_body;
  char *content_type;

  /* log */
  char *pattern;
  regex_t regex;
  int count;

  /* sql (also the postgres built-in) */
  char *user;
  char *password;
  char *database;
  char *query;

  /* exec */
  char **command; /* NULL-terminated argv */
  char *exec_user;

  /* all / any */
  rig_wait_spec **children;
  size_t child_count;
};

/* rig_wait_spec_describe() with built-ins shown as the strategies they are made of; free()
 * it. For tests and debug output. */
char *rig__wait_spec_describe_expanded(const rig_wait_spec *spec);

/* The next delay of a polled probe after `attempt` failed attempts (0-based): 5 ms
 * doubling, capped at RIG__BACKOFF_MAX_MS. */
#define RIG__BACKOFF_FIRST_MS 5
#define RIG__BACKOFF_MAX_MS 100
int64_t rig__wait_backoff_ms(int attempt);

/* Reads a duration value (a string such as "30s"); sets an error naming place and key. */
int rig__wait_parse_duration(int64_t *out_ms, const rig_compose_value *value, const char *service,
                             const char *key);

/* How long a tcp probe watches a fresh connection for being closed at once: a published
 * port's userland proxy accepts every connection and closes it when the container's port
 * does not answer. */
#define RIG__TCP_SETTLE_MS 50

/* One attempt's outcome: 1 ready, 0 not yet (why: *detail, free() it), -1 never will be
 * (a bad spec: the error is set). */
typedef struct rig__probe_target {
  const char *host;      /* "127.0.0.1" */
  int host_port;         /* the published port; 0 when the probe needs none */
  const char *container; /* for exec */
  const char *service;
} rig__probe_target;

typedef struct rig_docker rig_docker;
typedef struct rig_http rig_http;

int rig__probe_tcp(char **detail, const rig__probe_target *target, int64_t timeout_ms);
/* client: a keep-alive client for host:port, made on first use (free with rig_http_free) */
int rig__probe_http(char **detail, rig_http **client, const rig_wait_spec *spec,
                    const rig__probe_target *target, int64_t timeout_ms);
int rig__probe_sql(char **detail, const rig_wait_spec *spec, const rig__probe_target *target,
                   int64_t timeout_ms);
int rig__probe_exec(char **detail, rig_docker *docker, const rig_wait_spec *spec,
                    const rig__probe_target *target, int64_t timeout_ms);

/* Parses an RFC 3339 timestamp ("2026-11-27T22:30:49.421427154Z") into ns since the epoch;
 * 0 when it does not parse. */
int64_t rig__wait_parse_time(const char *text);

#endif
