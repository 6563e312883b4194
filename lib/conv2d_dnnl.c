/*
 * conv2d's convolutions through oneDNN (built with TNN_HAVE_DNNL).
 *
 * oneDNN picks the memory layouts its kernels run fastest in (format
 * "any": channels in blocks of 16 on AVX-512); reorders move the data
 * between them and the library's NCHW images and OIHW weights at each
 * call (the weights change at every step). Everything a batch size needs
 * is made once and kept in a slot: the three convolutions (forward with
 * bias, weight and bias gradient, input gradient), the reorders, and
 * memory objects over buffers from the library's allocator, the
 * scratchpad included (user-managed). A few batch sizes stay ready at once
 * (the training batch, the last partial batch, a prediction chunk), so
 * that training and evaluating allocate nothing once every size has been
 * seen. oneDNN allocates its primitive descriptors and primitives itself.
 *
 * Debian's oneDNN threads with OpenMP: oneDNN reads the calling thread's
 * OpenMP thread count when it makes a primitive (some size their
 * scratchpad by it) and when it runs one. The library sets it to
 * tnn_get_num_threads() around both and gives the caller's back; a slot
 * made for another thread count is made again.
 */
#include "conv2d_dnnl.h"
#include "dnnl_base.h"
#include "internal.h"

#ifdef TNN_HAVE_DNNL

#include <stdint.h>
#include <string.h>

/* Batch sizes kept ready at once. */
#define SLOTS 3

/* Buffers of ours, in the primitives' layouts; one slot runs at a time, so
 * the slots share them. */
enum role {
    BUF_SRC,
    BUF_WEI,
    BUF_DST,
    BUF_BSRC, /* the weight gradient's input if not in BUF_SRC's layout */
    BUF_DDST,
    BUF_DWEI,
    BUF_DBIAS,
    BUF_BWEI, /* the input gradient's weights */
    BUF_BDDST,
    BUF_DSRC,
    BUF_SCRATCH,
    BUFFERS
};

/* A primitive and its scratchpad (NULL if it needs none); a serial one is
 * made and run on the calling thread alone. */
struct step {
    dnnl_primitive_t prim;
    dnnl_memory_t scratch;
    bool serial;
};

/* One tensor argument: the library's layout over the caller's buffer and,
 * when the primitive wants another, that layout over a buffer of ours with
 * the reorder between them (into it for inputs, out of it for outputs). */
struct operand {
    dnnl_memory_t user;
    dnnl_memory_t own;
    enum role role;
    struct step reorder;
};

struct slot {
    size_t n; /* images; 0 for an empty slot */
    int threads;
    unsigned long used;
    struct step fwd, bwd_w, bwd_d;
    struct operand src, wei, bias, dst;     /* forward */
    struct operand bsrc, ddst, dwei, dbias; /* weight and bias gradient */
    struct operand bwei, bddst, dsrc;       /* input gradient */
    /* The gradients read their input and output gradient in the layout
     * the forward and the weight gradient already made: no second
     * reorder. */
    bool src_shared, ddst_shared;
    /* Channels per block when the forward's output and both gradients'
     * output gradient share a channel-blocked layout of whole blocks,
     * which a model's ReLU and pooling pass can read and write in place
     * of NCHW (tnn__dnnl_conv_forward_blocked); 0 otherwise. */
    size_t block;
};

struct tnn__dnnl_conv {
    struct tnn__conv_shape shape;
    struct tnn__dnnl_base base;
    struct tnn__dnnl_buffer buf[BUFFERS];
    size_t need[BUFFERS]; /* what the slot being made asks for */
    struct slot slot[SLOTS];
    unsigned long clock;
    int threads; /* of the call under way */
    /* The slot whose last forward left its input reordered in
     * buf[BUF_SRC], for the weight gradient that follows; NULL if none. */
    const struct slot *src_kept;
    /* The slot whose last forward left its output in buf[BUF_DST] alone,
     * channel-blocked; NULL if none. */
    const struct slot *dst_kept;
};

/* ---- the thread count ----------------------------------------------- */

static struct tnn__dnnl_caller enter(struct tnn__dnnl_conv *d, int threads)
{
    d->threads = threads;
    return tnn__dnnl_enter(threads);
}

