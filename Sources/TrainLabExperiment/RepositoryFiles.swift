import Foundation

/// Files the repository ships (`experiments/bench/sweep.json`) that commands use by default,
/// found wherever trainlab is started from.
public enum RepositoryFiles {
    /// The repository this program was built from, by the path of this source file; it may be
    /// gone (a binary copied to another machine).
    public static let sourceRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `relative` (`experiments/bench/sweep.json`) under the first folder that has it: the current
    /// folder, the folders above the executable (`.build/debug/trainlab` lives in the repository,
    /// before and after resolving links), then `sourceRoot`. Nil when none has it.
    public static func locate(_ relative: String, currentDirectory: String = FileManager.default.currentDirectoryPath,
                              executable: String? = Bundle.main.executablePath, sourceRoot: String = sourceRoot) -> String? {
        var roots = [currentDirectory]
        if let executable {
            for start in [URL(fileURLWithPath: executable), URL(fileURLWithPath: executable).resolvingSymlinksInPath()] {
                var folder = start.deletingLastPathComponent()
                while folder.path != "/" && !folder.path.isEmpty {
                    roots.append(folder.path)
                    folder = folder.deletingLastPathComponent()
                }
            }
        }
        roots.append(sourceRoot)
        for root in roots {
            let path = URL(fileURLWithPath: relative, relativeTo: URL(fileURLWithPath: root + "/")).path
            if FileManager.default.fileExists(atPath: path) { return root == currentDirectory ? relative : path }
        }
        return nil
    }
}
