/*
 * Running a call that could block in a child process with a deadline, for
 * the suites that check that loaders never wait (POSIX only).
 */
#ifndef TINYNN_TESTCHILD_H
#define TINYNN_TESTCHILD_H

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* Seconds a child may take: 3, or TNN_TEST_CHILD_SECONDS. The valgrind
 * target gives more: there a child's exit runs memcheck's leak scan over
 * everything it inherited, which took 2 s of the 3 with oneDNN loaded. */
static inline int child_deadline(void)
{
    const char *value = getenv("TNN_TEST_CHILD_SECONDS");
    int seconds = value ? atoi(value) : 0;
    return seconds > 0 && seconds < 3600 ? seconds : 3;
}

/* Run load(path) in a child process, so that a load that blocks
 * fails the test after the deadline instead of hanging the suite: Check's
 * timeout does not apply when it runs without fork (as under valgrind).
 * The child's status code is returned, its message copied to msg. */
static inline int run_in_child(int (*load)(const char *), const char *path,
                               char *msg, size_t size)
{
    const int deadline = child_deadline();
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm((unsigned)deadline + 7); /* never outlives the test */
        close(fds[0]);
        int rc = load(path);
        char out[600];
        int n = snprintf(out, sizeof out, "%d %s", rc, tnn_last_error());
        _exit(write(fds[1], out, (size_t)n) == n ? 0 : 1);
    }
    close(fds[1]);
    int status = 0;
    pid_t done = 0;
    const struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 100 * deadline && done == 0; i++)
        if ((done = waitpid(pid, &status, WNOHANG)) == 0)
            nanosleep(&tick, NULL);
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        close(fds[0]);
        ck_abort_msg("loading %s did not return within %d s", path, deadline);
    }
    char out[600] = {0};
    ssize_t n = read(fds[0], out, sizeof out - 1);
    close(fds[0]);
    ck_assert_msg(n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the loading process failed");
    int rc, at = 0;
    ck_assert_int_eq(sscanf(out, "%d %n", &rc, &at), 1);
    snprintf(msg, size, "%s", out + at);
    return rc;
}

#endif
