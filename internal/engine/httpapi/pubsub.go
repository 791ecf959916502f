package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
)

// The pub/sub API, served by the same server as the streams (the original
// ran it as a second worker with the same paths).

// subscriptionBody is the body of /subscribe and /unsubscribe.
type subscriptionBody struct {
	StreamID  *string `json:"streamId"`
	SessionID *string `json:"sessionId"`
}

// maxControlBody caps pub/sub control bodies (they are two ids).
const maxControlBody = 64 << 10

func readSubscriptionBody(w http.ResponseWriter, r *http.Request) (streamID, sessionID string, err error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		return "", "", badRequest("could not read the body: %v", err)
	}
	var b subscriptionBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return "", "", badRequest(`body must be a JSON object {"streamId": "…", "sessionId": "…"}`)
	}
	switch {
	case b.StreamID == nil || *b.StreamID == "":
		return "", "", badRequest("streamId is required")
	case b.SessionID == nil || *b.SessionID == "":
		return "", "", badRequest("sessionId is required")
	}
	return *b.StreamID, *b.SessionID, nil
}

// SubscribeJSON answers a subscribe.
type SubscribeJSON struct {
	SessionID         string    `json:"sessionId"`
	StreamID          string    `json:"streamId"`
	SessionStreamPath string    `json:"sessionStreamPath"`
	ExpiresAt         time.Time `json:"expiresAt"`
	IsNewSession      bool      `json:"isNewSession"`
}

// SessionJSON answers GET /session/<id>.
type SessionJSON struct {
	SessionID         string             `json:"sessionId"`
	SessionStreamPath string             `json:"sessionStreamPath"`
	ExpiresAt         time.Time          `json:"expiresAt"`
	Subscriptions     []SubscriptionJSON `json:"subscriptions"`
}

// SubscriptionJSON is one subscription of a session.
type SubscriptionJSON struct {
	StreamID     string    `json:"streamId"`
	SubscribedAt time.Time `json:"subscribedAt"`
}

func sessionPath(in *engine.SessionInfo) string {
	return "/v1/" + in.Project + "/stream/" + in.StreamPath.Name
}

func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request, t target) {
	streamID, sessionID, err := readSubscriptionBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	in, err := h.eng.Subscribe(r.Context(), t.project, streamID, sessionID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, SubscribeJSON{
		SessionID: in.SessionID, StreamID: streamID, SessionStreamPath: sessionPath(in),
		ExpiresAt: in.ExpiresAt, IsNewSession: in.IsNew,
	})
}

func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request, t target) {
	streamID, sessionID, err := readSubscriptionBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	removed, err := h.eng.Unsubscribe(r.Context(), t.project, streamID, sessionID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessionId": sessionID, "streamId": streamID, "unsubscribed": removed})
}

func (h *Handler) getSession(w http.ResponseWriter, r *http.Request, t target) {
	in, err := h.eng.Session(r.Context(), t.project, t.key.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := SessionJSON{SessionID: in.SessionID, SessionStreamPath: sessionPath(in), ExpiresAt: in.ExpiresAt,
		Subscriptions: []SubscriptionJSON{}}
	for _, s := range in.Subscriptions {
		out.Subscriptions = append(out.Subscriptions, SubscriptionJSON{StreamID: s.StreamID, SubscribedAt: s.SubscribedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) touchSession(w http.ResponseWriter, r *http.Request, t target) {
	in, err := h.eng.TouchSession(r.Context(), t.project, t.key.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessionId": in.SessionID, "expiresAt": in.ExpiresAt,
		"sessionStreamPath": sessionPath(in)})
}

func (h *Handler) deleteSession(w http.ResponseWriter, r *http.Request, t target) {
	existed, err := h.eng.DeleteSession(r.Context(), t.project, t.key.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessionId": t.key.Name, "deleted": existed})
}

// PublishJSON is the optional JSON answer of a publish.
type PublishJSON struct {
	NextOffset  string `json:"nextOffset"`
	FanoutCount int    `json:"fanoutCount"`
	Duplicate   bool   `json:"duplicate"`
}

func (h *Handler) publish(w http.ResponseWriter, r *http.Request, t target) {
	if !engine.ValidPubSubID(t.key.Name) {
		writeError(w, r, badRequest("invalid streamId %q: want 1-256 characters from A-Z a-z 0-9 _ - : .", t.key.Name))
		return
	}
	req, err := h.appendRequest(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := h.eng.Publish(r.Context(), t.key, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	hd := w.Header()
	status := setAppendHeaders(hd, &res.AppendResult, len(req.Body) > 0)
	hd.Set("Stream-Fanout-Count", strconv.Itoa(res.Fanout))
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, PublishJSON{NextOffset: engine.FormatOffset(res.NextOffset), FanoutCount: res.Fanout, Duplicate: res.Duplicate})
		return
	}
	w.WriteHeader(status)
}

func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if strings.HasPrefix(strings.TrimSpace(part), "application/json") {
			return true
		}
	}
	return false
}
