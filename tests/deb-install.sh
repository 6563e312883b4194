#!/usr/bin/env bash
# Install the packages make deb built (as root, with apt-get), build
# programs against /usr with pkg-config and with CMake, run them, read a
# manual page, then purge the packages and check that no file of theirs is
# left (the dependencies apt pulled in stay). CI runs it after make deb.
#
#   tests/deb-install.sh [DIR]     DIR: where the .deb files are (build/deb)
set -euo pipefail
dir=$(cd "${1:-build/deb}" && pwd)
packages=(libtinynn1 libtinynn-dev libtinynn-mpi1 libtinynn-mpi-dev)
if [ "$(id -u)" -ne 0 ]; then
    echo "deb-install: installs packages, so it must run as root" >&2
    exit 1
fi
# Not over packages the machine has already: the end purges them.
for package in "${packages[@]}"; do
    if [ -n "$(dpkg-query -W -f '${db:Status-Status}' "$package" 2>/dev/null |
               grep -v '^not-installed$' || true)" ]; then
        echo "deb-install: $package is on this machine already; purge it first" >&2
        exit 1
    fi
done
work=$(mktemp -d)
purge() { apt-get purge -y -qq "${packages[@]}" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap purge EXIT

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$dir"/*.deb >/dev/null
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$multiarch

# pkg-config, shared: the packaged library, found by the loader's cache.
unset PKG_CONFIG_PATH
[ "$(pkg-config --variable=libdir tinynn)" = "$libdir" ]
cc tests/consumer.c -o "$work/consumer" $(pkg-config --cflags --libs tinynn)
env -u LD_LIBRARY_PATH "$work/consumer"
deps=$(env -u LD_LIBRARY_PATH ldd "$work/consumer")
# (/lib is /usr/lib on a merged-/usr system.)
grep -Eq "libtinynn.so.1 => (/usr)?/lib/$multiarch/libtinynn.so.1" <<<"$deps"

# pkg-config, static.
cc tests/consumer.c -o "$work/consumer-static" $(pkg-config --cflags --libs tinynn-static)
"$work/consumer-static"
static_needed=$(readelf -d "$work/consumer-static")
if grep NEEDED <<<"$static_needed" | grep -q libtinynn; then
    echo "deb-install: the static consumer needs libtinynn.so" >&2; exit 1
fi

# The companion through pkg-config, on 2 ranks.
cc tests/mpi/consumer.c -o "$work/mpi-consumer" $(pkg-config --cflags --libs tinynn-mpi)
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    timeout 120 mpirun --oversubscribe -np 2 "$work/mpi-consumer"

# CMake, from /usr (not an older make install in /usr/local): shared,
# static, component mpi, versions.
REQUIRE_CMAKE=1 bash tests/cmake-consumer.sh /usr

# A manual page of each package.
for page in libtinynn tnn_model_fit tinynn_mpi tnn_mpi_fit; do
    [ -f "/usr/share/man/man3/$page.3.gz" ] ||
        { echo "deb-install: no manual page $page(3)" >&2; exit 1; }
done

apt-get purge -y -qq "${packages[@]}" >/dev/null
left=$(ls -d /usr/include/tinynn*.h "$libdir"/libtinynn* "$libdir"/cmake/tinynn \
       "$libdir"/pkgconfig/tinynn* /usr/share/man/man3/tnn_* \
       /usr/share/man/man3/libtinynn.3* /usr/share/man/man3/tinynn_mpi.3* \
       /usr/share/doc/libtinynn* 2>/dev/null || true)
if [ -n "$left" ]; then
    echo "deb-install: purging left: $left" >&2
    exit 1
fi
echo "deb-install: packages installed, pkg-config and CMake consumers built and run" \
     "(shared, static, MPI), manual pages found, purged leaving no file of theirs"
