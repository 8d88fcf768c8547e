//go:build !unix

package sqlite

import "os"

// lockServe is a no-op where flock(2) is missing: the serve lock is not
// enforced there.
func lockServe(path string) (*os.File, error) { return nil, nil }

// accessWrite cannot tell without access(2): no cause is added.
var accessWrite = func(path string) error { return nil }
