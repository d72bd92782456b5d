/*
 * stack_spec.c - a compose service turned into the engine's container spec: command and
 * entrypoint, environment, compose's labels, healthcheck, ports, mounts (binds for the
 * short syntax so that a missing host folder is created, Mounts for the rest), networks
 * with the service's name as an alias, restart policy, stop signal and grace period.
 * Pure: no engine is involved, so the unit tests check it field by field.
 */
#include "stack_internal.h"

#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "util.h"

void rig__spec_dispose(rig__spec *h)
{
  rig__labels_dispose(&h->labels);
  free(h->label_view);
  rig__port_list_dispose(&h->ports);
  for (char **p = h->env; p && *p; p++)
    free(*p);
  free(h->env);
  for (char **p = h->binds; p && *p; p++)
    free(*p);
  free(h->binds);
  free(h->mounts);
  for (size_t i = 0; i < h->endpoint_count; i++) {
    for (char **p = h->aliases[i]; p && *p; p++)
      free(*p);
    free(h->aliases[i]);
  }
  free(h->aliases);
  free(h->endpoints);
  free(h->health_argv);
  free(h->ulimits);
  free(h->network_mode);
  free(h->restart);
}

static int compare_priority(const void *a, const void *b)
{
  const rig_compose_service_network *x = a, *y = b;
  return (y->priority > x->priority) - (y->priority < x->priority);
}

