/*
 * cmd_config.c - `stackrig config`: loads, interpolates, merges and validates the compose
 * files and prints the resolved model (YAML or JSON, the shape of `docker compose config`),
 * or only the service names, or nothing (-q: validation only). Exit 0 when the files are
 * valid, 2 when they are not (the message names file:line:col).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#define MAX_LIST 64

enum { OPT_ENV_FILE = 256, OPT_PROFILE, OPT_FORMAT, OPT_SERVICES, OPT_PROJECT_DIRECTORY };

static const char usage[] =
    "usage: stackrig config [-f FILE]... [-p NAME] [--env-file FILE]... [--profile NAME]...\n"
    "                       [--project-directory DIR] [--format yaml|json] [--services] [-q]\n"
    "\n"
    "Loads the compose files, interpolates variables, merges the files in order and\n"
    "validates the result, then prints the resolved model in the shape of\n"
    "`docker compose config`. Errors name the file, line and column.\n"
    "\n"
    "Options:\n"
    "  -f, --file FILE           a compose file; repeat to merge several, later ones win\n"
    "                            (default: compose.yaml, compose.yml, docker-compose.yaml or\n"
    "                            docker-compose.yml in the current folder, plus its\n"
    "                            .override file)\n"
    "  -p, --project-name NAME   the project name (default: STACKRIG_PROJECT,\n"
    "                            COMPOSE_PROJECT_NAME, the file's name:, the folder's name)\n"
    "      --project-directory DIR  the folder relative paths and .env are read from\n"
    "                            (default: the first file's folder)\n"
    "      --env-file FILE       read variables from FILE instead of <project dir>/.env;\n"
    "                            repeat to read several, later ones win\n"
    "      --profile NAME        enable the services of a profile; repeat for several\n"
    "                            (default: COMPOSE_PROFILES)\n"
    "      --format yaml|json    the output format (default: yaml)\n"
    "      --services            print the enabled services' names, one per line\n"
    "  -q, --quiet               validate only; print nothing but errors\n"
    "  -h, --help                show this help\n"
    "\n"
    "Exit codes: 0 the files are valid, 2 they are not (or a bad command line).\n";

static int run_config(int argc, char **argv)
{
  static const struct option options[] = {
      {"file", required_argument, NULL, 'f'},
      {"project-name", required_argument, NULL, 'p'},
      {"project-directory", required_argument, NULL, OPT_PROJECT_DIRECTORY},
      {"env-file", required_argument, NULL, OPT_ENV_FILE},
      {"profile", required_argument, NULL, OPT_PROFILE},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"services", no_argument, NULL, OPT_SERVICES},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *files[MAX_LIST], *env_files[MAX_LIST], *profiles[MAX_LIST];
  size_t file_count = 0, env_file_count = 0, profile_count = 0;
  rig_compose_options opts = RIG_COMPOSE_OPTIONS_INIT;
  int json = 0, services_only = 0, quiet = 0;

  optind = 0; /* glibc: a full reset, as the runner may have parsed other options */
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+:f:p:qh", options, NULL)) != -1) {
    switch (c) {
    case 'f':
    case OPT_ENV_FILE:
    case OPT_PROFILE: {
      const char **list = c == 'f' ? files : c == OPT_ENV_FILE ? env_files : profiles;
      size_t *count = c == 'f' ? &file_count : c == OPT_ENV_FILE ? &env_file_count : &profile_count;
      if (*count == MAX_LIST)
        return runner_usage_error("config", "too many %s options (at most %d)", argv[optind - 2],
                                  MAX_LIST);
      list[(*count)++] = optarg;
      break;
    }
    case 'p':
      opts.project_name = optarg;
      break;
    case OPT_PROJECT_DIRECTORY:
      opts.project_directory = optarg;
      break;
    case OPT_FORMAT:
      if (strcmp(optarg, "json") == 0)
        json = 1;
      else if (strcmp(optarg, "yaml") == 0)
        json = 0;
      else
        return runner_usage_error("config", "--format must be yaml or json, not '%s'", optarg);
      break;
    case OPT_SERVICES:
      services_only = 1;
      break;
    case 'q':
      quiet = 1;
      break;
    case 'h':
      fputs(usage, stdout);
      return RIG_EXIT_OK;
    case ':':
      return runner_usage_error("config", "%s needs a value", argv[optind - 1]);
    default:
      return runner_usage_error("config", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return runner_usage_error("config", "unexpected argument '%s'", argv[optind]);

  if (file_count) {
    opts.files = files;
    opts.file_count = file_count;
  }
  if (env_file_count) {
    opts.env_files = env_files;
    opts.env_file_count = env_file_count;
  }
  if (profile_count) {
    opts.profiles = profiles;
    opts.profile_count = profile_count;
  }

  rig_compose_project *project = NULL;
  int rc = rig_compose_load(&project, &opts);
  if (rc != RIG_OK) {
    runner_report(rc, NULL);
    return rc == RIG_ENOMEM ? RIG_EXIT_INFRA : RIG_EXIT_USAGE;
  }
  for (size_t i = 0; i < project->warnings.count; i++)
    fprintf(stderr, "stackrig: warning: %s\n", project->warnings.items[i]);

  int exit_code = RIG_EXIT_OK;
  if (services_only) {
    for (size_t i = 0; i < project->service_count; i++)
      printf("%s\n", project->services[i].name);
  } else if (!quiet) {
    char *text = NULL;
    rc = json ? rig_compose_to_json(&text, project) : rig_compose_to_yaml(&text, project);
    if (rc == RIG_OK) {
      fputs(text, stdout);
      free(text);
    } else {
      exit_code = runner_report(rc, "config");
    }
  }
  if (fflush(stdout) != 0)
    exit_code = RIG_EXIT_INFRA;
  rig_compose_project_free(project);
  return exit_code;
}

const runner_command runner_cmd_config = {
    "config",
    "validate the compose files and print the resolved model",
    usage,
    run_config,
};
