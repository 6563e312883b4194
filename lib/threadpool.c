/*
 * The library's own threads, for the passes that touch every parameter at
 * every step (the optimizer update) and the loops over whole activations
 * (ReLU, pooling). While the main thread runs them alone, the other cores
 * only wait for the next matrix product; splitting the passes by index
 * ranges keeps the results bit-identical for any number of threads.
 *
 * Two runtimes. Built with OpenMP (TNN_POOL_OPENMP), the passes run on
 * the OpenMP runtime's threads, which oneDNN and OpenBLAS's OpenMP build
 * use too, so that one set of threads serves products and loops alike.
 * But when the products run on an OpenBLAS with threads of its own (the
 * pthreads build, which a program may load before the library, with
 * oneDNN not built in or turned off by TNN_BACKEND=blas), both sets of
 * threads would spin on the same cores, each waiting for the other (the
 * MNIST MLP took 3 to 10 s per epoch that way against 0.7 to 0.9 s): then,
 * as in builds without OpenMP (ThreadSanitizer, which cannot see OpenMP's
 * synchronisation), the passes run on a pool of POSIX threads that sleep
 * between steps.
 */
#include <pthread.h>

#include "internal.h"

#ifdef TNN_POOL_OPENMP
#include <omp.h>
#ifdef TNN_HAVE_OPENBLAS
#include <cblas.h>
#endif
#endif

struct worker_start {
    struct tnn__pool *pool;
    int part;
};

struct tnn__pool {
    pthread_mutex_t lock;
    pthread_cond_t start;
    pthread_cond_t done;
    pthread_t *workers;
    /* What each worker is started with; freed with the pool, never by a
     * worker, so that the user's allocator is only called from the
     * caller's thread. */
    struct worker_start *starts;
    int parts;   /* the caller and the workers */
    int started; /* workers created, for shutdown */
    unsigned long generation;
    int pending; /* workers still running the current task */
    bool stop;
    bool spread; /* tnn__pool_set_spread() */
    tnn__task task;
    void *arg;
};

static void *worker_main(void *p)
{
    struct tnn__pool *pool = ((struct worker_start *)p)->pool;
    int part = ((struct worker_start *)p)->part;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stop && pool->generation == seen)
            pthread_cond_wait(&pool->start, &pool->lock);
        if (pool->stop)
            break;
        seen = pool->generation;
        tnn__task task = pool->task;
        void *arg = pool->arg;
        pthread_mutex_unlock(&pool->lock);
        task(arg, part, pool->parts);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static void posix_pool_free(struct tnn__pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stop = true;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->started; i++)
        pthread_join(pool->workers[i], NULL);
    pthread_cond_destroy(&pool->start);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    tnn__free(pool->workers);
    tnn__free(pool->starts);
    tnn__free(pool);
}

static int posix_pool_new(const char *func, int parts, struct tnn__pool **out)
{
    *out = NULL;
    struct tnn__pool *pool = tnn__calloc(1, sizeof *pool);
    if (!pool)
        return tnn__fail(TNN_E_NOMEM, func, "cannot allocate a thread pool");
    pool->workers = tnn__calloc((size_t)(parts - 1), sizeof *pool->workers);
    pool->starts = tnn__calloc((size_t)(parts - 1), sizeof *pool->starts);
    bool ready = pool->workers && pool->starts;
    bool mutex = ready && pthread_mutex_init(&pool->lock, NULL) == 0;
    bool start = mutex && pthread_cond_init(&pool->start, NULL) == 0;
    bool done = start && pthread_cond_init(&pool->done, NULL) == 0;
    if (!done) {
        if (start)
            pthread_cond_destroy(&pool->start);
        if (mutex)
            pthread_mutex_destroy(&pool->lock);
        tnn__free(pool->workers);
        tnn__free(pool->starts);
        tnn__free(pool);
        return tnn__fail(TNN_E_NOMEM, func, "cannot set up a thread pool");
    }
    pool->parts = parts;
    for (int i = 1; i < parts; i++) {
        struct worker_start *ws = &pool->starts[i - 1];
        *ws = (struct worker_start){pool, i};
        if (pthread_create(&pool->workers[i - 1], NULL, worker_main, ws)) {
            posix_pool_free(pool);
            return tnn__fail(TNN_E_NOMEM, func, "cannot start thread %d of %d",
                             i, parts);
        }
        pool->started = i;
    }
    *out = pool;
    return TNN_OK;
}

static void posix_pool_run(struct tnn__pool *pool, tnn__task task, void *arg)
{
    pthread_mutex_lock(&pool->lock);
    pool->task = task;
    pool->arg = arg;
    pool->pending = pool->parts - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->lock);
    task(arg, 0, pool->parts);
    pthread_mutex_lock(&pool->lock);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}

