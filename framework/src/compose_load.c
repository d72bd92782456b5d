/*
 * compose_load.c - rig_compose_load(): finds the files, the .env, the environment and the
 * project name, then runs the stages: YAML -> tree, interpolation, normalization, merge,
 * model. Also the small public lookups on a loaded project.
 */
#include "compose_internal.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

enum { NODE_BUDGET = 500 * 1000 };

/* The project and the arena that owns everything it points to. */
typedef struct project_box {
  rig_compose_project project;
  rig__carena arena;
} project_box;

static int file_exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *current_dir(rig__carena *arena)
{
  char buf[4096];
  if (!getcwd(buf, sizeof buf))
    return rig__carena_strdup(arena, "/");
  return rig__carena_strdup(arena, buf);
}

static char *dir_of(rig__carena *arena, const char *path)
{
  const char *slash = strrchr(path, '/');
  if (!slash)
    return rig__carena_strdup(arena, ".");
  if (slash == path)
    return rig__carena_strdup(arena, "/");
  return rig__carena_strndup(arena, path, (size_t)(slash - path));
}

/* The name a file is shown under: relative to the project folder when inside it. */
static const char *display_name(rig__carena *arena, const char *abs, const char *project_dir,
                                const char *given)
{
  size_t len = strlen(project_dir);
  if (strncmp(abs, project_dir, len) == 0 && abs[len] == '/')
    return rig__carena_strdup(arena, abs + len + 1);
  if (strcmp(project_dir, "/") == 0 && abs[0] == '/')
    return rig__carena_strdup(arena, abs + 1);
  return rig__carena_strdup(arena, given);
}

/* compose's rule for names that come from a folder: lowercase, keep [a-z0-9_-], and drop
   leading '_' and '-'. */
static char *normalize_project_name(rig__carena *arena, const char *name)
{
  char *out = rig__carena_alloc(arena, strlen(name) + 1);
  size_t n = 0;
  for (const char *c = name; *c; c++) {
    char ch = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ((ch == '_' || ch == '-') && n > 0))
      out[n++] = ch;
  }
  out[n] = '\0';
  return out;
}

static int valid_project_name(const char *name)
{
  if (!*name || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
    return 0;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
      return 0;
  return 1;
}

static int invalid_name(const rig__cnode *where, const char *name, const char *source)
{
  const char *fmt =
      "invalid project name \"%s\" (from %s): use lowercase letters, digits, '-' and '_', "
      "starting with a letter or a digit";
  if (where)
    return rig__compose_error_at(where, RIG_EINVAL, fmt, name, source);
  return rig_error_set(RIG_EINVAL, fmt, name, source);
}

static int merge_env_file(rig_env *into, const char *path, int required)
{
  rig_env *parsed = NULL;
  int rc = rig_dotenv_load(&parsed, path);
  if (rc == RIG_ENOTFOUND && !required) {
    rig_error_clear();
    return RIG_OK;
  }
  if (rc != RIG_OK)
    return rc == RIG_ENOTFOUND ? rig_error_set(RIG_ENOTFOUND, "env file %s: no such file", path)
                               : rc;
  for (size_t i = 0; i < rig_env_count(parsed); i++)
    rig_env_set(into, rig_env_key(parsed, i), rig_env_value(parsed, i));
  rig_env_free(parsed);
  return RIG_OK;
}

static int load_dotenv(rig_env **out, rig__carena *arena, const rig_compose_options *opts,
                       const char *cwd, const char *dir)
{
  rig_env *env = NULL;
  rig_env_new(&env);
  int rc = RIG_OK;
  if (opts->env_files) {
    for (size_t i = 0; rc == RIG_OK && i < opts->env_file_count; i++)
      rc = merge_env_file(env, rig__path_join_clean(arena, cwd, opts->env_files[i]), 1);
  } else {
    rc = merge_env_file(env, rig__path_join_clean(arena, dir, ".env"), 0);
  }
  if (rc != RIG_OK) {
    rig_env_free(env);
    return rc;
  }
  *out = env;
  return RIG_OK;
}

static void split_list(rig__vec *out, rig__carena *arena, const char *text, char sep)
{
  const char *s = text;
  while (*s) {
    const char *end = strchr(s, sep);
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len)
      rig__vec_push(out, rig__carena_strndup(arena, s, len));
    s += len;
    if (*s)
      s++;
  }
}

