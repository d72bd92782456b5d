/*
 * check_stack.c - the stack engine against a real engine, with the tiny busybox image:
 * a 3-service stack with depends_on conditions, healthchecks, a named volume, a network
 * alias and a random host port; compose's names and labels (and docker-compose v1 seeing
 * the stack); down -v leaving nothing; down signalling a service only once its dependents'
 * processes are gone; a service in another's network namespace started after it; the exit
 * codes of an unreachable engine, a missing image and a failing up (which leaves nothing
 * behind); two projects of one file side by side; and the crash reaper: `stackrig up
 * --attach` and a program using the library, SIGKILLed at random moments, 20 times each,
 * leave nothing behind.
 *
 * Every project name starts with this run's unique prefix; an unchecked teardown (in the
 * parent process, so it runs even when a test failed) removes whatever carries it.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stackrig.h>

#include "testutil.h"
#include "tinyimage.h"
#include "util.h"

static char *prefix;  /* unique to this run */
static char *fixture; /* fixtures/stacks/three.yaml */
static char *sleeper; /* fixtures/stacks/sleeper.yaml */

static char *project_name(const char *suffix)
{
  return rig__sprintf("%s-%s", prefix, suffix);
}

/* ---- counting what a project left ---- */

typedef struct leftovers {
  size_t containers, networks, volumes;
} leftovers;

static leftovers count_label(const char *label)
{
  leftovers n = {0, 0, 0};
  rig_docker *docker = NULL;
  ck_assert_int_eq(rig_docker_open(&docker, NULL), RIG_OK);
  rig_docker_filter filter = {"label", label};
  rig_docker_list_options list = RIG_DOCKER_LIST_OPTIONS_INIT;
  list.all = 1;
  list.filters = &filter;
  list.filter_count = 1;
  rig_docker_containers *c = NULL;
  ck_assert_int_eq(rig_docker_container_list(&c, docker, &list), RIG_OK);
  n.containers = c->count;
  rig_docker_containers_free(c);
  rig_docker_networks *net = NULL;
  ck_assert_int_eq(rig_docker_network_list(&net, docker, &list), RIG_OK);
  n.networks = net->count;
  rig_docker_networks_free(net);
  rig_docker_volumes *vol = NULL;
  ck_assert_int_eq(rig_docker_volume_list(&vol, docker, &list), RIG_OK);
  n.volumes = vol->count;
  rig_docker_volumes_free(vol);
  rig_docker_free(docker);
  return n;
}

static leftovers count_project(const char *project)
{
  char *label = rig__sprintf("com.docker.compose.project=%s", project);
  leftovers n = count_label(label);
  free(label);
  return n;
}

#define assert_nothing_left(project)                                                               \
  do {                                                                                             \
    leftovers left_ = count_project(project);                                                      \
    ck_assert_msg(left_.containers == 0 && left_.networks == 0 && left_.volumes == 0,              \
                  "project %s left %zu containers, %zu networks, %zu volumes", project,            \
                  left_.containers, left_.networks, left_.volumes);                                \
  } while (0)

/* Waits (bounded) for another process's cleanup to finish. @return 1 when nothing is left */
static int wait_until_gone(const char *project, int64_t within_ms)
{
  int64_t until = rig__now_ms() + within_ms;
  for (;;) {
    leftovers n = count_project(project);
    if (n.containers == 0 && n.networks == 0 && n.volumes == 0)
      return 1;
    if (rig__now_ms() > until)
      return 0;
    rig__sleep_ms(200);
  }
}

static void force_down(const char *project)
{
  rig_stack *stack = NULL;
  if (rig_stack_open(&stack, project, NULL) == RIG_OK) {
    rig_stack_down_options down = RIG_STACK_DOWN_OPTIONS_INIT;
    down.remove_volumes = 1;
    down.kill = 1;
    rig_stack_down(stack, &down);
  }
  rig_stack_free(stack);
}

