// Command translate translates German to English with the deen engine.
//
//	translate "Der Hund spielt im Garten."     translate the arguments
//	translate < in.de > out.en                  translate stdin line by line
//	translate SUBCOMMAND [flags] ...            tokenize, convert, files, eval, train, ...
//
// Run "translate --help" for the full list. Exit codes: 0 success, 1 runtime
// failure, 2 usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode"
)

// env is what a subcommand reads and writes; tests substitute buffers.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// subcommand is one verb of the command line.
type subcommand struct {
	summary string
	run     func(e *env, args []string) int
}

// subcommands is filled by the init functions of the files beside this one,
// one file per verb.
var subcommands = map[string]subcommand{}

// register adds a verb; called from init functions.
func register(name, summary string, run func(e *env, args []string) int) {
	subcommands[name] = subcommand{summary: summary, run: run}
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// newFlags returns the flag set of a verb, writing its errors and its help
// (usage, then the flags with their defaults) to e.stderr.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs, flags anywhere on the line: before,
// between and after the other arguments, as most command lines allow.
// "--" ends the flags: what follows is taken as it is, also words that
// start with "-". Afterwards fs.Args() holds the other arguments in their
// order. When ok is false the verb ends with code: exitOK after -h or
// --help, exitUsage for bad flags (fs has printed the problem to its
// output).
//
// The standard flag package stops at the first argument that is not a
// flag, so parseFlags first moves the flags (with the values of flags that
// take one) before the other arguments, then parses "FLAGS -- ARGS".
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	var flags, pos []string
scan:
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			break scan
		case len(a) < 2 || a[0] != '-': // "-" alone is an argument (stdin)
			pos = append(pos, a)
		default:
			flags = append(flags, a)
			name, _, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !inline && takesValue(fs, name) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	if err := fs.Parse(append(append(flags, "--"), pos...)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return exitOK, true
}

// takesValue reports whether the flag name of fs reads the next argument
// as its value (every defined flag but the booleans).
func takesValue(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

func main() {
	os.Exit(run(&env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
}

// run dispatches to a subcommand, or translates when the first argument is
// not one. "help VERB" shows the help of VERB. A first argument that looks
// like a mistyped verb or names a file is a usage error rather than text
// to translate ("--" before it translates it).
func run(e *env, args []string) int {
	if len(args) > 0 {
		if sc, ok := subcommands[args[0]]; ok {
			return sc.run(e, args[1:])
		}
		if args[0] == "help" {
			return help(e, args[1:])
		}
		if msg, ok := notText(args[0]); ok {
			fmt.Fprintln(e.stderr, "translate:", msg)
			return exitUsage
		}
	}
	if tr, ok := subcommands["translate"]; ok {
		return tr.run(e, args)
	}
	fmt.Fprintln(e.stderr, "translate: no default model is built into this binary yet; see README.md")
	return exitFailure
}

// help is the help verb: the list of verbs, or the help of the verb named.
func help(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stdout)
		return exitOK
	}
	if sc, ok := subcommands[args[0]]; ok {
		return sc.run(e, []string{"--help"})
	}
	fmt.Fprintf(e.stderr, "translate: help %s: no such command; \"translate help\" lists them\n", args[0])
	return exitUsage
}

// notText reports whether a first argument word is more likely a mistyped
// command than German text, and says so: a lower-case word within a small
// edit distance of a verb (see typoLimit), or one word naming an existing
// file or folder that does not end like a sentence. German sentences and
// capitalised words ("Hallo", "Danke.") are text.
func notText(word string) (string, bool) {
	if word == "" || word[0] == '-' || strings.ContainsFunc(word, unicode.IsSpace) {
		return "", false
	}
	hint := fmt.Sprintf(" (to translate %q as text, put -- before it)", word)
	if isLowerASCII(word) && !germanNearVerbs[word] {
		best, bestD := "", 3
		for _, v := range verbNames() {
			if d := editDistance(word, v); d <= typoLimit(v) && d < bestD {
				best, bestD = v, d
			}
		}
		if best != "" {
			return fmt.Sprintf("unknown command %q; did you mean %q?%s", word, best, hint), true
		}
	}
	sentenceEnd := strings.ContainsFunc(word, unicode.IsLetter) && strings.ContainsAny(word[len(word)-1:], ".!?\"'")
	if _, err := os.Stat(word); err == nil && !sentenceEnd {
		return fmt.Sprintf("unknown command %q; did you mean \"files\"? (translate files %s)%s", word, word, hint), true
	}
	return "", false
}

// germanNearVerbs are German words written in lower case (not nouns, which
// German capitalises) that lie within typoLimit of a verb: "egal" is one
// letter from "eval", "hell" from "help". Found by running the typo rule
// over every word seen three times or more in the German side of the
// training corpus; they stay text.
var germanNearVerbs = map[string]bool{"egal": true, "hell": true}

// typoLimit is the edit distance up to which a word is taken for a typo of
// verb: 2 for verbs of seven letters or more ("tokenise", "transalte"), 1
// from four letters ("flies", "evl"), 0 below, so that short German words
// stay text ("gut" is not "get", "im" not "lm").
func typoLimit(verb string) int {
	return min((len(verb)-1)/3, 2)
}

// isLowerASCII reports whether s has only the letters a to z.
func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// verbNames lists the verbs, help included, sorted.
func verbNames() []string {
	names := []string{"help"}
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// editDistance is the optimal string alignment distance of two ASCII
// words: insertions, deletions, substitutions and swaps of two neighbours
// ("flies" → "files") cost one each.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// usage lists the verbs.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: translate [flags] [TEXT...]   translate text (stdin when no TEXT)")
	fmt.Fprintln(w, "       translate SUBCOMMAND [flags]")
	fmt.Fprintln(w, "       translate help SUBCOMMAND      the flags and examples of one subcommand")
	fmt.Fprintln(w, "flags may come before or after the other arguments; -- ends them (translate -- -5 Grad)")
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		if n != "translate" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	fmt.Fprintln(w, "subcommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, subcommands[n].summary)
	}
}