/* ---- making a slot -------------------------------------------------------
 */

static void need(struct tnn__dnnl_conv *d, enum role role, size_t size)
{
    if (size > d->need[role])
        d->need[role] = size;
}

static dnnl_status_t step_init(struct tnn__dnnl_conv *d, struct step *s,
                               const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *md =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t size = md ? dnnl_memory_desc_get_size(md) : 0;
    if (size > 0) {
        TNN__DNNL_TRY(dnnl_memory_create(&s->scratch, md, d->base.engine,
                                         DNNL_MEMORY_NONE));
        need(d, BUF_SCRATCH, size);
    }
    return dnnl_primitive_create(&s->prim, pd);
}

/* The weights' reorders move a few thousand values: a parallel region
 * would cost more than the copy (far more when the other threads wait
 * for a core), so they run serially. */
static bool serial(enum role role)
{
    return role == BUF_WEI || role == BUF_DWEI || role == BUF_BWEI;
}

static dnnl_status_t reorder_init(struct tnn__dnnl_conv *d, struct step *s,
                                  const dnnl_memory_desc_t *from,
                                  const dnnl_memory_desc_t *to,
                                  const_dnnl_primitive_attr_t attr,
                                  enum role role)
{
    dnnl_primitive_desc_t pd;
    s->serial = serial(role);
    if (s->serial)
        omp_set_num_threads(1);
    dnnl_status_t status = dnnl_reorder_primitive_desc_create(
        &pd, from, d->base.engine, to, d->base.engine, attr);
    if (status == dnnl_success) {
        status = step_init(d, s, pd);
        dnnl_primitive_desc_destroy(pd);
    }
    omp_set_num_threads(d->threads);
    return status;
}

/* op over the caller's layout user for a primitive that wants want; a
 * buffer of ours in role when they differ, or always when own is set. */
static dnnl_status_t operand_init(struct tnn__dnnl_conv *d, struct operand *op,
                                  const dnnl_memory_desc_t *user,
                                  const dnnl_memory_desc_t *want,
                                  enum role role, bool input, bool own)
{
    TNN__DNNL_TRY(
        dnnl_memory_create(&op->user, user, d->base.engine, DNNL_MEMORY_NONE));
    if (!own && dnnl_memory_desc_equal(user, want))
        return dnnl_success;
    op->role = role;
    TNN__DNNL_TRY(
        dnnl_memory_create(&op->own, want, d->base.engine, DNNL_MEMORY_NONE));
    need(d, role, dnnl_memory_desc_get_size(want));
    /* An output of ours is added to the caller's when own is set (the
     * weight gradient, accumulated). */
    return input
               ? reorder_init(d, &op->reorder, user, want, d->base.attr, role)
               : reorder_init(d, &op->reorder, want, user,
                              own ? d->base.attr_add : d->base.attr, role);
}

static const dnnl_memory_desc_t *md_of(const_dnnl_primitive_desc_t pd,
                                       dnnl_query_t what, int index)
{
    return dnnl_primitive_desc_query_md(pd, what, index);
}

static const dnnl_memory_desc_t *operand_md(const struct operand *op)
{
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(op->own ? op->own : op->user, &md);
    return md;
}

/* The library's layouts of n images, and the same shapes in any layout
 * for the primitives to choose. */
struct layouts {
    dnnl_memory_desc_t src, wei, bias, dst;
    dnnl_memory_desc_t src_any, wei_any, dst_any;
};

