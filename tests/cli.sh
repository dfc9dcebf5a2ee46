#!/bin/sh
# The command-line programs against bad input, as a new user would try them:
# each case runs a command and checks its exit status, a piece of its
# message, and that no file was lost or overwritten. Run by the examples leg
# of `make test`; alone: sh tests/cli.sh [TEXTGEN] [NAMES] [LANGID] [ADDITION] [ADDING] [TOPICS]
# Last line: "N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
TG=${1:-build/textgen}; NM=${2:-build/names}; LG=${3:-build/langid}; AD=${4:-build/addition}; AP=${5:-build/adding_problem}; TP=${6:-build/topics}
D=build/cli; rm -rf $D; mkdir -p $D
pass=0; fail=0
S="--hidden 16 --embed 8 --seq 8 --batch 4"   # a model small enough to train in a blink

# t NAME WANT_STATUS WANT_TEXT CMD...   (WANT_TEXT "" checks nothing; grep -F on stdout+stderr)
t() {
    name=$1; want=$2; text=$3; shift 3
    [ -f $D/out ] && cp $D/out $D/last   # the previous case's output, for a case that reads it
    "$@" > $D/out 2>&1; got=$?
    if [ "$got" -ne "$want" ]; then
        fail=$((fail + 1)); echo "NOT OK $name: exit $got, wanted $want: $*"; sed 's/^/    /' $D/out | tail -4; return
    fi
    if [ -n "$text" ] && ! grep -qF -- "$text" $D/out; then
        fail=$((fail + 1)); echo "NOT OK $name: no \"$text\" in:"; sed 's/^/    /' $D/out | tail -4; return
    fi
    pass=$((pass + 1)); echo "OK     $name"
}
# wrote PROGRAM FILE...: each FILE is in $D and not empty (one check each)
wrote() {
    prog=$1; shift
    for f in "$@"; do
        if [ -s $D/$f ]; then pass=$((pass + 1)); echo "OK     $prog: wrote $f"
        else fail=$((fail + 1)); echo "NOT OK $prog: no $D/$f"; fi
    done
}
# same NAME FILE COPY: FILE still equals COPY
same() {
    if cmp -s "$2" "$3"; then pass=$((pass + 1)); echo "OK     $1"
    else fail=$((fail + 1)); echo "NOT OK $1: $2 changed"; fi
}

cp README.md $D/corpus.txt
cp $D/corpus.txt $D/corpus.keep
M=$D/m.safetensors

# --- train: the files ---------------------------------------------------------
t "train: -o the corpus is refused"            2 "is the corpus"   $TG train $D/corpus.txt -o $D/corpus.txt --steps 2 $S
same "train: the corpus survives -o corpus" $D/corpus.txt $D/corpus.keep
ln -sf corpus.txt $D/link.txt
t "train: -o a link to the corpus is refused"  2 "is the corpus"   $TG train $D/corpus.txt -o $D/link.txt --steps 2 $S
same "train: the corpus survives -o link" $D/corpus.txt $D/corpus.keep
t "train: -o into a missing directory fails first" 1 "No such file or directory" $TG train $D/corpus.txt -o $D/nodir/m.st --steps 2 $S
t "train: -o a directory is refused"           1 "is a directory"  $TG train $D/corpus.txt -o $D --steps 2 $S
echo "my notes" > $D/notes.txt; cp $D/notes.txt $D/notes.keep
t "train: -o over a file that is no checkpoint" 2 "not a checkpoint" $TG train $D/corpus.txt -o $D/notes.txt --steps 2 $S
same "train: that file survives" $D/notes.txt $D/notes.keep
t "train: a missing corpus says so"            1 "No such file or directory" $TG train $D/none.txt -o $M --steps 2 $S
: > $D/empty.txt
t "train: an empty corpus says so"             1 "is empty"        $TG train $D/empty.txt -o $M --steps 2 $S
printf 'caf\351 au lait\n' > $D/latin1.txt
t "train: Latin-1 is not valid UTF-8"          1 "not valid UTF-8 at byte 3" $TG train $D/latin1.txt -o $M --steps 2 $S
t "train: a directory as corpus"               1 "is a directory"  $TG train $D -o $M --steps 2 $S
printf 'abc\n' > $D/tiny.txt
t "train: a short corpus names the minimum"    1 "need at least"   $TG train $D/tiny.txt -o $M --steps 2 $S
t "train: --plot over the corpus is refused"   2 "--plot"          $TG train $D/corpus.txt -o $M --plot $D/corpus.txt --steps 2 $S
same "train: the corpus survives --plot" $D/corpus.txt $D/corpus.keep

