/*
 * char_lm - a character-level language model with libtinynn: a small
 * decoder-only transformer that learns to spell English words, one letter
 * at a time, from the word list of Debian's wamerican package,
 *
 *   32 letter ids -> embedding 64 + learned positions
 *   -> 2 pre-norm blocks: x + attention(layer norm(x)), 4 heads, causal
 *                         x + dense 64 (GELU (dense 256 (layer norm(x))))
 *   -> layer norm -> dense 27 softmax at every step,
 *   Adam from 3e-3 down to 0 on a cosine, cross-entropy at every step,
 *   4 epochs of shuffled batches of 64,
 *
 * then validation loss in nats and bits per character, and new words
 * sampled from the model. bench/char_lm.py trains the same model in
 * PyTorch; --reference compares the two final validation losses.
 *
 * The data: the words made only of a-z (capitals, apostrophes and other
 * bytes drop a word; --max-words keeps the first of the file); ids 0 for
 * the end of a word ('\n') and 1..26 for 'a'..'z'; a word is a validation
 * word when (its FNV-1a 32-bit hash xor the seed) % 10 is 0. Each split is
 * one stream of its words in a seeded order (build_streams()), each
 * followed by '\n', cut into windows of 33 characters at every 32nd:
 * the model reads the first 32 and predicts, at each step, the next one.
 *
 * main() reads top to bottom: options, data, model, training, evaluation,
 * sampling, the comparison with PyTorch. --help lists the options.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <tinynn.h>

#include "support/classifier_report.h"
#include "support/cli.h"

#define PROG "char_lm"
#define DEFAULT_DICT "/usr/share/dict/american-english"
#define LEARNING_RATE 3e-3f

enum {
    TIME = 32,        /* steps a window reads and predicts */
    VOCAB = 27,       /* '\n' and 'a'..'z' */
    WIDTH = 64,       /* values per step inside the model */
    HEADS = 4,        /* attention heads of WIDTH / HEADS values each */
    HIDDEN = 256,     /* the blocks' dense layers */
    BLOCKS = 2,       /* transformer blocks */
    MAX_SAMPLED = 40, /* letters of a sampled word at most */
    MAX_EPOCHS = 1000
};

/* ---- options -------------------------------------------------------- */

struct options {
    const char *dict;        /* -d: the word list */
    const char *out_dir;     /* -o: where loss.svg goes */
    int epochs;              /* -e: of the whole run, 1 to 1000 */
    int stop_after;          /* --stop-after: last epoch trained here */
    long batch;              /* -b */
    unsigned long long seed; /* -s: split, weights, shuffles, samples */
    int threads;             /* -t, 0: not given */
    double temperature;      /* -T, > 0 */
    long top_k;              /* -k, 0: all */
    long samples;            /* -n */
    long max_words;          /* --max-words, 0: all */
    const char *save_path;   /* --save */
    const char *resume_path; /* --resume */
    const char *reference;   /* --reference: bench/char_lm.py's numbers */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [options]\n"
            "  -d, --dict PATH       word list, one word a line (default\n"
            "                        %s)\n"
            "  -o, --out DIR         where loss.svg goes (default "
            "out/char_lm)\n"
            "  -e, --epochs N        epochs of the whole run, 1 to %d "
            "(default 4)\n"
            "  -b, --batch N         windows per batch (default 64)\n"
            "  -s, --seed N          seed of the split, the weights, the "
            "shuffles and\n"
            "                        the samples (default 1)\n"
            "  -t, --threads N       threads (default: the BLAS's)\n"
            "  -T, --temperature X   sampling temperature, > 0 (default 1)\n"
            "  -k, --top-k N         sample among the N likeliest letters, "
            "0 to 27\n"
            "                        (default 0: all)\n"
            "  -n, --samples N       words to sample, 0 to 1000 (default "
            "20)\n"
            "      --max-words N     use only the first N words kept "
            "(default: all)\n"
            "      --save FILE       save the model with its optimizer "
            "before training\n"
            "                        and after every epoch\n"
            "      --resume FILE     continue the run --save saved (same "
            "--dict, --seed,\n"
            "                        --batch, --max-words) up to --epochs\n"
            "      --stop-after N    stop after epoch N, as an interrupted "
            "run would\n"
            "      --reference FILE  bench/char_lm.py's numbers: exit 1 if "
            "the final\n"
            "                        validation loss is more than 2%% above "
            "PyTorch's\n"
            "  -h, --help            this text\n",
            DEFAULT_DICT, MAX_EPOCHS);
}

