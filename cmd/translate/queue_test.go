//go:build unix

package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// natsServer builds the nats-server binary from its Go module (a
// dependency of this one) once per test run, or skips.
var natsBin struct {
	once sync.Once
	path string
	err  error
}

func natsServer(t testing.TB) string {
	t.Helper()
	natsBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "nats-server-")
		if err != nil {
			natsBin.err = err
			return
		}
		natsBin.path = filepath.Join(dir, "nats-server")
		goCmd, err := exec.LookPath("go")
		if err != nil {
			goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if out, err := exec.Command(goCmd, "build", "-o", natsBin.path, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
			natsBin.err = fmt.Errorf("go build github.com/nats-io/nats-server/v2: %v\n%s", err, out)
		}
	})
	if natsBin.err != nil {
		t.Skipf("no nats-server binary, skipping the CLI queue test: %v", natsBin.err)
	}
	return natsBin.path
}

// startNATS runs a real nats-server with JetStream on a free loopback
// port until the test ends and returns its URL.
func startNATS(t testing.TB) string {
	t.Helper()
	bin := natsServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", t.TempDir())
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not start: %s", out.String())
		}
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

// TestQueueCLI runs a real nats-server, two translate worker processes
// and translate files --queue, and compares the outputs with a local
// translate files run byte for byte; a worker stops cleanly on SIGTERM.
func TestQueueCLI(t *testing.T) {
	bin, model, refs := setup(t)
	url := startNATS(t)
	lines := germanLines(refs, 450)
	inputs := map[string]string{
		"a.de":          strings.Join(lines, "\n") + "\n",
		"sub/b.txt":     "\uFEFF" + strings.Join(lines[:5], "\r\n") + "\r\n\r\n" + lines[6],
		"sub/deep/c.de": "  " + lines[0] + "\n\t" + lines[1] + "  \n",
		"empty.de":      "",
	}
	local, queued := t.TempDir(), t.TempDir()
	for _, d := range []string{local, queued} {
		for name, content := range inputs {
			writeFile(t, filepath.Join(d, name), content)
		}
	}
	if _, stderr, code := runBin(t, bin, "", append(append([]string{"files", "--model", model}, fastFlags...), local)...); code != 0 {
		t.Fatalf("local run: exit %d: %s", code, stderr)
	}

	var workers []*exec.Cmd
	var logs []*strings.Builder
	for range 2 {
		cmd := exec.Command(bin, append(append([]string{"worker", "--queue", url, "--model", model}, fastFlags...), "--threads", "1")...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		workers, logs = append(workers, cmd), append(logs, &stderr)
	}
	_, stderr, code := runBin(t, bin, "", append(append([]string{"files", "--queue", url, "--model", model}, fastFlags...), queued)...)
	if code != 0 {
		t.Fatalf("files --queue: exit %d: %s", code, stderr)
	}
	for _, out := range []string{"a.en", "sub/b.txt.en", "sub/deep/c.en", "empty.en"} {
		compareLines(t, out, readFile(t, filepath.Join(queued, out)), readFile(t, filepath.Join(local, out)))
	}
	// A rerun finds every output there.
	if _, stderr, code := runBin(t, bin, "", append(append([]string{"files", "--queue", url, "--model", model}, fastFlags...), queued)...); code != 0 || !strings.Contains(stderr, "nothing to translate") {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}
	// Other search flags: no worker for them (a note says so).
	writeFile(t, filepath.Join(queued, "late.de"), lines[0]+"\n")
	cmd := exec.Command(bin, "files", "--queue", url, "--model", model, "--beam", "2", "--max-len", "8", queued)
	var lateErr strings.Builder
	cmd.Stderr = &lateErr
	cmd.Start()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(lateErr.String(), "no worker with this model and these settings"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no note about missing workers: %q", lateErr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	if cmd.Wait(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(lateErr.String(), "interrupted") {
		t.Fatalf("files --queue without workers, interrupted: exit %d, %q", cmd.ProcessState.ExitCode(), lateErr.String())
	}

	for i, w := range workers {
		w.Process.Signal(syscall.SIGTERM)
		w.Wait()
		if code := w.ProcessState.ExitCode(); code != 0 || !strings.Contains(logs[i].String(), "stopped after") {
			t.Errorf("worker %d after SIGTERM: exit %d, log %q", i, code, logs[i].String())
		}
	}
	jobs := logs[0].String() + logs[1].String()
	if !strings.Contains(jobs, "waiting for jobs") {
		t.Errorf("worker logs: %q", jobs)
	}
}

func TestWorkerUsage(t *testing.T) {
	bin, model, _ := setup(t)
	for _, c := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"worker", "--model", model}, 2, "--queue nats://HOST:PORT is required"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--attempts", "0"}, 2, "--attempts 0"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--job-timeout", "0s"}, 2, "--job-timeout 0s"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--model", model}, 1, "is nats-server running there with --jetstream?"},
		{[]string{"files", "--queue", "nats://127.0.0.1:1", "--model", model, t.TempDir()}, 1, "is nats-server running there with --jetstream?"},
		{[]string{"worker", "--help"}, 0, "examples:"},
	} {
		_, stderr, code := runBin(t, bin, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.inStderr) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.inStderr)
		}
	}
}

