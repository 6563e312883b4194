/*
 * What conv2d_dnnl.c and dense_dnnl.c share (dnnl_base.c, built with
 * TNN_HAVE_DNNL): an engine, a stream and the attributes of their
 * primitives, the calling thread's OpenMP thread count and floating-point
 * mode set for a oneDNN call and given back, and aligned buffers from the
 * library's allocator. Nothing here is part of the public API or ABI.
 */
#ifndef TINYNN_DNNL_BASE_H
#define TINYNN_DNNL_BASE_H

#ifdef TNN_HAVE_DNNL

#include <stdbool.h>
#include <stddef.h>

#include <dnnl.h>

/* The calling thread's OpenMP thread count (its nthreads ICV), from
 * libgomp. Declared here: <omp.h> comes with GCC but not with every
 * compiler when OpenMP is not enabled, and the library needs only these. */
int omp_get_max_threads(void);
void omp_set_num_threads(int n);

/* Return the status of a oneDNN call from the calling function unless it
 * succeeded. */
#define TNN__DNNL_TRY(call)                                                   \
    do {                                                                      \
        dnnl_status_t status_ = (call);                                       \
        if (status_ != dnnl_success)                                          \
            return status_;                                                   \
    } while (0)

/* An engine and a stream, and the attributes every primitive is made with:
 * a user-managed scratchpad (attr), and the same with the output added to
 * rather than overwritten (attr_add). */
struct tnn__dnnl_base {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_attr_t attr;
    dnnl_primitive_attr_t attr_add;
};

/* Make them all; on failure, whatever was made stays for
 * tnn__dnnl_base_clear(). */
dnnl_status_t tnn__dnnl_base_init(struct tnn__dnnl_base *base);

/* Destroy what was made; a zeroed base does nothing. */
void tnn__dnnl_base_clear(struct tnn__dnnl_base *base);

/* What a oneDNN call changes on the calling thread, to give back. */
struct tnn__dnnl_caller {
    int omp_threads;
    unsigned fp;
};

/* Set the calling thread's OpenMP thread count to threads: oneDNN reads it
 * when it makes a primitive (some size their scratchpad by it) and when it
 * runs one. */
struct tnn__dnnl_caller tnn__dnnl_enter(int threads);

/* Give back the caller's thread count and floating-point mode (oneDNN's
 * kernels may change the mode, MXCSR, of the threads they run on). */
void tnn__dnnl_leave(struct tnn__dnnl_caller caller);

/* A buffer aligned to a cache line (64 bytes, tnn__calloc_lines()), as
 * oneDNN aligns the buffers it allocates itself: its kernels' vector
 * loads then never straddle two lines. */
struct tnn__dnnl_buffer {
    void *data;
    size_t size;
};

/* Make b hold at least size bytes (its contents are not kept). False,
 * with b unchanged, if the allocation failed. */
bool tnn__dnnl_buffer_grow(struct tnn__dnnl_buffer *b, size_t size);

void tnn__dnnl_buffer_free(struct tnn__dnnl_buffer *b);

#endif /* TNN_HAVE_DNNL */

#endif /* TINYNN_DNNL_BASE_H */
