/*
 * stack_plan.c - the dependency graph of a stack's services turned into waves: wave 0
 * holds the services that depend on nothing, wave k those whose deepest dependency is in
 * wave k-1. Up walks the waves forward (each service starting as soon as its own
 * dependencies allow), down walks them backward. Undefined dependencies are errors unless
 * marked `required: false`; cycles are errors that name the cycle.
 */
#include "stack_internal.h"

#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"
#include "util.h"

void rig__plan_free(rig__plan *plan)
{
  if (!plan)
    return;
  for (size_t i = 0; i < plan->node_count; i++) {
    free(plan->deps[i]);
    free(plan->dep_origin[i]);
  }
  free(plan->deps);
  free(plan->dep_origin);
  free(plan->dep_count);
  free(plan->wave_of);
  free(plan->order);
  free(plan->wave_start);
  for (size_t i = 0; i < plan->skipped_count; i++)
    free(plan->skipped[i]);
  free(plan->skipped);
  free(plan);
}

static long find_node(const rig__plan_node *nodes, size_t count, const char *name)
{
  for (size_t i = 0; i < count; i++)
    if (strcmp(nodes[i].name, name) == 0)
      return (long)i;
  return -1;
}

/* Follows dependencies among the nodes left over by the topological sort (each of which
 * has a leftover dependency) until one repeats: that stretch is a cycle. */
static int report_cycle(const rig__plan *plan, const rig__plan_node *nodes, const int *placed)
{
  size_t n = plan->node_count;
  size_t start = 0;
  while (start < n && placed[start])
    start++;
  long *seen_at = rig__malloc(n * sizeof *seen_at);
  size_t *path = rig__malloc((n + 1) * sizeof *path);
  for (size_t i = 0; i < n; i++)
    seen_at[i] = -1;
  size_t len = 0, current = start;
  while (seen_at[current] < 0) {
    seen_at[current] = (long)len;
    path[len++] = current;
    size_t next = current;
    for (size_t d = 0; d < plan->dep_count[current]; d++) {
      if (!placed[plan->deps[current][d]]) {
        next = plan->deps[current][d];
        break;
      }
    }
    current = next;
  }
  rig_buf text = RIG_BUF_INIT;
  for (size_t i = (size_t)seen_at[current]; i < len; i++)
    rig__buf_printf(&text, "%s -> ", nodes[path[i]].name);
  rig__buf_puts(&text, nodes[current].name);
  int rc = rig_error_set(RIG_EINVAL, "dependency cycle: %s", text.data);
  rig_error_add_detail("cycle", "%s", text.data);
  rig__buf_dispose(&text);
  free(seen_at);
  free(path);
  return rc;
}

