package datagen

// Static reference data. Names of organisations are Microsoft's fictitious demo names (the
// ones used in CRONUS and the docs) combined with generic trade words, so generated data never
// names a real business; e-mail and web domains are built from them.

// country is an ISO 3166 country as BC's Countries/Regions table holds it.
type country struct {
	code, name, addressFormat string
	currency                  string // ISO 4217 code of the local currency
}

// countries is ordered so that the first rows (the ones a small countriesRegions table keeps)
// are the countries addresses are generated in.
var countries = []country{
	{"US", "United States", "City_x002B_County_x002B_Post_x0020_Code", "USD"},
	{"GB", "United Kingdom", "City_x002B_Post_x0020_Code", "GBP"},
	{"DE", "Germany", "Post_x0020_Code_x002B_City", "EUR"},
	{"NL", "Netherlands", "Post_x0020_Code_x002B_City", "EUR"},
	{"DK", "Denmark", "Post_x0020_Code_x002B_City", "DKK"},
	{"CA", "Canada", "City_x002B_County_x002B_Post_x0020_Code", "CAD"},
	{"AU", "Australia", "City_x002B_County_x002B_Post_x0020_Code", "AUD"},
	{"FR", "France", "Post_x0020_Code_x002B_City", "EUR"},
	{"SE", "Sweden", "Post_x0020_Code_x002B_City", "SEK"},
	{"BE", "Belgium", "Post_x0020_Code_x002B_City", "EUR"},
	{"ES", "Spain", "Post_x0020_Code_x002B_City", "EUR"},
	{"IT", "Italy", "Post_x0020_Code_x002B_City", "EUR"},
	{"AT", "Austria", "Post_x0020_Code_x002B_City", "EUR"},
	{"CH", "Switzerland", "Post_x0020_Code_x002B_City", "CHF"},
	{"NO", "Norway", "Post_x0020_Code_x002B_City", "NOK"},
	{"IE", "Ireland", "City_x002B_Post_x0020_Code", "EUR"},
	{"FI", "Finland", "Post_x0020_Code_x002B_City", "EUR"},
	{"PL", "Poland", "Post_x0020_Code_x002B_City", "PLN"},
	{"NZ", "New Zealand", "City_x002B_Post_x0020_Code", "NZD"},
	{"MX", "Mexico", "Post_x0020_Code_x002B_City", "MXN"},
	{"PT", "Portugal", "Post_x0020_Code_x002B_City", "EUR"},
	{"CZ", "Czechia", "Post_x0020_Code_x002B_City", "CZK"},
	{"IS", "Iceland", "Post_x0020_Code_x002B_City", "ISK"},
	{"LU", "Luxembourg", "Post_x0020_Code_x002B_City", "EUR"},
	{"GR", "Greece", "Post_x0020_Code_x002B_City", "EUR"},
	{"HU", "Hungary", "City_x002B_Post_x0020_Code", "HUF"},
	{"EE", "Estonia", "Post_x0020_Code_x002B_City", "EUR"},
	{"LV", "Latvia", "Post_x0020_Code_x002B_City", "EUR"},
	{"LT", "Lithuania", "Post_x0020_Code_x002B_City", "EUR"},
	{"SI", "Slovenia", "Post_x0020_Code_x002B_City", "EUR"},
	{"SK", "Slovakia", "Post_x0020_Code_x002B_City", "EUR"},
	{"HR", "Croatia", "Post_x0020_Code_x002B_City", "EUR"},
	{"RO", "Romania", "Post_x0020_Code_x002B_City", "RON"},
	{"BG", "Bulgaria", "Post_x0020_Code_x002B_City", "BGN"},
	{"JP", "Japan", "Custom", "JPY"},
	{"CN", "China", "Custom", "CNY"},
	{"IN", "India", "City_x002B_Post_x0020_Code", "INR"},
	{"SG", "Singapore", "City_x002B_Post_x0020_Code", "SGD"},
	{"HK", "Hong Kong SAR", "Custom", "HKD"},
	{"ZA", "South Africa", "City_x002B_Post_x0020_Code", "ZAR"},
	{"BR", "Brazil", "City_x002B_County_x002B_Post_x0020_Code", "BRL"},
	{"AE", "United Arab Emirates", "Custom", "AED"},
}

// city is a place addresses are generated in.
type city struct{ name, state, postCode string }

// locale is what differs between the countries addresses are generated in.
type locale struct {
	cities      []city
	streets     []string
	numberFirst bool   // "12 Main Street" rather than "Hauptstraße 12"
	phone       string // '#' is replaced by a digit
	vatPrefix   string // tax registration number prefix; "" for sales-tax countries
	tld         string
}

