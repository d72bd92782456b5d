/*
 * compose_mounts.c - a service's ports and volumes, short and long syntax, resolved to the
 * long form: port specs with ranges and host addresses, bind sources made absolute, the
 * per-type options of bind, volume and tmpfs mounts.
 */
#include "compose_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- ports ---- */

static int read_port_long(rig__compose_ctx *ctx, const rig__cnode *item, rig_compose_port *port)
{
  static const char *const known[] = {"target", "published", "host_ip",      "protocol",
                                      "mode",   "name",      "app_protocol", NULL};
  int rc = rig__compose_check_keys(ctx, item, known, NULL);
  if (rc != RIG_OK)
    return rc;
  const rig__cnode *target = rig__cnode_get(item, "target");
  if (!target)
    return rig__compose_error(ctx, item, RIG_EPARSE, "target is required");
  int64_t value = 0;
  size_t mark = rig__compose_path_push(ctx, "target");
  rc = rig__compose_get_int(ctx, target, &value);
  if (rc == RIG_OK && (value < 1 || value > 65535))
    rc = rig__compose_error(ctx, target, RIG_EPARSE, "invalid port %lld: must be in 1-65535",
                            (long long)value);
  rig__compose_path_pop(ctx, mark);
  if (rc != RIG_OK)
    return rc;
  port->target = (int)value;
  port->protocol = "tcp";
  port->mode = "ingress";
  for (size_t i = 0; i < item->count && rc == RIG_OK; i++) {
    const char *key = item->keys[i]->text;
    const rig__cnode *v = item->values[i];
    mark = rig__compose_path_push(ctx, key);
    const char *text = NULL;
    if (strcmp(key, "published") == 0) {
      rc = rig__compose_expect_string(ctx, v, &text);
      if (rc == RIG_OK && text && *text) {
        int start = 0, end = 0;
        if (rig__parse_port_range(&start, &end, text) != RIG_OK || strchr(text, '/'))
          rc = rig__compose_error(ctx, v, RIG_EPARSE, "invalid published port \"%s\"", text);
        port->published_start = start;
        port->published_end = end;
      }
    } else if (strcmp(key, "host_ip") == 0) {
      rc = rig__compose_expect_string(ctx, v, &port->host_ip);
    } else if (strcmp(key, "protocol") == 0) {
      rc = rig__compose_expect_string(ctx, v, &text);
      if (rc == RIG_OK && text) {
        if (strcmp(text, "tcp") && strcmp(text, "udp") && strcmp(text, "sctp"))
          rc = rig__compose_error(ctx, v, RIG_EPARSE, "must be tcp, udp or sctp, not \"%s\"", text);
        port->protocol = text;
      }
    } else if (strcmp(key, "mode") == 0) {
      rc = rig__compose_expect_string(ctx, v, &text);
      if (rc == RIG_OK && text) {
        if (strcmp(text, "ingress") && strcmp(text, "host"))
          rc = rig__compose_error(ctx, v, RIG_EPARSE, "must be ingress or host, not \"%s\"", text);
        port->mode = text;
      }
    } else if (strcmp(key, "name") == 0) {
      rc = rig__compose_expect_string(ctx, v, &port->name);
    } else if (strcmp(key, "app_protocol") == 0) {
      rc = rig__compose_expect_string(ctx, v, &port->app_protocol);
    }
    rig__compose_path_pop(ctx, mark);
  }
  return rc;
}

int rig__compose_read_ports(rig__compose_ctx *ctx, const rig__cnode *node, rig_compose_service *svc)
{
  if (rig__cnode_is_null(node))
    return RIG_OK;
  int rc = rig__compose_expect_seq(ctx, node);
  if (rc != RIG_OK)
    return rc;
  size_t cap = node->count + 1;
  rig_compose_port *ports = rig__carena_alloc(ctx->out, cap * sizeof *ports);
  size_t count = 0;
  for (size_t i = 0; i < node->count && rc == RIG_OK; i++) {
    const rig__cnode *item = node->items[i];
    size_t mark = rig__compose_path_push_index(ctx, i);
    if (item->kind == RIG__CN_MAP) {
      rc = read_port_long(ctx, item, &ports[count]);
      count += rc == RIG_OK;
    } else if (item->kind == RIG__CN_SCALAR && !rig__cnode_is_null(item)) {
      rig__port_spec *specs = NULL;
      size_t n = 0;
      char *message = NULL;
      rc = rig__parse_port_short(&specs, &n, item->text, &message);
      if (rc != RIG_OK) {
        rc = rig__compose_error(ctx, item, rc, "%s", message);
        free(message);
      } else {
        if (count + n >= cap) {
          size_t fresh_cap = (count + n) * 2 + 1;
          rig_compose_port *fresh = rig__carena_alloc(ctx->out, fresh_cap * sizeof *fresh);
          memcpy(fresh, ports, count * sizeof *ports);
          ports = fresh;
          cap = fresh_cap;
        }
        for (size_t k = 0; k < n; k++) {
          rig_compose_port *p = &ports[count++];
          p->target = specs[k].target;
          p->published_start = specs[k].published_start;
          p->published_end = specs[k].published_end;
          p->host_ip = rig__carena_strdup(ctx->out, specs[k].host_ip);
          p->protocol = rig__carena_strdup(ctx->out, specs[k].protocol);
          p->mode = "ingress";
          free((char *)specs[k].host_ip);
          free((char *)specs[k].protocol);
        }
        free(specs);
      }
    } else {
      rc = rig__compose_error(ctx, item, RIG_EPARSE,
                              "must be a port (\"8080:80\") or a mapping, not %s",
                              rig__cnode_kind_name(item));
    }
    rig__compose_path_pop(ctx, mark);
  }
  svc->ports = ports;
  svc->port_count = count;
  return rc;
}

