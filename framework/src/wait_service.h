/*
 * wait_service.h - one service's wait (wait_service.c) and what it needs from the rig_wait
 * that runs it (wait.c): the abort registry, the record of results, the count of watcher
 * threads that outlive a wait.
 */
#ifndef RIG_WAIT_SERVICE_H
#define RIG_WAIT_SERVICE_H

#include <pthread.h>

#include "wait_internal.h"

typedef struct rig__svc_wait rig__svc_wait;

struct rig__svc_wait {
  rig__svc_wait *next_active; /* in the rig_wait's list of waits in progress */
  /* the rest is private to wait_service.c */
  struct svc_state *state;
};

/* Wakes the wait and makes it return RIG_EINTERRUPTED. Call with the rig_wait's lock held. */
void rig__svc_wait_wake(rig__svc_wait *svc);

/* wait.c */
void rig__wait_thread_started(rig_wait *wait);
void rig__wait_thread_ended(rig_wait *wait);
/* @return 1 when the rig_wait is already aborted */
int rig__wait_register(rig_wait *wait, rig__svc_wait *svc);
void rig__wait_unregister(rig_wait *wait, rig__svc_wait *svc);
int rig__wait_aborted(rig_wait *wait);
void rig__wait_abort(rig_wait *wait, int64_t elapsed_ms);
void rig__wait_record(rig_wait *wait, const char *service, const char *strategy,
                      int64_t ready_at_ms, int64_t ready_wall_ns, int attempts);
int64_t rig__wait_service_timeout_ms(const rig_wait *wait);

#endif
