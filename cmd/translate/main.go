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

// parseFlags parses args into fs. When ok is false the verb ends with
// code: exitOK after -h or --help, exitUsage for bad flags (fs has printed
// the problem to its output).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return exitOK, true
}

func main() {
	os.Exit(run(&env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
}

// run dispatches to a subcommand, or translates when the first argument is
// not one.
func run(e *env, args []string) int {
	if len(args) > 0 {
		if sc, ok := subcommands[args[0]]; ok {
			return sc.run(e, args[1:])
		}
		if args[0] == "help" {
			usage(e.stdout)
			return exitOK
		}
	}
	if tr, ok := subcommands["translate"]; ok {
		return tr.run(e, args)
	}
	fmt.Fprintln(e.stderr, "translate: no default model is built into this binary yet; see README.md")
	return exitFailure
}

// usage lists the verbs.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: translate [flags] [TEXT...]   translate text (stdin when no TEXT)")
	fmt.Fprintln(w, "       translate SUBCOMMAND [flags]")
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
