/*
 * stack_reaper.c - crash-safe cleanup. rig_stack_up() forks a reaper before it creates
 * anything. The reaper holds the read end of a pipe whose write end only the parent holds
 * (O_CLOEXEC, so programs the parent executes do not inherit it). When the parent dies, by
 * whatever signal, the kernel closes the write end and the reaper's read() returns 0: it
 * then removes everything labelled with the session. A parent that wants the stack to
 * outlive it writes RIG__REAPER_DISARM first.
 *
 * Why a process and not an atexit handler or a signal handler: SIGKILL runs neither. Why a
 * pipe: its end-of-file is the one notification of a parent's death that needs no polling
 * and no privileges (no container with the engine's socket mounted).
 */
#include "stack_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stackrig/error.h"
#include "util.h"

int rig__reaper_wait(int read_fd)
{
  int disarmed = 0;
  char buf[64];
  for (;;) {
    ssize_t n = read(read_fd, buf, sizeof buf);
    if (n > 0) {
      for (ssize_t i = 0; i < n; i++)
        if (buf[i] == RIG__REAPER_DISARM)
          disarmed = 1;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return disarmed;
  }
}

/* Closes every descriptor from lowest up; close_range when the kernel has it. */
static void close_from(int lowest)
{
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0)
    return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536)
    max = 65536;
  for (int fd = lowest; fd < max; fd++)
    close(fd);
}

static void become_reaper(int read_fd)
{
  /* Descriptor 3 is the pipe; 0-2 go to /dev/null. Holding nothing else matters: an
   * inherited write end of another stack's pipe would keep that stack's reaper from ever
   * seeing its parent die, and an inherited stdout would keep a test harness (which waits
   * for end-of-file on the test's output) waiting for as long as the reaper lives. */
  if (read_fd != 3) {
    dup2(read_fd, 3);
    close(read_fd);
  }
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    if (null_fd > 3)
      close(null_fd);
  }
  close_from(4);
  fcntl(3, F_SETFD, FD_CLOEXEC);

  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal(sig, SIG_DFL);
  /* setsid already took us out of the terminal's process group; these make sure a hang-up
   * or a stray interrupt does not end the cleanup half-way. */
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTSTP, SIG_IGN);
  signal(SIGTTIN, SIG_IGN);
  signal(SIGTTOU, SIG_IGN);
}

int rig__reaper_spawn(rig__reaper *reaper, rig__reaper_action action, void *arg)
{
  int lifeline[2], report[2];
  if (pipe2(lifeline, O_CLOEXEC) != 0)
    return rig_error_set(RIG_EIO, "crash reaper: pipe: %s", strerror(errno));
  if (pipe2(report, O_CLOEXEC) != 0) {
    int saved = errno;
    close(lifeline[0]);
    close(lifeline[1]);
    return rig_error_set(RIG_EIO, "crash reaper: pipe: %s", strerror(saved));
  }
  pid_t child = fork();
  if (child < 0) {
    int saved = errno;
    close(lifeline[0]);
    close(lifeline[1]);
    close(report[0]);
    close(report[1]);
    return rig_error_set(RIG_EIO, "crash reaper: fork: %s", strerror(saved));
  }
  if (child == 0) {
    /* The intermediate child: a new session, then a second fork so that the reaper is not
     * a session leader (it can never acquire a controlling terminal) and is reparented to
     * init (or the nearest subreaper) at once. */
    close(lifeline[1]);
    close(report[0]);
    setsid();
    pid_t grandchild = fork();
    if (grandchild != 0)
      _exit(grandchild < 0 ? 1 : 0);
    pid_t self = getpid();
    ssize_t written = write(report[1], &self, sizeof self);
    (void)written;
    close(report[1]);
    become_reaper(lifeline[0]);
    int disarmed = rig__reaper_wait(3);
    action(arg, disarmed);
    _exit(0);
  }
  close(lifeline[0]);
  close(report[1]);
  /* Reaped only so that it leaves no zombie: its exit status says nothing the report does
   * not, and it is not ours to trust (valgrind's --error-exitcode rewrites it after the
   * leak check it runs at every process's exit, _exit included). */
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
  }
  pid_t reaper_pid = -1;
  ssize_t got;
  do {
    got = read(report[0], &reaper_pid, sizeof reaper_pid);
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  /* Only the reaper's own report counts: it arrives exactly when the reaper exists. */
  if (got != (ssize_t)sizeof reaper_pid) {
    close(lifeline[1]);
    return rig_error_set(RIG_EIO, "crash reaper: could not start the reaper process");
  }
  reaper->write_fd = lifeline[1];
  reaper->pid = reaper_pid;
  return RIG_OK;
}

