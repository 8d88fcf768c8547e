package perform

import (
	"errors"
	"fmt"

	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/sending"
)

// Partner API ErrorCodes partnerd answers in Results. The documented codes
// come from the reference (0-99, 100-199 and 7000-7099 tables); the 709x
// codes are partnerd's own for situations the reference does not cover and
// are listed in the README.
const (
	CodeNameExists              = 1    // "Name already exists"
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

// The errors of the rules are the send service's.
var (
	errSendNotFound   = sending.ErrNotFound
	errSendKeyMissing = sending.ErrKeyMissing
)

// codeOf maps a domain error to its ErrorCode: the one table from errors to
// codes.
func codeOf(err error) int {
	var ce *codedError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, errSendNotFound):
		return CodeSendNotFound
	case errors.Is(err, errSendKeyMissing):
		return CodeSendKeyMissing
	case errors.Is(err, lifecycle.ErrInsideCutoff):
		return CodeSendInsideCutoff
	case errors.Is(err, lifecycle.ErrNotActionable):
		return CodeSendStatusNotActionable
	case errors.Is(err, lifecycle.ErrHeldLimit):
		return CodeHeldLimitReached
	case errors.Is(err, sending.ErrEmailRequired):
		return CodeEmailRequired
	case errors.Is(err, sending.ErrListRequired):
		return CodeListRequired
	case errors.Is(err, sending.ErrIDGiven):
		return CodeCannotPerformOnType
	case errors.Is(err, sending.ErrKeyTaken):
		return CodeNameExists
	case errors.Is(err, sending.ErrBadDate):
		return CodeDateOutOfRange
	case errors.Is(err, sending.ErrBadKey):
		return CodeInvalidKey
	case errors.Is(err, sending.ErrDefinitionNotFound):
		return CodeDefinitionNotFound
	case errors.Is(err, sending.ErrDefinitionKeyMissing):
		return CodeSendKeyMissing
	}
	return 2
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

// isResultError reports whether err is a per-object error answered in a
// Result rather than a failure of the whole request.
func isResultError(err error) bool {
	var ce *codedError
	return errors.As(err, &ce) || sending.IsRule(err)
}
