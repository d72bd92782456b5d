/*
 * compose_project.c - the merged tree -> the project: top-level keys, services, profiles,
 * references between services (depends_on, network_mode: service:x) and dependency cycles,
 * top-level networks and volumes with their engine names, and the default network.
 */
#include "compose_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const top_keys[] = {"version", "name", "services", "networks", "volumes", NULL};
static const char *const top_unsupported[] = {"secrets", "configs", "include", "models", NULL};

static int valid_service_name(const char *name)
{
  if (!*name)
    return 0;
  for (const char *c = name; *c; c++) {
    int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             ((*c == '-' || *c == '_' || *c == '.') && c != name);
    if (!ok)
      return 0;
  }
  return 1;
}

/* ---- networks and volumes ---- */

static int read_external(rig__compose_ctx *ctx, const rig__cnode *v, int *external,
                         const char **legacy_name)
{
  if (v->kind == RIG__CN_MAP) {
    /* the legacy form `external: {name: x}` */
    static const char *const known[] = {"name", NULL};
    int rc = rig__compose_check_keys(ctx, v, known, NULL);
    const rig__cnode *name = rig__cnode_get(v, "name");
    if (rc == RIG_OK && name)
      rc = rig__compose_expect_string(ctx, name, legacy_name);
    *external = 1;
    rig__compose_warn(
        ctx, v, "%s: `external: {name: ...}` is deprecated; write `external: true` and `name:`",
        rig__compose_path(ctx));
    return rc;
  }
  return rig__compose_get_bool(ctx, v, external);
}

static int read_ipam(rig__compose_ctx *ctx, const rig__cnode *v, rig_compose_network *net)
{
  static const char *const known[] = {"driver", "config", "options", NULL};
  if (rig__cnode_is_null(v))
    return RIG_OK;
  int rc = rig__compose_expect_map(ctx, v);
  if (rc == RIG_OK)
    rc = rig__compose_check_keys(ctx, v, known, NULL);
  if (rc != RIG_OK)
    return rc;
  const rig__cnode *driver = rig__cnode_get(v, "driver");
  if (driver) {
    size_t mark = rig__compose_path_push(ctx, "driver");
    rc = rig__compose_expect_string(ctx, driver, &net->ipam_driver);
    rig__compose_path_pop(ctx, mark);
  }
  if (rc == RIG_OK && rig__cnode_get(v, "options")) {
    size_t mark = rig__compose_path_push(ctx, "options");
    rc = rig__compose_error(ctx, rig__cnode_get(v, "options"), RIG_EUNSUPPORTED,
                            "not supported by stackrig yet");
    rig__compose_path_pop(ctx, mark);
  }
  const rig__cnode *config = rig__cnode_get(v, "config");
  if (rc != RIG_OK || !config || rig__cnode_is_null(config))
    return rc;
  size_t mark = rig__compose_path_push(ctx, "config");
  rc = rig__compose_expect_seq(ctx, config);
  rig_compose_ipam_pool *pools = rig__carena_alloc(ctx->out, (config->count + 1) * sizeof *pools);
  for (size_t i = 0; rc == RIG_OK && i < config->count; i++) {
    static const char *const pool_keys[] = {"subnet", "ip_range", "gateway", NULL};
    static const char *const pool_unsupported[] = {"aux_addresses", NULL};
    const rig__cnode *pool = config->items[i];
    size_t item_mark = rig__compose_path_push_index(ctx, i);
    rc = rig__compose_expect_map(ctx, pool);
    if (rc == RIG_OK)
      rc = rig__compose_check_keys(ctx, pool, pool_keys, pool_unsupported);
    const char **fields[] = {&pools[i].subnet, &pools[i].ip_range, &pools[i].gateway};
    for (size_t f = 0; rc == RIG_OK && f < 3; f++) {
      const rig__cnode *fv = rig__cnode_get(pool, pool_keys[f]);
      if (fv) {
        size_t m = rig__compose_path_push(ctx, pool_keys[f]);
        rc = rig__compose_expect_string(ctx, fv, fields[f]);
        rig__compose_path_pop(ctx, m);
      }
    }
    rig__compose_path_pop(ctx, item_mark);
  }
  rig__compose_path_pop(ctx, mark);
  net->ipam_config = pools;
  net->ipam_config_count = config->count;
  return rc;
}

