/*
 * Models of every layer kind the ONNX writer knows, exported into DIR
 * with their outputs on fixed inputs, for tests/onnx/check_export.py:
 *
 *   export_cases DIR
 *
 * writes DIR/NAME.onnx and DIR/NAME.txt (the case format of
 * check_export.py) for each model, and prints the names. `make
 * references` runs it and checks every case with the independent reader.
 */
#include <stdio.h>
#include <stdlib.h>

#include <tinynn.h>

#include "models.h"

#define ROWS 3

/* vocabulary: 0 for float inputs, else the ids' for a model of tokens. */
static int write_case(const char *dir, const char *name, tnn_model *m,
                      int ndim, const size_t *dims, size_t vocabulary)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    if (tnn_model_save_onnx(m, path) != TNN_OK)
        return -1;
    tnn_tensor *x = tnn_tensor_new(ndim, dims);
    size_t outputs = tnn_model_out_features(m);
    tnn_tensor *y = tnn_tensor_new_2d(ROWS, outputs);
    if (!x || !y)
        return -1;
    if (vocabulary)
        onnx_fill_ids(x, 3, vocabulary);
    else
        onnx_fill(x, 3, 0.0f);
    if (tnn_model_predict(m, x, y) != TNN_OK)
        return -1;
    snprintf(path, sizeof path, "%s/%s.txt", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "# libtinynn's outputs for model %s\ntransform none\n", name);
    fprintf(f, "input %d", ndim);
    for (int d = 0; d < ndim; d++)
        fprintf(f, " %zu", dims[d]);
    fprintf(f, "\n");
    for (size_t i = 0; i < tnn_tensor_size(x); i++)
        fprintf(f, "%.9g\n", (double)tnn_tensor_cdata(x)[i]);
    fprintf(f, "output 2 %d %zu\n", ROWS, outputs);
    for (size_t i = 0; i < tnn_tensor_size(y); i++)
        fprintf(f, "%.9g\n", (double)tnn_tensor_cdata(y)[i]);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    if (fclose(f) != 0)
        return -1;
    printf("%s\n", name);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: export_cases DIR\n");
        return 2;
    }
    const size_t image_dims[4] = {ROWS, 2, 9, 9};
    const size_t conv_dims[4] = {ROWS, 1, 7, 8};
    const size_t rows_dims[2] = {ROWS, 7};
    const size_t ln_image_dims[4] = {ROWS, 2, 5, 6};
    const size_t ids_dims[2] = {ROWS, ONNX_TOKENS_TIME};
    const size_t seq_dims[3] = {ROWS, ONNX_SEQ_TIME, ONNX_SEQ_FEATURES};
    tnn_model *image = onnx_every_kind_model(), *conv = onnx_conv_same_model(),
              *rows = onnx_rows_model(), *ln = onnx_layernorm_model(),
              *ln_image = onnx_layernorm_image_model(),
              *embedding = onnx_embedding_model(), *text = onnx_text_model();
    tnn_model *recurrent[4];
    for (int k = 0; k < 4; k++)
        recurrent[k] = onnx_recurrent_model(k / 2, k % 2);
    static const char *const recurrent_names[4] = {"lstm_last", "lstm_seq",
                                                   "gru_last", "gru_seq"};
    int rc =
        !image || !conv || !rows || !ln || !ln_image || !embedding || !text ||
        write_case(argv[1], "every_kind", image, 4, image_dims, 0) ||
        write_case(argv[1], "conv_same", conv, 4, conv_dims, 0) ||
        write_case(argv[1], "rows", rows, 2, rows_dims, 0) ||
        write_case(argv[1], "layernorm", ln, 2, rows_dims, 0) ||
        write_case(argv[1], "layernorm_image", ln_image, 4, ln_image_dims,
                   0) ||
        write_case(argv[1], "embedding", embedding, 2, ids_dims,
                   ONNX_TOKENS_VOCABULARY) ||
        write_case(argv[1], "text", text, 2, ids_dims, ONNX_TOKENS_VOCABULARY);
    for (int k = 0; k < 4 && !rc; k++)
        rc = !recurrent[k] || write_case(argv[1], recurrent_names[k],
                                         recurrent[k], 3, seq_dims, 0);
    if (rc)
        fprintf(stderr, "export_cases: %s\n", tnn_last_error());
    tnn_model_free(image);
    tnn_model_free(conv);
    tnn_model_free(rows);
    tnn_model_free(ln);
    tnn_model_free(ln_image);
    tnn_model_free(embedding);
    tnn_model_free(text);
    for (int k = 0; k < 4; k++)
        tnn_model_free(recurrent[k]);
    return rc ? 1 : 0;
}
