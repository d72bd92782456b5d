/*
 * log_internal.h - hooks into the logger for the unit tests: a fixed clock makes the
 * timestamp of every record predictable, so tests can compare whole lines.
 */
#ifndef RIG_LOG_INTERNAL_H
#define RIG_LOG_INTERNAL_H

#include <stdint.h>

#include "stackrig/log.h"

/* Replaces the wall clock (nanoseconds since the epoch); NULL restores the real one. */
void rig__log_set_clock(rig_log *log, int64_t (*wall_ns)(void));
/* 1 when the logger decided to colour its console output. */
int rig__log_color(const rig_log *log);

#endif
