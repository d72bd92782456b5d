/*
 * tinyimage.c - builds the tiny busybox image the integration suites run, with no registry:
 * the root filesystem is written as a tar archive in memory and imported through the
 * Engine API. See tinyimage.h.
 */
#include "tinyimage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "stackrig/docker.h"
#include "stackrig/error.h"
#include "util.h"

#define BUSYBOX_PATH "/bin/busybox"
/* Bump when the recipe below changes: it is part of the tag. */
#define RECIPE_VERSION "1"

static const char *const applets[] = {
    "sh",       "ash",     "sleep",  "echo", "cat",   "nc",       "wget",     "httpd",  "printf",
    "head",     "tail",    "seq",    "dd",   "kill",  "ls",       "mkdir",    "rm",     "env",
    "true",     "false",   "test",   "[",    "id",    "hostname", "ps",       "grep",   "sed",
    "awk",      "tr",      "wc",     "date", "yes",   "timeout",  "nslookup", "ping",   "ip",
    "ifconfig", "netstat", "chmod",  "cp",   "mv",    "ln",       "touch",    "sort",   "uniq",
    "xargs",    "which",   "whoami", "pwd",  "du",    "df",       "base64",   "od",     "sha256sum",
    "md5sum",   "tee",     "sync",   "cut",  "expr",  "mktemp",   "stat",     "usleep", "uname",
    "basename", "dirname", "find",   "gzip", "tar",   "vi",       "less",     "more",   "hexdump",
    "xxd",      "nproc",   "free",   "top",  "pidof", "killall",  "watch",    "udhcpc", "telnet",
    NULL};

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char group[] = "root:x:0:\nnobody:x:65534:\n";

/* ------------------------------------------------------------------------------------ */
/* ustar                                                                                  */

static void octal(char *field, size_t width, unsigned long long value)
{
  /* width-1 digits, zero-padded, and a NUL, as ustar wants. */
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = (char)('0' + (value & 7));
    value >>= 3;
  }
  field[width - 1] = '\0';
}

static void tar_header(rig_buf *tar, const char *name, unsigned mode, size_t size, char type,
                       const char *link)
{
  char h[512];
  memset(h, 0, sizeof h);
  size_t name_len = strlen(name);
  if (name_len > 100) {
    /* The name's start goes to "prefix" (155 bytes), split at a '/'. */
    const char *split = name + name_len - 100;
    while (*split && *split != '/')
      split++;
    memcpy(h + 345, name, (size_t)(split - name));
    memcpy(h, split + 1, strlen(split + 1));
  } else {
    memcpy(h, name, name_len);
  }
  octal(h + 100, 8, mode);
  octal(h + 108, 8, 0);
  octal(h + 116, 8, 0);
  octal(h + 124, 12, size);
  octal(h + 136, 12, 1700000000ull); /* fixed: the same content gives the same layer */
  memset(h + 148, ' ', 8);
  h[156] = type;
  if (link)
    memcpy(h + 157, link, strlen(link));
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memcpy(h + 265, "root", 4);
  memcpy(h + 297, "root", 4);
  unsigned sum = 0;
  for (size_t i = 0; i < sizeof h; i++)
    sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  rig__buf_append(tar, h, sizeof h);
}

static void pad(rig_buf *tar, size_t len)
{
  static const char zeros[512];
  if (len % 512)
    rig__buf_append(tar, zeros, 512 - len % 512);
}

void rig_test_tar_file(rig_buf *tar, const char *name, unsigned mode, const void *data, size_t len)
{
  tar_header(tar, name, mode, len, '0', NULL);
  rig__buf_append(tar, data, len);
  pad(tar, len);
}

void rig_test_tar_dir(rig_buf *tar, const char *name, unsigned mode)
{
  size_t len = strlen(name);
  char *with_slash = len && name[len - 1] == '/' ? rig__strdup(name) : rig__sprintf("%s/", name);
  tar_header(tar, with_slash, mode, 0, '5', NULL);
  free(with_slash);
}

