import Foundation
import Synchronization

/// A fixed set of worker threads, created once, that run `parallelFor` jobs together with the
/// calling thread (which is worker 0).
///
/// Workers spin for a short while after each job before parking on a condition variable: waking
/// a parked thread costs tens of microseconds on a virtual machine, a spinning one well under
/// one, and consecutive kernels of a training step arrive microseconds apart.
///
/// Which worker runs which index is decided at run time, so bodies must write disjoint outputs and
/// never reduce across indices in a way that depends on the worker (see the glossary in
/// Kernels.swift): that is what keeps results bit-identical for every thread count.
public final class ThreadPool: @unchecked Sendable {
    /// The pool the kernels use unless given another; sized by `configureShared(threads:)`,
    /// else `TRAINLAB_THREADS`, else the number of available cores.
    public static var shared: ThreadPool {
        sharedLock.withLock { pool in
            if let pool { return pool }
            let made = ThreadPool(threads: defaultThreadCount())
            pool = made
            return made
        }
    }

    /// Replaces the shared pool (the command line's `--threads N`).
    public static func configureShared(threads: Int) {
        sharedLock.withLock { $0 = ThreadPool(threads: threads) }
    }

    /// The most threads a pool takes (a larger request is capped).
    public static let maximumThreads = 256

    /// `TRAINLAB_THREADS` when set to a positive integer (at most `maximumThreads`; anything
    /// else is `environmentProblem`), else the available cores.
    public static func defaultThreadCount() -> Int {
        if let n = environmentThreads.count { return min(n, maximumThreads) }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Why `TRAINLAB_THREADS` cannot be honoured (not a positive integer), or nil when it is
    /// unset, empty or one: the command line refuses it before anything runs, as it refuses a
    /// bad `TRAINLAB_ISA`, rather than fall back to every core unannounced.
    public static var environmentProblem: String? {
        let (text, count) = environmentThreads
        guard let text, !text.isEmpty, count == nil else { return nil }
        return "TRAINLAB_THREADS: expected a positive integer (kernel threads), got '\(text)'"
    }

    /// `TRAINLAB_THREADS` as set, and the positive integer it names (nil when it names none).
    private static var environmentThreads: (text: String?, count: Int?) {
        let text = ProcessInfo.processInfo.environment["TRAINLAB_THREADS"]
        return (text, text.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0 > 0 ? $0 : nil })
    }

    private static let sharedLock = Mutex<ThreadPool?>(nil)

    /// Threads that take part in a job, the caller included.
    public let threadCount: Int
    private let state: PoolState
    private let inUse = Atomic<Bool>(false)

    /// - Parameters:
    ///   - threads: threads taking part in each job, the caller included (at least 1).
    ///   - spinMicroseconds: how long an idle worker polls before it parks.
    public init(threads: Int, spinMicroseconds: Int = 1000) {
        threadCount = max(1, threads)
        state = PoolState(spinNanoseconds: UInt64(max(0, spinMicroseconds)) * 1000)
        for worker in 1..<threadCount {
            // Workers keep the state alive, not the pool, so dropping the pool stops them.
            let state = self.state
            let thread = Thread { state.workerLoop(worker) }
            thread.stackSize = 1 << 20
            thread.name = "trainlab-worker-\(worker)"
            thread.start()
        }
    }

    deinit { state.stop() }

    /// Runs `body(index, worker)` for every index in `0..<count`, spread over the pool, and
    /// returns when all have finished. `worker` is in `0..<threadCount`, unique among the calls
    /// running at one moment (use it to pick per-thread scratch memory). A call made while the
    /// pool is already running a job (nested, or from another thread) runs inline on the caller.
    public func parallelFor(_ count: Int, _ body: (_ index: Int, _ worker: Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threadCount == 1
            || !inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for i in 0..<count { body(i, 0) }
            return
        }
        precondition(count < 1 << 31, "parallelFor over \(count) indices")
        withoutActuallyEscaping(body) { escaping in
            var closure = escaping
            withUnsafeMutablePointer(to: &closure) { state.run($0, count: count) }
        }
        inUse.store(false, ordering: .releasing)
    }

