import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT), SIGTERM, SIGHUP and SIGUSR1 (what SLURM sends before a time limit or a
/// preemption) ask the current work to stop at its next step boundary (a run saves its training
/// state and ends `interrupted`, resumable; a query stops); the command then exits 130. A second
/// signal ends the process at once (exit 130) after `onSecondSignal`, so a phase that does not
/// check (building a large data set) never traps the user.
///
/// The handler only counts and writes a byte to a pipe (both async-signal-safe); a watcher
/// thread reads the pipe and does the rest outside the handler. The count and the pipe's end
/// live in raw memory, not in `static var`s: the handler runs on whichever thread the signal
/// interrupts, and Swift's exclusivity checks track a thread's accesses to a variable, so a
/// signal that landed inside that thread's read of the count (every step polls `requested`)
/// made the handler's write a "simultaneous access", which aborts the process (SIGABRT).
enum Interruption {
    /// [signals seen, the pipe's write end]; made before any handler is installed.
    nonisolated(unsafe) private static let shared: UnsafeMutablePointer<Int32> = {
        let words = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        words.initialize(repeating: -1, count: 2)
        words[0] = 0
        return words
    }()

    static var requested: Bool { shared[0] != 0 }
    /// Set on the watcher thread just before a second signal's exit, while other threads may
    /// still be inside SQLite: the exit then leaves the WAL as it is (nothing is lost).
    nonisolated(unsafe) static var stoppingAtOnce = false

    static func install(onSecondSignal: (@Sendable () -> Void)? = nil) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return }
        let shared = Interruption.shared
        shared[1] = ends[1]
        for number in [SIGINT, SIGTERM, SIGHUP, SIGUSR1] {
            // `shared` is made above, so the handler's access takes swift_once's fast path only.
            signal(number) { _ in
                let saved = errno
                let shared = Interruption.shared
                shared[0] &+= 1
                var byte: UInt8 = 1
                _ = write(shared[1], &byte, 1)
                errno = saved
            }
        }
        let readEnd = ends[0]
        let watcher = Thread {
            var byte: UInt8 = 0
            var seen = 0
            while read(readEnd, &byte, 1) == 1 {
                seen += 1
                guard seen >= 2 else { continue }
                onSecondSignal?()
                stoppingAtOnce = true
                FileHandle.standardError.write(Data("trainlab: stopped at once (second signal)\n".utf8))
                exit(130)
            }
        }
        watcher.start()
    }
}
