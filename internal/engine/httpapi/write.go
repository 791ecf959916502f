package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// readBody reads a request body up to the configured cap.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &engine.RequestError{Kind: engine.ErrTooLarge,
				Msg: sprintf("body is larger than the %d-byte limit", h.opts.MaxBodyBytes)}
		}
		return nil, badRequest("could not read the request body: %v", err)
	}
	return body, nil
}

// headerTrue reports whether a boolean protocol header is exactly "true"
// (case-insensitive); any other value counts as absent.
func headerTrue(r *http.Request, name string) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get(name)), "true")
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request, t target) {
	req := engine.CreateRequest{
		ContentType: r.Header.Get("Content-Type"),
		TTLSeconds:  -1,
		Closed:      headerTrue(r, "Stream-Closed"),
		Public:      headerTrue(r, "X-Stream-Public") || r.URL.Query().Get("public") == "true",
	}
	ttl, hasTTL := r.Header["Stream-Ttl"]
	exp, hasExp := r.Header["Stream-Expires-At"]
	if hasTTL && hasExp {
		writeError(w, r, badRequest("Stream-TTL and Stream-Expires-At are mutually exclusive"))
		return
	}
	if hasTTL {
		n, err := engine.ParseTTL(ttl[0])
		if err != nil {
			writeError(w, r, err)
			return
		}
		req.TTLSeconds = n
	}
	if hasExp {
		at, err := engine.ParseExpiresAt(exp[0])
		if err != nil {
			writeError(w, r, err)
			return
		}
		req.ExpiresAt = at
	}
	if from, ok := r.Header["Stream-Forked-From"]; ok {
		key, err := parseStreamPath(from[0])
		if err != nil {
			writeError(w, r, err)
			return
		}
		// The token was checked against this project only.
		if key.Project != t.project {
			writeError(w, r, errCrossProjectFork)
			return
		}
		req.ForkFrom = &key
	}
	if off, ok := r.Header["Stream-Fork-Offset"]; ok {
		pos, err := engine.ParseOffset(off[0])
		if err != nil {
			writeError(w, r, badRequest("invalid Stream-Fork-Offset %q", off[0]))
			return
		}
		req.ForkOffset = &pos
	}
	if sub, ok := r.Header["Stream-Fork-Sub-Offset"]; ok {
		if req.ForkFrom == nil {
			writeError(w, r, badRequest("Stream-Fork-Sub-Offset needs Stream-Forked-From"))
			return
		}
		n, ok := engine.ParseDecimal(sub[0])
		if !ok {
			writeError(w, r, badRequest("invalid Stream-Fork-Sub-Offset %q: want a non-negative whole number without leading zeros", sub[0]))
			return
		}
		req.ForkSub = n
	}
	body, err := h.readBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	req.Body = body
	res, err := h.eng.Create(r.Context(), t.key, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	hd := w.Header()
	setStreamHeaders(hd, res.Info)
	hd.Set("Cache-Control", "no-store")
	if res.Info.Closed {
		hd.Set("Stream-Closed", "true")
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
		hd.Set("Location", absoluteURL(r))
	}
	w.WriteHeader(status)
}

// setStreamHeaders sets the metadata headers shared by PUT and HEAD.
func setStreamHeaders(hd http.Header, in engine.Info) {
	hd.Set("Content-Type", in.ContentType)
	hd.Set("Stream-Next-Offset", engine.FormatOffset(in.Tail))
	if in.TTLSeconds >= 0 {
		hd.Set("Stream-TTL", strconv.FormatInt(in.TTLSeconds, 10))
	}
	if !in.ExpiresAt.IsZero() {
		hd.Set("Stream-Expires-At", in.ExpiresAt.UTC().Format(time.RFC3339Nano))
	}
}

func absoluteURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

func (h *Handler) append(w http.ResponseWriter, r *http.Request, t target) {
	req, err := h.appendRequest(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := h.eng.Append(r.Context(), t.key, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(setAppendHeaders(w.Header(), res, len(req.Body) > 0))
}

// appendRequest reads a POST's protocol headers and body; publish shares it.
func (h *Handler) appendRequest(w http.ResponseWriter, r *http.Request) (engine.AppendRequest, error) {
	req := engine.AppendRequest{
		ContentType: r.Header.Get("Content-Type"),
		Close:       headerTrue(r, "Stream-Closed"),
		StreamSeq:   r.Header.Get("Stream-Seq"),
	}
	p, err := parseProducer(r.Header)
	if err != nil {
		return req, err
	}
	req.Producer = p
	req.Body, err = h.readBody(w, r)
	return req, err
}

// setAppendHeaders sets an append's answer headers and returns its status:
// 200 when an idempotent producer's data was accepted, else 204.
func setAppendHeaders(hd http.Header, res *engine.AppendResult, hasBody bool) int {
	hd.Set("Stream-Next-Offset", engine.FormatOffset(res.NextOffset))
	hd.Set("Cache-Control", "no-store")
	if res.Closed {
		hd.Set("Stream-Closed", "true")
	}
	status := http.StatusNoContent
	if res.Producer != nil {
		hd.Set("Producer-Epoch", strconv.FormatInt(res.Producer.Epoch, 10))
		hd.Set("Producer-Seq", strconv.FormatInt(res.Producer.Seq, 10))
		if !res.Duplicate && hasBody {
			status = http.StatusOK
		}
	}
	return status
}

// parseProducer reads the idempotent-producer headers: all three or none.
func parseProducer(hd http.Header) (*engine.ProducerTuple, error) {
	id, hasID := hd["Producer-Id"]
	epoch, hasEpoch := hd["Producer-Epoch"]
	seq, hasSeq := hd["Producer-Seq"]
	if !hasID && !hasEpoch && !hasSeq {
		return nil, nil
	}
	if !hasID || !hasEpoch || !hasSeq {
		return nil, badRequest("Producer-Id, Producer-Epoch and Producer-Seq must be sent together")
	}
	if id[0] == "" {
		return nil, badRequest("Producer-Id must not be empty")
	}
	e, ok := engine.ParseDecimal(epoch[0])
	if !ok {
		return nil, badRequest("invalid Producer-Epoch %q: want a whole number from 0 to 2^53-1", epoch[0])
	}
	s, ok := engine.ParseDecimal(seq[0])
	if !ok {
		return nil, badRequest("invalid Producer-Seq %q: want a whole number from 0 to 2^53-1", seq[0])
	}
	return &engine.ProducerTuple{ID: id[0], Epoch: e, Seq: s}, nil
}

func (h *Handler) head(w http.ResponseWriter, r *http.Request, t target) {
	hdl, err := h.eng.Stream(t.key)
	if err != nil {
		writeError(w, r, err)
		return
	}
	in, err := hdl.Info()
	if err != nil {
		writeError(w, r, err)
		return
	}
	hd := w.Header()
	setStreamHeaders(hd, in)
	if in.Closed {
		hd.Set("Stream-Closed", "true")
	}
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, t target) {
	if err := h.eng.Delete(r.Context(), t.key); err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