/* ---- volumes ---- */

static int is_path_source(const char *source)
{
  return source[0] == '.' || source[0] == '/' || source[0] == '~';
}

static const char *resolve_bind(rig__compose_ctx *ctx, const char *source)
{
  char *expanded = rig__path_expand_home(ctx->tmp, source, ctx->home);
  return rig__path_join_clean(ctx->out, ctx->project_dir, expanded);
}

static int check_target(rig__compose_ctx *ctx, const rig__cnode *node, const char *target)
{
  if (!target || target[0] != '/')
    return rig__compose_error(ctx, node, RIG_EPARSE,
                              "the mount target \"%s\" must be an absolute path",
                              target ? target : "");
  return RIG_OK;
}

static int read_volume_short(rig__compose_ctx *ctx, const rig__cnode *item, rig_compose_mount *m)
{
  const char *text = item->text;
  const char *first = strchr(text, ':');
  const char *second = first ? strchr(first + 1, ':') : NULL;
  if (second && strchr(second + 1, ':'))
    return rig__compose_error(ctx, item, RIG_EPARSE, "invalid volume \"%s\": too many colons",
                              text);
  if (!first) {
    m->type = RIG_COMPOSE_MOUNT_VOLUME;
    m->target = rig__carena_strdup(ctx->out, text);
    return check_target(ctx, item, m->target);
  }
  char *source = rig__carena_strndup(ctx->tmp, text, (size_t)(first - text));
  const char *target_start = first + 1;
  m->target = rig__carena_strndup(ctx->out, target_start,
                                  second ? (size_t)(second - target_start) : strlen(target_start));
  if (source[0] == '\0')
    return rig__compose_error(ctx, item, RIG_EPARSE, "invalid volume \"%s\": the source is empty",
                              text);
  int rc = check_target(ctx, item, m->target);
  if (rc != RIG_OK)
    return rc;
  if (is_path_source(source)) {
    m->type = RIG_COMPOSE_MOUNT_BIND;
    m->source = resolve_bind(ctx, source);
    m->bind_create_host_path = 1;
  } else {
    m->type = RIG_COMPOSE_MOUNT_VOLUME;
    m->source = rig__carena_strdup(ctx->out, source);
  }
  if (!second)
    return RIG_OK;
  char *options = rig__carena_strdup(ctx->tmp, second + 1);
  for (char *save = NULL, *opt = strtok_r(options, ",", &save); opt;
       opt = strtok_r(NULL, ",", &save)) {
    if (strcmp(opt, "ro") == 0)
      m->read_only = 1;
    else if (strcmp(opt, "rw") == 0)
      m->read_only = 0;
    else if (strcmp(opt, "z") == 0 || strcmp(opt, "Z") == 0)
      m->bind_selinux = opt[0] == 'z' ? "z" : "Z";
    else if (strcmp(opt, "nocopy") == 0)
      m->volume_nocopy = 1;
    else if (!strcmp(opt, "shared") || !strcmp(opt, "rshared") || !strcmp(opt, "slave") ||
             !strcmp(opt, "rslave") || !strcmp(opt, "private") || !strcmp(opt, "rprivate"))
      m->bind_propagation = rig__carena_strdup(ctx->out, opt);
    else if (!strcmp(opt, "cached") || !strcmp(opt, "delegated") || !strcmp(opt, "consistent"))
      m->consistency = rig__carena_strdup(ctx->out, opt);
    else
      return rig__compose_error(ctx, item, RIG_EPARSE,
                                "invalid volume \"%s\": unknown option \"%s\"", text, opt);
  }
  if (m->type == RIG_COMPOSE_MOUNT_VOLUME && (m->bind_selinux || m->bind_propagation)) {
    /* the engine applies z/Z and propagation to binds only; keep them out of the model */
    m->bind_selinux = NULL;
    m->bind_propagation = NULL;
  }
  if (m->type == RIG_COMPOSE_MOUNT_BIND && m->volume_nocopy)
    return rig__compose_error(ctx, item, RIG_EPARSE,
                              "invalid volume \"%s\": nocopy applies to named volumes only", text);
  return RIG_OK;
}

