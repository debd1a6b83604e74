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
            equal base + adapter. The weights come from the run's output (adapter/, or
            model/ for full fine-tuning) when it completed, else from its newest
            checkpoint; --from picks another checkpoint, RUN/best or an adapter folder.

            Examples:
              ocrtune export --merge runs/fa --out models/ppocrv5-fa
              ocrtune export --merge runs/fa --from runs/fa/checkpoints/step-000400 --out models/fa-400
            """)

    @Flag(help: "Merge the adapter into the base weights.") var merge = false
    @Argument(help: "The training run folder.") var runFolder: String
    @Option(help: "Model folder to write.") var out: String
    @Option(help: "Checkpoint, adapter or model folder of the run to export (default: its output, else its newest checkpoint).")
    var from: String?

    func run() throws {
        guard merge else { throw CLIError("only --merge exports exist so far: ocrtune export --merge RUN --out DIR") }
        let origin = try RunOrigin.read(from: runFolder)
        let family = try TrainingFamilies.family(forModel: origin.model)
        let session = try family.session(exporting: runFolder, model: origin.model, from: from)
        for note in session.setupNotes { Terminal.line(note) }
        try session.exportMerged(to: out)
        Terminal.line("wrote \(out)")
    }
}
