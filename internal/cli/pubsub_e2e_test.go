package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/token"
)

// seedTryIt is the "Try It" session of the seed README
// (shared/reference/seed-README.md), verbatim. The test replaces only the
// placeholders: the two base URLs, <JWT> and <project>.
const seedTryIt = `CORE=https://durable-streams.<your-subdomain>.workers.dev
SUB=https://durable-streams-subscriptions.<your-subdomain>.workers.dev

# Create a stream
curl -X PUT -H "Authorization: Bearer <JWT>" \
  -H "Content-Type: application/json" \
  $CORE/v1/<project>/stream/chat-room-1

# Subscribe a session
curl -X POST -H "Authorization: Bearer <JWT>" \
  -H "Content-Type: application/json" \
  -d '{"streamId":"chat-room-1","sessionId":"user-alice"}' \
  $SUB/v1/<project>/subscribe

# Publish a message — fans out to all subscribers
curl -X POST -H "Authorization: Bearer <JWT>" \
  -H "Content-Type: application/json" \
  -d '{"text":"hello world"}' \
  $SUB/v1/<project>/publish/chat-room-1

# Read the session stream via SSE
curl -N -H "Authorization: Bearer <JWT>" \
  "$CORE/v1/<project>/stream/session:user-alice?offset=0000000000000000_0000000000000000&live=sse"
`

// tryItSteps splits the session into its variable lines and its four
// commands, with the placeholders filled in. The SSE command gets
// --max-time so that a server that never ends the response cannot hang
// the test (dsctl ends it itself after --sse-lifetime).
func tryItSteps(t *testing.T, baseURL, project, jwt string) (vars string, cmds []string) {
	t.Helper()
	s := strings.ReplaceAll(seedTryIt, "https://durable-streams.<your-subdomain>.workers.dev", baseURL)
	s = strings.ReplaceAll(s, "https://durable-streams-subscriptions.<your-subdomain>.workers.dev", baseURL)
	s = strings.ReplaceAll(s, "<JWT>", jwt)
	s = strings.ReplaceAll(s, "<project>", project)
	if strings.Contains(s, "<") {
		t.Fatalf("placeholder left in the session:\n%s", s)
	}
	blocks := strings.Split(s, "\n\n")
	if len(blocks) != 5 {
		t.Fatalf("the session has %d blocks, want variables and 4 commands", len(blocks))
	}
	vars = blocks[0]
	for _, b := range blocks[1:] {
		_, cmd, ok := strings.Cut(b, "\n") // drop the # comment line
		if !ok || !strings.HasPrefix(cmd, "curl ") {
			t.Fatalf("unexpected block %q", b)
		}
		cmds = append(cmds, cmd)
	}
	cmds[3] = strings.Replace(cmds[3], "curl -N ", "curl -N --max-time 20 ", 1)
	return vars, cmds
}

// sseDataEvents extracts the data of the "event: data" events of an SSE
// body.
func sseDataEvents(body string) []string {
	var out []string
	for _, ev := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n\n") {
		typ := ""
		var data []string
		for _, line := range strings.Split(ev, "\n") {
			switch {
			case strings.HasPrefix(line, "event:"):
				typ = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			}
		}
		if typ == "data" {
			out = append(out, strings.Join(data, "\n"))
		}
	}
	return out
}