void rig_test_tar_symlink(rig_buf *tar, const char *name, const char *target)
{
  tar_header(tar, name, 0777, 0, '2', target);
}

void rig_test_tar_end(rig_buf *tar)
{
  static const char zeros[1024];
  rig__buf_append(tar, zeros, sizeof zeros);
}

/* ------------------------------------------------------------------------------------ */
/* The image                                                                              */

static uint64_t fnv1a(uint64_t hash, const void *data, size_t len)
{
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    hash ^= p[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

static void build_tar(rig_buf *tar, const char *busybox, size_t busybox_len)
{
  static const char *const dirs[] = {"bin", "dev", "etc",     "proc", "root", "run",
                                     "sys", "usr", "usr/bin", "var",  "www",  NULL};
  for (const char *const *d = dirs; *d; d++)
    rig_test_tar_dir(tar, *d, 0755);
  rig_test_tar_dir(tar, "tmp", 01777);
  rig_test_tar_file(tar, "bin/busybox", 0755, busybox, busybox_len);
  for (const char *const *a = applets; *a; a++) {
    char *name = rig__sprintf("bin/%s", *a);
    rig_test_tar_symlink(tar, name, "busybox");
    free(name);
  }
  rig_test_tar_file(tar, "etc/passwd", 0644, passwd, strlen(passwd));
  rig_test_tar_file(tar, "etc/group", 0644, group, strlen(group));
  rig_test_tar_end(tar);
}

static int lock_builds(void)
{
  const char *tmp = getenv("TMPDIR");
  char *path = rig__sprintf("%s/stackrig-tinyimage.lock", tmp && *tmp ? tmp : "/tmp");
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  free(path);
  if (fd >= 0) {
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
      ;
  }
  return fd; /* without a lock file, parallel builds only waste an import */
}

int rig_test_tiny_image(char **out_ref)
{
  char *busybox = NULL;
  size_t busybox_len = 0;
  int rc = rig__read_file(&busybox, &busybox_len, BUSYBOX_PATH);
  if (rc != RIG_OK) {
    rig_error_wrap(RIG_OK, "cannot build the tiny test image");
    rig_error_add_detail("hint", "install busybox-static (it provides " BUSYBOX_PATH ")");
    return rc;
  }
  uint64_t hash = 14695981039346656037ull;
  hash = fnv1a(hash, busybox, busybox_len);
  hash = fnv1a(hash, RECIPE_VERSION, strlen(RECIPE_VERSION));
  for (const char *const *a = applets; *a; a++)
    hash = fnv1a(hash, *a, strlen(*a) + 1);
  hash = fnv1a(hash, passwd, strlen(passwd));
  hash = fnv1a(hash, group, strlen(group));
  char *ref = rig__sprintf("stackrig-test/busybox:%012llx", (unsigned long long)(hash >> 16));

  rig_docker *docker = NULL;
  rc = rig_docker_open(&docker, NULL);
  int lock_fd = -1;
  int exists = 0;
  if (rc == RIG_OK)
    rc = rig_docker_image_exists(&exists, docker, ref);
  if (rc == RIG_OK && !exists) {
    lock_fd = lock_builds();
    /* Another process may have built it while this one waited for the lock. */
    rc = rig_docker_image_exists(&exists, docker, ref);
    if (rc == RIG_OK && !exists) {
      rig_buf tar = RIG_BUF_INIT;
      build_tar(&tar, busybox, busybox_len);
      static const char *const changes[] = {"CMD [\"/bin/sh\"]", "ENV PATH=/bin:/usr/bin", NULL};
      rc = rig_docker_image_import(NULL, docker, ref, tar.data, tar.len, changes);
      rig__buf_dispose(&tar);
    }
  }
  if (lock_fd >= 0)
    close(lock_fd);
  rig_docker_free(docker);
  free(busybox);
  if (rc != RIG_OK) {
    rig_error_wrap(RIG_OK, "cannot build the tiny test image %s", ref);
    free(ref);
    return rc;
  }
  *out_ref = ref;
  return RIG_OK;
}