# --- train: options -------------------------------------------------------------
t "train: an unknown option"                   2 "unknown option --bogus" $TG train $D/corpus.txt -o $M --bogus 1
t "train: an option without its value"         2 "--lr needs a value" $TG train $D/corpus.txt -o $M --lr
t "train: --lr inf"                            2 "--lr must be a finite number" $TG train $D/corpus.txt -o $M --lr inf
t "train: --lr 0"                              2 "--lr 0 is outside" $TG train $D/corpus.txt -o $M --lr 0
t "train: --hidden 0"                          2 "--hidden 0 is outside 1..65536" $TG train $D/corpus.txt -o $M --hidden 0
t "train: --layers 0"                          2 "--layers 0 is outside" $TG train $D/corpus.txt -o $M --layers 0
t "train: --embed 0"                           2 "--embed 0 is outside" $TG train $D/corpus.txt -o $M --embed 0
t "train: --hidden 2.5 is not whole"           2 "wants a whole number" $TG train $D/corpus.txt -o $M --hidden 2.5
t "train: --seq abc is not a number"           2 "wants a number" $TG train $D/corpus.txt -o $M --seq abc
t "train: --dropout 1"                         2 "--dropout 1 is outside" $TG train $D/corpus.txt -o $M --dropout 1
t "train: --val 0.9"                           2 "--val 0.9 is outside" $TG train $D/corpus.txt -o $M --val 0.9
t "train: an unknown cell"                     2 "--cell lstmm" $TG train $D/corpus.txt -o $M --cell lstmm
t "train: no -o"                               2 "-o MODEL is required" $TG train $D/corpus.txt
t "train: --threads 0"                         2 "--threads 0 is outside 1..64" $TG train $D/corpus.txt -o $M --threads 0
t "train: --threads 2 says so"                 0 "2 threads"     $TG train $D/corpus.txt -o $D/t2.safetensors --threads 2 --steps 2 --val 0 $S
t "train: no corpus"                           2 "which corpus" $TG train -o $M
t "train: two corpora"                         2 "unexpected argument" $TG train $D/corpus.txt $D/notes.txt -o $M
t "train: an option given twice"               2 "given twice" $TG train $D/corpus.txt -o $M --steps 2 --steps 3
t "train: a sample option to train"            2 "unknown option --temperature" $TG train $D/corpus.txt -o $M --temperature 1
t "an unknown command"                         2 "unknown command" $TG trian $D/corpus.txt

# --- train, resume, divergence --------------------------------------------------
t "train: 30 steps"                            0 "steps 0 -> 30" $TG train $D/corpus.txt -o $M --steps 30 --val 0 $S
t "train: --val 0 prints no val loss"          0 ""              sh -c "! grep -q 'val loss' $D/last"
cp $M $D/m.keep
t "train: --resume --steps 20 means 20 more"   0 "steps 30 -> 50" $TG train $D/corpus.txt -o $M --resume --steps 20 --val 0 $S
t "train: --resume says the architecture wins" 0 "ignoring --hidden" $TG train $D/corpus.txt -o $M --resume --steps 1 --val 0 --seq 8 --batch 4 --hidden 32
head -c 3000 /usr/share/common-licenses/GPL-3 > $D/other.txt 2>/dev/null || printf 'Zz Qq Xx %.0s' $(seq 400) > $D/other.txt
t "train: --resume on another corpus is refused" 1 "--resume" $TG train $D/other.txt -o $M --resume --steps 1 $S
t "train: a ReLU model to push over"          0 "steps 0 -> 5" $TG train $D/corpus.txt -o $D/r.safetensors --cell relu --steps 5 --val 0 $S
cp $D/r.safetensors $D/r.keep
t "train: --lr 10 diverges with a message"     1 "diverged"     $TG train $D/corpus.txt -o $D/r.safetensors --resume --steps 300 --save-every 1 --lr 10 --clip 0 --val 0 $S
t "train: ... and says which checkpoint is kept" 0 "keeps the checkpoint of step" cat $D/last
t "train: the kept checkpoint still samples"   0 ""             $TG sample $D/r.safetensors --length 20
cp $D/r.keep $D/r.safetensors
t "train: --retry goes back with half the --lr" 0 "--retry: back to step 5 with --lr 5" sh -c "$TG train $D/corpus.txt -o $D/r.safetensors --resume --steps 20 --save-every 10 --lr 10 --clip 0 --val 0 --retry 12 $S; true"
t "train: ... and -o still samples after it"   0 ""             $TG sample $D/r.safetensors --length 20
t "train: --retry 101 is out of range"         2 "--retry 101 is outside 0..100" $TG train $D/corpus.txt -o $M --retry 101
t "train: --keep-best writes the best model"   0 "lowest validation loss" $TG train $D/corpus.txt -o $D/k.safetensors --steps 200 --keep-best --val 0.2 $S
t "train: the best model exists and loads"     0 ""              $TG sample $D/k.best.safetensors --length 5
t "train: --plot writes an SVG"                0 "loss curves"   $TG train $D/corpus.txt -o $D/p.safetensors --steps 200 --plot $D/p.svg --val 0.2 $S
t "train: the plot is an SVG with two curves"  0 ""              sh -c "grep -q '<svg' $D/p.svg && [ \$(grep -c '<polyline' $D/p.svg) -eq 2 ]"

