/*
 * Training and test sets as views of the rows of one tensor.
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"

/* Whether the storage of a and b overlaps. */
static bool overlap(const tnn_tensor *a, const tnn_tensor *b)
{
    const float *a_end = a->data + a->size, *b_end = b->data + b->size;
    return a->data < b_end && b->data < a_end;
}

int tnn_split_rows(tnn_tensor *x, tnn_tensor *y, double test_fraction,
                   tnn_rng *rng, tnn_tensor **x_train, tnn_tensor **y_train,
                   tnn_tensor **x_test, tnn_tensor **y_test)
{
    /* y_train and y_test are left alone without y. */
    tnn_tensor **out[4] = {x_train, x_test, y ? y_train : NULL,
                           y ? y_test : NULL};
    for (int i = 0; i < 4; i++)
        if (out[i])
            *out[i] = NULL;
    if (!x_train)
        return tnn__fail(TNN_E_INVALID, __func__, "x_train is NULL");
    if (!x_test)
        return tnn__fail(TNN_E_INVALID, __func__, "x_test is NULL");
    int rc = tnn__check_tensor(__func__, "x", x);
    if (rc != TNN_OK)
        return rc;
    if (y && !y_train)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "y_train is NULL but y is given");
    if (y && !y_test)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "y_test is NULL but y is given");
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "test_fraction is %g; it must be in (0, 1)",
                         test_fraction);
    const size_t rows = x->dims[0];
    if (y && y->dims[0] != rows)
        return tnn__fail(TNN_E_SHAPE, __func__, "y has %zu rows; x has %zu",
                         y->dims[0], rows);
    if (y && rng && overlap(x, y))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "x and y share storage; shuffling them together "
                         "would move the shared rows twice");
    /* As scikit-learn: the test set rounded up, in double. */
    double want = ceil(test_fraction * (double)rows);
    size_t test = want >= (double)rows ? rows : (size_t)want;
    if (test >= rows)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "test_fraction %g of %zu rows leaves no training "
                         "rows (the test set takes ceil(%g * %zu) = %zu)",
                         test_fraction, rows, test_fraction, rows, test);
    const size_t train = rows - test;

    /* Every view before anything changes, so that a failure leaves x and
     * y as they were. */
    tnn_tensor *views[4] = {NULL, NULL, NULL, NULL};
    tnn_tensor *source[4] = {x, x, y, y};
    const size_t first[4] = {0, train, 0, train};
    const size_t count[4] = {train, test, train, test};
    const int made = y ? 4 : 2;
    for (int i = 0; i < made && rc == TNN_OK; i++) {
        views[i] = tnn_tensor_view_rows(source[i], first[i], count[i]);
        if (!views[i])
            rc = tnn__fail(TNN_E_NOMEM, __func__,
                           "cannot allocate the view of %s rows",
                           i == 0   ? "x's training"
                           : i == 1 ? "x's test"
                           : i == 2 ? "y's training"
                                    : "y's test");
    }
    if (rc == TNN_OK && rng) {
        rc = tnn_tensor_shuffle_rows(x, y, rng);
        if (rc != TNN_OK) {
            /* Ruled out above; reported under this function's name. */
            char why[256];
            snprintf(why, sizeof why, "%s", tnn_last_error());
            rc = tnn__fail(rc, __func__, "%s", why);
        }
    }
    if (rc != TNN_OK) {
        for (int i = 0; i < 4; i++)
            tnn_tensor_free(views[i]);
        return rc;
    }
    for (int i = 0; i < made; i++)
        *out[i] = views[i];
    return TNN_OK;
}