/* The keys networks and volumes share. */
static int read_resource_common(rig__compose_ctx *ctx, const rig__cnode *v, const char *key,
                                const char **name, int *external, const char **driver,
                                const rig_compose_kv **driver_opts, size_t *driver_opt_count,
                                const rig_compose_kv **labels, size_t *label_count, int *handled)
{
  *handled = 1;
  if (strcmp(key, "name") == 0)
    return rig__compose_expect_string(ctx, v, name);
  if (strcmp(key, "external") == 0) {
    const char *legacy = NULL;
    int rc = read_external(ctx, v, external, &legacy);
    if (rc == RIG_OK && legacy)
      *name = legacy;
    return rc;
  }
  if (strcmp(key, "driver") == 0)
    return rig__compose_expect_string(ctx, v, driver);
  if (strcmp(key, "driver_opts") == 0)
    return rig__compose_get_kv(ctx, v, 0, driver_opts, driver_opt_count);
  if (strcmp(key, "labels") == 0) {
    if (v->kind == RIG__CN_SEQ) {
      rig__vec pairs = {NULL, 0, 0};
      rig_compose_kv *kv = rig__carena_alloc(ctx->out, (v->count + 1) * sizeof *kv);
      for (size_t i = 0; i < v->count; i++) {
        const char *text = NULL;
        int rc = rig__compose_expect_scalar(ctx, v->items[i], &text);
        if (rc != RIG_OK)
          return rc;
        const char *eq = strchr(text, '=');
        kv[i].key = eq ? rig__carena_strndup(ctx->out, text, (size_t)(eq - text))
                       : rig__carena_strdup(ctx->out, text);
        kv[i].value = eq ? rig__carena_strdup(ctx->out, eq + 1) : "";
      }
      rig__vec_dispose(&pairs);
      *labels = kv;
      *label_count = v->count;
      return RIG_OK;
    }
    return rig__compose_get_kv(ctx, v, 0, labels, label_count);
  }
  *handled = 0;
  return RIG_OK;
}

static int check_external_conflicts(rig__compose_ctx *ctx, const rig__cnode *v, const char *what)
{
  static const char *const allowed[] = {"external", "name", NULL};
  for (size_t i = 0; i < v->count; i++) {
    const char *key = v->keys[i]->text;
    int ok = key[0] == 'x' && key[1] == '-';
    for (const char *const *a = allowed; *a && !ok; a++)
      ok = strcmp(*a, key) == 0;
    if (!ok)
      return rig__compose_error(ctx, v->keys[i], RIG_EPARSE, "an external %s cannot also set %s",
                                what, key);
  }
  return RIG_OK;
}

static int read_network(rig__compose_ctx *ctx, const char *project, const char *key,
                        const rig__cnode *v, rig_compose_network *net)
{
  static const char *const known[] = {"name", "external", "driver",     "driver_opts", "labels",
                                      "ipam", "internal", "attachable", "enable_ipv6", NULL};
  static const char *const unsupported[] = {"enable_ipv4", NULL};
  net->key = rig__carena_strdup(ctx->out, key);
  net->enable_ipv6 = RIG_COMPOSE_UNSET;
  int rc = RIG_OK;
  if (!rig__cnode_is_null(v)) {
    rc = rig__compose_expect_map(ctx, v);
    if (rc == RIG_OK)
      rc = rig__compose_check_keys(ctx, v, known, unsupported);
    for (size_t i = 0; rc == RIG_OK && i < v->count; i++) {
      const char *k = v->keys[i]->text;
      const rig__cnode *value = v->values[i];
      size_t mark = rig__compose_path_push(ctx, k);
      int handled = 0;
      rc = read_resource_common(ctx, value, k, &net->name, &net->external, &net->driver,
                                &net->driver_opts, &net->driver_opt_count, &net->labels,
                                &net->label_count, &handled);
      if (rc == RIG_OK && !handled) {
        if (strcmp(k, "ipam") == 0) {
          rc = read_ipam(ctx, value, net);
        } else if (strcmp(k, "internal") == 0) {
          rc = rig__compose_get_bool(ctx, value, &net->internal);
        } else if (strcmp(k, "attachable") == 0) {
          rc = rig__compose_get_bool(ctx, value, &net->attachable);
        } else if (strcmp(k, "enable_ipv6") == 0) {
          int b = 0;
          rc = rig__compose_get_bool(ctx, value, &b);
          net->enable_ipv6 = b ? RIG_COMPOSE_TRUE : RIG_COMPOSE_FALSE;
        }
      }
      rig__compose_path_pop(ctx, mark);
    }
    if (rc == RIG_OK && net->external)
      rc = check_external_conflicts(ctx, v, "network");
    if (rc == RIG_OK)
      rc = rig__compose_extensions(ctx, v, &net->extensions);
  } else {
    rc = rig__compose_extensions(ctx, NULL, &net->extensions);
  }
  if (!net->name)
    net->name = net->external ? net->key : rig__carena_sprintf(ctx->out, "%s_%s", project, key);
  return rc;
}

