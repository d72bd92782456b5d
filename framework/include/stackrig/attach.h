/*
 * stackrig/attach.h - attach a test program to a running stack through the environment.
 *
 * `stackrig run -- COMMAND` brings a stack up and hands the suite where everything is:
 * STACKRIG_PROJECT, STACKRIG_PG_DSN, STACKRIG_JAEGER_URL, STACKRIG_PROMETHEUS_URL,
 * STACKRIG_OTLP_HTTP_ENDPOINT and STACKRIG_SERVICE_<SERVICE>_<PORT>=host:port. A rig_attach
 * reads them once and makes the clients, so a suite's fixture is one call.
 */
#ifndef STACKRIG_ATTACH_H
#define STACKRIG_ATTACH_H

#include "common.h"
#include "jaeger.h"
#include "otlp.h"
#include "prom.h"

RIG_BEGIN_DECLS

typedef struct rig_attach rig_attach;

/** What a suite needs; a missing variable for something required is an error. */
#define RIG_ATTACH_PROJECT (1u << 0)    /**< STACKRIG_PROJECT */
#define RIG_ATTACH_POSTGRES (1u << 1)   /**< STACKRIG_PG_DSN */
#define RIG_ATTACH_JAEGER (1u << 2)     /**< STACKRIG_JAEGER_URL */
#define RIG_ATTACH_PROMETHEUS (1u << 3) /**< STACKRIG_PROMETHEUS_URL */
#define RIG_ATTACH_OTLP (1u << 4)       /**< STACKRIG_OTLP_HTTP_ENDPOINT */
#define RIG_ATTACH_ALL 0x1fu

typedef struct rig_attach_options {
  unsigned int version;
  unsigned int require; /**< RIG_ATTACH_* bits; 0: RIG_ATTACH_ALL */
  int64_t timeout_ms;   /**< per request of each client; 0: each client's default */
} rig_attach_options;

#define RIG_ATTACH_OPTIONS_VERSION 1
#define RIG_ATTACH_OPTIONS_INIT                                                                    \
  {                                                                                                \
    RIG_ATTACH_OPTIONS_VERSION, 0, 0                                                               \
  }

/**
 * Reads the STACKRIG_* environment and makes a client for each service whose variable is
 * set. Nothing is contacted yet.
 * @param[out] out free with rig_attach_free()
 * @param opts NULL: everything is required
 * @return RIG_OK; RIG_ENOTFOUND naming every required variable that is not set, with the
 *   hint to run the suite under `stackrig run`; RIG_EINVAL for a malformed URL, naming the
 *   variable
 */
RIG_EXTERN int rig_attach_env(rig_attach **out, const rig_attach_options *opts);
/** NULL-safe; frees the clients too. */
RIG_EXTERN void rig_attach_free(rig_attach *attach);

/** @return STACKRIG_PROJECT, or NULL when it was not set (for each getter below alike). */
RIG_EXTERN const char *rig_attach_project(const rig_attach *attach);
/** @return STACKRIG_PG_DSN (a libpq connection string or URI). */
RIG_EXTERN const char *rig_attach_pg_dsn(const rig_attach *attach);
RIG_EXTERN const char *rig_attach_jaeger_url(const rig_attach *attach);
RIG_EXTERN const char *rig_attach_prometheus_url(const rig_attach *attach);
RIG_EXTERN const char *rig_attach_otlp_endpoint(const rig_attach *attach);

/** @return the Prometheus client (borrowed: it lives as long as attach), or NULL. */
RIG_EXTERN rig_prom *rig_attach_prom(const rig_attach *attach);
/** @return the Jaeger query client (borrowed), or NULL. */
RIG_EXTERN rig_jaeger *rig_attach_jaeger(const rig_attach *attach);
/** @return an OTLP/HTTP exporter to the collector (borrowed), or NULL. */
RIG_EXTERN rig_otlp_exporter *rig_attach_otlp(const rig_attach *attach);

/**
 * Where a service's port is published: STACKRIG_SERVICE_<SERVICE>_<PORT>, the service name
 * upper-cased with every character other than a letter or digit turned into '_'
 * ("otel-collector", 4318 → STACKRIG_SERVICE_OTEL_COLLECTOR_4318).
 * @param[out] out "host:port"; free() it
 * @return RIG_OK or RIG_ENOTFOUND naming the variable
 */
RIG_EXTERN int rig_attach_service_address(char **out, const rig_attach *attach, const char *service,
                                          int port);

RIG_END_DECLS

#endif
