/*
 * The linear_regression example's command line (linreg_options.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "linreg_options.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: linear_regression [options]\n"
        "  -a, --alpha A       learning rate (default 0.1)\n"
        "  -i, --iterations N  gradient steps (default 3000)\n"
        "  -l, --lambda L      L2 strength: the update adds lambda * t_j to\n"
        "                      each gradient (default 0)\n"
        "  -s, --seed N        seed of the synthetic data (default 7)\n"
        "  -m, --samples N     number of points (default 1000)\n"
        "  -e, --every N       print every N iterations (default 500)\n"
        "  -t, --tolerance T   largest accepted |t_gd - t_closed| "
        "(default 1e-3)\n"
        "  -o, --out DIR       where cost.svg goes (default "
        "out/linear_regression)\n"
        "  -h, --help          this text\n"
        "Data: y = 4 + 3x + N(0, 1) noise, x uniform in [0, 2).\n"
        "Exit status 1 if gradient descent diverges or ends further "
        "than the\ntolerance from the closed form.\n");
}

/* Name the option by its long name, whichever form was typed. */
static void bad_value(const struct option *longopts, int c, const char *text)
{
    while (longopts->name && longopts->val != c)
        longopts++;
    fprintf(stderr, "linear_regression: invalid value '%s' for --%s\n", text,
            longopts->name);
}

int linreg_parse_options(int argc, char **argv, struct linreg_options *o)
{
    static const struct option longopts[] = {
        {"alpha", required_argument, NULL, 'a'},
        {"iterations", required_argument, NULL, 'i'},
        {"lambda", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'},
        {"samples", required_argument, NULL, 'm'},
        {"every", required_argument, NULL, 'e'},
        {"tolerance", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (struct linreg_options){0.1,  3000, 0.0,  7,
                                 1000, 500,  1e-3, "out/linear_regression"};
    int c;
    long v = 0;
    while ((c = getopt_long(argc, argv, "a:i:l:s:m:e:t:o:h", longopts,
                            NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'a': bad = cli_parse_double(optarg, 1e-9, 10, &o->alpha); break;
        case 'i':
            bad = cli_parse_long(optarg, 1, 100000000, &o->iterations);
            break;
        case 'l': bad = cli_parse_double(optarg, 0, 1e9, &o->lambda); break;
        case 's':
            bad = cli_parse_long(optarg, 0, 0x7fffffffL, &v);
            if (!bad)
                o->seed = (unsigned long long)v;
            break;
        case 'm':
            bad = cli_parse_long(optarg, 2, 10000000, &o->samples);
            break;
        case 'e': bad = cli_parse_long(optarg, 1, 100000000, &o->every); break;
        case 't': bad = cli_parse_double(optarg, 0, 1e9, &o->tolerance); break;
        case 'o': o->out_dir = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
        if (bad) {
            bad_value(longopts, c, optarg);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "linear_regression: unexpected argument '%s'\n",
                argv[optind]);
        return -1;
    }
    return 0;
}
