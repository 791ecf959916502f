package cli

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as dsctl: with DSCTL_TEST_EXEC=1 it runs the CLI
// instead of the tests, so process-level tests (kill -9, signals) exercise
// the real command without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("DSCTL_TEST_EXEC") == "1" {
		os.Exit(int(Main()))
	}
	os.Exit(m.Run())
}

var bannerURL = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)

type serverProc struct {
	cmd *exec.Cmd
	url string
}

// startServe runs `dsctl serve` in a child process and waits for its banner.
func startServe(t *testing.T, args ...string) *serverProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--port", "0"}, args...)...)
	cmd.Env = append(os.Environ(), "DSCTL_TEST_EXEC=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := bannerURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case p.url = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("dsctl serve printed no banner")
	}
	return p
}

func do(t *testing.T, method, url string, hdr map[string]string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestServeSurvivesKill9 is acceptance point 4 of the engine issue: 1,000
// acknowledged appends survive kill -9 byte-exact, and a retried producer
// append afterwards is a 204 duplicate carrying the original offset.
func TestServeSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	srv := startServe(t, "--data-dir", dir)
	stream := srv.url + "/v1/stream/crash"
	resp := do(t, "PUT", stream, map[string]string{"Content-Type": "application/octet-stream"}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	var want []byte
	var lastOffset string
	for i := 0; i < 1000; i++ {
		msg := make([]byte, 100)
		_, _ = rand.Read(msg)
		resp := do(t, "POST", stream, map[string]string{
			"Content-Type": "application/octet-stream",
			"Producer-Id":  "crash-writer", "Producer-Epoch": "0", "Producer-Seq": strconv.Itoa(i),
		}, msg)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("append %d: %d", i, resp.StatusCode)
		}
		want = append(want, msg...)
		lastOffset = resp.Header.Get("Stream-Next-Offset")
	}

	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()

	srv = startServe(t, "--data-dir", dir)
	stream = srv.url + "/v1/stream/crash"
	var got []byte
	offset := "-1"
	for {
		resp := do(t, "GET", stream+"?offset="+offset, nil, nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("read after restart: %d %s", resp.StatusCode, body)
		}
		got = append(got, body...)
		offset = resp.Header.Get("Stream-Next-Offset")
		if resp.Header.Get("Stream-Up-To-Date") == "true" {
			break
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, want %d identical bytes", len(got), len(want))
	}
	if offset != lastOffset {
		t.Fatalf("tail after restart %s, want %s", offset, lastOffset)
	}
	resp = do(t, "POST", stream, map[string]string{
		"Content-Type": "application/octet-stream",
		"Producer-Id":  "crash-writer", "Producer-Epoch": "0", "Producer-Seq": "999",
	}, []byte("retry"))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("retried producer append: %d, want 204", resp.StatusCode)
	}
	if got := resp.Header.Get("Stream-Next-Offset"); got != lastOffset {
		t.Fatalf("retried producer append offset %s, want the original %s", got, lastOffset)
	}
}

// TestServeGracefulShutdown checks that SIGTERM ends an open long-poll
// (which would otherwise wait an hour) and the process exits cleanly.
func TestServeGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	srv := startServe(t, "--data-dir", t.TempDir(), "--long-poll-timeout", "1h")
	stream := srv.url + "/v1/stream/s"
	resp := do(t, "PUT", stream, map[string]string{"Content-Type": "text/plain"}, []byte("x"))
	resp.Body.Close()

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(stream + "?offset=now&live=long-poll")
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	// Wait until the long-poll is parked: the server answers other
	// requests meanwhile, and the poll has not returned.
	time.Sleep(200 * time.Millisecond)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.status != http.StatusNoContent {
			t.Fatalf("long-poll during shutdown: status %d err %v, want 204", r.status, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("long-poll was not ended by shutdown")
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- srv.cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("dsctl serve exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dsctl serve did not exit after SIGTERM")
	}
}

// TestServeFlagErrors checks bad flags fail with a one-line cause and usage.
func TestServeFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--durability", "maybe"}, `unknown durability "maybe"`},
		{[]string{"serve", "--addr", "nonsense"}, `invalid --addr "nonsense"`},
		{[]string{"serve", "--long-poll-timeout", "0s"}, "--long-poll-timeout must be positive"},
		{[]string{"serve", "--log-level", "loud"}, `invalid --log-level "loud"`},
		{[]string{"serve", "extra"}, `unknown command "extra"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(tc.args, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != ExitError {
				t.Fatalf("exit %d, want %d", code, ExitError)
			}
			first, _, _ := strings.Cut(errOut.String(), "\n")
			if !strings.HasPrefix(first, "dsctl: ") || !strings.Contains(first, tc.want) {
				t.Fatalf("first line %q, want a dsctl: error containing %q", first, tc.want)
			}
			if out.Len() != 0 {
				t.Fatalf("stdout should be empty, got %q", out.String())
			}
		})
	}
}
