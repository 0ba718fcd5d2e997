/* LD_PRELOAD shim for the power-loss test (tests/store/power_loss_test.cpp, docs/RELIABILITY.md §Power loss).
 *
 * Every call is forwarded to the real libc function (dlsym RTLD_NEXT). Alongside, for each file whose path
 * ends with one of the suffixes in GLUTESCOPE_POWERLOSS_SUFFIXES (colon-separated), it keeps what a disk
 * would hold after a power cut:
 *   PATH.durable  the file's content at its last completed fsync/fdatasync (a full copy taken before the
 *                 sync call returns to the program, written to a temporary and renamed: a SIGKILL at any
 *                 moment leaves the previous or the new image, never a mix);
 *   PATH.pending  every write/pwrite/pwritev/ftruncate since that sync, in program order, as records
 *                 [u8 kind 0=write 1=truncate][u64 offset or new size][u64 length][length data bytes].
 * The test SIGKILLs the writer and builds the post-power-loss files from these: PATH.durable alone (all
 * unsynced writes lost) or PATH.durable plus a prefix of PATH.pending (torn writes).
 *
 * Model limits (said plainly in docs/RELIABILITY.md): a completed fsync is taken as durable (a drive cache
 * that lies about flushes is not modelled); renames of tracked files take effect on the images at once (in
 * steps that each leave a state a disk could hold, see rename below)
 * (directory-entry durability is not modelled: the writer's directory fsyncs are checked by strace, not
 * here); no reordering across files; dup'ed descriptors and mmap writes are not tracked (the writer uses
 * neither).
 *
 * Threading: one mutex around every tracked call (the bookkeeping must follow the real writes' order). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_TRACKED_FD 1024
#define MAX_PATH_BYTES 4096

static int (*real_openat)(int, const char*, int, ...);
static ssize_t (*real_write)(int, const void*, size_t);
static ssize_t (*real_pwrite)(int, const void*, size_t, off_t);
static ssize_t (*real_pwritev)(int, const struct iovec*, int, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_rename)(const char*, const char*);

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char* tracked_path[MAX_TRACKED_FD]; /* fd -> tracked file path (malloc'ed), NULL if not tracked */
static char suffixes[1024];

