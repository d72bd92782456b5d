/*
 * compose_internal.h - what the parts of the compose loader share: an arena that owns
 * every node and every string of one load, the YAML node tree with positions, the loader
 * context (path for messages, warnings, the interpolation environment) and the stages:
 * YAML -> tree (compose_yaml.c), interpolation (compose_interp.c), normalization and merge
 * (compose_merge.c), tree -> model (compose_project.c, compose_service.c, compose_mounts.c,
 * compose_model.c, compose_syntax.c), model -> JSON/YAML (compose_emit.c), orchestration
 * (compose_load.c); compose_node.c holds the arena, nodes and error reporting.
 */
#ifndef RIG_COMPOSE_INTERNAL_H
#define RIG_COMPOSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stackrig/compose.h"
#include "stackrig/config.h"
#include "stackrig/error.h"
#include "util.h"

/* ---- arena: many small allocations freed at once ---- */

typedef struct rig__carena_chunk rig__carena_chunk;
typedef struct rig__carena {
  rig__carena_chunk *head;
} rig__carena;

void *rig__carena_alloc(rig__carena *arena, size_t size); /* zeroed, aborts on OOM */
char *rig__carena_strdup(rig__carena *arena, const char *s);
char *rig__carena_strndup(rig__carena *arena, const char *s, size_t n);
char *rig__carena_sprintf(rig__carena *arena, const char *fmt, ...) RIG_PRINTF(2, 3);
void rig__carena_dispose(rig__carena *arena);

/* ---- growing pointer vector (malloc'd, for building arrays of unknown size) ---- */

typedef struct rig__vec {
  void **items;
  size_t count;
  size_t cap;
} rig__vec;

void rig__vec_push(rig__vec *vec, void *item);
/* Copies the items into the arena with a NULL after the last one; frees the vector. */
void **rig__vec_finish(rig__vec *vec, rig__carena *arena);
void rig__vec_dispose(rig__vec *vec);

/* ---- the YAML node tree ---- */

typedef enum rig__cnode_kind { RIG__CN_SCALAR = 0, RIG__CN_SEQ, RIG__CN_MAP } rig__cnode_kind;

enum {
  RIG__TAG_NONE = 0,
  RIG__TAG_RESET,    /* !reset: the override file removes the value */
  RIG__TAG_OVERRIDE, /* !override: the override file replaces instead of merging */
  RIG__TAG_STR,      /* !!str: always a string */
  RIG__TAG_OTHER
};

typedef struct rig__cnode rig__cnode;
struct rig__cnode {
  rig__cnode_kind kind;
  unsigned char plain;        /* a plain (unquoted) scalar: typed by YAML's core schema */
  unsigned char interpolated; /* a substitution changed it: always a string */
  unsigned char tag;
  const char *text; /* scalar text (NUL-terminated) */
  size_t len;
  const char *file;    /* display name of the file */
  int line;            /* 1-based */
  int col;             /* 1-based */
  size_t count;        /* SEQ: items; MAP: pairs */
  size_t cap;          /* allocated slots of the arrays below */
  rig__cnode **items;  /* SEQ items */
  rig__cnode **keys;   /* MAP keys (scalars) */
  rig__cnode **values; /* MAP values */
};

/* A null scalar: plain "", "~", "null", "Null", "NULL". */
int rig__cnode_is_null(const rig__cnode *node);
/* The value of key in a MAP, or NULL. */
rig__cnode *rig__cnode_get(const rig__cnode *map, const char *key);
/* Index of key in a MAP, or -1. */
long rig__cnode_index(const rig__cnode *map, const char *key);
rig__cnode *rig__cnode_new(rig__carena *arena, rig__cnode_kind kind, const rig__cnode *pos);
rig__cnode *rig__cnode_scalar(rig__carena *arena, const char *text, const rig__cnode *pos);
/* Appends to a SEQ or MAP node built by the loader (grows the arrays in the arena). */
void rig__cnode_append(rig__carena *arena, rig__cnode *node, rig__cnode *key, rig__cnode *value);
/* A shallow copy (children shared). */
rig__cnode *rig__cnode_copy(rig__carena *arena, const rig__cnode *node);
const char *rig__cnode_kind_name(const rig__cnode *node);

