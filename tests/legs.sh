#!/bin/sh
# Builds tests/test.c in every leg (compiler x mode) and runs it; prints each
# leg's "N passed, N failed" and then the sum as the last line,
# "tests: N passed, M failed". A leg whose tool is missing is
# reported SKIPPED on its own line; with CI=true a skip is a failure.
# The legs run JOBS at a time (default: the machine's cores), each in its own
# process, and each test binary in its own directory (build/run-LEG, where
# its build/ files cannot meet another leg's); a leg's lines print when it ends.
# Usage: [JOBS=N] tests/legs.sh [LEG ...]     (default: all legs)
set -u
cd "$(dirname "$0")/.." || exit 1
mkdir -p build/legs
STB=$(pkg-config --cflags-only-I stb 2>/dev/null | sed 's/-I/-isystem /g')
[ -n "$STB" ] || STB="-isystem /usr/include/stb"
STRICT="-std=c99 -pedantic -Wall -Wextra -Werror"
ALL="gcc clang tcc g++ asan nosimd avx2 sse2 native cblas aarch64 aarch64dot threads tsan win64 examples"
LEGS=${*:-$ALL}

total_pass=0; total_fail=0; bad=0; broken=0; LIBS=; ARGS=; EXE=

# Without --one: run every leg through `legs.sh --one LEG`, JOBS at a time,
# the longest first, then add up what each wrote to build/legs/LEG.sum.
if [ "${1:-}" != --one ]; then
    for l in $LEGS; do case " $ALL " in *" $l "*) ;; *) echo "unknown leg $l (legs: $ALL)"; exit 1 ;; esac; done
    jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}
    order=""
    for l in aarch64 examples tcc asan win64 $LEGS; do
        case " $LEGS " in *" $l "*) case " $order " in *" $l "*) ;; *) order="$order $l" ;; esac ;; esac
    done
    for l in $order; do rm -f "build/legs/$l.sum"; done
    printf '%s\n' $order | xargs -P "$jobs" -I LEG sh tests/legs.sh --one LEG
    for l in $order; do
        if [ -f "build/legs/$l.sum" ]; then read -r p f b k < "build/legs/$l.sum"
        else p=0; f=0; b=1; k=1; echo "FAILED  $l: the leg's script ended early"; fi
        total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
        broken=$((broken + k)); [ "$b" -eq 0 ] || bad=1
    done
    [ $broken -gt 0 ] && echo "$broken leg(s) did not build or crashed"
    echo "tests: $total_pass passed, $((total_fail + broken)) failed"
    [ $bad -eq 0 ] && [ $total_fail -eq 0 ]
    exit
fi
LEGS=$2

# leg NAME TOOL RUNNER COMPILE...   (RUNNER is "-" for native execution)
leg() {
    name=$1; tool=$2; runner=$3; shift 3
    if ! command -v "$tool" >/dev/null 2>&1 || { [ "$runner" != - ] && ! command -v "$runner" >/dev/null 2>&1; }; then
        echo "SKIPPED $name: $tool${runner#-} not installed (make deps installs it)"
        [ "${CI:-}" = true ] && bad=1
        return
    fi
    exe=build/test-$name$EXE
    if ! "$@" tests/test.c -o "$exe" $LIBS -lm > "build/test-$name.log" 2>&1; then
        echo "FAILED  $name: does not compile ($*):"; sed 's/^/    /' "build/test-$name.log" | head -20
        bad=1; broken=$((broken + 1)); return
    fi
    run=build/run-$name; mkdir -p "$run/build"
    ln -sfn ../../tests "$run/tests"; ln -sfn ../../README.md "$run/README.md"
    if [ "$runner" = - ]; then (cd "$run" && ../../"$exe" $ARGS) >> "build/test-$name.log" 2>&1
    else (cd "$run" && $runner ../../"$exe" $ARGS) >> "build/test-$name.log" 2>&1; fi
    rc=$?
    last=$(tail -n 1 "build/test-$name.log" | tr -d '\r')
    p=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    simd=$(sed -n 's/^ *simd path: //p' "build/test-$name.log" | tr -d '\r' | head -n 1)
    if [ -z "$p" ]; then
        echo "FAILED  $name: the runner crashed (exit $rc); end of build/test-$name.log:"
        tail -n 15 "build/test-$name.log" | sed 's/^/    /'; bad=1; broken=$((broken + 1)); return
    fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    [ "$f" -eq 0 ] && [ "$rc" -eq 0 ] || { bad=1; grep '^NOT OK' "build/test-$name.log" | sed 's/^/    /'; }
    printf '%-8s %-7s %s passed, %s failed   (%s)\n' "$name" "[$simd]" "$p" "$f" "build/test-$name.log"
}