/* 0, or -1 after saying what is wrong (exit status 2). */
static int parse_options(int argc, char **argv, struct options *o)
{
    enum { MAX_WORDS = 256, SAVE, RESUME, STOP_AFTER, REFERENCE };
    static const struct option longopts[] = {
        {"dict", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"epochs", required_argument, NULL, 'e'},
        {"batch", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"temperature", required_argument, NULL, 'T'},
        {"top-k", required_argument, NULL, 'k'},
        {"samples", required_argument, NULL, 'n'},
        {"max-words", required_argument, NULL, MAX_WORDS},
        {"save", required_argument, NULL, SAVE},
        {"resume", required_argument, NULL, RESUME},
        {"stop-after", required_argument, NULL, STOP_AFTER},
        {"reference", required_argument, NULL, REFERENCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (struct options){.dict = DEFAULT_DICT,
                          .out_dir = "out/char_lm",
                          .epochs = 4,
                          .batch = 64,
                          .seed = 1,
                          .temperature = 1.0,
                          .samples = 20};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "d:o:e:b:s:t:T:k:n:h", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'd': o->dict = optarg; break;
        case 'o': o->out_dir = optarg; break;
        case 'e':
            if (cli_parse_long(optarg, 1, MAX_EPOCHS, &v))
                goto bad;
            o->epochs = (int)v;
            break;
        case 'b':
            if (cli_parse_long(optarg, 1, 1L << 20, &o->batch))
                goto bad;
            break;
        case 's':
            if (cli_parse_long(optarg, 0, 0x7fffffffL, &v))
                goto bad;
            o->seed = (unsigned long long)v;
            break;
        case 't':
            if (cli_parse_long(optarg, 1, 1024, &v))
                goto bad;
            o->threads = (int)v;
            break;
        case 'T': /* > 0: DBL_MIN is the least normal double */
            if (cli_parse_double(optarg, DBL_MIN, 1e6, &o->temperature))
                goto bad;
            break;
        case 'k':
            if (cli_parse_long(optarg, 0, VOCAB, &o->top_k))
                goto bad;
            break;
        case 'n':
            if (cli_parse_long(optarg, 0, 1000, &o->samples))
                goto bad;
            break;
        case MAX_WORDS:
            if (cli_parse_long(optarg, 1, LONG_MAX, &o->max_words))
                goto bad;
            break;
        case SAVE: o->save_path = optarg; break;
        case RESUME: o->resume_path = optarg; break;
        case STOP_AFTER:
            if (cli_parse_long(optarg, 1, MAX_EPOCHS, &v))
                goto bad;
            o->stop_after = (int)v;
            break;
        case REFERENCE: o->reference = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->stop_after == 0)
        o->stop_after = o->epochs;
    if (o->stop_after > o->epochs) {
        fprintf(stderr, PROG ": --stop-after %d is beyond --epochs %d\n",
                o->stop_after, o->epochs);
        return -1;
    }
    if (o->reference && o->stop_after < o->epochs) {
        fprintf(stderr, PROG ": --reference compares the end of a run; "
                             "--stop-after ends this one before it\n");
        return -1;
    }
    return 0;
bad:
    for (const struct option *lo = longopts; lo->name; lo++)
        if (lo->val == c)
            fprintf(stderr, PROG ": invalid value '%s' for --%s\n", optarg,
                    lo->name);
    return -1;
}

/* ---- the data ------------------------------------------------------- */

/* A stream of letter ids that grows. */
struct stream {
    unsigned char *ids;
    size_t len, cap;
    size_t words;
};

/* The words kept, both splits: to tell which sampled words are real
 * ones. */
struct lexicon {
    char *text; /* the words, each ended by '\0' */
    size_t len, cap;
    const char **sorted; /* count words into text, once all are read */
    size_t count;
};

struct corpus {
    struct stream split[2]; /* TRAIN, VALIDATION */
    struct lexicon lexicon;
};

enum { TRAIN = 0, VALIDATION = 1 };

static void corpus_free(struct corpus *c)
{
    free(c->split[TRAIN].ids);
    free(c->split[VALIDATION].ids);
    free(c->lexicon.text);
    free(c->lexicon.sorted);
}

/* Room for need bytes in buf, which holds *cap: buf, or where it moved
 * (*cap updated), or NULL (buf as it was) if memory runs out. */
static unsigned char *reserve(unsigned char *buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return buf;
    size_t n = *cap ? *cap : 4096;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return NULL;
        n *= 2;
    }
    unsigned char *p = realloc(buf, n);
    if (p)
        *cap = n;
    return p;
}

#define FNV1A_BASIS 2166136261u

/* The 32-bit FNV-1a hash of n bytes, from h (FNV1A_BASIS to start). */
static uint32_t fnv1a32(uint32_t h, const void *data, size_t n)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < n; i++) {
        h ^= bytes[i];
        h *= 16777619u;
    }
    return h;
}

static int is_validation_word(const char *word, size_t n,
                              unsigned long long seed)
{
    return (fnv1a32(FNV1A_BASIS, word, n) ^ (uint32_t)seed) % 10 == 0;
}

static int is_word(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'a' || s[i] > 'z')
            return 0;
    return n > 0;
}