# --- sample -------------------------------------------------------------------------
t "sample: works"                              0 ""              $TG sample $D/m.keep --length 10
t "sample: --tempreature is unknown"           2 "unknown option --tempreature" $TG sample $D/m.keep --tempreature 0.5
t "sample: --temperature nan"                  2 "finite"        $TG sample $D/m.keep --temperature nan
t "sample: --length 0"                         2 "--length 0 is outside" $TG sample $D/m.keep --length 0
t "sample: --length -5"                        2 "--length -5 is outside" $TG sample $D/m.keep --length -5
t "sample: --beam 4 --length -5"               2 "--length -5"   $TG sample $D/m.keep --beam 4 --length -5
t "sample: --beam 0"                           2 "--beam 0 is outside" $TG sample $D/m.keep --beam 0
t "sample: --threads 65"                       2 "--threads 65 is outside 1..64" $TG sample $D/m.keep --threads 65
t "sample: --top-p 1.5"                        2 "--top-p 1.5 is outside" $TG sample $D/m.keep --top-p 1.5
t "sample: a prime character not in the vocabulary" 2 "is not in the model's vocabulary" $TG sample $D/m.keep --prime "Q€"
t "sample: --skip-unknown drops it with a warning" 0 "dropped 1" $TG sample $D/m.keep --prime "a€" --skip-unknown --length 5
t "sample: --prime invalid UTF-8"              2 "not valid UTF-8" $TG sample $D/m.keep --prime "$(printf 'a\351')"
t "sample: beam search honours --length"       0 "beam 3"        $TG sample $D/m.keep --beam 3 --length 7
t "sample: beam output is at most --length long" 0 ""            sh -c "[ \$(sed -n 2p $D/last | wc -m) -le 8 ]"
t "sample: a text file named .safetensors"     1 "not a safetensors file" sh -c "cp README.md $D/t.safetensors && $TG sample $D/t.safetensors"
t "sample: a directory as the model"           1 "Is a directory" $TG sample $D
t "sample: a missing model"                    1 "No such file or directory" $TG sample $D/none.safetensors
t "sample: no model"                           2 "which model"   $TG sample --length 5
t "sample: --help"                             0 "usage"         $TG --help