#ifdef TNN_POOL_OPENMP
/* Whether the passes may use OpenMP's threads: yes when oneDNN computes the
 * products (on OpenMP's threads too), otherwise not beside a BLAS that runs
 * POSIX threads of its own. Decided once; every caller computes the same
 * value, so the race to store it is benign. */
static bool use_openmp(void)
{
#ifdef TNN_HAVE_OPENBLAS
    static _Atomic int decided; /* 0 unknown, 1 yes, 2 no */
    int now = decided;
    if (now == 0) {
        /* openblas_get_parallel(): 0 sequential, 1 POSIX threads, 2 OpenMP */
        now = tnn__want_dnnl() || openblas_get_parallel() != 1 ? 1 : 2;
        decided = now;
    }
    return now == 1;
#else
    return true;
#endif
}
#else
static bool use_openmp(void)
{
    return false;
}
#endif

void tnn__pool_free(struct tnn__pool *pool)
{
    if (pool && pool->workers)
        posix_pool_free(pool);
    else
        tnn__free(pool);
}

int tnn__pool_new(const char *func, int parts, struct tnn__pool **out)
{
    if (!use_openmp())
        return posix_pool_new(func, parts, out);
    *out = tnn__calloc(1, sizeof **out);
    if (!*out)
        return tnn__fail(TNN_E_NOMEM, func, "cannot allocate a thread pool");
    (*out)->parts = parts;
    return TNN_OK;
}

int tnn__pool_parts(const struct tnn__pool *pool)
{
    return pool ? pool->parts : 1;
}

bool tnn__pool_spins(const struct tnn__pool *pool)
{
    return pool && !pool->workers && pool->parts > 1;
}

#ifdef TNN_POOL_OPENMP
/* Parts are fixed by the count, not by the threads the runtime grants (a
 * nested region gets one): every thread runs its share of the parts. */
static void openmp_run(int parts, tnn__task task, void *arg)
{
#pragma omp parallel num_threads(parts)
    {
        int self = omp_get_thread_num(), team = omp_get_num_threads();
        for (int part = self; part < parts; part += team)
            task(arg, part, parts);
    }
}

#endif

void tnn__pool_run(struct tnn__pool *pool, tnn__task task, void *arg)
{
    if (!pool || pool->parts == 1)
        task(arg, 0, 1);
    else if (pool->workers)
        posix_pool_run(pool, task, arg);
#ifdef TNN_POOL_OPENMP
    else
        openmp_run(pool->parts, task, arg);
#endif
}

/* The pool of the model whose pass runs on this thread, if any. */
static _Thread_local struct tnn__pool *current_pool;

struct tnn__pool *tnn__pool_enter(struct tnn__pool *pool)
{
    struct tnn__pool *before = current_pool;
    current_pool = pool;
    return before;
}

void tnn__pool_leave(struct tnn__pool *before)
{
    current_pool = before;
}

void tnn__pool_set_spread(struct tnn__pool *pool, bool spread)
{
    if (pool)
        pool->spread = spread;
}

/* Only on OpenMP's threads, which spin between regions: a pool's own
 * workers sleep between tasks, and waking them costs as before. */
size_t tnn__spread_min(size_t min_items)
{
    const struct tnn__pool *pool = current_pool;
    return pool && pool->spread && !pool->workers ? min_items / 2 : min_items;
}

/* A range loop as a pool task: part p of the pool takes range p of
 * `ranges`, in the caller's floating-point mode. */
struct range_job {
    tnn__range_fn body;
    void *arg;
    size_t count, ranges;
    unsigned fp_mode;
};

static void range_task(void *p, int part, int parts)
{
    (void)parts;
    const struct range_job *job = p;
    size_t r = (size_t)part;
    if (r >= job->ranges)
        return;
    unsigned own = tnn__fp_enter(job->fp_mode);
    job->body(job->arg, job->count * r / job->ranges,
              job->count * (r + 1) / job->ranges);
    tnn__fp_leave(own);
}

void tnn__parallel_for(size_t count, size_t min_items, tnn__range_fn body,
                       void *arg)
{
    size_t parts = (size_t)tnn_get_num_threads();
    if (min_items < 1)
        min_items = 1;
    if (parts > count / min_items)
        parts = count / min_items;
    struct tnn__pool *pool = current_pool;
    bool posix = pool && pool->workers;
    if (posix && parts > (size_t)pool->parts)
        parts = (size_t)pool->parts;
    if (parts < 2 || (!posix && !use_openmp())) {
        body(arg, 0, count);
        return;
    }
    struct range_job job = {body, arg, count, parts, tnn__fp_caller()};
    if (posix)
        posix_pool_run(pool, range_task, &job);
#ifdef TNN_POOL_OPENMP
    else
        openmp_run((int)parts, range_task, &job);
#endif
}