{ for l in $LEGS; do
    case $l in
    gcc)     leg gcc gcc - gcc $STRICT -O2 $STB ;;
    clang)   leg clang clang - clang $STRICT -O2 $STB ;;
    tcc)     leg tcc tcc - tcc -std=c99 -Wall -Werror $STB ;;
    g++)     leg g++ g++ - g++ -x c++ -std=c++11 -Wall -Wextra -Werror -O2 $STB ;;
    asan)    leg asan clang - clang $STRICT -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer $STB ;;
    nosimd)  leg nosimd gcc - gcc $STRICT -O2 -DRNN_NO_SIMD $STB ;;
    avx2)    leg avx2 gcc - gcc $STRICT -O2 -DRNN_NO_AVX512 $STB ;;
    sse2)    leg sse2 gcc - gcc $STRICT -O2 -DRNN_NO_AVX512 -DRNN_NO_AVX2 $STB ;;
    native)  leg native gcc - gcc $STRICT -O3 -march=native $STB ;;
    cblas)   if [ -e /usr/include/cblas.h ] || [ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/aarch64-linux-gnu/cblas.h ]; then
                 LIBS=-lopenblas; leg cblas gcc - gcc $STRICT -O2 -DRNN_USE_CBLAS $STB; LIBS=
             else echo "SKIPPED cblas: cblas.h not installed (make deps installs libopenblas-dev)"; [ "${CI:-}" = true ] && bad=1; fi ;;
    aarch64) # under emulation every section but the two whose learning checks take minutes there
             # (classifier, seq2seq: the same C on every CPU; their kernels are the sections' own)
             ARGS="core kernels recurrent training text checkpoints decoding attention threads int8"
             leg aarch64 aarch64-linux-gnu-gcc qemu-aarch64 aarch64-linux-gnu-gcc $STRICT -O2 -static $STB; ARGS= ;;
    aarch64dot) # the int8 kernel's sdot form (ARMv8.2 dot product; qemu's default CPU has it)
             ARGS=int8
             leg aarch64dot aarch64-linux-gnu-gcc qemu-aarch64 aarch64-linux-gnu-gcc $STRICT -O2 -static -march=armv8.2-a+dotprod $STB; ARGS= ;;
    threads) LIBS=-pthread; leg threads gcc - gcc $STRICT -O2 -DRNN_THREADS $STB; LIBS= ;;
    tsan)    # ThreadSanitizer over the pool (the threads section: the pool's regions in training)
             LIBS=-pthread; ARGS=threads
             leg tsan clang - clang $STRICT -O1 -g -fsanitize=thread -DRNN_THREADS $STB; LIBS=; ARGS= ;;
    win64)   # Windows: MinGW-w64 builds the tests with rnn.h's Win32 pool, Wine runs them; then
             # textgen on Windows trains on 2 threads, resumes, samples, quantizes, and names.c reads it
             EXE=.exe; LIBS=; export WINEDEBUG=-all
             leg win64 x86_64-w64-mingw32-gcc-win32 wine x86_64-w64-mingw32-gcc-win32 $STRICT -O2 -DRNN_THREADS $STB
             # the pool on Windows' Interlocked atomics (MSVC's branch), built by MinGW
             ARGS=threads
             leg win64i x86_64-w64-mingw32-gcc-win32 wine x86_64-w64-mingw32-gcc-win32 $STRICT -O2 -DRNN_THREADS -DRNN__INTERLOCKED $STB
             ARGS=; EXE=
             if [ -x build/test-win64.exe ] && command -v wine >/dev/null 2>&1; then
                 w=build/win64; wm=build/win64.safetensors; small="--hidden 32 --embed 16 --seq 16 --batch 4"
                 if x86_64-w64-mingw32-gcc-win32 $STRICT -O2 $STB examples/textgen.c -o $w-textgen.exe -lm > $w.log 2>&1 &&
                    x86_64-w64-mingw32-gcc-win32 $STRICT -O2 $STB examples/names.c -o $w-names.exe -lm >> $w.log 2>&1 &&
                    wine $w-textgen.exe train README.md -o $wm --steps 30 --threads 2 $small >> $w.log 2>&1 &&
                    wine $w-textgen.exe train README.md -o $wm --steps 10 --resume $small >> $w.log 2>&1 &&
                    grep -q 'steps 30 -> 40' $w.log && grep -q '2 threads' $w.log &&
                    wine $w-textgen.exe sample $wm --length 40 >> $w.log 2>&1 &&
                    wine $w-textgen.exe quantize $wm -o $w-int8.safetensors >> $w.log 2>&1 &&
                    wine $w-names.exe $w-int8.safetensors 3 >> $w.log 2>&1; then
                     total_pass=$((total_pass + 1)); echo "win64    textgen: train on 2 threads, resume, sample, quantize; names: ok   ($w.log)"
                 else total_fail=$((total_fail + 1)); bad=1; echo "    NOT OK win64 textgen/names (see $w.log)"; tail -5 $w.log | sed 's/^/    /'; fi
             fi ;;
    examples)  # every example and tool builds warning-free and runs
             p=0; f=0
             for src in examples/*.c; do
                 exe=build/example-$(basename "$src" .c)
                 if gcc $STRICT -O2 $STB "$src" -o "$exe" -lm -pthread > "$exe.log" 2>&1 && ./"$exe" --help >> "$exe.log" 2>&1; then p=$((p + 1))
                 else f=$((f + 1)); echo "    NOT OK $src (see $exe.log)"; sed 's/^/    /' "$exe.log" | tail -5; fi
             done
             # with RNN_STATIC (everything static, much inlined) still warning-free
             if gcc $STRICT -O2 -DRNN_STATIC $STB examples/game_step.c -o build/example-static -lm > build/example-static.log 2>&1 &&
                ./build/example-static >> build/example-static.log 2>&1; then p=$((p + 1))
             else f=$((f + 1)); echo "    NOT OK RNN_STATIC build (see build/example-static.log)"; tail -5 build/example-static.log | sed 's/^/    /'; fi
             # textgen end to end: train, resume, sample, beam search
             tg="build/example-textgen"; m=build/test-textgen.safetensors; small="--hidden 32 --embed 16 --seq 16 --batch 4"
             if $tg train README.md -o $m --steps 30 $small > $tg-run.log 2>&1 &&
                $tg train README.md -o $m --steps 10 --resume $small >> $tg-run.log 2>&1 &&
                grep -q 'steps 30 -> 40' $tg-run.log && grep -q 'tok/s' $tg-run.log &&
                $tg sample $m --length 40 --temperature 0.7 >> $tg-run.log 2>&1 &&
                $tg sample $m --length 20 --beam 3 >> $tg-run.log 2>&1 &&
                ! $tg sample README.md >> $tg-run.log 2>&1 &&
                build/example-names $m 3 >> $tg-run.log 2>&1; then p=$((p + 1))
             else f=$((f + 1)); echo "    NOT OK textgen train/resume/sample (see $tg-run.log)"; tail -5 $tg-run.log | sed 's/^/    /'; fi
             # the benchmarks build against this rnn.h (make bench would find a stale one too late);
             # oneDNN's needs libdnnl-dev, which make deps-bench installs, so it is checked where that is
             for src in tools/bench/*.c; do
                 case $src in
                 */ab_side.c) opt="-DAB_HEADER=\"../../rnn.h\" -DAB_PREFIX=side_" ;;
                 */dnnl.c) [ -f /usr/include/dnnl.h ] || continue; opt= ;;
                 *) opt= ;;
                 esac
                 if gcc $STRICT -O2 -D_ISOC11_SOURCE $opt $STB -fsyntax-only "$src" > build/bench-syntax.log 2>&1; then p=$((p + 1))
                 else f=$((f + 1)); echo "    NOT OK $src does not build"; sed 's/^/    /' build/bench-syntax.log | head -5; fi
             done
             # the tools: rnn-info reads a checkpoint PyTorch made (built before tests/cli.sh, which uses it)
             if gcc $STRICT -O2 $STB tools/rnn-info.c -o build/rnn-info -lm > build/rnn-info.log 2>&1 &&
                build/rnn-info tests/data/lm_torch.safetensors >> build/rnn-info.log 2>&1 &&
                build/rnn-info tests/data/pt_lm_f16.safetensors >> build/rnn-info.log 2>&1 &&
                ! build/rnn-info tests/data/recurrent.bin >> build/rnn-info.log 2>&1; then p=$((p + 1))
             else f=$((f + 1)); echo "    NOT OK tools/rnn-info.c (see build/rnn-info.log)"; fi
             # the command line against bad input (tests/cli.sh: status, message, no file lost)
             sh tests/cli.sh build/example-textgen build/example-names build/example-langid build/example-addition \
                 build/example-adding_problem build/example-topics > build/cli.log 2>&1
             cp_=$(tail -n 1 build/cli.log | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
             cf_=$(tail -n 1 build/cli.log | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
             if [ -n "$cp_" ]; then p=$((p + cp_)); f=$((f + cf_)); else f=$((f + 1)); fi
             [ "${cf_:-1}" -eq 0 ] || { echo "    NOT OK tests/cli.sh (see build/cli.log):"; grep '^NOT OK' build/cli.log | sed 's/^/    /'; }
             total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); [ $f -eq 0 ] || bad=1
             printf '%-8s %-7s %s passed, %s failed   (%s)\n' examples "" "$p" "$f" "build/example-*.log" ;;
    *)       echo "unknown leg $l (legs: $ALL)"; bad=1 ;;
    esac
done
} > "build/legs/$LEGS.out"
cat "build/legs/$LEGS.out"
echo "$total_pass $total_fail $bad $broken" > "build/legs/$LEGS.sum"
