package ui

import (
	"net/http"
	"strings"

	"github.com/bizzjoiner/bcconnector/service"
)

// removeData is the confirmation page of a connection's removal: what goes with it.
type removeData struct {
	connRow
	// Credentials names what is sealed for the connection: "client secret",
	// "certificate and its private key", and a pending one.
	Credentials []string
	// Typed is what was typed into the confirmation field; Problem says why it was not
	// accepted.
	Typed, Problem string
	// Removed is set once the connection was removed but left webhook subscriptions at
	// BC: the page then says so instead of asking again.
	Removed *service.Removal
}

func (h *handler) removeData(r *http.Request) (removeData, error) {
	v, err := h.svc.GetConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		return removeData{}, err
	}
	rd := removeData{connRow: h.row(v)}
	if c := v.Credential; c != nil {
		rd.Credentials = append(rd.Credentials, credentialLabel(c, "the client secret in use", "the private key of the certificate in use"))
	}
	if c := v.PendingCredential; c != nil {
		rd.Credentials = append(rd.Credentials, credentialLabel(c, "the new client secret not yet in use", "the private key of the certificate not yet in use"))
	}
	return rd, nil
}

func credentialLabel(c *service.CredentialView, secret, certificate string) string {
	if c.Kind == service.CredentialCertificate {
		return certificate
	}
	return secret
}

// connectionRemove asks to confirm a connection's removal, saying what goes with it.
func (h *handler) connectionRemove(w http.ResponseWriter, r *http.Request) {
	rd, err := h.removeData(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "remove", page{Title: "Remove " + rd.Name, Nav: "connections", Data: rd})
}

// connectionRemovePost removes a connection once its name was typed to confirm. The
// composing server refuses a cross-origin post (http.CrossOriginProtection), so another
// site cannot make a signed-in admin's browser remove one.
func (h *handler) connectionRemovePost(w http.ResponseWriter, r *http.Request) {
	rd, err := h.removeData(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rd.Typed = strings.TrimSpace(r.PostFormValue("confirm"))
	if !sameName(rd.Typed, rd.Name) {
		rd.Problem = "Type the connection's name as shown to confirm (a plain hyphen will do for a dash); nothing was removed."
		h.render(w, r, http.StatusUnprocessableEntity, "remove", page{Title: "Remove " + rd.Name, Nav: "connections", Data: rd})
		return
	}
	rm, err := h.svc.DeleteConnection(r.Context(), rd.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("ui: connection removed", "connection", rd.ID)
	if len(rm.WebhooksLeft) > 0 {
		// Said once, here: the dashboard's confirmation cannot carry it.
		rd.Removed = &rm
		h.render(w, r, http.StatusOK, "remove", page{Title: "Removed " + rd.Name, Nav: "connections", Data: rd})
		return
	}
	http.Redirect(w, r, "/?done=removed", http.StatusSeeOther)
}

// sameName compares a typed confirmation with a connection's name: case, runs of spaces
// and the kind of dash do not matter (the guide's names hold an en dash, which keyboards
// do not have), the words do.
func sameName(typed, name string) bool {
	norm := func(s string) string {
		s = strings.NewReplacer("–", "-", "—", "-", "‐", "-", "‑", "-").Replace(s)
		return strings.Join(strings.Fields(s), " ")
	}
	return typed != "" && strings.EqualFold(norm(typed), norm(name))
}
