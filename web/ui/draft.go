package ui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/service"
)

// draft is a wizard in progress: the values typed so far, the secret or the generated
// certificate with its private key (held only here, never rendered), and the last doctor
// run.
type draft struct {
	ID      string
	touched time.Time

	mu      sync.Mutex
	in      service.ConnectionInput // includes the secret
	company string                  // the company name typed for the app's display name
	run     *doctorRun
}

// snapshot returns the input (with the secret) under the lock.
func (d *draft) snapshot() service.ConnectionInput {
	d.mu.Lock()
	defer d.mu.Unlock()
	in := d.in
	in.Entities = append([]string(nil), d.in.Entities...)
	return in
}

// draftStore keeps drafts in memory; idle drafts expire with their secret. A draft that
// holds a generated certificate is kept for certTTL instead: the admin may have uploaded
// the .cer to Entra already, and a new certificate would mean uploading again.
type draftStore struct {
	ttl     time.Duration
	certTTL time.Duration
	now     func() time.Time

	mu sync.Mutex
	m  map[string]*draft
}

// get returns the draft with the ID, refreshing its idle timer; nil when unknown or expired.
func (s *draftStore) get(id string) *draft {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	d := s.m[id]
	if d != nil {
		d.touched = s.now()
	}
	return d
}

// create starts a new draft with a random ID.
func (s *draftStore) create() *draft {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	d := &draft{ID: hex.EncodeToString(b[:])}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	d.touched = s.now()
	s.m[d.ID] = d
	return d
}

// remove forgets a draft and its secret.
func (s *draftStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.m[id]; d != nil {
		d.wipe()
		delete(s.m, id)
	}
}

func (s *draftStore) sweepLocked() {
	now := s.now()
	for id, d := range s.m {
		d.mu.Lock()
		ttl := s.ttl
		if d.in.Certificate != nil && s.certTTL > ttl {
			ttl = s.certTTL
		}
		d.mu.Unlock()
		if now.Sub(d.touched) > ttl {
			d.wipe()
			delete(s.m, id)
		}
	}
}

// wipe drops the secret and stops a running doctor.
func (d *draft) wipe() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.in.Secret = ""
	d.in.Certificate = nil
	if d.run != nil {
		d.run.cancel()
	}
}

// forgetRunLocked drops the draft's doctor run (stopping it if it still runs), so the check
// screen shows no result until the next check. d.mu is held.
func (d *draft) forgetRunLocked() {
	if d.run != nil {
		d.run.cancel()
		d.run = nil
	}
}

// doctorRun is a doctor run in the background whose checks arrive as they complete.
type doctorRun struct {
	cancel context.CancelFunc

	mu     sync.Mutex
	checks []doctor.Check
	report *doctor.Report
	err    string
}

func (r *doctorRun) add(c doctor.Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, c)
}

func (r *doctorRun) finish(rep *doctor.Report, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report = rep
	if err != nil {
		r.err = err.Error()
	}
}

// state returns what is known so far.
func (r *doctorRun) state() (checks []doctor.Check, rep *doctor.Report, errMsg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]doctor.Check(nil), r.checks...), r.report, r.err
}

// doctorTimeout bounds a background run: the doctor makes a handful of requests.
const doctorTimeout = 3 * time.Minute

// startRun runs fn in the background with a context detached from the request (which
// ends as soon as the first progress fragment is sent) but bounded in time.
func startRun(parent context.Context, fn func(ctx context.Context, onCheck func(doctor.Check)) (*doctor.Report, error)) *doctorRun {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), doctorTimeout)
	run := &doctorRun{cancel: cancel}
	go func() {
		defer cancel()
		rep, err := fn(ctx, run.add)
		if rep == nil && err == nil {
			if err = context.Cause(ctx); err == nil {
				err = errors.New("the doctor returned no report")
			}
		}
		run.finish(rep, err)
	}()
	return run
}

// runStore holds the last doctor re-run per stored connection.
type runStore struct {
	mu   sync.Mutex
	runs map[string]*doctorRun
}

func (s *runStore) get(id string) *doctorRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[id]
}

// start starts a run unless one is in progress, and returns the current one.
func (s *runStore) start(id string, newRun func() *doctorRun) *doctorRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.runs[id]; r != nil {
		if _, rep, msg := r.state(); rep == nil && msg == "" {
			return r
		}
	}
	r := newRun()
	s.runs[id] = r
	return r
}
