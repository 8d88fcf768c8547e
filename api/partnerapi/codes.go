package partnerapi

import (
	"errors"
	"fmt"

	"github.com/partnerd/partnerd/sending"
)

// Partner API ErrorCodes partnerd answers in Results. The documented codes
// come from the reference (0-99, 100-199 and 7000-7099 tables); the 709x
// codes are partnerd's own for situations the reference does not cover and
// are listed in the README.
const (
	CodeNameExists              = 1    // "Name already exists"
	CodeOther                   = 2    // any error without an entry of its own
	CodeCannotPerformOnType     = 5    // "Cannot perform {method} on objects of type {object}"
	CodeNoObject                = 6    // "No object specified at 0-based index {index}"
	CodePerformNotSupported     = 100  // "The Perform method is not supported for the [object] object"
	CodePerformUnsupportedType  = 105  // "Perform_Unsupported Object Type"
	CodePerformUnsupportedAct   = 106  // Perform: unsupported action for the object type
	CodeScheduleValidation      = 140  // "Schedule_Validation Error"
	CodeScheduleStartMissing    = 151  // "Schedule_Recurrence_Start DateTime Not Specified"
	CodeEmailRequired           = 7001 // "An email ID, Partner Key, or body must be specified"
	CodeListRequired            = 7002 // "A list must be specified"
	CodeSendNotFound            = 7091
	CodeSendInsideCutoff        = 7092
	CodeSendStatusNotActionable = 7093
	CodeHeldLimitReached        = 7094
	CodeSendKeyMissing          = 7095
	CodeDefinitionNotFound      = 7096 // no such EmailSendDefinition for this account
	// CodeDateOutOfRange: a date partnerd cannot keep as given (before
	// 0001-01-01 or after 9999-12-31 in UTC); the message names the field.
	CodeDateOutOfRange = 7097
	// CodeInvalidKey: a CustomerKey or ObjectID holding control characters
	// (line feeds, escapes …), which would forge lines wherever keys are
	// printed.
	CodeInvalidKey = 7098
)

// errorCodes is the one table from the send service's errors to
// ErrorCodes; an error that carries its own code (codedError) is answered
// with it, any other with CodeOther.
var errorCodes = []struct {
	err  error
	code int
}{
	{sending.ErrNotFound, CodeSendNotFound},
	{sending.ErrKeyMissing, CodeSendKeyMissing},
	{sending.ErrCutoff, CodeSendInsideCutoff},
	{sending.ErrStatus, CodeSendStatusNotActionable},
	{sending.ErrHeldLimit, CodeHeldLimitReached},
	{sending.ErrEmailRequired, CodeEmailRequired},
	{sending.ErrListRequired, CodeListRequired},
	{sending.ErrIDGiven, CodeCannotPerformOnType},
	{sending.ErrKeyTaken, CodeNameExists},
	{sending.ErrBadDate, CodeDateOutOfRange},
	{sending.ErrBadKey, CodeInvalidKey},
	{sending.ErrDefinitionNotFound, CodeDefinitionNotFound},
	{sending.ErrDefinitionKeyMissing, CodeSendKeyMissing},
}

// codeOf maps an error answered in a Result to its ErrorCode.
func codeOf(err error) int {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return CodeOther
}

// codedError is a Result error that carries its code directly (the
// documented messages with parameters: "Cannot perform Create on …").
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }

func coded(code int, format string, args ...any) error {
	return &codedError{code: code, msg: fmt.Sprintf(format, args...)}
}
