/*
 * stackrig/common.h - macros shared by every public header of libstackrig.
 */
#ifndef STACKRIG_COMMON_H
#define STACKRIG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define RIG_BEGIN_DECLS extern "C" {
#define RIG_END_DECLS }
#else
#define RIG_BEGIN_DECLS
#define RIG_END_DECLS
#endif

/* Marks a function or variable as part of the exported API of libstackrig.so. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define RIG_EXTERN __attribute__((visibility("default")))
#else
#define RIG_EXTERN
#endif

#if defined(__GNUC__)
#define RIG_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define RIG_PRINTF(fmt_index, first_arg)
#endif

#define RIG_VERSION_STRING "0.1.0"
#define RIG_VERSION_MAJOR 0
#define RIG_VERSION_MINOR 1
#define RIG_VERSION_PATCH 0

RIG_BEGIN_DECLS

/** @return the version of the library that is linked, e.g. "0.1.0". */
RIG_EXTERN const char *rig_version(void);

RIG_END_DECLS

#endif
