/*
 * check_compose_merge.c - merging two files, case by case, by the Compose Specification's
 * rules: mappings merge, sequences append, command/entrypoint/healthcheck.test are replaced,
 * ports and volumes are unique by their key, environment and labels merge by name in
 * either syntax, !reset removes and !override replaces.
 */
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "compose_suite.h"
#include "testutil.h"
#include "util.h"

typedef struct merge_case {
  const char *name;
  const char *base;     /* the body of service "s" in the first file */
  const char *override; /* ... in the second */
  const char *expected; /* JSON object: the fields of s to check; "ABSENT" means no such key */
} merge_case;

static const merge_case merge_cases[] = {
    {"scalar replaced", "user: root\nhostname: h\n", "user: nobody\n",
     "{\"user\":\"nobody\",\"hostname\":\"h\"}"},
    {"environment merged by name", "environment:\n  A: '1'\n  B: '2'\n",
     "environment:\n  B: 'x'\n  C: '3'\n",
     "{\"environment\":{\"A\":\"1\",\"B\":\"x\",\"C\":\"3\"}}"},
    {"environment list then map", "environment: [A=1, B=2]\n", "environment:\n  B: x\n",
     "{\"environment\":{\"A\":\"1\",\"B\":\"x\"}}"},
    {"environment map then list", "environment:\n  A: '1'\n", "environment: [A=2, C]\n",
     "{\"environment\":{\"A\":\"2\",\"C\":null}}"},
    {"labels merged", "labels: [a=1, b=2]\n", "labels:\n  b: two\n",
     "{\"labels\":{\"a\":\"1\",\"b\":\"two\"}}"},
    {"command replaced", "command: [echo, foo]\n", "command: [echo, bar]\n",
     "{\"command\":[\"echo\",\"bar\"]}"},
    {"command string replaces list", "command: [a, b, c]\n", "command: x y\n",
     "{\"command\":[\"x\",\"y\"]}"},
    {"entrypoint replaced", "entrypoint: [sh, -c]\n", "entrypoint: [bash]\n",
     "{\"entrypoint\":[\"bash\"]}"},
    {"healthcheck test replaced, timings merged",
     "healthcheck:\n  test: [CMD, a]\n  interval: 5s\n", "healthcheck:\n  test: [CMD, b, c]\n",
     "{\"healthcheck\":{\"test\":[\"CMD\",\"b\",\"c\"],\"interval\":\"5s\"}}"},
    {"ports appended", "ports: ['8080:80']\n", "ports: ['8443:443']\n",
     "{\"ports\":[{\"mode\":\"ingress\",\"target\":80,\"published\":\"8080\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":443,\"published\":\"8443\",\"protocol\":\"tcp\"}]}"},
    {"same port once", "ports: ['8080:80']\n", "ports: ['8080:80']\n",
     "{\"ports\":[{\"mode\":\"ingress\",\"target\":80,\"published\":\"8080\",\"protocol\":\"tcp\"}]"
     "}"},
    {"same port in long syntax once", "ports: ['127.0.0.1:8080:80']\n",
     "ports:\n  - {target: 80, published: '8080', host_ip: 127.0.0.1}\n",
     "{\"ports\":[{\"mode\":\"ingress\",\"host_ip\":\"127.0.0.1\",\"target\":80,\"published\":"
     "\"8080\","
     "\"protocol\":\"tcp\"}]}"},
    {"udp port is another port", "ports: ['53:53']\n", "ports: ['53:53/udp']\n",
     "{\"ports\":[{\"mode\":\"ingress\",\"target\":53,\"published\":\"53\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":53,\"published\":\"53\",\"protocol\":\"udp\"}]}"},
    {"volumes unique by target", "volumes: ['/a:/work', '/b:/keep']\n",
     "volumes: ['/c:/work:ro']\n",
     "{\"volumes\":[{\"type\":\"bind\",\"source\":\"/c\",\"target\":\"/work\",\"read_only\":true,"
     "\"bind\":{\"create_host_path\":true}},"
     "{\"type\":\"bind\",\"source\":\"/b\",\"target\":\"/"
     "keep\",\"bind\":{\"create_host_path\":true}}]}"},
    {"volume long replaces short by target", "volumes: ['/a:/work']\n",
     "volumes:\n  - {type: tmpfs, target: /work}\n",
     "{\"volumes\":[{\"type\":\"tmpfs\",\"target\":\"/work\"}]}"},
    {"expose unique", "expose: ['80', '81']\n", "expose: ['81', '82']\n",
     "{\"expose\":[\"80\",\"81\",\"82\"]}"},
    {"dns appended and unique", "dns: 1.1.1.1\n", "dns: [8.8.8.8, 1.1.1.1]\n",
     "{\"dns\":[\"1.1.1.1\",\"8.8.8.8\"]}"},
    {"cap_add unique", "cap_add: [NET_ADMIN]\n", "cap_add: [NET_ADMIN, SYS_TIME]\n",
     "{\"cap_add\":[\"NET_ADMIN\",\"SYS_TIME\"]}"},
    {"depends_on merged", "depends_on: [a]\n",
     "depends_on:\n  b:\n    condition: service_healthy\n",
     "{\"depends_on\":{\"a\":{\"condition\":\"service_started\",\"required\":true},"
     "\"b\":{\"condition\":\"service_healthy\",\"required\":true}}}"},
    {"depends_on condition overridden", "depends_on:\n  a: {condition: service_healthy}\n",
     "depends_on:\n  a: {condition: service_completed_successfully, required: false}\n",
     "{\"depends_on\":{\"a\":{\"condition\":\"service_completed_successfully\",\"required\":false}}"
     "}"},
    {"networks list and map merged", "networks: [front]\n",
     "networks:\n  back:\n    aliases: [x]\n",
     "{\"networks\":{\"front\":null,\"back\":{\"aliases\":[\"x\"]}}}"},
    {"network aliases appended", "networks:\n  front: {aliases: [a]}\n",
     "networks:\n  front: {aliases: [b, a]}\n",
     "{\"networks\":{\"front\":{\"aliases\":[\"a\",\"b\"]}}}"},
    {"ulimits merged by name", "ulimits: {nofile: 1024, nproc: 10}\n",
     "ulimits: {nofile: {soft: 1, hard: 2}}\n",
     "{\"ulimits\":{\"nofile\":{\"soft\":1,\"hard\":2},\"nproc\":10}}"},
    {"extra_hosts merged by host", "extra_hosts: ['a:1.1.1.1', 'b:2.2.2.2']\n",
     "extra_hosts: ['b=3.3.3.3']\n", "{\"extra_hosts\":[\"a:1.1.1.1\",\"b:3.3.3.3\"]}"},
    {"env_file appended", "env_file: a.env\n", "env_file: [{path: b.env, required: false}]\n",
     "{\"env_file\":\"ABSENT\"}"},
    {"reset removes ports", "ports: ['80:80']\n", "ports: !reset []\n", "{\"ports\":\"ABSENT\"}"},
    {"reset removes one variable", "environment:\n  A: '1'\n  B: '2'\n",
     "environment:\n  A: !reset null\n", "{\"environment\":{\"B\":\"2\"}}"},
    {"override replaces ports", "ports: ['8080:80']\n", "ports: !override ['8443:443']\n",
     "{\"ports\":[{\"mode\":\"ingress\",\"target\":443,\"published\":\"8443\",\"protocol\":\"tcp\"}"
     "]}"},
    {"override replaces environment", "environment: {A: '1', B: '2'}\n",
     "environment: !override {C: '3'}\n", "{\"environment\":{\"C\":\"3\"}}"},
    {"x- extension merged", "x-stackrig: {wait: tcp, port: 80}\n", "x-stackrig: {wait: http}\n",
     "{\"x-stackrig\":{\"wait\":\"http\",\"port\":80}}"},
    {"profiles unique", "profiles: [a]\n", "profiles: [a, b]\n", "{\"profiles\":[\"a\",\"b\"]}"},
    {"null override keeps the mapping", "healthcheck: {test: [CMD, x]}\n", "healthcheck:\n",
     "{\"healthcheck\":{\"test\":[\"CMD\",\"x\"]}}"},
};

