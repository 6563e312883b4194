/*
 * Whole-file reads and atomic writes: a file being replaced is either the
 * old one or the complete new one, never a mixture, whatever fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Open path for reading, refusing anything but a regular file. The open
 * does not block, so that a FIFO without a writer (or a device waiting
 * for a carrier) cannot hang the caller; the reads then block as usual. */
static int open_regular(const char *func, const char *path, int *fd,
                        size_t *size)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (*fd < 0)
        return tnn__fail(TNN_E_IO, func, "cannot open: %s: %s",
                         strerror(errno), path);
    struct stat st;
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
    int rc = open_regular(func, path, &fd, &want);
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

static int write_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/* The directory of path, for the temporary file and its fsync. */
static void directory_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, size, ".");
    else if (slash == path)
        snprintf(dir, size, "/");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

int tnn__write_file_atomic(const char *func, const char *path,
                           const void *data, size_t size)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp)
        return tnn__fail(TNN_E_INVALID, func, "path is too long");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return tnn__fail(TNN_E_IO, func, "cannot create a file beside %s: %s",
                         path, strerror(errno));
    /* mkstemp makes it 0600; a model file is as readable as any other. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
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
    if (ok && (step = "rename", rename(tmp, path) != 0)) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        return tnn__fail(TNN_E_IO, func, "cannot save %s (%s): %s", path, step,
                         strerror(err));
    }
    /* Make the rename itself durable; failure here loses nothing. */
    char dir[4096];
    directory_of(path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return TNN_OK;
}
