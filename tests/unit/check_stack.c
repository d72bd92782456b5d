/*
 * check_stack.c - the stack engine's pure parts: the planner (waves for chains, diamonds,
 * independent sets; cycles named; optional dependencies), compose's names and labels,
 * SHA-256 and the config hash, port specs resolved to the engine's bindings, and the crash
 * reaper's protocol and process life cycle (no engine involved: the reaper's action here
 * writes a file).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stackrig.h>

#include "stack_internal.h"
#include "testutil.h"
#include "util.h"

/* ---- planner ---- */

typedef struct plan_case {
  const char *title;
  /* "name:dep,dep?" entries (a trailing ? marks required: false), NULL-terminated */
  const char *nodes[8];
  const char *waves; /* expected rig__plan_describe(), or NULL when an error is expected */
  const char *error; /* expected substring of the error */
} plan_case;

static const plan_case plan_cases[] = {
    {"empty", {NULL}, "", NULL},
    {"one", {"a:", NULL}, "a", NULL},
    {"independent set", {"a:", "b:", "c:", NULL}, "a b c", NULL},
    {"chain", {"c:b", "b:a", "a:", NULL}, "a | b | c", NULL},
    {"diamond",
     {"top:left,right", "left:base", "right:base", "base:", NULL},
     "base | left right | top",
     NULL},
    {"uneven depth",
     {"app:db,cache", "db:", "cache:", "migrate:db", "web:app,migrate", NULL},
     "db cache | app migrate | web",
     NULL},
    {"longest path decides", {"x:a,c", "a:", "b:a", "c:b", NULL}, "a | b | c | x", NULL},
    {"duplicate dependency", {"a:b,b", "b:", NULL}, "b | a", NULL},
    {"optional missing is skipped", {"a:ghost?", "b:a", NULL}, "a | b", NULL},
    {"optional present is honoured", {"a:b?", "b:", NULL}, "b | a", NULL},
    {"required missing", {"a:ghost", NULL}, NULL, "service a depends on undefined service ghost"},
    {"self cycle", {"a:a", NULL}, NULL, "dependency cycle: a -> a"},
    {"two cycle", {"a:b", "b:a", NULL}, NULL, "dependency cycle: a -> b -> a"},
    {"three cycle behind a root",
     {"root:", "a:root,c", "b:a", "c:b", NULL},
     NULL,
     "dependency cycle: a -> c -> b -> a"},
    {"cycle with a tail", {"tail:x", "x:y", "y:x", NULL}, NULL, "dependency cycle: "},
};

/* Builds the nodes of a case; everything is freed by free_nodes. */
static rig__plan_node *make_nodes(const plan_case *c, size_t *count)
{
  size_t n = 0;
  while (c->nodes[n])
    n++;
  rig__plan_node *nodes = rig__calloc(n + 1, sizeof *nodes);
  for (size_t i = 0; i < n; i++) {
    const char *colon = strchr(c->nodes[i], ':');
    nodes[i].name = rig__strndup(c->nodes[i], (size_t)(colon - c->nodes[i]));
    char **deps = rig__calloc(8, sizeof *deps);
    int *required = rig__calloc(8, sizeof *required);
    size_t d = 0;
    const char *p = colon + 1;
    while (*p) {
      const char *end = strchr(p, ',');
      size_t len = end ? (size_t)(end - p) : strlen(p);
      required[d] = 1;
      if (len && p[len - 1] == '?') {
        required[d] = 0;
        len--;
      }
      deps[d++] = rig__strndup(p, len);
      if (!end)
        break;
      p = end + 1;
    }
    nodes[i].deps = (const char *const *)deps;
    nodes[i].dep_required = required;
    nodes[i].dep_count = d;
  }
  *count = n;
  return nodes;
}

static void free_nodes(rig__plan_node *nodes, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    for (size_t d = 0; d < nodes[i].dep_count; d++)
      free((void *)nodes[i].deps[d]);
    free((void *)nodes[i].deps);
    free((void *)nodes[i].dep_required);
    free((void *)nodes[i].name);
  }
  free(nodes);
}

START_TEST(plan_table)
{
  const plan_case *c = &plan_cases[_i];
  size_t count = 0;
  rig__plan_node *nodes = make_nodes(c, &count);
  rig__plan *plan = NULL;
  int rc = rig__plan_build(&plan, nodes, count);
  if (c->waves) {
    ck_assert_msg(rc == RIG_OK, "%s: %s", c->title, rig_error_last()->text);
    const char **names = rig__calloc(count + 1, sizeof *names);
    for (size_t i = 0; i < count; i++)
      names[i] = nodes[i].name;
    char *described = rig__plan_describe(plan, names);
    ck_assert_msg(strcmp(described, c->waves) == 0, "%s: waves '%s', expected '%s'", c->title,
                  described, c->waves);
    /* every dependency lies in an earlier wave */
    for (size_t i = 0; i < count; i++)
      for (size_t d = 0; d < plan->dep_count[i]; d++)
        ck_assert_uint_lt(plan->wave_of[plan->deps[i][d]], plan->wave_of[i]);
    free(described);
    free(names);
    rig__plan_free(plan);
  } else {
    ck_assert_int_eq(rc, RIG_EINVAL);
    ck_assert_ptr_null(plan);
    ck_assert_msg(strstr(rig_error_last()->text, c->error) != NULL, "%s: error '%s'", c->title,
                  rig_error_last()->text);
  }
  free_nodes(nodes, count);
}
END_TEST