static int discover(rig__vec *files, rig__carena *arena, const char *dir)
{
  static const char *const names[] = {"compose.yaml", "compose.yml", "docker-compose.yaml",
                                      "docker-compose.yml"};
  static const char *const overrides[] = {"compose.override.yaml", "compose.override.yml",
                                          "docker-compose.override.yaml",
                                          "docker-compose.override.yml"};
  for (size_t i = 0; i < 4; i++) {
    char *path = rig__carena_sprintf(arena, "%s/%s", dir, names[i]);
    if (!file_exists(path))
      continue;
    rig__vec_push(files, path);
    for (size_t k = 0; k < 4; k++) {
      char *override = rig__carena_sprintf(arena, "%s/%s", dir, overrides[k]);
      if (file_exists(override)) {
        rig__vec_push(files, override);
        break;
      }
    }
    return RIG_OK;
  }
  rig_error_set(RIG_ENOTFOUND,
                "no compose file in %s (looked for compose.yaml, compose.yml, docker-compose.yaml, "
                "docker-compose.yml)",
                dir);
  rig_error_add_detail("hint", "name the file with -f FILE");
  return RIG_ENOTFOUND;
}

/* Reads and parses one file; memory, when given, stands in for the file's content. */
static int load_file(rig__cnode **out, rig__compose_ctx *ctx, const char *abs, const char *shown,
                     const rig__compose_memory *memory)
{
  char *text = NULL;
  size_t len = 0;
  int rc = RIG_OK;
  if (memory) {
    text = rig__malloc(memory->len + 1);
    memcpy(text, memory->text, memory->len);
    text[memory->len] = '\0';
    len = memory->len;
  } else {
    rc = rig__read_file(&text, &len, abs);
  }
  if (rc != RIG_OK)
    return rc == RIG_ENOTFOUND ? rig_error_set(RIG_ENOTFOUND, "%s: no such compose file", shown)
                               : rig_error_set(rc, "%s: cannot read the file", shown);
  rig__cnode *root = NULL;
  rc = rig__compose_parse_yaml(&root, ctx->tmp, text, len, shown);
  free(text);
  if (rc != RIG_OK)
    return rc;
  if (!root || rig__cnode_is_null(root))
    return rig_error_set(RIG_EPARSE, "%s: the compose file is empty", shown);
  if (root->kind != RIG__CN_MAP)
    return rig__compose_error_at(root, RIG_EPARSE,
                                 "the top level of a compose file must be a mapping, not %s",
                                 rig__cnode_kind_name(root));
  rig__cnode *interpolated = NULL;
  rc = rig__compose_interpolate_tree(&interpolated, ctx, root);
  if (rc == RIG_OK)
    rc = rig__compose_normalize(ctx, interpolated);
  if (rc == RIG_OK)
    *out = interpolated;
  return rc;
}

static int choose_name(const char **out, rig__compose_ctx *ctx, const rig_compose_options *opts,
                       const rig__cnode *root, const char *project_dir)
{
  if (opts->project_name) {
    if (!valid_project_name(opts->project_name))
      return invalid_name(NULL, opts->project_name, "-p");
    *out = rig__carena_strdup(ctx->out, opts->project_name);
    return RIG_OK;
  }
  static const char *const vars[] = {"STACKRIG_PROJECT", "COMPOSE_PROJECT_NAME"};
  for (size_t i = 0; i < 2; i++) {
    const char *v = rig__compose_lookup(ctx, vars[i]);
    if (v && *v) {
      if (!valid_project_name(v))
        return invalid_name(NULL, v, vars[i]);
      *out = rig__carena_strdup(ctx->out, v);
      return RIG_OK;
    }
  }
  const rig__cnode *name = rig__cnode_get(root, "name");
  /* `name: ${PROJECT:-}` that comes out empty falls back to the folder, as in compose */
  if (name && !rig__cnode_is_null(name) &&
      !(name->kind == RIG__CN_SCALAR && name->text[0] == '\0')) {
    if (name->kind != RIG__CN_SCALAR)
      return rig__compose_error_at(name, RIG_EPARSE, "name must be a string, not %s",
                                   rig__cnode_kind_name(name));
    if (!valid_project_name(name->text))
      return invalid_name(name, name->text, "name:");
    *out = rig__carena_strdup(ctx->out, name->text);
    return RIG_OK;
  }
  const char *base = strrchr(project_dir, '/');
  base = base ? base + 1 : project_dir;
  char *normalized = normalize_project_name(ctx->out, base);
  if (!*normalized)
    return rig_error_set(
        RIG_EINVAL,
        "cannot derive a project name from the folder \"%s\": give one with -p or name:", base);
  *out = normalized;
  return RIG_OK;
}

