package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
)

// dsctlCmd is the test binary run as dsctl (see TestMain), without any
// DSCTL_* target settings from the environment.
func dsctlCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	// GORACE: a -race binary otherwise sleeps a second before exiting.
	env := []string{"DSCTL_TEST_EXEC=1", "GORACE=atexit_sleep_ms=0"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DSCTL_") && !strings.HasPrefix(kv, "NO_COLOR=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}

// restartServe starts `dsctl serve` on a given port, retrying while the
// port is not free yet (the killed server's socket may linger briefly).
func restartServe(t *testing.T, port string, args ...string) *serverProc {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := dsctlCmd(append([]string{"serve", "--port", port}, args...)...)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		found := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if m := bannerURL.FindStringSubmatch(sc.Text()); m != nil {
					found <- m[1]
				}
			}
			close(found)
		}()
		u, ok := <-found
		if ok {
			go func() {
				for range found { // keep reading stderr so the server never blocks on it
				}
			}()
			p := &serverProc{cmd: cmd, url: u}
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			})
			return p
		}
		_ = cmd.Wait() // it exited without a banner: the port was taken
		if time.Now().After(deadline) {
			t.Fatalf("dsctl serve could not listen on port %s again", port)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lines collects a child's output lines as they arrive.
type lines struct {
	done chan struct{} // closed at EOF
	mu   sync.Mutex
	got  []string
	seen []time.Time
}

func collectLines(r io.Reader) *lines {
	l := &lines{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.got = append(l.got, sc.Text())
			l.seen = append(l.seen, time.Now())
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *lines) snapshot() ([]string, []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...), append([]time.Time(nil), l.seen...)
}

func (l *lines) count() int {
	got, _ := l.snapshot()
	return len(got)
}

// TestTailEndToEnd is acceptance point 2 of the client issue, with real
// processes: `dsctl tail s --from start` with stdout piped prints NDJSON of
// the existing messages, then one appended by `dsctl stream append` (a
// child process too); the server is killed with SIGKILL and restarted on
// the same data dir and port while the tail runs, more messages are
// appended, and the tail's output holds every message exactly once, in
// order. SIGINT then ends the tail with exit 0.
func TestTailEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	srv := startServe(t, "--data-dir", dir)
	u, err := url.Parse(srv.url)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	cli := func(args ...string) {
		t.Helper()
		for _, v := range []string{"DSCTL_URL", "DSCTL_PROJECT", "DSCTL_TOKEN", "DSCTL_DATA_DIR"} {
			t.Setenv(v, "")
		}
		runCLI(t, false, "", append(args, "--url", srv.url, "--data-dir", dir)...).must(t)
	}
	cli("stream", "create", "s")
	for i := 0; i < 3; i++ {
		cli("stream", "append", "s", "--data", fmt.Sprintf(`{"n":%d}`, i))
	}

	tail := dsctlCmd("tail", "s", "--from", "start", "--url", srv.url, "--data-dir", dir)
	stdout, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	tail.Stderr = &stderr
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if tail.ProcessState == nil {
			_ = tail.Process.Kill()
			_ = tail.Wait()
		}
	})
	out := collectLines(stdout)
	waitFor(t, "the existing messages", func() bool { return out.count() == 3 })

	// An append by a separate `dsctl stream append` process.
	app := dsctlCmd("stream", "append", "s", "--data", `{"n":3}`, "--url", srv.url, "--data-dir", dir)
	started := time.Now()
	if b, err := app.CombinedOutput(); err != nil {
		t.Fatalf("dsctl stream append: %v\n%s", err, b)
	}
	exited := time.Now()
	waitFor(t, "the appended message", func() bool { return out.count() == 4 })
	_, seen := out.snapshot()
	// Figures for the record, not assertions: the line usually arrives
	// before the append process has finished exiting.
	t.Logf("dsctl stream append started → line on the tail's stdout: %s (the append process ran %s)",
		seen[3].Sub(started).Round(time.Millisecond), exited.Sub(started).Round(time.Millisecond))

	// kill -9 the server mid-tail and start it again on the same port.
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	waitFor(t, "the tail to notice", func() bool { return strings.Contains(stderr.String(), "reconnecting…") })
	srv = restartServe(t, port, "--data-dir", dir)
	for i := 4; i < 8; i++ {
		cli("stream", "append", "s", "--data", fmt.Sprintf(`{"n":%d}`, i))
	}
	waitFor(t, "the messages appended after the restart", func() bool { return out.count() >= 8 })

	if err := tail.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select { // read to EOF before Wait closes the pipe
	case <-out.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the tail did not end after SIGINT")
	}
	if werr := tail.Wait(); werr != nil {
		t.Fatalf("tail after SIGINT: %v, want exit 0; stderr:\n%s", werr, stderr.String())
	}
	got, _ := out.snapshot()
	if len(got) != 8 {
		t.Fatalf("tail printed %d lines, want 8:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i, line := range got {
		var m struct {
			Offset string `json:"offset"`
			Data   struct {
				N *int `json:"n"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil || m.Data.N == nil || *m.Data.N != i || m.Offset != engine.FormatOffset(int64(i)) {
			t.Fatalf("line %d is %q, want message n=%d at offset %s (err %v); all:\n%s", i, line, i, engine.FormatOffset(int64(i)), err, strings.Join(got, "\n"))
		}
	}
	if e := stderr.String(); !strings.Contains(e, "tail: reconnected to "+srv.url) {
		t.Fatalf("stderr lacks the reconnection note:\n%s", e)
	}
	t.Logf("tail stderr:\n%s", stderr.String())
}
