package bc

import "time"

// Typed structs for the core API v2.0 entity sets, for reading (Record.Decode, As). Their
// JSON tags are BC's field names exactly; TestTypedStructsMatchSchema checks them against
// bcschema. Decimals are float64, Edm.Date is Date, Edm.DateTimeOffset is time.Time (UTC).
// For writes send only the fields to set (a map or a struct with omitempty): BC rejects
// read-only fields.

// Customer is an entity of customers (API v2.0).
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customer
type Customer struct {
	ETag                  string    `json:"@odata.etag,omitempty"`
	ID                    string    `json:"id"`
	Number                string    `json:"number"`
	DisplayName           string    `json:"displayName"`
	Type                  string    `json:"type"`
	AddressLine1          string    `json:"addressLine1"`
	AddressLine2          string    `json:"addressLine2"`
	City                  string    `json:"city"`
	State                 string    `json:"state"`
	Country               string    `json:"country"`
	PostalCode            string    `json:"postalCode"`
	PhoneNumber           string    `json:"phoneNumber"`
	Email                 string    `json:"email"`
	Website               string    `json:"website"`
	SalespersonCode       string    `json:"salespersonCode"`
	BalanceDue            float64   `json:"balanceDue"`
	CreditLimit           float64   `json:"creditLimit"`
	TaxLiable             bool      `json:"taxLiable"`
	TaxAreaID             string    `json:"taxAreaId"`
	TaxAreaDisplayName    string    `json:"taxAreaDisplayName"`
	TaxRegistrationNumber string    `json:"taxRegistrationNumber"`
	CurrencyID            string    `json:"currencyId"`
	CurrencyCode          string    `json:"currencyCode"`
	PaymentTermsID        string    `json:"paymentTermsId"`
	ShipmentMethodID      string    `json:"shipmentMethodId"`
	PaymentMethodID       string    `json:"paymentMethodId"`
	Blocked               string    `json:"blocked"`
	LastModifiedDateTime  time.Time `json:"lastModifiedDateTime"`
}

// Vendor is an entity of vendors (API v2.0).
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_vendor
type Vendor struct {
	ETag                  string    `json:"@odata.etag,omitempty"`
	ID                    string    `json:"id"`
	Number                string    `json:"number"`
	DisplayName           string    `json:"displayName"`
	AddressLine1          string    `json:"addressLine1"`
	AddressLine2          string    `json:"addressLine2"`
	City                  string    `json:"city"`
	State                 string    `json:"state"`
	Country               string    `json:"country"`
	PostalCode            string    `json:"postalCode"`
	PhoneNumber           string    `json:"phoneNumber"`
	Email                 string    `json:"email"`
	Website               string    `json:"website"`
	TaxRegistrationNumber string    `json:"taxRegistrationNumber"`
	CurrencyID            string    `json:"currencyId"`
	CurrencyCode          string    `json:"currencyCode"`
	IRS1099Code           string    `json:"irs1099Code"`
	PaymentTermsID        string    `json:"paymentTermsId"`
	PaymentMethodID       string    `json:"paymentMethodId"`
	TaxLiable             bool      `json:"taxLiable"`
	Blocked               string    `json:"blocked"`
	Balance               float64   `json:"balance"`
	LastModifiedDateTime  time.Time `json:"lastModifiedDateTime"`
}

// Item is an entity of items (API v2.0).
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_item
type Item struct {
	ETag                           string    `json:"@odata.etag,omitempty"`
	ID                             string    `json:"id"`
	Number                         string    `json:"number"`
	DisplayName                    string    `json:"displayName"`
	DisplayName2                   string    `json:"displayName2"`
	Type                           string    `json:"type"`
	ItemCategoryID                 string    `json:"itemCategoryId"`
	ItemCategoryCode               string    `json:"itemCategoryCode"`
	Blocked                        bool      `json:"blocked"`
	GTIN                           string    `json:"gtin"`
	Inventory                      float64   `json:"inventory"`
	UnitPrice                      float64   `json:"unitPrice"`
	PriceIncludesTax               bool      `json:"priceIncludesTax"`
	UnitCost                       float64   `json:"unitCost"`
	TaxGroupID                     string    `json:"taxGroupId"`
	TaxGroupCode                   string    `json:"taxGroupCode"`
	BaseUnitOfMeasureID            string    `json:"baseUnitOfMeasureId"`
	BaseUnitOfMeasureCode          string    `json:"baseUnitOfMeasureCode"`
	GeneralProductPostingGroupID   string    `json:"generalProductPostingGroupId"`
	GeneralProductPostingGroupCode string    `json:"generalProductPostingGroupCode"`
	InventoryPostingGroupID        string    `json:"inventoryPostingGroupId"`
	InventoryPostingGroupCode      string    `json:"inventoryPostingGroupCode"`
	LastModifiedDateTime           time.Time `json:"lastModifiedDateTime"`
}

