package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// The admin API: silences, behind a bearer token (DESIGN, HTTP additions).
//
//	POST   /api/v1/silences       {"targets", "groups", "duration", "comment"} → 201 {"id", "ends_at"}
//	GET    /api/v1/silences       → {"silences": [...]} (active ones)
//	DELETE /api/v1/silences/{id}  → 204, or 404
//
// Without a configured token every admin route answers 403; with one, a
// request without it or with another answers 401.

// Silence is a silence as the admin API shows it.
type Silence struct {
	ID       string    `json:"id"`
	Targets  []string  `json:"targets"`
	Groups   []string  `json:"groups"`
	Comment  string    `json:"comment"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

// ErrSilenceNotFound is what Silences.DeleteSilence returns for an id that
// names no active silence.
var ErrSilenceNotFound = errors.New("silence not found")

// Silences keeps the silences (the store, through pollerd's wiring).
type Silences interface {
	AddSilence(ctx context.Context, s Silence) error
	// ActiveSilences returns the silences active at now.
	ActiveSilences(ctx context.Context, now time.Time) ([]Silence, error)
	// DeleteSilence ends an active silence; ErrSilenceNotFound if none.
	DeleteSilence(ctx context.Context, id string, now time.Time) error
}

// AdminOptions configure the admin API.
type AdminOptions struct {
	// Token is the bearer token every admin call needs; "" answers 403.
	Token string
	// TokenFunc, when set, is read at each call instead of Token, so a
	// reload can set, change or clear the token.
	TokenFunc func() string
	Silences  Silences // required with a Token
	// Names returns the targets and groups a silence may name now.
	Names func() (targets, groups []string)
	Now   func() time.Time // nil: time.Now
}

// Limits of a silence request.
const (
	maxSilenceBody    = 64 << 10
	maxSilenceComment = 1000
	silenceTimeout    = 5 * time.Second
)

type adminHandlers struct {
	o   AdminOptions // TokenFunc set; tokens compared by their sha256, in constant time, whatever their length
	log *zap.Logger
}

func registerAdmin(mux *http.ServeMux, o AdminOptions, log *zap.Logger) error {
	if (o.Token != "" || o.TokenFunc != nil) && (o.Silences == nil || o.Names == nil) {
		return errors.New("web: admin token without silences or names")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenFunc == nil {
		token := o.Token
		o.TokenFunc = func() string { return token }
	}
	h := &adminHandlers{o: o, log: log}
	mux.HandleFunc("POST /api/v1/silences", h.auth(h.addSilence))
	mux.HandleFunc("GET /api/v1/silences", h.auth(h.listSilences))
	mux.HandleFunc("DELETE /api/v1/silences/{id}", h.auth(h.deleteSilence))
	return nil
}

// auth answers 403 when no token is configured, 401 when the request lacks
// it or has another.
func (h *adminHandlers) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := h.o.TokenFunc()
		if token == "" {
			writeError(w, http.StatusForbidden, "the admin API is disabled: set api.admin_token")
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum, want := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pollerd admin"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong admin token (Authorization: Bearer <api.admin_token>)")
			return
		}
		next(w, r)
	}
}

type silenceRequest struct {
	Targets  []string `json:"targets"`
	Groups   []string `json:"groups"`
	Duration string   `json:"duration"`
	Comment  string   `json:"comment"`
}

func (h *adminHandlers) addSilence(w http.ResponseWriter, r *http.Request) {
	var req silenceRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSilenceBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxSilenceBody))
			return
		}
		writeError(w, http.StatusBadRequest, "malformed JSON: "+SafeText(err.Error()))
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "malformed JSON: trailing data after the object")
		return
	}
	if msg := h.check(req); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	d, _ := time.ParseDuration(req.Duration)
	id, err := newSilenceID()
	if err != nil {
		h.log.Error("silence id", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "cannot create a silence")
		return
	}
	now := h.o.Now().UTC().Truncate(time.Millisecond)
	s := Silence{ID: id, Targets: nonNil(req.Targets), Groups: nonNil(req.Groups), Comment: req.Comment,
		StartsAt: now, EndsAt: now.Add(d)}
	ctx, cancel := context.WithTimeout(r.Context(), silenceTimeout)
	defer cancel()
	if err := h.o.Silences.AddSilence(ctx, s); err != nil {
		h.log.Error("silence not stored", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "cannot store the silence")
		return
	}
	h.log.Info("silence added", zap.String("id", s.ID), zap.Strings("targets", s.Targets), zap.Strings("groups", s.Groups),
		zap.Time("ends_at", s.EndsAt), zap.String("comment", s.Comment))
	writeJSON(w, http.StatusCreated, map[string]string{"id": s.ID, "ends_at": s.EndsAt.Format(time.RFC3339)})
}

// check reports what is wrong with a silence request, or "".
func (h *adminHandlers) check(req silenceRequest) string {
	if len(req.Targets) == 0 && len(req.Groups) == 0 {
		return "name at least one target or group"
	}
	if req.Duration == "" {
		return `duration is required (a Go duration, like "1h" or "30m")`
	}
	d, err := time.ParseDuration(req.Duration)
	switch {
	case err != nil:
		return fmt.Sprintf("duration %q is not a duration (like 1h or 30m)", SafeText(req.Duration))
	case d <= 0:
		return "duration must be positive"
	}
	if len(req.Comment) > maxSilenceComment {
		return fmt.Sprintf("comment over %d bytes", maxSilenceComment)
	}
	targets, groups := h.o.Names()
	for _, t := range req.Targets {
		if !slices.Contains(targets, t) {
			return fmt.Sprintf("no target named %q", SafeText(t))
		}
	}
	for _, g := range req.Groups {
		if !slices.Contains(groups, g) {
			return fmt.Sprintf("no group named %q", SafeText(g))
		}
	}
	return ""
}

func (h *adminHandlers) listSilences(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), silenceTimeout)
	defer cancel()
	list, err := h.o.Silences.ActiveSilences(ctx, h.o.Now())
	if err != nil {
		h.log.Error("silences unavailable", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "silences unavailable")
		return
	}
	out := make([]Silence, len(list))
	for i, s := range list {
		s.Targets, s.Groups = nonNil(s.Targets), nonNil(s.Groups)
		s.StartsAt, s.EndsAt = s.StartsAt.UTC(), s.EndsAt.UTC()
		out[i] = s
	}
	writeJSON(w, http.StatusOK, map[string][]Silence{"silences": out})
}

func (h *adminHandlers) deleteSilence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), silenceTimeout)
	defer cancel()
	err := h.o.Silences.DeleteSilence(ctx, id, h.o.Now())
	switch {
	case errors.Is(err, ErrSilenceNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no active silence %q", SafeText(id)))
	case err != nil:
		h.log.Error("silence not deleted", zap.String("id", id), zap.Error(err))
		writeError(w, http.StatusInternalServerError, "cannot delete the silence")
	default:
		h.log.Info("silence deleted", zap.String("id", id))
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}
}

// newSilenceID is 12 random hex digits: short to type, unguessable enough
// for an id that is no secret.
func newSilenceID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
