/*
 * compose_service.c - one service's tree -> rig_compose_service: every supported key in
 * its short and long syntaxes, resolved to the long form, with compose's defaults.
 */
#include "compose_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const service_keys[] = {"image",
                                           "container_name",
                                           "hostname",
                                           "domainname",
                                           "working_dir",
                                           "user",
                                           "platform",
                                           "pull_policy",
                                           "stop_signal",
                                           "network_mode",
                                           "restart",
                                           "command",
                                           "entrypoint",
                                           "environment",
                                           "env_file",
                                           "labels",
                                           "ports",
                                           "expose",
                                           "volumes",
                                           "tmpfs",
                                           "depends_on",
                                           "healthcheck",
                                           "networks",
                                           "stop_grace_period",
                                           "init",
                                           "tty",
                                           "stdin_open",
                                           "privileged",
                                           "read_only",
                                           "extra_hosts",
                                           "dns",
                                           "dns_search",
                                           "cap_add",
                                           "cap_drop",
                                           "security_opt",
                                           "ulimits",
                                           "shm_size",
                                           "profiles",
                                           "scale",
                                           "deploy",
                                           NULL};

static const char *const service_unsupported[] = {"annotations",
                                                  "attach",
                                                  "build",
                                                  "blkio_config",
                                                  "cgroup",
                                                  "cgroup_parent",
                                                  "configs",
                                                  "cpu_count",
                                                  "cpu_percent",
                                                  "cpu_period",
                                                  "cpu_quota",
                                                  "cpu_rt_period",
                                                  "cpu_rt_runtime",
                                                  "cpus",
                                                  "cpuset",
                                                  "cpu_shares",
                                                  "credential_spec",
                                                  "develop",
                                                  "device_cgroup_rules",
                                                  "devices",
                                                  "dns_opt",
                                                  "external_links",
                                                  "extends",
                                                  "gpus",
                                                  "group_add",
                                                  "ipc",
                                                  "isolation",
                                                  "label_file",
                                                  "links",
                                                  "logging",
                                                  "log_driver",
                                                  "log_opt",
                                                  "mac_address",
                                                  "mem_limit",
                                                  "mem_reservation",
                                                  "mem_swappiness",
                                                  "memswap_limit",
                                                  "models",
                                                  "net",
                                                  "oom_kill_disable",
                                                  "oom_score_adj",
                                                  "pid",
                                                  "pids_limit",
                                                  "post_start",
                                                  "pre_stop",
                                                  "provider",
                                                  "runtime",
                                                  "secrets",
                                                  "storage_opt",
                                                  "sysctls",
                                                  "use_api_socket",
                                                  "userns_mode",
                                                  "uts",
                                                  "volume_driver",
                                                  "volumes_from",
                                                  NULL};

/* ---- command, entrypoint ---- */

static int read_command(rig__compose_ctx *ctx, const rig__cnode *node, int *set,
                        rig_compose_strings *out)
{
  if (rig__cnode_is_null(node)) {
    *set = 0;
    return RIG_OK;
  }
  *set = 1;
  if (node->kind == RIG__CN_SCALAR) {
    rig__vec words = {NULL, 0, 0};
    char *message = NULL;
    if (rig__shell_split(&words, node->text, &message) != RIG_OK) {
      int rc = rig__compose_error(ctx, node, RIG_EPARSE, "%s", message);
      free(message);
      rig__vec_dispose(&words);
      return rc;
    }
    for (size_t i = 0; i < words.count; i++) {
      char *word = words.items[i];
      words.items[i] = rig__carena_strdup(ctx->out, word);
      free(word);
    }
    out->count = words.count;
    out->items = (const char *const *)rig__vec_finish(&words, ctx->out);
    return RIG_OK;
  }
  int rc = rig__compose_get_strings(ctx, node, 0, out);
  if (rc == RIG_OK && !out->items)
    out->items = (const char *const *)rig__carena_alloc(ctx->out, sizeof(char *));
  return rc;
}

/* ---- environment ---- */

static void env_put(rig__vec *keys, rig__vec *values, const char *key, const char *value)
{
  for (size_t i = 0; i < keys->count; i++)
    if (strcmp(keys->items[i], key) == 0) {
      values->items[i] = (void *)value;
      return;
    }
  rig__vec_push(keys, (void *)key);
  rig__vec_push(values, (void *)value);
}