/* Removes every project this run made, whatever happened in the tests. */
static void teardown_all(void)
{
  rig_docker *docker = NULL;
  if (rig_docker_open(&docker, NULL) != RIG_OK)
    return;
  rig_docker_filter filter = {"label", "com.docker.compose.project"};
  rig_docker_list_options list = RIG_DOCKER_LIST_OPTIONS_INIT;
  list.all = 1;
  list.filters = &filter;
  list.filter_count = 1;
  rig_docker_containers *c = NULL;
  char **projects = NULL;
  size_t count = 0;
  if (rig_docker_container_list(&c, docker, &list) == RIG_OK) {
    for (size_t i = 0; i < c->count; i++) {
      const char *p = rig_docker_summary_label(&c->items[i], "com.docker.compose.project");
      if (p && strncmp(p, prefix, strlen(prefix)) == 0) {
        projects = rig__realloc(projects, (count + 1) * sizeof *projects);
        projects[count++] = rig__strdup(p);
      }
    }
    rig_docker_containers_free(c);
  }
  rig_docker_networks *net = NULL;
  if (rig_docker_network_list(&net, docker, &list) == RIG_OK) {
    for (size_t i = 0; i < net->count; i++)
      for (size_t l = 0; l < net->items[i].label_count; l++)
        if (strcmp(net->items[i].labels[l].key, "com.docker.compose.project") == 0 &&
            strncmp(net->items[i].labels[l].value, prefix, strlen(prefix)) == 0) {
          projects = rig__realloc(projects, (count + 1) * sizeof *projects);
          projects[count++] = rig__strdup(net->items[i].labels[l].value);
        }
    rig_docker_networks_free(net);
  }
  rig_docker_volumes *vol = NULL;
  if (rig_docker_volume_list(&vol, docker, &list) == RIG_OK) {
    for (size_t i = 0; i < vol->count; i++)
      for (size_t l = 0; l < vol->items[i].label_count; l++)
        if (strcmp(vol->items[i].labels[l].key, "com.docker.compose.project") == 0 &&
            strncmp(vol->items[i].labels[l].value, prefix, strlen(prefix)) == 0) {
          projects = rig__realloc(projects, (count + 1) * sizeof *projects);
          projects[count++] = rig__strdup(vol->items[i].labels[l].value);
        }
    rig_docker_volumes_free(vol);
  }
  rig_docker_free(docker);
  for (size_t i = 0; i < count; i++) {
    force_down(projects[i]);
    free(projects[i]);
  }
  free(projects);
}

/* ---- helpers ---- */

static rig_stack *new_stack(const char *file, const char *project)
{
  const char *files[] = {file, NULL};
  rig_compose_options compose = RIG_COMPOSE_OPTIONS_INIT;
  compose.files = files;
  compose.file_count = 1;
  compose.project_name = project;
  rig_stack_options opts = RIG_STACK_OPTIONS_INIT;
  opts.compose = &compose;
  rig_stack *stack = NULL;
  int rc = rig_stack_new(&stack, &opts);
  ck_assert_msg(rc == RIG_OK, "rig_stack_new: %s", rig_error_last()->text);
  return stack;
}

static const rig_stack_service_status *find_status(const rig_stack_status *status,
                                                   const char *service)
{
  for (size_t i = 0; i < status->service_count; i++)
    if (strcmp(status->services[i].service, service) == 0)
      return &status->services[i];
  return NULL;
}

static char *exec_in(const char *container, const char *const *cmd, int64_t *exit_code)
{
  rig_docker *docker = NULL;
  ck_assert_int_eq(rig_docker_open(&docker, NULL), RIG_OK);
  rig_docker_exec_options opts = RIG_DOCKER_EXEC_OPTIONS_INIT;
  opts.cmd = cmd;
  rig_docker_exec_result *result = NULL;
  ck_assert_int_eq(rig_docker_exec(&result, docker, container, &opts), RIG_OK);
  char *out = rig__strdup(result->stdout_data);
  *exit_code = result->exit_code;
  rig_docker_exec_result_free(result);
  rig_docker_free(docker);
  return out;
}

static const char *label_of(const rig_docker_container *c, const char *key)
{
  const char *v = rig_docker_container_label(c, key);
  ck_assert_msg(v != NULL, "container %s lacks label %s", c->name, key);
  return v;
}