static int read_volume(rig__compose_ctx *ctx, const char *project, const char *key,
                       const rig__cnode *v, rig_compose_volume *vol)
{
  static const char *const known[] = {"name", "external", "driver", "driver_opts", "labels", NULL};
  vol->key = rig__carena_strdup(ctx->out, key);
  int rc = RIG_OK;
  if (!rig__cnode_is_null(v)) {
    rc = rig__compose_expect_map(ctx, v);
    if (rc == RIG_OK)
      rc = rig__compose_check_keys(ctx, v, known, NULL);
    for (size_t i = 0; rc == RIG_OK && i < v->count; i++) {
      size_t mark = rig__compose_path_push(ctx, v->keys[i]->text);
      int handled = 0;
      rc = read_resource_common(ctx, v->values[i], v->keys[i]->text, &vol->name, &vol->external,
                                &vol->driver, &vol->driver_opts, &vol->driver_opt_count,
                                &vol->labels, &vol->label_count, &handled);
      rig__compose_path_pop(ctx, mark);
    }
    if (rc == RIG_OK && vol->external)
      rc = check_external_conflicts(ctx, v, "volume");
    if (rc == RIG_OK)
      rc = rig__compose_extensions(ctx, v, &vol->extensions);
  } else {
    rc = rig__compose_extensions(ctx, NULL, &vol->extensions);
  }
  if (!vol->name)
    vol->name = vol->external ? vol->key : rig__carena_sprintf(ctx->out, "%s_%s", project, key);
  return rc;
}

/* ---- services ---- */

typedef struct service_entry {
  rig_compose_service svc;
  const rig__cnode *node;
  const rig__cnode *key;
  int enabled;
  int state; /* cycle search: 0 unvisited, 1 on the path, 2 done */
} service_entry;

static service_entry *find_entry(service_entry *entries, size_t count, const char *name)
{
  for (size_t i = 0; i < count; i++)
    if (strcmp(entries[i].svc.name, name) == 0)
      return &entries[i];
  return NULL;
}

static int profile_active(const rig_compose_strings *active, const char *profile)
{
  for (size_t i = 0; i < active->count; i++)
    if (strcmp(active->items[i], profile) == 0 || strcmp(active->items[i], "*") == 0)
      return 1;
  return 0;
}

static const rig__cnode *dependency_node(const service_entry *e, const char *dependency)
{
  const rig__cnode *deps = rig__cnode_get(e->node, "depends_on");
  long at = rig__cnode_index(deps, dependency);
  return at >= 0 ? deps->keys[at] : e->key;
}

static int find_cycle(rig__compose_ctx *ctx, service_entry *entries, size_t count, service_entry *e,
                      rig__vec *stack)
{
  e->state = 1;
  rig__vec_push(stack, e);
  for (size_t d = 0; d < e->svc.depends_on_count; d++) {
    service_entry *dep = find_entry(entries, count, e->svc.depends_on[d].service);
    if (!dep || !dep->enabled || dep->state == 2)
      continue;
    if (dep->state == 1) {
      rig_buf cycle = RIG_BUF_INIT;
      size_t start = 0;
      while (stack->items[start] != dep)
        start++;
      for (size_t i = start; i < stack->count; i++) {
        rig__buf_puts(&cycle, ((service_entry *)stack->items[i])->svc.name);
        rig__buf_puts(&cycle, " \xe2\x86\x92 ");
      }
      rig__buf_puts(&cycle, dep->svc.name);
      rig_buf path = ctx->path;
      ctx->path = (rig_buf)RIG_BUF_INIT;
      rig__compose_path_push(ctx, "services");
      rig__compose_path_push(ctx, e->svc.name);
      rig__compose_path_push(ctx, "depends_on");
      int rc = rig__compose_error(ctx, dependency_node(e, dep->svc.name), RIG_EINVAL,
                                  "dependency cycle: %s", cycle.data);
      rig__buf_dispose(&ctx->path);
      ctx->path = path;
      rig__buf_dispose(&cycle);
      return rc;
    }
    int rc = find_cycle(ctx, entries, count, dep, stack);
    if (rc != RIG_OK)
      return rc;
  }
  stack->count--;
  e->state = 2;
  return RIG_OK;
}