var locales = map[string]*locale{
	"US": {
		cities: []city{{"Atlanta", "GA", "31772"}, {"Chicago", "IL", "61236"}, {"Seattle", "WA", "98101"}, {"Miami", "FL", "33101"},
			{"Boston", "MA", "02108"}, {"Denver", "CO", "80202"}, {"Dallas", "TX", "75201"}, {"New York", "NY", "10001"},
			{"San Francisco", "CA", "94103"}, {"Phoenix", "AZ", "85001"}, {"Minneapolis", "MN", "55401"}, {"Portland", "OR", "97201"},
			{"Charlotte", "NC", "28202"}, {"Nashville", "TN", "37201"}, {"Salt Lake City", "UT", "84101"}, {"Columbus", "OH", "43215"}},
		streets:     englishStreets,
		numberFirst: true,
		phone:       "+1 ### 555 01##",
		tld:         ".com",
	},
	"GB": {
		cities: []city{{"London", "", "W1 3AL"}, {"Manchester", "", "M1 1AE"}, {"Birmingham", "", "B1 1BB"}, {"Leeds", "", "LS1 4DY"},
			{"Bristol", "", "BS1 4DJ"}, {"Glasgow", "", "G1 1XQ"}, {"Edinburgh", "", "EH1 1YZ"}, {"Cardiff", "", "CF10 1EP"},
			{"Liverpool", "", "L1 8JQ"}, {"Reading", "", "RG1 1AX"}},
		streets:     englishStreets,
		numberFirst: true,
		phone:       "+44 20 7946 0###",
		vatPrefix:   "GB",
		tld:         ".co.uk",
	},
	"DE": {
		cities: []city{{"Berlin", "", "10115"}, {"München", "", "80331"}, {"Hamburg", "", "20095"}, {"Köln", "", "50667"},
			{"Frankfurt am Main", "", "60311"}, {"Stuttgart", "", "70173"}, {"Düsseldorf", "", "40213"}, {"Leipzig", "", "04109"},
			{"Hannover", "", "30159"}, {"Nürnberg", "", "90402"}},
		streets: []string{"Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schillerstraße", "Goethestraße", "Industriestraße",
			"Lindenallee", "Am Markt", "Kirchweg", "Mühlenweg", "Friedrichstraße", "Rosenstraße"},
		phone:     "+49 ## #######",
		vatPrefix: "DE",
		tld:       ".de",
	},
	"NL": {
		cities: []city{{"Amsterdam", "", "1012 AB"}, {"Rotterdam", "", "3011 AD"}, {"Utrecht", "", "3511 AX"}, {"Den Haag", "", "2511 BT"},
			{"Eindhoven", "", "5611 AZ"}, {"Groningen", "", "9711 LM"}},
		streets: []string{"Keizersgracht", "Herengracht", "Kerkstraat", "Dorpsstraat", "Stationsweg", "Industrieweg",
			"Marktplein", "Molenstraat", "Nieuwstraat", "Parkweg"},
		phone:     "+31 ## ### ####",
		vatPrefix: "NL",
		tld:       ".nl",
	},
	"DK": {
		cities: []city{{"København K", "", "1050"}, {"Aarhus C", "", "8000"}, {"Odense C", "", "5000"}, {"Aalborg", "", "9000"},
			{"Esbjerg", "", "6700"}, {"Kolding", "", "6000"}},
		streets: []string{"Vestergade", "Østergade", "Nørregade", "Søndergade", "Strandvejen", "Industrivej", "Kirkevej",
			"Skovvej", "Algade", "Havnegade"},
		phone:     "+45 ## ## ## ##",
		vatPrefix: "DK",
		tld:       ".dk",
	},
	"CA": {
		cities: []city{{"Toronto", "ON", "M5H 2N2"}, {"Vancouver", "BC", "V6B 1A1"}, {"Montréal", "QC", "H2Y 1C6"},
			{"Calgary", "AB", "T2P 1J9"}, {"Ottawa", "ON", "K1P 1J1"}, {"Winnipeg", "MB", "R3C 0V8"}},
		streets:     englishStreets,
		numberFirst: true,
		phone:       "+1 ### 555 01##",
		tld:         ".ca",
	},
	"AU": {
		cities: []city{{"Sydney", "NSW", "2000"}, {"Melbourne", "VIC", "3000"}, {"Brisbane", "QLD", "4000"},
			{"Perth", "WA", "6000"}, {"Adelaide", "SA", "5000"}, {"Canberra", "ACT", "2600"}},
		streets:     englishStreets,
		numberFirst: true,
		phone:       "+61 2 #### ####",
		vatPrefix:   "AU",
		tld:         ".com.au",
	},
	"FR": {
		cities: []city{{"Paris", "", "75001"}, {"Lyon", "", "69001"}, {"Marseille", "", "13001"}, {"Toulouse", "", "31000"},
			{"Lille", "", "59000"}, {"Bordeaux", "", "33000"}, {"Nantes", "", "44000"}},
		streets: []string{"rue de la Paix", "avenue Victor Hugo", "rue Nationale", "boulevard Voltaire", "rue du Commerce",
			"rue de la République", "place de la Gare", "rue des Lilas", "avenue Jean Jaurès"},
		numberFirst: true,
		phone:       "+33 1 ## ## ## ##",
		vatPrefix:   "FR",
		tld:         ".fr",
	},
	"SE": {
		cities: []city{{"Stockholm", "", "111 20"}, {"Göteborg", "", "411 03"}, {"Malmö", "", "211 20"}, {"Uppsala", "", "753 20"},
			{"Västerås", "", "722 15"}},
		streets: []string{"Drottninggatan", "Storgatan", "Kungsgatan", "Sveavägen", "Industrigatan", "Hamngatan", "Skolgatan",
			"Kyrkogatan"},
		phone:     "+46 8 ### ### ##",
		vatPrefix: "SE",
		tld:       ".se",
	},
	"BE": {
		cities: []city{{"Brussel", "", "1000"}, {"Antwerpen", "", "2000"}, {"Gent", "", "9000"}, {"Liège", "", "4000"},
			{"Brugge", "", "8000"}},
		streets:   []string{"Kerkstraat", "Stationsstraat", "Nieuwstraat", "Grote Markt", "Rue de la Loi", "Avenue Louise", "Meir"},
		phone:     "+32 2 ### ## ##",
		vatPrefix: "BE0",
		tld:       ".be",
	},
	"ES": {
		cities: []city{{"Madrid", "", "28001"}, {"Barcelona", "", "08001"}, {"Valencia", "", "46001"}, {"Sevilla", "", "41001"},
			{"Bilbao", "", "48001"}},
		streets:   []string{"Calle Mayor", "Gran Vía", "Calle de Alcalá", "Avenida de la Constitución", "Paseo de Gracia", "Calle Real"},
		phone:     "+34 91 ### ## ##",
		vatPrefix: "ES",
		tld:       ".es",
	},
	"IT": {
		cities: []city{{"Roma", "RM", "00118"}, {"Milano", "MI", "20121"}, {"Torino", "TO", "10121"}, {"Napoli", "NA", "80121"},
			{"Bologna", "BO", "40121"}},
		streets:   []string{"Via Roma", "Via Garibaldi", "Corso Italia", "Via Dante", "Via Mazzini", "Piazza del Popolo"},
		phone:     "+39 06 #### ####",
		vatPrefix: "IT",
		tld:       ".it",
	},
	"AT": {
		cities:    []city{{"Wien", "", "1010"}, {"Graz", "", "8010"}, {"Linz", "", "4020"}, {"Salzburg", "", "5020"}, {"Innsbruck", "", "6020"}},
		streets:   []string{"Hauptstraße", "Bahnhofstraße", "Ringstraße", "Kärntner Straße", "Landstraße", "Schulgasse"},
		phone:     "+43 1 ### ####",
		vatPrefix: "ATU",
		tld:       ".at",
	},
	"CH": {
		cities:    []city{{"Zürich", "ZH", "8001"}, {"Genève", "GE", "1201"}, {"Basel", "BS", "4001"}, {"Bern", "BE", "3011"}, {"Luzern", "LU", "6003"}},
		streets:   []string{"Bahnhofstrasse", "Hauptstrasse", "Dorfstrasse", "Seestrasse", "Rue du Rhône", "Marktgasse"},
		phone:     "+41 44 ### ## ##",
		vatPrefix: "CHE",
		tld:       ".ch",
	},
}

