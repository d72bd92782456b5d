/*
 * stackrig/suite.h - what a test suite is handed about a running stack.
 *
 * A suite run under `stackrig run`, or one that brings a stack up in its own main(), finds
 * the stack through the environment (DESIGN.md's contract): STACKRIG_PROJECT,
 * STACKRIG_PG_DSN, STACKRIG_JAEGER_URL, STACKRIG_PROMETHEUS_URL, STACKRIG_OTLP_HTTP_ENDPOINT
 * and STACKRIG_SERVICE_<SERVICE>_<PORT>=host:port for every published TCP port. This module
 * computes that environment from a stack; rig_attach_env() (attach.h) reads it back.
 */
#ifndef STACKRIG_SUITE_H
#define STACKRIG_SUITE_H

#include "common.h"
#include "config.h"
#include "stack.h"

RIG_BEGIN_DECLS

/**
 * Computes the environment a suite needs to reach a running stack. Every address is a
 * published port on the loopback address (a port published on 0.0.0.0 or :: is given as
 * 127.0.0.1), never a container's own address.
 *
 * - STACKRIG_PROJECT: the project name.
 * - STACKRIG_SERVICE_<SERVICE>_<PORT>=host:port for every published TCP port of every
 *   service (the service name upper-cased, every character other than a letter or a digit
 *   turned into '_': otel-collector 4318 -> STACKRIG_SERVICE_OTEL_COLLECTOR_4318).
 * - STACKRIG_PG_DSN=postgres://user:password@127.0.0.1:port/database, for the service whose
 *   readiness is the postgres probe (x-stackrig ready: postgres, or a postgres/pgvector
 *   image), with POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB of its environment (defaults
 *   as the postgres image has them: user postgres, database = user).
 * - STACKRIG_JAEGER_URL=http://127.0.0.1:<16686's port> (the jaeger service),
 *   STACKRIG_PROMETHEUS_URL=http://127.0.0.1:<9090's port>,
 *   STACKRIG_OTLP_HTTP_ENDPOINT=http://127.0.0.1:<4318's port> (the otel-collector).
 * A variable whose service is not in the stack is left out.
 *
 * @param[out] out the variables, in that order; free with rig_env_free()
 * @return RIG_OK; RIG_ECONNECT, RIG_EENGINE (the engine could not be asked)
 */
RIG_EXTERN int rig_stack_env(rig_env **out, rig_stack *stack);

/**
 * The name of a service's port variable: "STACKRIG_SERVICE_OTEL_COLLECTOR_4318".
 * @param[out] out free() it
 */
RIG_EXTERN int rig_stack_env_service_name(char **out, const char *service, int port);

RIG_END_DECLS

#endif