    /// Splits `0..<total` into consecutive chunks of at least `grain` items, at most one chunk
    /// per thread, and runs `body(range, worker)` on each: the helper for row-parallel kernels.
    /// Below `2 * grain` items everything runs on the caller's thread.
    public func parallelRanges(_ total: Int, grain: Int, _ body: (Range<Int>, Int) -> Void) {
        let chunks = min(threadCount, total / max(grain, 1))
        if chunks <= 1 {
            if total > 0 { body(0..<total, 0) }
            return
        }
        parallelFor(chunks) { c, worker in
            body((total * c / chunks)..<(total * (c + 1) / chunks), worker)
        }
    }
}

/// What the workers share with the pool. Workers spin on `claims` for a while after each job,
/// then park on `parking`.
private final class PoolState: @unchecked Sendable {
    /// Job number (high 32 bits) and next unclaimed index (low 32 bits), in one word so that a
    /// worker that wakes late can never claim an index of a newer job with an older one's body.
    let claims = Atomic<Int>(0)
    /// Indices of the current job not yet finished.
    let remaining = Atomic<Int>(0)
    /// The current job's body (address of the caller's closure) and index count.
    let jobBody = Atomic<UInt>(0)
    let jobCount = Atomic<Int>(0)
    let sleepers = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let parking = NSCondition()
    let spinNanoseconds: UInt64

    init(spinNanoseconds: UInt64) { self.spinNanoseconds = spinNanoseconds }

    typealias Body = (Int, Int) -> Void

    /// Publishes a job, takes part in it as worker 0, and waits for its last index.
    func run(_ body: UnsafeMutablePointer<Body>, count: Int) {
        jobBody.store(UInt(bitPattern: body), ordering: .relaxed)
        jobCount.store(count, ordering: .relaxed)
        remaining.store(count, ordering: .relaxed)
        let job = (claims.load(ordering: .relaxed) >> 32) + 1
        claims.store(job << 32, ordering: .sequentiallyConsistent)
        wakeSleepers()
        work(job: job, worker: 0)
        var polls = 0
        while remaining.load(ordering: .acquiring) != 0 {
            polls += 1
            if polls & 255 == 0 { sched_yield() }
        }
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        claims.add(1 << 32, ordering: .sequentiallyConsistent)
        wakeSleepers()
    }

    private func wakeSleepers() {
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            parking.lock()
            parking.broadcast()
            parking.unlock()
        }
    }

    /// Claims and runs indices of `job` until none is left or a newer job has started.
    private func work(job: Int, worker: Int) {
        while true {
            let state = claims.load(ordering: .acquiring)
            let index = state & 0xffff_ffff
            guard state >> 32 == job else { return }
            let body = jobBody.load(ordering: .acquiring)
            let count = jobCount.load(ordering: .acquiring)
            guard index < count else { return }
            // Succeeds only while `job` is still the current one, so `body` and `count` are its.
            guard claims.compareExchange(expected: state, desired: state + 1, ordering: .acquiringAndReleasing).exchanged else {
                continue
            }
            UnsafePointer<Body>(bitPattern: body)!.pointee(index, worker)
            remaining.subtract(1, ordering: .releasing)
        }
    }

    func workerLoop(_ worker: Int) {
        var seen = 0
        while true {
            var current = claims.load(ordering: .acquiring) >> 32
            if current == seen {
                let start = DispatchTime.now().uptimeNanoseconds
                var polls = 0
                while current == seen {
                    polls += 1
                    if polls & 255 == 0 {
                        if DispatchTime.now().uptimeNanoseconds - start > spinNanoseconds {
                            park(seen)
                        } else {
                            // Lets a thread that holds a claimed index run when there are more
                            // threads than cores; returns at once otherwise.
                            sched_yield()
                        }
                    }
                    current = claims.load(ordering: .acquiring) >> 32
                }
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            work(job: current, worker: worker)
        }
    }

    private func park(_ seen: Int) {
        parking.lock()
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while claims.load(ordering: .sequentiallyConsistent) >> 32 == seen {
            parking.wait()
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        parking.unlock()
    }
}