static int read_env_files(rig__compose_ctx *ctx, const rig__cnode *node, rig_compose_service *svc,
                          rig__vec *keys, rig__vec *values)
{
  if (rig__cnode_is_null(node))
    return RIG_OK;
  int rc = rig__compose_expect_seq(ctx, node);
  if (rc != RIG_OK)
    return rc;
  rig__vec paths = {NULL, 0, 0};
  for (size_t i = 0; i < node->count && rc == RIG_OK; i++) {
    const rig__cnode *item = node->items[i];
    size_t mark = rig__compose_path_push_index(ctx, i);
    const rig__cnode *path_node = item;
    int required = 1;
    if (item->kind == RIG__CN_MAP) {
      static const char *const keys_known[] = {"path", "required", "format", NULL};
      rc = rig__compose_check_keys(ctx, item, keys_known, NULL);
      path_node = rig__cnode_get(item, "path");
      const rig__cnode *req = rig__cnode_get(item, "required");
      const rig__cnode *format = rig__cnode_get(item, "format");
      if (rc == RIG_OK && !path_node)
        rc = rig__compose_error(ctx, item, RIG_EPARSE, "path is required");
      if (rc == RIG_OK && req) {
        size_t m = rig__compose_path_push(ctx, "required");
        rc = rig__compose_get_bool(ctx, req, &required);
        rig__compose_path_pop(ctx, m);
      }
      if (rc == RIG_OK && format && !rig__cnode_is_null(format) && strcmp(format->text, "raw") != 0)
        rc = rig__compose_error(ctx, format, RIG_EUNSUPPORTED,
                                "env_file format \"%s\" is not supported", format->text);
    }
    const char *text = NULL;
    if (rc == RIG_OK)
      rc = rig__compose_expect_scalar(ctx, path_node, &text);
    if (rc == RIG_OK && text[0] == '\0')
      rc = rig__compose_error(ctx, path_node, RIG_EPARSE, "the path is empty");
    if (rc == RIG_OK) {
      char *expanded = rig__path_expand_home(ctx->tmp, text, ctx->home);
      char *abs = rig__path_join_clean(ctx->out, ctx->project_dir, expanded);
      char *content = NULL;
      size_t len = 0;
      int read_rc = rig__read_file(&content, &len, abs);
      if (read_rc == RIG_ENOTFOUND && !required) {
        rig_error_clear();
      } else if (read_rc != RIG_OK) {
        rc = rig__compose_error(ctx, path_node, read_rc, "%s: %s", abs,
                                read_rc == RIG_ENOTFOUND ? "no such file" : "cannot read the file");
      } else {
        rig_env *env = NULL;
        rc = rig_dotenv_parse(&env, content, len, abs);
        if (rc != RIG_OK) {
          rc = rig__compose_error(ctx, path_node, rc, "%s",
                                  rig_error_last() ? rig_error_last()->text : "bad env file");
        } else {
          for (size_t e = 0; e < rig_env_count(env); e++)
            env_put(keys, values, rig__carena_strdup(ctx->out, rig_env_key(env, e)),
                    rig__carena_strdup(ctx->out, rig_env_value(env, e)));
          rig_env_free(env);
          rig__vec_push(&paths, abs);
        }
        free(content);
      }
    }
    rig__compose_path_pop(ctx, mark);
  }
  svc->env_files.count = paths.count;
  svc->env_files.items = (const char *const *)rig__vec_finish(&paths, ctx->out);
  return rc;
}

