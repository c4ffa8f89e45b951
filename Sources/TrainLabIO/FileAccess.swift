#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads of regular files piece by piece, and crash-safe whole-file writes, through POSIX calls,
/// so that failures carry the system's reason ("No such file or directory", "Permission denied").
enum FileAccess {
    /// Writes a file so that `path` holds either its old contents or all of the new ones, never a
    /// prefix: the bytes go to a temporary file beside it (same folder, so the same file system),
    /// which is flushed to disk (fsync) and then renamed over `path` (rename is atomic in POSIX).
    /// `produce` receives a sink and hands it the bytes in order; a failure removes the temporary.
    static func writeAtomically(_ path: String, _ produce: (inout FileSink) throws -> Void) throws {
        let temporaryPath = temporaryPath(beside: path)
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            let code = errno
            throw IOError(path: path, problem: "cannot create it: \(String(cString: strerror(code)))",
                          isBadPath: [ENOENT, ENOTDIR, EACCES, EPERM, EROFS, EISDIR].contains(code))
        }
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

/// Bytes a decoder reads by range: an open `RegularFile`, or bytes already in memory.
protocol ByteSource {
    /// The number of bytes.
    var count: Int { get }
    /// The bytes in `range`, which lies within `0 ..< count`.
    func bytes(in range: Range<Int>) throws -> [UInt8]
}

extension Array: ByteSource where Element == UInt8 {
    func bytes(in range: Range<Int>) -> [UInt8] { Array(self[range]) }
}

/// A regular file opened for reading. Decoders read and check its header before the data the
/// header describes, so a file that lies about its sizes costs no more than its header. Anything
/// else is refused when opened: a FIFO may block forever, a device such as /dev/zero never ends.
final class RegularFile: ByteSource {
    let path: String
    let count: Int
    private let descriptor: Int32

    init(path: String) throws {
        // O_NONBLOCK: opening a FIFO does not wait for a writer (it has no effect on a regular file).
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileAccess.systemError(path, "cannot open") }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let error = FileAccess.systemError(path, "cannot stat")
            close(descriptor)
            throw error
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw IOError(path: path, problem: Self.kindProblem(status.st_mode & S_IFMT))
        }
        self.path = path
        self.descriptor = descriptor
        count = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// What is wrong with a file of type `kind` (an `S_IFMT` value other than `S_IFREG`).
    private static func kindProblem(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "is a directory, not a file"
        case S_IFIFO: return "not a regular file (it is a FIFO, a named pipe)"
        case S_IFCHR: return "not a regular file (it is a character device)"
        case S_IFBLK: return "not a regular file (it is a block device)"
        case S_IFSOCK: return "not a regular file (it is a socket)"
        default: return "not a regular file"
        }
    }

    func bytes(in range: Range<Int>) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: range.count) { buffer, initialized in
            while initialized < range.count {
                let got = pread(descriptor, buffer.baseAddress! + initialized, range.count - initialized,
                                off_t(range.lowerBound + initialized))
                if got < 0 {
                    if errno == EINTR { continue }
                    throw FileAccess.systemError(path, "cannot read")
                }
                guard got > 0 else {
                    throw IOError(path: path, problem: "the file ended at byte \(range.lowerBound + initialized), but it was \(count) bytes when opened: it changed while being read")
                }
                initialized += got
            }
        }
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