static const char *generic_label(const rig_docker_label *labels, size_t count, const char *key)
{
  for (size_t i = 0; i < count; i++)
    if (strcmp(labels[i].key, key) == 0)
      return labels[i].value;
  return NULL;
}

/* ---- the three-service stack ---- */

START_TEST(three_service_stack)
{
  char *project = project_name("three");
  rig_stack *stack = new_stack(fixture, project);
  int rc = rig_stack_up(stack, 120000);
  ck_assert_msg(rc == RIG_OK, "up: %s", rig_error_last() ? rig_error_last()->text : "");
  ck_assert_ptr_nonnull(rig_stack_session(stack));

  /* states */
  rig_stack_status *status = NULL;
  ck_assert_int_eq(rig_stack_get_status(&status, stack), RIG_OK);
  ck_assert_uint_eq(status->service_count, 3);
  const rig_stack_service_status *db = find_status(status, "db");
  const rig_stack_service_status *seed = find_status(status, "seed");
  const rig_stack_service_status *web = find_status(status, "web");
  ck_assert_str_eq(db->state, "running");
  ck_assert_str_eq(db->health, "healthy");
  ck_assert_str_eq(seed->state, "exited");
  ck_assert_int_eq(seed->exit_code, 0);
  ck_assert_str_eq(web->state, "running");
  ck_assert_str_eq(web->health, "healthy");
  ck_assert_uint_eq(web->port_count, 1);
  ck_assert_ptr_nonnull(strstr(web->ports[0], "127.0.0.1:"));
  char *json = NULL;
  ck_assert_int_eq(rig_stack_status_to_json(&json, status), RIG_OK);
  ck_assert_ptr_nonnull(strstr(json, "\"service\":\"web\""));
  free(json);
  rig_stack_status_free(status);

  /* names and aliases resolve between services */
  char *web_name = rig__sprintf("%s-web-1", project);
  char *db_name = rig__sprintf("%s-db-1", project);
  int64_t code = -1;
  const char *by_name[] = {"wget", "-q", "-O", "-", "http://db/", NULL};
  char *out = exec_in(web_name, by_name, &code);
  ck_assert_int_eq(code, 0);
  ck_assert_str_eq(out, "db-says-hi\n");
  free(out);
  const char *by_alias[] = {"wget", "-q", "-O", "-", "http://database/", NULL};
  out = exec_in(web_name, by_alias, &code);
  ck_assert_int_eq(code, 0);
  ck_assert_str_eq(out, "db-says-hi\n");
  free(out);

  /* the published port answers from the host on the loopback address */
  char *address = NULL;
  ck_assert_int_eq(rig_stack_port(&address, stack, "web", 80), RIG_OK);
  ck_assert_msg(strncmp(address, "127.0.0.1:", 10) == 0, "address %s", address);
  char *url = rig__sprintf("http://%s", address);
  rig_http *http = NULL;
  ck_assert_int_eq(rig_http_new(&http, url, NULL), RIG_OK);
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.path = "/";
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  ck_assert_int_eq(rig_http_do(http, &req, &resp), RIG_OK);
  ck_assert_int_eq(resp.status, 200);
  ck_assert_str_eq(resp.body, "seeded\n"); /* written by seed into the shared volume */
  rig_http_response_dispose(&resp);
  rig_http_free(http);
  free(url);
  char *cli_out = NULL;
  ck_assert_int_eq(rig_test_stackrig(&cli_out, NULL, "port", "-p", project, "web", "80", NULL), 0);
  char *expected = rig__sprintf("%s\n", address);
  ck_assert_str_eq(cli_out, expected);
  free(expected);
  free(cli_out);
  ck_assert_int_eq(rig_stack_port(&address, stack, "web", 81), RIG_ENOTFOUND);
  free(address);

  /* compose's names and labels, as the engine reports them */
  rig_docker *docker = NULL;
  ck_assert_int_eq(rig_docker_open(&docker, NULL), RIG_OK);
  rig_docker_container *c = NULL;
  ck_assert_int_eq(rig_docker_container_inspect(&c, docker, web_name), RIG_OK);
  ck_assert_str_eq(label_of(c, "com.docker.compose.project"), project);
  ck_assert_str_eq(label_of(c, "com.docker.compose.service"), "web");
  ck_assert_str_eq(label_of(c, "com.docker.compose.container-number"), "1");
  ck_assert_str_eq(label_of(c, "com.docker.compose.oneoff"), "False");
  ck_assert_uint_eq(strlen(label_of(c, "com.docker.compose.config-hash")), 64);
  ck_assert_str_eq(label_of(c, "com.docker.compose.project.config_files"), fixture);
  ck_assert_ptr_nonnull(strstr(fixture, label_of(c, "com.docker.compose.project.working_dir")));
  ck_assert_ptr_nonnull(label_of(c, "com.docker.compose.version"));
  ck_assert_ptr_nonnull(
      strstr(label_of(c, "com.docker.compose.depends_on"), "seed:service_completed_successfully"));
  ck_assert_str_eq(label_of(c, "dev.stackrig.session"), rig_stack_session(stack));
  rig_docker_container_free(c);
  char *net_name = rig__sprintf("%s_back", project);
  rig_docker_network *net = NULL;
  ck_assert_int_eq(rig_docker_network_inspect(&net, docker, net_name), RIG_OK);
  ck_assert_str_eq(generic_label(net->labels, net->label_count, "com.docker.compose.network"),
                   "back");
  ck_assert_str_eq(generic_label(net->labels, net->label_count, "com.docker.compose.project"),
                   project);
  rig_docker_network_free(net);
  free(net_name);
  char *vol_name = rig__sprintf("%s_data", project);
  rig_docker_volume *vol = NULL;
  ck_assert_int_eq(rig_docker_volume_inspect(&vol, docker, vol_name), RIG_OK);
  ck_assert_str_eq(generic_label(vol->labels, vol->label_count, "com.docker.compose.volume"),
                   "data");
  rig_docker_volume_free(vol);
  free(vol_name);
  rig_docker_free(docker);

  /* docker-compose v1 finds the containers by their labels */
  const char *compose_ps[] = {"docker-compose", "-f", fixture, "-p", project, "ps", NULL};
  char *ps_out = NULL, *ps_err = NULL;
  int ps_rc = rig_test_run(compose_ps, NULL, &ps_out, &ps_err);
  if (ps_rc == 127) {
    fprintf(stderr, "docker-compose is not installed: not checked\n");
  } else {
    ck_assert_msg(ps_rc == 0, "docker-compose ps: %s", ps_err);
    ck_assert_msg(strstr(ps_out, web_name) && strstr(ps_out, db_name), "ps: %s", ps_out);
  }
  free(ps_out);
  free(ps_err);

  /* the library's logs and the command's */
  char *logs = NULL, *logs_err = NULL;
  ck_assert_int_eq(rig_test_stackrig(&logs, &logs_err, "status", "-p", project, NULL), 0);
  ck_assert_ptr_nonnull(strstr(logs, "healthy"));
  free(logs);
  free(logs_err);

  /* keep, then take it down from its labels alone with the command */
  ck_assert_int_eq(rig_stack_keep(stack), RIG_OK);
  rig_stack_free(stack);
  char *err = NULL;
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "down", "-p", project, "-v", NULL), 0);
  free(err);
  assert_nothing_left(project);
  free(web_name);
  free(db_name);
  free(project);
}
END_TEST