static int check_references(rig__compose_ctx *ctx, service_entry *entries, size_t count)
{
  const char **names = rig__carena_alloc(ctx->tmp, (count + 1) * sizeof *names);
  for (size_t i = 0; i < count; i++)
    names[i] = entries[i].svc.name;
  for (size_t i = 0; i < count; i++) {
    service_entry *e = &entries[i];
    if (!e->enabled)
      continue;
    rig_compose_service *svc = &e->svc;
    size_t mark = rig__compose_path_push(ctx, svc->name);
    size_t kept = 0;
    rig_compose_dependency *deps = (rig_compose_dependency *)svc->depends_on;
    for (size_t d = 0; d < svc->depends_on_count; d++) {
      const char *target = deps[d].service;
      service_entry *dep = find_entry(entries, count, target);
      size_t dmark = rig__compose_path_push(ctx, "depends_on");
      int rc = RIG_OK;
      const char *suggestion = dep ? NULL : rig__did_you_mean(target, names);
      if (!dep && !deps[d].required) {
        /* The compose specification: with required: false, a dependency that is not
         * available only earns a warning. A service the files never define is the plainest
         * case of that, so it is dropped like one its profiles disable. */
        rig__compose_path_pop(ctx, dmark);
        rig__compose_warn(
            ctx, dependency_node(e, target),
            "service \"%s\": optional dependency \"%s\" is not defined; ignored%s%s%s", svc->name,
            target, suggestion ? " (did you mean \"" : "", suggestion ? suggestion : "",
            suggestion ? "\"?)" : "");
        continue;
      }
      if (!dep) {
        rc = rig__compose_error(ctx, dependency_node(e, target), RIG_EINVAL,
                                "depends on undefined service \"%s\"%s%s%s", target,
                                suggestion ? " (did you mean \"" : "", suggestion ? suggestion : "",
                                suggestion ? "\"?)" : "");
      } else if (dep == e) {
        rc = rig__compose_error(ctx, dependency_node(e, target), RIG_EINVAL,
                                "a service cannot depend on itself");
      } else if (!dep->enabled && deps[d].required) {
        rc = rig__compose_error(
            ctx, dependency_node(e, target), RIG_EINVAL,
            "depends on \"%s\", which no active profile enables (activate one of its "
            "profiles with --profile)",
            target);
      }
      rig__compose_path_pop(ctx, dmark);
      if (rc != RIG_OK) {
        rig__compose_path_pop(ctx, mark);
        return rc;
      }
      if (!dep->enabled) {
        rig__compose_warn(
            ctx, dependency_node(e, target),
            "service \"%s\": optional dependency \"%s\" is disabled by its profiles; ignored",
            svc->name, target);
        continue;
      }
      deps[kept++] = deps[d];
    }
    svc->depends_on_count = kept;
    if (svc->network_mode && strncmp(svc->network_mode, "service:", 8) == 0) {
      service_entry *ref = find_entry(entries, count, svc->network_mode + 8);
      if (!ref || !ref->enabled) {
        size_t nmark = rig__compose_path_push(ctx, "network_mode");
        int rc = rig__compose_error(ctx, rig__cnode_get(e->node, "network_mode"), RIG_EINVAL,
                                    "refers to %s service \"%s\"", ref ? "disabled" : "undefined",
                                    svc->network_mode + 8);
        rig__compose_path_pop(ctx, nmark);
        rig__compose_path_pop(ctx, mark);
        return rc;
      }
    }
    rig__compose_path_pop(ctx, mark);
  }
  rig__vec stack = {NULL, 0, 0};
  int rc = RIG_OK;
  for (size_t i = 0; rc == RIG_OK && i < count; i++)
    if (entries[i].enabled && entries[i].state == 0)
      rc = find_cycle(ctx, entries, count, &entries[i], &stack);
  rig__vec_dispose(&stack);
  return rc;
}