int rig__plan_build(rig__plan **out, const rig__plan_node *nodes, size_t count)
{
  rig__plan *plan = rig__calloc(1, sizeof *plan);
  plan->node_count = count;
  plan->deps = rig__calloc(count ? count : 1, sizeof *plan->deps);
  plan->dep_origin = rig__calloc(count ? count : 1, sizeof *plan->dep_origin);
  plan->dep_count = rig__calloc(count ? count : 1, sizeof *plan->dep_count);
  plan->wave_of = rig__calloc(count ? count : 1, sizeof *plan->wave_of);
  plan->order = rig__calloc(count ? count : 1, sizeof *plan->order);
  int rc = RIG_OK;
  int *placed = rig__calloc(count ? count : 1, sizeof *placed);

  for (size_t i = 0; i < count; i++) {
    plan->deps[i] = rig__calloc(nodes[i].dep_count + 1, sizeof **plan->deps);
    plan->dep_origin[i] = rig__calloc(nodes[i].dep_count + 1, sizeof **plan->dep_origin);
    for (size_t d = 0; d < nodes[i].dep_count; d++) {
      const char *dep = nodes[i].deps[d];
      long at = find_node(nodes, count, dep);
      int required = nodes[i].dep_required ? nodes[i].dep_required[d] : 1;
      if (at < 0) {
        if (required) {
          rc = rig_error_set(RIG_EINVAL, "service %s depends on undefined service %s",
                             nodes[i].name, dep);
          rig_error_add_detail("service", "%s", nodes[i].name);
          goto cleanup;
        }
        plan->skipped =
            rig__realloc(plan->skipped, (plan->skipped_count + 1) * sizeof *plan->skipped);
        plan->skipped[plan->skipped_count++] = rig__sprintf(
            "service %s: optional dependency %s is not defined: skipped", nodes[i].name, dep);
        continue;
      }
      if ((size_t)at == i) {
        rc = rig_error_set(RIG_EINVAL, "dependency cycle: %s -> %s", nodes[i].name, nodes[i].name);
        rig_error_add_detail("cycle", "%s -> %s", nodes[i].name, nodes[i].name);
        goto cleanup;
      }
      int duplicate = 0;
      for (size_t k = 0; k < plan->dep_count[i]; k++)
        duplicate |= plan->deps[i][k] == (size_t)at;
      if (duplicate)
        continue;
      plan->dep_origin[i][plan->dep_count[i]] = d;
      plan->deps[i][plan->dep_count[i]++] = (size_t)at;
    }
  }

  /* Longest-path layering: repeat passes placing every node whose dependencies are all
   * placed in earlier passes. n passes at most; what stays unplaced is on or behind a cycle. */
  size_t placed_count = 0, wave = 0;
  int *placed_now = rig__calloc(count ? count : 1, sizeof *placed_now);
  while (placed_count < count) {
    size_t in_this_wave = 0;
    for (size_t i = 0; i < count; i++) {
      if (placed[i])
        continue;
      int ready = 1;
      for (size_t d = 0; d < plan->dep_count[i] && ready; d++)
        ready = placed[plan->deps[i][d]];
      if (ready) {
        placed_now[i] = 1;
        plan->wave_of[i] = wave;
        in_this_wave++;
      }
    }
    if (in_this_wave == 0)
      break;
    for (size_t i = 0; i < count; i++)
      if (placed_now[i]) {
        placed[i] = 1;
        placed_now[i] = 0;
      }
    placed_count += in_this_wave;
    wave++;
  }
  free(placed_now);
  if (placed_count < count) {
    rc = report_cycle(plan, nodes, placed);
    goto cleanup;
  }

  plan->wave_count = wave;
  plan->wave_start = rig__calloc(wave + 1, sizeof *plan->wave_start);
  size_t at = 0;
  for (size_t w = 0; w < wave; w++) {
    plan->wave_start[w] = at;
    for (size_t i = 0; i < count; i++)
      if (plan->wave_of[i] == w)
        plan->order[at++] = i;
  }
  plan->wave_start[wave] = at;

cleanup:
  free(placed);
  if (rc != RIG_OK) {
    rig__plan_free(plan);
    return rc;
  }
  *out = plan;
  return RIG_OK;
}

int rig__plan_from_project(rig__plan **out, const rig_compose_project *project)
{
  size_t n = project->service_count;
  rig__plan_node *nodes = rig__calloc(n ? n : 1, sizeof *nodes);
  for (size_t i = 0; i < n; i++) {
    const rig_compose_service *svc = &project->services[i];
    nodes[i].name = svc->name;
    nodes[i].dep_count = svc->depends_on_count;
    const char **deps = rig__calloc(svc->depends_on_count + 1, sizeof *deps);
    int *required = rig__calloc(svc->depends_on_count + 1, sizeof *required);
    for (size_t d = 0; d < svc->depends_on_count; d++) {
      deps[d] = svc->depends_on[d].service;
      required[d] = svc->depends_on[d].required;
    }
    nodes[i].deps = deps;
    nodes[i].dep_required = required;
  }
  int rc = rig__plan_build(out, nodes, n);
  for (size_t i = 0; i < n; i++) {
    free((void *)nodes[i].deps);
    free((void *)nodes[i].dep_required);
  }
  free(nodes);
  return rc;
}

char *rig__plan_describe(const rig__plan *plan, const char *const *names)
{
  rig_buf text = RIG_BUF_INIT;
  for (size_t w = 0; w < plan->wave_count; w++) {
    if (w)
      rig__buf_puts(&text, " | ");
    for (size_t k = plan->wave_start[w]; k < plan->wave_start[w + 1]; k++) {
      if (k > plan->wave_start[w])
        rig__buf_putc(&text, ' ');
      rig__buf_puts(&text, names[plan->order[k]]);
    }
  }
  return rig__buf_detach(&text);
}
