package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startLines starts bin with args, killed when the test ends, and sends
// its stderr lines to the channel it returns (closed at the end).
func startLines(t *testing.T, bin string, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// An os.Pipe, not cmd.StderrPipe: Wait closes the latter, and the
	// lines the process wrote just before it ended could be lost unread.
	stderr, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		stderr.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); stderr.Close() })
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// startServe runs "translate serve" on a free loopback port and returns
// the process and its base URL; stderr lines after the first go to lines.
func startServe(t *testing.T, args ...string) (*exec.Cmd, string, <-chan string) {
	t.Helper()
	bin, model, _ := setup(t)
	cmd, lines := startLines(t, bin, append([]string{"serve", "--model", model, "--beam", "1", "--addr", "127.0.0.1:0"}, args...)...)
	first, ok := <-lines
	if !ok {
		t.Fatal("serve printed nothing")
	}
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("serve said %q", first)
	}
	return cmd, m[1], lines
}

func TestServeTranslatesAndStopsGracefully(t *testing.T) {
	cmd, base, lines := startServe(t, "--batch-window", "1s")
	// The first request waits the 1 s batch window: SIGTERM arrives while
	// it is in flight, and it is still answered.
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result)
	go func() {
		resp, err := http.Post(base+"/translate", "application/json", strings.NewReader(`{"q":"Der Hund spielt im Garten.","source":"de","target":"en"}`))
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{resp.StatusCode, string(b), err}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !inFlight(base, 2) { // the translate request and this /metrics request
		if time.Now().After(deadline) {
			t.Fatal("the request never showed in deen_http_requests_in_flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-done
	var got struct{ TranslatedText string }
	if r.err != nil || r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil || got.TranslatedText == "" {
		t.Errorf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	// Read stderr to its end before Wait, which closes the pipe when the
	// process exits and may drop the last lines unread.
	var said []string
	for l := range lines {
		said = append(said, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
	if len(said) < 2 || !strings.HasPrefix(said[len(said)-1], "translate serve: stopped") {
		t.Errorf("serve said %q", said)
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Error("still answering after it stopped")
	}
}

// TestServeShutdownIsBounded: a request still in flight after
// --shutdown-timeout does not hold the process; it exits 1 and says so.
func TestServeShutdownIsBounded(t *testing.T) {
	cmd, base, lines := startServe(t, "--batch-window", "1s", "--shutdown-timeout", "100ms")
	// The request waits the 1 s batch window: still in flight when the
	// 100 ms bound has passed, so it is dropped, not answered.
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Post(base+"/translate", "application/json", strings.NewReader(`{"q":"Der Hund spielt im Garten.","source":"de","target":"en"}`))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		answered <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !inFlight(base, 2) {
		if time.Now().After(deadline) {
			t.Fatal("the request never showed in deen_http_requests_in_flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Errorf("serve after SIGINT with a request in flight past the bound: %v, want exit 1", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stopping took %v with --shutdown-timeout 100ms", took)
	}
	if err := <-answered; err == nil {
		t.Error("the request in flight was answered: shutdown waited past its bound")
	}
	var said []string
	for l := range lines {
		said = append(said, l)
	}
	if !strings.Contains(strings.Join(said, "\n"), "requests still in flight after 100ms") {
		t.Errorf("serve said %q", said)
	}
}

// inFlight reports whether /metrics shows at least n requests in flight.
func inFlight(base string, n int) bool {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^deen_http_requests_in_flight (\d+)`).FindSubmatch(b)
	if m == nil {
		return false
	}
	got, err := strconv.Atoi(string(m[1]))
	return err == nil && got >= n
}

func TestServeUsageErrors(t *testing.T) {
	bin, model, _ := setup(t)
	dir := t.TempDir()
	badKeys := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(badKeys, []byte("k 1 2 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"--char-limit", "0"}, exitUsage, "char limit 0"},
		{[]string{"--require-api-key"}, exitUsage, "give the keys with WithAPIKeys"},
		{[]string{"--api-keys", filepath.Join(dir, "none")}, exitUsage, "no such file"},
		{[]string{"--api-keys", badKeys}, exitUsage, "line 1: 4 fields"},
		{[]string{"--addr", "256.1.1.1:5000"}, exitFailure, "choose another --addr"},
		{[]string{"--nope"}, exitUsage, "flag provided but not defined"},
		{[]string{"--trusted-proxy", "10.0.0.0/8,nginx"}, exitUsage, `"nginx" is neither an address nor a network`},
		{[]string{"--trusted-proxy", "::1,"}, exitUsage, `"" is neither`},
	} {
		_, stderr, code := runBin(t, bin, "", append([]string{"serve", "--model", model}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	if _, stderr, code := runBin(t, bin, "", "serve", "--help"); code != exitOK || !strings.Contains(stderr, "--req-limit") || !strings.Contains(stderr, "SIGTERM") {
		t.Errorf("serve --help: exit %d, %q", code, stderr)
	}
}

// TestParseProxies checks --trusted-proxy's list: addresses become
// single-address networks.
func TestParseProxies(t *testing.T) {
	got, err := parseProxies("127.0.0.1, 10.0.0.0/8,::1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1/32", "10.0.0.0/8", "::1/128"}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range got {
		if got[i].String() != want[i] {
			t.Errorf("%d: %v, want %s", i, got[i], want[i])
		}
	}
}
