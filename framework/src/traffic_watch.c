/*
 * traffic_watch.c - the traffic loop's epoll set of libcurl's sockets. Changes curl asks
 * for are applied in one go before each wait (rig__watch_flush), so that a connection curl
 * lets go of when a request ends and takes up again for the next request costs no system
 * call. That is only safe for sockets whose opening and closing we see (connections,
 * through rig__watch_open and rig__watch_close: a closed socket leaves epoll by itself and
 * its number can come back); others that curl watches (its resolver's socket pair) are
 * applied at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "traffic_internal.h"
#include "util.h"

int rig__watch_init(rig__watch *w)
{
  memset(w, 0, sizeof *w);
  w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  return w->epoll_fd < 0 ? -1 : 0;
}

void rig__watch_dispose(rig__watch *w)
{
  free(w->wanted);
  free(w->registered);
  free(w->is_dirty);
  free(w->owned);
  free(w->dirty);
  if (w->epoll_fd >= 0)
    close(w->epoll_fd);
  memset(w, 0, sizeof *w);
  w->epoll_fd = -1;
}

static void grow(rig__watch *w, int fd)
{
  int size = w->size ? w->size : 256;
  while (size <= fd)
    size *= 2;
  w->wanted = rig__realloc(w->wanted, (size_t)size);
  w->registered = rig__realloc(w->registered, (size_t)size);
  w->is_dirty = rig__realloc(w->is_dirty, (size_t)size);
  w->owned = rig__realloc(w->owned, (size_t)size);
  w->dirty = rig__realloc(w->dirty, (size_t)size * sizeof *w->dirty);
  memset(w->wanted + w->size, 0, (size_t)(size - w->size));
  memset(w->registered + w->size, 0, (size_t)(size - w->size));
  memset(w->is_dirty + w->size, 0, (size_t)(size - w->size));
  memset(w->owned + w->size, 0, (size_t)(size - w->size));
  w->size = size;
}

/* Makes epoll's registration of fd exactly what curl wants. */
static void sync_fd(rig__watch *w, int fd)
{
  if (w->wanted[fd] == w->registered[fd])
    return;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = w->wanted[fd];
  ev.data.fd = fd;
  if (w->wanted[fd] == 0) {
    epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
  } else if (w->registered[fd] == 0) {
    if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
      epoll_ctl(w->epoll_fd, EPOLL_CTL_MOD, fd, &ev);
  } else if (epoll_ctl(w->epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }
  w->registered[fd] = w->wanted[fd];
}

void rig__watch_want(rig__watch *w, int fd, uint8_t events)
{
  if (fd >= 0 && fd < w->size && w->owned[fd]) {
    w->wanted[fd] = events;
    if (!w->is_dirty[fd]) {
      w->is_dirty[fd] = 1;
      w->dirty[w->dirty_count++] = fd;
    }
    return;
  }
  /* not a connection we saw open (its number may have been reused unseen): apply now */
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events;
  ev.data.fd = fd;
  if (events == 0)
    epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
  else if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
    epoll_ctl(w->epoll_fd, EPOLL_CTL_MOD, fd, &ev);
}

int rig__watch_open(rig__watch *w, int family, int socktype, int protocol)
{
  int fd = socket(family, socktype | SOCK_CLOEXEC, protocol);
  if (fd < 0)
    return -1;
  if (fd >= w->size)
    grow(w, fd);
  w->owned[fd] = 1;
  w->registered[fd] = 0; /* a new socket is in no epoll set, whatever its number was */
  w->wanted[fd] = 0;
  return fd;
}

int rig__watch_close(rig__watch *w, int fd)
{
  if (fd >= 0 && fd < w->size) {
    w->registered[fd] = 0;
    w->wanted[fd] = 0;
    w->owned[fd] = 0;
  }
  return close(fd);
}

/* A connection curl lets go of (CURL_POLL_REMOVE when a request ends) keeps its EPOLLIN
 * registration: in the open model the next request on it comes a wake-up or more later,
 * so removing it at once would cost an EPOLL_CTL_DEL and an EPOLL_CTL_ADD per request. An
 * idle connection is quiet until the server closes it; that event fixes the registration
 * then (rig__watch_stale_event). An EPOLLOUT registration is never kept: a writable socket
 * would wake every wait. */
void rig__watch_flush(rig__watch *w)
{
  for (int i = 0; i < w->dirty_count; i++) {
    int fd = w->dirty[i];
    w->is_dirty[fd] = 0;
    if (!(w->wanted[fd] == 0 && w->registered[fd] == EPOLLIN))
      sync_fd(w, fd);
  }
  w->dirty_count = 0;
}

int rig__watch_stale_event(rig__watch *w, int fd)
{
  if (fd < 0 || fd >= w->size || !w->owned[fd] || w->wanted[fd] != 0)
    return 0;
  sync_fd(w, fd);
  return 1;
}