/* Every network and named volume a service uses must be declared at the top level. */
static int check_resources(rig__compose_ctx *ctx, service_entry *e, rig_compose_project *project)
{
  rig_compose_service *svc = &e->svc;
  size_t mark = rig__compose_path_push(ctx, svc->name);
  int rc = RIG_OK;
  for (size_t i = 0; rc == RIG_OK && i < svc->network_count; i++) {
    const char *net = svc->networks[i].network;
    if (strcmp(net, "default") == 0 || rig_compose_find_network(project, net))
      continue;
    const rig__cnode *nets = rig__cnode_get(e->node, "networks");
    long at = rig__cnode_index(nets, net);
    size_t nmark = rig__compose_path_push(ctx, "networks");
    rc =
        rig__compose_error(ctx, at >= 0 ? nets->keys[at] : e->key, RIG_EINVAL,
                           "network \"%s\" is not declared under the top-level networks: key", net);
    rig__compose_path_pop(ctx, nmark);
  }
  for (size_t i = 0; rc == RIG_OK && i < svc->volume_count; i++) {
    const rig_compose_mount *m = &svc->volumes[i];
    if (m->type != RIG_COMPOSE_MOUNT_VOLUME || !m->source ||
        rig_compose_find_volume(project, m->source))
      continue;
    const rig__cnode *vols = rig__cnode_get(e->node, "volumes");
    const rig__cnode *where =
        vols && vols->kind == RIG__CN_SEQ && i < vols->count ? vols->items[i] : e->key;
    size_t vmark = rig__compose_path_push(ctx, "volumes");
    size_t imark = rig__compose_path_push_index(ctx, i);
    rc = rig__compose_error(ctx, where, RIG_EINVAL,
                            "named volume \"%s\" is not declared under the top-level volumes: key",
                            m->source);
    rig__compose_path_pop(ctx, imark);
    rig__compose_path_pop(ctx, vmark);
  }
  rig__compose_path_pop(ctx, mark);
  return rc;
}

static int cmp_service(const void *a, const void *b)
{
  return strcmp(((const rig_compose_service *)a)->name, ((const rig_compose_service *)b)->name);
}

static int cmp_network(const void *a, const void *b)
{
  return strcmp(((const rig_compose_network *)a)->key, ((const rig_compose_network *)b)->key);
}

static int cmp_volume(const void *a, const void *b)
{
  return strcmp(((const rig_compose_volume *)a)->key, ((const rig_compose_volume *)b)->key);
}

