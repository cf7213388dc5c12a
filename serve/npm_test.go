package serve

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// npmClient is the third-party client script: the npm package translate
// (franciscop/translate) with engine libre and its url pointed at our
// server, as a LibreTranslate user would configure it.
const npmClient = `import translate from "translate";
const [url, ...args] = process.argv.slice(2);
translate.engine = "libre";
translate.url = url;
for (const text of args) {
  try {
    console.log(JSON.stringify({ text: await translate(text, { from: "de", to: "en" }) }));
  } catch (err) {
    console.log(JSON.stringify({ error: err.message }));
  }
}
`

// npmTranslate returns a folder whose node_modules holds the translate
// package: $DEEN_NPM_PREFIX (where .ci/run installs it) or a fresh
// npm install into a temporary folder. It skips the test when node or npm
// is missing or the install fails.
func npmTranslate(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found: install nodejs and npm (.ci/run does) to run the npm client test")
	}
	if dir := os.Getenv("DEEN_NPM_PREFIX"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "translate", "package.json")); err == nil {
			return dir
		}
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not found: install npm (.ci/run does) to run the npm client test")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefix", dir, "translate@3")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("npm install translate@3 failed (offline?): %v\n%s", err, out)
	}
	return dir
}

// TestNPMTranslateClient runs the npm translate package against the
// server: a real LibreTranslate client, unchanged.
func TestNPMTranslateClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs npm and node")
	}
	dir := npmTranslate(t)
	script := filepath.Join(dir, "client.mjs")
	if err := os.WriteFile(script, []byte(npmClient), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, _ := newTestServer(t, nil)
	texts := germanTexts[:2]
	cmd := exec.Command("node", append([]string{script, ts.URL + "/translate"}, texts...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("node printed %q", out)
	}
	for i, line := range lines {
		var got struct{ Text, Error string }
		if err := json.Unmarshal([]byte(line), &got); err != nil || got.Error != "" {
			t.Fatalf("text %d: %q (%v)", i, line, err)
		}
		if want := alone(t, texts[i]); got.Text != want {
			t.Errorf("npm translate gave %q, want %q", got.Text, want)
		}
	}
}