static int read_environment(rig__compose_ctx *ctx, const rig__cnode *env_node,
                            const rig__cnode *env_file_node, rig_compose_service *svc)
{
  rig__vec keys = {NULL, 0, 0}, values = {NULL, 0, 0};
  int rc = RIG_OK;
  if (env_file_node) {
    size_t mark = rig__compose_path_push(ctx, "env_file");
    rc = read_env_files(ctx, env_file_node, svc, &keys, &values);
    rig__compose_path_pop(ctx, mark);
  }
  if (rc == RIG_OK && env_node && !rig__cnode_is_null(env_node)) {
    size_t mark = rig__compose_path_push(ctx, "environment");
    const rig_compose_kv *kv = NULL;
    size_t count = 0;
    rc = rig__compose_get_kv(ctx, env_node, 1, &kv, &count);
    for (size_t i = 0; rc == RIG_OK && i < count; i++) {
      if (kv[i].key[0] == '\0') {
        rc = rig__compose_error(ctx, env_node, RIG_EPARSE, "a variable has an empty name");
        break;
      }
      const char *value = kv[i].value;
      if (!value) {
        /* "KEY" alone takes its value from the environment, as compose does */
        const char *found = rig__compose_lookup(ctx, kv[i].key);
        value = found ? rig__carena_strdup(ctx->out, found) : NULL;
      }
      env_put(&keys, &values, kv[i].key, value);
    }
    rig__compose_path_pop(ctx, mark);
  }
  if (rc == RIG_OK && keys.count) {
    rig_compose_kv *env = rig__carena_alloc(ctx->out, (keys.count + 1) * sizeof *env);
    for (size_t i = 0; i < keys.count; i++) {
      env[i].key = keys.items[i];
      env[i].value = values.items[i];
    }
    svc->environment = env;
    svc->environment_count = keys.count;
  }
  rig__vec_dispose(&keys);
  rig__vec_dispose(&values);
  return rc;
}

/* ---- depends_on, healthcheck, networks, ulimits ---- */

static int read_depends_on(rig__compose_ctx *ctx, const rig__cnode *node, rig_compose_service *svc)
{
  if (rig__cnode_is_null(node))
    return RIG_OK;
  int rc = rig__compose_expect_map(ctx, node);
  if (rc != RIG_OK)
    return rc;
  rig_compose_dependency *deps = rig__carena_alloc(ctx->out, (node->count + 1) * sizeof *deps);
  for (size_t i = 0; i < node->count && rc == RIG_OK; i++) {
    const rig__cnode *entry = node->values[i];
    rig_compose_dependency *d = &deps[i];
    d->service = rig__carena_strdup(ctx->out, node->keys[i]->text);
    d->condition = RIG_COMPOSE_CONDITION_STARTED;
    d->required = 1;
    size_t mark = rig__compose_path_push(ctx, node->keys[i]->text);
    if (!rig__cnode_is_null(entry)) {
      static const char *const known[] = {"condition", "required", "restart", NULL};
      rc = rig__compose_expect_map(ctx, entry);
      if (rc == RIG_OK)
        rc = rig__compose_check_keys(ctx, entry, known, NULL);
      const char *condition = NULL;
      if (rc == RIG_OK)
        rc = rig__compose_sub_string(ctx, entry, "condition", &condition);
      if (rc == RIG_OK && condition) {
        if (strcmp(condition, "service_started") == 0)
          d->condition = RIG_COMPOSE_CONDITION_STARTED;
        else if (strcmp(condition, "service_healthy") == 0)
          d->condition = RIG_COMPOSE_CONDITION_HEALTHY;
        else if (strcmp(condition, "service_completed_successfully") == 0)
          d->condition = RIG_COMPOSE_CONDITION_COMPLETED_SUCCESSFULLY;
        else {
          size_t c = rig__compose_path_push(ctx, "condition");
          rc = rig__compose_error(
              ctx, rig__cnode_get(entry, "condition"), RIG_EPARSE,
              "must be service_started, service_healthy or service_completed_successfully, "
              "not \"%s\"",
              condition);
          rig__compose_path_pop(ctx, c);
        }
      }
      if (rc == RIG_OK)
        rc = rig__compose_sub_bool(ctx, entry, "required", &d->required);
      if (rc == RIG_OK)
        rc = rig__compose_sub_bool(ctx, entry, "restart", &d->restart);
    }
    rig__compose_path_pop(ctx, mark);
  }
  svc->depends_on = deps;
  svc->depends_on_count = node->count;
  return rc;
}