// Account is an entity of accounts (API v2.0).
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_account
type Account struct {
	ETag                           string    `json:"@odata.etag,omitempty"`
	ID                             string    `json:"id"`
	Number                         string    `json:"number"`
	DisplayName                    string    `json:"displayName"`
	Category                       string    `json:"category"`
	SubCategory                    string    `json:"subCategory"`
	Blocked                        bool      `json:"blocked"`
	AccountType                    string    `json:"accountType"`
	DirectPosting                  bool      `json:"directPosting"`
	NetChange                      float64   `json:"netChange"`
	ConsolidationTranslationMethod string    `json:"consolidationTranslationMethod"`
	ConsolidationDebitAccount      string    `json:"consolidationDebitAccount"`
	ConsolidationCreditAccount     string    `json:"consolidationCreditAccount"`
	ExcludeFromConsolidation       bool      `json:"excludeFromConsolidation"`
	LastModifiedDateTime           time.Time `json:"lastModifiedDateTime"`
}

// GeneralLedgerEntry is an entity of generalLedgerEntries (API v2.0).
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_generalledgerentry
type GeneralLedgerEntry struct {
	ETag                           string    `json:"@odata.etag,omitempty"`
	ID                             string    `json:"id"`
	EntryNumber                    int32     `json:"entryNumber"`
	PostingDate                    Date      `json:"postingDate"`
	DocumentNumber                 string    `json:"documentNumber"`
	DocumentType                   string    `json:"documentType"`
	AccountID                      string    `json:"accountId"`
	AccountNumber                  string    `json:"accountNumber"`
	Description                    string    `json:"description"`
	DebitAmount                    float64   `json:"debitAmount"`
	CreditAmount                   float64   `json:"creditAmount"`
	AdditionalCurrencyDebitAmount  float64   `json:"additionalCurrencyDebitAmount"`
	AdditionalCurrencyCreditAmount float64   `json:"additionalCurrencyCreditAmount"`
	LastModifiedDateTime           time.Time `json:"lastModifiedDateTime"`
}

