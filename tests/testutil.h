/*
 * testutil.h - helpers the Check suites share: running a program and capturing its
 * output, paths into the source tree, unique names, and the Docker gate that turns "no
 * engine" into a skip (77) or, with STACKRIG_REQUIRE_DOCKER=1, into a failure.
 */
#ifndef RIG_TESTUTIL_H
#define RIG_TESTUTIL_H

#include <check.h>

/* Exit status of the program (128+N when killed by signal N), or -1 when it could not run.
 * out/err (either may be NULL) receive what it wrote; free() them. stdin_text may be NULL. */
int rig_test_run(const char *const argv[], const char *stdin_text, char **out, char **err);

/* Runs the stackrig binary of the build tree with the given arguments (NULL-terminated). */
int rig_test_stackrig(char **out, char **err, ...);

/* The source tree (STACKRIG_SRCDIR, else the configure-time path). */
const char *rig_test_srcdir(void);
/* srcdir + "/" + relative path; free() it. */
char *rig_test_path(const char *relative);

/* A name unique to this process and call, e.g. "srtest-12345-3": for projects, dbs. */
char *rig_test_unique_name(const char *prefix);

/* The engine's socket path (from DOCKER_HOST unix:// or the default), or NULL for tcp. */
const char *rig_test_docker_socket(void);

/* For integration suites: exits 77 (skip) when no Docker engine answers /_ping, or exits 1
 * when STACKRIG_REQUIRE_DOCKER=1. Call it first in main(). */
void rig_test_require_docker(void);

/* Runs the suite (CK_NORMAL output) and returns the process exit status. */
int rig_test_main(Suite *suite);

/* Writes text to a new file at path (creating it). ck_abort on failure. */
void rig_test_write_file(const char *path, const char *text);

/* A fresh temporary folder; free() the path. rig_test_rmtree removes it again. */
char *rig_test_tempdir(void);
void rig_test_rmtree(const char *path);

#endif