static int read_healthcheck(rig__compose_ctx *ctx, const rig__cnode *node,
                            rig_compose_healthcheck *hc)
{
  if (rig__cnode_is_null(node))
    return RIG_OK;
  static const char *const known[] = {"test",         "interval",       "timeout", "retries",
                                      "start_period", "start_interval", "disable", NULL};
  int rc = rig__compose_expect_map(ctx, node);
  if (rc == RIG_OK)
    rc = rig__compose_check_keys(ctx, node, known, NULL);
  if (rc != RIG_OK)
    return rc;
  hc->set = 1;
  hc->kind = RIG_COMPOSE_HEALTH_INHERIT;
  for (size_t i = 0; i < node->count && rc == RIG_OK; i++) {
    const char *key = node->keys[i]->text;
    const rig__cnode *v = node->values[i];
    size_t mark = rig__compose_path_push(ctx, key);
    if (strcmp(key, "test") == 0) {
      if (v->kind == RIG__CN_SCALAR && !rig__cnode_is_null(v)) {
        hc->kind = RIG_COMPOSE_HEALTH_CMD_SHELL;
        const char **items = rig__carena_alloc(ctx->out, 2 * sizeof *items);
        items[0] = rig__carena_strdup(ctx->out, v->text);
        hc->test.items = items;
        hc->test.count = 1;
      } else {
        rig_compose_strings all;
        rc = rig__compose_get_strings(ctx, v, 0, &all);
        if (rc == RIG_OK && all.count > 0) {
          const char *first = all.items[0];
          if (strcmp(first, "NONE") == 0) {
            hc->kind = RIG_COMPOSE_HEALTH_NONE;
          } else if (strcmp(first, "CMD") == 0) {
            hc->kind = RIG_COMPOSE_HEALTH_CMD;
          } else if (strcmp(first, "CMD-SHELL") == 0) {
            hc->kind = RIG_COMPOSE_HEALTH_CMD_SHELL;
            if (all.count != 2)
              rc = rig__compose_error(ctx, v, RIG_EPARSE,
                                      "a CMD-SHELL test takes exactly one command string");
          } else {
            rc = rig__compose_error(
                ctx, v, RIG_EPARSE,
                "a test list must start with CMD, CMD-SHELL or NONE, not \"%s\"", first);
          }
          if (rc == RIG_OK && hc->kind == RIG_COMPOSE_HEALTH_CMD && all.count < 2)
            rc = rig__compose_error(ctx, v, RIG_EPARSE, "a CMD test needs a command after CMD");
          hc->test.items = all.items + 1;
          hc->test.count = all.count - 1;
        }
      }
    } else if (strcmp(key, "interval") == 0) {
      rc = rig__compose_get_duration(ctx, v, &hc->interval_ns);
    } else if (strcmp(key, "timeout") == 0) {
      rc = rig__compose_get_duration(ctx, v, &hc->timeout_ns);
    } else if (strcmp(key, "start_period") == 0) {
      rc = rig__compose_get_duration(ctx, v, &hc->start_period_ns);
    } else if (strcmp(key, "start_interval") == 0) {
      rc = rig__compose_get_duration(ctx, v, &hc->start_interval_ns);
    } else if (strcmp(key, "retries") == 0) {
      int64_t retries = 0;
      rc = rig__compose_get_int(ctx, v, &retries);
      if (rc == RIG_OK && (retries < 0 || retries > 1000000))
        rc = rig__compose_error(ctx, v, RIG_EPARSE, "must be a positive number");
      hc->retries = (int)retries;
    } else if (strcmp(key, "disable") == 0) {
      rc = rig__compose_get_bool(ctx, v, &hc->disable);
    }
    rig__compose_path_pop(ctx, mark);
  }
  if (rc == RIG_OK && hc->disable) {
    hc->kind = RIG_COMPOSE_HEALTH_NONE;
    hc->test.items = NULL;
    hc->test.count = 0;
  }
  return rc;
}