# --- quantize -------------------------------------------------------------------------
Q=$D/q8.safetensors
t "quantize: writes an int8 model"             0 "int8 weights"  $TG quantize $D/m.keep -o $Q
t "quantize: --check compares on validation"   0 "agrees"        $TG quantize $D/m.keep -o $Q --check $D/corpus.txt --val 0.2
t "quantize: --check reports --precise too"    0 "with --precise" $TG quantize $D/m.keep -o $Q --check $D/corpus.txt --val 0.2
t "quantize: --calibrate calibrates"          0 "calibrated on" $TG quantize $D/m.keep -o $Q --calibrate $D/corpus.txt
t "quantize: --calibrate a missing corpus"     1 "No such file or directory" $TG quantize $D/m.keep -o $D/q8c.safetensors --calibrate $D/none.txt
t "quantize: ... and wrote nothing"            0 ""              sh -c "[ ! -e $D/q8c.safetensors ]"
t "quantize: the int8 model samples"           0 ""              $TG sample $Q --length 20 --temperature 0.7
t "quantize: ... and beam-searches"            0 "beam 2"        $TG sample $Q --beam 2 --length 10
t "quantize: --precise samples"                0 ""              $TG sample $Q --precise --length 20
t "quantize: --precise on an F32 model"        2 "for int8 models" $TG sample $D/m.keep --precise --length 5
t "quantize: names runs from an int8 model"    0 ""              $NM $Q 3
t "quantize: rnn-info says int8"               0 "int8: every matrix" build/rnn-info $Q
t "quantize: an int8 model does not train"     1 "no optimizer state" $TG train $D/corpus.txt -o $Q --resume --steps 1 $S
cp $Q $D/q8.keep
t "quantize: an int8 model again is refused"   1 "already int8"  $TG quantize $Q -o $D/q8b.safetensors
t "quantize: -o the model itself is refused"   2 "the model itself" $TG quantize $D/m.keep -o $D/m.keep
t "quantize: no -o"                            2 "-o INT8_MODEL is required" $TG quantize $D/m.keep
t "quantize: --check a missing corpus"         1 "No such file or directory" $TG quantize $D/m.keep -o $Q --check $D/none.txt
printf 'Q\342\202\254 costs 5\342\202\254\n' > $D/euro.txt
t "quantize: --check a corpus of other characters" 1 "does not know" $TG quantize $D/m.keep -o $Q --check $D/euro.txt
same "quantize: the int8 model is untouched by the refusals" $Q $D/q8.keep

# --- a word-level model ------------------------------------------------------------
W=$D/w.safetensors
t "words: train a word model"                  0 "words and line ends" $TG train $D/corpus.txt -o $W --words --steps 20 --val 0 $S
t "words: the summary counts words"            0 "" grep -q "words (.* distinct)" $D/last
t "words: rare words are <unk> (--min-count)"  0 "of them <unk>" $TG train $D/corpus.txt -o $D/w5.safetensors --words --min-count 5 --steps 1 --val 0 $S
t "words: --max-words 4 leaves no word"        2 "--max-words 4 is outside" $TG train $D/corpus.txt -o $W --words --max-words 4
t "words: --min-count 0"                       2 "--min-count 0 is outside" $TG train $D/corpus.txt -o $W --words --min-count 0
t "words: a short corpus counts words"         1 "words; --seq"  $TG train $D/tiny.txt -o $D/w6.safetensors --words $S
t "words: --resume goes on with the checkpoint's words" 0 "steps 20 -> 25" $TG train $D/corpus.txt -o $W --resume --steps 5 --val 0 $S
t "words: --resume --words on a char model"    2 "a character model" $TG train $D/corpus.txt -o $M --resume --words --steps 1 $S
t "words: sampling writes words"               0 ""              $TG sample $W --length 30 --prime "The model"
t "words: an unknown prime word is <unk>"      0 ""              $TG sample $W --length 5 --prime "zyxwvut qqq"
t "words: beam search says per word"           0 "per word"      $TG sample $W --beam 3 --length 6
t "words: rnn-info lists the words"            0 "words; punctuation split off, case kept" build/rnn-info $W
t "words: --lower lower-cases"                 0 "lower-cased"   sh -c "$TG train $D/corpus.txt -o $D/w7.safetensors --words --lower --steps 1 --val 0 $S >/dev/null && build/rnn-info $D/w7.safetensors"

# --- names ------------------------------------------------------------------------
printf 'Anna\nBert\nCora\nDirk\nEmma\nFinn\nGreta\nHugo\n%.0s' $(seq 60) > $D/names.txt
t "names: a model of names"                    0 "" $TG train $D/names.txt -o $D/n.safetensors --steps 40 --val 0 $S
t "names: draws names"                         0 "frame  2:" $NM $D/n.safetensors 3
t "names: COUNT x"                             2 "COUNT \"x\"" $NM $D/n.safetensors x
t "names: COUNT 0"                             2 "1..100000" $NM $D/n.safetensors 0
printf 'abcdefgh%.0s' $(seq 200) > $D/nonl.txt
t "names: a model without newlines"            0 "" $TG train $D/nonl.txt -o $D/nonl.safetensors --steps 2 --val 0 $S
t "names: a vocabulary without a newline says so" 1 "knows no newline" $NM $D/nonl.safetensors 2
t "names: a bad file"                          1 "not a safetensors file" $NM README.md 2
t "names: an unknown option"                   2 "unknown option" $NM $D/n.safetensors --count 3

