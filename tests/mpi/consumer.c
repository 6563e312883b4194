/* A program built against an installed tree with pkg-config tinynn-mpi
 * (tests/installed-tree.sh): attach, train a step, check, detach. */
#include <stdio.h>

#include <tinynn_mpi.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    tnn_model *m = tnn_model_new(2);
    tnn_model_add(m, tnn_dense_new(2, 1));
    tnn_model_set_optim(m, tnn_sgd_new(0.1f));
    tnn_tensor *x = tnn_tensor_new_2d(4, 2), *y = tnn_tensor_new_2d(4, 1);
    tnn_tensor_fill(x, 1.0f);
    tnn_mpi *r = NULL;
    int rc = tnn_mpi_attach(m, MPI_COMM_WORLD, 0, &r);
    if (rc == TNN_OK)
        rc = tnn_mpi_fit(r, x, y, NULL, NULL, 1, 4, 0, NULL, NULL);
    if (rc == TNN_OK)
        rc = tnn_mpi_check(r);
    if (rc == TNN_OK && tnn_mpi_rank(r) == 0)
        printf("mpi consumer OK (libtinynn %s, %d ranks)\n",
               tnn_version_string(), tnn_mpi_size(r));
    if (rc != TNN_OK)
        fprintf(stderr, "mpi consumer: %s\n", tnn_last_error());
    tnn_mpi_detach(r);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    MPI_Finalize();
    return rc == TNN_OK ? 0 : 1;
}
