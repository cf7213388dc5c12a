// Package filework translates files and folder trees so that an
// interruption loses nothing: it finds the inputs and names their outputs,
// refuses binary and non-UTF-8 files, and assembles each output in input
// order through a partial file with checkpoints, renaming it into place
// only when it is complete.
//
// Shard and Part split the work into disjoint parts for several processes
// without any server, and Merge puts a file's parts together.
//
// Where the translated lines come from is behind the Translator interface:
// Local translates in this process, and a queue of remote workers can do
// the same, so a file is assembled by this one piece of code whichever way
// its lines were translated.
//
// A file IN is translated into OUT.deen-partial; every second (and when
// interrupted) OUT.deen-partial.json (a Checkpoint) records how many input
// lines are done and how many bytes of the partial file hold them. The
// partial file is renamed to OUT only when complete. A rerun continues a
// partial file at the recorded line after cutting it to the recorded size
// (bytes written after the last checkpoint are translated again), provided
// the input, the model and the search settings are unchanged; otherwise it
// starts over.
package filework

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Naming says where outputs go.
type Naming struct {
	// OutDir, when not empty, holds the outputs, mirroring each folder
	// tree given; otherwise each output is written beside its input.
	OutDir string
	// Suffix names an output after its input: a ".de" ending is replaced
	// by it, otherwise it is appended (brief.de → brief.en, notes.txt →
	// notes.txt.en), beside the input and under OutDir alike. It must not
	// be empty. Files ending in it are this tool's outputs and are never
	// taken as inputs inside a folder.
	Suffix string
}

// Check reports a naming that cannot work: an empty suffix, or one with a
// path separator.
func (n Naming) Check() error {
	switch {
	case n.Suffix == "":
		return errors.New("an empty suffix would make outputs overwrite their inputs; give one such as .en")
	case strings.ContainsRune(n.Suffix, filepath.Separator) || strings.ContainsRune(n.Suffix, '/'):
		return errors.New("a suffix cannot contain a path separator; use an output folder")
	}
	return nil
}

// outName is the output name of the input name in: a ".de" ending
// replaced by suffix, or suffix appended.
func outName(in, suffix string) string {
	return strings.TrimSuffix(in, ".de") + suffix
}

// ErrSymlink is passed to Collect's skip function for a symbolic link
// inside a folder: links are not followed (a link may point out of the
// tree or into a loop); to translate its target, pass the target as a path.
// A path given to Collect is followed when it is a link.
var ErrSymlink = errors.New("symbolic link not followed; pass its target as a PATH to translate it")

// Collect expands paths (files and folder trees) into the files to
// translate and names their outputs. Inside folders, hidden files and
// folders (a leading dot), this package's own partial and checkpoint files,
// files ending in the output suffix and the output folder itself are left
// out, and so are the parts of outputs that shards write. A folder or entry
// that cannot be read, and a symbolic link
// (ErrSymlink), is passed to skip with its path and the walk goes on, so
// one unreadable sub-folder does not stop a batch. The returned error is
// for what makes the request itself wrong: a path that does not exist, a
// bad naming, or two inputs that would write the same output.
func Collect(paths []string, n Naming, skip func(path string, err error)) ([]*File, error) {
	if err := n.Check(); err != nil {
		return nil, err
	}
	var files []*File
	byOut := map[string]string{}
	add := func(in, out string) error {
		if prev, ok := byOut[out]; ok {
			return fmt.Errorf("%s and %s would both be translated to %s; translate them separately", prev, in, out)
		}
		if filepath.Clean(in) == filepath.Clean(out) {
			return fmt.Errorf("%s would be overwritten by its own translation; pick another output folder or suffix", in)
		}
		byOut[out] = in
		files = append(files, &File{In: in, Out: out})
		return nil
	}
	absOut := ""
	if n.OutDir != "" {
		absOut, _ = filepath.Abs(n.OutDir)
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w (check the PATH)", err)
		}
		if !st.IsDir() {
			out := outName(p, n.Suffix)
			if n.OutDir != "" {
				out = filepath.Join(n.OutDir, outName(filepath.Base(p), n.Suffix))
			}
			if err := add(p, out); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				// An unreadable folder (or entry): reported, skipped.
				skip(path, err)
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			name := d.Name()
			if abs, _ := filepath.Abs(path); absOut != "" && abs == absOut {
				return filepath.SkipDir // the output tree inside the input tree
			}
			if path != p && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				skip(path, ErrSymlink)
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() || strings.HasSuffix(name, PartialSuffix) ||
				strings.HasSuffix(name, CheckpointSuffix) || strings.HasSuffix(name, CheckpointSuffix+".tmp") || // left by older versions
				strings.Contains(name, partInfix) ||
				strings.HasSuffix(name, n.Suffix) {
				return nil
			}
			out := outName(path, n.Suffix)
			if n.OutDir != "" {
				rel, err := filepath.Rel(p, path)
				if err != nil {
					return err
				}
				out = filepath.Join(n.OutDir, outName(rel, n.Suffix))
			}
			return add(path, out)
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}