var englishStreets = []string{"Market Square", "Thomas Drive", "Main Street", "Oak Avenue", "Park Lane", "High Street",
	"Station Road", "Lake Shore Drive", "Elm Street", "Maple Avenue", "Ashford Street", "Church Road", "Harbour View",
	"Industrial Way", "Riverside Drive", "King Street", "Queens Road", "Mill Lane", "Cedar Court", "Commerce Boulevard"}

// homeCountry is the country a generated company is based in: it decides the local currency,
// the tax system and most addresses.
type homeCountry struct {
	country     string
	displayName string // companies.displayName and companyInformation.displayName
	shortName   string // companies.name
	salesTax    bool   // US-style sales tax instead of VAT
	taxRate     float64
}

var homeCountries = []homeCountry{
	{"US", "CRONUS USA, Inc.", "CRONUS USA", true, 6},
	{"GB", "CRONUS UK Ltd.", "CRONUS UK", false, 20},
	{"DE", "CRONUS AG", "CRONUS DE", false, 19},
	{"NL", "CRONUS Nederland BV", "CRONUS NL", false, 21},
	{"DK", "CRONUS Danmark A/S", "CRONUS DK", false, 25},
	{"CA", "CRONUS Canada, Inc.", "CRONUS CA", true, 5},
	{"AU", "CRONUS Australia Pty. Ltd.", "CRONUS AU", false, 10},
	{"FR", "CRONUS France S.A.", "CRONUS FR", false, 20},
	{"SE", "CRONUS Sverige AB", "CRONUS SE", false, 25},
	{"BE", "CRONUS Belgium N.V.", "CRONUS BE", false, 21},
}

// currency is a row of the Currencies table with a rough value in US dollars for exchange rates.
type currency struct {
	code, name, symbol, decimals string
	rounding                     float64
	usd                          float64 // value of one unit in USD
}

var currencyTable = []currency{
	{"EUR", "Euro", "€", "2:2", 0.01, 1.08},
	{"USD", "US dollar", "$", "2:2", 0.01, 1},
	{"GBP", "British pound", "£", "2:2", 0.01, 1.27},
	{"CAD", "Canadian dollar", "$", "2:2", 0.01, 0.73},
	{"AUD", "Australian dollar", "$", "2:2", 0.01, 0.66},
	{"DKK", "Danish krone", "kr.", "2:2", 0.01, 0.145},
	{"SEK", "Swedish krona", "kr", "2:2", 0.01, 0.095},
	{"NOK", "Norwegian krone", "kr", "2:2", 0.01, 0.093},
	{"CHF", "Swiss franc", "CHF", "2:2", 0.01, 1.12},
	{"JPY", "Japanese yen", "¥", "0:0", 1, 0.0067},
	{"NZD", "New Zealand dollar", "$", "2:2", 0.01, 0.6},
	{"PLN", "Polish zloty", "zł", "2:2", 0.01, 0.25},
	{"CZK", "Czech koruna", "Kč", "2:2", 0.01, 0.043},
	{"MXN", "Mexican peso", "$", "2:2", 0.01, 0.055},
	{"INR", "Indian rupee", "₹", "2:2", 0.01, 0.012},
	{"CNY", "Chinese yuan", "¥", "2:2", 0.01, 0.138},
	{"ZAR", "South African rand", "R", "2:2", 0.01, 0.054},
	{"SGD", "Singapore dollar", "$", "2:2", 0.01, 0.74},
	{"HKD", "Hong Kong dollar", "$", "2:2", 0.01, 0.128},
}

// paymentTerm is a row of the Payment Terms table.
type paymentTerm struct {
	code, name, due, discountDate string
	discount                      float64
	onCreditMemos                 bool
	days                          int // due date offset; -1 = current month (CM)
}

var paymentTermTable = []paymentTerm{
	{"14 DAYS", "Net 14 days", "14D", "", 0, false, 14},
	{"30 DAYS", "Net 30 days", "30D", "", 0, false, 30},
	{"CM", "Current month", "CM", "", 0, false, -1},
	{"COD", "Cash on delivery", "0D", "", 0, false, 0},
	{"1M(8D)", "1 Month/2% 8 days", "1M", "8D", 2, true, 30},
	{"60 DAYS", "Net 60 days", "60D", "", 0, false, 60},
	{"10 DAYS", "Net 10 days", "10D", "", 0, false, 10},
	{"7 DAYS", "Net 7 days", "7D", "", 0, false, 7},
	{"21 DAYS", "Net 21 days", "21D", "", 0, false, 21},
	{"2 DAYS", "Net 2 days", "2D", "", 0, false, 2},
	{"45 DAYS", "Net 45 days", "45D", "", 0, false, 45},
	{"14D/2%", "14 days/2% 7 days", "14D", "7D", 2, false, 14},
}

// codeName is a row of a simple code/description table.
type codeName struct{ code, name string }

