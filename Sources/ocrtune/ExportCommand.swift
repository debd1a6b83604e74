// `ocrtune export`: a trained run as a standalone model folder.

import ArgumentParser
import Foundation
import OCRFineTune

struct ExportCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a trained run as a model folder in the base model's own layout.",
        discussion: """
            A finished run already holds RUN/model (adapters merged). export --merge writes
            the same from any point of a run: its output (adapter/, or model/ for full
            fine-tuning) when it completed, else its newest checkpoint; --from picks another
            checkpoint, RUN/best or an adapter folder. The LoRA adapter is folded into the
            base weights (a QLoRA base is dequantized), so the result loads anywhere the base
            model loads, and its outputs equal base + adapter. Every family is exported the
            same way (PP-OCR, TrOCR, latex-ocr-junia, Qwen-VL).

            Examples:
              ocrtune export --merge runs/fa --out models/ppocrv5-fa
              ocrtune export --merge runs/fa --from runs/fa/checkpoints/step-000400 \\
                             --out models/fa-400
            """)

    @Flag(help: "Merge the adapter into the base weights (required: the only export so far).") var merge = false
    @Argument(help: "The training run folder.") var runFolder: String
    @Option(help: "Model folder to write.") var out: String
    @Option(help: "Checkpoint, adapter or model folder of the run to export (default: its output, else its newest checkpoint).")
    var from: String?

    func validate() throws {
        guard merge else {
            throw ValidationError("give --merge: it writes the run's trained weights, merged into the base, as a model folder (RUN/model already holds the finished run's)")
        }
    }

    func run() throws {
        let run = URL(fileURLWithPath: runFolder)
        let origin = try RunOrigin.read(from: run)
        let family = try fineTunableFamily(ofModelAt: URL(fileURLWithPath: origin.model))
        let export = try family.restore(run: run, from: from.map { URL(fileURLWithPath: $0) })
        for note in export.notes { Terminal.line(note) }
        try export.writeModel(to: URL(fileURLWithPath: out))
        Terminal.line("wrote \(out)")
    }
}
