/*
 * One scratch file per fuzz target, rewritten for every input, for the
 * targets that compare a file loader with its buffer twin; removed at
 * exit. Needs _POSIX_C_SOURCE 200809L (mkstemp, ftruncate, pwrite).
 */
#ifndef TINYNN_FUZZ_SCRATCH_H
#define TINYNN_FUZZ_SCRATCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char scratch[4096];
static int scratch_fd = -1;

static void remove_scratch(void)
{
    if (scratch_fd >= 0) {
        close(scratch_fd);
        unlink(scratch);
    }
}

/* Make the file, named after the target, in $TMPDIR or /tmp. Without it
 * only the buffer loader is fuzzed. */
static void open_scratch(const char *target)
{
    const char *dir = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/fuzz_%s.XXXXXX",
             dir && dir[0] ? dir : "/tmp", target);
    scratch_fd = mkstemp(scratch);
    if (scratch_fd >= 0)
        atexit(remove_scratch);
}

/* The file's content becomes data; 0 if it could not be written. */
static int write_scratch(const uint8_t *data, size_t size)
{
    if (scratch_fd < 0 || ftruncate(scratch_fd, 0) != 0)
        return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(scratch_fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            return 0;
        done += (size_t)n;
    }
    return 1;
}

#endif