START_TEST(collect_writes_logs_inspect_and_summary)
{
  char *project = project_name("collect");
  rig_stack *stack = new_stack(fixture, project);
  ck_assert_int_eq(rig_stack_up(stack, 120000), RIG_OK);
  char *dir = rig_test_tempdir();
  char *sub = rig__sprintf("%s/logs/here", dir);
  ck_assert_int_eq(rig_stack_collect(stack, sub), RIG_OK);
  char *path = rig__sprintf("%s/summary.txt", sub);
  char *text = NULL;
  size_t len = 0;
  ck_assert_int_eq(rig__read_file(&text, &len, path), RIG_OK);
  ck_assert_ptr_nonnull(strstr(text, "web-1"));
  ck_assert_ptr_nonnull(strstr(text, "seed-1 (")); /* it exited: named with its lines */
  ck_assert_ptr_nonnull(strstr(text, "exited with code 0"));
  free(text);
  free(path);
  path = rig__sprintf("%s/db-1.inspect.json", sub);
  ck_assert_int_eq(rig__read_file(&text, &len, path), RIG_OK);
  ck_assert_ptr_nonnull(strstr(text, "\"Config\""));
  free(text);
  free(path);
  path = rig__sprintf("%s/db-1.log", sub);
  ck_assert_int_eq(rig__read_file(&text, &len, path), RIG_OK);
  free(text);
  free(path);
  ck_assert_int_eq(rig_stack_down(stack, NULL), RIG_OK);
  rig_stack_down_options down = RIG_STACK_DOWN_OPTIONS_INIT;
  down.remove_volumes = 1;
  ck_assert_int_eq(rig_stack_down(stack, &down), RIG_OK);
  rig_stack_free(stack);
  assert_nothing_left(project);
  rig_test_rmtree(dir);
  free(dir);
  free(sub);
  free(project);
}
END_TEST