static dnnl_status_t layouts_init(const struct tnn__conv_shape *s, size_t n,
                                  struct layouts *l)
{
    dnnl_dims_t src = {(dnnl_dim_t)n, (dnnl_dim_t)s->in_ch, (dnnl_dim_t)s->h,
                       (dnnl_dim_t)s->w};
    dnnl_dims_t wei = {(dnnl_dim_t)s->out_ch, (dnnl_dim_t)s->in_ch,
                       (dnnl_dim_t)s->kh, (dnnl_dim_t)s->kw};
    dnnl_dims_t bias = {(dnnl_dim_t)s->out_ch};
    dnnl_dims_t dst = {(dnnl_dim_t)n, (dnnl_dim_t)s->out_ch, (dnnl_dim_t)s->oh,
                       (dnnl_dim_t)s->ow};
    TNN__DNNL_TRY(
        dnnl_memory_desc_init_by_tag(&l->src, 4, src, dnnl_f32, dnnl_nchw));
    TNN__DNNL_TRY(
        dnnl_memory_desc_init_by_tag(&l->wei, 4, wei, dnnl_f32, dnnl_oihw));
    TNN__DNNL_TRY(
        dnnl_memory_desc_init_by_tag(&l->bias, 1, bias, dnnl_f32, dnnl_a));
    TNN__DNNL_TRY(
        dnnl_memory_desc_init_by_tag(&l->dst, 4, dst, dnnl_f32, dnnl_nchw));
    TNN__DNNL_TRY(dnnl_memory_desc_init_by_tag(&l->src_any, 4, src, dnnl_f32,
                                               dnnl_format_tag_any));
    TNN__DNNL_TRY(dnnl_memory_desc_init_by_tag(&l->wei_any, 4, wei, dnnl_f32,
                                               dnnl_format_tag_any));
    return dnnl_memory_desc_init_by_tag(&l->dst_any, 4, dst, dnnl_f32,
                                        dnnl_format_tag_any);
}

/* The padding after the last row (or column) that makes out rows from in
 * with the padding before: negative when the last stride leaves input
 * rows unread (oneDNN accepts down to 1 - stride). */
static dnnl_dim_t pad_after(size_t in, size_t k, size_t stride, size_t out,
                            size_t before)
{
    return (dnnl_dim_t)((out - 1) * stride + k) - (dnnl_dim_t)(in + before);
}

/* Forward, weight gradient, input gradient; the gradients take the
 * forward as their hint, as oneDNN asks. */
static dnnl_status_t conv_pds(const struct tnn__dnnl_conv *d,
                              const struct layouts *l,
                              dnnl_primitive_desc_t pd[3])
{
    const struct tnn__conv_shape *s = &d->shape;
    dnnl_dims_t strides = {(dnnl_dim_t)s->stride, (dnnl_dim_t)s->stride};
    dnnl_dims_t before = {(dnnl_dim_t)s->pad_top, (dnnl_dim_t)s->pad_left};
    dnnl_dims_t after = {
        pad_after(s->h, s->kh, s->stride, s->oh, s->pad_top),
        pad_after(s->w, s->kw, s->stride, s->ow, s->pad_left)};
    dnnl_convolution_desc_t cd;
    TNN__DNNL_TRY(dnnl_convolution_forward_desc_init(
        &cd, dnnl_forward_training, dnnl_convolution_direct, &l->src_any,
        &l->wei_any, &l->bias, &l->dst_any, strides, before, after));
    TNN__DNNL_TRY(dnnl_primitive_desc_create(&pd[0], &cd, d->base.attr,
                                             d->base.engine, NULL));
    TNN__DNNL_TRY(dnnl_convolution_backward_weights_desc_init(
        &cd, dnnl_convolution_direct, &l->src_any, &l->wei_any, &l->bias,
        &l->dst_any, strides, before, after));
    TNN__DNNL_TRY(dnnl_primitive_desc_create(&pd[1], &cd, d->base.attr,
                                             d->base.engine, pd[0]));
    TNN__DNNL_TRY(dnnl_convolution_backward_data_desc_init(
        &cd, dnnl_convolution_direct, &l->src_any, &l->wei_any, &l->dst_any,
        strides, before, after));
    return dnnl_primitive_desc_create(&pd[2], &cd, d->base.attr,
                                      d->base.engine, pd[0]);
}