/* Appends a word to the lexicon, in the file's order. */
static int keep_word(struct corpus *c, const char *word, size_t n)
{
    struct lexicon *lx = &c->lexicon;
    unsigned char *text =
        reserve((unsigned char *)lx->text, &lx->cap, lx->len + n + 1);
    if (!text)
        return -1;
    lx->text = (char *)text;
    memcpy(lx->text + lx->len, word, n);
    lx->text[lx->len + n] = '\0';
    lx->len += n + 1;
    lx->count++;
    return 0;
}

static int by_word(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A word and where the seeded shuffle puts it. */
struct placed {
    uint32_t key;
    const char *word;
};

static int by_key(const void *a, const void *b)
{
    const struct placed *p = a, *q = b;
    if (p->key != q->key)
        return p->key < q->key ? -1 : 1;
    return strcmp(p->word, q->word);
}

/* Appends a word and its '\n' to a stream. -1 if memory runs out. */
static int append_word(struct stream *s, const char *word)
{
    size_t n = strlen(word);
    unsigned char *ids = reserve(s->ids, &s->cap, s->len + n + 1);
    if (!ids)
        return -1;
    s->ids = ids;
    for (size_t i = 0; i < n; i++)
        s->ids[s->len++] = (unsigned char)(word[i] - 'a' + 1);
    s->ids[s->len++] = 0;
    s->words++;
    return 0;
}

/* The two streams from the lexicon: each word in its split, the words in
 * the order of the FNV-1a hash of the seed (4 bytes, little-endian) and
 * the word, ties by the word, so that neighbours in a stream are not
 * alphabetical neighbours (which share prefixes a model would learn to
 * copy). -1 if memory runs out. */
static int build_streams(struct corpus *c, unsigned long long seed)
{
    struct lexicon *lx = &c->lexicon;
    struct placed *order = malloc(lx->count * sizeof *order);
    if (!order)
        return -1;
    const unsigned char seed_bytes[4] = {
        (unsigned char)seed, (unsigned char)(seed >> 8),
        (unsigned char)(seed >> 16), (unsigned char)(seed >> 24)};
    const uint32_t seeded = fnv1a32(FNV1A_BASIS, seed_bytes, 4);
    const char *w = lx->text;
    for (size_t i = 0; i < lx->count; i++, w += strlen(w) + 1)
        order[i] = (struct placed){fnv1a32(seeded, w, strlen(w)), w};
    qsort(order, lx->count, sizeof *order, by_key);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < lx->count; i++) {
        size_t n = strlen(order[i].word);
        rc = append_word(&c->split[is_validation_word(order[i].word, n, seed)],
                         order[i].word);
    }
    free(order);
    return rc;
}

/* The lexicon's words sorted, for known_word(). -1 if memory runs out. */
static int sort_lexicon(struct lexicon *lx)
{
    lx->sorted = malloc(lx->count * sizeof *lx->sorted);
    if (!lx->sorted)
        return -1;
    const char *w = lx->text;
    for (size_t i = 0; i < lx->count; i++, w += strlen(w) + 1)
        lx->sorted[i] = w;
    qsort(lx->sorted, lx->count, sizeof *lx->sorted, by_word);
    return 0;
}

static int known_word(const struct lexicon *lx, const char *word)
{
    return bsearch(&word, lx->sorted, lx->count, sizeof *lx->sorted,
                   by_word) != NULL;
}

/* Reads the word list at path into *c (zero-initialised). 0, or -1
 * after saying why. */
static int read_words(const char *path, long max_words,
                      unsigned long long seed, struct corpus *c)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr,
                PROG ": cannot open %s: %s (Debian's word list: apt-get "
                     "install wamerican)\n",
                path, strerror(errno));
        return -1;
    }
    struct stat st; /* not a device that never ends, as /dev/zero */
    if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, PROG ": cannot read %s: not a regular file\n", path);
        fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t line_cap = 0, kept = 0;
    ssize_t n;
    int err = 0; /* an errno value */
    errno = 0;
    while ((max_words == 0 || kept < (size_t)max_words) &&
           (n = getline(&line, &line_cap, f)) != -1) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (!is_word(line, len))
            continue;
        if (keep_word(c, line, len)) {
            err = ENOMEM;
            break;
        }
        kept++;
    }
    if (!err && ferror(f))
        err = errno ? errno : EIO;
    free(line);
    fclose(f);
    if (!err && kept > 0 &&
        (sort_lexicon(&c->lexicon) || build_streams(c, seed)))
        err = ENOMEM;
    if (err) {
        fprintf(stderr, PROG ": cannot read %s: %s\n", path, strerror(err));
        return -1;
    }
    if (kept == 0) {
        fprintf(stderr, PROG ": %s holds no word of the letters a-z only\n",
                path);
        return -1;
    }
    return 0;
}

/* The stream cut into windows: x (windows, TIME) the ids read, y (windows,
 * TIME) the ids to predict, each the one after x's at the same step. -1
 * after saying why. */
