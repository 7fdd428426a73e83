package popolnitest

// Payment statuses the fake assigns (the document's table, section 3).
const (
	statusReceived          = 0
	statusInProgress        = 2
	statusSuccess           = 3
	statusInsufficientFunds = 101
	statusDuplicate         = 124
	statusNotFound          = 125
	statusCanceled          = 208
	statusGatewayError      = 215
	statusBlacklisted       = 423
)

func pending(status int) bool { return status == statusReceived || status == statusInProgress }

// The plain-text bodies of the 403 answers, verbatim from the document, and
// the body of the 503 answer to a request over the rate limit.
const (
	TextInsecureConnection = "Insecure connection is not allowed"
	TextIncorrectAuth      = "Incorrect auth data"
	TextAPIDisabled        = "API disabled"
	TextIPNotAllowed       = "IP is not allowed"
	TextIncorrectFormat    = "Incorrect data format"
	TextUnscheduled        = "Request rejected entered unscheduled"
	TextRateLimited        = "503 Service Temporarily Unavailable"
)