START_TEST(plan_records_skipped_optional_dependencies)
{
  const plan_case c = {"", {"a:ghost?,b", "b:", NULL}, NULL, NULL};
  size_t count = 0;
  rig__plan_node *nodes = make_nodes(&c, &count);
  rig__plan *plan = NULL;
  ck_assert_int_eq(rig__plan_build(&plan, nodes, count), RIG_OK);
  ck_assert_uint_eq(plan->skipped_count, 1);
  ck_assert_str_eq(plan->skipped[0],
                   "service a: optional dependency ghost is not defined: skipped");
  ck_assert_uint_eq(plan->dep_count[0], 1);
  ck_assert_uint_eq(plan->deps[0][0], 1);
  ck_assert_uint_eq(plan->dep_origin[0][0], 1); /* b is the second entry of a's list */
  rig__plan_free(plan);
  free_nodes(nodes, count);
}
END_TEST

START_TEST(plan_cycle_detail)
{
  const plan_case c = {"", {"a:b", "b:a", NULL}, NULL, NULL};
  size_t count = 0;
  rig__plan_node *nodes = make_nodes(&c, &count);
  rig__plan *plan = NULL;
  ck_assert_int_eq(rig__plan_build(&plan, nodes, count), RIG_EINVAL);
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "cycle"), "a -> b -> a");
  free_nodes(nodes, count);
}
END_TEST

/* A compose model built by hand: the model is plain public structs. */
static rig_compose_dependency deps_web[] = {
    {"db", RIG_COMPOSE_CONDITION_HEALTHY, 1, 0},
    {"migrate", RIG_COMPOSE_CONDITION_COMPLETED_SUCCESSFULLY, 1, 1},
    {"cache", RIG_COMPOSE_CONDITION_STARTED, 0, 0},
};
static rig_compose_dependency deps_migrate[] = {{"db", RIG_COMPOSE_CONDITION_HEALTHY, 1, 0}};
static rig_compose_kv web_labels[] = {
    {"com.example.team", "core"},
    {"com.docker.compose.project", "spoofed"},
};

static void make_project(rig_compose_project *p, rig_compose_service *s)
{
  static const char *const files[] = {"/src/app/compose.yaml", "/src/app/compose.override.yaml",
                                      NULL};
  memset(p, 0, sizeof *p);
  memset(s, 0, 3 * sizeof *s);
  p->name = "demo";
  p->working_dir = "/src/app";
  p->config_files.items = files;
  p->config_files.count = 2;
  s[0].name = "db";
  s[0].image = "busybox";
  s[1].name = "migrate";
  s[1].image = "busybox";
  s[1].depends_on = deps_migrate;
  s[1].depends_on_count = 1;
  s[2].name = "web";
  s[2].image = "busybox";
  s[2].depends_on = deps_web;
  s[2].depends_on_count = 3;
  s[2].labels = web_labels;
  s[2].label_count = 2;
  p->services = s;
  p->service_count = 3;
}

START_TEST(plan_from_project)
{
  rig_compose_project p;
  rig_compose_service s[3];
  make_project(&p, s);
  rig__plan *plan = NULL;
  ck_assert_int_eq(rig__plan_from_project(&plan, &p), RIG_OK);
  const char *names[] = {"db", "migrate", "web"};
  char *described = rig__plan_describe(plan, names);
  ck_assert_str_eq(described, "db | migrate | web");
  ck_assert_uint_eq(plan->skipped_count, 1); /* cache is optional and not defined */
  free(described);
  rig__plan_free(plan);
}
END_TEST

/* ---- names and labels ---- */

START_TEST(container_names)
{
  rig_compose_service svc;
  memset(&svc, 0, sizeof svc);
  svc.name = "postgres";
  char *name = rig__stack_container_name("demo", &svc, 1);
  ck_assert_str_eq(name, "demo-postgres-1");
  free(name);
  name = rig__stack_container_name("my_proj-2", &svc, 12);
  ck_assert_str_eq(name, "my_proj-2-postgres-12");
  free(name);
  svc.container_name = "custom";
  name = rig__stack_container_name("demo", &svc, 1);
  ck_assert_str_eq(name, "custom");
  free(name);
}
END_TEST

static rig__label_context label_context(const rig_compose_project *p)
{
  rig__label_context ctx = {p->name, p->working_dir, p->config_files.items, p->config_files.count,
                            "0123abcd"};
  return ctx;
}

START_TEST(container_labels_are_composes)
{
  rig_compose_project p;
  rig_compose_service s[3];
  make_project(&p, s);
  rig__label_context ctx = label_context(&p);
  rig__labels labels = {0};
  rig__stack_container_labels(&labels, &ctx, &s[2], 2, "feedface");
  struct {
    const char *key, *value;
  } expected[] = {
      {"com.docker.compose.project", "demo"}, /* the user cannot spoof compose's labels */
      {"com.docker.compose.service", "web"},
      {"com.docker.compose.container-number", "2"},
      {"com.docker.compose.oneoff", "False"},
      {"com.docker.compose.config-hash", "feedface"},
      {"com.docker.compose.project.working_dir", "/src/app"},
      {"com.docker.compose.project.config_files",
       "/src/app/compose.yaml,/src/app/compose.override.yaml"},
      {"com.docker.compose.version", RIG__COMPOSE_VERSION},
      {"com.docker.compose.depends_on",
       "db:service_healthy:false,migrate:service_completed_successfully:true,"
       "cache:service_started:false"},
      {"dev.stackrig.session", "0123abcd"},
      {"com.example.team", "core"},
  };
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
    const char *value = rig__labels_get(&labels, expected[i].key);
    ck_assert_msg(value != NULL, "label %s missing", expected[i].key);
    ck_assert_str_eq(value, expected[i].value);
  }
  ck_assert_uint_eq(labels.count, sizeof expected / sizeof expected[0]);
  rig_docker_label *view = rig__labels_view(&labels);
  ck_assert_str_eq(view[0].key, labels.items[0].key);
  ck_assert_ptr_null(view[labels.count].key);
  free(view);
  rig__labels_dispose(&labels);
  ck_assert_uint_eq(labels.count, 0);
}
END_TEST

