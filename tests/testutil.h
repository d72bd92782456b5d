/*
 * testutil.h - helpers the Check suites share: starting a program, or running one and
 * capturing its output, a free port, paths into the source tree, unique names, and the
 * Docker gate that turns "no engine" into a skip (77) or, with STACKRIG_REQUIRE_DOCKER=1,
 * into a failure.
 */
#ifndef RIG_TESTUTIL_H
#define RIG_TESTUTIL_H

#include <check.h>
#include <sys/types.h>

/* Starts a program (argv[0] looked up in PATH, exit status 127 when it cannot run) and
 * returns its pid without waiting, or -1. Each of in, out, err that is not NULL receives
 * our end of a pipe to the program's stdin, stdout or stderr (close it when done); the
 * streams without one are /dev/null. */
pid_t rig_test_spawn(const char *const argv[], int *in, int *out, int *err);

/* Exit status of the program (128+N when killed by signal N), or -1 when it could not run.
 * out/err (either may be NULL) receive what it wrote; free() them. stdin_text may be NULL. */
int rig_test_run(const char *const argv[], const char *stdin_text, char **out, char **err);

/* Runs the stackrig binary of the build tree with the given arguments (NULL-terminated). */
int rig_test_stackrig(char **out, char **err, ...);

/* The source tree (STACKRIG_SRCDIR, else the configure-time path). */
const char *rig_test_srcdir(void);
/* srcdir + "/" + relative path; free() it. */
char *rig_test_path(const char *relative);
/* The text of srcdir/fixtures/relative; free() it. ck_abort when it cannot be read. */
char *rig_test_fixture(const char *relative);

/* A name unique to this process and call, e.g. "srtest-12345-3": for projects, dbs. */
char *rig_test_unique_name(const char *prefix);

/* A TCP port on 127.0.0.1 that nothing listened on a moment ago (bound, read, closed):
 * for "connection refused" cases. */
int rig_test_free_port(void);

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
