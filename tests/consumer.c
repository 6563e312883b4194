/*
 * An outside program, built from an installed tree through pkg-config
 * (tests/installed-tree.sh) and CMake (tests/cmake-consumer/): a random
 * tensor, a refused call, and a dense layer's product with weights set by
 * hand, so that a static link must bring the BLAS along.
 */
#include <stdio.h>
#include <string.h>
#include <tinynn.h>

int main(void)
{
    if (tnn_version_number() != TNN_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library %s\n", TNN_VERSION_STRING,
                tnn_version_string());
        return 1;
    }
    tnn_rng *rng = tnn_rng_new(3);
    tnn_tensor *t = tnn_tensor_new_2d(2, 2);
    if (!rng || !t || tnn_tensor_rand_uniform(t, rng, 0.0f, 1.0f) != TNN_OK)
        return 1;
    float out[4];
    tnn_tensor_copy_to(t, out, 4);
    for (int i = 0; i < 4; i++)
        if (!(out[i] >= 0.0f && out[i] < 1.0f))
            return 1;
    if (tnn_tensor_copy_to(t, out, 3) != TNN_E_SHAPE ||
        strstr(tnn_last_error(), "tnn_tensor_copy_to") == NULL)
        return 1;
    tnn_tensor_free(t);
    tnn_rng_free(rng);

    /* y = x W + b with W = [[1, 2], [3, 4]], b = [0.5, -1]: for x = [1, 1]
     * that is [4.5, 5]. */
    static const float w[4] = {1, 2, 3, 4}, b[2] = {0.5f, -1};
    tnn_model *m = tnn_model_new(2);
    tnn_tensor *x = tnn_tensor_new_2d(1, 2), *y = tnn_tensor_new_2d(1, 2);
    if (!m || !x || !y || tnn_model_add(m, tnn_dense_new(2, 2)) != TNN_OK)
        return 1;
    tnn_layer *dense = tnn_model_layer(m, 0);
    tnn_tensor_fill(x, 1.0f);
    if (tnn_tensor_copy_from(tnn_layer_param(dense, 0), w, 4) != TNN_OK ||
        tnn_tensor_copy_from(tnn_layer_param(dense, 1), b, 2) != TNN_OK ||
        tnn_model_predict(m, x, y) != TNN_OK)
        return 1;
    const float *got = tnn_tensor_data(y);
    if (got[0] != 4.5f || got[1] != 5.0f) {
        fprintf(stderr, "dense product %g %g, expected 4.5 5\n", got[0],
                got[1]);
        return 1;
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    printf("consumer OK (libtinynn %s)\n", tnn_version_string());
    return 0;
}