START_TEST(oneoff_label_can_be_preset)
{
  rig_compose_project p;
  rig_compose_service s[3];
  make_project(&p, s);
  rig_compose_kv preset[] = {{"com.docker.compose.oneoff", "True"}};
  s[0].labels = preset;
  s[0].label_count = 1;
  rig__label_context ctx = label_context(&p);
  ctx.session = NULL;
  rig__labels labels = {0};
  rig__stack_container_labels(&labels, &ctx, &s[0], 1, "x");
  ck_assert_str_eq(rig__labels_get(&labels, "com.docker.compose.oneoff"), "True");
  ck_assert_str_eq(rig__labels_get(&labels, "com.docker.compose.depends_on"), "");
  ck_assert_ptr_null(rig__labels_get(&labels, "dev.stackrig.session"));
  rig__labels_dispose(&labels);
}
END_TEST

START_TEST(network_and_volume_labels)
{
  rig_compose_project p;
  rig_compose_service s[3];
  make_project(&p, s);
  rig__label_context ctx = label_context(&p);
  rig_compose_kv user[] = {{"tier", "back"}};
  rig_compose_network net;
  memset(&net, 0, sizeof net);
  net.key = "default";
  net.name = "demo_default";
  net.labels = user;
  net.label_count = 1;
  rig__labels labels = {0};
  rig__stack_network_labels(&labels, &ctx, &net);
  ck_assert_uint_eq(labels.count, 5);
  ck_assert_str_eq(rig__labels_get(&labels, "com.docker.compose.network"), "default");
  ck_assert_str_eq(rig__labels_get(&labels, "com.docker.compose.project"), "demo");
  ck_assert_str_eq(rig__labels_get(&labels, "com.docker.compose.version"), RIG__COMPOSE_VERSION);
  ck_assert_str_eq(rig__labels_get(&labels, "dev.stackrig.session"), "0123abcd");
  ck_assert_str_eq(rig__labels_get(&labels, "tier"), "back");
  rig__labels_dispose(&labels);

  rig_compose_volume vol;
  memset(&vol, 0, sizeof vol);
  vol.key = "pgdata";
  vol.name = "demo_pgdata";
  rig__stack_volume_labels(&labels, &ctx, &vol);
  ck_assert_uint_eq(labels.count, 4);
  ck_assert_str_eq(rig__labels_get(&labels, "com.docker.compose.volume"), "pgdata");
  ck_assert_str_eq(rig__labels_get(&labels, "com.docker.compose.project"), "demo");
  rig__labels_dispose(&labels);
}
END_TEST

START_TEST(labels_set_replaces)
{
  rig__labels labels = {0};
  rig__labels_set(&labels, "a", "1");
  rig__labels_set(&labels, "b", NULL);
  rig__labels_set(&labels, "a", "2");
  ck_assert_uint_eq(labels.count, 2);
  ck_assert_str_eq(rig__labels_get(&labels, "a"), "2");
  ck_assert_str_eq(rig__labels_get(&labels, "b"), "");
  ck_assert_ptr_null(rig__labels_get(&labels, "c"));
  rig__labels_dispose(&labels);
}
END_TEST

START_TEST(depends_label_parses_both_forms)
{
  char **names = NULL;
  ck_assert_uint_eq(
      rig__stack_parse_depends_label(
          &names, "db:service_healthy:false,migrate:service_completed_successfully:true"),
      2);
  ck_assert_str_eq(names[0], "db");
  ck_assert_str_eq(names[1], "migrate");
  ck_assert_ptr_null(names[2]);
  for (char **n = names; *n; n++)
    free(*n);
  free(names);
  ck_assert_uint_eq(rig__stack_parse_depends_label(&names, "db,cache"), 2);
  ck_assert_str_eq(names[1], "cache");
  for (char **n = names; *n; n++)
    free(*n);
  free(names);
  ck_assert_uint_eq(rig__stack_parse_depends_label(&names, ""), 0);
  ck_assert_ptr_null(names[0]);
  free(names);
  ck_assert_uint_eq(rig__stack_parse_depends_label(&names, NULL), 0);
  free(names);
  ck_assert_uint_eq(rig__stack_parse_depends_label(&names, ",a,,"), 1);
  ck_assert_str_eq(names[0], "a");
  free(names[0]);
  free(names);
}
END_TEST

START_TEST(session_ids_are_unique_hex)
{
  char *a = rig__stack_new_session_id();
  char *b = rig__stack_new_session_id();
  ck_assert_uint_eq(strlen(a), 32);
  ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
  ck_assert_str_ne(a, b);
  free(a);
  free(b);
}
END_TEST

