/*
 * mnist_options.h - the command line the MNIST examples share (mnist_mlp,
 * mnist_cnn): what to read and write, the training's length and seed,
 * save and load, the validation split and the image shifts.
 */
#ifndef TINYNN_EXAMPLES_MNIST_OPTIONS_H
#define TINYNN_EXAMPLES_MNIST_OPTIONS_H

/* What differs between the examples: their name (for usage and messages)
 * and their defaults. */
struct mnist_defaults {
    const char *name;
    const char *out_dir; /* where the pictures go */
    int epochs;
    long batch;
    int max_shift;
};

struct mnist_options {
    const char *data_dir;    /* -d: the four MNIST IDX files */
    const char *out_dir;     /* -o */
    int epochs;              /* -e, 0 to 1000; 0 only with --load */
    long batch;              /* -b, 1 to 60000 */
    unsigned long long seed; /* -s, of all randomness; default 42 */
    int threads;             /* -t, 0: not given */
    double min_accuracy;     /* -m, 0 to 1; default 0 */
    const char *save_path;   /* -S, NULL: not given */
    const char *load_path;   /* -L, NULL: not given */
    long holdout;            /* -v, training images to hold out; 0: none */
    int max_shift;           /* -a, 0 to 8 pixels */
    int mpi;                 /* --mpi: train on the ranks of mpirun */
};

/* Fills *o from argv over the defaults d. 0 on success; -1 after saying on
 * stderr what is wrong (exit status 2). --help prints the usage and exits
 * with status 0. */
int mnist_parse_options(const struct mnist_defaults *d, int argc, char **argv,
                        struct mnist_options *o);

#endif
