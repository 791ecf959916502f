package engine_test

// Benchmarks of the engine over a real SQLite file with the default
// durability (sqlite.Full: the WAL is fsynced on every commit). Each run
// of a benchmark function opens its own store and engine in b.TempDir()
// and closes them when it is done.
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/engine/

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
)

// countingStore counts the reads that reach the store, so a benchmark can
// show that it measured SQLite and not the in-memory recent buffer.
type countingStore struct {
	engine.Store
	reads     atomic.Int64
	readBytes atomic.Int64
}

func (c *countingStore) ReadRange(ctx context.Context, id, from, to int64, maxBytes int) ([]engine.Message, error) {
	msgs, err := c.Store.ReadRange(ctx, id, from, to, maxBytes)
	c.reads.Add(1)
	n := 0
	for _, m := range msgs {
		n += len(m.Data)
	}
	c.readBytes.Add(int64(n))
	return msgs, err
}

// openBench opens a fresh SQLite store (sqlite.Full) and an engine over it
// with default options; both are closed when the benchmark run ends.
func openBench(b *testing.B) (*engine.Engine, *countingStore) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Full)
	if err != nil {
		b.Fatalf("open store: %v", err)
	}
	cs := &countingStore{Store: st}
	e, err := engine.Open(ctx, cs, engine.Options{})
	if err != nil {
		st.Close()
		b.Fatalf("open engine: %v", err)
	}
	b.Cleanup(func() {
		if err := e.Close(); err != nil {
			b.Errorf("close engine: %v", err)
		}
		if err := st.Close(); err != nil {
			b.Errorf("close store: %v", err)
		}
	})
	return e, cs
}

func createStream(b *testing.B, e *engine.Engine, key engine.Key, contentType string) {
	b.Helper()
	// TTLSeconds 0 would mean "expires at once"; -1 is no TTL.
	res, err := e.Create(context.Background(), key, engine.CreateRequest{ContentType: contentType, TTLSeconds: -1})
	if err != nil {
		b.Fatalf("create %s: %v", key, err)
	}
	if !res.Created {
		b.Fatalf("create %s: stream already existed", key)
	}
}

const msgSize = 100

func textMessage(tag string) []byte {
	m := bytes.Repeat([]byte{'x'}, msgSize)
	copy(m, tag)
	return m
}

// BenchmarkAppendSingleWriter: one goroutine, one stream, 100-byte
// text/plain appends; ns/op is the latency of one acknowledged (fsynced)
// append.
func BenchmarkAppendSingleWriter(b *testing.B) {
	e, _ := openBench(b)
	ctx := context.Background()
	key := engine.Key{Project: "bench", Name: "single"}
	createStream(b, e, key, "text/plain")
	req := engine.AppendRequest{ContentType: "text/plain", Body: textMessage("single")}

	c0 := e.Commits()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Append(ctx, key, req); err != nil {
			b.Fatalf("append: %v", err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(e.Commits()-c0)/float64(b.N), "commits/append")
}

// BenchmarkAppendConcurrent16: a fixed pool of 16 writer goroutines share
// b.N appends of 100 bytes, to one stream or to one stream each.
// commits/append below 1 is group commit at work.
func BenchmarkAppendConcurrent16(b *testing.B) {
	const writers = 16
	for _, streams := range []int{1, writers} {
		name := "same-stream"
		if streams > 1 {
			name = fmt.Sprintf("%d-streams", streams)
		}
		b.Run(name, func(b *testing.B) {
			e, _ := openBench(b)
			ctx := context.Background()
			keys := make([]engine.Key, streams)
			for i := range keys {
				keys[i] = engine.Key{Project: "bench", Name: "s" + strconv.Itoa(i)}
				createStream(b, e, keys[i], "text/plain")
			}
			bodies := make([][]byte, writers)
			for w := range bodies {
				bodies[w] = textMessage("w" + strconv.Itoa(w) + ":")
			}

			var next atomic.Int64
			var failed atomic.Bool
			var wg sync.WaitGroup
			c0 := e.Commits()
			b.ReportAllocs()
			b.ResetTimer()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					req := engine.AppendRequest{ContentType: "text/plain", Body: bodies[w]}
					key := keys[w%streams]
					for next.Add(1) <= int64(b.N) && !failed.Load() {
						if _, err := e.Append(ctx, key, req); err != nil {
							if failed.CompareAndSwap(false, true) {
								b.Errorf("writer %d: append: %v", w, err)
							}
							return
						}
					}
				}(w)
			}
			wg.Wait()
			b.StopTimer()
			if failed.Load() {
				return
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			b.ReportMetric(float64(e.Commits()-c0)/float64(b.N), "commits/append")
		})
	}
}

