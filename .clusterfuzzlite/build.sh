#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build (runs in .clusterfuzzlite/Dockerfile's
# image, which sets CC, CFLAGS with the sanitizer flags, LIB_FUZZING_ENGINE,
# SRC and OUT): every fuzz/ harness built by `make fuzz-libfuzzer` with the
# builder's compiler and flags, copied to $OUT as fuzz-<name> with its seed
# corpus (fuzz/corpus/<name> and fuzz/regress/<name>) and its dictionary.
cd "$SRC/torn"
make -j"$(nproc)" fuzz-libfuzzer DEPS_SCRIPT=true \
    LIBFUZZER_CC="$CC" LIBFUZZER_FLAGS="$CFLAGS" LIBFUZZER_ENGINE="$LIB_FUZZING_ENGINE"
for bin in build-fuzz/libfuzzer/fuzz-*; do
    name=${bin##*/fuzz-}
    cp "$bin" "$OUT/"
    for dir in fuzz/corpus/"$name" fuzz/regress/"$name"; do
        [ -d "$dir" ] && (cd "$dir" && zip -q -r "$OUT/fuzz-${name}_seed_corpus.zip" .)
    done
    [ -f fuzz/dict/"$name".dict ] && cp fuzz/dict/"$name".dict "$OUT/fuzz-$name.dict"
done