static int read_networks(rig__compose_ctx *ctx, const rig__cnode *node, rig_compose_service *svc)
{
  if (rig__cnode_is_null(node))
    return RIG_OK;
  int rc = rig__compose_expect_map(ctx, node);
  if (rc != RIG_OK)
    return rc;
  rig_compose_service_network *nets = rig__carena_alloc(ctx->out, (node->count + 1) * sizeof *nets);
  for (size_t i = 0; i < node->count && rc == RIG_OK; i++) {
    const rig__cnode *entry = node->values[i];
    rig_compose_service_network *n = &nets[i];
    n->network = rig__carena_strdup(ctx->out, node->keys[i]->text);
    size_t mark = rig__compose_path_push(ctx, node->keys[i]->text);
    if (!rig__cnode_is_null(entry)) {
      static const char *const known[] = {"aliases", "ipv4_address", "ipv6_address", "priority",
                                          NULL};
      static const char *const unsupported[] = {"link_local_ips", "mac_address",    "driver_opts",
                                                "gw_priority",    "interface_name", NULL};
      rc = rig__compose_expect_map(ctx, entry);
      if (rc == RIG_OK)
        rc = rig__compose_check_keys(ctx, entry, known, unsupported);
      const rig__cnode *aliases = rig__cnode_get(entry, "aliases");
      if (rc == RIG_OK && aliases) {
        size_t a = rig__compose_path_push(ctx, "aliases");
        rc = rig__compose_get_strings(ctx, aliases, 0, &n->aliases);
        rig__compose_path_pop(ctx, a);
      }
      if (rc == RIG_OK)
        rc = rig__compose_sub_string(ctx, entry, "ipv4_address", &n->ipv4_address);
      if (rc == RIG_OK)
        rc = rig__compose_sub_string(ctx, entry, "ipv6_address", &n->ipv6_address);
      const rig__cnode *priority = rig__cnode_get(entry, "priority");
      if (rc == RIG_OK && priority) {
        int64_t value = 0;
        size_t p = rig__compose_path_push(ctx, "priority");
        rc = rig__compose_get_int(ctx, priority, &value);
        n->priority = (int)value;
        rig__compose_path_pop(ctx, p);
      }
    }
    rig__compose_path_pop(ctx, mark);
  }
  svc->networks = nets;
  svc->network_count = node->count;
  return rc;
}

static int read_ulimits(rig__compose_ctx *ctx, const rig__cnode *node, rig_compose_service *svc)
{
  if (rig__cnode_is_null(node))
    return RIG_OK;
  int rc = rig__compose_expect_map(ctx, node);
  if (rc != RIG_OK)
    return rc;
  rig_compose_ulimit *limits = rig__carena_alloc(ctx->out, (node->count + 1) * sizeof *limits);
  for (size_t i = 0; i < node->count && rc == RIG_OK; i++) {
    const rig__cnode *v = node->values[i];
    rig_compose_ulimit *l = &limits[i];
    l->name = rig__carena_strdup(ctx->out, node->keys[i]->text);
    size_t mark = rig__compose_path_push(ctx, l->name);
    if (v->kind == RIG__CN_MAP) {
      static const char *const known[] = {"soft", "hard", NULL};
      rc = rig__compose_check_keys(ctx, v, known, NULL);
      const rig__cnode *soft = rig__cnode_get(v, "soft"), *hard = rig__cnode_get(v, "hard");
      if (rc == RIG_OK && (!soft || !hard))
        rc = rig__compose_error(ctx, v, RIG_EPARSE, "both soft and hard are required");
      if (rc == RIG_OK) {
        size_t s = rig__compose_path_push(ctx, "soft");
        rc = rig__compose_get_int(ctx, soft, &l->soft);
        rig__compose_path_pop(ctx, s);
      }
      if (rc == RIG_OK) {
        size_t h = rig__compose_path_push(ctx, "hard");
        rc = rig__compose_get_int(ctx, hard, &l->hard);
        rig__compose_path_pop(ctx, h);
      }
      if (rc == RIG_OK && l->soft > l->hard && l->hard >= 0)
        rc = rig__compose_error(ctx, v, RIG_EPARSE, "soft limit %lld is above the hard limit %lld",
                                (long long)l->soft, (long long)l->hard);
    } else {
      rc = rig__compose_get_int(ctx, v, &l->soft);
      l->hard = l->soft;
    }
    rig__compose_path_pop(ctx, mark);
  }
  svc->ulimits = limits;
  svc->ulimit_count = node->count;
  return rc;
}