START_TEST(default_stack_images)
{
  ck_assert_int_eq(rig__stack_is_default_stack_image("pgvector/pgvector:pg17"), 1);
  ck_assert_int_eq(rig__stack_is_default_stack_image("postgres:17"), 1);
  ck_assert_int_eq(rig__stack_is_default_stack_image("jaegertracing/jaeger:2.1.0"), 1);
  ck_assert_int_eq(rig__stack_is_default_stack_image("prom/prometheus:v3.0.0"), 1);
  ck_assert_int_eq(rig__stack_is_default_stack_image("otel/opentelemetry-collector-contrib"), 1);
  ck_assert_int_eq(rig__stack_is_default_stack_image("busybox"), 0);
  ck_assert_int_eq(rig__stack_is_default_stack_image(NULL), 0);
}
END_TEST

/* ---- SHA-256 ---- */

START_TEST(sha256_vectors)
{
  char hex[65];
  rig__sha256_hex(hex, "", 0);
  ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  rig__sha256_hex(hex, "abc", 3);
  ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  rig__sha256_hex(hex, two_blocks, strlen(two_blocks));
  ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  char *million = rig__malloc(1000000);
  memset(million, 'a', 1000000);
  rig__sha256_hex(hex, million, 1000000);
  ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(million);
  /* lengths around the padding boundary (55, 56, 63, 64 bytes) differ from each other */
  char prev[65] = "";
  for (size_t len = 54; len <= 65; len++) {
    char buf[80];
    memset(buf, 'x', len);
    rig__sha256_hex(hex, buf, len);
    ck_assert_str_ne(hex, prev);
    memcpy(prev, hex, sizeof prev);
  }
}
END_TEST

/* ---- ports ---- */

typedef struct port_case {
  const char *title;
  rig_compose_port port;
  const char *host_ip;
  int host_port, host_port_end;
  const char *protocol;
} port_case;

static const port_case port_cases[] = {
    {"random host port on loopback",
     {NULL, 80, 0, 0, NULL, NULL, NULL, NULL},
     "127.0.0.1",
     0,
     0,
     "tcp"},
    {"fixed host port",
     {NULL, 5432, 15432, 15432, NULL, "tcp", NULL, NULL},
     "127.0.0.1",
     15432,
     0,
     "tcp"},
    {"explicit host ip",
     {NULL, 80, 8080, 8080, "0.0.0.0", "tcp", NULL, NULL},
     "0.0.0.0",
     8080,
     0,
     "tcp"},
    {"explicit ipv6", {NULL, 80, 0, 0, "::1", "tcp", NULL, NULL}, "::1", 0, 0, "tcp"},
    {"host range", {NULL, 80, 8000, 8010, NULL, NULL, NULL, NULL}, "127.0.0.1", 8000, 8010, "tcp"},
    {"udp", {NULL, 53, 0, 0, NULL, "udp", NULL, NULL}, "127.0.0.1", 0, 0, "udp"},
    {"empty host ip is default",
     {NULL, 9090, 0, 0, "", NULL, NULL, NULL},
     "127.0.0.1",
     0,
     0,
     "tcp"},
};

START_TEST(port_table)
{
  const port_case *c = &port_cases[_i];
  rig_compose_service svc;
  memset(&svc, 0, sizeof svc);
  svc.name = "web";
  svc.ports = &c->port;
  svc.port_count = 1;
  rig__port_list list;
  ck_assert_msg(rig__stack_resolve_ports(&list, &svc) == RIG_OK, "%s", c->title);
  ck_assert_uint_eq(list.binding_count, 1);
  ck_assert_int_eq(list.bindings[0].container_port, c->port.target);
  ck_assert_str_eq(list.bindings[0].host_ip, c->host_ip);
  ck_assert_str_eq(list.bindings[0].protocol, c->protocol);
  ck_assert_int_eq(list.bindings[0].host_port, c->host_port);
  ck_assert_int_eq(list.bindings[0].host_port_end, c->host_port_end);
  ck_assert_uint_eq(list.expose_count, 0);
  rig__port_list_dispose(&list);
}
END_TEST

START_TEST(ports_several_and_expose)
{
  rig_compose_port ports[] = {
      {NULL, 80, 0, 0, NULL, NULL, NULL, NULL},
      {NULL, 80, 0, 0, "::1", NULL, NULL, NULL}, /* the same port on two addresses */
      {NULL, 443, 8443, 8443, NULL, NULL, NULL, NULL},
  };
  static const char *const expose[] = {"9000", "7000-7002/udp", "9000/tcp", NULL};
  rig_compose_service svc;
  memset(&svc, 0, sizeof svc);
  svc.name = "web";
  svc.ports = ports;
  svc.port_count = 3;
  svc.expose.items = expose;
  svc.expose.count = 3;
  rig__port_list list;
  ck_assert_int_eq(rig__stack_resolve_ports(&list, &svc), RIG_OK);
  ck_assert_uint_eq(list.binding_count, 3);
  ck_assert_str_eq(list.bindings[1].host_ip, "::1");
  ck_assert_int_eq(list.bindings[2].host_port, 8443);
  ck_assert_uint_eq(list.expose_count, 4);
  ck_assert_str_eq(list.expose[0], "9000/tcp");
  ck_assert_str_eq(list.expose[1], "7000/udp");
  ck_assert_str_eq(list.expose[3], "7002/udp");
  ck_assert_ptr_null(list.expose[4]);
  rig__port_list_dispose(&list);
}
END_TEST

