/*
 * fuzz_compose.c - libFuzzer target for the compose loader: YAML parsing, anchors and merge
 * keys, interpolation, normalization, multi-file merge, the model, and both renderings.
 *
 * An input holding the line "---8<---" is split there into two files that are merged, so
 * the merge rules get fuzzed too. Build and run it by hand (see docs/compose.md):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I framework/include -I framework/src \
 *     -D_GNU_SOURCE tests/fuzz/fuzz_compose.c framework/src/compose_*.c framework/src/util.c \
 *     framework/src/error.c framework/src/config.c framework/src/dotenv.c \
 *     $(pkg-config --cflags --libs yaml-0.1 json-c) -o fuzz_compose
 *   mkdir -p corpus && cp fixtures/compose/valid/<case>/compose.yaml corpus/<case>.yaml ...
 *   ./fuzz_compose -max_total_time=120 corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose_internal.h"

static rig_env *fuzz_env(void)
{
  static rig_env *env;
  if (!env) {
    rig_env_new(&env);
    rig_env_set(env, "TAG", "1.0");
    rig_env_set(env, "EMPTY", "");
    rig_env_set(env, "PORT", "8080");
    rig_env_set(env, "HOME", "/home/fuzz");
  }
  return env;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char marker[] = "\n---8<---\n";
  const char *text = (const char *)data;
  rig__compose_memory files[2] = {{text, size}, {NULL, 0}};
  size_t count = 1;
  const char *split =
      size >= sizeof marker - 1 ? memmem(text, size, marker, sizeof marker - 1) : NULL;
  if (split) {
    files[0].len = (size_t)(split - text);
    files[1].text = split + sizeof marker - 1;
    files[1].len = size - files[0].len - (sizeof marker - 1);
    count = 2;
  }
  const char *names[] = {"/nonexistent-fuzz/compose.yaml", "/nonexistent-fuzz/override.yaml"};
  const char *profiles[] = {"debug"};
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  opts.files = names;
  opts.file_count = count;
  opts.project_directory = "/nonexistent-fuzz";
  opts.environment = fuzz_env();
  opts.profiles = profiles;
  opts.profile_count = 1;
  opts.env_files = names; /* with a count of 0: read no .env */
  opts.env_file_count = 0;

  rig_compose_project *project = NULL;
  if (rig__compose_load_memory(&project, &opts, files, count) == RIG_OK) {
    char *json = NULL, *yaml = NULL;
    if (rig_compose_to_json(&json, project) != RIG_OK ||
        rig_compose_to_yaml(&yaml, project) != RIG_OK)
      abort(); /* a loaded project always renders */
    for (size_t i = 0; i < project->service_count; i++) {
      char *svc = NULL;
      rig_compose_service_to_json(&svc, project, &project->services[i]);
      free(svc);
      const rig_compose_value *x =
          rig_compose_service_extension(&project->services[i], "x-stackrig");
      if (x) {
        char *xj = NULL;
        rig_compose_value_to_json(&xj, x);
        free(xj);
      }
    }
    free(json);
    free(yaml);
    rig_compose_project_free(project);
  } else {
    rig_error_clear();
  }
  return 0;
}