START_TEST(two_projects_side_by_side)
{
  char *p1 = project_name("side1"), *p2 = project_name("side2");
  rig_stack *s1 = new_stack(fixture, p1);
  rig_stack *s2 = new_stack(fixture, p2);
  ck_assert_int_eq(rig_stack_up(s1, 120000), RIG_OK);
  ck_assert_int_eq(rig_stack_up(s2, 120000), RIG_OK);
  char *a1 = NULL, *a2 = NULL;
  ck_assert_int_eq(rig_stack_port(&a1, s1, "web", 80), RIG_OK);
  ck_assert_int_eq(rig_stack_port(&a2, s2, "web", 80), RIG_OK);
  ck_assert_str_ne(a1, a2);
  free(a1);
  free(a2);
  rig_stack_down_options down = RIG_STACK_DOWN_OPTIONS_INIT;
  down.remove_volumes = 1;
  ck_assert_int_eq(rig_stack_down(s1, &down), RIG_OK);
  assert_nothing_left(p1);
  leftovers other = count_project(p2);
  ck_assert_uint_eq(other.containers, 3); /* the other project is untouched */
  ck_assert_int_eq(rig_stack_down(s2, &down), RIG_OK);
  assert_nothing_left(p2);
  rig_stack_free(s1);
  rig_stack_free(s2);
  free(p1);
  free(p2);
}
END_TEST

/* ---- network_mode: service:X ---- */

/* y shares x's network namespace and names no dependency; x waits for a healthy a. y may
 * start only once x runs (the engine refuses otherwise), as compose would start it. */
START_TEST(network_mode_service_waits_for_its_owner)
{
  char *project = project_name("netns");
  char *dir = rig_test_tempdir();
  char *file = rig__sprintf("%s/compose.yaml", dir);
  rig_test_write_file(file, "services:\n"
                            "  a:\n"
                            "    image: ${STACKRIG_TEST_IMAGE}\n"
                            "    command: [\"sh\", \"-c\", \"touch /tmp/ok; exec sleep 600\"]\n"
                            "    healthcheck:\n"
                            "      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ok\"]\n"
                            "      interval: 500ms\n"
                            "      retries: 20\n"
                            "    stop_grace_period: 1s\n"
                            "  x:\n"
                            "    image: ${STACKRIG_TEST_IMAGE}\n"
                            "    command: [\"sleep\", \"600\"]\n"
                            "    depends_on:\n"
                            "      a:\n"
                            "        condition: service_healthy\n"
                            "    stop_grace_period: 1s\n"
                            "  y:\n"
                            "    image: ${STACKRIG_TEST_IMAGE}\n"
                            "    command: [\"sleep\", \"600\"]\n"
                            "    network_mode: service:x\n"
                            "    stop_grace_period: 1s\n");
  rig_stack *stack = new_stack(file, project);
  int rc = rig_stack_up(stack, 120000);
  ck_assert_msg(rc == RIG_OK, "up: %s", rig_error_last() ? rig_error_last()->text : "");
  rig_stack_status *status = NULL;
  ck_assert_int_eq(rig_stack_get_status(&status, stack), RIG_OK);
  ck_assert_str_eq(find_status(status, "y")->state, "running");
  ck_assert_str_eq(find_status(status, "x")->state, "running");
  rig_stack_status_free(status);
  rig_stack_down_options down = RIG_STACK_DOWN_OPTIONS_INIT;
  down.remove_volumes = 1;
  ck_assert_int_eq(rig_stack_down(stack, &down), RIG_OK);
  rig_stack_free(stack);
  assert_nothing_left(project);
  rig_test_rmtree(dir);
  free(dir);
  free(file);
  free(project);
}
END_TEST

