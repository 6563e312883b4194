/*
 * Model surgery: tnn_model_pop, tnn_model_insert, tnn_model_replace and
 * tnn_layer_clone, and fine-tuning a new head on a frozen body with them.
 */
#include <math.h>

#include "testutil.h"

enum { ROWS = 60, IN = 4 };

/* Rows of 4 values in [-1, 1) and two labellings: class 0-2 by the largest
 * of the first three values, and class 0-1 by the sign of their sum. */
static void make_data(tnn_tensor **x, tnn_tensor **y3, tnn_tensor **y2)
{
    size_t rows = ROWS;
    *x = tnn_tensor_new_2d(ROWS, IN);
    *y3 = tnn_tensor_new(1, &rows);
    *y2 = tnn_tensor_new(1, &rows);
    tnn_rng *rng = tnn_rng_new(17);
    tnn_tensor_rand_uniform(*x, rng, -1.0f, 1.0f);
    for (size_t i = 0; i < ROWS; i++) {
        const float *r = tnn_tensor_cdata(*x) + i * IN;
        int best = r[1] > r[0] ? 1 : 0;
        best = r[2] > r[best] ? 2 : best;
        tnn_tensor_data(*y3)[i] = (float)best;
        tnn_tensor_data(*y2)[i] = r[0] + r[1] + r[2] > 0.0f ? 1.0f : 0.0f;
    }
    tnn_rng_free(rng);
}

/* 4 -> dense 8 -> tanh -> dense classes -> softmax, Adam. */
static tnn_model *make_model(uint64_t seed, size_t classes)
{
    tnn_model *m = tnn_model_new(IN);
    ck_assert_int_eq(tnn_model_set_seed(m, seed), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(IN, 8)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_tanh_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, classes)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.05f)), TNN_OK);
    return m;
}

static int same_values(const tnn_tensor *a, const tnn_tensor *b)
{
    return tnn_tensor_size(a) == tnn_tensor_size(b) &&
           memcmp(tnn_tensor_cdata(a), tnn_tensor_cdata(b),
                  tnn_tensor_size(a) * sizeof(float)) == 0;
}

/* A copy of every parameter of layer i, to compare later. */
static tnn_tensor *copy_param(tnn_model *m, size_t i, int p)
{
    return tnn_tensor_clone(tnn_layer_param(tnn_model_layer(m, i), p));
}

/* Fine-tuning: train on three classes, take the head off, put a two-class
 * head on the frozen body and train that. The body's parameters stay bit
 * for bit; the new head learns the new task. */
START_TEST(new_head_on_a_frozen_body)
{
    tnn_tensor *x, *y3, *y2;
    make_data(&x, &y3, &y2);
    tnn_model *m = make_model(3, 3);
    ck_assert_int_eq(
        tnn_model_fit(m, x, y3, NULL, NULL, 60, 20, 1, NULL, NULL), TNN_OK);

    tnn_layer *softmax = tnn_model_pop(m);
    tnn_layer *head = tnn_model_pop(m);
    ck_assert_ptr_nonnull(softmax);
    ck_assert_str_eq(tnn_layer_name(head), "dense");
    ck_assert_uint_eq(tnn_model_num_layers(m), 2);
    ck_assert_uint_eq(tnn_model_out_features(m), 8);
    tnn_layer_free(head);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, softmax), TNN_OK);
    ck_assert_int_eq(tnn_layer_set_trainable(tnn_model_layer(m, 0), 0),
                     TNN_OK);
    tnn_tensor *body_w = copy_param(m, 0, 0), *body_b = copy_param(m, 0, 1);
    tnn_tensor *head_w = copy_param(m, 2, 0);

    double loss0, loss, accuracy;
    ck_assert_int_eq(tnn_model_evaluate(m, x, y2, &loss0, NULL), TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(m, x, y2, NULL, NULL, 80, 20, 1, NULL, NULL), TNN_OK);
    ck_assert_int_eq(tnn_model_evaluate(m, x, y2, &loss, &accuracy), TNN_OK);
    /* The features of a body trained for another task, frozen: the head
     * alone learns most of the new one. */
    ck_assert_double_lt(loss, 0.7 * loss0);
    ck_assert_double_ge(accuracy, 0.75);
    ck_assert(same_values(body_w, tnn_layer_param(tnn_model_layer(m, 0), 0)));
    ck_assert(same_values(body_b, tnn_layer_param(tnn_model_layer(m, 0), 1)));
    ck_assert(!same_values(head_w, tnn_layer_param(tnn_model_layer(m, 2), 0)));

    tnn_tensor *all[] = {x, y3, y2, body_w, body_b, head_w};
    for (size_t i = 0; i < 6; i++)
        tnn_tensor_free(all[i]);
    tnn_model_free(m);
}
END_TEST

