import Foundation

/// Files a command must never write over: the results database (with its `-wal`, `-shm` and
/// `-journal` files) and the specs being run. A weights file, report or export aimed at one of
/// them is refused before anything runs, as is one aimed at something that is not a regular
/// file (`/dev/null` would be replaced by the atomic write's rename).
public struct ProtectedPaths: Sendable {
    private var entries: [(path: String, what: String)] = []

    public init() {}

    /// Protects the database at `path` and the files SQLite keeps beside it.
    public mutating func protectDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            protect(path + suffix, as: "the results database\(suffix.isEmpty ? "" : "'s \(suffix) file")")
        }
    }

    /// Protects `path` and, when it is a symbolic link, the file it leads to: reading a spec
    /// through a link reads its target, which a write to the target's own name would replace.
    public mutating func protect(_ path: String, as what: String) {
        let canonical = Self.canonical(path)
        entries.append((canonical, what))
        if let target = Self.resolved(path), target != canonical { entries.append((target, what)) }
    }

    /// Why nothing may be written at `path`, or nil when it may.
    public func refusal(for path: String) -> String? {
        let canonical = Self.canonical(path)
        if let hit = entries.first(where: { $0.path == canonical }) { return "it is \(hit.what)" }
        var status = stat()
        // lstat: a symbolic link at the destination is replaced by the rename, not followed.
        if lstat(path, &status) == 0, status.st_mode & S_IFMT != S_IFREG, status.st_mode & S_IFMT != S_IFLNK {
            return "it is not a regular file"
        }
        return nil
    }

    /// The path with its folder's symbolic links and `..` resolved (the file itself may not exist).
    static func canonical(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        return ((resolved(folder) ?? folder) as NSString).appendingPathComponent(url.lastPathComponent)
    }

    /// realpath(3): every symbolic link and `..` resolved; nil when `path` does not exist.
    private static func resolved(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return realpath(path, &buffer).map { String(cString: $0) }
    }
}

/// Text written so that the destination holds its old contents or all of the new, never a part;
/// a symbolic link at the destination is replaced, not written through.
public enum AtomicTextFile {
    /// `produce` hands the text over in pieces through `write`.
    public static func write(_ path: String, _ produce: (_ write: (String) throws -> Void) throws -> Void) throws {
        try FileAccess.writeAtomically(path) { sink in
            try produce { text in try sink.append(Array(text.utf8)) }
        }
    }
}

/// Folders that output files go into.
public enum OutputFolder {
    /// Creates the folder at `path` and any missing above it (as `mkdir -p`); a failure carries
    /// the system's reason ("Permission denied", "Not a directory") in an `IOError`.
    public static func create(_ path: String) throws {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw IOError(path: path, problem: "cannot create the folder: a file is in the way")
            }
            return
        }
        let parent = FileAccess.folderPath(of: path)
        if parent != "." && parent != "/" && parent != path { try create(parent) }
        guard mkdir(path, 0o777) == 0 || errno == EEXIST else { throw FileAccess.systemError(path, "cannot create the folder") }
    }
}
