package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/dsctl/dsctl/internal/engine"
)

// apiError is an error raised by the HTTP layer itself.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

var (
	errRouteNotFound    = &apiError{http.StatusNotFound, "NOT_FOUND", "no such route: streams live at /v1/stream/<id> or /v1/<project>/stream/<id>"}
	errMethodNotAllowed = &apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method not allowed on this path"}
)

func badRequest(format string, args ...any) error {
	return &engine.RequestError{Kind: engine.ErrBadRequest, Msg: sprintf(format, args...)}
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// classify maps an error to a status and a stable code. This is the one
// place engine errors become HTTP.
func classify(err error) (int, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.code
	}
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return http.StatusNotFound, "NOT_FOUND"
	case errors.Is(err, engine.ErrGone):
		return http.StatusGone, "GONE"
	case errors.Is(err, engine.ErrClosed):
		return http.StatusConflict, "STREAM_CLOSED"
	case errors.Is(err, engine.ErrContentType):
		return http.StatusConflict, "CONTENT_TYPE_MISMATCH"
	case errors.Is(err, engine.ErrConflict):
		return http.StatusConflict, "CONFLICT"
	case errors.Is(err, engine.ErrSeqRegression):
		return http.StatusConflict, "SEQ_REGRESSION"
	case errors.Is(err, engine.ErrStaleEpoch):
		return http.StatusForbidden, "STALE_EPOCH"
	case errors.Is(err, engine.ErrProducerSeqGap):
		return http.StatusConflict, "PRODUCER_SEQ_GAP"
	case errors.Is(err, engine.ErrOffsetNotInTail):
		return http.StatusBadRequest, "OFFSET_BEYOND_TAIL"
	case errors.Is(err, engine.ErrBadRequest):
		return http.StatusBadRequest, "BAD_REQUEST"
	case errors.Is(err, engine.ErrReservedStream):
		return http.StatusForbidden, "RESERVED_STREAM"
	case errors.Is(err, engine.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"
	case errors.Is(err, engine.ErrUnavailable):
		return http.StatusServiceUnavailable, "UNAVAILABLE"
	}
	return http.StatusInternalServerError, "INTERNAL"
}

// message is the client-facing text: the request error's own message,
// or the wrapped chain for others.
func message(err error) string {
	var re *engine.RequestError
	if errors.As(err, &re) {
		return re.Msg
	}
	// Clients see what went wrong, not which internal operation it was in.
	for {
		var oe *engine.OpError
		if !errors.As(err, &oe) {
			return err.Error()
		}
		err = oe.Err
	}
}

// writeError answers with the error's status, the protocol headers some
// errors require, and a JSON body {"error":{"code","message"}}.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := classify(err)
	hd := w.Header()
	var ce *engine.ClosedError
	if errors.As(err, &ce) {
		hd.Set("Stream-Closed", "true")
		hd.Set("Stream-Next-Offset", engine.FormatOffset(ce.NextOffset))
	}
	var pe *engine.ProducerError
	if errors.As(err, &pe) {
		if pe.Kind == engine.ErrStaleEpoch {
			hd.Set("Producer-Epoch", strconv.FormatInt(pe.CurrentEpoch, 10))
		} else {
			hd.Set("Producer-Expected-Seq", strconv.FormatInt(pe.ExpectedSeq, 10))
			hd.Set("Producer-Received-Seq", strconv.FormatInt(pe.ReceivedSeq, 10))
		}
	}
	if status == http.StatusUnauthorized {
		hd.Set("WWW-Authenticate", `Bearer realm="dsctl"`)
	}
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Del("ETag")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = message(err)
	_ = json.NewEncoder(w).Encode(body)
}