/* ---- down's order ---- */

typedef struct down_times {
  int64_t web_die_ns, db_kill_ns;
} down_times;

static int on_down_event(void *userdata, const rig_docker_event *event)
{
  down_times *t = userdata;
  const char *service = rig_docker_event_attribute(event, "com.docker.compose.service");
  if (!service || !event->action)
    return 0;
  if (strcmp(service, "web") == 0 && strcmp(event->action, "die") == 0 && !t->web_die_ns)
    t->web_die_ns = event->time_ns;
  if (strcmp(service, "db") == 0 && strcmp(event->action, "kill") == 0 && !t->db_kill_ns)
    t->db_kill_ns = event->time_ns;
  return 0;
}

/* web depends on db: down signals db only once web's process is gone (the engine's own
 * event times, so this is an order, not a duration). */
START_TEST(down_stops_dependents_first)
{
  char *project = project_name("order");
  rig_stack *stack = new_stack(fixture, project);
  ck_assert_int_eq(rig_stack_up(stack, 120000), RIG_OK);
  int64_t since = rig__wall_ns() - 1000000000;
  rig_stack_down_options down = RIG_STACK_DOWN_OPTIONS_INIT;
  down.remove_volumes = 1;
  ck_assert_int_eq(rig_stack_down(stack, &down), RIG_OK);
  rig_stack_free(stack);
  assert_nothing_left(project);

  char *label = rig__sprintf("com.docker.compose.project=%s", project);
  rig_docker_filter filters[2] = {{"type", "container"}, {"label", label}};
  down_times times = {0, 0};
  rig_docker_events_options opts = RIG_DOCKER_EVENTS_OPTIONS_INIT;
  opts.filters = filters;
  opts.filter_count = 2;
  opts.since_ns = since;
  opts.until_ns = rig__wall_ns() + 1000000000;
  opts.on_event = on_down_event;
  opts.userdata = &times;
  rig_docker *docker = NULL;
  ck_assert_int_eq(rig_docker_open(&docker, NULL), RIG_OK);
  ck_assert_int_eq(rig_docker_events(docker, &opts), RIG_OK);
  rig_docker_free(docker);
  ck_assert_msg(times.web_die_ns > 0 && times.db_kill_ns > 0, "events: web die %lld, db kill %lld",
                (long long)times.web_die_ns, (long long)times.db_kill_ns);
  ck_assert_msg(times.web_die_ns <= times.db_kill_ns,
                "db was signalled %lld ns before web's process was gone",
                (long long)(times.web_die_ns - times.db_kill_ns));
  free(label);
  free(project);
}
END_TEST

/* ---- failures ---- */

static size_t line_count(const char *text)
{
  size_t n = 0;
  for (const char *p = text; *p; p++)
    n += *p == '\n';
  return n;
}

START_TEST(unreachable_engine_is_exit_3_in_one_line)
{
  char *project = project_name("noengine");
  setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1);
  char *out = NULL, *err = NULL;
  int rc = rig_test_stackrig(&out, &err, "up", "-f", fixture, "-p", project, NULL);
  unsetenv("DOCKER_HOST");
  ck_assert_int_eq(rc, 3);
  ck_assert_msg(line_count(err) == 1, "stderr: %s", err);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/docker.sock"));
  free(out);
  free(err);
  free(project);
}
END_TEST

