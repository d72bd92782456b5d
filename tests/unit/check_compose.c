/*
 * check_compose.c - the compose loader against the corpus in fixtures/compose, plus its
 * API and the `stackrig config` command.
 *
 * Each corpus case is a folder: valid/<case>/ holds compose files and expected.json (the
 * `stackrig config --format json` output) and maybe expected-warnings.txt; invalid/<case>/
 * holds expected-error.txt, the exact message. Optional files: `args` (-f FILE, -p NAME,
 * --env-file FILE, --profile NAME, --project-directory DIR; paths relative to the case),
 * `env` (the only environment the case sees, KEY=VALUE lines), `.env`. Without `args` the
 * files are discovered in the case folder. ${FIXTURE_DIR} in expected files stands for the
 * case's absolute path. Every valid case is also rendered as YAML, loaded again, and must
 * give the same JSON.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stackrig.h>

#include "compose_suite.h"
#include "testutil.h"
#include "util.h"

/* ---- JSON comparison ---- */

static const char *type_name(json_object *v)
{
  return json_type_to_name(json_object_get_type(v));
}

static char *describe(json_object *v)
{
  const char *text =
      json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  return rig__sprintf("%.200s", text ? text : "null");
}

static char *diff_at(rig_buf *path, json_object *e, json_object *a)
{
  char *es = describe(e), *as = describe(a);
  char *msg = rig__sprintf("%s: expected %s, got %s", path->len ? path->data : "(top)", es, as);
  free(es);
  free(as);
  return msg;
}

static char *json_diff(rig_buf *path, json_object *e, json_object *a)
{
  json_type te = json_object_get_type(e), ta = json_object_get_type(a);
  int numbers = (te == json_type_int || te == json_type_double) &&
                (ta == json_type_int || ta == json_type_double);
  if (te != ta && !numbers) {
    char *msg = diff_at(path, e, a);
    char *full = rig__sprintf("%s (%s vs %s)", msg, type_name(e), type_name(a));
    free(msg);
    return full;
  }
  size_t mark = path->len;
  switch (te) {
  case json_type_null:
    return NULL;
  case json_type_boolean:
    return json_object_get_boolean(e) == json_object_get_boolean(a) ? NULL : diff_at(path, e, a);
  case json_type_int:
  case json_type_double:
    return json_object_get_double(e) == json_object_get_double(a) ? NULL : diff_at(path, e, a);
  case json_type_string:
    return strcmp(json_object_get_string(e), json_object_get_string(a)) == 0 ? NULL
                                                                             : diff_at(path, e, a);
  case json_type_array: {
    size_t ne = json_object_array_length(e), na = json_object_array_length(a);
    for (size_t i = 0; i < ne && i < na; i++) {
      rig__buf_printf(path, "[%zu]", i);
      char *d = json_diff(path, json_object_array_get_idx(e, i), json_object_array_get_idx(a, i));
      path->len = mark;
      path->data[mark] = '\0';
      if (d)
        return d;
    }
    if (ne != na)
      return rig__sprintf("%s: expected %zu items, got %zu", path->len ? path->data : "(top)", ne,
                          na);
    return NULL;
  }
  case json_type_object: {
    json_object_object_foreach(e, key, ev)
    {
      json_object *av = NULL;
      if (!json_object_object_get_ex(a, key, &av))
        return rig__sprintf("%s%s%s: missing (expected %s)", path->data ? path->data : "",
                            path->len ? "." : "", key,
                            json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
      rig__buf_printf(path, "%s%s", mark ? "." : "", key);
      char *d = json_diff(path, ev, av);
      path->len = mark;
      path->data[mark] = '\0';
      if (d)
        return d;
    }
    json_object_object_foreach(a, akey, aval)
    {
      if (!json_object_object_get_ex(e, akey, NULL))
        return rig__sprintf("%s%s%s: unexpected %s", path->data ? path->data : "",
                            path->len ? "." : "", akey,
                            json_object_to_json_string_ext(aval, JSON_C_TO_STRING_PLAIN));
    }
    return NULL;
  }
  }
  return NULL;
}

char *compose_json_diff(json_object *expected, json_object *actual)
{
  rig_buf path = RIG_BUF_INIT;
  rig__buf_puts(&path, "");
  char *d = json_diff(&path, expected, actual);
  rig__buf_dispose(&path);
  return d;
}

/* ---- the corpus ---- */

#define MAX_CASES 512
static char *cases[MAX_CASES];
static size_t case_count;

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect(const char *kind)
{
  char *rel = rig__sprintf("fixtures/compose/%s", kind);
  char *dir = rig_test_path(rel);
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL && case_count < MAX_CASES)
      if (ent->d_name[0] != '.')
        cases[case_count++] = rig__sprintf("%s/%s", kind, ent->d_name);
    closedir(d);
  }
  free(dir);
  free(rel);
}

