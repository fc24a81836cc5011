//go:build !linux

package atomicfile

// exchange is not available here: ReplaceDir renames the old directory aside instead.
func exchange(a, b string) error { return errNoExchange }
