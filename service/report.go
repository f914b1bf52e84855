package service

import (
	"encoding/json"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
)

// doctor.Report marshals guide steps as their names and cannot read them back, so the
// stored form keeps steps as numbers (the shallower fields shadow the embedded ones).
type storedCheck struct {
	doctor.Check
	Step  int   `json:"step"`
	Steps []int `json:"steps,omitempty"`
}

type storedReport struct {
	doctor.Report
	FailedStep *int          `json:"failedStep,omitempty"`
	Checks     []storedCheck `json:"checks"`
}

func encodeReport(r *doctor.Report) ([]byte, error) {
	s := storedReport{Report: *r}
	if r.FailedStep != nil {
		n := int(*r.FailedStep)
		s.FailedStep = &n
	}
	for _, c := range r.Checks {
		sc := storedCheck{Check: c, Step: int(c.Step)}
		for _, st := range c.Steps {
			sc.Steps = append(sc.Steps, int(st))
		}
		s.Checks = append(s.Checks, sc)
	}
	return json.Marshal(s)
}

func decodeReport(b []byte) (*doctor.Report, error) {
	var s storedReport
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	r := s.Report
	r.FailedStep = nil
	if s.FailedStep != nil {
		st := guide.Step(*s.FailedStep)
		r.FailedStep = &st
	}
	r.Checks = make([]doctor.Check, 0, len(s.Checks))
	for _, sc := range s.Checks {
		c := sc.Check
		c.Step = guide.Step(sc.Step)
		c.Steps = nil
		for _, n := range sc.Steps {
			c.Steps = append(c.Steps, guide.Step(n))
		}
		r.Checks = append(r.Checks, c)
	}
	return &r, nil
}
