//go:build !unix

package sqlitestore

import "errors"

func lockFile(string) (func() error, error) {
	return nil, errors.New("the Exclusive option needs flock, which this system lacks")
}
