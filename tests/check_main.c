/*
 * Runs every Check suite of the library and prints Check's summary line.
 */
#include <stdlib.h>

#include "testutil.h"

int main(void)
{
    SRunner *runner = srunner_create(support_suite());
    srunner_add_suite(runner, rng_suite());
    srunner_add_suite(runner, tensor_suite());
    srunner_add_suite(runner, layers_suite());
    srunner_add_suite(runner, loss_suite());
    srunner_add_suite(runner, optim_suite());
    srunner_add_suite(runner, model_suite());
    srunner_add_suite(runner, model_io_suite());
    srunner_add_suite(runner, threads_suite());
    srunner_add_suite(runner, misuse_suite());
    srunner_add_suite(runner, idx_suite());
    srunner_add_suite(runner, augment_suite());
    srunner_add_suite(runner, backends_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