static int read_extra_hosts(rig__compose_ctx *ctx, const rig__cnode *node, rig_compose_service *svc)
{
  if (rig__cnode_is_null(node))
    return RIG_OK;
  int rc = rig__compose_expect_map(ctx, node);
  if (rc != RIG_OK)
    return rc;
  rig__vec hosts = {NULL, 0, 0};
  for (size_t i = 0; i < node->count && rc == RIG_OK; i++) {
    const char *host = node->keys[i]->text;
    const rig__cnode *v = node->values[i];
    size_t mark = rig__compose_path_push(ctx, host);
    rig_compose_strings ips;
    rc = rig__compose_get_strings(ctx, v, 1, &ips);
    if (rc == RIG_OK && ips.count == 0)
      rc = rig__compose_error(ctx, v, RIG_EPARSE, "needs an IP address (\"%s:10.0.0.1\")", host);
    for (size_t k = 0; rc == RIG_OK && k < ips.count; k++) {
      const char *ip = ips.items[k];
      size_t len = strlen(ip);
      if (len > 2 && ip[0] == '[' && ip[len - 1] == ']')
        rig__vec_push(&hosts,
                      rig__carena_sprintf(ctx->out, "%s:%.*s", host, (int)(len - 2), ip + 1));
      else
        rig__vec_push(&hosts, rig__carena_sprintf(ctx->out, "%s:%s", host, ip));
    }
    rig__compose_path_pop(ctx, mark);
  }
  svc->extra_hosts.count = hosts.count;
  svc->extra_hosts.items = (const char *const *)rig__vec_finish(&hosts, ctx->out);
  return rc;
}

static int read_tristate(rig__compose_ctx *ctx, const rig__cnode *v, rig_compose_tristate *out)
{
  if (rig__cnode_is_null(v))
    return RIG_OK;
  int b = 0;
  int rc = rig__compose_get_bool(ctx, v, &b);
  if (rc == RIG_OK)
    *out = b ? RIG_COMPOSE_TRUE : RIG_COMPOSE_FALSE;
  return rc;
}

static int read_replicas(rig__compose_ctx *ctx, const rig__cnode *v, int *out)
{
  int64_t n = 0;
  int rc = rig__compose_get_int(ctx, v, &n);
  if (rc == RIG_OK && (n < 0 || n > 10000))
    rc = rig__compose_error(ctx, v, RIG_EPARSE, "must be between 0 and 10000");
  *out = (int)n;
  return rc;
}

static int read_deploy(rig__compose_ctx *ctx, const rig__cnode *node, int *replicas,
                       const rig__cnode **where)
{
  if (rig__cnode_is_null(node))
    return RIG_OK;
  static const char *const known[] = {"replicas", NULL};
  static const char *const unsupported[] = {
      "mode",      "labels",         "update_config", "rollback_config",
      "resources", "restart_policy", "placement",     "endpoint_mode",
      NULL};
  int rc = rig__compose_expect_map(ctx, node);
  if (rc == RIG_OK)
    rc = rig__compose_check_keys(ctx, node, known, unsupported);
  const rig__cnode *r = rig__cnode_get(node, "replicas");
  if (rc == RIG_OK && r) {
    size_t mark = rig__compose_path_push(ctx, "replicas");
    rc = read_replicas(ctx, r, replicas);
    rig__compose_path_pop(ctx, mark);
    *where = r;
  }
  return rc;
}

static int valid_restart(const char *s)
{
  if (!strcmp(s, "no") || !strcmp(s, "always") || !strcmp(s, "unless-stopped") ||
      !strcmp(s, "on-failure"))
    return 1;
  if (strncmp(s, "on-failure:", 11) != 0 || !s[11])
    return 0;
  for (s += 11; *s; s++)
    if (*s < '0' || *s > '9')
      return 0;
  return 1;
}

static int read_tmpfs(rig__compose_ctx *ctx, const rig__cnode *v, rig_compose_service *svc)
{
  int rc = rig__compose_get_strings(ctx, v, 1, &svc->tmpfs);
  for (size_t i = 0; rc == RIG_OK && i < svc->tmpfs.count; i++)
    if (svc->tmpfs.items[i][0] != '/')
      rc =
          rig__compose_error(ctx, v, RIG_EPARSE, "the tmpfs target \"%s\" must be an absolute path",
                             svc->tmpfs.items[i]);
  return rc;
}