static int read_volume_options(rig__compose_ctx *ctx, const rig__cnode *item, const char *key,
                               const char *const *known, const rig__cnode **out)
{
  const rig__cnode *sub = rig__cnode_get(item, key);
  *out = NULL;
  if (!sub || rig__cnode_is_null(sub))
    return RIG_OK;
  size_t mark = rig__compose_path_push(ctx, key);
  int rc = rig__compose_expect_map(ctx, sub);
  if (rc == RIG_OK)
    rc = rig__compose_check_keys(ctx, sub, known, NULL);
  rig__compose_path_pop(ctx, mark);
  *out = sub;
  return rc;
}

static int read_volume_long(rig__compose_ctx *ctx, const rig__cnode *item, rig_compose_mount *m)
{
  static const char *const known[] = {"type", "source", "target", "read_only", "consistency",
                                      "bind", "volume", "tmpfs",  NULL};
  static const char *const unsupported[] = {"image", NULL};
  int rc = rig__compose_check_keys(ctx, item, known, unsupported);
  if (rc != RIG_OK)
    return rc;
  const rig__cnode *type = rig__cnode_get(item, "type");
  const char *type_text = NULL;
  if (!type)
    return rig__compose_error(ctx, item, RIG_EPARSE, "type is required (bind, volume or tmpfs)");
  size_t mark = rig__compose_path_push(ctx, "type");
  rc = rig__compose_expect_scalar(ctx, type, &type_text);
  if (rc == RIG_OK) {
    if (strcmp(type_text, "bind") == 0)
      m->type = RIG_COMPOSE_MOUNT_BIND;
    else if (strcmp(type_text, "volume") == 0)
      m->type = RIG_COMPOSE_MOUNT_VOLUME;
    else if (strcmp(type_text, "tmpfs") == 0)
      m->type = RIG_COMPOSE_MOUNT_TMPFS;
    else if (!strcmp(type_text, "npipe") || !strcmp(type_text, "cluster") ||
             !strcmp(type_text, "image"))
      rc = rig__compose_error(ctx, type, RIG_EUNSUPPORTED,
                              "volume type \"%s\" is not supported by stackrig yet", type_text);
    else
      rc = rig__compose_error(ctx, type, RIG_EPARSE, "must be bind, volume or tmpfs, not \"%s\"",
                              type_text);
  }
  rig__compose_path_pop(ctx, mark);
  if (rc != RIG_OK)
    return rc;
  const char *source = NULL;
  if ((rc = rig__compose_sub_string(ctx, item, "source", &source)) != RIG_OK ||
      (rc = rig__compose_sub_string(ctx, item, "target", &m->target)) != RIG_OK ||
      (rc = rig__compose_sub_bool(ctx, item, "read_only", &m->read_only)) != RIG_OK ||
      (rc = rig__compose_sub_string(ctx, item, "consistency", &m->consistency)) != RIG_OK)
    return rc;
  if (!m->target)
    return rig__compose_error(ctx, item, RIG_EPARSE, "target is required");
  if ((rc = check_target(ctx, rig__cnode_get(item, "target"), m->target)) != RIG_OK)
    return rc;

  static const char *const bind_keys[] = {"propagation", "create_host_path", "selinux", NULL};
  static const char *const volume_keys[] = {"nocopy", "subpath", NULL};
  static const char *const tmpfs_keys[] = {"size", "mode", NULL};
  const rig__cnode *bind = NULL, *volume = NULL, *tmpfs = NULL;
  if ((rc = read_volume_options(ctx, item, "bind", bind_keys, &bind)) != RIG_OK ||
      (rc = read_volume_options(ctx, item, "volume", volume_keys, &volume)) != RIG_OK ||
      (rc = read_volume_options(ctx, item, "tmpfs", tmpfs_keys, &tmpfs)) != RIG_OK)
    return rc;
  const char *wrong = m->type != RIG_COMPOSE_MOUNT_BIND && bind       ? "bind"
                      : m->type != RIG_COMPOSE_MOUNT_VOLUME && volume ? "volume"
                      : m->type != RIG_COMPOSE_MOUNT_TMPFS && tmpfs   ? "tmpfs"
                                                                      : NULL;
  if (wrong)
    return rig__compose_error(ctx, item, RIG_EPARSE, "%s options given for a mount of type %s",
                              wrong, type_text);

  switch (m->type) {
  case RIG_COMPOSE_MOUNT_BIND:
    if (!source || !*source)
      return rig__compose_error(ctx, item, RIG_EPARSE, "a bind mount needs a source");
    m->source = resolve_bind(ctx, source);
    if (bind) {
      /* with a bind: section, create_host_path defaults to true (as compose) */
      m->bind_create_host_path = 1;
      size_t b = rig__compose_path_push(ctx, "bind");
      if ((rc = rig__compose_sub_bool(ctx, bind, "create_host_path", &m->bind_create_host_path)) ==
              RIG_OK &&
          (rc = rig__compose_sub_string(ctx, bind, "propagation", &m->bind_propagation)) == RIG_OK)
        rc = rig__compose_sub_string(ctx, bind, "selinux", &m->bind_selinux);
      if (rc == RIG_OK && m->bind_selinux && strcmp(m->bind_selinux, "z") &&
          strcmp(m->bind_selinux, "Z"))
        rc = rig__compose_error(ctx, rig__cnode_get(bind, "selinux"), RIG_EPARSE,
                                "selinux must be z or Z");
      rig__compose_path_pop(ctx, b);
    }
    break;
  case RIG_COMPOSE_MOUNT_VOLUME:
    m->source = source && *source ? source : NULL;
    if (volume) {
      size_t b = rig__compose_path_push(ctx, "volume");
      if ((rc = rig__compose_sub_bool(ctx, volume, "nocopy", &m->volume_nocopy)) == RIG_OK)
        rc = rig__compose_sub_string(ctx, volume, "subpath", &m->volume_subpath);
      rig__compose_path_pop(ctx, b);
    }
    break;
  case RIG_COMPOSE_MOUNT_TMPFS:
    if (source && *source)
      return rig__compose_error(ctx, item, RIG_EPARSE, "a tmpfs mount takes no source");
    if (tmpfs) {
      size_t b = rig__compose_path_push(ctx, "tmpfs");
      const rig__cnode *size = rig__cnode_get(tmpfs, "size");
      const rig__cnode *mode = rig__cnode_get(tmpfs, "mode");
      if (size) {
        size_t s = rig__compose_path_push(ctx, "size");
        rc = rig__compose_get_bytes(ctx, size, &m->tmpfs_size);
        rig__compose_path_pop(ctx, s);
      }
      if (rc == RIG_OK && mode) {
        size_t s = rig__compose_path_push(ctx, "mode");
        int64_t value = 0;
        if (mode->kind == RIG__CN_SCALAR && !mode->plain) {
          char *end = NULL;
          value = strtoll(mode->text, &end, 8);
          if (!*mode->text || *end)
            rc = rig__compose_error(ctx, mode, RIG_EPARSE, "must be an octal file mode, not \"%s\"",
                                    mode->text);
        } else {
          rc = rig__compose_get_int(ctx, mode, &value);
        }
        m->tmpfs_mode = (int)value;
        rig__compose_path_pop(ctx, s);
      }
      rig__compose_path_pop(ctx, b);
    }
    break;
  }
  return rc;
}

int rig__compose_read_volumes(rig__compose_ctx *ctx, const rig__cnode *node,
                              rig_compose_service *svc)
{
  if (rig__cnode_is_null(node))
    return RIG_OK;
  int rc = rig__compose_expect_seq(ctx, node);
  if (rc != RIG_OK)
    return rc;
  rig_compose_mount *mounts = rig__carena_alloc(ctx->out, (node->count + 1) * sizeof *mounts);
  for (size_t i = 0; i < node->count && rc == RIG_OK; i++) {
    const rig__cnode *item = node->items[i];
    size_t mark = rig__compose_path_push_index(ctx, i);
    if (item->kind == RIG__CN_MAP)
      rc = read_volume_long(ctx, item, &mounts[i]);
    else if (item->kind == RIG__CN_SCALAR && !rig__cnode_is_null(item))
      rc = read_volume_short(ctx, item, &mounts[i]);
    else
      rc = rig__compose_error(ctx, item, RIG_EPARSE,
                              "must be a volume (\"./data:/data\") or a mapping, not %s",
                              rig__cnode_kind_name(item));
    rig__compose_path_pop(ctx, mark);
  }
  svc->volumes = mounts;
  svc->volume_count = node->count;
  return rc;
}