START_TEST(test_merge_table)
{
  const merge_case *c = &merge_cases[_i];
  char *tmp = rig_test_tempdir();
  char *base_path = rig__sprintf("%s/base.yaml", tmp);
  char *over_path = rig__sprintf("%s/override.yaml", tmp);
  rig_buf base = RIG_BUF_INIT, over = RIG_BUF_INIT;
  rig__buf_puts(&base, "services:\n  s:\n    image: busybox\n");
  rig__buf_puts(&over, "services:\n  s:\n");
  for (int side = 0; side < 2; side++) {
    const char *body = side ? c->override : c->base;
    rig_buf *buf = side ? &over : &base;
    for (const char *line = body; *line;) {
      const char *nl = strchr(line, '\n');
      size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
      rig__buf_puts(buf, "    ");
      rig__buf_append(buf, line, len);
      line += len;
    }
  }
  rig__buf_puts(&base, "  a: {image: a}\n  b: {image: b}\n"
                       "networks: {front: {}, back: {}}\n");
  rig_test_write_file(base_path, base.data);
  rig_test_write_file(over_path, over.data);
  char *env_a = rig__sprintf("%s/a.env", tmp);
  rig_test_write_file(env_a, "FROM_FILE=1\n");

  rig_env *env = NULL;
  rig_env_new(&env);
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  const char *files[] = {base_path, over_path};
  const char *profiles[] = {"*"};
  opts.files = files;
  opts.file_count = 2;
  opts.environment = env;
  opts.project_name = "merge";
  opts.profiles = profiles;
  opts.profile_count = 1;
  rig_compose_project *p = NULL;
  int rc = rig_compose_load(&p, &opts);
  ck_assert_msg(rc == RIG_OK, "%s: %s\n%s---\n%s", c->name, rc ? rig_error_last()->text : "",
                base.data, over.data);
  char *json = NULL;
  ck_assert_int_eq(rig_compose_service_to_json(&json, p, rig_compose_find_service(p, "s")), RIG_OK);
  json_object *actual = json_tokener_parse(json);
  json_object *expected = json_tokener_parse(c->expected);
  ck_assert_msg(expected != NULL, "%s: bad expected JSON", c->name);
  json_object_object_foreach(expected, key, want)
  {
    json_object *got = NULL;
    int present = json_object_object_get_ex(actual, key, &got);
    if (json_object_is_type(want, json_type_string) &&
        strcmp(json_object_get_string(want), "ABSENT") == 0) {
      if (strcmp(key, "env_file") == 0) {
        /* both files are listed, the missing optional one is skipped */
        ck_assert_msg(present && json_object_array_length(got) == 1, "%s: env_file: %s", c->name,
                      json);
        continue;
      }
      ck_assert_msg(!present, "%s: %s should be absent: %s", c->name, key, json);
      continue;
    }
    ck_assert_msg(present, "%s: %s missing in %s", c->name, key, json);
    char *diff = compose_json_diff(want, got);
    ck_assert_msg(diff == NULL, "%s: %s: %s\nservice: %s", c->name, key, diff ? diff : "", json);
  }
  json_object_put(actual);
  json_object_put(expected);
  free(json);
  rig_compose_project_free(p);
  rig_env_free(env);
  rig__buf_dispose(&base);
  rig__buf_dispose(&over);
  rig_test_rmtree(tmp);
  free(env_a);
  free(base_path);
  free(over_path);
  free(tmp);
}
END_TEST

TCase *compose_merge_tcase(void)
{
  TCase *tc = tcase_create("merge");
  tcase_add_loop_test(tc, test_merge_table, 0, (int)(sizeof merge_cases / sizeof merge_cases[0]));
  return tc;
}
