/*
 * The MNIST examples' command line (mnist_options.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "mnist_options.h"

#define MAX_EPOCHS 1000

static void usage(FILE *out, const struct mnist_defaults *d)
{
    fprintf(out,
            "usage: %s [options]\n"
            "  -d, --data DIR        MNIST IDX files (default data/mnist)\n"
            "  -o, --out DIR         where the pictures go (default %s)\n"
            "  -e, --epochs N        epochs (default %d)\n"
            "  -b, --batch N         batch size (default %ld)\n"
            "  -s, --seed N          seed of all randomness (default 42)\n"
            "  -t, --threads N       BLAS threads (default: the BLAS's)\n"
            "  -m, --min-accuracy A  exit 1 if test accuracy < A (0..1)\n"
            "  -S, --save PATH       save the trained model (with the "
            "optimizer)\n"
            "  -L, --load PATH       start from a saved model instead of "
            "a new one\n"
            "                        (-e 0: only evaluate it)\n"
            "  -a, --shift N         move training images by up to N pixels "
            "(0 to 8),\n"
            "                        anew each epoch (default %d; 0: as they "
            "are)\n"
            "  -v, --validation N    hold out the last N >= 1 training images "
            "and report\n"
            "                        on them instead of the test set (to tune "
            "without it)\n"
            "      --mpi             train on the ranks of mpirun as one "
            "model\n"
            "                        (built with Open MPI; rank 0 reports)\n"
            "  -h, --help            this text\n",
            d->name, d->out_dir, d->epochs, d->batch, d->max_shift);
}

int mnist_parse_options(const struct mnist_defaults *d, int argc, char **argv,
                        struct mnist_options *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"epochs", required_argument, NULL, 'e'},
        {"batch", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"min-accuracy", required_argument, NULL, 'm'},
        {"save", required_argument, NULL, 'S'},
        {"load", required_argument, NULL, 'L'},
        {"validation", required_argument, NULL, 'v'},
        {"shift", required_argument, NULL, 'a'},
        {"mpi", no_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (struct mnist_options){.data_dir = "data/mnist",
                                .out_dir = d->out_dir,
                                .epochs = d->epochs,
                                .batch = d->batch,
                                .seed = 42,
                                .max_shift = d->max_shift};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "d:o:e:b:s:t:m:S:L:v:a:h", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'd': o->data_dir = optarg; break;
        case 'o': o->out_dir = optarg; break;
        case 'e':
            if (cli_parse_long(optarg, 0, MAX_EPOCHS, &v))
                goto bad;
            o->epochs = (int)v;
            break;
        case 'b':
            if (cli_parse_long(optarg, 1, 60000, &o->batch))
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
        case 'm':
            if (cli_parse_double(optarg, 0, 1, &o->min_accuracy))
                goto bad;
            break;
        case 'S': o->save_path = optarg; break;
        case 'L': o->load_path = optarg; break;
        case 'a':
            if (cli_parse_long(optarg, 0, 8, &v))
                goto bad;
            o->max_shift = (int)v;
            break;
        case 'v':
            /* Up to the training set's size, which mnist_hold_out()
             * checks. */
            if (cli_parse_long(optarg, 1, LONG_MAX, &o->holdout))
                goto bad;
            break;
        case 'M': o->mpi = 1; break;
        case 'h': usage(stdout, d); exit(0);
        default: usage(stderr, d); return -1;
        }
    }
    if (o->epochs == 0 && !o->load_path) {
        fprintf(stderr, "%s: -e 0 needs a model to --load\n", d->name);
        return -1;
    }
    if (optind == argc)
        return 0;
    fprintf(stderr, "%s: unexpected argument '%s'\n", d->name, argv[optind]);
    return -1;
bad:
    for (const struct option *lo = longopts; lo->name; lo++)
        if (lo->val == c)
            fprintf(stderr, "%s: invalid value '%s' for --%s\n", d->name,
                    optarg, lo->name);
    return -1;
}