static dnnl_status_t forward_init(struct tnn__dnnl_conv *d, struct slot *s,
                                  const_dnnl_primitive_desc_t pd,
                                  const struct layouts *l)
{
    TNN__DNNL_TRY(step_init(d, &s->fwd, pd));
    TNN__DNNL_TRY(operand_init(d, &s->src, &l->src,
                               md_of(pd, dnnl_query_src_md, 0), BUF_SRC, true,
                               false));
    TNN__DNNL_TRY(operand_init(d, &s->wei, &l->wei,
                               md_of(pd, dnnl_query_weights_md, 0), BUF_WEI,
                               true, false));
    TNN__DNNL_TRY(dnnl_memory_create(&s->bias.user, &l->bias, d->base.engine,
                                     DNNL_MEMORY_NONE));
    return operand_init(d, &s->dst, &l->dst, md_of(pd, dnnl_query_dst_md, 0),
                        BUF_DST, false, false);
}

static dnnl_status_t weights_grad_init(struct tnn__dnnl_conv *d,
                                       struct slot *s,
                                       const_dnnl_primitive_desc_t pd,
                                       const struct layouts *l)
{
    TNN__DNNL_TRY(step_init(d, &s->bwd_w, pd));
    const dnnl_memory_desc_t *src = md_of(pd, dnnl_query_src_md, 0);
    s->src_shared = dnnl_memory_desc_equal(src, operand_md(&s->src));
    if (!s->src_shared)
        TNN__DNNL_TRY(
            operand_init(d, &s->bsrc, &l->src, src, BUF_BSRC, true, false));
    TNN__DNNL_TRY(operand_init(d, &s->ddst, &l->dst,
                               md_of(pd, dnnl_query_diff_dst_md, 0), BUF_DDST,
                               true, false));
    /* Always into a buffer of ours, then added to (or copied over) the
     * caller's gradient. */
    TNN__DNNL_TRY(operand_init(d, &s->dwei, &l->wei,
                               md_of(pd, dnnl_query_diff_weights_md, 0),
                               BUF_DWEI, false, true));
    const dnnl_memory_desc_t *bias = md_of(pd, dnnl_query_diff_weights_md, 1);
    s->dbias.role = BUF_DBIAS;
    need(d, BUF_DBIAS, dnnl_memory_desc_get_size(bias));
    return dnnl_memory_create(&s->dbias.own, bias, d->base.engine,
                              DNNL_MEMORY_NONE);
}

static dnnl_status_t data_grad_init(struct tnn__dnnl_conv *d, struct slot *s,
                                    const_dnnl_primitive_desc_t pd,
                                    const struct layouts *l)
{
    TNN__DNNL_TRY(step_init(d, &s->bwd_d, pd));
    TNN__DNNL_TRY(operand_init(d, &s->bwei, &l->wei,
                               md_of(pd, dnnl_query_weights_md, 0), BUF_BWEI,
                               true, false));
    const dnnl_memory_desc_t *ddst = md_of(pd, dnnl_query_diff_dst_md, 0);
    s->ddst_shared = dnnl_memory_desc_equal(ddst, operand_md(&s->ddst));
    if (!s->ddst_shared)
        TNN__DNNL_TRY(
            operand_init(d, &s->bddst, &l->dst, ddst, BUF_BDDST, true, false));
    return operand_init(d, &s->dsrc, &l->src,
                        md_of(pd, dnnl_query_diff_src_md, 0), BUF_DSRC, false,
                        false);
}

/* Whether md is oneDNN's layout of n x channels x h x w values with the
 * channels in blocks of `block` (aBcd16b, aBcd8b). */
static bool blocked_as(const dnnl_memory_desc_t *md, size_t n, size_t channels,
                       size_t h, size_t w, dnnl_format_tag_t tag)
{
    dnnl_dims_t dims = {(dnnl_dim_t)n, (dnnl_dim_t)channels, (dnnl_dim_t)h,
                        (dnnl_dim_t)w};
    dnnl_memory_desc_t blocked;
    return dnnl_memory_desc_init_by_tag(&blocked, 4, dims, dnnl_f32, tag) ==
               dnnl_success &&
           dnnl_memory_desc_equal(md, &blocked);
}

/* slot->block (above): the forward's output and the weight gradient's
 * output gradient in buffers of ours of one blocked layout, which the
 * input gradient reads too, and the channels whole blocks of it, so that
 * no padding lanes need keeping at zero. */
