# Sourced on a GPU host that has nvcc and gcc but not our Debian libraries:
# points llmcc at the build carried in .dev/ (scripts/pack-dev.sh makes it)
# and at this checkout's templates and headers.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export LLMCC_HOME=$root
export LLMCC_RUNTIME_LIB=$root/.dev/libllmcc_rt.a
export LLMCC_GPU_LIB=$root/.dev/libllmcc_gpu.a
export LLMCC_LINK="$root/.dev/libjansson.a $root/.dev/libpcre2-8.a $root/.dev/libutf8proc.a $root/.dev/libxxhash.a $root/.dev/libevent_extra.a $root/.dev/libevent_core.a -lm -lpthread"
export NVCC=${NVCC:-nvcc}
export CC=${CC:-gcc}
export LLMCC=$root/.dev/llmcc