// SalesInvoice is an entity of salesInvoices (API v2.0).
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_salesinvoice
type SalesInvoice struct {
	ETag                           string    `json:"@odata.etag,omitempty"`
	ID                             string    `json:"id"`
	Number                         string    `json:"number"`
	ExternalDocumentNumber         string    `json:"externalDocumentNumber"`
	InvoiceDate                    Date      `json:"invoiceDate"`
	PostingDate                    Date      `json:"postingDate"`
	DueDate                        Date      `json:"dueDate"`
	PromisedPayDate                Date      `json:"promisedPayDate"`
	CustomerPurchaseOrderReference string    `json:"customerPurchaseOrderReference"`
	CustomerID                     string    `json:"customerId"`
	CustomerNumber                 string    `json:"customerNumber"`
	CustomerName                   string    `json:"customerName"`
	BillToName                     string    `json:"billToName"`
	BillToCustomerID               string    `json:"billToCustomerId"`
	BillToCustomerNumber           string    `json:"billToCustomerNumber"`
	ShipToName                     string    `json:"shipToName"`
	ShipToContact                  string    `json:"shipToContact"`
	SellToAddressLine1             string    `json:"sellToAddressLine1"`
	SellToAddressLine2             string    `json:"sellToAddressLine2"`
	SellToCity                     string    `json:"sellToCity"`
	SellToCountry                  string    `json:"sellToCountry"`
	SellToState                    string    `json:"sellToState"`
	SellToPostCode                 string    `json:"sellToPostCode"`
	BillToAddressLine1             string    `json:"billToAddressLine1"`
	BillToAddressLine2             string    `json:"billToAddressLine2"`
	BillToCity                     string    `json:"billToCity"`
	BillToCountry                  string    `json:"billToCountry"`
	BillToState                    string    `json:"billToState"`
	BillToPostCode                 string    `json:"billToPostCode"`
	ShipToAddressLine1             string    `json:"shipToAddressLine1"`
	ShipToAddressLine2             string    `json:"shipToAddressLine2"`
	ShipToCity                     string    `json:"shipToCity"`
	ShipToCountry                  string    `json:"shipToCountry"`
	ShipToState                    string    `json:"shipToState"`
	ShipToPostCode                 string    `json:"shipToPostCode"`
	CurrencyID                     string    `json:"currencyId"`
	ShortcutDimension1Code         string    `json:"shortcutDimension1Code"`
	ShortcutDimension2Code         string    `json:"shortcutDimension2Code"`
	CurrencyCode                   string    `json:"currencyCode"`
	OrderID                        string    `json:"orderId"`
	OrderNumber                    string    `json:"orderNumber"`
	PaymentTermsID                 string    `json:"paymentTermsId"`
	ShipmentMethodID               string    `json:"shipmentMethodId"`
	Salesperson                    string    `json:"salesperson"`
	DisputeStatusID                string    `json:"disputeStatusId"`
	DisputeStatus                  string    `json:"disputeStatus"`
	PricesIncludeTax               bool      `json:"pricesIncludeTax"`
	RemainingAmount                float64   `json:"remainingAmount"`
	DiscountAmount                 float64   `json:"discountAmount"`
	DiscountAppliedBeforeTax       bool      `json:"discountAppliedBeforeTax"`
	TotalAmountExcludingTax        float64   `json:"totalAmountExcludingTax"`
	TotalTaxAmount                 float64   `json:"totalTaxAmount"`
	TotalAmountIncludingTax        float64   `json:"totalAmountIncludingTax"`
	Status                         string    `json:"status"`
	LastModifiedDateTime           time.Time `json:"lastModifiedDateTime"`
	PhoneNumber                    string    `json:"phoneNumber"`
	Email                          string    `json:"email"`
}

// SalesInvoiceLine is an entity of salesInvoiceLines (API v2.0).
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_salesinvoiceline
type SalesInvoiceLine struct {
	ETag                      string  `json:"@odata.etag,omitempty"`
	ID                        string  `json:"id"`
	DocumentID                string  `json:"documentId"`
	Sequence                  int32   `json:"sequence"`
	ItemID                    string  `json:"itemId"`
	AccountID                 string  `json:"accountId"`
	LineType                  string  `json:"lineType"`
	LineObjectNumber          string  `json:"lineObjectNumber"`
	Description               string  `json:"description"`
	Description2              string  `json:"description2"`
	UnitOfMeasureID           string  `json:"unitOfMeasureId"`
	UnitOfMeasureCode         string  `json:"unitOfMeasureCode"`
	Quantity                  float64 `json:"quantity"`
	UnitPrice                 float64 `json:"unitPrice"`
	DiscountAmount            float64 `json:"discountAmount"`
	DiscountPercent           float64 `json:"discountPercent"`
	DiscountAppliedBeforeTax  bool    `json:"discountAppliedBeforeTax"`
	AmountExcludingTax        float64 `json:"amountExcludingTax"`
	TaxCode                   string  `json:"taxCode"`
	TaxPercent                float64 `json:"taxPercent"`
	TotalTaxAmount            float64 `json:"totalTaxAmount"`
	AmountIncludingTax        float64 `json:"amountIncludingTax"`
	InvoiceDiscountAllocation float64 `json:"invoiceDiscountAllocation"`
	NetAmount                 float64 `json:"netAmount"`
	NetTaxAmount              float64 `json:"netTaxAmount"`
	NetAmountIncludingTax     float64 `json:"netAmountIncludingTax"`
	ShipmentDate              Date    `json:"shipmentDate"`
	ItemVariantID             string  `json:"itemVariantId"`
	LocationID                string  `json:"locationId"`
}