START_TEST(ports_rejected)
{
  struct {
    rig_compose_port port;
    const char *expose;
    const char *error;
  } cases[] = {
      {{NULL, 0, 0, 0, NULL, NULL, NULL, NULL}, NULL, "bad container port 0"},
      {{NULL, 70000, 0, 0, NULL, NULL, NULL, NULL}, NULL, "bad container port 70000"},
      {{NULL, 80, 9000, 8000, NULL, NULL, NULL, NULL}, NULL, "bad host port range 9000-8000"},
      {{NULL, 80, 0, 0, NULL, "icmp", NULL, NULL}, NULL, "bad protocol 'icmp'"},
      {{NULL, 80, 0, 0, NULL, NULL, NULL, NULL}, "abc", "expose: bad port 'abc'"},
      {{NULL, 80, 0, 0, NULL, NULL, NULL, NULL}, "90-80", "expose: bad port '90-80'"},
      {{NULL, 80, 0, 0, NULL, NULL, NULL, NULL}, "80/xyz", "expose: bad port '80/xyz'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *expose[] = {cases[i].expose, NULL};
    rig_compose_service svc;
    memset(&svc, 0, sizeof svc);
    svc.name = "web";
    svc.ports = &cases[i].port;
    svc.port_count = 1;
    if (cases[i].expose) {
      svc.expose.items = expose;
      svc.expose.count = 1;
    }
    rig__port_list list = {NULL, 7, NULL, 7};
    ck_assert_int_eq(rig__stack_resolve_ports(&list, &svc), RIG_EINVAL);
    ck_assert_msg(strstr(rig_error_last()->text, cases[i].error) != NULL, "'%s' lacks '%s'",
                  rig_error_last()->text, cases[i].error);
    ck_assert_msg(strstr(rig_error_last()->text, "service web") != NULL, "names the service");
    ck_assert_uint_eq(list.binding_count, 7); /* untouched on failure */
  }
}
END_TEST

/* ---- the container spec ---- */

START_TEST(spec_from_service)
{
  static const char *const command[] = {"sh", "-c", "exec httpd", NULL};
  static const char *const aliases[] = {"database", NULL};
  static const char *const hc_test[] = {"wget", "-q", "http://127.0.0.1/", NULL};
  rig_compose_kv env[] = {{"A", "1"}, {"UNSET", NULL}, {"B", "two words"}};
  rig_compose_port port = {NULL, 80, 0, 0, NULL, NULL, NULL, NULL};
  rig_compose_mount mounts[] = {
      {RIG_COMPOSE_MOUNT_VOLUME, "data", "/data", 1, NULL, 0, NULL, NULL, 0, NULL, 0, 0},
      {RIG_COMPOSE_MOUNT_BIND, "/host/conf", "/conf", 1, NULL, 1, NULL, "z", 0, NULL, 0, 0},
      {RIG_COMPOSE_MOUNT_BIND, "/host/strict", "/strict", 0, NULL, 0, NULL, NULL, 0, NULL, 0, 0},
      {RIG_COMPOSE_MOUNT_TMPFS, NULL, "/scratch", 0, NULL, 0, NULL, NULL, 0, NULL, 1 << 20, 01777},
      {RIG_COMPOSE_MOUNT_VOLUME, NULL, "/anon", 0, NULL, 0, NULL, NULL, 0, NULL, 0, 0},
  };
  rig_compose_service_network nets[] = {
      {"default", {NULL, 0}, NULL, NULL, 0},
      {"back", {aliases, 1}, NULL, NULL, 10},
  };
  rig_compose_network top_nets[2];
  memset(top_nets, 0, sizeof top_nets);
  top_nets[0].key = "back";
  top_nets[0].name = "demo_back";
  top_nets[1].key = "default";
  top_nets[1].name = "demo_default";
  rig_compose_volume top_vol;
  memset(&top_vol, 0, sizeof top_vol);
  top_vol.key = "data";
  top_vol.name = "demo_data";

  rig_compose_project p;
  rig_compose_service s[3];
  make_project(&p, s);
  p.networks = top_nets;
  p.network_count = 2;
  p.volumes = &top_vol;
  p.volume_count = 1;
  rig_compose_service *db = &s[0];
  db->command_set = 1;
  db->command.items = command;
  db->command.count = 3;
  db->environment = env;
  db->environment_count = 3;
  db->ports = &port;
  db->port_count = 1;
  db->volumes = mounts;
  db->volume_count = 5;
  db->networks = nets;
  db->network_count = 2;
  db->healthcheck.set = 1;
  db->healthcheck.kind = RIG_COMPOSE_HEALTH_CMD;
  db->healthcheck.test.items = hc_test;
  db->healthcheck.test.count = 3;
  db->healthcheck.interval_ns = 1000000000LL;
  db->healthcheck.retries = 5;
  db->stop_grace_period_set = 1;
  db->stop_grace_period_ns = 1500000000LL; /* rounds up to 2 s */
  db->stop_signal = "SIGINT";
  db->restart = "on-failure:3";
  db->init = RIG_COMPOSE_TRUE;
  db->entrypoint_set = 1; /* entrypoint: [] clears the image's */

  rig__label_context ctx = label_context(&p);
  rig__spec spec;
  ck_assert_int_eq(rig__stack_build_spec(&spec, &p, db, &ctx, "demo-db-1", 1), RIG_OK);
  const rig_docker_container_spec *c = &spec.spec;
  ck_assert_str_eq(c->name, "demo-db-1");
  ck_assert_str_eq(c->image, "busybox");
  ck_assert_str_eq(c->cmd[2], "exec httpd");
  ck_assert_str_eq(c->entrypoint[0], "");
  ck_assert_ptr_null(c->entrypoint[1]);
  ck_assert_str_eq(c->env[0], "A=1");
  ck_assert_str_eq(c->env[1], "B=two words"); /* a variable without a value is left out */
  ck_assert_ptr_null(c->env[2]);
  ck_assert_str_eq(c->healthcheck.test[0], "CMD");
  ck_assert_str_eq(c->healthcheck.test[3], "http://127.0.0.1/");
  ck_assert_int_eq(c->healthcheck.interval_ns, 1000000000LL);
  ck_assert_int_eq(c->healthcheck.retries, 5);
  ck_assert_int_eq(c->stop_timeout_set, 1);
  ck_assert_int_eq(c->stop_timeout_s, 2);
  ck_assert_str_eq(c->stop_signal, "SIGINT");
  ck_assert_str_eq(c->restart_policy, "on-failure");
  ck_assert_int_eq(c->restart_max_retries, 3);
  ck_assert_int_eq(c->init, 1);
  ck_assert_uint_eq(c->port_count, 1);
  ck_assert_str_eq(c->ports[0].host_ip, "127.0.0.1");
  /* the short-syntax bind goes to Binds (creates the host folder); the rest to Mounts */
  ck_assert_str_eq(c->binds[0], "/host/conf:/conf:ro,z");
  ck_assert_ptr_null(c->binds[1]);
  ck_assert_uint_eq(c->mount_count, 4);
  ck_assert_int_eq(c->mounts[0].type, RIG_DOCKER_MOUNT_VOLUME);
  ck_assert_str_eq(c->mounts[0].source, "demo_data"); /* the engine's name of the volume */
  ck_assert_int_eq(c->mounts[0].read_only, 1);
  ck_assert_int_eq(c->mounts[1].type, RIG_DOCKER_MOUNT_BIND);
  ck_assert_str_eq(c->mounts[1].source, "/host/strict");
  ck_assert_int_eq(c->mounts[2].type, RIG_DOCKER_MOUNT_TMPFS);
  ck_assert_int_eq(c->mounts[2].tmpfs_size, 1 << 20);
  ck_assert_ptr_null(c->mounts[3].source); /* anonymous */
  /* the highest priority network first; the service's name is an alias everywhere */
  ck_assert_uint_eq(c->endpoint_count, 2);
  ck_assert_str_eq(c->endpoints[0].network, "demo_back");
  ck_assert_str_eq(c->endpoints[0].aliases[0], "db");
  ck_assert_str_eq(c->endpoints[0].aliases[1], "database");
  ck_assert_str_eq(c->endpoints[1].network, "demo_default");
  ck_assert_str_eq(c->endpoints[1].aliases[0], "db");
  ck_assert_ptr_null(c->endpoints[1].aliases[1]);
  ck_assert_str_eq(c->network_mode, "demo_back");
  ck_assert_uint_eq(c->label_count, spec.labels.count);
  ck_assert_uint_eq(strlen(rig__labels_get(&spec.labels, "com.docker.compose.config-hash")), 64);
  rig__spec_dispose(&spec);
}
END_TEST

START_TEST(spec_health_and_network_mode_forms)
{
  static const char *const shell[] = {"pg_isready -U postgres", NULL};
  rig_compose_project p;
  rig_compose_service s[3];
  make_project(&p, s);
  rig__label_context ctx = label_context(&p);
  rig__spec spec;

  s[0].healthcheck.set = 1;
  s[0].healthcheck.kind = RIG_COMPOSE_HEALTH_CMD_SHELL;
  s[0].healthcheck.test.items = shell;
  s[0].healthcheck.test.count = 1;
  s[0].network_mode = "host";
  ck_assert_int_eq(rig__stack_build_spec(&spec, &p, &s[0], &ctx, "demo-db-1", 1), RIG_OK);
  ck_assert_str_eq(spec.spec.healthcheck.test[0], "CMD-SHELL");
  ck_assert_str_eq(spec.spec.healthcheck.test[1], "pg_isready -U postgres");
  ck_assert_ptr_null(spec.spec.healthcheck.test[2]);
  ck_assert_str_eq(spec.spec.network_mode, "host");
  ck_assert_uint_eq(spec.spec.endpoint_count, 0);
  ck_assert_int_eq(spec.spec.stop_timeout_set, 0);
  ck_assert_ptr_null(spec.spec.cmd);        /* the image's CMD */
  ck_assert_ptr_null(spec.spec.entrypoint); /* and ENTRYPOINT */
  rig__spec_dispose(&spec);

  s[0].healthcheck.kind = RIG_COMPOSE_HEALTH_NONE;
  s[0].network_mode = "service:migrate";
  ck_assert_int_eq(rig__stack_build_spec(&spec, &p, &s[0], &ctx, "demo-db-1", 1), RIG_OK);
  ck_assert_str_eq(spec.spec.healthcheck.test[0], "NONE");
  ck_assert_str_eq(spec.spec.network_mode, "container:demo-migrate-1");
  rig__spec_dispose(&spec);

  s[0].network_mode = "service:nothing";
  ck_assert_int_eq(rig__stack_build_spec(&spec, &p, &s[0], &ctx, "demo-db-1", 1), RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "service:nothing"));
  rig__spec_dispose(&spec);
}
END_TEST