START_TEST(missing_image_is_exit_3_naming_it)
{
  char *project = project_name("noimage");
  char *file = rig_test_path("fixtures/stacks/missing-image.yaml");
  char *err = NULL;
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "up", "-f", file, "-p", project, NULL), 3);
  ck_assert_msg(strstr(err, "stackrig-test/does-not-exist:never") != NULL, "stderr: %s", err);
  free(err);
  free(file);
  assert_nothing_left(project);

  file = rig_test_path("fixtures/stacks/default-images.yaml");
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "up", "-f", file, "-p", project, NULL), 3);
  ck_assert_msg(strstr(err, "stackrig-test/pgvector-missing:pg17") != NULL, "stderr: %s", err);
  ck_assert_msg(strstr(err, "compose/images/build") != NULL, "stderr: %s", err);
  free(err);
  free(file);
  assert_nothing_left(project);
  free(project);
}
END_TEST

START_TEST(failing_up_leaves_nothing)
{
  char *project = project_name("fails");
  setenv("SEED_EXIT", "1", 1);
  char *err = NULL;
  int rc = rig_test_stackrig(NULL, &err, "up", "-f", fixture, "-p", project, NULL);
  unsetenv("SEED_EXIT");
  ck_assert_msg(rc == 3, "exit %d: %s", rc, err);
  ck_assert_msg(strstr(err, "service seed exited with code 1") != NULL, "stderr: %s", err);
  free(err);
  /* Removal happened before up returned: no waiting needed. */
  assert_nothing_left(project);

  /* the library says the same */
  setenv("SEED_EXIT", "3", 1);
  rig_stack *stack = new_stack(fixture, project);
  unsetenv("SEED_EXIT");
  ck_assert_int_eq(rig_stack_up(stack, 120000), RIG_EEXITED);
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "service"), "seed");
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "code 3"));
  ck_assert_ptr_null(rig_stack_session(stack));
  rig_stack_free(stack);
  assert_nothing_left(project);
  free(project);
}
END_TEST

START_TEST(bad_compose_file_is_exit_2)
{
  char *dir = rig_test_tempdir();
  char *file = rig__sprintf("%s/compose.yaml", dir);
  rig_test_write_file(file, "services:\n  a:\n    image: [unclosed\n");
  char *err = NULL;
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "up", "-f", file, NULL), 2);
  ck_assert_ptr_nonnull(strstr(err, "compose.yaml"));
  free(err);
  rig_test_write_file(file, "services:\n  a:\n    image: x\n    depends_on: [b]\n"
                            "  b:\n    image: x\n    depends_on: [a]\n");
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "up", "-f", file, NULL), 2);
  ck_assert_msg(strstr(err, "cycle") != NULL, "stderr: %s", err);
  free(err);
  ck_assert_int_eq(rig_test_stackrig(NULL, &err, "up", "--pull", "sometimes", NULL), 2);
  free(err);
  rig_test_rmtree(dir);
  free(dir);
  free(file);
}
END_TEST

/* ---- the crash reaper ---- */

static unsigned random_below(unsigned n)
{
  static int seeded;
  if (!seeded) {
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    seeded = 1;
  }
  return (unsigned)rand() % n;
}

/* Starts a program that brings the sleeper stack up, kills it with SIGKILL after a random
 * delay (which falls before, during or after up), and counts what was left 10 s later. */
static void kill_at_random(const char *label, int use_cli)
{
  int leaks = 0;
  char *helper =
      rig__sprintf("%s/tests/integration/stack_crash_helper",
                   getenv("STACKRIG_BUILDDIR") ? getenv("STACKRIG_BUILDDIR") : RIG_BUILDDIR);
  const char *bin = getenv("STACKRIG_BIN") ? getenv("STACKRIG_BIN") : RIG_BUILDDIR "/stackrig";
  for (int round = 0; round < 20; round++) {
    char *suffix = rig__sprintf("%s%d", label, round);
    char *project = project_name(suffix);
    const char *cli[] = {bin, "up", "--attach", "-f", sleeper, "-p", project, NULL};
    const char *lib[] = {helper, sleeper, project, NULL};
    pid_t pid = rig_test_spawn(use_cli ? cli : lib, NULL, NULL, NULL);
    ck_assert_int_gt(pid, 0);
    unsigned delay = random_below(3000);
    rig__sleep_ms(delay);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!wait_until_gone(project, 10000)) {
      leftovers n = count_project(project);
      fprintf(stderr,
              "%s round %d (killed after %u ms): %zu containers, %zu networks, %zu "
              "volumes left\n",
              label, round, delay, n.containers, n.networks, n.volumes);
      leaks++;
      force_down(project);
    }
    free(project);
    free(suffix);
  }
  free(helper);
  ck_assert_msg(leaks == 0, "%s: %d of 20 killed runs leaked", label, leaks);
}