int rig__stack_build_spec(rig__spec *h, const rig_compose_project *project,
                          const rig_compose_service *svc, const rig__label_context *labels,
                          const char *container_name, int number)
{
  memset(h, 0, sizeof *h);
  rig_docker_container_spec *spec = &h->spec;
  rig_docker_container_spec init = RIG_DOCKER_CONTAINER_SPEC_INIT;
  *spec = init;
  int rc;

  char hash[65];
  if ((rc = rig__stack_config_hash(hash, project, svc)) != RIG_OK)
    return rc;
  rig__stack_container_labels(&h->labels, labels, svc, number, hash);
  h->label_view = rig__labels_view(&h->labels);
  spec->labels = h->label_view;
  spec->label_count = h->labels.count;
  spec->name = container_name;
  spec->image = svc->image;
  spec->platform = svc->platform;
  if (svc->command_set)
    spec->cmd = svc->command.items ? svc->command.items : h->empty_entrypoint + 1;
  if (svc->entrypoint_set) {
    h->empty_entrypoint[0] = "";
    h->empty_entrypoint[1] = NULL;
    spec->entrypoint = svc->entrypoint.count ? svc->entrypoint.items : h->empty_entrypoint;
  }
  h->env = rig__calloc(svc->environment_count + 1, sizeof *h->env);
  size_t env_count = 0;
  for (size_t i = 0; i < svc->environment_count; i++)
    if (svc->environment[i].value)
      h->env[env_count++] =
          rig__sprintf("%s=%s", svc->environment[i].key, svc->environment[i].value);
  spec->env = (const char *const *)h->env;
  spec->hostname = svc->hostname;
  spec->domainname = svc->domainname;
  spec->working_dir = svc->working_dir;
  spec->user = svc->user;
  spec->tty = svc->tty == RIG_COMPOSE_TRUE;
  spec->open_stdin = svc->stdin_open == RIG_COMPOSE_TRUE;
  spec->stop_signal = svc->stop_signal;
  if (svc->stop_grace_period_set) {
    spec->stop_timeout_set = 1;
    spec->stop_timeout_s = (int)((svc->stop_grace_period_ns + 999999999LL) / 1000000000LL);
  }

  const rig_compose_healthcheck *hc = &svc->healthcheck;
  if (hc->set) {
    rig_docker_healthcheck *dh = &spec->healthcheck;
    if (hc->kind == RIG_COMPOSE_HEALTH_NONE) {
      h->health_test[0] = "NONE";
      dh->test = h->health_test;
    } else if (hc->kind == RIG_COMPOSE_HEALTH_CMD_SHELL) {
      h->health_test[0] = "CMD-SHELL";
      h->health_test[1] = hc->test.count ? hc->test.items[0] : "";
      dh->test = h->health_test;
    } else if (hc->kind == RIG_COMPOSE_HEALTH_CMD) {
      h->health_argv = rig__calloc(hc->test.count + 2, sizeof *h->health_argv);
      h->health_argv[0] = "CMD";
      for (size_t i = 0; i < hc->test.count; i++)
        h->health_argv[i + 1] = hc->test.items[i];
      dh->test = h->health_argv;
    }
    dh->interval_ns = hc->interval_ns;
    dh->timeout_ns = hc->timeout_ns;
    dh->retries = hc->retries;
    dh->start_period_ns = hc->start_period_ns;
  }

  if ((rc = rig__stack_resolve_ports(&h->ports, svc)) != RIG_OK)
    return rc;
  spec->ports = h->ports.bindings;
  spec->port_count = h->ports.binding_count;
  spec->expose = (const char *const *)h->ports.expose;

  h->binds = rig__calloc(svc->volume_count + 1, sizeof *h->binds);
  h->mounts = rig__calloc(svc->volume_count + 1, sizeof *h->mounts);
  size_t bind_count = 0, mount_count = 0;
  for (size_t i = 0; i < svc->volume_count; i++) {
    const rig_compose_mount *m = &svc->volumes[i];
    if (m->type == RIG_COMPOSE_MOUNT_BIND && m->bind_create_host_path) {
      /* Binds (not Mounts) create a missing host folder, as the short syntax promises. */
      rig_buf text = RIG_BUF_INIT;
      rig__buf_printf(&text, "%s:%s", m->source, m->target);
      const char *sep = ":";
      if (m->read_only) {
        rig__buf_printf(&text, "%sro", sep);
        sep = ",";
      }
      if (m->bind_selinux) {
        rig__buf_printf(&text, "%s%s", sep, m->bind_selinux);
        sep = ",";
      }
      if (m->bind_propagation)
        rig__buf_printf(&text, "%s%s", sep, m->bind_propagation);
      h->binds[bind_count++] = rig__buf_detach(&text);
      continue;
    }
    rig_docker_mount *dm = &h->mounts[mount_count++];
    dm->target = m->target;
    dm->read_only = m->read_only;
    if (m->type == RIG_COMPOSE_MOUNT_BIND) {
      dm->type = RIG_DOCKER_MOUNT_BIND;
      dm->source = m->source;
      dm->bind_propagation = m->bind_propagation;
    } else if (m->type == RIG_COMPOSE_MOUNT_VOLUME) {
      dm->type = RIG_DOCKER_MOUNT_VOLUME;
      dm->volume_nocopy = m->volume_nocopy;
      if (m->source) {
        const rig_compose_volume *vol = rig_compose_find_volume(project, m->source);
        dm->source = vol ? vol->name : m->source;
      }
    } else {
      dm->type = RIG_DOCKER_MOUNT_TMPFS;
      dm->tmpfs_size = m->tmpfs_size;
      dm->tmpfs_mode = m->tmpfs_mode;
    }
  }
  spec->binds = (const char *const *)h->binds;
  spec->mounts = h->mounts;
  spec->mount_count = mount_count;
  spec->tmpfs = svc->tmpfs.items;

  if (svc->network_mode) {
    if (strncmp(svc->network_mode, "service:", 8) == 0) {
      const rig_compose_service *other = rig_compose_find_service(project, svc->network_mode + 8);
      if (!other)
        return rig_error_set(RIG_EINVAL, "service %s: network_mode %s names no service", svc->name,
                             svc->network_mode);
      char *name = rig__stack_container_name(project->name, other, 1);
      h->network_mode = rig__sprintf("container:%s", name);
      free(name);
    } else {
      h->network_mode = rig__strdup(svc->network_mode);
    }
    spec->network_mode = h->network_mode;
  } else if (svc->network_count) {
    rig_compose_service_network *sorted = rig__calloc(svc->network_count, sizeof *sorted);
    memcpy(sorted, svc->networks, svc->network_count * sizeof *sorted);
    qsort(sorted, svc->network_count, sizeof *sorted, compare_priority);
    h->endpoints = rig__calloc(svc->network_count, sizeof *h->endpoints);
    h->aliases = rig__calloc(svc->network_count, sizeof *h->aliases);
    for (size_t i = 0; i < svc->network_count; i++) {
      const rig_compose_network *net = rig_compose_find_network(project, sorted[i].network);
      h->aliases[i] = rig__calloc(sorted[i].aliases.count + 2, sizeof **h->aliases);
      /* As compose: every container answers to its service's name on its networks. */
      h->aliases[i][0] = rig__strdup(svc->name);
      for (size_t a = 0; a < sorted[i].aliases.count; a++)
        h->aliases[i][a + 1] = rig__strdup(sorted[i].aliases.items[a]);
      h->endpoints[i].network = net ? net->name : sorted[i].network;
      h->endpoints[i].aliases = (const char *const *)h->aliases[i];
      h->endpoints[i].ipv4_address = sorted[i].ipv4_address;
      h->endpoint_count++;
    }
    free(sorted);
    spec->endpoints = h->endpoints;
    spec->endpoint_count = h->endpoint_count;
    spec->network_mode = h->endpoints[0].network;
  }

  if (svc->restart && *svc->restart) {
    const char *colon = strchr(svc->restart, ':');
    h->restart = colon ? rig__strndup(svc->restart, (size_t)(colon - svc->restart))
                       : rig__strdup(svc->restart);
    spec->restart_policy = h->restart;
    if (colon)
      spec->restart_max_retries = atoi(colon + 1);
  }
  spec->init = svc->init == RIG_COMPOSE_TRUE ? 1 : svc->init == RIG_COMPOSE_FALSE ? -1 : 0;
  spec->privileged = svc->privileged == RIG_COMPOSE_TRUE;
  spec->read_only_rootfs = svc->read_only == RIG_COMPOSE_TRUE;
  spec->cap_add = svc->cap_add.items;
  spec->cap_drop = svc->cap_drop.items;
  spec->security_opt = svc->security_opt.items;
  if (svc->ulimit_count) {
    h->ulimits = rig__calloc(svc->ulimit_count, sizeof *h->ulimits);
    for (size_t i = 0; i < svc->ulimit_count; i++) {
      h->ulimits[i].name = svc->ulimits[i].name;
      h->ulimits[i].soft = svc->ulimits[i].soft;
      h->ulimits[i].hard = svc->ulimits[i].hard;
    }
    spec->ulimits = h->ulimits;
    spec->ulimit_count = svc->ulimit_count;
  }
  spec->shm_size = svc->shm_size;
  spec->extra_hosts = svc->extra_hosts.items;
  return RIG_OK;
}
