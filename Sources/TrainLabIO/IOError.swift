/// A file that cannot be read or written: `path` names it, `problem` says what is wrong in words a
/// user can act on (e.g. "tensor \"layers.0.weight\": data_offsets [0, 400] run past the end of
/// the data section (96 bytes)"). Printed as "PATH: PROBLEM".
public struct IOError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let problem: String
    /// The path itself cannot work (a missing or non-folder parent, no permission, a read-only
    /// file system): a bad input, exit status 2, rather than a failure while writing.
    public let isBadPath: Bool

    public init(path: String, problem: String, isBadPath: Bool = false) {
        self.path = path
        self.problem = problem
        self.isBadPath = isBadPath
    }

    public var description: String { "\(path): \(problem)" }
}
