/*
 * Whole-file reads and atomic writes: a file being replaced is either the
 * old one or the complete new one, never a mixture, whatever fails.
 *
 * Messages give the reason before the path: they are cut at a fixed
 * length, and a long path must not push the reason out.
 */
#define _XOPEN_SOURCE 700 /* S_ISVTX */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Temporary files of a save are named this and 16 hex digits, in the
 * target's directory (docs/format.md says how to clean up after a save
 * that was killed). Short, so that the name fits NAME_MAX whatever the
 * target's name. */
#define TEMP_PREFIX ".tnn-save-"
#define TEMP_ATTEMPTS 100

/* The kernel's own limit on links followed in one path lookup. */
#define MAX_LINKS 40

int tnn__open_regular(const char *func, const char *path, int *fd,
                      size_t *size)
{
    *fd = -1;
    /* Looked at before it is opened: opening a FIFO or a device can act
     * on another process (release a writer waiting for a reader, then
     * break its pipe) or on the device. */
    struct stat st;
    if (stat(path, &st) != 0)
        return tnn__fail(TNN_E_IO, func, "cannot open: %s: %s",
                         strerror(errno), path);
    if (!S_ISREG(st.st_mode))
        return tnn__fail(TNN_E_IO, func, "not a regular file: %s", path);
    /* The file can be swapped for a FIFO between the two calls: the open
     * still does not block, and the type is checked again on what was
     * opened. */
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (*fd < 0)
        return tnn__fail(TNN_E_IO, func, "cannot open: %s: %s",
                         strerror(errno), path);
    int rc = TNN_OK;
    if (fstat(*fd, &st) != 0)
        rc = tnn__fail(TNN_E_IO, func, "cannot stat: %s: %s", strerror(errno),
                       path);
    else if (!S_ISREG(st.st_mode))
        rc = tnn__fail(TNN_E_IO, func, "not a regular file: %s", path);
    int flags = rc == TNN_OK ? fcntl(*fd, F_GETFL) : -1;
    if (rc == TNN_OK &&
        (flags < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) != 0))
        rc = tnn__fail(TNN_E_IO, func, "cannot set blocking reads: %s: %s",
                       strerror(errno), path);
    if (rc != TNN_OK) {
        close(*fd);
        *fd = -1;
        return rc;
    }
    *size = (size_t)st.st_size;
    return TNN_OK;
}

int tnn__read_file(const char *func, const char *path, uint8_t **data,
                   size_t *size)
{
    *data = NULL;
    *size = 0;
    int fd = -1;
    size_t want = 0;
    int rc = tnn__open_regular(func, path, &fd, &want);
    if (rc != TNN_OK)
        return rc;
    uint8_t *buf = tnn__malloc(want ? want : 1);
    if (!buf) {
        close(fd);
        return tnn__fail(TNN_E_NOMEM, func, "cannot allocate %zu bytes for %s",
                         want, path);
    }
    size_t got = 0;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            close(fd);
            tnn__free(buf);
            return tnn__fail(TNN_E_IO, func, "cannot read: %s: %s",
                             err ? strerror(err) : "file shrank", path);
        }
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *size = want;
    return TNN_OK;
}

int tnn__name_path(int rc, const char *func, const char *path)
{
    const char *why = tnn_last_error();
    size_t len = strlen(func);
    if (strncmp(why, func, len) == 0 && strncmp(why + len, ": ", 2) == 0)
        why += len + 2;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", why);
    return tnn__fail(rc, func, "%s in %s", copy, path);
}

int tnn__load_file(const char *func, const char *path, tnn__parse_fn *parse,
                   void *out)
{
    if (!path)
        return tnn__fail(TNN_E_INVALID, func, "path is NULL");
    uint8_t *data;
    size_t size;
    int rc = tnn__read_file(func, path, &data, &size);
    if (rc != TNN_OK)
        return rc;
    rc = parse(func, path, data, size, out);
    tnn__free(data);
    return rc;
}

static int write_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

static int save_fail(const char *func, const char *step, int err,
                     const char *path)
{
    return tnn__fail(TNN_E_IO, func, "cannot save: %s (%s): %s", strerror(err),
                     step, path);
}

/* What a save writes: the file path names once symbolic links are
 * followed, whether it exists, and if so its attributes. */
struct target {
    char path[PATH_MAX];
    bool exists;
    struct stat st;
};

/* Replace a link's name in t->path by its target: as it is when absolute,
 * else relative to the link's directory. */
static int follow_link(struct target *t)
{
    char link[PATH_MAX];
    ssize_t n = readlink(t->path, link, sizeof link);
    if (n < 0)
        return errno;
    if ((size_t)n >= sizeof link)
        return ENAMETOOLONG;
    link[n] = '\0';
    char *slash = strrchr(t->path, '/');
    size_t keep = link[0] == '/' || !slash ? 0 : (size_t)(slash - t->path) + 1;
    if (keep + (size_t)n >= sizeof t->path)
        return ENAMETOOLONG;
    memcpy(t->path + keep, link, (size_t)n + 1);
    return 0;
}