var shipmentMethodTable = []codeName{
	{"EXW", "Ex Warehouse"}, {"FOB", "Free on Board"}, {"CIF", "Cost Insurance and Freight"}, {"DDP", "Delivered Duty Paid"},
	{"PICKUP", "Pickup at Location"}, {"DELIVERY", "Delivery by own truck"}, {"CFR", "Cost and Freight"},
	{"CIP", "Carriage and Insurance Paid"}, {"CPT", "Carriage Paid To"}, {"DAP", "Delivered at Place"}, {"FCA", "Free Carrier"},
	{"FAS", "Free Alongside Ship"},
}

var paymentMethodTable = []codeName{
	{"BANK", "Bank Transfer"}, {"CASH", "Cash"}, {"CHECK", "Check"}, {"CARD", "Card payment"}, {"ACCOUNT", "Payment on account"},
	{"GIRO", "Giro transfer"}, {"INTERCOM", "Intercompany"}, {"PAYPAL", "PayPal"},
}

// unitOfMeasure is a row of the Units of Measure table.
type unitOfMeasure struct{ code, name, intl, symbol string }

var unitTable = []unitOfMeasure{
	{"PCS", "Piece", "H87", "pcs"}, {"BOX", "Box", "BX", ""}, {"HOUR", "Hour", "HUR", "h"}, {"PACK", "Pack", "PK", ""},
	{"SET", "Set", "SET", ""}, {"KG", "Kilo", "KGM", "kg"}, {"DAY", "Day", "DAY", "d"}, {"PALLET", "Pallet", "PF", ""},
	{"L", "Liter", "LTR", "l"}, {"M", "Meter", "MTR", "m"}, {"CAN", "Can", "CA", ""}, {"KM", "Kilometer", "KMT", "km"},
}

var itemCategoryTable = []codeName{
	{"CHAIR", "Office Chair"}, {"DESK", "Office Desk"}, {"TABLE", "Assorted Tables"}, {"FURNITURE", "Office Furniture"},
	{"MISC", "Miscellaneous"}, {"SUPPLIERS", "Office Supplies"}, {"PARTS", "Spare Parts"}, {"SERVICES", "Services"},
	{"LIGHTING", "Lighting"}, {"STORAGE", "Storage"},
}

// product is an item template: items are "<CITY> <product>" like CRONUS's "ATHENS Desk".
type product struct {
	name, category, unit, kind string // kind: Inventory, Service, Non_x002D_Inventory
	price                      float64
	colours                    bool
}

var productTable = []product{
	{"Desk", "DESK", "PCS", "Inventory", 649, false},
	{"Guest Chair", "CHAIR", "PCS", "Inventory", 189, true},
	{"Conference Table", "TABLE", "PCS", "Inventory", 1199, false},
	{"Swivel Chair", "CHAIR", "PCS", "Inventory", 239, true},
	{"Storage Cabinet", "STORAGE", "PCS", "Inventory", 409, true},
	{"Lamp", "LIGHTING", "PCS", "Inventory", 45.5, true},
	{"Whiteboard", "MISC", "PCS", "Inventory", 119, false},
	{"Standing Desk", "DESK", "PCS", "Inventory", 979, false},
	{"Bookcase", "FURNITURE", "PCS", "Inventory", 279, true},
	{"Coffee Table", "TABLE", "PCS", "Inventory", 319, false},
	{"Filing Cabinet", "STORAGE", "PCS", "Inventory", 349, true},
	{"Sofa", "FURNITURE", "PCS", "Inventory", 1090, true},
	{"Copy Paper, A4", "SUPPLIERS", "BOX", "Inventory", 32.9, false},
	{"Ballpoint Pens, 10 pack", "SUPPLIERS", "PACK", "Inventory", 4.2, true},
	{"Monitor Arm", "PARTS", "PCS", "Inventory", 85, false},
	{"Chair Caster Set", "PARTS", "SET", "Inventory", 24.5, false},
	{"Floor Lamp", "LIGHTING", "PCS", "Inventory", 129, true},
	{"Assembly Service", "SERVICES", "HOUR", "Service", 75, false},
	{"Installation Service", "SERVICES", "HOUR", "Service", 90, false},
	{"Design Consultation", "SERVICES", "HOUR", "Service", 120, false},
	{"Delivery Charge", "MISC", "PCS", "Non_x002D_Inventory", 35, false},
	{"Reception Desk", "DESK", "PCS", "Inventory", 1480, false},
	{"Meeting Chair", "CHAIR", "PCS", "Inventory", 159, true},
	{"Side Table", "TABLE", "PCS", "Inventory", 145, false},
}

var itemPrefixes = []string{"ATHENS", "PARIS", "ROME", "TOKYO", "MEXICO", "MUNICH", "SEOUL", "ATLANTA", "SYDNEY", "LONDON",
	"ANTWERP", "AMSTERDAM", "BERLIN", "GUANGZHOU", "OSLO", "MADRID", "VIENNA", "DUBLIN", "LISBON", "PRAGUE", "ZURICH",
	"CHICAGO", "TORONTO", "BOSTON", "KYOTO", "MILAN", "LYON", "HELSINKI", "DENVER", "AUCKLAND"}

var colours = []string{"black", "white", "grey", "blue", "red", "green", "yellow", "oak", "walnut"}

// account is a row of the chart of accounts (modelled on BC's US demo chart).
type account struct {
	number, name, category, subCategory, accountType string
	role                                             glRole
}

// glRole tags the accounts G/L entries post to.
type glRole uint8

const (
	roleNone glRole = iota
	roleBank
	roleReceivables
	roleInventory
	rolePayables
	roleSalesTax
	roleRevenue
	roleReturns
	roleCOGS
	roleExpense
	roleSalaries
)

const (
	catAssets    = "Assets"
	catLiab      = "Liabilities"
	catEquity    = "Equity"
	catIncome    = "Income"
	catCOGS      = "Cost_x0020_of_x0020_Goods_x0020_Sold"
	catExpense   = "Expense"
	typePosting  = "Posting"
	typeHeading  = "Heading"
	typeBegin    = "Begin_x002D_Total"
	typeEnd      = "End_x002D_Total"
	blankEnumVal = "_x0020_"
)

