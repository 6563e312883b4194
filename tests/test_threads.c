/*
 * The threading contract: different models at once on different threads,
 * and one trained model served from several threads through clones, with
 * the same results as one thread doing everything in turn; convnets (on
 * oneDNN's threads where it is built in) give the same bits run after
 * run.
 */
#include <pthread.h>

#include "testutil.h"

#define WIDTH 12
#define ROWS 96

static void make_data(tnn_tensor **x, tnn_tensor **y)
{
    tnn_rng *rng = tnn_rng_new(31);
    size_t rows = ROWS;
    *x = tnn_tensor_new_2d(ROWS, WIDTH);
    *y = tnn_tensor_new(1, &rows);
    tnn_tensor_rand_normal(*x, rng, 0, 1);
    for (size_t i = 0; i < ROWS; i++)
        tnn_tensor_data(*y)[i] =
            tnn_tensor_cdata(*x)[i * WIDTH] > 0 ? 1.0f : 0.0f;
    tnn_rng_free(rng);
}

static tnn_model *make_model(uint64_t seed)
{
    tnn_model *m = tnn_model_new(WIDTH);
    tnn_model_set_seed(m, seed);
    tnn_model_add(m, tnn_dense_new(WIDTH, 32));
    tnn_model_add(m, tnn_batchnorm_new(32));
    tnn_model_add(m, tnn_relu_new());
    tnn_model_add(m, tnn_dropout_new(0.2f));
    tnn_model_add(m, tnn_dense_new(32, 2));
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_model_set_optim(m, tnn_adam_new(0.01f));
    ck_assert_uint_eq(tnn_model_num_layers(m), 5);
    return m;
}

struct training {
    uint64_t seed;
    const tnn_tensor *x, *y;
    float weights[WIDTH * 32];
    int rc;
};

static void *train(void *arg)
{
    struct training *t = arg;
    tnn_model *m = make_model(t->seed);
    t->rc = tnn_model_fit(m, t->x, t->y, NULL, NULL, 3, 16, 1, NULL, NULL);
    tnn_tensor_copy_to(tnn_layer_param(tnn_model_layer(m, 0), 0), t->weights,
                       WIDTH * 32);
    tnn_model_free(m);
    return NULL;
}