int rig__reaper_disarm(rig__reaper *reaper)
{
  if (reaper->write_fd < 0)
    return RIG_OK;
  char byte = RIG__REAPER_DISARM;
  ssize_t n;
  do {
    n = write(reaper->write_fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  close(reaper->write_fd);
  reaper->write_fd = -1;
  /* A reaper that is already gone (killed by someone) cannot clean up anyway; EPIPE is
   * not worth failing the caller for. */
  return RIG_OK;
}

void rig__reaper_release(rig__reaper *reaper)
{
  if (reaper->write_fd >= 0)
    close(reaper->write_fd);
  reaper->write_fd = -1;
}

/* ---- the sweep ---- */

static int sweep_once(rig_docker *docker, const char *session, int *out_found)
{
  char *label = rig__sprintf("%s=%s", RIG__LABEL_SESSION, session);
  rig_docker_filter filter = {"label", label};
  rig_docker_list_options list = RIG_DOCKER_LIST_OPTIONS_INIT;
  list.all = 1;
  list.filters = &filter;
  list.filter_count = 1;
  int found = 0, rc = RIG_OK;

  rig_docker_containers *containers = NULL;
  if ((rc = rig_docker_container_list(&containers, docker, &list)) != RIG_OK)
    goto cleanup;
  for (size_t i = 0; i < containers->count; i++) {
    found++;
    rig_docker_container_remove(docker, containers->items[i].id,
                                RIG_DOCKER_REMOVE_FORCE | RIG_DOCKER_REMOVE_VOLUMES);
  }
  rig_docker_containers_free(containers);

  rig_docker_networks *networks = NULL;
  if ((rc = rig_docker_network_list(&networks, docker, &list)) != RIG_OK)
    goto cleanup;
  for (size_t i = 0; i < networks->count; i++) {
    found++;
    rig_docker_network_remove(docker, networks->items[i].id);
  }
  rig_docker_networks_free(networks);

  rig_docker_volumes *volumes = NULL;
  if ((rc = rig_docker_volume_list(&volumes, docker, &list)) != RIG_OK)
    goto cleanup;
  for (size_t i = 0; i < volumes->count; i++) {
    found++;
    rig_docker_volume_remove(docker, volumes->items[i].name, 1);
  }
  rig_docker_volumes_free(volumes);

cleanup:
  free(label);
  *out_found = found;
  return rc;
}

int rig__stack_sweep_session(rig_docker *docker, const char *session, int settle_passes)
{
  int empty_passes = 0, rc = RIG_OK;
  int64_t give_up_at = rig__now_ms() + 60000;
  for (;;) {
    int found = 0;
    rc = sweep_once(docker, session, &found);
    if (rc == RIG_OK && found == 0) {
      if (++empty_passes >= settle_passes)
        return RIG_OK;
    } else {
      empty_passes = 0;
    }
    if (rig__now_ms() > give_up_at)
      return rc != RIG_OK
                 ? rc
                 : rig_error_set(RIG_ETIMEOUT, "session %s: resources remain after 60 s", session);
    rig__sleep_ms(found ? 100 : 400);
  }
}
