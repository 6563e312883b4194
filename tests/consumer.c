/*
 * An outside program: built from an installed tree through pkg-config only.
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
    printf("consumer OK (libtinynn %s)\n", tnn_version_string());
    return 0;
}