/* A cloned body in a new model computes what the original body does: the
 * same parameters, not new ones from the new model's generator. */
START_TEST(clones_carry_their_parameters)
{
    tnn_tensor *x, *y3, *y2;
    make_data(&x, &y3, &y2);
    tnn_model *trained = make_model(5, 3);
    ck_assert_int_eq(
        tnn_model_fit(trained, x, y3, NULL, NULL, 5, 20, 1, NULL, NULL),
        TNN_OK);
    tnn_model *copy = tnn_model_new(IN);
    ck_assert_int_eq(tnn_model_set_seed(copy, 99), TNN_OK);
    for (size_t i = 0; i < 4; i++) {
        tnn_layer *c = tnn_layer_clone(tnn_model_layer(trained, i));
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(tnn_layer_kind(c),
                         tnn_layer_kind(tnn_model_layer(trained, i)));
        ck_assert_int_eq(tnn_model_add(copy, c), TNN_OK);
    }
    for (size_t i = 0; i < 4; i += 2)
        for (int p = 0; p < 2; p++)
            ck_assert(
                same_values(tnn_layer_param(tnn_model_layer(trained, i), p),
                            tnn_layer_param(tnn_model_layer(copy, i), p)));
    tnn_tensor *a = tnn_tensor_new_2d(ROWS, 3),
               *b = tnn_tensor_new_2d(ROWS, 3);
    ck_assert_int_eq(tnn_model_predict(trained, x, a), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(copy, x, b), TNN_OK);
    ck_assert(same_values(a, b));
    /* The copies are copies: training one leaves the other. */
    tnn_tensor *w = copy_param(trained, 0, 0);
    ck_assert_int_eq(tnn_model_set_loss(copy, TNN_LOSS_CROSS_ENTROPY), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(copy, tnn_sgd_new(0.5f)), TNN_OK);
    ck_assert_int_eq(tnn_model_train_batch(copy, x, y3, NULL), TNN_OK);
    ck_assert(same_values(w, tnn_layer_param(tnn_model_layer(trained, 0), 0)));
    ck_assert(!same_values(w, tnn_layer_param(tnn_model_layer(copy, 0), 0)));
    /* Configuration and state come along: dropout's rate, batch-norm's
     * statistics and options, a frozen flag. */
    tnn_layer *bn = tnn_batchnorm_new(3);
    tnn_batchnorm_set_momentum(bn, 0.5f);
    tnn_tensor_fill(tnn_batchnorm_running_mean(bn), 0.25f);
    tnn_tensor_fill(tnn_batchnorm_running_var(bn), 4.0f);
    tnn_layer_set_trainable(bn, 0);
    tnn_layer *bn2 = tnn_layer_clone(bn);
    ck_assert(tnn_batchnorm_momentum(bn2) == 0.5f);
    ck_assert(same_values(tnn_batchnorm_running_mean(bn),
                          tnn_batchnorm_running_mean(bn2)));
    ck_assert(same_values(tnn_batchnorm_running_var(bn),
                          tnn_batchnorm_running_var(bn2)));
    ck_assert_int_eq(tnn_layer_trainable(bn2), 0);

    ck_assert_ptr_null(tnn_layer_clone(NULL));
    ck_assert_int_eq(tnn_last_error_code(), TNN_E_INVALID);
    tnn_layer_free(bn);
    tnn_layer_free(bn2);
    tnn_tensor *all[] = {x, y3, y2, a, b, w};
    for (size_t i = 0; i < 6; i++)
        tnn_tensor_free(all[i]);
    tnn_model_free(trained);
    tnn_model_free(copy);
}
END_TEST

/* Insert and replace keep the rest of the model as it was: an identity
 * inserted anywhere changes no prediction; tanh replaced by ReLU gives the
 * predictions of a model built with ReLU from the same parameters. */