START_TEST(sigkill_attached_cli_leaves_nothing)
{
  kill_at_random("cli", 1);
}
END_TEST

START_TEST(sigkill_library_program_leaves_nothing)
{
  kill_at_random("lib", 0);
}
END_TEST

START_TEST(attach_tears_down_on_sigterm)
{
  char *project = project_name("attach");
  const char *bin = getenv("STACKRIG_BIN") ? getenv("STACKRIG_BIN") : RIG_BUILDDIR "/stackrig";
  const char *argv[] = {bin, "up", "--attach", "-f", sleeper, "-p", project, NULL};
  int err_fd = -1;
  pid_t pid = rig_test_spawn(argv, NULL, NULL, &err_fd);
  ck_assert_int_gt(pid, 0);
  /* wait for "is ready" on its stderr, then SIGTERM */
  rig_buf seen = RIG_BUF_INIT;
  char chunk[512];
  ssize_t n;
  while (!strstr(seen.data ? seen.data : "", "is ready") &&
         (n = read(err_fd, chunk, sizeof chunk)) > 0)
    rig__buf_append(&seen, chunk, (size_t)n);
  ck_assert_msg(strstr(seen.data ? seen.data : "", "is ready") != NULL, "output: %s", seen.data);
  kill(pid, SIGTERM);
  while ((n = read(err_fd, chunk, sizeof chunk)) > 0)
    rig__buf_append(&seen, chunk, (size_t)n);
  close(err_fd);
  int status = 0;
  waitpid(pid, &status, 0);
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 143);
  /* the process itself took it down before exiting */
  assert_nothing_left(project);
  rig__buf_dispose(&seen);
  free(project);
}
END_TEST

static void setup_all(void)
{
  char *image = NULL;
  if (rig_test_tiny_image(&image) != RIG_OK) {
    fprintf(stderr, "cannot build the tiny image: %s\n", rig_error_last()->text);
    exit(1);
  }
  setenv("STACKRIG_TEST_IMAGE", image, 1);
  free(image);
}

static Suite *stack_suite(void)
{
  Suite *s = suite_create("stack (engine)");
  TCase *tc = tcase_create("stack");
  tcase_add_unchecked_fixture(tc, NULL, teardown_all);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, three_service_stack);
  tcase_add_test(tc, collect_writes_logs_inspect_and_summary);
  tcase_add_test(tc, two_projects_side_by_side);
  tcase_add_test(tc, down_stops_dependents_first);
  tcase_add_test(tc, network_mode_service_waits_for_its_owner);
  tcase_add_test(tc, unreachable_engine_is_exit_3_in_one_line);
  tcase_add_test(tc, missing_image_is_exit_3_naming_it);
  tcase_add_test(tc, failing_up_leaves_nothing);
  tcase_add_test(tc, bad_compose_file_is_exit_2);
  tcase_add_test(tc, attach_tears_down_on_sigterm);
  suite_add_tcase(s, tc);

  tc = tcase_create("crash");
  tcase_add_unchecked_fixture(tc, NULL, teardown_all);
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, sigkill_attached_cli_leaves_nothing);
  tcase_add_test(tc, sigkill_library_program_leaves_nothing);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  rig_test_require_docker();
  char *unique = rig_test_unique_name("srstack");
  prefix = unique;
  fixture = rig_test_path("fixtures/stacks/three.yaml");
  sleeper = rig_test_path("fixtures/stacks/sleeper.yaml");
  setup_all();
  int rc = rig_test_main(stack_suite());
  teardown_all();
  free(fixture);
  free(sleeper);
  free(prefix);
  return rc;
}