static rig_env *process_environment(void)
{
  rig_env *env = NULL;
  rig_env_new(&env);
  for (char **e = environ; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq || eq == *e)
      continue;
    char *key = rig__strndup(*e, (size_t)(eq - *e));
    rig_env_set(env, key, eq + 1);
    free(key);
  }
  return env;
}

static int load(rig_compose_project **out, const rig_compose_options *opts,
                const rig__compose_memory *memory, size_t memory_count);

int rig_compose_load(rig_compose_project **out, const rig_compose_options *opts)
{
  return load(out, opts, NULL, 0);
}

int rig__compose_load_memory(rig_compose_project **out, const rig_compose_options *opts,
                             const rig__compose_memory *files, size_t count)
{
  if (!opts || !opts->files || opts->file_count != count || !opts->project_directory)
    return rig_error_set(RIG_EINVAL,
                         "rig__compose_load_memory: name the files and the project directory");
  return load(out, opts, files, count);
}

static int load(rig_compose_project **out, const rig_compose_options *opts,
                const rig__compose_memory *memory, size_t memory_count)
{
  rig_compose_options defaults = RIG_COMPOSE_OPTIONS_INIT;
  if (!out)
    return rig_error_set(RIG_EINVAL, "rig_compose_load: out is NULL");
  if (!opts)
    opts = &defaults;
  if (opts->version != RIG_COMPOSE_OPTIONS_VERSION)
    return rig_error_set(
        RIG_EINVAL, "rig_compose_load: options version %u is not %d (use RIG_COMPOSE_OPTIONS_INIT)",
        opts->version, RIG_COMPOSE_OPTIONS_VERSION);

  project_box *box = rig__calloc(1, sizeof *box);
  rig_compose_project *project = &box->project;
  rig__carena tmp = {NULL};
  rig_env *owned_env = NULL, *dotenv = NULL;
  rig__compose_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.tmp = &tmp;
  ctx.out = &box->arena;
  ctx.node_budget = NODE_BUDGET;
  ctx.process_env = opts->environment;
  if (!ctx.process_env)
    ctx.process_env = owned_env = process_environment();
  rig__buf_puts(&ctx.path, "");

  int rc = RIG_OK;
  rig__vec files = {NULL, 0, 0};
  rig__vec given = {NULL, 0, 0};
  rig__vec profiles = {NULL, 0, 0};
  rig__cnode *merged = NULL;
  const char *cwd = current_dir(ctx.tmp);
  const char *base_dir =
      opts->project_directory ? rig__path_join_clean(ctx.tmp, cwd, opts->project_directory) : cwd;

  rc = load_dotenv(&dotenv, ctx.tmp, opts, cwd, base_dir);
  if (rc != RIG_OK)
    goto cleanup;
  ctx.dotenv = dotenv;

  if (opts->files) {
    for (size_t i = 0; i < opts->file_count; i++)
      rig__vec_push(&given, (void *)opts->files[i]);
  } else {
    const char *compose_file = rig__compose_lookup(&ctx, "COMPOSE_FILE");
    if (compose_file && *compose_file) {
      const char *sep = rig__compose_lookup(&ctx, "COMPOSE_PATH_SEPARATOR");
      split_list(&given, ctx.tmp, compose_file, sep && *sep ? sep[0] : ':');
    }
  }
  if (given.count) {
    for (size_t i = 0; i < given.count; i++)
      rig__vec_push(&files, rig__path_join_clean(ctx.tmp, cwd, given.items[i]));
  } else if (opts->files) {
    rc = rig_error_set(RIG_EINVAL, "rig_compose_load: files is set but file_count is 0");
    goto cleanup;
  } else if ((rc = discover(&files, ctx.tmp, base_dir)) != RIG_OK) {
    goto cleanup;
  }

  const char *project_dir = opts->project_directory ? base_dir : dir_of(ctx.out, files.items[0]);
  project->working_dir = rig__carena_strdup(ctx.out, project_dir);
  ctx.project_dir = project->working_dir;
  if (!opts->env_files && strcmp(project_dir, base_dir) != 0) {
    /* the .env that counts is the project folder's */
    rig_env_free(dotenv);
    dotenv = NULL;
    if ((rc = load_dotenv(&dotenv, ctx.tmp, opts, cwd, project_dir)) != RIG_OK)
      goto cleanup;
    ctx.dotenv = dotenv;
  }
  ctx.home = rig__compose_lookup(&ctx, "HOME");
  if (!ctx.home || !*ctx.home)
    ctx.home = getenv("HOME");
  if (!ctx.home || !*ctx.home) {
    struct passwd *pw = getpwuid(getuid());
    ctx.home = pw && pw->pw_dir ? rig__carena_strdup(ctx.tmp, pw->pw_dir) : NULL;
  }

  const char **config_files = rig__carena_alloc(ctx.out, (files.count + 1) * sizeof *config_files);
  for (size_t i = 0; i < files.count; i++) {
    const char *abs = files.items[i];
    config_files[i] = rig__carena_strdup(ctx.out, abs);
    const char *shown =
        display_name(ctx.out, abs, project_dir, i < given.count ? given.items[i] : abs);
    rig__cnode *root = NULL;
    if ((rc = load_file(&root, &ctx, abs, shown, i < memory_count ? &memory[i] : NULL)) != RIG_OK)
      goto cleanup;
    if ((rc = rig__compose_merge(&merged, &ctx, merged, root)) != RIG_OK)
      goto cleanup;
  }
  project->config_files.items = config_files;
  project->config_files.count = files.count;

  if (opts->profiles) {
    for (size_t i = 0; i < opts->profile_count; i++)
      rig__vec_push(&profiles, rig__carena_strdup(ctx.out, opts->profiles[i]));
  } else {
    const char *env_profiles = rig__compose_lookup(&ctx, "COMPOSE_PROFILES");
    if (env_profiles)
      split_list(&profiles, ctx.out, env_profiles, ',');
  }
  project->profiles.count = profiles.count;
  project->profiles.items = (const char *const *)rig__vec_finish(&profiles, ctx.out);

  if ((rc = choose_name(&project->name, &ctx, opts, merged, project_dir)) != RIG_OK)
    goto cleanup;
  rc = rig__compose_build_project(&ctx, merged, project);

cleanup:
  rig__vec_dispose(&files);
  rig__vec_dispose(&given);
  rig__vec_dispose(&profiles);
  rig__buf_dispose(&ctx.path);
  rig__carena_dispose(&tmp);
  rig_env_free(owned_env);
  rig_env_free(dotenv);
  if (rc != RIG_OK) {
    rig__vec_dispose(&ctx.warnings);
    rig_compose_project_free(project);
    return rc;
  }
  project->warnings.count = ctx.warnings.count;
  project->warnings.items = (const char *const *)rig__vec_finish(&ctx.warnings, ctx.out);
  *out = project;
  return RIG_OK;
}