START_TEST(insert_and_replace)
{
    tnn_tensor *x, *y3, *y2;
    make_data(&x, &y3, &y2);
    tnn_model *m = make_model(7, 3);
    tnn_tensor *before = tnn_tensor_new_2d(ROWS, 3);
    tnn_tensor *after = tnn_tensor_new_2d(ROWS, 3);
    ck_assert_int_eq(tnn_model_predict(m, x, before), TNN_OK);
    for (size_t at = 0; at <= 4; at += 2)
        ck_assert_int_eq(tnn_model_insert(m, at, tnn_identity_new()), TNN_OK);
    ck_assert_uint_eq(tnn_model_num_layers(m), 7);
    ck_assert_str_eq(tnn_layer_name(tnn_model_layer(m, 0)), "identity");
    ck_assert_str_eq(tnn_layer_name(tnn_model_layer(m, 1)), "dense");
    ck_assert_str_eq(tnn_layer_name(tnn_model_layer(m, 4)), "identity");
    ck_assert_int_eq(tnn_model_predict(m, x, after), TNN_OK);
    ck_assert(same_values(before, after));
    /* Training goes on with the new list (buffers made again). */
    ck_assert_int_eq(tnn_model_train_batch(m, x, y3, NULL), TNN_OK);

    /* tanh (now layer 3) to ReLU, the old layer handed back. */
    tnn_layer *old = NULL;
    ck_assert_int_eq(tnn_model_replace(m, 3, tnn_relu_new(), &old), TNN_OK);
    ck_assert_str_eq(tnn_layer_name(old), "tanh");
    tnn_layer_free(old);
    tnn_model *relu = tnn_model_new(IN);
    ck_assert_int_eq(
        tnn_model_add(relu, tnn_layer_clone(tnn_model_layer(m, 1))), TNN_OK);
    ck_assert_int_eq(tnn_model_add(relu, tnn_relu_new()), TNN_OK);
    ck_assert_int_eq(
        tnn_model_add(relu, tnn_layer_clone(tnn_model_layer(m, 5))), TNN_OK);
    ck_assert_int_eq(tnn_model_add(relu, tnn_softmax_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(m, x, before), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(relu, x, after), TNN_OK);
    ck_assert(same_values(before, after));

    /* A new last layer may change the output width; old NULL frees. */
    ck_assert_int_eq(tnn_model_replace(m, 6, tnn_identity_new(), NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_replace(m, 5, tnn_dense_new(8, 5), NULL),
                     TNN_E_SHAPE);
    tnn_layer *popped = tnn_model_pop(m);
    ck_assert_str_eq(tnn_layer_name(popped), "identity");
    tnn_layer_free(popped);
    ck_assert_int_eq(tnn_model_replace(m, 5, tnn_dense_new(8, 5), NULL),
                     TNN_OK);
    ck_assert_uint_eq(tnn_model_out_features(m), 5);
    tnn_layer_free(tnn_model_layer(m, 0)); /* refused: the model owns it */
    ck_assert_int_eq(tnn_last_error_code(), TNN_E_STATE);

    tnn_tensor *all[] = {x, y3, y2, before, after};
    for (size_t i = 0; i < 5; i++)
        tnn_tensor_free(all[i]);
    tnn_model_free(relu);
    tnn_model_free(m);
}
END_TEST

/* Refusals change nothing: the layer count, the layers and their order,
 * and the model still trains. Refused layers are freed (valgrind), except
 * one that another model owns. */
START_TEST(refusals_change_nothing)
{
    tnn_model *m = make_model(9, 3), *other = make_model(10, 3);
    tnn_layer *first = tnn_model_layer(m, 0);
    ck_assert_int_eq(tnn_model_insert(m, 1, tnn_dense_new(8, 5)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_insert(m, 2, tnn_dense_new(8, 4)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_insert(m, 5, tnn_identity_new()),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_insert(m, 0, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_insert(NULL, 0, tnn_identity_new()),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_insert(m, 0, tnn_model_layer(other, 1)),
                     TNN_E_STATE);
    ck_assert_int_eq(tnn_model_insert(m, 0, first), TNN_E_STATE);
    tnn_layer *old = (tnn_layer *)&old;
    ck_assert_int_eq(tnn_model_replace(m, 4, tnn_identity_new(), &old),
                     TNN_E_INVALID);
    ck_assert_ptr_null(old);
    ck_assert_int_eq(tnn_model_replace(m, 1, tnn_dense_new(8, 5), NULL),
                     TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_replace(m, 0, tnn_dense_new(4, 9), NULL),
                     TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_replace(m, 0, NULL, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_replace(m, 2, tnn_model_layer(other, 2), NULL),
                     TNN_E_STATE);
    ck_assert_uint_eq(tnn_model_num_layers(m), 4);
    ck_assert_ptr_eq(tnn_model_layer(m, 0), first);
    ck_assert_str_eq(tnn_layer_name(tnn_model_layer(m, 1)), "tanh");
    ck_assert_uint_eq(tnn_model_num_layers(other), 4);

    tnn_model *empty = tnn_model_new(3);
    ck_assert_ptr_null(tnn_model_pop(empty));
    ck_assert_int_eq(tnn_last_error_code(), TNN_E_STATE);
    ck_assert_int_eq(tnn_model_replace(empty, 0, tnn_identity_new(), NULL),
                     TNN_E_INVALID);
    ck_assert_ptr_null(tnn_model_pop(NULL));
    ck_assert_int_eq(tnn_last_error_code(), TNN_E_INVALID);
    /* Insert into an empty model is add. */
    ck_assert_int_eq(tnn_model_insert(empty, 0, tnn_dense_new(3, 2)), TNN_OK);
    ck_assert_uint_eq(tnn_model_out_features(empty), 2);
    tnn_model_free(empty);
    tnn_model_free(other);
    tnn_model_free(m);
}
END_TEST

/* A popped or replaced layer keeps its parameters when it joins a model
 * again; the optimizer's state goes with every change of the list. */
START_TEST(moved_layers_keep_parameters)
{
    tnn_tensor *x, *y3, *y2;
    make_data(&x, &y3, &y2);
    tnn_model *m = make_model(11, 3);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y3, NULL), TNN_OK);
    size_t size;
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, NULL, 0, &size), TNN_OK);
    tnn_layer *softmax = tnn_model_pop(m);
    tnn_layer *head = tnn_model_pop(m);
    tnn_tensor *w = tnn_tensor_clone(tnn_layer_param(head, 0));
    tnn_model *other = tnn_model_new(8);
    ck_assert_int_eq(tnn_model_add(other, head), TNN_OK);
    ck_assert(same_values(w, tnn_layer_param(head, 0)));
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, 3)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, softmax), TNN_OK);
    /* The step count survives, the moments do not: the file with the
     * optimizer is smaller than before until the next step. */
    size_t after;
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, NULL, 0, &after), TNN_OK);
    ck_assert_uint_lt(after, size);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y3, NULL), TNN_OK);
    /* Saved and loaded after surgery, the model predicts the same. */
    void *image = malloc(after * 2);
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, image, after * 2, &size),
                     TNN_OK);
    tnn_model *loaded = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &loaded), TNN_OK);
    tnn_tensor *a = tnn_tensor_new_2d(ROWS, 3),
               *b = tnn_tensor_new_2d(ROWS, 3);
    ck_assert_int_eq(tnn_model_predict(m, x, a), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(loaded, x, b), TNN_OK);
    ck_assert(same_values(a, b));
    free(image);
    tnn_tensor *all[] = {x, y3, y2, w, a, b};
    for (size_t i = 0; i < 6; i++)
        tnn_tensor_free(all[i]);
    tnn_model_free(loaded);
    tnn_model_free(other);
    tnn_model_free(m);
}
END_TEST

