package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/deen-mt/deen/hub"
)

func init() {
	register("models", "list the models fetched by translate get; models rm NAME deletes one", runModels)
}

// modelsUsage is the synopsis of models.
const modelsUsage = `usage: translate models           list the downloaded models
       translate models rm NAME   delete one

The models live in $DEEN_HOME/models (DEEN_HOME defaults to
$XDG_CACHE_HOME/deen, else ~/.cache/deen); translate get adds them.`

// runModels is the models verb.
func runModels(e *env, args []string) int {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprintln(e.stderr, modelsUsage) }
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() == 0:
		return listModels(e)
	case fs.NArg() == 2 && fs.Arg(0) == "rm":
		name := fs.Arg(1)
		m, lerr := hub.Lookup(name)
		if err := hub.Remove(name); err != nil {
			fmt.Fprintln(e.stderr, "translate models rm:", hubText(err))
			return exitFailure
		}
		if lerr != nil { // a directory without a finished model
			fmt.Fprintf(e.stdout, "removed the unfinished download of %s\n", name)
			return exitOK
		}
		fmt.Fprintf(e.stdout, "removed %s (%.1f MB)\n", m.Name, float64(m.Size)/1e6)
		return exitOK
	}
	fs.Usage()
	return exitUsage
}

// listModels prints the cached models as a table.
func listModels(e *env) int {
	list, err := hub.List()
	if err != nil {
		fmt.Fprintln(e.stderr, "translate models:", hubText(err))
		return exitFailure
	}
	if len(list) == 0 {
		dir, _ := hub.CacheDir()
		fmt.Fprintf(e.stdout, "no models downloaded yet (cache: %s); try: translate get opus-mt-de-en\n", dir)
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tDTYPE\tPARAMETERS\tSOURCE")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%.1f MB\t%s\t%s\t%s@%s\n", m.Name, float64(m.Size)/1e6, m.DType, count(m.Parameters), m.Repo, m.Revision)
	}
	tw.Flush()
	return exitOK
}

// modelName is the model the flags name: --model, else $DEEN_MODEL ("" for
// the embedded model).
func (m *modelFlags) modelName() string { return modelOrEnv(*m.model) }

// modelOrEnv is name, or $DEEN_MODEL when name is "".
func modelOrEnv(name string) string {
	if name != "" {
		return name
	}
	return os.Getenv("DEEN_MODEL")
}

// resolveModel turns a --model value into a file path: an existing path
// first, else a model fetched by translate get (by short name or hub
// repository id). It never uses the network. A value that is no model name
// (or ends in .deen) is returned as it is, for the loader to report.
func resolveModel(name string) (string, error) {
	if _, err := os.Stat(name); err == nil || strings.HasSuffix(name, ".deen") {
		return name, nil
	}
	if _, err := hub.ParseName(name); errors.Is(err, hub.ErrUnsupported) {
		return "", errors.New(hubText(err))
	} else if err != nil {
		return name, nil
	}
	path, err := hub.Resolve(name)
	if errors.Is(err, hub.ErrNotDownloaded) {
		return "", fmt.Errorf("model %q is not downloaded: run translate get %s", name, name)
	}
	if err != nil {
		return "", errors.New(hubText(err))
	}
	return path, nil
}