// TestPubSubTryItEndToEnd is acceptance point 2 of the pub/sub issue: the
// seed README's "Try It" session, run with the real curl through sh
// against a dsctl serve child process, with a `dsctl token` as <JWT>, for
// a created project, for the open default project (where the header is
// ignored) and for the default project under --auth.
func TestPubSubTryItEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	for _, tool := range []string{"curl", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on PATH", tool)
		}
	}
	cases := []struct {
		name, project string
		auth          bool
	}{
		{"created project", "demo", false},
		{"default project", "default", false},
		{"default project with --auth", "default", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--data-dir", dir, "--sse-lifetime", "1s"}
			if tc.auth {
				args = append(args, "--auth")
			}
			srv := startServe(t, args...)
			var jwt string
			switch {
			case tc.project != "default":
				runCLI(t, false, "", "create-project", tc.project, "--data-dir", dir, "--url", srv.url).must(t)
				jwt = strings.TrimSpace(runCLI(t, false, "", "token", "--project", tc.project, "--data-dir", dir).must(t).out)
			case tc.auth:
				jwt = strings.TrimSpace(runCLI(t, false, "", "token", "--project", "default", "--data-dir", dir).must(t).out)
			default:
				// No default project in the registry: any secret will do,
				// the open default project ignores the header.
				jwt = strings.TrimSpace(runCLI(t, false, "", "token", "--project", "default", "--secret", token.NewSecret()).must(t).out)
			}
			if strings.Count(jwt, ".") != 2 {
				t.Fatalf("dsctl token printed %q", jwt)
			}

			vars, cmds := tryItSteps(t, srv.url, tc.project, jwt)
			outs := make([]string, len(cmds))
			for i, cmd := range cmds {
				c := exec.Command("sh", "-c", vars+"\n"+cmd)
				var stderr bytes.Buffer
				c.Stderr = &stderr
				out, err := c.Output()
				var ee *exec.ExitError
				// 28: --max-time reached; accepted for the SSE read only.
				if err != nil && !(i == 3 && errors.As(err, &ee) && ee.ExitCode() == 28) {
					t.Fatalf("%s\n→ %v\n%s", cmd, err, stderr.String())
				}
				outs[i] = string(out)
			}
			// PUT and publish answer with no body (201, 204); an error
			// would print a JSON body.
			if outs[0] != "" || outs[2] != "" {
				t.Fatalf("PUT printed %q, publish printed %q", outs[0], outs[2])
			}
			var sub struct {
				SessionID         string `json:"sessionId"`
				StreamID          string `json:"streamId"`
				SessionStreamPath string `json:"sessionStreamPath"`
				IsNewSession      bool   `json:"isNewSession"`
				ExpiresAt         string `json:"expiresAt"`
			}
			if err := json.Unmarshal([]byte(outs[1]), &sub); err != nil {
				t.Fatalf("subscribe printed %q: %v", outs[1], err)
			}
			if sub.SessionID != "user-alice" || sub.StreamID != "chat-room-1" || !sub.IsNewSession || sub.ExpiresAt == "" ||
				sub.SessionStreamPath != "/v1/"+tc.project+"/stream/session:user-alice" {
				t.Fatalf("subscribe printed %s", outs[1])
			}
			data := sseDataEvents(outs[3])
			if len(data) == 0 || data[0] != `[{"text":"hello world"}]` {
				t.Fatalf("SSE output has data events %q, want the first to be [{\"text\":\"hello world\"}]; raw:\n%s", data, outs[3])
			}
			if !strings.Contains(outs[3], "event: control") {
				t.Errorf("SSE output has no control event:\n%s", outs[3])
			}

			// The source holds the message too.
			req, _ := http.NewRequest("GET", srv.url+"/v1/"+tc.project+"/stream/chat-room-1?offset=-1", nil)
			req.Header.Set("Authorization", "Bearer "+jwt)
			if status, body := send(t, req); status != http.StatusOK || body != `[{"text":"hello world"}]` {
				t.Fatalf("source: %d %s", status, body)
			}
		})
	}
}

// ---- kill -9 in the middle of publishing ----

// readJSONStream reads a JSON stream from the start and returns its
// messages (each page is a JSON array).
func readJSONStream(t *testing.T, url string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	offset := "-1"
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatalf("%s: never up to date", url)
		}
		resp := do(t, "GET", url+"?offset="+offset, nil, nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
		}
		var page []json.RawMessage
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("GET %s: page %q: %v", url, body, err)
		}
		out = append(out, page...)
		offset = resp.Header.Get("Stream-Next-Offset")
		if resp.Header.Get("Stream-Up-To-Date") == "true" {
			return out
		}
	}
}