static int read_expose(rig__compose_ctx *ctx, const rig__cnode *v, rig_compose_service *svc)
{
  int rc = rig__compose_get_strings(ctx, v, 0, &svc->expose);
  for (size_t i = 0; rc == RIG_OK && i < svc->expose.count; i++) {
    int start, end;
    if (rig__parse_port_range(&start, &end, svc->expose.items[i]) != RIG_OK) {
      size_t mark = rig__compose_path_push_index(ctx, i);
      rc = rig__compose_error(ctx, v->items[i], RIG_EPARSE, "invalid port \"%s\"",
                              svc->expose.items[i]);
      rig__compose_path_pop(ctx, mark);
    }
  }
  return rc;
}

/* One key of a service; the path already names it. */
static int read_key(rig__compose_ctx *ctx, const char *key, const rig__cnode *v,
                    rig_compose_service *svc, int *scale, const rig__cnode **scale_node,
                    int *deploy_replicas, const rig__cnode **deploy_node)
{
  static const struct {
    const char *key;
    size_t offset;
  } strings[] = {
      {"image", offsetof(rig_compose_service, image)},
      {"container_name", offsetof(rig_compose_service, container_name)},
      {"hostname", offsetof(rig_compose_service, hostname)},
      {"domainname", offsetof(rig_compose_service, domainname)},
      {"working_dir", offsetof(rig_compose_service, working_dir)},
      {"user", offsetof(rig_compose_service, user)},
      {"platform", offsetof(rig_compose_service, platform)},
      {"pull_policy", offsetof(rig_compose_service, pull_policy)},
      {"stop_signal", offsetof(rig_compose_service, stop_signal)},
      {"network_mode", offsetof(rig_compose_service, network_mode)},
  };
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    if (strcmp(key, strings[i].key) == 0)
      return rig__compose_expect_string(ctx, v, (const char **)((char *)svc + strings[i].offset));

  static const struct {
    const char *key;
    size_t offset;
  } lists[] = {
      {"dns", offsetof(rig_compose_service, dns)},
      {"dns_search", offsetof(rig_compose_service, dns_search)},
      {"cap_add", offsetof(rig_compose_service, cap_add)},
      {"cap_drop", offsetof(rig_compose_service, cap_drop)},
      {"security_opt", offsetof(rig_compose_service, security_opt)},
      {"profiles", offsetof(rig_compose_service, profiles)},
  };
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
    if (strcmp(key, lists[i].key) == 0)
      return rig__compose_get_strings(ctx, v, 1,
                                      (rig_compose_strings *)((char *)svc + lists[i].offset));

  static const struct {
    const char *key;
    size_t offset;
  } flags[] = {
      {"init", offsetof(rig_compose_service, init)},
      {"tty", offsetof(rig_compose_service, tty)},
      {"stdin_open", offsetof(rig_compose_service, stdin_open)},
      {"privileged", offsetof(rig_compose_service, privileged)},
      {"read_only", offsetof(rig_compose_service, read_only)},
  };
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    if (strcmp(key, flags[i].key) == 0)
      return read_tristate(ctx, v, (rig_compose_tristate *)((char *)svc + flags[i].offset));

  if (strcmp(key, "restart") == 0) {
    const char *restart = NULL;
    int rc = rig__compose_expect_string(ctx, v, &restart);
    if (rc == RIG_OK && restart) {
      if (!valid_restart(restart))
        return rig__compose_error(
            ctx, v, RIG_EPARSE, "must be no, always, on-failure[:N] or unless-stopped, not \"%s\"",
            restart);
      svc->restart = restart;
    }
    return rc;
  }
  if (strcmp(key, "command") == 0)
    return read_command(ctx, v, &svc->command_set, &svc->command);
  if (strcmp(key, "entrypoint") == 0)
    return read_command(ctx, v, &svc->entrypoint_set, &svc->entrypoint);
  if (strcmp(key, "labels") == 0)
    return rig__compose_get_kv(ctx, v, 0, &svc->labels, &svc->label_count);
  if (strcmp(key, "ports") == 0)
    return rig__compose_read_ports(ctx, v, svc);
  if (strcmp(key, "expose") == 0)
    return read_expose(ctx, v, svc);
  if (strcmp(key, "volumes") == 0)
    return rig__compose_read_volumes(ctx, v, svc);
  if (strcmp(key, "tmpfs") == 0)
    return read_tmpfs(ctx, v, svc);
  if (strcmp(key, "depends_on") == 0)
    return read_depends_on(ctx, v, svc);
  if (strcmp(key, "healthcheck") == 0)
    return read_healthcheck(ctx, v, &svc->healthcheck);
  if (strcmp(key, "networks") == 0)
    return read_networks(ctx, v, svc);
  if (strcmp(key, "ulimits") == 0)
    return read_ulimits(ctx, v, svc);
  if (strcmp(key, "extra_hosts") == 0)
    return read_extra_hosts(ctx, v, svc);
  if (strcmp(key, "stop_grace_period") == 0) {
    if (rig__cnode_is_null(v))
      return RIG_OK;
    svc->stop_grace_period_set = 1;
    return rig__compose_get_duration(ctx, v, &svc->stop_grace_period_ns);
  }
  if (strcmp(key, "shm_size") == 0)
    return rig__cnode_is_null(v) ? RIG_OK : rig__compose_get_bytes(ctx, v, &svc->shm_size);
  if (strcmp(key, "scale") == 0) {
    *scale_node = v;
    return read_replicas(ctx, v, scale);
  }
  if (strcmp(key, "deploy") == 0)
    return read_deploy(ctx, v, deploy_replicas, deploy_node);
  return RIG_OK; /* environment, env_file, x-*: read elsewhere */
}