# --- langid ---------------------------------------------------------------------------
t "langid: --data must be one of three"        2 "sentences, words or both" $LG --data French
t "langid: --minutes 0"                        2 "--minutes"       $LG --minutes 0
t "langid: --out a missing directory"          2 "not a directory" $LG --out $D/nodir
t "langid: classify without a text"            2 "usage: langid classify" $LG classify $D/m.safetensors
t "langid: classify with a missing model"      1 "No such file or directory" $LG classify $D/none.safetensors "Hallo"
t "langid: classify with a language model"     1 "not a classifier" $LG classify $D/n.safetensors "Hallo"
t "langid: trains on both data sets in a blink" 0 "naive Bayes"    $LG --minutes 0.02 --per-language 100 --out $D
wrote langid langid-sentences-gru.safetensors langid-words-transformer.safetensors langid-sentences-curves.svg \
      langid-words-gru-confusion.svg
t "langid: classify answers with a language"   0 "%)"              $LG classify $D/langid-sentences-gru.safetensors "Der Hund schläft."
t "langid: an unknown character is said"       0 "unknown to the model" $LG classify $D/langid-words-gru.safetensors "日本語"
t "langid: bad UTF-8 in a text"                1 "not valid UTF-8 at byte 2" $LG classify $D/langid-words-gru.safetensors "$(printf 'ab\377')"
t "langid: an empty text"                      1 "empty"           $LG classify $D/langid-words-gru.safetensors ""

# --- addition, adding_problem -------------------------------------------------------
t "addition: --model must be one of three"     2 "keras, attention or both" $AD --model lstm
t "addition: --minutes 0"                      2 "--minutes"       $AD --minutes 0
t "addition: a missing model"                  1 "train one first" $AD --load $D/none.safetensors 1+2
t "addition: a language model is not one"      1 "not a sequence-to-sequence" $AD --load $D/n.safetensors 1+2
t "addition: trains both models in a blink"    0 "held-out exact match" $AD --minutes 0.01 --out $D
wrote addition addition-keras.safetensors addition-attention.safetensors addition-curves.svg
t "addition: answers a sum"                    0 "129+124 = "      $AD --load $D/addition-attention.safetensors 129+124
t "addition: 12+ has no second number"         1 "second number is missing" $AD --load $D/addition-attention.safetensors 12+
t "addition: 1234+5 has too many digits"       1 "at most 3 digits" $AD --load $D/addition-attention.safetensors 1234+5
t "addition: letters"                          1 "is not a digit"  $AD --load $D/addition-attention.safetensors 1a+2
t "addition: an empty sum"                     1 "empty"           $AD --load $D/addition-attention.safetensors ""
t "addition: two pluses"                       1 "exactly one '+'" $AD --load $D/addition-attention.safetensors 1+2+3
t "adding_problem: --lengths not numbers"      2 "--lengths wants" $AP --lengths 50,x
t "adding_problem: --lengths too long"         2 "--lengths wants" $AP --lengths 5000
t "adding_problem: --batch must divide 1024"   2 "must divide"     $AP --batch 24
t "adding_problem: runs in a blink"            0 "always answering 1" $AP --lengths 10 --seconds 0.2 --out $D
wrote adding_problem adding-10.svg
t "topics: --maxlen 0"                         2 "--maxlen"        $TP --maxlen 0
t "topics: --out a missing directory"          2 "not a directory" $TP --out $D/nodir
t "topics: classify without a text"            2 "usage: topics classify" $TP classify $D/m.safetensors
t "topics: classify with a char-level model"   1 "not a word-level classifier" $TP classify $D/langid-words-gru.safetensors "hello"
t "topics: --vector-epochs 0"                 2 "--vector-epochs" $TP --vector-epochs 0
t "topics: trains the three models in a blink" 0 "naive Bayes"     $TP --minutes 0.01 --vector-epochs 1 --out $D
t "topics: ... and the bi-GRU on its own vectors" 0 "fine-tuned"  cat $D/last
wrote topics topics-lstm.safetensors topics-self-attention.safetensors topics-bi-gru.safetensors topics-curves.svg \
      topics-bayes-confusion.svg topics-vectors.txt topics-vectors-curves.svg
t "topics: classify answers with a topic"      0 "%)"              $TP classify $D/topics-bi-gru.safetensors "The compiler crashed."
t "topics: a text with no words"               1 "no words"        $TP classify $D/topics-bi-gru.safetensors "?!"
t "topics: bad UTF-8 in a text"                1 "not valid UTF-8" $TP classify $D/topics-bi-gru.safetensors "$(printf 'ab\377')"

same "the corpus is intact after all of it" $D/corpus.txt $D/corpus.keep
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
