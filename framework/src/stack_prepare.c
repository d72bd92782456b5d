/*
 * stack_prepare.c - what up needs before any container: the images (pulled by policy;
 * a missing one is an error naming it, with a hint at compose/images/build for the
 * default stack's), and the project's networks and volumes (existing ones reused, as
 * compose does; external ones must exist).
 */
#include "stack_internal.h"

#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "util.h"

int rig__stack_ensure_image(rig_stack *stack, rig_docker *docker, const rig_compose_service *svc,
                            rig_stack_pull_policy policy)
{
  if (svc->pull_policy) {
    if (strcmp(svc->pull_policy, "always") == 0)
      policy = RIG_STACK_PULL_ALWAYS;
    else if (strcmp(svc->pull_policy, "never") == 0)
      policy = RIG_STACK_PULL_NEVER;
    else if (strcmp(svc->pull_policy, "missing") == 0 ||
             strcmp(svc->pull_policy, "if_not_present") == 0)
      policy = RIG_STACK_PULL_MISSING;
  }
  int exists = 0, rc;
  if (policy != RIG_STACK_PULL_ALWAYS) {
    if ((rc = rig_docker_image_exists(&exists, docker, svc->image)) != RIG_OK)
      return rc;
    if (exists)
      return RIG_OK;
  }
  if (policy == RIG_STACK_PULL_NEVER) {
    rc = rig_error_set(RIG_EIMAGE,
                       "service %s: image %s is not present and the pull policy "
                       "is never",
                       svc->name, svc->image);
  } else {
    rig__stack_progress(stack, svc->name, NULL, RIG_STACK_PHASE_PULLING, -1, NULL);
    if ((rc = rig_docker_image_pull(docker, svc->image, NULL)) == RIG_OK)
      return RIG_OK;
    if (rc == RIG_ECONNECT)
      return rc;
    rig_error_wrap(RIG_EIMAGE, "service %s: image %s is missing and could not be pulled", svc->name,
                   svc->image);
    rc = RIG_EIMAGE;
  }
  rig_error_add_detail("image", "%s", svc->image);
  if (rig__stack_is_default_stack_image(svc->image))
    rig_error_add_detail("hint", "build the default stack's images offline: run "
                                 "compose/images/build and eval its output "
                                 "(eval \"$(compose/images/build)\")");
  else
    rig_error_add_detail("hint", "build or load the image %s on this engine first", svc->image);
  return rc;
}

static int service_uses_network(const rig_compose_project *project, const char *key)
{
  for (size_t s = 0; s < project->service_count; s++)
    for (size_t n = 0; n < project->services[s].network_count; n++)
      if (strcmp(project->services[s].networks[n].network, key) == 0)
        return 1;
  return 0;
}

/* driver_opts as the docker module takes them (strings borrowed); free() it. */
static rig_docker_label *driver_options(const rig_compose_kv *items, size_t count)
{
  rig_docker_label *opts = rig__calloc(count + 1, sizeof *opts);
  for (size_t i = 0; i < count; i++) {
    opts[i].key = items[i].key;
    opts[i].value = items[i].value;
  }
  return opts;
}

int rig__stack_ensure_networks(rig_stack *stack, rig_docker *docker,
                               const rig__label_context *label_ctx)
{
  const rig_compose_project *project = stack->project;
  for (size_t i = 0; i < project->network_count; i++) {
    const rig_compose_network *net = &project->networks[i];
    if (!service_uses_network(project, net->key))
      continue;
    rig_docker_network *existing = NULL;
    int rc = rig_docker_network_inspect(&existing, docker, net->name);
    if (rc == RIG_OK) {
      rig_docker_network_free(existing);
      continue; /* compose reuses it too (external, or left by an earlier run) */
    }
    if (rc != RIG_ENOTFOUND)
      return rig_error_wrap(RIG_OK, "network %s", net->name);
    if (net->external)
      return rig_error_set(RIG_ENOTFOUND,
                           "external network %s does not exist (create it "
                           "first: docker network create %s)",
                           net->name, net->name);
    rig__stack_progress(stack, NULL, net->name, RIG_STACK_PHASE_CREATING, -1, NULL);
    rig__labels labels = {0};
    rig__stack_network_labels(&labels, label_ctx, net);
    rig_docker_label *view = rig__labels_view(&labels);
    rig_docker_label *opts = driver_options(net->driver_opts, net->driver_opt_count);
    rig_docker_network_spec spec = RIG_DOCKER_NETWORK_SPEC_INIT;
    spec.name = net->name;
    spec.driver = net->driver;
    spec.labels = view;
    spec.label_count = labels.count;
    spec.driver_options = opts;
    spec.driver_option_count = net->driver_opt_count;
    spec.internal = net->internal;
    spec.attachable = net->attachable;
    spec.enable_ipv6 = net->enable_ipv6 == RIG_COMPOSE_TRUE;
    rc = rig_docker_network_create(NULL, docker, &spec);
    free(view);
    free(opts);
    rig__labels_dispose(&labels);
    /* Another process creating the same network at the same moment is fine: use it. */
    if (rc != RIG_OK && rc != RIG_ECONFLICT)
      return rig_error_wrap(RIG_OK, "creating network %s", net->name);
  }
  return RIG_OK;
}

int rig__stack_ensure_volumes(rig_stack *stack, rig_docker *docker,
                              const rig__label_context *label_ctx)
{
  const rig_compose_project *project = stack->project;
  for (size_t i = 0; i < project->volume_count; i++) {
    const rig_compose_volume *vol = &project->volumes[i];
    rig_docker_volume *existing = NULL;
    int rc = rig_docker_volume_inspect(&existing, docker, vol->name);
    if (rc == RIG_OK) {
      rig_docker_volume_free(existing);
      continue;
    }
    if (rc != RIG_ENOTFOUND)
      return rig_error_wrap(RIG_OK, "volume %s", vol->name);
    if (vol->external)
      return rig_error_set(RIG_ENOTFOUND,
                           "external volume %s does not exist (create it "
                           "first: docker volume create %s)",
                           vol->name, vol->name);
    rig__stack_progress(stack, NULL, vol->name, RIG_STACK_PHASE_CREATING, -1, NULL);
    rig__labels labels = {0};
    rig__stack_volume_labels(&labels, label_ctx, vol);
    rig_docker_label *view = rig__labels_view(&labels);
    rig_docker_label *opts = driver_options(vol->driver_opts, vol->driver_opt_count);
    rig_docker_volume_spec spec = RIG_DOCKER_VOLUME_SPEC_INIT;
    spec.name = vol->name;
    spec.driver = vol->driver;
    spec.labels = view;
    spec.label_count = labels.count;
    spec.driver_options = opts;
    spec.driver_option_count = vol->driver_opt_count;
    rc = rig_docker_volume_create(NULL, docker, &spec);
    free(view);
    free(opts);
    rig__labels_dispose(&labels);
    if (rc != RIG_OK)
      return rig_error_wrap(RIG_OK, "creating volume %s", vol->name);
  }
  return RIG_OK;
}