static size_t channel_block(const struct tnn__dnnl_conv *d,
                            const struct slot *s, size_t n)
{
    static const struct {
        dnnl_format_tag_t tag;
        size_t block;
    } layouts[] = {{dnnl_aBcd16b, 16}, {dnnl_aBcd8b, 8}};
    const struct tnn__conv_shape *sh = &d->shape;
    if (!s->dst.own || !s->ddst.own || !s->ddst_shared ||
        !dnnl_memory_desc_equal(operand_md(&s->dst), operand_md(&s->ddst)))
        return 0;
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++)
        if (sh->out_ch % layouts[i].block == 0 &&
            blocked_as(operand_md(&s->dst), n, sh->out_ch, sh->oh, sh->ow,
                       layouts[i].tag))
            return layouts[i].block;
    return 0;
}

static dnnl_status_t slot_init(struct tnn__dnnl_conv *d, struct slot *s,
                               size_t n)
{
    struct layouts l;
    TNN__DNNL_TRY(layouts_init(&d->shape, n, &l));
    dnnl_primitive_desc_t pd[3] = {NULL, NULL, NULL};
    dnnl_status_t status = conv_pds(d, &l, pd);
    if (status == dnnl_success)
        status = forward_init(d, s, pd[0], &l);
    if (status == dnnl_success)
        status = weights_grad_init(d, s, pd[1], &l);
    if (status == dnnl_success)
        status = data_grad_init(d, s, pd[2], &l);
    if (status == dnnl_success)
        s->block = channel_block(d, s, n);
    for (int i = 0; i < 3; i++)
        if (pd[i])
            dnnl_primitive_desc_destroy(pd[i]);
    return status;
}

/* ---- buffers -------------------------------------------------------------
 */

static void bind(struct tnn__dnnl_conv *d, dnnl_memory_t mem, enum role role)
{
    if (mem)
        dnnl_memory_set_data_handle(mem, d->buf[role].data);
}

static void bind_operand(struct tnn__dnnl_conv *d, const struct operand *op)
{
    bind(d, op->own, op->role);
    bind(d, op->reorder.scratch, BUF_SCRATCH);
}

/* Point a slot's memory objects at the buffers of their roles. */
static void bind_slot(struct tnn__dnnl_conv *d, const struct slot *s)
{
    const struct operand *ops[] = {&s->src,   &s->wei,  &s->dst,   &s->bsrc,
                                   &s->ddst,  &s->dwei, &s->dbias, &s->bwei,
                                   &s->bddst, &s->dsrc};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        bind_operand(d, ops[i]);
    bind(d, s->fwd.scratch, BUF_SCRATCH);
    bind(d, s->bwd_w.scratch, BUF_SCRATCH);
    bind(d, s->bwd_d.scratch, BUF_SCRATCH);
}

/* Make every buffer as large as the slot being made needs; the slots
 * then point at the new ones. False if an allocation failed. */
static bool grow_buffers(struct tnn__dnnl_conv *d)
{
    bool ok = true, grown = false;
    for (int r = 0; ok && r < BUFFERS; r++) {
        bool grows = d->need[r] > d->buf[r].size;
        ok = tnn__dnnl_buffer_grow(&d->buf[r], d->need[r]);
        grown |= ok && grows;
    }
    if (grown)
        d->src_kept = d->dst_kept = NULL;
    for (int i = 0; i < SLOTS; i++)
        if (d->slot[i].n)
            bind_slot(d, &d->slot[i]);
    return ok;
}

/* ---- slots ---------------------------------------------------------------
 */

static void step_clear(struct step *s)
{
    if (s->prim)
        dnnl_primitive_destroy(s->prim);
    if (s->scratch)
        dnnl_memory_destroy(s->scratch);
}

static void operand_clear(struct operand *op)
{
    if (op->user)
        dnnl_memory_destroy(op->user);
    if (op->own)
        dnnl_memory_destroy(op->own);
    step_clear(&op->reorder);
}