static void init(void) {
  real_openat = (int (*)(int, const char*, int, ...))dlsym(RTLD_NEXT, "openat");
  real_write = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  real_pwrite = (ssize_t(*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  real_pwritev = (ssize_t(*)(int, const struct iovec*, int, off_t))dlsym(RTLD_NEXT, "pwritev");
  real_ftruncate = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
  real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
  real_rename = (int (*)(const char*, const char*))dlsym(RTLD_NEXT, "rename");
  const char* env = getenv("GLUTESCOPE_POWERLOSS_SUFFIXES");
  if (env != NULL) snprintf(suffixes, sizeof suffixes, "%s", env);
}

static void die(const char* what) {
  /* The test cannot judge anything if the model is wrong: stop loudly (exit status 97). */
  char line[256];
  int n = snprintf(line, sizeof line, "powerloss_shim: %s: %s\n", what, strerror(errno));
  if (n > 0) (void)!real_write(2, line, (size_t)n);
  _exit(97);
}

static int is_tracked_name(const char* path) {
  size_t len = strlen(path);
  const char* s = suffixes;
  while (*s != '\0') {
    const char* end = strchr(s, ':');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    if (n > 0 && n <= len && strncmp(path + len - n, s, n) == 0) return 1;
    if (!end) break;
    s = end + 1;
  }
  return 0;
}

static void shadow_name(char* out, const char* path, const char* ext) {
  if (snprintf(out, MAX_PATH_BYTES, "%s%s", path, ext) >= MAX_PATH_BYTES) {
    errno = ENAMETOOLONG;
    die("shadow path");
  }
}

static void write_fully(int fd, const void* data, size_t size) {
  const char* p = (const char*)data;
  while (size > 0) {
    ssize_t n = real_write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("write shadow");
    p += n;
    size -= (size_t)n;
  }
}

static void append_pending(const char* path, uint8_t kind, uint64_t offset, const struct iovec* iov,
                           int iovcnt, uint64_t length) {
  char name[MAX_PATH_BYTES];
  shadow_name(name, path, ".pending");
  int fd = real_openat(AT_FDCWD, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) die("open pending log");
  unsigned char header[17];
  header[0] = kind;
  memcpy(header + 1, &offset, 8);
  memcpy(header + 9, &length, 8);
  write_fully(fd, header, sizeof header);
  uint64_t left = length;
  for (int i = 0; i < iovcnt && left > 0; ++i) {
    size_t n = iov[i].iov_len < left ? iov[i].iov_len : (size_t)left;
    write_fully(fd, iov[i].iov_base, n);
    left -= n;
  }
  real_close(fd);
}

/* PATH.durable := current content of PATH (via a temporary + rename), then PATH.pending := empty. */
static void take_durable_image(const char* path) {
  char image[MAX_PATH_BYTES], tmp[MAX_PATH_BYTES], pending[MAX_PATH_BYTES];
  shadow_name(image, path, ".durable");
  shadow_name(tmp, path, ".durable.tmp");
  shadow_name(pending, path, ".pending");
  int in = real_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (in < 0) die("open file to image it");
  int out = real_openat(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) die("create durable image");
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = read(in, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("read file to image it");
    if (n == 0) break;
    write_fully(out, buffer, (size_t)n);
  }
  real_close(in);
  real_close(out);
  if (real_rename(tmp, image) != 0) die("rename durable image");
  /* A kill between the rename and this truncation leaves pending records the image already holds: replaying
   * them reproduces the same bytes, so the images stay consistent. */
  int p = real_openat(AT_FDCWD, pending, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (p < 0) die("clear pending log");
  real_close(p);
}

static void track_open(int fd, const char* path, int flags) {
  if (fd < 0 || fd >= MAX_TRACKED_FD || !is_tracked_name(path)) return;
  if ((flags & O_ACCMODE) == O_RDONLY) return;
  free(tracked_path[fd]);
  tracked_path[fd] = strdup(path);
  if (tracked_path[fd] == NULL) die("strdup");
  char image[MAX_PATH_BYTES];
  shadow_name(image, path, ".durable");
  struct stat st;
  if (stat(image, &st) != 0) {
    /* First sight of this file: before any sync the disk holds an empty file. */
    int f = real_openat(AT_FDCWD, image, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) die("create empty durable image");
    real_close(f);
  }
  if (flags & O_TRUNC) append_pending(path, 1, 0, NULL, 0, 0);
}

int openat(int dirfd, const char* path, int flags, ...) {
  pthread_once(&init_once, init);
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = (mode_t)va_arg(ap, int);
    va_end(ap);
  }
  pthread_mutex_lock(&lock);
  int fd = real_openat(dirfd, path, flags, mode);
  if (fd >= 0 && (dirfd == AT_FDCWD || path[0] == '/')) track_open(fd, path, flags);
  pthread_mutex_unlock(&lock);
  return fd;
}
int openat64(int dirfd, const char* path, int flags, ...) __attribute__((alias("openat")));
int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = (mode_t)va_arg(ap, int);
    va_end(ap);
  }
  return openat(AT_FDCWD, path, flags, mode);
}
int open64(const char* path, int flags, ...) __attribute__((alias("open")));

static const char* tracked(int fd) { return fd >= 0 && fd < MAX_TRACKED_FD ? tracked_path[fd] : NULL; }

ssize_t pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  pthread_once(&init_once, init);
  pthread_mutex_lock(&lock);
  ssize_t n = real_pwritev(fd, iov, iovcnt, offset);
  if (n > 0 && tracked(fd)) append_pending(tracked(fd), 0, (uint64_t)offset, iov, iovcnt, (uint64_t)n);
  pthread_mutex_unlock(&lock);
  return n;
}
ssize_t pwritev64(int fd, const struct iovec* iov, int iovcnt, off_t offset)
    __attribute__((alias("pwritev")));

ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) {
  pthread_once(&init_once, init);
  pthread_mutex_lock(&lock);
  ssize_t n = real_pwrite(fd, data, size, offset);
  if (n > 0 && tracked(fd)) {
    struct iovec one = {(void*)data, (size_t)n};
    append_pending(tracked(fd), 0, (uint64_t)offset, &one, 1, (uint64_t)n);
  }
  pthread_mutex_unlock(&lock);
  return n;
}
ssize_t pwrite64(int fd, const void* data, size_t size, off_t offset) __attribute__((alias("pwrite")));

