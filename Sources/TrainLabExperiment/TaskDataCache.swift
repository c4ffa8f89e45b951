import Foundation
import TrainLabSpec
import TrainLabData

/// Task data shared by the runs of one sweep: runs with the same task options and seed (a sweep
/// over the learning rate, the optimizer or the model) train on one copy, generated once. The
/// data are values no run writes to, and the same whichever job's threads generate them.
///
/// Bounded: the entries held add up to at most `byteLimit` bytes, the least recently used going
/// first; data larger than the limit are generated for their run and not kept. Runs that train
/// at once each hold their own data besides, as without a cache.
public final class TaskDataCache: @unchecked Sendable {
    public let byteLimit: Int
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// Keys, least recently used first.
    private var recency: [String] = []
    private var heldBytes = 0

    /// One task's data; its lock is held while they are generated, so a second run asking for
    /// them waits for the first instead of generating them again.
    private final class Entry: @unchecked Sendable {
        let lock = NSLock()
        var data: TaskData?
        var bytes = 0
    }

    /// The default limit: 1/16 of the machine's memory, at most 1 GiB.
    public static let defaultByteLimit = Int(min(Double(1 << 30), Double(ProcessInfo.processInfo.physicalMemory) / 16))

    public init(byteLimit: Int = TaskDataCache.defaultByteLimit) {
        self.byteLimit = byteLimit
    }

    /// The number of data sets held, and their bytes.
    public var held: (count: Int, bytes: Int) {
        lock.withLock { (entries.values.filter { $0.data != nil }.count, heldBytes) }
    }

    /// The data under `key`, made by `make` when not held (and kept when they fit).
    public func data(for key: String, make: () throws -> TaskData) throws -> TaskData {
        let entry = lock.withLock {
            let entry = entries[key] ?? Entry()
            entries[key] = entry
            recency.removeAll { $0 == key }
            recency.append(key)
            return entry
        }
        entry.lock.lock()
        defer { entry.lock.unlock() }
        if let data = entry.data { return data }
        let data: TaskData
        do {
            data = try make()
        } catch {
            lock.withLock { forget(key, entry) }
            throw error
        }
        let bytes = Self.bytes(of: data)
        lock.withLock {
            guard bytes <= byteLimit, entries[key] === entry else { return forget(key, entry) }
            entry.data = data
            entry.bytes = bytes
            heldBytes += bytes
            // Least recently used first; entries being generated (no data yet) hold no bytes.
            for old in recency where heldBytes > byteLimit && old != key {
                if let evicted = entries[old], evicted.data != nil { forget(old, evicted) }
            }
        }
        return data
    }

    /// Drops `entry` (under `key`) and its bytes; the caller holds `lock`.
    private func forget(_ key: String, _ entry: Entry) {
        guard entries[key] === entry else { return }
        entries[key] = nil
        recency.removeAll { $0 == key }
        heldBytes -= entry.bytes
        entry.bytes = 0
    }

    /// What the data's tensors and ids take in memory.
    static func bytes(of data: TaskData) -> Int {
        [data.train, data.validation].compactMap { $0 }.reduce(0) { total, split in
            let targets = switch split.targets {
            case .real(let t): t.count * MemoryLayout<Float>.stride
            case .classes(let ids): ids.count * MemoryLayout<Int>.stride
            }
            return total + split.inputs.count * MemoryLayout<Float>.stride + targets
        }
    }
}

extension ExperimentSpec {
    /// What the synthetic task's data depend on: its resolved options and the run's seed; nil
    /// for a file task (read once, with the spec).
    public var taskDataKey: String? {
        guard fileData == nil, case .object(let root) = config, let task = root["task"] else { return nil }
        return "\(seed) " + JSONWriter.write(task, sortedKeys: true) + (testSplit.map { " test \($0.size) \($0.seed)" } ?? "")
    }
}