static int make_windows(const struct stream *s, const char *name,
                        const char *path, tnn_tensor **x, tnn_tensor **y)
{
    size_t count = s->len > TIME ? (s->len - 1) / TIME : 0;
    if (count == 0) {
        fprintf(stderr,
                PROG ": the %s words of %s make %zu characters, fewer than "
                     "the %d of one window: more words are needed\n",
                name, path, s->len, TIME + 1);
        return -1;
    }
    *x = tnn_tensor_new_2d(count, TIME);
    *y = tnn_tensor_new_2d(count, TIME);
    if (!*x || !*y) {
        fprintf(stderr, PROG ": %s\n", tnn_last_error());
        return -1;
    }
    float *xs = tnn_tensor_data(*x), *ys = tnn_tensor_data(*y);
    for (size_t i = 0; i < count * TIME; i++) {
        size_t w = i / TIME, t = i % TIME;
        xs[i] = (float)s->ids[w * TIME + t];
        ys[i] = (float)s->ids[w * TIME + t + 1];
    }
    return 0;
}

/* ---- the model ------------------------------------------------------ */

/* A failed libtinynn call leaves a message in tnn_last_error() naming the
 * function and the value it refused. */
static void say_error(void)
{
    fprintf(stderr, PROG ": %s\n", tnn_last_error());
}

/* Appends layer (NULL if its constructor failed, which said why) to a
 * residual block. A block does not take a layer it refuses: it is freed
 * here. */
static int block_add(tnn_layer *block, tnn_layer *layer)
{
    int rc = layer ? tnn_residual_add(block, layer) : tnn_last_error_code();
    if (rc != TNN_OK)
        tnn_layer_free(layer);
    return rc;
}

/* Appends layer to the model, which takes it, and frees it if it fails;
 * NULL (a failed constructor) keeps the constructor's message. */
static int add(tnn_model *m, tnn_layer *layer)
{
    return layer ? tnn_model_add(m, layer) : tnn_last_error_code();
}

/* x + attention(layer norm(x)): each step mixes the steps up to it. */
static tnn_layer *attention_block(void)
{
    tnn_layer *block = tnn_residual_new();
    int rc = block ? TNN_OK : TNN_E_NOMEM;
    if (rc == TNN_OK)
        rc = block_add(block, tnn_layernorm_new(WIDTH));
    if (rc == TNN_OK) /* causal: step t sees steps 0..t only */
        rc = block_add(block, tnn_attention_new(WIDTH, HEADS, 1, 0.0f));
    if (rc != TNN_OK) {
        tnn_layer_free(block);
        return NULL;
    }
    return block;
}

/* x + dense(GELU(dense(layer norm(x)))): each step alone. */
static tnn_layer *feed_forward_block(void)
{
    tnn_layer *block = tnn_residual_new();
    int rc = block ? TNN_OK : TNN_E_NOMEM;
    if (rc == TNN_OK)
        rc = block_add(block, tnn_layernorm_new(WIDTH));
    if (rc == TNN_OK)
        rc = block_add(block, tnn_dense_new(WIDTH, HIDDEN));
    if (rc == TNN_OK)
        rc = block_add(block, tnn_gelu_new());
    if (rc == TNN_OK)
        rc = block_add(block, tnn_dense_new(HIDDEN, WIDTH));
    if (rc != TNN_OK) {
        tnn_layer_free(block);
        return NULL;
    }
    return block;
}

/* Adam (beta1 0.9, beta2 0.999, eps 1e-7: tnn_adam_new()'s defaults) from
 * 3e-3 down to 0 on a cosine over the total_steps of the run. */
static int set_schedule(tnn_optim *adam, long total_steps)
{
    return tnn_optim_set_cosine_schedule(adam, total_steps, 0.0f);
}