var chartOfAccounts = []account{
	{"10000", "ASSETS", catAssets, "", typeBegin, roleNone},
	{"10001", "Current Assets", catAssets, "", typeHeading, roleNone},
	{"10100", "Checking account", catAssets, "Cash", typePosting, roleBank},
	{"10200", "Saving account", catAssets, "Cash", typePosting, roleNone},
	{"10300", "Petty Cash", catAssets, "Cash", typePosting, roleNone},
	{"10400", "Accounts Receivable", catAssets, "Accounts Receivable", typePosting, roleReceivables},
	{"10500", "Prepaid Rent", catAssets, "Prepaid Expenses", typePosting, roleNone},
	{"10600", "Prepaid Insurance", catAssets, "Prepaid Expenses", typePosting, roleNone},
	{"10700", "Inventory", catAssets, "Inventory", typePosting, roleInventory},
	{"10750", "Fixed Assets", catAssets, "", typeHeading, roleNone},
	{"10800", "Equipment", catAssets, "Equipment", typePosting, roleNone},
	{"10850", "Vehicles", catAssets, "Equipment", typePosting, roleNone},
	{"10900", "Accumulated Depreciation", catAssets, "Accumulated Depreciation", typePosting, roleNone},
	{"19999", "TOTAL ASSETS", catAssets, "", typeEnd, roleNone},
	{"20000", "LIABILITIES", catLiab, "", typeBegin, roleNone},
	{"20001", "Current Liabilities", catLiab, "", typeHeading, roleNone},
	{"20100", "Accounts Payable", catLiab, "Current Liabilities", typePosting, rolePayables},
	{"20200", "Purchase Discounts", catLiab, "Current Liabilities", typePosting, roleNone},
	{"20300", "Purchase Returns & Allowances", catLiab, "Current Liabilities", typePosting, roleNone},
	{"20400", "Deferred Revenue", catLiab, "Current Liabilities", typePosting, roleNone},
	{"20500", "Credit Cards", catLiab, "Current Liabilities", typePosting, roleNone},
	{"20600", "Sales Tax Payable", catLiab, "Current Liabilities", typePosting, roleSalesTax},
	{"20700", "Accrued Salaries & Wages", catLiab, "Payroll Liabilities", typePosting, roleNone},
	{"20800", "Federal Withholding Payable", catLiab, "Payroll Liabilities", typePosting, roleNone},
	{"20900", "State Withholding Payable", catLiab, "Payroll Liabilities", typePosting, roleNone},
	{"21000", "FICA Payable", catLiab, "Payroll Liabilities", typePosting, roleNone},
	{"21100", "Medicare Payable", catLiab, "Payroll Liabilities", typePosting, roleNone},
	{"21200", "FUTA Payable", catLiab, "Payroll Liabilities", typePosting, roleNone},
	{"21300", "SUTA Payable", catLiab, "Payroll Liabilities", typePosting, roleNone},
	{"21400", "Employee Benefits Payable", catLiab, "Payroll Liabilities", typePosting, roleNone},
	{"21500", "Vacation Compensation Payable", catLiab, "Payroll Liabilities", typePosting, roleNone},
	{"21700", "Federal Income Taxes Payable", catLiab, "Current Liabilities", typePosting, roleNone},
	{"21800", "State Income Tax Payable", catLiab, "Current Liabilities", typePosting, roleNone},
	{"21950", "Long-term Liabilities", catLiab, "", typeHeading, roleNone},
	{"22000", "Notes Payable", catLiab, "Long Term Liabilities", typePosting, roleNone},
	{"22100", "Long-term Bank Loans", catLiab, "Long Term Liabilities", typePosting, roleNone},
	{"29999", "TOTAL LIABILITIES", catLiab, "", typeEnd, roleNone},
	{"30000", "EQUITY", catEquity, "", typeBegin, roleNone},
	{"30100", "Capital Stock", catEquity, "Common Stock", typePosting, roleNone},
	{"30200", "Retained Earnings", catEquity, "Retained Earnings", typePosting, roleNone},
	{"30300", "Distributions to Shareholders", catEquity, "Distributions to Shareholders", typePosting, roleNone},
	{"39999", "TOTAL EQUITY", catEquity, "", typeEnd, roleNone},
	{"40000", "INCOME", catIncome, "", typeBegin, roleNone},
	{"40100", "Income, Services", catIncome, "Income, Services", typePosting, roleRevenue},
	{"40200", "Income, Product Sales", catIncome, "Income, Product Sales", typePosting, roleRevenue},
	{"40250", "Income, Freight", catIncome, "Income, Product Sales", typePosting, roleNone},
	{"40300", "Sales Discounts", catIncome, "Income, Product Sales", typePosting, roleNone},
	{"40400", "Sales Returns & Allowances", catIncome, "Income, Product Sales", typePosting, roleReturns},
	{"40500", "Interest Income", catIncome, "Interest Income", typePosting, roleNone},
	{"49999", "TOTAL INCOME", catIncome, "", typeEnd, roleNone},
	{"50000", "COST OF GOODS SOLD", catCOGS, "", typeBegin, roleNone},
	{"50100", "Cost of Materials", catCOGS, "Materials", typePosting, roleCOGS},
	{"50200", "Cost of Labor", catCOGS, "Labor", typePosting, roleCOGS},
	{"50300", "Freight and Shipping", catCOGS, "Materials", typePosting, roleCOGS},
	{"59999", "TOTAL COST OF GOODS SOLD", catCOGS, "", typeEnd, roleNone},
	{"60000", "EXPENSES", catExpense, "", typeBegin, roleNone},
	{"60001", "Operating Expenses", catExpense, "", typeHeading, roleNone},
	{"60100", "Rent Expense", catExpense, "Rent Expense", typePosting, roleExpense},
	{"60200", "Advertising Expense", catExpense, "Advertising Expense", typePosting, roleExpense},
	{"60300", "Interest Expense", catExpense, "Interest Expense", typePosting, roleNone},
	{"60400", "Bank Charges and Fees", catExpense, "Bank Charges and Fees", typePosting, roleExpense},
	{"60450", "Personnel Expenses", catExpense, "", typeHeading, roleNone},
	{"60500", "Salaries & Wages", catExpense, "Salaries & Wages", typePosting, roleSalaries},
	{"60600", "Payroll Tax Expense", catExpense, "Payroll Taxes", typePosting, roleNone},
	{"60700", "Workers Compensation", catExpense, "Payroll Taxes", typePosting, roleNone},
	{"60800", "Health & Dental Insurance Expense", catExpense, "Benefits Expense", typePosting, roleNone},
	{"60900", "Life Insurance Expense", catExpense, "Benefits Expense", typePosting, roleNone},
	{"61000", "Repairs and Maintenance Expense", catExpense, "Repairs and Maintenance Expense", typePosting, roleExpense},
	{"61100", "Utilities Expense", catExpense, "Utilities Expense", typePosting, roleExpense},
	{"61200", "Office Supplies Expense", catExpense, "Office Supplies Expense", typePosting, roleExpense},
	{"61250", "Travel Expenses", catExpense, "Travel Expenses", typePosting, roleExpense},
	{"61260", "Vehicle Expenses", catExpense, "Vehicle Expenses", typePosting, roleExpense},
	{"61270", "Software Subscriptions", catExpense, "Software Expense", typePosting, roleExpense},
	{"61280", "Legal and Accounting Fees", catExpense, "Professional Services", typePosting, roleExpense},
	{"61300", "Miscellaneous Expense", catExpense, "Miscellaneous Expense", typePosting, roleNone},
	{"61350", "Depreciation and Taxes", catExpense, "", typeHeading, roleNone},
	{"61400", "Depreciation, Equipment", catExpense, "Depreciation Expense", typePosting, roleNone},
	{"61500", "Federal Income Tax Expense", catExpense, "Income Tax Expense", typePosting, roleNone},
	{"61600", "State Income Tax Expense", catExpense, "Income Tax Expense", typePosting, roleNone},
	{"61700", "Rounding", catExpense, "Other Expense", typePosting, roleNone},
	{"69999", "TOTAL EXPENSES", catExpense, "", typeEnd, roleNone},
}