static void collect_cases(void)
{
  collect("valid");
  collect("invalid");
  qsort(cases, case_count, sizeof *cases, cmp_str);
}

static void free_cases(void)
{
  for (size_t i = 0; i < case_count; i++)
    free(cases[i]);
}

static char *read_case_file(const char *dir, const char *name)
{
  char *path = rig__sprintf("%s/%s", dir, name);
  char *text = NULL;
  size_t len = 0;
  int rc = rig__read_file(&text, &len, path);
  free(path);
  if (rc != RIG_OK) {
    rig_error_clear();
    return NULL;
  }
  return text;
}

/* Replaces ${FIXTURE_DIR} and trims trailing newlines. */
static char *expand_expected(const char *text, const char *dir)
{
  rig_buf buf = RIG_BUF_INIT;
  const char *marker = "${FIXTURE_DIR}";
  const char *s = text;
  const char *hit;
  while ((hit = strstr(s, marker)) != NULL) {
    rig__buf_append(&buf, s, (size_t)(hit - s));
    rig__buf_puts(&buf, dir);
    s = hit + strlen(marker);
  }
  rig__buf_puts(&buf, s);
  while (buf.len && (buf.data[buf.len - 1] == '\n' || buf.data[buf.len - 1] == '\r'))
    buf.data[--buf.len] = '\0';
  return rig__buf_detach(&buf);
}

typedef struct case_options {
  rig_compose_options opts;
  const char *files[16];
  const char *env_files[8];
  const char *profiles[8];
  char *owned[64];
  size_t owned_count;
  rig_env *env;
} case_options;

static const char *own(case_options *co, char *s)
{
  ck_assert_uint_lt(co->owned_count, 64);
  co->owned[co->owned_count++] = s;
  return s;
}

