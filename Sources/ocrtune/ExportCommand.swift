// `ocrtune export`: a trained run as a standalone model folder.

import ArgumentParser
import Foundation

struct ExportCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a trained run as a model folder in the base model's own layout.",
        discussion: """
            --merge folds the LoRA adapter into the base weights (a QLoRA base is
            dequantized), so the result loads anywhere the base model loads. Its outputs
            equal base + adapter.

            Examples:
              ocrtune export --merge runs/fa --out models/ppocrv5-fa
            """)

    @Flag(help: "Merge the adapter into the base weights.") var merge = false
    @Argument(help: "The training run folder.") var runFolder: String
    @Option(help: "Model folder to write.") var out: String

    func run() throws {
        guard merge else { throw CLIError("only --merge exports exist so far: ocrtune export --merge RUN --out DIR") }
        let origin = try RunOrigin.read(from: runFolder)
        let family = try TrainingFamilies.family(forModel: origin.model)
        let session = try family.session(exporting: runFolder, model: origin.model)
        try session.exportMerged(to: out)
        Terminal.line("wrote \(out)")
    }
}