// orgFirst and orgSecond make customer and vendor names ("Trey Research", "Fabrikam Furniture").
var orgFirst = []string{"Adatum", "Alpine Ski", "Blue Yonder", "Coho", "Contoso", "Fabrikam", "Fourth Coffee",
	"Graphic Design", "Humongous", "Litware", "Lucerne", "Margie's", "Northwind", "Proseware", "Southridge",
	"Tailspin", "Trey", "Wide World", "Wingtip", "Woodgrove", "Relecloud", "VanArsdel", "Alpine", "Consolidated Messenger",
	"First Up", "Lamna", "Munson's", "Nod", "Olympia", "Bellows", "Datum", "Liberty's", "City Power", "Baldwin",
	"Best For You", "Cronus", "Fincher", "Adventure Works", "Boulder", "Tasmanian"}

var orgSecond = []string{"Corporation", "Research", "Traders", "Importers", "Furniture", "Supplies", "Group", "Ltd.",
	"Inc.", "Winery", "Publishing", "Travel", "Airlines", "Bank", "Toys", "Electronics", "Consulting", "Logistics",
	"Design Institute", "Office Solutions", "Wholesale", "Interiors", "Building Materials", "Hospitality"}

var firstNames = []string{"Robert", "Helen", "Jesper", "Annette", "Mark", "Linda", "Ian", "Katherine", "Otis", "Rachel",
	"Andrew", "Bianca", "Chris", "Danielle", "Erik", "Fiona", "Gabriel", "Hannah", "Isaac", "Julia", "Kevin", "Laura",
	"Marco", "Nina", "Oliver", "Priya", "Quentin", "Rosa", "Samuel", "Tanja", "Ulrich", "Vera", "William", "Yasmin",
	"Zoe", "Ahmed", "Mette", "Lars", "Sofia", "Jan", "Emma", "Lukas", "Chloé", "Mateo", "Aiko", "Noah", "Freya", "Liam"}

var lastNames = []string{"Townes", "Ray", "Aas", "Hill", "Hanson", "Martin", "Deacon", "Hull", "Falls", "Smith",
	"Jensen", "Müller", "Dubois", "García", "Rossi", "Nakamura", "Andersson", "de Vries", "Kowalski", "O'Brien",
	"Schmidt", "Johansson", "Nielsen", "Brown", "Wilson", "Taylor", "Clark", "Lewis", "Walker", "Young", "King",
	"Wright", "Lopez", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Pérez", "Roberts",
	"Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards"}

var jobTitles = []string{"Sales Manager", "Purchasing Agent", "Accountant", "Controller", "Warehouse Manager",
	"Marketing Manager", "Designer", "Production Planner", "Office Manager", "Managing Director", "Sales Representative",
	"IT Manager", "Bookkeeper", "Project Manager", "Buyer", "Receptionist", "CFO", "Logistics Coordinator"}

// dimensionDef is a dimension with its typical values.
type dimensionDef struct {
	code, name string
	values     []codeName
}