// TestPubSubSurvivesKill9 is acceptance point 3 of the pub/sub issue: a
// loop publishes {"n":i} to a stream with 100 subscribed sessions; the
// server is killed with SIGKILL while publishes are in flight and
// restarted on the same data directory. The source and every session
// stream then hold exactly messages 0..k-1, where k is the number of
// acknowledged publishes or one more (the one in flight may have
// committed without its answer getting out) — the same k everywhere:
// never a partial fan-out. Three rounds, each going on from where the
// last restart left off.
func TestPubSubSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	const (
		sessions = 100
		rounds   = 3
	)
	dir := t.TempDir()
	srv := startServe(t, "--data-dir", dir)
	resp := do(t, "PUT", srv.url+"/v1/stream/feed", map[string]string{"Content-Type": "application/json"}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	sid := func(i int) string { return fmt.Sprintf("s%03d", i) }
	for i := 0; i < sessions; i++ {
		body := fmt.Sprintf(`{"streamId":"feed","sessionId":"%s"}`, sid(i))
		resp := do(t, "POST", srv.url+"/v1/default/subscribe", map[string]string{"Content-Type": "application/json"}, []byte(body))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("subscribe %s: %d", sid(i), resp.StatusCode)
		}
	}

	k := 0 // messages in the source (and every session) so far
	for round := 0; round < rounds; round++ {
		killAfter := int64(50 + 75*round) // 50, 125, 200 acknowledged publishes
		n := k + int(publishUntilKilled(t, srv, k, killAfter, sessions))
		t.Logf("round %d: killed after %d acknowledged publishes in all", round, n)

		srv = startServe(t, "--data-dir", dir)
		src := readJSONStream(t, srv.url+"/v1/stream/feed")
		k = len(src)
		if k != n && k != n+1 {
			t.Fatalf("round %d: the source holds %d messages after the restart; %d were acknowledged", round, k, n)
		}
		t.Logf("round %d: after the restart the source holds %d messages", round, k)
		for i, m := range src {
			if want := fmt.Sprintf(`{"n":%d}`, i); string(m) != want {
				t.Fatalf("round %d: source message %d is %s, want %s", round, i, m, want)
			}
		}
		for i := 0; i < sessions; i++ {
			got := readJSONStream(t, srv.url+"/v1/default/stream/session:"+sid(i))
			if len(got) != k {
				t.Fatalf("round %d: session %s holds %d messages, the source %d: a partial fan-out", round, sid(i), len(got), k)
			}
			for j := range got {
				if !bytes.Equal(got[j], src[j]) {
					t.Fatalf("round %d: session %s message %d is %s, the source's %s", round, sid(i), j, got[j], src[j])
				}
			}
		}
	}

	// The sessions and their subscriptions survived, and fan-out goes on
	// from where it stopped.
	resp = do(t, "GET", srv.url+"/v1/default/session/"+sid(0), nil, nil)
	var in struct {
		Subscriptions []struct {
			StreamID string `json:"streamId"`
		} `json:"subscriptions"`
	}
	err := json.NewDecoder(resp.Body).Decode(&in)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || len(in.Subscriptions) != 1 || in.Subscriptions[0].StreamID != "feed" {
		t.Fatalf("GET session after the restarts: %d %+v %v", resp.StatusCode, in, err)
	}
	resp = do(t, "POST", srv.url+"/v1/default/publish/feed", map[string]string{"Content-Type": "application/json"}, []byte(`{"n":"after"}`))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Stream-Fanout-Count") != strconv.Itoa(sessions) {
		t.Fatalf("publish after the restarts: %d, fan-out %q", resp.StatusCode, resp.Header.Get("Stream-Fanout-Count"))
	}
	for _, i := range []int{0, sessions / 2, sessions - 1} {
		got := readJSONStream(t, srv.url+"/v1/default/stream/session:"+sid(i))
		if len(got) != k+1 || string(got[k]) != `{"n":"after"}` {
			t.Fatalf("session %s after the next publish: %d messages, want %d ending in {\"n\":\"after\"}", sid(i), len(got), k+1)
		}
	}
}

// publishUntilKilled publishes {"n":from}, {"n":from+1}, … one at a time
// from a goroutine (so at most one publish is in flight), SIGKILLs the
// server from the test goroutine once killAfter have been acknowledged,
// and returns how many were acknowledged in all.
func publishUntilKilled(t *testing.T, srv *serverProc, from int, killAfter int64, fanout int) int64 {
	t.Helper()
	var acked atomic.Int64
	var pubErr error // a publish answered otherwise than 204 to every session
	done := make(chan struct{})
	go func() {
		defer close(done)
		client := &http.Client{Timeout: time.Minute}
		for i := from; i < from+1_000_000; i++ {
			req, _ := http.NewRequest("POST", srv.url+"/v1/default/publish/feed", strings.NewReader(fmt.Sprintf(`{"n":%d}`, i)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return // the server is gone
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Stream-Fanout-Count") != strconv.Itoa(fanout) {
				pubErr = fmt.Errorf("publish %d: %d, fan-out %q", i, resp.StatusCode, resp.Header.Get("Stream-Fanout-Count"))
				return
			}
			acked.Add(1)
		}
		pubErr = errors.New("the publisher ran out of messages before the kill")
	}()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard, not an expectation
	for acked.Load() < killAfter {
		select {
		case <-done:
			t.Fatalf("the publisher stopped after %d: %v", acked.Load(), pubErr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d publishes acknowledged", acked.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	<-done
	if pubErr != nil {
		t.Fatal(pubErr)
	}
	return acked.Load()
}
