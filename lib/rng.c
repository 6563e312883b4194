/*
 * Seeded random numbers: xoshiro256** (Blackman and Vigna), state filled by
 * splitmix64 so that any seed, 0 included, gives a well-mixed start.
 */
#include <math.h>

#include "internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(tnn_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
    rng->has_spare = false;
    rng->spare_normal = 0.0;
}

tnn_rng *tnn_rng_new(uint64_t seed)
{
    tnn_rng *rng = tnn__malloc(sizeof *rng);
    if (!rng) {
        tnn__fail(TNN_E_NOMEM, __func__, "cannot allocate %zu bytes",
                  sizeof *rng);
        return NULL;
    }
    rng_seed(rng, seed);
    return rng;
}

void tnn_rng_free(tnn_rng *rng)
{
    tnn__free(rng);
}

int tnn_rng_seed(tnn_rng *rng, uint64_t seed)
{
    if (!rng)
        return tnn__fail(TNN_E_INVALID, __func__, "rng is NULL");
    rng_seed(rng, seed);
    return TNN_OK;
}

uint64_t tnn_rng_next_u64(tnn_rng *rng)
{
    if (!rng) {
        tnn__fail(TNN_E_INVALID, __func__, "rng is NULL");
        return 0;
    }
    return tnn__rng_next(rng);
}

double tnn_rng_uniform(tnn_rng *rng)
{
    if (!rng) {
        tnn__fail(TNN_E_INVALID, __func__, "rng is NULL");
        return 0.0;
    }
    /* The top 53 bits make every double in [0, 1) on a 2^-53 grid. */
    return (double)(tnn__rng_next(rng) >> 11) * 0x1.0p-53;
}

double tnn_rng_normal(tnn_rng *rng)
{
    if (!rng) {
        tnn__fail(TNN_E_INVALID, __func__, "rng is NULL");
        return 0.0;
    }
    if (rng->has_spare) {
        rng->has_spare = false;
        return rng->spare_normal;
    }
    /* 1 - u lies in [2^-53, 1], so the logarithm is finite and the
     * radius at most sqrt(-2 ln 2^-53) ~ 8.57, a bound that
     * tnn_tensor_rand_normal() relies on. */
    double radius = sqrt(-2.0 * log(1.0 - tnn_rng_uniform(rng)));
    double angle = 2.0 * 3.14159265358979323846 * tnn_rng_uniform(rng);
    rng->spare_normal = radius * sin(angle);
    rng->has_spare = true;
    return radius * cos(angle);
}

/* ---- the state in model files ------------------------------------------ */

void tnn__rng_write(struct tnn__writer *w, const tnn_rng *rng)
{
    for (int i = 0; i < 4; i++)
        tnn__put_u64(w, rng->s[i]);
    tnn__put_f64(w, rng->spare_normal);
    tnn__put_u32(w, rng->has_spare);
}

bool tnn__rng_read(struct tnn__reader *r, tnn_rng *rng)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = tnn__get_u64(r);
    rng->spare_normal = tnn__get_f64(r);
    uint32_t has_spare = tnn__get_u32(r);
    rng->has_spare = has_spare == 1;
    /* xoshiro's all-zero state is a fixed point: no seed reaches it. */
    bool moving = (rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) != 0;
    return moving && has_spare <= 1 &&
           !(has_spare && !(fabs(rng->spare_normal) <= TNN_RNG_NORMAL_MAX));
}

/* ---- the state as bytes ---------------------------------------------------
 * The model file's layout of the generator (tnn__rng_write), padded to 48
 * bytes: four u64 words, the f64 kept normal, a u32 flag, 4 zero bytes. */

int tnn_rng_get_state(const tnn_rng *rng, unsigned char *state)
{
    if (!rng || !state)
        return tnn__fail(TNN_E_INVALID, __func__, "%s is NULL",
                         rng ? "state" : "rng");
    struct tnn__writer w = {.data = state, .cap = TNN_RNG_STATE_BYTES};
    tnn__rng_write(&w, rng);
    tnn__put_u32(&w, 0);
    return TNN_OK;
}

int tnn_rng_set_state(tnn_rng *rng, const unsigned char *state)
{
    if (!rng || !state)
        return tnn__fail(TNN_E_INVALID, __func__, "%s is NULL",
                         rng ? "state" : "rng");
    struct tnn__reader r = {state, TNN_RNG_STATE_BYTES, 0, false};
    tnn_rng read;
    if (!tnn__rng_read(&r, &read))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "the bytes are no state of the generator (all "
                         "words zero, or a kept normal out of range)");
    *rng = read;
    return TNN_OK;
}
