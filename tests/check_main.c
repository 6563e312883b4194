/*
 * Runs every Check suite of the library (the list is TNN_TEST_SUITES in
 * testutil.h) and prints Check's summary line.
 */
#include <stdlib.h>

#include "testutil.h"

#define TNN_SUITE_FN(name) name##_suite,
static Suite *(*const suites[])(void) = {TNN_TEST_SUITES(TNN_SUITE_FN)};
#undef TNN_SUITE_FN

int main(void)
{
    SRunner *runner = srunner_create(suites[0]());
    for (size_t i = 1; i < sizeof suites / sizeof suites[0]; i++)
        srunner_add_suite(runner, suites[i]());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
