/*
 * The model and data that the replica tests share: in threads
 * (test_replicas.c) and under mpirun (mpi/replicas.c).
 */
#ifndef TINYNN_TESTS_REPLICA_FIXTURE_H
#define TINYNN_TESTS_REPLICA_FIXTURE_H

#include <math.h>
#include <stdbool.h>

#include <tinynn.h>

/* dense 6 -> 8, [batch-norm,] ReLU, dropout 0.25, dense 8 -> 3, softmax
 * with cross-entropy; Adam 0.01 or plain SGD 0.1; NULL if any call
 * failed. */
static inline tnn_model *replica_model(bool adam, bool batchnorm,
                                       unsigned long long seed)
{
    tnn_model *m = tnn_model_new(6);
    int rc = m ? TNN_OK : TNN_E_NOMEM;
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_dense_new(6, 8));
    if (rc == TNN_OK && batchnorm)
        rc = tnn_model_add(m, tnn_batchnorm_new(8));
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_relu_new());
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_dropout_new(0.25f));
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_dense_new(8, 3));
    if (rc == TNN_OK)
        rc = tnn_model_add(m, tnn_softmax_new());
    if (rc == TNN_OK)
        rc = tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_optim *o = adam ? tnn_adam_new(0.01f) : tnn_sgd_new(0.1f);
    if (rc == TNN_OK)
        rc = tnn_model_set_optim(m, o);
    if (rc == TNN_OK)
        rc = tnn_model_set_seed(m, seed);
    if (rc != TNN_OK) {
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

/* 18 rows of 6 features and class labels: batches of 4, 4, 4, 4 and 2,
 * so that with 3 or 4 replicas some slices of the last batch are
 * empty. */
static inline void replica_data(tnn_tensor **x, tnn_tensor **y)
{
    size_t rows = 18;
    *x = tnn_tensor_new_2d(rows, 6);
    *y = tnn_tensor_new(1, &rows);
    for (size_t i = 0; i < rows * 6; i++)
        tnn_tensor_data(*x)[i] = (float)((int)(i * 7 % 13) - 6) / 4.0f;
    for (size_t i = 0; i < rows; i++)
        tnn_tensor_data(*y)[i] = (float)(i % 3);
}

static inline double tensor_difference(const tnn_tensor *ta,
                                       const tnn_tensor *tb, double worst)
{
    for (size_t k = 0; k < tnn_tensor_size(ta); k++) {
        double va = tnn_tensor_cdata(ta)[k];
        double vb = tnn_tensor_cdata(tb)[k];
        worst = fmax(worst, fabs(va - vb) / fmax(fabs(vb), 1e-3));
    }
    return worst;
}

/* Largest relative difference between the parameters (and batch-norm's
 * running statistics) of a and b, of values at least 1e-3 in size,
 * absolute below. */
static inline double replica_difference(tnn_model *a, tnn_model *b)
{
    double worst = 0.0;
    for (size_t i = 0; i < tnn_model_num_layers(a); i++) {
        tnn_layer *la = tnn_model_layer(a, i), *lb = tnn_model_layer(b, i);
        for (int p = 0; p < tnn_layer_num_params(la); p++)
            worst = tensor_difference(tnn_layer_param(la, p),
                                      tnn_layer_param(lb, p), worst);
        if (tnn_layer_kind(la) == TNN_LAYER_BATCHNORM) {
            worst = tensor_difference(tnn_batchnorm_running_mean(la),
                                      tnn_batchnorm_running_mean(lb), worst);
            worst = tensor_difference(tnn_batchnorm_running_var(la),
                                      tnn_batchnorm_running_var(lb), worst);
        }
    }
    return worst;
}

#endif
