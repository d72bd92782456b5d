/*
 * tinyimage.h - a tiny container image for integration tests, made without a registry.
 *
 * The image is a root filesystem holding the host's static busybox (Debian's
 * busybox-static, /bin/busybox) with symlinks for its applets (sh, sleep, echo, cat, nc,
 * wget, httpd, printf, head, seq, dd, kill, ...), /etc/passwd and /etc/group (root,
 * nobody), /tmp (1777) and /www, imported through the Engine API from a tar stream
 * written in memory. Its default command is /bin/sh.
 *
 * It is built once per machine: the tag `stackrig-test/busybox:<hash>` names the content
 * (busybox binary and recipe), so a second call, or a second suite running in parallel,
 * finds it and returns at once (builds are serialised with a lock file).
 *
 * Link tests/integration/tinyimage.c into the suite that uses it:
 *   tests_integration_check_x_SOURCES = tests/integration/check_x.c \
 *       tests/integration/tinyimage.c tests/integration/tinyimage.h
 */
#ifndef RIG_TEST_TINYIMAGE_H
#define RIG_TEST_TINYIMAGE_H

/*
 * Makes sure the tiny image exists on the engine that rig_docker_open() finds.
 * @param[out] out_ref "stackrig-test/busybox:<hash>" (free() it)
 * @return RIG_OK, or a negative RIG_E* code with rig_error_last() saying why (no
 *   engine, no /bin/busybox on the host: install busybox-static)
 */
int rig_test_tiny_image(char **out_ref);

/* ---- a minimal ustar writer, for suites that import their own archives ---- */

#include "util.h" /* rig_buf */

/* Appends a regular file, a folder ("name/" or "name") or a symbolic link to tar. */
void rig_test_tar_file(rig_buf *tar, const char *name, unsigned mode, const void *data, size_t len);
void rig_test_tar_dir(rig_buf *tar, const char *name, unsigned mode);
void rig_test_tar_symlink(rig_buf *tar, const char *name, const char *target);
/* Appends the two zero blocks that end an archive. */
void rig_test_tar_end(rig_buf *tar);

#endif