static void slot_clear(struct tnn__dnnl_conv *d, struct slot *s)
{
    struct operand *ops[] = {&s->src,  &s->wei,   &s->bias, &s->dst,
                             &s->bsrc, &s->ddst,  &s->dwei, &s->dbias,
                             &s->bwei, &s->bddst, &s->dsrc};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        operand_clear(ops[i]);
    step_clear(&s->fwd);
    step_clear(&s->bwd_w);
    step_clear(&s->bwd_d);
    if (d->src_kept == s)
        d->src_kept = NULL;
    if (d->dst_kept == s)
        d->dst_kept = NULL;
    *s = (struct slot){0};
}

/* The slot for n images at this thread count, made in place of the least
 * recently used one if there is none. NULL on failure, with *rc TNN_E_NOMEM
 * or TNN__DNNL_UNSUPPORTED. Runs with the thread count set. */
static struct slot *slot_for(struct tnn__dnnl_conv *d, size_t n, int threads,
                             int *rc)
{
    struct slot *s = &d->slot[0];
    *rc = TNN_OK;
    for (int i = 0; i < SLOTS; i++) {
        struct slot *t = &d->slot[i];
        if (t->n == n && t->threads == threads) {
            t->used = ++d->clock;
            return t;
        }
        if (t->used < s->used)
            s = t;
    }
    slot_clear(d, s);
    memset(d->need, 0, sizeof d->need);
    *rc = slot_init(d, s, n) == dnnl_success ? TNN_OK : TNN__DNNL_UNSUPPORTED;
    if (*rc == TNN_OK) {
        s->n = n;
        s->threads = threads;
        s->used = ++d->clock;
        if (!grow_buffers(d))
            *rc = TNN_E_NOMEM;
    }
    if (*rc != TNN_OK) {
        slot_clear(d, s);
        return NULL;
    }
    return s;
}

/* ---- running ---------------------------------------------------------------
 */

static dnnl_memory_t mem(const struct operand *op)
{
    return op->own ? op->own : op->user;
}

/* args has room for one more: the scratchpad. */
static bool run(struct tnn__dnnl_conv *d, const struct step *s, int nargs,
                dnnl_exec_arg_t *args)
{
    if (s->scratch)
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    if (s->serial)
        omp_set_num_threads(1);
    dnnl_status_t status =
        dnnl_primitive_execute(s->prim, d->base.stream, nargs, args);
    if (s->serial)
        omp_set_num_threads(d->threads);
    return status == dnnl_success;
}

static bool reorder(struct tnn__dnnl_conv *d, const struct step *s,
                    dnnl_memory_t from, dnnl_memory_t to)
{
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return run(d, s, 2, args);
}

static bool into_own(struct tnn__dnnl_conv *d, const struct operand *op)
{
    return !op->own || reorder(d, &op->reorder, op->user, op->own);
}

static bool out_of_own(struct tnn__dnnl_conv *d, const struct operand *op)
{
    return !op->own || reorder(d, &op->reorder, op->own, op->user);
}

/* The caller's buffer for this call. oneDNN only reads the inputs, though
 * its interface takes every handle as writable. */
static void use(const struct operand *op, const float *data)
{
    dnnl_memory_set_data_handle(op->user, (void *)(uintptr_t)data);
}

/* The forward into out (NCHW), or, when out is NULL, left blocked in
 * buf[BUF_DST] if the slot's layout is (slot->block). */
static bool forward(struct tnn__dnnl_conv *d, const float *in, const float *w,
                    const float *b, float *out, size_t n)
{
    int threads = tnn_get_num_threads(), rc;
    struct tnn__dnnl_caller caller = enter(d, threads);
    struct slot *s = slot_for(d, n, threads, &rc);
    bool ok = s != NULL && (out || s->block);
    if (ok) {
        use(&s->src, in);
        use(&s->wei, w);
        use(&s->bias, b);
        if (out)
            use(&s->dst, out);
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, mem(&s->src)},
                                   {DNNL_ARG_WEIGHTS, mem(&s->wei)},
                                   {DNNL_ARG_BIAS, s->bias.user},
                                   {DNNL_ARG_DST, mem(&s->dst)}};
        ok = into_own(d, &s->src) && into_own(d, &s->wei) &&
             run(d, &s->fwd, 4, args) && (!out || out_of_own(d, &s->dst)) &&
             dnnl_stream_wait(d->base.stream) == dnnl_success;
    }
    d->src_kept = ok ? s : NULL;
    d->dst_kept = ok && !out ? s : NULL;
    tnn__dnnl_leave(caller);
    return ok;
}