// BenchmarkCatchUpReadJSON: a reader catching up on a 100,000-message JSON
// stream from offset 0, page by page (Handle.Read following Next until
// UpToDate), rendering each page's body as the HTTP layer does. Only the
// last 256 messages fit in the recent buffer, so nearly everything is read
// from SQLite; store-bytes/op shows how much.
func BenchmarkCatchUpReadJSON(b *testing.B) {
	const (
		total = 100_000
		batch = 5_000
	)
	e, cs := openBench(b)
	ctx := context.Background()
	key := engine.Key{Project: "bench", Name: "catchup"}
	createStream(b, e, key, "application/json")

	// Messages of exactly msgSize bytes: {"i":N,"pad":"xxx…"}.
	var payload int64
	var body bytes.Buffer
	for i := 0; i < total; i += batch {
		body.Reset()
		body.WriteByte('[')
		for j := i; j < i+batch; j++ {
			if j > i {
				body.WriteByte(',')
			}
			head := `{"i":` + strconv.Itoa(j) + `,"pad":"`
			pad := msgSize - len(head) - len(`"}`)
			body.WriteString(head)
			body.Write(bytes.Repeat([]byte{'x'}, pad))
			body.WriteString(`"}`)
			payload += msgSize
		}
		body.WriteByte(']')
		req := engine.AppendRequest{ContentType: "application/json", Body: bytes.Clone(body.Bytes())}
		if _, err := e.Append(ctx, key, req); err != nil {
			b.Fatalf("append batch at %d: %v", i, err)
		}
	}
	h, err := e.Stream(key)
	if err != nil {
		b.Fatalf("stream: %v", err)
	}
	if tail, _, err := h.Tail(); err != nil || tail != total {
		b.Fatalf("tail = %d, %v; want %d", tail, err, total)
	}

	var pages, bodyBytes int64
	reads0, storeBytes0 := cs.reads.Load(), cs.readBytes.Load()
	b.SetBytes(payload)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pos := int64(0)
		for {
			res, err := h.Read(ctx, pos)
			if err != nil {
				b.Fatalf("read at %d: %v", pos, err)
			}
			out := engine.Body(true, res.Messages)
			bodyBytes += int64(len(out))
			pages++
			pos = res.Next
			if res.UpToDate {
				break
			}
		}
		if pos != total {
			b.Fatalf("read ended at %d, want %d", pos, total)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(pages)/n, "pages/op")
	b.ReportMetric(float64(cs.reads.Load()-reads0)/n, "store-reads/op")
	storeBytes := float64(cs.readBytes.Load() - storeBytes0)
	b.ReportMetric(storeBytes/n, "store-bytes/op")
	b.ReportMetric(100*storeBytes/(n*float64(payload)), "%from-store")
	if storeBytes < 0.99*n*float64(payload) {
		b.Errorf("only %.0f of %.0f payload bytes per read came from the store", storeBytes/n, float64(payload))
	}
}

