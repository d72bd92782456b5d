/*
 * testutil.c - shared helpers for the Check suites (see testutil.h).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stackrig.h>

#include "util.h"

pid_t rig_test_spawn(const char *const argv[], int *in, int *out, int *err)
{
  int *ends[3] = {in, out, err};
  int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  /* O_CLOEXEC: a program started meanwhile by another thread must not hold these ends,
   * or its reader would wait for end-of-file for as long as that program lives. */
  for (int i = 0; i < 3; i++) {
    if (ends[i] && pipe2(pipes[i], O_CLOEXEC) != 0) {
      for (int j = 0; j < i; j++) {
        close(pipes[j][0]);
        close(pipes[j][1]);
      }
      return -1;
    }
  }
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3; i++)
      dup2(ends[i] ? pipes[i][i == 0 ? 0 : 1] : null_fd, i);
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  for (int i = 0; i < 3; i++) {
    if (!ends[i])
      continue;
    /* ours is the write end of stdin's pipe and the read end of the others */
    int ours = i == 0 ? 1 : 0;
    close(pipes[i][1 - ours]);
    if (pid < 0)
      close(pipes[i][ours]);
    else
      *ends[i] = pipes[i][ours];
  }
  return pid < 0 ? -1 : pid;
}

int rig_test_run(const char *const argv[], const char *stdin_text, char **out, char **err)
{
  int in_fd = -1, out_fd = -1, err_fd = -1;
  pid_t pid = rig_test_spawn(argv, stdin_text ? &in_fd : NULL, &out_fd, &err_fd);
  if (pid < 0)
    return -1;
  if (stdin_text) {
    signal(SIGPIPE, SIG_IGN);
    size_t len = strlen(stdin_text);
    ssize_t n = write(in_fd, stdin_text, len);
    (void)n;
    close(in_fd);
  }
  rig_buf bufs[2] = {RIG_BUF_INIT, RIG_BUF_INIT};
  struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char chunk[4096];
      ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        rig__buf_append(&bufs[i], chunk, (size_t)n);
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (out)
    *out = rig__buf_detach(&bufs[0]);
  else
    rig__buf_dispose(&bufs[0]);
  if (err)
    *err = rig__buf_detach(&bufs[1]);
  else
    rig__buf_dispose(&bufs[1]);
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

int rig_test_stackrig(char **out, char **err, ...)
{
  const char *argv[64];
  const char *bin = getenv("STACKRIG_BIN");
  argv[0] = bin ? bin : RIG_BUILDDIR "/stackrig";
  va_list ap;
  va_start(ap, err);
  int argc = 1;
  const char *arg;
  while (argc < 63 && (arg = va_arg(ap, const char *)))
    argv[argc++] = arg;
  va_end(ap);
  argv[argc] = NULL;
  return rig_test_run(argv, NULL, out, err);
}

const char *rig_test_srcdir(void)
{
  /* Canonical, so that a build folder inside the checkout ("build/..") gives the same
   * paths as the library's own resolution of relative paths. */
  static char resolved[4096];
  if (!resolved[0]) {
    const char *dir = getenv("STACKRIG_SRCDIR");
    if (!dir || !*dir)
      dir = RIG_SRCDIR;
    if (!realpath(dir, resolved))
      snprintf(resolved, sizeof resolved, "%s", dir);
  }
  return resolved;
}

char *rig_test_path(const char *relative)
{
  return rig__sprintf("%s/%s", rig_test_srcdir(), relative);
}

char *rig_test_fixture(const char *relative)
{
  char *path = rig__sprintf("%s/fixtures/%s", rig_test_srcdir(), relative);
  char *text = NULL;
  if (rig__read_file(&text, NULL, path) != 0)
    ck_abort_msg("cannot read the fixture %s", path);
  free(path);
  return text;
}

char *rig_test_unique_name(const char *prefix)
{
  static unsigned counter;
  unsigned salt = 0;
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd >= 0) {
    ssize_t n = read(fd, &salt, sizeof salt);
    (void)n;
    close(fd);
  }
  return rig__sprintf("%s-%ld-%u-%04x", prefix, (long)getpid(), ++counter, salt & 0xffff);
}

int rig_test_free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

const char *rig_test_docker_socket(void)
{
  const char *host = getenv("DOCKER_HOST");
  if (host && *host) {
    if (strncmp(host, "unix://", 7) == 0)
      return host + 7;
    return NULL;
  }
  return "/var/run/docker.sock";
}

static int docker_answers(void)
{
  const char *host = getenv("DOCKER_HOST");
  rig_http_options opts = RIG_HTTP_OPTIONS_INIT;
  opts.connect_timeout_ms = 2000;
  opts.timeout_ms = 5000;
  const char *base = "http://localhost";
  char *tcp_base = NULL;
  if (host && strncmp(host, "tcp://", 6) == 0) {
    tcp_base = rig__sprintf("http://%s", host + 6);
    base = tcp_base;
  } else {
    opts.unix_socket = rig_test_docker_socket();
  }
  rig_http *client = NULL;
  int ok = 0;
  if (rig_http_new(&client, base, &opts) == RIG_OK) {
    rig_http_request req = RIG_HTTP_REQUEST_INIT;
    req.path = "/_ping";
    rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
    if (rig_http_do(client, &req, &resp) == RIG_OK && resp.status == 200)
      ok = 1;
    rig_http_response_dispose(&resp);
  }
  rig_http_free(client);
  free(tcp_base);
  return ok;
}

void rig_test_require_docker(void)
{
  if (docker_answers())
    return;
  const char *require = getenv("STACKRIG_REQUIRE_DOCKER");
  if (require && strcmp(require, "1") == 0) {
    fprintf(stderr, "no Docker engine answers, and STACKRIG_REQUIRE_DOCKER=1: failing\n");
    exit(1);
  }
  fprintf(stderr, "no Docker engine answers: skipping (set STACKRIG_REQUIRE_DOCKER=1 to fail)\n");
  exit(77);
}

int rig_test_main(Suite *suite)
{
  SRunner *runner = srunner_create(suite);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void rig_test_write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
}

char *rig_test_tempdir(void)
{
  const char *base = getenv("TMPDIR");
  char *path = rig__sprintf("%s/stackrig-test-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(path)) {
    free(path);
    return NULL;
  }
  return path;
}

void rig_test_rmtree(const char *path)
{
  if (!path || strlen(path) < 8)
    return;
  const char *argv[] = {"rm", "-rf", "--", path, NULL};
  rig_test_run(argv, NULL, NULL, NULL);
}