/* The kernel's rule for links (fs.protected_symlinks), which following
 * links by hand would otherwise bypass: in a sticky world-writable
 * directory such as /tmp, a link is followed only if the caller or the
 * directory's owner owns it, so that another user's planted link cannot
 * point a save at the caller's files. */
static int may_follow(const struct target *t)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(t->path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == t->path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - t->path), t->path);
    struct stat d;
    if (stat(dir, &d) != 0)
        return errno;
    bool shared = (d.st_mode & S_ISVTX) && (d.st_mode & S_IWOTH);
    if (shared && t->st.st_uid != geteuid() && t->st.st_uid != d.st_uid)
        return EACCES;
    return 0;
}

/* Follow symbolic links from path to the name a save must replace, so
 * that a save writes through a link instead of replacing the link; a
 * dangling link gets its target created. Only regular files are
 * replaced. */
static int resolve_target(const char *func, const char *path, struct target *t)
{
    if (strlen(path) >= sizeof t->path)
        return save_fail(func, "path", ENAMETOOLONG, path);
    memcpy(t->path, path, strlen(path) + 1);
    for (int links = 0;; links++) {
        if (lstat(t->path, &t->st) != 0) {
            if (errno != ENOENT)
                return save_fail(func, "stat", errno, path);
            t->exists = false;
            return TNN_OK;
        }
        if (!S_ISLNK(t->st.st_mode))
            break;
        int err = links == MAX_LINKS ? ELOOP : may_follow(t);
        if (!err)
            err = follow_link(t);
        if (err)
            return save_fail(func, "readlink", err, path);
    }
    if (!S_ISREG(t->st.st_mode))
        return tnn__fail(TNN_E_IO, func, "cannot save: not a regular file: %s",
                         path);
    t->exists = true;
    return TNN_OK;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
    return h ^ (h >> 31);
}

/* A temporary name no other save picks at the same time: process, time,
 * this thread's stack and the attempt, mixed. No state is kept between
 * calls; a collision only costs another attempt (O_EXCL). */
static uint64_t temp_suffix(unsigned attempt)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t h = mix(0, (uint64_t)getpid());
    h = mix(h, (uint64_t)ts.tv_sec);
    h = mix(h, (uint64_t)ts.tv_nsec);
    h = mix(h, (uint64_t)(uintptr_t)&ts);
    return mix(h, attempt);
}

/* Length of the directory part of path, its last slash included. */
static size_t directory_length(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) + 1 : 0;
}

/* Create a temporary file in target's directory; its name goes to tmp.
 * The kernel applies the umask (and the directory's default ACL) to
 * mode. */
static int create_temp(const char *target, mode_t mode, char *tmp, size_t size)
{
    int dir = (int)directory_length(target);
    for (unsigned attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
        int n = snprintf(tmp, size, "%.*s" TEMP_PREFIX "%016llx", dir, target,
                         (unsigned long long)temp_suffix(attempt));
        if (n < 0 || (size_t)n >= size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* A replaced file's owner, group and permissions pass to the new one, as
 * far as the process may set them, as cp -p does: an owner it may not give
 * is skipped (the group alone may still be its to give). */
static void keep_attributes(int fd, const struct stat *old)
{
    struct stat now;
    bool same = fstat(fd, &now) == 0 && now.st_uid == old->st_uid &&
                now.st_gid == old->st_gid;
    if (!same && fchown(fd, old->st_uid, old->st_gid) != 0) {
        int ignored = fchown(fd, (uid_t)-1, old->st_gid);
        (void)ignored;
    }
    /* After fchown, which may clear the set-ID bits. The file was created
     * with at most these permissions, so a failure leaves it no more open
     * than the old one. */
    int ignored = fchmod(fd, old->st_mode & 07777);
    (void)ignored;
}

int tnn__write_file_atomic(const char *func, const char *path,
                           const void *data, size_t size)
{
    struct target t;
    int rc = resolve_target(func, path, &t);
    if (rc != TNN_OK)
        return rc;
    char tmp[PATH_MAX];
    mode_t mode = t.exists ? t.st.st_mode & 0777 : 0666;
    int fd = create_temp(t.path, mode, tmp, sizeof tmp);
    if (fd < 0)
        return save_fail(func, "create a temporary file", errno, path);
    if (t.exists)
        keep_attributes(fd, &t.st);
    const char *step = "write";
    int ok = write_all(fd, data, size) == 0;
    if (ok && (step = "fsync", fsync(fd) != 0))
        ok = 0;
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        step = "close";
        err = errno;
    }
    if (ok && (step = "rename", rename(tmp, t.path) != 0)) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        return save_fail(func, step, err, path);
    }
    /* Make the rename itself durable; failure here loses nothing. */
    size_t dir = directory_length(t.path);
    tmp[dir] = '\0';
    int dfd = open(dir ? tmp : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return TNN_OK;
}
