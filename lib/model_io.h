/*
 * The layout of model files (docs/format.md), shared by the writer
 * (model_io_write.c) and the reader (model_io_read.c). Nothing here knows
 * a layer kind: each kind writes and reads its own configuration words
 * through its operations.
 */
#ifndef TINYNN_MODEL_IO_H
#define TINYNN_MODEL_IO_H

#include "internal.h"

/* The newest format this library reads; it writes the oldest one that
 * can describe the model, so that older readers load what they could.
 * Format 5 (1.7) added the losses of 1.7 and the Huber delta, format 6
 * (1.8) the zero-padding layer, format 7 (1.9) layer normalisation and
 * GELU, format 8 (1.10) sequence input shapes and the LSTM. */
#define TNN__FORMAT_VERSION 9
/* The losses that formats 1 to 4 know: MSE and cross-entropy. */
#define TNN__LAST_LOSS_BEFORE_5 1
#define TNN__HEADER_SIZE 24
#define TNN__SECTION_HEAD 16
#define TNN__TRAILER_SIZE 16

extern const uint8_t tnn__file_magic[8];
extern const uint8_t tnn__trailer_tag[4];

#define TNN__TAG(a, b, c, d)                                                  \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 |               \
     (uint32_t)(d) << 24)
#define TNN__TAG_MODEL TNN__TAG('M', 'O', 'D', 'L')
#define TNN__TAG_LAYERS TNN__TAG('L', 'A', 'Y', 'R')
#define TNN__TAG_OPTIM TNN__TAG('O', 'P', 'T', 'M')
#define TNN__TAG_TENSORS TNN__TAG('T', 'D', 'I', 'R')
#define TNN__TAG_DATA TNN__TAG('D', 'A', 'T', 'A')

enum { TNN__FLAG_OPTIMIZER = 1 };
enum { TNN__DTYPE_F32 = 1 };

/* Bounds that keep hostile files cheap to reject. */
#define TNN__MAX_LAYERS 4096
#define TNN__MAX_NAME 64

/* The whole file of a model in w->data (from tnn__malloc): for saving and
 * for tnn_model_clone(). flags as tnn_model_save(). */
int tnn__model_serialize(const char *func, const tnn_model *m, int flags,
                         struct tnn__writer *w);

/* The model in the size bytes at data, checked throughout. */
int tnn__model_deserialize(const char *func, const void *data, size_t size,
                           tnn_model **out);

#endif /* TINYNN_MODEL_IO_H */
