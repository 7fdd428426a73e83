// Package archcheck holds no code: its test keeps docs/ARCHITECTURE.md true.
//
// The test reads the document's two machine-readable blocks, arch-layers
// (each layer and the layers it may import) and arch-packages (each package
// of the module, its layer and everything it imports), and compares them
// with what `go list -deps -test -json ./...` says of the tree. It fails,
// naming the line to add, change or remove, when a package is missing from
// the document, the document lists a package that does not exist, a
// package's imports differ from its line, an import crosses the layers the
// document allows, or the layers table itself breaks one of the module's
// fixed rules (the root imports no provider, a provider imports only the
// root and internal/transport, no provider imports the portable layer, the
// portable layer and the ledger import no provider, a fake imports no
// client, resty only in internal/transport, no cobra or chromedp under the
// root, the portable layer or the ledger).
//
// Run it with `go test ./internal/archcheck` (`make test` runs it too).
package archcheck