static tnn_model *build_model(unsigned long long seed, long total_steps)
{
    /* Samples are TIME token ids, integers below VOCAB held in floats. */
    tnn_model *m = tnn_model_new_tokens(TIME, VOCAB);
    /* Initial weights and shuffling draw from the model's generator: the
     * same seed, the same run. */
    int rc = m ? tnn_model_set_seed(m, seed) : TNN_E_NOMEM;
    /* The model owns each layer it is given, and frees one that fails.
     * Ids become (TIME, WIDTH) sequences, and each step learns where it
     * is. */
    if (rc == TNN_OK)
        rc = add(m, tnn_embedding_new(VOCAB, WIDTH));
    if (rc == TNN_OK)
        rc = add(m, tnn_position_embedding_new(TIME, WIDTH));
    for (int b = 0; b < BLOCKS && rc == TNN_OK; b++) {
        rc = add(m, attention_block());
        if (rc == TNN_OK)
            rc = add(m, feed_forward_block());
    }
    if (rc == TNN_OK)
        rc = add(m, tnn_layernorm_new(WIDTH));
    if (rc == TNN_OK) /* on every step: VOCAB scores each */
        rc = add(m, tnn_dense_new(WIDTH, VOCAB));
    if (rc == TNN_OK) /* per step; fused with the loss: training skips it */
        rc = add(m, tnn_softmax_new());
    if (rc == TNN_OK) /* a class per step; the mean over all steps */
        rc = tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    if (rc == TNN_OK) { /* the model owns its optimizer too */
        tnn_optim *adam = tnn_adam_new(LEARNING_RATE);
        rc = adam ? set_schedule(adam, total_steps) : tnn_last_error_code();
        if (rc == TNN_OK)
            rc = tnn_model_set_optim(m, adam);
        else
            tnn_optim_free(adam);
    }
    if (rc != TNN_OK) {
        say_error();
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

/* The model --save wrote, checked to read TIME ids and give TIME * VOCAB
 * probabilities, and the epochs it was trained for: its optimizer's steps
 * over steps_per_epoch. Its schedule is set again for total_steps (the
 * same as it was when --epochs is the same). NULL after saying why. */
static tnn_model *resume_model(const char *path, long steps_per_epoch,
                               long total_steps, int *epochs_done)
{
    tnn_model *m = NULL;
    if (tnn_model_load(path, &m) != TNN_OK) {
        say_error();
        return NULL;
    }
    tnn_optim *opt = tnn_model_optim(m);
    long steps = opt ? tnn_optim_steps(opt) : 0;
    const char *why = NULL;
    if (tnn_model_in_features(m) != TIME ||
        tnn_model_out_features(m) != (size_t)TIME * VOCAB)
        why = "is no model of " PROG;
    else if (!opt)
        why = "was saved without its optimizer";
    else if (steps % steps_per_epoch != 0)
        why = "stopped within an epoch of this data: was it saved with "
              "other --dict, --seed, --batch or --max-words?";
    else if (steps > total_steps)
        why = "was trained for more epochs than --epochs";
    if (why) {
        fprintf(stderr, PROG ": %s %s\n", path, why);
        tnn_model_free(m);
        return NULL;
    }
    *epochs_done = (int)(steps / steps_per_epoch);
    if (set_schedule(opt, total_steps) != TNN_OK) {
        say_error();
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

/* ---- training ------------------------------------------------------- */

struct training_log {
    int epoch, epochs;    /* counted from 1, over the whole run */
    double train_seconds; /* of the epoch's last batch: the training */
    history history;      /* each epoch's figures, for loss.svg */
};

/* tnn_model_fit() calls this after every batch and every epoch; 0 means
 * "go on". */
static int on_progress(const tnn_progress *p, void *user)
{
    struct training_log *run = user;
    if (tnn_progress_event(p) == TNN_EVENT_BATCH_END) {
        run->train_seconds = tnn_progress_seconds(p);
        return 0;
    }
    /* TNN_EVENT_EPOCH_END, after the validation windows were evaluated:
     * the loss is the epoch's running mean over its batches, the
     * accuracy counts the steps whose likeliest letter was the next. */
    double loss = tnn_progress_loss(p), val_loss = tnn_progress_val_loss(p);
    double accuracy = tnn_progress_accuracy(p);
    double val_accuracy = tnn_progress_val_accuracy(p);
    history_add(&run->history, loss, accuracy, val_loss, val_accuracy);
    printf("Epoch %d/%d - train loss %.4f - validation loss %.4f nats "
           "(%.4f bits/char), accuracy %.2f%% - %.1f s\n",
           run->epoch, run->epochs, loss, val_loss, val_loss / log(2.0),
           100.0 * val_accuracy, run->train_seconds);
    fflush(stdout);
    return 0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n > 0 values, which are sorted. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Creates dir, where loss.svg goes, if missing: before training, so that
 * a directory that cannot be made fails the run at once. */
static int make_out_dir(const char *dir)
{
    if (cli_make_dirs(dir) == 0)
        return 0;
    fprintf(stderr, PROG ": cannot create %s: %s\n", dir, strerror(errno));
    return -1;
}

/* Draws loss.svg in dir: the losses and accuracies of the epochs trained
 * (those a --resume'd run did not train are left out). */
static int draw_curves(const char *dir, const history *h)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/loss.svg", dir);
    if (draw_training_curves(path, h, "cross-entropy (nats per character)",
                             "validation")) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    printf("\nLoss curves: %s\n", path);
    return 0;
}

/* ---- sampling ------------------------------------------------------- */

/* Draws the id of the next letter from the probabilities p of the VOCAB
 * ids, sharpened (temperature < 1) or flattened (> 1) as softmax(z / T)
 * is from softmax(z), among the top_k likeliest (0: all), with a uniform
 * draw from rng. */
static int draw_letter(const float *p, double temperature, long top_k,
                       tnn_rng *rng)
{
    double w[VOCAB], best = 0.0, sum = 0.0;
    for (int i = 0; i < VOCAB; i++)
        best = p[i] > best ? p[i] : best;
    for (int i = 0; i < VOCAB; i++) /* (p_i / p_max)^(1 / T) */
        w[i] = p[i] > 0.0f ? exp(log(p[i] / best) / temperature) : 0.0;
    if (top_k > 0) { /* keep the top_k largest, the first of equal ones */
        double keep[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            int above = 0;
            for (int j = 0; j < VOCAB; j++)
                above += w[j] > w[i] || (w[j] == w[i] && j < i);
            keep[i] = above < top_k ? w[i] : 0.0;
        }
        memcpy(w, keep, sizeof w);
    }
    for (int i = 0; i < VOCAB; i++)
        sum += w[i];
    double u = tnn_rng_uniform(rng) * sum;
    int last = 0;
    for (int i = 0; i < VOCAB; i++) {
        if (w[i] <= 0.0)
            continue;
        last = i;
        if (u < w[i])
            return i;
        u -= w[i];
    }
    return last; /* u reached sum by rounding */
}

/* Prints count new words, each letter drawn from the distribution the
 * model gives at the last step of a window of the TIME ids before it,
 * which starts as all '\n' and slides on as the stream of training words
 * did; a word ends with '\n' or after MAX_SAMPLED letters. Says which are
 * dictionary words. -1 after saying why. */
static int sample_words(tnn_model *m, const struct options *o,
                        const struct lexicon *lx)
{
    tnn_tensor *window = tnn_tensor_new_2d(1, TIME);
    tnn_tensor *probs = tnn_tensor_new_2d(1, (size_t)TIME * VOCAB);
    tnn_rng *rng = tnn_rng_new(o->seed);
    int rc = window && probs && rng ? 0 : -1;
    float *ids = tnn_tensor_data(window);
    const float *last = tnn_tensor_cdata(probs) + (TIME - 1) * VOCAB;
    long known = 0, held_out = 0;
    if (rc == 0 && o->samples > 0) {
        printf("\n%ld words sampled at temperature %g, ", o->samples,
               o->temperature);
        if (o->top_k > 0)
            printf("among the %ld likeliest letters:\n", o->top_k);
        else
            printf("among all letters:\n");
    }
    for (long k = 0; rc == 0 && k < o->samples; k++) {
        char word[MAX_SAMPLED + 1];
        size_t len = 0;
        while (rc == 0 && len < MAX_SAMPLED) {
            rc = tnn_model_predict(m, window, probs) == TNN_OK ? 0 : -1;
            if (rc)
                break;
            int id = draw_letter(last, o->temperature, o->top_k, rng);
            memmove(ids, ids + 1, (TIME - 1) * sizeof *ids);
            ids[TIME - 1] = (float)id;
            if (id == 0)
                break;
            word[len++] = (char)('a' + id - 1);
        }
        word[len] = '\0';
        if (rc)
            break;
        if (len == MAX_SAMPLED) { /* end it, so that the next starts anew */
            memmove(ids, ids + 1, (TIME - 1) * sizeof *ids);
            ids[TIME - 1] = 0.0f;
        }
        const char *note = "";
        if (len == MAX_SAMPLED)
            note = "  (cut)";
        else if (known_word(lx, word)) {
            int val = is_validation_word(word, len, o->seed);
            note = val ? "  (a validation word)" : "  (a training word)";
            known++;
            held_out += val;
        }
        printf("  %s%s\n", len ? word : "(empty)", note);
    }
    if (rc == 0 && o->samples > 0)
        printf("%ld of %ld are in the word list, %ld of them validation "
               "words, never trained on\n",
               known, o->samples, held_out);
    if (rc)
        say_error();
    tnn_tensor_free(window);
    tnn_tensor_free(probs);
    tnn_rng_free(rng);
    return rc;
}

/* ---- the comparison with PyTorch ------------------------------------ */

/* What bench/char_lm.py wrote: its settings, which must be this run's,
 * and its last epoch's validation loss. */
struct reference {
    char header[160]; /* its first line: torch's version and the CPU */
    double val_loss;  /* of the last epoch */
};

/* The settings both programs must share for their losses to compare. */
struct settings {
    long epochs, batch, seed, max_words, train_windows, val_windows;
    long data_fnv1a; /* of the two streams' ids, training then validation */
};

enum { MAX_WORDS_A_LINE = 64 };

/* Splits line into at most MAX_WORDS_A_LINE blank-separated words; their
 * count. */
static int split_words(char *line, char **words)
{
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t\r\n", &save); w && n < MAX_WORDS_A_LINE;
         w = strtok_r(NULL, " \t\r\n", &save))
        words[n++] = w;
    return n;
}

/* The word after the word key in a line of "key value" pairs after its
 * first word, or NULL. */
static const char *value_of(char **words, int n, const char *key)
{
    for (int i = 1; i + 1 < n; i += 2)
        if (strcmp(words[i], key) == 0)
            return words[i + 1];
    return NULL;
}

/* Reads path, checked against this run's settings: 0, or -1 after saying
 * what is wrong with it. Lines: "# ..." comments, the first naming torch;
 * "settings key value ..."; "epoch N key value ..." for N = 1, 2, ...,
 * each with a val_loss. */
static int read_reference(const char *path, const struct settings *ours,
                          struct reference *ref)
{
    static const char *const names[] = {
        "epochs",        "batch",       "seed",      "max_words",
        "train_windows", "val_windows", "data_fnv1a"};
    const long want[] = {ours->epochs,        ours->batch,
                         ours->seed,          ours->max_words,
                         ours->train_windows, ours->val_windows,
                         ours->data_fnv1a};
    enum { NAMES = sizeof names / sizeof *names };
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr,
                PROG ": cannot open %s: %s (bench/char_lm.py writes it)\n",
                path, strerror(errno));
        return -1;
    }
    char line[1024], *words[MAX_WORDS_A_LINE];
    const char *why = NULL;
    long number = 0, epochs = 0; /* lines read, epoch lines */
    int settings_seen = 0;
    *ref = (struct reference){.val_loss = NAN};
    while (!why && fgets(line, sizeof line, f)) {
        number++;
        if (line[0] == '#') {
            if (!ref->header[0])
                snprintf(ref->header, sizeof ref->header, "%.*s",
                         (int)strcspn(line + 2, "\r\n"), line + 2);
            continue;
        }
        int n = split_words(line, words);
        if (n == 0)
            continue;
        if (strcmp(words[0], "settings") == 0) {
            settings_seen = 1;
            for (int i = 0; i < NAMES && !why; i++) {
                const char *text = value_of(words, n, names[i]);
                long v;
                if (!text || cli_parse_long(text, LONG_MIN, LONG_MAX, &v))
                    why = "the settings line lacks a setting this run "
                          "checks";
                else if (v != want[i]) {
                    fprintf(stderr,
                            PROG ": %s was made with %s %ld, this run has "
                                 "%ld: the losses do not compare "
                                 "(bench/char_lm.py with this run's "
                                 "options makes a file that does)\n",
                            path, names[i], v, want[i]);
                    fclose(f);
                    return -1;
                }
            }
        } else if (strcmp(words[0], "epoch") == 0) {
            const char *loss = value_of(words + 1, n - 1, "val_loss");
            long e = 0;
            if (n < 2 || cli_parse_long(words[1], 1, MAX_EPOCHS, &e) ||
                e != epochs + 1)
                why = "the epochs are not numbered 1, 2, ...";
            else if (!loss || cli_parse_double(loss, 0.0, 1e6, &ref->val_loss))
                why = "the epoch line has no val_loss";
            epochs = e;
        } else {
            why = "the line is no comment, settings or epoch";
        }
    }
    if (why) {
        fprintf(stderr,
                PROG ": %s, line %ld: %s; is it what bench/char_lm.py "
                     "writes?\n",
                path, number, why);
    } else if (ferror(f) || !settings_seen || epochs != ours->epochs) {
        why = ferror(f)        ? "cannot be read"
              : !settings_seen ? "has no settings line"
                               : "has not one epoch line per epoch";
        fprintf(stderr, PROG ": %s %s; is it what bench/char_lm.py writes?\n",
                path, why);
    }
    fclose(f);
    return why ? -1 : 0;
}

/* ---- main ----------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o))
        return 2;
    if (o.threads && tnn_set_num_threads(o.threads) != TNN_OK) {
        say_error();
        return 2;
    }
    struct corpus corpus = {0};
    tnn_tensor *x_train = NULL, *y_train = NULL, *x_val = NULL, *y_val = NULL;
    tnn_model *model = NULL;
    struct training_log run = {.epochs = o.epochs};
    struct reference ref;
    int status = 1;

    /* 1. The data: the words split in two, each split a stream of ids cut
     * into windows. */
    if (read_words(o.dict, o.max_words, o.seed, &corpus) ||
        make_windows(&corpus.split[TRAIN], "training", o.dict, &x_train,
                     &y_train) ||
        make_windows(&corpus.split[VALIDATION], "validation", o.dict, &x_val,
                     &y_val))
        goto done;
    size_t rows = tnn_tensor_dim(x_train, 0), batch = (size_t)o.batch;
    long per_epoch = (long)((rows + batch - 1) / batch);
    long total_steps = per_epoch * o.epochs;
    /* The ids bench/char_lm.py must have read too, as a hash. */
    const struct stream *tr = &corpus.split[TRAIN];
    const struct stream *va = &corpus.split[VALIDATION];
    uint32_t ids_hash =
        fnv1a32(fnv1a32(FNV1A_BASIS, tr->ids, tr->len), va->ids, va->len);
    const struct settings settings = {
        o.epochs,      o.batch,    (long)o.seed,
        o.max_words,   (long)rows, (long)tnn_tensor_dim(x_val, 0),
        (long)ids_hash};
    if (o.reference && read_reference(o.reference, &settings, &ref))
        goto done;

    /* 2. The model: a new one, or the one --save wrote, which carries on
     * with its optimizer's state and its generator, as if never
     * stopped. */
    int done_epochs = 0;
    model = o.resume_path ? resume_model(o.resume_path, per_epoch, total_steps,
                                         &done_epochs)
                          : build_model(o.seed, total_steps);
    if (!model)
        goto done;
    if (done_epochs > o.stop_after) {
        fprintf(stderr,
                PROG ": %s was saved after epoch %d, beyond "
                     "--stop-after %d\n",
                o.resume_path, done_epochs, o.stop_after);
        goto done;
    }
    char summary[4096];
    if (tnn_model_summary(model, summary, sizeof summary, NULL) != TNN_OK) {
        say_error();
        goto done;
    }
    printf("libtinynn %s, %d thread(s), seed %llu\n%s: %zu training words "
           "in %zu windows, %zu validation words in %zu windows of %d "
           "characters (FNV-1a of the ids: %lu)\n\n%s\n",
           tnn_version_string(), tnn_get_num_threads(), o.seed, o.dict,
           tr->words, rows, va->words, tnn_tensor_dim(x_val, 0), TIME + 1,
           (unsigned long)ids_hash, summary);
    if (o.resume_path)
        printf("Resumed from %s after epoch %d of %d\n", o.resume_path,
               done_epochs, o.epochs);
    for (int e = 0; e < done_epochs; e++) /* not drawn: not trained here */
        history_add(&run.history, NAN, NAN, NAN, NAN);
    double loss, accuracy;
    if (tnn_model_evaluate(model, x_val, y_val, &loss, &accuracy) != TNN_OK) {
        say_error();
        goto done;
    }
    printf("Validation loss before this run's training: %.4f nats (%.4f "
           "bits/char; uniform guessing: ln 27 = %.4f)\n",
           loss, loss / log(2.0), log((double)VOCAB));
    fflush(stdout);

    /* 3. Training, one epoch a call so that --save can keep each: each
     * shuffles the windows (shuffle 1), trains on batches of 64 (--batch),
     * the last one smaller, then evaluates the validation windows, which
     * only report. Saved with the optimizer's state (Adam's moments, the
     * step count that places it on the schedule) and the generator,
     * --resume trains on exactly as this run would have. */
    if (done_epochs < o.stop_after && make_out_dir(o.out_dir))
        goto done;
    if (o.save_path && done_epochs < o.stop_after &&
        tnn_model_save(model, o.save_path, TNN_SAVE_OPTIMIZER) != TNN_OK) {
        say_error();
        goto done;
    }
    double seconds[MAX_EPOCHS]; /* of each epoch's training */
    int trained = 0;
    for (int e = done_epochs + 1; e <= o.stop_after; e++, trained++) {
        run.epoch = e;
        if (tnn_model_fit(model, x_train, y_train, x_val, y_val, 1, batch, 1,
                          on_progress, &run) != TNN_OK ||
            (o.save_path && tnn_model_save(model, o.save_path,
                                           TNN_SAVE_OPTIMIZER) != TNN_OK)) {
            say_error();
            goto done;
        }
        seconds[trained] = run.train_seconds;
    }
    if (trained > 0) /* as the benchmarks print it (bench/compare_seq.sh) */
        printf("epoch time (median of %d)    %.3f s\n", trained,
               median(seconds, trained));
    if (o.save_path && trained > 0)
        printf("Model saved to %s after epoch %d\n", o.save_path,
               o.stop_after);
    if (trained > 0 && draw_curves(o.out_dir, &run.history))
        goto done;
    if (o.stop_after < o.epochs) {
        printf("Stopped after epoch %d of %d (--stop-after)\n", o.stop_after,
               o.epochs);
        status = 0;
        goto done;
    }

    /* 4. Evaluation, and new words. */
    if (tnn_model_evaluate(model, x_val, y_val, &loss, &accuracy) != TNN_OK) {
        say_error();
        goto done;
    }
    printf("\nfinal validation loss         %.4f nats\n"
           "final validation bits/char    %.4f bits\n"
           "final validation accuracy     %.2f %%\n",
           loss, loss / log(2.0), 100.0 * accuracy);
    if (sample_words(model, &o, &corpus.lexicon))
        goto done;

    /* 5. The comparison with PyTorch's run of the same model. */
    status = 0;
    if (o.reference) {
        double ratio = loss / ref.val_loss;
        printf("\nPyTorch's final validation loss: %.4f nats (%s)\n"
               "libtinynn / PyTorch: %.4f\n",
               ref.val_loss, ref.header, ratio);
        status = ratio > 1.02;
        if (status)
            fprintf(stderr,
                    PROG ": the validation loss %.4f is more than 2%% "
                         "above PyTorch's %.4f\n",
                    loss, ref.val_loss);
    }
done:
    tnn_model_free(model);
    tnn_tensor_free(x_train);
    tnn_tensor_free(y_train);
    tnn_tensor_free(x_val);
    tnn_tensor_free(y_val);
    corpus_free(&corpus);
    return status;
}
