package service

import (
	"errors"
	"testing"

	"github.com/bizzjoiner/bcconnector/guide"
)

func TestEndpointOverridesAreOffByDefault(t *testing.T) {
	s := &Impl{}
	in := ConnectionInput{BCBaseURL: "https://evil.example/v2.0"}
	var fe *guide.FieldError
	if err := s.checkEndpoints(in); !errors.As(err, &fe) || fe.Field != "BC API base URL" {
		t.Errorf("override accepted: %v", err)
	}
	if err := s.checkEndpoints(ConnectionInput{CAFile: "/etc/shadow"}); err == nil {
		t.Error("CA file override accepted")
	}
	if err := s.checkEndpoints(ConnectionInput{AuthorityHost: guide.DefaultAuthorityHost}); err != nil {
		t.Errorf("the default authority host is not an override: %v", err)
	}
	s.allowOverrides = true
	if err := s.checkEndpoints(in); err != nil {
		t.Errorf("allowed override refused: %v", err)
	}
}
