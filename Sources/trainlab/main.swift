import Foundation
import TrainLabKernels
import TrainLabSpec
import TrainLabStore

// Entry point: global options, then one subcommand. Exit status follows CONTRACT.md:
// 0 success, 2 bad input (usage), 1 a failure while running.


var arguments = Arguments(Array(CommandLine.arguments.dropFirst()))
do {
    if let threads = try arguments.intOption("--threads", atLeast: 1) {
        guard threads <= ThreadPool.maximumThreads else {
            throw UsageError("--threads expects at most \(ThreadPool.maximumThreads), got \(threads)")
        }
        ThreadPool.configureShared(threads: threads)
    }
    guard let command = arguments.next() else {
        print(usage)
        exit(2)
    }
    switch command {
    case "run":
        try RunCommand.run(&arguments)
    case "validate":
        try ValidateCommand.run(&arguments)
    case "export-data":
        try ExportDataCommand.run(&arguments)
    case "bench":
        try BenchCommand.run(&arguments)
    case "list":
        try ListCommand.run(&arguments)
    case "show":
        try ShowCommand.run(&arguments)
    case "compare":
        try CompareCommand.run(&arguments)
    case "query":
        try QueryCommand.run(&arguments)
    case "export":
        try ExportCommand.run(&arguments)
    case "report":
        try ReportCommand.run(&arguments)
    case "help", "--help", "-h":
        print(usage)
    case "version", "--version":
        print("trainlab \(programVersion)")
    default:
        throw UsageError("unknown command '\(command)'\(suggestion(for: command, among: commands))")
    }
} catch let error as SpecError {
    FileHandle.standardError.write(Data("trainlab: \(error)\n".utf8))
    exit(2)
} catch let error as ResultsQueryError {
    FileHandle.standardError.write(Data("trainlab: \(error)\n".utf8))
    exit(2)
} catch let error as UsageError {
    FileHandle.standardError.write(Data("trainlab: \(error.message)\n\(shortUsage)\n".utf8))
    exit(2)
} catch {
    FileHandle.standardError.write(Data("trainlab: \(error)\n".utf8))
    exit(1)
}
