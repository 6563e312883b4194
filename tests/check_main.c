/*
 * Runs every Check suite of the library (the list is TNN_TEST_SUITES in
 * testutil.h): each suite's own Check report, then the summary line of all.
 *
 * Each suite runs in a runner process of its own, forked from this one,
 * which Check's test processes are forked from in turn. Why: Check's
 * runner reads one message per passing ck_assert (9 million in all, most
 * from one test each in rng, layers and backends) and allocates and frees
 * two small strings for each. Under AddressSanitizer those frees fill the
 * 256 MB quarantine: one runner for all grew to 640 MB after the layers
 * suite, and every later test process inherited that heap and paid
 * LeakSanitizer's walk over it at exit, 1 to 2 s a test (the misuse
 * suite's 670 tests: 1120 s, against 48 s in a fresh runner). A runner per
 * suite keeps that cost inside the suite that causes it; every test still
 * runs in its own process with leak checking. With CK_FORK=no (valgrind)
 * all run in this one process, as before.
 *
 * CK_RUN_SUITE names one suite (its X name in testutil.h is the name it
 * gives suite_create): the others are not made or run, so that make
 * valgrind can run the suites in processes of their own side by side.
 */
#define _POSIX_C_SOURCE 200809L /* fork() */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define TNN_SUITE_ENTRY(name) {#name, name##_suite},
static const struct {
    const char *name;
    Suite *(*make)(void);
} suites[] = {TNN_TEST_SUITES(TNN_SUITE_ENTRY)};
#undef TNN_SUITE_ENTRY
#define NUM_SUITES (sizeof suites / sizeof suites[0])

/* Tests run, failed and in error, as Check counts them. */
struct tally {
    int run, failures, errors;
};

static struct tally count(SRunner *runner)
{
    struct tally t = {srunner_ntests_run(runner), 0, 0};
    int n = srunner_ntests_failed(runner);
    TestResult **failed = srunner_failures(runner);
    for (int i = 0; i < n; i++) {
        if (tr_rtype(failed[i]) == CK_FAILURE)
            t.failures++;
        else
            t.errors++;
    }
    free(failed);
    return t;
}

/* Suite i in a runner process; its tally comes back through a pipe. A
 * runner that does not report (a crash, or LeakSanitizer's status for a
 * leak in the runner itself) counts as an error. */
static struct tally run_suite_in_runner(size_t i)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("check_main: pipe");
        exit(EXIT_FAILURE);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("check_main: fork");
        exit(EXIT_FAILURE);
    }
    if (pid == 0) {
        close(fds[0]);
        SRunner *runner = srunner_create(suites[i].make());
        srunner_run_all(runner, CK_NORMAL);
        struct tally t = count(runner);
        srunner_free(runner);
        int sent = write(fds[1], &t, sizeof t) == (ssize_t)sizeof t;
        close(fds[1]);
        exit(sent ? EXIT_SUCCESS : EXIT_FAILURE);
    }
    close(fds[1]);
    struct tally t = {0, 0, 0};
    ssize_t got = read(fds[0], &t, sizeof t);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got != (ssize_t)sizeof t || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        printf("%s: the runner process failed (%s %d)\n", suites[i].name,
               WIFSIGNALED(status) ? "signal" : "status",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        t.errors++;
    }
    return t;
}

/* Every suite, or the one named, in one runner in this process (CK_FORK=no,
 * as under valgrind). */
static int run_in_this_process(const char *only)
{
    SRunner *runner = NULL;
    for (size_t i = 0; i < NUM_SUITES; i++) {
        if (only && strcmp(only, suites[i].name) != 0)
            continue;
        if (!runner)
            runner = srunner_create(suites[i].make());
        else
            srunner_add_suite(runner, suites[i].make());
    }
    if (!runner) {
        fprintf(stderr, "check_main: no suite named %s\n", only);
        return EXIT_FAILURE;
    }
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(void)
{
    const char *only = getenv("CK_RUN_SUITE");
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode && strcmp(fork_mode, "no") == 0)
        return run_in_this_process(only);
    struct tally all = {0, 0, 0};
    for (size_t i = 0; i < NUM_SUITES; i++) {
        if (only && strcmp(only, suites[i].name) != 0)
            continue;
        struct tally t = run_suite_in_runner(i);
        all.run += t.run;
        all.failures += t.failures;
        all.errors += t.errors;
    }
    /* Check's own summary line (and percentage), over all the suites. */
    int passed = all.run - all.failures - all.errors;
    int percent = all.failures == 0 && all.errors == 0 ? 100
                  : all.run > 0 && passed > 0          ? passed * 100 / all.run
                                                       : 0;
    printf("All suites: %d%%: Checks: %d, Failures: %d, Errors: %d\n", percent,
           all.run, all.failures, all.errors);
    return all.failures == 0 && all.errors == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