START_TEST(two_models_train_at_once)
{
    tnn_tensor *x, *y;
    make_data(&x, &y);
    struct training alone[2] = {{.seed = 1, .x = x, .y = y},
                                {.seed = 2, .x = x, .y = y}};
    struct training together[2] = {{.seed = 1, .x = x, .y = y},
                                   {.seed = 2, .x = x, .y = y}};
    train(&alone[0]);
    train(&alone[1]);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(
            pthread_create(&threads[i], NULL, train, &together[i]), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(together[i].rc, TNN_OK);
        ck_assert_mem_eq(together[i].weights, alone[i].weights,
                         sizeof alone[i].weights);
    }
    ck_assert(memcmp(alone[0].weights, alone[1].weights,
                     sizeof alone[0].weights) != 0);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

struct serving {
    tnn_model *model; /* this thread's own clone */
    const tnn_tensor *x;
    float out[ROWS * 2];
    int rc;
};

static void *serve(void *arg)
{
    struct serving *s = arg;
    tnn_tensor *out = tnn_tensor_new_2d(ROWS, 2);
    s->rc = TNN_OK;
    for (int round = 0; round < 20 && s->rc == TNN_OK; round++)
        s->rc = tnn_model_predict(s->model, s->x, out);
    tnn_tensor_copy_to(out, s->out, ROWS * 2);
    tnn_tensor_free(out);
    return NULL;
}

START_TEST(clones_serve_from_several_threads)
{
    tnn_tensor *x, *y;
    make_data(&x, &y);
    tnn_model *trained = make_model(9);
    ck_assert_int_eq(
        tnn_model_fit(trained, x, y, NULL, NULL, 2, 16, 1, NULL, NULL),
        TNN_OK);
    size_t size;
    ck_assert_int_eq(tnn_model_save_buffer(trained, 0, NULL, 0, &size),
                     TNN_OK);
    void *image = malloc(size);
    ck_assert_int_eq(tnn_model_save_buffer(trained, 0, image, size, NULL),
                     TNN_OK);
    tnn_model *loaded = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &loaded), TNN_OK);
    tnn_tensor *expected = tnn_tensor_new_2d(ROWS, 2);
    ck_assert_int_eq(tnn_model_predict(loaded, x, expected), TNN_OK);

    enum { THREADS = 4 };
    struct serving s[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        s[i].model = tnn_model_clone(loaded);
        s[i].x = x;
        ck_assert_ptr_nonnull(s[i].model);
        ck_assert_int_eq(pthread_create(&threads[i], NULL, serve, &s[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(s[i].rc, TNN_OK);
        ck_assert_mem_eq(s[i].out, tnn_tensor_data(expected), sizeof s[i].out);
        tnn_model_free(s[i].model);
    }
    free(image);
    tnn_tensor_free(expected);
    tnn_model_free(loaded);
    tnn_model_free(trained);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* Read-only calls on one const handle from several threads at once (the
 * contract in docs/threading.md): each thread clones the same trained
 * model, reads its summary and predicts from one shared input tensor and
 * a view of it, with the results of one thread doing it all. Run under
 * ThreadSanitizer in CI. */
struct cloning {
    const tnn_model *source;
    const tnn_tensor *x;
    tnn_tensor *x_tail; /* a view of x's last rows, shared too */
    float out[ROWS * 2];
    float tail[2 * 2];
    size_t summary;
    int rc;
};

static void *clone_and_serve(void *arg)
{
    struct cloning *c = arg;
    tnn_model *own = tnn_model_clone(c->source);
    tnn_tensor *out = tnn_tensor_new_2d(ROWS, 2);
    tnn_tensor *tail = tnn_tensor_new_2d(2, 2);
    c->rc = own && out && tail ? TNN_OK : TNN_E_NOMEM;
    if (c->rc == TNN_OK)
        c->rc = tnn_model_summary(c->source, NULL, 0, &c->summary);
    if (c->rc == TNN_OK)
        c->rc = tnn_model_predict(own, c->x, out);
    if (c->rc == TNN_OK)
        c->rc = tnn_model_predict(own, c->x_tail, tail);
    if (c->rc == TNN_OK) {
        tnn_tensor_copy_to(out, c->out, ROWS * 2);
        tnn_tensor_copy_to(tail, c->tail, 4);
    }
    tnn_tensor_free(out);
    tnn_tensor_free(tail);
    tnn_model_free(own);
    return NULL;
}

START_TEST(one_source_cloned_from_several_threads)
{
    tnn_tensor *x, *y;
    make_data(&x, &y);
    tnn_model *trained = make_model(11);
    ck_assert_int_eq(
        tnn_model_fit(trained, x, y, NULL, NULL, 2, 16, 1, NULL, NULL),
        TNN_OK);
    tnn_tensor *expected = tnn_tensor_new_2d(ROWS, 2);
    ck_assert_int_eq(tnn_model_predict(trained, x, expected), TNN_OK);
    size_t summary;
    ck_assert_int_eq(tnn_model_summary(trained, NULL, 0, &summary), TNN_OK);
    tnn_tensor *x_tail = tnn_tensor_view_rows(x, ROWS - 2, 2);
    /* The tail's own prediction, not the full batch's last rows: products
     * of another row count may run other kernels (oneDNN's for 2 rows on
     * AVX2 differ from those for 96 in the last bits). */
    tnn_tensor *expected_tail = tnn_tensor_new_2d(2, 2);
    ck_assert_int_eq(tnn_model_predict(trained, x_tail, expected_tail),
                     TNN_OK);

    enum { THREADS = 4 };
    struct cloning c[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (struct cloning){.source = trained, .x = x, .x_tail = x_tail};
        ck_assert_int_eq(
            pthread_create(&threads[i], NULL, clone_and_serve, &c[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(c[i].rc, TNN_OK);
        ck_assert_uint_eq(c[i].summary, summary);
        ck_assert_mem_eq(c[i].out, tnn_tensor_data(expected), sizeof c[i].out);
        ck_assert_mem_eq(c[i].tail, tnn_tensor_data(expected_tail),
                         sizeof c[i].tail);
    }
    tnn_tensor_free(x_tail);
    tnn_tensor_free(expected_tail);
    tnn_tensor_free(expected);
    tnn_model_free(trained);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* A small convnet, whose convolutions run on oneDNN's OpenMP threads in a
 * build with it: 1x12x12 -> conv 8 -> maxpool -> conv 16 -> dense 2. */
#define CONV2_WEIGHTS (16 * 8 * 3 * 3)

struct conv_training {
    uint64_t seed;
    float weights[CONV2_WEIGHTS];
    int rc;
};

static void *train_convnet(void *arg)
{
    struct conv_training *t = arg;
    tnn_rng *rng = tnn_rng_new(17);
    size_t dims[4] = {ROWS, 1, 12, 12}, rows = ROWS;
    tnn_tensor *x = tnn_tensor_new(4, dims), *y = tnn_tensor_new(1, &rows);
    tnn_tensor_rand_normal(x, rng, 0, 1);
    for (size_t i = 0; i < ROWS; i++)
        tnn_tensor_data(y)[i] = tnn_tensor_cdata(x)[i * 144] > 0 ? 1.0f : 0.0f;
    tnn_model *m = tnn_model_new_image(1, 12, 12);
    tnn_model_set_seed(m, t->seed);
    tnn_model_add(m, tnn_conv2d_new(1, 8, 3, 3, 1, TNN_PADDING_VALID));
    tnn_model_add(m, tnn_relu_new());
    tnn_model_add(m, tnn_maxpool2d_new(2, 2));
    tnn_model_add(m, tnn_conv2d_new(8, 16, 3, 3, 1, TNN_PADDING_VALID));
    tnn_model_add(m, tnn_flatten_new());
    tnn_model_add(m, tnn_dense_new(144, 2));
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_model_set_optim(m, tnn_adam_new(0.01f));
    ck_assert_uint_eq(tnn_model_num_layers(m), 6);
    /* Batches of 40: two full ones and a partial one per epoch. */
    t->rc = tnn_model_fit(m, x, y, NULL, NULL, 3, 40, 1, NULL, NULL);
    tnn_tensor_copy_to(tnn_layer_param(tnn_model_layer(m, 3), 0), t->weights,
                       CONV2_WEIGHTS);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_rng_free(rng);
    return NULL;
}

/* On 2 threads, the same bits run after run, and with two convnets
 * training at once on two threads. */
START_TEST(convnets_give_the_same_bits)
{
    int saved = tnn_get_num_threads();
    ck_assert_int_eq(tnn_set_num_threads(2), TNN_OK);
    struct conv_training alone[2] = {{.seed = 1}, {.seed = 2}};
    struct conv_training again = {.seed = 1};
    struct conv_training together[2] = {{.seed = 1}, {.seed = 2}};
    train_convnet(&alone[0]);
    train_convnet(&alone[1]);
    train_convnet(&again);
    ck_assert_int_eq(again.rc, TNN_OK);
    ck_assert_mem_eq(again.weights, alone[0].weights, sizeof again.weights);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(
            pthread_create(&threads[i], NULL, train_convnet, &together[i]), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(alone[i].rc, TNN_OK);
        ck_assert_int_eq(together[i].rc, TNN_OK);
        ck_assert_mem_eq(together[i].weights, alone[i].weights,
                         sizeof alone[i].weights);
    }
    ck_assert(memcmp(alone[0].weights, alone[1].weights,
                     sizeof alone[0].weights) != 0);
    ck_assert_int_eq(tnn_set_num_threads(saved), TNN_OK);
}
END_TEST

Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_models_train_at_once);
    tcase_add_test(tc, clones_serve_from_several_threads);
    tcase_add_test(tc, one_source_cloned_from_several_threads);
    tcase_add_test(tc, convnets_give_the_same_bits);
    suite_add_tcase(s, tc);
    return s;
}