/* Every allocation of a clone and of an insert that grows the layer list
 * fails in turn: TNN_E_NOMEM, nothing leaked, the model unchanged. */
START_TEST(allocation_failures)
{
    tnn_model *m = make_model(13, 3);
    /* Grow the list to its capacity (8) so that the next insert must
     * grow it. */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(tnn_model_insert(m, 1, tnn_identity_new()), TNN_OK);
    tnn_layer *dense = tnn_model_layer(m, 0);
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_layer *probe = tnn_layer_clone(dense);
    long needed = a.calls;
    tnn_layer_free(probe);
    ck_assert_int_gt(needed, 1);
    for (long n = 1; n <= needed; n++) {
        counting_install(&a, n);
        ck_assert_ptr_null(tnn_layer_clone(dense));
        ck_assert_int_eq(tnn_last_error_code(), TNN_E_NOMEM);
        ck_assert_int_eq(a.live, 0);
    }
    counting_remove();
    tnn_layer *id = tnn_identity_new();
    counting_install(&a, 1);
    ck_assert_int_eq(tnn_model_insert(m, 1, id), TNN_E_NOMEM);
    ck_assert_int_le(a.live, 0); /* the identity layer was freed */
    counting_remove();
    ck_assert_uint_eq(tnn_model_num_layers(m), 8);
    tnn_model_free(m);
}
END_TEST

/* ---- a layer taken out of a model and bound to larger samples --------- */

/* A model of samples of the given shape (2 dims: a sequence, 3: images)
 * holding layer, then a flatten and a dense layer to 1 output; MSE, SGD. */
