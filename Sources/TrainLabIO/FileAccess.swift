#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and crash-safe whole-file writes through POSIX calls, so that failures carry
/// the system's reason ("No such file or directory", "Is a directory", "Permission denied").
enum FileAccess {
    /// The bytes of the file at `path`.
    static func readAll(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw systemError(path, "cannot open") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw systemError(path, "cannot stat") }
        guard status.st_mode & S_IFMT != S_IFDIR else {
            throw IOError(path: path, problem: "is a directory, not a file")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(Int(status.st_size), 0))
        // st_size is only a hint (a /proc file reports 0): read until end of file.
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw systemError(path, "cannot read")
            }
            if got == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<got])
        }
    }

    /// Writes a file so that `path` holds either its old contents or all of the new ones, never a
    /// prefix: the bytes go to a temporary file beside it (same folder, so the same file system),
    /// which is flushed to disk (fsync) and then renamed over `path` (rename is atomic in POSIX).
    /// `produce` receives a sink and hands it the bytes in order; a failure removes the temporary.
    static func writeAtomically(_ path: String, _ produce: (inout FileSink) throws -> Void) throws {
        let temporaryPath = temporaryPath(beside: path)
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw systemError(path, "cannot create \(temporaryPath)") }
        var sink = FileSink(descriptor: descriptor, path: path)
        do {
            try produce(&sink)
            guard fsync(descriptor) == 0 else { throw systemError(path, "cannot flush \(temporaryPath) to disk") }
        } catch {
            close(descriptor)
            unlink(temporaryPath)
            throw error
        }
        guard close(descriptor) == 0 else {
            let error = systemError(path, "cannot close \(temporaryPath)")
            unlink(temporaryPath)
            throw error
        }
        guard rename(temporaryPath, path) == 0 else {
            let error = systemError(path, "cannot rename \(temporaryPath) to it")
            unlink(temporaryPath)
            throw error
        }
        // Make the rename itself durable; a folder that cannot be synced is not an error.
        let folder = open(folderPath(of: path), O_RDONLY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    /// ".NAME.tmp-PID-RANDOM" in the folder of `path`.
    static func temporaryPath(beside path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return "\(folder).\(name).tmp-\(getpid())-\(random)"
    }

    static func folderPath(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func systemError(_ path: String, _ action: String, code: Int32 = errno) -> IOError {
        IOError(path: path, problem: "\(action): \(String(cString: strerror(code)))")
    }
}

/// Where `FileAccess.writeAtomically` sends bytes: each call writes them all (retrying short
/// writes and interruptions) or throws.
struct FileSink {
    let descriptor: Int32
    let path: String

    mutating func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    mutating func append(_ buffer: UnsafeRawBufferPointer) throws {
        guard var next = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            let written = write(descriptor, next, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileAccess.systemError(path, "cannot write")
            }
            next += written
            remaining -= written
        }
    }
}