ssize_t write(int fd, const void* data, size_t size) {
  pthread_once(&init_once, init);
  if (fd < 0 || fd >= MAX_TRACKED_FD || tracked_path[fd] == NULL) return real_write(fd, data, size);
  pthread_mutex_lock(&lock);
  /* No O_APPEND on tracked files (the shim would need the end offset): the position before the write. */
  off_t offset = lseek(fd, 0, SEEK_CUR);
  ssize_t n = real_write(fd, data, size);
  if (n > 0 && tracked(fd)) {
    if (offset < 0) die("lseek tracked file");
    struct iovec one = {(void*)data, (size_t)n};
    append_pending(tracked(fd), 0, (uint64_t)offset, &one, 1, (uint64_t)n);
  }
  pthread_mutex_unlock(&lock);
  return n;
}

int ftruncate(int fd, off_t length) {
  pthread_once(&init_once, init);
  pthread_mutex_lock(&lock);
  int rc = real_ftruncate(fd, length);
  if (rc == 0 && tracked(fd)) append_pending(tracked(fd), 1, (uint64_t)length, NULL, 0, 0);
  pthread_mutex_unlock(&lock);
  return rc;
}
int ftruncate64(int fd, off_t length) __attribute__((alias("ftruncate")));

static int sync_call(int fd, int (*real)(int)) {
  pthread_once(&init_once, init);
  pthread_mutex_lock(&lock);
  int rc = real(fd);
  if (rc == 0 && tracked(fd)) take_durable_image(tracked(fd));
  pthread_mutex_unlock(&lock);
  return rc;
}
int fsync(int fd) { return sync_call(fd, real_fsync); }
int fdatasync(int fd) { return sync_call(fd, real_fdatasync); }

int close(int fd) {
  pthread_once(&init_once, init);
  pthread_mutex_lock(&lock);
  if (fd >= 0 && fd < MAX_TRACKED_FD && tracked_path[fd] != NULL) {
    free(tracked_path[fd]);
    tracked_path[fd] = NULL;
  }
  int rc = real_close(fd);
  pthread_mutex_unlock(&lock);
  return rc;
}

int rename(const char* from, const char* to) {
  pthread_once(&init_once, init);
  pthread_mutex_lock(&lock);
  int rc = real_rename(from, to);
  if (rc == 0 && is_tracked_name(from)) {
    /* The test may SIGKILL between any two of these steps, so each intermediate state of the images must be
     * one a disk could hold after a power cut. First the destination's unsynced writes are dropped (the old
     * file as of its last sync: a valid outcome); then its image becomes the source's synced image (the new
     * file with its unsynced writes lost: valid); then the source's pending writes follow. Renaming the
     * images in the other order left, for a kill between the two renames, the new file's image with the old
     * file's pending writes replayed over it at the old offsets: records of the old journal after a hole, a
     * state no disk can reach (it once showed as an event recovered twice). */
    char dest_pending[MAX_PATH_BYTES];
    shadow_name(dest_pending, to, ".pending");
    int p = real_openat(AT_FDCWD, dest_pending, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (p >= 0)
      real_close(p);
    else if (errno != ENOENT)
      die("clear destination pending log");
    const char* exts[] = {".durable", ".pending"};
    for (int i = 0; i < 2; ++i) {
      char a[MAX_PATH_BYTES], b[MAX_PATH_BYTES];
      shadow_name(a, from, exts[i]);
      shadow_name(b, to, exts[i]);
      if (real_rename(a, b) != 0 && errno != ENOENT) die("rename shadow");
    }
    for (int fd = 0; fd < MAX_TRACKED_FD; ++fd) {
      if (tracked_path[fd] != NULL && strcmp(tracked_path[fd], from) == 0) {
        free(tracked_path[fd]);
        tracked_path[fd] = strdup(to);
        if (tracked_path[fd] == NULL) die("strdup");
      }
    }
  }
  pthread_mutex_unlock(&lock);
  return rc;
}