int rig__compose_build_project(rig__compose_ctx *ctx, const rig__cnode *root,
                               rig_compose_project *project)
{
  if (root->kind != RIG__CN_MAP)
    return rig__compose_error_at(root, RIG_EPARSE,
                                 "the top level of a compose file must be a mapping, not %s",
                                 rig__cnode_kind_name(root));
  int rc = rig__compose_check_keys(ctx, root, top_keys, top_unsupported);
  if (rc != RIG_OK)
    return rc;
  long version_at = rig__cnode_index(root, "version");
  if (version_at >= 0)
    rig__compose_warn(ctx, root->keys[version_at],
                      "the top-level `version` key is obsolete and ignored; remove it");
  const rig__cnode *services = rig__cnode_get(root, "services");
  if (!services || rig__cnode_is_null(services) ||
      (services->kind == RIG__CN_MAP && services->count == 0))
    return rig__compose_error_at(
        services ? services : root, RIG_EINVAL,
        "no services defined (add a services: mapping with at least one service)");
  size_t mark = rig__compose_path_push(ctx, "services");
  rc = rig__compose_expect_map(ctx, services);
  if (rc != RIG_OK)
    return rc;

  size_t count = services->count;
  service_entry *entries = rig__carena_alloc(ctx->tmp, (count + 1) * sizeof *entries);
  for (size_t i = 0; rc == RIG_OK && i < count; i++) {
    const char *name = services->keys[i]->text;
    entries[i].node = services->values[i];
    entries[i].key = services->keys[i];
    if (!valid_service_name(name)) {
      rc = rig__compose_error(ctx, services->keys[i], RIG_EPARSE,
                              "invalid service name \"%s\": use letters, digits, '-', '_' and '.'",
                              name);
      break;
    }
    size_t smark = rig__compose_path_push(ctx, name);
    rc = rig__compose_build_service(ctx, name, services->values[i], &entries[i].svc);
    rig__compose_path_pop(ctx, smark);
  }
  for (size_t i = 0; rc == RIG_OK && i < count; i++) {
    const rig_compose_strings *p = &entries[i].svc.profiles;
    entries[i].enabled = p->count == 0;
    for (size_t k = 0; k < p->count && !entries[i].enabled; k++)
      entries[i].enabled = profile_active(&project->profiles, p->items[k]);
  }
  if (rc == RIG_OK)
    rc = check_references(ctx, entries, count);
  rig__compose_path_pop(ctx, mark);
  if (rc != RIG_OK)
    return rc;

  /* networks and volumes */
  const rig__cnode *networks = rig__cnode_get(root, "networks");
  const rig__cnode *volumes = rig__cnode_get(root, "volumes");
  size_t net_count = networks && networks->kind == RIG__CN_MAP ? networks->count : 0;
  size_t vol_count = volumes && volumes->kind == RIG__CN_MAP ? volumes->count : 0;
  rig_compose_network *nets = rig__carena_alloc(ctx->out, (net_count + 2) * sizeof *nets);
  rig_compose_volume *vols = rig__carena_alloc(ctx->out, (vol_count + 1) * sizeof *vols);
  if (networks && !rig__cnode_is_null(networks)) {
    mark = rig__compose_path_push(ctx, "networks");
    rc = rig__compose_expect_map(ctx, networks);
    for (size_t i = 0; rc == RIG_OK && i < net_count; i++) {
      size_t nmark = rig__compose_path_push(ctx, networks->keys[i]->text);
      rc = read_network(ctx, project->name, networks->keys[i]->text, networks->values[i], &nets[i]);
      rig__compose_path_pop(ctx, nmark);
    }
    rig__compose_path_pop(ctx, mark);
  }
  if (rc == RIG_OK && volumes && !rig__cnode_is_null(volumes)) {
    mark = rig__compose_path_push(ctx, "volumes");
    rc = rig__compose_expect_map(ctx, volumes);
    for (size_t i = 0; rc == RIG_OK && i < vol_count; i++) {
      size_t vmark = rig__compose_path_push(ctx, volumes->keys[i]->text);
      rc = read_volume(ctx, project->name, volumes->keys[i]->text, volumes->values[i], &vols[i]);
      rig__compose_path_pop(ctx, vmark);
    }
    rig__compose_path_pop(ctx, mark);
  }
  if (rc != RIG_OK)
    return rc;
  project->networks = nets;
  project->network_count = net_count;
  project->volumes = vols;
  project->volume_count = vol_count;

  /* the enabled services, the default network when one of them uses it */
  size_t enabled = 0;
  int uses_default = 0;
  for (size_t i = 0; i < count; i++) {
    if (!entries[i].enabled)
      continue;
    enabled++;
    for (size_t n = 0; n < entries[i].svc.network_count; n++)
      uses_default |= strcmp(entries[i].svc.networks[n].network, "default") == 0;
  }
  if (enabled == 0)
    return rig__compose_error_at(services, RIG_EINVAL,
                                 "no service is enabled by the active profiles");
  if (uses_default && !rig_compose_find_network(project, "default")) {
    rig_compose_network *def = &nets[project->network_count++];
    def->key = "default";
    def->name = rig__carena_sprintf(ctx->out, "%s_default", project->name);
    def->enable_ipv6 = RIG_COMPOSE_UNSET;
    rc = rig__compose_extensions(ctx, NULL, &def->extensions);
  }
  mark = rig__compose_path_push(ctx, "services");
  for (size_t i = 0; rc == RIG_OK && i < count; i++)
    if (entries[i].enabled)
      rc = check_resources(ctx, &entries[i], project);
  rig__compose_path_pop(ctx, mark);
  if (rc != RIG_OK)
    return rc;

  rig_compose_service *svcs = rig__carena_alloc(ctx->out, (enabled + 1) * sizeof *svcs);
  size_t n = 0;
  for (size_t i = 0; i < count; i++)
    if (entries[i].enabled)
      svcs[n++] = entries[i].svc;
  qsort(svcs, n, sizeof *svcs, cmp_service);
  qsort(nets, project->network_count, sizeof *nets, cmp_network);
  qsort(vols, project->volume_count, sizeof *vols, cmp_volume);
  project->services = svcs;
  project->service_count = n;
  return rig__compose_extensions(ctx, root, &project->extensions);
}
