package hub

import (
	"fmt"
	"strings"
)

// alias is one entry of the alias table.
type alias struct {
	name, repo string
	// unsupported says why the model cannot be used; "" when it can.
	unsupported string
}

// aliases are the short names of the German→English models known to work
// (or known not to, with the reason). Any other hub repository id may be
// given in full; it is then checked when its config.json arrives.
var aliases = []alias{
	// transformer-align, 6+6 layers, d 512, swish, joint vocabulary 58k.
	{name: "opus-mt-de-en", repo: "Helsinki-NLP/opus-mt-de-en"},
	// Tatoeba Challenge transformer-big: 6+6 layers, d 1024, 16 heads,
	// FFN 4096, relu, shared embeddings, separate_vocabs false, float16
	// pytorch_model.bin. Every field is one the marian importer reads.
	{name: "opus-mt-tc-big-de-en", repo: "Helsinki-NLP/opus-mt-tc-big-de-en"},
	// FSMT is a different architecture (separate source and target
	// embeddings and vocabularies, fairseq layout).
	{name: "wmt19-de-en", repo: "facebook/wmt19-de-en", unsupported: `its config.json has model_type "fsmt" (fairseq FSMT, separate source and target vocabularies), not "marian"; only MarianMT checkpoints are supported`},
}

// Aliases returns the alias table: short name → hub repository id, for the
// models known to work.
func Aliases() map[string]string {
	m := map[string]string{}
	for _, a := range aliases {
		if a.unsupported == "" {
			m[a.name] = a.repo
		}
	}
	return m
}

// maxNamePart bounds each half of a repository id (the hub allows 96).
const maxNamePart = 96

// ParseName returns the hub repository id ("owner/name") that name stands
// for: an alias from the table, or a repository id given in full. It
// refuses names that are not repository ids, and aliases of models known
// not to work (wrapping ErrUnsupported, with the reason).
func ParseName(name string) (repo string, err error) {
	for _, a := range aliases {
		if name == a.name || name == a.repo {
			if a.unsupported != "" {
				return "", fmt.Errorf("hub: %s (%s) is not supported: %s: %w", a.name, a.repo, a.unsupported, ErrUnsupported)
			}
			return a.repo, nil
		}
	}
	if err := checkRepoID(name); err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	return name, nil
}

// checkRepoID checks the hub's rules for a repository id: owner/name, each
// part 1..96 characters of letters, digits, '-', '_' and '.', not starting
// or ending with '-' or '.', without "--" or "..".
func checkRepoID(id string) error {
	owner, name, ok := strings.Cut(id, "/")
	if !ok || strings.Contains(name, "/") {
		return fmt.Errorf("%q is not a model name: want a short name (%s) or a hub repository id such as Helsinki-NLP/opus-mt-de-en", id, strings.Join(aliasNames(), ", "))
	}
	for _, part := range []string{owner, name} {
		if err := checkPart(part); err != nil {
			return fmt.Errorf("%q is not a hub repository id: %s", id, err)
		}
	}
	return nil
}

// checkPart checks one half of a repository id.
func checkPart(p string) error {
	if p == "" || len(p) > maxNamePart {
		return fmt.Errorf("each part must have 1 to %d characters", maxNamePart)
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q holds %q; only letters, digits, '-', '_' and '.' are allowed", p, r)
		}
	}
	if strings.Contains(p, "--") || strings.Contains(p, "..") {
		return fmt.Errorf("%q holds \"--\" or \"..\"", p)
	}
	if strings.IndexAny(p[:1], "-.") == 0 || strings.IndexAny(p[len(p)-1:], "-.") == 0 {
		return fmt.Errorf("%q starts or ends with '-' or '.'", p)
	}
	return nil
}

// aliasNames lists the usable short names, for messages.
func aliasNames() []string {
	var names []string
	for _, a := range aliases {
		if a.unsupported == "" {
			names = append(names, a.name)
		}
	}
	return names
}

// displayName is the short name of repo when it has one, else repo.
func displayName(repo string) string {
	for _, a := range aliases {
		if a.repo == repo && a.unsupported == "" {
			return a.name
		}
	}
	return repo
}

// cacheKey is the directory name of repo in the cache: "owner--name"
// (repository ids never hold "--", so the mapping is one to one).
func cacheKey(repo string) string {
	return strings.Replace(repo, "/", "--", 1)
}

// checkRevision refuses revisions that cannot be a branch, tag or commit.
func checkRevision(rev string) error {
	if rev == "" || len(rev) > 255 {
		return fmt.Errorf("hub: revision %q: want a branch, tag or commit of 1 to 255 characters", rev)
	}
	for _, r := range rev {
		if r < 0x21 || r == 0x7f || r == '\\' {
			return fmt.Errorf("hub: revision %q holds a space, control character or backslash", rev)
		}
	}
	if strings.Contains(rev, "..") {
		return fmt.Errorf("hub: revision %q holds \"..\"", rev)
	}
	return nil
}