/*
 * Parses YAML text into a tree: anchors and aliases resolved (aliased subtrees are shared),
 * `<<` merge keys applied, duplicate keys refused. A file with no document gives *out NULL.
 * Errors are RIG_EPARSE with "file:line:col: message".
 */
int rig__compose_parse_yaml(rig__cnode **out, rig__carena *arena, const char *text, size_t len,
                            const char *display_name);

/* ---- the loader context ---- */

typedef struct rig__compose_ctx {
  rig__carena *tmp;           /* nodes; freed after the load */
  rig__carena *out;           /* the model; owned by the project */
  const rig_env *process_env; /* the caller's environment (never NULL) */
  const rig_env *dotenv;      /* the .env / --env-file pairs (may be NULL) */
  const char *project_dir;
  const char *home;
  rig__vec warnings; /* char * in the out arena */
  rig_buf path;      /* "services.web.ports" while walking the tree */
  long node_budget;  /* guards against alias expansion bombs */
} rig__compose_ctx;

/* Looks a variable up as compose does: the environment, then the .env files. */
const char *rig__compose_lookup(const rig__compose_ctx *ctx, const char *name);

/* Sets the last error to "file:line:col: <path>: message" (path omitted when empty). */
int rig__compose_error(rig__compose_ctx *ctx, const rig__cnode *node, int code, const char *fmt,
                       ...) RIG_PRINTF(4, 5);
/* As rig__compose_error, without the path. */
int rig__compose_error_at(const rig__cnode *node, int code, const char *fmt, ...) RIG_PRINTF(3, 4);
void rig__compose_warn(rig__compose_ctx *ctx, const rig__cnode *node, const char *fmt, ...)
    RIG_PRINTF(3, 4);

/* Path of the node being read, for messages. push returns the length to pop back to. */
size_t rig__compose_path_push(rig__compose_ctx *ctx, const char *segment);
size_t rig__compose_path_push_index(rig__compose_ctx *ctx, size_t index);
void rig__compose_path_pop(rig__compose_ctx *ctx, size_t mark);
const char *rig__compose_path(const rig__compose_ctx *ctx);

/* ---- interpolation (compose_interp.c) ---- */

typedef const char *(*rig__lookup_fn)(void *data, const char *name);

/*
 * Substitutes $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a}
 * (nested in the words) and $$ in text. Unset variables without a default become "" and
 * are reported through unset (may be NULL). Errors: RIG_EPARSE for a bad template with
 * *error_message set (malloc'd), RIG_EINVAL for a required variable.
 * @param[out] out malloc'd result
 * @param[out] changed 1 when a substitution took place
 */
int rig__interpolate(char **out, int *changed, char **error_message, const char *text,
                     rig__lookup_fn lookup, void *lookup_data,
                     void (*unset)(void *data, const char *name), void *unset_data);

/* Returns a new tree with every scalar value (not keys) interpolated. */
int rig__compose_interpolate_tree(rig__cnode **out, rig__compose_ctx *ctx, const rig__cnode *root);

/* ---- normalization and merge (compose_merge.c) ---- */

/* Rewrites list forms that compose merges by key into maps (environment, labels...). */
int rig__compose_normalize(rig__compose_ctx *ctx, rig__cnode *root);
/* Merges override into base following the Compose Specification; returns the result. */
int rig__compose_merge(rig__cnode **out, rig__compose_ctx *ctx, rig__cnode *base,
                       rig__cnode *override);

/* ---- short syntaxes and scalar values (compose_syntax.c) ---- */

/* Levenshtein distance, capped (returns cap+1 when larger). */
size_t rig__edit_distance(const char *a, const char *b, size_t cap);
/* The closest candidate within a small distance, or NULL. */
const char *rig__did_you_mean(const char *word, const char *const *candidates);

int rig__parse_bytes(int64_t *out, const char *text); /* "64m", "1gb", "1024" */
/* Splits a command line as a POSIX shell would (quotes, backslashes), without expansions. */
int rig__shell_split(rig__vec *out_words, const char *text, char **error_message);

