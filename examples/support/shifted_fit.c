/*
 * Training on freshly shifted images (shifted_fit.h).
 */
#include <tinynn.h>

#include "augment.h"
#include "shifted_fit.h"

int fit_shifted(tnn_model *model, const tnn_tensor *x, const tnn_tensor *y,
                const tnn_tensor *x_val, const tnn_tensor *y_val, int epochs,
                size_t batch_size, int side, int max_shift, uint64_t seed,
                tnn_fit_callback callback, void *user)
{
    tnn_rng *rng = tnn_rng_new(seed ^ 0x5348494654ULL);
    tnn_tensor *moved = rng ? tnn_tensor_clone(x) : NULL;
    int rc = moved ? TNN_OK : TNN_E_NOMEM;
    for (int e = 0; e < epochs && rc == TNN_OK; e++) {
        augment_shift_images(x, moved, side, max_shift, rng);
        rc = tnn_model_fit(model, moved, y, x_val, y_val, 1, batch_size, 1,
                           callback, user);
    }
    tnn_tensor_free(moved);
    tnn_rng_free(rng);
    return rc;
}
