#include <tinynn.h> /* the MNIST MLP as Keras' tutorial writes it */
int main(void)
{
    const int images = TNN_IDX_SCALE | TNN_IDX_FLATTEN;
    tnn_tensor *x, *y, *x_test, *y_test, *p = tnn_tensor_new_2d(10000, 10);
    tnn_model *m = tnn_model_new(784);
    tnn_callbacks *cb = tnn_callbacks_new();
    double loss, accuracy;
    size_t confusion[10 * 10];
    tnn_model_add(m, tnn_dense_new(784, 512));
    tnn_model_add(m, tnn_relu_new());
    tnn_model_add(m, tnn_dropout_new(0.2f));
    tnn_model_add(m, tnn_dense_new(512, 10));
    tnn_model_add(m, tnn_softmax_new());
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_model_set_optim(m, tnn_adam_new(0.001f));
    tnn_callbacks_add_progress(cb, stdout);
    if (tnn_idx_load("data/mnist/train-images-idx3-ubyte", images, &x) ||
        tnn_idx_load("data/mnist/train-labels-idx1-ubyte", 0, &y) ||
        tnn_idx_load("data/mnist/t10k-images-idx3-ubyte", images, &x_test) ||
        tnn_idx_load("data/mnist/t10k-labels-idx1-ubyte", 0, &y_test) ||
        tnn_model_fit(m, x, y, NULL, NULL, 5, 64, 1, tnn_callbacks_run, cb) ||
        tnn_model_evaluate(m, x_test, y_test, &loss, &accuracy) ||
        tnn_model_predict(m, x_test, p) ||
        tnn_confusion_matrix(p, y_test, 10, confusion))
        return fprintf(stderr, "%s\n", tnn_last_error()), 2;
    tnn_confusion_matrix_print(stdout, confusion, 10);
    printf("test loss %.4f, accuracy %.2f%%\n", loss, 100 * accuracy);
    return accuracy < 0.975; /* exiting frees the rest */
}