bool tnn__dnnl_conv_forward(struct tnn__dnnl_conv *d, const float *in,
                            const float *w, const float *b, float *out,
                            size_t n)
{
    return forward(d, in, w, b, out, n);
}

/* The slot already made for n images at this thread count, untouched;
 * NULL if there is none. */
static const struct slot *slot_made(const struct tnn__dnnl_conv *d, size_t n,
                                    int threads)
{
    for (int i = 0; i < SLOTS; i++)
        if (d->slot[i].n == n && d->slot[i].threads == threads)
            return &d->slot[i];
    return NULL;
}

bool tnn__dnnl_conv_forward_blocked(struct tnn__dnnl_conv *d, const float *in,
                                    const float *w, const float *b, size_t n,
                                    struct tnn__blocked *out)
{
    /* A layout that is not blocked stays so: no need to enter oneDNN's
     * thread count for that answer at every step. */
    const struct slot *made = slot_made(d, n, tnn_get_num_threads());
    if ((made && !made->block) || !forward(d, in, w, b, NULL, n))
        return false;
    out->values = d->buf[BUF_DST].data;
    out->grad = d->buf[BUF_DDST].data;
    out->block = d->dst_kept->block;
    return true;
}

/* Written out rather than a oneDNN reorder: this runs because oneDNN has
 * just failed, and asks nothing more of it. */
void tnn__dnnl_conv_unblock_grad(const struct tnn__dnnl_conv *d, size_t n,
                                 const struct tnn__blocked *out, float *dout)
{
    const struct tnn__conv_shape *sh = &d->shape;
    const float *from = out->grad;
    const size_t plane = sh->oh * sh->ow, block = out->block;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < sh->out_ch; c++)
            for (size_t p = 0; p < plane; p++)
                dout[(i * sh->out_ch + c) * plane + p] =
                    from[((i * sh->out_ch + c - c % block) * plane +
                          p * block) +
                         c % block];
}

/* The weight and bias gradients into buffers of ours. */
static bool weights_grad(struct tnn__dnnl_conv *d, const struct slot *s,
                         bool ddst_ready)
{
    const struct operand *src = s->src_shared ? &s->src : &s->bsrc;
    bool kept = s->src_shared && d->src_kept == s;
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, mem(src)},
                               {DNNL_ARG_DIFF_DST, mem(&s->ddst)},
                               {DNNL_ARG_DIFF_WEIGHTS, s->dwei.own},
                               {DNNL_ARG_DIFF_BIAS, s->dbias.own}};
    return (kept || into_own(d, src)) &&
           (ddst_ready || into_own(d, &s->ddst)) && run(d, &s->bwd_w, 4, args);
}

static bool data_grad(struct tnn__dnnl_conv *d, const struct slot *s)
{
    const struct operand *ddst = s->ddst_shared ? &s->ddst : &s->bddst;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_DIFF_DST, mem(ddst)},
                               {DNNL_ARG_WEIGHTS, mem(&s->bwei)},
                               {DNNL_ARG_DIFF_SRC, mem(&s->dsrc)}};
    return (s->ddst_shared || into_own(d, ddst)) && into_own(d, &s->bwei) &&
           run(d, &s->bwd_d, 3, args);
}

/* Into the caller's gradients: the weights' reorder adds to what it finds,
 * so it finds zeros unless accumulating. */
static bool write_grads(struct tnn__dnnl_conv *d, const struct slot *s,
                        float *dw, float *db, bool din, bool accumulate)
{
    const struct tnn__conv_shape *sh = &d->shape;
    if (!accumulate)
        memset(dw, 0, sh->out_ch * sh->in_ch * sh->kh * sh->kw * sizeof *dw);
    const float *g = d->buf[BUF_DBIAS].data;
    for (size_t oc = 0; oc < sh->out_ch; oc++)
        db[oc] = accumulate ? db[oc] + g[oc] : g[oc];
    return out_of_own(d, &s->dwei) && (!din || out_of_own(d, &s->dsrc)) &&
           dnnl_stream_wait(d->base.stream) == dnnl_success;
}

