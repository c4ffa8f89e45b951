// Only here: `stdout` is a C global that Swift 6 flags as shared mutable state; it is touched
// once, before any other thread exists.
@preconcurrency import Foundation

/// Makes stdout line-buffered even when piped (`trainlab run ... | tee log`), so each line,
/// e.g. a run's result, shows as soon as it is printed rather than when a block fills.
func lineBufferStandardOutput() {
    setvbuf(stdout, nil, _IOLBF, 0)
}