int rig__compose_build_service(rig__compose_ctx *ctx, const char *name, const rig__cnode *node,
                               rig_compose_service *svc)
{
  svc->name = rig__carena_strdup(ctx->out, name);
  svc->file = node->file;
  svc->line = node->line;
  svc->restart = "no";
  svc->replicas = 1;
  svc->init = svc->tty = svc->stdin_open = svc->privileged = svc->read_only = RIG_COMPOSE_UNSET;
  if (rig__cnode_is_null(node))
    return rig__compose_error(ctx, node, RIG_EPARSE, "must be a mapping with at least image:");
  int rc = rig__compose_expect_map(ctx, node);
  if (rc == RIG_OK)
    rc = rig__compose_check_keys(ctx, node, service_keys, service_unsupported);
  int scale = -1, deploy_replicas = -1;
  const rig__cnode *scale_node = NULL, *deploy_node = NULL;
  for (size_t i = 0; i < node->count && rc == RIG_OK; i++) {
    size_t mark = rig__compose_path_push(ctx, node->keys[i]->text);
    rc = read_key(ctx, node->keys[i]->text, node->values[i], svc, &scale, &scale_node,
                  &deploy_replicas, &deploy_node);
    rig__compose_path_pop(ctx, mark);
  }
  if (rc == RIG_OK)
    rc = read_environment(ctx, rig__cnode_get(node, "environment"),
                          rig__cnode_get(node, "env_file"), svc);
  if (rc == RIG_OK)
    rc = rig__compose_extensions(ctx, node, &svc->extensions);
  if (rc != RIG_OK)
    return rc;

  if (scale >= 0 && deploy_replicas >= 0 && scale != deploy_replicas)
    return rig__compose_error(ctx, scale_node, RIG_EPARSE,
                              "scale (%d) and deploy.replicas (%d) differ", scale, deploy_replicas);
  if (scale >= 0)
    svc->replicas = scale;
  else if (deploy_replicas >= 0)
    svc->replicas = deploy_replicas;
  if (!svc->image)
    return rig__compose_error(
        ctx, node, RIG_EPARSE,
        "image is required (stackrig runs existing images; build them first)");
  if (svc->container_name && svc->replicas > 1)
    return rig__compose_error(ctx, scale_node ? scale_node : deploy_node, RIG_EPARSE,
                              "container_name \"%s\" cannot be shared by %d replicas",
                              svc->container_name, svc->replicas);
  if (svc->network_mode && svc->network_count)
    return rig__compose_error(ctx, rig__cnode_get(node, "network_mode"), RIG_EPARSE,
                              "network_mode and networks cannot be used together");
  if (!svc->network_mode && svc->network_count == 0) {
    rig_compose_service_network *net = rig__carena_alloc(ctx->out, 2 * sizeof *net);
    net->network = "default";
    svc->networks = net;
    svc->network_count = 1;
  }
  return RIG_OK;
}