var dimensionTable = []dimensionDef{
	{"DEPARTMENT", "Department", []codeName{{"ADM", "Administration"}, {"SALES", "Sales"}, {"PROD", "Production"},
		{"PURCH", "Purchase"}, {"IT", "IT"}, {"HR", "Human Resources"}, {"FIN", "Finance"}}},
	{"PROJECT", "Project", []codeName{{"ALPHA", "Project Alpha"}, {"BETA", "Project Beta"}, {"GAMMA", "Project Gamma"},
		{"DELTA", "Project Delta"}, {"OMEGA", "Project Omega"}}},
	{"CUSTOMERGROUP", "Customer Group", []codeName{{"LARGE", "Large Business"}, {"MEDIUM", "Medium Business"},
		{"SMALL", "Small Business"}, {"PRIVATE", "Private"}, {"INTERCOMP", "Intercompany"}}},
	{"AREA", "Area", []codeName{{"10", "Europe North"}, {"20", "Europe South"}, {"30", "America"}, {"40", "Asia"},
		{"50", "Africa"}, {"60", "Oceania"}}},
	{"BUSINESSGROUP", "Business Group", []codeName{{"HOME", "Home"}, {"OFFICE", "Office"}, {"INDUSTRIAL", "Industrial"},
		{"RETAIL", "Retail"}}},
	{"SALESCAMPAIGN", "Sales campaign", []codeName{{"WINTER", "Winter"}, {"SPRING", "Spring"}, {"SUMMER", "Summer"},
		{"FALL", "Fall"}}},
}

var customerReturnReasonTable = []codeName{{"DAMAGED", "Damaged in transit"}, {"DEFECTIVE", "Defective item"},
	{"WRONG", "Wrong item delivered"}, {"NOTNEEDED", "No longer needed"}, {"LATE", "Delivered too late"},
	{"QUALITY", "Quality not as expected"}, {"SIZE", "Wrong size"}, {"DUPLICATE", "Duplicate order"}}

var disputeStatusTable = []codeName{{"PRICE", "Price disagreement"}, {"QUALITY", "Quality complaint"},
	{"DELIVERY", "Not delivered"}, {"QUANTITY", "Quantity difference"}, {"WRONGITEM", "Wrong item"},
	{"INVOICE", "Invoice error"}, {"LEGAL", "With legal department"}}

var genProdPostingGroupTable = []codeName{{"RETAIL", "Retail"}, {"SERVICES", "Resources, etc."},
	{"MISC", "Miscellaneous with VAT"}, {"RAWMAT", "Raw Materials"}, {"MANUFACT", "Capacities"}, {"FREIGHT", "Freight"},
	{"NO VAT", "Miscellaneous without VAT"}}

var inventoryPostingGroupTable = []codeName{{"RESALE", "Resale items"}, {"FINISHED", "Finished items"},
	{"RAWMAT", "Raw materials"}, {"COMPONENTS", "Components"}, {"SUPPLIES", "Office supplies"}}

var fixedAssetLocationTable = []codeName{{"ADMIN", "Administration"}, {"PROD", "Production"}, {"SALES", "Sales"},
	{"WAREHOUSE", "Warehouse"}, {"RECEPTION", "Reception"}, {"BUILDING", "Building"}, {"IT", "IT department"}}

var salesTaxAreaTable = []codeName{{"ATLANTA, GA", "Atlanta, GA"}, {"CHICAGO, IL", "Chicago, IL"},
	{"MIAMI, FL", "Miami, FL"}, {"NATL", "National"}, {"SEATTLE, WA", "Seattle, WA"}, {"DENVER, CO", "Denver, CO"},
	{"BOSTON, MA", "Boston, MA"}}

var caTaxAreaTable = []codeName{{"ONTARIO", "Ontario"}, {"QUEBEC", "Quebec"}, {"BRITISH COLUMBIA", "British Columbia"},
	{"ALBERTA", "Alberta"}, {"MANITOBA", "Manitoba"}, {"NATL", "National"}}

var vatAreaTable = []codeName{{"DOMESTIC", "Domestic customers and vendors"}, {"EU", "Customers and vendors in EU"},
	{"EXPORT", "Other customers and vendors (not EU)"}, {"INTERCOMP", "Intercompany"}, {"PRIVATE", "Private persons"}}

var salesTaxGroupTable = []codeName{{"FURNITURE", "Taxable Olympic Furniture"}, {"SUPPLIES", "Taxable Office Supplies"},
	{"LABOR", "Labor on Job"}, {"MATERIALS", "Taxable Raw Materials"}, {"NONTAXABLE", "Nontaxable"}, {"FREIGHT", "Freight"}}

var vatGroupTable = []codeName{{"STANDARD", "Standard VAT rate"}, {"REDUCED", "Reduced VAT rate"},
	{"ZERO", "No VAT"}, {"SERVICES", "Services, standard rate"}, {"FOOD", "Food, reduced rate"}, {"EXEMPT", "Exempt"}}

var workflowTable = []struct{ code, description, category string }{
	{"MS-SOAPW", "Sales Order Approval Workflow", "SALESDOC"},
	{"MS-PIAPW", "Purchase Invoice Approval Workflow", "PURCHDOC"},
	{"MS-CUSTAPW", "Customer Approval Workflow", "SALES"},
	{"MS-VENDAPW", "Vendor Approval Workflow", "PURCH"},
	{"MS-ITEMAPW", "Item Approval Workflow", "SALES"},
	{"MS-GJLAPW", "General Journal Line Approval Workflow", "FIN"},
	{"MS-SIAPW", "Sales Invoice Approval Workflow", "SALESDOC"},
	{"MS-POAPW", "Purchase Order Approval Workflow", "PURCHDOC"},
}

var workflowFunctions = []string{"RUNWORKFLOWONSENDSALESDOCFORAPPROVAL", "CREATEAPPROVALREQUESTS",
	"SENDAPPROVALREQUESTFORAPPROVAL", "RUNWORKFLOWONAPPROVEAPPROVALREQUEST", "RELEASEDOCUMENT",
	"RUNWORKFLOWONREJECTAPPROVALREQUEST", "REJECTALLAPPROVALREQUESTS", "SETSTATUSTOPENDINGAPPROVAL",
	"SHOWMESSAGE", "OPENDOCUMENT"}

var journalTable = []codeName{{"DEFAULT", "Default Journal Batch"}, {"MONTHEND", "Month-end adjustments"},
	{"PAYROLL", "Payroll postings"}, {"ACCRUALS", "Accruals"}, {"DEPREC", "Depreciation"}, {"RECLASS", "Reclassifications"},
	{"OPENING", "Opening balances"}}