/* The gradients from dout (NCHW), or, when it is NULL, from the blocked
 * gradient already in buf[BUF_DDST] (tnn__dnnl_conv_forward_blocked). */
static bool backward(struct tnn__dnnl_conv *d, const float *in, const float *w,
                     const float *dout, float *dw, float *db, float *din,
                     size_t n, bool accumulate)
{
    /* The blocked gradient is in the buffers of the forward's slot: that
     * slot, at its own thread count, and no other that could move them. */
    const struct slot *kept = dout ? NULL : d->dst_kept;
    if (!dout && (!kept || kept->n != n))
        return false;
    int threads = kept ? kept->threads : tnn_get_num_threads(), rc;
    struct tnn__dnnl_caller caller = enter(d, threads);
    struct slot *s = slot_for(d, n, threads, &rc);
    bool ok = s != NULL && (dout || s == kept);
    if (ok) {
        use(s->src_shared ? &s->src : &s->bsrc, in);
        if (dout)
            use(&s->ddst, dout);
        use(&s->dwei, dw);
        ok = weights_grad(d, s, dout == NULL);
    }
    if (ok && din) {
        use(&s->bwei, w);
        if (dout)
            use(s->ddst_shared ? &s->ddst : &s->bddst, dout);
        use(&s->dsrc, din);
        ok = data_grad(d, s);
    }
    /* Nothing of the caller's is written until the products are done, so
     * that a failure leaves the fallback a clean slate. */
    ok = ok && dnnl_stream_wait(d->base.stream) == dnnl_success &&
         write_grads(d, s, dw, db, din != NULL, accumulate);
    tnn__dnnl_leave(caller);
    return ok;
}

bool tnn__dnnl_conv_backward(struct tnn__dnnl_conv *d, const float *in,
                             const float *w, const float *dout, float *dw,
                             float *db, float *din, size_t n, bool accumulate)
{
    return backward(d, in, w, dout, dw, db, din, n, accumulate);
}

bool tnn__dnnl_conv_backward_blocked(struct tnn__dnnl_conv *d, const float *in,
                                     const float *w, float *dw, float *db,
                                     float *din, size_t n, bool accumulate)
{
    return backward(d, in, w, NULL, dw, db, din, n, accumulate);
}

/* ---- life cycle ----------------------------------------------------------
 */

void tnn__dnnl_conv_free(struct tnn__dnnl_conv *d)
{
    if (!d)
        return;
    for (int i = 0; i < SLOTS; i++)
        slot_clear(d, &d->slot[i]);
    for (int r = 0; r < BUFFERS; r++)
        tnn__dnnl_buffer_free(&d->buf[r]);
    tnn__dnnl_base_clear(&d->base);
    tnn__free(d);
}

int tnn__dnnl_conv_reserve(struct tnn__dnnl_conv **conv, const char *func,
                           const struct tnn__conv_shape *shape, size_t n)
{
    struct tnn__dnnl_conv *d = *conv;
    if (!d) {
        d = tnn__calloc(1, sizeof *d);
        if (!d)
            return tnn__fail(TNN_E_NOMEM, func,
                             "cannot allocate a oneDNN convolution");
        d->shape = *shape;
        if (tnn__dnnl_base_init(&d->base) != dnnl_success) {
            tnn__dnnl_conv_free(d);
            return TNN__DNNL_UNSUPPORTED;
        }
    }
    int threads = tnn_get_num_threads(), rc = TNN_OK;
    struct tnn__dnnl_caller caller = enter(d, threads);
    slot_for(d, n, threads, &rc);
    tnn__dnnl_leave(caller);
    if (rc != TNN_OK && d != *conv)
        tnn__dnnl_conv_free(d);
    else
        *conv = d;
    if (rc == TNN_E_NOMEM)
        return tnn__fail(TNN_E_NOMEM, func,
                         "cannot allocate oneDNN convolution buffers for "
                         "%zu images",
                         n);
    return rc;
}

#else
/* ISO C wants something in every translation unit. */
typedef int tnn__no_dnnl;
#endif /* TNN_HAVE_DNNL */
