/// A file that cannot be read or written: `path` names it, `problem` says what is wrong in words a
/// user can act on (e.g. "tensor \"layers.0.weight\": data_offsets [0, 400] run past the end of
/// the data section (96 bytes)"). Printed as "PATH: PROBLEM".
public struct IOError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
