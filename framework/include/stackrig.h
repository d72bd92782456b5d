/*
 * stackrig.h - the umbrella header of libstackrig, the integration-test framework for C.
 * Include this one; each module also has its own header under stackrig/.
 */
#ifndef STACKRIG_H
#define STACKRIG_H

#include "stackrig/common.h"
#include "stackrig/error.h"
#include "stackrig/log.h"
#include "stackrig/config.h"
#include "stackrig/http.h"
#include "stackrig/otlp.h"
#include "stackrig/jaeger.h"
#include "stackrig/traffic.h"
#include "stackrig/jwt.h"
#include "stackrig/compose.h"
#include "stackrig/docker.h"
#include "stackrig/stack.h"
#include "stackrig/prom.h"
#include "stackrig/attach.h"
#include "stackrig/wait.h"
#include "stackrig/suite.h"
#include "stackrig/pg.h"

#endif