// BenchmarkLongPollWakeup100: 100 goroutines are blocked in Handle.Wait on
// one stream's tail; the timed operation is one Append plus the time until
// every waiter has returned from Wait and read the new message with
// Handle.Read. Re-arming the waiters is outside the timer, so ns/op is the
// wake-up latency of the last waiter (it includes the fsync of the append).
func BenchmarkLongPollWakeup100(b *testing.B) {
	const waiters = 100
	e, _ := openBench(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	key := engine.Key{Project: "bench", Name: "longpoll"}
	createStream(b, e, key, "text/plain")
	h, err := e.Stream(key)
	if err != nil {
		b.Fatalf("stream: %v", err)
	}

	lat := make([]time.Duration, 0, b.N)
	var ackTotal time.Duration
	errs := make(chan error, waiters)
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer() // only the Append and the wake-ups below are timed
	for i := 0; i < b.N; i++ {
		tail, _, err := h.Tail()
		if err != nil {
			b.Fatalf("tail: %v", err)
		}
		want := textMessage("m" + strconv.Itoa(i) + ":")
		var armed, done sync.WaitGroup
		armed.Add(waiters)
		done.Add(waiters)
		for w := 0; w < waiters; w++ {
			go func() {
				defer done.Done()
				armed.Done()
				if err := h.Wait(ctx, tail, nil); err != nil {
					errs <- fmt.Errorf("wait: %w", err)
					return
				}
				res, err := h.Read(ctx, tail)
				if err != nil {
					errs <- fmt.Errorf("read: %w", err)
					return
				}
				if len(res.Messages) != 1 || !bytes.Equal(res.Messages[0].Data, want) {
					errs <- fmt.Errorf("read at %d: got %d messages, want the new one", tail, len(res.Messages))
				}
			}()
		}
		armed.Wait()
		// Let the waiters that have signalled reach the select in Wait.
		time.Sleep(200 * time.Microsecond)
		b.StartTimer()

		t0 := time.Now()
		if _, err := e.Append(ctx, key, engine.AppendRequest{ContentType: "text/plain", Body: want}); err != nil {
			b.Fatalf("append: %v", err)
		}
		ack := time.Since(t0)
		done.Wait()
		d := time.Since(t0)

		b.StopTimer()
		select {
		case err := <-errs:
			b.Fatalf("waiter: %v", err)
		default:
		}
		lat = append(lat, d)
		ackTotal += ack
	}

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i].Nanoseconds())
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat)), "mean-ns")
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds()), "max-ns")
	b.ReportMetric(float64(ackTotal.Nanoseconds())/float64(len(lat)), "ack-ns")
}

// BenchmarkPublishFanout1000: 1,000 sessions subscribed to one JSON
// stream; each iteration publishes one ~100-byte JSON message, which
// appends it to the source and to all 1,000 session streams in one
// (fsynced) commit. ns/op and p50/p99 are the latency of one acknowledged
// publish; deliveries/op is the fan-out (1,000 when nothing is lost).
//
//	go test -run '^$' -bench PublishFanout -benchtime 200x ./internal/engine/
func BenchmarkPublishFanout1000(b *testing.B) {
	const sessions = 1000
	e, _ := openBench(b)
	ctx := context.Background()
	key := engine.Key{Project: "bench", Name: "fanout"}
	createStream(b, e, key, "application/json")
	for i := 0; i < sessions; i++ {
		if _, err := e.Subscribe(ctx, key.Project, key.Name, fmt.Sprintf("session-%04d", i)); err != nil {
			b.Fatalf("subscribe %d: %v", i, err)
		}
	}
	// {"seq":N,"text":"xxx…"} padded to msgSize bytes.
	message := func(i int) []byte {
		head := `{"seq":` + strconv.Itoa(i) + `,"text":"`
		return []byte(head + string(bytes.Repeat([]byte{'x'}, msgSize-len(head)-len(`"}`))) + `"}`)
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = message(i)
	}

	lat := make([]time.Duration, 0, b.N)
	var deliveries int64
	st0 := e.PubSubStats()
	c0 := e.Commits()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res, err := e.Publish(ctx, key, engine.AppendRequest{ContentType: "application/json", Body: bodies[i]})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatalf("publish %d: %v", i, err)
		}
		if res.Fanout != sessions {
			b.Fatalf("publish %d: fan-out %d, want %d", i, res.Fanout, sessions)
		}
		deliveries += int64(res.Fanout)
	}
	b.StopTimer()

	if st := e.PubSubStats(); st.FanoutDeliveries-st0.FanoutDeliveries != deliveries || st.Publishes-st0.Publishes != int64(b.N) {
		b.Errorf("PubSubStats moved by %d publishes and %d deliveries; want %d and %d",
			st.Publishes-st0.Publishes, st.FanoutDeliveries-st0.FanoutDeliveries, b.N, deliveries)
	}
	// Spot-check that the copies are really there: the last session stream
	// holds every message, in order.
	h, err := e.Stream(engine.Key{Project: key.Project, Name: engine.SessionPrefix + fmt.Sprintf("session-%04d", sessions-1)})
	if err != nil {
		b.Fatalf("session stream: %v", err)
	}
	if tail, _, err := h.Tail(); err != nil || tail != int64(b.N) {
		b.Fatalf("session stream tail = %d, %v; want %d", tail, err, b.N)
	}

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
	b.ReportMetric(float64(deliveries)/float64(b.N), "deliveries/op")
	b.ReportMetric(float64(e.Commits()-c0)/float64(b.N), "commits/op")
}