START_TEST(config_hash_is_stable_and_sensitive)
{
  rig_compose_project p;
  rig_compose_service s[3];
  make_project(&p, s);
  char a[65], b[65], c[65];
  ck_assert_int_eq(rig__stack_config_hash(a, &p, &s[0]), RIG_OK);
  ck_assert_int_eq(rig__stack_config_hash(b, &p, &s[0]), RIG_OK);
  ck_assert_str_eq(a, b);
  ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 64);
  s[0].image = "busybox:other";
  ck_assert_int_eq(rig__stack_config_hash(c, &p, &s[0]), RIG_OK);
  ck_assert_str_ne(a, c);
  s[0].image = "busybox";
  ck_assert_int_eq(rig__stack_config_hash(c, &p, &s[0]), RIG_OK);
  ck_assert_str_eq(a, c);
}
END_TEST

/* ---- the reaper protocol ---- */

START_TEST(reaper_wait_protocol)
{
  struct {
    const char *written;
    size_t len;
    int disarmed;
  } cases[] = {
      {"", 0, 0},    /* the parent died: clean up */
      {"D", 1, 1},   /* stood down */
      {"xxD", 3, 1}, /* other bytes are ignored */
      {"x", 1, 0},   /* a stray byte is not a disarm */
      {"\0\0", 2, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    if (cases[i].len)
      ck_assert_int_eq(write(fds[1], cases[i].written, cases[i].len), (ssize_t)cases[i].len);
    close(fds[1]);
    ck_assert_int_eq(rig__reaper_wait(fds[0]), cases[i].disarmed);
    close(fds[0]);
  }
}
END_TEST

/* The reaper's action in these tests: record how it ended and whether it held on to the
 * descriptor a test harness would wait on. */
typedef struct marker_arg {
  char path[256];
} marker_arg;

static void write_marker(void *arg, int disarmed)
{
  marker_arg *m = arg;
  char tmp[300];
  snprintf(tmp, sizeof tmp, "%s.tmp", m->path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return;
  /* fd 1 must be /dev/null and nothing past 3 may be open (the pipe is 3). */
  struct stat st, null_st;
  int stdout_is_null =
      fstat(1, &st) == 0 && stat("/dev/null", &null_st) == 0 && st.st_rdev == null_st.st_rdev;
  int extra_open = 0;
  for (int fd = 4; fd < 64; fd++)
    if (fd != fileno(f) && fcntl(fd, F_GETFD) >= 0)
      extra_open++;
  fprintf(f, "%s %d %d %ld %ld\n", disarmed ? "disarmed" : "reaped", stdout_is_null, extra_open,
          (long)getsid(0), (long)getpid());
  fclose(f);
  rename(tmp, m->path);
}

static char *wait_for_file(const char *path)
{
  /* A bounded wait for another process's result, not a timed assertion. */
  for (int i = 0; i < 1000; i++) {
    char *text = NULL;
    size_t len = 0;
    if (rig__read_file(&text, &len, path) == RIG_OK)
      return text;
    usleep(10000);
  }
  return NULL;
}

START_TEST(reaper_runs_when_parent_closes)
{
  char *dir = rig_test_tempdir();
  marker_arg arg;
  snprintf(arg.path, sizeof arg.path, "%s/marker", dir);
  int canary[2];
  ck_assert_int_eq(pipe(canary), 0); /* an fd the reaper must not keep */
  rig__reaper reaper = RIG__REAPER_INIT;
  ck_assert_int_eq(rig__reaper_spawn(&reaper, write_marker, &arg), RIG_OK);
  ck_assert_int_ge(reaper.write_fd, 0);
  ck_assert_int_gt(reaper.pid, 0);
  ck_assert_int_ne(reaper.pid, getpid());
  ck_assert_int_eq(fcntl(reaper.write_fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  close(canary[1]);
  /* The canary's read end sees EOF only if no other process holds its write end. */
  char byte;
  ck_assert_int_eq(read(canary[0], &byte, 1), 0);
  close(canary[0]);
  rig__reaper_release(&reaper);
  ck_assert_int_eq(reaper.write_fd, -1);
  char *text = wait_for_file(arg.path);
  ck_assert_ptr_nonnull(text);
  char state[16];
  int stdout_is_null = 0, extra_open = -1;
  long sid = 0, pid = 0;
  ck_assert_int_eq(
      sscanf(text, "%15s %d %d %ld %ld", state, &stdout_is_null, &extra_open, &sid, &pid), 5);
  ck_assert_str_eq(state, "reaped");
  ck_assert_int_eq(stdout_is_null, 1);
  ck_assert_int_eq(extra_open, 0);
  ck_assert_int_ne(sid, (long)getsid(0)); /* its own session: no terminal signals */
  ck_assert_int_eq(pid, (long)reaper.pid);
  free(text);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(reaper_stands_down_when_disarmed)
{
  char *dir = rig_test_tempdir();
  marker_arg arg;
  snprintf(arg.path, sizeof arg.path, "%s/marker", dir);
  rig__reaper reaper = RIG__REAPER_INIT;
  ck_assert_int_eq(rig__reaper_spawn(&reaper, write_marker, &arg), RIG_OK);
  ck_assert_int_eq(rig__reaper_disarm(&reaper), RIG_OK);
  ck_assert_int_eq(reaper.write_fd, -1);
  ck_assert_int_eq(rig__reaper_disarm(&reaper), RIG_OK); /* twice is harmless */
  char *text = wait_for_file(arg.path);
  ck_assert_ptr_nonnull(text);
  ck_assert_ptr_nonnull(strstr(text, "disarmed"));
  free(text);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(reaper_survives_sigkill_of_parent)
{
  /* A child spawns the reaper and is SIGKILLed: the reaper notices and acts. */
  char *dir = rig_test_tempdir();
  marker_arg arg;
  snprintf(arg.path, sizeof arg.path, "%s/marker", dir);
  int ready[2];
  ck_assert_int_eq(pipe(ready), 0);
  pid_t child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0) {
    close(ready[0]);
    rig__reaper reaper = RIG__REAPER_INIT;
    if (rig__reaper_spawn(&reaper, write_marker, &arg) != RIG_OK)
      _exit(1);
    ssize_t n = write(ready[1], "r", 1);
    (void)n;
    for (;;)
      pause();
  }
  close(ready[1]);
  char byte = 0;
  ck_assert_int_eq(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ck_assert(WIFSIGNALED(status));
  char *text = wait_for_file(arg.path);
  ck_assert_ptr_nonnull(text);
  ck_assert_ptr_nonnull(strstr(text, "reaped"));
  free(text);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

/* valgrind runs its leak check when every process exits, _exit included, and with
 * --error-exitcode turns what it finds there (a forked child still holds copies of the
 * caller's allocations it will never free) into the exit status: the intermediate child
 * exits 9 although it did its job. This hook reproduces that without valgrind. fork()
 * runs it in the process that called fork, on its parent side; the intermediate child is
 * the only such process that leads a session of its own, and it forks the reaper before
 * it exits. */
static volatile sig_atomic_t fail_intermediate_child;
static pid_t test_process;
static int intermediate_exited_fd = -1;

static void exit_intermediate_child_with_9(void)
{
  if (!fail_intermediate_child || getpid() == test_process || getsid(0) != getpid())
    return;
  ssize_t n = write(intermediate_exited_fd, "9", 1);
  (void)n;
  _exit(9);
}

START_TEST(reaper_spawn_ignores_intermediate_exit_status)
{
  static int hook_installed;
  if (!hook_installed)
    ck_assert_int_eq(pthread_atfork(NULL, exit_intermediate_child_with_9, NULL), 0);
  hook_installed = 1;
  char *dir = rig_test_tempdir();
  marker_arg arg;
  snprintf(arg.path, sizeof arg.path, "%s/marker", dir);
  int exited[2];
  ck_assert_int_eq(pipe(exited), 0);
  test_process = getpid();
  intermediate_exited_fd = exited[1];
  fail_intermediate_child = 1;
  rig__reaper reaper = RIG__REAPER_INIT;
  int rc = rig__reaper_spawn(&reaper, write_marker, &arg);
  fail_intermediate_child = 0;
  close(exited[1]);
  /* The hook really ran: the intermediate child exited 9 after forking the reaper. */
  char byte = 0;
  ck_assert_int_eq(read(exited[0], &byte, 1), 1);
  ck_assert_int_eq(byte, '9');
  close(exited[0]);
  ck_assert_int_eq(rc, RIG_OK);
  ck_assert_int_gt(reaper.pid, 0);
  rig__reaper_release(&reaper);
  char *text = wait_for_file(arg.path);
  ck_assert_ptr_nonnull(text);
  ck_assert_ptr_nonnull(strstr(text, "reaped"));
  char expected_pid[32];
  snprintf(expected_pid, sizeof expected_pid, " %ld\n", (long)reaper.pid);
  ck_assert_ptr_nonnull(strstr(text, expected_pid));
  free(text);
  rig_test_rmtree(dir);
  free(dir);
}
END_TEST

static Suite *stack_suite(void)
{
  Suite *s = suite_create("stack");
  TCase *tc = tcase_create("plan");
  tcase_add_loop_test(tc, plan_table, 0, (int)(sizeof plan_cases / sizeof plan_cases[0]));
  tcase_add_test(tc, plan_records_skipped_optional_dependencies);
  tcase_add_test(tc, plan_cycle_detail);
  tcase_add_test(tc, plan_from_project);
  suite_add_tcase(s, tc);

  tc = tcase_create("names");
  tcase_add_test(tc, container_names);
  tcase_add_test(tc, container_labels_are_composes);
  tcase_add_test(tc, oneoff_label_can_be_preset);
  tcase_add_test(tc, network_and_volume_labels);
  tcase_add_test(tc, labels_set_replaces);
  tcase_add_test(tc, depends_label_parses_both_forms);
  tcase_add_test(tc, session_ids_are_unique_hex);
  tcase_add_test(tc, default_stack_images);
  tcase_add_test(tc, sha256_vectors);
  suite_add_tcase(s, tc);

  tc = tcase_create("ports");
  tcase_add_loop_test(tc, port_table, 0, (int)(sizeof port_cases / sizeof port_cases[0]));
  tcase_add_test(tc, ports_several_and_expose);
  tcase_add_test(tc, ports_rejected);
  suite_add_tcase(s, tc);

  tc = tcase_create("spec");
  tcase_add_test(tc, spec_from_service);
  tcase_add_test(tc, spec_health_and_network_mode_forms);
  tcase_add_test(tc, config_hash_is_stable_and_sensitive);
  suite_add_tcase(s, tc);

  tc = tcase_create("reaper");
  tcase_add_test(tc, reaper_wait_protocol);
  tcase_add_test(tc, reaper_runs_when_parent_closes);
  tcase_add_test(tc, reaper_stands_down_when_disarmed);
  tcase_add_test(tc, reaper_survives_sigkill_of_parent);
  tcase_add_test(tc, reaper_spawn_ignores_intermediate_exit_status);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(stack_suite());
}