static tnn_model *rebind_model(const size_t *shape, int ndim, tnn_layer *layer)
{
    tnn_model *m = ndim == 2
                       ? tnn_model_new_sequence(shape[0], shape[1])
                       : tnn_model_new_image(shape[0], shape[1], shape[2]);
    ck_assert_int_eq(tnn_model_set_seed(m, 3), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, layer), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    size_t width = tnn_layer_out_features(layer);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(width, 1)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MSE), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.05f)), TNN_OK);
    return m;
}

/* One training step on 6 samples of the model's shape; the loss. */
static double rebind_step(tnn_model *m, const size_t *shape, int ndim)
{
    size_t dims[4] = {6, shape[0], shape[1], ndim == 3 ? shape[2] : 1};
    tnn_tensor *x = tnn_tensor_new(ndim + 1, dims);
    tnn_tensor *y = tnn_tensor_new_2d(6, 1);
    for (size_t i = 0; i < tnn_tensor_size(x); i++)
        tnn_tensor_data(x)[i] = (float)sin(0.37 * (double)i);
    for (size_t i = 0; i < 6; i++)
        tnn_tensor_data(y)[i] = (float)i / 6.0f;
    double loss = 0.0;
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, &loss), TNN_OK);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return loss;
}

/* Trained on small samples, taken out and added after larger ones, the
 * layer computes what its clone (which never saw the small ones) does:
 * per-batch buffers and primitives made for the small samples are not
 * used for the large ones. */
static void check_rebind(tnn_layer *layer, const size_t *small,
                         const size_t *large, int ndim)
{
    tnn_model *first = rebind_model(small, ndim, layer);
    rebind_step(first, small, ndim);
    tnn_layer_free(tnn_model_pop(first));
    tnn_layer_free(tnn_model_pop(first));
    tnn_layer *moved = tnn_model_pop(first);
    tnn_layer *copy = tnn_layer_clone(moved);
    ck_assert_ptr_nonnull(copy);
    tnn_model *a = rebind_model(large, ndim, moved);
    tnn_model *b = rebind_model(large, ndim, copy);
    double la = rebind_step(a, large, ndim), lb = rebind_step(b, large, ndim);
    ck_assert_msg(la == lb, "%s: loss %.9g moved, %.9g cloned",
                  tnn_layer_name(moved), la, lb);
    for (int p = 0; p < tnn_layer_num_params(moved); p++)
        ck_assert_mem_eq(tnn_tensor_cdata(tnn_layer_param(moved, p)),
                         tnn_tensor_cdata(tnn_layer_param(copy, p)),
                         tnn_tensor_size(tnn_layer_param(copy, p)) *
                             sizeof(float));
    tnn_model_free(first);
    tnn_model_free(a);
    tnn_model_free(b);
}

START_TEST(layers_rebound_to_larger_samples)
{
    const size_t small[3] = {2, 4, 4}, large[3] = {2, 11, 9};
    check_rebind(tnn_dropout_new(0.3f), small, large, 3);
    check_rebind(tnn_batchnorm_new(2), small, large, 3);
    check_rebind(tnn_maxpool2d_new(2, 2), small, large, 3);
    check_rebind(tnn_avgpool2d_new(2, 1), small, large, 3);
    check_rebind(tnn_conv2d_new(2, 3, 3, 3, 1, TNN_PADDING_SAME), small, large,
                 3);
    check_rebind(tnn_layernorm_new(2), small, large, 3);
    const size_t short_seq[2] = {3, 4}, long_seq[2] = {13, 4};
    check_rebind(tnn_lstm_new(4, 5, 1), short_seq, long_seq, 2);
    check_rebind(tnn_gru_new(4, 5, 0), short_seq, long_seq, 2);
    check_rebind(tnn_layernorm_new(4), short_seq, long_seq, 2);
    check_rebind(tnn_softmax_new(), short_seq, long_seq, 2);
}
END_TEST

Suite *surgery_suite(void)
{
    Suite *s = suite_create("surgery");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, new_head_on_a_frozen_body);
    tcase_add_test(tc, clones_carry_their_parameters);
    tcase_add_test(tc, insert_and_replace);
    tcase_add_test(tc, refusals_change_nothing);
    tcase_add_test(tc, moved_layers_keep_parameters);
    tcase_add_test(tc, allocation_failures);
    tcase_add_test(tc, layers_rebound_to_larger_samples);
    suite_add_tcase(s, tc);
    return s;
}
