/*
 * The parts of the oneDNN backends that do not depend on the layer kind.
 */
#include "dnnl_base.h"
#include "internal.h"

#ifdef TNN_HAVE_DNNL

static dnnl_status_t attrs_init(struct tnn__dnnl_base *b)
{
    TNN__DNNL_TRY(dnnl_primitive_attr_create(&b->attr));
    TNN__DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(
        b->attr, dnnl_scratchpad_mode_user));
    TNN__DNNL_TRY(dnnl_primitive_attr_clone(&b->attr_add, b->attr));
    dnnl_post_ops_t ops;
    TNN__DNNL_TRY(dnnl_post_ops_create(&ops));
    dnnl_status_t status = dnnl_post_ops_append_sum(ops, 1.0f);
    if (status == dnnl_success)
        status = dnnl_primitive_attr_set_post_ops(b->attr_add, ops);
    dnnl_post_ops_destroy(ops);
    return status;
}

dnnl_status_t tnn__dnnl_base_init(struct tnn__dnnl_base *b)
{
    TNN__DNNL_TRY(dnnl_engine_create(&b->engine, dnnl_cpu, 0));
    TNN__DNNL_TRY(
        dnnl_stream_create(&b->stream, b->engine, dnnl_stream_default_flags));
    return attrs_init(b);
}

void tnn__dnnl_base_clear(struct tnn__dnnl_base *b)
{
    if (b->attr)
        dnnl_primitive_attr_destroy(b->attr);
    if (b->attr_add)
        dnnl_primitive_attr_destroy(b->attr_add);
    if (b->stream)
        dnnl_stream_destroy(b->stream);
    if (b->engine)
        dnnl_engine_destroy(b->engine);
    *b = (struct tnn__dnnl_base){0};
}

struct tnn__dnnl_caller tnn__dnnl_enter(int threads)
{
    struct tnn__dnnl_caller c = {omp_get_max_threads(), tnn__fp_save()};
    omp_set_num_threads(threads);
    return c;
}

void tnn__dnnl_leave(struct tnn__dnnl_caller c)
{
    omp_set_num_threads(c.omp_threads);
    tnn__fp_leave(c.fp);
}

bool tnn__dnnl_buffer_grow(struct tnn__dnnl_buffer *b, size_t size)
{
    if (size <= b->size)
        return true;
    void *data = tnn__calloc_lines(size, 1);
    if (!data)
        return false;
    tnn__free_lines(b->data);
    b->data = data;
    b->size = size;
    return true;
}

void tnn__dnnl_buffer_free(struct tnn__dnnl_buffer *b)
{
    tnn__free_lines(b->data);
    *b = (struct tnn__dnnl_buffer){0};
}

#else
/* ISO C wants something in every translation unit. */
typedef int tnn__no_dnnl_base;
#endif /* TNN_HAVE_DNNL */
