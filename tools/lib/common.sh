# shellcheck shell=bash
# Shared settings for the tools/ scripts: where caches live and how the
# kernels the VM can boot are named.  Sourced, never executed.
#
# Everything large (kernel packages, the debug kernel build, extracted
# kernel source files) lives in $VFIO_LU_CACHE, outside the work tree, so a
# fresh clone reuses it and `git clean` never throws it away.

VFIO_LU_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${VFIO_LU_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vfio-liveupdate}"
export VFIO_LU_CACHE VFIO_LU_TOP

# The Debian kernel series we build and boot by default.
: "${VFIO_LU_SERIES:=6.12}"

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --help of every tool: its header comment (from line 2 to the first line
# that is not a comment), without the leading "# ".
usage() {
	sed -n '2,/^[^#]/{/^#/!q; s/^# \{0,1\}//; p}' "$0"
}

# Source package version of linux-source-<series> as installed.
debian_source_version() {
	dpkg-query -W -f='${Version}' "linux-source-$1" 2>/dev/null
}

# Directory holding one bootable kernel: vmlinuz, lib/modules/<release>/,
# a file "release", and "build" (the tree out-of-tree modules build against).
kernel_dir() { printf '%s/kernels/%s\n' "$VFIO_LU_CACHE" "$1"; }

# Resolve a --kernel argument ("6.12", "debug", or a directory) to a kernel_dir.
resolve_kernel() {
	local k=$1
	case "$k" in
	debug)
		[ -L "$VFIO_LU_CACHE/kernels/debug" ] || [ -d "$VFIO_LU_CACHE/kernels/debug" ] ||
			die "no debug kernel built yet: run tools/build-debug-kernel"
		readlink -f "$VFIO_LU_CACHE/kernels/debug"
		;;
	/*) printf '%s\n' "$k" ;;
	*)
		[ -e "$VFIO_LU_CACHE/kernels/debian-$k" ] ||
			die "Debian kernel $k not prepared: run tools/setup --kernel $k"
		readlink -f "$VFIO_LU_CACHE/kernels/debian-$k"
		;;
	esac
}

# Prepare every kernel in KERNELS (";"-separated, as VFIO_LU_KERNELS) and
# build the modules and tests for them in BUILD.  run-main and run-tests
# both call this, so the main job and the tests are built the same way.
#
#   prepare_and_build BUILD KERNELS
prepare_and_build() {
	local build=$1 kernels=$2 k
	local -a klist
	IFS=';' read -r -a klist <<<"$kernels"
	for k in "${klist[@]}"; do
		case "$k" in
		# The debug kernel is built from the default series' source package.
		debug)
			"$VFIO_LU_TOP/tools/setup"
			"$VFIO_LU_TOP/tools/build-debug-kernel"
			;;
		*) "$VFIO_LU_TOP/tools/setup" --kernel "$k" ;;
		esac
	done
	log "setup done after $SECONDS s"
	cmake -S "$VFIO_LU_TOP" -B "$build" -DVFIO_LU_KERNELS="$kernels" >/dev/null
	cmake --build "$build" -j"$(nproc)" >&2
	log "build done after $SECONDS s"
}
