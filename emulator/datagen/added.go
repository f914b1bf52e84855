package datagen

// addedSets are the sets whose new records Added generates: master data a user keeps adding
// in BC. Their producers depend only on the row's hash and on other sets' counts, so a row
// beyond the seed rows is as complete and as plausible as a seed row.
var addedSets = map[string]bool{"customers": true, "vendors": true, "items": true, "contacts": true, "employees": true}

// Added returns the n-th record (n ≥ 0) a user adds to entitySet after the seed data: it is
// generated as seed row Count+n would be, so a new customer has a name, address, phone,
// e-mail, website, payment terms and currency as complete and as plausible as the seed's, in
// the company's country or abroad as often. Its number continues the seed's number series,
// its key is new, and what a new record cannot have yet is reset: no balance or inventory,
// not blocked, an employee Active. Like Row it is a pure function of (seed, company, set, n).
// ok is false for sets whose records are not added this way (child sets, fixed tables, ledger
// entries, documents).
func (g *Generator) Added(companyID, entitySet string, n int) (row map[string]any, ok bool) {
	if !addedSets[entitySet] || n < 0 {
		return nil, false
	}
	s := g.state(companyID, entitySet)
	if s == nil {
		return nil, false
	}
	row = g.rowAt(s, s.count()+n)
	d := s.def
	for name, v := range row {
		switch name {
		case "balanceDue", "balance", "inventory":
			row[name] = 0.0
		case "blocked":
			if _, isBool := v.(bool); isBool {
				row[name] = false
			} else {
				row[name] = d.enum(name, blankEnumVal)
			}
		case "status":
			row[name] = d.enum(name, "Active")
		case "terminationDate", "lastInteractionDate":
			row[name] = blankDate
		}
	}
	return row, true
}
