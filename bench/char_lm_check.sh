#!/usr/bin/env bash
# Whether a fresh run of bench/char_lm.py gives the committed numbers:
# the same settings line (data, model and schedule) and every epoch's
# validation loss within 1% (PyTorch repeats itself on one machine; on
# another CPU its sums may round otherwise).
#   bench/char_lm_check.sh COMMITTED FRESH
set -euo pipefail
committed=$1 fresh=$2
if [ "$(grep '^settings' "$committed")" != "$(grep '^settings' "$fresh")" ]; then
    echo "char_lm_check: $fresh was made with other settings than $committed" >&2
    exit 1
fi
awk '
    $1 == "epoch" {
        for (i = 3; i < NF; i += 2)
            if ($i == "val_loss")
                v = $(i + 1)
        if (FNR == NR) {
            want[$2] = v
        } else {
            n++
            d = v / want[$2] - 1
            if (d > 0.01 || d < -0.01) {
                printf "char_lm_check: epoch %s: validation loss %s, committed %s\n", $2, v, want[$2] > "/dev/stderr"
                bad = 1
            }
        }
    }
    END { exit bad || n == 0 }' "$committed" "$fresh"
echo "char_lm_check: $fresh agrees with $committed"