static void case_options_init(case_options *co, const char *dir)
{
  memset(co, 0, sizeof *co);
  rig_compose_options init = RIG_COMPOSE_OPTIONS_INIT;
  co->opts = init;
  char *env_text = read_case_file(dir, "env");
  if (env_text) {
    ck_assert_msg(rig_dotenv_parse(&co->env, env_text, strlen(env_text), "env") == RIG_OK,
                  "%s/env: %s", dir, rig_error_last()->text);
    free(env_text);
  } else {
    rig_env_new(&co->env);
  }
  co->opts.environment = co->env;

  char *args = read_case_file(dir, "args");
  if (!args) {
    co->opts.project_directory = dir; /* discovery in the case folder */
    return;
  }
  size_t files = 0, env_files = 0, profiles = 0;
  char *save = NULL;
  for (char *tok = strtok_r(args, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
    char *value = strtok_r(NULL, " \t\r\n", &save);
    ck_assert_msg(value != NULL, "%s/args: %s needs a value", dir, tok);
    if (strcmp(tok, "-f") == 0) {
      co->files[files++] = own(co, rig__sprintf("%s/%s", dir, value));
    } else if (strcmp(tok, "--env-file") == 0) {
      co->env_files[env_files++] = own(co, rig__sprintf("%s/%s", dir, value));
    } else if (strcmp(tok, "--profile") == 0) {
      co->profiles[profiles++] = own(co, rig__strdup(value));
    } else if (strcmp(tok, "-p") == 0) {
      co->opts.project_name = own(co, rig__strdup(value));
    } else if (strcmp(tok, "--project-directory") == 0) {
      co->opts.project_directory = own(co, rig__sprintf("%s/%s", dir, value));
    } else {
      ck_abort_msg("%s/args: unknown option %s", dir, tok);
    }
  }
  free(args);
  if (files) {
    co->opts.files = co->files;
    co->opts.file_count = files;
  } else if (!co->opts.project_directory) {
    co->opts.project_directory = dir;
  }
  if (env_files) {
    co->opts.env_files = co->env_files;
    co->opts.env_file_count = env_files;
  }
  if (profiles) {
    co->opts.profiles = co->profiles;
    co->opts.profile_count = profiles;
  }
}

static void case_options_free(case_options *co)
{
  for (size_t i = 0; i < co->owned_count; i++)
    free(co->owned[i]);
  rig_env_free(co->env);
}

static char *joined_warnings(const rig_compose_project *p)
{
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_puts(&buf, "");
  for (size_t i = 0; i < p->warnings.count; i++)
    rig__buf_printf(&buf, "%s%s", i ? "\n" : "", p->warnings.items[i]);
  return rig__buf_detach(&buf);
}

static void assert_json_equal(const char *name, const char *expected_text, const char *actual_text)
{
  json_object *expected = json_tokener_parse(expected_text);
  ck_assert_msg(expected != NULL, "%s: expected.json is not valid JSON", name);
  json_object *actual = json_tokener_parse(actual_text);
  ck_assert_msg(actual != NULL, "%s: the output is not valid JSON:\n%s", name, actual_text);
  char *diff = compose_json_diff(expected, actual);
  if (diff)
    fprintf(stderr, "%s: actual JSON:\n%s\n", name, actual_text);
  json_object_put(expected);
  json_object_put(actual);
  ck_assert_msg(diff == NULL, "%s: %s", name, diff ? diff : "");
}

/* YAML output, loaded again, must describe the same project. */
static void assert_yaml_roundtrip(const char *name, const rig_compose_project *project,
                                  const char *json)
{
  if (strchr(json, '$'))
    return; /* resolved values with '$' would be interpolated again */
  char *yaml = NULL;
  ck_assert_int_eq(rig_compose_to_yaml(&yaml, project), RIG_OK);
  char *tmp = rig_test_tempdir();
  char *path = rig__sprintf("%s/compose.yaml", tmp);
  rig_test_write_file(path, yaml);
  rig_env *env = NULL;
  rig_env_new(&env);
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  const char *files[] = {path};
  opts.files = files;
  opts.file_count = 1;
  opts.environment = env;
  opts.project_name = project->name;
  opts.project_directory = project->working_dir;
  opts.profiles = project->profiles.items;
  opts.profile_count = project->profiles.count;
  opts.env_files = files; /* any file: keeps the project folder's .env out */
  opts.env_file_count = 0;
  rig_compose_project *again = NULL;
  int rc = rig_compose_load(&again, &opts);
  if (rc != RIG_OK)
    fprintf(stderr, "%s: YAML output:\n%s\n", name, yaml);
  ck_assert_msg(rc == RIG_OK, "%s: reloading the YAML output failed: %s", name,
                rig_error_last()->text);
  char *json_again = NULL;
  ck_assert_int_eq(rig_compose_to_json(&json_again, again), RIG_OK);
  char *label = rig__sprintf("%s (YAML round trip)", name);
  assert_json_equal(label, json, json_again);
  free(label);
  free(json_again);
  rig_compose_project_free(again);
  rig_env_free(env);
  rig_test_rmtree(tmp);
  free(path);
  free(tmp);
  free(yaml);
}

/*
 * With STACKRIG_COMPOSE_REGEN=1 a case's missing expected files are written from what the
 * loader does now (the case folder's path becomes ${FIXTURE_DIR}); existing files are never
 * touched. Review what it wrote before committing it.
 */
static int regenerate;

static char *write_expected(const char *dir, const char *name, const char *text)
{
  rig_buf buf = RIG_BUF_INIT;
  size_t dir_len = strlen(dir);
  for (const char *s = text; *s;) {
    if (strncmp(s, dir, dir_len) == 0) {
      rig__buf_puts(&buf, "${FIXTURE_DIR}");
      s += dir_len;
    } else {
      rig__buf_putc(&buf, *s++);
    }
  }
  if (!buf.len || buf.data[buf.len - 1] != '\n')
    rig__buf_putc(&buf, '\n');
  char *path = rig__sprintf("%s/%s", dir, name);
  rig_test_write_file(path, buf.data);
  free(path);
  fprintf(stderr, "wrote %s/%s\n", dir, name);
  return rig__buf_detach(&buf);
}

START_TEST(test_corpus_case)
{
  const char *name = cases[_i];
  char *rel = rig__sprintf("fixtures/compose/%s", name);
  char *dir = rig_test_path(rel);
  case_options co;
  case_options_init(&co, dir);
  rig_compose_project *project = NULL;
  int rc = rig_compose_load(&project, &co.opts);
  /* copied: reading the expected files below may replace the thread's last error */
  char *error_text =
      rc != RIG_OK && rig_error_last() ? rig__strdup(rig_error_last()->text) : rig__strdup("");

  if (strncmp(name, "valid/", 6) == 0) {
    ck_assert_msg(rc == RIG_OK, "%s: load failed (%s): %s", name, rig_error_name(rc), error_text);
    char *json = NULL;
    ck_assert_int_eq(rig_compose_to_json(&json, project), RIG_OK);
    char *expected_raw = read_case_file(dir, "expected.json");
    if (!expected_raw && regenerate)
      expected_raw = write_expected(dir, "expected.json", json);
    ck_assert_msg(expected_raw != NULL, "%s: expected.json is missing; the output is:\n%s", name,
                  json);
    char *expected = expand_expected(expected_raw, dir);
    assert_json_equal(name, expected, json);

    char *warnings_raw = read_case_file(dir, "expected-warnings.txt");
    if (!warnings_raw && regenerate && project->warnings.count) {
      char *w = joined_warnings(project);
      warnings_raw = write_expected(dir, "expected-warnings.txt", w);
      free(w);
    }
    char *expected_warnings = expand_expected(warnings_raw ? warnings_raw : "", dir);
    char *warnings = joined_warnings(project);
    ck_assert_msg(strcmp(expected_warnings, warnings) == 0,
                  "%s: warnings differ\nexpected:\n%s\ngot:\n%s", name, expected_warnings,
                  warnings);
    assert_yaml_roundtrip(name, project, json);
    free(warnings);
    free(expected_warnings);
    free(warnings_raw);
    free(expected);
    free(expected_raw);
    free(json);
  } else {
    char *expected_raw = read_case_file(dir, "expected-error.txt");
    if (!expected_raw && regenerate && rc != RIG_OK)
      expected_raw = write_expected(dir, "expected-error.txt", error_text);
    ck_assert_msg(rc != RIG_OK, "%s: loaded, but should fail with: %s", name,
                  expected_raw ? expected_raw : "?");
    ck_assert_ptr_null(project);
    ck_assert_msg(expected_raw != NULL, "%s: expected-error.txt is missing; the error is:\n%s",
                  name, error_text);
    char *expected = expand_expected(expected_raw, dir);
    ck_assert_msg(strcmp(expected, error_text) == 0, "%s: wrong error\nexpected: %s\n     got: %s",
                  name, expected, error_text);
    free(expected);
    free(expected_raw);
  }
  rig_compose_project_free(project);
  case_options_free(&co);
  free(error_text);
  free(dir);
  free(rel);
}
END_TEST

START_TEST(test_corpus_is_large)
{
  size_t valid = 0, invalid = 0;
  for (size_t i = 0; i < case_count; i++)
    if (strncmp(cases[i], "valid/", 6) == 0)
      valid++;
    else
      invalid++;
  ck_assert_uint_ge(valid, 30);
  ck_assert_uint_ge(invalid, 30);
}
END_TEST

/* ---- the API on one loaded project ---- */

static rig_compose_project *load_text(const char *yaml, const char *project_name)
{
  char *tmp = rig_test_tempdir();
  char *path = rig__sprintf("%s/compose.yaml", tmp);
  rig_test_write_file(path, yaml);
  rig_env *env = NULL;
  rig_env_new(&env);
  rig_env_set(env, "TAG", "1.2");
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  const char *files[] = {path};
  opts.files = files;
  opts.file_count = 1;
  opts.environment = env;
  opts.project_name = project_name;
  rig_compose_project *p = NULL;
  int rc = rig_compose_load(&p, &opts);
  rig_env_free(env);
  rig_test_rmtree(tmp);
  free(path);
  free(tmp);
  ck_assert_msg(rc == RIG_OK, "load: %s", rc ? rig_error_last()->text : "");
  return p;
}

START_TEST(test_api_lookups_and_extensions)
{
  rig_compose_project *p = load_text("services:\n"
                                     "  db:\n"
                                     "    image: postgres:${TAG}\n"
                                     "    x-stackrig:\n"
                                     "      wait: sql\n"
                                     "      timeout: 30s\n"
                                     "      retries: 3\n"
                                     "      ratio: 0.5\n"
                                     "      quoted: \"3\"\n"
                                     "      on: true\n"
                                     "      none: ~\n"
                                     "      list: [a, 1]\n"
                                     "  api:\n"
                                     "    image: api\n"
                                     "    depends_on: [db]\n",
                                     "apitest");
  ck_assert_str_eq(p->name, "apitest");
  ck_assert_uint_eq(p->service_count, 2);
  ck_assert_str_eq(p->services[0].name, "api"); /* sorted */
  const rig_compose_service *db = rig_compose_find_service(p, "db");
  ck_assert_ptr_nonnull(db);
  ck_assert_str_eq(db->image, "postgres:1.2");
  ck_assert_ptr_null(rig_compose_find_service(p, "nope"));
  ck_assert_ptr_null(rig_compose_find_service(NULL, "db"));
  ck_assert_ptr_nonnull(rig_compose_find_network(p, "default"));
  ck_assert_str_eq(rig_compose_find_network(p, "default")->name, "apitest_default");
  ck_assert_ptr_null(rig_compose_find_volume(p, "default"));

  const rig_compose_value *x = rig_compose_service_extension(db, "x-stackrig");
  ck_assert_ptr_nonnull(x);
  ck_assert_int_eq(x->type, RIG_COMPOSE_VALUE_MAP);
  ck_assert_int_eq(x->line, 5);
  ck_assert_str_eq(x->file, "compose.yaml");
  ck_assert_str_eq(rig_compose_value_get(x, "wait")->string, "sql");
  ck_assert_int_eq(rig_compose_value_get(x, "retries")->type, RIG_COMPOSE_VALUE_INT);
  ck_assert_int_eq(rig_compose_value_get(x, "retries")->integer, 3);
  ck_assert_int_eq(rig_compose_value_get(x, "ratio")->type, RIG_COMPOSE_VALUE_FLOAT);
  ck_assert_int_eq(rig_compose_value_get(x, "quoted")->type, RIG_COMPOSE_VALUE_STRING);
  ck_assert_int_eq(rig_compose_value_get(x, "on")->type, RIG_COMPOSE_VALUE_BOOL);
  ck_assert_int_eq(rig_compose_value_get(x, "none")->type, RIG_COMPOSE_VALUE_NULL);
  ck_assert_int_eq(rig_compose_value_get(x, "list")->type, RIG_COMPOSE_VALUE_LIST);
  ck_assert_int_eq(rig_compose_value_get(x, "timeout")->line, 6);
  ck_assert_int_eq(rig_compose_value_get(x, "timeout")->column, 16);
  ck_assert_ptr_null(rig_compose_value_get(x, "missing"));
  ck_assert_ptr_null(rig_compose_service_extension(db, "x-other"));

  char *json = NULL;
  ck_assert_int_eq(rig_compose_value_to_json(&json, x), RIG_OK);
  json_object *parsed = json_tokener_parse(json);
  json_object *want =
      json_tokener_parse("{\"wait\":\"sql\",\"timeout\":\"30s\",\"retries\":3,\"ratio\":0.5,"
                         "\"quoted\":\"3\",\"on\":true,\"none\":null,\"list\":[\"a\",1]}");
  char *diff = compose_json_diff(want, parsed);
  ck_assert_msg(diff == NULL, "%s", diff);
  json_object_put(parsed);
  json_object_put(want);
  free(json);

  char *svc = NULL;
  ck_assert_int_eq(rig_compose_service_to_json(&svc, p, rig_compose_find_service(p, "api")),
                   RIG_OK);
  ck_assert_ptr_nonnull(
      strstr(svc, "\"depends_on\":{\"db\":{\"condition\":\"service_started\",\"required\":true}}"));
  free(svc);
  rig_compose_project_free(p);
}
END_TEST

START_TEST(test_api_model_fields)
{
  rig_compose_project *p =
      load_text("services:\n"
                "  web:\n"
                "    image: nginx\n"
                "    command: [\"a\", \"b c\"]\n"
                "    entrypoint: \"\"\n"
                "    environment: [\"EMPTY=\", \"UNSET\"]\n"
                "    ports: [\"127.0.0.1::80\", \"8000-8001:80\"]\n"
                "    healthcheck: {test: [\"CMD\", \"curl\", \"-f\", \"x\"], interval: 1m30s}\n"
                "    init: true\n"
                "    stop_grace_period: 250ms\n"
                "    shm_size: 64m\n"
                "    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}\n"
                "    deploy: {replicas: 2}\n",
                NULL);
  const rig_compose_service *s = rig_compose_find_service(p, "web");
  ck_assert_int_eq(s->command_set, 1);
  ck_assert_uint_eq(s->command.count, 2);
  ck_assert_str_eq(s->command.items[1], "b c");
  ck_assert_ptr_null(s->command.items[2]);
  ck_assert_int_eq(s->entrypoint_set, 1);
  ck_assert_uint_eq(s->entrypoint.count, 0);
  ck_assert_uint_eq(s->environment_count, 2);
  ck_assert_str_eq(s->environment[0].value, "");
  ck_assert_ptr_null(s->environment[1].value);
  ck_assert_uint_eq(s->port_count, 2);
  ck_assert_str_eq(s->ports[0].host_ip, "127.0.0.1");
  ck_assert_int_eq(s->ports[0].published_start, 0);
  ck_assert_int_eq(s->ports[1].published_start, 8000);
  ck_assert_int_eq(s->ports[1].published_end, 8001);
  ck_assert_int_eq(s->healthcheck.kind, RIG_COMPOSE_HEALTH_CMD);
  ck_assert_uint_eq(s->healthcheck.test.count, 3);
  ck_assert_str_eq(s->healthcheck.test.items[0], "curl");
  ck_assert(s->healthcheck.interval_ns == INT64_C(90000000000));
  ck_assert_int_eq(s->init, RIG_COMPOSE_TRUE);
  ck_assert_int_eq(s->tty, RIG_COMPOSE_UNSET);
  ck_assert(s->stop_grace_period_set && s->stop_grace_period_ns == INT64_C(250000000));
  ck_assert(s->shm_size == INT64_C(67108864));
  ck_assert_uint_eq(s->ulimit_count, 2);
  ck_assert(s->ulimits[1].soft == 512 && s->ulimits[1].hard == 512);
  ck_assert_int_eq(s->replicas, 2);
  ck_assert_str_eq(s->restart, "no");
  ck_assert_uint_eq(s->network_count, 1);
  ck_assert_str_eq(s->networks[0].network, "default");
  ck_assert_uint_eq(p->config_files.count, 1);
  ck_assert_ptr_nonnull(strstr(p->config_files.items[0], "/compose.yaml"));
  rig_compose_project_free(p);
}
END_TEST

START_TEST(test_api_bad_arguments)
{
  rig_compose_project *p = (rig_compose_project *)0x1;
  ck_assert_int_eq(rig_compose_load(NULL, NULL), RIG_EINVAL);
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  opts.version = 99;
  ck_assert_int_eq(rig_compose_load(&p, &opts), RIG_EINVAL);
  ck_assert_ptr_eq(p, (rig_compose_project *)0x1); /* untouched on failure */
  char *out = NULL;
  ck_assert_int_eq(rig_compose_to_json(&out, NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_compose_to_yaml(NULL, NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_compose_value_to_json(&out, NULL), RIG_EINVAL);
  ck_assert_ptr_null(rig_compose_value_get(NULL, "x"));
  ck_assert_ptr_null(rig_compose_service_extension(NULL, "x"));
  rig_compose_project_free(NULL);
}
END_TEST

START_TEST(test_discovery_finds_nothing)
{
  char *tmp = rig_test_tempdir();
  rig_env *env = NULL;
  rig_env_new(&env);
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  opts.environment = env;
  opts.project_directory = tmp;
  rig_compose_project *p = NULL;
  ck_assert_int_eq(rig_compose_load(&p, &opts), RIG_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "no compose file in"));
  ck_assert_ptr_nonnull(rig_error_detail_get(rig_error_last(), "hint"));

  /* COMPOSE_FILE names the files when none are given */
  char *path = rig__sprintf("%s/other.yml", tmp);
  rig_test_write_file(path, "services:\n  a:\n    image: busybox\n");
  rig_env_set(env, "COMPOSE_FILE", path);
  rig_env_set(env, "COMPOSE_PROFILES", "x,y");
  ck_assert_int_eq(rig_compose_load(&p, &opts), RIG_OK);
  ck_assert_uint_eq(p->service_count, 1);
  ck_assert_uint_eq(p->profiles.count, 2);
  ck_assert_str_eq(p->profiles.items[1], "y");
  rig_compose_project_free(p);
  rig_env_free(env);
  rig_test_rmtree(tmp);
  free(path);
  free(tmp);
}
END_TEST

START_TEST(test_missing_file_named)
{
  rig_env *env = NULL;
  rig_env_new(&env);
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  const char *files[] = {"/nonexistent/compose.yaml"};
  opts.files = files;
  opts.file_count = 1;
  opts.environment = env;
  rig_compose_project *p = NULL;
  ck_assert_int_eq(rig_compose_load(&p, &opts), RIG_ENOTFOUND);
  ck_assert_str_eq(rig_error_last()->text, "compose.yaml: no such compose file");
  rig_env_free(env);
}
END_TEST

/* The default stack (DESIGN.md's contract: these four services) loads without a warning. */
START_TEST(test_default_stack_loads)
{
  char *path = rig_test_path("compose/stack.yml");
  rig_env *env = NULL;
  rig_env_new(&env);
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  const char *files[] = {path};
  opts.files = files;
  opts.file_count = 1;
  opts.environment = env;
  rig_compose_project *p = NULL;
  int rc = rig_compose_load(&p, &opts);
  ck_assert_msg(rc == RIG_OK, "compose/stack.yml: %s", rc ? rig_error_last()->text : "");
  static const char *const names[] = {"postgres", "jaeger", "prometheus", "otel-collector"};
  for (size_t i = 0; i < 4; i++)
    ck_assert_msg(rig_compose_find_service(p, names[i]) != NULL, "no service %s", names[i]);
  ck_assert_msg(p->warnings.count == 0, "warning: %s",
                p->warnings.count ? p->warnings.items[0] : "");
  rig_compose_project_free(p);
  rig_env_free(env);
  free(path);
}
END_TEST

/* ---- the command ---- */

static char *fixture(const char *rel)
{
  char *r = rig__sprintf("fixtures/compose/%s", rel);
  char *p = rig_test_path(r);
  free(r);
  return p;
}

START_TEST(test_cli_json_services_quiet)
{
  char *file = fixture("valid/real-world-app/compose.yaml");
  char *out = NULL, *err = NULL;
  int status = rig_test_stackrig(&out, &err, "config", "-f", file, "--format", "json", NULL);
  ck_assert_msg(status == 0, "exit %d: %s", status, err);
  json_object *parsed = json_tokener_parse(out);
  ck_assert_ptr_nonnull(parsed);
  json_object *services = NULL;
  ck_assert(json_object_object_get_ex(parsed, "services", &services));
  ck_assert_int_ge(json_object_object_length(services), 4);
  json_object_put(parsed);
  free(out);
  free(err);

  status = rig_test_stackrig(&out, &err, "config", "-f", file, "--services", NULL);
  ck_assert_int_eq(status, 0);
  ck_assert_ptr_nonnull(strstr(out, "db\n"));
  free(out);
  free(err);

  status = rig_test_stackrig(&out, &err, "config", "-q", "--file", file, NULL);
  ck_assert_int_eq(status, 0);
  ck_assert_str_eq(out, "");
  free(out);
  free(err);

  status = rig_test_stackrig(&out, &err, "config", "-f", file, NULL);
  ck_assert_int_eq(status, 0);
  ck_assert_ptr_nonnull(strstr(out, "name: real-world-app\nservices:\n"));
  free(out);
  free(err);
  free(file);
}
END_TEST

START_TEST(test_cli_errors_and_help)
{
  char *file = fixture("invalid/unknown-key/compose.yaml");
  char *out = NULL, *err = NULL;
  int status = rig_test_stackrig(&out, &err, "config", "-f", file, NULL);
  ck_assert_int_eq(status, 2);
  ck_assert_msg(strncmp(err, "stackrig: compose.yaml:", 23) == 0, "stderr: %s", err);
  ck_assert_ptr_nonnull(strstr(err, "did you mean \"image\"?"));
  ck_assert_str_eq(out, "");
  free(out);
  free(err);
  free(file);

  file = fixture("valid/version-obsolete/compose.yaml");
  status = rig_test_stackrig(&out, &err, "config", "-f", file, "-q", NULL);
  ck_assert_int_eq(status, 0);
  ck_assert_ptr_nonnull(
      strstr(err, "stackrig: warning: compose.yaml:1:1: the top-level `version` key is obsolete"));
  free(out);
  free(err);
  free(file);

  status = rig_test_stackrig(&out, &err, "config", "--help", NULL);
  ck_assert_int_eq(status, 0);
  ck_assert_msg(strncmp(out, "usage: stackrig config", 22) == 0, "%s", out);
  free(out);
  free(err);

  status = rig_test_stackrig(&out, &err, "config", "--format", "toml", NULL);
  ck_assert_int_eq(status, 2);
  ck_assert_ptr_nonnull(strstr(err, "--format must be yaml or json"));
  free(out);
  free(err);

  status = rig_test_stackrig(&out, &err, "config", "-f", NULL);
  ck_assert_int_eq(status, 2);
  free(out);
  free(err);

  status = rig_test_stackrig(&out, &err, "config", "-f", "/nonexistent/x.yaml", NULL);
  ck_assert_int_eq(status, 2);
  ck_assert_ptr_nonnull(strstr(err, "no such compose file"));
  free(out);
  free(err);

  status = rig_test_stackrig(&out, &err, "config", "stray", NULL);
  ck_assert_int_eq(status, 2);
  free(out);
  free(err);
}
END_TEST

static Suite *compose_suite(void)
{
  Suite *s = suite_create("compose");
  TCase *corpus = tcase_create("corpus");
  tcase_add_test(corpus, test_corpus_is_large);
  tcase_add_loop_test(corpus, test_corpus_case, 0, (int)case_count);
  suite_add_tcase(s, corpus);

  TCase *api = tcase_create("api");
  tcase_add_test(api, test_api_lookups_and_extensions);
  tcase_add_test(api, test_api_model_fields);
  tcase_add_test(api, test_api_bad_arguments);
  tcase_add_test(api, test_discovery_finds_nothing);
  tcase_add_test(api, test_missing_file_named);
  tcase_add_test(api, test_default_stack_loads);
  suite_add_tcase(s, api);

  TCase *cli = tcase_create("cli");
  tcase_add_test(cli, test_cli_json_services_quiet);
  tcase_add_test(cli, test_cli_errors_and_help);
  suite_add_tcase(s, cli);

  suite_add_tcase(s, compose_interp_tcase());
  suite_add_tcase(s, compose_merge_tcase());
  return s;
}

int main(void)
{
  const char *regen = getenv("STACKRIG_COMPOSE_REGEN");
  regenerate = regen && strcmp(regen, "1") == 0;
  collect_cases();
  int rc = rig_test_main(compose_suite());
  free_cases();
  return rc;
}