void rig_compose_project_free(rig_compose_project *project)
{
  if (!project)
    return;
  project_box *box = (project_box *)project;
  rig__carena_dispose(&box->arena);
  free(box);
}

const rig_compose_service *rig_compose_find_service(const rig_compose_project *project,
                                                    const char *name)
{
  if (!project || !name)
    return NULL;
  for (size_t i = 0; i < project->service_count; i++)
    if (strcmp(project->services[i].name, name) == 0)
      return &project->services[i];
  return NULL;
}

const rig_compose_network *rig_compose_find_network(const rig_compose_project *project,
                                                    const char *key)
{
  if (!project || !key)
    return NULL;
  for (size_t i = 0; i < project->network_count; i++)
    if (strcmp(project->networks[i].key, key) == 0)
      return &project->networks[i];
  return NULL;
}

const rig_compose_volume *rig_compose_find_volume(const rig_compose_project *project,
                                                  const char *key)
{
  if (!project || !key)
    return NULL;
  for (size_t i = 0; i < project->volume_count; i++)
    if (strcmp(project->volumes[i].key, key) == 0)
      return &project->volumes[i];
  return NULL;
}

const rig_compose_value *rig_compose_value_get(const rig_compose_value *map, const char *key)
{
  if (!map || !key || map->type != RIG_COMPOSE_VALUE_MAP)
    return NULL;
  for (size_t i = 0; i < map->count; i++)
    if (strcmp(map->keys[i], key) == 0)
      return &map->items[i];
  return NULL;
}

const rig_compose_value *rig_compose_service_extension(const rig_compose_service *service,
                                                       const char *name)
{
  return service ? rig_compose_value_get(service->extensions, name) : NULL;
}
