import Foundation
import TrainLabIO
import TrainLabKernels
import TrainLabSpec
import TrainLabStore

// Entry point: global options, then one subcommand. Exit status follows docs/interface.md:
// 0 success, 2 bad input (usage), 1 a failure while running.

lineBufferStandardOutput()
// Every way out but a second signal (which stops at once, mid-work) leaves each database file
// complete on its own, its WAL folded in.
atexit { if !Interruption.stoppingAtOnce { Database.checkpointOpenWriters() } }

var arguments = Arguments(Array(CommandLine.arguments.dropFirst()), acceptedOptions: globalOptions.flatMap(\.names))
var command: Command?
do {
    if let threads = try arguments.intOption("--threads", atLeast: 1) {
        guard threads <= ThreadPool.maximumThreads else {
            throw UsageError("--threads expects at most \(ThreadPool.maximumThreads), got \(threads)")
        }
        ThreadPool.configureShared(threads: threads)
    }
    let helpRequested = arguments.flag("--help") || arguments.flag("-h")
    command = try arguments.next().map(lookUpCommand)
    if helpRequested {
        print(command?.usage ?? usage, terminator: "")
        exit(0)
    }
    guard let command else {
        if arguments.flag("--version") {
            print("trainlab \(programVersion)")
            exit(0)
        }
        try arguments.finish()
        print(usage, terminator: "")
        exit(2)
    }
    if let problem = InstructionSet.environmentProblem ?? ThreadPool.environmentProblem {
        FileHandle.standardError.write(Data("trainlab: \(problem)\n".utf8))
        exit(2)
    }
    arguments.commandName = command.name
    arguments.acceptedOptions = optionsOfEveryCommand.flatMap(\.names) + command.optionNames
    try command.run(&arguments)
} catch let error as SpecError {
    // One line per error (a spec may have several).
    FileHandle.standardError.write(Data(error.all.map { "trainlab: \($0)\n" }.joined().utf8))
    exit(2)
} catch let error as ResultsQueryError {
    FileHandle.standardError.write(Data("trainlab: \(error)\n".utf8))
    exit(2)
} catch let error as IOError where error.isBadPath {
    FileHandle.standardError.write(Data("trainlab: \(error)\n".utf8))
    exit(2)
} catch let error as UsageError {
    let usageLines = command?.shortUsage ?? "usage: trainlab [--threads N] COMMAND [options]\n(trainlab help for more)"
    FileHandle.standardError.write(Data("trainlab: \(error.message)\n\(usageLines)\n".utf8))
    exit(2)
} catch {
    FileHandle.standardError.write(Data("trainlab: \(error)\n".utf8))
    exit(1)
}