var paymentJournalTable = []codeName{{"GENERAL", "General payments"}, {"BANK", "Bank payments"},
	{"CASH", "Cash payments"}, {"CARD", "Card settlements"}, {"TRANSFER", "Transfers"}, {"SEPA", "SEPA payments"}}

var bankAccountTable = []codeName{{"CHECKING", "Checking account"}, {"SAVINGS", "Savings account"},
	{"OPERATING", "Operating account"}, {"PAYROLL", "Payroll account"}, {"EUR-ACC", "Euro account"}, {"TAX", "Tax reserve"}}

var locationTable = []codeName{{"MAIN", "Main Warehouse"}, {"EAST", "East Warehouse"}, {"WEST", "West Warehouse"},
	{"NORTH", "North Logistics Center"}, {"SOUTH", "South Logistics Center"}, {"OUTLET", "Outlet Store"},
	{"SHOWROOM", "Showroom"}, {"TRANSIT", "In transit"}}

var fixedAssetNames = []string{"Delivery Van", "Forklift", "Conveyor Belt", "Company Car", "Server Rack", "Laser Printer",
	"Office Building Roof", "Packaging Machine", "CNC Router", "Air Conditioning Unit", "Laptop Fleet", "Telephone System",
	"Warehouse Shelving", "Truck", "Security System"}

var faClasses = []struct{ class, subclass string }{{"TANGIBLE", "CAR"}, {"TANGIBLE", "EQUIPMENT"},
	{"TANGIBLE", "MACHINERY"}, {"TANGIBLE", "BUILDING"}, {"TANGIBLE", "IT"}, {"INTANGIBLE", "SOFTWARE"}}

var projectNames = []string{"Office Renovation", "Showroom Fit-out", "ERP Rollout", "Conference Center Setup",
	"Headquarters Move", "Hotel Lobby Furnishing", "School Classroom Refresh", "Warehouse Automation",
	"Trade Fair Stand", "Call Center Expansion", "Library Refurbishment", "Clinic Waiting Rooms"}

var opportunityDescriptions = []string{"Furniture for new office", "Conference room equipment", "Chairs for call center",
	"Reception area redesign", "Annual supply contract", "Warehouse shelving upgrade", "Home office program",
	"Hotel room furnishing", "Classroom furniture tender", "Lighting retrofit"}

var jobQueueObjects = []struct {
	kind, caption string
	id            int64
}{
	{"Codeunit", "Post Inventory Cost to G/L", 1002}, {"Report", "Adjust Cost - Item Entries", 795},
	{"Codeunit", "Job Queue - Send Notification", 454}, {"Codeunit", "Update Currency Exchange Rates", 1281},
	{"Codeunit", "CRM Integration Synch. Job Runner", 5339}, {"Report", "Batch Post Sales Invoices", 297},
	{"Codeunit", "Delete Change Log Entries", 423}, {"Codeunit", "Sales Post via Job Queue", 88},
	{"Report", "Suggest Vendor Payments", 393}, {"Codeunit", "Email Dispatcher", 8888},
}

var jobQueueCategories = []string{"SALESPOST", "PURCHPOST", "COSTING", "SYNC", "MAINT", "EXCHRATE"}

// reportLines are rows of the financial statement API pages (balanceSheets, incomeStatements, …).
type reportLine struct {
	display, lineType string
	indentation       int64
}

var balanceSheetLines = []reportLine{{"Assets", "header", 0}, {"Current Assets", "header", 1},
	{"Cash", "detail", 2}, {"Accounts Receivable", "detail", 2}, {"Prepaid Expenses", "detail", 2},
	{"Inventory", "detail", 2}, {"Total Current Assets", "total", 1}, {"Equipment", "detail", 1},
	{"Accumulated Depreciation", "detail", 1}, {"Total Assets", "total", 0}, {"Liabilities", "header", 0},
	{"Accounts Payable", "detail", 1}, {"Total Liabilities", "total", 0}, {"Equity", "header", 0},
	{"Retained Earnings", "detail", 1}, {"Total Equity", "total", 0}}

var incomeStatementLines = []reportLine{{"Income", "header", 0}, {"Income, Services", "detail", 1},
	{"Income, Product Sales", "detail", 1}, {"Sales Discounts", "detail", 1}, {"Total Income", "total", 0},
	{"Cost of Goods Sold", "header", 0}, {"Cost of Materials", "detail", 1}, {"Cost of Labor", "detail", 1},
	{"Total Cost of Goods Sold", "total", 0}, {"Gross Profit", "total", 0}, {"Expenses", "header", 0},
	{"Rent Expense", "detail", 1}, {"Salaries & Wages", "detail", 1}, {"Total Expenses", "total", 0},
	{"Net Income", "total", 0}}

var cashFlowLines = []reportLine{{"Operating Activities", "header", 0}, {"Net Income", "detail", 1},
	{"Accounts Receivable", "detail", 1}, {"Inventory", "detail", 1}, {"Accounts Payable", "detail", 1},
	{"Net Cash from Operating Activities", "total", 0}, {"Investing Activities", "header", 0},
	{"Equipment", "detail", 1}, {"Net Cash from Investing Activities", "total", 0}, {"Financing Activities", "header", 0},
	{"Notes Payable", "detail", 1}, {"Net Cash from Financing Activities", "total", 0}, {"Net Change in Cash", "total", 0}}

var retainedEarningsLines = []reportLine{{"Retained Earnings, Period Start", "detail", 0},
	{"Net Income", "detail", 0}, {"Distributions to Shareholders", "detail", 0}, {"Total Changes", "total", 0},
	{"Retained Earnings, Period End", "total", 0}}

var fileNameStems = []string{"Invoice", "Receipt", "Delivery_Note", "Quote", "Contract", "Scan", "Purchase_Order",
	"Packing_Slip", "Correspondence", "Photo"}

var fileExts = []string{".pdf", ".pdf", ".pdf", ".jpg", ".png", ".docx", ".xlsx"}