// TestShardCLI splits one file over 3 shards (by line range) and a tree
// of 4 files over 2 shards (by file), runs every shard, merges, and
// compares with a local run.
func TestShardCLI(t *testing.T) {
	bin, model, refs := setup(t)
	lines := germanLines(refs, 120)
	one := "\uFEFF" + strings.Join(lines, "\r\n") // a last line without a line end
	base := append([]string{"files", "--model", model}, fastFlags...)
	ref, d := t.TempDir(), t.TempDir()
	for _, dir := range []string{ref, d} {
		writeFile(t, filepath.Join(dir, "one", "big.de"), one)
		for i := range 4 {
			writeFile(t, filepath.Join(dir, "tree", fmt.Sprintf("f%d.de", i)), strings.Join(lines[i*10:i*10+10], "\n")+"\n")
		}
	}
	for _, p := range []string{"one", "tree"} {
		if _, stderr, code := runBin(t, bin, "", append(base, filepath.Join(ref, p))...); code != 0 {
			t.Fatalf("local %s: exit %d: %s", p, code, stderr)
		}
	}
	for i := range 3 {
		_, stderr, code := runBin(t, bin, "", append(base, "--shard", fmt.Sprintf("%d/3", i), filepath.Join(d, "one"))...)
		if code != 0 || !strings.Contains(stderr, fmt.Sprintf("shard %d/3: 1 file(s) or parts", i)) {
			t.Fatalf("shard %d/3: exit %d: %s", i, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(d, "one", "big.en")); err == nil {
		t.Fatal("the output exists before the merge")
	}
	if _, stderr, code := runBin(t, bin, "", "files", "--merge", filepath.Join(d, "one")); code != 0 || !strings.Contains(stderr, "merged 1 file(s)") {
		t.Fatalf("--merge: exit %d: %s", code, stderr)
	}
	if got, want := readFile(t, filepath.Join(d, "one", "big.en")), readFile(t, filepath.Join(ref, "one", "big.en")); got != want {
		compareLines(t, "merged", got, want)
		t.Fatal("merged output differs (byte-order mark or last line)")
	}
	for i := range 2 {
		if _, stderr, code := runBin(t, bin, "", append(base, "--shard", fmt.Sprintf("%d/2", i), filepath.Join(d, "tree"))...); code != 0 || !strings.Contains(stderr, "shard "+fmt.Sprint(i)+"/2: 2 file(s)") {
			t.Fatalf("shard %d/2: exit %d: %s", i, code, stderr)
		}
	}
	for i := range 4 {
		out := fmt.Sprintf("tree/f%d.en", i)
		compareLines(t, out, readFile(t, filepath.Join(d, out)), readFile(t, filepath.Join(ref, out)))
	}
	for _, c := range []struct{ args, want string }{
		{"--shard 3/3", "want I/N with 0 ≤ I < N"},
		{"--shard x", "want I/N"},
		{"--merge --shard 0/2", "--merge only puts parts together"},
	} {
		_, stderr, code := runBin(t, bin, "", append(append([]string{"files"}, strings.Fields(c.args)...), d)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// BenchmarkQueue translates 2,000 lines (10 files of 200) with the tiny
// model through files --queue and 1, 2 and 4 worker processes (one thread
// each) on a real nats-server, and through a local files run with one
// thread, and reports lines per second.
//
//	go test ./cmd/translate -run '^$' -bench Queue -benchtime 3x
func BenchmarkQueue(b *testing.B) {
	bin, model, refs := setup(b)
	url := startNATS(b)
	lines := germanLines(refs, 2000)
	dir := b.TempDir()
	for i := range 10 {
		writeFile(b, filepath.Join(dir, "in", fmt.Sprintf("f%d.de", i)), strings.Join(lines[i*200:i*200+200], "\n")+"\n")
	}
	flags := []string{"--model", model, "--beam", "1", "--threads", "1"}
	measure := func(b *testing.B, extra ...string) {
		for b.Loop() {
			os.RemoveAll(filepath.Join(dir, "out"))
			args := append(append(append([]string{"files", "--quiet", "--out", filepath.Join(dir, "out")}, flags...), extra...), filepath.Join(dir, "in"))
			if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
		b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	}
	b.Run("local/jobs=1", func(b *testing.B) { measure(b, "--jobs", "1") })
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("queue/workers=%d", n), func(b *testing.B) {
			var ws []*exec.Cmd
			for range n {
				w := exec.Command(bin, append([]string{"worker", "--queue", url}, flags...)...)
				if err := w.Start(); err != nil {
					b.Fatal(err)
				}
				ws = append(ws, w)
			}
			defer func() {
				for _, w := range ws {
					w.Process.Signal(syscall.SIGTERM)
					w.Wait()
				}
			}()
			time.Sleep(2 * time.Second) // the workers load the model
			b.ResetTimer()
			measure(b, "--queue", url)
		})
	}
}

// TestWorkerKilledCLI kills a real worker process (SIGKILL: no chance to
// give its job back) while it translates a job; with --ack-wait 1s the
// server hands the job to a second worker, and translate files --queue
// still writes the same files as a local run.
func TestWorkerKilledCLI(t *testing.T) {
	bin, model, refs := setup(t)
	url := startNATS(t)
	flags := []string{"--beam", "1"}
	input := strings.Join(germanLines(refs, 600), "\n") + "\n"
	local, queued := t.TempDir(), t.TempDir()
	for _, d := range []string{local, queued} {
		writeFile(t, filepath.Join(d, "a.de"), input)
	}
	if _, stderr, code := runBin(t, bin, "", append(append([]string{"files", "--model", model}, flags...), local)...); code != 0 {
		t.Fatalf("local run: exit %d: %s", code, stderr)
	}
	worker := func() (*exec.Cmd, <-chan string) {
		return startLines(t, bin, append([]string{"worker", "--queue", url, "--model", model, "--threads", "1", "--ack-wait", "1s"}, flags...)...)
	}
	// waitFor returns the first line holding want, with the lines before it.
	waitFor := func(lines <-chan string, want string) (string, string) {
		var seen strings.Builder
		timeout := time.After(2 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("worker ended without %q: %s", want, seen.String())
				}
				if strings.Contains(l, want) {
					return l, seen.String()
				}
				seen.WriteString(l + "\n")
			case <-timeout:
				t.Fatalf("no %q from the worker in 2 minutes: %s", want, seen.String())
			}
		}
	}

	doomed, doomedLog := worker()
	waitFor(doomedLog, "waiting for jobs")
	submit := exec.Command(bin, append(append([]string{"files", "--queue", url, "--model", model}, flags...), queued)...)
	var submitErr bytes.Buffer
	submit.Stderr = &submitErr
	if err := submit.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { submit.Process.Kill(); submit.Wait() })
	taken, _ := waitFor(doomedLog, "taken, attempt 1")
	doomed.Process.Kill()
	doomed.Wait()
	id := strings.Fields(taken[strings.Index(taken, "queue: job ")+len("queue: job "):])[0]
	var rest strings.Builder
	for l := range doomedLog {
		rest.WriteString(l + "\n")
	}
	if strings.Contains(rest.String(), "job "+id+" done") {
		t.Fatalf("the worker finished job %s before SIGKILL reached it; make the jobs longer: %s", id, rest.String())
	}

	_, survivorLog := worker()
	if l, _ := waitFor(survivorLog, "job "+id+" "); !strings.Contains(l, "taken, attempt 2") {
		t.Errorf("the killed worker's job %s came back as %q, want its second attempt", id, l)
	}
	go func() {
		for range survivorLog {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- submit.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("files --queue: %v: %s", err, submitErr.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("files --queue did not finish: %s", submitErr.String())
	}
	compareLines(t, "a.en", readFile(t, filepath.Join(queued, "a.en")), readFile(t, filepath.Join(local, "a.en")))
}