typedef struct rig__port_spec {
  const char *host_ip;
  int published_start, published_end;
  int target;
  const char *protocol;
} rig__port_spec;
/* Parses "[ip:][host[-end]:]container[-end][/proto]" into one spec per container port. */
int rig__parse_port_short(rig__port_spec **out, size_t *out_count, const char *text,
                          char **error_message);
/* Parses "80", "8000-8010", "80/udp" (expose). */
int rig__parse_port_range(int *start, int *end, const char *text);

/* A normalized absolute path: "." and ".." folded, no trailing slash. */
char *rig__path_join_clean(rig__carena *arena, const char *base, const char *path);
char *rig__path_expand_home(rig__carena *arena, const char *path, const char *home);

/* ---- tree -> model (compose_model.c, compose_service.c) ---- */

/* The scalar text of node, or an error naming the path when it is not a scalar. */
int rig__compose_expect_scalar(rig__compose_ctx *ctx, const rig__cnode *node, const char **out);
int rig__compose_expect_string(rig__compose_ctx *ctx, const rig__cnode *node, const char **out);
int rig__compose_expect_map(rig__compose_ctx *ctx, const rig__cnode *node);
int rig__compose_expect_seq(rig__compose_ctx *ctx, const rig__cnode *node);
int rig__compose_get_bool(rig__compose_ctx *ctx, const rig__cnode *node, int *out);
int rig__compose_get_int(rig__compose_ctx *ctx, const rig__cnode *node, int64_t *out);
int rig__compose_get_duration(rig__compose_ctx *ctx, const rig__cnode *node, int64_t *out_ns);
int rig__compose_get_bytes(rig__compose_ctx *ctx, const rig__cnode *node, int64_t *out);
/* A string or a list of strings, as a NULL-terminated list. */
int rig__compose_get_strings(rig__compose_ctx *ctx, const rig__cnode *node, int allow_scalar,
                             rig_compose_strings *out);
/* A map of scalars (null allowed when allow_null) as a kv list. */
int rig__compose_get_kv(rig__compose_ctx *ctx, const rig__cnode *node, int allow_null,
                        const rig_compose_kv **out, size_t *out_count);
/* Refuses keys outside known[]; names keys of unsupported[] as not supported yet; x-* pass. */
int rig__compose_check_keys(rig__compose_ctx *ctx, const rig__cnode *map, const char *const *known,
                            const char *const *unsupported);
/* The next step to suggest for a key stackrig does not support, or NULL. */
const char *rig__compose_unsupported_hint(const char *key);
/* Builds a generic value (extensions). */
int rig__compose_value(rig__compose_ctx *ctx, const rig__cnode *node, rig_compose_value *out);
/* The x-* keys of a map as a MAP value. */
int rig__compose_extensions(rig__compose_ctx *ctx, const rig__cnode *map,
                            const rig_compose_value **out);

/* map[key] as a boolean / a string (NULL for null), when present; the path names the key. */
int rig__compose_sub_bool(rig__compose_ctx *ctx, const rig__cnode *map, const char *key, int *out);
int rig__compose_sub_string(rig__compose_ctx *ctx, const rig__cnode *map, const char *key,
                            const char **out);

/* A service's ports: and volumes: (compose_mounts.c). */
int rig__compose_read_ports(rig__compose_ctx *ctx, const rig__cnode *node,
                            rig_compose_service *svc);
int rig__compose_read_volumes(rig__compose_ctx *ctx, const rig__cnode *node,
                              rig_compose_service *svc);

int rig__compose_build_service(rig__compose_ctx *ctx, const char *name, const rig__cnode *node,
                               rig_compose_service *svc);

/* A compose file's content given in memory (the fuzzer's input). */
typedef struct rig__compose_memory {
  const char *text;
  size_t len;
} rig__compose_memory;

/* rig_compose_load() with the content of opts->files[i] taken from files[i]; opts must name
   the files and the project directory. */
int rig__compose_load_memory(rig_compose_project **out, const rig_compose_options *opts,
                             const rig__compose_memory *files, size_t count);

/* The merged tree -> project (compose_project.c); project->name and ->profiles are set. */
int rig__compose_build_project(rig__compose_ctx *ctx, const rig__cnode *root,
                               rig_compose_project *project);

#endif
